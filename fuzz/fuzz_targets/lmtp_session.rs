//! The LMTP session fed arbitrary bytes in arbitrary chunks: it must never panic,
//! every reply line must be a 3-digit code, and one reply comes per recipient.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listkeeper::inbound::session::{Limits, RcptOutcome, Recipients, Session, Step};

struct EvenLength;
impl Recipients for EvenLength {
    fn accepts(&self, rcpt: &str) -> bool {
        rcpt.len() % 2 == 0
    }
}

fuzz_target!(|data: &[u8]| {
    let (cuts, input) = data.split_at(data.len().min(8));
    let limits = Limits {
        max_message_size: 2048,
        max_recipients: 5,
    };
    let mut s = Session::new("fuzz.example", limits, EvenLength);
    let mut out = Vec::new();
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = (cuts.get(i % cuts.len().max(1)).copied().unwrap_or(7) as usize % 64 + 1)
            .min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        i += 1;
        s.receive(chunk);
        while let Some(step) = s.step() {
            match step {
                Step::Send(bytes) => out.extend(bytes),
                Step::Deliver(env) => {
                    assert!(!env.recipients.is_empty() && env.recipients.len() <= 5);
                    assert!(env.data.len() <= 2048);
                    s.delivered(&vec![RcptOutcome::Delivered; env.recipients.len()]);
                }
                Step::Close => return,
            }
        }
    }
    for line in String::from_utf8_lossy(&out)
        .split("\r\n")
        .filter(|l| !l.is_empty())
    {
        assert!(
            line.len() >= 3 && line.as_bytes()[..3].iter().all(u8::is_ascii_digit),
            "{line:?}"
        );
    }
});
