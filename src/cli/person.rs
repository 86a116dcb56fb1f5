//! `listkeeper person ADDR [--json]` (all we hold on one address) and `listkeeper
//! erase ADDR` (all of it gone, but a keyed hash in the audit log and in the
//! suppression list `erased.list`).

use crate::actions::{self, Source};
use crate::address::EmailAddress;
use crate::config::Config;
use crate::context::Context;
use anyhow::{Context as _, Result, anyhow};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

use crate::erased::FILE as ERASED;

use crate::actions::erase::names;

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
    let now = crate::clock::unix_now();
    let erased = actions::erase::erase(&ctx, &address, Source::Admin, now)?;
    println!(
        "erased {address}: left {} list(s), {} request(s) cancelled, {} state line(s) dropped; audit lines now name {}",
        erased.left, erased.cancelled, erased.state_lines, erased.hash
    );
    Ok(())
}
