//! One router per interface: an exclusive lock per (network namespace,
//! interface) that `routelet run` holds for its whole life.
//!
//! Two routelets on one link answer every packet twice (in the lab: 897
//! duplicate ping replies), so `run` takes, for each of its interfaces, an
//! `flock(LOCK_EX | LOCK_NB)` on a file named after the namespace's
//! identity (device and inode of `/proc/self/ns/net`) and the interface's
//! index, under the runtime directory ([`DEFAULT_DIR`]), and refuses to
//! start when another process holds one, naming the interface and the
//! owner's PID (written into the file by the owner).
//!
//! The kernel drops an `flock` when the last descriptor of its open file
//! closes, which a process's exit does however it ends: a SIGKILLed router
//! never blocks its restart, and a stale file is only a name. Files are
//! opened with `O_CLOEXEC`, so a child never inherits a lock. Names and
//! indexes are per namespace, hence the namespace in the key: routers in
//! two namespaces may both own a `qr0`. Safe code (nix's `Flock`).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

/// Where the lock files live: beside the default control sockets.
pub const DEFAULT_DIR: &str = "/run/routelet/locks";

/// The identity of a network namespace: device and inode of its nsfs file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetnsId {
    pub dev: u64,
    pub ino: u64,
}

impl NetnsId {
    /// The network namespace of the calling thread.
    pub fn current() -> io::Result<NetnsId> {
        let path = "/proc/thread-self/ns/net";
        let meta = std::fs::metadata(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{path}: {e}")))?;
        Ok(NetnsId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

/// Why an interface could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another live process holds the interface.
    #[error(
        "interface \"{iface}\" is owned by another routelet ({owner}); \
         two routers on one link answer every packet twice: stop that one first \
         (lock {path})"
    )]
    Owned {
        iface: String,
        /// "PID 1234, router r1", or what could be read of it.
        owner: String,
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("interface \"{iface}\": lock {path}: {source}{}", hint(source))]
    Io {
        iface: String,
        path: PathBuf,
        source: io::Error,
    },
}

/// What to do about a lock file that cannot be written.
fn hint(e: &io::Error) -> &'static str {
    if e.kind() == io::ErrorKind::PermissionDenied {
        " (the lock directory must be writable: run routelet as root)"
    } else {
        ""
    }
}

/// A held interface lock; dropping it (or exiting) releases it.
#[derive(Debug)]
pub struct InterfaceLock {
    _file: Flock<File>,
    path: PathBuf,
}

impl InterfaceLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The lock file of interface `ifindex` in namespace `ns` under `dir`.
pub fn lock_path(dir: &Path, ns: NetnsId, ifindex: u32) -> PathBuf {
    dir.join(format!("net-{:x}-{}-if{}.lock", ns.dev, ns.ino, ifindex))
}

/// Takes the lock of interface `iface` (index `ifindex`) in namespace `ns`,
/// creating `dir` if needed, and writes `PID router` into it. Never waits.
pub fn lock_interface(
    dir: &Path,
    ns: NetnsId,
    iface: &str,
    ifindex: u32,
    router: &str,
) -> Result<InterfaceLock, LockError> {
    let path = lock_path(dir, ns, ifindex);
    let io_err = |source: io::Error| LockError::Io {
        iface: iface.to_owned(),
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .map_err(io_err)?;
    let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(locked) => locked,
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            // Bounded: a lock file holds one short line.
            let _ = (&mut file).take(256).read_to_string(&mut text);
            return Err(LockError::Owned {
                iface: iface.to_owned(),
                owner: describe_owner(&text),
                path,
            });
        }
        Err((_, errno)) => return Err(io_err(io::Error::from(errno))),
    };
    let stamp = format!("{} {}\n", std::process::id(), router);
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(stamp.as_bytes()))
        .map_err(io_err)?;
    Ok(InterfaceLock { _file: file, path })
}

/// "PID 1234, router r1" from a lock file's "1234 r1".
fn describe_owner(text: &str) -> String {
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(pid), Some(name)) if pid.parse::<u32>().is_ok() => {
            format!("PID {pid}, router \"{name}\"")
        }
        (Some(pid), None) if pid.parse::<u32>().is_ok() => format!("PID {pid}"),
        // The owner locked the file but has not written its PID yet.
        _ => "PID unknown: it is starting".to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("routelet-iflock-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn second_lock_is_refused_naming_interface_and_pid() {
        let dir = temp_dir("refuse");
        let ns = NetnsId { dev: 4, ino: 4026 };
        let held = lock_interface(&dir, ns, "qr0", 7, "r1").unwrap();
        assert_eq!(
            std::fs::read_to_string(held.path()).unwrap(),
            format!("{} r1\n", std::process::id())
        );
        // A second open file description conflicts even in one process.
        let err = lock_interface(&dir, ns, "qr0", 7, "r2").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, LockError::Owned { .. }), "{msg}");
        assert!(msg.contains("\"qr0\""), "{msg}");
        assert!(
            msg.contains(&format!("PID {}, router \"r1\"", std::process::id())),
            "{msg}"
        );
        // Another interface, or the same index in another namespace: free.
        let other_if = lock_interface(&dir, ns, "qg0", 8, "r2").unwrap();
        let other_ns = lock_interface(&dir, NetnsId { dev: 4, ino: 4027 }, "qr0", 7, "r2");
        assert!(other_ns.is_ok());
        // Released on drop (as on exit): the next router takes it over.
        drop(held);
        let next = lock_interface(&dir, ns, "qr0", 7, "r2").unwrap();
        assert_eq!(
            std::fs::read_to_string(next.path()).unwrap(),
            format!("{} r2\n", std::process::id())
        );
        drop((other_if, other_ns, next));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn owner_text_is_described() {
        assert_eq!(describe_owner("42 r1\n"), "PID 42, router \"r1\"");
        assert_eq!(describe_owner("42"), "PID 42");
        assert_eq!(describe_owner(""), "PID unknown: it is starting");
        assert_eq!(describe_owner("junk here"), "PID unknown: it is starting");
    }

    #[test]
    fn current_namespace_has_an_identity() {
        let a = NetnsId::current().unwrap();
        assert_eq!(a, NetnsId::current().unwrap());
        assert!(a.ino > 0);
    }
}
