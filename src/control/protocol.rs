//! The control protocol's messages: one JSON object per line each way.
//!
//! Contract (DESIGN.md "Control protocol"):
//! - A request is one line holding one JSON object with a `"cmd"` member:
//!   `{"cmd":"status"}`, `{"cmd":"show","what":"routes"}`,
//!   `{"cmd":"apply","config":"<whole TOML text>"}` or
//!   `{"cmd":"apply","path":"/abs/router.toml"}` (the router reads the file
//!   itself, so a config larger than the request line limit still applies),
//!   `{"cmd":"route","op":"add","destination":"2001:db8:beef::/48","nexthop":"2001:db8:cafe:17::1","dev":"qg0"}`
//!   (`dev` optional), `{"cmd":"route","op":"del","destination":"2001:db8:beef::/48"}`.
//! - The reply is one line: `{"ok":true,"data":...}` or
//!   `{"ok":false,"error":{"code":"bad_request","message":"..."}}`, the
//!   codes being [`ErrorCode`]'s. A server that cannot serve a connection
//!   (`busy`) or a request line (`too_large`) sends that one error line and
//!   closes the connection; `permission_denied` answers a changing request
//!   from a peer that may only read, and the connection goes on.
//! - [`Request::from_line`] takes any bytes and never panics: not UTF-8,
//!   not JSON, not an object, a missing or unknown `cmd`, an unknown or
//!   missing member, a destination with host bits or a next hop of the other
//!   family all become a [`ControlError`] to send back. Messages that echo
//!   input are cut to [`MAX_ECHO`] characters so that a 1 MiB request cannot
//!   produce a 1 MiB error.

use std::net::IpAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::LoadError;
use crate::route::RibError;

/// At most this many characters of client input are quoted back in an
/// error message.
pub const MAX_ECHO: usize = 200;

/// Largest config file `{"cmd":"apply","path":...}` reads: the config
/// layer's own limit (`config::MAX_CONFIG_BYTES`, 4 MiB), far above any
/// real router's config, low enough that a request naming a huge file
/// cannot make the router allocate without bound.
pub const MAX_APPLY_FILE: u64 = crate::config::MAX_CONFIG_BYTES as u64;

/// Why a request failed; the wire spelling is [`ErrorCode::as_str`].
///
/// Each variant's doc comment says what the message that comes with it
/// explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The config given to `apply` does not parse or breaks a validation
    /// rule; the message lists every error, one per line, and nothing was
    /// changed.
    InvalidConfig,
    /// The request is not a valid request: not UTF-8, not JSON, a missing
    /// or unknown member, a value of the wrong type or out of range, or a
    /// route the router cannot take; the message says which.
    BadRequest,
    /// `cmd` names no command this router knows; the message lists the
    /// known ones.
    UnknownCommand,
    /// The request line is longer than the server's limit; the message
    /// gives the limit, and the server closes the connection.
    TooLarge,
    /// The command is known but not available in this build (for instance
    /// `show leases` before the DHCPv6 server exists); the message says why.
    NotSupported,
    /// The server already serves its maximum number of connections; the
    /// message gives the limit, and the connection is closed: retry later.
    Busy,
    /// The router failed while carrying out a valid request; the message
    /// describes the failure. The router keeps running.
    Internal,
    /// The peer may read but not change the router: changing commands
    /// (`apply`, `route`) need root or the control socket's owner or group
    /// (checked with the peer's kernel credentials, SO_PEERCRED).
    PermissionDenied,
}

impl ErrorCode {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::UnknownCommand => "unknown_command",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::NotSupported => "not_supported",
            ErrorCode::Busy => "busy",
            ErrorCode::Internal => "internal",
            ErrorCode::PermissionDenied => "permission_denied",
        }
    }
}

impl core::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed request: what goes in the reply's `error` member.
///
/// `Display` is the message alone; the code travels beside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
#[serde(deny_unknown_fields)]
pub struct ControlError {
    pub code: ErrorCode,
    pub message: String,
}

