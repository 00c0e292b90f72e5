//! The lease journal: a crash-safe, append-only store of opaque records.
//!
//! The DHCPv6 server must never send a Reply for a binding that is not on
//! disk (issue 9). It [`append`](Journal::append)s one record per binding
//! change (an idempotent upsert or delete; later records win), calls
//! [`commit`](Journal::commit) once per batch of Replies — one `fdatasync`
//! covers the whole batch (group commit) — and sends the Replies only when
//! that commit returned `Ok`. [`open`](Journal::open) replays everything that
//! is intact, oldest first. When the log has grown,
//! [`compact`](Journal::compact) replaces snapshot and log with a snapshot
//! of the caller's live state.
//!
//! # Files
//!
//! In the state directory: `leases.snap` (the snapshot), `leases.log` (the
//! records since), `leases.lock` (an `flock`, so two routers never share a
//! journal), and transiently `leases.snap.tmp`, `leases.log.tmp` and
//! `leases.probe`. Both data files start with the same header:
//!
//! ```text
//!  0                   8       10      12                      20
//! +-------------------+-------+-------+-----------------------+
//! | magic "RLJOURNL"  | ver=1 | kind  | generation (u64 LE)   |
//! +-------------------+-------+-------+-----------------------+
//!  20                      28      32
//! +-----------------------+-------+
//! | records (u64 LE)      | crc32 |   crc32 covers bytes 0..28
//! +-----------------------+-------+
//! ```
//!
//! `kind` is 1 for a snapshot and 2 for a log (u16 LE, like `ver`);
//! `records` is the snapshot's record count (0 in a log). Records follow
//! the header back to back:
//!
//! ```text
//!  0               4               8
//! +---------------+---------------+-------------------------+
//! | len (u32 LE)  | crc32         | payload (len bytes)     |
//! +---------------+---------------+-------------------------+
//!                   crc32 (IEEE, `crc32fast`) covers len and payload
//! ```
//!
//! Why so:
//! - **The checksum covers the length**, so a torn or flipped length is
//!   caught like a damaged payload; a run of zeros (what some filesystems
//!   show for blocks allocated but not written before a crash) fails it too,
//!   since the CRC-32 of four zero bytes is not zero.
//! - **A length cap** ([`MAX_RECORD_LEN`], one binding needs a few hundred
//!   bytes) and a check against the bytes left in the file before anything
//!   is allocated: a hostile length costs nothing.
//! - **A generation** ties a log to the snapshot it follows. Compaction
//!   writes the snapshot of generation G+1 to a temp file, fsyncs it,
//!   renames it over `leases.snap`, fsyncs the directory, then does the same
//!   for an empty log of G+1. A crash before the first rename leaves G and
//!   G's log (the temp file is removed at open); after it, the snapshot of
//!   G+1 already holds everything, and the log of G beside it is recognised
//!   as older and replaced. Recovery therefore takes the snapshot and only a
//!   log of the same generation; a log *newer* than its snapshot, or a log
//!   without any snapshot, cannot come from a crash and is an error rather
//!   than a silent loss.
//! - **The snapshot holds its record count** and must be whole: it only ever
//!   appears by rename after an fsync, so damage there is disk failure and
//!   [`open`](Journal::open) refuses it ([`JournalError::CorruptSnapshot`])
//!   rather than start with leases missing and hand an address out twice.
//! - **The log is read up to the first bad record** (short, over the cap, or
//!   failing its checksum) and truncated there, so appends continue after
//!   the last good record. A torn last record is the normal result of a
//!   crash during a commit; its Reply never left. A bad record in the
//!   *middle* (bit rot) also ends the log: the records after it are dropped
//!   with it, because replaying later records over a gap could resurrect a
//!   binding that the missing one deleted. [`Recovered`] reports the bytes
//!   and the reason so the caller logs it.
//!
//! # Commit failures
//!
//! Records are written with `pwrite` at the end of the last successful
//! commit, then `fdatasync`ed. If either fails (ENOSPC, EIO), the log is
//! truncated back to that end before the error is returned, and the
//! records of the failed commit are **dropped**: the caller treats them as
//! never written (no Reply; roll the binding back or let the client retry,
//! which appends again). If even the truncation fails, no later commit
//! writes until a truncation succeeds, so good records never follow a
//! partial one. After a crash a record whose commit failed may still turn
//! up (its bytes may have reached the disk before the error), never the
//! other way round. After an fsync error [`wants_compaction`] says yes:
//! Linux may have dropped the dirty pages, and a compaction rewrites the
//! state into fresh files.
//!
//! The format is our own rather than a crate's (sled, redb, an SQLite):
//! the store needs one append-only file of opaque records with group
//! commit, and this is a few hundred lines with no background threads.
//!
//! [`wants_compaction`]: Journal::wants_compaction

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// The largest payload a record may carry; longer lengths read back are
/// taken for damage.
pub const MAX_RECORD_LEN: usize = 64 * 1024;

/// The most bytes [`Journal::append`] queues before a commit, so a caller
/// that never commits cannot grow memory without bound.
pub const MAX_PENDING_BYTES: usize = 16 * 1024 * 1024;

/// Below this the log is never worth compacting.
const COMPACT_MIN_LOG_BYTES: u64 = 1024 * 1024;
/// ... and above it only when it is this many times the snapshot.
const COMPACT_LOG_TO_SNAPSHOT: u64 = 4;

/// The most queue capacity kept after a commit.
const KEEP_PENDING_CAPACITY: usize = 1024 * 1024;

const SNAPSHOT_FILE: &str = "leases.snap";
const SNAPSHOT_TMP_FILE: &str = "leases.snap.tmp";
const LOG_FILE: &str = "leases.log";
const LOG_TMP_FILE: &str = "leases.log.tmp";
const LOCK_FILE: &str = "leases.lock";
const PROBE_FILE: &str = "leases.probe";
/// Bytes the writability probe writes and fsyncs at open.
const PROBE_LEN: usize = 4096;

const MAGIC: [u8; 8] = *b"RLJOURNL";
const VERSION: u16 = 1;
const KIND_SNAPSHOT: u16 = 1;
const KIND_LOG: u16 = 2;
const HEADER_LEN: usize = 32;
/// [`HEADER_LEN`] as a file offset.
const HEADER_LEN_U64: u64 = HEADER_LEN as u64;
const RECORD_HEADER_LEN: usize = 8;
const RECORD_HEADER_LEN_U64: u64 = RECORD_HEADER_LEN as u64;

/// What [`Journal::open`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Every intact record, oldest first: the snapshot's, then the log's.
    pub records: Vec<Vec<u8>>,
    /// Bytes cut off the end of the log (a torn or corrupt tail), 0 if none.
    pub dropped_bytes: u64,
    /// Human-readable note about what recovery did (for one info/warn log
    /// line), empty if clean.
    pub note: String,
}

