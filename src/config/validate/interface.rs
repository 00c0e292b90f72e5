//! `[[interface]]`: names, subnet attachments, addresses, MAC and MTU.
//!
//! Rules: name valid for Linux (`dev_valid_name`: 1..=15 bytes, no
//! `/`, `:` or whitespace, not `.`/`..`); subnets known, listed once, on
//! one interface only; addresses host addresses, unique, not overlapping
//! another interface's prefixes; MAC valid unicast and unique; MTU
//! 1280..=65535 with IPv6 (RFC 8200 §5), 68..=65535 IPv4-only (RFC 791);
//! at most one external interface.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use super::{overlaps, reserved_address, Validator};
use crate::config::ItemKind;
use crate::wire::EthernetAddress;

/// IFNAMSIZ − 1 (the kernel keeps a trailing NUL).
const MAX_IFNAME: usize = 15;
/// RFC 8200 §5: every IPv6 link has an MTU of at least 1280.
const MIN_MTU_V6: u32 = 1280;
/// RFC 791: every IPv4 host must accept 68-octet datagrams.
const MIN_MTU_V4: u32 = 68;
const MAX_MTU: u32 = 65535;

impl<'a> Validator<'a> {
    /// Every `[[interface]]`, in file order (rules in the module doc).
    pub(super) fn interfaces(&mut self) {
        let cfg = self.cfg;
        let mut external: Option<&str> = None;
        let mut macs: HashMap<EthernetAddress, &str> = HashMap::new();
        let mut addrs: HashMap<IpAddr, &str> = HashMap::new();
        let connected = self.connected();
        let pd_iface = cfg.prefix_delegation.as_ref().and_then(|pd| {
            pd.interface.clone().or_else(|| {
                cfg.interfaces
                    .iter()
                    .find(|i| i.external)
                    .map(|i| i.name.clone())
            })
        });

        for (i, iface) in cfg.interfaces.iter().enumerate() {
            let name = iface.name.as_str();
            if let Some(why) = ifname_problem(name) {
                self.err(ItemKind::Interface, name, why);
            }

            // Subnet references.
            let mut here = HashSet::new();
            for sn in &iface.subnets {
                if !here.insert(sn.as_str()) {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("subnet {sn:?} is listed twice"),
                    );
                } else if !self.subnets.contains_key(sn.as_str()) {
                    self.err(ItemKind::Interface, name, format!("unknown subnet {sn:?}"));
                } else if let Some(&first) = self.attached.get(sn.as_str()) {
                    if first != i {
                        let other = self.iface_name(first);
                        self.err(
                            ItemKind::Interface,
                            name,
                            format!(
                                "subnet {sn:?} is already attached to interface {other:?} (a subnet is on one link)"
                            ),
                        );
                    }
                }
            }

            // Addresses.
            for a in &iface.addresses {
                let ip = a.addr();
                let net = a.trunc();
                if let Some(what) = reserved_address(net, ip) {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("address {a} is {what} of {net}, not a host address"),
                    );
                }
                if let Some(prev) = addrs.insert(ip, name) {
                    let msg = if prev == name {
                        format!("address {ip} is listed twice")
                    } else {
                        format!("address {ip} is also on interface {prev:?}")
                    };
                    self.err(ItemKind::Interface, name, msg);
                    continue;
                }
                let clash = connected.iter().find(|c| {
                    c.iface != Some(i)
                        && overlaps(&c.net, &net)
                        && c.addr.map_or(true, |other| other.addr() != ip)
                        && (c.subnet.is_some() || c.iface.is_some_and(|ci| ci < i))
                });
                if let Some(c) = clash {
                    let on = match c.iface {
                        Some(ci) => format!(" of interface {:?}", self.iface_name(ci)),
                        None => String::new(),
                    };
                    let what = match (c.subnet, c.addr) {
                        (Some(sn), _) => format!("subnet {sn:?} ({})", c.net),
                        (None, Some(other)) => format!("address {other}"),
                        (None, None) => c.net.to_string(),
                    };
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("address {a} overlaps {what}{on}"),
                    );
                }
            }

            // MAC.
            if let Some(text) = &iface.mac {
                if let Some(mac) = self.check_mac(ItemKind::Interface, name, "mac", text) {
                    if let Some(prev) = macs.insert(mac, name) {
                        self.err(
                            ItemKind::Interface,
                            name,
                            format!("mac {mac} is also interface {prev:?}'s"),
                        );
                    }
                }
            }

            // MTU: IPv6 unless the interface only carries IPv4. Every
            // interface has an IPv6 link-local address for ND, so an
            // interface with neither subnets nor addresses counts as IPv6.
            if let Some(mtu) = iface.mtu {
                let mut v4 = false;
                let mut v6 = pd_iface.as_deref() == Some(name);
                for a in &iface.addresses {
                    v4 |= a.addr().is_ipv4();
                    v6 |= a.addr().is_ipv6();
                }
                for sn in &iface.subnets {
                    if let Some(s) = self.subnets.get(sn.as_str()) {
                        v4 |= s.ip_version == 4;
                        v6 |= s.ip_version == 6;
                    }
                }
                let (min, why) = if v4 && !v6 {
                    (MIN_MTU_V4, "an IPv4-only interface (RFC 791)")
                } else {
                    (MIN_MTU_V6, "an IPv6 interface (RFC 8200 §5)")
                };
                if !(min..=MAX_MTU).contains(&mtu) {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("mtu {mtu} is not within {min}..={MAX_MTU} for {why}"),
                    );
                }
            }

            if iface.external {
                if let Some(first) = external {
                    self.err(
                        ItemKind::Interface,
                        name,
                        format!("only one interface may be external, and {first:?} already is"),
                    );
                } else {
                    external = Some(name);
                }
            }
        }
    }

    /// Parses and checks a MAC: valid text, unicast, not all zeros.
    pub(super) fn check_mac(
        &mut self,
        kind: ItemKind,
        name: &str,
        key: &str,
        text: &str,
    ) -> Option<EthernetAddress> {
        let Ok(mac) = text.parse::<EthernetAddress>() else {
            self.err(
                kind,
                name,
                format!("{key} {text:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"),
            );
            return None;
        };
        if mac.is_multicast() {
            self.err(
                kind,
                name,
                format!("{key} {mac} is a multicast address, not a unicast one"),
            );
            return None;
        }
        if mac.0 == [0; 6] {
            self.err(kind, name, format!("{key} {mac} is all zeros"));
            return None;
        }
        Some(mac)
    }
}

