//! Frames the engine emits, in a reusable arena.
//!
//! A [`TxBatch`] keeps one byte buffer and one frame list that are cleared,
//! not freed, between batches: once warmed up to the largest batch seen,
//! emitting a frame allocates nothing.

use super::IfaceId;

/// One emitted frame: where it goes and where its bytes sit in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxFrame {
    /// Egress interface.
    pub iface: IfaceId,
    start: usize,
    len: usize,
}

/// The frames emitted while processing a batch, in emission order.
#[derive(Debug, Default)]
pub struct TxBatch {
    bytes: Vec<u8>,
    frames: Vec<TxFrame>,
}

impl TxBatch {
    /// An empty batch with room for `frames` frames of `bytes` bytes in all.
    pub fn with_capacity(frames: usize, bytes: usize) -> TxBatch {
        TxBatch {
            bytes: Vec::with_capacity(bytes),
            frames: Vec::with_capacity(frames),
        }
    }

    /// Forgets the frames, keeps the memory.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.frames.clear();
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
        &mut self.bytes[start..start + len]
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
        self.frames
            .iter()
            .map(|f| (f.iface, &self.bytes[f.start..f.start + f.len]))
    }

    /// The `index`th frame.
    pub fn get(&self, index: usize) -> Option<(IfaceId, &[u8])> {
        let f = self.frames.get(index)?;
        Some((f.iface, &self.bytes[f.start..f.start + f.len]))
    }
}

#[cfg(test)]
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
