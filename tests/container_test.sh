#!/usr/bin/env bash
# The container image, for real: builds it with tools/build-image.sh as docs/deployment.md says (from a
# local debian:bookworm-slim made by ../shared/tools/container-base-image.sh: no registry here),
# checks that a build that would drop the HEALTHCHECK fails, checks the image (at most 40 MB,
# numeric non-root user, no shell, entrypoint zrelayd with no CMD, configuration from
# ZRELAY_CONFIG), and runs it: the relay with `--log-level debug` added to its entrypoint (still
# on /etc/zrelay/zrelay.yaml), the image's own HEALTHCHECK command against it (it must name the
# running process, and fail once the relay is gone), `zrelay send` and `zrelay stats` against
# it, and the three services of compose.yaml as written, a subscriber seeing the producer's
# messages in order.
#
# Where `podman run` works, docs/deployment.md's podman lines and `podman-compose up` run as written.
# Where it cannot (this project's sandbox: crun is refused setrlimit, and cgroups are hybrid),
# the same entrypoints and arguments run with `buildah run --isolation chroot` on the host
# network, each service in a container of its own with the compose service names in its
# /etc/hosts; the test says which it did.
# usage: tests/container_test.sh   (from anywhere; takes a few minutes; uses ports 5555-5557, 9464)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
fail() { echo "FAIL: $*" >&2; exit 1; }
work=$(mktemp -d)
containers=()
cleanup() {
  local c p
  for c in "${containers[@]}"; do
    for p in $(container_pids "$c"); do kill -KILL "$p" 2>/dev/null || true; done
    buildah rm "$c" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

base_tool=${ZRELAY_BASE_IMAGE_TOOL:-}
for candidate in "$src/../shared/tools/container-base-image.sh" /work/shared/tools/container-base-image.sh; do
  [[ -n $base_tool ]] || { [[ -x $candidate ]] && base_tool=$candidate; }
done
[[ -n $base_tool ]] || fail "no container-base-image.sh in ../shared/tools (set ZRELAY_BASE_IMAGE_TOOL)"
"$base_tool"
command -v podman-compose >/dev/null || fail "podman-compose is not installed (tools/install-deps.sh)"
# Builds isolate by chroot: this machine gives podman no namespaces (podman and buildah read it).
export BUILDAH_ISOLATION=${BUILDAH_ISOLATION:-chroot}

readme() { grep -qF -- "$1" docs/deployment.md || fail "docs/deployment.md's container section no longer says: $1"; }
image=localhost/zrelay:latest
inspect() { podman image inspect --format "$1" "${2:-$image}"; }

# --- the build, as docs/deployment.md has it ----------------------------------------------------
readme 'tools/build-image.sh                          # podman build --format docker'
commit=$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown) # as the build names it
tools/build-image.sh >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "tools/build-image.sh"; }
echo "ok: $(tail -1 "$work/build.log")"
# An OCI build (podman's default) drops HEALTHCHECK with only a warning: the script must fail.
if tools/build-image.sh localhost/zrelay:oci-check --format oci >"$work/oci.log" 2>&1; then
  fail "tools/build-image.sh passed an OCI build, which has no HEALTHCHECK"
fi
podman rmi -f localhost/zrelay:oci-check >/dev/null 2>&1 || true
grep -q 'FAILED: image localhost/zrelay:oci-check has no HEALTHCHECK' "$work/oci.log" ||
  fail "an OCI build failed without saying the HEALTHCHECK was dropped: $(tail -3 "$work/oci.log")"
echo "ok: a build that drops the HEALTHCHECK fails loudly"