/// Why the journal could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A system call on a journal file failed; `op` says what was being done.
    #[error("{op} {}: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Another process holds the journal's lock.
    #[error("{} is locked by another process (another router on this state directory?)", path.display())]
    Locked { path: PathBuf },
    /// A file header is not one this build writes.
    #[error("{}: {reason}", path.display())]
    CorruptHeader { path: PathBuf, reason: &'static str },
    /// The snapshot is damaged; starting without its leases could hand an
    /// address to two clients, so the operator must look.
    #[error("{}: snapshot damaged at byte {offset}: {reason}", path.display())]
    CorruptSnapshot {
        path: PathBuf,
        offset: u64,
        reason: &'static str,
    },
    /// A log exists but no snapshot: the snapshot was removed by hand.
    #[error("{} exists but its snapshot {} is missing", log.display(), snapshot.display())]
    MissingSnapshot { log: PathBuf, snapshot: PathBuf },
    /// The log is newer than the snapshot, which no crash leaves behind.
    #[error("{} has generation {log} but the snapshot has {snapshot}", path.display())]
    GenerationMismatch {
        path: PathBuf,
        log: u64,
        snapshot: u64,
    },
    /// A record over [`MAX_RECORD_LEN`].
    #[error("record of {len} bytes is over the journal's limit of {MAX_RECORD_LEN}")]
    RecordTooLarge { len: usize },
    /// More than [`MAX_PENDING_BYTES`] queued without a commit.
    #[error("{queued} bytes queued without a commit, over the limit of {MAX_PENDING_BYTES}")]
    Backlog { queued: usize },
    /// [`Journal::compact`] was called with records not yet committed.
    #[error("{pending} records are not committed; commit before compacting")]
    PendingRecords { pending: usize },
}

/// Builds the `map_err` closure of an I/O error on `path`.
fn io_err<'p>(op: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> JournalError + 'p {
    move |source| JournalError::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// The file header of the diagram in the module doc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    kind: u16,
    generation: u64,
    records: u64,
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let mut body = Vec::with_capacity(HEADER_LEN);
        body.extend_from_slice(&MAGIC);
        body.extend_from_slice(&VERSION.to_le_bytes());
        body.extend_from_slice(&self.kind.to_le_bytes());
        body.extend_from_slice(&self.generation.to_le_bytes());
        body.extend_from_slice(&self.records.to_le_bytes());
        let crc = crc32fast::hash(&body);
        body.extend_from_slice(&crc.to_le_bytes());
        out.copy_from_slice(&body);
        out
    }

    fn decode(bytes: &[u8; HEADER_LEN]) -> Result<Header, &'static str> {
        let (magic, rest) = bytes.split_first_chunk::<8>().ok_or("short header")?;
        let (version, rest) = rest.split_first_chunk::<2>().ok_or("short header")?;
        let (kind, rest) = rest.split_first_chunk::<2>().ok_or("short header")?;
        let (generation, rest) = rest.split_first_chunk::<8>().ok_or("short header")?;
        let (records, rest) = rest.split_first_chunk::<8>().ok_or("short header")?;
        let (crc, _) = rest.split_first_chunk::<4>().ok_or("short header")?;
        if *magic != MAGIC {
            return Err("not a routelet journal file (bad magic)");
        }
        // Checked before the checksum: a later version may lay the header
        // out differently.
        if u16::from_le_bytes(*version) != VERSION {
            return Err("unsupported journal format version");
        }
        let covered = bytes.get(..HEADER_LEN - 4).ok_or("short header")?;
        if crc32fast::hash(covered) != u32::from_le_bytes(*crc) {
            return Err("header checksum mismatch");
        }
        Ok(Header {
            kind: u16::from_le_bytes(*kind),
            generation: u64::from_le_bytes(*generation),
            records: u64::from_le_bytes(*records),
        })
    }
}

/// The checksum of one record: over its length field and its payload.
fn record_crc(len: [u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len);
    hasher.update(payload);
    hasher.finalize()
}

/// The 8-byte record header of `payload`, which must be at most
/// [`MAX_RECORD_LEN`] long.
fn record_header(payload: &[u8]) -> Result<[u8; RECORD_HEADER_LEN], JournalError> {
    let too_large = JournalError::RecordTooLarge { len: payload.len() };
    if payload.len() > MAX_RECORD_LEN {
        return Err(too_large);
    }
    let len = u32::try_from(payload.len())
        .map_err(|_| too_large)?
        .to_le_bytes();
    let crc = record_crc(len, payload).to_le_bytes();
    let [l0, l1, l2, l3] = len;
    let [c0, c1, c2, c3] = crc;
    Ok([l0, l1, l2, l3, c0, c1, c2, c3])
}

/// Why a walk over records ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// The end of the file, or the record count asked for.
    End,
    /// The last record is cut short (a crash during a write).
    Torn,
    /// A length over [`MAX_RECORD_LEN`].
    TooLong(u32),
    /// A record whose checksum does not match.
    BadChecksum,
}

impl Stop {
    fn reason(self) -> String {
        match self {
            Stop::End => "end".to_owned(),
            Stop::Torn => "a torn last record".to_owned(),
            Stop::TooLong(len) => format!("a record length of {len} bytes, over the limit"),
            Stop::BadChecksum => "a record failing its checksum".to_owned(),
        }
    }
}

/// What [`read_records`] walked.
struct Walk {
    /// Bytes of the intact records.
    good_bytes: u64,
    /// How many intact records were pushed.
    count: u64,
    stop: Stop,
}

/// Reads records from `reader`, which has `remaining` bytes left, into
/// `out` until the end, `max_records`, or the first bad record. Allocates
/// only for a length that is under the cap and fits the bytes left.
fn read_records(
    reader: &mut impl Read,
    mut remaining: u64,
    max_records: u64,
    out: &mut Vec<Vec<u8>>,
) -> io::Result<Walk> {
    let mut walk = Walk {
        good_bytes: 0,
        count: 0,
        stop: Stop::End,
    };
    let stop = loop {
        if remaining == 0 || walk.count == max_records {
            break Stop::End;
        }
        if remaining < RECORD_HEADER_LEN_U64 {
            break Stop::Torn;
        }
        let mut head = [0u8; RECORD_HEADER_LEN];
        match reader.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break Stop::Torn,
            Err(e) => return Err(e),
        }
        let [l0, l1, l2, l3, c0, c1, c2, c3] = head;
        let len_bytes = [l0, l1, l2, l3];
        let len = u32::from_le_bytes(len_bytes);
        let crc = u32::from_le_bytes([c0, c1, c2, c3]);
        let Some(len_usize) = usize::try_from(len).ok().filter(|&n| n <= MAX_RECORD_LEN) else {
            break Stop::TooLong(len);
        };
        let frame = RECORD_HEADER_LEN_U64 + u64::from(len);
        if frame > remaining {
            break Stop::Torn;
        }
        let mut payload = vec![0u8; len_usize];
        match reader.read_exact(&mut payload) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break Stop::Torn,
            Err(e) => return Err(e),
        }
        if record_crc(len_bytes, &payload) != crc {
            break Stop::BadChecksum;
        }
        out.push(payload);
        walk.good_bytes += frame;
        walk.count += 1;
        remaining -= frame;
    };
    walk.stop = stop;
    Ok(walk)
}

