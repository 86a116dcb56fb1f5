//! Email addresses: the one checked type every other module takes.
//!
//! An [`EmailAddress`] exists only after [`EmailAddress::parse`] accepted it. The local
//! part keeps the case it was written in (that is what we store and show); the domain
//! is IDNA-normalised to lower-case ASCII without a trailing dot. Two addresses are
//! the same member when their [`EmailAddress::key`]s are equal: the whole address in
//! lower case, as Mailman and mlmmj treat upper-case variants of a member.

use std::fmt;

/// A syntactically valid `local@domain` address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    local: String,
    domain: String,
}

/// Why a string is not an address we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// No `@` at all.
    #[error("`{0}` is not an email address (no `@`)")]
    MissingAt(String),
    /// The part before the `@` is empty, too long or has characters mail does not allow.
    #[error("`{0}` has an invalid local part (before the `@`)")]
    BadLocal(String),
    /// The part after the `@` is not a valid domain name.
    #[error("`{0}` has an invalid domain: {1}")]
    BadDomain(String, DomainError),
}

/// Why a string is not a domain name we accept (the text follows "… is not a usable
/// domain: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Nothing (or only the root's dot).
    #[error("it is empty")]
    Empty,
    /// `[192.0.2.1]`.
    #[error("address literals are not accepted")]
    Literal,
    /// IDNA processing refused it.
    #[error("it is not a valid (IDNA) domain name")]
    NotIdna,
    /// Over 253 characters in its ASCII form.
    #[error("it is longer than 253 characters")]
    TooLong,
    /// A single label such as `localhost`.
    #[error("it needs at least one dot (a fully qualified name)")]
    NoDot,
    /// A label empty, too long, or with a character DNS does not allow.
    #[error("the label `{0}` is not allowed")]
    BadLabel(String),
}

impl EmailAddress {
    /// Parses and normalises an address such as `Jane.Doe@Agency.GOV`.
    ///
    /// Quoted local parts and domain literals (`user@[192.0.2.1]`) are refused: no list
    /// admin needs them and they are a favourite of forged mail.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let (local, domain) = input
            .rsplit_once('@')
            .ok_or_else(|| AddressError::MissingAt(input.to_owned()))?;
        if !valid_local(local) {
            return Err(AddressError::BadLocal(input.to_owned()));
        }
        let domain = normalize_domain(domain)
            .map_err(|why| AddressError::BadDomain(input.to_owned(), why))?;
        Ok(Self {
            local: local.to_owned(),
            domain,
        })
    }

    /// Checks an address and returns only its [`key`](Self::key), the cheap way
    /// (one allocation): what a roster needs for each of a million lines.
    pub fn parse_key(input: &str) -> Result<String, AddressError> {
        let (local, domain) = input
            .rsplit_once('@')
            .ok_or_else(|| AddressError::MissingAt(input.to_owned()))?;
        if !valid_local(local) {
            return Err(AddressError::BadLocal(input.to_owned()));
        }
        let domain = normalize_domain_cow(domain)
            .map_err(|why| AddressError::BadDomain(input.to_owned(), why))?;
        let mut key = String::with_capacity(local.len() + 1 + domain.len());
        push_lower(&mut key, local);
        key.push('@');
        push_lower(&mut key, &domain);
        Ok(key)
    }

    /// Appends the address's display form (as [`Display`](fmt::Display) writes it) to
    /// `out` without building an `EmailAddress`: for writing a million of them.
    pub fn push_display(input: &str, out: &mut String) -> Result<(), AddressError> {
        let (local, domain) = input
            .rsplit_once('@')
            .ok_or_else(|| AddressError::MissingAt(input.to_owned()))?;
        let domain = normalize_domain_cow(domain)
            .map_err(|why| AddressError::BadDomain(input.to_owned(), why))?;
        out.push_str(local);
        out.push('@');
        out.push_str(&domain);
        Ok(())
    }

    /// The local part, in the case it was written.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain: lower-case ASCII (IDNA `xn--` form), no trailing dot.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The identity of a member: the whole address in lower case.
    pub fn key(&self) -> String {
        let mut key = String::with_capacity(self.local.len() + 1 + self.domain.len());
        push_lower(&mut key, &self.local);
        key.push('@');
        key.push_str(&self.domain);
        key
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

impl std::str::FromStr for EmailAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn push_lower(out: &mut String, s: &str) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(s.chars().flat_map(char::to_lowercase));
    }
}

