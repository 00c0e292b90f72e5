//! The lease store: every binding the DHCPv6 server made, and the
//! allocator that picks new ones.
//!
//! One owner (the DHCPv6 service thread, or `replay`) changes it, so no
//! two clients can ever be given one address: there is no second
//! allocator to race with. Every change that a client will be told about
//! yields a [`Record`] for the journal; the server sends its Reply only
//! after the journal made those records durable.
//!
//! Keys: an address lease is keyed by its address (a /128), a delegated
//! prefix by its prefix; a client's leases are found through the index
//! `(DUID, IAID, kind)`. Offers made in Advertises are kept in memory
//! only, for [`OFFER_SECS`], so that the Request that follows gets the
//! address it was offered and a concurrent client is not offered it too;
//! losing them in a crash loses nothing a client was promised.
//!
//! Times are UNIX seconds (leases outlive the process).

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};

/// How long an offer holds its address for the Request that follows.
pub const OFFER_SECS: u64 = 60;

/// Most offers held at once (a Solicit flood replaces the oldest).
pub const MAX_OFFERS: usize = 65_536;

/// Most leases the store holds; past this, new clients get NoAddrsAvail.
pub const MAX_LEASES: usize = 1 << 20;

/// Addresses tried in a pool before it is called exhausted: a small pool
/// is scanned whole, a large one is sparse enough that a few probes from a
/// hashed start find a free address.
pub const MAX_PROBES: u128 = 65_536;

/// What a lease holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseKind {
    /// An IA_NA address.
    Address,
    /// An IA_PD delegated prefix.
    Prefix,
}

/// A lease's state. Released and expired leases are removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeaseState {
    Bound,
    /// Declined by a client (RFC 8415 §18.3.8): quarantined until
    /// `valid_until`, then back in the pool.
    Declined,
}

/// One binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub kind: LeaseKind,
    /// The address (as a /128) or the delegated prefix.
    pub prefix: Ipv6Net,
    pub duid: Vec<u8>,
    pub iaid: u32,
    /// The client's MAC, when known (frame, DUID-LL/LLT).
    #[serde(default)]
    pub mac: Option<[u8; 6]>,
    /// The router interface the client is on.
    pub iface: String,
    /// The subnet or prefix pool it came from.
    pub scope: String,
    /// The `[[port]]` whose reservation it is, if any.
    #[serde(default)]
    pub port: Option<String>,
    pub state: LeaseState,
    pub preferred_until: u64,
    pub valid_until: u64,
    /// For a delegated prefix: the requesting router's address, the next
    /// hop of the route to the prefix.
    #[serde(default)]
    pub via: Option<Ipv6Addr>,
}

impl Lease {
    /// The key of the lease's client.
    pub fn client(&self) -> ClientKey {
        ClientKey {
            duid: self.duid.clone(),
            iaid: self.iaid,
            kind: self.kind,
        }
    }
}

/// A client's identity association: DUID, IAID and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub duid: Vec<u8>,
    pub iaid: u32,
    pub kind: LeaseKind,
}

/// One journal record: the lease as it now is, or its removal. Records are
/// idempotent (replaying one twice changes nothing); later ones win.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Record {
    Put { lease: Lease },
    Del { prefix: Ipv6Net },
}

impl Record {
    /// The record as journal bytes.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// A record from journal bytes; `None` if they are not one.
    pub fn decode(bytes: &[u8]) -> Option<Record> {
        serde_json::from_slice(bytes).ok()
    }
}

#[derive(Debug, Clone)]
struct Offer {
    client: ClientKey,
    until: u64,
}

/// Every lease and offer.
#[derive(Debug, Default)]
pub struct LeaseStore {
    leases: BTreeMap<Ipv6Net, Lease>,
    by_client: HashMap<ClientKey, Vec<Ipv6Net>>,
    offers: HashMap<Ipv6Net, Offer>,
    /// The one live offer of each IA (an IA asks for one thing at a time).
    offer_of: HashMap<ClientKey, Ipv6Net>,
}

impl LeaseStore {
    /// An empty store.
    pub fn new() -> LeaseStore {
        LeaseStore::default()
    }

