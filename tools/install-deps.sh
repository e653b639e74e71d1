#!/usr/bin/env bash
# Installs every Debian 12 package zrelay needs to build, run and test.
# Idempotent and fast: apt is only touched when something is missing.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  # runtime and build libraries
  libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler libcli11-dev libspdlog-dev
  libyaml-cpp-dev libsystemd-dev libcpp-httplib-dev
  # zrelayd's metrics server: bounds on connections, memory and time per client, one event loop
  # (cpp-httplib, still the client tool's, let 8 idle sockets starve /healthz; issue 15)
  libmicrohttpd-dev
  # zrelayd's allocator: glibc's malloc contends on an arena lock when one thread frees what
  # another allocated, as libzmq does with every stamped message (CMakeLists.txt, ZRELAY_MALLOC)
  libmimalloc-dev
  # the man pages: help2man writes zrelayd(8) and zrelay(1) from their --help (docs/man/), and
  # tests/man_pages_test.py renders all three with groff to catch roff warnings
  help2man groff-base
  # systemd-analyze, for the unit file tests
  systemd
  # the Debian package: cpack -G DEB runs dpkg-shlibdeps for its Depends (tools/packaging/deb.cmake)
  dpkg-dev
  # tests/container_test.sh runs compose.yaml's services with it (it pulls in podman)
  podman-compose
  # examples/c: the C client example's protobuf library and code generator (protoc-c)
  libprotobuf-c-dev protobuf-c-compiler
  # tests, benchmarks, lint
  libgtest-dev libgmock-dev libbenchmark-dev libboost-dev libreaderwriterqueue-dev
  python3 python3-zmq python3-protobuf clang-format clang-tidy
  # benchmarks: relay_bench's NATS baseline, the server and Debian's C client
  nats-server libnats-dev
  # the fuzz preset: clang with libFuzzer
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# promtool: tests/monitoring_test.py checks docs/monitoring/'s alert rules and dashboard queries
# with it. Debian ships it only inside the prometheus package, whose installation would also
# start a Prometheus server on a machine that runs systemd: take the one program out instead.
if ! command -v promtool >/dev/null; then
  echo "install-deps: installing promtool from Debian's prometheus package" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "${sudo[@]}" apt-get update -q
  (cd "$work" && apt-get download -q prometheus 2>/dev/null)
  dpkg-deb --fsys-tarfile "$work"/prometheus_*.deb | tar -x -C "$work" ./usr/bin/promtool
  "${sudo[@]}" install -m 0755 "$work/usr/bin/promtool" /usr/local/bin/promtool
  promtool --version >/dev/null
fi