/// RFC 5322 dot-atom, with RFC 6531 UTF-8 allowed, at most 64 bytes.
fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || c == '.'
                || SPECIALS.contains(c)
                || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
        })
}

/// IDNA-normalises a domain to lower-case ASCII and checks every label.
///
/// One trailing dot (the DNS root) is dropped, so `gov.` and `gov` are the same name.
pub fn normalize_domain(domain: &str) -> Result<String, DomainError> {
    normalize_domain_cow(domain).map(std::borrow::Cow::into_owned)
}

/// [`normalize_domain`], borrowing when the name is already lower-case ASCII.
fn normalize_domain_cow(domain: &str) -> Result<std::borrow::Cow<'_, str>, DomainError> {
    use std::borrow::Cow;
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    if domain.is_empty() {
        return Err(DomainError::Empty);
    }
    if domain.starts_with('[') {
        return Err(DomainError::Literal);
    }
    // Plain ASCII names without `xn--` labels are what IDNA maps them to, in lower
    // case; only the rest need the (much slower) full UTS 46 processing.
    let ascii = if !plain_ascii(domain) {
        Cow::Owned(idna::domain_to_ascii(domain).map_err(|_| DomainError::NotIdna)?)
    } else if domain.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(domain.to_ascii_lowercase())
    } else {
        Cow::Borrowed(domain)
    };
    check_labels(&ascii)?;
    Ok(ascii)
}

/// Letters, digits, `-` and `.` only, and no label starting `xn--`.
fn plain_ascii(domain: &str) -> bool {
    let b = domain.as_bytes();
    b.iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
        && !b
            .windows(4)
            .enumerate()
            .any(|(i, w)| (i == 0 || b[i - 1] == b'.') && w.eq_ignore_ascii_case(b"xn--"))
}

fn check_labels(ascii: &str) -> Result<(), DomainError> {
    if ascii.len() > 253 {
        return Err(DomainError::TooLong);
    }
    if !ascii.contains('.') {
        return Err(DomainError::NoDot);
    }
    for label in ascii.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(DomainError::BadLabel(label.to_owned()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_domain_and_keeps_local_case() {
        let a = EmailAddress::parse("Jane.Doe@Agency.GOV.").unwrap();
        assert_eq!(a.to_string(), "Jane.Doe@agency.gov");
        assert_eq!(a.key(), "jane.doe@agency.gov");
        let b = EmailAddress::parse("jane.doe@agency.gov").unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn idna_domains_become_xn_forms() {
        let a = EmailAddress::parse("hans@Bücher.example").unwrap();
        assert_eq!(a.domain(), "xn--bcher-kva.example");
        let b = EmailAddress::parse("hans@xn--bcher-kva.example").unwrap();
        assert_eq!(a.key(), b.key());
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "nobody",
            "@agency.gov",
            "a b@agency.gov",
            "a..b@agency.gov",
            ".a@agency.gov",
            "a@",
            "a@gov",
            "a@[192.0.2.1]",
            "a@-x.gov",
            "a@x..gov",
            "a@x_y.gov",
            "\"quoted\"@x.gov",
            "a\r\nBcc: x@y.gov@x.gov",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn parse_key_agrees_with_parse() {
        for a in [
            "Jane.Doe@Agency.GOV.",
            "hans@Bücher.example",
            "Ünïcode@x.gov",
            "a+b@x.gov",
        ] {
            assert_eq!(
                EmailAddress::parse_key(a).unwrap(),
                EmailAddress::parse(a).unwrap().key()
            );
        }
        assert!(EmailAddress::parse_key("a@gov").is_err());
    }

    #[test]
    fn accepts_plus_and_specials() {
        for good in [
            "a+tag@x.gov",
            "o'brien@army.mil",
            "first_last@sub.agency.gov",
            "jörg@x.de",
        ] {
            assert!(EmailAddress::parse(good).is_ok(), "{good:?} was refused");
        }
    }
}
