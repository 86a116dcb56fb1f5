//! Authentication-Results values from arbitrary text: never a panic; a verdict of
//! "authenticated" only when `pass` is written somewhere in our header; and a
//! comment before or after a whole value, or a header of another host above ours,
//! never changes the verdict.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listkeeper::address::EmailAddress;
use listkeeper::trust::authenticated;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let headers: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let sender = EmailAddress::parse("jane@agency.gov").expect("a valid address");
    let ours = Some("mx.example.gov");
    let verdict = authenticated(&headers, ours, &sender);
    if verdict {
        assert!(
            headers.iter().any(|h| h.to_ascii_lowercase().contains("pass")),
            "{headers:?}"
        );
    }
    let commented: Vec<String> = headers.iter().map(|h| format!("(c) {h} (c)")).collect();
    assert_eq!(authenticated(&commented, ours, &sender), verdict, "{headers:?}");
    let mut other = vec!["mx.other.example; dkim=pass header.d=agency.gov".to_owned()];
    other.extend(headers.iter().cloned());
    assert_eq!(authenticated(&other, ours, &sender), verdict, "{headers:?}");
});
