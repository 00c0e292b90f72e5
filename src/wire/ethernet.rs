//! Ethernet II frames (IEEE 802.3 clause 3.2.6 / RFC 894) with up to two
//! 802.1Q / 802.1ad VLAN tags.
//!
//! Contract:
//!
//! - [`Frame`] is a view over the fixed 14-byte header (destination, source,
//!   EtherType); once [`Frame::new_checked`] succeeds no accessor can panic.
//!   Its `payload` starts right after those 14 bytes, i.e. at the first VLAN
//!   tag if there is one.
//! - [`Repr`] is what the L2 stage needs: the addresses, the *innermost*
//!   EtherType (the L3 protocol) and the VLAN tags, plus [`Repr::header_len`]
//!   (14, 18 or 22) telling the caller where the L3 header starts.
//! - Tag walk: the outer TPID may be 0x8100 (802.1Q) or 0x88a8 (802.1ad
//!   S-tag); a second tag must use TPID 0x8100 (a C-tag; an S-tag inside a
//!   tag is `Malformed`); a third tag is `TooManyOptions`. Both tags are
//!   kept: `vlan` is the innermost (or only) tag, `outer_vlan` the S-tag of a
//!   double-tagged frame, so a reply can be built with the same tags.
//! - Emit writes TPID 0x8100 for a single tag and 0x88a8 + 0x8100 for two,
//!   as 802.1ad prescribes; a single-tag frame received with TPID 0x88a8, or
//!   a double-tagged one with an outer 0x8100, is re-emitted with the
//!   standard TPIDs.
//! - The frame check sequence is not part of the buffer (the NIC strips it),
//!   and short-frame padding belongs to the L3 payload: the IP views bound
//!   their payload by their own length fields.

#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use crate::wire::{EthernetAddress, ParseError, Result};

/// Length of the untagged Ethernet header.
pub const HEADER_LEN: usize = 14;

/// Length of one 802.1Q tag (TPID + TCI).
pub const VLAN_TAG_LEN: usize = 4;

/// Tags walked before giving up (802.1ad double tagging).
pub const MAX_VLAN_TAGS: usize = 2;

/// An EtherType (IEEE 802 numbers); total over `u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// IPv4, 0x0800.
    Ipv4,
    /// ARP, 0x0806.
    Arp,
    /// IPv6, 0x86dd.
    Ipv6,
    /// 802.1Q customer VLAN tag, 0x8100.
    Vlan,
    /// 802.1ad service VLAN tag (QinQ), 0x88a8.
    QinQ,
    /// Anything else (including 802.3 length values below 0x0600).
    Unknown(u16),
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x8100 => EtherType::Vlan,
            0x88a8 => EtherType::QinQ,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Vlan => 0x8100,
            EtherType::QinQ => 0x88a8,
            EtherType::Unknown(other) => other,
        }
    }
}

impl EtherType {
    /// Whether this value is a VLAN tag protocol identifier.
    pub const fn is_vlan_tpid(self) -> bool {
        matches!(self, EtherType::Vlan | EtherType::QinQ)
    }
}

mod field {
    use core::ops::Range;

    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const PAYLOAD: usize = 14;
}

/// A read/write view over an Ethernet II frame's fixed header.
///
/// Once [`Frame::new_checked`] (or [`Frame::check_len`]) succeeds, no
/// accessor can panic: the buffer holds at least [`HEADER_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps a buffer without checking it; accessors may panic until
    /// `check_len` has succeeded.
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps a buffer and checks it is long enough for every accessor.
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// `Truncated` if the buffer is shorter than the 14-byte header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(ParseError::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// A big-endian u16 at `at`, or `None` past the end: used by the VLAN
    /// walk, which reads beyond the checked 14 bytes.
    fn be16_at(&self, at: usize) -> Option<u16> {
        let end = at.checked_add(2)?;
        let bytes: [u8; 2] = self.buffer.as_ref().get(at..end)?.try_into().ok()?;
        Some(u16::from_be_bytes(bytes))
    }
}

// check_len covers field::DESTINATION, field::SOURCE and field::ETHERTYPE
// (14 octets); field::PAYLOAD.. is then at worst empty.
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]>> Frame<T> {
    /// Destination MAC address.
    pub fn dst_addr(&self) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        EthernetAddress(a)
    }

    /// Source MAC address.
    pub fn src_addr(&self) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        EthernetAddress(a)
    }

    /// The EtherType field at offset 12 (a TPID when the frame is tagged).
    pub fn ethertype(&self) -> EtherType {
        let d = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([d[0], d[1]]))
    }

    /// Everything after the 14-byte header (VLAN tags included).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[field::PAYLOAD..]
    }
}