/// Reads and checks the header of `file` at `path`, of the given kind.
fn read_header(file: &File, path: &Path, kind: u16) -> Result<(Header, u64), JournalError> {
    let len = file.metadata().map_err(io_err("reading", path))?.len();
    let corrupt = |reason| JournalError::CorruptHeader {
        path: path.to_owned(),
        reason,
    };
    if len < HEADER_LEN_U64 {
        return Err(corrupt("file shorter than the journal header"));
    }
    let mut bytes = [0u8; HEADER_LEN];
    file.read_exact_at(&mut bytes, 0)
        .map_err(io_err("reading", path))?;
    let header = Header::decode(&bytes).map_err(corrupt)?;
    if header.kind != kind {
        return Err(corrupt(if kind == KIND_LOG {
            "a snapshot where the log should be"
        } else {
            "a log where the snapshot should be"
        }));
    }
    Ok((header, len))
}

/// A snapshot read whole.
struct Snapshot {
    generation: u64,
    bytes: u64,
    records: Vec<Vec<u8>>,
}

/// Reads the snapshot at `path`, `None` if there is none.
fn read_snapshot(path: &Path) -> Result<Option<Snapshot>, JournalError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("opening", path)(e)),
    };
    let (header, len) = read_header(&file, path, KIND_SNAPSHOT)?;
    let mut reader = BufReader::new(&file);
    let mut skip = [0u8; HEADER_LEN];
    reader
        .read_exact(&mut skip)
        .map_err(io_err("reading", path))?;
    let mut records = Vec::new();
    let walk = read_records(
        &mut reader,
        len - HEADER_LEN_U64,
        header.records,
        &mut records,
    )
    .map_err(io_err("reading", path))?;
    let end = HEADER_LEN_U64 + walk.good_bytes;
    let damaged = |reason| JournalError::CorruptSnapshot {
        path: path.to_owned(),
        offset: end,
        reason,
    };
    match walk.stop {
        Stop::End => {}
        Stop::Torn => return Err(damaged("record cut short")),
        Stop::TooLong(_) => return Err(damaged("record length over the limit")),
        Stop::BadChecksum => return Err(damaged("record checksum mismatch")),
    }
    if walk.count != header.records {
        return Err(damaged("fewer records than the header says"));
    }
    if end != len {
        return Err(damaged("bytes after the last record"));
    }
    Ok(Some(Snapshot {
        generation: header.generation,
        bytes: len,
        records,
    }))
}

/// The bytes of a log of `generation` holding `records`, as commits
/// write them. For the fuzz target `journal_recover` and tests.
#[doc(hidden)]
pub fn encode_log(generation: u64, records: &[&[u8]]) -> Result<Vec<u8>, JournalError> {
    let header = Header {
        kind: KIND_LOG,
        generation,
        records: 0,
    };
    let mut out = header.encode().to_vec();
    for payload in records {
        out.extend_from_slice(&record_header(payload)?);
        out.extend_from_slice(payload);
    }
    Ok(out)
}

/// Recovery of a log's bytes without the file: the intact records from the
/// start and the length they end at (where [`Journal::open`] truncates).
/// For the fuzz target `journal_recover`.
#[doc(hidden)]
pub fn recover_log_bytes(bytes: &[u8]) -> Result<(Vec<Vec<u8>>, u64), &'static str> {
    let (header, mut body) = bytes
        .split_first_chunk::<HEADER_LEN>()
        .ok_or("file shorter than the journal header")?;
    if Header::decode(header)?.kind != KIND_LOG {
        return Err("not a log");
    }
    let mut records = Vec::new();
    let remaining = body.len() as u64;
    let walk =
        read_records(&mut body, remaining, u64::MAX, &mut records).map_err(|_| "read error")?;
    Ok((records, HEADER_LEN_U64 + walk.good_bytes))
}

/// fsyncs a directory, so a file created or renamed in it survives a crash.
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("fsync", dir))
}

/// Removes `path` if it exists; says whether it did.
fn remove_if_present(path: &Path) -> Result<bool, JournalError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_err("removing", path)(e)),
    }
}

/// Creates (truncating) a file for writing and reading.
fn create_file(path: &Path) -> Result<File, JournalError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_err("creating", path))
}

/// The log's write path, a trait so that tests can make it fail.
trait LogSink: Send {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()>;
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    fn sync_data(&mut self) -> io::Result<()>;
}

impl LogSink for File {
    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
}

