#!/usr/bin/env bash
# Headless Chromium against zws's servers with permessage-deflate: starts
# browser_server (the event loop: the page on GET /, an echo on /ws), points
# Chromium at it, and waits for the page's "RESULT" line: text and binary
# from 10 B to 1 MiB echoed and checked in the browser, and the extension
# the browser saw (ws.extensions); then that every message went compressed
# both ways: the server's count of the page's messages that came with RSV1
# (zws_ws_compressed, ev.rsv; its "received:" line), and Chromium's own
# record of the frames it sent and received (its net log, read by
# netlog_ws.py): Chromium compresses every message, 10 B included, and so
# does zws (threshold 0). In blocking mode the page's WebSocket
# goes instead to interop_server (the blocking API, a thread per
# connection) on a port of its own, named to the page as ?ws=URL; the page
# still comes from, and reports to, browser_server. Chromium and the
# servers are stopped by PID on the way out (trap on EXIT); a browser that
# hangs fails the test after the time limit.
#
#   browser.sh BIN_DIR EXPECT [loop|blocking]
#     EXPECT  the extension both sides must report, short ("on",
#             "scnt,sbits=10") or long (common.sh); the server's deflate
#             spec comes from ZWS_INTEROP_DEFLATE ("on" when unset)
#     loop (the default) or blocking: the server the WebSocket talks to
# Exit 77 (CTest: skipped) only when no chromium is installed.
set -euo pipefail

bin_dir=$1 expect_short=$2 mode=${3:-loop}
case $mode in loop | blocking) ;; *) echo "browser.sh: unknown mode '$mode'" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
limit_s=60
startup_s=15
export NO_PROXY='*' no_proxy='*'
export ZWS_INTEROP_DEFLATE=${ZWS_INTEROP_DEFLATE:-on} # for either server
# shellcheck source=common.sh
. "$here/common.sh"
expect=$(interop_expand_expect "$expect_short")

browser=
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then browser=$(command -v "$b"); break; fi
done
if [ -z "$browser" ]; then
    echo "browser.sh: SKIP: chromium is not installed (scripts/deps.sh installs it)"
    exit 77
fi

test_name=browser.sh
# shellcheck source=../proc.sh
. "$here/../proc.sh"
browser_pid=

# Chromium runs in a process group of its own (setsid), led by the PID we
# started: its helper processes go with it. SIGTERM to the browser process
# alone first, so it shuts down in order and its net log (written by the
# network service, a helper) is complete; then to the group.
stop_browser() {
    [ -n "$browser_pid" ] || return 0
    local pid=$browser_pid
    browser_pid=
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 10); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stops the servers (proc.sh's pids), the last started first; fails when
# one did not exit with status 0.
stop_servers() {
    local pid st all=0
    while [ "${#pids[@]}" -gt 0 ]; do
        pid=${pids[-1]}
        unset 'pids[-1]'
        st=0
        interop_stop "$pid" || st=$?
        [ "$st" -eq 0 ] || { echo "browser.sh: server $pid exited with status $st" >&2; all=1; }
    done
    return "$all"
}

# Replaces proc.sh's: Chromium first, by its process group.
cleanup() {
    local st=$?
    stop_browser
    stop_servers || true
    rm -rf "$tmp"
    exit "$st"
}

# The page comes from browser_server; so does the WebSocket, unless it goes
# to interop_server (blocking). Each server's stdout is $tmp/NAME.out.
start browser_server "$bin_dir/browser_server" --page "$here/browser.html"
url="http://127.0.0.1:$port/"
ws_server=browser_server # the one whose "ext: ..." line is zws's view
if [ "$mode" = blocking ]; then
    # The blocking server closes a connection that agreed something else
    # with 4001 at once, so the page fails too.
    ws_server=interop_server
    start interop_server env ZWS_INTEROP_EXPECT="$expect" "$bin_dir/interop_server" --port 0
    url="${url}?ws=ws://127.0.0.1:$port/ws"
fi
echo "browser.sh: $("$browser" --version 2>/dev/null || echo chromium) -> $url; expecting '$expect'"

setsid "$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --no-first-run --no-default-browser-check --disable-extensions --disable-sync \
    --disable-background-networking --disable-component-update --no-proxy-server \
    --user-data-dir="$tmp/profile" --log-net-log="$tmp/netlog.json" \
    "$url" >"$tmp/chromium.err" 2>&1 &
browser_pid=$!

result=
deadline=$((SECONDS + limit_s))
while [ "$SECONDS" -lt "$deadline" ]; do
    result=$(sed -n 's/^RESULT //p;T;q' "$tmp/browser_server.out")
    [ -n "$result" ] && break
    kill -0 "$browser_pid" 2>/dev/null || fail "chromium exited before the page reported"
    sleep 0.1
done
[ -n "$result" ] || fail "no RESULT from the page within ${limit_s} s"
# What Chromium's net log should say: every message of the page (its
# echoes, and in loop mode its RESULT on the same socket) sent compressed,
# every echo received compressed. Chromium writes the log as it goes, a
# little behind: wait for it (bounded) before stopping the browser.
messages=$(sed -n 's/^ok ext=.* messages=\([0-9]*\)$/\1/p' <<<"$result")
page_sent=$((${messages:-0} + 1))
[ "$mode" = loop ] || page_sent=${messages:-0}
want="sent $page_sent compressed $page_sent received ${messages:-0} compressed ${messages:-0}"
for _ in $(seq 50); do
    [ "$("$here/netlog_ws.py" "$tmp/netlog.json" 2>/dev/null)" = "$want" ] && break
    sleep 0.1
done
stop_browser

echo "browser.sh: the page says: $result"
server_ext=$(sed -n 's/^ext: //p;T;q' "$tmp/$ws_server.out")
[[ $result == "ok "* ]] || fail "the page reported a failure: $result"
browser_ext=$(sed -n 's/^ok ext=\(.*\) messages=[0-9]*$/\1/p' <<<"$result")
[ "$server_ext" = "$expect" ] || fail "zws agreed '$server_ext', expected '$expect'"
[ "$browser_ext" = "$expect" ] || fail "the browser agreed '$browser_ext', expected '$expect'"
stop_servers || fail "a server did not exit cleanly after SIGTERM"

# Compressed both ways: zws's word on the page's messages (its RESULT not
# counted), then Chromium's.
received=$(sed -n 's/^received: //p;T;q' "$tmp/$ws_server.out")
echo "browser.sh: zws on the page's messages: ${received:-nothing}"
[ "$received" = "ok: $messages of $messages messages came compressed (the peer's threshold 0)" ] ||
    fail "zws should have received all $messages of the page's messages compressed: '$received'"
[ -s "$tmp/netlog.json" ] || fail "chromium wrote no net log"
wire=$("$here/netlog_ws.py" "$tmp/netlog.json") || fail "cannot read chromium's net log"
echo "browser.sh: chromium's net log: $wire"
[ "$wire" = "$want" ] || fail "chromium's net log says '$wire', expected '$want'"
echo "browser.sh: PASS: Chromium echoed through zws ($mode) with '$server_ext'," \
    "every message compressed both ways"
