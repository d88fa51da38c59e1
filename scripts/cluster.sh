#!/usr/bin/env bash
# Starts, lists or stops shards of the distributed mode against the local Redis and
# Cassandra (start them first: scripts/services/all.sh start). Each shard runs the built
# server (npm run build) with STORE=cassandra BUS=redis, its own data dir and log under
# .cache/cluster/, and a JWT secret every shard shares. A shard's log is appended to on
# every start (behind a `----- start <time> -----` line), never truncated.
#
#   scripts/cluster.sh start [N=3] [BASE_PORT=8081]   N shards on consecutive ports
#   scripts/cluster.sh start --ports 8081,8090,9001   one shard per port, in that order
#   scripts/cluster.sh status
#   scripts/cluster.sh stop [shard-i ...]             every shard, or the ones named
#
# Each shard also serves MQTT on its port + 10000 (8081: 18081).
#
# shard-i keeps its number across restarts: start it again on the same port list (or N)
# and it reuses its data dir and log. Put a load balancer in front of the ports.
#
# Any other setting passes through the environment (e.g. CASSANDRA_KEYSPACE, REDIS_PREFIX);
# CLUSTER_DIR moves the pid files, data dirs and logs (default .cache/cluster).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${CLUSTER_DIR:-$root/.cache/cluster}"
action="${1:-}"

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Waits up to 60 s for shard-$1 on port $2 to answer /readyz; fails if it exits or never does.
wait_ready() {
  local t
  for ((t = 0; t < 300; t++)); do
    curl -fsS "http://127.0.0.1:$2/readyz" >/dev/null 2>&1 && return 0
    pid_alive "$dir/shard-$1.pid" || { echo "shard-$1 exited; last log lines:" >&2; tail -n 20 "$dir/shard-$1.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "shard-$1 not ready after 60 s (log $dir/shard-$1.log)" >&2
  exit 1
}

case "$action" in
  start)
    ports=()
    if [ "${2:-}" = "--ports" ]; then
      IFS=',' read -r -a ports <<< "${3:-}"
      [ "${#ports[@]}" -gt 0 ] || { echo "cluster: --ports needs a comma-separated list, e.g. 8081,8090" >&2; exit 2; }
    else
      n="${2:-3}"
      base="${3:-8081}"
      [[ "$n" =~ ^[1-9][0-9]*$ && "$base" =~ ^[1-9][0-9]*$ ]] || { echo "cluster: start [N] [BASE_PORT] takes numbers" >&2; exit 2; }
      for ((i = 0; i < n; i++)); do ports+=($((base + i))); done
    fi
    for port in "${ports[@]}"; do
      # No leading zero: bash arithmetic would read it as octal.
      [[ "$port" =~ ^[1-9][0-9]*$ ]] && ((port < 65536)) || { echo "cluster: not a port: $port" >&2; exit 2; }
    done
    [ -z "$(printf '%s\n' "${ports[@]}" | sort | uniq -d)" ] || { echo "cluster: a port is listed twice" >&2; exit 2; }
    n="${#ports[@]}"
    [ -f "$root/dist/main.js" ] || { echo "cluster: dist/main.js missing; run npm run build first" >&2; exit 1; }
    "$root/scripts/services/all.sh" check >/dev/null || { echo "cluster: Redis or Cassandra not answering; run scripts/services/all.sh start" >&2; exit 1; }
    mkdir -p "$dir"
    if [ -z "${JWT_SECRET:-}" ]; then
      [ -s "$dir/jwt-secret" ] || node -e "process.stdout.write(require('crypto').randomBytes(48).toString('base64url'))" > "$dir/jwt-secret"
      JWT_SECRET="$(cat "$dir/jwt-secret")"
    fi
    # One Web Push pair for every shard (the server refuses BUS=redis without one).
    if [ -z "${PUSH_VAPID_PUBLIC_KEY:-}" ] && [ -z "${PUSH_VAPID_PRIVATE_KEY:-}" ]; then
      if [ ! -s "$dir/vapid-keys" ]; then
        (cd "$root" && node -e "const k = require('web-push').generateVAPIDKeys(); console.log(k.publicKey + ' ' + k.privateKey)") > "$dir/vapid-keys"
        chmod 600 "$dir/vapid-keys"
      fi
      read -r PUSH_VAPID_PUBLIC_KEY PUSH_VAPID_PRIVATE_KEY < "$dir/vapid-keys" || true
    fi
    # The first shard to start alone creates the keyspace and tables (concurrent CREATEs on
    # a fresh keyspace can disagree); the others start once it is ready.
    started=0
    for ((i = 1; i <= n; i++)); do
      port="${ports[i - 1]}"
      pidfile="$dir/shard-$i.pid"
      if pid_alive "$pidfile"; then echo "shard-$i already running (pid $(cat "$pidfile"), port $(cat "$dir/shard-$i.port" 2>/dev/null || echo '?'))"; continue; fi
      mkdir -p "$dir/shard-$i"
      echo "----- start $(date -u +%Y-%m-%dT%H:%M:%SZ) port $port -----" >> "$dir/shard-$i.log"
      STORE=cassandra BUS=redis JWT_SECRET="$JWT_SECRET" PUSH_VAPID_PUBLIC_KEY="${PUSH_VAPID_PUBLIC_KEY:-}" PUSH_VAPID_PRIVATE_KEY="${PUSH_VAPID_PRIVATE_KEY:-}" SHARD_ID="shard-$i" PORT="$port" MQTT_PORT="$((port + 10000))" HOST="${HOST:-127.0.0.1}" \
        DATA_DIR="$dir/shard-$i" CLUSTER_ADVERTISE_URL="http://127.0.0.1:$port" \
        nohup node "$root/dist/main.js" >> "$dir/shard-$i.log" 2>&1 &
      echo $! > "$pidfile"
      echo "$port" > "$dir/shard-$i.port"
      echo "shard-$i: http://127.0.0.1:$port (pid $!, log $dir/shard-$i.log)"
      started=$((started + 1))
      [ "$started" -eq 1 ] && wait_ready "$i" "$port"
    done
    # Ready when every shard answers /readyz.
    # A shard that was already running answers on the port it was started with.
    for ((i = 1; i <= n; i++)); do wait_ready "$i" "$(cat "$dir/shard-$i.port")"; done
    echo "cluster: $n shards ready"
    ;;
  status)
    shopt -s nullglob
    # Every shard ever started here (its port file stays), running or not.
    for portfile in "$dir"/shard-*.port; do
      name="$(basename "$portfile" .port)"
      pidfile="$dir/$name.pid"
      if pid_alive "$pidfile"; then echo "$name running on port $(cat "$portfile") (pid $(cat "$pidfile"))"; else echo "$name stopped (last port $(cat "$portfile"))"; fi
    done
    ;;
  stop)
    shopt -s nullglob
    pidfiles=()
    if [ "$#" -gt 1 ]; then
      for name in "${@:2}"; do
        [[ "$name" =~ ^shard-[0-9]+$ ]] || { echo "cluster: not a shard name: $name (shard-1, shard-2, ...)" >&2; exit 2; }
        pidfiles+=("$dir/$name.pid")
      done
    else
      pidfiles=("$dir"/shard-*.pid)
    fi
    for pidfile in "${pidfiles[@]}"; do
      if pid_alive "$pidfile"; then kill -TERM "$(cat "$pidfile")"; fi
    done
    for pidfile in "${pidfiles[@]}"; do
      for ((t = 0; t < 100; t++)); do pid_alive "$pidfile" || break; sleep 0.1; done
      pid_alive "$pidfile" && kill -KILL "$(cat "$pidfile")"
      rm -f "$pidfile"
    done
    echo "cluster: stopped"
    ;;
  *) echo "usage: $0 {start [N] [BASE_PORT] | start --ports P1,P2,... | status | stop [shard-i ...]}" >&2; exit 2 ;;
esac
