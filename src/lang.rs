//! Languages: a list's `language` and a member's `lang` (BCP 47 tags), the chain of
//! tags a text is looked up by, and the languages listkeeper's own texts come in.
//!
//! A text for `es-MX` on a list whose language is `fr` is looked up as `es-mx`, `es`,
//! `fr`, `en`: the member's language from the most to the least specific, then the
//! list's, then English, which every text has.

/// The languages listkeeper's own texts (replies, subjects, web pages) ship in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    /// English: every text.
    En,
    /// Spanish: every text.
    Es,
}

impl Lang {
    /// The built-in language of a tag (`es-MX` is Spanish), if one ships.
    fn of(tag: &str) -> Option<Lang> {
        match tag {
            "en" => Some(Lang::En),
            "es" => Some(Lang::Es),
            _ => None,
        }
    }

    /// Its tag, as in `<html lang="…">`.
    pub(crate) fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// `en` in English, `es` in Spanish.
    pub(crate) fn say<'s>(self, en: &'s str, es: &'s str) -> &'s str {
        match self {
            Lang::En => en,
            Lang::Es => es,
        }
    }

    /// The language of `list`'s pages and notices to its owners: the list's
    /// language, else English.
    pub(crate) fn of_list(list: Option<&crate::config::ListConfig>) -> Lang {
        list.map_or(Lang::En, |l| Lang::pick(&chain(None, &l.language)))
    }

    /// The language of a page about no list (the index, a 404): the visitor's first
    /// built-in one by their `Accept-Language` (`es-MX,en;q=0.5` is Spanish), else
    /// English.
    pub(crate) fn of_visitor(accept_language: Option<&str>) -> Lang {
        let wanted = accept_language.map(accept_language::parse_with_quality);
        (wanted.unwrap_or_default().into_iter())
            .filter(|(_, quality)| *quality > 0.0)
            .find_map(|(tag, _)| {
                let primary = tag.split('-').next().unwrap_or_default();
                Lang::of(&primary.to_ascii_lowercase())
            })
            .unwrap_or(Lang::En)
    }

    /// The first built-in language on `chain` (English at the latest).
    pub(crate) fn pick(chain: &[String]) -> Lang {
        chain.iter().find_map(|t| Lang::of(t)).unwrap_or(Lang::En)
    }
}

/// Checks a BCP 47 tag lightly (`es`, `es-MX`, `zh-Hant-TW`): a primary subtag of 2
/// or 3 letters, then subtags of 1 to 8 letters or digits. Returns it in lower case.
pub(crate) fn check(tag: &str) -> Result<String, String> {
    let tag = tag.trim().to_ascii_lowercase();
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(tag)
    } else {
        Err(format!(
            "`{tag}` is not a language tag: write it like \"en\", \"es\" or \"es-MX\" (BCP 47)"
        ))
    }
}

/// The tags to look a text up by: `member` (when given and valid) from the most to
/// the least specific, then the list's `language` likewise, then `en`; in lower
/// case, each once.
pub(crate) fn chain(member: Option<&str>, language: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in member.into_iter().chain([language, "en"]) {
        let Ok(tag) = check(tag) else { continue };
        let mut cut = tag.as_str();
        loop {
            if !out.iter().any(|t| t == cut) {
                out.push(cut.to_owned());
            }
            match cut.rfind('-') {
                Some(i) => cut = &cut[..i],
                None => break,
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visitor_gets_the_first_language_they_accept_that_ships() {
        let of = |h: &str| Lang::of_visitor(Some(h));
        assert_eq!(of("es-MX,es;q=0.9,en;q=0.8"), Lang::Es);
        assert_eq!(of("fr-FR, es;q=0.5, en;q=0.4"), Lang::Es);
        assert_eq!(of("en-US,en;q=0.9,es;q=0.8"), Lang::En);
        assert_eq!(of("de, fr;q=0.5"), Lang::En);
        assert_eq!(of("es;q=0, en;q=0.1"), Lang::En, "q=0 is not acceptable");
        assert_eq!(of("ES"), Lang::Es);
        assert_eq!(Lang::of_visitor(None), Lang::En);
        assert_eq!(of(",,;q=abc"), Lang::En);
    }

    #[test]
    fn the_chain_falls_back_to_the_list_then_english() {
        assert_eq!(chain(Some("es-MX"), "en"), ["es-mx", "es", "en"]);
        assert_eq!(chain(Some("pt-BR"), "es"), ["pt-br", "pt", "es", "en"]);
        assert_eq!(chain(None, "es"), ["es", "en"]);
        assert_eq!(chain(Some("EN"), "en"), ["en"]);
        assert_eq!(chain(Some("not a tag"), "fr"), ["fr", "en"]);
        assert_eq!(
            chain(Some("zh-Hant-TW"), "en"),
            ["zh-hant-tw", "zh-hant", "zh", "en"]
        );
        assert_eq!(Lang::pick(&chain(Some("es-MX"), "en")), Lang::Es);
        assert_eq!(Lang::pick(&chain(Some("fr"), "es")), Lang::Es);
        assert_eq!(Lang::pick(&chain(Some("fr"), "de")), Lang::En);
    }

    #[test]
    fn tags_are_checked_lightly() {
        assert_eq!(check("es-MX").as_deref(), Ok("es-mx"));
        assert!(check("e").is_err());
        assert!(check("spanish").is_err());
        assert!(check("es_MX").is_err());
        assert!(check("es-").is_err());
    }
}
