#!/usr/bin/env bash
# The benchmark tables: the protocol core (masking kernels, frame parsing,
# UTF-8 validation, the parser end to end) and market data (the extractor
# beside jansson and simdjson, copy and handoff costs, the order book), each
# against its baseline in the same run. Arguments go to zws-bench (try
# --help, --json, or a suite name).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DZWS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target zws-bench >/dev/null
# the simdjson comparison exists when CMake found simdjson and a C++ compiler
cmake --build build/release -j"$(nproc)" --target zws-bench-simdjson >/dev/null 2>&1 || true
build/release/bench/zws-bench "$@"
if [ $# -eq 0 ] && [ -x build/release/bench/zws-bench-simdjson ]; then
    echo
    build/release/bench/zws-bench-simdjson
fi
