//! One AF_PACKET socket with an mmap RX ring and a TX path, bound to one
//! interface (packet(7), Documentation/networking/packet_mmap.rst).
//!
//! Contract:
//!
//! - [`PacketSocket::open`] creates the socket with protocol 0 (it receives
//!   nothing yet), sets the ring version and options, sets up and maps the
//!   rings, and only then binds to the interface with `ETH_P_ALL`, so no
//!   frame can be queued outside the ring. Fanout is joined after the bind
//!   (the kernel requires a bound socket); frames arriving in between land
//!   on this socket, which only matters for flow affinity at start-up.
//! - [`PacketSocket::rx_batch`] hands out at most `rx_budget` frames per
//!   call, in place (no copy), then returns their slots to the kernel. A V3
//!   block may be left half-walked; the next call resumes there. The
//!   callback cannot keep a frame: its slice borrows the socket.
//! - [`PacketSocket::send_batch`] refuses frames shorter than an Ethernet
//!   header or longer than MTU + 14 (counted), and hands the rest to one
//!   `sendmmsg` per 64 frames (default) or copies them into TX ring slots
//!   and kicks the kernel once per batch (`TxMode::Ring`), counting what
//!   did not fit. It never blocks.
//! - All ring offsets coming from the kernel are checked against the block
//!   or frame they belong to before use ([`super::ring`] checks them again
//!   against the mapping); a header that fails is counted and its block or
//!   slot handed back.
//! - Drop unmaps the rings, then closes the socket (field order), which
//!   also leaves the fanout group and drops the multicast memberships.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

use super::link::LinkFacts;
use super::ring::RingMap;
use crate::wire::EthernetAddress;

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

/// The fanout group id for interface `ifindex` of process `pid`: the same
/// for all workers of one router on one interface, and unlikely to collide
/// with another process's group in the namespace (groups are per network
/// namespace, and joining a foreign group would steal its frames).
pub fn fanout_group_id(ifindex: u32, pid: u32) -> u16 {
    // Fibonacci hashing of the pid, xor the ifindex: distinct interfaces of
    // one process never collide below 65536 interfaces.
    let h = pid.wrapping_mul(0x9e37_79b9) >> 16;
    ((h ^ ifindex) & 0xffff) as u16
}

/// What the kernel said about one received frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Counters of one socket: the kernel's PACKET_STATISTICS (accumulated,
/// since the kernel resets them on every read) and our own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketStats {
    /// Frames the kernel matched to this socket, dropped ones included.
    pub kernel_packets: u64,
    /// Frames the kernel dropped because the RX ring was full.
    pub kernel_drops: u64,
    /// V3: times the ring was full and the queue froze.
    pub kernel_freeze_q: u64,
    /// Frames handed to `rx_batch` callbacks.
    pub rx_frames: u64,
    /// Of those, frames cut short by the slot size (snaplen < len).
    pub rx_truncated: u64,
    /// Ring headers with out-of-range offsets (a kernel bug); their block or
    /// slot was handed back unread.
    pub rx_bad_header: u64,
    /// Frames accepted for transmission.
    pub tx_frames: u64,
    /// Frames refused: longer than MTU + 14.
    pub tx_too_big: u64,
    /// Frames refused: shorter than an Ethernet header.
    pub tx_too_short: u64,
    /// Frames dropped because the TX ring was full or the socket buffer
    /// was (EAGAIN / ENOBUFS).
    pub tx_ring_full: u64,
}

/// RX ring state.
#[derive(Debug)]
struct Rx {
    block_size: usize,
    block_count: usize,
    /// V2: slot size and slots per block, and the total number of slots.
    frame_size: usize,
    frames_per_block: usize,
    frame_count: usize,
    /// V3: next block; V2: next slot.
    head: usize,
    /// V3: where we stopped inside the head block when the budget ran out.
    cursor: Option<V3Cursor>,
}

#[derive(Debug, Clone, Copy)]
struct V3Cursor {
    /// Offset of the next packet header inside the block.
    offset: usize,
    /// Packets left in the block.
    left: u32,
}

/// TX ring state.
#[derive(Debug)]
struct TxRing {
    /// Offset of the TX ring in the mapping (after the RX ring).
    base: usize,
    block_size: usize,
    frame_size: usize,
    frames_per_block: usize,
    frame_count: usize,
    head: usize,
}

