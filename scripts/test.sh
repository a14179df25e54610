#!/usr/bin/env bash
# Builds gnnpool's tests, examples and benchmarks and runs every test (configure + build + ctest
# through the CMake workflow preset). Usage: scripts/test.sh [preset] [--fresh]
#   preset  ci (default, the README's test command: clang 14, -O0, assertions, asan + ubsan, MPI;
#           then the `torch` preset: the PyTorch bridge built with GCC and its tests (label
#           torch); then the `reliability` preset: short fuzz runs and corpus replays (label fuzz)
#           and the ThreadSanitizer test (label tsan), built with clang), dev (Debug), release,
#           asan (tests only, -O0), torch, reliability (the fuzz and tsan checks alone)
#   --fresh reconfigure build/<preset> from scratch
# Missing Debian packages are installed with apt when run as root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/common.sh"

preset=ci
fresh=()
for arg in "$@"; do
  case "$arg" in
    --fresh) fresh=(--fresh) ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) preset="$arg" ;;
  esac
done

if [ "$preset" = ci ] || [ "$preset" = torch ]; then
  gnnpool_ensure_packages "${GNNPOOL_OPTIONAL_PACKAGES[@]}"  # the MPI part (ci), the bridge (torch)
else
  gnnpool_ensure_packages
fi
gnnpool_set_jobs
cd "$root"
cmake --workflow --preset "$preset" "${fresh[@]}"
if [ "$preset" = ci ]; then
  cmake --workflow --preset torch "${fresh[@]}"
  cmake --workflow --preset reliability "${fresh[@]}"
fi