# --- the image ----------------------------------------------------------------------------------
size=$(inspect '{{.Size}}')
echo "image size: $((size / 1000 / 1000)) MB ($size bytes)"
((size <= 40 * 1000 * 1000)) || fail "the image is $size bytes, over 40 MB"
user=$(inspect '{{.Config.User}}')
[[ $user =~ ^[0-9]+(:[0-9]+)?$ && ${user%%:*} != 0 ]] || fail "the image's user is '$user', not a numeric non-root one"
[[ $(inspect '{{json .Config.Entrypoint}}') == '["/usr/bin/zrelayd"]' ]] || fail "entrypoint: $(inspect '{{json .Config.Entrypoint}}')"
[[ $(inspect '{{len .Config.Cmd}}') == 0 ]] || fail "a CMD that arguments to run would replace: $(inspect '{{json .Config.Cmd}}')"
inspect '{{json .Config.Env}}' | grep -q '"ZRELAY_CONFIG=/etc/zrelay/zrelay.yaml"' || fail "no ZRELAY_CONFIG"
mapfile -t healthcheck < <(inspect '{{range .Config.Healthcheck.Test}}{{println .}}{{end}}' | sed '/^$/d')
[[ ${healthcheck[0]:-} == CMD && ${healthcheck[1]:-} == /usr/bin/zrelayd && ${healthcheck[2]:-} == healthcheck ]] ||
  fail "HEALTHCHECK is not zrelayd healthcheck in exec form: ${healthcheck[*]}"
[[ " ${healthcheck[*]} " != *" --config "* ]] || fail "the HEALTHCHECK probes a file, not the running relay"
healthcheck=("${healthcheck[@]:1}")
echo "ok: user $user, entrypoint zrelayd, no CMD, HEALTHCHECK ${healthcheck[*]}"

# A container of the image, on the host network, with the compose service names as loopback;
# sets `made` to it (not printed: the cleanup's list lives in this shell, not a subshell's).
new_container() {
  made=$(buildah from --pull-never --add-host relay:127.0.0.1 --add-host producer:127.0.0.1 \
    --add-host subscriber:127.0.0.1 "$image")
  containers+=("$made")
}
# The pids of the container's own programs (zrelayd, zrelay): those whose root directory is the
# container's (buildah run chroots into a bind mount of it: the same device and inode).
container_pids() {
  local root p
  root=$(stat -c %d:%i "$(buildah mount "$1" 2>/dev/null)/" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [[ $(stat -L -c %d:%i "$p/root/" 2>/dev/null) == "$root" ]] || continue
    # The link reads as the path outside the chroot (.../rootfs/usr/bin/zrelayd).
    case $(readlink "$p/exe" 2>/dev/null) in */usr/bin/zrelay | */usr/bin/zrelayd) echo "${p#/proc/}" ;; esac
  done
  return 0
}
inside() { local c=$1; shift; buildah run --isolation chroot "$c" -- "$@"; }
entrypoint=("$(inspect '{{index .Config.Entrypoint 0}}')")

new_container
ctr=$made
mnt=$(buildah mount "$ctr")
[[ ! -e $mnt/bin/sh && ! -e $mnt/usr/bin/sh && ! -e $mnt/bin ]] || fail "a shell in the image"
programs=$(find "$mnt/usr/bin" -mindepth 1 -printf '%f ' | tr ' ' '\n' | sort | tr '\n' ' ')
[[ $programs == 'zrelay zrelayd ' ]] || fail "programs in the image: $programs"
[[ $(stat -c '%u %a' "$mnt/run/zrelay") == "${user%%:*} 750" ]] || fail "/run/zrelay: $(stat -c '%U %a' "$mnt/run/zrelay")"
echo "ok: no shell, only zrelayd and zrelay, $(find "$mnt" -name '*.so*' | wc -l) shared objects"

version=$(inside "$ctr" "${entrypoint[@]}" --version)
[[ $version == "zrelayd "* ]] || fail "--version printed: $version"
effective=$(inside "$ctr" "${entrypoint[@]}" --check-config) || fail "the shipped configuration does not validate"
for endpoint in 'tcp://\*:5555' 'tcp://\*:5556' 'tcp://\*:5557' '0.0.0.0:9464'; do
  grep -q "$endpoint" <<<"$effective" || fail "--check-config (ZRELAY_CONFIG) does not listen on $endpoint"
