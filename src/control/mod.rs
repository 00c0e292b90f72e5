//! The control plane's front door: the Unix socket of `routelet run` and
//! the `routelet ctl` client (DESIGN.md "Command line", "Control protocol").
//!
//! - [`protocol`]: the wire messages. One JSON object per line each way;
//!   [`Request`] in, [`Response`] (`{"ok":true,"data":...}` or
//!   `{"ok":false,"error":{"code":...,"message":...}}`) out.
//! - [`model`]: the JSON shapes of `data` ([`model::Status`],
//!   [`model::RouteRow`], ...), which the runtime fills and the client
//!   renders.
//! - [`server`]: [`ControlServer`], the socket with its limits (line size,
//!   connection count, read timeout), serving a [`Backend`].
//! - [`client`]: [`CtlArgs`] and [`client::run`], the `routelet ctl`
//!   subcommand; [`render`]: its tables.
//!
//! Contract: the runtime implements [`Backend`] over its own state and
//! never sees bytes from the socket: requests reach it parsed and checked
//! (destinations without host bits, next hops of the destination's family),
//! one mutating request at a time, and mutating requests only from
//! privileged peers (the server checks SO_PEERCRED). `apply` by path
//! reaches it as text: [`dispatch`] reads the file (bounded, regular files
//! only). Large tables may be answered as typed rows
//! ([`Backend::show_listing`]) that the server streams to the client.
//! `show leases` and `show flows` are answered `not_supported` by
//! [`dispatch`] until their services exist
//! ([`ShowWhat::unsupported_reason`]). Nothing here panics on any input.

// Everything here handles bytes from a socket or a file: no path may panic.
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod client;
mod line;
pub mod model;
pub mod protocol;
pub mod render;
pub mod server;

use std::io::Read;
use std::net::IpAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use ipnet::IpNet;
use serde_json::Value;

pub use client::{CtlArgs, CtlCommand};
pub use protocol::{
    ControlError, ErrorCode, LeaseRequest, Request, Response, RouteRequest, ShowWhat,
    MAX_APPLY_FILE,
};
pub use server::{ControlAccess, ControlHandle, ControlLimits, ControlServer};

/// What the control socket asks of the running router.
///
/// Each method returns the reply's `data` (see [`model`] for the shapes the
/// client renders) or the error to send. Methods may be called from several
/// control threads at once, except that `apply`, `route_add` and
/// `route_del` are never called concurrently with one another (the server
/// serializes them). A panic in a method is caught and answered
/// `internal`, but the backend must keep its own state consistent.
pub trait Backend: Send + Sync + 'static {
    /// [`model::Status`].
    fn status(&self) -> Result<Value, ControlError>;

    /// The table `what`: an array of [`model::InterfaceRow`],
    /// [`model::SubnetRow`], [`model::RouteRow`], [`model::NeighborRow`] or
    /// [`model::StatsRow`], or a [`model::ConfigView`]. Never called for a
    /// `what` with an [`ShowWhat::unsupported_reason`].
    fn show(&self, what: ShowWhat) -> Result<Value, ControlError>;

    /// Validates the whole config text and swaps it in atomically, or
    /// changes nothing and returns `invalid_config` listing every error
    /// (`ControlError::from(LoadError)` does that). Returns
    /// [`model::Applied`].
    fn apply(&self, config_text: &str) -> Result<Value, ControlError>;

    /// Adds (or replaces) the runtime route to `destination` (host bits
    /// already clear, `nexthop` of the same family). `dev` names the
    /// egress interface, needed for a link-local next hop; an unknown name
    /// is a `bad_request`.
    fn route_add(
        &self,
        destination: IpNet,
        nexthop: IpAddr,
        dev: Option<&str>,
    ) -> Result<Value, ControlError>;

    /// Removes the runtime route to `destination`; `bad_request` if there
    /// is none (config routes are changed with `apply`).
    fn route_del(&self, destination: IpNet) -> Result<Value, ControlError>;

    /// Revokes the DHCPv6 lease of `target` (an address as a /128 or
    /// bare, a delegated prefix, or an address inside one), durably, and
    /// answers `{"released": TEXT, "client": DUID-HEX}`; `bad_request`
    /// naming it when no lease holds it. Default: `not_supported`.
    fn lease_release(&self, target: IpNet) -> Result<Value, ControlError> {
        let _ = target;
        Err(ControlError::not_supported(
            "this router runs no DHCPv6 server",
        ))
    }

    /// [`Backend::show`] as the server calls it: a backend whose tables
    /// grow with the network (neighbors, routes) answers typed rows, which
    /// the server serializes as the client reads. A table of 64k neighbors
    /// costs ~20 MB as rows and ~100 MB as a JSON tree. Default: `show`.
    fn show_listing(&self, what: ShowWhat) -> Result<Listing, ControlError> {
        self.show(what).map(Listing::Value)
    }
}

