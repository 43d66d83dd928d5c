#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the tests: a fresh data folder, loopback only, a free port,
# run as the `postgres` user when we are root (initdb refuses root). Prints the lines to eval:
#   eval "$(scripts/test-postgres.sh)"   # sets DLMS_TEST_PG and DLMS_TEST_PG_STOP
# Stop it with: eval "$DLMS_TEST_PG_STOP"
set -euo pipefail
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  echo "error: PostgreSQL server not installed (apt-get install -y postgresql)" >&2
  exit 1
fi
DIR="$(mktemp -d /tmp/dlms-pg.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
AS=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$DIR"
  AS=(runuser -u postgres --)
fi
"${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 >"$DIR/initdb.log" 2>&1 \
  || { cat "$DIR/initdb.log" >&2; exit 1; }
# fsync stays on: the store's durability is part of what the tests measure.
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -c port=$PORT -c unix_socket_directories=$DIR -c max_connections=300" \
  start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
echo "export DLMS_TEST_PG='postgres://postgres@127.0.0.1:$PORT/postgres'"
echo "export DLMS_TEST_PG_STOP='${AS[*]} $BIN/pg_ctl -D $DIR/data -m fast stop >/dev/null; rm -rf $DIR'"
