#!/usr/bin/env bash
# The demo: installs what is missing, builds an optimised zws and prints the
# benchmark tables of the protocol core (masking kernels, frame parsing,
# UTF-8 validation, the parser end to end), each against its naive baseline.
# Arguments go to zws-bench (try --help, --json, or a suite name).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DZWS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target zws-bench >/dev/null
exec build/release/bench/zws-bench "$@"
