#!/usr/bin/env bash
# The chat example end to end: a server, one client that listens and one
# that says a line; the listener must see it. Processes are stopped by PID.
#   examples_test.sh BUILD_DIR
set -euo pipefail
bin=$1/examples
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zws-examples.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

"$bin/chat_server" 0 >"$tmp/server.out" &
pids+=($!)
port=
for _ in $(seq 100); do
    port=$(sed -n 's|^chat on ws://localhost:\([0-9]*\)/.*|\1|p' "$tmp/server.out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "FAIL: chat_server did not start" >&2; exit 1; }
url=ws://127.0.0.1:$port/room/test

mkfifo "$tmp/listen.in"
"$bin/chat_client" "$url" <"$tmp/listen.in" >"$tmp/listen.out" &
pids+=($!)
exec 3>"$tmp/listen.in" # keep the listener's stdin open
sleep 0.3
(sleep 0.3; echo "hello from the example") | timeout 5 "$bin/chat_client" "$url" >/dev/null
for _ in $(seq 100); do
    grep -q "hello from the example" "$tmp/listen.out" && break
    sleep 0.05
done
grep -q "hello from the example" "$tmp/listen.out" ||
    { echo "FAIL: the listener did not get the line:" >&2; cat "$tmp/listen.out" >&2; exit 1; }
grep -q "someone joined test" "$tmp/listen.out" ||
    { echo "FAIL: no join notice" >&2; exit 1; }
exec 4<>"/dev/tcp/127.0.0.1/$port"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&4
health=$(timeout 5 cat <&4 || true)
exec 4<&-
[[ $health == "HTTP/1.1 200 OK"* && $health == *$'\r\n\r\nok' ]] ||
    { echo "FAIL: /health answered: $health" >&2; exit 1; }
exec 3>&-
echo "PASS: chat example"
