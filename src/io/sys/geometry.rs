//! Ring geometry: the user's [`RingConfig`], the sizes the kernel accepts
//! ([`Geometry`], after packet_set_ring's rules), and the layout of the
//! kernel's ring headers (offsets checked against libc's structs at
//! compile time).

use std::io;
use std::mem::size_of;

/// Which TPACKET ring layout to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingVersion {
    /// Fixed-size frame slots, each handed over as soon as it is filled:
    /// lowest latency, one slot per frame whatever its size.
    V2,
    /// Variable-size frames packed into blocks, handed over when a block is
    /// full or its retire timer fires: denser, fewer wake-ups under load,
    /// latency up to the retire timeout when idle.
    V3,
}

/// How frames leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// Frames are copied into an mmap TX ring and one `send()` per batch
    /// tells the kernel to transmit every queued slot.
    Ring,
    /// One `sendmmsg()` per up to 64 frames; no TX ring memory.
    Sendmmsg,
}

/// Ring geometry and socket options. The defaults suit one interface of a
/// tenant router: a 256 KiB TPACKET_V3 RX ring with a 1 ms retire timer,
/// and `sendmmsg` for TX (no TX ring memory). See the `io::sys` module doc
/// for the measurements behind them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Ring layout (the version also applies to the TX ring).
    pub version: RingVersion,
    /// Bytes per RX block: a multiple of the page size (and a power of two
    /// times it, as the kernel's page allocator wants).
    pub block_size: u32,
    /// RX blocks.
    pub block_count: u32,
    /// Bytes per frame slot (V2 RX, and TX): a multiple of 16. Raised to
    /// fit an MTU-sized frame plus the slot header when the link's MTU asks.
    pub frame_size: u32,
    /// V3: milliseconds after which a block holding at least one frame is
    /// handed over even if not full. Bounds the RX latency of a quiet link.
    pub retire_timeout_ms: u32,
    /// How frames are sent.
    pub tx_mode: TxMode,
    /// TX ring slots (`TxMode::Ring` only), rounded up to fill whole blocks.
    pub tx_frame_count: u32,
    /// Most frames one `rx_batch` call hands out, so a flood on one socket
    /// cannot starve timers and the other sockets of the worker.
    pub rx_budget: usize,
    /// PACKET_FANOUT group to join (hash mode, defragmenting): every
    /// worker's socket on one interface gives the same id, see
    /// [`fanout_group_id`]. `None`: no fanout, this socket sees every frame.
    pub fanout_group: Option<u16>,
    /// A BPF filter attached before the socket binds: with several
    /// workers, ND/ARP go to every worker's neighbor socket and the data
    /// path sees everything else (see [`SocketFilter`](super::SocketFilter)).
    pub filter: Option<super::SocketFilter>,
}

impl Default for RingConfig {
    fn default() -> RingConfig {
        RingConfig {
            version: RingVersion::V3,
            block_size: 64 * 1024,
            block_count: 4,
            frame_size: 2048,
            retire_timeout_ms: 1,
            tx_mode: TxMode::Sendmmsg,
            tx_frame_count: 64,
            rx_budget: 256,
            fanout_group: None,
            filter: None,
        }
    }
}

// Offsets in `struct tpacket_block_desc` (V3 block header).
pub(super) const BD_BLOCK_STATUS: usize = 8;
pub(super) const BD_NUM_PKTS: usize = 12;
pub(super) const BD_OFFSET_TO_FIRST_PKT: usize = 16;
/// Size of `tpacket_block_desc` (the first packet cannot start before it).
pub(super) const BD_LEN: usize = 48;

// Offsets in `struct tpacket3_hdr`.
pub(super) const H3_NEXT_OFFSET: usize = 0;
pub(super) const H3_SNAPLEN: usize = 12;
pub(super) const H3_LEN: usize = 16;
pub(super) const H3_STATUS: usize = 20;
pub(super) const H3_MAC: usize = 24;
pub(super) const H3_VLAN_TCI: usize = 32;
/// TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): where TX data starts.
pub(super) const H3_DATA: usize = 48;

// Offsets in `struct tpacket2_hdr`.
pub(super) const H2_STATUS: usize = 0;
pub(super) const H2_LEN: usize = 4;
pub(super) const H2_SNAPLEN: usize = 8;
pub(super) const H2_MAC: usize = 12;
pub(super) const H2_VLAN_TCI: usize = 24;
/// TPACKET_ALIGN(sizeof(struct tpacket2_hdr)): where TX data starts.
pub(super) const H2_DATA: usize = 32;

/// Ethernet header bytes counted on top of the MTU.
pub(super) const ETH_HLEN: usize = 14;

// The layout the offsets above assume, checked against libc's structs.
const _: () = assert!(size_of::<libc::tpacket3_hdr>() == H3_DATA);
const _: () = assert!(size_of::<libc::tpacket2_hdr>() == H2_DATA);
const _: () = assert!(size_of::<libc::tpacket_block_desc>() == BD_LEN);

pub(super) fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned())
}

/// Validated ring sizes, as the kernel wants them (packet_set_ring):
/// block size a page multiple, frame size a multiple of 16 holding the
/// header, frames per block times blocks equal to the frame count.
#[derive(Debug, Clone, Copy)]
pub(super) struct Geometry {
    pub(super) rx_block_size: u32,
    pub(super) rx_block_count: u32,
    pub(super) rx_frame_count: u32,
    pub(super) frame_size: u32,
    pub(super) tx_block_size: u32,
    pub(super) tx_block_count: u32,
    pub(super) tx_frame_count: u32,
}

