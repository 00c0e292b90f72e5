//! The kernel's IPv4 addresses on an interface (getifaddrs(3)).
//!
//! `routelet run` refuses to start on an interface that carries kernel
//! IPv4 addresses: the kernel would answer ARP and ICMP for them beside
//! routelet, and two answerers on one address confuse every host.

use std::io;
use std::net::Ipv4Addr;

use nix::ifaddrs::getifaddrs;

/// The IPv4 addresses the kernel has on interface `name` in the calling
/// thread's network namespace (getifaddrs asks over netlink, from a
/// socket of the calling thread, so it answers for that namespace).
pub fn ipv4_addresses(name: &str) -> io::Result<Vec<Ipv4Addr>> {
    let list = getifaddrs().map_err(io::Error::from)?;
    Ok(list
        // The list is finite (kernel-built); bound the walk anyway.
        .take(65_536)
        .filter(|a| a.interface_name == name)
        .filter_map(|a| a.address.as_ref()?.as_sockaddr_in().map(|sin| sin.ip()))
        .collect())
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
