//! Packet I/O over AF_PACKET with TPACKET mmap rings: the one module of the
//! crate allowed `unsafe`.
//!
//! - [`link_facts`]: index, MAC, MTU and state of an interface (nix's
//!   `if_nametoindex` and `getifaddrs`, one `SIOCGIFMTU` ioctl).
//! - [`PacketSocket`]: one socket per interface per worker, an RX ring
//!   walked in place, a TX ring (or `sendmmsg`), PACKET_FANOUT, multicast
//!   membership, statistics, and a `mio::event::Source` impl. Opening and
//!   options are in `socket`, the RX walk (`rx_vec`: up to [`RX_VEC_MAX`]
//!   frames valid together, [`RxFrame`]) in `rx`, the TX path in `tx`, the
//!   ring sizes and kernel header layout in `geometry`, the bounds-checked
//!   ring memory in `ring`.
//! - [`SocketFilter`]: the BPF programs that split ND/ARP from the data
//!   path when several workers share an interface.
//! - [`ipv4_addresses`]: the kernel's IPv4 addresses on an interface.
//! - [`run_in_netns`]: runs a closure on a thread inside another network
//!   namespace (tests, supervisors).
//!
//! Choices (packet(7), Documentation/networking/packet_mmap.rst), with the
//! figures of `tests/afpacket.rs` `measure_*` (release build, veth between
//! two namespaces, 64-byte frames, a 2-core VM shared with other builds, so
//! +-30 %; rerun with `cargo test --release --test afpacket -- --ignored
//! --nocapture --test-threads 1`):
//!
//! - RX is TPACKET_V3 with a 1 ms block-retire timeout by default. A burst
//!   of 200k frames: V3 delivered 270k-430k frames/s to one socket with
//!   ~1-4 % kernel drops, V2 73k-180k frames/s with 45-65 % drops. V3 packs
//!   frames by size (about 2300 small frames fit the default 256 KiB ring,
//!   V2 has 128 fixed 2 KiB slots) and wakes the reader once per block.
//!   The price is latency on a quiet link: a lone frame waits for the
//!   retire timer, median one-way 0.92 ms (p99 0.95 ms) with 1 ms, 5.9 ms
//!   with 8 ms, against 18 us (p99 67 us) under V2. `RingVersion::V2` is
//!   there for latency-critical links; the timer cannot go below 1 ms.
//! - TX is `sendmmsg` (up to 64 frames per call) by default. The TX ring
//!   (`TxMode::Ring`: frames copied into slots, one `send()` kick per
//!   batch) measured the same within noise (280k-440k vs 295k-415k
//!   frames/s) but costs 128 KiB more per socket and a second shared-memory
//!   protocol, so it is an option, not the default.
//! - Sizes: the default socket maps 256 KiB (4 x 64 KiB RX blocks), all of
//!   it resident (the kernel allocates ring pages up front): measured RSS
//!   +256 KiB per socket, +397 KiB with the TX ring. A router with two
//!   interfaces and two workers costs 1 MiB, so hundreds of idle routers
//!   fit on a host.
//! - Checksums: the ring's per-frame status carries `TP_STATUS_CSUMNOTREADY`
//!   (frames from a local socket on veth) and `TP_STATUS_CSUM_VALID`, so no
//!   PACKET_AUXDATA is needed.
//! - Workers poll with mio (edge-triggered): after `rx_vec` stopped on its
//!   budget, `rx_pending` says whether to come back before sleeping. A
//!   `Poll::poll` may fail with `Interrupted`; that is a spurious wake-up.
//!
//! Unsafe discipline: raw libc is for the TPACKET rings and the AF_PACKET
//! socket calls nix does not wrap (ring options, `bind` to a
//! `sockaddr_ll`, `sendmmsg`, the TX kick, SO_ATTACH_FILTER) and one
//! ioctl; interfaces, addresses and namespaces go through nix. Every block
//! is small, holds one unsafe operation
//! (`clippy::multiple_unsafe_ops_per_block`) and is preceded by
//! `// SAFETY:` (`clippy::undocumented_unsafe_blocks`); ring memory
//! is only touched through the bounds-checked accessors of `ring`, whose
//! module doc states the memory-ordering argument; kernel structures are
//! libc's, with the ring header offsets checked against them at compile
//! time.

#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![warn(unsafe_op_in_unsafe_fn)]

mod filter;
mod geometry;
mod ifaddr;
mod link;
mod netns;
mod ring;
mod rx;
mod socket;
mod tx;

pub use self::filter::{BpfInsn, SocketFilter};
pub use self::geometry::{RingConfig, RingVersion, TxMode};
pub use self::ifaddr::ipv4_addresses;
pub use self::link::{link_facts, LinkFacts};
pub use self::netns::run_in_netns;
pub use self::rx::{RxFrame, RxMeta, RX_VEC_MAX};
pub use self::socket::{fanout_group_id, PacketSocket, SocketStats};
