//! The files as written: serde structs that mirror docs/reference.md section 1 key for key.
//!
//! Nothing here is checked beyond TOML types; `config::from_raw` turns these into
//! checked values and reports every problem with its file, line and key. Unknown keys
//! are not refused by serde (which would stop at the first): the loader collects them
//! all through `serde_ignored` and reports each one.

use serde::Deserialize;

/// `listkeeper.toml`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawServer {
    pub(crate) domain: String,
    pub(crate) state_dir: String,
    pub(crate) command_address: Option<String>,
    #[serde(default)]
    pub(crate) inbound: RawInbound,
    #[serde(default)]
    pub(crate) outbound: RawOutbound,
    #[serde(default)]
    pub(crate) confirm: RawConfirm,
    #[serde(default)]
    pub(crate) limits: RawLimits,
    #[serde(default)]
    pub(crate) trust: RawTrust,
    pub(crate) web: Option<RawWeb>,
}

/// `[inbound]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawInbound {
    pub(crate) lmtp: Option<String>,
    pub(crate) maildir: Option<String>,
    pub(crate) max_message_size: Option<String>,
    pub(crate) max_connections: Option<u32>,
    pub(crate) idle_timeout: Option<String>,
}

/// `[outbound]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawOutbound {
    pub(crate) transport: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) username: Option<String>,
    pub(crate) password_file: Option<String>,
    pub(crate) give_up_after: Option<String>,
    pub(crate) send_timeout: Option<String>,
    pub(crate) shutdown_grace: Option<String>,
}

/// `[confirm]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawConfirm {
    pub(crate) secret_file: Option<String>,
    pub(crate) expires: Option<String>,
}

/// `[limits]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawLimits {
    pub(crate) confirmations_per_address_per_day: Option<u32>,
    pub(crate) command_replies_per_address_per_day: Option<u32>,
    pub(crate) confirmations_per_domain_per_hour: Option<u32>,
    pub(crate) replies_per_hour: Option<u32>,
}

/// `[trust]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawTrust {
    pub(crate) authserv_id: Option<String>,
}

/// `[web]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawWeb {
    pub(crate) listen: Option<String>,
    pub(crate) base_url: String,
    #[serde(default)]
    pub(crate) trusted_proxies: Vec<String>,
    pub(crate) posts_per_client_per_hour: Option<u32>,
    pub(crate) metrics_listen: Option<String>,
}

/// `lists/<id>/list.toml`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawList {
    pub(crate) id: String,
    pub(crate) name: Option<String>,
    pub(crate) title: Option<String>,
    #[serde(default)]
    pub(crate) owners: Vec<String>,
    pub(crate) subscribe: Option<String>,
    pub(crate) unsubscribe: Option<String>,
    pub(crate) terms: String,
    pub(crate) language: Option<String>,
    pub(crate) include_file: Option<String>,
    pub(crate) unsubscribe_file: Option<String>,
    pub(crate) digest_include_file: Option<String>,
    pub(crate) notify: Option<String>,
    pub(crate) remind_after: Option<String>,
    pub(crate) review: Option<String>,
    #[serde(default)]
    pub(crate) bounce: RawBounce,
    #[serde(default)]
    pub(crate) rule: Vec<RawRule>,
}

/// A list's `[bounce]`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RawBounce {
    pub(crate) threshold: Option<f64>,
    pub(crate) stale_after: Option<String>,
    pub(crate) warnings: Option<u32>,
    pub(crate) warn_every: Option<String>,
    pub(crate) incident_share: Option<f64>,
}

/// One `[[rule]]`.
#[derive(Debug, Deserialize)]
pub(crate) struct RawRule {
    #[serde(default)]
    pub(crate) domain: Vec<String>,
    #[serde(default)]
    pub(crate) address: Vec<String>,
    pub(crate) regex: Option<String>,
    pub(crate) authenticated: Option<bool>,
    pub(crate) action: String,
    pub(crate) reason: Option<String>,
}
