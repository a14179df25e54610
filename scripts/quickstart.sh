#!/usr/bin/env bash
# Builds gnnpool's main example in Release and runs it with its defaults on the bundled data
# (graph classification on data/PROTEINS). Extra arguments go to the example.
# Missing Debian packages are installed with apt when run as root.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/common.sh"

# The main example; the small `quickstart` program stands in until graph_classification exists.
example=graph_classification
if [ ! -f "$root/examples/$example.cpp" ]; then
  example=quickstart
fi

gnnpool_ensure_packages
gnnpool_set_jobs
cd "$root"
cmake --preset release >/dev/null
cmake --build --preset release --target "$example"
exec "$root/build/release/examples/$example" "$@"
