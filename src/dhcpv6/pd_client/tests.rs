//! The PD client through whole exchanges, built from the talk's dibbler
//! capture (captures/prefix-delegation-qg0.pcap).

use super::*;
use dhcproto::v6::StatusCode;

/// prefix-delegation-qg0.pcap frame 15: dibbler-server 1.0.1's Advertise
/// to the router's Solicit (xid 0x137152): IA_PD IAID 0x3e111102 T1 1800
/// T2 2700, IA Prefix 2001:db8:face:6bc3::/64 preferred 3600 valid 7200,
/// status Success "Assigned 1 prefix(es).", Server ID DUID-LLT
/// fa:16:3e:e0:e0:01, Client ID, Preference 255.
const ADVERTISE: [u8; 118] = [
    0x02, 0x13, 0x71, 0x52, // Advertise, xid 0x137152
    0x00, 0x19, 0x00, 0x45, 0x3e, 0x11, 0x11, 0x02, // IA_PD, 69 octets, IAID
    0x00, 0x00, 0x07, 0x08, 0x00, 0x00, 0x0a, 0x8c, //   T1 1800, T2 2700
    0x00, 0x1a, 0x00, 0x19, 0x00, 0x00, 0x0e, 0x10, //   IA Prefix, preferred 3600
    0x00, 0x00, 0x1c, 0x20, 0x40, // valid 7200, /64
    0x20, 0x01, 0x0d, 0xb8, 0xfa, 0xce, 0x6b, 0xc3, 0, 0, 0, 0, 0, 0, 0, 0, // prefix
    0x00, 0x0d, 0x00, 0x18, 0x00, 0x00, // status Success
    b'A', b's', b's', b'i', b'g', b'n', b'e', b'd', b' ', b'1', b' ', b'p', b'r', b'e', b'f', b'i',
    b'x', b'(', b'e', b's', b')', b'.', //
    0x00, 0x02, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, // Server ID, DUID-LLT
    0x32, 0x9e, 0xea, 0xa2, 0xfa, 0x16, 0x3e, 0xe0, 0xe0, 0x01, //
    0x00, 0x01, 0x00, 0x0e, 0x00, 0x01, 0x00, 0x01, // Client ID, DUID-LLT
    0x32, 0x9e, 0xea, 0xa3, 0xfa, 0x16, 0x3e, 0x11, 0x11, 0x02, //
    0x00, 0x07, 0x00, 0x01, 0xff, // Preference 255
];

/// prefix-delegation-qg0.pcap frame 17: the Reply to the Request (xid
/// 0x54f844); the same options as the Advertise.
const REPLY: [u8; 118] = {
    let mut r = ADVERTISE;
    r[0] = 0x07;
    r[1] = 0x54;
    r[2] = 0xf8;
    r[3] = 0x44;
    r
};

/// The router's client DUID in the capture (DUID-LLT of qg0).
const CLIENT_DUID: [u8; 14] = [
    0x00, 0x01, 0x00, 0x01, 0x32, 0x9e, 0xea, 0xa3, 0xfa, 0x16, 0x3e, 0x11, 0x11, 0x02,
];
const SERVER_DUID: [u8; 14] = [
    0x00, 0x01, 0x00, 0x01, 0x32, 0x9e, 0xea, 0xa2, 0xfa, 0x16, 0x3e, 0xe0, 0xe0, 0x01,
];
const IAID: u32 = 0x3e11_1102;

