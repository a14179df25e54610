#!/usr/bin/env bash
# Fuzzes gnnpool's readers, pyramid loader and pooler API with libFuzzer + ASan + UBSan
# (docs/reliability.md). Usage: scripts/fuzz.sh [--seconds N] [--jobs J] [harness...]
#   harness     edge_list, tu, linqs, pyramid, api (default: all of them, one after the other)
#   --seconds   fuzzing time per harness (default 600; hours are fine, see the docs)
#   --jobs      fuzzing processes per harness sharing one corpus (default 1)
# Builds the `reliability` preset (clang) into build/reliability first. The corpus grows in
# build/reliability/fuzz-work/corpus/<harness> (seeded from tests/fuzz/corpus/<harness>, which
# is never modified); crashes, leaks, sanitizer reports and timeouts are saved in
# build/reliability/fuzz-work/artifacts/<harness>/ and make the script fail.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/common.sh"

seconds=600
jobs=1
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=(edge_list tu linqs pyramid api)

gnnpool_ensure_packages
gnnpool_set_jobs
cd "$root"
cmake --preset reliability >/dev/null
cmake --build --preset reliability --target $(printf 'gnnpool_fuzz_%s ' "${harnesses[@]}")
status=0
for h in "${harnesses[@]}"; do
  echo "== fuzzing $h for ${seconds} s (${jobs} job(s))"
  tests/fuzz/run_fuzzer.sh fuzz "build/reliability/tests/fuzz/gnnpool_fuzz_$h" tests/fuzz "$h" "$seconds" \
    build/reliability/fuzz-work "$jobs" || status=1
done
exit $status
