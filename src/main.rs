//! `routelet`: the command line of DESIGN.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use routelet::config::{Config, LoadError, Position};
use routelet::control::client::CtlArgs;
use routelet::replay::{self, ReplayOptions};
use routelet::runtime::{self, RunOptions};

#[derive(Parser)]
#[command(
    name = "routelet",
    version,
    about = "A userspace virtual router dataplane for IPv6-first clouds"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the router: own the config's interfaces, answer and forward.
    Run {
        #[arg(long)]
        config: PathBuf,
        /// Worker threads (default: the config's, else one per core).
        #[arg(long)]
        workers: Option<usize>,
        /// Lease journal and server DUID (default /var/lib/routelet/<name>).
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Talk to a running router over its control socket.
    Ctl(CtlArgs),
    /// Validate a config: print a summary and exit 0, or every error and exit 1.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run a capture through the router offline and write what it emits.
    Replay {
        #[arg(long)]
        config: PathBuf,
        /// pcap or pcapng input.
        #[arg(long = "in")]
        input: PathBuf,
        /// Ingress interface for frames the capture does not attribute.
        #[arg(long)]
        iface: String,
        /// pcapng output: one interface block per router interface.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print every emitted frame, decoded.
        #[arg(short, long)]
        verbose: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            config,
            workers,
            state_dir,
        } => {
            init_logging();
            let opts = RunOptions {
                config,
                workers,
                state_dir,
            };
            match runtime::run(&opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!("routelet run: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Ctl(args) => routelet::control::client::run(args),
        Command::Check { config } => check(&config),
        Command::Replay {
            config,
            input,
            iface,
            out,
            verbose,
        } => {
            let opts = ReplayOptions {
                config,
                input,
                iface,
                output: out,
            };
            match replay::run(&opts) {
                Ok(report) => {
                    if verbose {
                        for e in &report.emitted {
                            println!(
                                "{:.6} {} > {}",
                                e.at.as_secs_f64(),
                                e.iface,
                                routelet::decode::describe(&e.data)
                            );
                        }
                    }
                    print!("{}", report.counters_text());
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("routelet replay: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// `routelet check`: the summary on success; else every error on its own
/// line as `FILE:LINE:COL: message` (`FILE: message` when it has no place),
/// after a count, and exit 1.
fn check(path: &std::path::Path) -> ExitCode {
    let at = |position: Option<Position>| match position {
        Some(p) => format!("{}:{p}", path.display()),
        None => path.display().to_string(),
    };
    match Config::load(path) {
        Ok(config) => {
            println!("{}: ok", path.display());
            println!("{}", config.summary());
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid(errors)) => {
            eprintln!("{}: {} error(s)", path.display(), errors.len());
            for e in &errors {
                eprintln!("{}: {e}", at(e.position()));
            }
            ExitCode::FAILURE
        }
        Err(LoadError::Syntax(errors)) => {
            eprintln!("{}: {} error(s)", path.display(), errors.errors().len());
            for e in errors.errors() {
                eprintln!("{}: {}", at(e.position), e.message);
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
