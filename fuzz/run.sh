#!/usr/bin/env bash
# Runs a libFuzzer target of the fuzz build for a bounded time (docs/fuzzing.md).
#   fuzz/run.sh <fuzz binary> <seconds>
# New inputs go to a temporary corpus directory (removed afterwards) in front of the seed
# corpus fuzz/corpus/rest, which libFuzzer only reads, so the repository stays clean. Crash,
# timeout and out-of-memory inputs are written to build/fuzz/artifacts/ (override with
# FUZZ_ARTIFACTS). Set FUZZ_CORPUS to a directory to keep the grown corpus between runs.
# Exit status: 0 when the run ended without a finding, libFuzzer's non-zero status otherwise.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
binary="${1:?usage: fuzz/run.sh <fuzz binary> <seconds>}"
seconds="${2:-60}"
artifacts="${FUZZ_ARTIFACTS:-$here/../build/fuzz/artifacts}"
mkdir -p "$artifacts"

if [[ -n "${FUZZ_CORPUS:-}" ]]; then
  corpus="$FUZZ_CORPUS"
  mkdir -p "$corpus"
else
  corpus="$(mktemp -d "${TMPDIR:-/tmp}/fuzz_rest_corpus.XXXXXX")"
  trap 'rm -rf "$corpus"' EXIT
fi

# -timeout: one input taking longer than 10 s is a hang; -rss_limit_mb bounds memory;
# -max_len: requests up to 64 KiB (bodies past that add no new parser paths).
# ASan: abort on the first report; UBSan: every report is fatal (the build sets
# -fno-sanitize-recover), with a stack.
ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}" \
UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
"$binary" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -dict="$here/rest.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 \
  "$corpus" "$here/corpus/rest"
