//! `trust` against headers as real MTAs write them, every forgery shape of issue 13,
//! and property tests over the parser.

use super::*;
use proptest::prelude::*;

fn sender() -> EmailAddress {
    EmailAddress::parse("jane@agency.gov").unwrap()
}

fn check(headers: &[&str]) -> bool {
    let headers: Vec<String> = headers.iter().map(|s| (*s).to_owned()).collect();
    authenticated(&headers, Some("mx.example.gov"), &sender())
}

#[test]
fn our_topmost_header_decides() {
    assert!(check(&[
        "mx.example.gov; dkim=pass header.d=agency.gov header.s=sel"
    ]));
    assert!(check(&[
        "mx.example.gov; spf=pass smtp.mailfrom=bounce@agency.gov"
    ]));
    assert!(check(&[
        "mx.example.gov (our MX); dkim=pass (good) header.d=Agency.GOV"
    ]));
    assert!(
        check(&["mx.example.gov 1; spf=pass smtp.mailfrom=agency.gov"]),
        "a version number is allowed"
    );
}

#[test]
fn what_does_not_count() {
    // From another host.
    assert!(!check(&["mx.evil.example; dkim=pass header.d=agency.gov"]));
    // For another domain.
    assert!(!check(&["mx.example.gov; dkim=pass header.d=evil.com"]));
    assert!(!check(&[
        "mx.example.gov; dkim=fail header.d=agency.gov; spf=softfail smtp.mailfrom=agency.gov"
    ]));
    // Ours says fail; a forged "pass" below ours is ignored.
    assert!(!check(&[
        "mx.example.gov; dkim=fail header.d=agency.gov",
        "mx.example.gov; dkim=pass header.d=agency.gov",
    ]));
    // Two headers: only the topmost of ours counts, wherever others stand.
    assert!(check(&[
        "other.host; dkim=fail header.d=agency.gov",
        "mx.example.gov; dkim=pass header.d=agency.gov",
    ]));
    // No authserv_id configured: nothing is believed.
    let headers = vec!["mx.example.gov; dkim=pass header.d=agency.gov".to_owned()];
    assert!(!authenticated(&headers, None, &sender()));
}

#[test]
fn subdomains_align_with_their_parent() {
    let sub = EmailAddress::parse("a@mail.agency.gov").unwrap();
    let headers = vec!["mx.example.gov; dkim=pass header.d=agency.gov".to_owned()];
    assert!(authenticated(&headers, Some("mx.example.gov"), &sub));
    let headers = vec!["mx.example.gov; dkim=pass header.d=mail.agency.gov".to_owned()];
    assert!(
        !authenticated(&headers, Some("mx.example.gov"), &sender()),
        "a subdomain's pass does not cover the parent"
    );
}

