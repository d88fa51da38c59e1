#!/usr/bin/env bash
# Starts, checks or stops every service of the distributed mode (Redis, S3Proxy, then Cassandra),
# through their own scripts. `start` goes from the quickest to the slowest, so a service that
# cannot start fails the run before the long wait for Cassandra. `check` and `stop` go through
# all services even when one fails; the exit code is non-zero if any did. `wipe` deletes the
# stored data of Cassandra and S3Proxy (each refuses while it runs; Redis keeps nothing).
set -uo pipefail
dir="$(dirname "${BASH_SOURCE[0]}")"
action="${1:-}"
case "$action" in
  start) "$dir/redis.sh" start && "$dir/s3proxy.sh" start && "$dir/cassandra.sh" start ;;
  check|stop)
    status=0
    "$dir/redis.sh" "$action" || status=1
    "$dir/s3proxy.sh" "$action" || status=1
    "$dir/cassandra.sh" "$action" || status=1
    exit "$status"
    ;;
  wipe)
    status=0
    "$dir/s3proxy.sh" wipe || status=1
    "$dir/cassandra.sh" wipe || status=1
    exit "$status"
    ;;
  *) echo "usage: $0 {start|check|stop|wipe}" >&2; exit 2 ;;
esac