/// Why `name` cannot be a Linux interface name (the kernel's
/// `dev_valid_name`), or `None` if it can.
fn ifname_problem(name: &str) -> Option<String> {
    if name.is_empty() || name.len() > MAX_IFNAME {
        return Some(format!(
            "name must be 1..={MAX_IFNAME} bytes long (IFNAMSIZ), not {}",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Some("name must not be '.' or '..'".into());
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Some("name must not hold '/', ':' or whitespace".into());
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::test_support::*;
    // ---- interfaces ----

    #[test]
    fn interface_name_rules() {
        for (name, phrase) in [
            ("", "1..=15 bytes"),
            ("qr-0123456789abc", "1..=15 bytes"),
            ("q/r", "must not hold '/'"),
            ("q r", "must not hold '/'"),
            (".", "must not be '.'"),
        ] {
            let mut c = base();
            c.interfaces[0].name = name.into();
            let e = one_error(&c);
            assert!(e.contains(phrase), "{name:?}: {e}");
            assert!(e.starts_with("interface"), "{e}");
        }
    }

    #[test]
    fn interface_unknown_subnet() {
        let mut c = base();
        c.interfaces[0].subnets.push("nope".into());
        assert_one(&c, "interface \"qr0\"", "unknown subnet \"nope\"");
    }

    #[test]
    fn interface_subnet_twice() {
        let mut c = base();
        c.interfaces[0].subnets.push("v4-sub".into());
        assert_one(&c, "interface \"qr0\"", "subnet \"v4-sub\" is listed twice");
    }

    #[test]
    fn interface_subnet_on_two_interfaces() {
        let mut c = base();
        c.interfaces[1].subnets.push("v4-sub".into());
        assert_one(
            &c,
            "interface \"qg0\"",
            "subnet \"v4-sub\" is already attached to interface \"qr0\"",
        );
    }

    #[test]
    fn interface_address_overlaps_other_interface_subnet() {
        let mut c = base();
        c.interfaces[1].addresses.push(net("198.51.100.200/24"));
        assert_one(
            &c,
            "interface \"qg0\"",
            "address 198.51.100.200/24 overlaps subnet \"v4-sub\" (198.51.100.0/24) of interface \"qr0\"",
        );
    }

    #[test]
    fn interface_address_duplicate() {
        let mut c = base();
        c.interfaces[1].addresses.push(net("203.0.113.102/24"));
        assert_one(
            &c,
            "interface \"qg0\"",
            "address 203.0.113.102 is listed twice",
        );
    }

    #[test]
    fn interface_address_is_host() {
        let mut c = base();
        c.interfaces[1].addresses[0] = net("2001:db8:cafe:17::/64");
        assert_one(
            &c,
            "interface \"qg0\"",
            "is the subnet-router anycast address of 2001:db8:cafe:17::/64, not a host address",
        );
    }

    #[test]
    fn interface_mac_valid() {
        let mut c = base();
        c.interfaces[0].mac = Some("fa:16:3e:11:11".into());
        assert_one(&c, "interface \"qr0\"", "is not a MAC address");
    }

    #[test]
    fn interface_mac_unicast() {
        let mut c = base();
        c.interfaces[0].mac = Some("33:33:00:00:00:01".into());
        assert_one(&c, "interface \"qr0\"", "is a multicast address");
    }

    #[test]
    fn interface_mac_unique() {
        let mut c = base();
        c.interfaces[1].mac = Some("fa:16:3e:11:11:01".into());
        assert_one(
            &c,
            "interface \"qg0\"",
            "mac fa:16:3e:11:11:01 is also interface \"qr0\"'s",
        );
    }

    #[test]
    fn interface_mtu_v6() {
        let mut c = base();
        c.interfaces[0].mtu = Some(1279);
        assert_one(
            &c,
            "interface \"qr0\"",
            "mtu 1279 is not within 1280..=65535",
        );
        c.interfaces[0].mtu = Some(65536);
        assert_one(
            &c,
            "interface \"qr0\"",
            "mtu 65536 is not within 1280..=65535",
        );
    }

    #[test]
    fn interface_mtu_v4_only() {
        let mut c = base();
        c.interfaces[0].subnets = vec!["v4-sub".into()];
        c.interfaces[0].mtu = Some(576);
        assert_eq!(errors(&c), Vec::<String>::new());
        c.interfaces[0].mtu = Some(67);
        assert_one(&c, "interface \"qr0\"", "mtu 67 is not within 68..=65535");
    }

    #[test]
    fn one_external_interface() {
        let mut c = base();
        c.interfaces[0].external = true;
        assert_one(
            &c,
            "interface \"qg0\"",
            "only one interface may be external, and \"qr0\" already is",
        );
    }
}
