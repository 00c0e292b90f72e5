//! DHCPv6 in the router (RFC 8415): the server for the tenant links
//! (stateless, stateful IA_NA, IA_PD prefix delegation) and its lease
//! store and journal.
//!
//! - [`server`]: the I/O-free message logic: a client's message in, the
//!   reply and the lease changes out.
//! - [`store`]: the bindings and the allocator; one owner, so no address
//!   is ever handed to two clients.
//! - [`pd_client`]: the requesting router on the external link (the
//!   talk's dibbler-client flow), I/O-free.
//! - [`frame`]: a punted frame's checks (IPv6, UDP, checksum) and the
//!   reply frame.
//!
//! `routelet run` drives these from one service thread
//! (`runtime::dhcp`): workers punt DHCPv6 frames to it, and it sends a
//! Reply only once the journal has the lease on disk. `routelet replay`
//! drives them inline.

pub mod frame;
pub mod journal;
pub mod pd_client;
pub mod server;
pub mod service;
pub mod store;
