//! `routelet ctl`: one request to a running router, its answer printed.
//!
//! Contract (DESIGN.md "Command line"):
//! `routelet ctl (--socket PATH | --config FILE) [--json] [--timeout SECS] COMMAND`
//! with COMMAND one of `status`, `show WHAT`, `apply FILE`,
//! `route add DEST [via] NEXTHOP [dev IFACE]`, `route del DEST`.
//! - `--config` finds the socket as `routelet run` does: the file's
//!   `router.control_socket`, else `/run/routelet/<router.name>.sock`. Only
//!   `[router]` is read, so a config being edited (invalid elsewhere) still
//!   leads to its router.
//! - `apply FILE` reads and validates the file here first: a broken file
//!   prints every error and exits 1 without contacting the router. The
//!   config goes inline, or by path (the router reads the file) when it
//!   would pass the server's 1 MiB request line limit. Settings the router
//!   can only take at a restart are printed, one per line.
//! - `busy`, `too_large` and `permission_denied` answers are printed as
//!   such with what to do (a server that refuses closes the connection
//!   after its answer; the answer is read even when sending the request
//!   hit the closed socket).
//! - Output: a table for people, or the reply's `data` as JSON with
//!   `--json` (an error reply then also prints the error object as JSON on
//!   stdout, for programs).
//! - Exit status: [`EXIT_OK`] (0) on an ok reply; [`EXIT_ERROR`] (1) on an
//!   error reply or a file `apply` rejects locally, the message on stderr;
//!   [`EXIT_UNREACHABLE`] (2) when the router could not be asked (no
//!   socket, nobody listening, timeout, connection lost, a reply that is not
//!   the protocol's) and on usage errors, as clap does.
//! - Every wait is bounded: connecting, sending and the whole reply share
//!   `--timeout` (default 10 s) each; a reply is at most [`MAX_REPLY`]
//!   bytes.

use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use serde::Deserialize;

use super::line::{nonzero, LineReader, ReadError};
use super::protocol::{
    ControlError, ErrorCode, LeaseRequest, Request, Response, RouteRequest, ShowWhat,
};
use super::render;
use crate::config::{Config, LoadError};

/// An ok reply.
pub const EXIT_OK: u8 = 0;
/// An error reply, or a config `apply` rejects before sending.
pub const EXIT_ERROR: u8 = 1;
/// The router could not be asked; also clap's usage errors.
pub const EXIT_UNREACHABLE: u8 = 2;

/// Largest reply accepted (a neighbor table at its 4096-entry bound per
/// interface is a few MiB; this leaves room without trusting the peer).
pub const MAX_REPLY: usize = 64 << 20;

/// `routelet ctl`'s arguments; flatten into the `ctl` subcommand.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["socket", "config"])))]
pub struct CtlArgs {
    /// The router's control socket.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The router's config file; the socket is its router.control_socket,
    /// or /run/routelet/<router.name>.sock.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print the reply's data as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the router at each step.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// The commands of `routelet ctl`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum CtlCommand {
    /// The router's name, pid, uptime, workers and config generation.
    Status,
    /// Print one of the router's tables.
    Show {
        #[arg(value_enum)]
        what: ShowWhat,
    },
    /// Validate a config file here, then swap it in on the router (or
    /// change nothing).
    Apply { file: PathBuf },
    /// Add or delete a runtime route.
    Route {
        #[command(subcommand)]
        op: RouteCmd,
    },
    /// Act on a DHCPv6 lease.
    Lease {
        #[command(subcommand)]
        op: LeaseCmd,
    },
}

/// `lease release`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum LeaseCmd {
    /// Revoke the lease of an address, or a delegated prefix (the prefix,
    /// or an address in it); its route goes with it.
    Release {
        #[arg(value_parser = parse_destination, value_name = "ADDRESS|PREFIX")]
        address: IpNet,
    },
}

/// `route add` / `route del`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum RouteCmd {
    /// Add a runtime route: DEST via NEXTHOP, optionally dev IFACE ("via" may be left out).
    Add {
        /// Destination prefix (an address alone means a host route).
        #[arg(value_parser = parse_destination)]
        destination: IpNet,
        /// `[via] NEXTHOP [dev IFACE]`, in any order, as `ip route` takes it.
        #[arg(required = true, num_args = 1.., value_name = "via NEXTHOP [dev IFACE]")]
        rest: Vec<String>,
    },
    /// Delete the runtime route to DEST.
    Del {
        #[arg(value_parser = parse_destination)]
        destination: IpNet,
    },
}

