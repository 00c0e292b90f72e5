//! Helpers shared by the routelet fuzz targets.
//!
//! The targets themselves live in `fuzz_targets/`; this crate holds what
//! more than one of them needs: the address table the ND/ICMPv6 targets pick
//! from, a checksum check that still works under `cfg(fuzzing)` (where the
//! library's `verify` helpers always say yes so the fuzzer reaches past
//! them), and the record format of `pipeline_frame`.
//!
//! Addresses are documentation ranges only (2001:db8::/32, fe80::/10,
//! ff02::/16, ::; 198.51.100.0/24, 203.0.113.0/24).

use std::net::{Ipv4Addr, Ipv6Addr};

use routelet::wire::checksum;

/// Addresses an input byte selects from (`byte & 7`): one of each kind the
/// ND validity rules (RFC 4861 §6.1, §7.1) tell apart, so the fuzzer can
/// reach every branch without guessing 16-byte values.
pub const V6_ADDRS: [Ipv6Addr; 8] = [
    // 0: unspecified (DAD probes, RS before an address).
    Ipv6Addr::UNSPECIFIED,
    // 1: the talk's VM, link-local.
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0xf816, 0x3eff, 0xfe79, 0x5acc),
    // 2: a router's link-local.
    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
    // 3: the VM's SLAAC address.
    Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0xf816, 0x3eff, 0xfe79, 0x5acc),
    // 4: all-nodes.
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1),
    // 5: all-routers.
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2),
    // 6: the VM's solicited-node group.
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff79, 0x5acc),
    // 7: the subnet's gateway.
    Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0, 0, 0, 1),
];

/// The address `selector` picks from [`V6_ADDRS`].
pub fn v6_addr(selector: u8) -> Ipv6Addr {
    V6_ADDRS[usize::from(selector & 7)]
}

/// Fixed IPv6 source for targets that do not vary the addresses.
pub const V6_SRC: Ipv6Addr = V6_ADDRS[3];
/// Fixed IPv6 destination for targets that do not vary the addresses.
pub const V6_DST: Ipv6Addr = V6_ADDRS[7];
/// Fixed IPv4 source.
pub const V4_SRC: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 4);
/// Fixed IPv4 destination.
pub const V4_DST: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 1);

/// Whether `data` (checksum field included) sums to 0xffff with the
/// pseudo-header sum `pseudo` (0 for the IPv4 header and ICMPv4).
///
/// `checksum::verify` is `true` under `cfg(fuzzing)`; this is the real
/// check, used to assert that what routelet *emits* is correct.
pub fn checksum_ok(pseudo: u16, data: &[u8]) -> bool {
    checksum::combine(&[pseudo, checksum::sum(data)]) == 0xffff
}

/// [`checksum_ok`] for an ICMPv6 message from `src` to `dst`.
pub fn icmpv6_checksum_ok(src: &Ipv6Addr, dst: &Ipv6Addr, message: &[u8]) -> bool {
    let Ok(len) = u32::try_from(message.len()) else {
        return false;
    };
    checksum_ok(checksum::pseudo_header_v6(src, dst, 58, len), message)
}

/// One frame of a `pipeline_frame` input.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// Ingress interface selector (the target reduces it modulo the
    /// interface count plus one, so an unknown interface is reachable).
    pub iface: u8,
    /// Time since the previous record, in microseconds.
    pub advance_micros: u64,
    /// The frame.
    pub frame: &'a [u8],
}

/// Header of a record: iface (1), time step (2, big-endian), length (2,
/// big-endian).
pub const RECORD_HEADER_LEN: usize = 5;

