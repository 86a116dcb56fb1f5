//! `listkeeper person ADDR [--json]` (all we hold on one address) and `listkeeper
//! erase ADDR` (all of it gone, but a keyed hash in the audit log and in the
//! suppression list `erased.list`).

use crate::actions::{self, Outcome, Request, Source};
use crate::address::EmailAddress;
use crate::audit::{Record, Via};
use crate::config::Config;
use crate::context::Context;
use crate::fsio;
use crate::token;
use anyhow::{Context as _, Result, anyhow};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use crate::erased::FILE as ERASED;

/// Whether `text` names `key` (an address key), whatever the case of its letters.
fn names(text: &str, key: &str) -> bool {
    text.to_ascii_lowercase().contains(key)
}

/// `text` with every mention of `key` (any case) replaced by `hash`.
fn replaced(text: &str, key: &str, hash: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let (mut out, mut at) = (String::with_capacity(text.len()), 0);
    while let Some(found) = lower[at..].find(key) {
        out.push_str(&text[at..at + found]);
        out.push_str(hash);
        at += found + key.len();
    }
    out.push_str(&text[at..]);
    out
}

/// The keyed hash that stands for `address` once erased.
fn hash(ctx: &Context, address: &EmailAddress) -> Result<String> {
    crate::erased::hash(&ctx.keys, address)
        .ok_or_else(|| anyhow!("the token keys have no current key"))
}

/// Whether `address` is in the suppression list.
pub(crate) fn is_erased(ctx: &Context, address: &EmailAddress) -> Result<bool> {
    let dir = &ctx.config.server.state_dir;
    crate::erased::is_erased(dir, &ctx.keys, address)
        .with_context(|| format!("reading {}", dir.join(ERASED).display()))
}

/// The audit log and its rotation, where present.
fn audit_files(ctx: &Context) -> Vec<PathBuf> {
    let log = ctx.audit.path().to_path_buf();
    let rotated = log.with_file_name("audit.log.1");
    [log, rotated].into_iter().filter(|p| p.exists()).collect()
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `listkeeper person ADDR [--json]`.
pub(super) fn person(config: &Config, address: &str, as_json: bool) -> Result<()> {
    let ctx = Context::open(config.clone()).context("opening the state folder")?;
    let address = EmailAddress::parse(address.trim()).map_err(|e| anyhow!("{e}"))?;
    let key = address.key();
    let (lists, requests) = memberships(&ctx, &address)?;
    let limits_path = ctx.config.server.state_dir.join("limits.log");
    let limits = match limits_path.exists() {
        true => read(&limits_path)?
            .lines()
            .filter(|l| names(l, &key))
            .count(),
        false => 0,
    };
    let mut audit = Vec::new();
    for path in audit_files(&ctx) {
        for line in read(&path)?.lines().filter(|l| names(l, &key)) {
            audit.push(serde_json::from_str::<Value>(line).unwrap_or(Value::String(line.into())));
        }
    }
    let erased = is_erased(&ctx, &address)?;
    let all = json!({
        "address": address.to_string(), "lists": lists, "requests": requests,
        "limits_log_lines": limits, "audit": audit, "erased_before": erased,
    });
    if as_json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    } else {
        print_person(&all);
    }
    Ok(())
}

/// Each member line of `address`, and each request it has (or a `change` from it).
fn memberships(ctx: &Context, address: &EmailAddress) -> Result<(Vec<Value>, Vec<Value>)> {
    let key = address.key();
    let mut lists = Vec::new();
    let mut requests = Vec::new();
    for list in ctx.config.lists.values() {
        if let Some(m) = ctx.roster(list)?.get(address)? {
            lists.push(json!({
                "list": list.id.as_str(), "name": m.name, "since": m.since.map(|d| d.to_string()),
                "via": m.via.map(String::from), "mode": m.setting.mode.as_str(),
                "request": m.request, "terms": m.terms, "lang": m.lang,
            }));
        }
        for (queue, store) in [("pending", &ctx.pending), ("held", &ctx.held)] {
            for p in store.all(list.id.as_str())? {
                let mine = EmailAddress::parse(&p.address).is_ok_and(|a| a.key() == key)
                    || p.from.as_deref().is_some_and(|f| names(f, &key));
                if mine {
                    requests.push(json!({
                        "list": list.id.as_str(), "queue": queue, "action": p.action.as_str(),
                        "created": crate::clock::rfc3339(p.created),
                        "expires": crate::clock::rfc3339(p.expires),
                    }));
                }
            }
        }
    }
    Ok((lists, requests))
}

