//! `[web]`: where the list pages are served and what links in mail point to.

use super::{KeyPath, Listen, Problems, TomlFile, Web, raw};

/// `[web]`, checked: a listen address, an http(s) base URL with a host and nothing
/// after the path, and proxies that are IP addresses.
pub(super) fn web_from_raw(raw: raw::RawWeb, f: &TomlFile, problems: &mut Problems) -> Option<Web> {
    let errors_before = problems.error_count();
    let at = |key: &str| KeyPath::keys(&["web", key]);
    let listen = parse_listen(raw.listen.as_deref().unwrap_or("127.0.0.1:8025"), f)
        .map_err(|why| f.error(problems, &at("listen"), why))
        .ok();
    let base_url = parse_base_url(&raw.base_url)
        .map_err(|why| f.error(problems, &at("base_url"), why))
        .ok();
    let mut trusted_proxies = Vec::new();
    for (i, proxy) in raw.trusted_proxies.iter().enumerate() {
        match proxy.trim().parse() {
            Ok(ip) => trusted_proxies.push(ip),
            Err(_) => f.error(
                problems,
                &at("trusted_proxies").at(i),
                format!("`{proxy}` is not an IP address (such as 127.0.0.1 or ::1)"),
            ),
        }
    }
    let metrics_listen = match raw.metrics_listen.as_deref().map(str::parse) {
        None => None,
        Some(Ok(addr)) => Some(addr),
        Some(Err(_)) => {
            f.error(
                problems,
                &at("metrics_listen"),
                "write it as `IP:PORT`, such as 127.0.0.1:9125",
            );
            None
        }
    };
    let posts = raw.posts_per_client_per_hour.unwrap_or(20);
    if posts == 0 {
        f.error(
            problems,
            &at("posts_per_client_per_hour"),
            "must be at least 1 (0 would refuse every form)",
        );
    }
    if problems.error_count() > errors_before {
        return None;
    }
    Some(Web {
        listen: listen?,
        base_url: base_url?,
        trusted_proxies,
        posts_per_client_per_hour: posts,
        metrics_listen,
    })
}

/// `IP:PORT` or `unix:/path` (relative paths against the file's folder).
fn parse_listen(text: &str, f: &TomlFile) -> Result<Listen, String> {
    match text.strip_prefix("unix:") {
        Some(path) if !path.is_empty() => Ok(Listen::Unix(f.resolve(path))),
        _ => text.parse().map(Listen::Tcp).map_err(|_| {
            format!("`{text}` is neither `IP:PORT` (such as 127.0.0.1:8025) nor `unix:/path`")
        }),
    }
}

/// An `http://` or `https://` URL with a host, optionally a path, and no query,
/// fragment or credentials; returned without its trailing slash.
fn parse_base_url(text: &str) -> Result<String, String> {
    let bad = |why: &str| {
        format!(
            "`{text}` is not a usable base_url ({why}): write it like \"https://lists.example.gov\""
        )
    };
    let trimmed = text.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .ok_or_else(|| bad("it must start with https:// or http://"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(bad("it has no host"));
    }
    if rest.contains(['?', '#', '@']) || rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("no query, fragment, credentials or spaces"));
    }
    Ok(trimmed.to_owned())
}
