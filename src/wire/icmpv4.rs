//! ICMPv4 messages (RFC 792; next-hop MTU of RFC 1191 §4): a view over the
//! bytes and a `Repr`.
//!
//! Contract:
//!
//! - [`Packet`] is a view over exactly one ICMP message (the caller slices
//!   the IPv4 payload to its length). [`Packet::check_len`] requires the
//!   8-octet header every ICMP message has (type, code, checksum and a
//!   4-octet word); the data after it is whatever remains. Getters never
//!   panic: a field past the end reads as zero and a setter writing past
//!   it does nothing, so even a `new_unchecked` view cannot crash.
//! - [`Repr::parse`] verifies the checksum (over the message alone, no
//!   pseudo-header) and gives `BadChecksum`; [`Repr::emit`] fills it.
//! - The router answers echo requests and sends Destination Unreachable
//!   (including "fragmentation needed" with the next-hop MTU for PMTUD),
//!   Time Exceeded and Parameter Problem. Redirect and unknown types have
//!   no `Repr` (`Malformed`); the view still reads them, and
//!   [`Message`] is total.
//! - RFC 1122 §3.2.2: never send an ICMP error about an ICMP error;
//!   [`Message::is_error`] tells them apart.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::fmt;

use super::checksum;
use super::icmpv6::enum_with_unknown;
use super::{ParseError, Result};

/// Length of the ICMP header: type, code, checksum, one word.
pub const HEADER_LEN: usize = field::HEADER_END;

enum_with_unknown! {
    /// ICMP message type (RFC 792).
    pub enum Message(u8) {
        /// Echo Reply.
        EchoReply = 0,
        /// Destination Unreachable.
        DstUnreachable = 3,
        /// Redirect.
        Redirect = 5,
        /// Echo Request.
        EchoRequest = 8,
        /// Time Exceeded.
        TimeExceeded = 11,
        /// Parameter Problem.
        ParamProblem = 12,
    }
}

impl Message {
    /// Whether this type reports an error about another datagram. A router
    /// must not send an error about one of these (RFC 1122 §3.2.2,
    /// RFC 1812 §4.3.2.7). Unknown types count as errors: the safe side.
    pub fn is_error(self) -> bool {
        // Informational: echo (0, 8), router discovery (9, 10), timestamp,
        // information and address mask request/reply (13..=18).
        !matches!(u8::from(self), 0 | 8 | 9 | 10 | 13..=18)
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Unknown(n) => write!(f, "unknown ({n})"),
            other => fmt::Debug::fmt(other, f),
        }
    }
}

enum_with_unknown! {
    /// Destination Unreachable codes (RFC 792, RFC 1122 §3.2.2.1,
    /// RFC 1812 §5.2.7.1).
    pub enum DstUnreachable(u8) {
        /// Net unreachable.
        NetUnreachable = 0,
        /// Host unreachable.
        HostUnreachable = 1,
        /// Protocol unreachable.
        ProtoUnreachable = 2,
        /// Port unreachable.
        PortUnreachable = 3,
        /// Fragmentation needed and DF set; carries the next-hop MTU.
        FragRequired = 4,
        /// Source route failed.
        SrcRouteFailed = 5,
        /// Destination network unknown.
        DstNetUnknown = 6,
        /// Destination host unknown.
        DstHostUnknown = 7,
        /// Source host isolated.
        SrcHostIsolated = 8,
        /// Network administratively prohibited.
        NetProhibited = 9,
        /// Host administratively prohibited.
        HostProhibited = 10,
        /// Network unreachable for type of service.
        NetUnreachToS = 11,
        /// Host unreachable for type of service.
        HostUnreachToS = 12,
        /// Communication administratively prohibited (security groups).
        AdminProhibited = 13,
        /// Host precedence violation.
        HostPrecedViol = 14,
        /// Precedence cutoff in effect.
        PrecedCutoff = 15,
    }
}

