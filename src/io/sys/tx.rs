//! The TX path of a [`PacketSocket`]: `sendmmsg` batches or an mmap TX
//! ring kicked once per batch (see the `io::sys` module doc for the choice).
//!
//! Contract: [`PacketSocket::send_batch`] refuses frames shorter than an
//! Ethernet header or longer than MTU + 14 (counted), and hands the rest to
//! one `sendmmsg` per 64 frames (default) or copies them into TX ring slots
//! and kicks the kernel once per batch (`TxMode::Ring`), counting what did
//! not fit. It never blocks.

use std::io;
use std::os::fd::AsRawFd;

use super::geometry::Geometry;
use super::geometry::{
    RingVersion, ETH_HLEN, H2_DATA, H2_LEN, H2_STATUS, H3_DATA, H3_LEN, H3_NEXT_OFFSET, H3_STATUS,
};
use super::socket::PacketSocket;

/// Frames per `sendmmsg` call.
const MMSG_BATCH: usize = 64;

/// TX ring state.
#[derive(Debug)]
pub(super) struct TxRing {
    /// Offset of the TX ring in the mapping (after the RX ring).
    base: usize,
    block_size: usize,
    frame_size: usize,
    frames_per_block: usize,
    frame_count: usize,
    head: usize,
}

impl TxRing {
    pub(super) fn new(g: &Geometry) -> TxRing {
        TxRing {
            base: g.rx_len(),
            block_size: g.tx_block_size as usize,
            frame_size: g.frame_size as usize,
            frames_per_block: (g.tx_block_size / g.frame_size.max(1)) as usize,
            frame_count: g.tx_frame_count as usize,
            head: 0,
        }
    }
}

