//! The daemon's shared state and its tasks: listeners, connections, the outbox sender.
//!
//! [`run`] takes a listener bound by its caller ([`Listener::bind`]) and a shutdown
//! token, so tests drive the same code the binary runs, on a port 0 of their own. The
//! configuration in force is an `Arc<Context>` swapped whole on reload: a message in
//! hand finishes with the context it started with.

use crate::clock::unix_now;
use crate::config::{Config, Listen};
use crate::inbound::lmtp;
use crate::outbox::Sent;
use crate::pipeline::Context;
use crate::sender::Sender;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

/// How often expired confirmations and held requests are swept away.
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How often the configuration files are looked at for changes.
const CONFIG_POLL: Duration = Duration::from_secs(2);
/// Batches copied out of the outbox for one sending pass.
const SEND_PASS: usize = 256;
/// How often the saver looks for roster changes not yet in their files.
const SAVE_TICK: Duration = Duration::from_millis(20);
/// A roster file is saved at most once per this many times its last save took.
const SAVE_SPACING: u32 = 8;
/// How long after a failed save (a roster that does not parse) the next is tried.
const SAVE_RETRY: Duration = Duration::from_secs(5);
/// How often the outbox is looked at when nothing wakes the sender.
const SENDER_TICK: Duration = Duration::from_secs(30);

/// What every task shares.
pub struct Daemon {
    dir: PathBuf,
    context: RwLock<Arc<Context>>,
    wake: Notify,
    /// The configuration files as they were just before the last load.
    loaded: std::sync::Mutex<ConfigStamp>,
    /// Contexts replaced by a reload, kept until their rosters are saved.
    retired: std::sync::Mutex<Vec<Arc<Context>>>,
}

type ConfigStamp = Vec<(PathBuf, u64, Option<std::time::SystemTime>)>;

