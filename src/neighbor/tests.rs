//! The neighbor cache's tests: RFC 4861 transitions, RFC 6583 bounds.
// Fixtures cast small, known values.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
use super::*;

// --- fixtures -----------------------------------------------------

/// 2001:db8:0:1::n, the hosts of the test link.
fn a6(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 0, 0, 0, n)
}

/// A locally administered MAC ending in `n`.
fn mac(n: u8) -> EthernetAddress {
    EthernetAddress([0x02, 0, 0, 0, 0, n])
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `t - d` (the engine's `Instant` only moves forward).
fn minus(t: Instant, d: Duration) -> Instant {
    Instant::from_micros(t.micros() - d.as_micros() as u64)
}

const T0: Instant = Instant::from_secs(100);
const NONE: AdvertFlags = AdvertFlags {
    solicited: false,
    override_: false,
    is_router: false,
};
const S: AdvertFlags = AdvertFlags {
    solicited: true,
    override_: false,
    is_router: false,
};
const O: AdvertFlags = AdvertFlags {
    solicited: false,
    override_: true,
    is_router: false,
};
const SO: AdvertFlags = AdvertFlags {
    solicited: true,
    override_: true,
    is_router: false,
};

fn table_with<A: NeighborAddr>(limits: NeighborLimits) -> NeighborTable<A> {
    NeighborTable::new(limits, &mut Rng::from_seed_bytes(b"neighbor-test"))
}

fn table() -> NeighborTable<Ipv6Addr> {
    table_with(NeighborLimits::default())
}

/// What `on_timer` asked for, owned.
#[derive(Debug, PartialEq, Eq)]
enum Ev<A> {
    Solicit(A),
    Probe(A, EthernetAddress),
    Unreachable(A, Vec<Vec<u8>>),
    ProbeFailed(A),
}

fn tick<A: NeighborAddr>(t: &mut NeighborTable<A>, now: Instant) -> Vec<Ev<A>> {
    let mut out = Vec::new();
    t.on_timer(now, |ev| {
        out.push(match ev {
            NeighborEvent::Solicit {
                addr,
                unicast_to: None,
            } => Ev::Solicit(addr),
            NeighborEvent::Solicit {
                addr,
                unicast_to: Some(m),
            } => Ev::Probe(addr, m),
            NeighborEvent::Unreachable { addr, packets } => {
                let mut v = Vec::new();
                packets.for_each(|p| v.push(p.to_vec()));
                Ev::Unreachable(addr, v)
            }
            NeighborEvent::ProbeFailed { addr } => Ev::ProbeFailed(addr),
        });
    });
    check(t);
    out
}

/// Checks the table's bookkeeping against its entries.
fn check<A: NeighborAddr>(t: &NeighborTable<A>) {
    let l = t.limits();
    assert!(t.len() <= l.max_entries);
    let incomplete = t
        .entries()
        .filter(|v| v.state == NeighborState::Incomplete)
        .count();
    assert_eq!(incomplete, t.incomplete_len());
    assert!(incomplete <= l.max_incomplete);
    assert!(t.queued_bytes() <= t.queue_capacity_bytes());
    for v in t.entries() {
        assert!(v.queued <= l.queue_per_entry_packets, "{v:?}");
        if v.state != NeighborState::Incomplete {
            assert_eq!(v.queued, 0, "{v:?}");
        }
        let next = t.next_deadline().unwrap();
        assert!(next <= v.deadline, "timer late for {v:?}");
    }
    if t.entries().all(|v| v.queued == 0) {
        assert_eq!(t.queued_bytes(), 0);
    }
}

fn state(t: &NeighborTable<Ipv6Addr>, n: u16) -> Option<NeighborState> {
    t.get(a6(n)).map(|v| v.state)
}

fn nothing_released(_: EthernetAddress, _: &[u8]) {
    panic!("nothing is queued");
}

/// A table holding a6(1) at mac(1) in `want`, reached at `T0`.
fn entry_in(want: NeighborState) -> NeighborTable<Ipv6Addr> {
    let mut t = table();
    match want {
        NeighborState::Incomplete => {
            assert_eq!(t.resolve(a6(1), T0), Resolution::Solicit);
        }
        NeighborState::Reachable => {
            assert_eq!(t.resolve(a6(1), T0), Resolution::Solicit);
            t.on_advertisement(a6(1), Some(mac(1)), S, T0, nothing_released);
        }
        NeighborState::Stale => {
            t.on_solicitation(a6(1), mac(1), T0, nothing_released);
        }
        NeighborState::Delay => {
            t.on_solicitation(a6(1), mac(1), minus(T0, ms(5000)), nothing_released);
            assert_eq!(t.resolve(a6(1), T0), Resolution::Ready(mac(1)));
        }
        NeighborState::Probe => {
            t.on_solicitation(a6(1), mac(1), minus(T0, ms(5000)), nothing_released);
            t.resolve(a6(1), minus(T0, ms(5000)));
            assert_eq!(tick(&mut t, T0), vec![Ev::Probe(a6(1), mac(1))]);
        }
    }
    assert_eq!(state(&t, 1), Some(want));
    check(&t);
    t
}

const RESOLVED: [NeighborState; 4] = [
    NeighborState::Reachable,
    NeighborState::Stale,
    NeighborState::Delay,
    NeighborState::Probe,
];

// --- appendix C: packet to send, INCOMPLETE -----------------------

#[test]
fn no_entry_packet_to_send_creates_incomplete_and_solicits() {
    let mut t = table();
    assert_eq!(t.resolve(a6(1), T0), Resolution::Solicit);
    let v = t.get(a6(1)).unwrap();
    assert_eq!(v.state, NeighborState::Incomplete);
    assert_eq!(v.mac, None);
    assert_eq!(v.probes, 1);
    assert_eq!(v.deadline, T0 + RETRANS_TIMER);
    assert_eq!(t.next_deadline(), Some(T0 + RETRANS_TIMER));
    assert_eq!(t.stats().created, 1);
    assert_eq!(t.stats().solicits, 1);
    check(&t);
}

#[test]
fn incomplete_packet_to_send_is_pending() {
    let mut t = entry_in(NeighborState::Incomplete);
    assert_eq!(t.resolve(a6(1), T0 + ms(10)), Resolution::Pending);
    assert_eq!(t.stats().solicits, 1, "no extra solicitation");
}

#[test]
fn incomplete_retransmits_three_times_then_reports_queued_packets() {
    let mut t = entry_in(NeighborState::Incomplete);
    assert_eq!(t.enqueue(a6(1), b"first"), Ok(Enqueued::Queued));
    assert_eq!(t.enqueue(a6(1), b"second"), Ok(Enqueued::Queued));
    assert_eq!(tick(&mut t, T0 + ms(999)), vec![]);
    // Retransmit timeout, fewer than MAX_MULTICAST_SOLICIT sent.
    assert_eq!(tick(&mut t, T0 + ms(1000)), vec![Ev::Solicit(a6(1))]);
    assert_eq!(t.next_deadline(), Some(T0 + ms(2000)));
    assert_eq!(tick(&mut t, T0 + ms(2000)), vec![Ev::Solicit(a6(1))]);
    assert_eq!(t.get(a6(1)).unwrap().probes, 3);
    assert_eq!(tick(&mut t, T0 + ms(2999)), vec![]);
    // Retransmit timeout after the third: discard, ICMP errors.
    assert_eq!(
        tick(&mut t, T0 + ms(3000)),
        vec![Ev::Unreachable(
            a6(1),
            vec![b"first".to_vec(), b"second".to_vec()]
        )]
    );
    assert!(t.is_empty());
    assert_eq!(t.incomplete_len(), 0);
    assert_eq!(t.queued_bytes(), 0);
    assert_eq!(t.next_deadline(), None);
    let s = t.stats();
    assert_eq!((s.solicits, s.failed, s.unreachable), (3, 1, 2));
}

#[test]
fn failed_entry_frees_its_queue_even_if_the_sink_ignores_it() {
    let mut t = entry_in(NeighborState::Incomplete);
    t.enqueue(a6(1), &[0u8; 1500]).unwrap();
    for s in 1..=3 {
        t.on_timer(T0 + ms(1000 * s), |_| {});
    }
    assert!(t.is_empty());
    assert_eq!(t.queued_bytes(), 0);
    assert_eq!(t.stats().unreachable, 1);
}

#[test]
fn late_timer_sends_one_solicitation_not_a_burst() {
    let mut t = entry_in(NeighborState::Incomplete);
    assert_eq!(tick(&mut t, T0 + ms(10_000)), vec![Ev::Solicit(a6(1))]);
    assert_eq!(t.next_deadline(), Some(T0 + ms(11_000)));
}

#[test]
fn incomplete_na_solicited_becomes_reachable_and_releases_queue() {
    let mut t = entry_in(NeighborState::Incomplete);
    t.enqueue(a6(1), b"syn").unwrap();
    let mut sent = Vec::new();
    let now = T0 + ms(300);
    let out = t.on_advertisement(a6(1), Some(mac(1)), S, now, |m, p| {
        sent.push((m, p.to_vec()));
    });
    assert_eq!(
        out,
        AdvertOutcome::Updated {
            router_cleared: false
        }
    );
    assert_eq!(sent, vec![(mac(1), b"syn".to_vec())]);
    let v = t.get(a6(1)).unwrap();
    assert_eq!(v.state, NeighborState::Reachable);
    assert_eq!(v.mac, Some(mac(1)));
    assert_eq!(v.deadline, now + t.reachable_time());
    assert_eq!(t.resolve(a6(1), now), Resolution::Ready(mac(1)));
    assert_eq!(t.stats().resolved, 1);
    assert_eq!(t.stats().released, 1);
    check(&t);
}

#[test]
fn incomplete_na_unsolicited_becomes_stale() {
    let mut t = entry_in(NeighborState::Incomplete);
    t.on_advertisement(a6(1), Some(mac(1)), O, T0, nothing_released);
    let v = t.get(a6(1)).unwrap();
    assert_eq!(v.state, NeighborState::Stale);
    assert_eq!(v.mac, Some(mac(1)));
    check(&t);
}

#[test]
fn incomplete_na_unsolicited_sending_queue_starts_delay() {
    let mut t = entry_in(NeighborState::Incomplete);
    t.enqueue(a6(1), b"syn").unwrap();
    let mut n = 0;
    t.on_advertisement(a6(1), Some(mac(1)), NONE, T0, |_, _| n += 1);
    assert_eq!(n, 1);
    // STALE, then "sending packet" → DELAY.
    assert_eq!(state(&t, 1), Some(NeighborState::Delay));
    check(&t);
}

#[test]
fn incomplete_na_without_lladdr_is_ignored() {
    let mut t = entry_in(NeighborState::Incomplete);
    t.enqueue(a6(1), b"syn").unwrap();
    let out = t.on_advertisement(a6(1), None, SO, T0, nothing_released);
    assert_eq!(out, AdvertOutcome::Ignored);
    let v = t.get(a6(1)).unwrap();
    assert_eq!((v.state, v.queued), (NeighborState::Incomplete, 1));
}

// --- appendix C: NA on a resolved entry ---------------------------

#[test]
fn na_solicited_same_lladdr_becomes_reachable() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        let now = T0 + ms(100);
        t.on_advertisement(a6(1), Some(mac(1)), S, now, nothing_released);
        let v = t.get(a6(1)).unwrap();
        assert_eq!(v.state, NeighborState::Reachable, "from {from}");
        assert_eq!(v.deadline, now + t.reachable_time());
        assert_eq!(v.probes, 0);
        check(&t);
    }
}

