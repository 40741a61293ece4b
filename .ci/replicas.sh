#!/usr/bin/env bash
# Run a command beside two NN Lab servers behind HAProxy, both on one PostgreSQL database, e.g.
#   .ci/postgres.sh .ci/replicas.sh .venv/bin/python -m pytest tests/browser/test_replicas.py
# The database is NNLAB_DATABASE_URL, else the throwaway one of .ci/postgres.sh (NNLAB_TEST_POSTGRES_URL). Its
# schema is migrated once, before either server starts. Servers "a" and "b" and the proxy listen on 127.0.0.1 at
# free ports; HAProxy comes from Debian's package, checked with `haproxy -c`, started as a daemon with a pid file
# (never the Debian service) and killed by that pid. Everything is stopped and removed when the command ends.
# The command sees NNLAB_TEST_PROXY_URL (HAProxy's address) and NNLAB_TEST_REPLICAS (a folder holding
# a.pid, b.pid, a.port, b.port, haproxy.pid, haproxy.cfg and the servers' logs).
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
cd "$(dirname "$0")/.."

DB_URL="${NNLAB_DATABASE_URL:-${NNLAB_TEST_POSTGRES_URL:-}}"
[ -n "$DB_URL" ] || { echo "no database: set NNLAB_DATABASE_URL, or run under .ci/postgres.sh" >&2; exit 1; }
HAPROXY="$(command -v haproxy || command -v /usr/sbin/haproxy || true)"  # /usr/sbin: not on a user's PATH
[ -n "$HAPROXY" ] || { echo "HAProxy is not installed: apt-get install haproxy (or let .ci/run do it)" >&2; exit 1; }
PYTHON=python3
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python

DIR="$(mktemp -d "${TMPDIR:-/tmp}/nnlab-replicas.XXXXXX")"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stop_pid() {  # TERM (the run writer flushes on it), then KILL after 10 s
  local pid="$1"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  [ -s "$DIR/haproxy.pid" ] && stop_pid "$(cat "$DIR/haproxy.pid")"
  for name in a b; do [ -s "$DIR/$name.pid" ] && stop_pid "$(cat "$DIR/$name.pid")"; done
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
wait_healthy() {  # URL SECONDS [LOG]
  for _ in $(seq $(( $2 * 4 ))); do
    curl -fsS -o /dev/null --max-time 2 "$1/_stcore/health" 2>/dev/null && return 0
    sleep 0.25
  done
  echo "not healthy after $2 s: $1" >&2
  [ -z "${3:-}" ] || tail -n 30 "$3" >&2
  return 1
}

PROXY_PORT="$(free_port)"
PROXY_URL="http://127.0.0.1:$PROXY_PORT"
started=$(date +%s.%N)
NNLAB_DATABASE_URL="$DB_URL" "$PYTHON" -m core db upgrade >&2

for name in a b; do
  port="$(free_port)"
  echo "$port" > "$DIR/$name.port"
  mkdir -p "$DIR/$name-state"
  # The app's own settings for serving behind a proxy; the rest as `make run` starts it.
  NNLAB_DATABASE_URL="$DB_URL" NNLAB_PUBLIC_URL="$PROXY_URL/" NNLAB_STATE_DIR="$DIR/$name-state" PYTHONUNBUFFERED=1 \
    "$PYTHON" -m streamlit run app.py --server.headless true --server.address 127.0.0.1 --server.port "$port" \
    </dev/null >"$DIR/$name.log" 2>&1 &
  echo $! > "$DIR/$name.pid"
done

cat > "$DIR/haproxy.cfg" <<EOF
global
    maxconn 512

defaults
    mode http
    option forwardfor           # uvicorn trusts X-Forwarded-For from 127.0.0.1: st.context.ip_address is the client's
    option redispatch           # a browser pinned to a stopped server goes to a live one
    retries 2
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h           # Streamlit's WebSocket stays open for the whole visit

frontend nnlab
    bind 127.0.0.1:$PROXY_PORT
    default_backend app_servers

backend app_servers
    balance roundrobin
    cookie SERVERID insert indirect nocache
    option httpchk GET /_stcore/health
    default-server inter 1s fall 2 rise 2
    server a 127.0.0.1:$(cat "$DIR/a.port") check cookie a
    server b 127.0.0.1:$(cat "$DIR/b.port") check cookie b
EOF
"$HAPROXY" -c -q -f "$DIR/haproxy.cfg" >&2

for name in a b; do wait_healthy "http://127.0.0.1:$(cat "$DIR/$name.port")" 120 "$DIR/$name.log"; done
"$HAPROXY" -f "$DIR/haproxy.cfg" -D -p "$DIR/haproxy.pid"
wait_healthy "$PROXY_URL" 30
echo "HAProxy $("$HAPROXY" -v | awk 'NR == 1 {print $3}') on $PROXY_URL before servers a and b" \
  "(ready in $(python3 -c "import time; print(f'{time.time() - $started:.1f}')") s; stopped on exit)" >&2

export NNLAB_TEST_PROXY_URL="$PROXY_URL" NNLAB_TEST_REPLICAS="$DIR"
"$@"