/// Written by the milters and filters a border MTA runs (folds kept: the lexer
/// takes CR, LF and tabs as the white space they are once unfolded).
#[test]
fn real_headers_from_real_mtas() {
    let admitted = [
        // OpenDKIM (the `;` in its comment broke the old reading).
        "mx.example.gov;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=agency.gov \
         header.i=@agency.gov header.a=rsa-sha256 header.s=selector1 header.b=hPq4/dVO;\r\n\tdkim-atps=neutral",
        // OpenDKIM folded by Postfix inside its comment, and after a failed signature.
        "mx.example.gov; dkim=fail reason=\"signature verification failed\" (2048-bit key; \
         unprotected) header.d=evil.com header.i=@evil.com header.b=CwTFssb4;\r\n dkim=pass (2048-bit key;\r\n \
         unprotected) header.d=agency.gov header.i=@agency.gov header.a=rsa-sha256\r\n header.s=pp1 header.b=\"CwTF/sb4\"",
        // OpenDMARC 1.4's own SPF check.
        "mx.example.gov; spf=pass smtp.mailfrom=agency.gov",
        // policyd-spf (python, Header_Type = AR); the perl one writes only Received-SPF.
        "mx.example.gov; spf=pass (sender SPF authorized)\r\n smtp.mailfrom=agency.gov (client-ip=192.0.2.7;\r\n \
         helo=mail.agency.gov;\r\n envelope-from=jane@agency.gov; receiver=<UNKNOWN>)",
        // Gmail: no header.d, header.i only.
        "mx.google.com;\r\n       dkim=pass header.i=@agency.gov header.s=20230601 header.b=kP2yC+9Q;\r\n       \
         spf=pass (google.com: domain of bounce@agency.gov designates 209.85.220.41 as permitted sender) \
         smtp.mailfrom=bounce@agency.gov;\r\n       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=agency.gov",
        // Microsoft 365's results (`;` without a space, `action=none`) under an id.
        "mx.example.gov; spf=pass (sender IP is 40.107.22.1) smtp.mailfrom=agency.gov; dkim=pass \
         (signature was verified) header.d=agency.gov;dmarc=pass action=none header.from=agency.gov;compauth=pass reason=100",
        // rspamd.
        "mx.example.gov;\r\n\tdkim=pass header.d=agency.gov header.s=dkim header.b=Zx81Aq0T;\r\n\t\
         dmarc=pass (policy=reject) header.from=agency.gov;\r\n\tspf=pass (mx.example.gov: domain of \
         \"bounce@agency.gov\" designates 192.0.2.10 as permitted sender) smtp.mailfrom=bounce@agency.gov",
        // A version, a method version, and a quoted authserv-id.
        "\"mx.example.gov\" 1; dkim/1=pass header.d=agency.gov",
    ];
    for h in admitted {
        let id = if h.starts_with("mx.google.com") {
            "mx.google.com"
        } else {
            "mx.example.gov"
        };
        assert!(
            authenticated(&[h.to_owned()], Some(id), &sender()),
            "refused: {h}"
        );
    }
    // OpenDMARC, topmost above OpenDKIM's own header as a Postfix with both writes
    // them: its pass for the From domain is what counts.
    assert!(check(&[
        "mx.example.gov; dmarc=pass (p=reject dis=none) header.from=agency.gov",
        "mx.example.gov; dkim=pass (2048-bit key; unprotected) header.d=agency.gov",
    ]));
    let refused = [
        "mx.example.gov; dmarc=fail (p=reject dis=reject) header.from=agency.gov",
        // DMARC speaks for the From domain alone: a parent's pass is not ours.
        "mx.example.gov; dmarc=pass (p=none dis=none) header.from=gov",
        "mx.example.gov; dmarc=pass header.from=evil.com",
        "mx.example.gov; dmarc=pass header.from=jane@agency.gov",
        "mx.example.gov; spf=softfail (sender IP is 192.0.2.9) smtp.mailfrom=agency.gov",
        "mx.example.gov; none",
    ];
    for h in refused {
        assert!(!check(&[h]), "admitted: {h}");
    }
    // Microsoft 365 writes no authserv-id at all: nobody's, whatever is configured.
    let m365 = "spf=pass (sender IP is 40.107.22.1) smtp.mailfrom=agency.gov; dkim=pass \
                (signature was verified) header.d=agency.gov;dmarc=pass action=none \
                header.from=agency.gov;compauth=pass reason=100";
    assert!(!authenticated(&[m365.to_owned()], Some("spf"), &sender()));
    assert!(!check(&[m365]));
}