enum_with_unknown! {
    /// Time Exceeded codes (RFC 792).
    pub enum TimeExceeded(u8) {
        /// Time to live exceeded in transit.
        TtlExpired = 0,
        /// Fragment reassembly time exceeded.
        FragExpired = 1,
    }
}

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// Echo Request/Reply.
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    /// Destination Unreachable, code 4 (RFC 1191 §4).
    pub const NEXT_HOP_MTU: Range<usize> = 6..8;
    /// Parameter Problem.
    pub const POINTER: usize = 4;
    /// The second word ends here.
    pub const HEADER_END: usize = 8;
}

/// A view over an ICMP message.
///
/// After [`Packet::check_len`] succeeds every header field lies inside the
/// buffer; getters and setters never index out of bounds in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer and checks its length ([`Packet::check_len`]).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// `Truncated` unless the buffer holds the 8-octet header.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < field::HEADER_END {
            return Err(ParseError::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The whole message.
    pub fn as_bytes(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn read<const N: usize>(&self, at: usize) -> [u8; N] {
        at.checked_add(N)
            .and_then(|end| self.buffer.as_ref().get(at..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .unwrap_or([0; N])
    }

    fn read_u16(&self, at: usize) -> u16 {
        u16::from_be_bytes(self.read(at))
    }

    /// Message type.
    pub fn msg_type(&self) -> Message {
        let [t] = self.read(field::TYPE);
        Message::from(t)
    }

    /// Code, whose meaning depends on the type.
    pub fn msg_code(&self) -> u8 {
        let [c] = self.read(field::CODE);
        c
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        self.read_u16(field::CHECKSUM.start)
    }

    /// Echo identifier (Echo Request/Reply).
    pub fn echo_ident(&self) -> u16 {
        self.read_u16(field::ECHO_IDENT.start)
    }

    /// Echo sequence number (Echo Request/Reply).
    pub fn echo_seq_no(&self) -> u16 {
        self.read_u16(field::ECHO_SEQNO.start)
    }

    /// Next-hop MTU of a "fragmentation needed" Destination Unreachable
    /// (RFC 1191 §4); 0 from routers that predate it.
    pub fn next_hop_mtu(&self) -> u16 {
        self.read_u16(field::NEXT_HOP_MTU.start)
    }

    /// Octet of the invoking datagram in error (Parameter Problem).
    pub fn param_problem_ptr(&self) -> u8 {
        let [p] = self.read(field::POINTER);
        p
    }

    /// Everything after the 8-octet header: echo data, or the invoking IP
    /// header and leading payload of an error.
    pub fn data(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::HEADER_END..)
            .unwrap_or_default()
    }

    /// Whether the checksum verifies (always true under `cfg(fuzzing)`).
    pub fn verify_checksum(&self) -> bool {
        checksum::verify(0, self.buffer.as_ref())
    }
}

impl<'a> Packet<&'a [u8]> {
    /// The data, with the lifetime of the buffer.
    fn data_ref(&self) -> &'a [u8] {
        self.buffer.get(field::HEADER_END..).unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn write(&mut self, at: usize, src: &[u8]) {
        if let Some(dst) = at
            .checked_add(src.len())
            .and_then(|end| self.buffer.as_mut().get_mut(at..end))
        {
            dst.copy_from_slice(src);
        }
    }

    /// Sets the message type.
    pub fn set_msg_type(&mut self, value: Message) {
        self.write(field::TYPE, &[u8::from(value)]);
    }

    /// Sets the code.
    pub fn set_msg_code(&mut self, value: u8) {
        self.write(field::CODE, &[value]);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        self.write(field::CHECKSUM.start, &value.to_be_bytes());
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        self.write(field::ECHO_IDENT.start, &value.to_be_bytes());
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.write(field::ECHO_SEQNO.start, &value.to_be_bytes());
    }

    /// Sets the next-hop MTU (and zeroes the unused half-word before it).
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        let [hi, lo] = value.to_be_bytes();
        self.write(field::CHECKSUM.end, &[0, 0, hi, lo]);
    }

    /// Sets the Parameter Problem pointer (and zeroes the unused rest).
    pub fn set_param_problem_ptr(&mut self, value: u8) {
        self.write(field::POINTER, &[value, 0, 0, 0]);
    }

    /// Zeroes the second word, unused in Time Exceeded and most
    /// Destination Unreachable messages (senders must zero it).
    pub fn clear_reserved(&mut self) {
        self.write(field::CHECKSUM.end, &[0; 4]);
    }

    /// Everything after the header, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::HEADER_END..)
            .unwrap_or_default()
    }

    /// Computes and writes the checksum over the whole buffer.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::finish(0, self.buffer.as_ref());
        self.set_checksum(sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaning of an ICMP message the router sends or answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo Request.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, echoed back.
        data: &'a [u8],
    },
    /// Echo Reply.
    EchoReply {
        /// Identifier of the request.
        ident: u16,
        /// Sequence number of the request.
        seq_no: u16,
        /// Data of the request.
        data: &'a [u8],
    },
    /// Destination Unreachable.
    DstUnreachable {
        /// Code.
        reason: DstUnreachable,
        /// Next-hop MTU for [`DstUnreachable::FragRequired`], else 0.
        next_hop_mtu: u16,
        /// Invoking IP header and leading payload.
        data: &'a [u8],
    },
    /// Time Exceeded.
    TimeExceeded {
        /// Code.
        reason: TimeExceeded,
        /// Invoking IP header and leading payload.
        data: &'a [u8],
    },
    /// Parameter Problem, code 0 ("pointer indicates the error").
    ParamProblem {
        /// Octet of the invoking datagram in error.
        pointer: u8,
        /// Invoking IP header and leading payload.
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Parses a message.
    ///
    /// `Truncated` below 8 octets, `BadChecksum`, and `Malformed` for an
    /// echo or Parameter Problem code other than 0 and for types without
    /// a `Repr` (Redirect, unknown). Destination Unreachable and Time
    /// Exceeded codes are total.
    pub fn parse(packet: &Packet<&'a [u8]>) -> Result<Repr<'a>> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(ParseError::BadChecksum);
        }
        let data = packet.data_ref();
        match (packet.msg_type(), packet.msg_code()) {
            (Message::EchoRequest, 0) => Ok(Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::EchoReply, 0) => Ok(Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            (Message::DstUnreachable, code) => Ok(Repr::DstUnreachable {
                reason: DstUnreachable::from(code),
                next_hop_mtu: packet.next_hop_mtu(),
                data,
            }),
            (Message::TimeExceeded, code) => Ok(Repr::TimeExceeded {
                reason: TimeExceeded::from(code),
                data,
            }),
            (Message::ParamProblem, 0) => Ok(Repr::ParamProblem {
                pointer: packet.param_problem_ptr(),
                data,
            }),
            _ => Err(ParseError::Malformed),
        }
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        let data = match self {
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::DstUnreachable { data, .. }
            | Repr::TimeExceeded { data, .. }
            | Repr::ParamProblem { data, .. } => data,
        };
        HEADER_LEN.saturating_add(data.len())
    }

    /// The message type.
    pub fn msg_type(&self) -> Message {
        match self {
            Repr::EchoRequest { .. } => Message::EchoRequest,
            Repr::EchoReply { .. } => Message::EchoReply,
            Repr::DstUnreachable { .. } => Message::DstUnreachable,
            Repr::TimeExceeded { .. } => Message::TimeExceeded,
            Repr::ParamProblem { .. } => Message::ParamProblem,
        }
    }

    /// Writes the message into `packet`, whose buffer should be exactly
    /// [`Repr::buffer_len`] octets (the checksum covers the whole buffer),
    /// and fills the checksum. `Truncated` if the buffer is shorter.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        if packet.as_bytes().len() < self.buffer_len() {
            return Err(ParseError::Truncated);
        }
        packet.set_msg_type(self.msg_type());
        let (code, data) = match *self {
            Repr::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Repr::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                packet.set_echo_ident(ident);
                packet.set_echo_seq_no(seq_no);
                (0, data)
            }
            Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                data,
            } => {
                packet.set_next_hop_mtu(next_hop_mtu);
                (reason.into(), data)
            }
            Repr::TimeExceeded { reason, data } => {
                packet.clear_reserved();
                (reason.into(), data)
            }
            Repr::ParamProblem { pointer, data } => {
                packet.set_param_problem_ptr(pointer);
                (0, data)
            }
        };
        packet.set_msg_code(code);
        packet.write(field::HEADER_END, data);
        packet.fill_checksum();
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    /// forwarding-qr0.pcap frame 25: ping 198.51.100.4 -> 203.0.113.1.
    static ECHO_REQUEST: [u8; 64] = [
        0x08, 0x00, 0x26, 0x49, // type 8 echo request, code 0, checksum
        0x3d, 0x5a, 0x00, 0x01, // identifier 0x3d5a, sequence 1
        // 56 octets of ping data
        0x2c, 0x2e, 0x0c, 0x6b, 0x00, 0x00, 0x00, 0x00, 0x91, 0xef, 0x0b, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
        0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    /// forwarding-qr0.pcap frame 60: traceroute hop 1, 198.51.100.1 -> .4.
    static TIME_EXCEEDED: [u8; 68] = [
        0x0b, 0x00, 0x2a, 0xf4, // type 11 time exceeded, code 0 TTL, checksum
        0x00, 0x00, 0x00, 0x00, // unused
        // invoking IPv4 header: TTL 1, UDP, 198.51.100.4 -> 203.0.113.1
        0x45, 0x00, 0x00, 0x3c, 0xe9, 0xd8, 0x00, 0x00, 0x01, 0x11, 0x69, 0x9f, 0xc6, 0x33, 0x64,
        0x04, 0xcb, 0x00, 0x71, 0x01,
        // invoking UDP header 60368 -> 33434 and 32 octets of payload
        0xeb, 0xd0, 0x82, 0x9a, 0x00, 0x28, 0x66, 0x73, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46,
        0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
        0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    ];

    /// forwarding-qr0.pcap frame 62: port unreachable, 203.0.113.1 -> .4.
    static PORT_UNREACHABLE: [u8; 68] = [
        0x03, 0x03, 0x83, 0xbb, // type 3 dst unreachable, code 3 port, checksum
        0x00, 0x00, 0x00, 0x00, // unused
        // invoking IPv4 header
        0x45, 0x00, 0x00, 0x3c, 0xae, 0x2c, 0x00, 0x00, 0x01, 0x11, 0xa5, 0x4b, 0xc6, 0x33, 0x64,
        0x04, 0xcb, 0x00, 0x71, 0x01, // invoking UDP header 39685 -> 33435 and payload
        0x9b, 0x05, 0x82, 0x9b, 0x00, 0x28, 0x66, 0x73, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46,
        0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55,
        0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    ];

    /// The header of forwarding-qr0.pcap frame 70 ("fragmentation needed",
    /// next-hop MTU 1280), followed by the first 28 octets it quoted.
    static FRAG_NEEDED: [u8; 36] = [
        0x03, 0x04, 0x00, 0x00, // type 3, code 4 frag needed, checksum (computed)
        0x00, 0x00, 0x05, 0x00, // unused, next-hop MTU 1280
        // invoking IPv4 header: 1400 octets, DF, ICMP, 198.51.100.4 -> 203.0.113.1
        0x45, 0x00, 0x05, 0x78, 0x00, 0x00, 0x40, 0x00, 0x40, 0x01, 0x00, 0x00, 0xc6, 0x33, 0x64,
        0x04, 0xcb, 0x00, 0x71, 0x01, //
        0x08, 0x00, 0x00, 0x00, 0x3d, 0xbf, 0x00, 0x01, // invoking echo request header
    ];

    fn with_checksum(bytes: &[u8]) -> Vec<u8> {
        let mut v = bytes.to_vec();
        v[2] = 0;
        v[3] = 0;
        let c = checksum::finish(0, &v);
        v[2..4].copy_from_slice(&c.to_be_bytes());
        v
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(p.msg_type(), Message::EchoRequest);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x2649);
        assert_eq!(p.echo_ident(), 0x3d5a);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.data(), &ECHO_REQUEST[8..]);
        assert!(p.verify_checksum());

        let p = Packet::new_checked(&PORT_UNREACHABLE[..]).unwrap();
        assert_eq!(p.msg_type(), Message::DstUnreachable);
        assert_eq!(
            DstUnreachable::from(p.msg_code()),
            DstUnreachable::PortUnreachable
        );
        assert_eq!(p.data().len(), 60);
        assert!(p.verify_checksum());

        let bytes = with_checksum(&FRAG_NEEDED);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            DstUnreachable::from(p.msg_code()),
            DstUnreachable::FragRequired
        );
        assert_eq!(p.next_hop_mtu(), 1280);
    }

    #[test]
    fn construct() {
        let mut buf = [0xa5u8; 64];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::EchoRequest);
        p.set_msg_code(0);
        p.set_echo_ident(0x3d5a);
        p.set_echo_seq_no(1);
        p.data_mut().copy_from_slice(&ECHO_REQUEST[8..]);
        p.fill_checksum();
        assert_eq!(buf, ECHO_REQUEST);

        let mut buf = [0xa5u8; 10];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::ParamProblem);
        p.set_msg_code(0);
        p.set_param_problem_ptr(9);
        p.set_checksum(0xbeef);
        assert_eq!(buf, [12, 0, 0xbe, 0xef, 9, 0, 0, 0, 0xa5, 0xa5]);
    }

    #[test]
    fn parse() {
        let p = Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(
            Repr::parse(&p).unwrap(),
            Repr::EchoRequest {
                ident: 0x3d5a,
                seq_no: 1,
                data: &ECHO_REQUEST[8..],
            }
        );
        let p = Packet::new_checked(&TIME_EXCEEDED[..]).unwrap();
        assert_eq!(
            Repr::parse(&p).unwrap(),
            Repr::TimeExceeded {
                reason: TimeExceeded::TtlExpired,
                data: &TIME_EXCEEDED[8..],
            }
        );
        let p = Packet::new_checked(&PORT_UNREACHABLE[..]).unwrap();
        assert_eq!(
            Repr::parse(&p).unwrap(),
            Repr::DstUnreachable {
                reason: DstUnreachable::PortUnreachable,
                next_hop_mtu: 0,
                data: &PORT_UNREACHABLE[8..],
            }
        );
        let bytes = with_checksum(&FRAG_NEEDED);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            Repr::parse(&p).unwrap(),
            Repr::DstUnreachable {
                reason: DstUnreachable::FragRequired,
                next_hop_mtu: 1280,
                data: &FRAG_NEEDED[8..],
            }
        );
    }

    #[test]
    fn emit() {
        let repr = Repr::TimeExceeded {
            reason: TimeExceeded::TtlExpired,
            data: &TIME_EXCEEDED[8..],
        };
        assert_eq!(repr.buffer_len(), 68);
        let mut buf = [0xa5u8; 68];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(buf, TIME_EXCEEDED);

        let repr = Repr::DstUnreachable {
            reason: DstUnreachable::FragRequired,
            next_hop_mtu: 1280,
            data: &FRAG_NEEDED[8..],
        };
        let mut buf = [0xa5u8; 36];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(&buf[..], &with_checksum(&FRAG_NEEDED)[..]);

        let repr = Repr::DstUnreachable {
            reason: DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            data: &PORT_UNREACHABLE[8..],
        };
        let mut buf = [0xa5u8; 68];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
        assert_eq!(buf, PORT_UNREACHABLE);
    }

    #[test]
    fn round_trip() {
        let reprs = [
            Repr::EchoReply {
                ident: 0x3d5a,
                seq_no: 1,
                data: &ECHO_REQUEST[8..],
            },
            Repr::EchoRequest {
                ident: 0,
                seq_no: 0xffff,
                data: &[],
            },
            Repr::DstUnreachable {
                reason: DstUnreachable::AdminProhibited,
                next_hop_mtu: 0,
                data: &TIME_EXCEEDED[8..36],
            },
            Repr::DstUnreachable {
                reason: DstUnreachable::Unknown(99),
                next_hop_mtu: 0,
                data: &[1, 2, 3],
            },
            Repr::TimeExceeded {
                reason: TimeExceeded::FragExpired,
                data: &TIME_EXCEEDED[8..36],
            },
            Repr::ParamProblem {
                pointer: 8,
                data: &TIME_EXCEEDED[8..36],
            },
        ];
        for repr in reprs {
            let mut buf = vec![0xa5u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(Repr::parse(&p).unwrap(), repr);
        }
    }

    #[test]
    fn message_is_error() {
        for m in [
            Message::DstUnreachable,
            Message::Redirect,
            Message::TimeExceeded,
            Message::ParamProblem,
            Message::Unknown(4), // source quench
            Message::Unknown(200),
        ] {
            assert!(m.is_error(), "{m}");
        }
        for m in [
            Message::EchoRequest,
            Message::EchoReply,
            Message::Unknown(13), // timestamp
            Message::Unknown(9),  // router advertisement
        ] {
            assert!(!m.is_error(), "{m}");
        }
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(
            Packet::new_checked(&ECHO_REQUEST[..7]).unwrap_err(),
            ParseError::Truncated
        );
        assert_eq!(
            Repr::parse(&Packet::new_unchecked(&ECHO_REQUEST[..4])),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn rejects_bad_checksum() {
        let mut bytes = TIME_EXCEEDED;
        bytes[40] ^= 0x80;
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&p), Err(ParseError::BadChecksum));
    }

    #[test]
    fn rejects_echo_with_nonzero_code() {
        let mut bytes = ECHO_REQUEST;
        bytes[1] = 3;
        let bytes = with_checksum(&bytes);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&p), Err(ParseError::Malformed));
    }

    #[test]
    fn rejects_redirect() {
        let bytes = with_checksum(&[5, 1, 0, 0, 203, 0, 113, 1]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.msg_type(), Message::Redirect);
        assert_eq!(Repr::parse(&p), Err(ParseError::Malformed));
    }

    #[test]
    fn never_panics_on_garbage() {
        for bytes in [
            &ECHO_REQUEST[..],
            &TIME_EXCEEDED,
            &PORT_UNREACHABLE,
            &FRAG_NEEDED,
        ] {
            for n in 0..bytes.len() {
                let p = Packet::new_unchecked(&bytes[..n]);
                let _ = Repr::parse(&p);
                let _ = (p.next_hop_mtu(), p.param_problem_ptr(), p.data().len());
            }
            for i in 0..bytes.len() {
                let mut b = bytes.to_vec();
                b[i] ^= 0xff;
                let _ = Repr::parse(&Packet::new_unchecked(&b[..]));
            }
        }
    }

    #[test]
    fn emit_rejects_short_buffer() {
        let repr = Repr::EchoReply {
            ident: 1,
            seq_no: 1,
            data: &[0; 4],
        };
        let mut buf = [0u8; 11];
        assert_eq!(
            repr.emit(&mut Packet::new_unchecked(&mut buf[..])),
            Err(ParseError::Truncated)
        );
    }
}
