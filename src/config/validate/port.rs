//! `[[port]]`: VM ports behind the router.
//!
//! Rules: MAC valid unicast and unique (and not a router interface's);
//! groups exist; port security off only without groups; fixed_ips in
//! subnets of one interface, unique across ports, not a gateway or the
//! network / anycast / broadcast address; allowed_address_pairs' MACs
//! valid unicast.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{reserved_address, Validator};
use crate::config::{ItemKind, Subnet};
use crate::wire::EthernetAddress;

impl<'a> Validator<'a> {
    /// Every `[[port]]`, in file order (rules in the module doc).
    pub(super) fn ports(&mut self) {
        let cfg = self.cfg;
        let mut macs: HashMap<EthernetAddress, &str> = HashMap::new();
        let mut ips: HashMap<IpAddr, &str> = HashMap::new();
        let iface_macs: Vec<(EthernetAddress, &str)> = cfg
            .interfaces
            .iter()
            .filter_map(|i| Some((i.parsed_mac()?, i.name.as_str())))
            .collect();
        // Subnets attached to an interface, with that interface.
        let attached: Vec<(&Subnet, IpNet, usize)> = cfg
            .subnets
            .iter()
            .filter_map(|s| {
                let net = s.prefix()?;
                let i = *self.attached.get(s.name.as_str())?;
                Some((s, net, i))
            })
            .collect();

        for p in &cfg.ports {
            let name = p.name.as_str();
            if let Some(mac) = self.check_mac(ItemKind::Port, name, "mac", &p.mac) {
                if let Some(prev) = macs.insert(mac, name) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("mac {mac} is also port {prev:?}'s"),
                    );
                } else if let Some((_, iface)) = iface_macs.iter().find(|(m, _)| *m == mac) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("mac {mac} is router interface {iface:?}'s"),
                    );
                }
            }

            if let Some(groups) = &p.security_groups {
                for g in groups {
                    if !self.groups.contains(g.as_str()) {
                        self.err(
                            ItemKind::Port,
                            name,
                            format!("unknown security group {g:?}"),
                        );
                    }
                }
                if !p.port_security_enabled && !groups.is_empty() {
                    self.err(
                        ItemKind::Port,
                        name,
                        "port_security_enabled = false leaves no room for security_groups".into(),
                    );
                }
            }

            let mut network: Option<usize> = None;
            for ip in &p.fixed_ips {
                let Some((s, net, i)) = attached.iter().find(|(_, n, _)| n.contains(ip)) else {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("fixed_ip {ip} is not in any subnet attached to an interface"),
                    );
                    continue;
                };
                match network {
                    None => network = Some(*i),
                    Some(first) if first != *i => {
                        let (a, b) = (self.iface_name(first), self.iface_name(*i));
                        self.err(
                            ItemKind::Port,
                            name,
                            format!(
                                "fixed_ip {ip} is on interface {b:?} but the port's other fixed_ips are on {a:?} (a port sits on one network)"
                            ),
                        );
                    }
                    Some(_) => {}
                }
                if s.effective_gateway() == Some(*ip) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("fixed_ip {ip} is the gateway of subnet {:?}", s.name),
                    );
                } else if let Some(what) = reserved_address(*net, *ip) {
                    self.err(
                        ItemKind::Port,
                        name,
                        format!("fixed_ip {ip} is {what} of subnet {:?}", s.name),
                    );
                }
                if let Some(prev) = ips.insert(*ip, name) {
                    let msg = if prev == name {
                        format!("fixed_ip {ip} is listed twice")
                    } else {
                        format!("fixed_ip {ip} is also port {prev:?}'s")
                    };
                    self.err(ItemKind::Port, name, msg);
                }
            }

            for pair in &p.allowed_address_pairs {
                if let Some(text) = &pair.mac_address {
                    self.check_mac(
                        ItemKind::Port,
                        name,
                        "allowed_address_pairs mac_address",
                        text,
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::test_support::*;
    use crate::config::*;
    // ---- ports ----

    #[test]
    fn port_mac_valid() {
        let mut c = base();
        c.ports[0].mac = "fa:16:3e:79:5a:zz".into();
        assert_one(
            &c,
            "port \"vm1\"",
            "mac \"fa:16:3e:79:5a:zz\" is not a MAC address",
        );
        c.ports[0].mac = "01:00:5e:00:00:01".into();
        assert_one(&c, "port \"vm1\"", "is a multicast address");
        c.ports[0].mac = "00:00:00:00:00:00".into();
        assert_one(&c, "port \"vm1\"", "is all zeros");
    }

    #[test]
    fn port_mac_unique() {
        let mut c = base();
        let mut p = c.ports[0].clone();
        p.name = "vm2".into();
        p.fixed_ips.clear();
        c.ports.push(p);
        assert_one(
            &c,
            "port \"vm2\"",
            "mac fa:16:3e:79:5a:cc is also port \"vm1\"'s",
        );
    }

    #[test]
    fn port_groups_exist() {
        let mut c = base();
        c.ports[0].security_groups = Some(vec!["web".into(), "default".into(), "db".into()]);
        assert_one(&c, "port \"vm1\"", "unknown security group \"db\"");
    }

    #[test]
    fn port_security_off_without_groups() {
        let mut c = base();
        c.ports[0].port_security_enabled = false;
        assert_one(&c, "port \"vm1\"", "port_security_enabled = false");
        c.ports[0].security_groups = Some(Vec::new());
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn port_fixed_ip_in_attached_subnet() {
        let mut c = base();
        c.ports[0].fixed_ips.push(ip("2001:db8:beef::4"));
        assert_one(
            &c,
            "port \"vm1\"",
            "fixed_ip 2001:db8:beef::4 is not in any subnet attached to an interface",
        );
    }

    #[test]
    fn port_fixed_ips_one_interface() {
        let mut c = base();
        // Move v4-sub to a second tenant interface.
        c.interfaces[0].subnets = vec!["v6-sub".into()];
        let mut qr1 = c.interfaces[0].clone();
        qr1.name = "qr1".into();
        qr1.mac = None;
        qr1.subnets = vec!["v4-sub".into()];
        c.interfaces.push(qr1);
        c.ports[0].fixed_ips = vec![ip("2001:db8:cafe::4"), ip("198.51.100.4")];
        assert_one(
            &c,
            "port \"vm1\"",
            "fixed_ip 198.51.100.4 is on interface \"qr1\" but the port's other fixed_ips are on \"qr0\"",
        );
    }

    #[test]
    fn port_fixed_ip_unique() {
        let mut c = base();
        let mut p = c.ports[0].clone();
        p.name = "vm2".into();
        p.mac = "fa:16:3e:79:5a:cd".into();
        c.ports.push(p);
        assert_one(
            &c,
            "port \"vm2\"",
            "fixed_ip 198.51.100.4 is also port \"vm1\"'s",
        );
    }

    #[test]
    fn port_fixed_ip_not_gateway() {
        let mut c = base();
        c.ports[0].fixed_ips = vec![ip("198.51.100.1")];
        assert_one(
            &c,
            "port \"vm1\"",
            "fixed_ip 198.51.100.1 is the gateway of subnet \"v4-sub\"",
        );
        c.ports[0].fixed_ips = vec![ip("198.51.100.255")];
        assert_one(&c, "port \"vm1\"", "is the broadcast address of subnet");
    }

    #[test]
    fn port_pair_mac_valid() {
        let mut c = base();
        c.ports[0].allowed_address_pairs = vec![AddressPair {
            ip_address: net("2001:db8:cafe::/64"),
            mac_address: Some("nonsense".into()),
        }];
        assert_one(
            &c,
            "port \"vm1\"",
            "allowed_address_pairs mac_address \"nonsense\" is not a MAC address",
        );
    }
}