// Setters index like the getters: on a view that passed check_len, or on
// an emit buffer of at least `Repr::buffer_len()` octets (the documented
// emit contract, which panics otherwise, as smoltcp's does).
#[allow(clippy::indexing_slicing)]
impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC address.
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(addr.as_bytes());
    }

    /// Sets the source MAC address.
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(addr.as_bytes());
    }

    /// Sets the EtherType field at offset 12.
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        self.set_be16_at(field::ETHERTYPE.start, ethertype.into());
    }

    /// Everything after the 14-byte header, mutable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }

    /// Writes a big-endian u16 at `at`; panics past the end (emit contract).
    fn set_be16_at(&mut self, at: usize, value: u16) {
        self.buffer.as_mut()[at..at + 2].copy_from_slice(&value.to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// An 802.1Q Tag Control Information field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VlanTag {
    /// Priority Code Point (3 bits, IEEE 802.1p class).
    pub pcp: u8,
    /// Drop Eligible Indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits; 0 means priority-tagged only).
    pub vid: u16,
}

impl VlanTag {
    /// Splits a 16-bit TCI into its fields.
    pub const fn from_tci(tci: u16) -> VlanTag {
        VlanTag {
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
        }
    }

    /// The 16-bit TCI; out-of-range `pcp` / `vid` bits are masked off.
    pub const fn tci(&self) -> u16 {
        ((self.pcp as u16 & 0x7) << 13) | ((self.dei as u16) << 12) | (self.vid & 0x0fff)
    }
}

/// The meaning of an Ethernet header, VLAN tags resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Destination MAC address.
    pub dst_addr: EthernetAddress,
    /// Source MAC address.
    pub src_addr: EthernetAddress,
    /// The innermost EtherType: the protocol of the L3 header.
    pub ethertype: EtherType,
    /// The innermost (or only) VLAN tag.
    pub vlan: Option<VlanTag>,
    /// The outer (service) tag of a double-tagged frame. Emitted as a single
    /// 0x8100 tag if `vlan` is `None`.
    pub outer_vlan: Option<VlanTag>,
}

impl Repr {
    /// Parses the header and walks up to [`MAX_VLAN_TAGS`] tags.
    ///
    /// Errors: `Truncated` if the buffer ends inside the header or a tag,
    /// `Malformed` if a second tag has a TPID other than 0x8100,
    /// `TooManyOptions` on a third tag.
    #[inline]
    pub fn parse<T: AsRef<[u8]>>(frame: &Frame<T>) -> Result<Repr> {
        frame.check_len()?;
        let mut ethertype = frame.ethertype();
        // `type_at` is the offset of the field holding `ethertype`.
        let mut type_at = field::ETHERTYPE.start;
        let mut tags: [Option<VlanTag>; MAX_VLAN_TAGS] = [None; MAX_VLAN_TAGS];
        let mut count = 0usize;
        while ethertype.is_vlan_tpid() {
            let Some(slot) = tags.get_mut(count) else {
                return Err(ParseError::TooManyOptions);
            };
            if count > 0 && ethertype != EtherType::Vlan {
                return Err(ParseError::Malformed);
            }
            let tci = frame.be16_at(type_at + 2).ok_or(ParseError::Truncated)?;
            let next = frame.be16_at(type_at + 4).ok_or(ParseError::Truncated)?;
            *slot = Some(VlanTag::from_tci(tci));
            count += 1;
            type_at += VLAN_TAG_LEN;
            ethertype = EtherType::from(next);
        }
        let (vlan, outer_vlan) = match tags {
            [Some(outer), Some(inner)] => (Some(inner), Some(outer)),
            [only, _] => (only, None),
        };
        Ok(Repr {
            dst_addr: frame.dst_addr(),
            src_addr: frame.src_addr(),
            ethertype,
            vlan,
            outer_vlan,
        })
    }

    /// Number of tags this header carries.
    fn tag_count(&self) -> usize {
        usize::from(self.vlan.is_some()) + usize::from(self.outer_vlan.is_some())
    }