fn net(s: &str) -> Ipv6Net {
    s.parse().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn t0() -> Instant {
    Instant::from_secs(1000)
}

fn client() -> PdClient {
    PdClient::new(CLIENT_DUID.to_vec(), IAID, 64, None, t0())
}

fn with_xid(bytes: &[u8], xid: [u8; 3]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[1..4].copy_from_slice(&xid);
    b
}

fn xid(sent: &[u8]) -> [u8; 3] {
    [sent[1], sent[2], sent[3]]
}

/// A server message built from parts.
fn server_msg(
    msg_type: MessageType,
    xid: [u8; 3],
    ia: Option<IAPD>,
    server: Option<&[u8]>,
    client: Option<&[u8]>,
) -> Vec<u8> {
    let mut m = Message::new_with_id(msg_type, xid);
    if let Some(ia) = ia {
        m.opts_mut().insert(DhcpOption::IAPD(ia));
    }
    if let Some(s) = server {
        m.opts_mut().insert(DhcpOption::ServerId(s.to_vec()));
    }
    if let Some(c) = client {
        m.opts_mut().insert(DhcpOption::ClientId(c.to_vec()));
    }
    emit(&m).unwrap()
}

fn ia(t1: u32, t2: u32, prefixes: &[(&str, u32, u32)], status: Option<Status>) -> IAPD {
    let mut opts = DhcpOptions::new();
    for (p, preferred, valid) in prefixes {
        let n = net(p);
        opts.insert(DhcpOption::IAPrefix(IAPrefix {
            preferred_lifetime: *preferred,
            valid_lifetime: *valid,
            prefix_len: n.prefix_len(),
            prefix_ip: n.network(),
            opts: DhcpOptions::new(),
        }));
    }
    if let Some(status) = status {
        opts.insert(DhcpOption::StatusCode(StatusCode {
            status,
            msg: String::new(),
        }));
    }
    IAPD {
        id: IAID,
        t1,
        t2,
        opts,
    }
}

fn reply(xid: [u8; 3], ia: IAPD) -> Vec<u8> {
    server_msg(
        MessageType::Reply,
        xid,
        Some(ia),
        Some(&SERVER_DUID),
        Some(&CLIENT_DUID),
    )
}

fn counter(c: &PdClient, name: &str) -> u64 {
    c.counters().find(|(n, _)| *n == name).unwrap().1
}

/// Polls until the next transmission, stepping through deadlines; the
/// message and when it left.
fn next_tx(c: &mut PdClient, from: Instant, rng: &mut Rng) -> (Vec<u8>, Instant) {
    let mut now = from;
    for _ in 0..1000 {
        if let Some(b) = c.poll_transmit(now, rng) {
            return (b, now);
        }
        now = c.next_deadline().unwrap().max(now);
    }
    panic!("no transmission");
}

fn sent(b: &[u8]) -> Message {
    parse(b).unwrap()
}

fn ia_pd_of(m: &Message) -> &IAPD {
    find_ia_pd(m.opts(), IAID).unwrap()
}

/// Solicit → Advertise (the capture's, preference 255) → Request →
/// Reply (the capture's): bound at `now`.
fn bind(c: &mut PdClient, rng: &mut Rng) -> (PdBinding, Instant) {
    let (solicit, at) = next_tx(c, t0(), rng);
    assert_eq!(c.on_message(&with_xid(&ADVERTISE, xid(&solicit)), at), None);
    let (request, at) = next_tx(c, at, rng);
    assert_eq!(sent(&request).msg_type(), MessageType::Request);
    let at = at + Duration::from_millis(2);
    match c.on_message(&with_xid(&REPLY, xid(&request)), at) {
        Some(PdEvent::Bound(b)) => (b, at),
        other => panic!("{other:?}"),
    }
}

#[test]
fn duid_ll_and_iaid_from_the_mac() {
    let mac = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x02]);
    assert_eq!(
        duid_ll(mac),
        [0x00, 0x03, 0x00, 0x01, 0xfa, 0x16, 0x3e, 0x11, 0x11, 0x02]
    );
    // What dhclient used in the capture.
    assert_eq!(iaid_from_mac(mac), IAID);
}

#[test]
fn solicit_carries_the_client_id_and_a_prefix_hint() {
    let mut rng = Rng::from_seed_bytes(b"solicit");
    let mut c = client();
    let (solicit, at) = next_tx(&mut c, t0(), &mut rng);
    // Delayed by at most SOL_MAX_DELAY (§18.2.1).
    assert!(at >= t0() && at <= t0() + SOL_MAX_DELAY);
    let m = sent(&solicit);
    assert_eq!(m.msg_type(), MessageType::Solicit);
    assert_eq!(
        m.opts().get(OptionCode::ClientId),
        Some(&DhcpOption::ClientId(CLIENT_DUID.to_vec()))
    );
    assert_eq!(m.opts().get(OptionCode::ServerId), None);
    assert_eq!(
        m.opts().get(OptionCode::ElapsedTime),
        Some(&DhcpOption::ElapsedTime(0))
    );
    assert_eq!(
        m.opts().get(OptionCode::ORO),
        Some(&DhcpOption::ORO(ORO {
            opts: vec![OptionCode::SolMaxRt]
        }))
    );
    let ia = ia_pd_of(&m);
    assert_eq!((ia.t1, ia.t2), (0, 0));
    assert_eq!(prefixes(ia).collect::<Vec<_>>(), [(net("::/64"), 0, 0)]);
    assert_eq!(counter(&c, "tx_solicit"), 1);
    assert_eq!(c.phase(), "soliciting");
}

