//! The LMTP session (RFC 2033) as a state machine: bytes in, replies and deliveries out.
//!
//! No I/O here: the connection task feeds whatever bytes arrived to
//! [`Session::receive`], then takes [`Step`]s from [`Session::step`] until it says it
//! needs more input. Commands are parsed by `smtp-proto`; DATA is dot-unstuffed by its
//! `DataReceiver`. Replies to pipelined commands are gathered into one write (no
//! Nagle stalls). After DATA the session hands over a [`Envelope`] and waits for one
//! outcome per accepted recipient ([`Session::delivered`]).

use crate::message::redact_recipient;
use smtp_proto::request::receiver::{DataReceiver, DummyLineReceiver, RequestReceiver};
use smtp_proto::{Error as ProtoError, Request};

/// Longest command line accepted (RFC 5321 asks for 512; smtp-proto buffers 4096).
const MAX_LINE: usize = 4096;

/// What the session needs decided from outside.
pub trait Recipients {
    /// Whether mail for this recipient is accepted at RCPT (else `550 5.1.1`).
    fn accepts(&self, recipient: &str) -> bool;
}

/// Limits a session enforces.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest message accepted (`552` beyond).
    pub max_message_size: u64,
    /// Most recipients in one transaction (`452` beyond).
    pub max_recipients: usize,
}

/// A message to deliver, with its accepted recipients in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The envelope sender; empty for the null sender.
    pub from: String,
    /// Accepted recipients.
    pub recipients: Vec<String>,
    /// The message, dot-unstuffed, without the final `.`.
    pub data: Vec<u8>,
}

/// The outcome of one recipient, as LMTP reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RcptOutcome {
    /// Done and durable: `250 2.1.5`.
    Delivered,
    /// Not ours after all: `550 5.1.1`.
    NoSuchUser,
    /// Too large: `552 5.3.4`.
    TooLarge,
    /// Not mail: `554 5.6.0`.
    NotMail,
    /// Failed before it was durable: `451 4.3.0`.
    TryLater,
}

/// What the connection task does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Write these bytes (every reply gathered so far).
    Send(Vec<u8>),
    /// Deliver this message, then call [`Session::delivered`].
    Deliver(Envelope),
    /// Close the connection (after sending what was gathered).
    Close,
}

enum State {
    /// Before LHLO.
    Start,
    /// After LHLO, no transaction.
    Ready,
    /// After MAIL.
    Mail { from: String },
    /// In DATA.
    Data {
        from: String,
        receiver: DataReceiver,
        too_large: bool,
    },
    /// Waiting for the outcomes of a delivery.
    Delivering,
    /// After an overlong line: everything up to the next LF is thrown away.
    Discard(Box<State>),
    /// QUIT was seen.
    Closed,
}

/// One LMTP session.
pub struct Session<R> {
    host: String,
    limits: Limits,
    recipients: R,
    state: State,
    rcpts: Vec<String>,
    data: Vec<u8>,
    input: Vec<u8>,
    commands: RequestReceiver,
    out: Vec<u8>,
    pending_deliver: Option<Envelope>,
    /// The state folder's id, announced in LHLO ([`super::STATE_KEYWORD`]).
    state_id: Option<String>,
}

impl<R: Recipients> Session<R> {
    /// A new session; `greeting` is what to send first.
    pub fn new(host: &str, limits: Limits, recipients: R) -> Session<R> {
        Session {
            host: host.to_owned(),
            limits,
            recipients,
            state: State::Start,
            rcpts: Vec::new(),
            data: Vec::new(),
            input: Vec::new(),
            commands: RequestReceiver::default(),
            out: Vec::new(),
            pending_deliver: None,
            state_id: None,
        }
    }

    /// Announces the state folder's id in LHLO, for `deliver`'s handoff.
    pub fn announcing(mut self, state: Option<String>) -> Session<R> {
        self.state_id = state;
        self
    }

    /// The `220` greeting.
    pub fn greeting(&self) -> Vec<u8> {
        format!("220 {} LMTP listkeeper ready\r\n", self.host).into_bytes()
    }

    /// Bytes that arrived from the client.
    pub fn receive(&mut self, bytes: &[u8]) {
        self.input.extend(bytes);
    }

