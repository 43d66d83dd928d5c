#!/usr/bin/env bash
# benches/peer.sh [--hdlc] [--count N]: GETs/s of our client vs the Gurux Python client, both
# against our simulator (`dlms-logger simulate`), one run each on this machine.
#
# Builds the release binaries, starts `target/release/dlms-logger simulate --port 0 [--hdlc]`,
# runs the Gurux `client.py --bench N` and our `examples/throughput --count N` against it, and
# prints both figures and the ratio ours / theirs. The Gurux peers are found via $DLMS_PEERS
# (default ../shared/peers, relative to the project root); their venv goes to target/peers-venv.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
HDLC=0
COUNT=10000
while [ $# -gt 0 ]; do
    case "$1" in
        --hdlc) HDLC=1 ;;
        --count) COUNT="${2:?--count needs a number}"; shift ;;
        --count=*) COUNT="${1#--count=}" ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "usage: benches/peer.sh [--hdlc] [--count N]" >&2; exit 2 ;;
    esac
    shift
done
case "$COUNT" in ''|*[!0-9]*) echo "--count must be a number" >&2; exit 2 ;; esac

PEERS="$(cd "${DLMS_PEERS:-$ROOT/../shared/peers}" && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

cargo build --release --quiet --bin dlms-logger --example throughput
mkdir -p "$TARGET"
PY="$("$PEERS/setup.sh" "$TARGET/peers-venv" | tail -1)"

# The issue's profile: 10,000 entries, read whole by both clients. The simulator parks at
# once (`--busy-poll-us 0`): it polls only for a client that keeps pace within 50 µs, which
# ours does and the Gurux one does not, so with polling the two would not meet the same meter.
SIM_ARGS=(simulate --port 0 --profile-entries 10000 --busy-poll-us 0)
IFACE=wrapper
if [ "$HDLC" = 1 ]; then
    SIM_ARGS+=(--hdlc)
    IFACE=hdlc
fi

TMP="$(mktemp -d)"
SIM_PID=
cleanup() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

"$TARGET/release/dlms-logger" "${SIM_ARGS[@]}" >"$TMP/sim.out" 2>"$TMP/sim.err" &
SIM_PID=$!
ADDR=
for _ in $(seq 1 100); do
    ADDR="$(sed -n 's/^listening on //p' "$TMP/sim.out" | head -1)"
    [ -n "$ADDR" ] && break
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$TMP/sim.err" >&2; echo "simulator exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$ADDR" ] || { echo "simulator did not print 'listening on ADDR'" >&2; exit 1; }
PORT="${ADDR##*:}"
HOST="${ADDR%:*}"
echo "simulator: $ADDR ($IFACE), count=$COUNT"

"$PY" "$PEERS/client.py" --host "$HOST" --port "$PORT" --interface "$IFACE" --bench "$COUNT" \
    >"$TMP/gurux.out" 2>"$TMP/gurux.err" || { cat "$TMP/gurux.out" "$TMP/gurux.err" >&2; exit 1; }
GURUX_LINE="$(grep '^bench reads=' "$TMP/gurux.out" || true)"
GURUX_PROFILE="$(grep '^bench profile_rows=' "$TMP/gurux.out" || true)"
[ -n "$GURUX_LINE" ] || { cat "$TMP/gurux.out" "$TMP/gurux.err" >&2; echo "no bench line from client.py" >&2; exit 1; }
THEIRS="$(sed -n 's/.*reads_per_s=\([0-9.]*\).*/\1/p' <<<"$GURUX_LINE")"

OURS_IFACE=()
[ "$IFACE" = hdlc ] && OURS_IFACE=(--hdlc)
"$TARGET/release/examples/throughput" --simulator none "${OURS_IFACE[@]}" --count "$COUNT" \
    --rounds 1 --host "$HOST" --port "$PORT" >"$TMP/ours.out" 2>"$TMP/ours.err" \
    || { cat "$TMP/ours.out" "$TMP/ours.err" >&2; exit 1; }
OURS_LINE="$(grep '^GET: ' "$TMP/ours.out")"
OURS_PROFILE="$(grep '^profile: ' "$TMP/ours.out" || true)"
OURS="$(sed -n 's/^GET: \([0-9.]*\) reads\/s.*/\1/p' <<<"$OURS_LINE")"

echo "gurux client.py: $GURUX_LINE"
echo "gurux client.py: $GURUX_PROFILE"
echo "ours (throughput): $OURS_LINE"
echo "ours (throughput): $OURS_PROFILE"
awk -v o="$OURS" -v t="$THEIRS" 'BEGIN { printf "GET/s ours %.0f / gurux %.0f = %.1fx\n", o, t, o / t }'
THEIR_MS="$(sed -n 's/.*profile_read_s=\([0-9.]*\).*/\1/p' <<<"$GURUX_PROFILE")"
OUR_MS="$(sed -n 's/^profile: [0-9]* entries in \([0-9.]*\) ms.*/\1/p' <<<"$OURS_PROFILE")"
if [ -n "$THEIR_MS" ] && [ -n "$OUR_MS" ]; then
    awk -v o="$OUR_MS" -v t="$THEIR_MS" \
        'BEGIN { printf "profile time gurux %.1f ms / ours %.1f ms = %.1fx\n", t * 1000, o, t * 1000 / o }'
fi