impl PacketSocket {
    /// Sends `frames` on the interface; returns how many were accepted.
    /// Frames outside 14..=MTU+14 bytes are refused and counted, frames
    /// that find the TX ring (or socket buffer) full are dropped and
    /// counted: a router drops rather than blocks. An `Err` is a socket
    /// error (interface gone or down); the rest of that batch is lost.
    pub fn send_batch<'a>(
        &mut self,
        frames: impl IntoIterator<Item = &'a [u8]>,
    ) -> io::Result<usize> {
        let sent = if self.tx.is_some() {
            self.send_ring(frames.into_iter())?
        } else {
            self.send_mmsg(frames.into_iter())?
        };
        self.stats.tx_frames += sent as u64;
        Ok(sent)
    }

    /// Whether `frame` may be sent; counts the refusals.
    fn admissible(&mut self, frame: &[u8]) -> bool {
        if frame.len() > self.max_frame {
            self.stats.tx_too_big += 1;
            false
        } else if frame.len() < ETH_HLEN {
            self.stats.tx_too_short += 1;
            false
        } else {
            true
        }
    }

    fn send_ring<'a>(&mut self, frames: impl Iterator<Item = &'a [u8]>) -> io::Result<usize> {
        let (status_off, len_off, data_off) = match self.version {
            RingVersion::V3 => (H3_STATUS, H3_LEN, H3_DATA),
            RingVersion::V2 => (H2_STATUS, H2_LEN, H2_DATA),
        };
        let mut queued = 0usize;
        let mut unkicked = 0usize;
        let mut full = false;
        for frame in frames {
            if !self.admissible(frame) {
                continue;
            }
            if full {
                self.stats.tx_ring_full += 1;
                continue;
            }
            let Some(slot) = self.tx_slot_offset() else {
                full = true;
                self.stats.tx_ring_full += 1;
                continue;
            };
            let status_at = slot + status_off;
            let mut free = tx_slot_free(self.map.load_status(status_at));
            if !free && unkicked > 0 {
                // The ring wrapped onto slots still in flight: push out what
                // we queued, which also lets completions land, and look once
                // more.
                self.kick()?;
                unkicked = 0;
                free = tx_slot_free(self.map.load_status(status_at));
            }
            if !free {
                full = true;
                self.stats.tx_ring_full += 1;
                continue;
            }
            let Some(dst) = self.map.bytes_mut(slot + data_off, frame.len()) else {
                full = true;
                self.stats.tx_ring_full += 1;
                continue;
            };
            dst.copy_from_slice(frame);
            // V3: a non-zero tp_next_offset makes the kernel reject the
            // slot ("variable sized slot not supported").
            if self.version == RingVersion::V3 {
                let _ = self.map.write_u32(slot + H3_NEXT_OFFSET, 0);
            }
            // At most MTU + 14 (checked by `admissible`), so it fits.
            let _ = self
                .map
                .write_u32(slot + len_off, u32::try_from(frame.len()).unwrap_or(0));
            // Release: the bytes and tp_len above are visible to the
            // kernel before it sees the request.
            let _ = self
                .map
                .store_status(status_at, libc::TP_STATUS_SEND_REQUEST);
            if let Some(tx) = self.tx.as_mut() {
                tx.head = (tx.head + 1) % tx.frame_count.max(1);
            }
            queued += 1;
            unkicked += 1;
        }
        if unkicked > 0 {
            self.kick()?;
        }
        Ok(queued)
    }

    fn tx_slot_offset(&self) -> Option<usize> {
        let tx = self.tx.as_ref()?;
        let fpb = tx.frames_per_block.max(1);
        let in_ring = (tx.head / fpb)
            .checked_mul(tx.block_size)?
            .checked_add((tx.head % fpb).checked_mul(tx.frame_size)?)?;
        tx.base.checked_add(in_ring)
    }

    /// Asks the kernel to transmit every TP_STATUS_SEND_REQUEST slot,
    /// without waiting for completions. A full device queue (ENOBUFS,
    /// EAGAIN) is not an error: the slots stay queued for the next kick.
    fn kick(&mut self) -> io::Result<()> {
        // SAFETY: send(2) with a NULL buffer of length 0 is the documented
        // TX-ring kick; the kernel reads the ring we mapped, not the buffer.
        let rc =
            unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::ENOBUFS) => {}
                _ => return Err(e),
            }
        }
        Ok(())
    }

    fn send_mmsg<'a>(&mut self, frames: impl Iterator<Item = &'a [u8]>) -> io::Result<usize> {
        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let mut iov = [empty; MMSG_BATCH];
        let mut n = 0usize;
        let mut sent = 0usize;
        for frame in frames {
            if !self.admissible(frame) {
                continue;
            }
            if let Some(v) = iov.get_mut(n) {
                // The kernel only reads through iov_base (sendmsg), so the
                // const-to-mut cast never leads to a write.
                *v = libc::iovec {
                    iov_base: frame.as_ptr().cast_mut().cast::<libc::c_void>(),
                    iov_len: frame.len(),
                };
                n += 1;
            }
            if n == MMSG_BATCH {
                sent += self.flush_mmsg(&mut iov, n)?;
                n = 0;
            }
        }
        if n > 0 {
            sent += self.flush_mmsg(&mut iov, n)?;
        }
        Ok(sent)
    }

    /// One `sendmmsg` for `iov[..n]` (retrying after a partial send);
    /// returns how many went out, counting the rest as ring-full drops.
    fn flush_mmsg(&mut self, iov: &mut [libc::iovec; MMSG_BATCH], n: usize) -> io::Result<usize> {
        // SAFETY: mmsghdr is plain old data (integers and pointers); all
        // zero is valid: no name, no control data, flags 0.
        let mut msgs: [libc::mmsghdr; MMSG_BATCH] = unsafe { std::mem::zeroed() };
        for (m, v) in msgs.iter_mut().zip(iov.iter_mut()) {
            m.msg_hdr.msg_iov = v;
            m.msg_hdr.msg_iovlen = 1;
        }
        let n = n.min(MMSG_BATCH);
        let mut done = 0usize;
        // At most n calls: each either sends at least one frame or stops.
        while done < n {
            let Some(rest) = msgs.get_mut(done..n) else {
                break;
            };
            // At most MMSG_BATCH: fits.
            let count = libc::c_uint::try_from(rest.len()).unwrap_or(0);
            // SAFETY: `rest` is a live array of `rest.len()` mmsghdr whose
            // msg_iov each point at one iovec in `iov`, which points into a
            // caller's frame slice alive for this call; the socket is bound,
            // so no address is needed; the kernel writes only msg_len.
            let rc = unsafe {
                libc::sendmmsg(
                    self.fd.as_raw_fd(),
                    rest.as_mut_ptr(),
                    count,
                    libc::MSG_DONTWAIT,
                )
            };
            if rc < 0 {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EAGAIN) | Some(libc::ENOBUFS) => break,
                    _ => return Err(e),
                }
            }
            // rc >= 0 here; 0 frames sent: stop.
            match usize::try_from(rc) {
                Ok(k) if k > 0 => done += k,
                _ => break,
            }
        }
        self.stats.tx_ring_full += (n - done.min(n)) as u64;
        Ok(done.min(n))
    }
}

/// Whether a TX slot's status lets us fill it: none of SEND_REQUEST,
/// SENDING, WRONG_FORMAT. The completion may OR timestamp bits
/// (TP_STATUS_TS_*) into TP_STATUS_AVAILABLE, so compare the low bits only.
fn tx_slot_free(status: Option<u32>) -> bool {
    const BUSY: u32 =
        libc::TP_STATUS_SEND_REQUEST | libc::TP_STATUS_SENDING | libc::TP_STATUS_WRONG_FORMAT;
    status.is_some_and(|s| s & BUSY == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tx_slot_free_ignores_timestamp_bits() {
        assert!(tx_slot_free(Some(libc::TP_STATUS_AVAILABLE)));
        assert!(tx_slot_free(Some(libc::TP_STATUS_TS_SOFTWARE)));
        assert!(!tx_slot_free(Some(libc::TP_STATUS_SEND_REQUEST)));
        assert!(!tx_slot_free(Some(libc::TP_STATUS_SENDING)));
        assert!(!tx_slot_free(Some(libc::TP_STATUS_WRONG_FORMAT)));
        assert!(!tx_slot_free(None));
    }
}
