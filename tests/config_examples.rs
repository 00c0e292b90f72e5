//! Every file in `examples/*.toml` loads and validates, and its derived
//! facts (RA flags, DHCPv6 service, pools, PD) are the ones the talk and
//! the captures show for that scenario.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use routelet::config::{AllocationPool, Config, Dhcpv6Service, RaPolicy};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn load(name: &str) -> Config {
    let path = examples_dir().join(name);
    Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn ra(managed: bool, other: bool, autonomous: bool) -> RaPolicy {
    RaPolicy {
        managed,
        other,
        on_link: true,
        autonomous,
    }
}

#[test]
fn every_example_validates() {
    let mut count = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let cfg = Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // Common to every scenario: the talk's router links and MACs.
        let qr0 = cfg.interfaces.iter().find(|i| i.name == "qr0").unwrap();
        assert_eq!(
            qr0.parsed_mac().unwrap().to_string(),
            "fa:16:3e:11:11:01",
            "{}",
            path.display()
        );
        let qg0 = cfg.interfaces.iter().find(|i| i.name == "qg0").unwrap();
        assert!(qg0.external, "{}", path.display());
        assert!(!cfg.summary().is_empty());
        count += 1;
    }
    assert!(count >= 6, "only {count} examples");
}

#[test]
fn slaac_example() {
    let cfg = load("slaac.toml");
    let s = &cfg.subnets[0];
    assert_eq!(s.ra_policy(), Some(ra(false, false, true)));
    assert_eq!(s.dhcpv6_service(), Dhcpv6Service::None);
    assert_eq!(s.prefix(), Some("2001:db8:cafe::/64".parse().unwrap()));
    assert_eq!(s.effective_gateway(), Some(ip("2001:db8:cafe::1")));
    // Explicit pool equals the default Neutron would compute.
    let mut implicit = s.clone();
    implicit.allocation_pools.clear();
    assert_eq!(implicit.effective_pools(), s.effective_pools());
    assert_eq!(
        s.effective_pools(),
        vec![AllocationPool {
            start: ip("2001:db8:cafe::2"),
            end: ip("2001:db8:cafe:0:ffff:ffff:ffff:fffe"),
        }]
    );
}

#[test]
fn dhcpv6_stateless_example() {
    let cfg = load("dhcpv6-stateless.toml");
    let s = &cfg.subnets[0];
    assert_eq!(s.ra_policy(), Some(ra(false, true, true)));
    assert_eq!(s.dhcpv6_service(), Dhcpv6Service::Stateless);
    assert_eq!(s.prefix(), Some("2001:db8:cafe:2::/64".parse().unwrap()));
    assert_eq!(s.dns_nameservers, vec![ip("2001:db8:cafe:a::e")]);
    assert_eq!(s.domain_search, vec!["openstacklocal".to_string()]);
}

#[test]
fn dhcpv6_stateful_example() {
    let cfg = load("dhcpv6-stateful.toml");
    let s = &cfg.subnets[0];
    assert_eq!(s.ra_policy(), Some(ra(true, false, false)));
    assert_eq!(s.dhcpv6_service(), Dhcpv6Service::Stateful);
    assert_eq!(s.prefix(), Some("2001:db8:cafe:1::/64".parse().unwrap()));
    let port = &cfg.ports[0];
    assert_eq!(port.parsed_mac().unwrap().to_string(), "fa:16:3e:79:5a:cc");
    assert_eq!(port.fixed_ips, vec![ip("2001:db8:cafe:1::4")]);
}

#[test]
fn prefix_delegation_example() {
    let cfg = load("prefix-delegation.toml");
    let s = &cfg.subnets[0];
    assert!(s.use_prefix_delegation);
    assert_eq!(s.prefix(), None);
    assert_eq!(s.ra_policy(), Some(ra(false, false, true)));
    assert_eq!(
        cfg.prefix_delegation.as_ref().unwrap().interface.as_deref(),
        Some("qg0")
    );
}