fn print_person(all: &Value) {
    let empty = Vec::new();
    let arr = |k: &str| all[k].as_array().unwrap_or(&empty).clone();
    println!("{}", all["address"].as_str().unwrap_or_default());
    for m in arr("lists") {
        println!(
            "  member of {}: {m}",
            m["list"].as_str().unwrap_or_default()
        );
    }
    for r in arr("requests") {
        println!(
            "  {} request on {}: {r}",
            r["queue"].as_str().unwrap_or_default(),
            r["list"].as_str().unwrap_or_default()
        );
    }
    println!("  limits.log lines: {}", all["limits_log_lines"]);
    let audit = arr("audit");
    println!("  audit lines: {}", audit.len());
    for line in audit {
        println!("    {line}");
    }
    if all["erased_before"] == Value::Bool(true) {
        println!("  in the suppression list (erased before)");
    }
}

/// `listkeeper erase ADDR`.
pub(super) fn erase(config: &Config, address: &str) -> Result<()> {
    let ctx = Context::open(config.clone()).context("opening the state folder")?;
    let address = EmailAddress::parse(address.trim()).map_err(|e| anyhow!("{e}"))?;
    let (key, hash) = (address.key(), hash(&ctx, &address)?);
    let now = crate::clock::unix_now();
    let (left, cancelled) = forget(&ctx, &address, now)?;
    ctx.sync()
        .context("the rosters are not saved; nothing was rewritten")?;
    let state = (ctx.state())
        .scrub(|text| names(text, &key))
        .context("rewriting state.log")?;
    for path in audit_files(&ctx) {
        let text = read(&path)?;
        if names(&text, &key) {
            fsio::write_private(&path, replaced(&text, &key, &hash).as_bytes())
                .with_context(|| format!("rewriting {}", path.display()))?;
        }
    }
    let limits = ctx.config.server.state_dir.join("limits.log");
    if limits.exists() {
        let text = read(&limits)?;
        let kept: String = (text.split_inclusive('\n'))
            .filter(|l| !names(l, &key))
            .collect();
        fsio::write_private(&limits, kept.as_bytes()).context("rewriting limits.log")?;
    }
    suppress(&ctx, &address, &hash)?;
    (ctx.audit).record(&Record::new("*", &hash, "erase", "erased", Via::Admin, now))?;
    println!(
        "erased {address}: left {left} list(s), {cancelled} request(s) cancelled, {state} state line(s) dropped; audit lines now name {hash}"
    );
    Ok(())
}

/// Off every roster, every request cancelled; returns how many of each.
fn forget(ctx: &Context, address: &EmailAddress, now: u64) -> Result<(usize, usize)> {
    let key = address.key();
    let (mut left, mut cancelled) = (0, 0);
    for list in ctx.config.lists.values() {
        let request = Request {
            list,
            address: address.clone(),
            name: None,
            source: Source::Admin,
        };
        if actions::remove(ctx, request, now)? == Outcome::Removed {
            left += 1;
        }
        for store in [&ctx.pending, &ctx.held] {
            for p in store.all(list.id.as_str())? {
                let Ok(of) = EmailAddress::parse(&p.address) else {
                    continue;
                };
                if of.key() == key || p.from.as_deref().is_some_and(|f| names(f, &key)) {
                    store.remove(
                        list.id.as_str(),
                        &token::pending_id(list.id.as_str(), &of.key(), p.action),
                    )?;
                    cancelled += 1;
                }
            }
        }
    }
    Ok((left, cancelled))
}

/// The hash into the suppression list (once).
fn suppress(ctx: &Context, address: &EmailAddress, hash: &str) -> Result<()> {
    if is_erased(ctx, address)? {
        return Ok(());
    }
    let path = ctx.config.server.state_dir.join(ERASED);
    let mut file = fsio::open_append(&path)?;
    fsio::append(&mut file, format!("{hash}\n").as_bytes())?;
    file.sync_data()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mention_is_replaced_whatever_its_case() {
        let line = r#"{"address":"Jane.Doe@agency.gov","by":"x","note":"jane.doe@agency.gov"}"#;
        let out = replaced(line, "jane.doe@agency.gov", "erased:k1:ab");
        assert_eq!(
            out,
            r#"{"address":"erased:k1:ab","by":"x","note":"erased:k1:ab"}"#
        );
        assert!(names(line, "jane.doe@agency.gov"));
        assert!(!names(&out, "jane.doe@agency.gov"));
    }
}
