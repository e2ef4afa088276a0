#!/usr/bin/env bash
# The full test suite, as CI runs it:
#   build/test  gcc, -Werror: unit tests, install check, benchmark smoke run
#   build/asan  clang, -Werror, ASan + UBSan: the same unit tests, and every
#               libFuzzer target for ZWS_FUZZ_SECONDS (default 30) each
#   build/tsan  clang, ThreadSanitizer: the event-loop server's tests (loops
#               on several threads, cross-thread sends and publishes)
# One CTest run covers all three trees, and its summary ends the output:
# "100% tests passed, 0 tests failed out of N", then "Total Test time
# (real) = ... sec" last (no label summary between them). A failure adds
# the failed tests and "Errors while running CTest" after it, and ctest
# exits 8.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

jobs=$(nproc)
fuzz_seconds=${ZWS_FUZZ_SECONDS:-30}
root=$(pwd)

cmake -S . -B build/asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DZWS_SANITIZE=ON -DZWS_FUZZ=ON -DZWS_WERROR=ON -DZWS_BUILD_BENCH=OFF \
    -DZWS_TEST_SUFFIX=_asan -DZWS_FUZZ_SECONDS="$fuzz_seconds" >/dev/null
cmake --build build/asan -j"$jobs"

cmake -S . -B build/tsan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DZWS_TSAN=ON -DZWS_WERROR=ON -DZWS_BUILD_BENCH=OFF -DZWS_BUILD_TOOLS=OFF \
    -DZWS_TESTS_ONLY=test_server -DZWS_TEST_SUFFIX=_tsan >/dev/null
cmake --build build/tsan -j"$jobs"

cmake -S . -B build/test -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DZWS_WERROR=ON -DZWS_EXTRA_TEST_DIRS="$root/build/asan;$root/build/tsan" >/dev/null
cmake --build build/test -j"$jobs"

ctest --test-dir build/test --output-on-failure --no-label-summary -j"$jobs"
