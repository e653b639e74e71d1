# zrelayd in a container: built on Debian 12 with its -dev packages, run on Debian 12 slim with
# only the runtime libraries, as a non-root user, on the example configuration with every
# endpoint listening on all interfaces.
#
#   podman build -t zrelay .            (docker build works the same)
#   podman run -p 5555:5555 -p 5556:5556 -p 5557:5557 -p 9464:9464 \
#       -v ./my.yaml:/etc/zrelay/zrelay.yaml:ro zrelay
#
# tests/container_test.sh builds it and runs zrelayd --version, --check-config and the
# healthcheck inside it.

FROM docker.io/library/debian:bookworm-slim AS build
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      g++ cmake ninja-build pkg-config libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler \
      libcli11-dev libspdlog-dev libyaml-cpp-dev libsystemd-dev libcpp-httplib-dev libmimalloc-dev \
      libmicrohttpd-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt CMakePresets.json README.md ./
COPY daemon daemon
COPY proto proto
COPY config config
COPY systemd systemd
COPY tools tools
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DZRELAY_BUILD_TESTS=OFF -DZRELAY_BUILD_BENCHMARKS=OFF \
 && cmake --build /build --target zrelayd zrelay \
 && strip /build/daemon/zrelayd /build/tools/zrelay \
 && sed -e 's|tcp://127\.0\.0\.1:|tcp://*:|' -e 's|"127\.0\.0\.1:9464"|"0.0.0.0:9464"|' \
      config/zrelay.yaml > /build/zrelay.yaml \
 && /build/daemon/zrelayd --config /build/zrelay.yaml --check-config > /dev/null

# libmicrohttpd12: zrelayd's metrics server, bounded against hostile clients
# (daemon/ops/metrics_server.cpp); libcpp-httplib0.11 (with libssl3, libbrotli1) is the zrelay tool's.
# libmimalloc2.0: zrelayd is linked against mimalloc, which takes the frees libzmq's I/O thread
# makes of frames the relay thread allocated (and back) without the arena lock glibc's malloc
# contends on (CMakeLists.txt, ZRELAY_MALLOC).
FROM docker.io/library/debian:bookworm-slim
RUN apt-get update -q \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libzmq5 libprotobuf32 libspdlog1.10 libfmt9 libyaml-cpp0.7 libcpp-httplib0.11 libssl3 \
      libbrotli1 libsystemd0 libmimalloc2.0 libmicrohttpd12 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log \
 && useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
      --uid 10001 zrelay
COPY --from=build /build/daemon/zrelayd /usr/bin/zrelayd
COPY --from=build /build/tools/zrelay /usr/bin/zrelay
COPY --from=build /build/zrelay.yaml /etc/zrelay/zrelay.yaml
USER zrelay
EXPOSE 5555 5556 5557 9464
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/bin/zrelayd", "healthcheck", "--config", "/etc/zrelay/zrelay.yaml", "--timeout-ms", "3000"]
ENTRYPOINT ["/usr/bin/zrelayd"]
CMD ["--config", "/etc/zrelay/zrelay.yaml"]
