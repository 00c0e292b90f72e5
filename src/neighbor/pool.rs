//! The packets waiting for address resolution: one byte pool per table,
//! allocated once, shared by every entry.
//!
//! RFC 4861 §7.2.2: while resolution is pending a node SHOULD queue at least
//! one packet per neighbor and, on overflow, SHOULD replace the oldest.
//! RFC 6583 §6 asks that this memory be bounded, so that a scan cannot grow
//! it. Hence a fixed pool rather than a `Vec` per entry.
//!
//! Layout: the pool is cut into [`CHUNK`]-byte chunks; a packet is a chain
//! of chunks (like an mbuf chain) described by a descriptor, and an entry's
//! queue is a FIFO list of descriptors. Fixed chunks never fragment, so a
//! push or a pop is O(packet length) whatever the pool has seen before, and
//! small packets (a SYN, a DNS query: the usual first packets of a flow,
//! and what a scan sends) cost one chunk rather than an MTU-sized slot.
//!
//! Contract: nothing allocates after [`PacketPool::new`]. Indices are the
//! pool's own, never packet data, but every access still goes through
//! `get`, so a broken invariant is a lost packet, never a panic.

use super::QueueError;

/// Bytes per chunk: one chunk holds a bare TCP SYN or a small UDP packet;
/// an MTU-sized packet takes six.
pub const CHUNK: usize = 256;

/// End of a chain or a list.
const NIL: u32 = u32::MAX;

/// One queued packet: its length, its first chunk, the next packet.
#[derive(Debug, Clone, Copy)]
struct Desc {
    len: u32,
    first: u32,
    next: u32,
}

/// One entry's FIFO of queued packets (indices into the pool).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PacketList {
    head: u32,
    tail: u32,
    len: u16,
}

impl PacketList {
    /// No packets.
    pub(super) const EMPTY: PacketList = PacketList {
        head: NIL,
        tail: NIL,
        len: 0,
    };

    /// How many packets are queued.
    pub(super) fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// No packet queued.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What a successful push did to the entry's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pushed {
    /// Appended.
    Appended,
    /// Appended after dropping the oldest packet (RFC 4861 §7.2.2).
    ReplacedOldest,
}

/// The chunk pool, the descriptors and a scratch buffer that gives callers
/// each packet as one contiguous slice.
pub(super) struct PacketPool {
    data: Box<[u8]>,
    /// Next chunk in a packet's chain, or in the free list.
    chunk_next: Box<[u32]>,
    free_chunk: u32,
    free_chunks: usize,
    /// As many descriptors as chunks: every packet holds at least one chunk,
    /// so a free chunk implies a free descriptor.
    descs: Box<[Desc]>,
    free_desc: u32,
    /// Packets are reassembled here before a caller sees them; its length
    /// is the largest packet the pool accepts.
    scratch: Box<[u8]>,
}

impl core::fmt::Debug for PacketPool {
    /// A summary: the bytes themselves are of no use in a log.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PacketPool")
            .field("chunks", &self.chunk_next.len())
            .field("free_chunks", &self.free_chunks)
            .field("max_packet", &self.scratch.len())
            .finish()
    }
}

/// Chunks a packet of `len` bytes occupies (at least one, so that an empty
/// packet still owns its descriptor's slot).
fn chunks_for(len: usize) -> usize {
    len.div_ceil(CHUNK).max(1)
}

impl PacketPool {
    /// A pool of `total_bytes` (rounded down to whole chunks) accepting
    /// packets up to `max_packet` bytes. The caller bounds both.
    pub(super) fn new(total_bytes: usize, max_packet: usize) -> PacketPool {
        let chunks = (total_bytes / CHUNK).min(NIL as usize - 1);
        let max_packet = max_packet.min(chunks * CHUNK);
        // `chunks < NIL`, so every index below fits a u32.
        let link = |i: usize| {
            if i + 1 < chunks {
                u32::try_from(i + 1).unwrap_or(NIL)
            } else {
                NIL
            }
        };
        PacketPool {
            data: vec![0; chunks * CHUNK].into_boxed_slice(),
            chunk_next: (0..chunks).map(link).collect(),
            free_chunk: if chunks > 0 { 0 } else { NIL },
            free_chunks: chunks,
            descs: (0..chunks)
                .map(|i| Desc {
                    len: 0,
                    first: NIL,
                    next: link(i),
                })
                .collect(),
            free_desc: if chunks > 0 { 0 } else { NIL },
            scratch: vec![0; max_packet].into_boxed_slice(),
        }
    }