#[test]
fn the_talks_exchange_binds_the_delegated_prefix() {
    let mut rng = Rng::from_seed_bytes(b"talk");
    let mut c = client();
    let (solicit, at) = next_tx(&mut c, t0(), &mut rng);
    // Preference 255: Request at once, without waiting for the first RT.
    assert_eq!(c.on_message(&with_xid(&ADVERTISE, xid(&solicit)), at), None);
    let request = c.poll_transmit(at, &mut rng).unwrap();
    let m = sent(&request);
    assert_eq!(m.msg_type(), MessageType::Request);
    assert_ne!(xid(&request), xid(&solicit));
    assert_eq!(
        m.opts().get(OptionCode::ServerId),
        Some(&DhcpOption::ServerId(SERVER_DUID.to_vec()))
    );
    assert_eq!(
        prefixes(ia_pd_of(&m)).collect::<Vec<_>>(),
        [(net("2001:db8:face:6bc3::/64"), 0, 0)]
    );
    let Some(PdEvent::Bound(b)) = c.on_message(&with_xid(&REPLY, xid(&request)), at) else {
        panic!()
    };
    assert_eq!(b.prefix, net("2001:db8:face:6bc3::/64"));
    assert_eq!(b.preferred_until, Some(at + secs(3600)));
    assert_eq!(b.valid_until, Some(at + secs(7200)));
    assert_eq!(b.t1, Some(at + secs(1800)));
    assert_eq!(b.t2, Some(at + secs(2700)));
    assert_eq!(b.server_id, SERVER_DUID);
    assert_eq!(b.iaid, IAID);
    assert_eq!(c.binding(), Some(&b));
    assert_eq!(c.phase(), "bound");
    assert_eq!(c.next_deadline(), b.t1);
    // Nothing to send until T1.
    assert_eq!(c.poll_transmit(at + secs(1799), &mut rng), None);
    assert_eq!(counter(&c, "bound"), 1);
    assert_eq!(counter(&c, "rx_advertise"), 1);
    assert_eq!(counter(&c, "rx_reply"), 1);
    // A late duplicate of the Reply: its transaction is over.
    assert_eq!(c.on_message(&with_xid(&REPLY, xid(&request)), at), None);
    assert_eq!(counter(&c, "drop_wrong_xid"), 1);
}

#[test]
fn renews_at_t1_with_the_server_id() {
    let mut rng = Rng::from_seed_bytes(b"renew");
    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let t1 = b.t1.unwrap();
    let (renew, at) = next_tx(&mut c, t1 - secs(1), &mut rng);
    assert_eq!(at, t1);
    let m = sent(&renew);
    assert_eq!(m.msg_type(), MessageType::Renew);
    assert_eq!(
        m.opts().get(OptionCode::ServerId),
        Some(&DhcpOption::ServerId(SERVER_DUID.to_vec()))
    );
    assert_eq!(
        prefixes(ia_pd_of(&m)).collect::<Vec<_>>(),
        [(b.prefix, 0, 0)]
    );
    let later = at + secs(3);
    let Some(PdEvent::Extended(e)) = c.on_message(&with_xid(&REPLY, xid(&renew)), later) else {
        panic!()
    };
    assert_eq!(e.prefix, b.prefix);
    assert_eq!(e.valid_until, Some(later + secs(7200)));
    assert_eq!(e.t1, Some(later + secs(1800)));
    assert_eq!(counter(&c, "extended"), 1);
}