/// An AF_PACKET socket on one interface with its rings. See the module doc.
#[derive(Debug)]
pub struct PacketSocket {
    // Field order is drop order: unmap before close.
    map: RingMap,
    fd: OwnedFd,
    ifindex: u32,
    name: String,
    max_frame: usize,
    version: RingVersion,
    rx: Rx,
    tx: Option<TxRing>,
    rx_budget: usize,
    allmulti: bool,
    stats: SocketStats,
}

// Offsets in `struct tpacket_block_desc` (V3 block header).
const BD_BLOCK_STATUS: usize = 8;
const BD_NUM_PKTS: usize = 12;
const BD_OFFSET_TO_FIRST_PKT: usize = 16;
/// Size of `tpacket_block_desc` (the first packet cannot start before it).
const BD_LEN: usize = 48;

// Offsets in `struct tpacket3_hdr`.
const H3_NEXT_OFFSET: usize = 0;
const H3_SNAPLEN: usize = 12;
const H3_LEN: usize = 16;
const H3_STATUS: usize = 20;
const H3_MAC: usize = 24;
const H3_VLAN_TCI: usize = 32;
/// TPACKET_ALIGN(sizeof(struct tpacket3_hdr)): where TX data starts.
const H3_DATA: usize = 48;

// Offsets in `struct tpacket2_hdr`.
const H2_STATUS: usize = 0;
const H2_LEN: usize = 4;
const H2_SNAPLEN: usize = 8;
const H2_MAC: usize = 12;
const H2_VLAN_TCI: usize = 24;
/// TPACKET_ALIGN(sizeof(struct tpacket2_hdr)): where TX data starts.
const H2_DATA: usize = 32;

/// Ethernet header bytes counted on top of the MTU.
const ETH_HLEN: usize = 14;
/// Frames per `sendmmsg` call.
const MMSG_BATCH: usize = 64;

// The layout the offsets above assume, checked against libc's structs.
const _: () = assert!(size_of::<libc::tpacket3_hdr>() == H3_DATA);
const _: () = assert!(size_of::<libc::tpacket2_hdr>() == H2_DATA);
const _: () = assert!(size_of::<libc::tpacket_block_desc>() == BD_LEN);

impl PacketSocket {
    /// Opens a socket on the interface `facts` describes (in the calling
    /// thread's network namespace). Needs CAP_NET_RAW. Errors name the
    /// interface and the step that failed.
    pub fn open(facts: &LinkFacts, cfg: &RingConfig) -> io::Result<PacketSocket> {
        let name = facts.name.as_str();
        let ctx = |what: &str, e: io::Error| {
            io::Error::new(e.kind(), format!("AF_PACKET on {name:?}: {what}: {e}"))
        };
        let mtu = usize::try_from(facts.mtu).map_err(|_| ctx("mtu", invalid("MTU too large")))?;
        let max_frame = mtu.saturating_add(ETH_HLEN);
        let geometry = Geometry::new(cfg, max_frame).map_err(|e| ctx("ring geometry", e))?;

        // SAFETY: plain socket(2) call with constant arguments. Protocol 0:
        // nothing is received until `bind` names a protocol.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            )
        };
        if raw < 0 {
            return Err(ctx("socket", io::Error::last_os_error()));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };

        let version = match cfg.version {
            RingVersion::V2 => libc::tpacket_versions::TPACKET_V2,
            RingVersion::V3 => libc::tpacket_versions::TPACKET_V3,
        } as libc::c_int;
        setsockopt(fd.as_fd(), libc::PACKET_VERSION, &version)
            .map_err(|e| ctx("PACKET_VERSION", e))?;
        // Our own transmissions are not read back (kernel >= 4.20).
        setsockopt(fd.as_fd(), libc::PACKET_IGNORE_OUTGOING, &1 as &libc::c_int)
            .map_err(|e| ctx("PACKET_IGNORE_OUTGOING", e))?;
        // Straight to the driver: the router is the only sender here and
        // does its own pacing; skipping the qdisc shortens TX.
        setsockopt(fd.as_fd(), libc::PACKET_QDISC_BYPASS, &1 as &libc::c_int)
            .map_err(|e| ctx("PACKET_QDISC_BYPASS", e))?;