/// The open journal of one state directory; see the module doc.
pub struct Journal {
    dir: PathBuf,
    snapshot_path: PathBuf,
    log_path: PathBuf,
    /// Held for the journal's life: one writer per directory.
    _lock: Flock<File>,
    /// The log of `generation`; `None` after a compaction that renamed its
    /// snapshot in but could not start the new log (the old log belongs to
    /// the previous generation and must not be written). The next commit
    /// starts it.
    log: Option<Box<dyn LogSink>>,
    generation: u64,
    /// The log's length after the last successful commit.
    committed_len: u64,
    /// A failed commit could not truncate back to `committed_len`: no write
    /// until a truncation succeeds.
    tail_dirty: bool,
    /// An fsync of the log failed; compaction rewrites the state.
    sync_failed: bool,
    /// Encoded records waiting for `commit`.
    pending: Vec<u8>,
    pending_records: usize,
    snapshot_bytes: u64,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.dir)
            .field("generation", &self.generation)
            .field("log_bytes", &self.committed_len)
            .field("snapshot_bytes", &self.snapshot_bytes)
            .field("pending", &self.pending_records)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Opens (creating if needed) the journal in `dir` (the router's state
    /// directory), recovers it and checks it is writable, so an unwritable
    /// or full directory fails here, at start, with an error naming the
    /// path.
    pub fn open(dir: &Path) -> Result<(Journal, Recovered), JournalError> {
        fs::create_dir_all(dir).map_err(io_err("creating directory", dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock_file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(io_err("creating", &lock_path))?;
        let lock = match Flock::lock(lock_file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, Errno::EWOULDBLOCK)) => return Err(JournalError::Locked { path: lock_path }),
            Err((_, errno)) => return Err(io_err("locking", &lock_path)(io::Error::from(errno))),
        };
        let mut notes = Vec::new();
        for name in [SNAPSHOT_TMP_FILE, LOG_TMP_FILE, PROBE_FILE] {
            if remove_if_present(&dir.join(name))? {
                notes.push(format!("removed {name} left by an interrupted write"));
            }
        }
        let mut journal = Journal {
            dir: dir.to_owned(),
            snapshot_path: dir.join(SNAPSHOT_FILE),
            log_path: dir.join(LOG_FILE),
            _lock: lock,
            log: None,
            generation: 0,
            committed_len: 0,
            tail_dirty: false,
            sync_failed: false,
            pending: Vec::new(),
            pending_records: 0,
            snapshot_bytes: 0,
        };
        let mut recovered = Recovered::default();
        let snapshot = read_snapshot(&journal.snapshot_path)?;
        let log_file = match OpenOptions::new()
            .read(true)
            .write(true)
            .open(&journal.log_path)
        {
            Ok(file) => Some(file),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io_err("opening", &journal.log_path)(e)),
        };
        match (snapshot, log_file) {
            (None, None) => journal.compact(std::iter::empty())?,
            (None, Some(_)) => {
                return Err(JournalError::MissingSnapshot {
                    log: journal.log_path,
                    snapshot: journal.snapshot_path,
                })
            }
            (Some(snapshot), log_file) => {
                journal.generation = snapshot.generation;
                journal.snapshot_bytes = snapshot.bytes;
                recovered.records = snapshot.records;
                match log_file {
                    None => {
                        notes.push(format!("{LOG_FILE} was missing; started an empty one"));
                        journal.start_log()?;
                    }
                    Some(file) => {
                        let (header, len) = read_header(&file, &journal.log_path, KIND_LOG)?;
                        if header.generation > journal.generation {
                            return Err(JournalError::GenerationMismatch {
                                path: journal.log_path,
                                log: header.generation,
                                snapshot: journal.generation,
                            });
                        }
                        if header.generation < journal.generation {
                            notes.push(format!(
                                "replaced {LOG_FILE} of generation {}, already in the snapshot \
                                 of generation {} (a compaction was interrupted)",
                                header.generation, journal.generation
                            ));
                            drop(file);
                            journal.start_log()?;
                        } else {
                            journal.recover_log(file, len, &mut recovered, &mut notes)?;
                        }
                    }
                }
            }
        }
        journal.check_writable()?;
        recovered.note = notes.join("; ");
        Ok((journal, recovered))
    }

    /// Reads the log of the snapshot's generation into `recovered` and
    /// cuts a bad tail off, so appends continue after the last good record.
    fn recover_log(
        &mut self,
        file: File,
        len: u64,
        recovered: &mut Recovered,
        notes: &mut Vec<String>,
    ) -> Result<(), JournalError> {
        let path = &self.log_path;
        let mut reader = BufReader::new(&file);
        let mut skip = [0u8; HEADER_LEN];
        reader
            .read_exact(&mut skip)
            .map_err(io_err("reading", path))?;
        let walk = read_records(
            &mut reader,
            len - HEADER_LEN_U64,
            u64::MAX,
            &mut recovered.records,
        )
        .map_err(io_err("reading", path))?;
        drop(reader);
        let good_len = HEADER_LEN_U64 + walk.good_bytes;
        if walk.stop != Stop::End {
            file.set_len(good_len).map_err(io_err("truncating", path))?;
            file.sync_data().map_err(io_err("fsync", path))?;
            recovered.dropped_bytes = len - good_len;
            notes.push(format!(
                "dropped {} bytes of {LOG_FILE} from offset {good_len} after {} good records: {}",
                recovered.dropped_bytes,
                walk.count,
                walk.stop.reason()
            ));
        }
        self.log = Some(Box::new(file));
        self.committed_len = good_len;
        Ok(())
    }

    /// Writes, fsyncs and removes a probe file, so that a read-only or full
    /// directory fails at open rather than at the first Reply.
    fn check_writable(&self) -> Result<(), JournalError> {
        let path = self.dir.join(PROBE_FILE);
        let mut file = create_file(&path)?;
        file.write_all(&[0u8; PROBE_LEN])
            .map_err(io_err("writing", &path))?;
        file.sync_data().map_err(io_err("fsync", &path))?;
        drop(file);
        fs::remove_file(&path).map_err(io_err("removing", &path))
    }

    /// Starts an empty log of the current generation: temp file, fsync,
    /// rename over the old log, fsync the directory.
    fn start_log(&mut self) -> Result<(), JournalError> {
        self.log = None;
        self.committed_len = 0;
        self.tail_dirty = false;
        let tmp = self.dir.join(LOG_TMP_FILE);
        let result = (|| {
            // The snapshot this log follows must be durable before the old
            // log goes: a directory fsync that failed after the snapshot's
            // rename is retried here.
            sync_dir(&self.dir)?;
            let mut file = create_file(&tmp)?;
            let header = Header {
                kind: KIND_LOG,
                generation: self.generation,
                records: 0,
            };
            file.write_all(&header.encode())
                .map_err(io_err("writing", &tmp))?;
            file.sync_all().map_err(io_err("fsync", &tmp))?;
            fs::rename(&tmp, &self.log_path).map_err(io_err("renaming into place", &tmp))?;
            Ok(file)
        })();
        let file = match result {
            Ok(file) => file,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        sync_dir(&self.dir)?;
        self.log = Some(Box::new(file));
        self.committed_len = HEADER_LEN_U64;
        Ok(())
    }

    /// Queues a record in memory; not durable until [`commit`](Self::commit).
    pub fn append(&mut self, payload: &[u8]) -> Result<(), JournalError> {
        let header = record_header(payload)?;
        let queued = self.pending.len() + RECORD_HEADER_LEN + payload.len();
        if queued > MAX_PENDING_BYTES {
            return Err(JournalError::Backlog { queued });
        }
        self.pending.extend_from_slice(&header);
        self.pending.extend_from_slice(payload);
        self.pending_records += 1;
        Ok(())
    }

    /// Writes every queued record and makes them durable (write +
    /// fdatasync): one call covers all records appended since the last
    /// commit. On error the queued records are dropped (none of them may be
    /// reported durable), the log is cut back to its last committed length,
    /// and the journal stays usable: a later commit may succeed once space
    /// frees up.
    pub fn commit(&mut self) -> Result<(), JournalError> {
        if self.pending_records == 0 {
            return Ok(());
        }
        let result = self.write_pending();
        self.pending.clear();
        self.pending_records = 0;
        // Don't keep a burst's buffer for the router's lifetime.
        if self.pending.capacity() > KEEP_PENDING_CAPACITY {
            self.pending = Vec::new();
        }
        result
    }

    fn write_pending(&mut self) -> Result<(), JournalError> {
        if self.log.is_none() {
            self.start_log()?;
        }
        let path = &self.log_path;
        let Some(log) = self.log.as_mut() else {
            return Err(io_err("writing", path)(io::Error::other("no log file")));
        };
        if self.tail_dirty {
            log.set_len(self.committed_len)
                .map_err(io_err("truncating", path))?;
            self.tail_dirty = false;
        }
        let written = log
            .write_all_at(&self.pending, self.committed_len)
            .map_err(io_err("writing", path));
        let synced = written.and_then(|()| {
            log.sync_data().map_err(|e| {
                self.sync_failed = true;
                io_err("fsync", path)(e)
            })
        });
        match synced {
            Ok(()) => {
                self.committed_len += self.pending.len() as u64;
                Ok(())
            }
            Err(e) => {
                if log.set_len(self.committed_len).is_err() {
                    self.tail_dirty = true;
                }
                Err(e)
            }
        }
    }

    /// Records appended but not yet committed.
    pub fn pending(&self) -> usize {
        self.pending_records
    }

    /// Whether compaction pays: the log is over
    /// max(1 MiB, 4 × the last snapshot), or an fsync failed (the kernel
    /// may have dropped dirty pages; compaction writes fresh files). The
    /// caller then calls [`compact`](Self::compact) with its live state.
    pub fn wants_compaction(&self) -> bool {
        let threshold =
            COMPACT_MIN_LOG_BYTES.max(self.snapshot_bytes.saturating_mul(COMPACT_LOG_TO_SNAPSHOT));
        self.sync_failed || self.committed_len > threshold
    }

    /// Replaces snapshot and log by a new snapshot holding exactly `live`
    /// (the caller's current state) and an empty log, crash-safely (see the
    /// module doc). Records must be committed first
    /// ([`JournalError::PendingRecords`] otherwise): `live` could not tell
    /// whether it holds them. On an error before the new snapshot is in
    /// place the journal goes on as before; after it, the next commit
    /// starts the new log.
    pub fn compact<'a>(
        &mut self,
        live: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), JournalError> {
        if self.pending_records > 0 {
            return Err(JournalError::PendingRecords {
                pending: self.pending_records,
            });
        }
        let generation = self.generation + 1;
        let tmp = self.dir.join(SNAPSHOT_TMP_FILE);
        let bytes = match self.write_snapshot(&tmp, generation, live) {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if let Err(e) = fs::rename(&tmp, &self.snapshot_path) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err("renaming into place", &tmp)(e));
        }
        // From here the old log is of an older generation: never write it.
        self.generation = generation;
        self.snapshot_bytes = bytes;
        self.log = None;
        self.committed_len = 0;
        self.sync_failed = false;
        sync_dir(&self.dir)?;
        self.start_log()
    }

    /// Writes and fsyncs the snapshot of `generation` to `path`; returns
    /// its size.
    fn write_snapshot<'a>(
        &self,
        path: &Path,
        generation: u64,
        live: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<u64, JournalError> {
        let file = create_file(path)?;
        let mut out = BufWriter::new(&file);
        let write = io_err("writing", path);
        let mut header = Header {
            kind: KIND_SNAPSHOT,
            generation,
            records: 0,
        };
        // A placeholder, rewritten with the count once `live` is consumed.
        out.write_all(&header.encode())
            .map_err(io_err("writing", path))?;
        let mut bytes = HEADER_LEN_U64;
        for payload in live {
            let head = record_header(payload)?;
            out.write_all(&head)
                .and_then(|()| out.write_all(payload))
                .map_err(io_err("writing", path))?;
            header.records += 1;
            bytes += RECORD_HEADER_LEN_U64 + payload.len() as u64;
        }
        out.flush().map_err(io_err("writing", path))?;
        drop(out);
        file.write_all_at(&header.encode(), 0).map_err(write)?;
        file.sync_all().map_err(io_err("fsync", path))?;
        Ok(bytes)
    }

    /// Size of the log file in bytes (as of the last commit).
    pub fn log_bytes(&self) -> u64 {
        self.committed_len
    }

    /// Size of the last snapshot in bytes.
    pub fn snapshot_bytes(&self) -> u64 {
        self.snapshot_bytes
    }

    /// The generation of the current snapshot and log (1 for a new
    /// journal, one more per compaction).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Instant;

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("routelet-journal-{}-{tag}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
        fn path(&self) -> &Path {
            &self.0
        }
        fn file(&self, name: &str) -> PathBuf {
            self.0.join(name)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn record(i: usize) -> Vec<u8> {
        format!("binding {i} 2001:db8::{i:x}").into_bytes()
    }

    fn records(range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
        range.map(record).collect()
    }

    fn reopen(dir: &Path) -> Recovered {
        Journal::open(dir).unwrap().1
    }

    /// A journal in `dir` holding `records` in its log, each committed
    /// alone; returns the log's length after each commit.
    fn journal_with(dir: &Path, records: &[Vec<u8>]) -> Vec<u64> {
        let (mut journal, recovered) = Journal::open(dir).unwrap();
        assert!(recovered.records.is_empty());
        let mut ends = Vec::new();
        for r in records {
            journal.append(r).unwrap();
            journal.commit().unwrap();
            ends.push(journal.log_bytes());
        }
        ends
    }

    /// `dir` with `src`'s snapshot and `log` as the log.
    fn copy_with_log(src: &Path, log: &[u8], tag: &str) -> TempDir {
        let dir = TempDir::new(tag);
        fs::copy(src.join(SNAPSHOT_FILE), dir.file(SNAPSHOT_FILE)).unwrap();
        fs::write(dir.file(LOG_FILE), log).unwrap();
        dir
    }

    #[test]
    fn new_journal_is_empty_and_clean() {
        let dir = TempDir::new("new");
        let (journal, recovered) = Journal::open(dir.path()).unwrap();
        assert_eq!(recovered, Recovered::default());
        assert_eq!(journal.generation(), 1);
        assert_eq!(journal.log_bytes(), HEADER_LEN_U64);
        assert_eq!(journal.snapshot_bytes(), HEADER_LEN_U64);
        assert_eq!(journal.pending(), 0);
        assert!(!journal.wants_compaction());
        assert!(!dir.file(PROBE_FILE).exists());
        drop(journal);
        assert_eq!(reopen(dir.path()), Recovered::default());
    }

    #[test]
    fn round_trip_across_reopens() {
        let dir = TempDir::new("roundtrip");
        let mut expected = Vec::new();
        for round in 0..3 {
            let (mut journal, recovered) = Journal::open(dir.path()).unwrap();
            assert_eq!(recovered.records, expected, "round {round}");
            assert_eq!(recovered.dropped_bytes, 0);
            assert!(recovered.note.is_empty(), "{}", recovered.note);
            for i in round * 300..(round + 1) * 300 {
                journal.append(&record(i)).unwrap();
                expected.push(record(i));
                if i % 10 == 9 {
                    journal.commit().unwrap();
                }
            }
            journal.commit().unwrap();
        }
        assert_eq!(reopen(dir.path()).records, expected);
    }

    #[test]
    fn empty_and_largest_payloads_round_trip() {
        let dir = TempDir::new("sizes");
        let big = vec![0xa5; MAX_RECORD_LEN];
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.append(b"").unwrap();
        journal.append(&big).unwrap();
        journal.commit().unwrap();
        drop(journal);
        assert_eq!(reopen(dir.path()).records, vec![Vec::new(), big]);
    }

    #[test]
    fn group_commit_covers_every_appended_record() {
        let dir = TempDir::new("group");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        let batch = records(0..500);
        for r in &batch {
            journal.append(r).unwrap();
        }
        assert_eq!(journal.pending(), 500);
        // Nothing reaches the file before the commit.
        assert_eq!(
            fs::metadata(dir.file(LOG_FILE)).unwrap().len(),
            HEADER_LEN_U64
        );
        journal.commit().unwrap();
        assert_eq!(journal.pending(), 0);
        let expected_len = HEADER_LEN_U64 + batch.iter().map(|r| 8 + r.len() as u64).sum::<u64>();
        assert_eq!(journal.log_bytes(), expected_len);
        assert_eq!(
            fs::metadata(dir.file(LOG_FILE)).unwrap().len(),
            expected_len
        );
        drop(journal);
        assert_eq!(reopen(dir.path()).records, batch);
    }

    #[test]
    fn uncommitted_records_are_not_recovered() {
        let dir = TempDir::new("uncommitted");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.append(&record(1)).unwrap();
        journal.commit().unwrap();
        journal.append(&record(2)).unwrap();
        drop(journal);
        assert_eq!(reopen(dir.path()).records, records(1..2));
    }

    #[test]
    fn torn_last_record_is_dropped_at_every_cut() {
        let base = TempDir::new("torn-base");
        let written = records(0..3);
        let ends = journal_with(base.path(), &written);
        let log = fs::read(base.file(LOG_FILE)).unwrap();
        let last_start = usize::try_from(ends[1]).unwrap();
        assert_eq!(log.len() as u64, ends[2]);
        for cut in last_start..log.len() {
            let dir = copy_with_log(base.path(), &log[..cut], "torn");
            let (mut journal, recovered) = Journal::open(dir.path()).unwrap();
            assert_eq!(recovered.records, written[..2], "cut at {cut}");
            assert_eq!(recovered.dropped_bytes, (cut - last_start) as u64);
            assert_eq!(
                recovered.note.is_empty(),
                cut == last_start,
                "{}",
                recovered.note
            );
            if cut > last_start {
                assert!(recovered.note.contains("torn"), "{}", recovered.note);
            }
            // The log was cut back, and appends continue after the last
            // good record.
            assert_eq!(fs::metadata(dir.file(LOG_FILE)).unwrap().len(), ends[1]);
            journal.append(b"after").unwrap();
            journal.commit().unwrap();
            drop(journal);
            let again = reopen(dir.path());
            assert_eq!(
                again.records,
                [&written[..2], &[b"after".to_vec()]].concat()
            );
            assert_eq!(again.dropped_bytes, 0);
        }
    }

    #[test]
    fn bit_flip_in_last_record_is_dropped() {
        let base = TempDir::new("flip-base");
        let written = records(0..3);
        let ends = journal_with(base.path(), &written);
        let log = fs::read(base.file(LOG_FILE)).unwrap();
        let last_start = usize::try_from(ends[1]).unwrap();
        for at in last_start..log.len() {
            for bit in [0x01u8, 0x80] {
                let mut damaged = log.clone();
                damaged[at] ^= bit;
                let dir = copy_with_log(base.path(), &damaged, "flip");
                let recovered = reopen(dir.path());
                assert_eq!(recovered.records, written[..2], "byte {at} bit {bit:#x}");
                assert_eq!(recovered.dropped_bytes, (log.len() - last_start) as u64);
                assert!(!recovered.note.is_empty());
            }
        }
    }

    /// A damaged record in the middle ends the log there: the records
    /// before it are kept, the rest are dropped and reported (a later
    /// record replayed over a gap could undo a delete the lost one made).
    #[test]
    fn corrupt_middle_record_keeps_earlier_ones_and_reports_the_drop() {
        let base = TempDir::new("middle-base");
        let written = records(0..5);
        let ends = journal_with(base.path(), &written);
        let mut log = fs::read(base.file(LOG_FILE)).unwrap();
        let third = usize::try_from(ends[1]).unwrap();
        // A payload byte of the third record.
        log[third + RECORD_HEADER_LEN + 2] ^= 0x10;
        let dir = copy_with_log(base.path(), &log, "middle");
        let recovered = reopen(dir.path());
        assert_eq!(recovered.records, written[..2]);
        assert_eq!(recovered.dropped_bytes, (log.len() - third) as u64);
        assert!(recovered.note.contains("checksum"), "{}", recovered.note);
        assert!(
            recovered.note.contains(&format!("offset {third}")),
            "{}",
            recovered.note
        );
    }

    #[test]
    fn hostile_length_allocates_nothing_and_is_reported() {
        let base = TempDir::new("hostile-base");
        let written = records(0..2);
        journal_with(base.path(), &written);
        let log = fs::read(base.file(LOG_FILE)).unwrap();
        for len in [
            u32::MAX,
            0x4000_0000,
            u32::try_from(MAX_RECORD_LEN + 1).unwrap(),
        ] {
            let mut hostile = log.clone();
            hostile.extend_from_slice(&len.to_le_bytes());
            hostile.extend_from_slice(&[0xff; 12]);
            let dir = copy_with_log(base.path(), &hostile, "hostile");
            let recovered = reopen(dir.path());
            assert_eq!(recovered.records, written);
            assert_eq!(recovered.dropped_bytes, 16);
            assert!(
                recovered.note.contains("over the limit"),
                "{}",
                recovered.note
            );
        }
        // Under the cap but longer than the file: torn, not allocated.
        let mut short = log.clone();
        short.extend_from_slice(&60_000u32.to_le_bytes());
        short.extend_from_slice(&[0; 4]);
        let dir = copy_with_log(base.path(), &short, "hostile-short");
        let recovered = reopen(dir.path());
        assert_eq!(recovered.records, written);
        assert!(recovered.note.contains("torn"), "{}", recovered.note);
    }

    #[test]
    fn hostile_snapshot_record_count_is_refused() {
        let dir = TempDir::new("hostile-snap");
        drop(Journal::open(dir.path()).unwrap());
        let header = Header {
            kind: KIND_SNAPSHOT,
            generation: 1,
            records: u64::MAX,
        };
        fs::write(dir.file(SNAPSHOT_FILE), header.encode()).unwrap();
        match Journal::open(dir.path()) {
            Err(JournalError::CorruptSnapshot { reason, .. }) => {
                assert_eq!(reason, "fewer records than the header says")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn damaged_snapshot_is_refused_naming_it() {
        let dir = TempDir::new("bad-snap");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        let live = records(0..3);
        journal.compact(live.iter().map(Vec::as_slice)).unwrap();
        drop(journal);
        let mut snap = fs::read(dir.file(SNAPSHOT_FILE)).unwrap();
        let last = snap.len() - 1;
        snap[last] ^= 1;
        fs::write(dir.file(SNAPSHOT_FILE), &snap).unwrap();
        let err = Journal::open(dir.path()).unwrap_err();
        assert!(
            matches!(err, JournalError::CorruptSnapshot { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(SNAPSHOT_FILE), "{err}");
        // A bad header too.
        snap[0] = b'X';
        fs::write(dir.file(SNAPSHOT_FILE), &snap).unwrap();
        let err = Journal::open(dir.path()).unwrap_err();
        assert!(matches!(err, JournalError::CorruptHeader { .. }), "{err:?}");
    }

    #[test]
    fn log_bytes_recover_like_the_file() {
        let payloads: Vec<&[u8]> = vec![b"a", b"", b"bcd"];
        let mut log = encode_log(1, &payloads).unwrap();
        let full = log.len() as u64;
        assert_eq!(recover_log_bytes(&log), Ok((records_of(&payloads), full)));
        log.truncate(log.len() - 1);
        let (records, good) = recover_log_bytes(&log).unwrap();
        assert_eq!(records, records_of(&payloads[..2]));
        assert_eq!(good, full - 8 - 3);
        assert_eq!(
            recover_log_bytes(&log[..HEADER_LEN - 1]),
            Err("file shorter than the journal header")
        );
    }

    fn records_of(payloads: &[&[u8]]) -> Vec<Vec<u8>> {
        payloads.iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn header_decode_rejects_each_damage() {
        let header = Header {
            kind: KIND_LOG,
            generation: 7,
            records: 0,
        };
        let good = header.encode();
        assert_eq!(Header::decode(&good), Ok(header));
        let mut bad = good;
        bad[0] ^= 1;
        assert_eq!(
            Header::decode(&bad),
            Err("not a routelet journal file (bad magic)")
        );
        let mut bad = good;
        bad[8] = 2;
        assert_eq!(
            Header::decode(&bad),
            Err("unsupported journal format version")
        );
        let mut bad = good;
        bad[13] ^= 1;
        assert_eq!(Header::decode(&bad), Err("header checksum mismatch"));
    }

    #[test]
    fn compaction_then_reopen_gives_exactly_the_live_set() {
        let dir = TempDir::new("compact");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        for i in 0..200 {
            journal.append(&record(i)).unwrap();
        }
        journal.commit().unwrap();
        let live = records(150..200);
        journal.compact(live.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(journal.generation(), 2);
        assert_eq!(journal.log_bytes(), HEADER_LEN_U64);
        assert_eq!(
            journal.snapshot_bytes(),
            fs::metadata(dir.file(SNAPSHOT_FILE)).unwrap().len()
        );
        assert!(!dir.file(SNAPSHOT_TMP_FILE).exists());
        assert!(!dir.file(LOG_TMP_FILE).exists());
        journal.append(b"after compaction").unwrap();
        journal.commit().unwrap();
        drop(journal);
        let recovered = reopen(dir.path());
        assert_eq!(
            recovered.records,
            [live.clone(), vec![b"after compaction".to_vec()]].concat()
        );
        assert!(recovered.note.is_empty(), "{}", recovered.note);
        // And again on top of a compacted journal.
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.compact(live.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(journal.generation(), 3);
        drop(journal);
        assert_eq!(reopen(dir.path()).records, live);
    }

    #[test]
    fn compaction_refuses_pending_records_and_oversized_live_records() {
        let dir = TempDir::new("compact-refuse");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.append(&record(1)).unwrap();
        assert!(matches!(
            journal.compact(std::iter::empty()),
            Err(JournalError::PendingRecords { pending: 1 })
        ));
        journal.commit().unwrap();
        let huge = vec![0; MAX_RECORD_LEN + 1];
        let live = [record(2), huge];
        assert!(matches!(
            journal.compact(live.iter().map(Vec::as_slice)),
            Err(JournalError::RecordTooLarge { .. })
        ));
        // The journal goes on as before.
        assert_eq!(journal.generation(), 1);
        assert!(!dir.file(SNAPSHOT_TMP_FILE).exists());
        journal.append(&record(3)).unwrap();
        journal.commit().unwrap();
        drop(journal);
        assert_eq!(reopen(dir.path()).records, vec![record(1), record(3)]);
    }

    #[test]
    fn append_refuses_oversized_record_and_backlog() {
        let dir = TempDir::new("append-refuse");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        assert!(matches!(
            journal.append(&vec![0; MAX_RECORD_LEN + 1]),
            Err(JournalError::RecordTooLarge { len }) if len == MAX_RECORD_LEN + 1
        ));
        let big = vec![1; MAX_RECORD_LEN];
        let fit = MAX_PENDING_BYTES / (MAX_RECORD_LEN + RECORD_HEADER_LEN);
        for _ in 0..fit {
            journal.append(&big).unwrap();
        }
        assert!(matches!(
            journal.append(&big),
            Err(JournalError::Backlog { .. })
        ));
        assert_eq!(journal.pending(), fit);
    }

    /// A crash while the new snapshot was being written: the old snapshot
    /// and log are intact and the temp file goes.
    #[test]
    fn crash_while_writing_new_snapshot_recovers_old_state() {
        let dir = TempDir::new("crash-tmp");
        let written = records(0..10);
        journal_with(dir.path(), &written);
        let mut partial = Header {
            kind: KIND_SNAPSHOT,
            generation: 2,
            records: 3,
        }
        .encode()
        .to_vec();
        partial.extend_from_slice(&record_header(b"live").unwrap());
        fs::write(dir.file(SNAPSHOT_TMP_FILE), &partial).unwrap();
        let (journal, recovered) = Journal::open(dir.path()).unwrap();
        assert_eq!(recovered.records, written);
        assert!(
            recovered.note.contains(SNAPSHOT_TMP_FILE),
            "{}",
            recovered.note
        );
        assert!(!dir.file(SNAPSHOT_TMP_FILE).exists());
        assert_eq!(journal.generation(), 1);
    }

    /// A crash after the new snapshot was renamed in but before the new log
    /// replaced the old one (with or without its temp file): the old log,
    /// of the older generation, is already in the snapshot and is replaced.
    #[test]
    fn crash_after_snapshot_rename_ignores_older_log() {
        for with_log_tmp in [false, true] {
            let dir = TempDir::new("crash-rename");
            journal_with(dir.path(), &records(0..10));
            let old_log = fs::read(dir.file(LOG_FILE)).unwrap();
            let (mut journal, _) = Journal::open(dir.path()).unwrap();
            let live = records(5..10);
            journal.compact(live.iter().map(Vec::as_slice)).unwrap();
            drop(journal);
            fs::write(dir.file(LOG_FILE), &old_log).unwrap();
            if with_log_tmp {
                fs::write(dir.file(LOG_TMP_FILE), &old_log[..HEADER_LEN - 3]).unwrap();
            }
            let (mut journal, recovered) = Journal::open(dir.path()).unwrap();
            assert_eq!(recovered.records, live);
            assert_eq!(recovered.dropped_bytes, 0);
            assert!(
                recovered.note.contains("generation 1"),
                "{}",
                recovered.note
            );
            assert_eq!(journal.generation(), 2);
            assert_eq!(journal.log_bytes(), HEADER_LEN_U64);
            journal.append(b"next").unwrap();
            journal.commit().unwrap();
            drop(journal);
            let again = reopen(dir.path());
            assert_eq!(again.records, [live, vec![b"next".to_vec()]].concat());
            assert!(again.note.is_empty(), "{}", again.note);
        }
    }

    #[test]
    fn missing_log_beside_snapshot_starts_an_empty_one() {
        let dir = TempDir::new("no-log");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        let live = records(0..4);
        journal.compact(live.iter().map(Vec::as_slice)).unwrap();
        drop(journal);
        fs::remove_file(dir.file(LOG_FILE)).unwrap();
        let recovered = reopen(dir.path());
        assert_eq!(recovered.records, live);
        assert!(recovered.note.contains("missing"), "{}", recovered.note);
        assert!(dir.file(LOG_FILE).exists());
    }

    #[test]
    fn log_without_snapshot_or_newer_than_it_is_refused() {
        let dir = TempDir::new("mismatch");
        journal_with(dir.path(), &records(0..2));
        let snap = fs::read(dir.file(SNAPSHOT_FILE)).unwrap();
        fs::remove_file(dir.file(SNAPSHOT_FILE)).unwrap();
        assert!(matches!(
            Journal::open(dir.path()),
            Err(JournalError::MissingSnapshot { .. })
        ));
        fs::write(dir.file(SNAPSHOT_FILE), &snap).unwrap();
        let newer = Header {
            kind: KIND_LOG,
            generation: 5,
            records: 0,
        };
        fs::write(dir.file(LOG_FILE), newer.encode()).unwrap();
        assert!(matches!(
            Journal::open(dir.path()),
            Err(JournalError::GenerationMismatch {
                log: 5,
                snapshot: 1,
                ..
            })
        ));
    }

    #[test]
    fn unwritable_directory_fails_open_naming_the_path() {
        let dir = TempDir::new("unwritable");
        let file = dir.file("not-a-dir");
        fs::write(&file, b"").unwrap();
        let state = file.join("state");
        let err = Journal::open(&state).unwrap_err();
        assert!(matches!(err, JournalError::Io { .. }), "{err:?}");
        assert!(
            err.to_string().contains(&state.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn second_open_of_the_same_directory_is_refused() {
        let dir = TempDir::new("lock");
        let (journal, _) = Journal::open(dir.path()).unwrap();
        assert!(matches!(
            Journal::open(dir.path()),
            Err(JournalError::Locked { .. })
        ));
        drop(journal);
        Journal::open(dir.path()).unwrap();
    }

    /// Which of a [`FaultyLog`]'s calls fail.
    #[derive(Default)]
    struct Faults {
        /// Writes half the buffer, then fails with ENOSPC.
        write: AtomicBool,
        sync: AtomicBool,
        set_len: AtomicBool,
    }

    /// The real log file with injectable failures.
    struct FaultyLog {
        file: File,
        faults: Arc<Faults>,
    }

    impl LogSink for FaultyLog {
        fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
            if self.faults.write.load(Ordering::Relaxed) {
                FileExt::write_all_at(&self.file, &buf[..buf.len() / 2], offset)?;
                return Err(io::Error::from_raw_os_error(libc::ENOSPC));
            }
            FileExt::write_all_at(&self.file, buf, offset)
        }
        fn set_len(&mut self, len: u64) -> io::Result<()> {
            if self.faults.set_len.load(Ordering::Relaxed) {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            self.file.set_len(len)
        }
        fn sync_data(&mut self) -> io::Result<()> {
            if self.faults.sync.load(Ordering::Relaxed) {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            self.file.sync_data()
        }
    }

    fn inject_faults(journal: &mut Journal) -> Arc<Faults> {
        let faults = Arc::new(Faults::default());
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&journal.log_path)
            .unwrap();
        journal.log = Some(Box::new(FaultyLog {
            file,
            faults: Arc::clone(&faults),
        }));
        faults
    }

    fn log_len(dir: &TempDir) -> u64 {
        fs::metadata(dir.file(LOG_FILE)).unwrap().len()
    }

    #[test]
    fn failed_write_truncates_back_and_drops_the_batch() {
        let dir = TempDir::new("fail-write");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.append(&record(1)).unwrap();
        journal.commit().unwrap();
        let committed = journal.log_bytes();
        let faults = inject_faults(&mut journal);
        faults.write.store(true, Ordering::Relaxed);
        for i in 2..6 {
            journal.append(&record(i)).unwrap();
        }
        let err = journal.commit().unwrap_err();
        assert!(
            matches!(err, JournalError::Io { op: "writing", .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains(LOG_FILE), "{err}");
        assert_eq!(journal.pending(), 0, "the failed batch is dropped");
        assert_eq!(journal.log_bytes(), committed);
        assert_eq!(log_len(&dir), committed, "cut back to the last commit");
        faults.write.store(false, Ordering::Relaxed);
        journal.append(&record(9)).unwrap();
        journal.commit().unwrap();
        drop(journal);
        let recovered = reopen(dir.path());
        assert_eq!(recovered.records, vec![record(1), record(9)]);
        assert_eq!(recovered.dropped_bytes, 0);
    }

    #[test]
    fn failed_fsync_truncates_back_and_asks_for_compaction() {
        let dir = TempDir::new("fail-sync");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.append(&record(1)).unwrap();
        journal.commit().unwrap();
        let committed = journal.log_bytes();
        let faults = inject_faults(&mut journal);
        faults.sync.store(true, Ordering::Relaxed);
        journal.append(&record(2)).unwrap();
        let err = journal.commit().unwrap_err();
        assert!(
            matches!(err, JournalError::Io { op: "fsync", .. }),
            "{err:?}"
        );
        assert_eq!(log_len(&dir), committed);
        assert!(journal.wants_compaction());
        faults.sync.store(false, Ordering::Relaxed);
        journal.compact([record(1).as_slice()]).unwrap();
        assert!(!journal.wants_compaction());
        drop(journal);
        assert_eq!(reopen(dir.path()).records, vec![record(1)]);
    }

    /// When even the truncation fails, the next commit truncates before it
    /// writes, so no good record ever follows the partial one.
    #[test]
    fn failed_truncation_is_retried_before_the_next_write() {
        let dir = TempDir::new("fail-trunc");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.append(&record(1)).unwrap();
        journal.commit().unwrap();
        let committed = journal.log_bytes();
        let faults = inject_faults(&mut journal);
        faults.write.store(true, Ordering::Relaxed);
        faults.set_len.store(true, Ordering::Relaxed);
        journal.append(&vec![7; 1000]).unwrap();
        assert!(journal.commit().is_err());
        assert!(
            log_len(&dir) > committed,
            "the partial record is still there"
        );
        // Writes work again, truncation still not: nothing is written.
        faults.write.store(false, Ordering::Relaxed);
        journal.append(&record(2)).unwrap();
        let err = journal.commit().unwrap_err();
        assert!(
            matches!(
                err,
                JournalError::Io {
                    op: "truncating",
                    ..
                }
            ),
            "{err:?}"
        );
        faults.set_len.store(false, Ordering::Relaxed);
        journal.append(&record(3)).unwrap();
        journal.commit().unwrap();
        assert_eq!(log_len(&dir), journal.log_bytes());
        drop(journal);
        let recovered = reopen(dir.path());
        assert_eq!(recovered.records, vec![record(1), record(3)]);
        assert_eq!(recovered.dropped_bytes, 0);
    }

    /// A compaction whose new log could not be started leaves the log to
    /// the next commit, which starts it before writing.
    #[test]
    fn commit_after_compaction_without_a_log_starts_it() {
        let dir = TempDir::new("no-log-commit");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        journal.compact([record(1).as_slice()]).unwrap();
        // As if start_log had failed after the snapshot's rename.
        journal.log = None;
        journal.committed_len = 0;
        journal.append(&record(2)).unwrap();
        journal.commit().unwrap();
        drop(journal);
        assert_eq!(reopen(dir.path()).records, vec![record(1), record(2)]);
    }

    #[test]
    fn wants_compaction_once_the_log_outgrows_the_threshold() {
        let dir = TempDir::new("wants");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        let payload = vec![3; 1000];
        while journal.log_bytes() <= COMPACT_MIN_LOG_BYTES {
            assert!(!journal.wants_compaction());
            for _ in 0..100 {
                journal.append(&payload).unwrap();
            }
            journal.commit().unwrap();
        }
        assert!(journal.wants_compaction());
        journal.compact([payload.as_slice()]).unwrap();
        assert!(!journal.wants_compaction());
    }

    /// How many fsync'd commits per second this disk takes, for batches of
    /// 1 and 64 records: `cargo test --lib journal::tests::commit_rate --
    /// --ignored --nocapture`.
    #[test]
    #[ignore]
    fn commit_rate() {
        let dir = TempDir::new("rate");
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        let payload = vec![0x5a; 120];
        for batch in [1usize, 64] {
            let start = Instant::now();
            let mut commits = 0u32;
            while start.elapsed().as_secs_f64() < 2.0 {
                for _ in 0..batch {
                    journal.append(&payload).unwrap();
                }
                journal.commit().unwrap();
                commits += 1;
            }
            let secs = start.elapsed().as_secs_f64();
            println!(
                "batch {batch:>2}: {:.0} commits/s, {:.0} records/s, {:.3} ms/commit ({})",
                f64::from(commits) / secs,
                f64::from(commits) * batch as f64 / secs,
                secs * 1e3 / f64::from(commits),
                std::env::temp_dir().display()
            );
        }
    }
}
