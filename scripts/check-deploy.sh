#!/usr/bin/env bash
# Checks the deployment files without a Docker engine, with the tools that read them:
#
#   1. deploy/haproxy.cfg with HAProxy itself (`haproxy -c`; apt-get install haproxy).
#      The shard names resolve only inside the compose network: warnings that they do not
#      resolve here are expected.
#   2. docker-compose.yml against the Compose Specification's JSON schema with dclint
#      (from the npm registry, pinned), errors only.
#   3. docker-compose.yml loaded by compose-go, the library `docker compose` itself loads
#      files with (schema, interpolation, merge keys, depends_on), from the Go module proxy
#      (scripts/compose-check; needs Go), printing each service's start conditions.
#
# Exits non-zero when any check that could run failed; says which were skipped.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
status=0
# The compose file requires JWT_SECRET; any value of the right length does for checking.
export JWT_SECRET="${JWT_SECRET:-check-deploy-placeholder-secret-0123456789}"
# ...and one Web Push pair (any well-formed pair does).
export PUSH_VAPID_PUBLIC_KEY="${PUSH_VAPID_PUBLIC_KEY:-BAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE}"
export PUSH_VAPID_PRIVATE_KEY="${PUSH_VAPID_PRIVATE_KEY:-AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI}"

echo "== haproxy -c -f deploy/haproxy.cfg"
if command -v haproxy >/dev/null; then
  haproxy -c -f deploy/haproxy.cfg || status=1
else
  echo "skipped: haproxy is not installed (apt-get install haproxy)"
fi

echo "== dclint (Compose Specification schema)"
npm exec --yes --package=dclint@3.1.0 -- dclint --quiet docker-compose.yml || status=1

echo "== compose-go loader"
if command -v go >/dev/null; then
  (cd scripts/compose-check && go run . "$root/docker-compose.yml") || status=1
else
  echo "skipped: Go is not installed"
fi

[ "$status" -eq 0 ] && echo "deployment files: valid" || echo "deployment files: INVALID (see above)"
exit "$status"