    /// Bytes from the start of the frame to the L3 header: 14, 18 or 22.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + VLAN_TAG_LEN * self.tag_count()
    }

    /// Same as [`Repr::header_len`]: the bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.header_len()
    }

    /// Writes the header and tags into the first `header_len()` bytes.
    ///
    /// # Panics
    /// If the buffer is shorter than `header_len()`, as any setter on a
    /// `new_unchecked` view.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        let mut type_at = field::ETHERTYPE.start;
        let (first, second) = match (self.outer_vlan, self.vlan) {
            (Some(outer), Some(inner)) => (Some((EtherType::QinQ, outer)), Some(inner)),
            (Some(only), None) | (None, Some(only)) => (Some((EtherType::Vlan, only)), None),
            (None, None) => (None, None),
        };
        if let Some((tpid, tag)) = first {
            frame.set_be16_at(type_at, tpid.into());
            frame.set_be16_at(type_at + 2, tag.tci());
            type_at += VLAN_TAG_LEN;
        }
        if let Some(tag) = second {
            frame.set_be16_at(type_at, EtherType::Vlan.into());
            frame.set_be16_at(type_at + 2, tag.tci());
            type_at += VLAN_TAG_LEN;
        }
        frame.set_be16_at(type_at, self.ethertype.into());
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const VM_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc]);
    const ROUTER_MAC: EthernetAddress = EthernetAddress([0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01]);

    /// forwarding-qr0.pcap frame 23: the VM's ARP "who has 198.51.100.1".
    static ARP_FRAME: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // destination: broadcast
        0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // source: the VM
        0x08, 0x06, // EtherType: ARP
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, // ARP: Ethernet/IPv4, request
        0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, 0xc6, 0x33, 0x64, 0x04, // sender
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x33, 0x64, 0x01, // target
    ];

    /// An IPv6 frame with one 802.1Q tag (PCP 5, VID 100); L3 bytes elided.
    static TAGGED_HEADER: [u8; 18] = [
        0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01, // destination: the router
        0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // source: the VM
        0x81, 0x00, 0xa0, 0x64, // 802.1Q tag: PCP 5, DEI 0, VID 100
        0x86, 0xdd, // EtherType: IPv6
    ];

    /// A QinQ IPv4 frame: S-tag VID 200 (DEI set), C-tag VID 100.
    static QINQ_HEADER: [u8; 22] = [
        0xfa, 0x16, 0x3e, 0x11, 0x11, 0x01, // destination: the router
        0xfa, 0x16, 0x3e, 0x79, 0x5a, 0xcc, // source: the VM
        0x88, 0xa8, 0x10, 0xc8, // 802.1ad S-tag: PCP 0, DEI 1, VID 200
        0x81, 0x00, 0x00, 0x64, // 802.1Q C-tag: PCP 0, DEI 0, VID 100
        0x08, 0x00, // EtherType: IPv4
    ];

    fn tagged_repr() -> Repr {
        Repr {
            dst_addr: ROUTER_MAC,
            src_addr: VM_MAC,
            ethertype: EtherType::Ipv6,
            vlan: Some(VlanTag {
                pcp: 5,
                dei: false,
                vid: 100,
            }),
            outer_vlan: None,
        }
    }

    fn qinq_repr() -> Repr {
        Repr {
            dst_addr: ROUTER_MAC,
            src_addr: VM_MAC,
            ethertype: EtherType::Ipv4,
            vlan: Some(VlanTag {
                pcp: 0,
                dei: false,
                vid: 100,
            }),
            outer_vlan: Some(VlanTag {
                pcp: 0,
                dei: true,
                vid: 200,
            }),
        }
    }

    #[test]
    fn ethertype_is_total() {
        for n in [
            0x0800u16, 0x0806, 0x86dd, 0x8100, 0x88a8, 0x88cc, 0x0000, 0xffff,
        ] {
            assert_eq!(u16::from(EtherType::from(n)), n);
        }
        assert_eq!(EtherType::from(0x88cc), EtherType::Unknown(0x88cc));
    }

    #[test]
    fn vlan_tci_round_trip() {
        let tag = VlanTag::from_tci(0xb064);
        assert_eq!(
            tag,
            VlanTag {
                pcp: 5,
                dei: true,
                vid: 100
            }
        );
        assert_eq!(tag.tci(), 0xb064);
    }

    #[test]
    fn deconstruct() {
        let frame = Frame::new_checked(&ARP_FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(frame.src_addr(), VM_MAC);
        assert_eq!(frame.ethertype(), EtherType::Arp);
        assert_eq!(frame.payload(), &ARP_FRAME[14..]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 42];
        let mut frame = Frame::new_unchecked(&mut bytes[..]);
        frame.set_dst_addr(EthernetAddress::BROADCAST);
        frame.set_src_addr(VM_MAC);
        frame.set_ethertype(EtherType::Arp);
        frame.payload_mut().copy_from_slice(&ARP_FRAME[14..]);
        assert_eq!(bytes, ARP_FRAME);
    }

    #[test]
    fn parse_untagged() {
        let frame = Frame::new_checked(&ARP_FRAME[..]).unwrap();
        let repr = Repr::parse(&frame).unwrap();
        assert_eq!(
            repr,
            Repr {
                dst_addr: EthernetAddress::BROADCAST,
                src_addr: VM_MAC,
                ethertype: EtherType::Arp,
                vlan: None,
                outer_vlan: None,
            }
        );
        assert_eq!(repr.header_len(), 14);
    }

    #[test]
    fn parse_tagged() {
        let repr = Repr::parse(&Frame::new_checked(&TAGGED_HEADER[..]).unwrap()).unwrap();
        assert_eq!(repr, tagged_repr());
        assert_eq!(repr.header_len(), 18);
    }

    #[test]
    fn parse_qinq() {
        let repr = Repr::parse(&Frame::new_checked(&QINQ_HEADER[..]).unwrap()).unwrap();
        assert_eq!(repr, qinq_repr());
        assert_eq!(repr.header_len(), 22);
    }

    #[test]
    fn parse_double_8100_keeps_both_tags() {
        // Old double 802.1Q (outer TPID 0x8100) is accepted like QinQ.
        let mut bytes = QINQ_HEADER;
        bytes[12..14].copy_from_slice(&[0x81, 0x00]);
        let repr = Repr::parse(&Frame::new_unchecked(&bytes[..])).unwrap();
        assert_eq!(repr, qinq_repr());
    }

    #[test]
    fn emit_untagged() {
        let repr = Repr {
            dst_addr: EthernetAddress::BROADCAST,
            src_addr: VM_MAC,
            ethertype: EtherType::Arp,
            vlan: None,
            outer_vlan: None,
        };
        let mut bytes = [0xa5u8; 14];
        assert_eq!(repr.buffer_len(), bytes.len());
        repr.emit(&mut Frame::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, ARP_FRAME[..14]);
    }

    #[test]
    fn emit_tagged() {
        let mut bytes = [0xa5u8; 18];
        assert_eq!(tagged_repr().buffer_len(), bytes.len());
        tagged_repr().emit(&mut Frame::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, TAGGED_HEADER);
    }

    #[test]
    fn emit_qinq() {
        let mut bytes = [0xa5u8; 22];
        assert_eq!(qinq_repr().buffer_len(), bytes.len());
        qinq_repr().emit(&mut Frame::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, QINQ_HEADER);
    }

    #[test]
    fn round_trip() {
        for repr in [tagged_repr(), qinq_repr()] {
            let mut bytes = [0u8; 64];
            repr.emit(&mut Frame::new_unchecked(&mut bytes[..]));
            assert_eq!(
                Repr::parse(&Frame::new_checked(&bytes[..]).unwrap()),
                Ok(repr)
            );
        }
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(
            Frame::new_checked(&ARP_FRAME[..13]).err(),
            Some(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_truncated_vlan_tag() {
        let frame = Frame::new_checked(&TAGGED_HEADER[..17]).unwrap();
        assert_eq!(Repr::parse(&frame), Err(ParseError::Truncated));
    }

    #[test]
    fn rejects_s_tag_inside_c_tag() {
        let mut bytes = QINQ_HEADER;
        bytes[12..14].copy_from_slice(&[0x81, 0x00]);
        bytes[16..18].copy_from_slice(&[0x88, 0xa8]);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&frame), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_third_tag() {
        let mut bytes = [0u8; 26];
        bytes[..20].copy_from_slice(&QINQ_HEADER[..20]);
        bytes[20..22].copy_from_slice(&[0x81, 0x00]); // third TPID
        bytes[22..24].copy_from_slice(&[0x00, 0x01]);
        bytes[24..26].copy_from_slice(&[0x86, 0xdd]);
        let frame = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&frame), Err(ParseError::TooManyOptions));
    }
}
