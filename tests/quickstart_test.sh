#!/usr/bin/env bash
# The README's quick start, run verbatim from the repository's root, as a user on a fresh Debian
# 12 machine would: the three blocks marked `<!-- quickstart: N -->`, each as its own process
# ("terminal"):
#   1. installs, builds the release tree and runs zrelayd on its embedded default config;
#   2. `zrelay sub ... --count 1` waits for one message;
#   3. `zrelay send ...` sends it.
# Checks that the subscriber printed the line the README says and exited 0, then sends the relay
# Ctrl-C (SIGINT to its process group) and checks that it drained and exited 0.
#
# Not in CTest: block 1 builds build/release in the source tree. Run by .ci/run. Needs the
# relay's default ports (5555-5557, 9464) free, and says so if they are not.
#
# Waits are for conditions, with failure bounds only: the relay's ready line, then the
# subscription in the relay's own zrelay_subscriptions gauge (what a user waits for by typing
# slower than zmq connects), then the subscriber's exit.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "quickstart_test: FAILED: $*" >&2; exit 1; }

# The code block after `<!-- quickstart: N`, as .ci/run reads the test command.
block() {
  awk -v marker="<!-- quickstart: $1" 'index($0, marker) == 1 { armed = 1; next }
       armed && /^```/ { if (inside) exit; inside = 1; next }
       inside { print }' README.md
}
relay_cmd=$(block 1)
sub_cmd=$(block 2)
send_cmd=$(block 3)
[[ -n $relay_cmd && -n $sub_cmd && -n $send_cmd ]] || fail "README.md has no quickstart blocks 1, 2 and 3"

# What the README promises the subscriber prints, taken from the README itself.
expected=$(grep -o 'The subscriber prints `[^`]*`' README.md | sed 's/^The subscriber prints `//; s/`$//')
[[ -n $expected ]] || fail "README.md no longer says what the subscriber prints"

for port in 5555 5556 5557 9464; do
  if /usr/bin/python3 -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port))" 2>/dev/null; then :; else
    fail "port $port is in use: the quick start runs the relay on its default endpoints"
  fi
done

work=$(mktemp -d)
relay_pid=''
sub_pid=''
cleanup() {
  [[ -n $sub_pid ]] && kill "$sub_pid" 2>/dev/null || true
  [[ -n $relay_pid ]] && kill -KILL -- "-$relay_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "quickstart_test: terminal 1: $relay_cmd"
# Its own process group, as a terminal's foreground job, so that Ctrl-C can be sent to it.
setsid bash -euo pipefail -c "$relay_cmd" >"$work/relay.log" 2>&1 &
relay_pid=$!

# The build comes first: up to 40 minutes on a loaded 2-core machine (a failure bound).
deadline=$((SECONDS + 2400))
until grep -q ' ready: ' "$work/relay.log"; do
  kill -0 "$relay_pid" 2>/dev/null || { tail -40 "$work/relay.log" >&2; fail "block 1 ended before zrelayd was ready"; }
  ((SECONDS < deadline)) || { tail -40 "$work/relay.log" >&2; fail "zrelayd not ready within 40 minutes"; }
  sleep 1
done
echo "quickstart_test: zrelayd is ready"

metric() {
  /usr/bin/python3 - "$1" <<'EOF'
import sys, urllib.request
body = urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read().decode()
print(next((l.split()[1] for l in body.splitlines() if l.split(" ")[0] == sys.argv[1]), ""))
EOF
}
before=$(metric zrelay_subscriptions)
[[ $before == 0 ]] || fail "the fresh relay reports $before subscriptions, expected 0"

echo "quickstart_test: terminal 2: $sub_cmd"
bash -euo pipefail -c "$sub_cmd" >"$work/sub.out" 2>"$work/sub.err" &
sub_pid=$!
deadline=$((SECONDS + 60))
until [[ $(metric zrelay_subscriptions) == 1 ]]; do
  kill -0 "$sub_pid" 2>/dev/null || { cat "$work/sub.err" >&2; fail "block 2 exited before subscribing"; }
  ((SECONDS < deadline)) || fail "the relay saw no subscription within 60 s"
  sleep 0.1
done

echo "quickstart_test: terminal 3: $send_cmd"
timeout 60 bash -euo pipefail -c "$send_cmd" >"$work/send.out" 2>&1 || { cat "$work/send.out" >&2; fail "block 3 failed"; }

status=0
timeout 60 tail --pid="$sub_pid" -f /dev/null || fail "the subscriber did not exit within 60 s of the send"
wait "$sub_pid" || status=$?
sub_pid=''
((status == 0)) || { cat "$work/sub.err" >&2; fail "the subscriber exited $status"; }
got=$(cat "$work/sub.out")
[[ $got == "$expected" ]] || fail "the subscriber printed '$got', the README says '$expected'"
echo "quickstart_test: the subscriber printed '$got', as the README says"

# Ctrl-C in terminal 1: SIGINT to its foreground process group.
kill -INT -- "-$relay_pid"
status=0
timeout 60 tail --pid="$relay_pid" -f /dev/null || fail "zrelayd did not exit within 60 s of Ctrl-C"
wait "$relay_pid" || status=$?
relay_pid=''
((status == 0)) || { tail -20 "$work/relay.log" >&2; fail "block 1 exited $status after Ctrl-C"; }
grep -q 'drained.*received=1 published=1' "$work/relay.log" || { tail -20 "$work/relay.log" >&2; fail "zrelayd did not log its drain of the one message"; }
echo "ok: the README's quick start, verbatim: one message through, and a clean Ctrl-C"
