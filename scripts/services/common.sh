# Shared by the service scripts (sourced, not run): paths, messages, and the pid-file helpers.
# Everything a service writes lives under $SERVICES_CACHE (git-ignored), one folder per service.

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVICES_DIR/../.." && pwd)"
SERVICES_CACHE="${SERVICES_CACHE:-$REPO_ROOT/.cache}"

say() { echo "[$SERVICE] $*"; }
err() { echo "[$SERVICE] error: $*" >&2; }
die() { err "$@"; exit 1; }

# Prints the pid stored in $1 if that process is alive and its command line contains $2
# (a guard against a recycled pid); prints nothing otherwise.
live_pid() {
  local file="$1" marker="$2" pid
  [ -s "$file" ] || return 0
  pid="$(tr -dc '0-9' < "$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
  # Matched in the shell, not with `tr | grep -q`: a Java command line runs to kilobytes,
  # grep -q can exit before tr has written it all, and pipefail reads tr's SIGPIPE as "no".
  local cmdline
  cmdline="$(tr '\0' ' ' < "/proc/$pid/cmdline")" || return 0
  [[ "$cmdline" == *"$marker"* ]] && echo "$pid"
  return 0
}

# Sends SIGTERM to $1, waits up to $2 seconds for it to exit, then SIGKILLs it.
terminate() {
  local pid="$1" wait_s="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < wait_s * 5; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  err "pid $pid still running after ${wait_s}s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  sleep 0.5
}

# Prints the last $2 lines of file $1 to stderr, framed, if it exists.
show_tail() {
  [ -s "$1" ] || return 0
  echo "----- last $2 lines of $1 -----" >&2
  tail -n "$2" "$1" >&2
  echo "-----" >&2
}

# Stops the service whose pid is `pid` (may be empty) and forgets PID_FILE. With no pid,
# `probe` (a command) tells whether something this script did not start answers anyway:
# it is left running.
stop_started() {
  local pid="$1" grace="$2" probe="$3" what="$4"
  rm -f "$PID_FILE"
  if [ -z "$pid" ]; then
    if "$probe"; then say "$what answers that this script did not start (no pid file); left running"; else say "not running"; fi
    return 0
  fi
  say "stopping pid $pid"
  terminate "$pid" "$grace"
  say "stopped"
}

# Runs the script's start, check, stop or (where the script has data) wipe function named
# by its first argument.
dispatch() {
  local wipes=""
  declare -F wipe > /dev/null && wipes="|wipe"
  case "${1:-}" in
    start) start ;;
    check) check ;;
    stop) stop ;;
    wipe)
      if [ -n "$wipes" ]; then wipe; else echo "usage: $0 {start|check|stop}" >&2; exit 2; fi
      ;;
    *) echo "usage: $0 {start|check|stop$wipes}" >&2; exit 2 ;;
  esac
}