    /// Pool size in bytes.
    pub(super) fn capacity_bytes(&self) -> usize {
        self.data.len()
    }

    /// Bytes held by queued packets (whole chunks).
    pub(super) fn used_bytes(&self) -> usize {
        self.data.len() - self.free_chunks * CHUNK
    }

    /// Largest packet accepted.
    #[cfg(test)]
    pub(super) fn max_packet(&self) -> usize {
        self.scratch.len()
    }

    /// Appends `packet` to `list`, first dropping the oldest packet when the
    /// list already holds `cap`. Changes nothing when it fails.
    pub(super) fn push(
        &mut self,
        list: &mut PacketList,
        packet: &[u8],
        cap: usize,
    ) -> Result<Pushed, QueueError> {
        if cap == 0 {
            return Err(QueueError::Disabled);
        }
        if packet.len() > self.scratch.len() {
            return Err(QueueError::TooLarge);
        }
        let full = list.len() >= cap;
        let reclaim = if full { self.head_chunks(list) } else { 0 };
        if chunks_for(packet.len()) > self.free_chunks.saturating_add(reclaim) {
            return Err(QueueError::PoolFull);
        }
        if full {
            self.pop_front(list);
        }
        let Ok(len) = u32::try_from(packet.len()) else {
            return Err(QueueError::TooLarge);
        };
        let desc = self.free_desc;
        let Some(d) = self.descs.get(desc as usize).copied() else {
            return Err(QueueError::PoolFull);
        };
        let first = self.alloc_chain(packet);
        if first == NIL {
            return Err(QueueError::PoolFull);
        }
        self.free_desc = d.next;
        if let Some(d) = self.descs.get_mut(desc as usize) {
            *d = Desc {
                len,
                first,
                next: NIL,
            };
        }
        if let Some(tail) = self.descs.get_mut(list.tail as usize) {
            tail.next = desc;
        } else {
            list.head = desc;
        }
        list.tail = desc;
        list.len = list.len.saturating_add(1);
        Ok(if full {
            Pushed::ReplacedOldest
        } else {
            Pushed::Appended
        })
    }

    /// Chunks held by the oldest packet of `list`.
    fn head_chunks(&self, list: &PacketList) -> usize {
        self.descs
            .get(list.head as usize)
            .map_or(0, |d| chunks_for(d.len as usize))
    }

    /// Copies `packet` into a fresh chain; NIL (and nothing taken) if the
    /// free list runs short, which `push`'s check rules out.
    fn alloc_chain(&mut self, packet: &[u8]) -> u32 {
        if chunks_for(packet.len()) > self.free_chunks {
            return NIL;
        }
        let mut first = NIL;
        let mut prev = NIL;
        let mut pieces = packet.chunks(CHUNK);
        let mut piece = pieces.next();
        loop {
            let chunk = self.free_chunk;
            let Some(next_free) = self.chunk_next.get(chunk as usize).copied() else {
                break;
            };
            self.free_chunk = next_free;
            self.free_chunks -= 1;
            if let Some(link) = self.chunk_next.get_mut(chunk as usize) {
                *link = NIL;
            }
            if let Some(link) = self.chunk_next.get_mut(prev as usize) {
                *link = chunk;
            } else {
                first = chunk;
            }
            prev = chunk;
            if let Some(bytes) = piece {
                let start = chunk as usize * CHUNK;
                if let Some(dst) = self.data.get_mut(start..start + bytes.len()) {
                    dst.copy_from_slice(bytes);
                }
            }
            piece = pieces.next();
            if piece.is_none() {
                break;
            }
        }
        first
    }