#[test]
fn na_without_lladdr_updates_only_is_router() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        let before = t.get(a6(1)).unwrap();
        let flags = AdvertFlags {
            is_router: true,
            ..O
        };
        t.on_advertisement(a6(1), None, flags, T0 + ms(100), nothing_released);
        let v = t.get(a6(1)).unwrap();
        assert!(v.is_router);
        assert_eq!(
            (v.state, v.mac, v.deadline),
            (from, before.mac, before.deadline)
        );
    }
}

#[test]
fn na_solicited_without_lladdr_confirms_reachability() {
    // §7.2.5 II (the appendix's summary row says "unchanged"): the
    // answer to a unicast probe may omit the option (§7.2.4).
    let mut t = entry_in(NeighborState::Probe);
    t.on_advertisement(a6(1), None, S, T0 + ms(100), nothing_released);
    let v = t.get(a6(1)).unwrap();
    assert_eq!((v.state, v.mac), (NeighborState::Reachable, Some(mac(1))));
}

#[test]
fn reachable_na_solicited_no_override_different_lladdr_goes_stale() {
    let mut t = entry_in(NeighborState::Reachable);
    let flags = AdvertFlags {
        is_router: true,
        ..S
    };
    let out = t.on_advertisement(a6(1), Some(mac(2)), flags, T0 + ms(5), nothing_released);
    assert_eq!(
        out,
        AdvertOutcome::Updated {
            router_cleared: false
        }
    );
    let v = t.get(a6(1)).unwrap();
    // STALE, "but do not update the entry in any other way".
    assert_eq!(v.state, NeighborState::Stale);
    assert_eq!(v.mac, Some(mac(1)));
    assert!(!v.is_router);
    check(&t);
}

