//! ICMPv6 messages (RFC 4443): a view over the bytes and a `Repr`.
//!
//! Contract:
//!
//! - [`Packet`] is a view over exactly one ICMPv6 message (the caller slices
//!   the IPv6 payload to its length). [`Packet::check_len`] requires the
//!   8-octet header every ICMPv6 message has (RFC 4443 §2.1: type, code,
//!   checksum and a 4-octet first word) and, for the Neighbor Discovery
//!   types, the fixed part RFC 4861 §4 gives them, so the ND accessors in
//!   [`super::ndisc`] read real fields. Getters never panic in any case: a
//!   field beyond the end of the buffer reads as zero and a setter writing
//!   past it does nothing, so even a `new_unchecked` view cannot crash.
//! - [`Repr::parse`] verifies the checksum over the IPv6 pseudo-header
//!   (RFC 4443 §2.3, RFC 8200 §8.1) and gives `BadChecksum` when it fails.
//!   [`Repr::emit`] fills it.
//! - Message types and codes are total enums: an unknown value is
//!   `Unknown(n)`, and a message of an unknown type parses as
//!   [`Repr::Other`], so MLD and friends do not count as errors.
//! - Neighbor Discovery messages parse structurally here
//!   ([`Repr::Ndisc`]); the checks that need the IP header (hop limit 255,
//!   source address rules) are in [`super::ndisc::Repr::parse_validated`].
//! - RFC 4443 §2.4(c): an error message must fit the IPv6 minimum MTU;
//!   [`max_error_data_len`] says how much of the invoking packet fits.
//! - RFC 4443 §2.4(e): a node must not send an error about an error;
//!   [`Message::is_error`] tells them apart.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::fmt;
use std::net::Ipv6Addr;

use super::checksum;
use super::ndisc;
use super::{ParseError, Result};