#[test]
fn security_groups_example() {
    let cfg = load("security-groups.toml");
    let g = &cfg.security_groups[0];
    assert_eq!(g.name, "heat-security-group");
    let ingress_tcp: Vec<(Option<u16>, Option<u16>)> = g
        .rules
        .iter()
        .filter(|r| r.protocol.as_deref() == Some("tcp"))
        .map(|r| (r.port_range_min, r.port_range_max))
        .collect();
    assert_eq!(
        ingress_tcp,
        vec![(Some(22), Some(22)), (Some(80), Some(80))]
    );
    assert!(cfg
        .subnets
        .iter()
        .any(|s| s.ra_policy() == Some(ra(false, false, true))));
    assert_eq!(
        cfg.ports[0].security_groups.as_deref(),
        Some(&["heat-security-group".to_string()][..])
    );
}

#[test]
fn dual_stack_example() {
    let cfg = load("dual-stack.toml");
    let v4 = cfg.subnets.iter().find(|s| s.ip_version == 4).unwrap();
    assert_eq!(v4.ra_policy(), None);
    assert_eq!(
        v4.effective_pools(),
        vec![AllocationPool {
            start: ip("198.51.100.2"),
            end: ip("198.51.100.254"),
        }]
    );
    let v6 = cfg.subnets.iter().find(|s| s.ip_version == 6).unwrap();
    assert_eq!(v6.ra_policy(), Some(ra(false, false, true)));
    assert_eq!(cfg.routes.len(), 2);
}

#[test]
fn forwarding_example() {
    let cfg = load("forwarding.toml");
    let qg0 = cfg.interfaces.iter().find(|i| i.name == "qg0").unwrap();
    assert_eq!(qg0.mtu, Some(1280));
    // No IPv6 default route: 2001:db8:dead::1 is unreachable in the capture.
    assert!(!cfg
        .routes
        .iter()
        .any(|r| r.destination == "::/0".parse().unwrap()));
}

fn check(fixture: &str) -> (Option<i32>, String) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/config")
        .join(fixture);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_routelet"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (
        out.status.code(),
        stderr.replace(&path.display().to_string(), "FILE"),
    )
}

#[test]
fn cli_check_prints_every_validation_error_with_its_position() {
    let (code, stderr) = check("check-errors.toml");
    assert_eq!(code, Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.first(), Some(&"FILE: 3 error(s)"), "{stderr}");
    assert!(
        lines.contains(&r#"FILE:8:22: interface "qr0": unknown subnet "missing""#),
        "{stderr}"
    );
    assert!(
        lines.contains(&r#"FILE:14:1: subnet "v6-sub": ipv6_ra_mode "slaac" and ipv6_address_mode "dhcpv6-stateful" must be equal when both are set"#),
        "{stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("FILE:13:1: subnet \"v6-sub\": slaac needs a /64 cidr")),
        "{stderr}"
    );
}

#[test]
fn cli_check_prints_every_syntax_error_with_its_position() {
    let (code, stderr) = check("check-syntax-errors.toml");
    assert_eq!(code, Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    // toml may report more than one error per broken line.
    let count = lines.len() - 1;
    assert!(count >= 2, "{stderr}");
    assert_eq!(
        lines.first(),
        Some(&&*format!("FILE: {count} error(s)")),
        "{stderr}"
    );
    assert!(
        lines.get(1).is_some_and(|l| l.starts_with("FILE:5:11: ")),
        "{stderr}"
    );
    assert!(
        lines.last().is_some_and(|l| l.starts_with("FILE:9:")),
        "{stderr}"
    );
}

#[test]
fn cli_check_refuses_a_huge_file_without_parsing_it() {
    let dir = std::env::temp_dir().join(format!("routelet-check-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.toml");
    let mut text = String::from("[router]\nname = \"r1\"\n");
    text.push_str(&"# padding\n".repeat(routelet::config::MAX_CONFIG_BYTES / 10 + 1));
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_routelet"))
        .arg("check")
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("more than the 4194304 (4 MiB) allowed"),
        "{stderr}"
    );
}