#[test]
fn stale_delay_probe_na_solicited_no_override_different_lladdr_ignored() {
    for from in [
        NeighborState::Stale,
        NeighborState::Delay,
        NeighborState::Probe,
    ] {
        let mut t = entry_in(from);
        let before = t.get(a6(1)).unwrap();
        let out = t.on_advertisement(a6(1), Some(mac(2)), S, T0 + ms(5), nothing_released);
        assert_eq!(out, AdvertOutcome::Ignored, "from {from}");
        assert_eq!(t.get(a6(1)).unwrap(), before);
    }
}

#[test]
fn na_solicited_override_records_new_lladdr_reachable() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        t.on_advertisement(a6(1), Some(mac(2)), SO, T0 + ms(5), nothing_released);
        let v = t.get(a6(1)).unwrap();
        assert_eq!((v.state, v.mac), (NeighborState::Reachable, Some(mac(2))));
    }
}

#[test]
fn na_unsolicited_no_override_changes_nothing() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        let before = t.get(a6(1)).unwrap();
        let out = t.on_advertisement(a6(1), Some(mac(1)), NONE, T0 + ms(5), nothing_released);
        assert_eq!(
            out,
            AdvertOutcome::Updated {
                router_cleared: false
            }
        );
        assert_eq!(t.get(a6(1)).unwrap(), before, "from {from}");
    }
}

#[test]
fn reachable_na_unsolicited_no_override_different_lladdr_goes_stale() {
    // §7.2.5 I.a applies whatever S is.
    let mut t = entry_in(NeighborState::Reachable);
    t.on_advertisement(a6(1), Some(mac(2)), NONE, T0 + ms(5), nothing_released);
    let v = t.get(a6(1)).unwrap();
    assert_eq!((v.state, v.mac), (NeighborState::Stale, Some(mac(1))));
}

#[test]
fn na_unsolicited_override_same_lladdr_changes_nothing() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        let before = t.get(a6(1)).unwrap();
        t.on_advertisement(a6(1), Some(mac(1)), O, T0 + ms(5), nothing_released);
        assert_eq!(t.get(a6(1)).unwrap(), before, "from {from}");
    }
}

#[test]
fn na_unsolicited_override_different_lladdr_records_and_goes_stale() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        let now = T0 + ms(5);
        t.on_advertisement(a6(1), Some(mac(2)), O, now, nothing_released);
        let v = t.get(a6(1)).unwrap();
        assert_eq!((v.state, v.mac), (NeighborState::Stale, Some(mac(2))));
        assert_eq!(v.deadline, now + t.limits().stale_timeout);
        check(&t);
    }
}

#[test]
fn na_for_unknown_address_is_discarded() {
    let mut t = table();
    let out = t.on_advertisement(a6(9), Some(mac(9)), SO, T0, nothing_released);
    assert_eq!(out, AdvertOutcome::NoEntry);
    assert!(t.is_empty());
}

#[test]
fn na_clearing_router_flag_is_recorded() {
    let mut t = entry_in(NeighborState::Incomplete);
    let router = AdvertFlags {
        is_router: true,
        ..S
    };
    t.on_advertisement(a6(1), Some(mac(1)), router, T0, nothing_released);
    assert!(t.get(a6(1)).unwrap().is_router);
    let out = t.on_advertisement(a6(1), Some(mac(1)), S, T0 + ms(1), nothing_released);
    assert_eq!(
        out,
        AdvertOutcome::Updated {
            router_cleared: true
        }
    );
    assert!(!t.get(a6(1)).unwrap().is_router);
    assert_eq!(t.stats().router_cleared, 1);
}

// --- appendix C: timers and use -----------------------------------

#[test]
fn upper_layer_confirmation_makes_reachable() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        assert!(t.confirm(a6(1), T0 + ms(7)));
        let v = t.get(a6(1)).unwrap();
        assert_eq!(v.state, NeighborState::Reachable, "from {from}");
        assert_eq!(v.deadline, T0 + ms(7) + t.reachable_time());
    }
    let mut t = entry_in(NeighborState::Incomplete);
    assert!(
        !t.confirm(a6(1), T0),
        "nothing to confirm without an address"
    );
    assert!(!t.confirm(a6(2), T0));
    assert_eq!(state(&t, 1), Some(NeighborState::Incomplete));
}

#[test]
fn reachable_timeout_goes_stale() {
    let mut t = entry_in(NeighborState::Reachable);
    let expiry = T0 + t.reachable_time();
    // The INCOMPLETE entry's deadline was T0 + 1 s: a spurious wake-up
    // there finds nothing due and learns the real next deadline.
    assert_eq!(t.next_deadline(), Some(T0 + RETRANS_TIMER));
    assert_eq!(tick(&mut t, T0 + RETRANS_TIMER), vec![]);
    assert_eq!(t.next_deadline(), Some(expiry));
    assert_eq!(tick(&mut t, minus(expiry, ms(1))), vec![]);
    assert_eq!(state(&t, 1), Some(NeighborState::Reachable));
    assert_eq!(tick(&mut t, expiry), vec![]);
    let v = t.get(a6(1)).unwrap();
    assert_eq!(v.state, NeighborState::Stale);
    assert_eq!(v.deadline, expiry + t.limits().stale_timeout);
}

