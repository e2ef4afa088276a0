#!/usr/bin/env bash
# Our client through a real HTTP proxy (Debian's tinyproxy, with Basic
# authentication) to our server: the sizes scenario through the CONNECT
# tunnel, the proxy's log showing the CONNECT, and a wrong password refused
# (tinyproxy answers 401, not 407). Everything on 127.0.0.1; every process started here
# is stopped by PID on exit.
#
#   proxy.sh BIN_DIR
set -euo pipefail

bin_dir=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zws-proxy.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

command -v tinyproxy >/dev/null || { echo "proxy.sh: tinyproxy is not installed" >&2; exit 1; }

# Our server, on a free port it reports.
"$bin_dir/interop_server" --port 0 >"$tmp/server.out" 2>"$tmp/server.err" &
pids+=($!)
for _ in $(seq 150); do
    grep -q '^listening on ' "$tmp/server.out" 2>/dev/null && break
    sleep 0.1
done
port=$(sed -n 's/^listening on \([0-9]*\).*/\1/p' "$tmp/server.out")
[ -n "$port" ] || { echo "proxy.sh: server did not start" >&2; cat "$tmp/server.err" >&2; exit 1; }

# tinyproxy on a free port (asked from the kernel, then handed over).
pport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/tinyproxy.conf" <<CONF
Port $pport
Listen 127.0.0.1
Timeout 30
MaxClients 8
Allow 127.0.0.1
BasicAuth zws s3cret
LogLevel Info
CONF
[ "$(id -u)" -eq 0 ] && printf 'User nobody\nGroup nogroup\n' >>"$tmp/tinyproxy.conf"
tinyproxy -d -c "$tmp/tinyproxy.conf" >"$tmp/proxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    (echo >/dev/tcp/127.0.0.1/"$pport") 2>/dev/null && break
    sleep 0.1
done

url="ws://127.0.0.1:$port/"
timeout 90 "$bin_dir/interop_client" "$url" sizes --proxy "http://zws:s3cret@127.0.0.1:$pport"
grep -q "CONNECT" "$tmp/proxy.log" || {
    echo "proxy.sh: the proxy saw no CONNECT; its log:" >&2; cat "$tmp/proxy.log" >&2; exit 1; }
timeout 60 "$bin_dir/interop_client" "$url" connect-fail \
    --proxy "http://zws:wrong@127.0.0.1:$pport" --expect-error "refused CONNECT"
echo "proxy.sh: ok (tunnel through tinyproxy; a wrong password refused)"
