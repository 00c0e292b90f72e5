//! The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//!
//! Sums are folded 16-bit one's complement values. `verify` helpers return
//! `true` under `cfg(fuzzing)` so fuzzers reach past the checksum.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's complement sum of `data` as big-endian 16-bit words, not yet
/// complemented, folded to 16 bits. An odd trailing byte is padded with zero.
#[inline]
pub fn sum(data: &[u8]) -> u16 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        // Four 16-bit words at a time; u64 cannot overflow for any frame size.
        // `chunks_exact(8)` yields 8-byte slices, so the pattern always
        // matches and the compiler drops the check.
        if let &[a0, a1, b0, b1, c0, c1, d0, d1] = c {
            acc += u64::from(u16::from_be_bytes([a0, a1]))
                + u64::from(u16::from_be_bytes([b0, b1]))
                + u64::from(u16::from_be_bytes([c0, c1]))
                + u64::from(u16::from_be_bytes([d0, d1]));
        }
    }
    let mut words = chunks.remainder().chunks_exact(2);
    for w in &mut words {
        if let &[hi, lo] = w {
            acc += u64::from(u16::from_be_bytes([hi, lo]));
        }
    }
    if let [last] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    fold(acc)
}

/// Folds a wide accumulator into 16 bits with end-around carry.
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves acc <= 0xffff.
    #[allow(clippy::cast_possible_truncation)]
    let folded = acc as u16;
    folded
}

/// Adds folded sums together.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1) for an upper-layer packet.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let len = length.to_be_bytes();
    combine(&[
        sum(&src.octets()),
        sum(&dst.octets()),
        sum(&len),
        u16::from(next_header),
    ])
}

/// Sum of the IPv4 pseudo-header (RFC 768, RFC 793) for an upper-layer packet.
pub fn pseudo_header_v4(src: &Ipv4Addr, dst: &Ipv4Addr, protocol: u8, length: u16) -> u16 {
    combine(&[
        sum(&src.octets()),
        sum(&dst.octets()),
        u16::from(protocol),
        length,
    ])
}

/// The checksum field value for `data` whose field is zero, given the
/// pseudo-header sum (0 for ICMPv4 and the IPv4 header).
pub fn finish(pseudo: u16, data: &[u8]) -> u16 {
    !combine(&[pseudo, sum(data)])
}

/// Whether `data` (field included) verifies against the pseudo-header sum.
#[inline]
pub fn verify(pseudo: u16, data: &[u8]) -> bool {
    if cfg!(fuzzing) {
        return true;
    }
    combine(&[pseudo, sum(data)]) == 0xffff
}

/// RFC 1624 eqn. 3: the new checksum after a 16-bit word changes from `old`
/// to `new`, without summing the packet again. Used for the TTL decrement.
pub fn update(checksum: u16, old: u16, new: u16) -> u16 {
    // HC' = ~(~HC + ~m + m')
    !combine(&[!checksum, !old, new])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        assert_eq!(
            sum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0xddf2
        );
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
    }

    #[test]
    fn ipv4_header_checksum_verifies() {
        // A real IPv4 header with 198.51.100.1 -> 203.0.113.199, checksum d37d.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xd3, 0x7d, 0xc6, 0x33,
            0x64, 0x01, 0xcb, 0x00, 0x71, 0xc7,
        ];
        assert!(verify(0, &hdr));
        let mut zeroed = hdr;
        zeroed[10] = 0;
        zeroed[11] = 0;
        assert_eq!(finish(0, &zeroed), 0xd37d);
    }

    #[test]
    fn incremental_update_matches_full_sum() {
        let mut hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xd3, 0x7d, 0xc6, 0x33,
            0x64, 0x01, 0xcb, 0x00, 0x71, 0xc7,
        ];
        for _ in 0..0x40 {
            let old = u16::from_be_bytes([hdr[8], hdr[9]]);
            hdr[8] -= 1;
            let new = u16::from_be_bytes([hdr[8], hdr[9]]);
            let c = update(u16::from_be_bytes([hdr[10], hdr[11]]), old, new);
            hdr[10..12].copy_from_slice(&c.to_be_bytes());
            assert!(verify(0, &hdr), "ttl {}", hdr[8]);
        }
    }
}
