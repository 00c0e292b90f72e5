//! Running code inside another network namespace, on a helper thread.
//!
//! Contract: [`run_in_netns`] spawns a scoped thread, moves it into the
//! namespace named by a file such as `/run/netns/NAME` with `setns(2)`
//! (`CLONE_NEWNET`), runs the closure there and returns its value. The
//! calling thread's namespace never changes. What the closure creates keeps
//! the namespace it was created in: a socket opened there (a
//! `PacketSocket`) can be handed back and used from any thread, and
//! `link_facts` called there describes that namespace's interfaces.
//!
//! Why a thread rather than `ip netns exec` around the whole process: a
//! test (or a supervisor) can then hold sockets in several namespaces at
//! once, and nothing else of the process is affected. Only the network
//! namespace is changed: `/sys` and the mount namespace stay the caller's,
//! which is why `link_facts` does not read sysfs.

use std::fs::File;
use std::io;
use std::path::Path;

use nix::sched::{setns, CloneFlags};

/// Runs `f` on a thread that first joins the network namespace at `path`.
///
/// Errors: the namespace file cannot be opened, or `setns` fails (not
/// root, not a network namespace). A panic in `f` is resumed in the caller.
pub fn run_in_netns<T, F>(path: &Path, f: F) -> io::Result<T>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let ns = File::open(path)
        .map_err(|e| io::Error::new(e.kind(), format!("netns {}: {e}", path.display())))?;
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || -> io::Result<T> {
            // Only this (helper) thread's network namespace changes.
            if let Err(errno) = setns(&ns, CloneFlags::CLONE_NEWNET) {
                let e = io::Error::from(errno);
                return Err(io::Error::new(
                    e.kind(),
                    format!("setns {}: {e}", path.display()),
                ));
            }
            drop(ns);
            Ok(f())
        });
        match handle.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn own_namespace_runs_closure() {
        // Joining our own namespace needs CAP_SYS_ADMIN; without it the
        // error must name the file rather than panic.
        match run_in_netns(Path::new("/proc/self/ns/net"), || 7) {
            Ok(v) => assert_eq!(v, 7),
            Err(e) => assert!(e.to_string().contains("/proc/self/ns/net"), "{e}"),
        }
    }

    #[test]
    fn missing_namespace_is_an_error() {
        let err = run_in_netns(Path::new("/run/netns/rlt-no-such-ns"), || ()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("rlt-no-such-ns"), "{err}");
    }
}
