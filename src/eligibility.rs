//! Eligibility rules: who may join a list (docs/reference.md, section 1).
//!
//! Rules are compiled once when a list loads. The first rule whose matchers all hold
//! decides; when none matches, the request is rejected with the list's `terms`.
//! Domains are compared label by label on their IDNA lower-case ASCII form, so
//! `*.gov` matches `a.b.gov` but never `gov`, `evilgov` or `gov.evil.com`.

use crate::address::EmailAddress;
use regex::Regex;

/// What a matching rule does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ruling {
    /// The request goes on to the list's policy.
    Allow,
    /// The request is held for the owners.
    Moderate,
    /// The request is refused with the rule's reason or the list's terms.
    Reject,
}

impl Ruling {
    /// The word used in list.toml and in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Ruling::Allow => "allow",
            Ruling::Moderate => "moderate",
            Ruling::Reject => "reject",
        }
    }
}

/// One compiled `[[rule]]`.
#[derive(Debug, Clone)]
pub struct Rule {
    /// 1-based position among the list's rules.
    pub number: usize,
    /// Line of its `[[rule]]` header in list.toml (0 when unknown).
    pub line: usize,
    /// Domain globs; any may match. Empty means "no domain condition".
    pub domains: Vec<DomainGlob>,
    /// Address globs; any may match.
    pub addresses: Vec<AddressGlob>,
    /// Anchored regex on the lower-case address.
    pub regex: Option<Regex>,
    /// Required state of the sender's DKIM/SPF authentication, when set.
    pub authenticated: Option<bool>,
    /// What happens on a match.
    pub action: Ruling,
    /// What a rejected person is told instead of the list's terms.
    pub reason: Option<String>,
}

/// The outcome of the rules for one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What to do.
    pub action: Ruling,
    /// Which rule decided, by number; `None` when no rule matched (a reject).
    pub rule: Option<usize>,
    /// For a reject, the text the person is told (reason or terms).
    pub reason: Option<String>,
}

/// What is known about the sender beyond the address.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence {
    /// A trusted Authentication-Results showed DKIM or SPF pass for the sender's domain.
    pub authenticated: bool,
}

impl Rule {
    /// True when every matcher of this rule holds for the address.
    pub fn matches(&self, address: &EmailAddress, evidence: Evidence) -> bool {
        let lower = address.key();
        let (local, domain) = lower.rsplit_once('@').unwrap_or(("", lower.as_str()));
        (self.domains.is_empty() || self.domains.iter().any(|g| g.matches(domain)))
            && (self.addresses.is_empty()
                || self.addresses.iter().any(|g| g.matches(local, domain)))
            && self.regex.as_ref().is_none_or(|re| re.is_match(&lower))
            && self
                .authenticated
                .is_none_or(|want| want == evidence.authenticated)
    }
}

/// Applies the first matching rule; no match rejects with `terms`.
pub fn decide(rules: &[Rule], terms: &str, address: &EmailAddress, evidence: Evidence) -> Verdict {
    match rules.iter().find(|r| r.matches(address, evidence)) {
        Some(rule) => Verdict {
            action: rule.action,
            rule: Some(rule.number),
            reason: (rule.action == Ruling::Reject)
                .then(|| rule.reason.clone().unwrap_or_else(|| terms.to_owned())),
        },
        None => Verdict {
            action: Ruling::Reject,
            rule: None,
            reason: Some(terms.to_owned()),
        },
    }
}

