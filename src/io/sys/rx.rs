//! The RX path of a [`PacketSocket`]: walking the TPACKET_V3 blocks or the
//! TPACKET_V2 slots of the mmap ring in place.
//!
//! Contract:
//!
//! - [`PacketSocket::rx_vec`] hands out at most `rx_budget` frames per
//!   call, in vectors of at most [`RX_VEC_MAX`] frames that are valid
//!   together (one callback call per vector), in place (no copy). A V3
//!   vector holds frames of one block; a V2 vector holds consecutive ready
//!   slots (never wrapping round the ring's end). The frames stay the
//!   socket's until the callback returns; then their slots (V2) or their
//!   block, once every frame of it was handed out (V3), go back to the
//!   kernel. A V3 block may be left half-walked; the next call resumes
//!   there. The callback cannot keep a frame: its slices borrow the socket.
//! - [`PacketSocket::rx_batch`] and [`PacketSocket::rx_batch_mut`] are the
//!   same walk, one frame per callback call.
//! - Every offset read from a ring header is checked against its block or
//!   slot before use (and again against the mapping by [`super::ring`]); a
//!   header that fails is counted in `rx_bad_header` and its block (V3) or
//!   slot (V2) handed back unread.
//! - The walk is generic over the callback, so the per-frame closure of a
//!   worker inlines into it; nothing allocates (the vectors live on the
//!   stack).

use super::geometry::{
    Geometry, RingVersion, BD_BLOCK_STATUS, BD_LEN, BD_NUM_PKTS, BD_OFFSET_TO_FIRST_PKT, H2_DATA,
    H2_LEN, H2_MAC, H2_SNAPLEN, H2_STATUS, H2_VLAN_TCI, H3_DATA, H3_LEN, H3_MAC, H3_NEXT_OFFSET,
    H3_SNAPLEN, H3_STATUS, H3_VLAN_TCI,
};
use super::socket::PacketSocket;

/// Most frames one [`PacketSocket::rx_vec`] callback receives at once.
pub const RX_VEC_MAX: usize = 64;

/// What the kernel said about one received frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxMeta {
    /// TP_STATUS_CSUMNOTREADY: the L4 checksum field holds only the
    /// pseudo-header sum (frame from a local socket with offload); see
    /// [`crate::io::csum::complete_checksum`].
    pub csum_not_ready: bool,
    /// TP_STATUS_CSUM_VALID: the device already verified the L4 checksum.
    pub csum_valid: bool,
    /// The 802.1Q tag the device stripped (TP_STATUS_VLAN_VALID), if any.
    pub vlan_tci: Option<u16>,
    /// Length of the frame on the wire.
    pub len: u32,
    /// Bytes captured in the ring (`< len` if the slot was too small).
    pub snaplen: u32,
}

/// One received frame of an [`PacketSocket::rx_vec`] vector: its bytes in
/// the ring, writable in place (a partial checksum completed, headers
/// rewritten), and what the kernel said about it.
#[derive(Debug, Default)]
pub struct RxFrame<'a> {
    /// The captured bytes (`meta.snaplen` of them), from the Ethernet header.
    pub data: &'a mut [u8],
    /// The ring's per-frame status and lengths.
    pub meta: RxMeta,
}

/// RX ring state.
#[derive(Debug)]
pub(super) struct Rx {
    block_size: usize,
    block_count: usize,
    /// V2: slot size and slots per block, and the total number of slots.
    frame_size: usize,
    frames_per_block: usize,
    frame_count: usize,
    /// V3: next block; V2: next slot.
    head: usize,
    /// V3: where we stopped inside the head block when a vector or the
    /// budget was full.
    cursor: Option<V3Cursor>,
}

