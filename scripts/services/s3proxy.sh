#!/usr/bin/env bash
# Starts, checks and stops S3Proxy, a real S3 API over the local filesystem, on 127.0.0.1:9000
# for development and CI, from its Maven Central jar (no installer, no Docker).
#
#   start  fetch the jar if missing, launch S3Proxy in the background on the storage folder of
#          earlier runs (kept), wait until a signed ListBuckets answers; does nothing if it
#          already answers
#   check  exit 0 if a signed ListBuckets answers on 127.0.0.1:9000, 1 otherwise
#   stop   stop the S3Proxy this script started (pid file) and wait for it to exit
#   wipe   delete the stored buckets and objects (refused while S3Proxy runs)
#
# Settings (endpoint, credentials, provider) are in s3proxy/s3proxy.conf.
# Environment: S3PROXY_HEAP (default 128M), S3PROXY_READY_TIMEOUT (seconds, default 60),
# S3PROXY_JAVA (a Java 17 or newer `java`; default: `java` if it is one, else the Debian
# OpenJDK 17), SERVICES_CACHE (default <repo>/.cache).
set -euo pipefail
SERVICE=s3proxy
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VERSION=2.6.0
ARTIFACT="org.gaul:s3proxy:$VERSION:jar:jar-with-dependencies"
CONF_FILE="$SERVICES_DIR/s3proxy/s3proxy.conf"
HOME_DIR="$SERVICES_CACHE/s3proxy"
LIB_DIR="$HOME_DIR/lib"
JAR="$LIB_DIR/s3proxy-$VERSION-jar-with-dependencies.jar"
DATA_DIR="$HOME_DIR/data"
LOG_FILE="$HOME_DIR/s3proxy.log"
PID_FILE="$HOME_DIR/s3proxy.pid"
READY_TIMEOUT="${S3PROXY_READY_TIMEOUT:-60}"
HEAP="${S3PROXY_HEAP:-128M}"

# The conf file is the one place that names the endpoint and the test credentials.
prop() { sed -n "s/^$1=//p" "$CONF_FILE" | tail -n 1; }
ENDPOINT="$(prop s3proxy.endpoint)"
IDENTITY="$(prop s3proxy.identity)"
CREDENTIAL="$(prop s3proxy.credential)"
HOST_PORT="${ENDPOINT#http://}"
[ -n "$IDENTITY" ] && [ -n "$CREDENTIAL" ] && [ "$HOST_PORT" != "$ENDPOINT" ] \
  || die "$CONF_FILE must set s3proxy.endpoint (http://host:port), s3proxy.identity and s3proxy.credential"

s3_probe() { node "$SERVICES_DIR/s3-ready.js" "$ENDPOINT" "$IDENTITY" "$CREDENTIAL" "${1:-5000}"; }

# True if anything accepts a TCP connection on the endpoint's port.
port_open() { (exec 3<> "/dev/tcp/${HOST_PORT%:*}/${HOST_PORT#*:}") 2> /dev/null; }

# Copies the self-contained S3Proxy jar from Maven Central (cached in ~/.m2) into LIB_DIR,
# unless it is already there. The copy lands in a side folder first, so a cut-short copy never
# passes for the jar.
resolve_jar() {
  [ -s "$JAR" ] && return 0
  command -v mvn > /dev/null || die "Maven (mvn) is not installed; it is needed to fetch the S3Proxy jar"
  say "fetching $ARTIFACT with Maven into $LIB_DIR"
  local part="$HOME_DIR/lib.part" started=$SECONDS
  rm -rf "$part"
  if ! mvn -B -q dependency:copy -Dartifact="$ARTIFACT" -DoutputDirectory="$part" \
      > "$HOME_DIR/mvn.log" 2>&1 || [ ! -s "$part/$(basename "$JAR")" ]; then
    show_tail "$HOME_DIR/mvn.log" 40
    die "Maven could not fetch $ARTIFACT (full output: $HOME_DIR/mvn.log)"
  fi
  mkdir -p "$LIB_DIR"
  mv "$part/$(basename "$JAR")" "$JAR"
  rm -rf "$part"
  say "jar ready in $((SECONDS - started))s"
}

