//! `routelet ctl`'s human output: aligned tables for the [`super::model`]
//! shapes.
//!
//! Contract: every function takes the reply's `data` as received and
//! returns the text to print, ending in a newline. Data that does not have
//! the expected shape (a newer or older router) is printed as pretty JSON
//! rather than refused, so a mismatch never hides the answer. Cells are
//! shown with control characters escaped, so nothing a router reports can
//! forge lines or move the terminal's cursor. Columns are separated by two
//! spaces and lines carry no trailing blanks.

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::model::{
    drop_description, ApplyOutcome, ConfigView, ControlStats, InterfaceRow, LeaseRow, NeighborRow,
    RouteRow, StatsRow, Status, SubnetRow,
};
use super::protocol::ShowWhat;

/// The text for `show what`.
pub fn show(what: ShowWhat, data: &Value) -> String {
    match what {
        ShowWhat::Interfaces => typed(data, interfaces),
        ShowWhat::Subnets => typed(data, subnets),
        ShowWhat::Routes => typed(data, routes),
        ShowWhat::Neighbors => typed(data, neighbors),
        ShowWhat::Stats => typed(data, stats),
        ShowWhat::Config => typed(data, config),
        ShowWhat::Leases => typed(data, leases),
        ShowWhat::Flows => json(data),
    }
}

/// The text for `status`.
pub fn status(data: &Value) -> String {
    typed(data, |s: Status| {
        let mut t = Table::new(&[]);
        t.row(vec!["router".into(), s.router]);
        t.row(vec!["pid".into(), s.pid.to_string()]);
        t.row(vec!["uptime".into(), duration(s.uptime_secs)]);
        t.row(vec!["workers".into(), s.workers.to_string()]);
        t.row(vec!["interfaces".into(), s.interfaces.to_string()]);
        t.row(vec![
            "config".into(),
            format!("generation {}", s.config_generation),
        ]);
        // The server's own counters: shown when something was turned away.
        let control = data
            .get("control")
            .and_then(|c| serde_json::from_value::<ControlStats>(c.clone()).ok());
        if let Some(c) = control
            .filter(|c| c.refused + c.evicted + c.timed_out + c.denied + c.status_when_full > 0)
        {
            t.row(vec![
                "control".into(),
                format!(
                    "{}/{} connections; {} refused busy, {} evicted idle, {} timed out, {} denied, {} status answered while full",
                    c.connections,
                    c.max_connections,
                    c.refused,
                    c.evicted,
                    c.timed_out,
                    c.denied,
                    c.status_when_full
                ),
            ]);
        }
        t.render()
    })
}

/// The text for a successful `apply`, with one line per setting that
/// needs a restart to take effect.
pub fn applied(data: &Value) -> String {
    let Ok(a) = serde_json::from_value::<ApplyOutcome>(data.clone()) else {
        return String::from("config applied\n");
    };
    let mut text = format!("config applied: generation {}\n", a.config_generation);
    for r in &a.restart_required {
        let _ = writeln!(
            text,
            "restart needed: {} stays {} until routelet restarts (requested {})",
            cell(&r.key),
            cell(&r.running),
            cell(&r.requested)
        );
    }
    text
}

/// Pretty JSON, with a newline: `--json` output and the fallback.
pub fn json(data: &Value) -> String {
    let mut s = serde_json::to_string_pretty(data).unwrap_or_else(|_| data.to_string());
    s.push('\n');
    s
}

/// Renders `data` as `T` with `f`, or as JSON if it is not a `T`.
fn typed<T: DeserializeOwned>(data: &Value, f: impl FnOnce(T) -> String) -> String {
    match serde_json::from_value::<T>(data.clone()) {
        Ok(v) => f(v),
        Err(_) => json(data),
    }
}

fn interfaces(rows: Vec<InterfaceRow>) -> String {
    let mut t = Table::new(&[
        "NAME",
        "INDEX",
        "MAC",
        "MTU",
        "FLAGS",
        "LINK-LOCAL",
        "ADDRESSES",
    ]);
    for r in rows {
        let mut flags = Vec::new();
        if r.external {
            flags.push("external");
        }
        if r.ra {
            flags.push("ra");
        }
        t.row(vec![
            r.name,
            r.ifindex.to_string(),
            r.mac,
            r.mtu.to_string(),
            list(&flags),
            opt(r.link_local),
            list(&r.addresses),
        ]);
    }
    t.render()
}