done
echo "ok: $version; --check-config reads /etc/zrelay/zrelay.yaml from ZRELAY_CONFIG"

for port in 5555 5556 5557 9464; do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "port $port is taken on this machine"
done

# Waits (up to 60 s) for the relay in container $1 to record itself; prints its pid.
relay_pid() {
  local state i
  state=$(buildah mount "$1")/run/zrelay/zrelayd.state
  for ((i = 0; i < 300; i++)); do
    [[ -s $state ]] && { sed -n 's/^pid=//p' "$state"; return 0; }
    sleep 0.2
  done
  return 1
}
# Stops program $1 (a pid) run by $2 (a background job of this shell) with SIGTERM; sets
# stopped_rc to the job's exit code.
stop() {
  kill -TERM "$1"
  stopped_rc=0
  wait "$2" || stopped_rc=$?
}

podman_runs=0
if podman run --rm "$image" --version >"$work/podman-run.log" 2>&1; then podman_runs=1; fi

if ((podman_runs)); then
  # --- docs/deployment.md's commands, as written -----------------------------------------------
  run_line='podman run -d --name zrelay -p 5555:5555 -p 5556:5556 -p 5557:5557 -p 9464:9464 zrelay --log-level debug'
  readme "$run_line"
  eval "$run_line" >/dev/null
  trap 'podman rm -f zrelay >/dev/null 2>&1 || true; cleanup' EXIT
  for ((i = 0; i < 60; i++)); do
    podman logs zrelay 2>&1 | grep -q ' ready: ' && break
    sleep 1
  done
  readme 'podman healthcheck run zrelay'
  podman healthcheck run zrelay || fail "podman healthcheck run zrelay"
  readme 'podman logs zrelay'
  # "*" is [::] where the container has IPv6, 0.0.0.0 where not; the embedded default would be
  # 127.0.0.1.
  podman logs zrelay 2>&1 | grep -Eq 'ready: ingress tcp://(\[::\]|0\.0\.0\.0):5555' ||
    fail "the relay does not run on the image's file"
  readme 'podman kill --signal HUP zrelay'
  podman kill --signal HUP zrelay >/dev/null
  for ((i = 0; i < 60; i++)); do
    podman logs zrelay 2>&1 | grep -q 'reloaded /etc/zrelay/zrelay.yaml' && break
    sleep 1
  done
  podman logs zrelay 2>&1 | grep -q 'reloaded /etc/zrelay/zrelay.yaml' || fail "no reload on SIGHUP"
  readme 'podman stop -t 10 zrelay'
  podman stop -t 10 zrelay >/dev/null
  [[ $(podman inspect --format '{{.State.ExitCode}}' zrelay) == 0 ]] || fail "the relay did not drain and exit 0"
  readme 'podman rm zrelay'
  podman rm zrelay >/dev/null
  echo "ok: docs/deployment.md's podman run, healthcheck, logs, kill and stop, as written"
