//! The control socket server: a Unix stream socket speaking the JSON-lines
//! protocol of [`super::protocol`] to a [`Backend`].
//!
//! Contract:
//! - [`ControlServer::bind`] creates the socket's parent directory (0755)
//!   if missing, removes a *stale* socket file (a socket nobody answers on),
//!   refuses to start when another process answers on it or when the path is
//!   not a socket. The socket is never reachable by others, whatever the
//!   umask: it is bound inside a fresh private directory (0700), made 0600
//!   (0660 with an [`ControlAccess::group_gid`]) there, and only then
//!   renamed into place (without replacing anything), so it has its final
//!   mode from the first instant it exists at its path.
//! - Who may do what: anyone who can connect may read (`status`, `show`);
//!   changing commands (`apply`, `route`) need a privileged peer (root, the
//!   server's own uid or the access group; [`ControlAccess`]), judged by
//!   the kernel's credentials of the peer (SO_PEERCRED), else they are
//!   answered `permission_denied`.
//! - [`ControlServer::spawn`] serves on its own threads and returns a
//!   [`ControlHandle`]; [`ControlHandle::shutdown`] (or dropping the handle)
//!   stops accepting, removes the socket file (only if it is still ours: the
//!   same inode), closes every connection and waits a bounded time for their
//!   threads.
//! - No input stops the server: every malformed request gets an error reply
//!   on the same connection and the next line is served; a backend panic is
//!   caught and answered with `internal`.
//!
//! Design: one accept thread plus one thread per connection, the number of
//! connections bounded by [`ControlLimits::max_connections`]. A control
//! socket sees a handful of clients, so threads are simpler than an event
//! loop and cost nothing measurable. The listener is non-blocking and
//! watched with mio: the accept thread sleeps in epoll until a client
//! connects, and shutdown wakes it with a `mio::Waker` (no self-connect,
//! which would fail if someone removed the socket file); connection
//! threads are woken by `shutdown(2)` on their sockets. Packet workers
//! never wait on anything here: the backend reads their published
//! snapshots.
//!
//! Slots: when every slot is taken, a new connection first tries to make
//! room: it closes the oldest connection *waiting for a request* of the
//! peer (process) holding the most slots if that peer holds more than
//! [`ControlLimits::max_per_peer`], else the oldest connection idle for at
//! least [`ControlLimits::evict_idle_after`] (an unprivileged newcomer
//! only evicts unprivileged peers). A connection waiting for a listing
//! permit counts as waiting; one in the middle of any other request is
//! never closed this way, and a connection answered `busy` is closed. If no
//! room can be made, the accept thread itself answers the newcomer without
//! a slot: its `status` if that arrives within
//! [`ControlLimits::full_status_wait`] (an operator's `ctl status` gets
//! through however many processes hold the slots), else one `busy` line. Refusals and evictions are counted (the `control` member of the
//! `status` reply, [`super::model::ControlStats`]) and logged at most once
//! per [`ControlLimits::refusal_log_interval`], with the count.
//!
//! Limits, per connection: a request line is at most
//! [`ControlLimits::max_line`] bytes (longer: a `too_large` reply and the
//! connection is closed, since the rest of that line cannot be told from
//! the next request); each request must be complete within
//! [`ControlLimits::read_timeout`] (10 s) of the previous reply (or of the
//! connection), else the connection is closed: a client trickling bytes or
//! idling cannot hold a slot. Each reply must be taken by the client
//! within [`ControlLimits::write_timeout`] (10 s), else the connection is
//! closed. Replies are serialized straight onto the socket through a
//! [`REPLY_BUFFER`]-byte buffer: serialization pauses while the client
//! does not read, so a reply never exists as one string. `show` replies
//! (the tables, which grow with the router) are built at most
//! [`ControlLimits::max_listings`] at a time, so clients that ask and
//! never read cannot multiply the router's memory.
//! [`ControlLimits::max_requests`] optionally caps requests per
//! connection; by default it is unbounded because a monitoring client that
//! keeps asking is a legitimate user. Mutating requests (`apply`, `route`)
//! are serialized here, so the backend sees one at a time.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::line::{nonzero, LineReader, ReadError};
use super::model::ControlStats;
use super::protocol::{ErrorCode, Request, Response};
use super::{dispatch, Backend, Listing, ReplyData};

/// Bytes of a reply buffered per connection before they must go to the
/// socket: the most a reply costs the router beyond its `data`, however
/// large the reply and however slowly the client reads.
pub const REPLY_BUFFER: usize = 64 * 1024;

/// The server's bounds. `Default` gives the production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlLimits {
    /// Longest request line in bytes, newline excluded (default 1 MiB: a
    /// whole config for `apply` fits with a wide margin; larger configs go
    /// by path).
    pub max_line: usize,
    /// Connections served at once (default 16).
    pub max_connections: usize,
    /// Slots one peer (process, by SO_PEERCRED pid) may keep when others
    /// need them (default 4): beyond this, its connections waiting for a
    /// request are closed to make room for another peer.
    pub max_per_peer: usize,
    /// A connection waiting this long for its next request (or for a
    /// listing permit) may be closed to make room when every slot is taken
    /// (default 100 ms: a client that just connected has that long to send
    /// its request).
    pub evict_idle_after: Duration,
    /// When no slot can be had, how long the accept thread waits for the
    /// newcomer's first line to see whether it is `status`, answered
    /// without a slot (default 20 ms).
    pub full_status_wait: Duration,
    /// Time allowed for one complete request line (default 10 s).
    pub read_timeout: Duration,
    /// Time allowed for the client to take one whole reply (default 10 s).
    pub write_timeout: Duration,
    /// `show` replies built or being written at once (default 2).
    pub max_listings: usize,
    /// How long a `show` waits for one of those before it is answered
    /// `busy` (default 5 s).
    pub listing_wait: Duration,
    /// Refused connections, and changes refused to unprivileged peers, are
    /// logged at most once per this interval, with their count (default
    /// 10 s).
    pub refusal_log_interval: Duration,
    /// Requests per connection, then it is closed; `None` (default):
    /// unbounded.
    pub max_requests: Option<u64>,
    /// Back-off after an accept error such as EMFILE (default 50 ms).
    pub accept_poll: Duration,
    /// How long shutdown waits for connection threads (default 5 s).
    pub shutdown_grace: Duration,
}

