//! `routelet`: the command line of DESIGN.md.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use routelet::config::{Config, LoadError};
use routelet::replay::{self, ReplayOptions};

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

fn check(path: &std::path::Path) -> ExitCode {
    match Config::load(path) {
        Ok(config) => {
            println!("{}: ok", path.display());
            println!("{}", config.summary());
            ExitCode::SUCCESS
        }
        Err(LoadError::Invalid(errors)) => {
            eprintln!("{}: {} error(s)", path.display(), errors.len());
            for e in &errors {
                eprintln!("  {e}");
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}
