#!/usr/bin/env bash
# Starts, checks and stops Redis on 127.0.0.1:6379 for development and CI.
#
#   start  use the Redis already answering on 6379 if there is one; otherwise install Debian's
#          redis-server if it is missing (apt-get, as root) and start it daemonized, without
#          persistence, pid file and log under the cache folder
#   check  exit 0 if 127.0.0.1:6379 answers PING, 1 otherwise
#   stop   stop the Redis this script started (pid file); one it did not start is left alone
#
# Environment: SERVICES_CACHE (default <repo>/.cache).
set -euo pipefail
SERVICE=redis
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HOST=127.0.0.1
PORT=6379
HOME_DIR="$SERVICES_CACHE/redis"
PID_FILE="$HOME_DIR/redis.pid"
LOG_FILE="$HOME_DIR/redis.log"
READY_TIMEOUT=30

# PING over a raw socket with bash's /dev/tcp, so no client needs to be installed. The subshell
# keeps fd 3 and the silenced "connection refused" out of the calling shell.
ping_redis() {
  (
    exec 3<> "/dev/tcp/$HOST/$PORT" || exit 1
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3 || exit 1
    [ "${reply%$'\r'}" = "+PONG" ]
  ) 2> /dev/null
}

install_redis() {
  command -v apt-get > /dev/null || die "redis-server is not installed and apt-get is not available to install it"
  [ "$(id -u)" = 0 ] || die "redis-server is not installed; installing it needs root (apt-get install redis-server)"
  say "installing Debian's redis-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing or stale on a new machine: update once, then retry.
  if ! apt-get install -y -q --no-install-recommends redis-server > "$HOME_DIR/apt.log" 2>&1; then
    apt-get update -q >> "$HOME_DIR/apt.log" 2>&1 || true
    if ! apt-get install -y -q --no-install-recommends redis-server >> "$HOME_DIR/apt.log" 2>&1; then
      show_tail "$HOME_DIR/apt.log" 20
      die "apt-get could not install redis-server (full output: $HOME_DIR/apt.log)"
    fi
  fi
}

start() {
  if ping_redis; then
    say "already running on $HOST:$PORT"
    return 0
  fi
  mkdir -p "$HOME_DIR"
  local server
  server="$(command -v redis-server || true)"
  if [ -z "$server" ]; then
    install_redis
    server="$(command -v redis-server)" || die "redis-server is still not on PATH after apt-get install"
    # A package's post-install step may have started a server of its own.
    if ping_redis; then
      say "running on $HOST:$PORT (started by the package)"
      return 0
    fi
  fi
  rm -f "$LOG_FILE"
  say "starting $server on $HOST:$PORT; log: $LOG_FILE"
  if ! "$server" --daemonize yes --bind "$HOST" --port "$PORT" --save '' --appendonly no \
      --dir "$HOME_DIR" --pidfile "$PID_FILE" --logfile "$LOG_FILE" > "$HOME_DIR/start.err" 2>&1; then
    cat "$HOME_DIR/start.err" >&2
    die "redis-server refused to start"
  fi
  local started=$SECONDS
  until ping_redis; do
    if ((SECONDS - started >= READY_TIMEOUT)); then
      show_tail "$LOG_FILE" 20
      die "no PONG from $HOST:$PORT within ${READY_TIMEOUT}s"
    fi
    sleep 0.2
  done
  say "ready on $HOST:$PORT, pid $(cat "$PID_FILE" 2> /dev/null || echo '?')"
}

check() {
  if ping_redis; then
    say "up on $HOST:$PORT"
    return 0
  fi
  err "no PONG from $HOST:$PORT"
  return 1
}

stop() {
  stop_started "$(live_pid "$PID_FILE" redis-server)" 20 ping_redis "a Redis on $HOST:$PORT"
}

dispatch "$@"
