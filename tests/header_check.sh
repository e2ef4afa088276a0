#!/usr/bin/env bash
# Every public header compiles on its own (strict C11, warnings as errors),
# and every zws_ / ZWS_ name its text mentions, comments included, is
# declared by the header or the headers it includes: a reader who includes
# it can use whatever it talks about.
# Usage: header_check.sh CC INCLUDE_DIR
set -euo pipefail
cc=$1 inc=$2
# Names that are not declarations: environment variables, and shorthands
# for a family (ZWS_RSVn, zws_http_list_*, ZWS_MD_GEN_ bits).
not_names='^(ZWS_LOOP|ZWS_SIMD|ZWS_RSVn|.*_)$'
fail=0
for h in "$inc"/zws/*.h; do
    b=$(basename "$h")
    if ! echo "#include <zws/$b>" |
        "$cc" -std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$inc" -x c -; then
        echo "zws/$b does not compile on its own"
        fail=1
        continue
    fi
    # -dD keeps macro definitions; comments are gone, so what remains is
    # what the header and its includes declare.
    declared=$(echo "#include <zws/$b>" | "$cc" -std=c11 -E -dD -I"$inc" -x c - |
        grep -v '^# ' | grep -o '\b[zZ][wW][sS]_[A-Za-z0-9_]*' | sort -u)
    for n in $(grep -o '\b[zZ][wW][sS]_[A-Za-z0-9_]*' "$h" | sort -u); do
        [[ $n =~ $not_names ]] && continue
        if ! grep -qx "$n" <<<"$declared"; then
            echo "zws/$b mentions $n, which neither it nor its includes declare"
            fail=1
        fi
    done
done
[ "$fail" = 0 ] && echo "every public header compiles alone and declares the names it mentions"
exit "$fail"