/// A prefix, or an address as its host route.
fn parse_destination(s: &str) -> Result<IpNet, String> {
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net);
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{s:?} is not a prefix (like 2001:db8:beef::/48) or an address"))
}

/// `[via] NEXTHOP [dev IFACE]` in any order.
fn parse_route_rest(rest: &[String]) -> Result<(IpAddr, Option<String>), String> {
    let mut nexthop: Option<IpAddr> = None;
    let mut dev: Option<String> = None;
    let mut words = rest.iter();
    while let Some(word) = words.next() {
        match word.as_str() {
            "via" | "dev" => {
                let Some(value) = words.next() else {
                    return Err(format!("{word:?} needs a value"));
                };
                if word == "dev" {
                    if dev.replace(value.clone()).is_some() {
                        return Err("dev given twice".into());
                    }
                } else if nexthop.replace(parse_nexthop(value)?).is_some() {
                    return Err("next hop given twice".into());
                }
            }
            other => {
                if nexthop.replace(parse_nexthop(other)?).is_some() {
                    return Err(format!("unexpected {other:?}: next hop given twice"));
                }
            }
        }
    }
    let nexthop = nexthop.ok_or("missing next hop")?;
    Ok((nexthop, dev))
}

fn parse_nexthop(s: &str) -> Result<IpAddr, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a next-hop address"))
}

/// Why the router could not be asked. Every variant means exit 2.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing accepts on the socket (no file, or no process behind it).
    #[error("cannot connect to {}: is routelet running? ({source})", path.display())]
    NotRunning { path: PathBuf, source: io::Error },
    /// The socket exists but this user may not use it (it is mode 0600).
    #[error("cannot connect to {}: permission denied (the control socket is its owner's only)", path.display())]
    PermissionDenied { path: PathBuf },
    /// Any other failure to connect.
    #[error("cannot connect to {}: {source}", path.display())]
    Connect { path: PathBuf, source: io::Error },
    /// The router did not answer in time.
    #[error("no reply from {} within {secs} s", path.display())]
    Timeout { path: PathBuf, secs: u64 },
    /// The connection broke while asking or waiting.
    #[error("lost the connection to {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    /// The router closed the connection without answering.
    #[error("{} closed the connection without a reply", path.display())]
    NoReply { path: PathBuf },
    /// The reply is not a protocol reply (or is over [`MAX_REPLY`]).
    #[error("bad reply from {}: {message}", path.display())]
    BadReply { path: PathBuf, message: String },
}