#[test]
fn reachable_past_reachable_time_send_goes_delay() {
    // No timer ran: the send itself sees REACHABLE has lapsed.
    let mut t = entry_in(NeighborState::Reachable);
    let later = T0 + t.reachable_time() + ms(1);
    assert_eq!(t.resolve(a6(1), later), Resolution::Ready(mac(1)));
    let v = t.get(a6(1)).unwrap();
    assert_eq!(v.state, NeighborState::Delay);
    assert_eq!(v.deadline, later + DELAY_FIRST_PROBE_TIME);
}

#[test]
fn reachable_send_stays_reachable() {
    let mut t = entry_in(NeighborState::Reachable);
    assert_eq!(t.resolve(a6(1), T0 + ms(10)), Resolution::Ready(mac(1)));
    let v = t.get(a6(1)).unwrap();
    assert_eq!(v.state, NeighborState::Reachable);
    assert_eq!(v.last_used, Some(T0 + ms(10)));
}

#[test]
fn stale_send_starts_delay() {
    let mut t = entry_in(NeighborState::Stale);
    let now = T0 + ms(50);
    assert_eq!(t.resolve(a6(1), now), Resolution::Ready(mac(1)));
    let v = t.get(a6(1)).unwrap();
    assert_eq!(v.state, NeighborState::Delay);
    assert_eq!(v.deadline, now + DELAY_FIRST_PROBE_TIME);
    check(&t);
}

#[test]
fn delay_and_probe_send_to_cached_address() {
    for from in [NeighborState::Delay, NeighborState::Probe] {
        let mut t = entry_in(from);
        let before = t.get(a6(1)).unwrap();
        assert_eq!(t.resolve(a6(1), T0 + ms(1)), Resolution::Ready(mac(1)));
        let v = t.get(a6(1)).unwrap();
        assert_eq!((v.state, v.deadline), (from, before.deadline));
    }
}

#[test]
fn delay_timeout_sends_unicast_probe() {
    let mut t = entry_in(NeighborState::Delay);
    let at = T0 + DELAY_FIRST_PROBE_TIME;
    assert_eq!(tick(&mut t, minus(at, ms(1))), vec![]);
    assert_eq!(tick(&mut t, at), vec![Ev::Probe(a6(1), mac(1))]);
    let v = t.get(a6(1)).unwrap();
    assert_eq!((v.state, v.probes), (NeighborState::Probe, 1));
    assert_eq!(v.deadline, at + RETRANS_TIMER);
}

#[test]
fn probe_retransmits_three_times_then_deletes() {
    let mut t = entry_in(NeighborState::Probe);
    assert_eq!(tick(&mut t, T0 + ms(999)), vec![]);
    assert_eq!(tick(&mut t, T0 + ms(1000)), vec![Ev::Probe(a6(1), mac(1))]);
    assert_eq!(tick(&mut t, T0 + ms(2000)), vec![Ev::Probe(a6(1), mac(1))]);
    assert_eq!(t.get(a6(1)).unwrap().probes, 3);
    assert_eq!(tick(&mut t, T0 + ms(3000)), vec![Ev::ProbeFailed(a6(1))]);
    assert!(t.is_empty());
    assert_eq!(t.stats().probes, 3);
    assert_eq!(t.stats().probe_failed, 1);
    // The next packet starts over.
    assert_eq!(t.resolve(a6(1), T0 + ms(3001)), Resolution::Solicit);
}

#[test]
fn stale_entries_age_out() {
    let mut t = entry_in(NeighborState::Stale);
    let at = T0 + t.limits().stale_timeout;
    assert_eq!(tick(&mut t, minus(at, ms(1))), vec![]);
    assert_eq!(state(&t, 1), Some(NeighborState::Stale));
    assert_eq!(tick(&mut t, at), vec![]);
    assert!(t.is_empty());
    assert_eq!(t.stats().aged, 1);
    assert_eq!(t.next_deadline(), None);
}

// --- appendix C: NS, RS ---------------------------------------------

#[test]
fn solicitation_without_entry_creates_stale() {
    let mut t = table();
    let out = t.on_solicitation(a6(1), mac(1), T0, nothing_released);
    assert_eq!(out, SolicitOutcome::Created);
    let v = t.get(a6(1)).unwrap();
    assert_eq!((v.state, v.mac), (NeighborState::Stale, Some(mac(1))));
    assert_eq!(v.last_used, None);
    assert!(!v.is_router);
    assert_eq!(t.stats().created, 1);
    check(&t);
}

#[test]
fn incomplete_solicitation_records_address_and_releases_queue() {
    let mut t = entry_in(NeighborState::Incomplete);
    t.enqueue(a6(1), b"a").unwrap();
    t.enqueue(a6(1), b"b").unwrap();
    let mut sent = Vec::new();
    let out = t.on_solicitation(a6(1), mac(1), T0 + ms(20), |m, p| {
        sent.push((m, p.to_vec()));
    });
    assert_eq!(out, SolicitOutcome::Updated);
    assert_eq!(sent, vec![(mac(1), b"a".to_vec()), (mac(1), b"b".to_vec())]);
    // STALE, and the queued packets were just sent from it: DELAY.
    assert_eq!(state(&t, 1), Some(NeighborState::Delay));
    assert_eq!(t.queued_bytes(), 0);
    check(&t);
    // Without queued packets it stays STALE.
    let mut t = entry_in(NeighborState::Incomplete);
    t.on_solicitation(a6(1), mac(1), T0, nothing_released);
    assert_eq!(state(&t, 1), Some(NeighborState::Stale));
}