else
  echo "note: podman run fails here ($(tail -1 "$work/podman-run.log")):" \
    "running the image's entrypoint with buildah run --isolation chroot instead"
  # `podman run zrelay --log-level debug`: the entrypoint, the arguments after it.
  inside "$ctr" "${entrypoint[@]}" --log-level debug </dev/null >"$work/relay.log" 2>&1 &
  runner=$!
  pid=$(relay_pid "$ctr") || fail "the relay recorded no state: $(cat "$work/relay.log")"
  state=$(cat "$mnt/run/zrelay/zrelayd.state")
  grep -Eq '^ingress=tcp://(\[::\]|0\.0\.0\.0):5555$' <<<"$state" ||
    fail "with arguments given, the relay does not run on /etc/zrelay/zrelay.yaml: $state"
  echo "ok: zrelayd --log-level debug runs on the image's configuration (ingress $(sed -n 's/^ingress=//p' <<<"$state"))"

  # The image's HEALTHCHECK command, against the relay this container runs.
  health=$(inside "$ctr" "${healthcheck[@]}") || fail "the healthcheck failed against the running relay"
  [[ $health == "ok: "*"[zrelayd pid $pid]" ]] || fail "the healthcheck did not probe pid $pid: $health"
  echo "ok: healthcheck: $health"

  # The client tool ships too: send into the relay and read its counters back (polled: the
  # relay counts a moment after the sender has handed the messages over).
  inside "$ctr" zrelay send --to tcp://127.0.0.1:5555 --topic c one two three >/dev/null 2>&1 ||
    fail "zrelay send into the relay"
  seen=0
  for ((i = 0; i < 50 && !seen; i++)); do
    inside "$ctr" zrelay stats --once --interval 0.1 --metrics http://127.0.0.1:9464/metrics 2>/dev/null |
      grep -Eq '^zrelay_messages_received_total +[1-9][0-9]*( |$)' && seen=1
  done
  ((seen)) || fail "zrelay stats inside the image did not see the messages"
  echo "ok: zrelay send and stats inside the image"
  # The build context has no .git: the commit comes from tools/build-image.sh's build argument.
  build_info="zrelay_build_info{version=\"${version#zrelayd }\",commit=\"$commit\"}"
  inside "$ctr" zrelay stats --once --interval 0.1 --metrics http://127.0.0.1:9464/metrics 2>/dev/null |
    grep -Fq "$build_info " || fail "the relay in the image does not say $build_info"
  echo "ok: $build_info"

  stop "$pid" "$runner"
  ((stopped_rc == 0)) || fail "the relay did not drain and exit 0 on SIGTERM (exit $stopped_rc): $(tail -3 "$work/relay.log")"
  [[ ! -e $mnt/run/zrelay/zrelayd.state ]] || fail "the relay left its state file behind"
  if out=$(inside "$ctr" "${healthcheck[@]}" 2>&1); then
    fail "the healthcheck passed with no relay: $out"
  fi
  [[ $out == *"no running zrelayd recorded in /run/zrelay"* ]] || fail "healthcheck with no relay said: $out"
  echo "ok: after SIGTERM the relay drained, exit 0; the healthcheck then fails: ${out%%(*}"

  # A relay run on another file than the image's: the HEALTHCHECK follows the process, not
  # /etc/zrelay/zrelay.yaml (where nothing listens now).
  printf '%s\n' 'ingress: {bind: ["tcp://127.0.0.1:6555"]}' 'egress: {bind: ["tcp://127.0.0.1:6556"]}' \
    'replay: {bind: ["tcp://127.0.0.1:6557"]}' 'metrics: {listen: ""}' >"$mnt/tmp/other.yaml"
  inside "$ctr" "${entrypoint[@]}" --config /tmp/other.yaml </dev/null >"$work/other.log" 2>&1 &
  runner=$!
  pid=$(relay_pid "$ctr") || fail "the relay on another file did not start: $(cat "$work/other.log")"
  health=$(inside "$ctr" "${healthcheck[@]}") || fail "the healthcheck did not follow the relay to its file"
  [[ $health == "ok: a canary went tcp://127.0.0.1:6555 -> tcp://127.0.0.1:6556 "*"[zrelayd pid $pid]" ]] ||
    fail "the healthcheck did not probe the running relay: $health"
  stop "$pid" "$runner"
  ((stopped_rc == 0)) || fail "the relay on another file did not exit 0 (exit $stopped_rc)"
  echo "ok: with --config elsewhere, the healthcheck probes what runs: ${health%% in *}"
fi

