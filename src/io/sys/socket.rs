//! One AF_PACKET socket with an mmap RX ring and a TX path, bound to one
//! interface (packet(7), Documentation/networking/packet_mmap.rst): opening
//! it, its options (fanout, multicast), its counters and its mio
//! registration. The RX path is in [`super::rx`], the TX path in
//! [`super::tx`], the ring sizes and header layout in [`super::geometry`].
//!
//! Contract:
//!
//! - [`PacketSocket::open`] creates the socket with protocol 0 (it receives
//!   nothing yet), sets the ring version and options, sets up and maps the
//!   rings, and only then binds to the interface with `ETH_P_ALL`, so no
//!   frame can be queued outside the ring. Fanout is joined after the bind
//!   (the kernel requires a bound socket); frames arriving in between land
//!   on this socket, which only matters for flow affinity at start-up.
//! - All ring offsets coming from the kernel are checked against the block
//!   or frame they belong to before use ([`super::ring`] checks them again
//!   against the mapping); a header that fails is counted and its block or
//!   slot handed back.
//! - Drop unmaps the rings, then closes the socket (field order), which
//!   also leaves the fanout group and drops the multicast memberships.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use nix::errno::Errno;
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};

use super::geometry::{invalid, Geometry, RingConfig, RingVersion, TxMode, ETH_HLEN};
use super::link::LinkFacts;
use super::ring::RingMap;
use super::rx::Rx;
use super::tx::TxRing;
use crate::wire::EthernetAddress;

/// `sll_family` of a packet socket address (AF_PACKET is 17: fits, as
/// the assertion below checks; `try_from` is not const).
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
const AF_PACKET_FAMILY: libc::c_ushort = libc::AF_PACKET as libc::c_ushort;
/// `sll_protocol`: every protocol (ETH_P_ALL is 0x0003), network order.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
const ETH_P_ALL_BE: u16 = (libc::ETH_P_ALL as u16).to_be();
const _: () = assert!(libc::AF_PACKET == 17 && libc::ETH_P_ALL == 3);

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

/// An AF_PACKET socket on one interface with its rings. See the module doc.
#[derive(Debug)]
pub struct PacketSocket {
    // Field order is drop order: unmap before close.
    pub(super) map: RingMap,
    pub(super) fd: OwnedFd,
    pub(super) ifindex: u32,
    pub(super) name: String,
    pub(super) max_frame: usize,
    pub(super) version: RingVersion,
    pub(super) rx: Rx,
    pub(super) tx: Option<TxRing>,
    pub(super) rx_budget: usize,
    pub(super) allmulti: bool,
    pub(super) stats: SocketStats,
}

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

        // Protocol 0: nothing is received until `bind` names a protocol.
        let fd: OwnedFd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map_err(|errno| {
            let what = if errno == Errno::EPERM || errno == Errno::EACCES {
                "socket (AF_PACKET needs CAP_NET_RAW: run as root, or grant it)"
            } else {
                "socket"
            };
            ctx(what, errno.into())
        })?;

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

        let sll = libc::sockaddr_ll {
            sll_family: AF_PACKET_FAMILY,
            sll_protocol: ETH_P_ALL_BE,
            sll_ifindex: libc::c_int::try_from(facts.ifindex)
                .map_err(|_| ctx("bind", invalid("ifindex out of range")))?,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        let sll_len = socklen_of::<libc::sockaddr_ll>().map_err(|e| ctx("bind", e))?;
        // SAFETY: `sll` is a valid sockaddr_ll that outlives the call, and
        // the length passed is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                sll_len,
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

        let rx = Rx::new(&geometry);
        let tx = (cfg.tx_mode == TxMode::Ring).then(|| TxRing::new(&geometry));
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
            mr_type: libc::c_ushort::try_from(kind).map_err(|_| invalid("membership type"))?,
            mr_alen: if mac.is_some() { 6 } else { 0 },
            mr_address: addr,
        };
        setsockopt(self.fd.as_fd(), op, &mreq)
    }

    /// The totals gathered so far, without asking the kernel: the kernel's
    /// counters as of the last [`PacketSocket::stats`], ours up to now.
    pub fn counters(&self) -> SocketStats {
        self.stats
    }

    /// The counters. Reading PACKET_STATISTICS resets the kernel's, so
    /// they are folded into totals kept here: each call returns totals.
    pub fn stats(&mut self) -> io::Result<SocketStats> {
        let mut st = libc::tpacket_stats_v3 {
            tp_packets: 0,
            tp_drops: 0,
            tp_freeze_q_cnt: 0,
        };
        let mut len = socklen_of::<libc::tpacket_stats_v3>()?;
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

/// The size of `T` as a socket option or address length.
pub(super) fn socklen_of<T>() -> io::Result<libc::socklen_t> {
    libc::socklen_t::try_from(size_of::<T>()).map_err(|_| invalid("option too large"))
}

/// setsockopt(SOL_PACKET, opt, value).
pub(super) fn setsockopt<T>(fd: BorrowedFd<'_>, opt: libc::c_int, value: &T) -> io::Result<()> {
    let len = socklen_of::<T>()?;
    // SAFETY: `value` points to a live, initialised T for the whole call
    // and the length passed is exactly its size; the kernel only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            opt,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fanout_group_is_per_interface_and_process() {
        assert_eq!(fanout_group_id(3, 4242), fanout_group_id(3, 4242));
        assert_ne!(fanout_group_id(3, 4242), fanout_group_id(4, 4242));
        assert_ne!(fanout_group_id(3, 4242), fanout_group_id(3, 4243));
    }
}
