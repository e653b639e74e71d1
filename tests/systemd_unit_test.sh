#!/usr/bin/env bash
# The systemd unit, checked without systemd running as PID 1:
#  1. `systemd-analyze verify` accepts it with no complaint at all (it exits 0 on some errors,
#     such as an unknown Type=, so any output fails the test);
#  2. `systemd-analyze security --offline=true --threshold=11` rates its exposure at most 1.1.
#     --threshold counts in tenths of the printed 0-10 level (systemd 252: level 1.2 passes 12 and
#     fails 11), so --threshold=2 would ask for 0.2, which no network service reaches: it needs
#     the network (PrivateNetwork= 0.5, AF_INET/AF_INET6 0.3, AF_UNIX 0.1). The unit scores 1.1;
#     what is left is those, UMask=0007 for group-accessible ipc sockets, IPAddressDeny= (the
#     relay must take connections from wherever it is configured to), the char-rtc read access
#     ProtectClock= itself grants, and RootDirectory=;
#  3. `cmake --install` into a staging root puts the binary, the unit, the configuration and the
#     .proto files in place, and the installed unit starts that binary on that configuration;
#  4. installing again keeps an edited configuration (the shipped one goes next to it as
#     zrelay.yaml.new, and the install says so), leaves an unedited one as it is, and a package
#     build's staging (ZRELAY_PACKAGE_BUILD, as cpack sets it) always gets the shipped file.
# usage: systemd_unit_test.sh UNIT_WITH_BUILD_PATHS BUILD_DIR
set -euo pipefail
unit=$1
build=$2
shipped=$(cd "$(dirname "$0")/.." && pwd)/config/zrelay.yaml
fail() { echo "FAIL: $*" >&2; exit 1; }

out=$(systemd-analyze verify "$unit" 2>&1) || fail "verify exited $?: $out"
[[ -z $out ]] || fail "verify complained: $out"
echo "ok: systemd-analyze verify"

security=$(systemd-analyze security --offline=true --threshold=11 "$unit" 2>&1) ||
  fail "security above the threshold: $(tail -3 <<<"$security")"
grep -o 'Overall exposure level.*' <<<"$security"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
DESTDIR=$stage cmake --install "$build" --prefix /usr >/dev/null
for f in usr/bin/zrelayd usr/bin/zrelay usr/lib/systemd/system/zrelayd.service \
         etc/zrelay/zrelay.yaml usr/share/zrelay/proto/zrelay/v1/data_message.proto \
         usr/share/zrelay/proto/zrelay/v1/replay.proto; do
  [[ -f $stage/$f ]] || fail "cmake --install did not install /$f"
done
grep -qx 'ExecStart=/usr/bin/zrelayd --config /etc/zrelay/zrelay.yaml' \
  "$stage/usr/lib/systemd/system/zrelayd.service" || fail "installed unit's ExecStart is wrong"
"$stage/usr/bin/zrelayd" --config "$stage/etc/zrelay/zrelay.yaml" --check-config >/dev/null ||
  fail "the installed configuration does not validate"
cmp -s "$shipped" "$stage/etc/zrelay/zrelay.yaml" || fail "the installed configuration is not $shipped"
[[ ! -e $stage/etc/zrelay/zrelay.yaml.new ]] || fail "a first install wrote zrelay.yaml.new"
echo "ok: cmake --install (binary, unit, configuration, .proto files)"

config=$stage/etc/zrelay/zrelay.yaml
out=$(DESTDIR=$stage cmake --install "$build" --prefix /usr 2>&1) || fail "a second install failed: $out"
grep -qF "Up-to-date: $config" <<<"$out" || fail "an unedited configuration was not left as it is: $out"
[[ ! -e $config.new ]] || fail "an unedited configuration got a zrelay.yaml.new"

sed -i 's/^  level: info$/  level: debug/' "$config"
grep -qx '  level: debug' "$config" || fail "could not edit the staged configuration (no 'level: info'?)"
edited=$(cat "$config")
out=$(DESTDIR=$stage cmake --install "$build" --prefix /usr 2>&1) || fail "install over an edit failed: $out"
[[ $(cat "$config") == "$edited" ]] || fail "cmake --install overwrote an edited configuration"
cmp -s "$shipped" "$config.new" || fail "the shipped configuration is not beside the edited one as zrelay.yaml.new"
grep -qF "Kept $config: it differs from the shipped configuration, which is installed as $config.new" <<<"$out" ||
  fail "the install did not say that it kept the edited configuration: $out"
echo "ok: cmake --install keeps an edited configuration, the shipped one beside it as zrelay.yaml.new"

ZRELAY_PACKAGE_BUILD=DEB DESTDIR=$stage cmake --install "$build" --prefix /usr >/dev/null
cmp -s "$shipped" "$config" || fail "a package build's staging did not get the shipped configuration"
[[ -f $stage/lib/systemd/system/zrelayd.service ]] || fail "a package build's unit is not in /lib/systemd/system"
echo "ok: a package build's staging gets the shipped configuration, the unit in /lib/systemd/system"
