//! `[[security_group]]` rules.
//!
//! Rules: protocol known; ports only with tcp/udp/sctp (1..=65535,
//! min ≤ max, both or neither) or as ICMP type/code (0..=255, code needs
//! type); ICMPv6 only with ethertype IPv6; remote_ip_prefix matches the
//! ethertype; remote_group exists and excludes remote_ip_prefix.
//! `default` exists implicitly.

use super::{family_of, Validator};
use crate::config::derive::{
    RuleProtocol, PROTO_ICMP, PROTO_ICMPV6, PROTO_SCTP, PROTO_TCP, PROTO_UDP,
};
use crate::config::{ConfigError, Ethertype, SecurityGroupRule};

impl<'a> Validator<'a> {
    /// Every rule of every `[[security_group]]`, numbered from 1.
    pub(super) fn security_groups(&mut self) {
        for g in &self.cfg.security_groups {
            for (i, rule) in g.rules.iter().enumerate() {
                for message in self.rule_problems(rule) {
                    self.errors.push(ConfigError::rule(
                        g.name.as_str(),
                        i.saturating_add(1),
                        message,
                    ));
                }
            }
        }
    }

    /// Everything wrong with one rule, as messages.
    pub(super) fn rule_problems(&self, rule: &SecurityGroupRule) -> Vec<String> {
        let mut out = Vec::new();
        let text = rule.protocol.as_deref().unwrap_or("");
        let proto = rule.ip_protocol();
        if proto.is_none() {
            out.push(format!(
                "protocol {text:?} is not tcp, udp, icmp, ipv6-icmp, icmpv6, sctp or a number 0..255"
            ));
        }
        if proto == Some(RuleProtocol::Number(PROTO_ICMPV6)) && rule.ethertype == Ethertype::IPv4 {
            out.push(format!(
                "protocol {text:?} is ICMPv6, which needs ethertype IPv6"
            ));
        }
        let (min, max) = (rule.port_range_min, rule.port_range_max);
        match proto {
            None => {}
            Some(RuleProtocol::Number(PROTO_TCP | PROTO_UDP | PROTO_SCTP)) => match (min, max) {
                (None, None) => {}
                (Some(lo), Some(hi)) => {
                    if lo == 0 || hi == 0 {
                        out.push("port 0 is not a valid port (1..=65535)".into());
                    } else if lo > hi {
                        out.push(format!(
                            "port_range_min {lo} is greater than port_range_max {hi}"
                        ));
                    }
                }
                _ => out.push(format!(
                    "port_range_min and port_range_max go together for protocol {text}"
                )),
            },
            Some(RuleProtocol::Number(PROTO_ICMP | PROTO_ICMPV6)) => {
                if max.is_some() && min.is_none() {
                    out.push("port_range_max (ICMP code) needs port_range_min (ICMP type)".into());
                }
                if let Some(t) = min.filter(|t| *t > 255) {
                    out.push(format!(
                        "port_range_min (ICMP type) {t} is not within 0..=255"
                    ));
                }
                if let Some(c) = max.filter(|c| *c > 255) {
                    out.push(format!(
                        "port_range_max (ICMP code) {c} is not within 0..=255"
                    ));
                }
            }
            Some(_) if min.is_some() || max.is_some() => {
                out.push(
                    "port_range_min/port_range_max need protocol tcp, udp, sctp or icmp".into(),
                );
            }
            Some(_) => {}
        }
        if let Some(prefix) = rule.remote_ip_prefix {
            let want_v4 = rule.ethertype == Ethertype::IPv4;
            if prefix.addr().is_ipv4() != want_v4 {
                out.push(format!(
                    "remote_ip_prefix {prefix} is {} but ethertype is {}",
                    family_of(prefix.addr()),
                    if want_v4 { "IPv4" } else { "IPv6" }
                ));
            }
        }
        if let Some(group) = &rule.remote_group {
            if !self.groups.contains(group.as_str()) {
                out.push(format!("remote_group {group:?} is not a security group"));
            }
            if rule.remote_ip_prefix.is_some() {
                out.push("remote_ip_prefix and remote_group are mutually exclusive".into());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::super::test_support::*;
    use crate::config::*;
    // ---- security groups ----

    fn rule_error(edit: impl FnOnce(&mut SecurityGroupRule)) -> String {
        let mut c = base();
        edit(&mut c.security_groups[0].rules[0]);
        one_error(&c)
    }

    #[test]
    fn rule_protocol_known() {
        let e = rule_error(|r| r.protocol = Some("gre".into()));
        assert!(e.starts_with("security_group \"web\" rule 1: "), "{e}");
        assert!(e.contains("protocol \"gre\" is not tcp"), "{e}");
        let e = rule_error(|r| r.protocol = Some("256".into()));
        assert!(e.contains("protocol \"256\""), "{e}");
    }

    #[test]
    fn rule_icmpv6_needs_ipv6() {
        let mut c = base();
        let r = &mut c.security_groups[0].rules[1];
        r.protocol = Some("ipv6-icmp".into());
        r.ethertype = Ethertype::IPv4;
        r.remote_ip_prefix = Some(net("0.0.0.0/0"));
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "is ICMPv6, which needs ethertype IPv6",
        );
    }

    #[test]
    fn rule_ports_only_with_l4() {
        let mut c = base();
        c.security_groups[0].rules[2].port_range_min = Some(80);
        c.security_groups[0].rules[2].port_range_max = Some(80);
        assert_one(
            &c,
            "security_group \"web\" rule 3",
            "need protocol tcp, udp, sctp or icmp",
        );
    }

    #[test]
    fn rule_ports_min_le_max() {
        let e = rule_error(|r| {
            r.port_range_min = Some(80);
            r.port_range_max = Some(22);
        });
        assert!(
            e.contains("port_range_min 80 is greater than port_range_max 22"),
            "{e}"
        );
    }

    #[test]
    fn rule_ports_together() {
        let e = rule_error(|r| r.port_range_max = None);
        assert!(e.contains("go together"), "{e}");
    }

    #[test]
    fn rule_port_zero() {
        let e = rule_error(|r| r.port_range_min = Some(0));
        assert!(e.contains("port 0 is not a valid port"), "{e}");
    }

    #[test]
    fn rule_icmp_type_code() {
        let mut c = base();
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = Some(128);
        r.port_range_max = Some(0);
        assert_eq!(errors(&c), Vec::<String>::new());
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = Some(256);
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "port_range_min (ICMP type) 256 is not within 0..=255",
        );
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = Some(1);
        r.port_range_max = Some(300);
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "port_range_max (ICMP code) 300",
        );
        let r = &mut c.security_groups[0].rules[1];
        r.port_range_min = None;
        r.port_range_max = Some(0);
        assert_one(
            &c,
            "security_group \"web\" rule 2",
            "port_range_max (ICMP code) needs port_range_min (ICMP type)",
        );
    }

    #[test]
    fn rule_remote_prefix_version() {
        let e = rule_error(|r| r.remote_ip_prefix = Some(net("0.0.0.0/0")));
        assert!(
            e.contains("remote_ip_prefix 0.0.0.0/0 is IPv4 but ethertype is IPv6"),
            "{e}"
        );
    }

    #[test]
    fn rule_remote_group_exists() {
        let mut c = base();
        let r = &mut c.security_groups[0].rules[2];
        r.remote_group = Some("db".into());
        assert_one(
            &c,
            "security_group \"web\" rule 3",
            "remote_group \"db\" is not a security group",
        );
        // "default" exists implicitly.
        let r = &mut c.security_groups[0].rules[2];
        r.remote_group = Some("default".into());
        assert_eq!(errors(&c), Vec::<String>::new());
    }

    #[test]
    fn rule_remote_exclusive() {
        let e = rule_error(|r| r.remote_group = Some("web".into()));
        assert!(
            e.contains("remote_ip_prefix and remote_group are mutually exclusive"),
            "{e}"
        );
    }
}
