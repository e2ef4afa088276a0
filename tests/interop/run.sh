#!/usr/bin/env bash
# Runs one interop test: starts a server as a child, waits for its
# "listening on PORT" line, runs a client against it, then stops the server
# and checks how both ended. Every process it starts is stopped by PID on the
# way out, whatever happens (trap on EXIT).
#
#   run.sh BIN_DIR SERVER CLIENT SCENARIO [TLS] [HOST]
#     SERVER  zws | zwsloop | node | python   who listens (zwsloop: the event loop)
#     CLIENT  zws | bench | node | python | raw  who connects (bench: zws bench,
#             the loop's client connections; raw: bad_handshakes.py)
#     TLS     none | ok | badhost | badca  (default none)
#     HOST    127.0.0.1 (default) or ::1
#
# TLS material (a CA and a server certificate) is made here with openssl in
# a temporary directory that is removed on exit. "badhost": the certificate
# names another host; "badca": the client is not given the CA.
set -euo pipefail

bin_dir=$1 server=$2 client=$3 scenario=$4 tls=${5:-none} host=${6:-127.0.0.1}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3 # Debian's: the one that sees python3-websockets
export PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
export NO_PROXY='*' no_proxy='*'
startup_s=15 # a sanitizer build starts slower
client_limit_s=90

# ZWS_INTEROP_EXPECT may be given short, as the items of a deflate spec
# ("on", "scnt,cbits=9"): written out here as zws_conn_extensions says it,
# which every driver and peer compares against.
# shellcheck source=common.sh
. "$here/common.sh"
for v in ZWS_INTEROP_EXPECT ZWS_INTEROP_PEER_EXPECT; do
    val=${!v-}
    if [ -n "$val" ]; then
        val=$(interop_expand_expect "$val") || exit 2
        export "$v=$val"
    fi
done
for v in ZWS_INTEROP_DEFLATE ZWS_INTEROP_PEER_DEFLATE ZWS_INTEROP_EXPECT ZWS_INTEROP_PEER_EXPECT \
    ZWS_INTEROP_MAX_MESSAGE; do
    [ -z "${!v-}" ] || echo "run.sh: $v=${!v}"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zws-interop.XXXXXX")
server_pid=
client_pid=

stop_server() {
    [ -n "$server_pid" ] || return 0
    local pid=$server_pid
    server_pid=
    interop_stop "$pid"
}

cleanup() {
    local st=$?
    if [ -n "$client_pid" ]; then
        kill -TERM "$client_pid" 2>/dev/null || true
        wait "$client_pid" 2>/dev/null || true
    fi
    stop_server || true
    rm -rf "$tmp"
    exit "$st"
}
trap cleanup EXIT
trap 'echo "run.sh: FAIL: line $LINENO: a command failed (status $?)" >&2' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

need() {
    command -v "$1" >/dev/null 2>&1 || { echo "run.sh: FAIL: '$1' not found ($2)" >&2; exit 1; }
}

# ---- TLS material ----------------------------------------------------------
ossl() {
    openssl "$@" 2>>"$tmp/openssl.log" ||
        { echo "run.sh: FAIL: openssl $1 failed:" >&2; cat "$tmp/openssl.log" >&2; exit 1; }
}

make_certs() {
    local san=$1
    need openssl "apt-get install openssl"
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=zws interop test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=zws interop" \
        -keyout "$tmp/server.key" -out "$tmp/server.csr"
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$san" >"$tmp/ext.cnf"
    ossl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 2 -extfile "$tmp/ext.cnf" -out "$tmp/server.pem"
}

scheme=ws
server_tls=()
client_ca=()
case $tls in
none) ;;
ok | badca)
    make_certs "DNS:localhost,IP:127.0.0.1,IP:::1"
    scheme=wss
    server_tls=(--cert "$tmp/server.pem" --key "$tmp/server.key")
    [ "$tls" = ok ] && client_ca=(--ca "$tmp/ca.pem")
    ;;
badhost)
    make_certs "DNS:not-this-host.example"
    scheme=wss
    server_tls=(--cert "$tmp/server.pem" --key "$tmp/server.key")
    client_ca=(--ca "$tmp/ca.pem")
    ;;
*) echo "run.sh: unknown TLS mode '$tls'" >&2; exit 2 ;;
esac

# ---- server ----------------------------------------------------------------
server_cmd=()
case $server in
zws)
    hs=()
    [ "$client" = raw ] && hs=(--handshake-timeout 1000) # the slowloris case
    server_cmd=("$bin_dir/interop_server" --host "$host" --port 0 ${server_tls[@]+"${server_tls[@]}"}
        ${hs[@]+"${hs[@]}"})
    ;;
