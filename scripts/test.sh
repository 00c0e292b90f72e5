#!/usr/bin/env bash
# The whole test suite: the README's second command, and what CI runs.
#   formatting, lints, unit + integration + replay tests, benches compile.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test"
cargo test --locked

step "benches build"
cargo bench --locked --no-run