#[test]
fn rebinds_at_t2_after_an_unanswered_renew() {
    let mut rng = Rng::from_seed_bytes(b"rebind");
    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let (t1, t2) = (b.t1.unwrap(), b.t2.unwrap());
    let (renew, mut at) = next_tx(&mut c, t1, &mut rng);
    assert_eq!(sent(&renew).msg_type(), MessageType::Renew);
    // Renew retransmits (same xid, growing Elapsed Time) until T2.
    let mut renews = 1;
    let rebind = loop {
        let (m, when) = next_tx(&mut c, at, &mut rng);
        at = when;
        if sent(&m).msg_type() != MessageType::Renew {
            break m;
        }
        assert_eq!(xid(&m), xid(&renew));
        assert!(when < t2);
        renews += 1;
    };
    assert_eq!(at, t2);
    // 900 s of 10, 20, 40 … 600 s waits: between 5 and 8 Renews.
    assert!((5..=8).contains(&renews), "{renews}");
    let m = sent(&rebind);
    assert_eq!(m.msg_type(), MessageType::Rebind);
    assert_eq!(m.opts().get(OptionCode::ServerId), None);
    assert_eq!(
        prefixes(ia_pd_of(&m)).collect::<Vec<_>>(),
        [(b.prefix, 0, 0)]
    );
    // Another server answers the Rebind.
    let other = [0x00, 0x03, 0x00, 0x01, 2, 0, 0, 0, 0, 9];
    let r = server_msg(
        MessageType::Reply,
        xid(&rebind),
        Some(ia(
            1800,
            2700,
            &[("2001:db8:face:6bc3::/64", 3600, 7200)],
            None,
        )),
        Some(&other),
        Some(&CLIENT_DUID),
    );
    let Some(PdEvent::Extended(e)) = c.on_message(&r, at) else {
        panic!()
    };
    assert_eq!(e.server_id, other);
    assert_eq!(counter(&c, "tx_rebind"), 1);
}

#[test]
fn lost_when_the_valid_lifetime_runs_out() {
    let mut rng = Rng::from_seed_bytes(b"lost");
    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let valid = b.valid_until.unwrap();
    // Nobody answers: Renew, Rebind, then the prefix is gone.
    let mut now = b.t1.unwrap();
    for _ in 0..100 {
        if c.poll_transmit(now, &mut rng).is_none() {
            let next = c.next_deadline().unwrap();
            if next >= valid {
                break;
            }
            now = next;
        }
    }
    assert_eq!(c.phase(), "rebinding");
    assert_eq!(c.poll_event(valid - Duration::from_micros(1)), None);
    assert_eq!(c.next_deadline(), Some(valid));
    assert_eq!(c.poll_event(valid), Some(PdEvent::Lost(b)));
    assert_eq!(c.poll_event(valid), None);
    assert_eq!(c.binding(), None);
    let (m, at) = next_tx(&mut c, valid, &mut rng);
    assert_eq!(sent(&m).msg_type(), MessageType::Solicit);
    assert_eq!(at, valid);
    assert_eq!(counter(&c, "lost"), 1);
}

#[test]
fn a_new_prefix_on_renew_is_bound() {
    let mut rng = Rng::from_seed_bytes(b"change");
    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let (renew, at) = next_tx(&mut c, b.t1.unwrap(), &mut rng);
    // The server moves the client: the old prefix at valid 0, a new one.
    let r = reply(
        xid(&renew),
        ia(
            1800,
            2700,
            &[
                ("2001:db8:face:6bc3::/64", 0, 0),
                ("2001:db8:face:77::/64", 3600, 7200),
            ],
            None,
        ),
    );
    let Some(PdEvent::Bound(n)) = c.on_message(&r, at) else {
        panic!()
    };
    assert_eq!(n.prefix, net("2001:db8:face:77::/64"));
    assert_eq!(c.binding().unwrap().prefix, n.prefix);
}