fn subnets(rows: Vec<SubnetRow>) -> String {
    let mut t = Table::new(&[
        "NAME",
        "IP",
        "INTERFACE",
        "CIDR",
        "GATEWAY",
        "RA",
        "ADDRESS-MODE",
        "DHCPV6",
        "POOLS",
        "DNS",
    ]);
    for r in rows {
        let v6 = r.ip_version == 6;
        let ra = match (&r.ra, &r.ra_mode) {
            (Some(f), mode) => format!(
                "{} M={} O={} A={}",
                mode.as_deref().unwrap_or("on"),
                u8::from(f.managed),
                u8::from(f.other),
                u8::from(f.autonomous)
            ),
            (None, _) if v6 => "none".into(),
            (None, _) => "-".into(),
        };
        let mut cidr = match r.cidr {
            Some(c) => c,
            None if v6 => "<delegated>".into(),
            None => "-".into(),
        };
        if let Some(d) = &r.delegation {
            let life = |s: Option<u64>| s.map_or("forever".to_string(), duration);
            match &d.delegated {
                Some(p) => {
                    cidr.push_str(&format!(
                        " (from {p}, preferred {}, valid {})",
                        life(d.preferred_secs),
                        life(d.valid_secs)
                    ));
                }
                None => cidr.push_str(" (waiting for a delegation)"),
            }
            for old in &d.deprecated {
                cidr.push_str(&format!("; deprecated {old}"));
            }
        }
        t.row(vec![
            r.name,
            format!("v{}", r.ip_version),
            opt(r.interface),
            cidr,
            opt(r.gateway),
            ra,
            opt(r.address_mode),
            if v6 { r.dhcpv6 } else { "-".into() },
            list(&r.pools),
            list(&r.dns),
        ]);
    }
    t.render()
}

fn routes(rows: Vec<RouteRow>) -> String {
    let mut t = Table::new(&["DESTINATION", "NEXTHOP", "DEV", "SOURCE", "STATE"]);
    for r in rows {
        let state = if r.selected {
            "selected"
        } else if r.resolved {
            "standby"
        } else {
            "unresolved"
        };
        t.row(vec![
            r.destination,
            r.nexthop.unwrap_or_else(|| "on-link".into()),
            opt(r.dev),
            r.source,
            state.into(),
        ]);
    }
    t.render()
}

fn neighbors(mut rows: Vec<NeighborRow>) -> String {
    // A neighbor table has no order of its own; sort as `ip neigh` users
    // expect to scan: by interface, IPv4 before IPv6, then numerically.
    rows.sort_by(|a, b| {
        let key = |r: &NeighborRow| {
            (
                r.iface.clone(),
                r.family.clone(),
                r.addr.parse::<IpAddr>().ok(),
            )
        };
        key(a).cmp(&key(b)).then_with(|| a.addr.cmp(&b.addr))
    });
    let mut t = Table::new(&[
        "ADDRESS", "DEV", "LLADDR", "STATE", "FLAGS", "QUEUED", "AGE",
    ]);
    for r in rows {
        t.row(vec![
            r.addr,
            r.iface,
            opt(r.mac),
            r.state,
            if r.router { "router" } else { "-" }.into(),
            r.queued.to_string(),
            duration(r.age_secs),
        ]);
    }
    t.render()
}

fn stats(rows: Vec<StatsRow>) -> String {
    let mut out = String::new();
    for (i, r) in rows.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        match (&r.service, r.iface.is_empty()) {
            (Some(service), true) => {
                let _ = writeln!(out, "{}", cell(service));
            }
            (Some(service), false) => {
                let _ = writeln!(out, "{} on {}", cell(service), cell(&r.iface));
            }
            (None, _) => {
                let _ = writeln!(out, "{}", cell(&r.iface));
            }
        }
        let mut t = Table::new(&[]).indent(2);
        for (name, v) in &r.counters {
            t.row(vec![name.clone(), v.to_string()]);
        }
        out.push_str(&t.render());
        let nonzero: Vec<(&String, &u64)> = r.drops.iter().filter(|(_, v)| **v > 0).collect();
        let total = nonzero
            .iter()
            .fold(0u64, |acc, (_, v)| acc.saturating_add(**v));
        if nonzero.is_empty() {
            out.push_str("  drops: none\n");
            continue;
        }
        let _ = writeln!(out, "  drops: {total}");
        let mut t = Table::new(&[]).indent(4);
        for (name, v) in nonzero {
            t.row(vec![
                name.clone(),
                v.to_string(),
                drop_description(name).unwrap_or("").into(),
            ]);
        }
        out.push_str(&t.render());
    }
    out
}

fn leases(mut rows: Vec<LeaseRow>) -> String {
    if rows.is_empty() {
        return "no leases\n".into();
    }
    rows.sort_by(|a, b| (&a.interface, &a.address).cmp(&(&b.interface, &b.address)));
    let mut t = Table::new(&[
        "ADDRESS",
        "KIND",
        "INTERFACE",
        "SUBNET",
        "STATE",
        "PREFERRED",
        "VALID",
        "IAID",
        "MAC",
        "PORT",
        "DUID",
    ]);
    for r in rows {
        t.row(vec![
            cell(&r.address),
            cell(&r.kind),
            cell(&r.interface),
            opt(r.subnet),
            cell(&r.state),
            duration(r.preferred_secs),
            duration(r.valid_secs),
            r.iaid.to_string(),
            opt(r.mac),
            opt(r.port),
            cell(&r.duid),
        ]);
    }
    t.render()
}

