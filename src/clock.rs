//! The wall clock, read in one place: front ends and the daemon's tasks read it and
//! hand `now` down, so the rules about expiry, budgets and reminders can be tested
//! with time in hand.

/// Seconds since the Unix epoch (0 for a clock set before it).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `unix` as an RFC 3339 time in UTC, to the second (`2026-12-04T01:53:27Z`).
pub(crate) fn rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_to_the_second() {
        assert_eq!(super::rfc3339(1_796_349_207), "2026-12-04T01:53:27Z");
    }
}
