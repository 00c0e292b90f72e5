//! The control socket server: a Unix stream socket speaking the JSON-lines
//! protocol of [`super::protocol`] to a [`Backend`].
//!
//! Contract:
//! - [`ControlServer::bind`] creates the socket's parent directory (0755)
//!   if missing, removes a *stale* socket file (a socket nobody answers on),
//!   refuses to start when another process answers on it or when the path is
//!   not a socket, binds, and makes the socket 0600. (Between `bind` and the
//!   chmod the socket has the mode of the umask, 0755 with the usual 022: no
//!   one else may connect, since connecting needs write permission.)
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
//! connections bounded by [`ControlLimits::max_connections`] (a counting
//! slot table; extra connections get one `busy` error line and are closed).
//! A control socket sees a handful of clients, so threads are simpler than
//! an event loop and cost nothing measurable. The listener is non-blocking
//! and watched with mio: the accept thread sleeps in epoll until a client
//! connects, and shutdown wakes it with a `mio::Waker` (no self-connect,
//! which would fail if someone removed the socket file); connection
//! threads are woken by `shutdown(2)` on their sockets.
//!
//! Limits, per connection: a request line is at most
//! [`ControlLimits::max_line`] bytes (longer: a `too_large` reply and the
//! connection is closed, since the rest of that line cannot be told from
//! the next request); each request must be complete within
//! [`ControlLimits::read_timeout`] of the previous reply (or of the
//! connection), else the connection is closed: a client trickling bytes or
//! idling cannot hold a slot. [`ControlLimits::max_requests`] optionally
//! caps requests per connection; by default it is unbounded because a
//! monitoring client that keeps asking is a legitimate user and the slot
//! count already bounds what it can take. Mutating requests (`apply`,
//! `route`) are serialized here, so the backend sees one at a time.

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::line::{nonzero, LineReader, ReadError};
use super::protocol::{ErrorCode, Request, Response};
use super::{dispatch, Backend};

/// The server's bounds. `Default` gives the production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlLimits {
    /// Longest request line in bytes, newline excluded (default 1 MiB: a
    /// whole config for `apply` fits with a wide margin).
    pub max_line: usize,
    /// Connections served at once (default 16).
    pub max_connections: usize,
    /// Time allowed for one complete request line (default 10 s).
    pub read_timeout: Duration,
    /// Time allowed for writing one reply to a client that does not read
    /// (default 10 s).
    pub write_timeout: Duration,
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
            read_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            max_requests: None,
            accept_poll: Duration::from_millis(50),
            shutdown_grace: Duration::from_secs(5),
        }
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
}

impl core::fmt::Debug for ControlServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ControlServer")
            .field("path", &self.path)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// How long `bind` waits for an existing socket to accept before deciding
/// that something alive but stuck owns it.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

