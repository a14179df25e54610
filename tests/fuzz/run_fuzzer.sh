#!/usr/bin/env bash
# Runs one libFuzzer harness of gnnpool (used by CTest and by scripts/fuzz.sh).
#   run_fuzzer.sh replay <binary> <tests/fuzz dir> <name>
#       runs every input of the committed corpus <tests/fuzz>/corpus/<name> once
#   run_fuzzer.sh fuzz <binary> <tests/fuzz dir> <name> <seconds> <work dir> [jobs]
#       fuzzes for <seconds> from a copy of that corpus (in <work dir>/corpus/<name>, so the
#       committed one is never modified), with <tests/fuzz>/dict/<name>.dict; a crash, leak,
#       sanitizer report or timeout is saved under <work dir>/artifacts/<name>/ and fails the run.
#       With jobs > 1, that many fuzzing processes share the corpus.
# Exit status: 0 when no input failed.
set -euo pipefail
mode=$1 binary=$(realpath "$2") fuzz_dir=$(realpath "$3") name=$4
corpus="$fuzz_dir/corpus/$name"
dict="$fuzz_dir/dict/$name.dict"
# Limits: a small input must not take seconds or allocate gigabytes (readers bound their sizes
# by what the file justifies, docs/reliability.md), so both are findings.
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
case "$mode" in
  replay)
    exec "$binary" "${limits[@]}" -runs=0 "$corpus"
    ;;
  fuzz)
    seconds=$5 jobs=${7:-1}
    mkdir -p "$6/corpus/$name" "$6/artifacts/$name"
    work=$(realpath "$6")
    cp -n "$corpus"/* "$work/corpus/$name"/ 2>/dev/null || true
    dict_arg=()
    [ -f "$dict" ] && dict_arg=(-dict="$dict")
    max_len=4096
    [ "$name" = api ] && max_len=512
    parallel=()
    if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); fi
    cd "$work/artifacts/$name"
    exec "$binary" "${limits[@]}" "${dict_arg[@]}" "${parallel[@]}" -max_len=$max_len \
         -max_total_time="$seconds" -print_final_stats=1 \
         -artifact_prefix="$work/artifacts/$name/" "$work/corpus/$name"
    ;;
  *)
    echo "usage: run_fuzzer.sh replay|fuzz <binary> <tests/fuzz dir> <name> [seconds work_dir [jobs]]" >&2
    exit 2
    ;;
esac
