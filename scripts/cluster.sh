#!/usr/bin/env bash
# Starts, lists or stops N shards of the distributed mode on consecutive ports, against the
# local Redis and Cassandra (start them first: scripts/services/all.sh start). Each shard
# runs the built server (npm run build) with STORE=cassandra BUS=redis, its own data dir
# and log under .cache/cluster/, and a JWT secret every shard shares.
#
#   scripts/cluster.sh start [N=3] [BASE_PORT=8081]   then put a load balancer in front
#   scripts/cluster.sh status
#   scripts/cluster.sh stop
#
# Any other setting passes through the environment (e.g. CASSANDRA_KEYSPACE, REDIS_PREFIX).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$root/.cache/cluster"
action="${1:-}"

pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

case "$action" in
  start)
    n="${2:-3}"
    base="${3:-8081}"
    [ -f "$root/dist/main.js" ] || { echo "cluster: dist/main.js missing; run npm run build first" >&2; exit 1; }
    "$root/scripts/services/all.sh" check >/dev/null || { echo "cluster: Redis or Cassandra not answering; run scripts/services/all.sh start" >&2; exit 1; }
    mkdir -p "$dir"
    if [ -z "${JWT_SECRET:-}" ]; then
      [ -s "$dir/jwt-secret" ] || node -e "process.stdout.write(require('crypto').randomBytes(48).toString('base64url'))" > "$dir/jwt-secret"
      JWT_SECRET="$(cat "$dir/jwt-secret")"
    fi
    for ((i = 1; i <= n; i++)); do
      port=$((base + i - 1))
      pidfile="$dir/shard-$i.pid"
      if pid_alive "$pidfile"; then echo "shard-$i already running (pid $(cat "$pidfile"))"; continue; fi
      mkdir -p "$dir/shard-$i"
      STORE=cassandra BUS=redis JWT_SECRET="$JWT_SECRET" SHARD_ID="shard-$i" PORT="$port" HOST="${HOST:-127.0.0.1}" \
        DATA_DIR="$dir/shard-$i" CLUSTER_ADVERTISE_URL="http://127.0.0.1:$port" \
        nohup node "$root/dist/main.js" > "$dir/shard-$i.log" 2>&1 &
      echo $! > "$pidfile"
      echo "shard-$i: http://127.0.0.1:$port (pid $!, log $dir/shard-$i.log)"
    done
    # Ready when every shard answers /readyz.
    for ((i = 1; i <= n; i++)); do
      port=$((base + i - 1))
      for ((t = 0; t < 150; t++)); do
        curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
        pid_alive "$dir/shard-$i.pid" || { echo "shard-$i exited; last log lines:" >&2; tail -n 20 "$dir/shard-$i.log" >&2; exit 1; }
        sleep 0.2
      done
      curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 || { echo "shard-$i not ready after 30 s" >&2; exit 1; }
    done
    echo "cluster: $n shards ready"
    ;;
  status)
    shopt -s nullglob
    for pidfile in "$dir"/shard-*.pid; do
      name="$(basename "$pidfile" .pid)"
      if pid_alive "$pidfile"; then echo "$name running (pid $(cat "$pidfile"))"; else echo "$name stopped"; fi
    done
    ;;
  stop)
    shopt -s nullglob
    for pidfile in "$dir"/shard-*.pid; do
      if pid_alive "$pidfile"; then kill -TERM "$(cat "$pidfile")"; fi
    done
    for pidfile in "$dir"/shard-*.pid; do
      for ((t = 0; t < 100; t++)); do pid_alive "$pidfile" || break; sleep 0.1; done
      pid_alive "$pidfile" && kill -KILL "$(cat "$pidfile")"
      rm -f "$pidfile"
    done
    echo "cluster: stopped"
    ;;
  *) echo "usage: $0 {start [N] [BASE_PORT]|status|stop}" >&2; exit 2 ;;
esac