/// Splits a `pipeline_frame` input into records.
///
/// Record layout: `iface:u8 | step:u16be | len:u16be | frame[len]`. The
/// step's top bit picks the unit: clear = milliseconds, set = seconds (low
/// 15 bits), so both back-to-back frames and RA intervals (up to 1800 s)
/// are a short step away. A last record whose length runs past the end
/// takes what is left, so every input means something.
pub fn records(mut input: &[u8]) -> impl Iterator<Item = Record<'_>> {
    core::iter::from_fn(move || {
        let (header, rest) = input.split_first_chunk::<RECORD_HEADER_LEN>()?;
        let [iface, s0, s1, l0, l1] = *header;
        let step = u16::from_be_bytes([s0, s1]);
        let advance_micros = if step & 0x8000 != 0 {
            u64::from(step & 0x7fff) * 1_000_000
        } else {
            u64::from(step) * 1_000
        };
        let len = usize::from(u16::from_be_bytes([l0, l1])).min(rest.len());
        let (frame, tail) = rest.split_at(len);
        input = tail;
        Some(Record {
            iface,
            advance_micros,
            frame,
        })
    })
}

/// Encodes one record (used by the seed tooling and handy in tests).
pub fn encode_record(out: &mut Vec<u8>, iface: u8, step: u16, frame: &[u8]) {
    out.push(iface);
    out.extend_from_slice(&step.to_be_bytes());
    let len = u16::try_from(frame.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(frame.get(..usize::from(len)).unwrap_or(frame));
}

/// Walks every option of an ND message and everything inside it: each
/// RDNSS address, each DNSSL name (labels and `Display`), the link-layer
/// addresses; `Display`s what has a `Display`. Returns how many options
/// parsed. Asserts the invariants the option types document.
pub fn exercise_nd_options(options: routelet::wire::NdiscOptions<'_>) -> usize {
    use core::fmt::Write as _;
    use routelet::wire::{NdiscOption, NdiscOptions};
    use std::hint::black_box;

    let mut text = String::new();
    let mut count = 0usize;
    for option in options.iter() {
        let Ok(option) = option else {
            break;
        };
        count += 1;
        assert!(
            count <= routelet::wire::ndisc::MAX_OPTIONS,
            "walk passed MAX_OPTIONS"
        );
        black_box(option.kind());
        let len = option.buffer_len();
        assert!(len % 8 == 0 && len > 0, "option length {len} not 8k");
        match option {
            NdiscOption::SourceLinkLayerAddr(mac) | NdiscOption::TargetLinkLayerAddr(mac) => {
                let _ = write!(text, "{mac}");
            }
            NdiscOption::PrefixInformation(pi) => {
                assert!(pi.prefix_len <= 128);
                let _ = write!(text, "{}/{}", pi.prefix, pi.prefix_len);
            }
            NdiscOption::RedirectedHeader(data) => {
                black_box(data.len());
            }
            NdiscOption::Mtu(mtu) => {
                black_box(mtu);
            }
            NdiscOption::RouteInformation {
                prefix_len,
                preference,
                lifetime,
                prefix,
            } => {
                assert!(prefix_len <= 128);
                black_box((preference.effective(), lifetime));
                let _ = write!(text, "{prefix}/{prefix_len}");
            }
            NdiscOption::Rdnss {
                lifetime,
                addresses,
            } => {
                black_box(lifetime);
                assert!(!addresses.is_empty(), "RDNSS without addresses");
                let mut n = 0usize;
                for addr in addresses.iter() {
                    let _ = write!(text, "{addr} ");
                    n += 1;
                }
                assert_eq!(n, addresses.len());
            }
            NdiscOption::Dnssl { lifetime, domains } => {
                black_box(lifetime);
                domains.check().expect("parsed DNSSL fails its own check");
                for name in domains.iter() {
                    let labels = name.labels().count();
                    assert!(labels > 0, "empty DNSSL name");
                    assert!(name.encoded_len() <= 255);
                    for label in name.labels() {
                        assert!((1..=63).contains(&label.len()));
                    }
                    let _ = write!(text, "{name} ");
                }
            }
            NdiscOption::Unknown { kind, data } => {
                black_box((kind, data.len()));
            }
        }
    }
    black_box(options.source_link_layer_addr());
    black_box(options.target_link_layer_addr());
    black_box(options.buffer_len());
    black_box(text);
    let _ = NdiscOptions::EMPTY;
    count
}