impl ControlError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ControlError {
            code,
            message: message.into(),
        }
    }

    /// [`ErrorCode::BadRequest`].
    pub fn bad_request(message: impl Into<String>) -> Self {
        ControlError::new(ErrorCode::BadRequest, message)
    }

    /// [`ErrorCode::InvalidConfig`].
    pub fn invalid_config(message: impl Into<String>) -> Self {
        ControlError::new(ErrorCode::InvalidConfig, message)
    }

    /// [`ErrorCode::NotSupported`].
    pub fn not_supported(message: impl Into<String>) -> Self {
        ControlError::new(ErrorCode::NotSupported, message)
    }

    /// [`ErrorCode::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        ControlError::new(ErrorCode::Internal, message)
    }
}

impl From<LoadError> for ControlError {
    /// A config `apply` could not take: syntax and validation errors are
    /// the sender's (`invalid_config`, every error on its own line); an I/O
    /// error is the router's (`internal`).
    fn from(e: LoadError) -> Self {
        match e {
            LoadError::Syntax(_) | LoadError::Invalid(_) => {
                ControlError::invalid_config(e.to_string())
            }
            LoadError::Io { .. } => ControlError::internal(e.to_string()),
        }
    }
}

impl From<RibError> for ControlError {
    /// A route the RIB refuses is a bad request.
    fn from(e: RibError) -> Self {
        ControlError::bad_request(e.to_string())
    }
}

impl From<serde_json::Error> for ControlError {
    /// The backend failed to serialize its own state.
    fn from(e: serde_json::Error) -> Self {
        ControlError::internal(format!("cannot encode the reply: {e}"))
    }
}

/// What `show` lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ShowWhat {
    /// Router interfaces: MAC, MTU, addresses, whether they send RAs.
    Interfaces,
    /// Subnets with their effective RA flags, DHCPv6 service, pools, DNS.
    Subnets,
    /// The RIB: every route, which one is selected, which do not resolve.
    Routes,
    /// The neighbor caches (ND and ARP), like `ip neigh`.
    Neighbors,
    /// DHCPv6 leases and delegated prefixes.
    Leases,
    /// Security-group flows (not available yet).
    Flows,
    /// Per-interface counters and drops by reason.
    Stats,
    /// The running config.
    Config,
}

impl ShowWhat {
    /// Every value, in the order of DESIGN.md's command line.
    pub const ALL: [ShowWhat; 8] = [
        ShowWhat::Interfaces,
        ShowWhat::Subnets,
        ShowWhat::Routes,
        ShowWhat::Neighbors,
        ShowWhat::Leases,
        ShowWhat::Flows,
        ShowWhat::Stats,
        ShowWhat::Config,
    ];

    /// The wire and command-line spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            ShowWhat::Interfaces => "interfaces",
            ShowWhat::Subnets => "subnets",
            ShowWhat::Routes => "routes",
            ShowWhat::Neighbors => "neighbors",
            ShowWhat::Leases => "leases",
            ShowWhat::Flows => "flows",
            ShowWhat::Stats => "stats",
            ShowWhat::Config => "config",
        }
    }

    /// Why the server answers `not_supported` without asking the backend,
    /// or `None` when the backend is asked. Leases come with the DHCPv6
    /// server and flows with security groups: whoever lands them removes
    /// the line here.
    pub const fn unsupported_reason(self) -> Option<&'static str> {
        match self {
            ShowWhat::Flows => Some(
                "show flows is not supported yet: this routelet has no security groups (they come in a later release)",
            ),
            _ => None,
        }
    }
}

impl core::fmt::Display for ShowWhat {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `{"cmd":"route", "op": ...}`: a runtime route change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum RouteRequest {
    /// Add (or replace) the runtime route to `destination`.
    Add {
        destination: IpNet,
        nexthop: IpAddr,
        /// The egress interface; needed when the next hop is link-local.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dev: Option<String>,
    },
    /// Remove the runtime route to `destination`.
    Del { destination: IpNet },
}

/// `{"cmd":"lease", "op": ...}`: a change to the DHCPv6 leases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum LeaseRequest {
    /// Revoke the lease of `address`: a leased address (a bare address or
    /// a /128), or a delegated prefix (the prefix, or any address in it).
    Release { address: IpNet },
}