        if cfg.tx_mode == TxMode::Ring {
            // A malformed TX slot is skipped rather than stalling the ring
            // with TP_STATUS_WRONG_FORMAT. Must precede the rings (EBUSY).
            setsockopt(fd.as_fd(), libc::PACKET_LOSS, &1 as &libc::c_int)
                .map_err(|e| ctx("PACKET_LOSS", e))?;
        }
        match cfg.version {
            RingVersion::V3 => {
                let req = libc::tpacket_req3 {
                    tp_block_size: geometry.rx_block_size,
                    tp_block_nr: geometry.rx_block_count,
                    tp_frame_size: geometry.frame_size,
                    tp_frame_nr: geometry.rx_frame_count,
                    tp_retire_blk_tov: cfg.retire_timeout_ms,
                    tp_sizeof_priv: 0,
                    tp_feature_req_word: 0,
                };
                setsockopt(fd.as_fd(), libc::PACKET_RX_RING, &req)
                    .map_err(|e| ctx("PACKET_RX_RING", e))?;
            }
            RingVersion::V2 => {
                let req = libc::tpacket_req {
                    tp_block_size: geometry.rx_block_size,
                    tp_block_nr: geometry.rx_block_count,
                    tp_frame_size: geometry.frame_size,
                    tp_frame_nr: geometry.rx_frame_count,
                };
                setsockopt(fd.as_fd(), libc::PACKET_RX_RING, &req)
                    .map_err(|e| ctx("PACKET_RX_RING", e))?;
            }
        }
        if cfg.tx_mode == TxMode::Ring {
            // The TX ring takes tpacket_req3 under V3 too, with the
            // block-only fields zero.
            let req = libc::tpacket_req3 {
                tp_block_size: geometry.tx_block_size,
                tp_block_nr: geometry.tx_block_count,
                tp_frame_size: geometry.frame_size,
                tp_frame_nr: geometry.tx_frame_count,
                tp_retire_blk_tov: 0,
                tp_sizeof_priv: 0,
                tp_feature_req_word: 0,
            };
            let res = match cfg.version {
                RingVersion::V3 => setsockopt(fd.as_fd(), libc::PACKET_TX_RING, &req),
                RingVersion::V2 => {
                    let req = libc::tpacket_req {
                        tp_block_size: req.tp_block_size,
                        tp_block_nr: req.tp_block_nr,
                        tp_frame_size: req.tp_frame_size,
                        tp_frame_nr: req.tp_frame_nr,
                    };
                    setsockopt(fd.as_fd(), libc::PACKET_TX_RING, &req)
                }
            };
            res.map_err(|e| ctx("PACKET_TX_RING", e))?;
        }

        // Before bind: no frame reaches the socket unfiltered.
        if let Some(filter) = cfg.filter {
            super::filter::attach(fd.as_fd(), filter).map_err(|e| ctx("SO_ATTACH_FILTER", e))?;
        }

        let map = RingMap::map(fd.as_fd(), geometry.map_len()).map_err(|e| ctx("mmap", e))?;