#[test]
fn the_prefix_withdrawn_or_refused_is_lost() {
    let mut rng = Rng::from_seed_bytes(b"withdrawn");
    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let (renew, at) = next_tx(&mut c, b.t1.unwrap(), &mut rng);
    let r = reply(
        xid(&renew),
        ia(0, 0, &[("2001:db8:face:6bc3::/64", 0, 0)], None),
    );
    let Some(PdEvent::Lost(l)) = c.on_message(&r, at) else {
        panic!()
    };
    assert_eq!(l.prefix, b.prefix);
    // Revoked now: nothing left to advertise deprecated.
    assert_eq!(l.valid_until, Some(at));
    assert_eq!(c.phase(), "soliciting");

    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let (renew, at) = next_tx(&mut c, b.t1.unwrap(), &mut rng);
    let r = reply(xid(&renew), ia(0, 0, &[], Some(Status::NoPrefixAvail)));
    // NoPrefixAvail: lost, but still valid for what was granted.
    assert_eq!(c.on_message(&r, at), Some(PdEvent::Lost(b)));
    assert_eq!(counter(&c, "status_no_prefix_avail"), 1);
    // Soliciting again after a holdoff, not at once.
    assert_eq!(c.poll_transmit(at, &mut rng), None);
    let (m, when) = next_tx(&mut c, at, &mut rng);
    assert_eq!(sent(&m).msg_type(), MessageType::Solicit);
    assert!(when >= at + failure_holdoff(1));
}

#[test]
fn no_binding_on_renew_requests_again() {
    let mut rng = Rng::from_seed_bytes(b"nobinding");
    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let (renew, at) = next_tx(&mut c, b.t1.unwrap(), &mut rng);
    let r = reply(xid(&renew), ia(0, 0, &[], Some(Status::NoBinding)));
    assert_eq!(c.on_message(&r, at), None);
    assert_eq!(c.binding(), Some(&b));
    let request = c.poll_transmit(at, &mut rng).unwrap();
    let m = sent(&request);
    assert_eq!(m.msg_type(), MessageType::Request);
    assert_eq!(
        prefixes(ia_pd_of(&m)).collect::<Vec<_>>(),
        [(b.prefix, 0, 0)]
    );
    let Some(PdEvent::Extended(_)) = c.on_message(&with_xid(&REPLY, xid(&request)), at) else {
        panic!()
    };
}

#[test]
fn no_prefix_avail_advertise_is_ignored_and_best_preference_wins() {
    let mut rng = Rng::from_seed_bytes(b"prefs");
    let mut c = client();
    let (solicit, at) = next_tx(&mut c, t0(), &mut rng);
    let x = xid(&solicit);
    let adv = |server: &[u8], pref: Option<u8>, ia: IAPD| {
        let mut m = parse(&server_msg(
            MessageType::Advertise,
            x,
            Some(ia),
            Some(server),
            Some(&CLIENT_DUID),
        ))
        .unwrap();
        if let Some(p) = pref {
            m.opts_mut().insert(DhcpOption::Preference(p));
        }
        emit(&m).unwrap()
    };
    let a = [0x00, 0x03, 0x00, 0x01, 2, 0, 0, 0, 0, 0xa];
    let b = [0x00, 0x03, 0x00, 0x01, 2, 0, 0, 0, 0, 0xb];
    let none = adv(&a, Some(200), ia(0, 0, &[], Some(Status::NoPrefixAvail)));
    assert_eq!(c.on_message(&none, at), None);
    assert_eq!(counter(&c, "status_no_prefix_avail"), 1);
    let low = adv(&a, None, ia(0, 0, &[("2001:db8:a::/56", 100, 200)], None));
    let high = adv(
        &b,
        Some(7),
        ia(0, 0, &[("2001:db8:b::/56", 100, 200)], None),
    );
    c.on_message(&low, at);
    c.on_message(&high, at);
    // Still collecting: no Request before the first RT ends (> IRT).
    assert_eq!(c.poll_transmit(at + secs(1), &mut rng), None);
    let (request, when) = next_tx(&mut c, at + secs(1), &mut rng);
    assert!(when > at + secs(1) && when <= at + Duration::from_millis(1100));
    let m = sent(&request);
    assert_eq!(m.msg_type(), MessageType::Request);
    assert_eq!(
        m.opts().get(OptionCode::ServerId),
        Some(&DhcpOption::ServerId(b.to_vec()))
    );
}

