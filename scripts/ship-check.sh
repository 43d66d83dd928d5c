#!/usr/bin/env bash
# Builds the shipped binary (`cargo ship`: a static PIE) and proves it: linked without a
# loader, and it reads a meter — its own simulator — over loopback. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo ship
BIN=target/release/dlms-logger
if readelf -lW "$BIN" | grep -q INTERP; then
  echo "error: $BIN asks for a dynamic loader; cargo ship should link it statically" >&2
  exit 1
fi
readelf -hW "$BIN" | grep -q 'DYN (' || {
  echo "error: $BIN is not position-independent (no ASLR)" >&2
  exit 1
}
OUT="$(mktemp)"
"$BIN" simulate --port 0 >"$OUT" 2>/dev/null &
SIM=$!
trap 'kill $SIM 2>/dev/null; rm -f "$OUT"' EXIT
for _ in $(seq 100); do grep -q '^listening on' "$OUT" && break; sleep 0.05; done
PORT="$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$OUT" | head -n 1)"
[ -n "$PORT" ] || { echo "error: the simulator did not say where it listens" >&2; exit 1; }
# A host name, not an address: the static glibc's own resolver (/etc/hosts) must answer.
LINE="$("$BIN" read --host localhost --port "$PORT" 1.0.1.8.0.255)"
case "$LINE" in
  "1.0.1.8.0.255 "*" Wh") echo "shipped binary: static PIE, read: $LINE" ;;
  *) echo "error: the shipped binary's read printed: $LINE" >&2; exit 1 ;;
esac
