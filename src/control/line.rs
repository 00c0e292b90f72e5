//! Bounded line reading for both ends of the control socket.
//!
//! Contract: [`LineReader::read_line`] returns the next `\n`-terminated
//! line of at most `max` bytes (newline and a preceding `\r` removed),
//! within a deadline for the whole line, not per read: a peer trickling one
//! byte at a time cannot stretch it. Memory is bounded by `max` plus one
//! read chunk. A line over the limit is reported as soon as the buffer
//! passes `max`, without waiting for its end.

use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// A socket timeout of zero means "none" to the OS: never pass one.
pub(crate) fn nonzero(d: Duration) -> Duration {
    d.max(Duration::from_millis(1))
}

/// Why no line came.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The line outgrew the limit before its newline.
    TooLarge,
    /// The deadline passed first.
    Timeout,
    Io(io::Error),
}

/// Splits a stream into lines of bounded length, each within a deadline.
/// Memory per connection is bounded by the limit plus one read chunk.
pub(crate) struct LineReader {
    buf: Vec<u8>,
    /// Bytes of `buf` known to hold no newline.
    scanned: usize,
    max: usize,
}

const CHUNK: usize = 16 * 1024;

impl LineReader {
    pub(crate) fn new(max: usize) -> Self {
        LineReader {
            buf: Vec::new(),
            scanned: 0,
            max,
        }
    }

    /// The next line, without its `\n` (nor a `\r` before it). `Ok(None)`
    /// at end of stream; bytes after the last newline at end of stream make
    /// a last line (so `printf '{"cmd":"status"}' | nc -U` works).
    /// `deadline` `None` means no deadline.
    pub(crate) fn read_line(
        &mut self,
        stream: &mut UnixStream,
        deadline: Option<Instant>,
    ) -> Result<Option<Vec<u8>>, ReadError> {
        let mut chunk = [0u8; CHUNK];
        loop {
            if let Some(line) = self.take_line()? {
                return Ok(Some(line));
            }
            if self.buf.len() > self.max {
                return Err(ReadError::TooLarge);
            }
            let timeout = match deadline {
                None => None,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(ReadError::Timeout);
                    }
                    Some(nonzero(left))
                }
            };
            stream.set_read_timeout(timeout).map_err(ReadError::Io)?;
            match stream.read(&mut chunk) {
                Ok(0) => {
                    if self.buf.is_empty() {
                        return Ok(None);
                    }
                    let line = std::mem::take(&mut self.buf);
                    self.scanned = 0;
                    return Ok(Some(trim_cr(line)));
                }
                Ok(n) => self
                    .buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
    }

    /// A complete line from the buffer, if there is one.
    fn take_line(&mut self) -> Result<Option<Vec<u8>>, ReadError> {
        let unscanned = self.buf.get(self.scanned..).unwrap_or_default();
        let Some(at) = unscanned.iter().position(|&b| b == b'\n') else {
            self.scanned = self.buf.len();
            return Ok(None);
        };
        let end = self.scanned.saturating_add(at);
        if end > self.max {
            return Err(ReadError::TooLarge);
        }
        let mut line: Vec<u8> = self.buf.drain(..=end).collect();
        line.pop();
        self.scanned = 0;
        Ok(Some(trim_cr(line)))
    }
}

fn trim_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use std::io::Write;

    fn deadline(ms: u64) -> Option<Instant> {
        Some(Instant::now() + Duration::from_millis(ms))
    }

    #[test]
    fn reads_lines_in_pieces_and_together() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut r = LineReader::new(64);
        a.write_all(b"one\r\ntwo\nthr").unwrap();
        assert_eq!(
            r.read_line(&mut b, deadline(1000)).unwrap().unwrap(),
            b"one"
        );
        assert_eq!(
            r.read_line(&mut b, deadline(1000)).unwrap().unwrap(),
            b"two"
        );
        a.write_all(b"ee\n").unwrap();
        assert_eq!(
            r.read_line(&mut b, deadline(1000)).unwrap().unwrap(),
            b"three"
        );
        a.write_all(b"last").unwrap();
        drop(a);
        assert_eq!(
            r.read_line(&mut b, deadline(1000)).unwrap().unwrap(),
            b"last"
        );
        assert!(r.read_line(&mut b, deadline(1000)).unwrap().is_none());
    }

    #[test]
    fn rejects_line_over_limit() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut r = LineReader::new(8);
        a.write_all(b"123456789").unwrap();
        assert!(matches!(
            r.read_line(&mut b, deadline(1000)),
            Err(ReadError::TooLarge)
        ));
        // A line of exactly the limit is fine.
        let mut r = LineReader::new(8);
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"12345678\n").unwrap();
        assert_eq!(
            r.read_line(&mut b, deadline(1000)).unwrap().unwrap(),
            b"12345678"
        );
    }

    #[test]
    fn rejects_long_line_with_newline_in_same_read() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut r = LineReader::new(4);
        a.write_all(b"123456\n").unwrap();
        assert!(matches!(
            r.read_line(&mut b, deadline(1000)),
            Err(ReadError::TooLarge)
        ));
    }

    #[test]
    fn times_out_on_half_line() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let mut r = LineReader::new(64);
        a.write_all(b"{\"cmd\":").unwrap();
        let start = Instant::now();
        assert!(matches!(
            r.read_line(&mut b, deadline(100)),
            Err(ReadError::Timeout)
        ));
        assert!(start.elapsed() < Duration::from_secs(2));
    }
}