/// Issue 13: text inside a quoted string or a comment is never structure.
#[test]
fn regression_13_forgeries_are_refused() {
    let forged = [
        // A `;` in a quoted local part (valid RFC 8601).
        "mx.example.gov; spf=fail smtp.mailfrom=\"x; dkim=pass header.d=agency.gov y\"@evil.com",
        // The same in a comment, as lists.ozlabs.org's headers look.
        "mx.example.gov; spf=fail (x; dkim=pass header.d=agency.gov) smtp.mailfrom=evil.com",
        // Nested comments: a reader that closes at the first `)` sees a pass.
        "mx.example.gov; dkim=fail (a (b) ; dkim=pass header.d=agency.gov) header.d=agency.gov",
        "mx.example.gov; dkim=fail ((((x))) ;dkim=pass header.d=agency.gov) header.d=evil.com",
        // Escaped quotes and parentheses.
        "mx.example.gov; spf=fail smtp.mailfrom=\"x\\\"; dkim=pass header.d=agency.gov; \\\"y\"@evil.com",
        "mx.example.gov; spf=fail (x \\) ; dkim=pass header.d=agency.gov) smtp.mailfrom=evil.com",
        "mx.example.gov; spf=fail reason=\"\\\\\" (\"; dkim=pass header.d=agency.gov\") smtp.mailfrom=evil.com",
        // A pass only as text.
        "mx.example.gov; dkim=fail reason=\"dkim=pass header.d=agency.gov\" header.d=agency.gov",
        "mx.example.gov (dkim=pass header.d=agency.gov); none",
        "mx.example.gov; spf=none smtp.mailfrom=\"spf=pass smtp.mailfrom=agency.gov\"",
        // A pass for another domain.
        "mx.example.gov; dkim=pass header.d=evil.com header.i=@agency.gov",
        "mx.example.gov; dkim=pass header.d=agency.gov.evil.com",
        "mx.example.gov; dkim=pass header.d=evilagency.gov",
        "mx.example.gov; dkim=pass header.d=\"agency.gov evil.com\"",
        "mx.example.gov; dkim=pass header.d=evil.com header.d=agency.gov",
        "mx.example.gov; spf=pass smtp.mailfrom=\"jane@agency.gov\"@evil.com",
        "mx.example.gov; spf=pass smtp.mailfrom=agency.gov@evil.com",
        // Unreadable: nothing in it is believed.
        "mx.example.gov; dkim=pass header.d=agency.gov (unclosed",
        "mx.example.gov; dkim=pass header.d=agency.gov; spf=fail smtp.mailfrom=\"x",
        "mx.example.gov; dkim=pass header.d=agency.gov\0",
        // Not our id, however close.
        "mx.example.gov.evil.com; dkim=pass header.d=agency.gov",
        "mx.example.gov dkim=pass header.d=agency.gov",
        "mx.example.gov 1 2; dkim=pass header.d=agency.gov",
    ];
    for h in forged {
        assert!(!check(&[h]), "admitted: {h}");
    }
}

/// The topmost header with our id decides, our id compared without case; a pass
/// below it or in an unreadable header of ours never counts.
#[test]
fn regression_13_only_our_topmost_header_counts() {
    let pass = "mx.example.gov; dkim=pass header.d=agency.gov";
    assert!(check(&["MX.Example.GOV; dkim=pass header.d=agency.gov"]));
    assert!(!check(&[
        "MX.EXAMPLE.GOV; dkim=fail header.d=agency.gov",
        pass
    ]));
    assert!(!check(&[
        "mx.example.gov; dkim=fail header.d=agency.gov",
        "Mx.Example.Gov; dkim=pass header.d=agency.gov",
    ]));
    assert!(!check(&[
        "mx.example.gov; spf=fail smtp.mailfrom=\"x",
        pass
    ]));
    assert!(!check(&["mx.example.gov; dkim=pass (unclosed", pass]));
    // Another host's header, readable or not, is passed over.
    assert!(check(&["mx.evil.example; spf=fail (unclosed", pass]));
    assert!(check(&["spf=pass smtp.mailfrom=evil.com", pass]));
}

