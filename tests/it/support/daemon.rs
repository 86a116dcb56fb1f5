//! Starting the daemon for a test, always on a port of its own choosing (port 0):
//! in-process on a listener the test binds ([`InProcess`]), or as `listkeeper serve`
//! with `lmtp = "127.0.0.1:0"`, its port read from its readiness log line
//! ([`wait_ready`]). Never a port picked beforehand, which another test may take
//! between its release and the daemon's bind.

use listkeeper::config::Listen;
use listkeeper::daemon::{self, Daemon, Listener};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The line `serve` logs once it listens, with `address=` the address it got.
const READY: &str = "listkeeper is serving LMTP";

/// The daemon run in the test's process on `127.0.0.1:0` (the code `serve` runs,
/// without its signals and logging), stopped as SIGTERM stops it.
pub struct InProcess {
    pub port: u16,
    shutdown: CancellationToken,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl InProcess {
    /// Opens `config` (as `serve --config` does) and serves LMTP on a free port.
    pub fn start(config: &Path) -> InProcess {
        let config = config.to_owned();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let (ready, port) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let daemon = Arc::new(Daemon::open(&config).map_err(std::io::Error::other)?);
                let any = Listen::Tcp("127.0.0.1:0".parse().unwrap());
                let listener = Listener::bind(&any).await?;
                let bound = listener.local_addr().unwrap().port();
                daemon::run(daemon, listener, token, |_| {
                    let _ = ready.send(bound);
                })
                .await
            })
        });
        match port.recv_timeout(Duration::from_secs(20)) {
            Ok(port) => InProcess {
                port,
                shutdown,
                thread: Some(thread),
            },
            Err(e) => match thread.join() {
                Ok(result) => panic!("the daemon did not start: {result:?} ({e})"),
                Err(panic) => std::panic::resume_unwind(panic),
            },
        }
    }

    /// Stops it (the messages in hand finished, the rosters saved): true when `run`
    /// ended without an error, as `serve` then exits 0.
    pub fn stop(mut self) -> bool {
        self.shutdown.cancel();
        let thread = self.thread.take().unwrap();
        match thread.join() {
            Ok(result) => result.is_ok(),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// A test that fails must not leave its daemon serving.
impl Drop for InProcess {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The address in `serve`'s readiness line in `log` (human or JSON lines), if any.
pub fn ready_address(log: &str) -> Option<String> {
    let line = log.lines().rev().find(|l| l.contains(READY))?;
    if let Some((_, rest)) = line.split_once("address=") {
        return rest.split_whitespace().next().map(str::to_owned);
    }
    let json: serde_json::Value = serde_json::from_str(line).ok()?;
    json["fields"]["address"].as_str().map(str::to_owned)
}

/// Waits (up to 20 s) until `child`, a `listkeeper serve` writing its standard
/// error to the file `log`, says it is ready in what it wrote after byte `from`,
/// and returns the address it listens on. Fails if it exits first.
pub fn wait_ready(log: &Path, from: usize, child: &mut Child) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read(log).unwrap_or_default();
        let new = String::from_utf8_lossy(text.get(from..).unwrap_or_default());
        if let Some(address) = ready_address(&new) {
            return address;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("serve exited ({status}) before it was ready:\n{new}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not start:\n{new}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The port of an `IP:PORT` address.
pub fn port_of(address: &str) -> u16 {
    address
        .parse::<std::net::SocketAddr>()
        .unwrap_or_else(|e| panic!("{address:?}: {e}"))
        .port()
}

/// How long a file is now (where [`wait_ready`] starts reading after a restart).
pub fn len_of(log: &Path) -> usize {
    std::fs::metadata(log).map_or(0, |m| m.len() as usize)
}
