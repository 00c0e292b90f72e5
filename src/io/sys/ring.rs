//! The shared-memory ring of an AF_PACKET socket, behind bounds-checked
//! accessors.
//!
//! Contract: [`RingMap`] owns one `mmap` of the socket's RX ring followed by
//! its TX ring (packet(7), "PACKET_MMAP"). Every accessor takes a byte
//! offset into that mapping and checks `offset + size <= len` (and the
//! alignment of atomic words) before touching memory, returning `None`
//! otherwise; so no offset read from a ring header, however corrupt, can
//! make us read or write outside the mapping. All `unsafe` of the ring lives
//! here, and each block relies on exactly that check plus "the mapping is
//! live while `self` is".
//!
//! Memory ordering (the kernel writes the ring concurrently):
//!
//! - A status word (`tp_status` of a V2 frame or a V3 TX slot,
//!   `block_status` of a V3 block) is the ownership token. We read it with
//!   an `AtomicU32` acquire load: the kernel publishes a frame by writing
//!   its contents, `smp_wmb()`, then the status, so once we observe
//!   `TP_STATUS_USER` every byte of the frame or block is visible to us
//!   (acquire pairs with the kernel's write barrier).
//! - We hand a frame or block back with an `AtomicU32` release store, so all
//!   our reads of it (and the in-place writes a worker may make) are done
//!   before the kernel can observe the status and reuse the memory. For TX
//!   the same release store publishes the frame bytes and `tp_len` we wrote
//!   before `TP_STATUS_SEND_REQUEST`.
//! - Plain fields (lengths, offsets, frame bytes) are read with ordinary
//!   (unaligned) loads, and only while we own the frame: the kernel does not
//!   write them then, so there is no data race.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// One `mmap` of a packet socket's rings; unmapped on drop.
#[derive(Debug)]
pub(super) struct RingMap {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value (and the kernel);
// nothing in it is tied to the creating thread, so moving the owner to
// another thread (a worker) is sound. Not `Sync`: the accessors with `&self`
// are fine to share, but a worker owns its socket and nothing needs it.
unsafe impl Send for RingMap {}

impl RingMap {
    /// Maps `len` bytes of `fd`'s rings (RX first, then TX), shared and
    /// read-write: we write status words and TX frames.
    pub(super) fn map(fd: BorrowedFd<'_>, len: usize) -> io::Result<RingMap> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "empty packet ring",
            ));
        }
        // SAFETY: a fresh mapping (addr NULL) of a valid fd with a non-zero
        // length; the kernel chooses the address, so no existing Rust
        // object is aliased. The result is checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr =
            NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(RingMap { ptr, len })
    }

    /// Bytes mapped (RX ring plus TX ring).
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// `Some(ptr + offset)` if `size` bytes from `offset` lie inside the
    /// mapping and `offset` is a multiple of `align`.
    fn at(&self, offset: usize, size: usize, align: usize) -> Option<*mut u8> {
        let end = offset.checked_add(size)?;
        if end > self.len || offset % align != 0 {
            return None;
        }
        // SAFETY: offset + size <= len (checked above), so the result stays
        // inside the one allocated object (the mapping), as `add` requires.
        Some(unsafe { self.ptr.as_ptr().add(offset) })
    }

    /// Acquire load of the status word at `offset` (see the module doc).
    pub(super) fn load_status(&self, offset: usize) -> Option<u32> {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: `p` is in bounds and 4-byte aligned (checked by `at`), the
        // mapping is live while `self` is, and every access to a status
        // word, ours and the kernel's, is a single aligned 32-bit access, so
        // viewing it as an AtomicU32 is sound.
        let word = unsafe { AtomicU32::from_ptr(p.cast::<u32>()) };
        Some(word.load(Ordering::Acquire))
    }

    /// Release store of the status word at `offset` (see the module doc).
    pub(super) fn store_status(&self, offset: usize, value: u32) -> Option<()> {
        let p = self.at(offset, 4, 4)?;
        // SAFETY: as in `load_status`: in bounds, aligned, live, and only
        // ever accessed as an aligned 32-bit word.
        let word = unsafe { AtomicU32::from_ptr(p.cast::<u32>()) };
        word.store(value, Ordering::Release);
        Some(())
    }

    /// Plain read of a native-endian u32 header field we own.
    pub(super) fn read_u32(&self, offset: usize) -> Option<u32> {
        let p = self.at(offset, 4, 1)?;
        // SAFETY: 4 bytes in bounds (checked by `at`); unaligned read, so no
        // alignment requirement; the caller owns the frame (status seen
        // with acquire), so the kernel is not writing it.
        Some(unsafe { p.cast::<u32>().read_unaligned() })
    }

    /// Plain read of a native-endian u16 header field we own.
    pub(super) fn read_u16(&self, offset: usize) -> Option<u16> {
        let p = self.at(offset, 2, 1)?;
        // SAFETY: as in `read_u32`, for 2 bytes.
        Some(unsafe { p.cast::<u16>().read_unaligned() })
    }

    /// Plain write of a native-endian u32 header field of a TX slot we own.
    pub(super) fn write_u32(&mut self, offset: usize, value: u32) -> Option<()> {
        let p = self.at(offset, 4, 1)?;
        // SAFETY: 4 bytes in bounds (checked by `at`); the slot's status is
        // TP_STATUS_AVAILABLE, so the kernel does not touch it until our
        // release store of TP_STATUS_SEND_REQUEST.
        unsafe { p.cast::<u32>().write_unaligned(value) };
        Some(())
    }

    /// The bytes `offset..offset + len` of a frame we own, mutable so a
    /// worker can rewrite a received frame in place or fill a TX slot.
    ///
    /// `&mut self` keeps two such slices from coexisting.
    pub(super) fn bytes_mut(&mut self, offset: usize, len: usize) -> Option<&mut [u8]> {
        let p = self.at(offset, len, 1)?;
        // SAFETY: the range is inside the live mapping (checked by `at`) and
        // lives no longer than `&mut self`, so no other Rust reference to it
        // exists; the caller owns the frame (status USER for RX, AVAILABLE
        // for TX), so the kernel neither reads nor writes it meanwhile; u8
        // has no invalid values.
        Some(unsafe { std::slice::from_raw_parts_mut(p, len) })
    }

    /// A cursor handing out the bytes of several frames at once, all alive
    /// together (an RX vector). It holds `&mut self`, so no other accessor
    /// runs while its slices live.
    pub(super) fn frames(&mut self) -> Frames<'_> {
        Frames { map: self, next: 0 }
    }
}