fn config(view: ConfigView) -> String {
    let mut out = format!("# config generation {}\n", view.config_generation);
    for line in view.toml.lines() {
        let _ = writeln!(out, "{}", cell(line));
    }
    out
}

/// `-` for nothing.
fn opt(v: Option<String>) -> String {
    v.unwrap_or_else(|| "-".into())
}

/// Comma-separated, `-` for an empty list.
fn list<S: AsRef<str>>(items: &[S]) -> String {
    if items.is_empty() {
        return "-".into();
    }
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds as `1d 2h 3m 4s`, leading zero units left out.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (
        secs / 86_400,
        secs % 86_400 / 3600,
        secs % 3600 / 60,
        secs % 60,
    );
    let mut out = String::new();
    for (v, unit) in [(d, "d"), (h, "h"), (m, "m")] {
        if v > 0 || !out.is_empty() {
            let _ = write!(out, "{v}{unit} ");
        }
    }
    let _ = write!(out, "{s}s");
    out
}

/// A cell as shown: control characters escaped.
fn cell(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        s.to_string()
    }
}

/// Left-aligned columns, two spaces apart.
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    indent: usize,
}

impl Table {
    fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
            indent: 0,
        }
    }

    fn indent(mut self, n: usize) -> Table {
        self.indent = n;
        self
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| cell(c)).collect());
    }

    fn render(&self) -> String {
        let lines: Vec<&Vec<String>> = std::iter::once(&self.header)
            .filter(|h| !h.is_empty())
            .chain(self.rows.iter())
            .collect();
        let mut widths: Vec<usize> = Vec::new();
        for line in &lines {
            for (i, c) in line.iter().enumerate() {
                let w = c.chars().count();
                match widths.get_mut(i) {
                    Some(slot) => *slot = (*slot).max(w),
                    None => widths.push(w),
                }
            }
        }
        let mut out = String::new();
        for line in lines {
            let mut text = " ".repeat(self.indent);
            for (i, c) in line.iter().enumerate() {
                if i + 1 < line.len() {
                    let w = widths.get(i).copied().unwrap_or(0);
                    let _ = write!(text, "{c:<w$}  ");
                } else {
                    text.push_str(c);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use serde_json::json;

    #[test]
    fn applied_names_each_setting_that_needs_a_restart() {
        assert_eq!(
            applied(&json!({"config_generation": 2})),
            "config applied: generation 2\n"
        );
        let data = json!({
            "config_generation": 3,
            "restart_required": [
                {"key": "router.workers", "running": "2", "requested": "4"},
                {"key": "router.control_socket", "running": "\"/run/routelet/r1.sock\"",
                 "requested": "\"/run/x.sock\""},
            ],
        });
        assert_eq!(
            applied(&data),
            "config applied: generation 3\n\
             restart needed: router.workers stays 2 until routelet restarts (requested 4)\n\
             restart needed: router.control_socket stays \"/run/routelet/r1.sock\" until routelet restarts (requested \"/run/x.sock\")\n"
        );
    }

    #[test]
    fn status_shows_control_counters_only_when_something_was_turned_away() {
        let mut data = json!({
            "router": "r1", "pid": 1, "uptime_secs": 5, "workers": 1,
            "interfaces": 1, "config_generation": 1,
            "control": {"connections": 1, "max_connections": 16, "refused": 0,
                        "evicted": 0, "timed_out": 0, "denied": 0},
        });
        assert!(!status(&data).contains("control"), "{}", status(&data));
        data["control"]["refused"] = json!(12);
        assert!(
            status(&data).ends_with(
                "control     1/16 connections; 12 refused busy, 0 evicted idle, 0 timed out, 0 denied, 0 status answered while full\n"
            ),
            "{}",
            status(&data)
        );
    }

    #[test]
    fn table_aligns_and_trims() {
        let mut t = Table::new(&["A", "BB", "C"]);
        t.row(vec!["xxx".into(), "y".into(), "".into()]);
        t.row(vec!["z".into(), "wwww".into(), "end".into()]);
        assert_eq!(t.render(), "A    BB    C\nxxx  y\nz    wwww  end\n");
    }

    #[test]
    fn cells_escape_control_characters() {
        assert_eq!(cell("q\nr\x1b[2J"), "q\\nr\\u{1b}[2J");
        assert_eq!(cell("plain é"), "plain é");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(59), "59s");
        assert_eq!(duration(3600), "1h 0m 0s");
        assert_eq!(duration(90_061), "1d 1h 1m 1s");
    }

    #[test]
    fn wrong_shape_falls_back_to_json() {
        let data = json!({"unexpected": [1, 2]});
        assert_eq!(
            show(ShowWhat::Routes, &data),
            "{\n  \"unexpected\": [\n    1,\n    2\n  ]\n}\n"
        );
        assert_eq!(status(&json!(5)), "5\n");
    }

    #[test]
    fn applied_text() {
        assert_eq!(
            applied(&json!({"config_generation": 4})),
            "config applied: generation 4\n"
        );
        assert_eq!(applied(&Value::Null), "config applied\n");
    }
}
