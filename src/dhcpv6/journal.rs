//! The lease journal: an append-only log of checksummed records beside a
//! snapshot, in the router's state directory.
//!
//! Files: `leases.snap` (the live records at the last compaction) and
//! `leases.log` (every record since). Both are a header, then records:
//!
//! ```text
//! header:  "RLJ1" | generation: u64 BE              (12 octets)
//! record:  len: u32 BE | crc32(len ‖ payload): u32 BE | payload (len octets)
//! ```
//!
//! - Durability: [`Journal::commit`] writes every queued record with one
//!   `write` and one `fdatasync` (group commit); a caller tells a client
//!   about a lease only after the commit that holds it returned `Ok`.
//! - A failed write is cut back (`ftruncate`) to the last committed
//!   length, so no half record sits before later good ones.
//! - Recovery reads records until the first torn or corrupt one (a crash
//!   mid-write leaves one at most, at the end) and truncates the log
//!   there; everything before it is kept.
//! - Compaction writes `leases.snap.tmp` with the next generation, syncs
//!   it, renames it over the snapshot, syncs the directory, then starts a
//!   new log of that generation. A log whose generation is older than the
//!   snapshot's is a leftover of a crash in between and is discarded: the
//!   snapshot already holds what it had. Records are idempotent upserts,
//!   so nothing is lost or doubled at any crash point.
//!
//! Written here rather than taken from a crate: the few embedded-log
//! crates that exist bring their own threads or page caches, and the
//! server needs exactly one thing: a commit that covers a batch.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 4] = b"RLJ1";
const HEADER_LEN: u64 = 12;
/// The largest record accepted (a lease is a few hundred octets).
pub const MAX_RECORD: usize = 64 * 1024;
/// Below this a log is never worth compacting.
const MIN_COMPACT_BYTES: u64 = 1 << 20;

/// Why the journal failed, with the path and what was being done.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {doing}: {source}")]
pub struct JournalError {
    pub path: PathBuf,
    pub doing: &'static str,
    #[source]
    pub source: io::Error,
}

fn err<'p>(path: &'p Path, doing: &'static str) -> impl FnOnce(io::Error) -> JournalError + 'p {
    move |source| JournalError {
        path: path.to_owned(),
        doing,
        source,
    }
}

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Every intact record, oldest first: the snapshot's, then the log's.
    pub records: Vec<Vec<u8>>,
    /// Bytes cut off the end of the log (a torn or corrupt tail).
    pub dropped_bytes: u64,
    /// What recovery did, for one log line; empty if it was clean.
    pub note: String,
}

/// The open journal.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    log: File,
    generation: u64,
    committed_len: u64,
    snapshot_len: u64,
    pending: Vec<u8>,
    pending_records: usize,
}

fn header(generation: u64) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[..4].copy_from_slice(MAGIC);
    h[4..].copy_from_slice(&generation.to_be_bytes());
    h
}

fn frame(payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len())
        .unwrap_or(u32::MAX)
        .to_be_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len);
    h.update(payload);
    out.extend_from_slice(&len);
    out.extend_from_slice(&h.finalize().to_be_bytes());
    out.extend_from_slice(payload);
}

/// Parses a file's bytes: its generation, its intact records, and the
/// length of the intact prefix. `None` if the header is not ours.
fn parse(bytes: &[u8]) -> Option<(u64, Vec<Vec<u8>>, usize)> {
    let head = bytes.get(..12)?;
    if head.get(..4)? != MAGIC {
        return None;
    }
    let generation = u64::from_be_bytes(head.get(4..12)?.try_into().ok()?);
    let mut records = Vec::new();
    let mut at = 12usize;
    loop {
        let Some(h) = bytes.get(at..at + 8) else {
            break;
        };
        let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let crc = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let Ok(n) = usize::try_from(len) else { break };
        if n > MAX_RECORD {
            break;
        }
        let Some(payload) = bytes.get(at + 8..at + 8 + n) else {
            break;
        };
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&len.to_be_bytes());
        hasher.update(payload);
        if hasher.finalize() != crc {
            break;
        }
        records.push(payload.to_vec());
        at += 8 + n;
    }
    Some((generation, records, at))
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err(dir, "syncing the directory"))
}

