# Sourced by the shell tests (cli_test.sh, md_test.sh): a scratch folder,
# background processes stopped by PID on the way out, failing with the
# tails of their output, and starting a server that prints
# "listening on PORT". Set test_name and startup_s before sourcing.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zws-$test_name.XXXXXX")
pids=()

cleanup() {
    local st=$?
    for p in ${pids[@]+"${pids[@]}"}; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in ${pids[@]+"${pids[@]}"}; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
    exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() {
    echo "$test_name: FAIL: $*" >&2
    for f in "$tmp"/*.out "$tmp"/*.err; do
        [ -s "$f" ] && { echo "--- $(basename "$f")" >&2; tail -n 20 "$f" >&2; }
    done
    exit 1
}

# start NAME CMD...: runs CMD in the background, output in $tmp/NAME.out and
# .err, stdin from $start_in (default /dev/null); waits for "listening on
# PORT" on its stdout and sets $port and $pid.
start() {
    local name=$1
    shift
    : >"$tmp/$name.out"
    "$@" <"${start_in:-/dev/null}" >>"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    port=
    for _ in $(seq $((startup_s * 20))); do
        port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p;T;q' "$tmp/$name.out")
        [ -n "$port" ] && return 0
        kill -0 "$pid" 2>/dev/null || fail "$name exited before listening"
        sleep 0.05
    done
    fail "no 'listening on PORT' from $name in $startup_s s"
}
