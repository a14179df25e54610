# Shared by scripts/*.sh and .ci/run (sourced, not run).

# Everything gnnpool's build, tests, examples and benchmarks need, as Debian packages (clang-14,
# its runtime libraries and its OpenMP runtime build the `ci` preset, the fuzz harnesses and the
# ThreadSanitizer test).
GNNPOOL_DEBIAN_PACKAGES=(cmake g++ make pkg-config libeigen3-dev catch2 libbenchmark-dev
                         libspectra-dev nlohmann-json3-dev clang-14 libclang-rt-14-dev
                         libomp-14-dev)

# The optional parts' packages, installed only for builds that turn them on
# (`gnnpool_ensure_packages "${GNNPOOL_OPTIONAL_PACKAGES[@]}"`): Open MPI for GNNPOOL_WITH_MPI,
# libtorch and Debian's python3-torch for GNNPOOL_WITH_TORCH (docs/torch.md); the ci preset
# enables both. A consumer who does not ask for them needs none of them.
GNNPOOL_OPTIONAL_PACKAGES=(libopenmpi-dev openmpi-bin libtorch-dev python3-torch)

# Installs the packages above, plus any given as arguments, with apt when one is missing (as
# root); otherwise says what to run.
gnnpool_ensure_packages() {
  local wanted=("${GNNPOOL_DEBIAN_PACKAGES[@]}" "$@")
  if ! command -v dpkg >/dev/null 2>&1; then
    echo "gnnpool: not a Debian system; make sure these (or their equivalents) are installed:" \
         "${wanted[*]}" >&2
    return 0
  fi
  local missing=() p
  for p in "${wanted[@]}"; do
    dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$p")
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  echo "gnnpool: missing Debian packages: ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "gnnpool: run as root, or first: sudo apt-get install -y ${wanted[*]}" >&2
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${wanted[@]}"
}

# Parallel jobs for builds and tests: all cores unless the caller chose.
gnnpool_set_jobs() {
  local cores
  cores="$(nproc 2>/dev/null || echo 2)"
  export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$cores}"
  export CTEST_PARALLEL_LEVEL="${CTEST_PARALLEL_LEVEL:-$cores}"
}