#[test]
fn solicitation_with_different_lladdr_records_and_goes_stale() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        let out = t.on_solicitation(a6(1), mac(2), T0 + ms(3), nothing_released);
        assert_eq!(out, SolicitOutcome::Updated);
        let v = t.get(a6(1)).unwrap();
        assert_eq!((v.state, v.mac), (NeighborState::Stale, Some(mac(2))));
        check(&t);
    }
}

#[test]
fn solicitation_with_same_lladdr_changes_nothing() {
    for from in RESOLVED {
        let mut t = entry_in(from);
        let before = t.get(a6(1)).unwrap();
        let out = t.on_solicitation(a6(1), mac(1), T0 + ms(3), nothing_released);
        assert_eq!(out, SolicitOutcome::Unchanged);
        assert_eq!(t.get(a6(1)).unwrap(), before, "from {from}");
    }
}

#[test]
fn router_solicitation_clears_is_router() {
    let mut t = entry_in(NeighborState::Incomplete);
    let router = AdvertFlags {
        is_router: true,
        ..S
    };
    t.on_advertisement(a6(1), Some(mac(1)), router, T0, nothing_released);
    // §6.2.6: with or without a source link-layer address option.
    let out = t.on_router_solicitation(a6(1), None, T0 + ms(1), nothing_released);
    assert_eq!(out, SolicitOutcome::Unchanged);
    let v = t.get(a6(1)).unwrap();
    assert_eq!((v.state, v.is_router), (NeighborState::Reachable, false));
    assert_eq!(t.stats().router_cleared, 1);
    // With one it is learned like an NS.
    let out = t.on_router_solicitation(a6(2), Some(mac(2)), T0, nothing_released);
    assert_eq!(out, SolicitOutcome::Created);
    assert_eq!(state(&t, 2), Some(NeighborState::Stale));
}

#[test]
fn solicitation_from_non_unicast_is_refused() {
    let mut t = table();
    let out = t.on_solicitation(Ipv6Addr::UNSPECIFIED, mac(1), T0, nothing_released);
    assert_eq!(out, SolicitOutcome::Refused(RefuseReason::NotUnicast));
    assert!(t.is_empty());
}

// --- ReachableTime ----------------------------------------------------

#[test]
fn reachable_time_is_randomized_around_base() {
    let mut seen = std::collections::HashSet::new();
    for seed in 0..64u8 {
        let t: NeighborTable<Ipv6Addr> = NeighborTable::new(
            NeighborLimits::default(),
            &mut Rng::from_seed_bytes(&[seed]),
        );
        let rt = t.reachable_time();
        assert!(rt >= ms(15_000) && rt <= ms(45_000), "{rt:?}");
        seen.insert(rt);
    }
    assert!(seen.len() > 32, "not spread: {}", seen.len());
}

#[test]
fn reachable_time_is_drawn_again_every_few_hours() {
    let mut t = table();
    let first = t.reachable_time();
    tick(&mut t, T0);
    tick(&mut t, minus(T0 + REACHABLE_TIME_REFRESH, ms(1)));
    assert_eq!(t.reachable_time(), first);
    let mut draws = std::collections::HashSet::new();
    for i in 1..=8u32 {
        tick(&mut t, T0 + REACHABLE_TIME_REFRESH * i);
        let rt = t.reachable_time();
        assert!(rt >= ms(15_000) && rt <= ms(45_000));
        draws.insert(rt);
    }
    assert!(draws.len() > 1);
}

// --- queue --------------------------------------------------------------

#[test]
fn queue_per_entry_replaces_oldest() {
    let mut t = entry_in(NeighborState::Incomplete);
    for p in [b"p1", b"p2", b"p3"] {
        assert_eq!(t.enqueue(a6(1), p), Ok(Enqueued::Queued));
    }
    assert_eq!(t.enqueue(a6(1), b"p4"), Ok(Enqueued::ReplacedOldest));
    assert_eq!(t.enqueue(a6(1), b"p5"), Ok(Enqueued::ReplacedOldest));
    assert_eq!(t.get(a6(1)).unwrap().queued, 3);
    assert_eq!(t.stats().queue_replaced, 2);
    let mut sent = Vec::new();
    t.on_advertisement(a6(1), Some(mac(1)), SO, T0, |_, p| sent.push(p.to_vec()));
    assert_eq!(sent, vec![b"p3".to_vec(), b"p4".to_vec(), b"p5".to_vec()]);
}

#[test]
fn queue_total_bytes_bounds_every_entry_together() {
    let mut t = table_with::<Ipv6Addr>(NeighborLimits {
        queue_total_bytes: 4 * QUEUE_CHUNK_BYTES,
        ..NeighborLimits::default()
    });
    assert_eq!(t.queue_capacity_bytes(), 4 * QUEUE_CHUNK_BYTES);
    let packet = [0x5au8; 300]; // two chunks each
    for n in 1..=3 {
        assert_eq!(t.resolve(a6(n), T0), Resolution::Solicit);
    }
    assert_eq!(t.enqueue(a6(1), &packet), Ok(Enqueued::Queued));
    assert_eq!(t.enqueue(a6(2), &packet), Ok(Enqueued::Queued));
    assert_eq!(t.queued_bytes(), t.queue_capacity_bytes());
    assert_eq!(t.enqueue(a6(3), &packet), Err(QueueError::PoolFull));
    assert_eq!(t.enqueue(a6(3), b"tiny"), Err(QueueError::PoolFull));
    assert_eq!(t.stats().queue_dropped_for(QueueError::PoolFull), 2);
    // Resolving one frees its share.
    t.on_advertisement(a6(1), Some(mac(1)), SO, T0, |_, _| {});
    assert_eq!(t.enqueue(a6(3), &packet), Ok(Enqueued::Queued));
    check(&t);
}

#[test]
fn rejects_enqueue_without_entry() {
    let mut t = table();
    assert_eq!(t.enqueue(a6(1), b"x"), Err(QueueError::NoEntry));
    assert_eq!(t.stats().queue_dropped_for(QueueError::NoEntry), 1);
}

#[test]
fn rejects_enqueue_for_resolved_entry() {
    let mut t = entry_in(NeighborState::Stale);
    assert_eq!(t.enqueue(a6(1), b"x"), Err(QueueError::NotPending));
}

