#!/usr/bin/env bash
# The include rules the include path cannot enforce (daemon/README.md): no `#include "../...`
# (it would reach a header past the layer's include path), and each third-party library's
# headers, which sit on the system include path for everyone, included only by its own layer.
# Usage: check_includes.sh [SOURCE_DIR]; run by CTest (layering.include_lines) and tools/lint.sh.
set -euo pipefail
cd "${1:-$(dirname "$0")/../..}"
status=0
refuse() { # refuse MESSAGE PATTERN [PATHSPEC...]: fail on any tracked line matching PATTERN
  local message=$1 pattern=$2
  shift 2
  if git grep --untracked -n -E "$pattern" -- "$@"; then
    echo "check_includes: $message" >&2
    status=1
  fi
}
refuse 'an include reaches out of its directory; use the include path' \
  '^\s*#\s*include\s*"\.\./' 'daemon/' 'tools/' 'tests/'
refuse 'only daemon/config may include yaml-cpp' '^\s*#\s*include\s*<yaml-cpp/' \
  'daemon/' ':!daemon/config/'
refuse 'only daemon/wire may include protobuf' \
  '^\s*#\s*include\s*[<"](google/protobuf/|zrelay/v1/)' 'daemon/' ':!daemon/wire/'
refuse 'only daemon/main may include CLI11' '^\s*#\s*include\s*<CLI/' 'daemon/' ':!daemon/main/'
refuse 'only daemon/ops may include libmicrohttpd and libsystemd' \
  '^\s*#\s*include\s*<(microhttpd\.h|systemd/)' 'daemon/' ':!daemon/ops/'
[[ $status -eq 0 ]] && echo "check_includes: clean"
exit $status
