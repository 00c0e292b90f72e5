//! etherparse as an oracle for routelet's wire parsers.
//!
//! Every frame of every capture in `testdata/pcap/` (and, when present,
//! `/work/shared/captures/`) is parsed by both routelet's `wire` views and
//! etherparse's slices, layer by layer: Ethernet and VLAN tags, IPv4, IPv6
//! and its extension headers, UDP, TCP, ICMPv4 and ICMPv6. The test fails
//! when the two disagree on a field, on where a layer ends, on whether a
//! checksum verifies, or when one accepts what the other rejects. The
//! comparison lives in `wire_oracle/compare.rs`, which the
//! `etherparse_oracle` fuzz target shares.
//!
//! The captured frames are then mutated, deterministically and bounded:
//! truncated at every length, and every bit of their headers flipped (IPv4
//! frames a second time with the header checksum fixed up, so that a
//! flipped length or version reaches the length checks rather than stopping
//! at the checksum). A fixed-seed generator then builds 100,000 frames
//! layer by layer with length fields right, a little off or wild
//! (`structured_random_frames_agree`), and hand-made frames pin each
//! documented difference (`crafted_frames_take_the_documented_rows`).
//!
//! # Known, justified differences
//!
//! Each is taken only after checking its condition holds for the frame
//! (see `compare::Known`):
//!
//! | difference | routelet | etherparse | why |
//! |---|---|---|---|
//! | IPv4 header checksum | verifies it (`BadChecksum`) | never checks it | a router must drop a corrupt header (RFC 1812 §5.2.2) |
//! | IPv4 carrying AH (51) | IPv4 layer ends at the IPv4 header | parses the AH as part of the IP layer | the router neither terminates nor filters IPsec |
//! | TPID 0x9100 | unknown EtherType | a VLAN tag | only 0x8100 / 0x88a8 are tags, as in Linux's fast path |
//! | second tag 0x88a8 | `Malformed` | accepted | 802.1ad puts the S-tag outside the C-tag |
//! | third VLAN tag | `TooManyOptions` | accepted (up to three) | double tagging is the deepest 802.1ad stack |
//! | IPv6 Payload Length 0 | empty payload | jumbogram: the rest of the buffer | RFC 2675 jumbograms are not supported |
//! | HbH / DestOpts option TLVs | walked; overrun or bad Router Alert length is `BadLength`, >16 options `TooManyOptions` | not inspected | the router acts on Router Alert and must not read past a header |
//! | a second IPv6 Fragment header | `Malformed` | walked | RFC 8200 §4.1 allows one; a second hides the first's M flag |
//! | more than 8 extension headers | `TooManyOptions` | walked | RFC 8504 §5.3 lets a node bound the chain |
//! | non-first IPv6 fragment | walk ends at the Fragment header | keeps reading "headers" from fragment data | fragment data is not a header |
//! | UDP Length 0 | `BadLength` | the whole buffer (jumbogram) | jumbograms are not supported |
//! | ICMPv4 Timestamp (13/14, code 0) not 20 octets | view accepts (8-octet header), `Repr` is `Malformed` | rejected | the router does not answer Timestamps; the view reads any ICMP header |
//! | ND message shorter than its RFC 4861 fixed part | `Truncated` | needs 8 octets | the ND accessors read the fixed part |
//!
//! Differences found and fixed in routelet (regression tests in the
//! modules):
//!
//! - An IPv6 Authentication Header with Payload Len 0 (an 8-octet "header"
//!   shorter than AH's own 12 fixed octets) is now `BadLength`
//!   (`ipv6ext::tests::rejects_zero_length_auth_header`).
//! - A second IPv6 Fragment header is now `Malformed`: the walk kept only
//!   the last one, so a first fragment (M = 1) followed by a Fragment
//!   header with M = 0 was reported whole
//!   (`ipv6ext::tests::rejects_a_second_fragment_header`).

#[allow(dead_code)]
#[path = "wire_oracle/compare.rs"]
mod compare;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use compare::{compare_frame, Known, Stats};
use routelet::io::pcap::read_capture;
use routelet::wire::{EthernetFrame, EthernetRepr, Ipv4Packet};

