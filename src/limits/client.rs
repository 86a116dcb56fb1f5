//! The web forms' per-client budget (`[web] posts_per_client_per_hour`), apart from
//! the reply counters of [`super::Limiter`].

use super::HOUR;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Form posts per client address per hour, for the web's forms (`[web]
/// posts_per_client_per_hour`): a brake on a bot that fills in the forms for many
/// addresses, which the per-address budgets of `Limiter` cannot see. An IPv6 client counts
/// by its /64 (one host usually holds a whole /64).
///
/// In memory only, on purpose (unlike the reply counters in `limits.log`): a reload
/// keeps it (it belongs to the web listener, not the configuration), and a restart,
/// which a client cannot cause, forgets at most an hour's worth of posts per client.
/// What those posts could do stays bounded across the restart anyway: each good post
/// is at most one confirmation mail, counted in `limits.log` against the address,
/// its domain and the hourly total. Persisting it would write a line with the
/// client's IP address for every post, refused ones too, which the state folder does
/// not otherwise keep (audit.log names the client of a post that decided something).
#[derive(Debug, Default)]
pub(crate) struct ClientBudget {
    seen: Mutex<HashMap<std::net::IpAddr, VecDeque<u64>>>,
}

impl ClientBudget {
    /// Counts one post from `client` if fewer than `cap` came from it in the last
    /// hour; false (and not counted) when it is over.
    pub(crate) fn take(&self, client: std::net::IpAddr, cap: u32, now: u64) -> bool {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Now and then, forget the clients whose posts have all aged out.
        if seen.len() > 10_000 {
            seen.retain(|_, times| times.back().is_some_and(|&t| t + HOUR > now));
        }
        let times = seen.entry(client_key(client)).or_default();
        while times.front().is_some_and(|&t| t + HOUR <= now) {
            times.pop_front();
        }
        if times.len() >= cap as usize {
            return false;
        }
        times.push_back(now);
        true
    }
}

/// What a client is counted by: its IPv4 address (also when mapped into IPv6), or
/// its IPv6 /64.
fn client_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::IpAddr;
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::V6(octets.into())
            }
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_budget_counts_per_client_per_hour() {
        let budget = ClientBudget::default();
        let a: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let b: std::net::IpAddr = "192.0.2.2".parse().unwrap();
        assert!(budget.take(a, 2, 100));
        assert!(budget.take(a, 2, 101));
        assert!(!budget.take(a, 2, 102), "a third post within the hour");
        assert!(budget.take(b, 2, 102), "another client has its own budget");
        assert!(budget.take(a, 2, 100 + HOUR), "the first post has aged out");
        // One IPv6 host counts by its /64; a mapped IPv4 address as itself.
        let v6 = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(budget.take(v6("2001:db8::1"), 1, 0));
        assert!(!budget.take(v6("2001:db8::2"), 1, 0));
        assert!(budget.take(v6("::ffff:192.0.2.2"), 2, 102));
        assert!(
            !budget.take(b, 2, 103),
            "the mapped address was b's second post"
        );
    }
}