    /// Rebuilds the store from journal records, oldest first; leases
    /// already expired at `now` are left out. Returns the store and how
    /// many records could not be read.
    pub fn recover<'a>(
        records: impl IntoIterator<Item = &'a [u8]>,
        now: u64,
    ) -> (LeaseStore, usize) {
        let mut store = LeaseStore::new();
        let mut bad = 0usize;
        for bytes in records {
            match Record::decode(bytes) {
                Some(Record::Put { lease }) => store.insert(lease),
                Some(Record::Del { prefix }) => {
                    store.remove(&prefix);
                }
                None => bad += 1,
            }
        }
        let expired: Vec<Ipv6Net> = store
            .leases
            .values()
            .filter(|l| l.valid_until <= now)
            .map(|l| l.prefix)
            .collect();
        for p in expired {
            store.remove(&p);
        }
        (store, bad)
    }

    /// Number of leases.
    pub fn len(&self) -> usize {
        self.leases.len()
    }

    /// No leases.
    pub fn is_empty(&self) -> bool {
        self.leases.is_empty()
    }

    /// Every lease, in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Lease> + '_ {
        self.leases.values()
    }

    /// The lease of an address or prefix.
    pub fn get(&self, prefix: &Ipv6Net) -> Option<&Lease> {
        self.leases.get(prefix)
    }

    /// The lease holding `addr` (an address lease, or a prefix containing it).
    pub fn find_containing(&self, addr: Ipv6Addr) -> Option<&Lease> {
        let host = Ipv6Net::new(addr, 128).ok()?;
        if let Some(l) = self.leases.get(&host) {
            return Some(l);
        }
        // Delegated prefixes are few per pool; the greatest key at or
        // below the address is the only candidate per prefix length.
        self.leases
            .range(..=host)
            .rev()
            .take(64)
            .map(|(_, l)| l)
            .find(|l| l.kind == LeaseKind::Prefix && l.prefix.contains(&addr))
    }

    /// The leases of a client's IA.
    pub fn client_leases(&self, client: &ClientKey) -> impl Iterator<Item = &Lease> + '_ {
        self.by_client
            .get(client)
            .into_iter()
            .flatten()
            .filter_map(|p| self.leases.get(p))
    }

    /// Adds or replaces a lease.
    pub fn insert(&mut self, lease: Lease) {
        let key = lease.prefix;
        if let Some(old) = self.leases.remove(&key) {
            self.unindex(&old);
        }
        if let Some(o) = self.offers.remove(&key) {
            self.offer_of.remove(&o.client);
        }
        let list = self.by_client.entry(lease.client()).or_default();
        if !list.contains(&key) {
            list.push(key);
        }
        self.leases.insert(key, lease);
    }

    /// Removes a lease; returns it.
    pub fn remove(&mut self, prefix: &Ipv6Net) -> Option<Lease> {
        let old = self.leases.remove(prefix)?;
        self.unindex(&old);
        Some(old)
    }

    fn unindex(&mut self, lease: &Lease) {
        let client = lease.client();
        if let Some(list) = self.by_client.get_mut(&client) {
            list.retain(|p| *p != lease.prefix);
            if list.is_empty() {
                self.by_client.remove(&client);
            }
        }
    }

    /// Whether `prefix` may be given to `client` at `now`: no lease of
    /// another client overlaps it (a declined one counts until it ends),
    /// and no live offer to another client holds it.
    pub fn is_free_for(&self, prefix: &Ipv6Net, client: &ClientKey, now: u64) -> bool {
        if let Some(l) = self.leases.get(prefix) {
            if l.valid_until > now && (l.client() != *client || l.state == LeaseState::Declined) {
                return false;
            }
        }
        if prefix.prefix_len() < 128 {
            // A prefix must not overlap any other live lease.
            let overlapping = self
                .leases
                .range(*prefix..)
                .take_while(|(k, _)| prefix.contains(&k.network()))
                .chain(self.leases.range(..*prefix).rev().take(64))
                .any(|(k, l)| {
                    k != prefix
                        && (prefix.contains(&k.network()) || k.contains(&prefix.network()))
                        && l.valid_until > now
                        && l.client() != *client
                });
            if overlapping {
                return false;
            }
        }
        match self.offers.get(prefix) {
            Some(o) => o.until <= now || o.client == *client,
            None => true,
        }
    }

    /// Holds `prefix` for `client` until `now + OFFER_SECS` (an Advertise).
    /// With [`MAX_OFFERS`] live offers (a Solicit flood) nothing more is
    /// held: the Advertise still goes out, and the Request that may follow
    /// picks again. Constant time either way.
    pub fn offer(&mut self, prefix: Ipv6Net, client: ClientKey, now: u64) {
        if let Some(old) = self.offer_of.remove(&client) {
            self.offers.remove(&old);
        }
        if self.offers.len() >= MAX_OFFERS {
            return;
        }
        self.offer_of.insert(client.clone(), prefix);
        self.offers.insert(
            prefix,
            Offer {
                client,
                until: now.saturating_add(OFFER_SECS),
            },
        );
    }

    /// What `client` was offered and may still take.
    pub fn offered_to(&self, client: &ClientKey, now: u64) -> Vec<Ipv6Net> {
        self.offer_of
            .get(client)
            .filter(|p| self.offers.get(p).is_some_and(|o| o.until > now))
            .into_iter()
            .copied()
            .collect()
    }

    /// A free address or prefix for `client` in `[first, last]` (the
    /// integers of the networks, stepping by `step`: 1 for addresses,
    /// 2^(128 - delegated length) for prefixes), starting from a point
    /// hashed from the client so a returning client tends to get the
    /// same one; `skip` rejects candidates the caller reserves (the
    /// gateway, other ports' fixed addresses).
    pub fn allocate(
        &self,
        first: u128,
        last: u128,
        len: u8,
        client: &ClientKey,
        now: u64,
        skip: impl Fn(u128) -> bool,
    ) -> Option<Ipv6Net> {
        if self.leases.len() >= MAX_LEASES || last < first {
            return None;
        }
        let step: u128 = if len >= 128 {
            1
        } else {
            1u128 << (128 - u32::from(len))
        };
        let slots = (last - first) / step + 1;
        let start = hash_client(client) % slots;
        for i in 0..slots.min(MAX_PROBES) {
            let slot = (start + i) % slots;
            let addr = first + slot * step;
            if skip(addr) {
                continue;
            }
            let Ok(net) = Ipv6Net::new(Ipv6Addr::from(addr), len) else {
                continue;
            };
            if self.is_free_for(&net, client, now) && !self.leases.contains_key(&net) {
                return Some(net);
            }
        }
        None
    }

    /// Removes leases whose valid lifetime ended before `now`; returns
    /// them (the caller journals their removal and drops their routes).
    pub fn expire(&mut self, now: u64) -> Vec<Lease> {
        self.offers.retain(|_, o| o.until > now);
        let offers = &self.offers;
        self.offer_of.retain(|_, p| offers.contains_key(p));
        let gone: Vec<Ipv6Net> = self
            .leases
            .values()
            .filter(|l| l.valid_until <= now)
            .map(|l| l.prefix)
            .collect();
        gone.iter().filter_map(|p| self.remove(p)).collect()
    }

    /// The records that rebuild the store as it is (for compaction).
    pub fn snapshot(&self) -> Vec<Vec<u8>> {
        self.leases
            .values()
            .map(|l| Record::Put { lease: l.clone() }.encode())
            .collect()
    }
}