/// One request line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "lowercase", deny_unknown_fields)]
pub enum Request {
    /// The router's identity and health: [`super::model::Status`].
    Status,
    /// One of the tables.
    Show { what: ShowWhat },
    /// Validate a whole config and swap it in, or change nothing. Exactly
    /// one of `config` (the TOML text, inline) and `path` (an absolute path
    /// the router reads itself, at most [`MAX_APPLY_FILE`] bytes) is given.
    Apply {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        config: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<PathBuf>,
    },
    /// Add or delete a runtime route.
    Route(RouteRequest),
    /// Revoke a DHCPv6 lease.
    Lease(LeaseRequest),
}

/// The commands [`Request`] knows, as `cmd` spells them.
pub const COMMANDS: [&str; 5] = ["status", "show", "apply", "route", "lease"];

impl Request {
    /// Parses one request line (without its newline). Never panics; every
    /// failure is the error to send back.
    pub fn from_line(line: &[u8]) -> Result<Request, ControlError> {
        let text = std::str::from_utf8(line)
            .map_err(|_| ControlError::bad_request("request is not UTF-8"))?;
        if text.trim().is_empty() {
            return Err(ControlError::bad_request(
                "empty request: send one JSON object per line, e.g. {\"cmd\":\"status\"}",
            ));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| ControlError::bad_request(clip(&format!("request is not JSON: {e}"))))?;
        let Value::Object(map) = &value else {
            return Err(ControlError::bad_request("request must be a JSON object"));
        };
        match map.get("cmd") {
            None => return Err(ControlError::bad_request("request has no \"cmd\" member")),
            Some(Value::String(cmd)) if !COMMANDS.contains(&cmd.as_str()) => {
                return Err(ControlError::new(
                    ErrorCode::UnknownCommand,
                    format!(
                        "unknown command {}; known: {}",
                        clip(&format!("{cmd:?}")),
                        COMMANDS.join(", ")
                    ),
                ));
            }
            // serde lets a unit variant of an internally tagged enum ignore
            // extra members despite `deny_unknown_fields`: check by hand.
            Some(Value::String(cmd)) if cmd == "status" => {
                if let Some(key) = map.keys().find(|k| *k != "cmd") {
                    return Err(ControlError::bad_request(clip(&format!(
                        "bad request: unknown field {key:?}: status takes no arguments"
                    ))));
                }
            }
            Some(Value::String(_)) => {}
            Some(_) => return Err(ControlError::bad_request("\"cmd\" must be a string")),
        }
        let request: Request = serde_json::from_value(value)
            .map_err(|e| ControlError::bad_request(clip(&format!("bad request: {e}"))))?;
        request.check()?;
        Ok(request)
    }