#[test]
fn restart_from_the_persisted_state() {
    let mut rng = Rng::from_seed_bytes(b"restart");
    let mut c = client();
    let (b, at) = bind(&mut c, &mut rng);
    let clock = WallClock {
        now: at,
        unix_secs: 1_700_000_000,
    };
    let json = c.state(clock).to_json();
    let state = PdState::from_json(&json).unwrap();
    assert_eq!(state.client_duid().unwrap(), CLIENT_DUID);
    assert_eq!(state.iaid, IAID);
    assert_eq!(
        state.binding.as_ref().unwrap().valid_until,
        Some(1_700_000_000 + 7200)
    );
    // The process restarts: its monotonic clock has another origin.
    let restart = |elapsed: u64| {
        let now = Instant::from_secs(5);
        let clock = WallClock {
            now,
            unix_secs: 1_700_000_000 + elapsed,
        };
        let restored = state.binding(clock);
        (
            PdClient::new(state.client_duid().unwrap(), IAID, 64, restored, now),
            now,
        )
    };
    // Before T1: bound, with the same remaining times; Bound queued.
    let (mut r, now) = restart(100);
    let Some(PdEvent::Bound(rb)) = r.poll_event(now) else {
        panic!()
    };
    assert_eq!(rb.prefix, b.prefix);
    assert_eq!(rb.valid_until, Some(now + secs(7100)));
    assert_eq!(rb.t1, Some(now + secs(1700)));
    assert_eq!(r.phase(), "bound");
    assert_eq!(r.poll_transmit(now, &mut rng), None);
    // Past T1: Renew at once, to the stored server.
    let (mut r, now) = restart(2000);
    let m = sent(&r.poll_transmit(now, &mut rng).unwrap());
    assert_eq!(m.msg_type(), MessageType::Renew);
    assert_eq!(
        m.opts().get(OptionCode::ServerId),
        Some(&DhcpOption::ServerId(SERVER_DUID.to_vec()))
    );
    // Past T2: Rebind.
    let (mut r, now) = restart(3000);
    assert_eq!(
        sent(&r.poll_transmit(now, &mut rng).unwrap()).msg_type(),
        MessageType::Rebind
    );
    // Past valid: nothing restored, Solicit.
    let (mut r, now) = restart(7200);
    assert_eq!(r.binding(), None);
    assert_eq!(r.poll_event(now), None);
    let (m, _) = next_tx(&mut r, now, &mut rng);
    assert_eq!(sent(&m).msg_type(), MessageType::Solicit);
    // Infinite lifetimes stay infinite.
    let inf = PdBinding {
        preferred_until: None,
        valid_until: None,
        t1: None,
        t2: None,
        ..b
    };
    let s = PdState::new(&CLIENT_DUID, IAID, Some(&inf), clock);
    assert_eq!(
        PdState::from_json(&s.to_json()).unwrap().binding(clock),
        Some(inf)
    );
    // Not a state file.
    for bad in [
        "",
        "{}",
        "null",
        "{\"duid\":\"zz\",\"iaid\":1}",
        "{\"duid\":\"00\",\"iaid\":1}",
    ] {
        assert_eq!(PdState::from_json(bad), None, "{bad}");
    }
}

