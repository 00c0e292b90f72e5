//! `[router]`: name, workers, RA timers (RFC 4861 §6.2.1), neighbor cache,
//! ICMP error and I/O ring bounds.
//!
//! Rules: name 1..=64 chars of `[A-Za-z0-9_.-]`, not `.`/`..` (it becomes
//! a socket and state path); `workers` 1..=[`MAX_WORKERS`]; RA timers per RFC 4861
//! §6.2.1: 4 ≤ MaxRtrAdvInterval ≤ 1800, 3 ≤ MinRtrAdvInterval ≤
//! 0.75 × Max, AdvDefaultLifetime 0 or Max..=9000.

use super::Validator;
use crate::config::ItemKind;

/// Longest router name: it ends up in `/run/routelet/<name>.sock`, which
/// must fit `sun_path` (108 bytes) with room to spare.
const MAX_ROUTER_NAME: usize = 64;

/// The most worker threads a config may ask for. Each worker holds its own
/// rings and flow table per interface, so `workers = 100000` would exhaust
/// memory (or thread limits) before the router started; 256 is above any
/// core count a tenant router gets. `run` still clamps the count to the
/// CPUs available.
pub const MAX_WORKERS: usize = 256;

impl<'a> Validator<'a> {
    /// The `[router]` section and its sub-tables.
    pub(super) fn router(&mut self) {
        let r = &self.cfg.router;
        let name = r.name.as_str();
        if name.is_empty() {
            self.err(ItemKind::Router, name, "name must not be empty".into());
        } else if name.len() > MAX_ROUTER_NAME {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "name is {} characters long, at most {MAX_ROUTER_NAME} allowed",
                    name.len()
                ),
            );
        } else if !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            self.err(
                ItemKind::Router,
                name,
                "name may only hold letters, digits, '_', '.' and '-' (it becomes a socket and state path)".into(),
            );
        } else if name == "." || name == ".." {
            self.err(
                ItemKind::Router,
                name,
                "name must not be '.' or '..' (it becomes a path)".into(),
            );
        }
        match r.workers {
            Some(0) => self.err(ItemKind::Router, name, "workers must be at least 1".into()),
            Some(n) if n > MAX_WORKERS => self.err(
                ItemKind::Router,
                name,
                format!("workers {n} is more than {MAX_WORKERS} (run uses at most one per CPU)"),
            ),
            _ => {}
        }
        let ra = r.ra;
        if !(4..=1800).contains(&ra.max_interval) {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "ra max_interval {} is not within 4..=1800 s (RFC 4861 §6.2.1)",
                    ra.max_interval
                ),
            );
        }
        // min ≤ 0.75 × max, in integers: 4 × min ≤ 3 × max (u64: no overflow).
        if ra.min_interval < 3 || u64::from(ra.min_interval) * 4 > u64::from(ra.max_interval) * 3 {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "ra min_interval {} is not within 3 s..=0.75 × max_interval ({}) (RFC 4861 §6.2.1)",
                    ra.min_interval, ra.max_interval
                ),
            );
        }
        let nb = r.neighbor;
        if nb.max_entries == 0 || nb.max_entries > 1 << 20 {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "neighbor max_entries {} is not within 1..=1048576",
                    nb.max_entries
                ),
            );
        }
        if nb.max_incomplete == 0 || nb.max_incomplete > nb.max_entries {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "neighbor max_incomplete {} is not within 1..=max_entries ({})",
                    nb.max_incomplete, nb.max_entries
                ),
            );
        }
        if nb.solicit_per_second == 0 || nb.solicit_burst == 0 {
            self.err(
                ItemKind::Router,
                name,
                "neighbor solicit_per_second and solicit_burst must be at least 1".into(),
            );
        }
        if nb.queue_per_entry > 64 || nb.queue_bytes > 64 << 20 {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "neighbor queue_per_entry {} (max 64) or queue_bytes {} (max 64 MiB) too large",
                    nb.queue_per_entry, nb.queue_bytes
                ),
            );
        }
        if r.icmp.burst == 0 && r.icmp.errors_per_second != 0 {
            self.err(
                ItemKind::Router,
                name,
                "icmp burst must be at least 1 when errors_per_second is set (0/0 disables ICMP errors)".into(),
            );
        }
        let io = r.io;
        if !(4..=65_536).contains(&io.rx_block_kib)
            || !io.rx_block_kib.is_power_of_two()
            || io.rx_ring_kib < io.rx_block_kib
            || io.rx_ring_kib > 1 << 20
            || io.rx_ring_kib % io.rx_block_kib != 0
        {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "io rx_ring_kib {} must be a multiple of rx_block_kib {} (a power of two, 4..=65536) and at most 1 GiB",
                    io.rx_ring_kib, io.rx_block_kib
                ),
            );
        }
        if !(1..=1000).contains(&io.retire_timeout_ms) {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "io retire_timeout_ms {} is not within 1..=1000",
                    io.retire_timeout_ms
                ),
            );
        }
        if !(1..=65_536).contains(&io.tx_ring_frames) || !(1..=65_536).contains(&io.rx_budget) {
            self.err(
                ItemKind::Router,
                name,
                "io tx_ring_frames and rx_budget must be within 1..=65536".into(),
            );
        }
        let lifetime = u32::from(ra.router_lifetime);
        if lifetime != 0 && !(ra.max_interval..=9000).contains(&lifetime) {
            self.err(
                ItemKind::Router,
                name,
                format!(
                    "ra router_lifetime {lifetime} must be 0 or within max_interval ({})..=9000 s (RFC 4861 §6.2.1)",
                    ra.max_interval
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::test_support::*;
    use super::MAX_WORKERS;
    // ---- router ----

    #[test]
    fn router_name_rules() {
        for (name, phrase) in [
            ("", "must not be empty"),
            ("r/1", "may only hold letters"),
            ("..", "must not be '.' or '..'"),
        ] {
            let mut c = base();
            c.router.name = name.into();
            assert_one(&c, "router", phrase);
        }
        let mut c = base();
        c.router.name = "r".repeat(65);
        assert_one(&c, "router", "at most 64");
        c.router.name = "r".repeat(64);
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn workers_at_least_one() {
        let mut c = base();
        c.router.workers = Some(0);
        assert_one(&c, "router \"r1\"", "workers must be at least 1");
    }

    #[test]
    fn workers_at_most_max() {
        let mut c = base();
        c.router.workers = Some(100_000);
        assert_one(&c, "router \"r1\"", "workers 100000 is more than 256");
        c.router.workers = Some(MAX_WORKERS + 1);
        assert_one(&c, "router \"r1\"", "is more than 256");
        c.router.workers = Some(MAX_WORKERS);
        assert_eq!(errors(&c), Vec::<String>::new());
        c.router.workers = Some(1);
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn io_ring_bounds() {
        let mut c = base();
        c.router.io.rx_block_kib = 48;
        c.router.io.retire_timeout_ms = 0;
        let errs = c.validate().unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 2, "{text:?}");
        assert!(text[0].contains("rx_block_kib 48"), "{text:?}");
        assert!(text[1].contains("retire_timeout_ms 0"), "{text:?}");
    }

    #[test]
    fn neighbor_and_icmp_bounds() {
        let mut c = base();
        c.router.neighbor.max_incomplete = c.router.neighbor.max_entries + 1;
        c.router.neighbor.solicit_burst = 0;
        c.router.icmp.burst = 0;
        let errs = c.validate().unwrap_err();
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(errs.len(), 3, "{text:?}");
        assert!(text[0].contains("max_incomplete 4097"), "{text:?}");
        assert!(text[1].contains("solicit_burst"), "{text:?}");
        assert!(text[2].contains("icmp burst"), "{text:?}");
    }

    #[test]
    fn ra_max_interval_range() {
        let mut c = base();
        c.router.ra.max_interval = 1801;
        c.router.ra.router_lifetime = 0;
        assert_one(
            &c,
            "router \"r1\"",
            "ra max_interval 1801 is not within 4..=1800",
        );
        c.router.ra.max_interval = 3;
        c.router.ra.min_interval = 3;
        // min 3 > 0.75 × 3 as well: two errors.
        assert_eq!(errors(&c).len(), 2);
    }

    #[test]
    fn ra_min_interval_range() {
        let mut c = base();
        c.router.ra.min_interval = 76; // 0.75 × 100 = 75
        assert_one(&c, "router \"r1\"", "ra min_interval 76 is not within");
        c.router.ra.min_interval = 75;
        assert_eq!(errors(&c), Vec::<String>::new());
        c.router.ra.min_interval = 2;
        assert_one(&c, "router \"r1\"", "ra min_interval 2 is not within");
    }

    #[test]
    fn ra_router_lifetime_range() {
        let mut c = base();
        c.router.ra.router_lifetime = 50; // below max_interval 100
        assert_one(
            &c,
            "router \"r1\"",
            "ra router_lifetime 50 must be 0 or within",
        );
        c.router.ra.router_lifetime = 9001;
        assert_one(&c, "router \"r1\"", "ra router_lifetime 9001");
        c.router.ra.router_lifetime = 0;
        assert_eq!(errors(&c), Vec::<String>::new());
    }
}
