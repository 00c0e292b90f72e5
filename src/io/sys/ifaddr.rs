//! The kernel's IPv4 addresses on an interface (getifaddrs(3)).
//!
//! `routelet run` refuses to start on an interface that carries kernel
//! IPv4 addresses: the kernel would answer ARP and ICMP for them beside
//! routelet, and two answerers on one address confuse every host.

use std::ffi::CStr;
use std::io;
use std::net::Ipv4Addr;

/// The IPv4 addresses the kernel has on interface `name` in the calling
/// thread's network namespace.
pub fn ipv4_addresses(name: &str) -> io::Result<Vec<Ipv4Addr>> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `head` on success; the
    // pointer is valid for writes for the duration of the call.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut cur = head;
    // The list is finite (kernel-built); bound the walk anyway.
    for _ in 0..65_536 {
        if cur.is_null() {
            break;
        }
        // SAFETY: `cur` is a non-null node of the list getifaddrs returned,
        // which stays valid until freeifaddrs below.
        let node = unsafe { &*cur };
        cur = node.ifa_next;
        if node.ifa_name.is_null() || node.ifa_addr.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let ifname = unsafe { CStr::from_ptr(node.ifa_name) };
        if ifname.to_bytes() != name.as_bytes() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points at a sockaddr whose
        // family field is always readable.
        let family = unsafe { (*node.ifa_addr).sa_family };
        if i32::from(family) != libc::AF_INET {
            continue;
        }
        // SAFETY: the family is AF_INET, so the sockaddr is a sockaddr_in.
        let sin = unsafe { &*(node.ifa_addr as *const libc::sockaddr_in) };
        out.push(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
    }
    // SAFETY: `head` came from a successful getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn loopback_has_127_0_0_1_and_unknown_has_none() {
        let lo = ipv4_addresses("lo").unwrap();
        assert!(lo.contains(&Ipv4Addr::LOCALHOST), "{lo:?}");
        assert!(ipv4_addresses("no-such-if0").unwrap().is_empty());
    }
}