impl Default for ControlLimits {
    fn default() -> Self {
        ControlLimits {
            max_line: 1 << 20,
            max_connections: 16,
            max_per_peer: 4,
            evict_idle_after: Duration::from_millis(100),
            full_status_wait: Duration::from_millis(20),
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_listings: 2,
            listing_wait: Duration::from_secs(5),
            refusal_log_interval: Duration::from_secs(10),
            max_requests: None,
            accept_poll: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Who may change the router through the socket (read-only commands are
/// open to anyone who can connect). Root always may.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlAccess {
    /// The socket's owner; default the server's effective uid.
    pub owner_uid: u32,
    /// A group whose members may also change the router; the socket is
    /// then 0660 and of this group. SO_PEERCRED carries the peer's primary
    /// gid only, so membership is judged by that.
    pub group_gid: Option<u32>,
}

impl Default for ControlAccess {
    fn default() -> Self {
        ControlAccess {
            owner_uid: nix::unistd::geteuid().as_raw(),
            group_gid: None,
        }
    }
}

impl ControlAccess {
    /// Whether a peer with these credentials may change the router.
    pub fn allows(&self, uid: u32, gid: u32) -> bool {
        uid == 0 || uid == self.owner_uid || self.group_gid == Some(gid)
    }
}

/// A bound control socket, not yet serving. Dropping it removes the
/// socket file.
pub struct ControlServer {
    listener: Option<UnixListener>,
    path: PathBuf,
    ident: (u64, u64),
    backend: Arc<dyn Backend>,
    limits: ControlLimits,
    access: ControlAccess,
}

impl core::fmt::Debug for ControlServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ControlServer")
            .field("path", &self.path)
            .field("limits", &self.limits)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

/// How long `bind` waits for an existing socket to accept before deciding
/// that something alive but stuck owns it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl ControlServer {
    /// Binds the control socket at `path` with the default
    /// [`ControlAccess`]; see the module doc for what it creates, removes
    /// and refuses. Errors keep their `io::ErrorKind` (`AddrInUse` when
    /// another routelet serves the path) and name the path.
    pub fn bind(
        path: &Path,
        backend: Arc<dyn Backend>,
        limits: ControlLimits,
    ) -> io::Result<ControlServer> {
        Self::bind_with_access(path, backend, limits, ControlAccess::default())
    }

    /// [`ControlServer::bind`] with an explicit access policy (and with it
    /// the socket's group and mode).
    pub fn bind_with_access(
        path: &Path,
        backend: Arc<dyn Backend>,
        limits: ControlLimits,
        access: ControlAccess,
    ) -> io::Result<ControlServer> {
        let ctx = |what: &str, e: io::Error| {
            io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
        };
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(parent)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot create directory {}: {e}", parent.display()),
                    )
                })?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if !meta.file_type().is_socket() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!(
                        "control socket path {} exists and is not a socket; not removing it",
                        path.display()
                    ),
                ));
            }
            Ok(_) => match super::client::connect_timeout(path, PROBE_TIMEOUT) {
                Ok(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "control socket {} is in use: another routelet is serving it",
                            path.display()
                        ),
                    ));
                }
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::fs::remove_file(path)
                        .map_err(|e| ctx("cannot remove stale control socket", e))?;
                    tracing::info!(path = %path.display(), "removed stale control socket");
                }
                Err(e) if e.kind() == io::ErrorKind::TimedOut => {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "control socket {} is in use: a process holds it but does not answer",
                            path.display()
                        ),
                    ));
                }
                Err(e) => return Err(ctx("cannot tell whether this is in use:", e)),
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(ctx("cannot inspect", e)),
        }
        let staging = Staging::create(parent, path).map_err(|e| ctx("cannot prepare", e))?;
        let listener = UnixListener::bind(&staging.socket).map_err(|e| ctx("cannot bind", e))?;
        let finish = || -> io::Result<(u64, u64)> {
            let mode = match access.group_gid {
                Some(gid) => {
                    nix::unistd::chown(
                        &staging.socket,
                        None,
                        Some(nix::unistd::Gid::from_raw(gid)),
                    )?;
                    0o660
                }
                None => 0o600,
            };
            std::fs::set_permissions(&staging.socket, std::fs::Permissions::from_mode(mode))?;
            listener.set_nonblocking(true)?;
            staging.publish(path)?;
            let meta = std::fs::symlink_metadata(path)?;
            Ok((meta.dev(), meta.ino()))
        };
        let ident = finish().map_err(|e| ctx("cannot set up", e))?;
        Ok(ControlServer {
            listener: Some(listener),
            path: path.to_path_buf(),
            ident,
            backend,
            limits,
            access,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts serving on a new thread (`routelet-ctl`).
    pub fn spawn(mut self) -> io::Result<ControlHandle> {
        let Some(listener) = self.listener.take() else {
            return Err(io::Error::other("control server already spawned"));
        };
        // The accept thread sleeps in epoll until a client connects or
        // shutdown wakes it: an idle router's control thread costs nothing.
        let poll = mio::Poll::new()?;
        poll.registry().register(
            &mut mio::unix::SourceFd(&listener.as_raw_fd()),
            LISTENER,
            mio::Interest::READABLE,
        )?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKE)?);
        let shared = Arc::new(Shared {
            waker,
            stop: AtomicBool::new(false),
            conns: Mutex::new(Conns::default()),
            idle: Condvar::new(),
            mutate: Mutex::new(()),
            listings: Permits::new(self.limits.max_listings),
            counters: Counters::default(),
            refusal_log: Mutex::new(RefusalLog::new(self.limits.refusal_log_interval)),
            denial_log: Mutex::new(RefusalLog::new(self.limits.refusal_log_interval)),
            max_connections: self.limits.max_connections,
        });
        let ctx = Ctx {
            shared: Arc::clone(&shared),
            backend: Arc::clone(&self.backend),
            limits: self.limits.clone(),
            access: self.access,
        };
        let accept = thread::Builder::new()
            .name("routelet-ctl".into())
            .spawn(move || accept_loop(&listener, poll, &ctx));
        let accept = match accept {
            Ok(h) => h,
            Err(e) => {
                // `self` drops here and removes the socket file.
                return Err(e);
            }
        };
        let handle = ControlHandle {
            shared,
            accept: Some(accept),
            path: std::mem::take(&mut self.path),
            ident: self.ident,
            grace: self.limits.shutdown_grace,
        };
        Ok(handle)
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // Bound but never spawned (spawn empties `path`).
        if !self.path.as_os_str().is_empty() {
            remove_if_ours(&self.path, self.ident);
        }
    }
}

