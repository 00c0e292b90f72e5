#!/usr/bin/env bash
# Installs what routelet's build, tests, demos, the netns lab
# (scripts/netns-lab.sh) and its benchmark (scripts/bench-netns.sh) need on a
# fresh Debian machine with a Rust toolchain. Idempotent; quiet when all is
# there; installs only what is missing.
#
# Without root it can install nothing: a missing build tool is an error, a
# missing lab tool only a note (the lab needs root anyway, and runs this
# script itself as root before it starts).
set -euo pipefail

need_build=()
need_lab=()
have() { command -v "$1" >/dev/null 2>&1; }

# Build: a C compiler for crates with build scripts.
have cc || need_build+=(gcc)
# Lab and demos: network namespaces and veths (ip), the sink's counters and
# qdiscs (tc), offloads off on the veths (ethtool), sysctl.
{ have ip && have tc; } || need_lab+=(iproute2)
have ethtool || need_lab+=(ethtool)
have sysctl || need_lab+=(procps)
# Real clients in the VM: ping, tracepath (iputils), rdisc6 / ndisc6 /
# rltraceroute6 (ndisc6).
have ping || need_lab+=(iputils-ping)
have tracepath || need_lab+=(iputils-tracepath)
{ have rdisc6 && have ndisc6 && have rltraceroute6; } || need_lab+=(ndisc6)
# DHCPv6 clients in the VM (dhclient -6 / -S / -P, dhcpcd), upstream
# PD servers for the PD client (dibbler-server, kea-dhcp6), and perfdhcp
# for scripts/bench-dhcp.sh.
have dhclient || need_lab+=(isc-dhcp-client)
have dhcpcd || need_lab+=(dhcpcd-base)
have dibbler-server || need_lab+=(dibbler-server)
have kea-dhcp6 || need_lab+=(kea-dhcp6-server)
have perfdhcp || need_lab+=(kea-admin)
# Benchmark traffic generator.
have trafgen || need_lab+=(netsniff-ng)

need_apt=("${need_build[@]}" "${need_lab[@]}")
if ((${#need_apt[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        if ((${#need_build[@]})); then
            echo "install-deps: need root to install: ${need_apt[*]}" >&2
            exit 1
        fi
        echo "install-deps: note: the netns lab needs ${need_lab[*]} (installed when run as root)" >&2
    else
        echo "install-deps: installing ${need_apt[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # The DHCP servers' packages would start their services on the
        # host (the lab runs them in its namespaces): a policy-rc.d that
        # says "no" (exit 101) for the install, unless the machine has one.
        rcd=
        if [[ ! -e /usr/sbin/policy-rc.d ]]; then
            rcd=/usr/sbin/policy-rc.d
            printf '#!/bin/sh\nexit 101\n' >"$rcd"
            chmod 0755 "$rcd"
            trap 'rm -f -- "$rcd"' EXIT
        fi
        apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
        if [[ -n $rcd ]]; then
            rm -f -- "$rcd"
            trap - EXIT
        fi
    fi
fi

if ! have cargo; then
    echo "install-deps: cargo not found; install a Rust toolchain first" >&2
    exit 1
fi
