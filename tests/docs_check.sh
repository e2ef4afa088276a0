#!/usr/bin/env bash
# The README agrees with the build: every option in its table has the
# default CMake gives it, the fuzz time is the same in CMake, the test
# script and the prose, and the test script ends with the CTest run whose
# closing lines the README quotes.
# Usage: docs_check.sh SOURCE_DIR
set -euo pipefail
src=$1
readme=$src/README.md
fail=0
bad() { echo "$*"; fail=1; }

# option(NAME "doc" DEFAULT) and set(NAME value CACHE ...) in the top CMakeLists.
cmake_default() {
    local name=$1 v
    v=$(grep -hoE "^option\($name \"[^\"]*\" [^)]+\)" "$src/CMakeLists.txt" "$src/tests/CMakeLists.txt" |
        sed -E 's/.*" ([^)]+)\)$/\1/' | head -1)
    [ -n "$v" ] || v=$(grep -hoE "^set\($name [^ ]+ CACHE" "$src/CMakeLists.txt" | awk '{print $2}' | head -1)
    echo "$v"
}

# README rows: | `A` / `B` | default | meaning |
while IFS='|' read -r _ names default _; do
    default=$(echo "$default" | sed -E 's/^ +| +$//g')
    for n in $(grep -oE 'ZWS_[A-Z_]+' <<<"$names"); do
        want=$(cmake_default "$n")
        case "$want" in
        '${ZWS_TOP_LEVEL}') [[ $default == *top-level* ]] ||
            bad "README: $n defaults to ON at top level, OFF as a subproject; it says '$default'" ;;
        '""') [ "$default" = '""' ] || bad "README: $n defaults to \"\"; it says '$default'" ;;
        '') bad "README lists $n, which CMakeLists.txt does not define" ;;
        *) [ "$default" = "$want" ] || bad "README: $n defaults to $want; it says '$default'" ;;
        esac
    done
done < <(grep -E '^\| `ZWS_' "$readme")

fuzz=$(cmake_default ZWS_FUZZ_SECONDS)
grep -q "ZWS_FUZZ_SECONDS:-$fuzz}" "$src/scripts/test.sh" ||
    bad "scripts/test.sh: the fuzz time default is not CMake's $fuzz s"
grep -q "ZWS_FUZZ_SECONDS\`, default $fuzz s" "$readme" ||
    bad "README: the Tests section does not give the fuzz time as $fuzz s"

last=$(grep -vE '^\s*(#|$)' "$src/scripts/test.sh" | tail -1)
[[ $last == ctest* && $last == *--no-label-summary* ]] ||
    bad "scripts/test.sh does not end with the CTest run (without a label summary): '$last'"
grep -q '^Total Test time (real) = T sec$' "$readme" ||
    bad "README does not quote the run's last line"

[ "$fail" = 0 ] && echo "README: option defaults, fuzz time and the test run's last lines agree with the build"
exit "$fail"