    /// Drops the oldest packet of `list`; false if it was empty.
    pub(super) fn pop_front(&mut self, list: &mut PacketList) -> bool {
        let desc = list.head;
        let Some(d) = self.descs.get(desc as usize).copied() else {
            *list = PacketList::EMPTY;
            return false;
        };
        self.free_chain(d.first);
        if let Some(slot) = self.descs.get_mut(desc as usize) {
            *slot = Desc {
                len: 0,
                first: NIL,
                next: self.free_desc,
            };
        }
        self.free_desc = desc;
        list.head = d.next;
        list.len = list.len.saturating_sub(1);
        if list.head == NIL {
            *list = PacketList::EMPTY;
        }
        true
    }

    /// Drops every packet of `list`.
    pub(super) fn clear(&mut self, list: &mut PacketList) {
        // Each pop shortens the list; the bound only guards a broken link.
        for _ in 0..=list.len() {
            if !self.pop_front(list) {
                break;
            }
        }
        *list = PacketList::EMPTY;
    }

    /// Returns a chain to the free list.
    fn free_chain(&mut self, first: u32) {
        let mut chunk = first;
        // A chain is never longer than the pool; the bound guards a loop.
        for _ in 0..self.chunk_next.len() {
            let Some(link) = self.chunk_next.get_mut(chunk as usize) else {
                break;
            };
            let next = *link;
            *link = self.free_chunk;
            self.free_chunk = chunk;
            self.free_chunks += 1;
            chunk = next;
        }
    }

    /// Calls `f` with each packet of `list`, oldest first, as one slice.
    /// The packets stay queued.
    pub(super) fn for_each(&mut self, list: &PacketList, mut f: impl FnMut(&[u8])) {
        let mut desc = list.head;
        for _ in 0..list.len() {
            let Some(d) = self.descs.get(desc as usize).copied() else {
                break;
            };
            let len = self.gather(d);
            if let Some(bytes) = self.scratch.get(..len) {
                f(bytes);
            }
            desc = d.next;
        }
    }

    /// Copies a packet's chain into the scratch buffer; returns its length.
    fn gather(&mut self, d: Desc) -> usize {
        let len = (d.len as usize).min(self.scratch.len());
        let mut copied = 0;
        let mut chunk = d.first;
        while copied < len {
            let n = (len - copied).min(CHUNK);
            let start = chunk as usize * CHUNK;
            let (Some(src), Some(dst)) = (
                self.data.get(start..start + n),
                self.scratch.get_mut(copied..copied + n),
            ) else {
                break;
            };
            dst.copy_from_slice(src);
            copied += n;
            chunk = self.chunk_next.get(chunk as usize).copied().unwrap_or(NIL);
        }
        copied
    }
}

#[cfg(test)]
// Fixtures cast small, known values.
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
mod tests {
    use super::*;