#[test]
fn rejects_enqueue_of_oversized_packet() {
    let mut t = entry_in(NeighborState::Incomplete);
    let jumbo = vec![0u8; NeighborLimits::default().queue_max_packet_bytes + 1];
    assert_eq!(t.enqueue(a6(1), &jumbo), Err(QueueError::TooLarge));
    assert_eq!(t.get(a6(1)).unwrap().queued, 0);
}

#[test]
fn rejects_enqueue_when_queueing_disabled() {
    let mut t = table_with::<Ipv6Addr>(NeighborLimits {
        queue_per_entry_packets: 0,
        ..NeighborLimits::default()
    });
    t.resolve(a6(1), T0);
    assert_eq!(t.enqueue(a6(1), b"x"), Err(QueueError::Disabled));
}

#[test]
fn remove_drops_entry_and_queue() {
    let mut t = entry_in(NeighborState::Incomplete);
    t.enqueue(a6(1), b"x").unwrap();
    assert!(t.remove(a6(1)));
    assert!(!t.remove(a6(1)));
    assert!(t.is_empty());
    assert_eq!((t.incomplete_len(), t.queued_bytes()), (0, 0));
    // A spurious wake-up, then nothing.
    assert_eq!(tick(&mut t, T0 + ms(1000)), vec![]);
    assert_eq!(t.next_deadline(), None);
}

// --- bounds (RFC 6583) ---------------------------------------------------

#[test]
fn refuses_non_unicast_destinations() {
    let mut t = table();
    for addr in [
        Ipv6Addr::UNSPECIFIED,
        Ipv6Addr::LOCALHOST,
        Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
    ] {
        assert_eq!(
            t.resolve(addr, T0),
            Resolution::Refused(RefuseReason::NotUnicast)
        );
    }
    assert!(t.is_empty());
    assert_eq!(t.stats().refused_for(RefuseReason::NotUnicast), 3);
}

#[test]
fn max_incomplete_caps_resolutions_in_flight() {
    let mut t = table_with::<Ipv6Addr>(NeighborLimits {
        max_incomplete: 4,
        ..NeighborLimits::default()
    });
    for n in 1..=4 {
        assert_eq!(t.resolve(a6(n), T0), Resolution::Solicit);
    }
    assert_eq!(
        t.resolve(a6(5), T0),
        Resolution::Refused(RefuseReason::IncompleteLimit)
    );
    // Entries already there still answer.
    assert_eq!(t.resolve(a6(1), T0), Resolution::Pending);
    // One resolves: room for another.
    t.on_advertisement(a6(1), Some(mac(1)), SO, T0, |_, _| {});
    assert_eq!(t.resolve(a6(5), T0), Resolution::Solicit);
    assert_eq!(
        t.resolve(a6(6), T0),
        Resolution::Refused(RefuseReason::IncompleteLimit)
    );
    // The rest fail after three seconds: room again.
    tick(&mut t, T0 + ms(1000));
    tick(&mut t, T0 + ms(2000));
    tick(&mut t, T0 + ms(3000));
    assert_eq!(t.incomplete_len(), 0);
    assert_eq!(t.resolve(a6(6), T0 + ms(3000)), Resolution::Solicit);
    assert_eq!(t.stats().refused_for(RefuseReason::IncompleteLimit), 2);
}

#[test]
fn solicit_rate_limit_refuses_then_refills() {
    let mut t = table_with::<Ipv6Addr>(NeighborLimits {
        solicit_per_second: 5,
        solicit_burst: 5,
        ..NeighborLimits::default()
    });
    for n in 1..=5 {
        assert_eq!(t.resolve(a6(n), T0), Resolution::Solicit);
    }
    assert_eq!(
        t.resolve(a6(6), T0),
        Resolution::Refused(RefuseReason::SolicitRateLimited)
    );
    assert_eq!(t.get(a6(6)), None, "no entry for a refused address");
    // 5/s: one token every 200 ms.
    assert_eq!(t.resolve(a6(6), T0 + ms(200)), Resolution::Solicit);
    assert_eq!(
        t.resolve(a6(7), T0 + ms(200)),
        Resolution::Refused(RefuseReason::SolicitRateLimited)
    );
    // Retransmissions do not need tokens.
    let evs = tick(&mut t, T0 + ms(1000));
    assert_eq!(evs.len(), 5);
}

/// A STALE entry for a6(n) last used at `used` (None: never).
fn add_stale(t: &mut NeighborTable<Ipv6Addr>, n: u16, used: Option<Instant>, now: Instant) {
    t.on_solicitation(a6(n), mac(n as u8), used.unwrap_or(now), nothing_released);
    if let Some(u) = used {
        assert_eq!(t.resolve(a6(n), u), Resolution::Ready(mac(n as u8)));
        // A new address, unsolicited with override: STALE, use kept.
        t.on_advertisement(a6(n), Some(mac(0x80 | n as u8)), O, u, nothing_released);
    }
    assert_eq!(state(t, n), Some(NeighborState::Stale));
}

#[test]
fn full_table_evicts_only_idle_stale_entries() {
    let mut t = table_with::<Ipv6Addr>(NeighborLimits {
        max_entries: 4,
        ..NeighborLimits::default()
    });
    let now = T0 + ms(30_000);
    // REACHABLE, STALE used 30 s ago, STALE used 50 s ago, STALE never used.
    t.resolve(a6(1), now);
    t.on_advertisement(a6(1), Some(mac(1)), SO, now, nothing_released);
    add_stale(&mut t, 2, Some(minus(now, ms(30_000))), now);
    add_stale(&mut t, 3, Some(minus(now, ms(50_000))), now);
    add_stale(&mut t, 4, None, now);
    assert_eq!(t.len(), 4);
    // The never-used entry goes first.
    assert_eq!(t.resolve(a6(10), now), Resolution::Solicit);
    assert_eq!(state(&t, 4), None);
    // The others were used within evict_min_idle (60 s): refused.
    assert_eq!(
        t.resolve(a6(11), now),
        Resolution::Refused(RefuseReason::TableFull)
    );
    // Ten seconds later a6(3) has been idle 60 s: least recently used.
    let later = now + ms(10_000);
    assert_eq!(t.resolve(a6(11), later), Resolution::Solicit);
    assert_eq!(state(&t, 3), None);
    assert_eq!(state(&t, 2), Some(NeighborState::Stale));
    assert_eq!(state(&t, 1), Some(NeighborState::Reachable));
    assert_eq!(t.stats().evicted, 2);
    check(&t);
}