/// Why a `domain`, `address` or `regex` matcher does not compile (the text is what
/// `check` shows after the pattern).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// `domain = ""`.
    #[error("an empty domain pattern matches nothing")]
    EmptyDomain,
    /// `a..gov`.
    #[error("a domain pattern has an empty label (`..`)")]
    EmptyLabel,
    /// A label with a wildcard and a character a label may not hold.
    #[error("the label `{0}` may hold only letters, digits, `-`, `*` and `?`")]
    WildcardLabel(String),
    /// A label IDNA refuses.
    #[error("the label `{0}` is not a valid domain label")]
    BadLabel(String),
    /// An address pattern without `@`.
    #[error("`{0}` needs an `@` (write `*@{0}` for a whole domain)")]
    MissingAt(String),
    /// An address pattern with nothing before the `@`.
    #[error("`{0}` has nothing before the `@` (use `*`)")]
    EmptyLocal(String),
    /// The regex crate's own message.
    #[error("{0}")]
    Regex(String),
}

/// A glob on a domain name, matched label by label.
///
/// A leading `*` label stands for one or more labels (`*.gov`); any other `*` or `?`
/// stays within one label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainGlob {
    text: String,
    labels: Vec<String>,
    any_prefix: bool,
}

impl DomainGlob {
    /// Compiles a glob such as `*.gov`, `gov` or `*.bücher.example`.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let trimmed = pattern.strip_suffix('.').unwrap_or(pattern);
        if trimmed.is_empty() {
            return Err(PatternError::EmptyDomain);
        }
        let mut labels = Vec::new();
        for label in trimmed.split('.') {
            labels.push(normalize_label(label)?);
        }
        let any_prefix = labels[0] == "*";
        if any_prefix {
            labels.remove(0);
        }
        Ok(Self {
            text: pattern.to_owned(),
            labels,
            any_prefix,
        })
    }

    /// Matches a normalised (lower-case ASCII, no trailing dot) domain.
    pub fn matches(&self, domain: &str) -> bool {
        let domain = domain.strip_suffix('.').unwrap_or(domain);
        let labels: Vec<&str> = domain.split('.').collect();
        let n = self.labels.len();
        if labels.len() < n
            || (!self.any_prefix && labels.len() != n)
            || (self.any_prefix && labels.len() == n)
        {
            return false;
        }
        let tail = &labels[labels.len() - n..];
        self.labels
            .iter()
            .zip(tail)
            .all(|(p, l)| wildcard(p.as_bytes(), l.as_bytes()))
    }

    /// The pattern as the admin wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A glob on a whole address: `local-glob@domain-glob`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressGlob {
    text: String,
    local: String,
    domain: DomainGlob,
}

impl AddressGlob {
    /// Compiles a glob such as `*@contractor.example.com`.
    pub fn parse(pattern: &str) -> Result<Self, PatternError> {
        let (local, domain) = pattern
            .rsplit_once('@')
            .ok_or_else(|| PatternError::MissingAt(pattern.to_owned()))?;
        if local.is_empty() {
            return Err(PatternError::EmptyLocal(pattern.to_owned()));
        }
        Ok(Self {
            text: pattern.to_owned(),
            local: local.to_lowercase(),
            domain: DomainGlob::parse(domain)?,
        })
    }

    /// Matches a lower-case local part and a normalised domain.
    pub fn matches(&self, local: &str, domain: &str) -> bool {
        wildcard(self.local.as_bytes(), local.as_bytes()) && self.domain.matches(domain)
    }

    /// The pattern as the admin wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Compiles a `regex` matcher, anchored to the whole address.
pub fn compile_regex(pattern: &str) -> Result<Regex, PatternError> {
    Regex::new(&format!("^(?:{pattern})$")).map_err(|e| PatternError::Regex(e.to_string()))
}

fn normalize_label(label: &str) -> Result<String, PatternError> {
    if label.is_empty() {
        return Err(PatternError::EmptyLabel);
    }
    if label.contains(['*', '?']) {
        let ok = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'*' | b'?'));
        return if ok {
            Ok(label.to_ascii_lowercase())
        } else {
            Err(PatternError::WildcardLabel(label.to_owned()))
        };
    }
    // A bare label is normalised as the domain `label.x` would be, then split again.
    let probe = format!("{label}.x");
    let ascii =
        idna::domain_to_ascii(&probe).map_err(|_| PatternError::BadLabel(label.to_owned()))?;
    let ascii = ascii.strip_suffix(".x").unwrap_or(&ascii).to_owned();
    if ascii.is_empty()
        || ascii.contains('.')
        || !ascii
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(PatternError::BadLabel(label.to_owned()));
    }
    Ok(ascii)
}