/// A private directory (0700) beside the socket's path, where the socket
/// is bound and given its mode before anyone else can reach it: bind(2)
/// creates the socket file with the umask's mode, and no later chmod can
/// close the window in which others could connect. Removed on drop.
struct Staging {
    dir: PathBuf,
    socket: PathBuf,
}

impl Staging {
    fn create(parent: &Path, target: &Path) -> io::Result<Staging> {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let dir = parent.join(format!(
            ".{name}.{}.{}.tmp",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        // mkdir's mode is masked by the umask, which can only take bits
        // away: never more than 0700. Set it exactly afterwards, so that
        // even umask 0777 leaves the owner able to bind inside.
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let staging = Staging {
            socket: dir.join("s"),
            dir,
        };
        std::fs::set_permissions(&staging.dir, std::fs::Permissions::from_mode(0o700))?;
        Ok(staging)
    }

    /// Moves the socket to `target`, never replacing what is there (an
    /// `AddrInUse` error if something appeared since the stale check).
    fn publish(&self, target: &Path) -> io::Result<()> {
        use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
        let in_use = || {
            io::Error::new(
                io::ErrorKind::AddrInUse,
                "another process created the control socket meanwhile",
            )
        };
        match renameat2(
            AT_FDCWD,
            &self.socket,
            AT_FDCWD,
            target,
            RenameFlags::RENAME_NOREPLACE,
        ) {
            Ok(()) => Ok(()),
            Err(nix::errno::Errno::EEXIST) => Err(in_use()),
            // A filesystem without RENAME_NOREPLACE: link(2) does not
            // replace either.
            Err(nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS) => {
                std::fs::hard_link(&self.socket, target).map_err(|e| {
                    if e.kind() == io::ErrorKind::AlreadyExists {
                        in_use()
                    } else {
                        e
                    }
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// A serving control socket. [`ControlHandle::shutdown`] or dropping it
/// stops the server and removes the socket file.
pub struct ControlHandle {
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    path: PathBuf,
    ident: (u64, u64),
    grace: Duration,
}

impl core::fmt::Debug for ControlHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ControlHandle")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ControlHandle {
    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Connections being served now.
    pub fn connections(&self) -> usize {
        lock(&self.shared.conns).map.len()
    }

    /// The server's counters, as the `status` reply carries them.
    pub fn stats(&self) -> ControlStats {
        self.shared.stats()
    }

    /// Whether the accept thread still runs (it stops only on shutdown).
    pub fn is_running(&self) -> bool {
        self.accept.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Stops accepting, removes the socket file, closes every connection
    /// and waits up to [`ControlLimits::shutdown_grace`] for their threads
    /// (a backend call in progress finishes first).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.shared.waker.wake();
        let Some(accept) = self.accept.take() else {
            return;
        };
        if accept.join().is_err() {
            tracing::error!("control accept thread panicked");
        }
        remove_if_ours(&self.path, self.ident);
        let mut conns = lock(&self.shared.conns);
        for conn in conns.map.values() {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        let deadline = Instant::now() + self.grace;
        while !conns.map.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(
                    connections = conns.map.len(),
                    "control connections still busy at shutdown"
                );
                break;
            }
            conns = match self.shared.idle.wait_timeout(conns, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

impl Drop for ControlHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Removes the socket file if it is still the one we bound (another
/// routelet may have replaced it after removing ours as stale).
fn remove_if_ours(path: &Path, ident: (u64, u64)) {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if (meta.dev(), meta.ino()) == ident {
            let _ = std::fs::remove_file(path);
        }
    }
}

struct Shared {
    /// Wakes the accept thread's poll at shutdown.
    waker: Arc<mio::Waker>,
    stop: AtomicBool,
    conns: Mutex<Conns>,
    /// Signalled whenever a connection ends.
    idle: Condvar,
    /// Held while a mutating request runs.
    mutate: Mutex<()>,
    /// `show` replies in progress.
    listings: Permits,
    counters: Counters,
    refusal_log: Mutex<RefusalLog>,
    /// Changes refused to unprivileged peers: as many as they send, so
    /// logged like refusals.
    denial_log: Mutex<RefusalLog>,
    max_connections: usize,
}

impl Shared {
    fn stats(&self) -> ControlStats {
        let c = &self.counters;
        ControlStats {
            connections: lock(&self.conns).map.len(),
            max_connections: self.max_connections,
            refused: c.refused.load(Ordering::Relaxed),
            evicted: c.evicted.load(Ordering::Relaxed),
            timed_out: c.timed_out.load(Ordering::Relaxed),
            denied: c.denied.load(Ordering::Relaxed),
            status_when_full: c.status_when_full.load(Ordering::Relaxed),
        }
    }
}

/// Counters since the server started ([`ControlStats`]).
#[derive(Default)]
struct Counters {
    refused: AtomicU64,
    evicted: AtomicU64,
    timed_out: AtomicU64,
    denied: AtomicU64,
    status_when_full: AtomicU64,
}

/// The peer at the other end of a connection, from SO_PEERCRED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Peer {
    pid: i32,
    uid: u32,
    /// May change the router ([`ControlAccess::allows`]).
    privileged: bool,
    /// Root or the server's own uid: may also make the router read a file
    /// (`apply` by path). A group member may not, since the router could
    /// read files the member cannot, and parse errors quote them.
    reads_as_server: bool,
}

impl Peer {
    /// The peer's credentials as the kernel recorded them at connect time
    /// (they cannot be forged by the client). Unknown credentials make an
    /// unprivileged peer of its own.
    fn of(stream: &UnixStream, access: &ControlAccess) -> Peer {
        use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
        match getsockopt(stream, PeerCredentials) {
            Ok(c) => Peer {
                pid: c.pid(),
                uid: c.uid(),
                privileged: access.allows(c.uid(), c.gid()),
                reads_as_server: c.uid() == 0 || c.uid() == access.owner_uid,
            },
            Err(_) => Peer {
                pid: -1,
                uid: u32::MAX,
                privileged: false,
                reads_as_server: false,
            },
        }
    }

    /// The key slots are shared out by: one process.
    fn key(&self) -> (u32, i32) {
        (self.uid, self.pid)
    }
}

/// One live connection.
struct Conn {
    /// A clone of the connection's socket, so that shutdown and eviction
    /// can wake its thread.
    stream: UnixStream,
    peer: Peer,
    /// Since when it waits for its next request; `None` while a request is
    /// being served (such a connection is never evicted).
    waiting_since: Option<Instant>,
}

/// The slot table.
#[derive(Default)]
struct Conns {
    map: HashMap<u64, Conn>,
    next_id: u64,
}

/// Why a connection got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// Every slot is taken by connections that may not be closed for it.
    Full,
}

impl Conns {
    /// Frees a slot for a new connection from `peer` if every slot is
    /// taken (see the module doc's "Slots"); the evicted connection is shut
    /// down and leaves the table at once. Returns whether one was evicted.
    fn make_room(
        &mut self,
        peer: Peer,
        limits: &ControlLimits,
        now: Instant,
    ) -> Result<bool, Refusal> {
        if self.map.len() < limits.max_connections {
            return Ok(false);
        }
        let victim = self
            .over_quota_victim(peer, limits.max_per_peer)
            .or_else(|| self.idle_victim(peer, limits.evict_idle_after, now));
        let Some(id) = victim else {
            return Err(Refusal::Full);
        };
        if let Some(conn) = self.map.remove(&id) {
            let _ = conn.stream.shutdown(Shutdown::Both);
        }
        Ok(true)
    }

    /// The oldest waiting connection of the peer holding the most slots,
    /// if it holds more than `max_per_peer` and is not `peer` itself.
    fn over_quota_victim(&self, peer: Peer, max_per_peer: usize) -> Option<u64> {
        let mut held: HashMap<(u32, i32), usize> = HashMap::new();
        for conn in self.map.values() {
            *held.entry(conn.peer.key()).or_default() += 1;
        }
        let (hog, count) = held.into_iter().max_by_key(|(_, n)| *n)?;
        if count <= max_per_peer || hog == peer.key() {
            return None;
        }
        self.oldest_waiting(|c| c.peer.key() == hog && (peer.privileged || !c.peer.privileged))
    }

    /// The oldest connection waiting at least `min_idle` that `peer` may
    /// displace.
    fn idle_victim(&self, peer: Peer, min_idle: Duration, now: Instant) -> Option<u64> {
        self.oldest_waiting(|c| {
            (peer.privileged || !c.peer.privileged)
                && c.waiting_since
                    .is_some_and(|t| now.saturating_duration_since(t) >= min_idle)
        })
    }

    fn oldest_waiting(&self, eligible: impl Fn(&Conn) -> bool) -> Option<u64> {
        self.map
            .iter()
            .filter(|(_, c)| c.waiting_since.is_some() && eligible(c))
            .min_by_key(|(id, c)| (c.waiting_since, **id))
            .map(|(id, _)| *id)
    }

    /// Marks connection `id` as waiting for a request (or not). Returns
    /// false if it has been evicted meanwhile.
    fn set_waiting(&mut self, id: u64, waiting: Option<Instant>) -> bool {
        match self.map.get_mut(&id) {
            Some(conn) => {
                conn.waiting_since = waiting;
                true
            }
            None => false,
        }
    }
}

/// Refusals are logged at most once per interval, with how many there
/// were: a flood of connections must not become a flood of log lines.
struct RefusalLog {
    interval: Duration,
    last: Option<Instant>,
    pending: u64,
}

impl RefusalLog {
    fn new(interval: Duration) -> Self {
        RefusalLog {
            interval,
            last: None,
            pending: 0,
        }
    }

    /// The refusals not logged yet, if a line is due at `now`: the accept
    /// loop asks once per interval, so the last refusals of a burst are
    /// logged too.
    fn flush(&mut self, now: Instant) -> Option<u64> {
        if self.pending == 0 {
            return None;
        }
        let due = self
            .last
            .map_or(true, |t| now.saturating_duration_since(t) >= self.interval);
        if !due {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }

    /// Notes one refusal at `now`; returns the count to log if a line is
    /// due (the first refusal, then at most one per interval).
    fn note(&mut self, now: Instant) -> Option<u64> {
        self.pending = self.pending.saturating_add(1);
        let due = self
            .last
            .map_or(true, |t| now.saturating_duration_since(t) >= self.interval);
        if !due {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.pending))
    }
}

/// A counting semaphore with a bounded wait.
struct Permits {
    free: Mutex<usize>,
    freed: Condvar,
}

/// One permit of [`Permits`], given back on drop.
struct Permit<'a>(&'a Permits);

impl Permits {
    fn new(n: usize) -> Self {
        Permits {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self, wait: Duration) -> Option<Permit<'_>> {
        let deadline = Instant::now().checked_add(wait);
        let mut free = lock(&self.free);
        while *free == 0 {
            let left = deadline.map_or(Duration::ZERO, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if left.is_zero() {
                return None;
            }
            free = match self.freed.wait_timeout(free, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        *free -= 1;
        Some(Permit(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *lock(&self.0.free) += 1;
        self.0.freed.notify_one();
    }
}

/// A poisoned lock only means another control thread panicked while
/// holding it; the data (a slot table, a unit) is still consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Clone)]
struct Ctx {
    shared: Arc<Shared>,
    backend: Arc<dyn Backend>,
    limits: ControlLimits,
    access: ControlAccess,
}

const LISTENER: mio::Token = mio::Token(0);
const WAKE: mio::Token = mio::Token(1);

fn accept_loop(listener: &UnixListener, mut poll: mio::Poll, ctx: &Ctx) {
    let mut events = mio::Events::with_capacity(4);
    while !ctx.shared.stop.load(Ordering::Acquire) {
        let flush = lock(&ctx.shared.refusal_log).flush(Instant::now());
        if let Some(count) = flush {
            log_refusals(count, ctx);
        }
        if let Err(e) = poll.poll(&mut events, Some(ctx.limits.refusal_log_interval)) {
            if e.kind() != io::ErrorKind::Interrupted {
                tracing::warn!(error = %e, "control socket poll failed");
                thread::sleep(ctx.limits.accept_poll);
            }
            continue;
        }
        // Edge-triggered: accept until the backlog is empty.
        while !ctx.shared.stop.load(Ordering::Acquire) {
            match listener.accept() {
                Ok((stream, _)) => admit(stream, ctx),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: back off rather than spin.
                    tracing::warn!(error = %e, "control socket accept failed");
                    thread::sleep(ctx.limits.accept_poll);
                    break;
                }
            }
        }
    }
}

/// Takes a slot for `stream` (making room if it may) and serves it on its
/// own thread, or answers `busy` and closes it.
fn admit(stream: UnixStream, ctx: &Ctx) {
    // Accepted sockets do not inherit O_NONBLOCK on Linux; be explicit.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let peer = Peer::of(&stream, &ctx.access);
    let id = {
        let mut conns = lock(&ctx.shared.conns);
        match conns.make_room(peer, &ctx.limits, Instant::now()) {
            Ok(false) => {}
            Ok(true) => {
                ctx.shared.counters.evicted.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    pid = peer.pid,
                    "closed a waiting control connection to make room"
                );
            }
            Err(Refusal::Full) => {
                drop(conns);
                refuse(stream, peer, ctx);
                return;
            }
        }
        let Ok(clone) = stream.try_clone() else {
            return;
        };
        let id = conns.next_id;
        conns.next_id = conns.next_id.wrapping_add(1);
        conns.map.insert(
            id,
            Conn {
                stream: clone,
                peer,
                waiting_since: Some(Instant::now()),
            },
        );
        id
    };
    let worker = ctx.clone();
    let spawned = thread::Builder::new()
        .name(format!("routelet-ctl-{id}"))
        .spawn(move || {
            let _slot = Slot {
                shared: Arc::clone(&worker.shared),
                id,
            };
            serve(stream, id, peer, &worker);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start a control connection thread");
        release(&ctx.shared, id);
    }
}

/// A connection that gets no slot: counted, logged at most once per
/// [`ControlLimits::refusal_log_interval`], and answered by the accept
/// thread itself without taking a slot. A `status` request that arrives
/// within [`ControlLimits::full_status_wait`] is answered (an operator's
/// `ctl status` gets through however the slots are held, by whatever many
/// processes); anything else gets one `busy` line. Both writes are far
/// smaller than a socket buffer and bounded by a short timeout, so the
/// accept loop cannot be held for long.
fn refuse(mut stream: UnixStream, peer: Peer, ctx: &Ctx) {
    let max = ctx.limits.max_connections;
    let mut reader = LineReader::new(STATUS_LINE_MAX);
    let first = Instant::now().checked_add(ctx.limits.full_status_wait);
    let is_status = matches!(
        reader.read_line(&mut stream, first),
        Ok(Some(line)) if matches!(Request::from_line(&line), Ok(Request::Status))
    );
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    if is_status {
        ctx.shared
            .counters
            .status_when_full
            .fetch_add(1, Ordering::Relaxed);
        let (reply, _) = handle_line(br#"{"cmd":"status"}"#, peer, ctx, None);
        if let Reply::Done(response) = reply {
            let _ = stream.write_all(response.to_line().as_bytes());
        }
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    ctx.shared.counters.refused.fetch_add(1, Ordering::Relaxed);
    if let Some(count) = lock(&ctx.shared.refusal_log).note(Instant::now()) {
        log_refusals(count, ctx);
    }
    let line = Response::error(
        ErrorCode::Busy,
        format!("too many control connections (limit {max}); try again later"),
    )
    .to_line();
    let _ = stream.write_all(line.as_bytes());
    let _ = stream.shutdown(Shutdown::Both);
}

/// The longest request line the accept thread reads from a connection it
/// has no slot for: a `status` request is a few bytes.
const STATUS_LINE_MAX: usize = 256;

fn log_refusals(count: u64, ctx: &Ctx) {
    tracing::warn!(
        refused = count,
        max = ctx.limits.max_connections,
        "control connections refused: too many connections (logged at most every {:?})",
        ctx.limits.refusal_log_interval
    );
}

/// Frees a connection's slot when its thread ends, however it ends.
struct Slot {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        release(&self.shared, self.id);
    }
}

fn release(shared: &Shared, id: u64) {
    lock(&shared.conns).map.remove(&id);
    shared.idle.notify_all();
}

fn serve(mut stream: UnixStream, id: u64, peer: Peer, ctx: &Ctx) {
    let mut reader = LineReader::new(ctx.limits.max_line);
    let mut served: u64 = 0;
    while !ctx.shared.stop.load(Ordering::Acquire) {
        if served > 0 && !lock(&ctx.shared.conns).set_waiting(id, Some(Instant::now())) {
            // Evicted to make room.
            return;
        }
        let deadline = Instant::now().checked_add(ctx.limits.read_timeout);
        let line = reader.read_line(&mut stream, deadline);
        if !lock(&ctx.shared.conns).set_waiting(id, None) {
            return;
        }
        let line = match line {
            Ok(Some(line)) => line,
            Ok(None) => return,
            Err(ReadError::TooLarge) => {
                tracing::warn!(limit = ctx.limits.max_line, "control request too large");
                let reply = Response::error(
                    ErrorCode::TooLarge,
                    format!(
                        "request line longer than {} bytes; closing the connection",
                        ctx.limits.max_line
                    ),
                );
                let _ = write_reply(&mut stream, &reply, ctx.limits.write_timeout);
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Err(ReadError::Timeout) => {
                ctx.shared
                    .counters
                    .timed_out
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!("control connection closed: no complete request in time");
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Err(ReadError::Io(e)) => {
                tracing::debug!(error = %e, "control connection read failed");
                return;
            }
        };
        let (reply, permit) = handle_line(&line, peer, ctx, Some(id));
        // A `busy` answer ends the connection: the client is to come back
        // later, and its slot is someone else's meanwhile.
        let busy = matches!(&reply, Reply::Done(Response(Err(e))) if e.code == ErrorCode::Busy);
        let written = match &reply {
            Reply::Done(response) => write_reply(&mut stream, response, ctx.limits.write_timeout),
            Reply::Rows(rows) => write_rows(&mut stream, rows.as_ref(), ctx.limits.write_timeout),
        };
        // The reply's data is freed, and the listing permit returned, as
        // soon as it is written or abandoned.
        drop(reply);
        drop(permit);
        if let Err(e) = written {
            if matches!(
                e.kind(),
                io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
            ) {
                ctx.shared
                    .counters
                    .timed_out
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(
                    "control connection closed: the client did not take its reply in time"
                );
            }
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        served = served.saturating_add(1);
        if busy || ctx.limits.max_requests.is_some_and(|max| served >= max) {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// A socket writer that gives up at a deadline for the whole reply, not
/// per write: a client reading one byte now and then cannot stretch it.
struct DeadlineWriter<'a> {
    stream: &'a mut UnixStream,
    deadline: Option<Instant>,
}

impl Write for DeadlineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(deadline) = self.deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client did not take its reply in time",
                ));
            }
            self.stream.set_write_timeout(Some(nonzero(left)))?;
        }
        self.stream.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// Writes one reply line within `timeout`, serializing it through a
/// [`REPLY_BUFFER`]-byte buffer straight onto the socket.
fn write_reply(stream: &mut UnixStream, reply: &Response, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now().checked_add(timeout);
    let mut out = BufWriter::with_capacity(REPLY_BUFFER, DeadlineWriter { stream, deadline });
    reply.write_line(&mut out)?;
    out.flush()
}

/// [`write_reply`] for an ok reply whose data are typed rows.
fn write_rows(stream: &mut UnixStream, rows: &dyn ReplyData, timeout: Duration) -> io::Result<()> {
    let deadline = Instant::now().checked_add(timeout);
    let mut out = BufWriter::with_capacity(REPLY_BUFFER, DeadlineWriter { stream, deadline });
    out.write_all(br#"{"ok":true,"data":"#)?;
    rows.write_json(&mut out)?;
    out.write_all(b"}\n")?;
    out.flush()
}

/// Counts a change refused to `peer`, and logs it at most once per
/// [`ControlLimits::refusal_log_interval`] with the count.
fn note_denial(peer: Peer, ctx: &Ctx) {
    ctx.shared.counters.denied.fetch_add(1, Ordering::Relaxed);
    if let Some(count) = lock(&ctx.shared.denial_log).note(Instant::now()) {
        tracing::warn!(
            denied = count,
            uid = peer.uid,
            pid = peer.pid,
            "control changes refused to unprivileged peers (logged at most every {:?}; this peer is the latest)",
            ctx.limits.refusal_log_interval
        );
    }
}

/// A reply ready to write.
enum Reply {
    Done(Response),
    /// An ok reply to `show` whose rows are serialized while written.
    Rows(Box<dyn ReplyData>),
}

/// A listing permit for connection `id`, waiting at most
/// [`ControlLimits::listing_wait`]. While it waits the connection counts as
/// waiting (it may be closed to make room): a client that queues listing
/// after listing without reading must not hold its slot that way.
fn acquire_listing<'a>(ctx: &'a Ctx, id: Option<u64>) -> Option<Permit<'a>> {
    if let Some(id) = id {
        lock(&ctx.shared.conns).set_waiting(id, Some(Instant::now()));
    }
    let permit = ctx.shared.listings.acquire(ctx.limits.listing_wait);
    match id {
        Some(id) if !lock(&ctx.shared.conns).set_waiting(id, None) => None,
        _ => permit,
    }
}

/// Parses and carries out one request line for `peer`. A backend panic is
/// caught here: the router's state is the backend's to protect, but the
/// control thread and the client both get an answer. A `show` reply comes
/// with the listing permit that must be held until it is written.
fn handle_line<'a>(
    line: &[u8],
    peer: Peer,
    ctx: &'a Ctx,
    id: Option<u64>,
) -> (Reply, Option<Permit<'a>>) {
    let error = |code: ErrorCode, message: String| Reply::Done(Response::error(code, message));
    let request = match Request::from_line(line) {
        Ok(request) => request,
        Err(e) => {
            tracing::debug!(code = %e.code, message = %e.message, "control request rejected");
            return (Reply::Done(Response(Err(e))), None);
        }
    };
    let mutating = request.is_mutation();
    if mutating && !peer.privileged {
        ctx.shared.counters.denied.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            uid = peer.uid,
            pid = peer.pid,
            "control change refused: unprivileged peer"
        );
        let message = format!(
            "uid {} may read but not change this router: apply and route need root or the control socket's owner (uid {})",
            peer.uid, ctx.access.owner_uid
        );
        return (error(ErrorCode::PermissionDenied, message), None);
    }
    if matches!(request, Request::Apply { path: Some(_), .. }) && !peer.reads_as_server {
        note_denial(peer, ctx);
        let message = format!(
            "uid {} may apply a config inline but not by path: only root or the router's own uid (uid {}) may make it read a file",
            peer.uid, ctx.access.owner_uid
        );
        return (error(ErrorCode::PermissionDenied, message), None);
    }
    let listing = match request {
        Request::Show { what } if what.unsupported_reason().is_none() => Some(what),
        _ => None,
    };
    let permit = match listing {
        Some(_) => match acquire_listing(ctx, id) {
            Some(permit) => Some(permit),
            None => {
                let message = format!(
                    "{} table replies are already in progress; try again later",
                    ctx.limits.max_listings
                );
                return (error(ErrorCode::Busy, message), None);
            }
        },
        None => None,
    };
    let is_status = matches!(request, Request::Status);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = mutating.then(|| lock(&ctx.shared.mutate));
        match listing {
            Some(what) => ctx.backend.show_listing(what),
            None => dispatch(ctx.backend.as_ref(), request).map(Listing::Value),
        }
    }));
    let mut response = match outcome {
        Ok(Ok(Listing::Rows(rows))) => return (Reply::Rows(rows), permit),
        Ok(Ok(Listing::Value(value))) => Response(Ok(value)),
        Ok(Err(e)) => Response(Err(e)),
        Err(_) => Response::error(
            ErrorCode::Internal,
            "the router failed while handling this request; see its log",
        ),
    };
    if is_status {
        if let (Ok(Value::Object(map)), Ok(stats)) =
            (&mut response.0, serde_json::to_value(ctx.shared.stats()))
        {
            map.insert("control".into(), stats);
        }
    }
    (Reply::Done(response), permit)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use std::io::Read;

    #[test]
    fn limits_defaults() {
        let l = ControlLimits::default();
        assert_eq!(l.max_line, 1_048_576);
        assert_eq!(l.max_connections, 16);
        assert_eq!(l.max_per_peer, 4);
        assert_eq!(l.read_timeout, Duration::from_secs(10));
        assert_eq!(l.write_timeout, Duration::from_secs(10));
        assert_eq!(l.max_requests, None);
    }

    #[test]
    fn access_allows_root_owner_and_group_only() {
        let a = ControlAccess {
            owner_uid: 1000,
            group_gid: Some(50),
        };
        assert!(a.allows(0, 0));
        assert!(a.allows(1000, 1000));
        assert!(a.allows(1001, 50));
        assert!(!a.allows(1001, 1001));
        assert!(!ControlAccess {
            group_gid: None,
            ..a
        }
        .allows(1001, 50));
    }

    #[test]
    fn refusals_are_logged_once_per_interval_with_their_count() {
        let mut log = RefusalLog::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(log.note(t0), Some(1));
        let lines = (1..=10_000u64)
            .filter_map(|i| log.note(t0 + Duration::from_micros(i * 100)))
            .count();
        assert_eq!(lines, 0, "10k refusals within 1 s: no line after the first");
        assert_eq!(log.note(t0 + Duration::from_secs(10)), Some(10_001));
        assert_eq!(log.note(t0 + Duration::from_secs(11)), None);
    }

    fn conn(pid: i32, privileged: bool, waiting: Option<Instant>) -> Conn {
        let (a, _b) = UnixStream::pair().unwrap();
        Conn {
            stream: a,
            peer: Peer {
                pid,
                uid: if privileged { 0 } else { 65534 },
                privileged,
                reads_as_server: privileged,
            },
            waiting_since: waiting,
        }
    }

    fn table(conns: Vec<Conn>) -> Conns {
        let mut t = Conns::default();
        for c in conns {
            t.map.insert(t.next_id, c);
            t.next_id += 1;
        }
        t
    }

    #[test]
    fn room_is_made_from_the_peer_over_its_quota_or_an_idle_one() {
        let limits = ControlLimits {
            max_connections: 4,
            max_per_peer: 2,
            evict_idle_after: Duration::from_secs(1),
            ..ControlLimits::default()
        };
        let now = Instant::now();
        let fresh = Some(now);
        let hog = |w| conn(7, true, w);
        let newcomer = Peer {
            pid: 8,
            uid: 0,
            privileged: true,
            reads_as_server: true,
        };
        // Not full: nothing to do.
        let mut t = table(vec![hog(fresh), hog(fresh)]);
        assert_eq!(t.make_room(newcomer, &limits, now), Ok(false));
        // Full of one peer's waiting connections: its oldest goes.
        let older = now.checked_sub(Duration::from_millis(5)).unwrap();
        let mut t = table(vec![hog(fresh), hog(Some(older)), hog(fresh), hog(None)]);
        assert_eq!(t.make_room(newcomer, &limits, now), Ok(true));
        assert_eq!(t.map.len(), 3);
        assert!(!t.map.contains_key(&1));
        // ...but not for the hog itself, nor busy connections.
        let hog_peer = Peer { pid: 7, ..newcomer };
        let mut t = table(vec![hog(fresh), hog(fresh), hog(fresh), hog(fresh)]);
        assert_eq!(t.make_room(hog_peer, &limits, now), Err(Refusal::Full));
        let mut t = table(vec![hog(None), hog(None), hog(None), hog(None)]);
        assert_eq!(t.make_room(newcomer, &limits, now), Err(Refusal::Full));
        // Within quota, only a connection idle for long enough goes.
        let long_ago = now.checked_sub(Duration::from_secs(2)).unwrap();
        let mut t = table(vec![
            conn(1, true, fresh),
            conn(2, true, fresh),
            conn(3, false, Some(long_ago)),
            conn(4, true, fresh),
        ]);
        assert_eq!(t.make_room(newcomer, &limits, now), Ok(true));
        assert!(!t.map.contains_key(&2));
        // An unprivileged newcomer cannot displace a privileged one.
        let stranger = Peer {
            pid: 9,
            uid: 65534,
            privileged: false,
            reads_as_server: false,
        };
        let mut t = table(vec![
            conn(1, true, Some(long_ago)),
            conn(2, true, Some(long_ago)),
            conn(3, true, Some(long_ago)),
            conn(4, true, Some(long_ago)),
        ]);
        assert_eq!(t.make_room(stranger, &limits, now), Err(Refusal::Full));
    }

    #[test]
    fn permits_bound_and_wait() {
        let p = Permits::new(2);
        let a = p.acquire(Duration::ZERO).unwrap();
        let _b = p.acquire(Duration::ZERO).unwrap();
        let t0 = Instant::now();
        assert!(p.acquire(Duration::from_millis(50)).is_none());
        assert!(t0.elapsed() >= Duration::from_millis(50));
        drop(a);
        assert!(p.acquire(Duration::ZERO).is_some());
    }

    /// Counts what reaches the socket and the largest single write.
    struct Meter<'a> {
        inner: DeadlineWriter<'a>,
        accepted: usize,
    }

    impl Write for Meter<'_> {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.accepted += n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            self.inner.flush()
        }
    }

    /// A client that asks for a large table and never reads: the server's
    /// side holds the reply's data and a [`REPLY_BUFFER`] buffer, never a
    /// serialized copy, and gives up at the write deadline.
    #[test]
    fn never_reading_client_costs_the_bounded_buffer_only() {
        let rows: Vec<Value> = (0..64_000)
            .map(|i| {
                serde_json::json!({
                    "iface": "qr0", "family": "inet6",
                    "addr": format!("2001:db8:cafe::{i:x}"),
                    "mac": "fa:16:3e:79:5a:cc", "state": "REACHABLE",
                    "router": false, "queued": 0, "age_secs": 7,
                })
            })
            .collect();
        let reply = Response::ok(Value::Array(rows));
        let full_len = reply.to_line().len();
        let (mut server, client) = UnixStream::pair().unwrap();
        let t0 = Instant::now();
        let deadline = Some(t0 + Duration::from_millis(300));
        let mut out = BufWriter::with_capacity(
            REPLY_BUFFER,
            Meter {
                inner: DeadlineWriter {
                    stream: &mut server,
                    deadline,
                },
                accepted: 0,
            },
        );
        let err = reply.write_line(&mut out).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
        // The buffer never grew past its bound...
        assert_eq!(out.capacity(), REPLY_BUFFER);
        assert!(out.buffer().len() <= REPLY_BUFFER);
        // ...and only what the socket took left it: a small part of the
        // reply (the kernel's socket buffer), not the reply.
        let accepted = out.get_ref().accepted;
        assert!(full_len > 8 << 20, "{full_len}");
        assert!(accepted < full_len / 4, "{accepted} of {full_len}");
        drop(out);
        drop(client);
    }

    #[test]
    fn reply_reaches_a_reading_client_whole() {
        let (mut server, mut client) = UnixStream::pair().unwrap();
        let reply = Response::ok(Value::String("x".repeat(3 * REPLY_BUFFER)));
        let want = reply.to_line();
        let reader = std::thread::spawn(move || {
            let mut got = String::new();
            client.read_to_string(&mut got).unwrap();
            got
        });
        write_reply(&mut server, &reply, Duration::from_secs(5)).unwrap();
        drop(server);
        assert_eq!(reader.join().unwrap(), want);
    }
}