        // SAFETY: sockaddr_ll is plain old data; all-zero is valid.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as libc::c_ushort;
        sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        sll.sll_ifindex = libc::c_int::try_from(facts.ifindex)
            .map_err(|_| ctx("bind", invalid("ifindex out of range")))?;
        // SAFETY: `sll` is a valid sockaddr_ll that outlives the call, and
        // the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(ctx("bind", io::Error::last_os_error()));
        }

        if let Some(group) = cfg.fanout_group {
            let arg: libc::c_int = libc::c_int::from(group)
                | ((libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG) << 16)
                    as libc::c_int;
            setsockopt(fd.as_fd(), libc::PACKET_FANOUT, &arg)
                .map_err(|e| ctx("PACKET_FANOUT", e))?;
        }

        let rx = Rx {
            block_size: geometry.rx_block_size as usize,
            block_count: geometry.rx_block_count as usize,
            frame_size: geometry.frame_size as usize,
            frames_per_block: (geometry.rx_block_size / geometry.frame_size) as usize,
            frame_count: geometry.rx_frame_count as usize,
            head: 0,
            cursor: None,
        };
        let tx = (cfg.tx_mode == TxMode::Ring).then(|| TxRing {
            base: geometry.rx_len(),
            block_size: geometry.tx_block_size as usize,
            frame_size: geometry.frame_size as usize,
            frames_per_block: (geometry.tx_block_size / geometry.frame_size) as usize,
            frame_count: geometry.tx_frame_count as usize,
            head: 0,
        });
        Ok(PacketSocket {
            map,
            fd,
            ifindex: facts.ifindex,
            name: facts.name.clone(),
            max_frame,
            version: cfg.version,
            rx,
            tx,
            rx_budget: cfg.rx_budget.max(1),
            allmulti: false,
            stats: SocketStats::default(),
        })
    }

    /// The interface index this socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// The interface name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bytes of ring memory mapped (RX plus TX): what the socket costs.
    pub fn ring_bytes(&self) -> usize {
        self.map.len()
    }

    /// Hands out up to `rx_budget` received frames to `f`, without copying,
    /// and returns the slots to the kernel. Returns how many frames it
    /// handed out. See [`PacketSocket::rx_pending`] for when to call again.
    pub fn rx_batch(&mut self, mut f: impl FnMut(&[u8], RxMeta)) -> usize {
        self.rx_batch_mut(|frame, meta| f(frame, meta))
    }

    /// As [`PacketSocket::rx_batch`], with the frame writable in place: a
    /// worker can complete a partial checksum or rewrite headers for
    /// forwarding without a copy. The slot goes back to the kernel after
    /// the callback returns.
    pub fn rx_batch_mut(&mut self, mut f: impl FnMut(&mut [u8], RxMeta)) -> usize {
        match self.version {
            RingVersion::V3 => self.rx_v3(&mut f),
            RingVersion::V2 => self.rx_v2(&mut f),
        }
    }

    /// Whether frames are waiting in the ring. mio readiness is
    /// edge-triggered and `rx_batch` is bounded: a worker that stopped on
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

    fn rx_v3(&mut self, f: &mut dyn FnMut(&mut [u8], RxMeta)) -> usize {
        let mut handed = 0usize;
        // At most every block once per call, even if the kernel keeps
        // retiring blocks while we walk.
        let mut blocks_left = self.rx.block_count;
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
            let mut bad = false;
            while cursor.left > 0 && handed < self.rx_budget {
                let Some(pkt) = self.v3_packet(block, cursor.offset) else {
                    bad = true;
                    break;
                };
                self.deliver(pkt, f);
                handed += 1;
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
            if bad {
                self.stats.rx_bad_header += 1;
                cursor.left = 0;
            }
            if cursor.left > 0 {
                self.rx.cursor = Some(cursor);
                break;
            }
            // Whole block read: hand it back (release: our reads are done).
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
        Some(Pkt {
            data: hdr + mac,
            next,
            meta: meta(status, len, snaplen, tci as u16),
        })
    }

    fn rx_v2(&mut self, f: &mut dyn FnMut(&mut [u8], RxMeta)) -> usize {
        let mut handed = 0usize;
        let count = self.rx.frame_count.max(1);
        while handed < self.rx_budget {
            let slot = self.rx_slot_offset(self.rx.head);
            let status = self.map.load_status(slot + H2_STATUS).unwrap_or(0);
            if status & libc::TP_STATUS_USER == 0 {
                break;
            }
            match self.v2_packet(slot, status) {
                Some(pkt) => {
                    self.deliver(pkt, f);
                    handed += 1;
                }
                None => self.stats.rx_bad_header += 1,
            }
            let _ = self
                .map
                .store_status(slot + H2_STATUS, libc::TP_STATUS_KERNEL);
            self.rx.head = (self.rx.head + 1) % count;
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

    fn deliver(&mut self, pkt: Pkt, f: &mut dyn FnMut(&mut [u8], RxMeta)) {
        if pkt.meta.snaplen < pkt.meta.len {
            self.stats.rx_truncated += 1;
        }
        if let Some(frame) = self.map.bytes_mut(pkt.data, pkt.meta.snaplen as usize) {
            self.stats.rx_frames += 1;
            f(frame, pkt.meta);
        } else {
            self.stats.rx_bad_header += 1;
        }
    }

    /// Sends `frames` on the interface; returns how many were accepted.
    /// Frames outside 14..=MTU+14 bytes are refused and counted, frames
    /// that find the TX ring (or socket buffer) full are dropped and
    /// counted: a router drops rather than blocks. An `Err` is a socket
    /// error (interface gone or down); the rest of that batch is lost.
    pub fn send_batch<'a>(
        &mut self,
        frames: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<usize> {
        let sent = if self.tx.is_some() {
            self.send_ring(frames.into_iter())?
        } else {
            self.send_mmsg(frames.into_iter())?
        };
        self.stats.tx_frames += sent as u64;
        Ok(sent)
    }

    /// Whether `frame` may be sent; counts the refusals.
    fn admissible(&mut self, frame: &[u8]) -> bool {
        if frame.len() > self.max_frame {
            self.stats.tx_too_big += 1;
            false
        } else if frame.len() < ETH_HLEN {
            self.stats.tx_too_short += 1;
            false
        } else {
            true
        }
    }

    fn send_ring<'a>(&mut self, frames: impl Iterator<Item = &'a [u8]>) -> io::Result<usize> {
        let (status_off, len_off, data_off) = match self.version {
            RingVersion::V3 => (H3_STATUS, H3_LEN, H3_DATA),
            RingVersion::V2 => (H2_STATUS, H2_LEN, H2_DATA),
        };
        let mut queued = 0usize;
        let mut unkicked = 0usize;
        let mut full = false;
        for frame in frames {
            if !self.admissible(frame) {
                continue;
            }
            if full {
                self.stats.tx_ring_full += 1;
                continue;
            }
            let Some(slot) = self.tx_slot_offset() else {
                full = true;
                self.stats.tx_ring_full += 1;
                continue;
            };
            let status_at = slot + status_off;
            let mut free = tx_slot_free(self.map.load_status(status_at));
            if !free && unkicked > 0 {
                // The ring wrapped onto slots still in flight: push out what
                // we queued, which also lets completions land, and look once
                // more.
                self.kick()?;
                unkicked = 0;
                free = tx_slot_free(self.map.load_status(status_at));
            }
            if !free {
                full = true;
                self.stats.tx_ring_full += 1;
                continue;
            }
            let Some(dst) = self.map.bytes_mut(slot + data_off, frame.len()) else {
                full = true;
                self.stats.tx_ring_full += 1;
                continue;
            };
            dst.copy_from_slice(frame);
            // V3: a non-zero tp_next_offset makes the kernel reject the
            // slot ("variable sized slot not supported").
            if self.version == RingVersion::V3 {
                let _ = self.map.write_u32(slot + H3_NEXT_OFFSET, 0);
            }
            // Length fits u32: at most MTU + 14, checked by `admissible`.
            let _ = self.map.write_u32(slot + len_off, frame.len() as u32);
            // Release: the bytes and tp_len above are visible to the
            // kernel before it sees the request.
            let _ = self
                .map
                .store_status(status_at, libc::TP_STATUS_SEND_REQUEST);
            if let Some(tx) = self.tx.as_mut() {
                tx.head = (tx.head + 1) % tx.frame_count.max(1);
            }
            queued += 1;
            unkicked += 1;
        }
        if unkicked > 0 {
            self.kick()?;
        }
        Ok(queued)
    }

    fn tx_slot_offset(&self) -> Option<usize> {
        let tx = self.tx.as_ref()?;
        let fpb = tx.frames_per_block.max(1);
        let in_ring = (tx.head / fpb)
            .checked_mul(tx.block_size)?
            .checked_add((tx.head % fpb).checked_mul(tx.frame_size)?)?;
        tx.base.checked_add(in_ring)
    }

    /// Asks the kernel to transmit every TP_STATUS_SEND_REQUEST slot,
    /// without waiting for completions. A full device queue (ENOBUFS,
    /// EAGAIN) is not an error: the slots stay queued for the next kick.
    fn kick(&mut self) -> io::Result<()> {
        // SAFETY: send(2) with a NULL buffer of length 0 is the documented
        // TX-ring kick; the kernel reads the ring we mapped, not the buffer.
        let rc =
            unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::ENOBUFS) => {}
                _ => return Err(e),
            }
        }
        Ok(())
    }

    fn send_mmsg<'a>(&mut self, frames: impl Iterator<Item = &'a [u8]>) -> io::Result<usize> {
        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut iov = [empty; MMSG_BATCH];
        let mut n = 0usize;
        let mut sent = 0usize;
        for frame in frames {
            if !self.admissible(frame) {
                continue;
            }
            if let Some(v) = iov.get_mut(n) {
                // The kernel only reads through iov_base (sendmsg), so the
                // const-to-mut cast never leads to a write.
                *v = libc::iovec {
                    iov_base: frame.as_ptr().cast_mut().cast::<libc::c_void>(),
                    iov_len: frame.len(),
                };
                n += 1;
            }
            if n == MMSG_BATCH {
                sent += self.flush_mmsg(&mut iov, n)?;
                n = 0;
            }
        }
        if n > 0 {
            sent += self.flush_mmsg(&mut iov, n)?;
        }
        Ok(sent)
    }

    /// One `sendmmsg` for `iov[..n]` (retrying after a partial send);
    /// returns how many went out, counting the rest as ring-full drops.
    fn flush_mmsg(&mut self, iov: &mut [libc::iovec; MMSG_BATCH], n: usize) -> io::Result<usize> {
        // SAFETY: mmsghdr is plain old data (integers and pointers); all
        // zero is valid: no name, no control data, flags 0.
        let mut msgs: [libc::mmsghdr; MMSG_BATCH] = unsafe { std::mem::zeroed() };
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        let n = n.min(MMSG_BATCH);
        let mut done = 0usize;
        // At most n calls: each either sends at least one frame or stops.
        while done < n {
            let Some(rest) = msgs.get_mut(done..n) else {
                break;
            };
            // SAFETY: `rest` is a live array of `rest.len()` mmsghdr whose
            // msg_iov each point at one iovec in `iov`, which points into a
            // caller's frame slice alive for this call; the socket is bound,
            // so no address is needed; the kernel writes only msg_len.
            let rc = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    rest.as_mut_ptr(),
                    rest.len() as libc::c_uint,
                    libc::MSG_DONTWAIT,
                )
            };
            if rc < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) | Some(libc::ENOBUFS) => break,
                    _ => return Err(e),
                }
            }
            if rc == 0 {
                break;
            }
            done += rc as usize;
        }
        self.stats.tx_ring_full += (n - done.min(n)) as u64;
        Ok(done.min(n))
    }

    /// Joins the link-layer multicast groups `macs` (PACKET_MR_MULTICAST):
    /// the interface then accepts frames to them (all-nodes 33:33:00:00:00:01,
    /// all-routers 33:33:00:00:00:02, All_DHCP_Relay_Agents_and_Servers
    /// 33:33:00:01:00:02, the solicited-node groups of the router's
    /// addresses). The kernel counts joins per socket: join twice, leave
    /// twice. Memberships end when the socket closes.
    pub fn join_multicast(&mut self, macs: &[EthernetAddress]) -> io::Result<()> {
        for mac in macs {
            self.membership(
                libc::PACKET_ADD_MEMBERSHIP,
                libc::PACKET_MR_MULTICAST,
                Some(mac),
            )
            .map_err(|e| io::Error::new(e.kind(), format!("{}: join {mac}: {e}", self.name)))?;
        }
        Ok(())
    }

    /// Leaves groups joined with [`PacketSocket::join_multicast`].
    pub fn leave_multicast(&mut self, macs: &[EthernetAddress]) -> io::Result<()> {
        for mac in macs {
            self.membership(
                libc::PACKET_DROP_MEMBERSHIP,
                libc::PACKET_MR_MULTICAST,
                Some(mac),
            )
            .map_err(|e| io::Error::new(e.kind(), format!("{}: leave {mac}: {e}", self.name)))?;
        }
        Ok(())
    }

    /// Accepts every multicast frame on the interface (PACKET_MR_ALLMULTI),
    /// or stops. Idempotent.
    pub fn set_allmulti(&mut self, on: bool) -> io::Result<()> {
        if on == self.allmulti {
            return Ok(());
        }
        let op = if on {
            libc::PACKET_ADD_MEMBERSHIP
        } else {
            libc::PACKET_DROP_MEMBERSHIP
        };
        self.membership(op, libc::PACKET_MR_ALLMULTI, None)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: allmulti: {e}", self.name)))?;
        self.allmulti = on;
        Ok(())
    }

    fn membership(
        &self,
        op: libc::c_int,
        kind: libc::c_int,
        mac: Option<&EthernetAddress>,
    ) -> io::Result<()> {
        let mut addr = [0u8; 8];
        if let Some(mac) = mac {
            for (d, s) in addr.iter_mut().zip(mac.as_bytes()) {
                *d = *s;
            }
        }
        let mreq = libc::packet_mreq {
            mr_ifindex: libc::c_int::try_from(self.ifindex).map_err(|_| invalid("ifindex"))?,
            mr_type: kind as libc::c_ushort,
            mr_alen: if mac.is_some() { 6 } else { 0 },
            mr_address: addr,
        };
        setsockopt(self.fd.as_fd(), op, &mreq)
    }

    /// The counters. Reading PACKET_STATISTICS resets the kernel's, so
    /// they are folded into totals kept here: each call returns totals.
    pub fn stats(&mut self) -> io::Result<SocketStats> {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `st` and `len` are live and writable for the call and
        // `len` is `st`'s size; the kernel writes at most `len` bytes
        // (8 under V2, which leaves tp_freeze_q_cnt zero).
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut st as *mut libc::tpacket_stats_v3).cast::<libc::c_void>(),
                &mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        self.stats.kernel_packets += u64::from(st.tp_packets);
        self.stats.kernel_drops += u64::from(st.tp_drops);
        self.stats.kernel_freeze_q += u64::from(st.tp_freeze_q_cnt);
        Ok(self.stats)
    }
}

impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for PacketSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Readable when the kernel hands a V3 block (or a V2 frame) to the ring.
/// Edge-triggered: see [`PacketSocket::rx_pending`].
impl mio::event::Source for PacketSocket {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).register(registry, token, interests)
    }

    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interests: Interest,
    ) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).reregister(registry, token, interests)
    }

    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        SourceFd(&self.fd.as_raw_fd()).deregister(registry)
    }
}

/// One received frame, located.
#[derive(Debug, Clone, Copy)]
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

/// Whether a TX slot's status lets us fill it: none of SEND_REQUEST,
/// SENDING, WRONG_FORMAT. The completion may OR timestamp bits
/// (TP_STATUS_TS_*) into TP_STATUS_AVAILABLE, so compare the low bits only.
fn tx_slot_free(status: Option<u32>) -> bool {
    const BUSY: u32 =
        libc::TP_STATUS_SEND_REQUEST | libc::TP_STATUS_SENDING | libc::TP_STATUS_WRONG_FORMAT;
    status.is_some_and(|s| s & BUSY == 0)
}

fn invalid(msg: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg.to_owned())
}

/// setsockopt(SOL_PACKET, opt, value).
fn setsockopt<T>(fd: BorrowedFd<'_>, opt: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live, initialised T for the whole call
    // and the length passed is exactly its size; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            opt,
            (value as *const T).cast::<libc::c_void>(),
            size_of::<T>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Validated ring sizes, as the kernel wants them (packet_set_ring):
/// block size a page multiple, frame size a multiple of 16 holding the
/// header, frames per block times blocks equal to the frame count.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    rx_block_size: u32,
    rx_block_count: u32,
    rx_frame_count: u32,
    frame_size: u32,
    tx_block_size: u32,
    tx_block_count: u32,
    tx_frame_count: u32,
}