zwsloop)
    server_cmd=("$bin_dir/interop_loop_server" --host "$host" --port 0 ${server_tls[@]+"${server_tls[@]}"})
    ;;
node)
    need node "apt-get install nodejs"
    [ -f "$here/node_modules/ws/package.json" ] ||
        { echo "run.sh: FAIL: ws is not installed in $here/node_modules (the interop_npm_setup test installs it)" >&2; exit 1; }
    server_cmd=(node "$here/server.js" --host "$host" ${server_tls[@]+"${server_tls[@]}"})
    ;;
python)
    "$python" -c 'import websockets' 2>/dev/null ||
        { echo "run.sh: FAIL: $python cannot import websockets (apt-get install python3-websockets)" >&2; exit 1; }
    server_cmd=("$python" "$here/server.py" --host "$host" ${server_tls[@]+"${server_tls[@]}"})
    ;;
*) echo "run.sh: unknown server '$server'" >&2; exit 2 ;;
esac

# The redirection happens in the child: create the file first so the loop
# below never reads a file that is not there yet.
: >"$tmp/server.out"
"${server_cmd[@]}" >>"$tmp/server.out" &
server_pid=$!

port=
for _ in $(seq $((startup_s * 20))); do
    port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p;T;q' "$tmp/server.out")
    [ -n "$port" ] && break
    if ! kill -0 "$server_pid" 2>/dev/null; then
        st=0
        wait "$server_pid" || st=$?
        server_pid=
        echo "run.sh: FAIL: the $server server exited with status $st before listening" >&2
        exit 1
    fi
    sleep 0.05
done
[ -n "$port" ] || { echo "run.sh: FAIL: no 'listening on PORT' from the $server server in ${startup_s} s" >&2; exit 1; }

url_host=$host
[[ $host == *:* ]] && url_host="[$host]"
url="$scheme://$url_host:$port/interop"
echo "run.sh: $server server on $url; $client client runs '$scenario'"

# ---- client ----------------------------------------------------------------
client_cmd=()
case $client in
zws)
    extra=()
    case $tls in
    badhost) extra=(--expect-error "certificate verify failed") ;;
    badca) extra=(--expect-error "unable to get local issuer certificate") ;;
    esac
    client_cmd=("$bin_dir/interop_client" "$url" "$scenario" ${client_ca[@]+"${client_ca[@]}"}
        ${extra[@]+"${extra[@]}"})
    ;;
node)
    need node "apt-get install nodejs"
    client_cmd=(node "$here/client.js" "$url" "$scenario" ${client_ca[@]+"${client_ca[@]}"})
    ;;
python)
    client_cmd=("$python" "$here/client.py" "$url" "$scenario" ${client_ca[@]+"${client_ca[@]}"})
    ;;
raw)
    client_cmd=("$python" "$here/bad_handshakes.py" "$host" "$port")
    ;;
bench)
    # 20 connections, 2 s, every echo checked, at three sizes
    client_cmd=(sh -c 'for s in 20 1024 70000; do "$0" bench "$1" -c 20 -d 2 -s $s --json || exit 1; done' \
        "$bin_dir/../../tools/zws" "$url")
    ;;
*) echo "run.sh: unknown client '$client'" >&2; exit 2 ;;
esac

# In the background with `wait`, so a signal to this script runs the trap at
# once instead of after the client.
client_st=0
timeout -k 5 "$client_limit_s" "${client_cmd[@]}" &
client_pid=$!
wait "$client_pid" || client_st=$?
client_pid=
[ "$client_st" -eq 124 ] && echo "run.sh: FAIL: the $client client ran over ${client_limit_s} s" >&2

# The server must still be up (a crash would otherwise pass unseen) and, for
# ours, stop cleanly: under the sanitizers this is where leaks are reported.
server_st=0
if ! kill -0 "$server_pid" 2>/dev/null; then
    wait "$server_pid" || server_st=$?
    server_pid=
    echo "run.sh: FAIL: the $server server died during the test (status $server_st)" >&2
    [ "$server_st" -ne 0 ] || server_st=1
else
    stop_server || server_st=$?
    if [ "$server" = zws -o "$server" = zwsloop ] && [ "$server_st" -ne 0 ]; then
        echo "run.sh: FAIL: interop_server exited with status $server_st after SIGTERM" >&2
    elif [ "$server" != zws ] && [ "$server" != zwsloop ]; then
        server_st=0 # node and python end by the signal, which is fine
    fi
fi
if [ "$client_st" -ne 0 ] || [ "$server_st" -ne 0 ]; then
    echo "run.sh: FAIL: $server server / $client client / $scenario (client status $client_st, server status $server_st)" >&2
    exit 1
fi
echo "run.sh: PASS: $server server / $client client / $scenario"