impl Geometry {
    pub(super) fn new(cfg: &RingConfig, max_frame: usize) -> io::Result<Geometry> {
        let page = page_size();
        let header = match cfg.version {
            RingVersion::V2 => H2_DATA,
            RingVersion::V3 => H3_DATA,
        };
        // A slot must hold the header, a full-size frame and a VLAN tag the
        // kernel may reinsert on RX; rounded to TPACKET_ALIGNMENT.
        let needed = header
            .checked_add(max_frame)
            .and_then(|n| n.checked_add(4 + libc::TPACKET_ALIGNMENT - 1))
            .map(|n| n & !(libc::TPACKET_ALIGNMENT - 1))
            .ok_or_else(|| invalid("MTU too large"))?;
        let frame = (cfg.frame_size as usize).max(needed);
        if frame % libc::TPACKET_ALIGNMENT != 0 {
            return Err(invalid("frame_size must be a multiple of 16"));
        }
        // Blocks: page multiples, a power of two pages, holding a frame.
        let block_for = |want: usize| -> io::Result<usize> {
            let want = want.max(frame).max(page);
            let pages = want.div_ceil(page).checked_next_power_of_two();
            pages
                .and_then(|p| p.checked_mul(page))
                .ok_or_else(|| invalid("block_size too large"))
        };
        let rx_block = block_for(cfg.block_size as usize)?;
        if cfg.block_count == 0 {
            return Err(invalid("block_count must be at least 1"));
        }
        let rx_frames = (rx_block / frame)
            .checked_mul(cfg.block_count as usize)
            .ok_or_else(|| invalid("ring too large"))?;
        // TX: just enough blocks for tx_frame_count slots.
        let tx_block = block_for(cfg.block_size.min(64 * 1024) as usize)?;
        let tx_per_block = tx_block / frame;
        let tx_blocks = (cfg.tx_frame_count as usize).max(1).div_ceil(tx_per_block);
        let tx_frames = tx_blocks
            .checked_mul(tx_per_block)
            .ok_or_else(|| invalid("TX ring too large"))?;
        let u = |v: usize| u32::try_from(v).map_err(|_| invalid("ring too large"));
        let g = Geometry {
            rx_block_size: u(rx_block)?,
            rx_block_count: cfg.block_count,
            rx_frame_count: u(rx_frames)?,
            frame_size: u(frame)?,
            tx_block_size: u(tx_block)?,
            tx_block_count: if cfg.tx_mode == TxMode::Ring {
                u(tx_blocks)?
            } else {
                0
            },
            tx_frame_count: if cfg.tx_mode == TxMode::Ring {
                u(tx_frames)?
            } else {
                0
            },
        };
        g.map_len_checked()
            .ok_or_else(|| invalid("ring too large"))?;
        Ok(g)
    }

    pub(super) fn rx_len(&self) -> usize {
        self.rx_block_size as usize * self.rx_block_count as usize
    }

    fn map_len_checked(&self) -> Option<usize> {
        (self.rx_block_size as usize)
            .checked_mul(self.rx_block_count as usize)?
            .checked_add((self.tx_block_size as usize).checked_mul(self.tx_block_count as usize)?)
    }

    pub(super) fn map_len(&self) -> usize {
        self.map_len_checked().unwrap_or(0)
    }
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| usize::try_from(p).ok())
        .filter(|&p| p > 0)
        .unwrap_or(4096)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_geometry_is_small() {
        let g = Geometry::new(&RingConfig::default(), 1514).unwrap();
        // 4 x 64 KiB RX; V3 frame slots only size tp_frame_nr.
        assert_eq!((g.rx_block_size, g.rx_block_count), (65536, 4));
        assert_eq!(g.frame_size, 2048);
        assert_eq!(g.rx_frame_count, 4 * 32);
        // sendmmsg by default: no TX ring.
        assert_eq!((g.tx_block_count, g.tx_frame_count), (0, 0));
        assert_eq!(g.map_len(), 256 * 1024);
    }

    #[test]
    fn tx_ring_rounds_up_to_whole_blocks() {
        let cfg = RingConfig {
            tx_mode: TxMode::Ring,
            tx_frame_count: 40,
            ..RingConfig::default()
        };
        let g = Geometry::new(&cfg, 1514).unwrap();
        assert_eq!(
            (g.tx_block_size, g.tx_block_count, g.tx_frame_count),
            (65536, 2, 64)
        );
        assert_eq!(g.rx_len(), 256 * 1024);
        assert_eq!(g.map_len(), 384 * 1024);
    }

    #[test]
    fn jumbo_mtu_raises_frame_and_block() {
        let cfg = RingConfig {
            version: RingVersion::V2,
            block_size: 4096,
            ..RingConfig::default()
        };
        let g = Geometry::new(&cfg, 9000 + 14).unwrap();
        // 32 + 9014 + 4 rounded to 16 = 9056; blocks a power of two pages.
        assert_eq!(g.frame_size, 9056);
        assert_eq!(g.rx_block_size, 16384);
        assert_eq!(g.rx_frame_count, 4);
    }

    #[test]
    fn rejects_bad_geometry() {
        let odd = RingConfig {
            frame_size: 4100,
            ..RingConfig::default()
        };
        let err = Geometry::new(&odd, 1514).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let none = RingConfig {
            block_count: 0,
            ..RingConfig::default()
        };
        let err = Geometry::new(&none, 1514).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let huge = RingConfig {
            block_size: u32::MAX,
            block_count: u32::MAX,
            ..RingConfig::default()
        };
        assert!(Geometry::new(&huge, 1514).is_err());
    }
}
