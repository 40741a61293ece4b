#!/usr/bin/env bash
# Run a command beside a throwaway PostgreSQL server, e.g.
#   .ci/postgres.sh .venv/bin/python -m pytest tests/test_board.py
# The cluster lives in a temporary folder, listens only on 127.0.0.1 at a free port, and is stopped and
# deleted when the command ends. The command sees NNLAB_TEST_POSTGRES_URL (database nnlab_test).
# PostgreSQL refuses to run as root, so under root the cluster runs as the `postgres` user that Debian's
# package creates (or `nnlab-pg`, created here when that user is missing).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$PG_BIN" ]; then
  echo "PostgreSQL is not installed: apt-get install postgresql (or let .ci/run do it)" >&2
  exit 1
fi

AS=()
if [ "$(id -u)" -eq 0 ]; then
  PG_USER=postgres
  if ! id "$PG_USER" >/dev/null 2>&1; then
    PG_USER=nnlab-pg
    id "$PG_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
  fi
  AS=(runuser -u "$PG_USER" --)
fi

PG_DIR="$(mktemp -d "${TMPDIR:-/tmp}/nnlab-pg.XXXXXX")"
[ ${#AS[@]} -eq 0 ] || chown "$PG_USER" "$PG_DIR"
PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

stop_cluster() {
  "${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

# Trust on the loopback only: the server is private to this machine and lives for one command.
"${AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U nnlab --auth=trust --encoding=UTF8 --no-sync >/dev/null
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start \
  -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PG_DIR -c fsync=off -c synchronous_commit=off" >/dev/null \
  || { cat "$PG_DIR/server.log" >&2; exit 1; }
"${AS[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U nnlab nnlab_test

export NNLAB_TEST_POSTGRES_URL="postgresql://nnlab@127.0.0.1:$PG_PORT/nnlab_test"
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (stopped on exit)"
"$@"