/// A reply's `data` that writes itself as JSON when the reply is sent.
pub trait ReplyData: Send {
    /// Writes the value as compact JSON into `out`.
    fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()>;
}

impl<T: serde::Serialize + Send> ReplyData for T {
    fn write_json(&self, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(out, self).map_err(std::io::Error::from)
    }
}

/// What [`Backend::show_listing`] answers.
pub enum Listing {
    /// A JSON tree, as [`Backend::show`] gives.
    Value(Value),
    /// Typed rows (anything `Serialize`), serialized only as they are
    /// written to the client.
    Rows(Box<dyn ReplyData>),
}

impl core::fmt::Debug for Listing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Listing::Value(v) => f.debug_tuple("Value").field(v).finish(),
            Listing::Rows(_) => f.write_str("Rows(..)"),
        }
    }
}

/// Carries out one parsed request against `backend`: the server's whole
/// semantics apart from the socket, usable from tests and tools.
pub fn dispatch(backend: &dyn Backend, request: Request) -> Result<Value, ControlError> {
    match request {
        Request::Status => backend.status(),
        Request::Show { what } => match what.unsupported_reason() {
            Some(reason) => Err(ControlError::not_supported(reason)),
            None => backend.show(what),
        },
        Request::Apply {
            config: Some(text),
            path: None,
        } => backend.apply(&text),
        Request::Apply {
            config: None,
            path: Some(path),
        } => backend.apply(&read_config_file(&path)?),
        // `Request::from_line` rejects these; a hand-built request may not.
        Request::Apply { .. } => Err(ControlError::bad_request(
            "apply needs exactly one of \"config\" and \"path\"",
        )),
        Request::Route(RouteRequest::Add {
            destination,
            nexthop,
            dev,
        }) => backend.route_add(destination, nexthop, dev.as_deref()),
        Request::Route(RouteRequest::Del { destination }) => backend.route_del(destination),
        Request::Lease(LeaseRequest::Release { address }) => backend.lease_release(address),
    }
}

/// Reads the config file an `apply` names, on the router's side: a
/// regular file of at most [`MAX_APPLY_FILE`] bytes of UTF-8. Errors are
/// the sender's (`bad_request`) and name the path; the file's contents are
/// never quoted here (the config parser's errors quote what they need).
fn read_config_file(path: &Path) -> Result<String, ControlError> {
    let cannot = |why: String| {
        ControlError::bad_request(format!(
            "cannot read {} on the router: {why} (apply by path reads the file in the router's own mount namespace)",
            path.display()
        ))
    };
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it would hold
    // the control plane's mutation lock); a regular file ignores the flag.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| cannot(e.to_string()))?;
    let meta = file.metadata().map_err(|e| cannot(e.to_string()))?;
    if !meta.is_file() {
        return Err(cannot("not a regular file".into()));
    }
    if meta.len() > MAX_APPLY_FILE {
        return Err(cannot(format!(
            "{} bytes, over the {MAX_APPLY_FILE}-byte limit",
            meta.len()
        )));
    }
    // The file may grow between the check and the read: read one byte past
    // the limit at most.
    let mut bytes = Vec::new();
    file.take(MAX_APPLY_FILE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(e.to_string()))?;
    if bytes.len() as u64 > MAX_APPLY_FILE {
        return Err(cannot(format!("over the {MAX_APPLY_FILE}-byte limit")));
    }
    String::from_utf8(bytes).map_err(|_| cannot("not UTF-8".into()))
}
