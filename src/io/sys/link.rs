//! What the kernel says about a network interface: index, MAC, MTU, state.
//!
//! Contract: [`link_facts`] asks the kernel of the calling thread's network
//! namespace: the index with `if_nametoindex`, the hardware type, MAC and
//! flags from `getifaddrs` (its AF_PACKET entry; netlink), and the MTU with
//! one `ioctl(SIOCGIFMTU)` (netdevice(7)) on a throwaway `AF_INET`
//! datagram socket, the one raw call left here. Not `/sys/class/net`:
//! sysfs shows the network namespace of whoever mounted it, not the calling
//! thread's, so after a `setns` (see [`super::run_in_netns`]) it would
//! describe the wrong namespace, while a socket created by the thread (the
//! netlink one of getifaddrs, the ioctl one) answers for the namespace it
//! lives in. None of this needs privilege.
//!
//! Every error names the interface; a missing one is `NotFound`, a
//! non-Ethernet one (loopback, tun, ...) `InvalidInput`, because the engine
//! speaks Ethernet II only.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::ifaddrs::getifaddrs;
use nix::net::if_::{if_nametoindex, InterfaceFlags};
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};

use crate::wire::EthernetAddress;

/// An interface as the kernel sees it, read once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkFacts {
    /// Kernel interface index (what `PacketSocket` binds to).
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address.
    pub mac: EthernetAddress,
    /// MTU of the link (L3 bytes, Ethernet header excluded).
    pub mtu: u32,
    /// Administratively up (IFF_UP) with a carrier (IFF_RUNNING): frames
    /// can pass. A veth whose peer is down is up but not running.
    pub up: bool,
}

/// Reads index, MAC, MTU and state of interface `name` in the calling
/// thread's network namespace.
pub fn link_facts(name: &str) -> io::Result<LinkFacts> {
    let named = |e: io::Error| {
        let kind = match e.raw_os_error() {
            Some(libc::ENODEV) | Some(libc::ENXIO) => io::ErrorKind::NotFound,
            _ => e.kind(),
        };
        io::Error::new(kind, format!("interface {name:?}: {e}"))
    };
    let ifr_name = ifr_name_for(name).map_err(named)?;
    let ifindex = if_nametoindex(name).map_err(|e| named(e.into()))?;

    // The AF_PACKET entry of getifaddrs: hardware type, address, flags.
    let link = getifaddrs()
        .map_err(|e| named(e.into()))?
        .take(65_536)
        .find_map(|a| {
            let ll = *a.address.as_ref()?.as_link_addr()?;
            (a.interface_name == name).then_some((ll, a.flags))
        });
    let Some((ll, flags)) = link else {
        return Err(named(io::Error::from_raw_os_error(libc::ENODEV)));
    };
    if ll.hatype() != libc::ARPHRD_ETHER || ll.halen() != 6 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface {name:?}: not Ethernet (ARPHRD {})", ll.hatype()),
        ));
    }
    let mac = ll.addr().unwrap_or_default();
    let up = flags.contains(InterfaceFlags::IFF_UP) && flags.contains(InterfaceFlags::IFF_RUNNING);
    let mtu = mtu_of(ifr_name).map_err(named)?;

    Ok(LinkFacts {
        ifindex,
        name: name.to_owned(),
        mac: EthernetAddress(mac),
        mtu: u32::try_from(mtu).map_err(|_| named(io::Error::other("negative MTU")))?,
        up,
    })
}

/// `name` as an `ifr_name` field, or `InvalidInput` if it cannot be an
/// interface name (empty, too long, NUL or '/').
fn ifr_name_for(name: &str) -> io::Result<[libc::c_char; libc::IFNAMSIZ]> {
    let bytes = name.as_bytes();
    if bytes.is_empty()
        || bytes.len() >= libc::IFNAMSIZ
        || bytes.iter().any(|&b| b == 0 || b == b'/')
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a valid interface name",
        ));
    }
    let mut out = [0; libc::IFNAMSIZ];
    for (dst, src) in out.iter_mut().zip(bytes) {
        // u8 to c_char: a bit-for-bit reinterpretation; the array is
        // longer than the name, so the NUL terminator stays.
        *dst = libc::c_char::from_ne_bytes([*src]);
    }
    Ok(out)
}

/// SIOCGIFMTU for the interface `ifr_name` names.
fn mtu_of(ifr_name: [libc::c_char; libc::IFNAMSIZ]) -> io::Result<libc::c_int> {
    let sock: OwnedFd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    let mut req = libc::ifreq {
        ifr_name,
        ifr_ifru: libc::__c_anonymous_ifr_ifru { ifru_mtu: 0 },
    };
    // SAFETY: SIOCGIFMTU reads the NUL-terminated `ifr_name` and writes
    // the `ifru_mtu` member of the `ifreq` that the pointer designates,
    // which is valid and writable for the whole call.
    let rc = unsafe {
        libc::ioctl(
            sock.as_raw_fd(),
            libc::SIOCGIFMTU as _,
            &mut req as *mut libc::ifreq,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: we initialised `ifru_mtu` and SIOCGIFMTU wrote a c_int into
    // it; any c_int is a valid value.
    Ok(unsafe { req.ifr_ifru.ifru_mtu })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bad_names_are_invalid_input() {
        for bad in ["", "a/b", "0123456789abcdef", "a\0b"] {
            let err = link_facts(bad).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn missing_interface_is_not_found_and_named() {
        let err = link_facts("rlt-nonexist0").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("rlt-nonexist0"), "{err}");
    }

    #[test]
    fn loopback_is_not_ethernet() {
        let err = link_facts("lo").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("not Ethernet"), "{err}");
    }
}
