//! DHCPv6 in the router: the prefix delegation client (and, from the
//! other branches, the server and its lease journal).

pub mod pd_client;