# --- compose.yaml -------------------------------------------------------------------------------
readme 'podman-compose up -d'
readme 'podman-compose logs subscriber'
readme 'podman-compose down'
# The services as podman-compose reads them: name, image, entrypoint and command (JSON), one a
# line, tab-separated.
services=$(/usr/bin/python3 - compose.yaml <<'EOF'
import json, sys, yaml
for name, s in yaml.safe_load(open(sys.argv[1]))["services"].items():
    print(name, s["image"], json.dumps(s.get("entrypoint")), json.dumps(s.get("command", [])),
          sep="\t")
EOF
)
[[ $(awk '{print $1}' <<<"$services" | tr '\n' ' ') == 'relay producer subscriber ' ]] ||
  fail "compose.yaml's services: $(awk '{print $1}' <<<"$services")"
while IFS=$'\t' read -r name img _; do
  [[ $img == "$image" ]] || fail "compose.yaml's $name runs $img, not the image built ($image)"
done <<<"$services"
podman-compose --dry-run up -d >"$work/compose-dry.log" 2>&1 || fail "podman-compose cannot read compose.yaml: $(tail -3 "$work/compose-dry.log")"

# $1: the subscriber's output: at least 20 messages on demo, in order with no gap (from wherever
# it started: what the producer sent before the subscription reached the relay is not its).
check_subscriber() {
  awk '$1 == "demo" && $2 ~ /^#[0-9]+$/ {
         seq = substr($2, 2) + 0
         if (n++ && seq != last + 1) { bad = 1; exit }
         last = seq
       }
       END { exit bad || n < 20 }' "$1"
}
if ((podman_runs)); then
  podman-compose up -d >"$work/compose.log" 2>&1 || fail "podman-compose up -d: $(tail -5 "$work/compose.log")"
  trap 'podman-compose down >/dev/null 2>&1 || true; cleanup' EXIT
  for ((i = 0; i < 60; i++)); do
    podman-compose logs subscriber >"$work/subscriber.log" 2>/dev/null || true
    check_subscriber "$work/subscriber.log" && break
    sleep 1
  done
  check_subscriber "$work/subscriber.log" || fail "the subscriber did not get the producer's messages in order"
  podman healthcheck run "$(basename "$src")_relay_1" || fail "the compose relay is unhealthy"
  podman-compose down >/dev/null 2>&1 || fail "podman-compose down"
  echo "ok: podman-compose up: the subscriber got the producer's messages in order; healthy; down"
else
  # Each service in a container of its own, its entrypoint (or the image's) and its command.
  declare -A runner_of ctr_of
  while IFS=$'\t' read -r name _ entry cmd; do
    new_container
    c=$made
    ctr_of[$name]=$c
    mapfile -t argv < <(/usr/bin/python3 -c 'import json,sys
e, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("\n".join((e if e is not None else [sys.argv[3]]) + c))' "$entry" "$cmd" "${entrypoint[0]}")
    inside "$c" "${argv[@]}" </dev/null >"$work/$name.out" 2>"$work/$name.err" &
    runner_of[$name]=$!
    if [[ $name == relay ]]; then
      relay=$(relay_pid "$c") || fail "the compose relay did not start: $(cat "$work/relay.err")"
    fi
  done <<<"$services"
  for ((i = 0; i < 120; i++)); do
    check_subscriber "$work/subscriber.out" && break
    sleep 0.5
  done
  check_subscriber "$work/subscriber.out" ||
    fail "the subscriber did not get the producer's messages in order: $(head -5 "$work/subscriber.out") $(tail -3 "$work/producer.err")"
  health=$(inside "${ctr_of[relay]}" "${healthcheck[@]}") || fail "the compose relay is unhealthy"
  for name in subscriber producer; do
    p=$(container_pids "${ctr_of[$name]}")
    [[ -n $p ]] || fail "the $name exited early: $(tail -3 "$work/$name.err")"
    stop "$p" "${runner_of[$name]}"
  done
  stop "$relay" "${runner_of[relay]}"
  ((stopped_rc == 0)) || fail "the compose relay did not drain and exit 0 (exit $stopped_rc)"
  echo "ok: compose.yaml's relay, producer and subscriber (with buildah run): $(grep -c '^demo #' "$work/subscriber.out")" \
    "messages in order; relay $health"
fi
echo "container test passed"
