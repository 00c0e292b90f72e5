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

/// Checks the Ethernet header of a frame received on `iface`.
#[inline(always)]
pub(crate) fn input(iface: &IfaceConfig, frame: &[u8]) -> Result<L2, Next> {
    let drop = |r| Next::Drop(r);
    let eth = EthernetFrame::new_checked(frame)
        .and_then(|f| EthernetRepr::parse(&f))
        .map_err(|e| {
            drop(match e {
                ParseError::Truncated => DropReason::EthernetTruncated,
                _ => DropReason::EthernetMalformed,
            })
        })?;
    if eth.vlan.is_some() {
        return Err(drop(DropReason::VlanTagged));
    }
    if eth.src_addr.is_multicast() {
        return Err(drop(DropReason::BadSourceMac));
    }
    if eth.src_addr == iface.mac {
        return Err(drop(DropReason::OwnSourceMac));
    }
    if eth.dst_addr != iface.mac && !eth.dst_addr.is_multicast() {
        return Err(drop(DropReason::NotOurMac));
    }
    Ok(L2 {
        src_mac: eth.src_addr,
        ethertype: eth.ethertype,
        header_len: eth.header_len(),
    })
}