#[test]
fn full_table_of_live_entries_refuses_and_never_evicts() {
    let mut t = table_with::<Ipv6Addr>(NeighborLimits {
        max_entries: 3,
        solicit_burst: 3,
        solicit_per_second: 0,
        ..NeighborLimits::default()
    });
    t.resolve(a6(1), T0);
    t.on_advertisement(a6(1), Some(mac(1)), SO, T0, nothing_released);
    add_stale(&mut t, 2, Some(T0), T0);
    t.resolve(a6(2), T0); // DELAY
    t.resolve(a6(3), T0); // INCOMPLETE
    for i in 0..50u16 {
        assert_eq!(
            t.resolve(a6(100 + i), T0 + ms(u64::from(i))),
            Resolution::Refused(RefuseReason::TableFull)
        );
    }
    assert_eq!(t.stats().evicted, 0);
    assert_eq!(t.stats().refused_for(RefuseReason::TableFull), 50);
    // A solicitation cannot make room either.
    assert_eq!(
        t.on_solicitation(a6(200), mac(200), T0, nothing_released),
        SolicitOutcome::Refused(RefuseReason::TableFull)
    );
    // The failed search is remembered: no token was spent after the first.
    // (with a bucket of three, two of them spent on the setup, a second
    // search would have run out of tokens: SolicitRateLimited).
    assert!(!t.core.bucket.try_take(T0 + ms(50)));
    assert_eq!(t.len(), 3);
}

#[test]
fn rfc6583_scan_of_a_64_never_disturbs_known_hosts() {
    let mut t = table();
    let capacity = t.map.capacity();
    // Known hosts: one REACHABLE, one STALE, answering their probes.
    let (k1, k2) = (a6(1), a6(2));
    t.resolve(k1, T0);
    t.on_advertisement(k1, Some(mac(1)), SO, T0, nothing_released);
    t.on_solicitation(k2, mac(2), T0, nothing_released);
    let scan_base = 0x2001_0db8_0000_0002_u128 << 64;
    let mut refused = 0;
    for i in 0..10_000u64 {
        let now = T0 + ms(2 * i);
        if t.next_deadline().is_some_and(|d| d <= now) {
            for ev in tick(&mut t, now) {
                match ev {
                    Ev::Probe(a, m) => {
                        assert!(a == k1 || a == k2, "probe for {a}");
                        t.on_advertisement(a, Some(m), S, now, nothing_released);
                    }
                    Ev::Solicit(a) | Ev::ProbeFailed(a) => {
                        assert!(a != k1 && a != k2, "{a} lost");
                    }
                    Ev::Unreachable(a, packets) => {
                        assert!(a != k1 && a != k2, "{a} lost");
                        assert!(packets.len() <= 1);
                    }
                }
            }
        }
        let target = Ipv6Addr::from(scan_base | u128::from(i * 7919 + 1));
        match t.resolve(target, now) {
            Resolution::Solicit => {
                assert_eq!(t.enqueue(target, &[0x60; 72]), Ok(Enqueued::Queued));
            }
            Resolution::Refused(_) => refused += 1,
            other => panic!("{other:?} for a fresh address"),
        }
        assert_eq!(t.resolve(k1, now), Resolution::Ready(mac(1)), "at {i}");
        assert_eq!(t.resolve(k2, now), Resolution::Ready(mac(2)), "at {i}");
        assert!(t.len() <= t.limits().max_entries);
        assert!(t.incomplete_len() <= t.limits().max_incomplete);
        assert!(t.queued_bytes() <= t.queue_capacity_bytes());
    }
    check(&t);
    let s = t.stats();
    assert!(s.refused_for(RefuseReason::SolicitRateLimited) > 0);
    assert!(s.refused_for(RefuseReason::IncompleteLimit) > 0);
    assert_eq!(s.evicted, 0);
    assert!(s.failed > 1000);
    assert!(refused > 7000);
    // Neither host was ever lost, and the map never grew.
    assert_eq!(s.probe_failed, 0);
    assert_eq!(t.map.capacity(), capacity);
}

#[test]
fn scan_against_a_small_full_table_keeps_every_live_host() {
    let limits = NeighborLimits {
        max_entries: 32,
        max_incomplete: 8,
        ..NeighborLimits::default()
    };
    let mut t = table_with::<Ipv6Addr>(limits);
    let capacity = t.map.capacity();
    // 28 hosts in use: learned from their NS, then sent to.
    for n in 1..=28 {
        t.on_solicitation(a6(n), mac(n as u8), T0, nothing_released);
        t.resolve(a6(n), T0);
    }
    let scan_base = 0x2001_0db8_0000_0003_u128 << 64;
    for i in 0..10_000u64 {
        let now = T0 + ms(5 * i);
        if t.next_deadline().is_some_and(|d| d <= now) {
            for ev in tick(&mut t, now) {
                if let Ev::Probe(a, m) = ev {
                    t.on_advertisement(a, Some(m), S, now, nothing_released);
                }
            }
        }
        let target = Ipv6Addr::from(scan_base | u128::from(i));
        if t.resolve(target, now) == Resolution::Solicit {
            t.enqueue(target, &[0x60; 60]).unwrap();
        }
        // Every known host talks at least every 28 × 5 ms.
        let n = (i % 28) as u16 + 1;
        assert_eq!(t.resolve(a6(n), now), Resolution::Ready(mac(n as u8)));
        assert!(t.len() <= 32 && t.incomplete_len() <= 8);
    }
    check(&t);
    let s = t.stats();
    assert!(s.refused_for(RefuseReason::TableFull) > 0);
    assert_eq!((s.evicted, s.probe_failed), (0, 0));
    assert!((1..=28).all(|n| t.get(a6(n)).is_some()));
    assert_eq!(t.map.capacity(), capacity);
}