fn read_all(path: &Path) -> Result<Option<Vec<u8>>, JournalError> {
    match File::open(path) {
        Ok(mut f) => {
            let mut v = Vec::new();
            f.read_to_end(&mut v).map_err(err(path, "reading"))?;
            Ok(Some(v))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(err(path, "opening")(e)),
    }
}

impl Journal {
    fn snap_path(dir: &Path) -> PathBuf {
        dir.join("leases.snap")
    }

    fn log_path(dir: &Path) -> PathBuf {
        dir.join("leases.log")
    }

    /// Opens (creating if needed) the journal in `dir`, recovers it, and
    /// proves the directory writable, so a bad state directory fails here.
    pub fn open(dir: &Path) -> Result<(Journal, Recovered), JournalError> {
        std::fs::create_dir_all(dir).map_err(err(dir, "creating the directory"))?;
        let mut rec = Recovered::default();
        let _ = std::fs::remove_file(dir.join("leases.snap.tmp"));
        let snap_path = Journal::snap_path(dir);
        let (mut generation, mut snapshot_len) = (0u64, 0u64);
        if let Some(bytes) = read_all(&snap_path)? {
            match parse(&bytes) {
                Some((g, records, end)) => {
                    generation = g;
                    snapshot_len = end as u64;
                    if end != bytes.len() {
                        rec.note =
                            format!("snapshot damaged after {end} bytes; kept what precedes");
                    }
                    rec.records = records;
                }
                None => rec.note = "snapshot has no valid header; ignored".into(),
            }
        }
        let log_path = Journal::log_path(dir);
        let mut keep_log = false;
        if let Some(bytes) = read_all(&log_path)? {
            match parse(&bytes) {
                Some((g, records, end)) if g == generation => {
                    rec.dropped_bytes = (bytes.len() - end) as u64;
                    if rec.dropped_bytes > 0 {
                        rec.note = format!(
                            "log: dropped a torn or corrupt tail of {} bytes after {} records",
                            rec.dropped_bytes,
                            records.len()
                        );
                    }
                    rec.records.extend(records);
                    keep_log = true;
                    let f = OpenOptions::new()
                        .write(true)
                        .open(&log_path)
                        .map_err(err(&log_path, "opening"))?;
                    f.set_len(end as u64)
                        .map_err(err(&log_path, "truncating"))?;
                    f.sync_all().map_err(err(&log_path, "fsync"))?;
                }
                Some(_) => {
                    rec.note =
                        "log of an older generation (a compaction's leftover) discarded".into()
                }
                None if bytes.len() < HEADER_LEN as usize => {}
                None => rec.note = "log has no valid header; discarded".into(),
            }
        }
        if !keep_log {
            let mut f = File::create(&log_path).map_err(err(&log_path, "creating"))?;
            f.write_all(&header(generation))
                .map_err(err(&log_path, "writing"))?;
            f.sync_all().map_err(err(&log_path, "fsync"))?;
            sync_dir(dir)?;
        }
        let mut log = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(err(&log_path, "opening"))?;
        let committed_len = log
            .seek(SeekFrom::End(0))
            .map_err(err(&log_path, "seeking"))?;
        // Writable: an empty fsync'd write proves little, so write a byte
        // past the end and cut it off again.
        log.write_all(&[0]).map_err(err(&log_path, "writing"))?;
        log.sync_data().map_err(err(&log_path, "fsync"))?;
        log.set_len(committed_len)
            .map_err(err(&log_path, "truncating"))?;
        log.seek(SeekFrom::Start(committed_len))
            .map_err(err(&log_path, "seeking"))?;
        Ok((
            Journal {
                dir: dir.to_owned(),
                log,
                generation,
                committed_len,
                snapshot_len,
                pending: Vec::new(),
                pending_records: 0,
            },
            rec,
        ))
    }

    /// Queues a record; durable only after [`Journal::commit`].
    pub fn append(&mut self, payload: &[u8]) -> Result<(), JournalError> {
        if payload.len() > MAX_RECORD {
            return Err(JournalError {
                path: Journal::log_path(&self.dir),
                doing: "appending",
                source: io::Error::new(io::ErrorKind::InvalidInput, "record too large"),
            });
        }
        frame(payload, &mut self.pending);
        self.pending_records += 1;
        Ok(())
    }

    /// Writes every queued record with one write and one fdatasync. On an
    /// error the log is cut back to its last committed length and the
    /// queued records are dropped: none of them may be reported durable.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let path = Journal::log_path(&self.dir);
        let result = self
            .log
            .write_all(&self.pending)
            .map_err(err(&path, "writing"))
            .and_then(|()| self.log.sync_data().map_err(err(&path, "fsync")));
        match result {
            Ok(()) => {
                self.committed_len += self.pending.len() as u64;
                self.pending.clear();
                self.pending_records = 0;
                Ok(())
            }
            Err(e) => {
                self.pending.clear();
                self.pending_records = 0;
                let _ = self.log.set_len(self.committed_len);
                let _ = self.log.seek(SeekFrom::Start(self.committed_len));
                Err(e)
            }
        }
    }

    /// Records queued and not yet committed.
    pub fn pending(&self) -> usize {
        self.pending_records
    }

    /// Whether the log has outgrown the snapshot enough to compact.
    pub fn wants_compaction(&self) -> bool {
        self.committed_len > MIN_COMPACT_BYTES.max(self.snapshot_len.saturating_mul(4))
    }

    /// Replaces snapshot and log by a snapshot of `live` and an empty log
    /// (see the module doc for why every crash point is safe).
    pub fn compact<'a>(
        &mut self,
        live: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), JournalError> {
        self.commit()?;
        let next = self.generation + 1;
        let mut bytes = header(next).to_vec();
        for r in live {
            frame(r, &mut bytes);
        }
        let tmp = self.dir.join("leases.snap.tmp");
        let snap = Journal::snap_path(&self.dir);
        {
            let mut f = File::create(&tmp).map_err(err(&tmp, "creating"))?;
            f.write_all(&bytes).map_err(err(&tmp, "writing"))?;
            f.sync_all().map_err(err(&tmp, "fsync"))?;
        }
        std::fs::rename(&tmp, &snap).map_err(err(&snap, "renaming"))?;
        sync_dir(&self.dir)?;
        let log_path = Journal::log_path(&self.dir);
        let new_tmp = self.dir.join("leases.log.tmp");
        {
            let mut f = File::create(&new_tmp).map_err(err(&new_tmp, "creating"))?;
            f.write_all(&header(next))
                .map_err(err(&new_tmp, "writing"))?;
            f.sync_all().map_err(err(&new_tmp, "fsync"))?;
        }
        std::fs::rename(&new_tmp, &log_path).map_err(err(&log_path, "renaming"))?;
        sync_dir(&self.dir)?;
        let mut log = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(err(&log_path, "opening"))?;
        self.committed_len = log
            .seek(SeekFrom::End(0))
            .map_err(err(&log_path, "seeking"))?;
        self.log = log;
        self.generation = next;
        self.snapshot_len = bytes.len() as u64;
        Ok(())
    }

    /// Size of the log in bytes.
    pub fn log_bytes(&self) -> u64 {
        self.committed_len
    }

    /// Size of the last snapshot in bytes.
    pub fn snapshot_bytes(&self) -> u64 {
        self.snapshot_len
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("routelet-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    fn recs(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("record {i}").into_bytes()).collect()
    }

    #[test]
    fn group_commit_survives_reopen() {
        let d = dir("reopen");
        let (mut j, rec) = Journal::open(&d).unwrap();
        assert!(rec.records.is_empty() && rec.note.is_empty());
        for r in recs(100) {
            j.append(&r).unwrap();
        }
        assert_eq!(j.pending(), 100);
        j.commit().unwrap();
        j.append(b"never committed").unwrap();
        drop(j);
        let (_, rec) = Journal::open(&d).unwrap();
        assert_eq!(rec.records, recs(100));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_torn_or_corrupt_tail_is_dropped_at_every_cut() {
        let d = dir("torn");
        let (mut j, _) = Journal::open(&d).unwrap();
        for r in recs(3) {
            j.append(&r).unwrap();
        }
        j.commit().unwrap();
        let full = std::fs::read(Journal::log_path(&d)).unwrap();
        let last_start = full.len() - (8 + recs(3)[2].len());
        drop(j);
        for cut in last_start..full.len() {
            std::fs::write(Journal::log_path(&d), &full[..cut]).unwrap();
            let (mut j, rec) = Journal::open(&d).unwrap();
            assert_eq!(rec.records, recs(2), "cut at {cut}");
            assert_eq!(rec.dropped_bytes, (cut - last_start) as u64);
            // Appends continue after the last good record.
            j.append(b"next").unwrap();
            j.commit().unwrap();
            drop(j);
            let (_, rec) = Journal::open(&d).unwrap();
            assert_eq!(rec.records.last().unwrap(), b"next");
            std::fs::write(Journal::log_path(&d), &full).unwrap();
        }
        // A bit flip in the last record's payload.
        let mut bad = full.clone();
        *bad.last_mut().unwrap() ^= 0x40;
        std::fs::write(Journal::log_path(&d), &bad).unwrap();
        let (_, rec) = Journal::open(&d).unwrap();
        assert_eq!(rec.records, recs(2));
        assert!(!rec.note.is_empty());
        // A hostile length field allocates nothing and keeps the rest.
        let mut hostile = full[..last_start].to_vec();
        hostile.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        std::fs::write(Journal::log_path(&d), &hostile).unwrap();
        let (_, rec) = Journal::open(&d).unwrap();
        assert_eq!(rec.records, recs(2));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn compaction_keeps_exactly_the_live_set_at_every_crash_point() {
        let d = dir("compact");
        let (mut j, _) = Journal::open(&d).unwrap();
        for r in recs(10) {
            j.append(&r).unwrap();
        }
        j.commit().unwrap();
        let old_log = std::fs::read(Journal::log_path(&d)).unwrap();
        let live = recs(3);
        j.compact(live.iter().map(|r| r.as_slice())).unwrap();
        j.append(b"after").unwrap();
        j.commit().unwrap();
        drop(j);
        let (_, rec) = Journal::open(&d).unwrap();
        let mut want = live.clone();
        want.push(b"after".to_vec());
        assert_eq!(rec.records, want);
        // Crash after the snapshot's rename, before the new log: the old
        // log (older generation) must not be replayed on top.
        std::fs::write(Journal::log_path(&d), &old_log).unwrap();
        let (_, rec) = Journal::open(&d).unwrap();
        assert_eq!(rec.records, live);
        // Crash before the rename: a leftover temp file is ignored.
        std::fs::write(d.join("leases.snap.tmp"), b"RLJ1garbage").unwrap();
        let (_, rec) = Journal::open(&d).unwrap();
        assert_eq!(rec.records, live);
        assert!(!d.join("leases.snap.tmp").exists());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_unusable_directory_fails_open_naming_it() {
        let d = dir("unusable");
        std::fs::create_dir_all(&d).unwrap();
        let file = d.join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let e = Journal::open(&file.join("state")).unwrap_err();
        assert!(e.to_string().contains("plain-file"), "{e}");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
