#!/usr/bin/env bash
# The README's first command: routelet doing its job.
# Until the live dataplane lands: validate the SLAAC example and replay the
# talk's SLAAC exchange (a real kernel's frames) through `routelet replay`,
# printing every frame the router answers, decoded.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release --quiet
bin=target/release/routelet

echo "== routelet check --config examples/slaac.toml"
"$bin" check --config examples/slaac.toml
echo
echo "== routelet replay: the kernel's SLAAC frames (testdata/pcap/slaac-client-qr0.pcap) in, routelet's answers out"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" replay --config examples/slaac.toml --in testdata/pcap/slaac-client-qr0.pcap \
    --iface qr0 --out "$out/answers.pcapng" --verbose