#[test]
fn limits_are_clamped() {
    let l = NeighborLimits {
        max_entries: usize::MAX,
        max_incomplete: usize::MAX,
        queue_per_entry_packets: usize::MAX,
        queue_total_bytes: usize::MAX,
        queue_max_packet_bytes: usize::MAX,
        retrans_timer: Duration::ZERO,
        delay_first_probe_time: Duration::ZERO,
        max_multicast_solicit: 0,
        max_unicast_solicit: 0,
        ..NeighborLimits::default()
    }
    .clamped();
    assert_eq!(l.max_entries, MAX_ENTRIES_CEILING);
    assert_eq!(l.max_incomplete, MAX_ENTRIES_CEILING);
    assert_eq!(l.queue_per_entry_packets, usize::from(u16::MAX));
    assert_eq!(l.queue_total_bytes, QUEUE_BYTES_CEILING);
    assert_eq!(l.queue_max_packet_bytes, MAX_PACKET_CEILING);
    assert_eq!(
        (l.retrans_timer, l.delay_first_probe_time),
        (MIN_TIMER, MIN_TIMER)
    );
    assert_eq!((l.max_multicast_solicit, l.max_unicast_solicit), (1, 1));
}

#[test]
fn zero_sized_table_refuses_without_panicking() {
    let mut t = table_with::<Ipv6Addr>(NeighborLimits {
        max_entries: 0,
        queue_total_bytes: 0,
        ..NeighborLimits::default()
    });
    assert_eq!(
        t.resolve(a6(1), T0),
        Resolution::Refused(RefuseReason::IncompleteLimit)
    );
    assert_eq!(
        t.on_solicitation(a6(1), mac(1), T0, nothing_released),
        SolicitOutcome::Refused(RefuseReason::TableFull)
    );
    assert_eq!(t.enqueue(a6(1), b""), Err(QueueError::NoEntry));
    tick(&mut t, T0);
}

// --- views --------------------------------------------------------------

#[test]
fn entries_show_every_entry() {
    let mut t = table();
    t.resolve(a6(1), T0);
    t.enqueue(a6(1), b"x").unwrap();
    t.on_solicitation(a6(2), mac(2), T0, nothing_released);
    let mut views: Vec<_> = t.entries().collect();
    views.sort_by_key(|v| v.addr);
    assert_eq!(
        views,
        vec![
            NeighborView {
                addr: a6(1),
                mac: None,
                state: NeighborState::Incomplete,
                is_router: false,
                probes: 1,
                queued: 1,
                updated: T0,
                last_used: Some(T0),
                deadline: T0 + RETRANS_TIMER,
            },
            NeighborView {
                addr: a6(2),
                mac: Some(mac(2)),
                state: NeighborState::Stale,
                is_router: false,
                probes: 0,
                queued: 0,
                updated: T0,
                last_used: None,
                deadline: T0 + t.limits().stale_timeout,
            },
        ]
    );
    assert_eq!(t.len(), 2);
    assert_eq!(NeighborState::Incomplete.to_string(), "INCOMPLETE");
    assert!(format!("{t:?}").contains("len: 2"));
}

#[test]
fn reason_names_are_unique() {
    let mut names: Vec<_> = RefuseReason::ALL.iter().map(|r| r.name()).collect();
    names.extend(QueueError::ALL.iter().map(|e| e.name()));
    let n = names.len();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), n);
    for (i, r) in RefuseReason::ALL.iter().enumerate() {
        assert_eq!(*r as usize, i);
    }
    for (i, e) in QueueError::ALL.iter().enumerate() {
        assert_eq!(*e as usize, i);
    }
}

// --- ARP ----------------------------------------------------------------

#[test]
fn arp_table_resolves_the_same_way() {
    let mut t = table_with::<Ipv4Addr>(NeighborLimits::default());
    let host = Ipv4Addr::new(198, 51, 100, 7);
    assert_eq!(t.resolve(host, T0), Resolution::Solicit);
    t.enqueue(host, b"ipv4 packet").unwrap();
    assert_eq!(tick(&mut t, T0 + ms(1000)), vec![Ev::Solicit(host)]);
    // The ARP reply to our request.
    let mut sent = Vec::new();
    t.on_advertisement(
        host,
        Some(mac(7)),
        AdvertFlags::ARP_REPLY,
        T0 + ms(1100),
        |m, p| {
            sent.push((m, p.to_vec()));
        },
    );
    assert_eq!(sent, vec![(mac(7), b"ipv4 packet".to_vec())]);
    assert_eq!(t.get(host).unwrap().state, NeighborState::Reachable);
    // A gratuitous ARP from another host, then a changed address.
    let other = Ipv4Addr::new(203, 0, 113, 9);
    assert_eq!(
        t.on_solicitation(other, mac(9), T0, nothing_released),
        SolicitOutcome::Created
    );
    assert_eq!(
        t.on_solicitation(host, mac(8), T0 + ms(1200), nothing_released),
        SolicitOutcome::Updated
    );
    let v = t.get(host).unwrap();
    assert_eq!((v.state, v.mac), (NeighborState::Stale, Some(mac(8))));
    // Broadcast is no neighbor.
    assert_eq!(
        t.resolve(Ipv4Addr::BROADCAST, T0),
        Resolution::Refused(RefuseReason::NotUnicast)
    );
    // Failure reports the queued packet, as for IPv6.
    let gone = Ipv4Addr::new(198, 51, 100, 99);
    t.resolve(gone, T0 + ms(2000));
    t.enqueue(gone, b"lost").unwrap();
    for s in 1..=2 {
        assert_eq!(
            tick(&mut t, T0 + ms(2000 + 1000 * s)),
            vec![Ev::Solicit(gone)]
        );
    }
    assert_eq!(
        tick(&mut t, T0 + ms(5000)),
        vec![Ev::Unreachable(gone, vec![b"lost".to_vec()])]
    );
    check(&t);
}