/// See [`RingMap::frames`]. Each slice handed out starts at or after the
/// end of the previous one, so they never overlap.
#[derive(Debug)]
pub(super) struct Frames<'a> {
    map: &'a mut RingMap,
    /// The lowest offset the next slice may start at.
    next: usize,
}

impl<'a> Frames<'a> {
    /// The bytes `offset..offset + len` of a frame we own, if they lie
    /// inside the mapping and start at or after the end of every slice
    /// handed out before (frames of one V3 block, or consecutive V2 slots,
    /// come in increasing order).
    pub(super) fn take(&mut self, offset: usize, len: usize) -> Option<&'a mut [u8]> {
        if offset < self.next {
            return None;
        }
        let p = self.map.at(offset, len, 1)?;
        self.next = offset.checked_add(len)?;
        // SAFETY: the range is inside the live mapping (checked by `at`),
        // which stays mapped for 'a (we borrow the `RingMap` mutably for
        // 'a, so it is neither dropped nor handing out other references);
        // it does not overlap any slice handed out before (offsets only
        // increase, checked above); the caller owns the frame (status
        // USER), so the kernel neither reads nor writes it until the
        // caller's release store, which needs the map back after 'a; u8
        // has no invalid values.
        Some(unsafe { std::slice::from_raw_parts_mut(p, len) })
    }
}

impl Drop for RingMap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned; no reference
        // into the mapping outlives `self` (every slice borrows `self`).
        // munmap can only fail on bad arguments, which these are not.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast::<libc::c_void>(), self.len);
        }
    }
}
