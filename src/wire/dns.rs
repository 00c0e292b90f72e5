//! DNS names: the one check behind the ND DNSSL option (RFC 8106 §5.2),
//! the DHCPv6 Domain Search List (RFC 8415 §21.1, RFC 3646 §4) and the
//! config's `domain_search`.
//!
//! Contract:
//!
//! - Text names ([`check_text_name`], [`check_host_name`]) are dotted, with
//!   one optional trailing dot. Labels are 1..=63 octets (RFC 1035 §2.3.4);
//!   the name is at most 253 octets without the trailing dot, which is
//!   exactly what fits the 255-octet wire encoding (a length octet per
//!   label, plus the root). [`check_host_name`] adds RFC 1123 §2.1's
//!   letters-digits-hyphen rule for names people type.
//! - Wire names ([`split_wire_name`]) are uncompressed label encodings
//!   (RFC 1035 §3.1) ending with the root label; compression pointers are
//!   refused (RFC 8106 §5.2 and RFC 8415 §10 forbid them), as is any label
//!   or name running past the buffer or over its length cap.
//! - Each check returns the first problem as a [`NameError`]; nothing here
//!   panics, allocates or loops longer than the input.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::fmt;

/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// The longest name in wire encoding: length octets, labels and the root
/// (RFC 1035 §2.3.4).
pub const MAX_WIRE_NAME_LEN: usize = 255;

/// The longest dotted name without a trailing dot: the 255 octets of the
/// wire encoding less the first length octet and the root label.
pub const MAX_TEXT_NAME_LEN: usize = MAX_WIRE_NAME_LEN - 2;

/// Why a name is not a valid DNS name. `Display` is a short phrase meant to
/// follow "is not a valid DNS name: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameError {
    /// No label at all (`""` or `"."` as text).
    Empty,
    /// Over [`MAX_TEXT_NAME_LEN`] octets as text, or
    /// [`MAX_WIRE_NAME_LEN`] on the wire.
    NameTooLong,
    /// Two dots in a row, or a leading dot.
    EmptyLabel,
    /// A label over [`MAX_LABEL_LEN`] octets.
    LabelTooLong,
    /// A host-name label with something other than a letter, digit or '-'.
    NotLetterDigitHyphen,
    /// A host-name label that starts or ends with '-'.
    HyphenAtLabelEdge,
    /// A wire label length octet with its top two bits set: a compression
    /// pointer (RFC 1035 §4.1.4), forbidden in these lists.
    CompressionPointer,
    /// A wire label runs past the buffer, or the buffer ends before the
    /// root label.
    Truncated,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Empty => "empty",
            NameError::NameTooLong => "longer than 253 characters",
            NameError::EmptyLabel => "empty label",
            NameError::LabelTooLong => "label longer than 63 characters",
            NameError::NotLetterDigitHyphen => "labels hold only letters, digits and '-'",
            NameError::HyphenAtLabelEdge => "a label starts or ends with '-'",
            NameError::CompressionPointer => "compression pointer",
            NameError::Truncated => "a label runs past the end",
        })
    }
}

/// Checks a dotted name's structure: at least one label, each 1..=63
/// octets of any value, the whole at most 253 octets (one trailing dot
/// allowed). What any DNS label encoding can carry (RFC 2181 §11).
pub fn check_text_name(name: &str) -> Result<(), NameError> {
    check_text(name, false)
}

/// [`check_text_name`] plus RFC 1123 §2.1's host-name rule: labels hold
/// only letters, digits and '-', and no '-' at either end. For names an
/// operator types (search domains), where anything else is a typo.
pub fn check_host_name(name: &str) -> Result<(), NameError> {
    check_text(name, true)
}

fn check_text(name: &str, host_name: bool) -> Result<(), NameError> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err(NameError::Empty);
    }
    if bare.len() > MAX_TEXT_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(NameError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        if !host_name {
            continue;
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(NameError::NotLetterDigitHyphen);
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(NameError::HyphenAtLabelEdge);
        }
    }
    Ok(())
}