/// Connects to a Unix socket, giving up after `timeout`.
///
/// A blocking `connect(2)` on a Unix socket waits while the listener's
/// backlog is full (a hung server), and std has no connect timeout for Unix
/// sockets; so the connect runs on a helper thread. On timeout the thread
/// is left behind, blocked until the peer accepts or goes away, and the
/// error is `TimedOut`.
pub fn connect_timeout(path: &Path, timeout: Duration) -> io::Result<UnixStream> {
    let (tx, rx) = mpsc::sync_channel(1);
    let target = path.to_path_buf();
    std::thread::Builder::new()
        .name("routelet-ctl-connect".into())
        .spawn(move || {
            let _ = tx.send(UnixStream::connect(target));
        })?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

/// Sends one request to the socket at `path` and waits for its reply,
/// each step within `timeout`.
pub fn request(path: &Path, req: &Request, timeout: Duration) -> Result<Response, ClientError> {
    let secs = timeout.as_secs();
    let mut stream = connect_timeout(path, timeout).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => ClientError::NotRunning {
            path: path.to_path_buf(),
            source,
        },
        io::ErrorKind::PermissionDenied => ClientError::PermissionDenied {
            path: path.to_path_buf(),
        },
        io::ErrorKind::TimedOut => ClientError::Timeout {
            path: path.to_path_buf(),
            secs,
        },
        _ => ClientError::Connect {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let io_err = |source: io::Error| {
        if matches!(
            source.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ) {
            ClientError::Timeout {
                path: path.to_path_buf(),
                secs,
            }
        } else {
            ClientError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    stream
        .set_write_timeout(Some(nonzero(timeout)))
        .map_err(io_err)?;
    let mut line = req.to_line();
    line.push('\n');
    if let Err(e) = stream.write_all(line.as_bytes()) {
        // A server that refuses (busy) or stops reading (too_large) says
        // why in one line and closes: that line is the answer, not the
        // broken pipe the rest of the request ran into.
        if !matches!(
            e.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ) {
            return Err(io_err(e));
        }
        let mut reader = LineReader::new(MAX_REPLY);
        let deadline = Instant::now().checked_add(timeout.min(Duration::from_secs(1)));
        return match reader.read_line(&mut stream, deadline) {
            Ok(Some(reply)) => Response::from_line(&reply).map_err(|_| io_err(e)),
            _ => Err(io_err(e)),
        };
    }
    let mut reader = LineReader::new(MAX_REPLY);
    let reply = reader
        .read_line(&mut stream, Instant::now().checked_add(timeout))
        .map_err(|e| match e {
            ReadError::Timeout => ClientError::Timeout {
                path: path.to_path_buf(),
                secs,
            },
            ReadError::TooLarge => ClientError::BadReply {
                path: path.to_path_buf(),
                message: format!("longer than {MAX_REPLY} bytes"),
            },
            ReadError::Io(e) => io_err(e),
        })?
        .ok_or_else(|| ClientError::NoReply {
            path: path.to_path_buf(),
        })?;
    Response::from_line(&reply).map_err(|message| ClientError::BadReply {
        path: path.to_path_buf(),
        message,
    })
}

/// The control socket of a router named `name` when its config names none.
pub fn default_socket_path(name: &str) -> PathBuf {
    PathBuf::from(format!("/run/routelet/{name}.sock"))
}

/// The control socket of the router `config` describes (what `routelet
/// run` binds).
pub fn socket_path_for(config: &Config) -> PathBuf {
    config
        .router
        .control_socket
        .clone()
        .unwrap_or_else(|| default_socket_path(&config.router.name))
}

/// Only what finding the socket needs; unknown keys are fine here.
#[derive(Deserialize)]
struct RouterOnly {
    router: RouterNaming,
}

#[derive(Deserialize)]
struct RouterNaming {
    name: String,
    #[serde(default)]
    control_socket: Option<PathBuf>,
}

/// The socket `args` points at.
pub fn socket_path(args: &CtlArgs) -> Result<PathBuf, String> {
    if let Some(path) = &args.socket {
        return Ok(path.clone());
    }
    let Some(config) = &args.config else {
        return Err("give --socket PATH or --config FILE".into());
    };
    let text = std::fs::read_to_string(config)
        .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let parsed: RouterOnly = toml::from_str(&text).map_err(|e| {
        format!(
            "cannot find the router's name in {}: {}",
            config.display(),
            e.message()
        )
    })?;
    Ok(parsed
        .router
        .control_socket
        .unwrap_or_else(|| default_socket_path(&parsed.router.name)))
}

/// Turns the command into a request; for `apply`, reads and validates the
/// file first. `Err` is the exit status, its reason already on `err`.
fn build_request(command: &CtlCommand, err: &mut dyn Write) -> Result<Request, u8> {
    Ok(match command {
        CtlCommand::Status => Request::Status,
        CtlCommand::Show { what } => Request::Show { what: *what },
        CtlCommand::Apply { file } => {
            let text = std::fs::read_to_string(file).map_err(|e| {
                let _ = writeln!(err, "routelet ctl: cannot read {}: {e}", file.display());
                EXIT_ERROR
            })?;
            match Config::from_toml_str(&text) {
                Ok(_) => {}
                Err(LoadError::Invalid(errors)) => {
                    let _ = writeln!(err, "{}: {} error(s)", file.display(), errors.len());
                    for e in &errors {
                        let _ = writeln!(err, "  {e}");
                    }
                    return Err(EXIT_ERROR);
                }
                Err(e) => {
                    let _ = writeln!(err, "{}: {e}", file.display());
                    return Err(EXIT_ERROR);
                }
            }
            apply_request(file, text)
        }
        CtlCommand::Route {
            op: RouteCmd::Add { destination, rest },
        } => {
            let (nexthop, dev) = parse_route_rest(rest).map_err(|e| {
                let _ = writeln!(err, "routelet ctl: route add: {e}");
                let _ = writeln!(
                    err,
                    "usage: routelet ctl route add DEST [via] NEXTHOP [dev IFACE]"
                );
                EXIT_UNREACHABLE
            })?;
            Request::Route(RouteRequest::Add {
                destination: *destination,
                nexthop,
                dev,
            })
        }
        CtlCommand::Route {
            op: RouteCmd::Del { destination },
        } => Request::Route(RouteRequest::Del {
            destination: *destination,
        }),
        CtlCommand::Lease {
            op: LeaseCmd::Release { address },
        } => Request::Lease(LeaseRequest::Release { address: *address }),
    })
}

/// Inline configs up to this size (the server's default request line
/// limit, less room for the JSON around and the escapes inside); larger
/// ones go by path.
const INLINE_APPLY_MAX: usize = (1 << 20) - 64 * 1024;

/// The `apply` request for a validated file: the text inline (it works
/// across mount namespaces and file permissions), or, when the request
/// line would pass the server's 1 MiB limit, the file's absolute path for
/// the router to read itself.
fn apply_request(file: &Path, text: String) -> Request {
    let inline = Request::Apply {
        config: Some(text),
        path: None,
    };
    if inline.to_line().len() <= INLINE_APPLY_MAX {
        return inline;
    }
    match std::fs::canonicalize(file) {
        Ok(path) => Request::Apply {
            config: None,
            path: Some(path),
        },
        // Cannot name it: send it inline and let the server say too_large.
        Err(_) => inline,
    }
}

/// The text for an ok reply to `command`.
fn success_text(command: &CtlCommand, request: &Request, data: &serde_json::Value) -> String {
    match (command, request) {
        (CtlCommand::Status, _) => render::status(data),
        (CtlCommand::Show { what }, _) => render::show(*what, data),
        (CtlCommand::Apply { .. }, _) => render::applied(data),
        (
            _,
            Request::Route(RouteRequest::Add {
                destination,
                nexthop,
                dev,
            }),
        ) => match dev {
            Some(dev) => format!("route {destination} via {nexthop} dev {dev} added\n"),
            None => format!("route {destination} via {nexthop} added\n"),
        },
        (_, Request::Route(RouteRequest::Del { destination })) => {
            format!("route {destination} deleted\n")
        }
        (_, Request::Lease(LeaseRequest::Release { .. })) => format!(
            "released {} (client {})\n",
            data.get("released").and_then(|v| v.as_str()).unwrap_or("?"),
            data.get("client").and_then(|v| v.as_str()).unwrap_or("?")
        ),
        _ => render::json(data),
    }
}

fn print_error(err: &mut dyn Write, e: &ControlError) {
    let mut lines = e.message.lines();
    let first = lines.next().unwrap_or("");
    let _ = writeln!(err, "routelet ctl: {}: {}", e.code, escape(first));
    for line in lines {
        let _ = writeln!(err, "  {}", escape(line));
    }
    let hint = match e.code {
        ErrorCode::Busy => Some("the router is busy serving other control clients; nothing was changed: retry in a moment"),
        ErrorCode::TooLarge => Some("the request is over the router's size limit; nothing was changed (apply a large config by path: routelet ctl apply FILE does)"),
        ErrorCode::PermissionDenied => Some("run as root or as the control socket's owner to change the router"),
        _ => None,
    };
    if let Some(hint) = hint {
        let _ = writeln!(err, "  ({hint})");
    }
}

fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let text: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            text
        })
        .collect()
}

/// `routelet ctl` with its output going to `out` and `err`; returns the
/// exit status. [`run`] is this on stdout/stderr.
pub fn execute(args: &CtlArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let req = match build_request(&args.command, err) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let path = match socket_path(args) {
        Ok(p) => p,
        Err(msg) => {
            let _ = writeln!(err, "routelet ctl: {msg}");
            return EXIT_UNREACHABLE;
        }
    };
    let timeout = Duration::from_secs(args.timeout.max(1));
    let response = match request(&path, &req, timeout) {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(err, "routelet ctl: {e}");
            return EXIT_UNREACHABLE;
        }
    };
    match response.0 {
        Ok(data) => {
            let text = if args.json {
                render::json(&data)
            } else {
                success_text(&args.command, &req, &data)
            };
            let _ = out.write_all(text.as_bytes());
            EXIT_OK
        }
        Err(e) => {
            if args.json {
                if let Ok(v) = serde_json::to_value(&e) {
                    let _ = out.write_all(render::json(&v).as_bytes());
                }
            }
            print_error(err, &e);
            EXIT_ERROR
        }
    }
}

