#!/usr/bin/env bash
# run_fuzz.sh FUZZER SEEDS SECONDS [libFuzzer flags...]: a short libFuzzer run of one harness (ctest label fuzz).
# The corpus grows in a scratch copy, never in the source tree; a crash, leak, timeout or sanitizer report fails
# the test and leaves the reproducer in the build directory (crash-*, leak-*, timeout-*).
set -euo pipefail
fuzzer=${1:?usage: run_fuzz.sh FUZZER SEEDS SECONDS}; seeds=$2; secs=$3; shift 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus"
cp -r "$seeds"/. "$work/corpus/"
exec "$fuzzer" -max_total_time="$secs" -timeout=120 -rss_limit_mb=0 -print_final_stats=1 \
  -artifact_prefix="$PWD/" "$@" "$work/corpus"
