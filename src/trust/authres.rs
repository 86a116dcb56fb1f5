//! An `Authentication-Results` value (RFC 8601 §2.2) read into its parts.
//!
//! Written by hand: no maintained crate parses this header (mail-auth writes it but
//! reads only the `i=` of ARC's copy). The reading is in two steps. [`Lexer`] turns
//! the unfolded value into words, quoted strings and special characters, dropping
//! RFC 5322 CFWS: white space and `(comments)`, which nest and may hold `\` escapes.
//! Only then does [`parse`] split at `;`, so a `;`, `=` or `pass` inside a comment or
//! a quoted string is text and never structure. An unterminated comment or quoted
//! string makes the whole value unreadable.

use std::iter::Peekable;

/// One `method=result ptype.property=value …` clause.
#[derive(Debug)]
pub(crate) struct MethodResult {
    /// Lower case, without a `/version`.
    pub(crate) method: String,
    /// Lower case.
    pub(crate) result: String,
    /// Keys in lower case (`header.d`, `smtp.mailfrom`, `reason`, …), in order.
    pub(crate) props: Vec<(String, Value)>,
}

/// A property's value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Value {
    /// A token or a quoted string (unescaped).
    Text(String),
    /// `[local-part] "@" domain`: the domain is its own token, whatever the local part holds.
    Address {
        local: Option<String>,
        domain: String,
    },
    /// Something RFC 8601 does not allow (`header.b=ab/cd=`); never used for trust.
    Irregular,
}