/// The `routelet ctl` entry point for `main`.
pub fn run(args: CtlArgs) -> ExitCode {
    let code = execute(&args, &mut io::stdout().lock(), &mut io::stderr().lock());
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        ctl: CtlArgs,
    }

    fn parse(args: &[&str]) -> Result<CtlArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("ctl").chain(args.iter().copied())).map(|c| c.ctl)
    }

    fn route_request(args: &[&str]) -> Result<Request, u8> {
        let a = parse(args).unwrap();
        build_request(&a.command, &mut Vec::new())
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn needs_exactly_one_target() {
        assert!(parse(&["status"]).is_err());
        assert!(parse(&["--socket", "/a", "--config", "/b", "status"]).is_err());
        let a = parse(&["--socket", "/run/x.sock", "--json", "show", "routes"]).unwrap();
        assert!(a.json);
        assert!(matches!(
            a.command,
            CtlCommand::Show {
                what: ShowWhat::Routes
            }
        ));
        assert!(parse(&["--socket", "/a", "show", "everything"]).is_err());
    }

    #[test]
    fn route_add_forms() {
        let want = Request::Route(RouteRequest::Add {
            destination: "2001:db8:beef::/48".parse().unwrap(),
            nexthop: "2001:db8:cafe:17::1".parse().unwrap(),
            dev: None,
        });
        let base = ["--socket", "/s", "route", "add", "2001:db8:beef::/48"];
        let with = |tail: &[&str]| {
            let mut v = base.to_vec();
            v.extend_from_slice(tail);
            route_request(&v)
        };
        assert_eq!(with(&["2001:db8:cafe:17::1"]).unwrap(), want);
        assert_eq!(with(&["via", "2001:db8:cafe:17::1"]).unwrap(), want);
        let with_dev = Request::Route(RouteRequest::Add {
            destination: "2001:db8:beef::/48".parse().unwrap(),
            nexthop: "fe80::1".parse().unwrap(),
            dev: Some("qg0".into()),
        });
        assert_eq!(with(&["via", "fe80::1", "dev", "qg0"]).unwrap(), with_dev);
        assert_eq!(with(&["dev", "qg0", "fe80::1"]).unwrap(), with_dev);
        assert_eq!(with(&["via"]), Err(EXIT_UNREACHABLE));
        assert_eq!(with(&["dev", "qg0"]), Err(EXIT_UNREACHABLE));
        assert_eq!(with(&["fe80::1", "fe80::2"]), Err(EXIT_UNREACHABLE));
        assert_eq!(with(&["via", "nowhere"]), Err(EXIT_UNREACHABLE));
    }

    #[test]
    fn route_destination_forms() {
        let r = route_request(&["--socket", "/s", "route", "del", "2001:db8::5"]).unwrap();
        assert_eq!(
            r,
            Request::Route(RouteRequest::Del {
                destination: "2001:db8::5/128".parse().unwrap()
            })
        );
        assert!(parse(&["--socket", "/s", "route", "del", "bogus"]).is_err());
    }

    #[test]
    fn default_socket() {
        assert_eq!(
            default_socket_path("r1"),
            PathBuf::from("/run/routelet/r1.sock")
        );
    }

    #[test]
    fn error_lines_are_indented_and_escaped() {
        let mut err = Vec::new();
        print_error(
            &mut err,
            &ControlError::invalid_config("subnet \"a\": x\nroute ::/0: y\u{1b}"),
        );
        assert_eq!(
            String::from_utf8(err).unwrap(),
            "routelet ctl: invalid_config: subnet \"a\": x\n  route ::/0: y\\u{1b}\n"
        );
    }
}
