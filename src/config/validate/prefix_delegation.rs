//! `[prefix_delegation]` (PD client) and `[[prefix_pool]]` (PD server).
//!
//! Rules: prefix_delegation's interface exists and is external (default:
//! there is one); prefix_length 1..=64. prefix_pool: IPv6 prefix without
//! host bits; prefix length < delegated_length ≤ 64; no overlap with
//! subnets, interface addresses or other pools.

use ipnet::IpNet;

use super::{overlaps, Validator};
use crate::config::ItemKind;

impl<'a> Validator<'a> {
    /// The `[prefix_delegation]` section, when there is one.
    pub(super) fn prefix_delegation(&mut self) {
        let Some(pd) = &self.cfg.prefix_delegation else {
            return;
        };
        match &pd.interface {
            Some(name) => match self.cfg.interfaces.iter().find(|i| &i.name == name) {
                None => self.err(
                    ItemKind::PrefixDelegation,
                    "",
                    format!("unknown interface {name:?}"),
                ),
                Some(i) if !i.external => self.err(
                    ItemKind::PrefixDelegation,
                    "",
                    format!("interface {name:?} is not external (the PD client runs upstream)"),
                ),
                Some(_) => {}
            },
            None => {
                if !self.cfg.interfaces.iter().any(|i| i.external) {
                    self.err(
                        ItemKind::PrefixDelegation,
                        "",
                        "no interface given and no external interface to run the PD client on"
                            .into(),
                    );
                }
            }
        }
        if let Some(len) = pd.prefix_length {
            if !(1..=64).contains(&len) {
                self.err(
                    ItemKind::PrefixDelegation,
                    "",
                    format!("prefix_length {len} is not within 1..=64"),
                );
            }
        }
    }

    /// Every `[[prefix_pool]]`; a pool is checked for overlap against
    /// the IPv6 pools before it.
    pub(super) fn prefix_pools(&mut self) {
        let connected = self.connected();
        let mut good: Vec<(&str, IpNet)> = Vec::new();
        for p in &self.cfg.prefix_pools {
            let name = p.name.as_str();
            self.dhcpv6_timers(ItemKind::PrefixPool, name, &p.settings());
            for i in &p.interfaces {
                match self.cfg.interfaces.iter().find(|x| &x.name == i) {
                    None => self.err(
                        ItemKind::PrefixPool,
                        name,
                        format!("unknown interface {i:?}"),
                    ),
                    Some(x) if x.external => self.err(
                        ItemKind::PrefixPool,
                        name,
                        format!(
                            "interface {i:?} is external (prefixes are delegated to tenant links)"
                        ),
                    ),
                    Some(_) => {}
                }
            }
            if p.prefix.addr().is_ipv4() {
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!("prefix {} is not IPv6", p.prefix),
                );
                continue;
            }
            let net = p.prefix.trunc();
            if net != p.prefix {
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!(
                        "prefix {} has host bits set (did you mean {net}?)",
                        p.prefix
                    ),
                );
            }
            if p.delegated_length <= net.prefix_len() || p.delegated_length > 64 {
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!(
                        "delegated_length {} is not within {}..=64 (longer than the pool's /{}, at most /64)",
                        p.delegated_length,
                        net.prefix_len().saturating_add(1),
                        net.prefix_len()
                    ),
                );
            }
            if let Some(c) = connected.iter().find(|c| overlaps(&c.net, &net)) {
                let what = match (c.subnet, c.addr, c.iface) {
                    (Some(sn), _, _) => format!("subnet {sn:?} ({})", c.net),
                    (None, Some(a), Some(i)) => {
                        format!("address {a} of interface {:?}", self.iface_name(i))
                    }
                    _ => c.net.to_string(),
                };
                self.err(
                    ItemKind::PrefixPool,
                    name,
                    format!("prefix {net} overlaps {what}"),
                );
            }
            if let Some((other, onet)) = good.iter().find(|(_, o)| overlaps(o, &net)) {
                let msg = format!("prefix {net} overlaps prefix_pool {other:?} ({onet})");
                self.err(ItemKind::PrefixPool, name, msg);
            }
            good.push((name, net));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::test_support::*;
    use crate::config::*;
    // ---- prefix delegation ----

    fn with_pd(interface: Option<&str>, len: Option<u8>) -> Config {
        let mut c = base();
        c.prefix_delegation = Some(PrefixDelegation {
            interface: interface.map(String::from),
            prefix_length: len,
        });
        c
    }

    #[test]
    fn pd_interface_exists() {
        let c = with_pd(Some("qg9"), None);
        assert_one(&c, "prefix_delegation:", "unknown interface \"qg9\"");
    }

    #[test]
    fn pd_interface_external() {
        let c = with_pd(Some("qr0"), None);
        assert_one(
            &c,
            "prefix_delegation:",
            "interface \"qr0\" is not external",
        );
        let mut c = with_pd(None, None);
        c.interfaces[1].external = false;
        assert_one(&c, "prefix_delegation:", "no external interface");
    }

    #[test]
    fn pd_prefix_length() {
        assert_eq!(
            errors(&with_pd(Some("qg0"), Some(48))),
            Vec::<String>::new()
        );
        let c = with_pd(Some("qg0"), Some(65));
        assert_one(
            &c,
            "prefix_delegation:",
            "prefix_length 65 is not within 1..=64",
        );
        let c = with_pd(Some("qg0"), Some(0));
        assert_one(&c, "prefix_delegation:", "prefix_length 0");
    }

    // ---- prefix pools ----

    fn with_pool(prefix: &str, len: u8) -> Config {
        let mut c = base();
        c.prefix_pools.push(PrefixPool {
            name: "pd".into(),
            prefix: net(prefix),
            delegated_length: len,
            ..PrefixPool::empty()
        });
        c
    }

    #[test]
    fn prefix_pool_valid() {
        assert_eq!(
            errors(&with_pool("2001:db8:face::/48", 64)),
            Vec::<String>::new()
        );
    }

    #[test]
    fn prefix_pool_ipv6() {
        let c = with_pool("198.51.100.0/24", 28);
        assert_one(
            &c,
            "prefix_pool \"pd\"",
            "prefix 198.51.100.0/24 is not IPv6",
        );
    }

    #[test]
    fn prefix_pool_delegated_length() {
        let c = with_pool("2001:db8:face::/48", 48);
        assert_one(
            &c,
            "prefix_pool \"pd\"",
            "delegated_length 48 is not within 49..=64",
        );
        let c = with_pool("2001:db8:face::/48", 65);
        assert_one(&c, "prefix_pool \"pd\"", "delegated_length 65");
    }

    #[test]
    fn prefix_pool_host_bits() {
        let c = with_pool("2001:db8:face::1/48", 64);
        assert_one(&c, "prefix_pool \"pd\"", "has host bits set");
    }

    #[test]
    fn prefix_pool_no_subnet_overlap() {
        let c = with_pool("2001:db8:cafe::/48", 64);
        assert_one(
            &c,
            "prefix_pool \"pd\"",
            "prefix 2001:db8:cafe::/48 overlaps subnet \"v6-sub\"",
        );
    }

    #[test]
    fn prefix_pools_do_not_overlap() {
        let mut c = with_pool("2001:db8:face::/48", 64);
        c.prefix_pools.push(PrefixPool {
            name: "pd2".into(),
            prefix: net("2001:db8:face:8000::/49"),
            delegated_length: 64,
            ..PrefixPool::empty()
        });
        assert_one(&c, "prefix_pool \"pd2\"", "overlaps prefix_pool \"pd\"");
    }
}
