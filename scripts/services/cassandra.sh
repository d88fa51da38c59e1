#!/usr/bin/env bash
# Starts, checks and stops a single-node Apache Cassandra 5.0 on 127.0.0.1:9042 for development
# and CI, from Maven Central jars (no installer, no Docker).
#
#   start  resolve the jars if missing, launch the node in the background on the data folder
#          of earlier runs (kept: a restart under running shards must not lose the store),
#          wait until a CQL query answers; does nothing if a node already answers
#   check  exit 0 if a CQL query answers on 127.0.0.1:9042, 1 otherwise
#   stop   stop the node this script started (pid file) and wait for it to exit
#   wipe   delete the data folder and logs (refused while the node runs): the next start is
#          a fresh, empty node
#
# Environment: CASSANDRA_HEAP (default 768M, at most 1G), CASSANDRA_READY_TIMEOUT (seconds,
# default 180), CASSANDRA_JAVA (a Java 11 or 17 `java`; default: `java` if it is 11 or 17,
# else the Debian OpenJDK 17), SERVICES_CACHE (default <repo>/.cache).
set -euo pipefail
SERVICE=cassandra
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CONF_DIR="$SERVICES_DIR/cassandra"
HOME_DIR="$SERVICES_CACHE/cassandra"
LIB_DIR="$HOME_DIR/lib"
DATA_DIR="$HOME_DIR/data"
LOG_DIR="$HOME_DIR/logs"
PID_FILE="$HOME_DIR/cassandra.pid"
STDOUT_LOG="$LOG_DIR/stdout.log"
CONTACT_POINT="127.0.0.1:9042"
READY_TIMEOUT="${CASSANDRA_READY_TIMEOUT:-180}"
HEAP="${CASSANDRA_HEAP:-768M}"

# The heap is capped at 1 GB: the node shares a 2-core machine with the server and its tests.
case "$HEAP" in
  [1-9]*[0-9][Mm] | [1-9][Mm]) (( ${HEAP%[Mm]} <= 1024 )) || die "CASSANDRA_HEAP=$HEAP is over 1G" ;;
  1[Gg]) ;;
  *) die "CASSANDRA_HEAP=$HEAP: expected a size in megabytes up to 1024M (e.g. 768M) or 1G" ;;
esac

cql_probe() { node "$SERVICES_DIR/cql-ready.js" "$CONTACT_POINT" "${1:-5000}"; }

# Copies cassandra-all and its dependencies from Maven Central (cached in ~/.m2) into LIB_DIR,
# unless LIB_DIR already holds the jars of the current pom.xml.
resolve_jars() {
  local stamp
  stamp="$(sha256sum "$CONF_DIR/pom.xml" | cut -d' ' -f1)"
  if [ -f "$LIB_DIR/.resolved" ] && [ "$(cat "$LIB_DIR/.resolved")" = "$stamp" ]; then
    return 0
  fi
  command -v mvn > /dev/null || die "Maven (mvn) is not installed; it is needed to fetch the Cassandra jars"
  say "resolving Cassandra jars with Maven into $LIB_DIR (first time: about a minute)"
  rm -rf "$LIB_DIR"
  mkdir -p "$LIB_DIR"
  local started=$SECONDS
  if ! mvn -B -q -f "$CONF_DIR/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$LIB_DIR" > "$HOME_DIR/mvn.log" 2>&1; then
    show_tail "$HOME_DIR/mvn.log" 40
    die "Maven could not resolve cassandra-all (full output: $HOME_DIR/mvn.log)"
  fi
  echo "$stamp" > "$LIB_DIR/.resolved"
  say "jars ready in $((SECONDS - started))s ($(ls "$LIB_DIR"/*.jar | wc -l) jars)"
}

# Prints the path of a Java 11 or 17 `java` (what Cassandra 5.0 supports), or fails.
find_java() {
  local candidate version
  for candidate in "${CASSANDRA_JAVA:-}" "$(command -v java || true)" \
      /usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/java-17-openjdk-arm64/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version="$("$candidate" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    case "$version" in 11|17) echo "$candidate"; return 0 ;; esac
  done
  die "no Java 11 or 17 found (Cassandra 5.0 runs on those only); set CASSANDRA_JAVA to one"
}

