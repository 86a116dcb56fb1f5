//! `listkeeper serve`: the daemon, with signals, systemd notification and logging.
//!
//! SIGTERM and SIGINT stop accepting, finish the messages in hand and exit 0; SIGHUP
//! reloads the configuration (a configuration that does not load leaves the old one
//! running, and says why). Under systemd (`Type=notify-reload`) it reports READY,
//! RELOADING and STOPPING, and pings the watchdog when asked to.

use super::status::ServeRecord;
use crate::daemon::{self, Daemon};
use anyhow::{Context as _, Result};
use sd_notify::NotifyState;
use std::path::Path;
use std::sync::Arc;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum LogFormat {
    /// For people.
    Human,
    /// One JSON object a line.
    Json,
}

/// Runs the daemon until a stop signal.
pub(super) fn run(dir: &Path, format: LogFormat) -> Result<()> {
    init_logging(format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async {
        let daemon = Arc::new(Daemon::open(dir)?);
        let state_dir = daemon.context().config.server.state_dir.clone();
        let record = Arc::new(std::sync::Mutex::new(None::<ServeRecord>));
        let shutdown = CancellationToken::new();
        // Installed here, before the daemon says it is ready, not in the task: a
        // SIGHUP that came before the task first ran would otherwise meet the
        // default action and end the daemon.
        let handlers = Handlers::install().context("installing the signal handlers")?;
        tokio::spawn(signals(
            handlers,
            daemon.clone(),
            shutdown.clone(),
            Recorder {
                state_dir: state_dir.clone(),
                record: record.clone(),
            },
        ));
        if let Some(interval) = sd_notify::watchdog_enabled() {
            tokio::spawn(watchdog(interval / 2, shutdown.clone()));
        }
        let listener = daemon::Listener::bind(&daemon.context().config.server.inbound.lmtp)
            .await
            .context("serving LMTP")?;
        daemon::run(daemon, listener, shutdown, |address| {
            info!(%address, config = %dir.display(), "listkeeper is serving LMTP");
            let now = crate::clock::rfc3339(crate::clock::unix_now());
            Recorder {
                state_dir: state_dir.clone(),
                record: record.clone(),
            }
            .set(|r| {
                *r = Some(ServeRecord {
                    pid: std::process::id(),
                    ready: now.clone(),
                    config_loaded: now.clone(),
                    stopped: None,
                });
            });
            let _ = sd_notify::notify(&[NotifyState::Ready]);
        })
        .await
        .context("serving LMTP")?;
        Recorder { state_dir, record }.set(|r| {
            if let Some(r) = r.as_mut() {
                r.stopped = Some(crate::clock::rfc3339(crate::clock::unix_now()));
            }
        });
        info!("stopped");
        Ok(())
    })
}

/// Keeps `state_dir/serve.json` (for `listkeeper status`) up to date.
struct Recorder {
    state_dir: std::path::PathBuf,
    record: Arc<std::sync::Mutex<Option<ServeRecord>>>,
}

impl Recorder {
    /// Changes the record and writes it; a failure is logged, never fatal.
    fn set(&self, change: impl FnOnce(&mut Option<ServeRecord>)) {
        let mut record = self
            .record
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        change(&mut record);
        if let Some(r) = record.as_ref()
            && let Err(why) = super::status::record_serve(&self.state_dir, r)
        {
            warn!(%why, "cannot write serve.json for listkeeper status");
        }
    }
}

/// The signals `serve` answers: TERM and INT stop, HUP reloads.
struct Handlers {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

impl Handlers {
    fn install() -> std::io::Result<Handlers> {
        Ok(Handlers {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }
}

async fn signals(
    handlers: Handlers,
    daemon: Arc<Daemon>,
    shutdown: CancellationToken,
    recorder: Recorder,
) {
    let Handlers {
        mut term,
        mut int,
        mut hup,
    } = handlers;
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => {
                let mut states = vec![NotifyState::Reloading];
                states.extend(NotifyState::monotonic_usec_now().ok());
                let _ = sd_notify::notify(&states);
                match daemon.reload() {
                    Ok(()) => {
                        info!("configuration reloaded");
                        let now = crate::clock::rfc3339(crate::clock::unix_now());
                        recorder.set(|r| {
                            if let Some(r) = r.as_mut() {
                                r.config_loaded = now;
                            }
                        });
                    }
                    Err(why) => warn!(%why, "reload failed; the old configuration stays in force"),
                }
                let _ = sd_notify::notify(&[NotifyState::Ready]);
            }
        }
    }
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
    info!("stop signal: finishing the messages in hand");
    shutdown.cancel();
}

async fn watchdog(every: std::time::Duration, shutdown: CancellationToken) {
    loop {
        let _ = sd_notify::notify(&[NotifyState::Watchdog]);
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LISTKEEPER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
