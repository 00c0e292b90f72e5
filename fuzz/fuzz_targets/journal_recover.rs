//! Lease-journal recovery (`dhcpv6::journal`) over a damaged log.
//!
//! Input: `mode, pos (u16 LE), rest`. Mode bit 0 clear: `rest` is the raw
//! record area after a valid log header (hostile lengths, garbage). Bit 0
//! set: `rest` split at `\n` gives payloads, encoded as commits write them
//! (the fuzzer cannot forge the CRC-32s, so this reaches deep logs); bit 1
//! then picks the damage at record-area offset `pos`: a cut there (a torn
//! write) or a bit flipped (bit `mode >> 5`).
//!
//! Properties: no panic and no allocation past the input's size; the
//! intact prefix re-encodes to exactly the bytes recovery keeps; after a
//! cut, every record wholly before it is kept and nothing else; after a
//! flip, every record before the flipped one is kept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use routelet::dhcpv6::journal::{encode_log, recover_log_bytes};

/// The log header's size: `encode_log` of no records.
fn header_len() -> usize {
    encode_log(1, &[]).expect("empty log encodes").len()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((pos, rest)) = rest.split_first_chunk::<2>() else {
        return;
    };
    let at = header_len() + usize::from(u16::from_le_bytes(*pos));
    if mode & 1 == 0 {
        let mut log = encode_log(1, &[]).expect("empty log encodes");
        log.extend_from_slice(rest);
        let (records, good) = recover_log_bytes(&log).expect("valid header");
        let good = usize::try_from(good).expect("good length fits");
        let kept: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
        assert_eq!(
            encode_log(1, &kept).expect("kept records encode"),
            log[..good]
        );
        return;
    }
    let payloads: Vec<&[u8]> = rest.split(|&b| b == b'\n').collect();
    let Ok(mut log) = encode_log(1, &payloads) else {
        return; // a payload over the record limit
    };
    // Where each record ends in the log.
    let mut ends = Vec::with_capacity(payloads.len());
    let mut end = header_len();
    for p in &payloads {
        end += 8 + p.len();
        ends.push(end);
    }
    let expect_at_least = if mode & 2 == 0 {
        log.truncate(at.min(log.len()));
        ends.iter().take_while(|&&e| e <= at).count()
    } else {
        if let Some(byte) = log.get_mut(at) {
            *byte ^= 1 << (mode >> 5);
        }
        ends.iter().take_while(|&&e| e <= at).count()
    };
    let (records, good) = recover_log_bytes(&log).expect("valid header");
    let good = usize::try_from(good).expect("good length fits");
    let kept: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    assert_eq!(
        encode_log(1, &kept).expect("kept records encode"),
        log[..good]
    );
    assert!(
        kept.len() >= expect_at_least,
        "an intact record before the damage was dropped"
    );
    assert_eq!(
        kept[..],
        payloads[..kept.len()],
        "recovered records are not the written ones"
    );
    if mode & 2 == 0 {
        assert_eq!(kept.len(), expect_at_least, "a cut record was kept");
    }
});