/// The values used for alignment.
#[test]
fn alignment_reads_the_right_domain() {
    for (h, ok) in [
        ("mx.example.gov; dkim=pass header.i=@agency.gov", true),
        ("mx.example.gov; dkim=pass header.i=jane@agency.gov", true),
        ("mx.example.gov; dkim=pass header.i=@evil.com", false),
        (
            "mx.example.gov; dkim=pass header.i=@agency.gov header.i=@x.org",
            false,
        ),
        ("mx.example.gov; dkim=pass header.d=\"agency.gov\"", true),
        ("mx.example.gov; dkim=pass header.d=AGENCY.GOV.", true),
        ("mx.example.gov; dkim=pass header.d=agency.gov/x", false),
        (
            "mx.example.gov; dkim=pass header.b=ab/c+d= header.d=agency.gov",
            true,
        ),
        ("mx.example.gov; spf=pass smtp.mailfrom=@agency.gov", true),
        (
            "mx.example.gov; spf=pass smtp.mailfrom=\"a b\"@agency.gov",
            true,
        ),
        (
            "mx.example.gov; spf=pass smtp.mailfrom=\"bounce@agency.gov\"",
            true,
        ),
        (
            "mx.example.gov; spf=pass smtp.mailfrom = bounce@agency.gov",
            true,
        ),
        (
            "mx.example.gov; spf=pass smtp.mailfrom=bounce @agency.gov",
            false,
        ),
        ("mx.example.gov; spf=pass smtp.helo=agency.gov", false),
        ("mx.example.gov; spf=pass smtp.mailfrom=gov", true),
    ] {
        assert_eq!(check(&[h]), ok, "{h}");
    }
}

const OURS: &str = "mx.example.gov";

/// One `method=result props` clause, as the model sees it.
#[derive(Debug, Clone)]
struct Clause {
    method: &'static str,
    result: &'static str,
    props: Vec<(&'static str, Shape, &'static str)>,
}

/// How a value is written: the domain is the same, the text around it differs.
#[derive(Debug, Clone, Copy)]
enum Shape {
    Bare,
    Local,
    QuotedLocal,
    At,
    QuotedWhole,
}

/// Sender `jane@agency.gov`: what the header means, without any text in it.
fn model(clauses: &[Clause]) -> bool {
    let aligned = |d: &str| d == "agency.gov" || d == "gov";
    clauses.iter().filter(|c| c.result == "pass").any(|c| {
        let values = |key: &str| -> Vec<&str> {
            c.props
                .iter()
                .filter(|(k, _, _)| *k == key)
                .map(|(_, _, d)| *d)
                .collect()
        };
        match c.method {
            "dkim" => match (values("header.d").as_slice(), values("header.i").as_slice()) {
                ([d], _) => {
                    c.props
                        .iter()
                        .any(|(k, s, _)| *k == "header.d" && is_text(*s))
                        && aligned(d)
                }
                ([], [i]) => aligned(i),
                _ => false,
            },
            "spf" => matches!(values("smtp.mailfrom").as_slice(), [d] if aligned(d)),
            "dmarc" => {
                matches!(values("header.from").as_slice(), [d] if *d == "agency.gov")
                    && c.props
                        .iter()
                        .any(|(k, s, _)| *k == "header.from" && is_text(*s))
            }
            _ => false,
        }
    })
}

/// `header.d` is a domain, so only its bare or quoted forms are one.
fn is_text(shape: Shape) -> bool {
    matches!(shape, Shape::Bare | Shape::QuotedWhole)
}

/// Comments and white space that mean nothing, however they look.
fn cfws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        " ",
        "\t",
        "\r\n ",
        "\r\n\t",
        " (2048-bit key; unprotected) ",
        "(a (b; dkim=pass header.d=agency.gov) c)",
        " (x \\) ; spf=pass smtp.mailfrom=agency.gov) ",
        "(\"; dkim=pass header.d=agency.gov\")",
        "(\\(;)",
        " ( ) ",
    ])
}

fn gap() -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), cfws()]
}