/// FNV-1a over the client's DUID and IAID: a stable, well-spread start.
fn hash_client(client: &ClientKey) -> u128 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in client.duid.iter().chain(client.iaid.to_be_bytes().iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    u128::from(h)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn key(d: u8) -> ClientKey {
        ClientKey {
            duid: vec![0, 3, 0, 1, 0, 0, 0, 0, 0, d],
            iaid: 1,
            kind: LeaseKind::Address,
        }
    }

    fn lease(addr: &str, d: u8, until: u64) -> Lease {
        Lease {
            kind: LeaseKind::Address,
            prefix: Ipv6Net::new(addr.parse().unwrap(), 128).unwrap(),
            duid: key(d).duid,
            iaid: 1,
            mac: None,
            iface: "qr0".into(),
            scope: "s".into(),
            port: None,
            state: LeaseState::Bound,
            preferred_until: until,
            valid_until: until,
            via: None,
        }
    }

    fn a(s: &str) -> u128 {
        u128::from(s.parse::<Ipv6Addr>().unwrap())
    }

    #[test]
    fn records_round_trip_and_recover() {
        let l = lease("2001:db8::5", 1, 100);
        let put = Record::Put { lease: l.clone() };
        assert_eq!(Record::decode(&put.encode()), Some(put.clone()));
        let del = Record::Del { prefix: l.prefix };
        let other = Record::Put {
            lease: lease("2001:db8::6", 2, 100),
        };
        let expired = Record::Put {
            lease: lease("2001:db8::7", 3, 10),
        };
        let recs = [
            put.encode(),
            other.encode(),
            del.encode(),
            expired.encode(),
            b"junk".to_vec(),
        ];
        let (store, bad) = LeaseStore::recover(recs.iter().map(|r| r.as_slice()), 50);
        assert_eq!(bad, 1);
        assert_eq!(store.len(), 1);
        assert!(store.get(&lease("2001:db8::6", 2, 0).prefix).is_some());
    }

    #[test]
    fn allocation_never_gives_one_address_to_two_clients() {
        let mut store = LeaseStore::new();
        let (first, last) = (a("2001:db8::10"), a("2001:db8::1f"));
        let mut seen = std::collections::HashSet::new();
        for d in 0..16u8 {
            let net = store
                .allocate(first, last, 128, &key(d), 0, |_| false)
                .expect("pool has room");
            assert!(seen.insert(net), "{net} twice");
            let mut l = lease(&net.addr().to_string(), d, 1000);
            l.duid = key(d).duid;
            store.insert(l);
        }
        assert_eq!(
            store.allocate(first, last, 128, &key(99), 0, |_| false),
            None
        );
        // Expired leases free their addresses.
        assert_eq!(store.expire(1000).len(), 16);
        assert!(store
            .allocate(first, last, 128, &key(99), 1000, |_| false)
            .is_some());
    }

    #[test]
    fn offers_hold_addresses_and_skip_is_honoured() {
        let mut store = LeaseStore::new();
        let (first, last) = (a("2001:db8::10"), a("2001:db8::11"));
        let got = store
            .allocate(first, last, 128, &key(1), 0, |x| x == a("2001:db8::10"))
            .unwrap();
        assert_eq!(got.addr(), "2001:db8::11".parse::<Ipv6Addr>().unwrap());
        store.offer(got, key(1), 0);
        assert!(!store.is_free_for(&got, &key(2), 10));
        assert!(store.is_free_for(&got, &key(1), 10));
        assert!(store.is_free_for(&got, &key(2), OFFER_SECS));
        assert_eq!(store.offered_to(&key(1), 10), vec![got]);
    }

    #[test]
    fn prefixes_do_not_overlap() {
        let mut store = LeaseStore::new();
        let mut l = lease("2001:db8:face::", 1, 1000);
        l.kind = LeaseKind::Prefix;
        l.prefix = "2001:db8:face::/64".parse().unwrap();
        store.insert(l);
        let k2 = ClientKey {
            kind: LeaseKind::Prefix,
            ..key(2)
        };
        let wide: Ipv6Net = "2001:db8:face::/56".parse().unwrap();
        assert!(!store.is_free_for(&wide, &k2, 0));
        let got = store
            .allocate(
                a("2001:db8:face::"),
                a("2001:db8:face:ff::"),
                64,
                &k2,
                0,
                |_| false,
            )
            .unwrap();
        assert_ne!(got, "2001:db8:face::/64".parse::<Ipv6Net>().unwrap());
        assert_eq!(
            store
                .find_containing("2001:db8:face::42".parse().unwrap())
                .map(|l| l.iaid),
            Some(1)
        );
    }
}
