//! The Ethernet stage: which frames are for this router at all.

use crate::wire::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, ParseError};

use super::super::compiled::IfaceConfig;
use super::super::next::Next;
use super::super::stats::DropReason;

/// What the L2 stage hands on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct L2 {
    pub src_mac: EthernetAddress,
    pub ethertype: EtherType,
    pub header_len: usize,
}

/// Checks the Ethernet header of a frame received on `iface`. An untagged
/// frame is read straight from the header's fields; only a tagged one
/// goes through the tag walk, to tell a malformed tag from a VLAN.
#[inline(always)]
pub(crate) fn input(iface: &IfaceConfig, frame: &[u8]) -> Result<L2, Next> {
    let drop = |r| Next::Drop(r);
    let Ok(header) = EthernetFrame::new_checked(frame) else {
        return Err(drop(DropReason::EthernetTruncated));
    };
    if header.ethertype().is_vlan_tpid() {
        return Err(drop(match EthernetRepr::parse(&header) {
            Err(ParseError::Truncated) => DropReason::EthernetTruncated,
            Err(_) => DropReason::EthernetMalformed,
            Ok(_) => DropReason::VlanTagged,
        }));
    }
    let (src, dst) = (header.src_addr(), header.dst_addr());
    if src.is_multicast() {
        return Err(drop(DropReason::BadSourceMac));
    }
    if src == iface.mac {
        return Err(drop(DropReason::OwnSourceMac));
    }
    if dst != iface.mac && !dst.is_multicast() {
        return Err(drop(DropReason::NotOurMac));
    }
    Ok(L2 {
        src_mac: src,
        ethertype: header.ethertype(),
        header_len: crate::wire::ethernet::HEADER_LEN,
    })
}
