//! What the kernel says about a network interface: index, MAC, MTU, state.
//!
//! Contract: [`link_facts`] asks with `ioctl`s (SIOCGIFINDEX, SIOCGIFHWADDR,
//! SIOCGIFMTU, SIOCGIFFLAGS; netdevice(7)) on a throwaway `AF_INET`
//! datagram socket. Not `/sys/class/net`: sysfs shows the network namespace
//! of whoever mounted it, not the calling thread's, so after a `setns`
//! (see [`super::run_in_netns`]) it would describe the wrong namespace,
//! while an ioctl on a socket created by the thread answers for the
//! namespace the socket lives in. The socket needs no privilege.
//!
//! Every error names the interface; a missing one is `NotFound`, a
//! non-Ethernet one (loopback, tun, ...) `InvalidInput`, because the engine
//! speaks Ethernet II only.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

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
    let template = ifreq_for(name).map_err(named)?;
    let sock = throwaway_socket().map_err(named)?;

    let mut req = template;
    ioctl(&sock, libc::SIOCGIFINDEX, &mut req).map_err(named)?;
    // SAFETY: SIOCGIFINDEX succeeded, so the kernel wrote `ifru_ifindex`;
    // reading a c_int from a union of plain-old-data never reads an
    // invalid value.
    let ifindex = unsafe { req.ifr_ifru.ifru_ifindex };

    let mut req = template;
    ioctl(&sock, libc::SIOCGIFHWADDR, &mut req).map_err(named)?;
    // SAFETY: SIOCGIFHWADDR succeeded and wrote `ifru_hwaddr`, a plain
    // `sockaddr`.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
    if hw.sa_family != libc::ARPHRD_ETHER {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("interface {name:?}: not Ethernet (ARPHRD {})", hw.sa_family),
        ));
    }
    let mut mac = [0u8; 6];
    for (dst, src) in mac.iter_mut().zip(hw.sa_data.iter()) {
        // c_char to u8: a bit-for-bit reinterpretation.
        *dst = *src as u8;
    }

    let mut req = template;
    ioctl(&sock, libc::SIOCGIFMTU, &mut req).map_err(named)?;
    // SAFETY: SIOCGIFMTU succeeded and wrote `ifru_mtu`, a c_int.
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };

    let mut req = template;
    ioctl(&sock, libc::SIOCGIFFLAGS, &mut req).map_err(named)?;
    // SAFETY: SIOCGIFFLAGS succeeded and wrote `ifru_flags`, a c_short.
    let flags = i32::from(unsafe { req.ifr_ifru.ifru_flags });
    let up = flags & libc::IFF_UP != 0 && flags & libc::IFF_RUNNING != 0;

    Ok(LinkFacts {
        ifindex: u32::try_from(ifindex).map_err(|_| named(io::Error::other("negative ifindex")))?,
        name: name.to_owned(),
        mac: EthernetAddress(mac),
        mtu: u32::try_from(mtu).map_err(|_| named(io::Error::other("negative MTU")))?,
        up,
    })
}

/// An `ifreq` carrying `name`, or `InvalidInput` if the name cannot be an
/// interface name (empty, too long, NUL or '/').
fn ifreq_for(name: &str) -> io::Result<libc::ifreq> {
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
    // SAFETY: `ifreq` is plain old data (arrays, integers, a union of
    // those and a pointer); all-zero is a valid value of it.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
        // u8 to c_char: a bit-for-bit reinterpretation; the array is
        // longer than the name, so the NUL terminator stays.
        *dst = *src as libc::c_char;
    }
    Ok(req)
}

fn throwaway_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call with constant arguments; no pointers.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor we own and nothing else closes.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ioctl(sock: &OwnedFd, request: libc::c_ulong, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: the SIOCGIF* requests used here read the NUL-terminated name
    // and write at most one `ifr_ifru` member of the `ifreq` that `req`
    // points to, which is valid and writable for the whole call.
    let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request as _, req as *mut libc::ifreq) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
