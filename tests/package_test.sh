#!/usr/bin/env bash
# The Debian package, for real, in a clean bookworm (a container of the local
# debian:bookworm-slim that ../shared/tools/container-base-image.sh makes: no registry here; its
# apt pulls libzmq5 and the rest from the Debian mirror):
#  1. builds the .deb with cpack as docs/deployment.md says, and a second one with a higher revision;
#  2. `apt-get install ./zrelay_*.deb`: the files where they belong (dpkg -L and on disk),
#     /etc/zrelay/zrelay.yaml a conffile, zrelayd.service enabled the Debian way (the
#     multi-user.target.wants link deb-systemd-helper makes; systemd does not run in the
#     container, so nothing is started), `zrelayd --check-config` passing, the man pages and the
#     .proto files in place;
#  3. the unit's own ExecStart run in the container, and one message sent through it with
#     `zrelay send` seen by `zrelay sub`, on the configuration's default endpoints;
#  4. an edit to /etc/zrelay/zrelay.yaml survives the upgrade to the second package, silently
#     (no conffile prompt: the package's file did not change), and takes effect;
#  5. `apt-get remove`: the binaries and the unit gone, the configuration kept, the unit masked
#     and its enablement remembered for a reinstallation (what dh_installsystemd's scripts do);
#     `apt-get purge`: the configuration and every trace of the enablement gone.
# Idempotent; leaves no container behind.
# usage: tests/package_test.sh [RELEASE_BUILD_DIR]   (default: build/release, made with the
#        quick start's `cmake --workflow --preset release`; uses ports 5555-5557 and 9464; a few minutes)
# shellcheck disable=SC2016  # '${Status}' and the like are dpkg-query's, not the shell's
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
fail() { echo "FAIL: $*" >&2; exit 1; }
readme() { grep -qF -- "$1" docs/deployment.md || fail "docs/deployment.md's package section no longer says: $1"; }
work=$(mktemp -d)
ctr=
cleanup() {
  if [[ -n $ctr ]]; then
    # What the in-container script started and did not stop (it stops them itself on failure).
    pkill_container "$ctr"
    buildah rm "$ctr" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# Kills the programs still running in container $1: those whose root directory is the
# container's (buildah run --isolation chroot chroots into its mount).
pkill_container() {
  local root p
  root=$(stat -c %d:%i "$(buildah mount "$1" 2>/dev/null)/" 2>/dev/null) || return 0
  for p in /proc/[0-9]*; do
    [[ $(stat -L -c %d:%i "$p/root/" 2>/dev/null) == "$root" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  return 0
}

base_tool=${ZRELAY_BASE_IMAGE_TOOL:-}
for candidate in "$src/../shared/tools/container-base-image.sh" /work/shared/tools/container-base-image.sh; do
  [[ -n $base_tool ]] || { [[ -x $candidate ]] && base_tool=$candidate; }
done
[[ -n $base_tool ]] || fail "no container-base-image.sh in ../shared/tools (set ZRELAY_BASE_IMAGE_TOOL)"
"$base_tool" >/dev/null
command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps is missing (dpkg-dev: tools/install-deps.sh)"

# --- the packages -------------------------------------------------------------------------------
readme 'cmake --workflow --preset release'
readme 'cpack --config build/release/CPackConfig.cmake -B build/release'
build=${1:-}
if [[ -z $build ]]; then
  build=build/release
  cmake --workflow --preset release >"$work/build.log" 2>&1 ||
    { tail -20 "$work/build.log"; fail "cmake --workflow --preset release"; }
fi
[[ -f $build/CPackConfig.cmake ]] || fail "$build is not a configured build tree (no CPackConfig.cmake)"
# Into directories of the test's own, so that no older package in the build tree is picked up.
cpack --config "$build/CPackConfig.cmake" -B "$work/v1" >"$work/cpack1.log" 2>&1 ||
  { cat "$work/cpack1.log"; fail "cpack could not build the package"; }
cpack --config "$build/CPackConfig.cmake" -B "$work/v2" -D CPACK_DEBIAN_PACKAGE_RELEASE=2 \
  >"$work/cpack2.log" 2>&1 || { cat "$work/cpack2.log"; fail "cpack could not build the revision-2 package"; }
debs=("$work"/v1/zrelay_*_*.deb)
if ((${#debs[@]} != 1)) || [[ ! -f ${debs[0]} ]]; then fail "cpack made no single zrelay_*.deb: ${debs[*]}"; fi
deb1=${debs[0]}
deb2=$(echo "$work"/v2/zrelay_*-2_*.deb)
[[ -f $deb2 ]] || fail "cpack -D CPACK_DEBIAN_PACKAGE_RELEASE=2 made no revision-2 package: $(ls "$work/v2")"
version1=$(dpkg-deb -f "$deb1" Version)
version2=$(dpkg-deb -f "$deb2" Version)
dpkg --compare-versions "$version2" gt "$version1" || fail "$version2 is not newer than $version1"
depends=$(dpkg-deb -f "$deb1" Depends)
for lib in libzmq5 libprotobuf32 libyaml-cpp0.7 init-system-helpers; do
  [[ $depends == *"$lib"* ]] || fail "the package does not depend on $lib: $depends"
done
echo "ok: $(basename "$deb1") and $(basename "$deb2"); Depends: $depends"

# --- a clean bookworm ---------------------------------------------------------------------------
ctr=$(buildah from --pull-never --name "zrelay-package-test-$$" docker.io/library/debian:bookworm-slim)
mnt=$(buildah mount "$ctr")
inside() { buildah run --isolation chroot --workingdir /tmp "$ctr" -- "$@" </dev/null; }
# dpkg-query's fields for zrelay, as in "${Status} ${Version}".
query() { inside dpkg-query -W -f="$1" zrelay; }
buildah copy "$ctr" "$deb1" "$deb2" /tmp/ >/dev/null
[[ ! -e $mnt/usr/bin/systemctl ]] || fail "the base image has systemd: it is not a clean bookworm-slim"
inside apt-get update -q >"$work/update.log" 2>&1 || { tail -5 "$work/update.log"; fail "apt-get update in the container"; }

readme 'sudo apt install ./build/release/zrelay_*.deb'
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$(basename "$deb1")" \
  >"$work/install.log" 2>&1 || { tail -20 "$work/install.log"; fail "apt-get install ./$(basename "$deb1")"; }
[[ $(query '${Status} ${Version}') == "install ok installed $version1" ]] ||
  fail "zrelay $version1 is not installed: $(query '${Status} ${Version}')"
listed=$(inside dpkg -L zrelay)
for f in /usr/bin/zrelayd /usr/bin/zrelay /lib/systemd/system/zrelayd.service /etc/zrelay/zrelay.yaml \
  /usr/share/man/man8/zrelayd.8 /usr/share/man/man1/zrelay.1 /usr/share/man/man5/zrelay.yaml.5 \
  /usr/share/zrelay/proto/zrelay/v1/data_message.proto /usr/share/zrelay/proto/zrelay/v1/replay.proto \
  /usr/share/doc/zrelay/README.md /usr/share/doc/zrelay/docs/deployment.md \
  /usr/share/doc/zrelay/docs/monitoring/zrelay-dashboard.json; do
  grep -qx "$f" <<<"$listed" || fail "dpkg -L zrelay does not list $f"
  [[ -f $mnt$f ]] || fail "$f is not on disk after installation"
done
[[ -x $mnt/usr/bin/zrelayd && -x $mnt/usr/bin/zrelay ]] || fail "the binaries are not executable"
conffiles=$(query '${Conffiles}')
grep -Eq '^ /etc/zrelay/zrelay.yaml [0-9a-f]{32}$' <<<"$conffiles" ||
  fail "/etc/zrelay/zrelay.yaml is not a conffile: '$conffiles'"
echo "ok: installed $version1: binaries, unit, conffile /etc/zrelay/zrelay.yaml, man pages, .proto files"

wants=/etc/systemd/system/multi-user.target.wants/zrelayd.service
mask=/etc/systemd/system/zrelayd.service
[[ $(readlink "$mnt$wants") == /lib/systemd/system/zrelayd.service ]] ||
  fail "zrelayd.service is not enabled: $wants -> '$(readlink "$mnt$wants")'"
[[ ! -e $mnt$mask && ! -L $mnt$mask ]] || fail "zrelayd.service is masked after installation"
# deb-systemd-helper's record of what it enabled, which purge reads to disable it again.
[[ -f $mnt/var/lib/systemd/deb-systemd-helper-enabled/zrelayd.service.dsh-also ]] ||
  fail "deb-systemd-helper kept no state for zrelayd.service: not enabled by it"
grep -qx 'ExecStart=/usr/bin/zrelayd --config /etc/zrelay/zrelay.yaml' "$mnt/lib/systemd/system/zrelayd.service" ||
  fail "the installed unit's ExecStart is not /usr/bin/zrelayd on /etc/zrelay/zrelay.yaml"
echo "ok: zrelayd.service enabled ($wants)"

inside zrelayd --check-config --config /etc/zrelay/zrelay.yaml >"$work/check.log" 2>&1 ||
  { cat "$work/check.log"; fail "zrelayd --check-config rejects the installed configuration"; }
# zrelay.yaml(5) names the file the package installs.
grep -q '/etc/zrelay/zrelay.yaml' "$mnt/usr/share/man/man5/zrelay.yaml.5" || fail "zrelay.yaml(5) does not name /etc/zrelay/zrelay.yaml"
echo "ok: zrelayd --check-config accepts /etc/zrelay/zrelay.yaml"

# --- a message through the installed relay ------------------------------------------------------
# The configuration's endpoints, on this machine's network (buildah run shares it).
for port in 5555 5556 5557 9464; do
  ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null ||
    fail "port $port is taken on this machine (another relay or test running?)"
done
# Runs in the container: the unit's ExecStart in the background; `zrelay sub` on the egress;
# `zrelay send` into the ingress, again every half second until the subscriber has a message
# (a subscription reaches the relay some time after `sub` starts; what is sent before is not
# its); then SIGTERM, on which the relay drains and exits 0.
cat >"$mnt/tmp/through.sh" <<'EOF'
set -u
fail() { echo "FAIL: $*" >&2; exit 1; }
relay= sub=
trap '[ -z "$relay$sub" ] || kill -KILL $relay $sub 2>/dev/null' EXIT
exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/zrelayd.service)
$exec_start >/tmp/zrelayd.log 2>&1 &
relay=$!
i=0
until grep -q ' ready: ' /tmp/zrelayd.log; do
  kill -0 $relay 2>/dev/null || fail "zrelayd exited at start: $(cat /tmp/zrelayd.log)"
  i=$((i + 1)); [ $i -le 600 ] || fail "zrelayd not ready in 60 s: $(cat /tmp/zrelayd.log)"
  sleep 0.1
done
zrelay sub --from tcp://127.0.0.1:5556 --topic pkg --count 1 >/tmp/sub.out 2>/tmp/sub.err &
sub=$!
i=0
until grep -q '^pkg #[0-9]* through the package$' /tmp/sub.out; do
  i=$((i + 1)); [ $i -le 120 ] || fail "zrelay sub saw nothing in 60 s: $(cat /tmp/sub.out /tmp/sub.err)"
  zrelay send --to tcp://127.0.0.1:5555 --topic pkg 'through the package' >/dev/null 2>/tmp/send.err ||
    fail "zrelay send: $(cat /tmp/send.err)"
  sleep 0.5
done
wait $sub || fail "zrelay sub exited $? after its message: $(cat /tmp/sub.err)"
sub=
kill -TERM $relay
wait $relay || fail "zrelayd did not drain and exit 0 on SIGTERM (exit $?): $(tail -3 /tmp/zrelayd.log)"
relay=
head -1 /tmp/sub.out
EOF
seen=$(inside sh /tmp/through.sh) || fail "no message through the installed relay (above)"
echo "ok: the unit's ExecStart ran; zrelay send -> zrelayd -> zrelay sub: $seen"

# --- an upgrade over an edited configuration ----------------------------------------------------
config=$mnt/etc/zrelay/zrelay.yaml
sed -i 's/^  level: info$/  level: warn/' "$config"
grep -qx '  level: warn' "$config" || fail "could not edit log.level in /etc/zrelay/zrelay.yaml"
edited=$(sha256sum <"$config")
# No --force-conf* option: with the package's own file unchanged, dpkg must keep the edit without
# asking (a question would read the closed stdin and fail the upgrade).
inside env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "./$(basename "$deb2")" \
  >"$work/upgrade.log" 2>&1 || { tail -20 "$work/upgrade.log"; fail "apt-get install ./$(basename "$deb2") (the upgrade)"; }
grep -q "Unpacking zrelay ($version2) over ($version1)" "$work/upgrade.log" ||
  fail "apt did not upgrade $version1 to $version2: $(grep -i zrelay "$work/upgrade.log")"
! grep -q "Configuration file '/etc/zrelay/zrelay.yaml'" "$work/upgrade.log" ||
  fail "the upgrade asked about /etc/zrelay/zrelay.yaml: $(cat "$work/upgrade.log")"
[[ $(query '${Status} ${Version}') == "install ok installed $version2" ]] ||
  fail "zrelay $version2 is not installed after the upgrade"
[[ $(sha256sum <"$config") == "$edited" ]] || fail "the upgrade did not keep the edited /etc/zrelay/zrelay.yaml"
leftovers=$(find "$mnt/etc/zrelay" -name 'zrelay.yaml?*')
[[ -z $leftovers ]] || fail "the upgrade left ${leftovers//$mnt/} beside the configuration"
[[ -x $mnt/usr/bin/zrelayd && -x $mnt/usr/bin/zrelay ]] || fail "the binaries are gone after the upgrade"
[[ $(readlink "$mnt$wants") == /lib/systemd/system/zrelayd.service ]] || fail "the upgrade lost the enablement"
effective=$(inside zrelayd --check-config --config /etc/zrelay/zrelay.yaml 2>&1) ||
  fail "zrelayd --check-config rejects the kept configuration after the upgrade: $effective"
grep -qx '  level: warn' <<<"$effective" || fail "the kept edit (log.level: warn) is not in effect: $effective"
echo "ok: upgraded to $version2 with no question; the edited /etc/zrelay/zrelay.yaml kept and in effect"

# --- remove, then purge -------------------------------------------------------------------------
inside env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q zrelay >"$work/remove.log" 2>&1 ||
  { tail -20 "$work/remove.log"; fail "apt-get remove zrelay"; }
[[ $(query '${Status}') == "deinstall ok config-files" ]] ||
  fail "after remove zrelay is '$(query '${Status}')', not config-files"
for f in /usr/bin/zrelayd /usr/bin/zrelay /lib/systemd/system/zrelayd.service /usr/share/zrelay; do
  [[ ! -e $mnt$f ]] || fail "$f is still there after apt-get remove"
done
[[ $(sha256sum <"$config") == "$edited" ]] || fail "apt-get remove did not keep the edited configuration"
[[ $(readlink "$mnt$mask") == /dev/null ]] || fail "apt-get remove did not mask zrelayd.service ($mask)"
[[ -L $mnt$wants ]] || fail "apt-get remove forgot the enablement a reinstallation should keep ($wants)"
echo "ok: removed: binaries and unit gone, configuration kept, unit masked, enablement remembered"

inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q zrelay >"$work/purge.log" 2>&1 ||
  { tail -20 "$work/purge.log"; fail "apt-get purge zrelay"; }
status=$(query '${Status}' 2>/dev/null || true)
[[ -z $status || $status == "unknown ok not-installed" ]] || fail "after purge zrelay is '$status'"
[[ ! -e $mnt/etc/zrelay ]] || fail "/etc/zrelay is still there after apt-get purge: $(ls -A "$mnt/etc/zrelay")"
for f in "$wants" "$mask"; do
  [[ ! -e $mnt$f && ! -L $mnt$f ]] || fail "$f is still there after apt-get purge"
done
traces=$(find "$mnt/var/lib/systemd" -name 'zrelayd*' 2>/dev/null)
[[ -z $traces ]] || fail "deb-systemd-helper state left after purge: ${traces//$mnt/}"
echo "ok: purged: configuration, enablement, mask and their state gone"
echo "package test passed"
