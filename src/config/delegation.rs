//! Numbering the `use_prefix_delegation` subnets from a delegated prefix.
//!
//! The PD client ([`crate::dhcpv6::pd_client`]) learns a prefix at run
//! time; [`subnet_prefixes`] gives each PD subnet one /64 of it and
//! [`Config::with_delegated_prefixes`] writes those /64s into a copy of
//! the config, so that validation and `CompiledConfig::build` see
//! ordinary subnets and need nothing PD-specific.
//!
//! The copy is a config a user could have written: each numbered subnet
//! gets `cidr` (its /64), `gateway_ip` (::1 of it), pools left to
//! Neutron's default (the rest of the /64), and `use_prefix_delegation`
//! cleared, since validation rightly refuses a cidr on a PD subnet in a
//! user's file. Always derive from the config as loaded, never from a
//! derived one; where each prefix came from is the `assigned` list.
//! A PD subnet without a /64 stays as loaded (no cidr: no prefix in its
//! RA, no gateway address), as before any delegation.

use std::net::{IpAddr, Ipv6Addr};

use ipnet::{IpNet, Ipv6Net};

use super::Config;

/// How a delegated prefix numbers the PD subnets.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Numbering {
    /// (subnet name, its /64), in config order.
    pub assigned: Vec<(String, Ipv6Net)>,
    /// PD subnets left without a /64: the delegated prefix has too few
    /// (a /64 serves one subnet) or is longer than /64. Worth a warning.
    pub unassigned: Vec<String>,
}

/// The `use_prefix_delegation` subnets, in config order.
pub fn pd_subnet_names(config: &Config) -> Vec<&str> {
    config
        .subnets
        .iter()
        .filter(|s| s.use_prefix_delegation)
        .map(|s| s.name.as_str())
        .collect()
}

/// One /64 of `delegated` for each of `subnets`, in order: the first
/// gets the delegated prefix's first /64, the second the next, and so
/// on, so the same subnets get the same /64s across restarts.
pub fn subnet_prefixes(delegated: Ipv6Net, subnets: &[&str]) -> Numbering {
    let delegated = delegated.trunc();
    let available: u128 = match delegated.prefix_len() {
        len @ 0..=64 => 1u128 << (64 - u32::from(len)),
        _ => 0,
    };
    let base = u128::from(delegated.network());
    let mut numbering = Numbering::default();
    for (i, name) in subnets.iter().enumerate() {
        let i = u128::try_from(i).unwrap_or(u128::MAX);
        let net = (i < available)
            .then(|| Ipv6Net::new(Ipv6Addr::from(base | (i << 64)), 64).ok())
            .flatten();
        match net {
            Some(net) => numbering.assigned.push(((*name).to_string(), net)),
            None => numbering.unassigned.push((*name).to_string()),
        }
    }
    numbering
}

impl Config {
    /// A copy of the config with each PD subnet in `assigned` numbered
    /// from its /64 (module doc). Subnets not in `assigned`, and names in
    /// it that are not PD subnets, are left alone.
    pub fn with_delegated_prefixes(&self, assigned: &[(String, Ipv6Net)]) -> Config {
        let mut config = self.clone();
        for subnet in config
            .subnets
            .iter_mut()
            .filter(|s| s.use_prefix_delegation)
        {
            let Some((_, net)) = assigned.iter().find(|(name, _)| *name == subnet.name) else {
                continue;
            };
            let net = net.trunc();
            subnet.cidr = Some(IpNet::V6(net));
            subnet.gateway_ip = Some(IpAddr::V6(Ipv6Addr::from(u128::from(net.network()) | 1)));
            subnet.allocation_pools.clear();
            subnet.use_prefix_delegation = false;
        }
        config
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::config::AllocationPool;

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    fn example() -> Config {
        Config::from_toml_str(include_str!("../../examples/prefix-delegation.toml")).unwrap()
    }

    #[test]
    fn one_64_each_in_order() {
        let n = subnet_prefixes(net("2001:db8:face:6b00::/56"), &["a", "b", "c"]);
        assert_eq!(
            n.assigned,
            [
                ("a".to_string(), net("2001:db8:face:6b00::/64")),
                ("b".to_string(), net("2001:db8:face:6b01::/64")),
                ("c".to_string(), net("2001:db8:face:6b02::/64")),
            ]
        );
        assert!(n.unassigned.is_empty());
        // Stable: the same input gives the same /64s.
        assert_eq!(
            subnet_prefixes(net("2001:db8:face:6b00::/56"), &["a", "b", "c"]),
            n
        );
        // Host bits in what the server sent are ignored.
        assert_eq!(
            subnet_prefixes(net("2001:db8:face:6b00::1/56"), &["a"]).assigned[0].1,
            net("2001:db8:face:6b00::/64")
        );
    }

    #[test]
    fn a_64_serves_one_subnet() {
        let n = subnet_prefixes(net("2001:db8:face:6bc3::/64"), &["a", "b"]);
        assert_eq!(
            n.assigned,
            [("a".to_string(), net("2001:db8:face:6bc3::/64"))]
        );
        assert_eq!(n.unassigned, ["b"]);
        // A /63 serves two.
        let n = subnet_prefixes(net("2001:db8:face:6bc2::/63"), &["a", "b", "c"]);
        assert_eq!(n.assigned.len(), 2);
        assert_eq!(n.assigned[1].1, net("2001:db8:face:6bc3::/64"));
        assert_eq!(n.unassigned, ["c"]);
        // Longer than /64: nothing to give.
        let n = subnet_prefixes(net("2001:db8:face:6bc3::/80"), &["a"]);
        assert!(n.assigned.is_empty());
        assert_eq!(n.unassigned, ["a"]);
        // A /0 does not overflow.
        let n = subnet_prefixes(net("::/0"), &["a", "b"]);
        assert_eq!(n.assigned[1].1, net("0:0:0:1::/64"));
    }

    #[test]
    fn the_talks_subnet_numbered_from_its_delegated_prefix() {
        let config = example();
        let names = pd_subnet_names(&config);
        assert_eq!(names, ["ipv6-pd-1"]);
        let n = subnet_prefixes(net("2001:db8:face:6bc3::/64"), &names);
        let derived = config.with_delegated_prefixes(&n.assigned);
        // Validation accepts it as it stands, unchanged.
        derived.validate().unwrap();
        let s = derived
            .subnets
            .iter()
            .find(|s| s.name == "ipv6-pd-1")
            .unwrap();
        assert_eq!(s.prefix(), Some("2001:db8:face:6bc3::/64".parse().unwrap()));
        assert_eq!(
            s.effective_gateway(),
            Some("2001:db8:face:6bc3::1".parse().unwrap())
        );
        assert_eq!(
            s.effective_pools(),
            [AllocationPool {
                start: "2001:db8:face:6bc3::2".parse().unwrap(),
                end: "2001:db8:face:6bc3:ffff:ffff:ffff:fffe".parse().unwrap(),
            }]
        );
        assert!(!s.use_prefix_delegation);
        // The rest of the config is untouched.
        assert_eq!(derived.interfaces, config.interfaces);
        assert_eq!(derived.prefix_delegation, config.prefix_delegation);
        // Nothing assigned (lost, or before the first Reply): as loaded.
        let bare = config.with_delegated_prefixes(&[]);
        bare.validate().unwrap();
        assert_eq!(bare.subnets, config.subnets);
    }
}