    /// Between transactions with nothing in hand: a safe moment to close.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Start | State::Ready)
            && self.input.is_empty()
            && self.out.is_empty()
            && self.pending_deliver.is_none()
    }

    /// Whether the session ended (QUIT).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// The next thing to do; `None` when more input is needed (or a delivery's
    /// outcomes are awaited).
    pub fn step(&mut self) -> Option<Step> {
        loop {
            if let Some(envelope) = self.pending_deliver.take() {
                if !self.out.is_empty() {
                    // Replies gathered before the DATA's end go out first.
                    self.pending_deliver = Some(envelope);
                    return Some(Step::Send(std::mem::take(&mut self.out)));
                }
                return Some(Step::Deliver(envelope));
            }
            match self.state {
                State::Delivering => return self.flush(),
                State::Closed => {
                    return match self.flush() {
                        Some(step) => Some(step),
                        None => Some(Step::Close),
                    };
                }
                _ => {}
            }
            if self.input.is_empty() || !self.advance() {
                return self.flush();
            }
        }
    }

    /// The outcomes of the delivery handed over, one per recipient, in order.
    pub fn delivered(&mut self, outcomes: &[RcptOutcome]) {
        for (i, rcpt) in self.rcpts.iter().enumerate() {
            let outcome = outcomes.get(i).copied().unwrap_or(RcptOutcome::TryLater);
            let rcpt = redact_recipient(rcpt);
            let line = match outcome {
                RcptOutcome::Delivered => format!("250 2.1.5 <{rcpt}> done\r\n"),
                RcptOutcome::NoSuchUser => format!("550 5.1.1 <{rcpt}> no such list address\r\n"),
                RcptOutcome::TooLarge => format!("552 5.3.4 <{rcpt}> message too large\r\n"),
                RcptOutcome::NotMail => format!("554 5.6.0 <{rcpt}> not an email message\r\n"),
                RcptOutcome::TryLater => format!("451 4.3.0 <{rcpt}> try again later\r\n"),
            };
            self.out.extend_from_slice(line.as_bytes());
        }
        self.reset();
    }

    fn flush(&mut self) -> Option<Step> {
        (!self.out.is_empty()).then(|| Step::Send(std::mem::take(&mut self.out)))
    }

    fn reply(&mut self, text: &str) {
        self.out.extend_from_slice(text.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    fn reset(&mut self) {
        self.state = State::Ready;
        self.rcpts.clear();
        self.data.clear();
    }

    /// Consumes some input; false when nothing could be consumed.
    fn advance(&mut self) -> bool {
        let input = std::mem::take(&mut self.input);
        let mut bytes = input.iter();
        let state = std::mem::replace(&mut self.state, State::Closed);
        self.state = match state {
            State::Data {
                from,
                mut receiver,
                mut too_large,
            } => {
                let done = if too_large {
                    receiver.ingest(&mut bytes, &mut Vec::new())
                } else {
                    let done = receiver.ingest(&mut bytes, &mut self.data);
                    if self.data.len() as u64 > self.limits.max_message_size + 2 {
                        // Over the limit: read on to the end, keeping nothing.
                        too_large = true;
                        self.data = Vec::new();
                    }
                    done
                };
                if done {
                    self.end_of_data(from, too_large)
                } else {
                    State::Data {
                        from,
                        receiver,
                        too_large,
                    }
                }
            }
            State::Discard(next) => {
                if DummyLineReceiver::default().ingest(&mut bytes) {
                    *next
                } else {
                    State::Discard(next)
                }
            }
            other => self.command(other, &mut bytes),
        };
        let rest = bytes.as_slice();
        let consumed = rest.len() < input.len();
        self.input = rest.to_vec();
        consumed || matches!(self.state, State::Delivering | State::Closed)
    }

    fn end_of_data(&mut self, from: String, too_large: bool) -> State {
        if too_large {
            for rcpt in std::mem::take(&mut self.rcpts) {
                self.reply(&format!(
                    "552 5.3.4 <{}> message too large",
                    redact_recipient(&rcpt)
                ));
            }
            return State::Ready;
        }
        // Drop the CRLF the receiver was primed with (see DATA).
        let mut data = std::mem::take(&mut self.data);
        data.drain(..2.min(data.len()));
        self.pending_deliver = Some(Envelope {
            from,
            recipients: self.rcpts.clone(),
            data,
        });
        State::Delivering
    }

    /// Reads one command line, if one is complete, and answers it.
    fn command(&mut self, state: State, bytes: &mut std::slice::Iter<'_, u8>) -> State {
        match self.next_command(bytes) {
            Next::Command(cmd) => self.dispatch(cmd, state),
            Next::Stay => state,
            Next::Discard => State::Discard(Box::new(state)),
        }
    }

    /// Parses the next command line; a line that is too long or does not parse is
    /// answered here.
    fn next_command(&mut self, bytes: &mut std::slice::Iter<'_, u8>) -> Next {
        // The parser limits only lines it has to buffer; a whole line in hand is
        // checked here.
        let avail = bytes.as_slice();
        match avail.iter().position(|&b| b == b'\n') {
            Some(pos) if pos >= MAX_LINE => {
                *bytes = avail[pos + 1..].iter();
                self.reply("500 5.5.2 line too long");
                return Next::Stay;
            }
            None if avail.len() >= MAX_LINE => {
                *bytes = [].iter();
                self.reply("500 5.5.2 line too long");
                return Next::Discard;
            }
            _ => {}
        }
        match self.commands.ingest(bytes) {
            Ok(request) => Next::Command(Cmd::from(request)),
            Err(ProtoError::NeedsMoreData { .. }) => Next::Stay,
            Err(ProtoError::ResponseTooLong) => {
                self.reply("500 5.5.2 line too long");
                Next::Discard
            }
            Err(e) => {
                self.reply(parse_error_reply(&e));
                Next::Stay
            }
        }
    }

    /// The LMTP verbs, by the state they arrive in.
    fn dispatch(&mut self, cmd: Cmd, state: State) -> State {
        match (cmd, state) {
            (Cmd::Lhlo, _) => self.lhlo(),
            (Cmd::EhloHelo, state) => {
                self.answer("500 5.5.1 this is an LMTP server: use LHLO", state)
            }
            (Cmd::Mail { from, size }, State::Ready) => self.mail(from, size),
            (Cmd::Rcpt { to }, State::Mail { from }) => self.rcpt(to, from),
            (Cmd::Data, State::Mail { from }) if !self.rcpts.is_empty() => self.data(from),
            (Cmd::Data, state @ State::Mail { .. }) => {
                self.answer("503 5.5.1 no valid recipients", state)
            }
            (Cmd::Rset, State::Start) => self.answer("250 2.0.0 ok", State::Start),
            (Cmd::Rset, _) => {
                self.rcpts.clear();
                self.answer("250 2.0.0 ok", State::Ready)
            }
            (Cmd::Noop, state) => self.answer("250 2.0.0 ok", state),
            (Cmd::Quit, _) => self.answer("221 2.0.0 bye", State::Closed),
            (Cmd::Mail { .. } | Cmd::Rcpt { .. }, state @ State::Start) => {
                self.answer("503 5.5.1 send LHLO first", state)
            }
            (Cmd::Mail { .. }, state) => {
                self.answer("503 5.5.1 one MAIL at a time (RSET first)", state)
            }
            (Cmd::Rcpt { .. } | Cmd::Data, state) => {
                self.answer("503 5.5.1 send MAIL first", state)
            }
            (_, state) => self.answer("502 5.5.1 not implemented", state),
        }
    }

    /// Replies, and goes on in `next`.
    fn answer(&mut self, text: &str, next: State) -> State {
        self.reply(text);
        next
    }

    /// LHLO: the extensions offered; any transaction is dropped.
    fn lhlo(&mut self) -> State {
        let state = match &self.state_id {
            Some(id) => format!("250-{} {id}\r\n", super::STATE_KEYWORD),
            None => String::new(),
        };
        let greeting = format!(
            "250-{}\r\n{state}250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SIZE {}",
            self.host, self.limits.max_message_size
        );
        self.reply(&greeting);
        self.rcpts.clear();
        State::Ready
    }

    /// MAIL: a transaction starts unless its declared SIZE is over the limit.
    fn mail(&mut self, from: String, size: usize) -> State {
        if size as u64 > self.limits.max_message_size {
            return self.answer("552 5.3.4 message too large", State::Ready);
        }
        self.answer("250 2.1.0 ok", State::Mail { from })
    }

    /// RCPT: a recipient is taken if there is room and it is ours.
    fn rcpt(&mut self, rcpt: String, from: String) -> State {
        if self.rcpts.len() >= self.limits.max_recipients {
            self.reply("452 4.5.3 too many recipients");
        } else if self.recipients.accepts(&rcpt) {
            self.reply("250 2.1.5 ok");
            self.rcpts.push(rcpt);
        } else {
            self.reply(&format!(
                "550 5.1.1 <{}> no such list address",
                redact_recipient(&rcpt)
            ));
        }
        State::Mail { from }
    }

    /// DATA, with at least one recipient: the message follows.
    fn data(&mut self, from: String) -> State {
        self.reply("354 go ahead, end with <CRLF>.<CRLF>");
        let mut receiver = DataReceiver::new();
        self.data.clear();
        // Prime it with a CRLF so that "." as the very first line ends the data.
        receiver.ingest(&mut b"\r\n".iter(), &mut self.data);
        State::Data {
            from,
            receiver,
            too_large: false,
        }
    }
}

/// What the next command line asks for.
enum Next {
    /// A command to answer.
    Command(Cmd),
    /// Nothing more to do in this state for now (more input needed, or the line was
    /// refused).
    Stay,
    /// The rest of an overlong line is thrown away first.
    Discard,
}

/// The reply to a command line that does not parse.
fn parse_error_reply(error: &ProtoError) -> &'static str {
    match error {
        ProtoError::UnknownCommand => "500 5.5.1 unknown command",
        ProtoError::InvalidSenderAddress => "501 5.1.7 bad sender address",
        ProtoError::InvalidRecipientAddress => "501 5.1.3 bad recipient address",
        _ => "501 5.5.4 syntax error",
    }
}