# Prints the path of a Java 17 or newer `java` (S3Proxy $VERSION's minimum), or fails.
find_java() {
  local candidate version
  for candidate in "${S3PROXY_JAVA:-}" "$(command -v java || true)" \
      /usr/lib/jvm/java-17-openjdk-amd64/bin/java /usr/lib/jvm/java-17-openjdk-arm64/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    version="$("$candidate" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    case "$version" in 1.*|'') continue ;; esac
    ((version >= 17)) && { echo "$candidate"; return 0; }
  done
  die "no Java 17 or newer found (S3Proxy $VERSION needs it); set S3PROXY_JAVA to one"
}

start() {
  command -v node > /dev/null || die "node is not installed; the readiness probe needs it"
  if s3_probe 3000 > /dev/null 2>&1; then
    say "already running on $ENDPOINT"
    return 0
  fi
  local pid
  pid="$(live_pid "$PID_FILE" "$(basename "$JAR")")"
  if [ -n "$pid" ]; then
    say "pid $pid is still starting; waiting for it"
  else
    if port_open; then
      die "something that is not this S3Proxy listens on $HOST_PORT (signed ListBuckets: $(s3_probe 3000 2>&1 || true)); stop it or free the port"
    fi
    mkdir -p "$HOME_DIR"
    resolve_jar
    local java
    java="$(find_java)"

    # Buckets and objects of an earlier run are kept (wipe is its own command).
    mkdir -p "$DATA_DIR"

    say "starting S3Proxy $VERSION (heap $HEAP, $java); log: $LOG_FILE"
    # Serial GC and C1 only: on a 2-core machine shared with Cassandra and the tests, memory
    # matters more than peak throughput (measured: 93 MB resident instead of 117 MB with the
    # JVM's defaults, and the same 2-3 s to ready). The status listener silences logback's
    # report of its own set-up (about 40 lines on every start).
    # From the cache folder, so nothing the JVM drops in its working directory lands in the
    # clone; setsid: the server outlives the shell that started it, and `stop` ends it by pid.
    cd "$HOME_DIR"
    setsid "$java" -Xms32M -Xmx"$HEAP" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      -XX:ErrorFile="$HOME_DIR/hs_err_%p.log" \
      -Dlogback.statusListenerClass=ch.qos.logback.core.status.NopStatusListener \
      -Djclouds.filesystem.basedir="$DATA_DIR" \
      -jar "$JAR" --properties "$CONF_FILE" \
      > "$LOG_FILE" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$PID_FILE"
  fi

  local started=$SECONDS last_error="" answer
  while ((SECONDS - started < READY_TIMEOUT)); do
    if ! kill -0 "$pid" 2> /dev/null; then
      show_tail "$LOG_FILE" 30
      rm -f "$PID_FILE"
      die "S3Proxy (pid $pid) exited during startup; see the log above ($LOG_FILE)"
    fi
    if answer="$(s3_probe 3000 2>&1)"; then
      say "ready on $ENDPOINT: pid $pid, $((SECONDS - started))s"
      return 0
    fi
    last_error="$answer"
    sleep 0.5
  done
  show_tail "$LOG_FILE" 30
  die "no S3 answer on $ENDPOINT within ${READY_TIMEOUT}s (last probe: $last_error); pid $pid left running, \`$0 stop\` ends it"
}

check() {
  local answer
  if answer="$(s3_probe 5000 2>&1)"; then
    say "up on $ENDPOINT: signed ListBuckets answered ($answer)"
    return 0
  fi
  err "no S3 answer on $ENDPOINT: $answer"
  return 1
}

stop() {
  stop_started "$(live_pid "$PID_FILE" "$(basename "$JAR")")" 20 port_open "something on $HOST_PORT"
}

wipe() {
  [ -z "$(live_pid "$PID_FILE" "$(basename "$JAR")")" ] || die "S3Proxy is running; \`$0 stop\` first"
  ! port_open || die "something listens on $HOST_PORT; stop it first"
  rm -rf "$DATA_DIR" || die "could not delete $DATA_DIR"
  say "wiped $DATA_DIR; the next start is an empty store"
}

dispatch "$@"
