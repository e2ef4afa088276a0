#!/usr/bin/env bash
# Headless Chromium against the event-loop server with permessage-deflate:
# starts browser_server (the page on GET /, an echo on /ws), points
# Chromium at it, and waits for the page's "RESULT" line: text and binary
# from 10 B to 1 MiB echoed and checked in the browser, and the extension
# the browser saw (ws.extensions). Chromium and the server are stopped by
# PID on the way out (trap on EXIT); a browser that hangs fails the test
# after the time limit.
#
#   browser.sh BIN_DIR EXPECT
#     EXPECT  the extension both sides must report, short ("on",
#             "scnt,sbits=10") or long (expect.sh); the server's deflate
#             spec comes from ZWS_INTEROP_DEFLATE ("on" when unset)
# Exit 77 (CTest: skipped) only when no chromium is installed.
set -euo pipefail

bin_dir=$1 expect_short=$2
here=$(cd "$(dirname "$0")" && pwd)
limit_s=60
startup_s=15
export NO_PROXY='*' no_proxy='*'
# shellcheck source=expect.sh
. "$here/expect.sh"
expect=$(interop_expand_expect "$expect_short")

browser=
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
    echo "browser.sh: SKIP: chromium is not installed (scripts/deps.sh installs it)"
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zws-browser.XXXXXX")
server_pid=
browser_pid=

# Chromium runs in a process group of its own (setsid), led by the PID we
# started: its helper processes go with it.
stop_browser() {
    [ -n "$browser_pid" ] || return 0
    local pid=$browser_pid
    browser_pid=
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_server() {
    [ -n "$server_pid" ] || return 0
    local pid=$server_pid st=0
    server_pid=
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "browser.sh: server $pid ignored SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || st=$?
    return "$st"
}

cleanup() {
    local st=$?
    stop_browser
    stop_server || true
    rm -rf "$tmp"
    exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_logs() {
    echo "--- browser_server output:" >&2
    cat "$tmp/server.out" >&2 || true
    echo "--- chromium (last lines):" >&2
    tail -n 20 "$tmp/browser.log" >&2 || true
}

fail() {
    echo "browser.sh: FAIL: $*" >&2
    show_logs
    exit 1
}

: >"$tmp/server.out"
"$bin_dir/browser_server" --page "$here/browser.html" >>"$tmp/server.out" &
server_pid=$!
port=
for _ in $(seq $((startup_s * 20))); do
    port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p;T;q' "$tmp/server.out")
    [ -n "$port" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "browser_server exited before listening"
    sleep 0.05
done
[ -n "$port" ] || fail "no 'listening on PORT' from browser_server in ${startup_s} s"
url="http://127.0.0.1:$port/"
echo "browser.sh: $("$browser" --version 2>/dev/null || echo chromium) -> $url; expecting '$expect'"

setsid "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --disable-extensions --disable-sync \
    --disable-background-networking --disable-component-update --no-proxy-server \
    --user-data-dir="$tmp/profile" "$url" >"$tmp/browser.log" 2>&1 &
browser_pid=$!

result=
deadline=$((SECONDS + limit_s))
while [ "$SECONDS" -lt "$deadline" ]; do
    result=$(sed -n 's/^RESULT //p;T;q' "$tmp/server.out")
    [ -n "$result" ] && break
    kill -0 "$browser_pid" 2>/dev/null || fail "chromium exited before the page reported"
    sleep 0.1
done
[ -n "$result" ] || fail "no RESULT from the page within ${limit_s} s"
stop_browser

echo "browser.sh: the page says: $result"
server_ext=$(sed -n 's/^ext: //p;T;q' "$tmp/server.out")
[[ $result == "ok "* ]] || fail "the page reported a failure: $result"
browser_ext=$(sed -n 's/^ok ext=\(.*\) messages=[0-9]*$/\1/p' <<<"$result")
[ "$server_ext" = "$expect" ] || fail "zws agreed '$server_ext', expected '$expect'"
[ "$browser_ext" = "$expect" ] || fail "the browser agreed '$browser_ext', expected '$expect'"
stop_server || fail "browser_server exited with status $? after SIGTERM"
echo "browser.sh: PASS: Chromium echoed through zws with '$server_ext'"