/// Why a header value cannot be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// The authserv-id alone: the value before the first `;`, with at most a version
/// after it. A header without one (as Microsoft 365 writes them: `spf=pass …`) has
/// `None`; so has one whose start cannot be read.
pub(crate) fn authserv_id(header: &str) -> Option<String> {
    let head = Lexer::new(header)
        .take_while(|l| {
            !matches!(
                l,
                Ok(Lexeme {
                    token: Token::Special(';'),
                    ..
                })
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    match head.as_slice() {
        [id] => value(id),
        [id, version] if version.spaced && is_version(version) => value(id),
        _ => None,
    }
}

fn value(l: &Lexeme) -> Option<String> {
    match &l.token {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        Token::Special(_) => None,
    }
}

fn is_version(l: &Lexeme) -> bool {
    word(l).is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
}

/// The results after the authserv-id. Clauses RFC 8601 does not allow (a lone `none`, a result
/// without `=`) are left out; the others stand, as the `;` between them is real.
pub(crate) fn parse(header: &str) -> Result<Vec<MethodResult>, Malformed> {
    authserv_id(header).ok_or(Malformed)?;
    let lexemes = Lexer::new(header).collect::<Result<Vec<_>, _>>()?;
    Ok(lexemes
        .split(|l| l.token == Token::Special(';'))
        .skip(1)
        .filter_map(resinfo)
        .collect())
}

/// `method [/ version] = result *(key = pvalue)`, or `None` if it is not that.
fn resinfo(lexemes: &[Lexeme]) -> Option<MethodResult> {
    let mut it = lexemes.iter().peekable();
    let method = word(it.next()?)?.to_ascii_lowercase();
    if it.next_if(|l| l.token == Token::Special('/')).is_some() {
        word(it.next()?)?;
    }
    special(it.next()?, '=')?;
    let result = word(it.next()?)?.to_ascii_lowercase();
    let mut props = Vec::new();
    while let Some(key) = it.next() {
        let key = word(key)?.to_ascii_lowercase();
        special(it.next()?, '=')?;
        props.push((key, pvalue(&mut it)?));
    }
    Some(MethodResult {
        method,
        result,
        props,
    })
}

/// `value / [ [local-part] "@" ] domain-name`. A value followed by more without
/// white space between (`header.b=ab/cd==`) is [`Value::Irregular`].
fn pvalue<'a>(it: &mut Peekable<impl Iterator<Item = &'a Lexeme>>) -> Option<Value> {
    let local = match &it.next()?.token {
        Token::Word(w) | Token::Quoted(w) => Some(w.clone()),
        Token::Special('@') => None,
        Token::Special(_) => return None,
    };
    let at = local.is_none() || it.next_if(|l| l.is_glued('@')).is_some();
    let value = if at {
        let domain = it.next_if(|l| !l.spaced && matches!(l.token, Token::Word(_)));
        Value::Address {
            local,
            domain: word(domain?)?.to_owned(),
        }
    } else {
        Value::Text(local?)
    };
    let mut irregular = false;
    while it.next_if(|l| !l.spaced).is_some() {
        irregular = true;
    }
    Some(if irregular { Value::Irregular } else { value })
}

fn word(l: &Lexeme) -> Option<&str> {
    match &l.token {
        Token::Word(w) => Some(w),
        _ => None,
    }
}

fn special(l: &Lexeme, c: char) -> Option<()> {
    (l.token == Token::Special(c)).then_some(())
}

#[derive(Debug, PartialEq, Eq)]
enum Token {
    /// An RFC 2045 token: `header.d`, `agency.gov`, `pass`, `2048`.
    Word(String),
    /// A quoted string's content, unescaped.
    Quoted(String),
    /// One of RFC 2045's tspecials other than `(` and `"`: `; = @ / . …`.
    Special(char),
}

#[derive(Debug)]
struct Lexeme {
    token: Token,
    /// CFWS (white space or a comment) came right before it.
    spaced: bool,
}

impl Lexeme {
    fn is_glued(&self, c: char) -> bool {
        !self.spaced && self.token == Token::Special(c)
    }
}

/// Words, quoted strings and specials, with CFWS between them dropped.
struct Lexer<'a> {
    chars: std::str::Chars<'a>,
    peeked: Option<char>,
    failed: bool,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Lexer<'a> {
        Lexer {
            chars: text.chars(),
            peeked: None,
            failed: false,
        }
    }

    fn bump(&mut self) -> Option<char> {
        self.peeked.take().or_else(|| self.chars.next())
    }

    fn peek(&mut self) -> Option<char> {
        if self.peeked.is_none() {
            self.peeked = self.chars.next();
        }
        self.peeked
    }

    /// After `(`: up to its matching `)`, nested comments and `\` escapes included.
    fn comment(&mut self) -> Result<(), Malformed> {
        let mut depth = 1usize;
        while depth > 0 {
            match self.bump().ok_or(Malformed)? {
                '\\' => {
                    self.bump().ok_or(Malformed)?;
                }
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
        }
        Ok(())
    }

    /// After `"`: the content up to the closing `"`, with `\x` read as `x`.
    fn quoted(&mut self) -> Result<String, Malformed> {
        let mut out = String::new();
        loop {
            match self.bump().ok_or(Malformed)? {
                '"' => return Ok(out),
                '\\' => out.push(self.bump().ok_or(Malformed)?),
                c => out.push(c),
            }
        }
    }

    fn word(&mut self, first: char) -> String {
        let mut out = String::from(first);
        while let Some(c) = self.peek().filter(|&c| is_token_char(c)) {
            out.push(c);
            self.bump();
        }
        out
    }

    fn lexeme(&mut self) -> Option<Result<Lexeme, Malformed>> {
        let mut spaced = false;
        loop {
            let c = self.bump()?;
            let token = match c {
                ' ' | '\t' | '\r' | '\n' => {
                    spaced = true;
                    continue;
                }
                '(' => match self.comment() {
                    Ok(()) => {
                        spaced = true;
                        continue;
                    }
                    Err(e) => return Some(Err(e)),
                },
                '"' => match self.quoted() {
                    Ok(q) => Token::Quoted(q),
                    Err(e) => return Some(Err(e)),
                },
                c if is_tspecial(c) => Token::Special(c),
                c if is_token_char(c) => Token::Word(self.word(c)),
                _ => return Some(Err(Malformed)),
            };
            return Some(Ok(Lexeme { token, spaced }));
        }
    }
}

impl Iterator for Lexer<'_> {
    type Item = Result<Lexeme, Malformed>;

    /// Stops after the first error: nothing after an unterminated string is read.
    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let item = self.lexeme();
        self.failed = matches!(item, Some(Err(_)));
        item
    }
}

/// RFC 2045 tspecials, `(` and `"` being handled before.
fn is_tspecial(c: char) -> bool {
    matches!(
        c,
        ')' | '<' | '>' | '@' | ',' | ';' | ':' | '\\' | '/' | '[' | ']' | '?' | '='
    )
}

/// RFC 2045 token characters; non-ASCII is allowed as in RFC 6532 headers.
fn is_token_char(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || is_tspecial(c) || c == '(' || c == '"')
}