fn capture_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let dirs = [
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pcap"),
        PathBuf::from("/work/shared/captures"),
    ];
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".pcap") || name.ends_with(".pcapng") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Every distinct frame of every capture, in a fixed order, with where it
/// was first seen.
fn captured_frames() -> BTreeMap<Vec<u8>, String> {
    let files = capture_files();
    assert!(
        files.len() >= 20,
        "expected the reference captures under testdata/pcap, found {files:?}"
    );
    let mut frames = BTreeMap::new();
    for file in &files {
        let captured = read_capture(file).unwrap_or_else(|e| panic!("{e}"));
        for (i, f) in captured.into_iter().enumerate() {
            frames
                .entry(f.data)
                .or_insert_with(|| format!("{}#{i}", file.display()));
        }
    }
    frames
}

/// Runs the comparison and collects disagreements (the first 20 are kept).
fn check(frame: &[u8], what: &dyn Fn() -> String, st: &mut Stats, failures: &mut Vec<String>) {
    if let Err(e) = compare_frame(frame, st) {
        if failures.len() < 20 {
            failures.push(format!("{}: {e}\n    frame: {}", what(), hex(frame)));
        } else {
            failures.push(String::new());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn report(name: &str, st: &Stats, failures: &[String]) {
    eprintln!("{name}: {st:?}");
    let shown: Vec<&String> = failures.iter().filter(|f| !f.is_empty()).collect();
    assert!(
        failures.is_empty(),
        "{name}: {} disagreement(s) between routelet and etherparse:\n{}",
        failures.len(),
        shown
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn captured_frames_agree() {
    let frames = captured_frames();
    let mut st = Stats::default();
    let mut failures = Vec::new();
    for (frame, origin) in &frames {
        check(frame, &|| origin.clone(), &mut st, &mut failures);
    }
    report("captured frames", &st, &failures);
    // The captures hold every layer the oracle compares: if one count is
    // zero the walk stopped early and compared nothing there.
    assert_eq!(st.both_rejected, 0, "a captured frame was rejected: {st:?}");
    for (layer, n) in [
        ("ethernet", st.ethernet),
        ("ipv4", st.ipv4),
        ("ipv6", st.ipv6),
        ("ipv6 extension headers", st.ipv6_ext),
        ("udp", st.udp),
        ("tcp", st.tcp),
        ("icmpv4", st.icmpv4),
        ("icmpv6", st.icmpv6),
    ] {
        assert!(n > 0, "no {layer} compared: {st:?}");
    }
    // Captured traffic needs none of the documented differences.
    assert!(
        st.known.is_empty(),
        "known differences on clean captures: {:?}",
        st.known
    );
}

/// One frame per shape (EtherType, L3 next header, first L4 octet, length
/// bucket), so the mutations cover every kind of frame without repeating
/// the thousands of near-identical frames of the scan capture.
///
/// The captures carry no VLAN tags, so each subject also comes with one
/// 802.1Q tag and with an 802.1ad S-tag + C-tag pair inserted after the
/// MAC addresses.
fn mutation_subjects(frames: &BTreeMap<Vec<u8>, String>) -> Vec<(Vec<u8>, String)> {
    let mut seen = BTreeSet::new();
    let mut subjects = Vec::new();
    for (frame, origin) in untagged_subjects(frames) {
        if frame.len() >= 14 {
            let tagged = |tags: &[u8]| {
                let mut f = frame[..12].to_vec();
                f.extend_from_slice(tags);
                f.extend_from_slice(&frame[12..]);
                f
            };
            if seen.insert(origin.clone()) {
                subjects.push((
                    tagged(&[0x81, 0x00, 0xa0, 0x64]),
                    format!("{origin} +802.1Q tag"),
                ));
                subjects.push((
                    tagged(&[0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x20, 0x64]),
                    format!("{origin} +802.1ad tags"),
                ));
            }
        }
        subjects.push((frame.clone(), origin.clone()));
    }
    subjects
}

fn untagged_subjects(frames: &BTreeMap<Vec<u8>, String>) -> Vec<(&Vec<u8>, &String)> {
    let mut seen = BTreeSet::new();
    let mut subjects = Vec::new();
    for (frame, origin) in frames {
        let shape = (
            frame.get(12..14).map(<[u8]>::to_vec),
            frame.get(20).copied(), // IPv6 Next Header
            frame.get(23).copied(), // IPv4 Protocol
            frame.get(54).copied(), // ICMPv6 type after a bare IPv6 header
            frame.len() / 64,
        );
        if seen.insert(shape) {
            subjects.push((frame, origin));
        }
    }
    subjects
}

/// Recomputes the IPv4 header checksum in place, if the frame holds an
/// IPv4 header whose IHL fits.
fn fix_ipv4_checksum(frame: &mut [u8]) {
    let Ok(eth) = EthernetRepr::parse(&EthernetFrame::new_unchecked(&*frame)) else {
        return;
    };
    if u16::from(eth.ethertype) != 0x0800 {
        return;
    }
    let Some(l3) = frame.get_mut(eth.header_len()..) else {
        return;
    };
    let ihl = usize::from(l3.first().copied().unwrap_or(0) & 0x0f) * 4;
    if ihl < 20 || ihl > l3.len() {
        return;
    }
    let mut packet = Ipv4Packet::new_unchecked(&mut l3[..ihl]);
    packet.fill_checksum();
}

/// Sets the IPv4 Total Length (and header checksum) or IPv6 Payload
/// Length to what the buffer holds; false when the frame has no IP header
/// to fit.
fn fit_ip_length(frame: &mut [u8]) -> bool {
    let Ok(eth) = EthernetRepr::parse(&EthernetFrame::new_unchecked(&*frame)) else {
        return false;
    };
    let Some(l3) = frame.get_mut(eth.header_len()..) else {
        return false;
    };
    match u16::from(eth.ethertype) {
        0x0800 if l3.len() >= 20 => {
            let Ok(total) = u16::try_from(l3.len()) else {
                return false;
            };
            l3[2..4].copy_from_slice(&total.to_be_bytes());
            fix_ipv4_checksum(frame);
            true
        }
        0x86dd if l3.len() >= 40 => {
            let Ok(payload) = u16::try_from(l3.len() - 40) else {
                return false;
            };
            l3[4..6].copy_from_slice(&payload.to_be_bytes());
            true
        }
        _ => false,
    }
}

#[test]
fn truncated_frames_agree() {
    let frames = captured_frames();
    let subjects = mutation_subjects(&frames);
    assert!(subjects.len() >= 60, "only {} subjects", subjects.len());
    let mut st = Stats::default();
    let mut failures = Vec::new();
    let mut copy = Vec::new();
    for (frame, origin) in &subjects {
        for len in 0..=frame.len() {
            check(
                &frame[..len],
                &|| format!("{origin} truncated to {len}"),
                &mut st,
                &mut failures,
            );
            // The same cut with the IP length field shortened to match, so
            // that it lands inside the extension headers or the L4 header.
            copy.clear();
            copy.extend_from_slice(&frame[..len]);
            if fit_ip_length(&mut copy) {
                check(
                    &copy,
                    &|| format!("{origin} truncated to {len}, IP length fitted"),
                    &mut st,
                    &mut failures,
                );
            }
        }
    }
    report("truncations", &st, &failures);
    assert!(
        st.both_rejected > 0
            && st.vlan > 0
            && st.ipv6_ext > 0
            && st.udp > 0
            && st.tcp > 0
            && st.icmpv6 > 0,
        "{st:?}"
    );
}

#[test]
fn bit_flipped_frames_agree() {
    let frames = captured_frames();
    let subjects = mutation_subjects(&frames);
    let mut st = Stats::default();
    let mut failures = Vec::new();
    let mut copy = Vec::new();
    for (frame, origin) in &subjects {
        // Ethernet, tags, IP header and extension headers, the L4 header:
        // the first 104 octets cover them in every captured frame.
        for byte in 0..frame.len().min(104) {
            for bit in 0..8 {
                copy.clear();
                copy.extend_from_slice(frame);
                copy[byte] ^= 1 << bit;
                check(
                    &copy,
                    &|| format!("{origin} bit {bit} of octet {byte} flipped"),
                    &mut st,
                    &mut failures,
                );
                fix_ipv4_checksum(&mut copy);
                check(
                    &copy,
                    &|| format!("{origin} bit {bit} of octet {byte} flipped, IPv4 checksum fixed"),
                    &mut st,
                    &mut failures,
                );
            }
        }
    }
    report("bit flips", &st, &failures);
    // The flips reach the documented differences that the captures can
    // reach, and the oracle still compares deep layers.
    for k in [Known::Ipv4Checksum, Known::Jumbogram, Known::UdpLengthZero] {
        assert!(st.known.contains_key(&k), "{k:?} never taken: {st:?}");
    }
    assert!(st.known.contains_key(&Known::Tpid9100), "{st:?}");
    assert!(
        st.both_rejected > 0 && st.vlan > 0 && st.ipv6_ext > 0 && st.icmpv6 > 0,
        "{st:?}"
    );
}

/// Frames built by hand for the differences the captures cannot reach by
/// one flip, and for the AH bug: each must hit exactly the expected row.
#[test]
fn crafted_frames_take_the_documented_rows() {
    fn eth(ethertype: u16, rest: &[u8]) -> Vec<u8> {
        let mut f = vec![0x33, 0x33, 0, 0, 0, 1, 0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(rest);
        f
    }
    fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(
            &"2001:db8::1"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        p.extend_from_slice(
            &"2001:db8::2"
                .parse::<std::net::Ipv6Addr>()
                .unwrap()
                .octets(),
        );
        p.extend_from_slice(payload);
        p
    }
    /// What the comparison of a crafted frame must end in.
    #[derive(Clone, Copy)]
    enum Expect {
        /// This documented difference, and no other.
        Row(Known),
        /// Both parsers reject it.
        BothReject,
        /// Both accept it and agree on every layer.
        Agree,
    }
    fn ipv4_icmp(message: &[u8]) -> Vec<u8> {
        ipv4(1, message)
    }
    fn ipv4(protocol: u8, message: &[u8]) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, protocol, 0, 0];
        p.extend_from_slice(&[198, 51, 100, 4, 203, 0, 113, 1]);
        let total = u16::try_from(p.len() + message.len()).unwrap();
        p[2..4].copy_from_slice(&total.to_be_bytes());
        Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
        p.extend_from_slice(message);
        p
    }
    let mut bad_checksum = ipv4(17, &[0, 1, 0, 2, 0, 8, 0, 0]);
    bad_checksum[10] ^= 0xff;
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "IPv4 header checksum wrong",
            eth(0x0800, &bad_checksum),
            Expect::Row(Known::Ipv4Checksum),
        ),
        (
            "IPv4 carrying an AH with Payload Len 0",
            eth(0x0800, &ipv4(51, &[59, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])),
            Expect::Row(Known::Ipv4Auth),
        ),
        (
            "IPv6 Payload Length 0, octets after the header",
            eth(0x86dd, &{
                let mut p = ipv6(59, &[]);
                p.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
                p
            }),
            Expect::Row(Known::Jumbogram),
        ),
        (
            "UDP Length 0",
            eth(0x86dd, &ipv6(17, &[0, 1, 0, 2, 0, 0, 0, 0])),
            Expect::Row(Known::UdpLengthZero),
        ),
        (
            "TPID 0x9100",
            eth(0x9100, &[0, 5, 0x86, 0xdd]),
            Expect::Row(Known::Tpid9100),
        ),
        (
            // Found by the fuzz target.
            "TPID 0x9100 without room for a tag",
            eth(0x9100, &[0, 5]),
            Expect::Row(Known::Tpid9100),
        ),
        (
            "inner S-tag",
            eth(0x8100, &[0, 5, 0x88, 0xa8, 0, 6, 0x86, 0xdd]),
            Expect::Row(Known::InnerSTag),
        ),
        (
            "three tags",
            eth(
                0x88a8,
                &[0, 5, 0x81, 0x00, 0, 6, 0x81, 0x00, 0, 7, 0x86, 0xdd],
            ),
            Expect::Row(Known::ThirdTag),
        ),
        (
            "Router Alert of length 3",
            eth(0x86dd, &ipv6(0, &[59, 0, 5, 3, 0, 0, 0, 0])),
            Expect::Row(Known::OptionTlvs),
        ),
        (
            "nine Destination Options headers",
            eth(
                0x86dd,
                &ipv6(
                    60,
                    &[[60, 0, 1, 4, 0, 0, 0, 0]; 8]
                        .into_iter()
                        .chain([[59, 0, 1, 4, 0, 0, 0, 0]])
                        .collect::<Vec<_>>()
                        .concat(),
                ),
            ),
            Expect::Row(Known::ExtHeaderCap),
        ),
        (
            // Found by the fuzz target.
            "two Fragment headers",
            eth(
                0x86dd,
                &ipv6(44, &[44, 0, 0, 1, 0, 0, 0, 7, 59, 0, 0, 0, 0, 0, 0, 8]),
            ),
            Expect::Row(Known::SecondFragmentHeader),
        ),
        (
            // Found by the fuzz target.
            "a second Fragment header cut short (both reject)",
            eth(0x86dd, &ipv6(44, &[44, 0, 0, 1, 0, 0, 0, 7, 59, 0])),
            Expect::BothReject,
        ),
        (
            // Found by the fuzz target.
            "two Fragment headers, then a cut AH (both reject)",
            eth(
                0x86dd,
                &ipv6(
                    44,
                    &[44, 0, 0, 0, 0, 0, 0, 1, 51, 0, 0, 0, 0, 0, 0, 2, 59, 9],
                ),
            ),
            Expect::BothReject,
        ),
        (
            "non-first fragment followed by junk",
            eth(0x86dd, &ipv6(44, &[60, 0, 0, 8, 0, 0, 0, 1, 60, 9])),
            Expect::Row(Known::NonFirstFragment),
        ),
        (
            // Found by the fuzz target.
            "ICMPv4 Timestamp of 24 octets",
            eth(
                0x0800,
                &ipv4_icmp(&[
                    13, 0, 0xf2, 0xff, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ]),
            ),
            Expect::Row(Known::Icmpv4Timestamp),
        ),
        (
            // Found by the fuzz target: etherparse's header is 20 octets.
            "ICMPv4 Timestamp of 20 octets",
            eth(
                0x0800,
                &ipv4_icmp(&[
                    13, 0, 0xf2, 0xfd, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
                ]),
            ),
            Expect::Agree,
        ),
        (
            "short Neighbor Solicitation",
            eth(0x86dd, &ipv6(58, &[135, 0, 0, 0, 0, 0, 0, 0])),
            Expect::Row(Known::NdFixedPart),
        ),
        (
            // Found by the fuzz target: we stop at the overrunning option,
            // etherparse at the second Hop-by-Hop header.
            "option overrun, then Hop-by-Hop again (both reject)",
            eth(
                0x86dd,
                &ipv6(0, &[0, 0, 0x99, 9, 0, 0, 0, 0, 59, 0, 1, 4, 0, 0, 0, 0]),
            ),
            Expect::BothReject,
        ),
        (
            "AH with Payload Len 0 (both reject)",
            eth(0x86dd, &ipv6(51, &[59, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1])),
            Expect::BothReject,
        ),
    ];
    let mut rows_taken = BTreeSet::new();
    for (name, frame, expected) in cases {
        let mut st = Stats::default();
        compare_frame(&frame, &mut st).unwrap_or_else(|e| panic!("{name}: {e}"));
        let taken: Vec<Known> = st.known.keys().copied().collect();
        let row = match expected {
            Expect::Row(k) => Some(k),
            Expect::BothReject | Expect::Agree => None,
        };
        assert_eq!(taken, row.into_iter().collect::<Vec<_>>(), "{name}: {st:?}");
        rows_taken.extend(taken);
        let both_rejected = usize::from(matches!(expected, Expect::BothReject));
        assert_eq!(st.both_rejected, both_rejected, "{name}: {st:?}");
    }
    // Every documented row has a case here (a row nothing reaches would be
    // an excuse nobody checks).
    assert_eq!(
        rows_taken.into_iter().collect::<Vec<_>>(),
        Known::ALL.to_vec(),
        "rows without a crafted case"
    );
}

/// A small deterministic generator (xorshift64*), so the structured test
/// below needs no extra dependency and always runs the same frames.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }
    fn byte(&mut self) -> u8 {
        self.next().to_be_bytes()[0]
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
    /// `exact` most of the time, else a nearby or random value: length
    /// fields that are right, off by a little, or wild.
    fn length(&mut self, exact: usize) -> u16 {
        let v = match self.below(8) {
            0 => exact.saturating_sub(self.below(9)),
            1 => exact + self.below(9),
            2 => self.below(0x10000),
            _ => exact,
        };
        u16::try_from(v).unwrap_or(u16::MAX)
    }
}

/// An upper-layer message of `protocol` with plausible, sometimes wrong,
/// length fields.
fn random_upper(rng: &mut Rng, protocol: u8) -> Vec<u8> {
    let body_len = rng.below(24);
    let body = rng.bytes(body_len);
    match protocol {
        17 => {
            let mut m = rng.bytes(4);
            let len = rng.length(8 + body.len());
            m.extend_from_slice(&len.to_be_bytes());
            m.extend_from_slice(&rng.bytes(2));
            m.extend_from_slice(&body);
            m
        }
        6 => {
            let words = rng.pick(&[5u8, 5, 6, 8, 15, 4, 0]);
            let mut m = rng.bytes(12);
            m.push((words << 4) | (rng.byte() & 0x0f));
            m.extend_from_slice(&rng.bytes(7));
            m.extend_from_slice(&rng.bytes(usize::from(words.saturating_sub(5)) * 4));
            m.extend_from_slice(&body);
            m
        }
        1 | 58 => {
            let ty = rng.pick(&[
                0u8, 3, 5, 8, 11, 12, 13, 14, 1, 2, 4, 128, 129, 133, 134, 135, 136, 137,
            ]);
            let code = rng.pick(&[0u8, 0, 0, 1, 4, 7]);
            let mut m = vec![ty, code];
            m.extend_from_slice(&rng.bytes(6));
            m.extend_from_slice(&body);
            let extra = rng.below(3) * 8;
            m.extend_from_slice(&rng.bytes(extra));
            m
        }
        _ => body,
    }
}

/// An IPv6 extension-header chain ending in `upper`, with the first
/// header's protocol number.
fn random_ipv6_chain(rng: &mut Rng, upper: u8) -> (u8, Vec<u8>) {
    let count = rng.pick(&[0usize, 0, 1, 1, 2, 3, 9]);
    let kinds: Vec<u8> = (0..count)
        .map(|_| rng.pick(&[0u8, 43, 44, 44, 60, 60, 51]))
        .collect();
    let mut chain = Vec::new();
    for (i, &kind) in kinds.iter().enumerate() {
        let next = kinds.get(i + 1).copied().unwrap_or(upper);
        match kind {
            44 => {
                chain.extend_from_slice(&[next, 0]);
                let offset_word = rng.pick(&[0u16, 0, 1, 8, 9, 0xfff9]);
                chain.extend_from_slice(&offset_word.to_be_bytes());
                chain.extend_from_slice(&rng.bytes(4));
            }
            51 => {
                let len = rng.pick(&[0u8, 1, 1, 2, 4]);
                chain.extend_from_slice(&[next, len]);
                chain.extend_from_slice(&rng.bytes((usize::from(len) + 2) * 4 - 2));
            }
            _ => {
                let len = rng.pick(&[0u8, 0, 1]);
                chain.extend_from_slice(&[next, len]);
                // Options: PadN-filled, or a Router Alert, or noise.
                let room = (usize::from(len) + 1) * 8 - 2;
                let options = match rng.below(4) {
                    0 => rng.bytes(room),
                    1 => {
                        let mut o = vec![5, rng.pick(&[2u8, 2, 3]), 0, 0];
                        o.extend_from_slice(&[1, u8::try_from(room - 6).unwrap()]);
                        o.resize(room, 0);
                        o
                    }
                    _ => {
                        let mut o = vec![1, u8::try_from(room - 2).unwrap()];
                        o.resize(room, 0);
                        o
                    }
                };
                chain.extend_from_slice(&options);
            }
        }
    }
    (kinds.first().copied().unwrap_or(upper), chain)
}

/// A frame with every layer present and each length field right, a little
/// off, or wild; VLAN tags with TPIDs from both parsers' sets.
fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let mut f = rng.bytes(12);
    for _ in 0..rng.pick(&[0usize, 0, 0, 0, 1, 1, 2, 3]) {
        let tpid: u16 = rng.pick(&[0x8100, 0x8100, 0x8100, 0x88a8, 0x9100]);
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&rng.bytes(2));
    }
    let upper = rng.pick(&[6u8, 17, 1, 58, 59, 51]);
    let message = random_upper(rng, upper);
    if rng.below(2) == 0 {
        f.extend_from_slice(&[0x08, 0x00]);
        let option_words = rng.pick(&[0usize, 0, 0, 1, 10]);
        let ihl = u8::try_from(5 + option_words).unwrap() & 0x0f;
        let version = if rng.below(16) == 0 { 6 } else { 4 };
        let mut h = vec![(version << 4) | ihl, rng.byte()];
        let total = rng.length(20 + option_words * 4 + message.len());
        h.extend_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&rng.bytes(2));
        let frag: u16 = rng.pick(&[0x4000, 0x4000, 0, 0x2000, 0x0001]);
        h.extend_from_slice(&frag.to_be_bytes());
        h.extend_from_slice(&[rng.byte(), upper, 0, 0]);
        h.extend_from_slice(&[198, 51, 100, rng.byte(), 203, 0, 113, rng.byte()]);
        h.extend_from_slice(&rng.bytes(option_words * 4));
        if rng.below(8) != 0 {
            let hl = h.len();
            Ipv4Packet::new_unchecked(&mut h[..hl]).fill_checksum();
        }
        f.extend_from_slice(&h);
    } else {
        f.extend_from_slice(&[0x86, 0xdd]);
        let (first, chain) = random_ipv6_chain(rng, upper);
        let version = if rng.below(16) == 0 { 4 } else { 6 };
        let mut h = vec![version << 4, rng.byte(), rng.byte(), rng.byte()];
        let payload_len = rng.length(chain.len() + message.len());
        h.extend_from_slice(&payload_len.to_be_bytes());
        h.extend_from_slice(&[first, rng.byte()]);
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&rng.bytes(12));
        h.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        h.extend_from_slice(&rng.bytes(12));
        f.extend_from_slice(&h);
        f.extend_from_slice(&chain);
    }
    f.extend_from_slice(&message);
    // Sometimes Ethernet padding, sometimes a cut.
    match rng.below(6) {
        0 => f.extend_from_slice(&[0; 6]),
        1 => f.truncate(f.len() - rng.below(f.len().min(16))),
        _ => {}
    }
    f
}

/// Frames built layer by layer from a fixed seed: every layer present,
/// length fields right, a little off or wild, VLAN TPIDs from both
/// parsers' sets, extension-header chains with Fragment, AH and options
/// headers. Reaches every documented difference and deep layers that
/// single mutations of the captures do not.
#[test]
fn structured_random_frames_agree() {
    let mut rng = Rng(0x5eed_0fe7_e20a_2500);
    let mut st = Stats::default();
    let mut failures = Vec::new();
    for i in 0..100_000 {
        let frame = random_frame(&mut rng);
        check(
            &frame,
            &|| format!("structured frame {i}"),
            &mut st,
            &mut failures,
        );
    }
    report("structured frames", &st, &failures);
    assert!(
        st.vlan > 0
            && st.ipv4 > 0
            && st.ipv6_ext > 0
            && st.udp > 0
            && st.tcp > 0
            && st.icmpv4 > 0
            && st.icmpv6 > 0
            && st.both_rejected > 0,
        "{st:?}"
    );
    assert_eq!(
        st.known.keys().copied().collect::<Vec<_>>(),
        Known::ALL.to_vec(),
        "documented differences never taken: {st:?}"
    );
}