/// Splits the first uncompressed wire name off `wire`: `(name, rest)`,
/// `name` ending with its root label. The root alone (`[0]`) is a name
/// here; callers that need a label check `name.len() > 1`.
///
/// The walk visits at most 128 labels (a label takes at least 2 octets of
/// the 255), so a crafted buffer cannot make it long.
pub fn split_wire_name(wire: &[u8]) -> Result<(&[u8], &[u8]), NameError> {
    let mut at = 0usize;
    loop {
        let len = *wire.get(at).ok_or(NameError::Truncated)?;
        if len & 0xc0 == 0xc0 {
            return Err(NameError::CompressionPointer);
        }
        let len = usize::from(len);
        if len > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
        // Past this label and its length octet; at most 255 + 1 + 63.
        at = at.saturating_add(1).saturating_add(len);
        if at > MAX_WIRE_NAME_LEN {
            return Err(NameError::NameTooLong);
        }
        if len == 0 {
            let (name, rest) = wire.split_at_checked(at).ok_or(NameError::Truncated)?;
            return Ok((name, rest));
        }
        if at >= wire.len() {
            return Err(NameError::Truncated);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// "example.org" then "b": two names back to back.
    static TWO_NAMES: [u8; 16] = [
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', // "example"
        3, b'o', b'r', b'g', 0, // "org", root
        1, b'b', 0, // "b", root
    ];

    #[test]
    fn text_names_valid() {
        for name in ["openstacklocal", "openstacklocal.", "a-1.example.org", "x"] {
            assert_eq!(check_host_name(name), Ok(()), "{name}");
            assert_eq!(check_text_name(name), Ok(()), "{name}");
        }
        let longest = ["abcdefghi"; 25].join(".") + ".abc";
        assert_eq!(longest.len(), MAX_TEXT_NAME_LEN);
        assert_eq!(check_host_name(&longest), Ok(()));
        assert_eq!(check_host_name(&"a".repeat(63)), Ok(()));
    }

    #[test]
    fn text_names_rejected() {
        for (name, want) in [
            ("", NameError::Empty),
            (".", NameError::Empty),
            ("a..b", NameError::EmptyLabel),
            (".a", NameError::EmptyLabel),
            ("a..", NameError::EmptyLabel),
        ] {
            assert_eq!(check_text_name(name), Err(want), "{name:?}");
            assert_eq!(check_host_name(name), Err(want), "{name:?}");
        }
        assert_eq!(
            check_text_name(&"a".repeat(64)),
            Err(NameError::LabelTooLong)
        );
        let too_long = ["abcdefghi"; 25].join(".") + ".abcd";
        assert_eq!(check_text_name(&too_long), Err(NameError::NameTooLong));
    }

    #[test]
    fn host_name_rules_only_for_host_names() {
        for (name, want) in [
            ("open stack", NameError::NotLetterDigitHyphen),
            ("a_b.example", NameError::NotLetterDigitHyphen),
            ("-a.example", NameError::HyphenAtLabelEdge),
            ("a-.example", NameError::HyphenAtLabelEdge),
        ] {
            assert_eq!(check_host_name(name), Err(want), "{name:?}");
            assert_eq!(check_text_name(name), Ok(()), "{name:?}");
        }
    }

    #[test]
    fn messages_read_after_a_prefix() {
        assert_eq!(NameError::Empty.to_string(), "empty");
        assert_eq!(
            NameError::NameTooLong.to_string(),
            "longer than 253 characters"
        );
        assert_eq!(
            NameError::HyphenAtLabelEdge.to_string(),
            "a label starts or ends with '-'"
        );
    }

    #[test]
    fn split_wire_names_in_turn() {
        let (name, rest) = split_wire_name(&TWO_NAMES).unwrap();
        assert_eq!(name, &TWO_NAMES[..13]);
        let (name, rest) = split_wire_name(rest).unwrap();
        assert_eq!(name, &[1, b'b', 0]);
        assert!(rest.is_empty());
        assert_eq!(split_wire_name(&[0, 9]), Ok((&[0u8][..], &[9u8][..])));
    }

    #[test]
    fn wire_rejects_compression_pointer() {
        let mut bytes = TWO_NAMES;
        bytes[8] = 0xc0;
        assert_eq!(split_wire_name(&bytes), Err(NameError::CompressionPointer));
    }

    #[test]
    fn wire_rejects_label_over_63() {
        let mut bytes = [b'a'; 70];
        bytes[0] = 64;
        assert_eq!(split_wire_name(&bytes), Err(NameError::LabelTooLong));
    }

    #[test]
    fn wire_rejects_label_past_end() {
        assert_eq!(split_wire_name(&TWO_NAMES[..12]), Err(NameError::Truncated));
        assert_eq!(split_wire_name(&[3, b'o', b'r']), Err(NameError::Truncated));
        assert_eq!(split_wire_name(&[]), Err(NameError::Truncated));
    }

    #[test]
    fn wire_name_length_cap() {
        // Four 63-octet labels: 4 × 64 + 1 = 257 octets, over 255.
        let mut bytes = Vec::new();
        for _ in 0..4 {
            bytes.push(63);
            bytes.extend_from_slice(&[b'a'; 63]);
        }
        bytes.push(0);
        assert_eq!(split_wire_name(&bytes), Err(NameError::NameTooLong));
        // Three of 63 and one of 61: exactly 255.
        bytes.truncate(3 * 64);
        bytes.push(61);
        bytes.extend_from_slice(&[b'a'; 61]);
        bytes.push(0);
        assert_eq!(bytes.len(), MAX_WIRE_NAME_LEN);
        assert!(split_wire_name(&bytes).is_ok());
    }
}
