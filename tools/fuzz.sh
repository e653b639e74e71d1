#!/usr/bin/env bash
# Runs each libFuzzer target (tests/fuzz/) for a bounded time, starting from its seed corpus in
# tests/fuzz/corpus/<target>/ (new inputs go to a scratch copy, so the repo's corpus stays
# small). A crash, a sanitizer report or a disagreement with protobuf stops it with exit 1 and
# leaves the input in build/fuzz/artifacts/: make it a regression test.
#
#   cmake --workflow --preset fuzz && tools/fuzz.sh 60       # what CI runs
#   tools/fuzz.sh 1800                                        # by hand: 30 minutes per target
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${2:-build/fuzz}
mkdir -p "$build/artifacts"
for target in envelope config replay; do
  scratch=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$target/." "$scratch/"
  echo "fuzz: $target for ${seconds} s"
  status=0
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$build/tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/artifacts/$target-" \
    "$scratch" >"$build/artifacts/$target.log" 2>&1 || status=$?
  grep -E '^(stat::number_of_executed_units|==[0-9]+==|SUMMARY|artifact|INFO: seed)' \
    "$build/artifacts/$target.log" || true
  rm -rf "$scratch"
  ((status == 0)) || { echo "fuzz: $target FAILED (exit $status); see $build/artifacts/" >&2; exit 1; }
done
