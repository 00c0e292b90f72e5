//! Building the frames the router originates into a [`TxBatch`].
//!
//! Each builder reserves exactly `buffer_len()` bytes, writes Ethernet, IP
//! and the message, and fills the checksums. A builder whose message cannot
//! be encoded takes its frame back (`TxBatch::pop`): nothing half-written
//! ever leaves.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::{
    ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Icmpv4Packet,
    Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
    NdiscRepr, ALL_NODES,
};

use super::compiled::IfaceConfig;
use super::TxBatch;

/// RFC 4861: every ND message is sent with hop limit 255.
pub const ND_HOP_LIMIT: u8 = 255;

const ETH_LEN: usize = crate::wire::ethernet::HEADER_LEN;
const IPV6_LEN: usize = crate::wire::ipv6::HEADER_LEN;
const IPV4_LEN: usize = crate::wire::ipv4::HEADER_LEN;

/// Writes an untagged Ethernet header into the first 14 bytes of `buf`.
pub(crate) fn ethernet(
    buf: &mut [u8],
    dst: EthernetAddress,
    src: EthernetAddress,
    ethertype: EtherType,
) {
    let repr = EthernetRepr {
        dst_addr: dst,
        src_addr: src,
        ethertype,
        vlan: None,
        outer_vlan: None,
    };
    repr.emit(&mut EthernetFrame::new_unchecked(buf));
}

/// A prebuilt untagged Ethernet header: what an adjacency caches and a
/// forwarded frame starts with.
#[inline]
pub(crate) fn ethernet_header(
    dst: EthernetAddress,
    src: EthernetAddress,
    ethertype: EtherType,
) -> [u8; 14] {
    let [d0, d1, d2, d3, d4, d5] = dst.0;
    let [s0, s1, s2, s3, s4, s5] = src.0;
    let [t0, t1] = u16::from(ethertype).to_be_bytes();
    [d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5, t0, t1]
}

/// Ethernet + IPv6 headers for an ICMPv6 body of `icmp_len` bytes; returns
/// the frame with the body still to write at `ETH_LEN + IPV6_LEN`.
fn ipv6_frame<'t>(
    tx: &'t mut TxBatch,
    iface: &IfaceConfig,
    dst_mac: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    icmp_len: usize,
) -> &'t mut [u8] {
    let buf = tx.push(iface.id, ETH_LEN + IPV6_LEN + icmp_len);
    let (eth, rest) = buf.split_at_mut(ETH_LEN);
    ethernet(eth, dst_mac, iface.mac, EtherType::Ipv6);
    let ip = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmpv6,
        payload_len: icmp_len,
        hop_limit,
    };
    if let Some(ip_buf) = rest.get_mut(..IPV6_LEN) {
        ip.emit(&mut Ipv6Packet::new_unchecked(ip_buf));
    }
    buf
}

/// An ICMPv6 message from `src` to `dst`.
pub fn icmpv6(
    tx: &mut TxBatch,
    iface: &IfaceConfig,
    dst_mac: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    repr: &Icmpv6Repr<'_>,
) {
    let len = repr.buffer_len();
    let buf = ipv6_frame(tx, iface, dst_mac, src, dst, hop_limit, len);
    let body = buf.get_mut(ETH_LEN + IPV6_LEN..).unwrap_or_default();
    if repr
        .emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(body))
        .is_err()
    {
        tx.pop();
    }
}

/// An ND message (hop limit 255).
pub fn ndisc(
    tx: &mut TxBatch,
    iface: &IfaceConfig,
    dst_mac: EthernetAddress,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    repr: &NdiscRepr<'_>,
) {
    icmpv6(
        tx,
        iface,
        dst_mac,
        src,
        dst,
        ND_HOP_LIMIT,
        &Icmpv6Repr::Ndisc(*repr),
    );
}

/// A router advertisement from the interface's link-local address, with a
/// pre-encoded ICMPv6 body (checksum zero) that only needs its checksum.
pub fn router_advert(
    tx: &mut TxBatch,
    iface: &IfaceConfig,
    dst_mac: EthernetAddress,
    dst: Ipv6Addr,
    body: &[u8],
) {
    let src = iface.link_local;
    let buf = ipv6_frame(tx, iface, dst_mac, src, dst, ND_HOP_LIMIT, body.len());
    if let Some(icmp) = buf.get_mut(ETH_LEN + IPV6_LEN..) {
        icmp.copy_from_slice(body);
        Icmpv6Packet::new_unchecked(icmp).fill_checksum(&src, &dst);
    }
}

/// A router advertisement to all nodes.
pub fn router_advert_multicast(tx: &mut TxBatch, iface: &IfaceConfig, body: &[u8]) {
    router_advert(
        tx,
        iface,
        EthernetAddress::from_ipv6_multicast(&ALL_NODES),
        ALL_NODES,
        body,
    );
}

/// An ICMPv4 message from `src` to `dst`.
pub fn icmpv4(
    tx: &mut TxBatch,
    iface: &IfaceConfig,
    dst_mac: EthernetAddress,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    repr: &Icmpv4Repr<'_>,
) {
    let icmp_len = repr.buffer_len();
    let buf = tx.push(iface.id, ETH_LEN + IPV4_LEN + icmp_len);
    let (eth, rest) = buf.split_at_mut(ETH_LEN);
    ethernet(eth, dst_mac, iface.mac, EtherType::Ipv4);
    let (ip_buf, icmp_buf) = rest.split_at_mut(IPV4_LEN);
    let ip = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: IpProtocol::Icmp,
        payload_len: icmp_len,
        hop_limit: ttl,
        dont_frag: false,
        identification: 0,
    };
    ip.emit(&mut Ipv4Packet::new_unchecked(ip_buf));
    if repr
        .emit(&mut Icmpv4Packet::new_unchecked(icmp_buf))
        .is_err()
    {
        tx.pop();
    }
}

/// An ARP packet to `dst_mac`.
pub fn arp(tx: &mut TxBatch, iface: &IfaceConfig, dst_mac: EthernetAddress, repr: &ArpRepr) {
    let buf = tx.push(iface.id, ETH_LEN + repr.buffer_len());
    let (eth, rest) = buf.split_at_mut(ETH_LEN);
    ethernet(eth, dst_mac, iface.mac, EtherType::Arp);
    repr.emit(&mut ArpPacket::new_unchecked(rest));
}