impl ControlServer {
    /// Binds the control socket at `path`; see the module doc for what it
    /// creates, removes and refuses. Errors keep their `io::ErrorKind`
    /// (`AddrInUse` when another routelet serves the path) and name the
    /// path.
    pub fn bind(
        path: &Path,
        backend: Arc<dyn Backend>,
        limits: ControlLimits,
    ) -> io::Result<ControlServer> {
        let ctx = |what: &str, e: io::Error| {
            io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
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
        let listener = UnixListener::bind(path).map_err(|e| ctx("cannot bind", e))?;
        let finish = || -> io::Result<(u64, u64)> {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            listener.set_nonblocking(true)?;
            let meta = std::fs::symlink_metadata(path)?;
            Ok((meta.dev(), meta.ino()))
        };
        let ident = match finish() {
            Ok(ident) => ident,
            Err(e) => {
                let _ = std::fs::remove_file(path);
                return Err(ctx("cannot set up", e));
            }
        };
        Ok(ControlServer {
            listener: Some(listener),
            path: path.to_path_buf(),
            ident,
            backend,
            limits,
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
        });
        let ctx = Ctx {
            shared: Arc::clone(&shared),
            backend: Arc::clone(&self.backend),
            limits: self.limits.clone(),
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
        for stream in conns.map.values() {
            let _ = stream.shutdown(Shutdown::Both);
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
}

/// The slot table: live connections (a clone of each stream, so that
/// shutdown can wake its thread).
#[derive(Default)]
struct Conns {
    map: HashMap<u64, UnixStream>,
    next_id: u64,
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
}

const LISTENER: mio::Token = mio::Token(0);
const WAKE: mio::Token = mio::Token(1);

fn accept_loop(listener: &UnixListener, mut poll: mio::Poll, ctx: &Ctx) {
    let mut events = mio::Events::with_capacity(4);
    while !ctx.shared.stop.load(Ordering::Acquire) {
        if let Err(e) = poll.poll(&mut events, None) {
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

/// Takes a slot for `stream` and serves it on its own thread, or answers
/// `busy` and closes it.
fn admit(stream: UnixStream, ctx: &Ctx) {
    // Accepted sockets do not inherit O_NONBLOCK on Linux; be explicit.
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let id = {
        let mut conns = lock(&ctx.shared.conns);
        if conns.map.len() >= ctx.limits.max_connections {
            drop(conns);
            refuse(stream, ctx.limits.max_connections);
            return;
        }
        let Ok(clone) = stream.try_clone() else {
            return;
        };
        let id = conns.next_id;
        conns.next_id = conns.next_id.wrapping_add(1);
        conns.map.insert(id, clone);
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
            serve(stream, &worker);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start a control connection thread");
        release(&ctx.shared, id);
    }
}

/// One error line to a connection over the limit. The write cannot block
/// the accept loop for long: the line is far smaller than a socket buffer
/// and the write timeout bounds it anyway.
fn refuse(mut stream: UnixStream, max: usize) {
    tracing::warn!(max, "control connection refused: too many connections");
    let _ = stream.set_write_timeout(Some(Duration::from_millis(100)));
    let line = Response::error(
        ErrorCode::Busy,
        format!("too many control connections (limit {max}); try again later"),
    )
    .to_line();
    let _ = stream.write_all(line.as_bytes());
    let _ = stream.shutdown(Shutdown::Both);
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

fn serve(mut stream: UnixStream, ctx: &Ctx) {
    if stream
        .set_write_timeout(Some(nonzero(ctx.limits.write_timeout)))
        .is_err()
    {
        return;
    }
    let mut reader = LineReader::new(ctx.limits.max_line);
    let mut served: u64 = 0;
    while !ctx.shared.stop.load(Ordering::Acquire) {
        let deadline = Instant::now().checked_add(ctx.limits.read_timeout);
        let line = match reader.read_line(&mut stream, deadline) {
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
                let _ = stream.write_all(reply.to_line().as_bytes());
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Err(ReadError::Timeout) => {
                tracing::debug!("control connection closed: no complete request in time");
                let _ = stream.shutdown(Shutdown::Both);
                return;
            }
            Err(ReadError::Io(e)) => {
                tracing::debug!(error = %e, "control connection read failed");
                return;
            }
        };
        let reply = handle_line(&line, ctx);
        if stream.write_all(reply.to_line().as_bytes()).is_err() {
            return;
        }
        served = served.saturating_add(1);
        if ctx.limits.max_requests.is_some_and(|max| served >= max) {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// Parses and carries out one request line. A backend panic is caught
/// here: the router's state is the backend's to protect, but the control
/// thread and the client both get an answer.
fn handle_line(line: &[u8], ctx: &Ctx) -> Response {
    let request = match Request::from_line(line) {
        Ok(request) => request,
        Err(e) => {
            tracing::debug!(code = %e.code, message = %e.message, "control request rejected");
            return Response(Err(e));
        }
    };
    let mutating = request.is_mutation();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _guard = mutating.then(|| lock(&ctx.shared.mutate));
        dispatch(ctx.backend.as_ref(), request)
    }));
    match outcome {
        Ok(result) => Response(result),
        Err(_) => Response::error(
            ErrorCode::Internal,
            "the router failed while handling this request; see its log",
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn limits_defaults() {
        let l = ControlLimits::default();
        assert_eq!(l.max_line, 1_048_576);
        assert_eq!(l.max_connections, 16);
        assert_eq!(l.read_timeout, Duration::from_secs(10));
        assert_eq!(l.max_requests, None);
    }
}
