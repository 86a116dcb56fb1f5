//! The context a request is handled in: the configuration in force and the stores
//! (state log, pending and held requests, outbox, audit log, limits, rosters), opened
//! once and shared by every request. Only the stores below it write to disk;
//! [`Context::sync`] makes what a request wrote durable before it is answered.

use crate::audit::AuditLog;
use crate::config::{Config, ListConfig};
use crate::limits::Limiter;
use crate::outbox::Outbox;
use crate::roster::{SharedRoster, UnsubscribeFile};
use crate::statelog::StateLog;
use crate::token::{Keys, PendingStore};
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

/// Everything the pipeline reads and writes.
pub struct Context {
    /// The configuration.
    pub config: Config,
    /// Token keys.
    pub keys: Keys,
    /// Requests waiting for confirmation.
    pub pending: PendingStore,
    /// Requests waiting for the owners.
    pub held: PendingStore,
    /// Replies not yet accepted by the SMTP server.
    pub outbox: Outbox,
    /// The audit log.
    pub audit: AuditLog,
    /// The `[limits]` counters.
    pub limiter: Limiter,
    /// Rosters in memory, opened when first needed.
    rosters: Mutex<HashMap<String, Arc<SharedRoster>>>,
    /// The state log under `pending`, `held` and `outbox`, and the rosters' changes.
    log: Arc<StateLog>,
    /// The daemon saves roster files in the background ([`Context::save_rosters`]);
    /// otherwise (`deliver`, the CLI) [`Context::sync`] saves them.
    pub background_saves: bool,
}

impl Context {
    /// Opens the state directory (creating what is missing) and the token keys.
    pub fn open(config: Config) -> io::Result<Context> {
        Context::reopen(config, None)
    }

    /// [`Context::open`] on a reload: the state log, and the rosters whose file and
    /// `include_file` did not change, are taken over from `previous` rather than read
    /// again (a million-member roster takes most of a second to read).
    pub fn reopen(config: Config, previous: Option<&Context>) -> io::Result<Context> {
        let state = config.server.state_dir.clone();
        let previous = previous.filter(|p| p.config.server.state_dir == state);
        let log = match previous {
            Some(p) => p.log.clone(),
            None => Arc::new(StateLog::open(&state)?),
        };
        let keys = Keys::load_or_create(&config.server.confirm.secret_file)?;
        let mut rosters = HashMap::new();
        if let Some(p) = previous {
            let old = p
                .rosters
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            for list in config.lists.values() {
                if let Some(r) = old.get(list.id.as_str())
                    && r.is_for(&list.roster_path(), &list.includes())
                    && r.keeps(unsubscribe_file(&config, &keys, list).as_ref())
                {
                    rosters.insert(list.id.to_string(), r.clone());
                }
            }
        }
        Ok(Context {
            keys,
            pending: PendingStore::new(log.clone()),
            held: PendingStore::held(log.clone()),
            outbox: Outbox::open(&state, log.clone())?,
            audit: AuditLog::open(&state)?,
            limiter: Limiter::after(&state, config.server.limits, previous.map(|p| &p.limiter)),
            rosters: Mutex::new(rosters),
            log,
            background_saves: false,
            config,
        })
    }

    /// Makes every state and audit line written so far durable: one fsync each,
    /// shared with whoever else asks meanwhile. Without background saves, the
    /// roster files are saved first.
    pub fn sync(&self) -> io::Result<()> {
        if !self.background_saves {
            self.save_rosters()?;
        }
        self.log.sync()?;
        self.audit.sync()
    }

    /// Saves every roster file with changes not yet in it, opening those whose
    /// changes only the state log holds (after a crash, or a save that failed).
    pub fn save_rosters(&self) -> io::Result<()> {
        let mut result = Ok(());
        let logged: std::collections::BTreeSet<String> = self
            .log
            .roster_changes()?
            .into_values()
            .map(|e| e.list)
            .collect();
        for id in logged {
            if let Some(list) = self.config.list(&id)
                && let Err(e) = self.roster(list)
            {
                result = Err(e);
            }
        }
        let rosters: Vec<Arc<SharedRoster>> = self
            .rosters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for roster in rosters {
            if let Err(e) = roster.save() {
                result = Err(io::Error::other(e));
            }
        }
        result
    }

    /// Whether a roster has changes not yet in its file.
    pub fn rosters_dirty(&self) -> bool {
        self.rosters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .any(|r| r.dirty())
    }

    /// The state log (bounce scores, and what the stores keep).
    pub(crate) fn state(&self) -> &StateLog {
        &self.log
    }

    /// The shared roster of a list. One that does not parse is not kept: the next
    /// request reads the file again (an admin may have fixed it).
    pub fn roster(&self, list: &ListConfig) -> io::Result<Arc<SharedRoster>> {
        let mut rosters = self
            .rosters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(roster) = rosters.get(list.id.as_str()) {
            return Ok(roster.clone());
        }
        let roster = Arc::new(
            SharedRoster::open(
                list.id.as_str(),
                &list.roster_path(),
                &list.includes(),
                self.log.clone(),
            )
            .map_err(io::Error::other)?,
        );
        let unsubscribe = unsubscribe_file(&self.config, &self.keys, list);
        if unsubscribe.is_some() {
            roster
                .keep_unsubscribe_file(unsubscribe)
                .map_err(io::Error::other)?;
        }
        rosters.insert(list.id.to_string(), roster.clone());
        Ok(roster)
    }
}

/// The list's `unsubscribe_file`, with how its URIs are made; `None` without one,
/// or without `[web]` (no URI to write: the file is then not written).
fn unsubscribe_file(config: &Config, keys: &Keys, list: &ListConfig) -> Option<UnsubscribeFile> {
    let path = list.unsubscribe_file.clone()?;
    let web = config.server.web.as_ref()?;
    let made_by = format!("{} {}", web.base_url, keys.current_id());
    let (config, keys, id) = (config.clone(), keys.clone(), list.id.to_string());
    Some(UnsubscribeFile {
        path,
        made_by,
        uri: Arc::new(move |address: &str| {
            let key = crate::address::EmailAddress::parse(address).ok()?.key();
            crate::links::leave_url(&config, &keys, &id, &key)
        }),
    })
}