start() {
  if cql_probe 3000 > /dev/null 2>&1; then
    say "already running on $CONTACT_POINT"
    return 0
  fi
  local pid
  pid="$(live_pid "$PID_FILE" CassandraDaemon)"
  if [ -n "$pid" ]; then
    say "pid $pid is still starting; waiting for it"
  else
    command -v node > /dev/null || die "node is not installed; the readiness probe needs it"
    [ -d "$REPO_ROOT/node_modules/cassandra-driver" ] \
      || die "cassandra-driver is missing: run \`npm ci\` in $REPO_ROOT first"
    mkdir -p "$HOME_DIR"
    resolve_jars
    local java jamm
    java="$(find_java)"
    jamm="$(compgen -G "$LIB_DIR/jamm-*.jar" | sort | sed -n 1p || true)"
    [ -n "$jamm" ] || die "no jamm jar in $LIB_DIR (Cassandra needs it as -javaagent)"

    # The data folder of an earlier run is kept (wipe is its own command); the console log
    # of this start is appended to the earlier ones, behind a line naming the start.
    mkdir -p "$DATA_DIR" "$LOG_DIR"
    echo "----- start $(date -u +%Y-%m-%dT%H:%M:%SZ) -----" >> "$STDOUT_LOG"

    local -a opts
    mapfile -t opts < <(grep -E '^-' "$CONF_DIR/jvm.options" | sed -E 's/[[:space:]]+$//')
    opts=("${opts[@]/#-Xms*/-Xms$HEAP}")
    opts=("${opts[@]/#-Xmx*/-Xmx$HEAP}")

    say "starting Cassandra (heap $HEAP, $java); log: $LOG_DIR/system.log"
    # From the cache folder, so nothing the JVM drops in its working directory lands in the
    # clone; setsid: the node outlives the shell that started it, and `stop` ends it by pid.
    cd "$HOME_DIR"
    setsid "$java" "${opts[@]}" \
      -javaagent:"$jamm" \
      -Dcassandra.config="file://$CONF_DIR/cassandra.yaml" \
      -Dcassandra.storagedir="$DATA_DIR" \
      -Dcassandra.logdir="$LOG_DIR" \
      -Dlogback.configurationFile="$CONF_DIR/logback.xml" \
      -XX:HeapDumpPath="$LOG_DIR" -XX:ErrorFile="$LOG_DIR/hs_err_%p.log" \
      -cp "$CONF_DIR:$LIB_DIR/*" \
      org.apache.cassandra.service.CassandraDaemon \
      >> "$STDOUT_LOG" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$PID_FILE"
  fi

  local started=$SECONDS last_error=""
  while ((SECONDS - started < READY_TIMEOUT)); do
    if ! kill -0 "$pid" 2> /dev/null; then
      show_tail "$STDOUT_LOG" 30
      show_tail "$LOG_DIR/system.log" 30
      rm -f "$PID_FILE"
      die "Cassandra (pid $pid) exited during startup; see the logs above and in $LOG_DIR"
    fi
    if version="$(cql_probe 5000 2> "$HOME_DIR/probe.err")"; then
      say "ready on $CONTACT_POINT: Cassandra $version, pid $pid, $((SECONDS - started))s"
      return 0
    fi
    last_error="$(head -n 1 "$HOME_DIR/probe.err")"
    sleep 2
  done
  show_tail "$LOG_DIR/system.log" 40
  die "no CQL answer on $CONTACT_POINT within ${READY_TIMEOUT}s (last probe: $last_error); pid $pid left running, \`$0 stop\` ends it"
}

check() {
  local version
  if version="$(cql_probe 5000 2> "${TMPDIR:-/tmp}/cql-probe.$$")"; then
    rm -f "${TMPDIR:-/tmp}/cql-probe.$$"
    say "up on $CONTACT_POINT: Cassandra $version"
    return 0
  fi
  err "no CQL answer on $CONTACT_POINT: $(head -n 1 "${TMPDIR:-/tmp}/cql-probe.$$")"
  rm -f "${TMPDIR:-/tmp}/cql-probe.$$"
  return 1
}

cassandra_answers() { cql_probe 3000 > /dev/null 2>&1; }

stop() {
  stop_started "$(live_pid "$PID_FILE" CassandraDaemon)" 60 cassandra_answers "a Cassandra on $CONTACT_POINT"
}

wipe() {
  [ -z "$(live_pid "$PID_FILE" CassandraDaemon)" ] || die "the node is running; \`$0 stop\` first"
  # Also when a node answers that has no pid file here (started by hand on this folder).
  ! cassandra_answers || die "a Cassandra answers on $CONTACT_POINT; stop it first"
  rm -rf "$DATA_DIR" "$LOG_DIR" || die "could not delete $DATA_DIR or $LOG_DIR"
  say "wiped $DATA_DIR and $LOG_DIR; the next start is an empty node"
}

dispatch "$@"