impl Daemon {
    /// Loads the configuration in `dir` and opens the state folder.
    pub fn open(dir: &Path) -> Result<Daemon, LoadError> {
        // Stamped before loading: an edit made meanwhile is seen as a change.
        let stamp = config_stamp(dir);
        Ok(Daemon {
            dir: dir.to_owned(),
            context: RwLock::new(Arc::new(load(dir, None)?)),
            wake: Notify::new(),
            loaded: std::sync::Mutex::new(stamp),
            retired: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The configuration and stores in force.
    pub fn context(&self) -> Arc<Context> {
        match self.context.read() {
            Ok(guard) => guard.clone(),
            // A panic while holding the lock cannot leave the Arc half-written.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Loads the configuration again; on failure the old one stays in force.
    pub fn reload(&self) -> Result<(), LoadError> {
        *self
            .loaded
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config_stamp(&self.dir);
        let old = self.context();
        let fresh = Arc::new(load(&self.dir, Some(&old))?);
        if fresh.config.server.inbound.lmtp != old.config.server.inbound.lmtp {
            warn!("inbound.lmtp changed: restart listkeeper to listen on the new address");
        }
        match self.context.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        // Messages in hand may still change its rosters: the saver saves them.
        self.retired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(old);
        Ok(())
    }

    /// Saves the roster files of the context in force and of retired ones (which
    /// are let go once saved and no message holds them). False if one failed.
    fn save_rosters(&self) -> bool {
        let mut retired = self
            .retired
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut saved = true;
        for ctx in retired.iter().chain(std::iter::once(&self.context())) {
            saved &= save_logged(ctx);
        }
        retired.retain(|ctx| Arc::strong_count(ctx) > 1 || ctx.rosters_dirty());
        saved
    }

    /// Tells the outbox sender there is something to send.
    pub fn wake_sender(&self) {
        self.wake.notify_one();
    }
}

/// The listeners hand mail to the daemon through this, with the configuration in
/// force at each call.
impl crate::web::Desk for Daemon {
    fn context(&self) -> Arc<Context> {
        Daemon::context(self)
    }

    fn replies_queued(&self) {
        self.wake_sender();
    }
}

impl crate::inbound::Mailroom for Daemon {
    fn settings(&self) -> crate::inbound::Settings {
        let ctx = self.context();
        let inbound = &ctx.config.server.inbound;
        crate::inbound::Settings {
            host: ctx.config.server.domain.clone(),
            max_message_size: inbound.max_message_size,
            idle_timeout: inbound.idle_timeout,
            state: crate::inbound::state_id(&ctx.config.server.state_dir),
        }
    }

    fn accepts(&self, recipient: &str) -> bool {
        let ctx = self.context();
        crate::address::EmailAddress::parse(recipient)
            .ok()
            .and_then(|a| crate::route::route(&ctx.config, &a))
            .is_some()
    }

    fn list_of(&self, recipient: &str) -> Option<String> {
        let ctx = self.context();
        crate::address::EmailAddress::parse(recipient)
            .ok()
            .and_then(|a| crate::route::route(&ctx.config, &a))
            .and_then(|r| r.list().map(|l| l.as_str().to_owned()))
    }

    fn deliver(
        &self,
        delivery: &crate::inbound::Delivery<'_>,
        now: u64,
    ) -> crate::inbound::Outcome {
        crate::pipeline::handle(&self.context(), delivery, now)
    }

    fn replies_queued(&self) {
        self.wake_sender();
    }

    fn record(&self, recipient: &str, outcome: &str) -> io::Result<()> {
        use crate::audit::{Record, Via};
        self.context().audit.record(&Record::new(
            "",
            recipient,
            "receive",
            outcome,
            Via::Email,
            unix_now(),
        ))
    }
}

/// Why the daemon could not (re)load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The configuration has errors (each named with its file and line).
    #[error("the configuration does not load: {0}")]
    Config(String),
    /// The state folder could not be opened.
    #[error("cannot open the state folder: {0}")]
    State(#[from] io::Error),
}

/// Temporary: the admin fixes the configuration (or the state folder), and the
/// reload or the MTA's retry then succeeds.
impl crate::error::Classify for LoadError {
    fn severity(&self) -> crate::error::Severity {
        match self {
            LoadError::Config(_) | LoadError::State(_) => crate::error::Severity::Temporary,
        }
    }
}

fn load(dir: &Path, previous: Option<&Context>) -> Result<Context, LoadError> {
    let config = Config::load(dir).map_err(|p| LoadError::Config(p.one_line()))?;
    let mut ctx = Context::reopen(config, previous)?;
    ctx.background_saves = true;
    // Changes that only state.log holds (a crash before their save) go into their
    // files now, so the rosters are whole before the first message.
    save_logged(&ctx);
    Ok(ctx)
}

/// [`Context::save_rosters`], a failure logged (a roster that does not parse says
/// where); false if one failed.
fn save_logged(ctx: &Context) -> bool {
    match ctx.save_rosters() {
        Ok(()) => true,
        // Safe in state.log only while its writes succeed: after a failed one, say so.
        Err(e) if ctx.outbox.failing() => {
            warn!(error = %e, "a roster file is not saved, and the state log's last write failed too: the latest changes may be lost");
            false
        }
        Err(e) => {
            warn!(error = %e, "a roster file is not saved yet (its changes are safe in state.log)");
            false
        }
    }
}

/// Serves LMTP on `listener` (bound by the caller, see [`Listener::bind`]): calls
/// `ready` with its address, and serves until `shutdown`; then finishes the messages
/// in hand and the sends in flight (up to `[outbound] shutdown_grace` in all: sends still in
/// flight then are dropped, still queued).
pub async fn run(
    daemon: Arc<Daemon>,
    listener: Listener,
    shutdown: CancellationToken,
    ready: impl FnOnce(&str),
) -> io::Result<()> {
    // The web pages beside LMTP, when `[web]` is configured: bound before the daemon
    // says it is ready, and, like LMTP, a listener that cannot bind stops the start.
    let web = crate::web::spawn(daemon.clone(), shutdown.clone()).await?;
    ready(&listener.describe());
    let tasks = Tasks::start(&daemon, &shutdown, web)?;
    let connections = TaskTracker::new();
    accept(&daemon, &listener, &shutdown, &connections).await;
    info!("shutting down: no new connections; finishing the messages in hand");
    let grace = daemon.context().config.server.outbound.shutdown_grace;
    let deadline = tokio::time::Instant::now() + grace;
    drop(listener);
    connections.close();
    if tokio::time::timeout_at(deadline, connections.wait())
        .await
        .is_err()
    {
        warn!(
            "connections still open after {}s; leaving them",
            grace.as_secs()
        );
    }
    tasks.finish(&daemon, deadline, grace).await;
    Ok(())
}

/// Accepts LMTP connections until `shutdown`, each served as a task of `connections`
/// (at most `inbound.max_connections` at once).
async fn accept(
    daemon: &Arc<Daemon>,
    listener: &Listener,
    shutdown: &CancellationToken,
    connections: &TaskTracker,
) {
    let most = daemon.context().config.server.inbound.max_connections as usize;
    let slots = Arc::new(Semaphore::new(most));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Over the limit: say so at once (the MTA retries later) rather than leave the
        // client hanging behind idle connections.
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream));
            continue;
        };
        let (daemon, shutdown) = (daemon.clone(), shutdown.clone());
        connections.spawn(async move {
            match stream {
                Stream::Tcp(s) => lmtp::connection(s, peer, daemon, shutdown).await,
                Stream::Unix(s) => lmtp::connection(s, peer, daemon, shutdown).await,
            }
            drop(permit);
        });
    }
}

/// The daemon's tasks beside the listener: the sender, the roster saver, the
/// configuration watcher and the Maildir watcher.
struct Tasks {
    sender: tokio::task::JoinHandle<()>,
    /// Cancels the sends still in flight once the grace is over.
    abandon: CancellationToken,
    saver: std::thread::JoinHandle<()>,
    maildir: Option<tokio::task::JoinHandle<()>>,
    web: Option<tokio::task::JoinHandle<()>>,
}

impl Tasks {
    fn start(
        daemon: &Arc<Daemon>,
        shutdown: &CancellationToken,
        web: Option<tokio::task::JoinHandle<()>>,
    ) -> io::Result<Tasks> {
        let abandon = CancellationToken::new();
        let sender = tokio::spawn(sender_loop(
            daemon.clone(),
            shutdown.clone(),
            abandon.clone(),
        ));
        let saver = {
            let (daemon, shutdown) = (daemon.clone(), shutdown.clone());
            std::thread::Builder::new()
                .name("roster-saver".into())
                .spawn(move || roster_saver(&daemon, &shutdown))?
        };
        tokio::spawn(watch_config(daemon.clone(), shutdown.clone()));
        let maildir = (daemon.context().config.server.inbound.maildir.clone()).map(|dir| {
            let watch = crate::inbound::maildir::watch(dir, daemon.clone(), shutdown.clone());
            tokio::spawn(watch)
        });
        Ok(Tasks {
            sender,
            abandon,
            saver,
            maildir,
            web,
        })
    }

