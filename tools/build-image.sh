#!/usr/bin/env bash
# Builds the zrelay container image and fails if it came out without its HEALTHCHECK.
#
#   tools/build-image.sh [TAG] [podman build options...]     TAG defaults to zrelay
#
# HEALTHCHECK is a Docker image field: podman and buildah build OCI images by default, which
# have no such field, and drop it with only a warning. So this builds with --format docker and
# then reads the healthcheck back from the built image; anything else is an error. podman and
# buildah read BUILDAH_ISOLATION (chroot where the machine allows no namespaces; the tests do).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-zrelay}
(($# == 0)) || shift
# The build context has no .git (.dockerignore): the commit for zrelay_build_info comes from here.
commit=$(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)
podman build --format docker --build-arg "ZRELAY_COMMIT=$commit" "$@" -t "$tag" "$src"
healthcheck=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$tag")
if [[ $healthcheck != *zrelayd* ]]; then
  echo "tools/build-image.sh: FAILED: image $tag has no HEALTHCHECK (got: $healthcheck);" \
    "it must be built with --format docker" >&2
  exit 1
fi
echo "built $tag with its HEALTHCHECK: $healthcheck"