    /// The checks serde cannot express: a route's destination is a prefix
    /// (no host bits, as the config demands of `[[route]]`) and its next hop
    /// is of the same family; an interface name fits Linux's IFNAMSIZ.
    fn check(&self) -> Result<(), ControlError> {
        if let Request::Apply { config, path } = self {
            return match (config, path) {
                (Some(_), None) => Ok(()),
                (None, Some(path)) if path.is_absolute() => Ok(()),
                (None, Some(path)) => Err(ControlError::bad_request(clip(&format!(
                    "apply path {:?} is not absolute (the router resolves it, not the client)",
                    path.display().to_string()
                )))),
                (Some(_), Some(_)) => Err(ControlError::bad_request(
                    "apply takes either \"config\" (the TOML text) or \"path\" (a file the router reads), not both",
                )),
                (None, None) => Err(ControlError::bad_request(
                    "apply needs \"config\" (the TOML text) or \"path\" (a file the router reads)",
                )),
            };
        }
        if let Request::Lease(LeaseRequest::Release { address }) = self {
            if address.addr().is_ipv4() {
                return Err(ControlError::bad_request(format!(
                    "{address} is not IPv6: DHCPv6 leases are IPv6 addresses or prefixes"
                )));
            }
            return Ok(());
        }
        let Request::Route(route) = self else {
            return Ok(());
        };
        let destination = match route {
            RouteRequest::Add { destination, .. } | RouteRequest::Del { destination } => {
                *destination
            }
        };
        if destination.trunc() != destination {
            return Err(ControlError::bad_request(format!(
                "destination {destination} has host bits set; did you mean {}?",
                destination.trunc()
            )));
        }
        if let RouteRequest::Add { nexthop, dev, .. } = route {
            if nexthop.is_ipv4() != destination.addr().is_ipv4() {
                return Err(ControlError::bad_request(format!(
                    "next hop {nexthop} is not of the same family as {destination}"
                )));
            }
            if let Some(dev) = dev {
                // IFNAMSIZ is 16 with the terminating NUL.
                if dev.is_empty() || dev.len() > 15 {
                    return Err(ControlError::bad_request(format!(
                        "dev {} is not an interface name (1 to 15 bytes)",
                        clip(&format!("{dev:?}"))
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether the request changes the router (`apply`, `route`); the
    /// server runs these one at a time.
    pub fn is_mutation(&self) -> bool {
        matches!(
            self,
            Request::Apply { .. } | Request::Route(_) | Request::Lease(_)
        )
    }

    /// The request as one line of JSON, without the newline.
    pub fn to_line(&self) -> String {
        // Serializing these types cannot fail (string keys, no maps with
        // non-string keys, no floats); fall back to an empty object rather
        // than panic, which the server answers with an error.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

/// One reply line.
///
/// On the wire `{"ok":true,"data":...}` or `{"ok":false,"error":{...}}`;
/// here the natural `Result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "RawResponse", try_from = "RawResponse")]
pub struct Response(pub Result<Value, ControlError>);

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ControlError>,
}

/// [`RawResponse`] borrowing the reply, so that writing a reply never
/// copies its `data` (serde's `into` would clone the whole tree first).
#[derive(Serialize)]
struct RawResponseRef<'a> {
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ControlError>,
}

impl From<Response> for RawResponse {
    fn from(r: Response) -> Self {
        match r.0 {
            Ok(data) => RawResponse {
                ok: true,
                data: Some(data),
                error: None,
            },
            Err(error) => RawResponse {
                ok: false,
                data: None,
                error: Some(error),
            },
        }
    }
}

impl TryFrom<RawResponse> for Response {
    type Error = String;

    fn try_from(r: RawResponse) -> Result<Self, String> {
        match (r.ok, r.data, r.error) {
            (true, data, None) => Ok(Response(Ok(data.unwrap_or(Value::Null)))),
            (false, None, Some(error)) => Ok(Response(Err(error))),
            (true, _, Some(_)) => Err("reply has ok=true and an error".into()),
            (false, _, None) => Err("reply has ok=false and no error".into()),
            (false, Some(_), Some(_)) => Err("reply has ok=false and data".into()),
        }
    }
}

impl Response {
    /// A success reply.
    pub fn ok(data: Value) -> Self {
        Response(Ok(data))
    }

    /// An error reply.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Response(Err(ControlError::new(code, message)))
    }

    fn as_raw(&self) -> RawResponseRef<'_> {
        match &self.0 {
            Ok(data) => RawResponseRef {
                ok: true,
                data: Some(data),
                error: None,
            },
            Err(error) => RawResponseRef {
                ok: false,
                data: None,
                error: Some(error),
            },
        }
    }

    /// Writes the reply as one line of JSON, with its newline, straight
    /// into `out` (no intermediate string: the server streams large
    /// listings through a small buffer this way). An error means the line
    /// may be incomplete.
    pub fn write_line(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        serde_json::to_writer(&mut *out, &self.as_raw()).map_err(std::io::Error::from)?;
        out.write_all(b"\n")
    }

    /// The reply as one line of JSON, with its newline.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(&self.as_raw()).unwrap_or_else(|_| {
            // Only a backend `data` holding something JSON cannot encode
            // gets here (serde_json::Value always encodes; kept total).
            String::from(
                r#"{"ok":false,"error":{"code":"internal","message":"cannot encode the reply"}}"#,
            )
        });
        line.push('\n');
        line
    }

    /// Parses a reply line.
    pub fn from_line(line: &[u8]) -> Result<Response, String> {
        serde_json::from_slice(line).map_err(|e| clip(&format!("malformed reply: {e}")))
    }
}

/// `s` cut to [`MAX_ECHO`] characters, with an ellipsis when cut.
fn clip(s: &str) -> String {
    match s.char_indices().nth(MAX_ECHO) {
        None => s.to_string(),
        Some((at, _)) => {
            let mut out = s.get(..at).unwrap_or_default().to_string();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    fn err(line: &str) -> ControlError {
        Request::from_line(line.as_bytes()).unwrap_err()
    }

    #[test]
    fn parses_every_command() {
        assert_eq!(
            Request::from_line(br#"{"cmd":"status"}"#).unwrap(),
            Request::Status
        );
        for what in ShowWhat::ALL {
            let line = format!(r#"{{"cmd":"show","what":"{what}"}}"#);
            assert_eq!(
                Request::from_line(line.as_bytes()).unwrap(),
                Request::Show { what }
            );
        }
        assert_eq!(
            Request::from_line(br#"{"cmd":"apply","config":"[router]\nname = \"r1\"\n"}"#).unwrap(),
            Request::Apply {
                config: Some("[router]\nname = \"r1\"\n".into()),
                path: None,
            }
        );
        assert_eq!(
            Request::from_line(br#"{"cmd":"apply","path":"/etc/routelet/r1.toml"}"#).unwrap(),
            Request::Apply {
                config: None,
                path: Some("/etc/routelet/r1.toml".into()),
            }
        );
        assert_eq!(
            Request::from_line(
                br#"{"cmd":"route","op":"add","destination":"2001:db8:beef::/48","nexthop":"2001:db8:cafe:17::1","dev":"qg0"}"#
            )
            .unwrap(),
            Request::Route(RouteRequest::Add {
                destination: "2001:db8:beef::/48".parse().unwrap(),
                nexthop: "2001:db8:cafe:17::1".parse().unwrap(),
                dev: Some("qg0".into()),
            })
        );
        assert_eq!(
            Request::from_line(
                br#"{"cmd":"route","op":"add","destination":"203.0.113.0/24","nexthop":"198.51.100.7"}"#
            )
            .unwrap(),
            Request::Route(RouteRequest::Add {
                destination: "203.0.113.0/24".parse().unwrap(),
                nexthop: "198.51.100.7".parse().unwrap(),
                dev: None,
            })
        );
        assert_eq!(
            Request::from_line(br#"{"cmd":"route","op":"del","destination":"2001:db8:beef::/48"}"#)
                .unwrap(),
            Request::Route(RouteRequest::Del {
                destination: "2001:db8:beef::/48".parse().unwrap()
            })
        );
    }

    #[test]
    fn request_round_trip() {
        let requests = [
            Request::Status,
            Request::Show {
                what: ShowWhat::Neighbors,
            },
            Request::Apply {
                config: Some("x\ny\"".into()),
                path: None,
            },
            Request::Apply {
                config: None,
                path: Some("/srv/r1.toml".into()),
            },
            Request::Route(RouteRequest::Add {
                destination: "2001:db8:beef::/48".parse().unwrap(),
                nexthop: "fe80::1".parse().unwrap(),
                dev: Some("qg0".into()),
            }),
            Request::Route(RouteRequest::Del {
                destination: "::/0".parse().unwrap(),
            }),
        ];
        for r in requests {
            let line = r.to_line();
            assert!(!line.contains('\n'), "{line}");
            assert_eq!(Request::from_line(line.as_bytes()).unwrap(), r);
        }
        assert_eq!(Request::Status.to_line(), r#"{"cmd":"status"}"#);
        assert_eq!(
            Request::Route(RouteRequest::Del {
                destination: "2001:db8:beef::/48".parse().unwrap(),
            })
            .to_line(),
            r#"{"cmd":"route","op":"del","destination":"2001:db8:beef::/48"}"#
        );
    }

    #[test]
    fn rejects_not_utf8() {
        let e = Request::from_line(b"{\"cmd\":\"st\xffatus\"}").unwrap_err();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert_eq!(e.message, "request is not UTF-8");
    }

    #[test]
    fn rejects_empty() {
        assert_eq!(err("  ").code, ErrorCode::BadRequest);
    }

    #[test]
    fn rejects_not_json() {
        let e = err("status please");
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.starts_with("request is not JSON"), "{e}");
    }

    #[test]
    fn rejects_not_object() {
        assert_eq!(
            err(r#"["status"]"#),
            ControlError::bad_request("request must be a JSON object")
        );
    }

    #[test]
    fn rejects_missing_cmd() {
        assert_eq!(
            err(r#"{"what":"routes"}"#),
            ControlError::bad_request("request has no \"cmd\" member")
        );
    }

    #[test]
    fn rejects_cmd_not_string() {
        assert_eq!(
            err(r#"{"cmd":7}"#),
            ControlError::bad_request("\"cmd\" must be a string")
        );
    }

    #[test]
    fn rejects_unknown_command() {
        let e = err(r#"{"cmd":"reboot"}"#);
        assert_eq!(e.code, ErrorCode::UnknownCommand);
        assert_eq!(
            e.message,
            "unknown command \"reboot\"; known: status, show, apply, route, lease"
        );
    }

    #[test]
    fn unknown_command_echo_is_clipped() {
        let long = "x".repeat(10_000);
        let e = err(&format!(r#"{{"cmd":"{long}"}}"#));
        assert_eq!(e.code, ErrorCode::UnknownCommand);
        assert!(e.message.chars().count() < MAX_ECHO + 60, "{}", e.message);
    }

    #[test]
    fn rejects_unknown_field() {
        let e = err(r#"{"cmd":"show","what":"routes","verbose":true}"#);
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("verbose"), "{e}");
        let e = err(r#"{"cmd":"status","x":1}"#);
        assert_eq!(e.code, ErrorCode::BadRequest, "{e}");
        let e = err(r#"{"cmd":"route","op":"del","destination":"::/0","nexthop":"::1"}"#);
        assert_eq!(e.code, ErrorCode::BadRequest, "{e}");
    }

    #[test]
    fn rejects_missing_field() {
        let e = err(r#"{"cmd":"show"}"#);
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("what"), "{e}");
    }

    #[test]
    fn rejects_unknown_show() {
        let e = err(r#"{"cmd":"show","what":"everything"}"#);
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("everything"), "{e}");
    }

    #[test]
    fn rejects_wrong_type() {
        assert_eq!(
            err(r#"{"cmd":"apply","config":42}"#).code,
            ErrorCode::BadRequest
        );
    }

    #[test]
    fn apply_needs_exactly_one_source() {
        for bad in [
            r#"{"cmd":"apply"}"#,
            r#"{"cmd":"apply","config":"x","path":"/a.toml"}"#,
            r#"{"cmd":"apply","path":"relative.toml"}"#,
            r#"{"cmd":"apply","path":7}"#,
        ] {
            assert_eq!(err(bad).code, ErrorCode::BadRequest, "{bad}");
        }
        assert!(err(r#"{"cmd":"apply","path":"r.toml"}"#)
            .message
            .contains("not absolute"));
    }

    #[test]
    fn write_line_matches_to_line() {
        for r in [
            Response::ok(serde_json::json!({"a": [1, "x"]})),
            Response::error(ErrorCode::Busy, "full"),
        ] {
            let mut out = Vec::new();
            r.write_line(&mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), r.to_line());
        }
    }

    #[test]
    fn lease_release_parses_addresses_and_prefixes() {
        let r = Request::from_line(
            br#"{"cmd":"lease","op":"release","address":"2001:db8:cafe::4/128"}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Request::Lease(LeaseRequest::Release {
                address: "2001:db8:cafe::4/128".parse().unwrap()
            })
        );
        assert!(r.is_mutation());
        assert_eq!(Request::from_line(r.to_line().as_bytes()).unwrap(), r);
        let r = Request::from_line(
            br#"{"cmd":"lease","op":"release","address":"2001:db8:face:1::/64"}"#,
        );
        assert!(r.is_ok());
        for bad in [
            r#"{"cmd":"lease","op":"release","address":"198.51.100.4/32"}"#,
            r#"{"cmd":"lease","op":"release","address":"not an address"}"#,
            r#"{"cmd":"lease","op":"release"}"#,
            r#"{"cmd":"lease","op":"grab","address":"2001:db8::1/128"}"#,
        ] {
            assert_eq!(
                Request::from_line(bad.as_bytes()).unwrap_err().code,
                ErrorCode::BadRequest,
                "{bad}"
            );
        }
    }

    #[test]
    fn rejects_unknown_route_op() {
        let e = err(r#"{"cmd":"route","op":"flush"}"#);
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.contains("flush"), "{e}");
    }

    #[test]
    fn rejects_bad_prefix() {
        let e = err(r#"{"cmd":"route","op":"del","destination":"2001:db8:beef::/129"}"#);
        assert_eq!(e.code, ErrorCode::BadRequest);
    }

    #[test]
    fn rejects_host_bits() {
        assert_eq!(
            err(r#"{"cmd":"route","op":"del","destination":"2001:db8:beef::1/48"}"#),
            ControlError::bad_request(
                "destination 2001:db8:beef::1/48 has host bits set; did you mean 2001:db8:beef::/48?"
            )
        );
    }

    #[test]
    fn rejects_family_mismatch() {
        assert_eq!(
            err(
                r#"{"cmd":"route","op":"add","destination":"2001:db8:beef::/48","nexthop":"198.51.100.1"}"#
            ),
            ControlError::bad_request(
                "next hop 198.51.100.1 is not of the same family as 2001:db8:beef::/48"
            )
        );
    }

    #[test]
    fn rejects_bad_dev() {
        let e = err(
            r#"{"cmd":"route","op":"add","destination":"2001:db8:beef::/48","nexthop":"fe80::1","dev":"a-very-long-interface"}"#,
        );
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert!(e.message.starts_with("dev \"a-very"), "{e}");
    }

    #[test]
    fn response_wire_forms() {
        let ok = Response::ok(serde_json::json!({"a": 1}));
        assert_eq!(ok.to_line(), "{\"ok\":true,\"data\":{\"a\":1}}\n");
        let e = Response::error(ErrorCode::InvalidConfig, "subnet \"v6-sub\": bad");
        assert_eq!(
            e.to_line(),
            "{\"ok\":false,\"error\":{\"code\":\"invalid_config\",\"message\":\"subnet \\\"v6-sub\\\": bad\"}}\n"
        );
        for r in [ok, e, Response::ok(Value::Null)] {
            assert_eq!(Response::from_line(r.to_line().as_bytes()).unwrap(), r);
        }
        assert_eq!(
            Response::from_line(br#"{"ok":true}"#).unwrap(),
            Response::ok(Value::Null)
        );
    }

    #[test]
    fn rejects_inconsistent_response() {
        for bad in [
            r#"{"ok":false}"#,
            r#"{"ok":true,"error":{"code":"internal","message":"x"}}"#,
            r#"{"ok":false,"data":1,"error":{"code":"internal","message":"x"}}"#,
            r#"{"ok":false,"error":{"code":"nope","message":"x"}}"#,
            r#"[1]"#,
        ] {
            assert!(Response::from_line(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_conversions() {
        let e: ControlError = LoadError::Syntax("line 3".into()).into();
        assert_eq!(e.code, ErrorCode::InvalidConfig);
        let e: ControlError = RibError::BadGateway("ff02::1".parse().unwrap()).into();
        assert_eq!(e.code, ErrorCode::BadRequest);
        assert_eq!(e.message, "next hop ff02::1 is not a unicast address");
        for code in [
            ErrorCode::InvalidConfig,
            ErrorCode::BadRequest,
            ErrorCode::UnknownCommand,
            ErrorCode::TooLarge,
            ErrorCode::NotSupported,
            ErrorCode::Busy,
            ErrorCode::Internal,
            ErrorCode::PermissionDenied,
        ] {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
        }
    }

    #[test]
    fn clip_cuts_on_char_boundary() {
        let s = "é".repeat(MAX_ECHO + 5);
        let c = clip(&s);
        assert_eq!(c.chars().count(), MAX_ECHO + 1);
        assert!(c.ends_with('…'));
        assert_eq!(clip("short"), "short");
    }
}
