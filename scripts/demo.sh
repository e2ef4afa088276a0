#!/usr/bin/env bash
# The demo: installs what is missing, builds an optimised zws, and runs the
# market-data pipeline for a few seconds: `zws md` against the exchange feed
# it starts in-process on loopback (offline), parsing every message in place,
# keeping an order book per symbol, with the live view on a terminal, then
# the summary and a check of every book against the feed's own.
# Arguments go to `zws md` (try --help, --strategy copy, --json).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DZWS_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target zws >/dev/null
exec build/release/tools/zws md --duration 6 --rate max --verify "$@"
