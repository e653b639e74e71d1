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
#  3. `cmake --install` into a staging root puts the binary, the unit and the configuration in
#     place, and the installed unit starts that binary on that configuration.
# usage: systemd_unit_test.sh UNIT_WITH_BUILD_PATHS BUILD_DIR
set -euo pipefail
unit=$1
build=$2
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
         etc/zrelay/zrelay.yaml; do
  [[ -f $stage/$f ]] || fail "cmake --install did not install /$f"
done
grep -qx 'ExecStart=/usr/bin/zrelayd --config /etc/zrelay/zrelay.yaml' \
  "$stage/usr/lib/systemd/system/zrelayd.service" || fail "installed unit's ExecStart is wrong"
"$stage/usr/bin/zrelayd" --config "$stage/etc/zrelay/zrelay.yaml" --check-config >/dev/null ||
  fail "the installed configuration does not validate"
echo "ok: cmake --install (binary, unit, configuration)"