/// `*` matches any run of bytes, `?` one byte; nothing else is special.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::normalize_domain;
    use proptest::prelude::*;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn domain_matches(pattern: &str, domain: &str) -> bool {
        let d = normalize_domain(domain).unwrap();
        DomainGlob::parse(pattern).unwrap().matches(&d)
    }

    #[test]
    fn star_dot_gov_is_a_suffix_on_label_boundaries() {
        assert!(domain_matches("*.gov", "agency.gov"));
        assert!(domain_matches("*.gov", "a.b.gov"));
        assert!(domain_matches("*.gov", "A.B.GOV"));
        assert!(domain_matches("*.gov", "a.b.gov."));
        assert!(!domain_matches("*.gov", "evilgov.com"));
        assert!(!domain_matches("*.gov", "gov.evil.com"));
        assert!(!domain_matches("*.gov", "gov.evil.com."));
        assert!(!domain_matches("*.gov", "x.evilgov"));
        assert!(!domain_matches("*.gov", "agency.gov.uk"));
        assert!(!DomainGlob::parse("*.gov").unwrap().matches("gov"));
        assert!(DomainGlob::parse("gov").unwrap().matches("gov"));
        assert!(!DomainGlob::parse("gov").unwrap().matches("a.gov"));
    }

    #[test]
    fn idna_patterns_and_domains_meet_in_xn_form() {
        assert!(domain_matches(
            "*.bücher.example",
            "shop.xn--bcher-kva.example"
        ));
        assert!(domain_matches(
            "*.xn--bcher-kva.example",
            "shop.BÜCHER.example"
        ));
        assert!(!domain_matches("*.bücher.example", "shop.bucher.example"));
    }

    #[test]
    fn wildcards_inside_a_label_stay_inside_it() {
        assert!(domain_matches("agency*.gov", "agency12.gov"));
        assert!(!domain_matches("agency*.gov", "agency.x.gov"));
        assert!(domain_matches("*.st?te.gov", "x.state.gov"));
    }

    #[test]
    fn address_globs_split_at_the_last_at() {
        let g = AddressGlob::parse("*@contractor.example.com").unwrap();
        assert!(g.matches("jo", "contractor.example.com"));
        assert!(!g.matches("jo", "evil-contractor.example.com"));
        let g = AddressGlob::parse("admin-*@*.mil").unwrap();
        assert!(g.matches("admin-x", "army.mil"));
        assert!(!g.matches("user", "army.mil"));
        assert!(AddressGlob::parse("contractor.example.com").is_err());
    }

    #[test]
    fn first_matching_rule_decides_and_no_match_rejects_with_terms() {
        let rules = vec![
            Rule {
                number: 1,
                line: 1,
                domains: vec![],
                addresses: vec![AddressGlob::parse("*@bad.agency.gov").unwrap()],
                regex: None,
                authenticated: None,
                action: Ruling::Reject,
                reason: Some("not this one".into()),
            },
            Rule {
                number: 2,
                line: 2,
                domains: vec![DomainGlob::parse("*.gov").unwrap()],
                addresses: vec![],
                regex: Some(compile_regex(r"[a-z]+\.[a-z]+@.*").unwrap()),
                authenticated: None,
                action: Ruling::Allow,
                reason: None,
            },
        ];
        let v = decide(
            &rules,
            "terms",
            &addr("x@bad.agency.gov"),
            Evidence::default(),
        );
        assert_eq!(
            (v.action, v.rule, v.reason.as_deref()),
            (Ruling::Reject, Some(1), Some("not this one"))
        );
        let v = decide(
            &rules,
            "terms",
            &addr("Jane.Doe@agency.gov"),
            Evidence::default(),
        );
        assert_eq!((v.action, v.rule), (Ruling::Allow, Some(2)));
        // The regex is anchored: it must match the whole address.
        let v = decide(
            &rules,
            "terms",
            &addr("jane@agency.gov"),
            Evidence::default(),
        );
        assert_eq!(
            (v.action, v.rule, v.reason.as_deref()),
            (Ruling::Reject, None, Some("terms"))
        );
    }

    #[test]
    fn authenticated_needs_the_evidence() {
        let rule = Rule {
            number: 1,
            line: 1,
            domains: vec![DomainGlob::parse("example.com").unwrap()],
            addresses: vec![],
            regex: None,
            authenticated: Some(true),
            action: Ruling::Allow,
            reason: None,
        };
        let a = addr("x@example.com");
        assert!(!rule.matches(
            &a,
            Evidence {
                authenticated: false
            }
        ));
        assert!(rule.matches(
            &a,
            Evidence {
                authenticated: true
            }
        ));
    }

    fn label() -> impl Strategy<Value = String> {
        // `xn--` labels must be valid punycode: those are tested on their own.
        "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?".prop_filter("no xn-- label", |l| !l.starts_with("xn--"))
    }

    proptest! {
        /// `*.S` matches exactly the domains that end in `.S` on a label boundary.
        #[test]
        fn star_suffix_is_label_suffix(prefix in proptest::collection::vec(label(), 0..4),
                                       suffix in proptest::collection::vec(label(), 1..3),
                                       junk in "[a-z0-9]{1,5}") {
            let s = suffix.join(".");
            let glob = DomainGlob::parse(&format!("*.{s}")).unwrap();
            let mut labels = prefix.clone();
            labels.extend(suffix.iter().cloned());
            let domain = labels.join(".");
            prop_assert_eq!(glob.matches(&domain), !prefix.is_empty());
            // Gluing junk onto the first suffix label, or appending a label, matches
            // exactly when the result still ends in `.S` on a label boundary.
            let on_boundary = |d: &str| d.ends_with(&format!(".{s}"));
            if !prefix.is_empty() {
                let glued = format!("{}.{junk}{s}", prefix.join("."));
                prop_assert_eq!(glob.matches(&glued), on_boundary(&glued));
            }
            let extended = format!("{domain}.{junk}");
            prop_assert_eq!(glob.matches(&extended), on_boundary(&extended));
        }

        /// Case and a trailing dot never change the outcome.
        #[test]
        fn case_and_trailing_dot_do_not_matter(labels in proptest::collection::vec(label(), 2..5),
                                                pattern_len in 1usize..3) {
            let domain = labels.join(".");
            let tail = labels[labels.len() - pattern_len..].join(".");
            let glob = DomainGlob::parse(&format!("*.{}", tail.to_uppercase())).unwrap();
            let upper = normalize_domain(&format!("{}.", domain.to_uppercase())).unwrap();
            prop_assert_eq!(glob.matches(&domain), glob.matches(&upper));
        }

        /// A literal pattern (no wildcard) matches only itself.
        #[test]
        fn literal_matches_only_itself(a in proptest::collection::vec(label(), 2..4),
                                       b in proptest::collection::vec(label(), 2..4)) {
            let glob = DomainGlob::parse(&a.join(".")).unwrap();
            prop_assert_eq!(glob.matches(&b.join(".")), a == b);
        }

        /// The wildcard matcher agrees with an equivalent regex.
        #[test]
        fn wildcard_agrees_with_regex(pattern in "[ab*?]{0,6}", text in "[ab]{0,8}") {
            let re = format!("^{}$", pattern.replace('?', ".").replace('*', ".*"));
            let re = Regex::new(&re).unwrap();
            prop_assert_eq!(wildcard(pattern.as_bytes(), text.as_bytes()), re.is_match(&text));
        }
    }
}
