#!/usr/bin/env bash
# The container image, for real: builds the Dockerfile with podman (from a local
# debian:bookworm-slim made by ../shared/tools/container-base-image.sh: no registry here) and runs
# inside the image, with `buildah run --isolation chroot` (`podman run` is refused by this
# sandbox): zrelayd --version; --check-config on the shipped /etc/zrelay/zrelay.yaml; and the
# HEALTHCHECK's own command against a zrelayd running on that configuration. Checks the image
# runs as a non-root user, has no compiler, and prints its size.
# usage: tests/container_test.sh   (from anywhere; takes a few minutes)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "FAIL: $*" >&2; exit 1; }

base_tool=${ZRELAY_BASE_IMAGE_TOOL:-}
for candidate in "$src/../shared/tools/container-base-image.sh" /work/shared/tools/container-base-image.sh; do
  [[ -n $base_tool ]] || { [[ -x $candidate ]] && base_tool=$candidate; }
done
[[ -n $base_tool ]] || fail "no container-base-image.sh in ../shared/tools (set ZRELAY_BASE_IMAGE_TOOL)"
"$base_tool"

image=localhost/zrelay:test
podman build --isolation chroot --pull=never --format docker -q -t "$image" "$src" >/dev/null
ctr=$(buildah from --pull-never "$image")
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
inside() { buildah run --isolation chroot "$ctr" -- "$@"; }

version=$(inside zrelayd --version)
[[ $version == "zrelayd "* ]] || fail "--version printed: $version"
echo "ok: $version"

effective=$(inside zrelayd --config /etc/zrelay/zrelay.yaml --check-config) ||
  fail "the shipped configuration does not validate"
grep -q 'tcp://\*:5555' <<<"$effective" || fail "ingress does not listen on all interfaces"
grep -q '0.0.0.0:9464' <<<"$effective" || fail "metrics do not listen on all interfaces"
grep -q 'tcp://\*:5557' <<<"$effective" || fail "replay does not listen on all interfaces"
echo "ok: --check-config on /etc/zrelay/zrelay.yaml"

user=$(podman image inspect --format '{{.Config.User}}' "$image")
[[ -n $user && $user != root && $user != 0 ]] || fail "the image runs as root"
healthcheck=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$image")
grep -q 'healthcheck' <<<"$healthcheck" || fail "no HEALTHCHECK in the image: $healthcheck"
inside sh -c 'command -v g++ cc cmake' >/dev/null 2>&1 && fail "build tools left in the image"
echo "ok: user $user, HEALTHCHECK set, no build tools"

# The HEALTHCHECK command, against a relay running inside the image on the shipped config.
cmd=$(podman image inspect --format '{{join .Config.Healthcheck.Test " "}}' "$image")
cmd=${cmd#CMD }
inside sh -c "zrelayd --config /etc/zrelay/zrelay.yaml 2>/tmp/zrelayd.log & pid=\$!
  i=0; until grep -q ' ready: ' /tmp/zrelayd.log || [ \$i -ge 300 ]; do i=\$((i+1)); sleep 0.1; done
  $cmd; rc=\$?
  kill \$pid; wait \$pid; exit \$rc" || fail "the healthcheck failed against a running relay"
inside sh -c "$cmd --timeout-ms 500" 2>/dev/null && fail "the healthcheck passed with no relay"
echo "ok: healthcheck inside the image (passes with a relay, fails without)"

# The client tool ships too: send into a relay inside the image and read its counters back
# (polled: the relay counts a moment after the sender has handed the messages over).
inside sh -c "zrelayd --config /etc/zrelay/zrelay.yaml 2>/tmp/zrelayd.log & pid=\$!
  rc=1
  if zrelay send --to tcp://127.0.0.1:5555 --topic c one two three 2>/dev/null; then
    for i in \$(seq 50); do
      zrelay stats --once --interval 0.1 --metrics http://127.0.0.1:9464/metrics |
        grep -Eq '^zrelay_messages_received_total +3( |\$)' && { rc=0; break; }
    done
  fi
  kill \$pid; wait \$pid; exit \$rc" || fail "zrelay send and stats inside the image did not see 3 messages"
echo "ok: zrelay send and stats inside the image"

size=$(podman image inspect --format '{{.Size}}' "$image")
base=$(podman image inspect --format '{{.Size}}' docker.io/library/debian:bookworm-slim)
echo "image size: $((size / 1024 / 1024)) MiB, of which $(((size - base) / 1024 / 1024)) MiB on top of the base"