impl Geometry {
    fn new(cfg: &RingConfig, max_frame: usize) -> io::Result<Geometry> {
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

    fn rx_len(&self) -> usize {
        self.rx_block_size as usize * self.rx_block_count as usize
    }

    fn map_len_checked(&self) -> Option<usize> {
        (self.rx_block_size as usize)
            .checked_mul(self.rx_block_count as usize)?
            .checked_add((self.tx_block_size as usize).checked_mul(self.tx_block_count as usize)?)
    }

    fn map_len(&self) -> usize {
        self.map_len_checked().unwrap_or(0)
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf with a constant name has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).ok().filter(|&p| p > 0).unwrap_or(4096)
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

    #[test]
    fn fanout_group_is_per_interface_and_process() {
        assert_eq!(fanout_group_id(3, 4242), fanout_group_id(3, 4242));
        assert_ne!(fanout_group_id(3, 4242), fanout_group_id(4, 4242));
        assert_ne!(fanout_group_id(3, 4242), fanout_group_id(3, 4243));
    }

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

    #[test]
    fn tx_slot_free_ignores_timestamp_bits() {
        assert!(tx_slot_free(Some(libc::TP_STATUS_AVAILABLE)));
        assert!(tx_slot_free(Some(libc::TP_STATUS_TS_SOFTWARE)));
        assert!(!tx_slot_free(Some(libc::TP_STATUS_SEND_REQUEST)));
        assert!(!tx_slot_free(Some(libc::TP_STATUS_SENDING)));
        assert!(!tx_slot_free(Some(libc::TP_STATUS_WRONG_FORMAT)));
        assert!(!tx_slot_free(None));
    }
}