    /// Waits for them after a shutdown (the sender no longer than `deadline`), then
    /// saves the rosters' last changes.
    async fn finish(
        mut self,
        daemon: &Arc<Daemon>,
        deadline: tokio::time::Instant,
        grace: Duration,
    ) {
        if let Some(maildir) = self.maildir {
            let _ = maildir.await;
        }
        if let Some(web) = self.web
            && tokio::time::timeout_at(deadline, web).await.is_err()
        {
            warn!("web requests still open after the grace; leaving them");
        }
        // A silent relay must not hold the exit past the grace: sends still in flight
        // are abandoned, their replies stay queued in state.log and go out on the next
        // start.
        if tokio::time::timeout_at(deadline, &mut self.sender)
            .await
            .is_err()
        {
            warn!(
                "replies still being sent after {}s; leaving them queued for the next start",
                grace.as_secs()
            );
            self.abandon.cancel();
            let _ = self.sender.await;
        }
        let saver = self.saver;
        let _ = tokio::task::spawn_blocking(move || saver.join()).await;
        // The last changes into their files (safe in state.log unless its writes
        // fail, which the saver then says).
        let last = daemon.clone();
        let _ = tokio::task::spawn_blocking(move || last.save_rosters()).await;
    }
}

/// Saves roster files with changes soon after they change, but leaves at least
/// [`SAVE_SPACING`] times the last save's duration between saves, so that a large
/// roster under load is written once for many changes instead of once each.
fn roster_saver(daemon: &Daemon, shutdown: &CancellationToken) {
    // One thread of its own: a save's big buffers (the include file, the sorted
    // members) come from one allocator arena, reused, instead of one arena per
    // blocking thread each keeping its own copy after freeing it.
    let mut wait = Duration::ZERO;
    let mut last_done = std::time::Instant::now();
    while !shutdown.is_cancelled() {
        std::thread::sleep(SAVE_TICK);
        let dirty = daemon.context().rosters_dirty()
            || !daemon
                .retired
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .is_empty();
        if !dirty || last_done.elapsed() < wait {
            continue;
        }
        let start = std::time::Instant::now();
        let saved = daemon.save_rosters();
        // A roster that does not parse waits for its admin: try again (and say so)
        // every few seconds, not every tick.
        wait = if saved {
            start.elapsed() * SAVE_SPACING
        } else {
            SAVE_RETRY
        };
        last_done = std::time::Instant::now();
    }
}

/// Reloads when `listkeeper.toml` or a `list.toml` changes (or a list is added or
/// removed), as SIGHUP does; a file caught half-saved fails to load, leaves the old
/// configuration in force, and the next save is seen again.
async fn watch_config(daemon: Arc<Daemon>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(CONFIG_POLL) => {}
            () = shutdown.cancelled() => return,
        }
        let now = config_stamp(&daemon.dir);
        if now
            == *daemon
                .loaded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            continue;
        }
        match daemon.reload() {
            Ok(()) => info!("configuration changed on disk: reloaded"),
            Err(why) => {
                warn!(%why, "configuration changed on disk but does not load; the old one stays in force")
            }
        }
    }
}