/// A command, owned (the parser's borrows its buffer).
enum Cmd {
    Lhlo,
    EhloHelo,
    Mail { from: String, size: usize },
    Rcpt { to: String },
    Data,
    Rset,
    Noop,
    Quit,
    Other,
}

impl From<Request<std::borrow::Cow<'_, str>>> for Cmd {
    fn from(request: Request<std::borrow::Cow<'_, str>>) -> Cmd {
        match request {
            Request::Lhlo { .. } => Cmd::Lhlo,
            Request::Ehlo { .. } | Request::Helo { .. } => Cmd::EhloHelo,
            Request::Mail { from } => Cmd::Mail {
                from: from.address.into_owned(),
                size: from.size,
            },
            Request::Rcpt { to } => Cmd::Rcpt {
                to: to.address.into_owned(),
            },
            Request::Data => Cmd::Data,
            Request::Rset => Cmd::Rset,
            Request::Noop { .. } => Cmd::Noop,
            Request::Quit => Cmd::Quit,
            _ => Cmd::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    struct Ours;
    impl Recipients for Ours {
        fn accepts(&self, rcpt: &str) -> bool {
            rcpt.ends_with("@lists.example.gov")
        }
    }

    fn session() -> Session<Ours> {
        Session::new(
            "lists.example.gov",
            Limits {
                max_message_size: 1000,
                max_recipients: 3,
            },
            Ours,
        )
    }

    /// Feeds `chunks`, answers every delivery with `outcome`, returns what was sent
    /// and what was delivered.
    fn drive(chunks: &[&[u8]], outcome: RcptOutcome) -> (String, Vec<Envelope>) {
        let mut s = session();
        let mut out = String::from_utf8(s.greeting()).unwrap();
        let mut delivered = Vec::new();
        let mut steps = |s: &mut Session<Ours>, out: &mut String| {
            while let Some(step) = s.step() {
                match step {
                    Step::Send(bytes) => out.push_str(&String::from_utf8(bytes).unwrap()),
                    Step::Deliver(env) => {
                        let n = env.recipients.len();
                        delivered.push(env);
                        s.delivered(&vec![outcome; n]);
                    }
                    Step::Close => return true,
                }
            }
            false
        };
        for chunk in chunks {
            s.receive(chunk);
            if steps(&mut s, &mut out) {
                break;
            }
        }
        (out, delivered)
    }

    const TRANSACTION: &[u8] =
        b"LHLO mx.example.gov\r\nMAIL FROM:<a@x.gov>\r\nRCPT TO:<l-join@lists.example.gov>\r\n\
RCPT TO:<nobody@elsewhere.gov>\r\nRCPT TO:<l-request@lists.example.gov>\r\nDATA\r\n\
Subject: hi\r\n\r\n..leading dot\r\n.\r\nQUIT\r\n";

    fn codes(out: &str) -> Vec<&str> {
        out.lines().map(|l| &l[..3]).collect()
    }

    #[test]
    fn a_pipelined_transaction_in_one_write() {
        let (out, delivered) = drive(&[TRANSACTION], RcptOutcome::Delivered);
        let lhlo = ["250"; 5];
        let want: Vec<&str> = [
            &["220"][..],
            &lhlo,
            &["250", "250", "550", "250", "354", "250", "250", "221"],
        ]
        .concat();
        assert_eq!(codes(&out), want);
        assert_eq!(delivered.len(), 1);
        assert_eq!(delivered[0].from, "a@x.gov");
        assert_eq!(
            delivered[0].recipients,
            ["l-join@lists.example.gov", "l-request@lists.example.gov"]
        );
        assert_eq!(delivered[0].data, b"Subject: hi\r\n\r\n.leading dot\r\n");
        assert!(out.contains("250 2.1.5 <l-join@lists.example.gov> done"));
    }

    #[test]
    fn lhlo_names_the_state_folder_when_told_to() {
        let mut s = session().announcing(Some("801-2a".into()));
        s.receive(b"LHLO x\r\n");
        let Some(Step::Send(bytes)) = s.step() else {
            panic!("a reply")
        };
        let out = String::from_utf8(bytes).unwrap();
        assert!(out.contains("250-XLISTKEEPER-STATE 801-2a\r\n"), "{out}");
        let (plain, _) = drive(&[b"LHLO x\r\n"], RcptOutcome::Delivered);
        assert!(!plain.contains("XLISTKEEPER"), "{plain}");
    }

    #[test]
    fn one_reply_per_recipient_with_its_own_outcome() {
        let (out, _) = drive(&[TRANSACTION], RcptOutcome::TryLater);
        assert_eq!(out.matches("451 4.3.0").count(), 2);
    }

    #[test]
    fn ehlo_and_helo_are_refused_and_order_is_enforced() {
        let (out, _) = drive(&[b"EHLO x\r\nHELO x\r\nMAIL FROM:<a@x.gov>\r\nLHLO x\r\nRCPT TO:<l@lists.example.gov>\r\nDATA\r\nNOOP\r\nRSET\r\nQUIT\r\n"], RcptOutcome::Delivered);
        let lhlo = ["250"; 5];
        let want: Vec<&str> = [
            &["220", "500", "500", "503"][..],
            &lhlo,
            &["503", "503", "250", "250", "221"],
        ]
        .concat();
        assert_eq!(codes(&out), want);
    }

    #[test]
    fn an_empty_message_and_a_null_sender() {
        let (out, delivered) = drive(
            &[b"LHLO x\r\nMAIL FROM:<>\r\nRCPT TO:<l@lists.example.gov>\r\nDATA\r\n.\r\n"],
            RcptOutcome::Delivered,
        );
        assert!(
            out.ends_with("250 2.1.5 <l@lists.example.gov> done\r\n"),
            "{out}"
        );
        assert_eq!(delivered[0].from, "");
        assert_eq!(delivered[0].data, b"");
    }

    #[test]
    fn too_many_recipients_and_too_large() {
        let many = b"LHLO x\r\nMAIL FROM:<a@x.gov>\r\nRCPT TO:<1@lists.example.gov>\r\nRCPT TO:<2@lists.example.gov>\r\n\
RCPT TO:<3@lists.example.gov>\r\nRCPT TO:<4@lists.example.gov>\r\n";
        let (out, _) = drive(&[many], RcptOutcome::Delivered);
        assert!(out.ends_with("452 4.5.3 too many recipients\r\n"), "{out}");
        let mut big =
            b"LHLO x\r\nMAIL FROM:<a@x.gov>\r\nRCPT TO:<1@lists.example.gov>\r\nDATA\r\n".to_vec();
        big.extend(
            std::iter::repeat_n(
                b"0123456789012345678901234567890123456789\r\n".as_slice(),
                100,
            )
            .flatten(),
        );
        big.extend(b".\r\nMAIL FROM:<a@x.gov> SIZE=5000\r\nQUIT\r\n");
        let (out, delivered) = drive(&[&big], RcptOutcome::Delivered);
        assert!(delivered.is_empty());
        assert!(
            out.contains("552 5.3.4 <1@lists.example.gov> message too large"),
            "{out}"
        );
        assert!(
            out.contains("552 5.3.4 message too large\r\n221"),
            "SIZE= over the limit is refused at MAIL: {out}"
        );
    }

    #[test]
    fn an_overlong_line_is_refused_and_skipped_to_its_end() {
        let mut input = b"LHLO x\r\nNOOP ".to_vec();
        input.extend(std::iter::repeat_n(b'a', 10_000));
        input.extend(b" MAIL FROM:<a@x.gov>\r\nNOOP\r\nQUIT\r\n");
        let (out, _) = drive(&[&input], RcptOutcome::Delivered);
        let want: Vec<&str> = [&["220"][..], &["250"; 5], &["500", "250", "221"]].concat();
        assert_eq!(codes(&out), want, "{out}");
        // The same line arriving in pieces.
        let (out2, _) = drive(
            &[&input[..3000], &input[3000..6000], &input[6000..]],
            RcptOutcome::Delivered,
        );
        assert_eq!(codes(&out2), want, "{out2}");
    }

    #[test]
    fn tokens_stay_out_of_reply_lines() {
        let (out, _) = drive(&[b"LHLO x\r\nMAIL FROM:<a@x.gov>\r\nRCPT TO:<l-confirm+k1secret@lists.example.gov>\r\nDATA\r\nx\r\n.\r\n"], RcptOutcome::Delivered);
        assert!(!out.contains("k1secret"), "{out}");
        assert!(out.contains("<l-confirm+…@lists.example.gov>"));
    }

    #[test]
    fn byte_by_byte_is_the_same_as_all_at_once() {
        let bytes: Vec<&[u8]> = TRANSACTION.chunks(1).collect();
        assert_eq!(
            drive(&bytes, RcptOutcome::Delivered),
            drive(&[TRANSACTION], RcptOutcome::Delivered)
        );
    }

    proptest! {
        /// Any split of the input into chunks gives the same replies and messages.
        #[test]
        fn chunking_never_changes_the_result(cuts in proptest::collection::vec(0usize..400, 0..20),
                                             body in "([a-z.]{0,5}\r\n){0,10}") {
            let mut input = b"LHLO x\r\nMAIL FROM:<a@x.gov>\r\nRCPT TO:<l@lists.example.gov>\r\nDATA\r\n".to_vec();
            // Lines starting with dots, stuffed as a client would.
            let stuffed: String = body.split_inclusive("\r\n").map(|l| if l.starts_with('.') { format!(".{l}") } else { l.to_owned() }).collect();
            input.extend(stuffed.as_bytes());
            input.extend(b".\r\nQUIT\r\n");
            let (whole, whole_delivered) = drive(&[&input], RcptOutcome::Delivered);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for c in cuts.into_iter().chain([input.len()]) {
                chunks.push(&input[last..c]);
                last = c;
            }
            let (split, split_delivered) = drive(&chunks, RcptOutcome::Delivered);
            prop_assert_eq!(&whole, &split);
            prop_assert_eq!(&whole_delivered, &split_delivered);
            prop_assert_eq!(whole_delivered.len(), 1);
            prop_assert_eq!(String::from_utf8(whole_delivered[0].data.clone()).unwrap(), body);
        }
    }
}
