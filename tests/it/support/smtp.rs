//! A small SMTP server on 127.0.0.1:0 for tests: records what it accepts, and can be
//! told to defer (451) or refuse (550) instead, or to close connections left idle (as
//! Postfix does after `smtpd_timeout`).

#![allow(unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

/// How the server answers the end of DATA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    Defer,
    Refuse,
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    mode: Option<Mode>,
    /// Leave PIPELINING out of the EHLO reply (listkeeper then uses lettre).
    no_pipelining: bool,
    /// Close a connection after this long without a command, with `421` first or not.
    idle_drop: Option<(Duration, Farewell)>,
    /// Connections closed for idleness so far.
    idle_drops: usize,
}

/// What the server says before it closes an idle connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Farewell {
    /// `421 4.4.2 … Error: timeout exceeded`, as Postfix says.
    Say421,
    /// Nothing: the connection just closes.
    Silent,
}

pub struct SmtpServer {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

impl SmtpServer {
    pub fn start() -> SmtpServer {
        Self::serve(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Comes up on the port `down` held: the relay that was down is back.
    pub fn start_on(down: DownPort) -> SmtpServer {
        down.socket.listen(128).unwrap();
        Self::serve(down.socket.into())
    }

    fn serve(listener: TcpListener) -> SmtpServer {
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = session(stream, &state);
                });
            }
        });
        SmtpServer { port, state }
    }

    /// Stops offering PIPELINING to new connections.
    pub fn without_pipelining(&self) {
        self.state.lock().unwrap().no_pipelining = true;
    }

    /// Closes connections (new and open) after `idle` without a command.
    pub fn drop_idle(&self, idle: Duration, farewell: Farewell) {
        self.state.lock().unwrap().idle_drop = Some((idle, farewell));
    }

    /// How many connections were closed for idleness.
    pub fn idle_drops(&self) -> usize {
        self.state.lock().unwrap().idle_drops
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = Some(mode);
    }

    /// How many messages were accepted (without copying them).
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().received.len()
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// Waits until `n` messages arrived (sends may finish after the client exits).
    pub fn wait_for(&self, n: usize) -> Vec<Received> {
        let start = Instant::now();
        while self.received().len() < n && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.received()
    }
}

/// An SMTP relay that is down: a port bound but not listening, so that a connection
/// to it is refused, and held, so that nothing else takes it meanwhile (a port bound
/// and released could be another test's by the time the relay comes back on it).
/// `std` has no bind without listen, hence socket2.
pub struct DownPort {
    socket: socket2::Socket,
    pub port: u16,
}

impl DownPort {
    pub fn new() -> DownPort {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&any.into()).unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        DownPort { socket, port }
    }
}

fn session(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut lines = BufReader::new(stream);
    out.write_all(b"220 test-smtp ESMTP\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        let idle_drop = state.lock().unwrap().idle_drop;
        let limit = idle_drop.map_or(Duration::from_secs(30), |(idle, _)| idle);
        lines.get_ref().set_read_timeout(Some(limit))?;
        match lines.read_line(&mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if let Some((_, farewell)) = idle_drop {
                    state.lock().unwrap().idle_drops += 1;
                    if farewell == Farewell::Say421 {
                        out.write_all(b"421 4.4.2 test-smtp Error: timeout exceeded\r\n")?;
                    }
                }
                return Ok(());
            }
            Err(e) => return Err(e),
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            if state.lock().unwrap().no_pipelining {
                out.write_all(b"250-test-smtp\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")?;
            } else {
                out.write_all(
                    b"250-test-smtp\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
                )?;
            }
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            out.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = angle(&line[10..]);
            to.clear();
            out.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(angle(&line[8..]));
            out.write_all(b"250 ok\r\n")?;
        } else if upper.starts_with("DATA") {
            out.write_all(b"354 go on\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let mut st = state.lock().unwrap();
            match st.mode.unwrap_or(Mode::Accept) {
                Mode::Accept => {
                    st.received.push(Received {
                        from: from.clone(),
                        to: to.clone(),
                        data,
                    });
                    out.write_all(b"250 2.0.0 queued\r\n")?;
                }
                Mode::Defer => out.write_all(b"451 4.3.0 try again later\r\n")?,
                Mode::Refuse => out.write_all(b"550 5.1.1 no such user\r\n")?,
            }
        } else if upper.starts_with("QUIT") {
            out.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            out.write_all(b"502 not implemented\r\n")?;
        }
    }
}

fn angle(s: &str) -> String {
    s.trim()
        .trim_start_matches('<')
        .split('>')
        .next()
        .unwrap_or("")
        .to_owned()
}
