//! `[[route]]`: static routes.
//!
//! Rules: destination without host bits, unique; nexthop of the same
//! version, on a connected prefix, not the router's own address.

use std::collections::HashSet;

use ipnet::IpNet;

use super::{family_of, Validator};
use crate::config::ItemKind;

impl<'a> Validator<'a> {
    /// Every `[[route]]`, named in errors by its destination as written.
    pub(super) fn routes(&mut self) {
        let connected: Vec<IpNet> = self
            .connected()
            .into_iter()
            .filter(|c| c.iface.is_some())
            .map(|c| c.net)
            .collect();
        let own = self.own_addresses();
        let mut seen = HashSet::new();
        for r in &self.cfg.routes {
            let name = r.destination.to_string();
            let dest = r.destination.trunc();
            if dest != r.destination {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!("destination has host bits set (did you mean {dest}?)"),
                );
            }
            if !seen.insert(dest) {
                self.err(ItemKind::Route, &name, "duplicate destination".into());
            }
            let hop = r.nexthop;
            if hop.is_ipv4() != dest.addr().is_ipv4() {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!(
                        "nexthop {hop} is {} but the destination is {}",
                        family_of(hop),
                        family_of(dest.addr())
                    ),
                );
            } else if own.contains(&hop) {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!("nexthop {hop} is one of the router's own addresses"),
                );
            } else if !connected.iter().any(|n| n.contains(&hop)) {
                self.err(
                    ItemKind::Route,
                    &name,
                    format!("nexthop {hop} is not on a connected subnet"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::test_support::*;
    use crate::config::*;
    // ---- routes ----

    fn route(dest: &str, hop: &str) -> Route {
        Route {
            destination: net(dest),
            nexthop: ip(hop),
        }
    }

    #[test]
    fn route_destination_host_bits() {
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::1/48", "2001:db8:cafe:17::1"));
        assert_one(
            &c,
            "route 2001:db8:beef::1/48",
            "destination has host bits set (did you mean 2001:db8:beef::/48?)",
        );
    }

    #[test]
    fn route_version_matches() {
        let mut c = base();
        c.routes.push(route("2001:db8:beef::/48", "203.0.113.1"));
        assert_one(
            &c,
            "route 2001:db8:beef::/48",
            "nexthop 203.0.113.1 is IPv4 but the destination is IPv6",
        );
    }

    #[test]
    fn route_nexthop_connected() {
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::/48", "2001:db8:dead::1"));
        assert_one(
            &c,
            "route 2001:db8:beef::/48",
            "nexthop 2001:db8:dead::1 is not on a connected subnet",
        );
        // Inside an attached subnet is fine.
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::/48", "2001:db8:cafe::99"));
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn route_nexthop_not_own() {
        let mut c = base();
        c.routes
            .push(route("2001:db8:beef::/48", "2001:db8:cafe:17::66"));
        assert_one(
            &c,
            "route 2001:db8:beef::/48",
            "one of the router's own addresses",
        );
        let mut c = base();
        c.routes.push(route("203.0.113.128/25", "198.51.100.1"));
        assert_one(
            &c,
            "route 203.0.113.128/25",
            "one of the router's own addresses",
        );
    }

    #[test]
    fn route_duplicate_destination() {
        let mut c = base();
        c.routes.push(route("::/0", "2001:db8:cafe:17::2"));
        assert_one(&c, "route ::/0", "duplicate destination");
    }
}