fn clause() -> impl Strategy<Value = Clause> {
    // Weighted towards what decides, so that enough headers (one in twelve) pass.
    let key = prop::sample::select(vec![
        "header.d",
        "header.d",
        "header.i",
        "smtp.mailfrom",
        "smtp.mailfrom",
        "header.from",
        "smtp.helo",
    ]);
    let shape = prop::sample::select(vec![
        Shape::Bare,
        Shape::Local,
        Shape::QuotedLocal,
        Shape::At,
        Shape::QuotedWhole,
    ]);
    let domain = prop::sample::select(vec![
        "agency.gov",
        "agency.gov",
        "gov",
        "evil.com",
        "agency.gov.evil.com",
        "mail.agency.gov",
    ]);
    (
        prop::sample::select(vec!["dkim", "dkim", "spf", "spf", "dmarc"]),
        prop::sample::select(vec!["pass", "pass", "fail", "none", "PASS"]),
        prop::collection::vec((key, shape, domain), 0..3),
    )
        .prop_map(|(method, result, props)| Clause {
            method,
            result,
            props,
        })
        .prop_map(|mut c| {
            if c.result == "PASS" {
                c.result = "pass";
            }
            // The model reads header.i and smtp.mailfrom as addresses, header.d as a domain.
            c.props
                .retain(|(k, s, _)| *k != "header.i" || !matches!(s, Shape::Bare));
            c
        })
}

/// `pass`/`PASS` is rendered as written; the model compares in lower case.
fn render(clauses: &[Clause], gaps: &[&str], upper: bool) -> String {
    let mut gaps = gaps.iter().cycle();
    let mut g = || *gaps.next().unwrap_or(&"");
    let mut out = format!("{}{OURS}{}", g(), g());
    for c in clauses {
        let result = if upper {
            c.result.to_uppercase()
        } else {
            c.result.to_owned()
        };
        out.push_str(&format!(";{}{}{}={}{}", g(), c.method, g(), g(), result));
        for (k, shape, d) in &c.props {
            let v = match shape {
                Shape::Bare => (*d).to_owned(),
                Shape::Local => format!("bounce@{d}"),
                Shape::QuotedLocal => format!("\"x; dkim=pass header.d=agency.gov \\\" (\"@{d}"),
                Shape::At => format!("@{d}"),
                Shape::QuotedWhole => format!("\"{d}\""),
            };
            let sep = match g() {
                "" => " ",
                s => s,
            };
            out.push_str(&format!("{sep}{k}{}={}{v}", g(), g()));
        }
    }
    out.push_str(g());
    out
}

fn verdict(header: &str) -> bool {
    authenticated(&[header.to_owned()], Some(OURS), &sender())
}

proptest! {
    /// Comments, folds and quoted text inserted anywhere RFC 8601 allows them never
    /// change the verdict, which is the model's.
    #[test]
    fn noise_never_changes_the_verdict(
        clauses in prop::collection::vec(clause(), 0..5),
        gaps in prop::collection::vec(gap(), 1..40),
        upper: bool,
    ) {
        let plain = render(&clauses, &[""], false);
        let noisy = render(&clauses, &gaps, upper);
        prop_assert_eq!(verdict(&plain), model(&clauses), "{}", plain);
        prop_assert_eq!(verdict(&noisy), model(&clauses), "{}", noisy);
    }

    /// Without a `pass` result, no `pass` in comments or quoted strings counts.
    #[test]
    fn a_pass_only_in_text_never_authenticates(
        clauses in prop::collection::vec(clause(), 0..5),
        gaps in prop::collection::vec(cfws(), 1..20),
    ) {
        let clauses: Vec<Clause> = clauses
            .into_iter()
            .map(|mut c| { if c.result == "pass" { c.result = "fail"; } c })
            .collect();
        prop_assert!(!verdict(&render(&clauses, &gaps, false)));
    }

    /// Arbitrary text: no panic; a verdict only where `pass` is written; and a
    /// comment before or after the whole value changes nothing.
    #[test]
    fn arbitrary_text_is_safe(tail in "[a-z.;=()\"\\\\@ \t\r\n/-]{0,120}", any in any::<String>()) {
        for h in [format!("{OURS};{tail}"), any.clone(), format!("{OURS}; dkim=pass {any}")] {
            let v = verdict(&h);
            prop_assert!(!v || h.to_ascii_lowercase().contains("pass"), "{}", h);
            prop_assert_eq!(verdict(&format!("(c) {h}")), v, "{}", h);
            prop_assert_eq!(verdict(&format!("{h} (c)")), v, "{}", h);
        }
    }
}