/// Defines a `Copy` enum over an integer code point with an `Unknown(n)`
/// catch-all and lossless conversions both ways, so that code points stay
/// total (STYLE.md §2).
macro_rules! enum_with_unknown {
    (
        $(#[$enum_attr:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$variant_attr:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$enum_attr])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$variant_attr])* $variant, )+
            /// A code point this module gives no name.
            Unknown($ty),
        }

        impl ::core::convert::From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl ::core::convert::From<$name> for $ty {
            fn from(value: $name) -> Self {
                match value {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
}
pub(crate) use enum_with_unknown;

/// The IPv6 Next Header value of ICMPv6 (RFC 4443 §1), used in the
/// pseudo-header. A literal so the wire modules do not depend on each other.
pub const NEXT_HEADER_ICMPV6: u8 = 58;

/// The IPv6 minimum link MTU (RFC 8200 §5).
pub const IPV6_MIN_MTU: usize = 1280;

/// The fixed IPv6 header that carries an error message we send.
const IPV6_HEADER_LEN: usize = 40;

/// Length of the ICMPv6 header: type, code, checksum, first word.
pub const HEADER_LEN: usize = field::HEADER_END;

/// The most octets of the invoking packet an ICMPv6 error can carry
/// without the whole IPv6 packet exceeding the minimum MTU (RFC 4443
/// §2.4(c)): 1280 - 40 (IPv6 header) - 8 (ICMPv6 header) = 1232.
pub const MAX_ERROR_DATA_LEN: usize = IPV6_MIN_MTU - IPV6_HEADER_LEN - HEADER_LEN;

/// How many octets of an invoking packet of `invoking_len` octets to copy
/// into an ICMPv6 error message: all of it if it fits, else the first
/// [`MAX_ERROR_DATA_LEN`] (RFC 4443 §2.4(c)).
pub const fn max_error_data_len(invoking_len: usize) -> usize {
    if invoking_len < MAX_ERROR_DATA_LEN {
        invoking_len
    } else {
        MAX_ERROR_DATA_LEN
    }
}

/// The leading part of an invoking packet that an error message carries
/// (see [`max_error_data_len`]).
pub fn truncate_invoking(invoking: &[u8]) -> &[u8] {
    invoking
        .get(..max_error_data_len(invoking.len()))
        .unwrap_or(invoking)
}

enum_with_unknown! {
    /// ICMPv6 message type (RFC 4443 §2.1, RFC 4861 §4, RFC 2710, RFC 3810).
    pub enum Message(u8) {
        /// Destination Unreachable (RFC 4443 §3.1).
        DstUnreachable = 1,
        /// Packet Too Big (RFC 4443 §3.2).
        PktTooBig = 2,
        /// Time Exceeded (RFC 4443 §3.3).
        TimeExceeded = 3,
        /// Parameter Problem (RFC 4443 §3.4).
        ParamProblem = 4,
        /// Echo Request (RFC 4443 §4.1).
        EchoRequest = 128,
        /// Echo Reply (RFC 4443 §4.2).
        EchoReply = 129,
        /// Multicast Listener Query (RFC 2710 §3).
        MldQuery = 130,
        /// Multicast Listener Report (RFC 2710 §3).
        MldReport = 131,
        /// Multicast Listener Done (RFC 2710 §3).
        MldDone = 132,
        /// Router Solicitation (RFC 4861 §4.1).
        RouterSolicit = 133,
        /// Router Advertisement (RFC 4861 §4.2).
        RouterAdvert = 134,
        /// Neighbor Solicitation (RFC 4861 §4.3).
        NeighborSolicit = 135,
        /// Neighbor Advertisement (RFC 4861 §4.4).
        NeighborAdvert = 136,
        /// Redirect (RFC 4861 §4.5).
        Redirect = 137,
        /// Version 2 Multicast Listener Report (RFC 3810 §5.2).
        MldV2Report = 143,
    }
}

impl Message {
    /// Error messages have types 0..=127 (RFC 4443 §2.1). A router must
    /// never answer one with another error (RFC 4443 §2.4(e)).
    pub fn is_error(self) -> bool {
        u8::from(self) < 128
    }

    /// The Neighbor Discovery messages of RFC 4861 §4.
    pub fn is_ndisc(self) -> bool {
        matches!(
            self,
            Message::RouterSolicit
                | Message::RouterAdvert
                | Message::NeighborSolicit
                | Message::NeighborAdvert
                | Message::Redirect
        )
    }

    /// Octets from the start of the message to its first ND option, i.e.
    /// the fixed part RFC 4861 §4 gives each ND message; 8 for others.
    pub(crate) fn fixed_len(self) -> usize {
        match self {
            Message::RouterAdvert => 16,
            Message::NeighborSolicit | Message::NeighborAdvert => 24,
            Message::Redirect => 40,
            _ => HEADER_LEN,
        }
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
    /// Destination Unreachable codes (RFC 4443 §3.1).
    pub enum DstUnreachable(u8) {
        /// No route to destination.
        NoRoute = 0,
        /// Communication administratively prohibited (security groups).
        AdminProhibit = 1,
        /// Beyond scope of source address.
        BeyondScope = 2,
        /// Address unreachable (neighbor resolution failed).
        AddrUnreachable = 3,
        /// Port unreachable.
        PortUnreachable = 4,
        /// Source address failed ingress/egress policy.
        FailedPolicy = 5,
        /// Reject route to destination.
        RejectRoute = 6,
    }
}

enum_with_unknown! {
    /// Time Exceeded codes (RFC 4443 §3.3).
    pub enum TimeExceeded(u8) {
        /// Hop limit exceeded in transit.
        HopLimitExceeded = 0,
        /// Fragment reassembly time exceeded.
        FragReassemblyExceeded = 1,
    }
}

enum_with_unknown! {
    /// Parameter Problem codes (RFC 4443 §3.4).
    pub enum ParamProblem(u8) {
        /// Erroneous header field encountered.
        ErroneousHeaderField = 0,
        /// Unrecognized Next Header type encountered.
        UnrecognizedNxtHdr = 1,
        /// Unrecognized IPv6 option encountered.
        UnrecognizedOption = 2,
    }
}

mod field {
    use core::ops::Range;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    /// Echo Request/Reply (RFC 4443 §4).
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    /// Packet Too Big (RFC 4443 §3.2).
    pub const MTU: Range<usize> = 4..8;
    /// Parameter Problem (RFC 4443 §3.4).
    pub const POINTER: Range<usize> = 4..8;
    /// The first word (unused, or type specific) ends here.
    pub const HEADER_END: usize = 8;
}

/// A view over an ICMPv6 message.
///
/// After [`Packet::check_len`] succeeds, every field of the message's type
/// lies inside the buffer. Getters and setters never index out of bounds in
/// any case (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    pub(super) buffer: T,
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

    /// `Truncated` unless the buffer holds the 8-octet header and, for the
    /// ND types, their fixed part (RS 8, RA 16, NS/NA 24, Redirect 40
    /// octets; RFC 4861 §6.1, §7.1, §8.1).
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < field::HEADER_END || len < self.msg_type().fixed_len() {
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

    /// `N` octets at `at`, or zeros if the buffer is too short.
    pub(super) fn read<const N: usize>(&self, at: usize) -> [u8; N] {
        at.checked_add(N)
            .and_then(|end| self.buffer.as_ref().get(at..end))
            .and_then(|s| <[u8; N]>::try_from(s).ok())
            .unwrap_or([0; N])
    }

    pub(super) fn read_u8(&self, at: usize) -> u8 {
        let [b] = self.read::<1>(at);
        b
    }

    pub(super) fn read_u16(&self, at: usize) -> u16 {
        u16::from_be_bytes(self.read(at))
    }

    pub(super) fn read_u32(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.read(at))
    }

    /// Message type (RFC 4443 §2.1).
    pub fn msg_type(&self) -> Message {
        Message::from(self.read_u8(field::TYPE))
    }

    /// Code, whose meaning depends on the type.
    pub fn msg_code(&self) -> u8 {
        self.read_u8(field::CODE)
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

    /// MTU of the next-hop link (Packet Too Big).
    pub fn pkt_too_big_mtu(&self) -> u32 {
        self.read_u32(field::MTU.start)
    }

    /// Offset of the offending octet in the invoking packet (Parameter
    /// Problem).
    pub fn param_problem_ptr(&self) -> u32 {
        self.read_u32(field::POINTER.start)
    }

    /// Everything after the 8-octet header: echo data, or the invoking
    /// packet of an error message.
    pub fn data(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::HEADER_END..)
            .unwrap_or_default()
    }

    /// Everything after the 4-octet type/code/checksum.
    pub fn body(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::CHECKSUM.end..)
            .unwrap_or_default()
    }

    /// Whether the checksum verifies over the pseudo-header of `src` and
    /// `dst` (always true under `cfg(fuzzing)`).
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let bytes = self.buffer.as_ref();
        let Ok(len) = u32::try_from(bytes.len()) else {
            return false;
        };
        let pseudo = checksum::pseudo_header_v6(src, dst, NEXT_HEADER_ICMPV6, len);
        checksum::verify(pseudo, bytes)
    }
}

impl<'a> Packet<&'a [u8]> {
    /// The octets from `offset` on, with the lifetime of the buffer rather
    /// than of the view, so a `Repr` can borrow them.
    pub(super) fn tail(&self, offset: usize) -> &'a [u8] {
        self.buffer.get(offset..).unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes `src` at `at`; does nothing if it does not fit.
    pub(super) fn write(&mut self, at: usize, src: &[u8]) {
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

    /// Sets the Packet Too Big MTU.
    pub fn set_pkt_too_big_mtu(&mut self, value: u32) {
        self.write(field::MTU.start, &value.to_be_bytes());
    }

    /// Sets the Parameter Problem pointer.
    pub fn set_param_problem_ptr(&mut self, value: u32) {
        self.write(field::POINTER.start, &value.to_be_bytes());
    }

    /// Zeroes the first word after the checksum, which the error messages
    /// and RS/NS/Redirect leave unused (senders must zero it).
    pub fn clear_reserved(&mut self) {
        self.write(field::CHECKSUM.end, &[0; 4]);
    }

    /// Everything after the 8-octet header, mutable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(field::HEADER_END..)
            .unwrap_or_default()
    }

    /// Computes and writes the checksum over the whole buffer and the
    /// pseudo-header of `src` and `dst`.
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let bytes = self.buffer.as_ref();
        // A buffer over 4 GiB cannot be an ICMPv6 message; saturate rather
        // than panic, the checksum is then simply wrong.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        let pseudo = checksum::pseudo_header_v6(src, dst, NEXT_HEADER_ICMPV6, len);
        let sum = checksum::finish(pseudo, bytes);
        self.set_checksum(sum);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The meaning of an ICMPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// Echo Request (RFC 4443 §4.1).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Data, echoed back.
        data: &'a [u8],
    },
    /// Echo Reply (RFC 4443 §4.2).
    EchoReply {
        /// Identifier of the request.
        ident: u16,
        /// Sequence number of the request.
        seq_no: u16,
        /// Data of the request.
        data: &'a [u8],
    },
    /// Destination Unreachable (RFC 4443 §3.1).
    DstUnreachable {
        /// Code.
        reason: DstUnreachable,
        /// As much of the invoking packet as fits.
        data: &'a [u8],
    },
    /// Packet Too Big (RFC 4443 §3.2).
    PktTooBig {
        /// MTU of the next-hop link.
        mtu: u32,
        /// As much of the invoking packet as fits.
        data: &'a [u8],
    },
    /// Time Exceeded (RFC 4443 §3.3).
    TimeExceeded {
        /// Code.
        reason: TimeExceeded,
        /// As much of the invoking packet as fits.
        data: &'a [u8],
    },
    /// Parameter Problem (RFC 4443 §3.4).
    ParamProblem {
        /// Code.
        reason: ParamProblem,
        /// Offset of the offending octet in the invoking packet.
        pointer: u32,
        /// As much of the invoking packet as fits.
        data: &'a [u8],
    },
    /// A Neighbor Discovery message (RFC 4861 §4).
    Ndisc(ndisc::Repr<'a>),
    /// Any other message (MLD, unknown types, ...), kept as its bytes.
    Other {
        /// Message type.
        msg_type: Message,
        /// Code.
        code: u8,
        /// Everything after the checksum.
        body: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Parses a message received from `src` to `dst`.
    ///
    /// Errors: `Truncated` (shorter than the header of its type),
    /// `BadChecksum`, `Malformed` (an echo message with a code other than
    /// 0, RFC 4443 §4), and the option errors of [`ndisc::Repr::parse`] for
    /// ND messages. Error codes are total, so any code parses.
    pub fn parse(src: &Ipv6Addr, dst: &Ipv6Addr, packet: &Packet<&'a [u8]>) -> Result<Repr<'a>> {
        packet.check_len()?;
        if !packet.verify_checksum(src, dst) {
            return Err(ParseError::BadChecksum);
        }
        let data = packet.tail(field::HEADER_END);
        let code = packet.msg_code();
        match packet.msg_type() {
            Message::EchoRequest | Message::EchoReply if code != 0 => Err(ParseError::Malformed),
            Message::EchoRequest => Ok(Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Message::EchoReply => Ok(Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Message::DstUnreachable => Ok(Repr::DstUnreachable {
                reason: DstUnreachable::from(code),
                data,
            }),
            Message::PktTooBig => Ok(Repr::PktTooBig {
                mtu: packet.pkt_too_big_mtu(),
                data,
            }),
            Message::TimeExceeded => Ok(Repr::TimeExceeded {
                reason: TimeExceeded::from(code),
                data,
            }),
            Message::ParamProblem => Ok(Repr::ParamProblem {
                reason: ParamProblem::from(code),
                pointer: packet.param_problem_ptr(),
                data,
            }),
            t if t.is_ndisc() => Ok(Repr::Ndisc(ndisc::Repr::parse(packet)?)),
            msg_type => Ok(Repr::Other {
                msg_type,
                code,
                body: packet.tail(field::CHECKSUM.end),
            }),
        }
    }

    /// Length of the emitted message.
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::DstUnreachable { data, .. }
            | Repr::PktTooBig { data, .. }
            | Repr::TimeExceeded { data, .. }
            | Repr::ParamProblem { data, .. } => HEADER_LEN.saturating_add(data.len()),
            Repr::Ndisc(nd) => nd.buffer_len(),
            Repr::Other { body, .. } => field::CHECKSUM.end.saturating_add(body.len()),
        }
    }

    /// The message type this repr emits.
    pub fn msg_type(&self) -> Message {
        match self {
            Repr::EchoRequest { .. } => Message::EchoRequest,
            Repr::EchoReply { .. } => Message::EchoReply,
            Repr::DstUnreachable { .. } => Message::DstUnreachable,
            Repr::PktTooBig { .. } => Message::PktTooBig,
            Repr::TimeExceeded { .. } => Message::TimeExceeded,
            Repr::ParamProblem { .. } => Message::ParamProblem,
            Repr::Ndisc(nd) => nd.msg_type(),
            Repr::Other { msg_type, .. } => *msg_type,
        }
    }

    /// Writes the message into the first [`Repr::buffer_len`] octets of
    /// `packet`, whose buffer should be exactly that long (the checksum
    /// covers the whole buffer), and fills the checksum for `src` -> `dst`.
    ///
    /// `Truncated` if the buffer is shorter than `buffer_len()`;
    /// `Malformed` if an ND option cannot be encoded (see
    /// [`ndisc::Repr::emit`]).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        packet: &mut Packet<T>,
    ) -> Result<()> {
        if packet.as_bytes().len() < self.buffer_len() {
            return Err(ParseError::Truncated);
        }
        let (code, data): (u8, &[u8]) = match *self {
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
            Repr::DstUnreachable { reason, data } => {
                packet.clear_reserved();
                (reason.into(), data)
            }
            Repr::PktTooBig { mtu, data } => {
                packet.set_pkt_too_big_mtu(mtu);
                (0, data)
            }
            Repr::TimeExceeded { reason, data } => {
                packet.clear_reserved();
                (reason.into(), data)
            }
            Repr::ParamProblem {
                reason,
                pointer,
                data,
            } => {
                packet.set_param_problem_ptr(pointer);
                (reason.into(), data)
            }
            Repr::Ndisc(ref nd) => {
                nd.emit(packet)?;
                packet.fill_checksum(src, dst);
                return Ok(());
            }
            Repr::Other {
                msg_type,
                code,
                body,
            } => {
                packet.set_msg_type(msg_type);
                packet.set_msg_code(code);
                packet.write(field::CHECKSUM.end, body);
                packet.fill_checksum(src, dst);
                return Ok(());
            }
        };
        packet.set_msg_type(self.msg_type());
        packet.set_msg_code(code);
        packet.write(field::HEADER_END, data);
        packet.fill_checksum(src, dst);
        Ok(())
    }
}

#[cfg(test)]
// Fixtures cast small, known lengths.
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation
)]
mod tests {
    use super::*;

    const VM: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0xf816, 0x3eff, 0xfe79, 0x5acc);
    const GW: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0, 0, 0, 0, 1);
    const FAR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xcafe, 0x17, 0, 0, 0, 1);

    /// slaac-qr0.pcap frame 17: ping from the VM (VM -> GW).
    static ECHO_REQUEST: [u8; 64] = [
        0x80, 0x00, 0x6b, 0xae, // type 128 echo request, code 0, checksum
        0x35, 0xe8, 0x00, 0x01, // identifier 0x35e8, sequence 1
        // 56 octets of ping data
        0xcd, 0x2d, 0x0c, 0x6b, 0x00, 0x00, 0x00, 0x00, 0xc3, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c,
        0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
    ];

    /// forwarding-qr0.pcap frame 56: traceroute hop 1, GW -> VM.
    static TIME_EXCEEDED: [u8; 68] = [
        0x03, 0x00, 0xf8, 0x8e, // type 3 time exceeded, code 0 hop limit, checksum
        0x00, 0x00, 0x00, 0x00, // unused
        // invoking IPv6 header: hop limit 1, UDP, VM -> 2001:db8:cafe:17::1
        0x60, 0x06, 0x11, 0x2f, 0x00, 0x14, 0x11, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00,
        0x00, 0xf8, 0x16, 0x3e, 0xff, 0xfe, 0x79, 0x5a, 0xcc, 0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe,
        0x00, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // invoking UDP header 49771 -> 33435 and 12 octets of payload
        0xc2, 0x6b, 0x82, 0x9b, 0x00, 0x14, 0x38, 0xdb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// forwarding-qr0.pcap frame 58: port unreachable, 2001:db8:cafe:17::1 -> VM.
    static PORT_UNREACHABLE: [u8; 68] = [
        0x01, 0x04, 0xfa, 0x73, // type 1 dst unreachable, code 4 port, checksum
        0x00, 0x00, 0x00, 0x00, // unused
        // invoking IPv6 header
        0x60, 0x06, 0x11, 0x2f, 0x00, 0x14, 0x11, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe, 0x00,
        0x00, 0xf8, 0x16, 0x3e, 0xff, 0xfe, 0x79, 0x5a, 0xcc, 0x20, 0x01, 0x0d, 0xb8, 0xca, 0xfe,
        0x00, 0x17, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
        // invoking UDP header 49771 -> 33436 and payload
        0xc2, 0x6b, 0x82, 0x9c, 0x00, 0x14, 0x38, 0xda, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00,
    ];

    /// A Packet Too Big (mtu 1280) carrying 8 octets of an invoking packet,
    /// GW -> VM. Built by hand; its checksum is computed in the test.
    static PKT_TOO_BIG: [u8; 16] = [
        0x02, 0x00, 0x00, 0x00, // type 2 packet too big, code 0, checksum (filled in)
        0x00, 0x00, 0x05, 0x00, // MTU 1280
        0x60, 0x00, 0x00, 0x00, 0x05, 0x78, 0x3a, 0x40, // start of the invoking IPv6 header
    ];

    fn with_checksum(bytes: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Vec<u8> {
        let mut v = bytes.to_vec();
        v[2] = 0;
        v[3] = 0;
        let pseudo = checksum::pseudo_header_v6(src, dst, 58, v.len() as u32);
        let c = checksum::finish(pseudo, &v);
        v[2..4].copy_from_slice(&c.to_be_bytes());
        v
    }

    #[test]
    fn deconstruct() {
        let p = Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(p.msg_type(), Message::EchoRequest);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x6bae);
        assert_eq!(p.echo_ident(), 0x35e8);
        assert_eq!(p.echo_seq_no(), 1);
        assert_eq!(p.data(), &ECHO_REQUEST[8..]);
        assert!(p.verify_checksum(&VM, &GW));
        assert!(!p.verify_checksum(&GW, &FAR));

        let p = Packet::new_checked(&TIME_EXCEEDED[..]).unwrap();
        assert_eq!(p.msg_type(), Message::TimeExceeded);
        assert_eq!(
            TimeExceeded::from(p.msg_code()),
            TimeExceeded::HopLimitExceeded
        );
        assert_eq!(p.data().len(), 60);
        assert!(p.verify_checksum(&GW, &VM));

        let bytes = with_checksum(&PKT_TOO_BIG, &GW, &VM);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.pkt_too_big_mtu(), 1280);
        assert_eq!(p.body(), &PKT_TOO_BIG[4..]);
    }

    #[test]
    fn construct() {
        let mut buf = [0xa5u8; 64];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::EchoRequest);
        p.set_msg_code(0);
        p.set_echo_ident(0x35e8);
        p.set_echo_seq_no(1);
        p.data_mut().copy_from_slice(&ECHO_REQUEST[8..]);
        p.fill_checksum(&VM, &GW);
        assert_eq!(&buf[..], &ECHO_REQUEST[..]);

        let mut buf = [0xa5u8; 12];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(Message::ParamProblem);
        p.set_msg_code(1);
        p.set_param_problem_ptr(6);
        p.set_checksum(0x1234);
        assert_eq!(
            buf,
            [0x04, 0x01, 0x12, 0x34, 0, 0, 0, 6, 0xa5, 0xa5, 0xa5, 0xa5]
        );
    }

    #[test]
    fn parse() {
        let p = Packet::new_checked(&ECHO_REQUEST[..]).unwrap();
        assert_eq!(
            Repr::parse(&VM, &GW, &p).unwrap(),
            Repr::EchoRequest {
                ident: 0x35e8,
                seq_no: 1,
                data: &ECHO_REQUEST[8..],
            }
        );
        let p = Packet::new_checked(&TIME_EXCEEDED[..]).unwrap();
        assert_eq!(
            Repr::parse(&GW, &VM, &p).unwrap(),
            Repr::TimeExceeded {
                reason: TimeExceeded::HopLimitExceeded,
                data: &TIME_EXCEEDED[8..],
            }
        );
        let p = Packet::new_checked(&PORT_UNREACHABLE[..]).unwrap();
        assert_eq!(
            Repr::parse(&FAR, &VM, &p).unwrap(),
            Repr::DstUnreachable {
                reason: DstUnreachable::PortUnreachable,
                data: &PORT_UNREACHABLE[8..],
            }
        );
        let bytes = with_checksum(&PKT_TOO_BIG, &GW, &VM);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            Repr::parse(&GW, &VM, &p).unwrap(),
            Repr::PktTooBig {
                mtu: 1280,
                data: &PKT_TOO_BIG[8..],
            }
        );
    }

    #[test]
    fn parse_other_types() {
        // An MLDv2 report header (RFC 3810 §5.2) with no records parses as
        // Other; so does an unknown type.
        let mld = with_checksum(&[143, 0, 0, 0, 0, 0, 0, 0], &VM, &GW);
        let p = Packet::new_checked(&mld[..]).unwrap();
        assert_eq!(
            Repr::parse(&VM, &GW, &p).unwrap(),
            Repr::Other {
                msg_type: Message::MldV2Report,
                code: 0,
                body: &[0, 0, 0, 0],
            }
        );
        let unknown = with_checksum(&[200, 7, 0, 0, 1, 2, 3, 4, 5], &VM, &GW);
        let p = Packet::new_checked(&unknown[..]).unwrap();
        assert_eq!(
            Repr::parse(&VM, &GW, &p).unwrap(),
            Repr::Other {
                msg_type: Message::Unknown(200),
                code: 7,
                body: &[1, 2, 3, 4, 5],
            }
        );
    }

    #[test]
    fn emit() {
        let repr = Repr::TimeExceeded {
            reason: TimeExceeded::HopLimitExceeded,
            data: &TIME_EXCEEDED[8..],
        };
        assert_eq!(repr.buffer_len(), 68);
        let mut buf = [0xa5u8; 68];
        repr.emit(&GW, &VM, &mut Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(buf, TIME_EXCEEDED);

        let repr = Repr::EchoRequest {
            ident: 0x35e8,
            seq_no: 1,
            data: &ECHO_REQUEST[8..],
        };
        let mut buf = [0xa5u8; 64];
        repr.emit(&VM, &GW, &mut Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(buf, ECHO_REQUEST);

        let repr = Repr::PktTooBig {
            mtu: 1280,
            data: &PKT_TOO_BIG[8..],
        };
        let mut buf = [0xa5u8; 16];
        repr.emit(&GW, &VM, &mut Packet::new_unchecked(&mut buf[..]))
            .unwrap();
        assert_eq!(&buf[..], &with_checksum(&PKT_TOO_BIG, &GW, &VM)[..]);
    }

    #[test]
    fn round_trip() {
        let reprs = [
            Repr::EchoReply {
                ident: 7,
                seq_no: 9,
                data: b"routelet",
            },
            Repr::DstUnreachable {
                reason: DstUnreachable::NoRoute,
                data: &PORT_UNREACHABLE[8..],
            },
            Repr::ParamProblem {
                reason: ParamProblem::UnrecognizedNxtHdr,
                pointer: 6,
                data: &TIME_EXCEEDED[8..],
            },
            Repr::DstUnreachable {
                reason: DstUnreachable::Unknown(42),
                data: &[],
            },
            Repr::Other {
                msg_type: Message::MldDone,
                code: 0,
                body: &[0; 20],
            },
        ];
        for repr in reprs {
            let mut buf = vec![0xa5u8; repr.buffer_len()];
            repr.emit(&GW, &VM, &mut Packet::new_unchecked(&mut buf[..]))
                .unwrap();
            let p = Packet::new_checked(&buf[..]).unwrap();
            assert_eq!(Repr::parse(&GW, &VM, &p).unwrap(), repr);
        }
    }

    #[test]
    fn message_is_error() {
        assert!(Message::DstUnreachable.is_error());
        assert!(Message::ParamProblem.is_error());
        assert!(Message::Unknown(127).is_error());
        assert!(!Message::EchoRequest.is_error());
        assert!(!Message::RouterAdvert.is_error());
        assert!(!Message::Unknown(200).is_error());
        assert_eq!(u8::from(Message::MldV2Report), 143);
        assert_eq!(Message::from(137), Message::Redirect);
    }

    #[test]
    fn error_data_fits_min_mtu() {
        assert_eq!(MAX_ERROR_DATA_LEN, 1232);
        assert_eq!(max_error_data_len(100), 100);
        assert_eq!(max_error_data_len(1232), 1232);
        assert_eq!(max_error_data_len(1400), 1232);
        let big = [0u8; 1500];
        let data = truncate_invoking(&big);
        let repr = Repr::PktTooBig { mtu: 1280, data };
        assert_eq!(repr.buffer_len() + 40, IPV6_MIN_MTU);
    }

    #[test]
    fn rejects_truncated_header() {
        assert_eq!(
            Packet::new_checked(&ECHO_REQUEST[..7]).unwrap_err(),
            ParseError::Truncated
        );
    }

    #[test]
    fn rejects_bad_checksum() {
        let mut bytes = ECHO_REQUEST;
        bytes[20] ^= 1;
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&VM, &GW, &p), Err(ParseError::BadChecksum));
    }

    #[test]
    fn rejects_echo_with_nonzero_code() {
        let mut bytes = ECHO_REQUEST;
        bytes[1] = 1;
        let bytes = with_checksum(&bytes, &VM, &GW);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&VM, &GW, &p), Err(ParseError::Malformed));
    }

    #[test]
    fn emit_rejects_short_buffer() {
        let repr = Repr::EchoReply {
            ident: 1,
            seq_no: 1,
            data: &[1, 2, 3],
        };
        let mut buf = [0u8; 10];
        assert_eq!(
            repr.emit(&GW, &VM, &mut Packet::new_unchecked(&mut buf[..])),
            Err(ParseError::Truncated)
        );
    }

    #[test]
    fn accessors_never_panic_on_short_buffers() {
        let p = Packet::new_unchecked(&[0x86u8, 0][..]);
        assert_eq!(p.checksum(), 0);
        assert_eq!(p.echo_ident(), 0);
        assert!(p.data().is_empty());
        assert_eq!(p.check_len(), Err(ParseError::Truncated));
        let mut buf = [0u8; 3];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_pkt_too_big_mtu(1);
        p.fill_checksum(&GW, &VM);
        assert!(p.data_mut().is_empty());
    }
}