    fn contents(pool: &mut PacketPool, list: &PacketList) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        pool.for_each(list, |p| out.push(p.to_vec()));
        out
    }

    fn packet(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
    }

    #[test]
    fn push_and_read_back_in_order() {
        let mut pool = PacketPool::new(4 * CHUNK, 2 * CHUNK);
        let mut list = PacketList::EMPTY;
        assert_eq!(pool.push(&mut list, b"one", 3), Ok(Pushed::Appended));
        assert_eq!(pool.push(&mut list, b"two", 3), Ok(Pushed::Appended));
        assert_eq!(list.len(), 2);
        assert_eq!(pool.used_bytes(), 2 * CHUNK);
        assert_eq!(
            contents(&mut pool, &list),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        // Reading does not consume.
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn multi_chunk_packet_round_trips() {
        let mut pool = PacketPool::new(16 * CHUNK, 9216);
        let mut list = PacketList::EMPTY;
        let big = packet(1500, 7);
        let odd = packet(CHUNK + 1, 99);
        pool.push(&mut list, &big, 3).unwrap();
        pool.push(&mut list, &odd, 3).unwrap();
        // 1500 bytes take 6 chunks, 257 bytes take 2.
        assert_eq!(pool.used_bytes(), 8 * CHUNK);
        assert_eq!(contents(&mut pool, &list), vec![big, odd]);
    }

    #[test]
    fn empty_packet_takes_one_chunk() {
        let mut pool = PacketPool::new(2 * CHUNK, CHUNK);
        let mut list = PacketList::EMPTY;
        pool.push(&mut list, &[], 3).unwrap();
        assert_eq!(pool.used_bytes(), CHUNK);
        assert_eq!(contents(&mut pool, &list), vec![Vec::<u8>::new()]);
    }

    #[test]
    fn full_list_replaces_oldest() {
        let mut pool = PacketPool::new(8 * CHUNK, CHUNK);
        let mut list = PacketList::EMPTY;
        for p in [b"a", b"b", b"c"] {
            assert_eq!(pool.push(&mut list, p, 3), Ok(Pushed::Appended));
        }
        assert_eq!(pool.push(&mut list, b"d", 3), Ok(Pushed::ReplacedOldest));
        assert_eq!(list.len(), 3);
        assert_eq!(pool.used_bytes(), 3 * CHUNK);
        assert_eq!(
            contents(&mut pool, &list),
            vec![b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn replacing_the_oldest_frees_room_in_a_full_pool() {
        let mut pool = PacketPool::new(2 * CHUNK, 2 * CHUNK);
        let mut list = PacketList::EMPTY;
        pool.push(&mut list, &packet(2 * CHUNK, 1), 1).unwrap();
        // The pool is full, but the oldest packet's chunks will be freed.
        assert_eq!(
            pool.push(&mut list, &packet(2 * CHUNK, 2), 1),
            Ok(Pushed::ReplacedOldest)
        );
        assert_eq!(contents(&mut pool, &list), vec![packet(2 * CHUNK, 2)]);
    }

    #[test]
    fn rejects_when_pool_full_without_change() {
        let mut pool = PacketPool::new(2 * CHUNK, 2 * CHUNK);
        let (mut a, mut b) = (PacketList::EMPTY, PacketList::EMPTY);
        pool.push(&mut a, &packet(CHUNK + 1, 1), 3).unwrap();
        assert_eq!(
            pool.push(&mut b, b"x", 3),
            Err(QueueError::PoolFull),
            "two chunks used, none free"
        );
        assert!(b.is_empty());
        assert_eq!(a.len(), 1);
        assert_eq!(contents(&mut pool, &a), vec![packet(CHUNK + 1, 1)]);
    }

    #[test]
    fn rejects_packet_larger_than_max() {
        let mut pool = PacketPool::new(8 * CHUNK, 300);
        let mut list = PacketList::EMPTY;
        assert_eq!(
            pool.push(&mut list, &packet(301, 0), 3),
            Err(QueueError::TooLarge)
        );
        assert_eq!(pool.max_packet(), 300);
        assert!(list.is_empty());
    }

    #[test]
    fn rejects_when_cap_is_zero() {
        let mut pool = PacketPool::new(8 * CHUNK, 300);
        let mut list = PacketList::EMPTY;
        assert_eq!(pool.push(&mut list, b"x", 0), Err(QueueError::Disabled));
    }

    #[test]
    fn clear_returns_every_chunk() {
        let mut pool = PacketPool::new(16 * CHUNK, 1500);
        let (mut a, mut b) = (PacketList::EMPTY, PacketList::EMPTY);
        pool.push(&mut a, &packet(1500, 1), 3).unwrap();
        pool.push(&mut b, &packet(10, 2), 3).unwrap();
        pool.push(&mut a, &packet(600, 3), 3).unwrap();
        pool.clear(&mut a);
        assert!(a.is_empty());
        assert_eq!(pool.used_bytes(), CHUNK);
        assert_eq!(contents(&mut pool, &b), vec![packet(10, 2)]);
        pool.clear(&mut b);
        assert_eq!(pool.used_bytes(), 0);
        // Everything is reusable: fill the whole pool with 16 one-chunk packets.
        let mut lists = [PacketList::EMPTY; 16];
        for (i, l) in lists.iter_mut().enumerate() {
            pool.push(l, &packet(CHUNK, i as u8), 1).unwrap();
        }
        assert_eq!(pool.used_bytes(), pool.capacity_bytes());
    }

    #[test]
    fn zero_sized_pool_rejects_everything() {
        let mut pool = PacketPool::new(0, 1500);
        let mut list = PacketList::EMPTY;
        assert_eq!(pool.max_packet(), 0);
        assert_eq!(pool.push(&mut list, b"", 3), Err(QueueError::PoolFull));
        assert_eq!(pool.push(&mut list, b"x", 3), Err(QueueError::TooLarge));
        assert!(!pool.pop_front(&mut list));
    }
}