#[test]
fn bad_messages_are_counted_and_ignored() {
    let mut rng = Rng::from_seed_bytes(b"garbage");
    let mut c = client();
    let (solicit, at) = next_tx(&mut c, t0(), &mut rng);
    let x = xid(&solicit);
    let good_ia = || ia(0, 0, &[("2001:db8:face::/48", 100, 200)], None);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "drop_malformed"),
        (vec![0x02, 1, 2], "drop_malformed"),
        (ADVERTISE[..60].to_vec(), "drop_malformed"),
        (ADVERTISE.to_vec(), "drop_wrong_xid"),
        (
            server_msg(
                MessageType::Solicit,
                x,
                Some(good_ia()),
                None,
                Some(&CLIENT_DUID),
            ),
            "drop_unexpected_type",
        ),
        (
            server_msg(
                MessageType::Advertise,
                x,
                Some(good_ia()),
                Some(&SERVER_DUID),
                None,
            ),
            "drop_no_client_id",
        ),
        (
            server_msg(
                MessageType::Advertise,
                x,
                Some(good_ia()),
                Some(&SERVER_DUID),
                Some(&SERVER_DUID),
            ),
            "drop_wrong_client_id",
        ),
        (
            server_msg(
                MessageType::Advertise,
                x,
                Some(good_ia()),
                None,
                Some(&CLIENT_DUID),
            ),
            "drop_no_server_id",
        ),
        (
            server_msg(
                MessageType::Advertise,
                x,
                None,
                Some(&SERVER_DUID),
                Some(&CLIENT_DUID),
            ),
            "drop_no_ia_pd",
        ),
        (
            server_msg(
                MessageType::Advertise,
                x,
                Some(IAPD { id: 7, ..good_ia() }),
                Some(&SERVER_DUID),
                Some(&CLIENT_DUID),
            ),
            "drop_no_ia_pd",
        ),
        (
            // Preferred above valid, and a /72 that holds no /64.
            server_msg(
                MessageType::Advertise,
                x,
                Some(ia(
                    0,
                    0,
                    &[("2001:db8:1::/64", 300, 200), ("2001:db8:2::/72", 1, 2)],
                    None,
                )),
                Some(&SERVER_DUID),
                Some(&CLIENT_DUID),
            ),
            "drop_no_prefix",
        ),
        (
            server_msg(
                MessageType::Reply,
                x,
                Some(good_ia()),
                Some(&SERVER_DUID),
                Some(&CLIENT_DUID),
            ),
            "drop_unexpected_type",
        ),
    ];
    for (bytes, reason) in &cases {
        let before = counter(&c, reason);
        assert_eq!(c.on_message(bytes, at), None, "{reason}");
        assert_eq!(counter(&c, reason), before + 1, "{reason}");
    }
    assert_eq!(c.phase(), "soliciting");
    assert_eq!(c.binding(), None);
    // Every truncation and single-octet corruption of the real Advertise
    // and Reply, in every state the client passes through: no panic.
    for base in [&ADVERTISE, &REPLY] {
        for cut in 0..base.len() {
            c.on_message(&with_xid(&base[..cut.max(4)], x), at);
        }
        for i in 0..base.len() {
            for v in [0x00, 0x01, 0x19, 0x1a, 0x7f, 0xff] {
                let mut b = with_xid(base, x);
                b[i] = v;
                let mut probe = c.clone();
                probe.on_message(&b, at);
                let _ = probe.poll_transmit(at, &mut rng);
                let _ = probe.poll_event(at + secs(100_000));
            }
        }
    }
}

#[test]
fn t1_t2_zero_and_infinite_lifetimes() {
    assert_eq!(
        renew_times(0, 0, 3600),
        (Some(secs(1800)), Some(secs(2880)))
    );
    assert_eq!(renew_times(0, 0, INFINITY), (None, None));
    assert_eq!(renew_times(INFINITY, INFINITY, 3600), (None, None));
    // T1 never below MIN_T1; T2 never before T1.
    assert_eq!(renew_times(0, 0, 0), (Some(MIN_T1), Some(MIN_T1)));
    assert_eq!(renew_times(100, 0, 50), (Some(secs(100)), Some(secs(100))));

    let mut rng = Rng::from_seed_bytes(b"infinite");
    let mut c = client();
    let (solicit, at) = next_tx(&mut c, t0(), &mut rng);
    let mut m = parse(&with_xid(&ADVERTISE, xid(&solicit))).unwrap();
    m.opts_mut().remove(OptionCode::IAPD);
    m.opts_mut().insert(DhcpOption::IAPD(ia(
        0,
        0,
        &[("2001:db8:face::/48", INFINITY, INFINITY)],
        None,
    )));
    c.on_message(&emit(&m).unwrap(), at);
    let request = c.poll_transmit(at, &mut rng).unwrap();
    m.set_msg_type(MessageType::Reply).set_xid(xid(&request));
    let Some(PdEvent::Bound(b)) = c.on_message(&emit(&m).unwrap(), at) else {
        panic!()
    };
    assert_eq!(b.prefix, net("2001:db8:face::/48"));
    assert_eq!((b.valid_until, b.t1, b.t2), (None, None, None));
    assert_eq!(c.next_deadline(), None);
    // T1 > T2 (both set) is discarded (§21.21).
    let mut c = client();
    let (b, _) = bind(&mut c, &mut rng);
    let (renew, at) = next_tx(&mut c, b.t1.unwrap(), &mut rng);
    let r = reply(
        xid(&renew),
        ia(2000, 1000, &[("2001:db8:face:6bc3::/64", 3600, 7200)], None),
    );
    assert_eq!(c.on_message(&r, at), None);
    assert_eq!(counter(&c, "drop_bad_t1_t2"), 1);
}