impl Rx {
    pub(super) fn new(g: &Geometry) -> Rx {
        Rx {
            block_size: g.rx_block_size as usize,
            block_count: g.rx_block_count as usize,
            frame_size: g.frame_size as usize,
            frames_per_block: (g.rx_block_size / g.frame_size.max(1)) as usize,
            frame_count: g.rx_frame_count as usize,
            head: 0,
            cursor: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct V3Cursor {
    /// Offset of the next packet header inside the block.
    offset: usize,
    /// Packets left in the block.
    left: u32,
}

/// One received frame, located.
#[derive(Debug, Clone, Copy, Default)]
struct Pkt {
    /// Offset of the frame's first byte in the mapping.
    data: usize,
    /// V3: offset of the next header from this one.
    next: usize,
    meta: RxMeta,
}

fn meta(status: u32, len: u32, snaplen: u32, tci: u16) -> RxMeta {
    RxMeta {
        csum_not_ready: status & libc::TP_STATUS_CSUMNOTREADY != 0,
        csum_valid: status & libc::TP_STATUS_CSUM_VALID != 0,
        vlan_tci: (status & libc::TP_STATUS_VLAN_VALID != 0).then_some(tci),
        len,
        snaplen,
    }
}

impl PacketSocket {
    /// Hands out up to `rx_budget` received frames to `f`, one at a time,
    /// without copying, and returns the slots to the kernel. Returns how
    /// many frames it handed out. See [`PacketSocket::rx_pending`] for when
    /// to call again.
    pub fn rx_batch(&mut self, mut f: impl FnMut(&[u8], RxMeta)) -> usize {
        self.rx_vec(|frames| {
            for frame in frames.iter() {
                f(frame.data, frame.meta);
            }
        })
    }

    /// As [`PacketSocket::rx_batch`], with the frame writable in place: a
    /// worker can complete a partial checksum or rewrite headers for
    /// forwarding without a copy. The slot goes back to the kernel after
    /// the callback returns.
    pub fn rx_batch_mut(&mut self, mut f: impl FnMut(&mut [u8], RxMeta)) -> usize {
        self.rx_vec(|frames| {
            for frame in frames.iter_mut() {
                f(frame.data, frame.meta);
            }
        })
    }

    /// Hands out up to `rx_budget` received frames in vectors of at most
    /// [`RX_VEC_MAX`], all frames of one vector valid together, without
    /// copying (see the module doc). Returns how many frames it took from
    /// the ring. See [`PacketSocket::rx_pending`] for when to call again.
    pub fn rx_vec<F>(&mut self, mut f: F) -> usize
    where
        F: FnMut(&mut [RxFrame<'_>]),
    {
        match self.version {
            RingVersion::V3 => self.rx_v3(&mut f),
            RingVersion::V2 => self.rx_v2(&mut f),
        }
    }

    /// Whether frames are waiting in the ring. mio readiness is
    /// edge-triggered and `rx_vec` is bounded: a worker that stopped on
    /// the budget must poll again with a zero timeout while this holds,
    /// or the rest waits for the next wake-up.
    pub fn rx_pending(&self) -> bool {
        match self.version {
            RingVersion::V3 => {
                self.rx.cursor.is_some()
                    || self
                        .map
                        .load_status(self.rx_block_offset(self.rx.head) + BD_BLOCK_STATUS)
                        .is_some_and(|s| s & libc::TP_STATUS_USER != 0)
            }
            RingVersion::V2 => self
                .map
                .load_status(self.rx_slot_offset(self.rx.head) + H2_STATUS)
                .is_some_and(|s| s & libc::TP_STATUS_USER != 0),
        }
    }

    fn rx_block_offset(&self, block: usize) -> usize {
        block.saturating_mul(self.rx.block_size)
    }

    fn rx_slot_offset(&self, slot: usize) -> usize {
        let fpb = self.rx.frames_per_block.max(1);
        (slot / fpb)
            .saturating_mul(self.rx.block_size)
            .saturating_add((slot % fpb).saturating_mul(self.rx.frame_size))
    }

    fn rx_v3<F>(&mut self, f: &mut F) -> usize
    where
        F: FnMut(&mut [RxFrame<'_>]),
    {
        let mut pkts = [Pkt::default(); RX_VEC_MAX];
        let mut handed = 0usize;
        // At most every block once per call, even if the kernel keeps
        // retiring blocks while we walk.
        let mut blocks_left = self.rx.block_count;
        // Each pass takes at least one frame or leaves: bounded by the
        // budget plus the blocks.
        while handed < self.rx_budget {
            let block = self.rx_block_offset(self.rx.head);
            let status_at = block + BD_BLOCK_STATUS;
            let mut cursor = match self.rx.cursor.take() {
                Some(c) => c,
                None => {
                    if blocks_left == 0 {
                        break;
                    }
                    blocks_left -= 1;
                    let status = self.map.load_status(status_at).unwrap_or(0);
                    if status & libc::TP_STATUS_USER == 0 {
                        break;
                    }
                    let left = self.map.read_u32(block + BD_NUM_PKTS).unwrap_or(0);
                    let first = self
                        .map
                        .read_u32(block + BD_OFFSET_TO_FIRST_PKT)
                        .unwrap_or(0);
                    V3Cursor {
                        offset: first as usize,
                        left,
                    }
                }
            };
            // Gather one vector's headers from this block.
            let want = RX_VEC_MAX.min(self.rx_budget - handed);
            let mut n = 0usize;
            let mut bad = false;
            for slot in pkts.iter_mut().take(want) {
                if cursor.left == 0 {
                    break;
                }
                let Some(pkt) = self.v3_packet(block, cursor.offset) else {
                    bad = true;
                    break;
                };
                *slot = pkt;
                n += 1;
                cursor.left -= 1;
                if cursor.left > 0 {
                    // Each next offset must move forward inside the block
                    // (checked again by `v3_packet`).
                    if pkt.next == 0 {
                        bad = true;
                        break;
                    }
                    cursor.offset = cursor.offset.saturating_add(pkt.next);
                }
            }
            handed += n;
            self.deliver(pkts.get(..n).unwrap_or_default(), f);
            if bad {
                self.stats.rx_bad_header += 1;
                cursor.left = 0;
            }
            if cursor.left > 0 {
                // The vector or the budget is full: resume here.
                self.rx.cursor = Some(cursor);
                continue;
            }
            // Whole block read: hand it back (release: our reads, and the
            // callback's writes, are done).
            let _ = self.map.store_status(status_at, libc::TP_STATUS_KERNEL);
            self.rx.head = (self.rx.head + 1) % self.rx.block_count.max(1);
        }
        handed
    }

    /// Reads and checks the V3 packet header at `offset` in the block at
    /// `block`: header and data must lie inside the block.
    fn v3_packet(&self, block: usize, offset: usize) -> Option<Pkt> {
        let bs = self.rx.block_size;
        if offset < BD_LEN || offset.checked_add(H3_DATA)? > bs || offset % 4 != 0 {
            return None;
        }
        let hdr = block.checked_add(offset)?;
        let next = self.map.read_u32(hdr + H3_NEXT_OFFSET)? as usize;
        let snaplen = self.map.read_u32(hdr + H3_SNAPLEN)?;
        let len = self.map.read_u32(hdr + H3_LEN)?;
        let status = self.map.read_u32(hdr + H3_STATUS)?;
        let mac = usize::from(self.map.read_u16(hdr + H3_MAC)?);
        let tci = self.map.read_u32(hdr + H3_VLAN_TCI)?;
        let data_end = offset.checked_add(mac)?.checked_add(snaplen as usize)?;
        if mac < H3_DATA || data_end > bs {
            return None;
        }
        // The TCI is 16 bits in a 32-bit field (tp_vlan_tci).
        let tci = u16::try_from(tci & 0xffff).unwrap_or(0);
        Some(Pkt {
            data: hdr + mac,
            next,
            meta: meta(status, len, snaplen, tci),
        })
    }

    fn rx_v2<F>(&mut self, f: &mut F) -> usize
    where
        F: FnMut(&mut [RxFrame<'_>]),
    {
        let mut pkts = [Pkt::default(); RX_VEC_MAX];
        let mut handed = 0usize;
        let count = self.rx.frame_count.max(1);
        // Each pass takes at least one slot or leaves.
        while handed < self.rx_budget {
            // Consecutive ready slots, not past the ring's end, so the
            // frames' offsets increase (what `RingMap::frames` checks).
            let want = RX_VEC_MAX
                .min(self.rx_budget - handed)
                .min(count - self.rx.head.min(count));
            let first = self.rx.head;
            let mut taken = 0usize;
            let mut n = 0usize;
            while taken < want {
                let slot = self.rx_slot_offset(first + taken);
                let status = self.map.load_status(slot + H2_STATUS).unwrap_or(0);
                if status & libc::TP_STATUS_USER == 0 {
                    break;
                }
                taken += 1;
                match (self.v2_packet(slot, status), pkts.get_mut(n)) {
                    (Some(pkt), Some(dst)) => {
                        *dst = pkt;
                        n += 1;
                    }
                    _ => self.stats.rx_bad_header += 1,
                }
            }
            if taken == 0 {
                break;
            }
            handed += n;
            self.deliver(pkts.get(..n).unwrap_or_default(), f);
            // Hand the slots back (release: our reads and the callback's
            // writes are done).
            for i in first..first + taken {
                let slot = self.rx_slot_offset(i);
                let _ = self
                    .map
                    .store_status(slot + H2_STATUS, libc::TP_STATUS_KERNEL);
            }
            self.rx.head = (first + taken) % count;
        }
        handed
    }

    fn v2_packet(&self, slot: usize, status: u32) -> Option<Pkt> {
        let len = self.map.read_u32(slot + H2_LEN)?;
        let snaplen = self.map.read_u32(slot + H2_SNAPLEN)?;
        let mac = usize::from(self.map.read_u16(slot + H2_MAC)?);
        let tci = self.map.read_u16(slot + H2_VLAN_TCI)?;
        let data_end = mac.checked_add(snaplen as usize)?;
        if mac < H2_DATA || data_end > self.rx.frame_size {
            return None;
        }
        Some(Pkt {
            data: slot + mac,
            next: 0,
            meta: meta(status, len, snaplen, tci),
        })
    }

    /// Calls `f` once with the frames `pkts` locates (none: no call).
    fn deliver<F>(&mut self, pkts: &[Pkt], f: &mut F)
    where
        F: FnMut(&mut [RxFrame<'_>]),
    {
        if pkts.is_empty() {
            return;
        }
        let PacketSocket { map, stats, .. } = self;
        let mut frames: [RxFrame<'_>; RX_VEC_MAX] = std::array::from_fn(|_| RxFrame::default());
        let mut split = map.frames();
        let mut n = 0usize;
        for pkt in pkts {
            if pkt.meta.snaplen < pkt.meta.len {
                stats.rx_truncated += 1;
            }
            match (
                split.take(pkt.data, pkt.meta.snaplen as usize),
                frames.get_mut(n),
            ) {
                (Some(data), Some(dst)) => {
                    *dst = RxFrame {
                        data,
                        meta: pkt.meta,
                    };
                    n += 1;
                }
                _ => stats.rx_bad_header += 1,
            }
        }
        stats.rx_frames += n as u64;
        if let Some(batch) = frames.get_mut(..n) {
            if !batch.is_empty() {
                f(batch);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_decodes_status_bits() {
        let m = meta(
            libc::TP_STATUS_USER | libc::TP_STATUS_CSUMNOTREADY | libc::TP_STATUS_VLAN_VALID,
            100,
            90,
            0x0064,
        );
        assert_eq!(
            m,
            RxMeta {
                csum_not_ready: true,
                csum_valid: false,
                vlan_tci: Some(0x0064),
                len: 100,
                snaplen: 90,
            }
        );
        let m = meta(libc::TP_STATUS_USER | libc::TP_STATUS_CSUM_VALID, 60, 60, 7);
        assert!(m.csum_valid && !m.csum_not_ready);
        assert_eq!(m.vlan_tci, None);
    }
}
