# zrelayd in a container: built on Debian 12 with its -dev packages; run from scratch with only
# the two binaries, the shared objects they load, the configuration and a runtime directory, as
# the numeric non-root user 10001. No shell, no package manager: 33 MB in all.
#
#   tools/build-image.sh                  (podman build --format docker: OCI drops HEALTHCHECK)
#   podman run -p 5555:5555 -p 5556:5556 -p 5557:5557 -p 9464:9464 zrelay --log-level debug
#
# Arguments to `run` add to the configuration: the file comes from ZRELAY_CONFIG, not from a CMD
# they would replace. Mount your own over /etc/zrelay/zrelay.yaml. The HEALTHCHECK probes the
# zrelayd this container runs (what it recorded in /run/zrelay: pid, relay instance, bound
# endpoints), not the file. tests/container_test.sh builds it and runs it (README, compose.yaml).

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
# The commit zrelay_build_info names: the context has no .git (.dockerignore), so
# tools/build-image.sh passes what git says outside; a bare `podman build` says "unknown".
ARG ZRELAY_COMMIT=unknown
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DZRELAY_BUILD_TESTS=OFF -DZRELAY_BUILD_BENCHMARKS=OFF -DZRELAY_MAN_PAGES=OFF \
      -DZRELAY_COMMIT="$ZRELAY_COMMIT" \
 && cmake --build /build --target zrelayd zrelay \
 && strip /build/daemon/zrelayd /build/tools/zrelay \
 && sed -e 's|tcp://127\.0\.0\.1:|tcp://*:|' -e 's|"127\.0\.0\.1:9464"|"0.0.0.0:9464"|' \
      config/zrelay.yaml > /build/zrelay.yaml \
 && /build/daemon/zrelayd --config /build/zrelay.yaml --check-config > /dev/null

# The runtime's tree: the binaries and exactly the shared objects they load, as ldd lists them
# (every dependency, recursively, and the dynamic loader), at the paths the loader looks in; a
# passwd entry for uid 10001 so that tools name it; /tmp; and /run/zrelay, where zrelayd records
# what it runs for the healthcheck (run_state.hpp): its own, 0750. ldd runs the binaries' own loader,
# so a library it cannot find fails the build here rather than the container at start.
RUN mkdir -p /rootfs/usr/bin /rootfs/etc/zrelay /rootfs/tmp \
 && cp /build/daemon/zrelayd /build/tools/zrelay /rootfs/usr/bin/ \
 && cp /build/zrelay.yaml /rootfs/etc/zrelay/zrelay.yaml \
 && ! ldd /rootfs/usr/bin/zrelayd /rootfs/usr/bin/zrelay | grep 'not found' \
 && ldd /rootfs/usr/bin/zrelayd /rootfs/usr/bin/zrelay \
      | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}' \
      | sort -u | xargs -I{} cp -L --parents {} /rootfs \
 && echo 'zrelay:x:10001:10001:zrelay:/nonexistent:/nonexistent' > /rootfs/etc/passwd \
 && echo 'zrelay:x:10001:' > /rootfs/etc/group \
 && chmod 1777 /rootfs/tmp \
 && install -d -m 0750 -o 10001 -g 10001 /rootfs/run/zrelay

FROM scratch
COPY --from=build /rootfs /
USER 10001:10001
ENV PATH=/usr/bin \
    ZRELAY_CONFIG=/etc/zrelay/zrelay.yaml \
    ZRELAY_RUNTIME_DIR=/run/zrelay
EXPOSE 5555 5556 5557 9464
STOPSIGNAL SIGTERM
# Exec form: there is no shell. It reads ZRELAY_RUNTIME_DIR, not the file (see above).
HEALTHCHECK --interval=30s --timeout=5s --start-period=5s --retries=3 \
  CMD ["/usr/bin/zrelayd", "healthcheck", "--timeout-ms", "3000"]
ENTRYPOINT ["/usr/bin/zrelayd"]
