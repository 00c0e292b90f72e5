//! Frames the engine emits, in a reusable arena.
//!
//! A [`TxBatch`] keeps one byte buffer and one frame list that are cleared,
//! not freed, between batches: once warmed up to the largest batch seen,
//! emitting a frame allocates nothing. Frames punted to a local service
//! ride in the same batch, in an arena of their own, for the worker to hand
//! over.

use crate::base::IfaceId;

use super::next::Service;

/// One emitted frame: where it goes and where its bytes sit in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxFrame {
    /// Egress interface.
    pub iface: IfaceId,
    start: usize,
    len: usize,
}

/// A frame handed to a local service: the frame as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Punted<'a> {
    /// The service it is for.
    pub service: Service,
    /// The interface it arrived on.
    pub ingress: IfaceId,
    /// The whole frame, Ethernet header included.
    pub frame: &'a [u8],
}

#[derive(Debug, Clone, Copy)]
struct PuntSlot {
    service: Service,
    ingress: IfaceId,
    start: usize,
    len: usize,
}

/// The frames emitted while processing a batch, in emission order.
#[derive(Debug, Default)]
pub struct TxBatch {
    bytes: Vec<u8>,
    frames: Vec<TxFrame>,
    punt_bytes: Vec<u8>,
    punts: Vec<PuntSlot>,
}

impl TxBatch {
    /// An empty batch with room for `frames` frames of `bytes` bytes in all.
    pub fn with_capacity(frames: usize, bytes: usize) -> TxBatch {
        TxBatch {
            bytes: Vec::with_capacity(bytes),
            frames: Vec::with_capacity(frames),
            punt_bytes: Vec::new(),
            punts: Vec::new(),
        }
    }

    /// Forgets the frames, keeps the memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.frames.clear();
        self.punt_bytes.clear();
        self.punts.clear();
    }

    /// Number of frames.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// No frames.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Reserves a zeroed frame of `len` bytes on `iface` and returns it for
    /// the caller to fill.
    pub fn push(&mut self, iface: IfaceId, len: usize) -> &mut [u8] {
        let start = self.bytes.len();
        self.bytes.resize(start + len, 0);
        self.frames.push(TxFrame { iface, start, len });
        self.bytes.get_mut(start..).unwrap_or_default()
    }

    /// Appends a frame made of a prebuilt 14-byte Ethernet header and an
    /// L3 packet, copied once (no zero fill first), and returns the L3 copy
    /// for the caller's in-place rewrite (hop limit, TTL).
    #[inline]
    pub fn push_frame(&mut self, iface: IfaceId, header: &[u8; 14], l3: &[u8]) -> &mut [u8] {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(header);
        self.bytes.extend_from_slice(l3);
        let len = header.len() + l3.len();
        self.frames.push(TxFrame { iface, start, len });
        let l3_start = start + header.len();
        self.bytes.get_mut(l3_start..).unwrap_or_default()
    }

    /// Appends bytes to the last frame pushed (a builder that writes it in
    /// pieces, such as fragmentation).
    pub fn extend_last(&mut self, bytes: &[u8]) {
        if let Some(f) = self.frames.last_mut() {
            self.bytes.extend_from_slice(bytes);
            f.len += bytes.len();
        }
    }

    /// Appends `n` zero bytes to the last frame pushed.
    pub fn extend_last_zeroed(&mut self, n: usize) {
        if let Some(f) = self.frames.last_mut() {
            self.bytes.resize(self.bytes.len() + n, 0);
            f.len += n;
        }
    }

    /// The last frame's bytes after its 14-byte Ethernet header.
    pub fn last_l3_mut(&mut self) -> Option<&mut [u8]> {
        let f = self.frames.last()?;
        self.bytes.get_mut(f.start + 14..f.start + f.len)
    }

    /// Hands a received frame to a local service.
    pub fn punt(&mut self, service: Service, ingress: IfaceId, frame: &[u8]) {
        let start = self.punt_bytes.len();
        self.punt_bytes.extend_from_slice(frame);
        self.punts.push(PuntSlot {
            service,
            ingress,
            start,
            len: frame.len(),
        });
    }

    /// The frames punted to local services, in order.
    pub fn punts(&self) -> impl Iterator<Item = Punted<'_>> + '_ {
        self.punts.iter().map(|p| Punted {
            service: p.service,
            ingress: p.ingress,
            frame: self
                .punt_bytes
                .get(p.start..p.start + p.len)
                .unwrap_or_default(),
        })
    }

    /// Number of punted frames.
    pub fn punt_count(&self) -> usize {
        self.punts.len()
    }

    /// Takes back the last frame pushed (a builder that changed its mind).
    pub fn pop(&mut self) {
        if let Some(f) = self.frames.pop() {
            self.bytes.truncate(f.start);
        }
    }

    /// Shrinks the last frame to `len` bytes (a builder that reserved the
    /// worst case).
    pub fn truncate_last(&mut self, len: usize) {
        if let Some(f) = self.frames.last_mut() {
            if len < f.len {
                f.len = len;
                self.bytes.truncate(f.start + len);
            }
        }
    }

    /// The frames with their bytes, in emission order.
    pub fn iter(&self) -> impl Iterator<Item = (IfaceId, &[u8])> + '_ {
        self.frames.iter().map(|f| {
            (
                f.iface,
                self.bytes.get(f.start..f.start + f.len).unwrap_or_default(),
            )
        })
    }

    /// Egress and length of each frame from the `from`th on (for counters:
    /// no byte slices).
    #[inline]
    pub fn lengths_from(&self, from: usize) -> impl Iterator<Item = (IfaceId, usize)> + '_ {
        self.frames
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(|f| (f.iface, f.len))
    }

    /// The `index`th frame.
    pub fn get(&self, index: usize) -> Option<(IfaceId, &[u8])> {
        let f = self.frames.get(index)?;
        Some((f.iface, self.bytes.get(f.start..f.start + f.len)?))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn push_pop_iter() {
        let mut tx = TxBatch::with_capacity(4, 256);
        tx.push(IfaceId(0), 3).copy_from_slice(&[1, 2, 3]);
        tx.push(IfaceId(1), 2).copy_from_slice(&[4, 5]);
        tx.push(IfaceId(1), 4);
        tx.pop();
        let got: Vec<_> = tx.iter().map(|(i, b)| (i, b.to_vec())).collect();
        assert_eq!(
            got,
            vec![(IfaceId(0), vec![1, 2, 3]), (IfaceId(1), vec![4, 5])]
        );
        tx.truncate_last(1);
        assert_eq!(tx.get(1), Some((IfaceId(1), &[4u8][..])));
        tx.clear();
        assert!(tx.is_empty());
    }

    #[test]
    fn reuse_does_not_grow() {
        let mut tx = TxBatch::with_capacity(8, 1024);
        for _ in 0..100 {
            tx.clear();
            for _ in 0..8 {
                tx.push(IfaceId(0), 128);
            }
        }
        assert!(tx.bytes.capacity() <= 1024);
    }
}
