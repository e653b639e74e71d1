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
((${#missing[@]})) || exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
"${sudo[@]}" apt-get update -q
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
