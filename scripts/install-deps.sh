#!/usr/bin/env bash
# Installs what routelet's build, tests and demos need on a fresh Debian
# machine with a Rust toolchain. Idempotent; quiet when all is there.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

# Build: a C compiler for crates with build scripts.
have cc || need_apt+=(gcc)
# Lab and demos (network namespaces, real clients, decoders).
have ip || need_apt+=(iproute2)

if ((${#need_apt[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "install-deps: need root to install: ${need_apt[*]}" >&2
        exit 1
    fi
    echo "install-deps: installing ${need_apt[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! have cargo; then
    echo "install-deps: cargo not found; install a Rust toolchain first" >&2
    exit 1
fi