/// Path, length and modification time of every configuration file.
fn config_stamp(dir: &Path) -> ConfigStamp {
    let mut files = vec![dir.join("listkeeper.toml")];
    if let Ok(entries) = std::fs::read_dir(dir.join("lists")) {
        for list in entries.filter_map(Result::ok).map(|e| e.path()) {
            files.push(list.join("list.toml"));
            files.extend(crate::config::template_files(&list.join("templates")));
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let len = meta.as_ref().map_or(0, std::fs::Metadata::len);
            let modified = meta.and_then(|m| m.modified().ok());
            (path, len, modified)
        })
        .collect()
}

/// `421` to a connection over `inbound.max_connections`.
async fn refuse(stream: Stream) {
    use tokio::io::AsyncWriteExt;
    const BUSY: &[u8] = b"421 4.3.2 too many connections, try again later\r\n";
    let _ = match stream {
        Stream::Tcp(mut s) => s.write_all(BUSY).await,
        Stream::Unix(mut s) => s.write_all(BUSY).await,
    };
}

/// Sends what the outbox holds whenever woken, and every [`SENDER_TICK`] for retries;
/// `abandon` drops the sends in flight (at the end of the shutdown grace).
async fn sender_loop(daemon: Arc<Daemon>, shutdown: CancellationToken, abandon: CancellationToken) {
    let mut transport: Option<(usize, Arc<Sender>)> = None;
    let mut last_sweep = std::time::Instant::now() - SWEEP_EVERY;
    loop {
        let ctx = daemon.context();
        let key = Arc::as_ptr(&ctx) as usize;
        if transport.as_ref().is_none_or(|(k, _)| *k != key) {
            match Sender::new(&ctx.config.server.outbound) {
                Ok(sender) => transport = Some((key, Arc::new(sender))),
                Err(e) => warn!(error = %e, "cannot set up the outbound transport"),
            }
        }
        if let Some((_, sender)) = &transport {
            send_due(&ctx, sender, &shutdown, &abandon).await;
            sender.close_idle().await;
        }
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = std::time::Instant::now();
            let swept = ctx.clone();
            match tokio::task::spawn_blocking(move || upkeep(&swept, unix_now())).await {
                Ok(true) => daemon.wake.notify_one(),
                Ok(false) => {}
                Err(e) => warn!(error = %e, "upkeep task failed"),
            }
        }
        drop(ctx);
        tokio::select! {
            () = daemon.wake.notified() => {}
            () = tokio::time::sleep(SENDER_TICK) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// The upkeep: expired requests swept, the owners' summaries and reminders that are
/// due queued. Whether it queued mail (for the sender to wake).
fn upkeep(ctx: &Context, now: u64) -> bool {
    let mut queued = false;
    match crate::upkeep::resume_lapsed(ctx, now) {
        Ok(0) => {}
        Ok(resumed) => info!(resumed, "nomail members whose until came get mail again"),
        Err(e) => warn!(error = %e, "resuming lapsed nomail members failed"),
    }
    match crate::upkeep::bounce_notices(ctx, now) {
        Ok(b) if b.is_empty() => {}
        Ok(b) => {
            queued = true;
            info!(
                mails = b.len(),
                "re-enable notices and removals for bounces queued"
            );
        }
        Err(e) => warn!(error = %e, "the bounce notices failed"),
    }
    match crate::pipeline::sweep_expired(ctx, now) {
        Ok(0) => {}
        Ok(n) => {
            queued = true;
            info!(
                expired = n,
                "expired confirmations and held requests removed"
            );
        }
        Err(e) => warn!(error = %e, "sweeping expired requests failed"),
    }
    match crate::pipeline::notify_owners(ctx, now, false) {
        Ok(q) if q.batches.is_empty() => {}
        Ok(q) => {
            queued = true;
            info!(
                summaries = q.summaries,
                reminders = q.reminders,
                "owners' summaries and reminders queued"
            );
        }
        Err(e) => warn!(error = %e, "notifying the owners failed"),
    }
    queued
}

/// Sends every due batch, [`crate::sender::CONNECTIONS`] at a time and at most
/// [`SEND_PASS`] a pass, and gives up on those retried for longer than
/// `outbound.give_up_after`.
async fn send_due(
    ctx: &Arc<Context>,
    sender: &Arc<Sender>,
    shutdown: &CancellationToken,
    abandon: &CancellationToken,
) {
    loop {
        let (sent, total) = send_pass(ctx, sender, shutdown, abandon).await;
        if total < SEND_PASS || sent == 0 || shutdown.is_cancelled() {
            return;
        }
    }
}

/// One pass of [`send_due`]: (sent, tried).
/// One of a pass's senders: takes batches off `queue` until it is empty, the daemon
/// shuts down, or the sends still in flight are abandoned. Returns how many it sent.
async fn send_worker(
    ctx: Arc<Context>,
    sender: Arc<Sender>,
    queue: Arc<std::sync::Mutex<std::vec::IntoIter<crate::records::Batch>>>,
    shutdown: CancellationToken,
    abandon: CancellationToken,
    give_up: u64,
) -> usize {
    let mut sent = 0;
    loop {
        let next = queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .next();
        let Some(batch) = next else { break };
        if shutdown.is_cancelled() {
            break;
        }
        // Dropped mid-send, the batch stays as state.log has it: queued.
        // Boxed: the send's future is large, and select! moved it whole (a copy of
        // tens of kilobytes a mail).
        let done = tokio::select! {
            done = Box::pin(send_one(&ctx, &sender, batch, give_up)) => done,
            () = abandon.cancelled() => break,
        };
        if done {
            sent += 1;
        }
    }
    sent
}

async fn send_pass(
    ctx: &Arc<Context>,
    sender: &Arc<Sender>,
    shutdown: &CancellationToken,
    abandon: &CancellationToken,
) -> (usize, usize) {
    let batches = match ctx.outbox.due(unix_now(), SEND_PASS) {
        Ok(batches) => batches,
        Err(e) => {
            warn!(error = %e, "cannot read the outbox");
            return (0, 0);
        }
    };
    let give_up = ctx.config.server.outbound.give_up_after.as_secs();
    let total = batches.len();
    let queue = Arc::new(std::sync::Mutex::new(batches.into_iter()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..crate::sender::CONNECTIONS.min(total) {
        let (ctx, sender, queue, shutdown, abandon) = (
            ctx.clone(),
            sender.clone(),
            queue.clone(),
            shutdown.clone(),
            abandon.clone(),
        );
        workers.spawn(send_worker(ctx, sender, queue, shutdown, abandon, give_up));
    }
    let mut sent = 0;
    while let Some(done) = workers.join_next().await {
        sent += done.unwrap_or(0);
    }
    // One fsync for the pass: a crash before it may send a mail twice, never lose one.
    if let Err(e) = ctx.outbox.sync() {
        warn!(error = %e, "the outbox's record of sent mail is not saved");
    }
    if total > 0 {
        info!(sent, tried = total, "outbox pass");
    }
    (sent, total)
}

/// One batch: sent, deferred, refused or given up. True when sent.
#[tracing::instrument(name = "send", skip_all, fields(list = batch.list.as_deref()))]
async fn send_one(
    ctx: &Context,
    sender: &Sender,
    batch: crate::outbox::Batch,
    give_up: u64,
) -> bool {
    let now = unix_now();
    let key = batch.key.clone();
    if now.saturating_sub(batch.created) > give_up {
        match ctx
            .outbox
            .give_up(batch, "retried for longer than outbound.give_up_after", now)
        {
            Ok(()) => warn!(batch = %key, "reply given up, moved to outbox/failed"),
            Err(e) => warn!(batch = %key, error = %e, "cannot move a reply to outbox/failed"),
        }
        return false;
    }
    match ctx.outbox.send(sender, batch, now).await {
        Ok(Sent::Done) => return true,
        Ok(Sent::Deferred(why)) => warn!(batch = %key, %why, "reply deferred"),
        Ok(Sent::Failed(why)) => {
            warn!(batch = %key, %why, "reply refused for good, moved to outbox/failed")
        }
        Err(e) => warn!(batch = %key, error = %e, "outbox not updated"),
    }
    false
}

/// Where the daemon takes LMTP connections: a TCP or a Unix socket, bound before
/// [`run`] so that the address in use is known (and port 0 works).
pub struct Listener {
    kind: Kind,
}

enum Kind {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    Unix(tokio::net::UnixStream),
}

impl Listener {
    /// Binds `listen` (`inbound.lmtp`); a TCP port 0 takes a free port, which
    /// [`Listener::local_addr`] tells. The error names the address.
    pub async fn bind(listen: &Listen) -> io::Result<Listener> {
        let kind = Self::bind_kind(listen).await.map_err(|e| {
            let at = match listen {
                Listen::Tcp(addr) => addr.to_string(),
                Listen::Unix(path) => format!("unix:{}", path.display()),
            };
            io::Error::new(e.kind(), format!("{at}: {e}"))
        })?;
        Ok(Listener { kind })
    }

    async fn bind_kind(listen: &Listen) -> io::Result<Kind> {
        match listen {
            Listen::Tcp(addr) => Ok(Kind::Tcp(TcpListener::bind(addr).await?)),
            Listen::Unix(path) => {
                // A socket left by a previous run that died: nobody listens on it.
                if std::fs::symlink_metadata(path).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                }) {
                    std::fs::remove_file(path)?;
                }
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                let listener = UnixListener::bind(path)?;
                // The MTA runs as another user: who may connect is decided by the
                // permissions of the socket's folder, not of the socket.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))?;
                Ok(Kind::Unix(listener, path.clone()))
            }
        }
    }

    /// The TCP address bound (its real port when `bind` was given port 0); `None`
    /// for a Unix socket.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        match &self.kind {
            Kind::Tcp(l) => l.local_addr().ok(),
            Kind::Unix(..) => None,
        }
    }

    /// The address as the readiness log line gives it: `IP:PORT` or `unix:/path`.
    fn describe(&self) -> String {
        match &self.kind {
            Kind::Tcp(l) => l
                .local_addr()
                .map_or_else(|e| e.to_string(), |a| a.to_string()),
            Kind::Unix(_, path) => format!("unix:{}", path.display()),
        }
    }

    async fn accept(&self) -> io::Result<(Stream, String)> {
        match &self.kind {
            Kind::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                // Replies are written whole; never wait for a delayed ACK.
                s.set_nodelay(true)?;
                Ok((Stream::Tcp(s), peer.to_string()))
            }
            Kind::Unix(l, path) => {
                let (s, _) = l.accept().await?;
                Ok((Stream::Unix(s), path.display().to_string()))
            }
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Kind::Unix(_, path) = &self.kind {
            let _ = std::fs::remove_file(path);
        }
    }
}