#[test]
fn retransmission_timing_is_bounded() {
    for seed in 0..20u8 {
        let mut rng = Rng::from_seed_bytes(&[seed]);
        let mut c = client();
        // Solicit: first RT in (1, 1.1] s, then RT' in [1.9, 2.1] × RT,
        // never more than 1.1 × SOL_MAX_RT.
        let (first, mut at) = next_tx(&mut c, t0(), &mut rng);
        let mut last_rt: Option<Duration> = None;
        let start = at;
        for _ in 0..20 {
            let (m, when) = next_tx(&mut c, at, &mut rng);
            assert_eq!(xid(&m), xid(&first));
            let rt = when - at;
            match last_rt {
                None => assert!(rt > secs(1) && rt <= Duration::from_millis(1100), "{rt:?}"),
                Some(prev) if prev * 2 < secs(3000) => {
                    assert!(
                        rt >= prev * 19 / 10 && rt <= prev * 21 / 10,
                        "{rt:?} {prev:?}"
                    );
                }
                Some(_) => assert!(rt >= secs(3240) && rt <= secs(3960), "{rt:?}"),
            }
            // Elapsed Time: centiseconds since the first Solicit, capped.
            let elapsed = (when - start).as_millis() / 10;
            assert_eq!(
                sent(&m).opts().get(OptionCode::ElapsedTime),
                Some(&DhcpOption::ElapsedTime(
                    u16::try_from(elapsed).unwrap_or(u16::MAX)
                ))
            );
            last_rt = Some(rt);
            at = when;
        }
        // Request: at most REQ_MAX_RC sends, each wait at most 1.1 ×
        // REQ_MAX_RT, then soliciting again.
        let mut c = client();
        let (solicit, at) = next_tx(&mut c, t0(), &mut rng);
        c.on_message(&with_xid(&ADVERTISE, xid(&solicit)), at);
        let mut requests = Vec::new();
        let mut now = at;
        loop {
            let (m, when) = next_tx(&mut c, now, &mut rng);
            if sent(&m).msg_type() != MessageType::Request {
                assert_eq!(sent(&m).msg_type(), MessageType::Solicit);
                break;
            }
            requests.push(when);
            now = when;
        }
        assert_eq!(requests.len(), 10);
        for w in requests.windows(2) {
            assert!(w[1] - w[0] <= secs(33));
        }
        assert_eq!(counter(&c, "request_failed"), 1);
    }
}

#[test]
fn sol_max_rt_from_the_server_caps_solicit_retransmissions() {
    let mut rng = Rng::from_seed_bytes(b"solmaxrt");
    let mut c = client();
    let (solicit, at) = next_tx(&mut c, t0(), &mut rng);
    let mut m = Message::new_with_id(MessageType::Advertise, xid(&solicit));
    m.opts_mut()
        .insert(DhcpOption::ServerId(SERVER_DUID.to_vec()));
    m.opts_mut()
        .insert(DhcpOption::ClientId(CLIENT_DUID.to_vec()));
    m.opts_mut()
        .insert(DhcpOption::Unknown(dhcproto::v6::UnknownOption::new(
            OptionCode::SolMaxRt,
            120u32.to_be_bytes().to_vec(),
        )));
    m.opts_mut()
        .insert(DhcpOption::IAPD(ia(0, 0, &[], Some(Status::NoPrefixAvail))));
    c.on_message(&emit(&m).unwrap(), at);
    let mut now = at;
    for _ in 0..15 {
        let (_, when) = next_tx(&mut c, now, &mut rng);
        assert!(when - now <= secs(132), "{:?}", when - now);
        now = when;
    }
}
