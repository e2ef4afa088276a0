#!/usr/bin/env bash
# Tests of the zws command: `zws server` and `zws client` against each other
# (and a plain HTTP server for a refused handshake), checking what they print
# and their exit statuses. Every process started here is stopped by PID on
# the way out (trap on EXIT); everything listens on 127.0.0.1.
#
#   cli_test.sh ZWS_BINARY SCENARIO
#     echo     -c (one and several), stdin lines, --binary, --ping, -H, -s
#     print    a server without --echo prints what it receives
#     errors   usage errors (1), connection refused (2), a refused handshake
#              with its HTTP status (2)
#     tls      wss:// with --ca, an unknown CA (2), --insecure
#     idle     `zws server --idle-timeout` closes a silent client with 1001
#     serve    `zws serve` (echo, broadcast, /health, wss, usage errors,
#              SIGTERM) driven by `zws client` and `zws bench`
set -euo pipefail

zws=$1 scenario=$2
python=/usr/bin/python3
export NO_PROXY='*' no_proxy='*'
startup_s=15 # a sanitizer build starts slower
limit_s=30   # any one client run

test_name=cli_test
. "$(dirname "$0")/proc.sh"

# stop_last: SIGTERM to the last process started; it must exit with 0.
stop_last() {
    local pid=${pids[-1]}
    unset 'pids[-1]'
    kill -TERM "$pid"
    local st=0
    wait "$pid" || st=$?
    [ "$st" -eq 0 ] || fail "process $pid exited with $st after SIGTERM"
}

# run EXPECTED_STATUS NAME ARGS...: runs zws with ARGS (stdin from
# $tmp/NAME.in when it exists, else empty), output in $tmp/NAME.out/.err.
run() {
    local want=$1 name=$2
    shift 2
    local in=/dev/null
    [ -f "$tmp/$name.in" ] && in=$tmp/$name.in
    local st=0
    timeout -k 5 "$limit_s" "$zws" "$@" <"$in" >"$tmp/$name.out" 2>"$tmp/$name.err" || st=$?
    [ "$st" -ne 124 ] || fail "$name: zws $* ran over $limit_s s"
    [ "$st" -eq "$want" ] || fail "$name: zws $* exited with $st, expected $want"
}

# expect_out NAME FORMAT [ARG...]: $tmp/NAME.out holds exactly the bytes
# printf FORMAT ARG... writes, every newline counted.
expect_out() {
    local name=$1
    shift
    # shellcheck disable=SC2059 # the format is the point
    printf "$@" >"$tmp/$name.want"
    cmp -s "$tmp/$name.want" "$tmp/$name.out" ||
        fail "$name: stdout is '$(od -c "$tmp/$name.out" | head -5)', expected '$(od -c "$tmp/$name.want" | head -5)'"
}

# expect_err NAME PATTERN: $tmp/NAME.err matches the extended regex.
expect_err() {
    grep -Eq -- "$2" "$tmp/$1.err" || fail "$1: stderr does not match '$2'"
}

echo_scenario() {
    start server "$zws" server --host 127.0.0.1 --port 0 --echo -s chat
    local url=ws://127.0.0.1:$port/cli
    run 0 one client "$url" -c hello
    expect_out one 'hello\n'
    run 0 several client "$url" -c 'first message' -c 'ünïcödé ✓' -c ''
    expect_out several 'first message\nünïcödé ✓\n\n' # the last reply is empty
    printf 'line 1\nline 2\n\nlast line without newline' >"$tmp/lines.in"
    run 0 lines client "$url" --linger 1000
    expect_out lines 'line 1\nline 2\n\nlast line without newline\n'
    run 0 binary client "$url" --binary -c 'AZ'
    expect_out binary '415a\n'
    run 0 raw client "$url" --binary --raw -c 'AZ'
    expect_out raw 'AZ' # the bytes as they are, nothing added
    run 0 ping client "$url" --ping -c x
    expect_err ping '^pong: [0-9]+\.[0-9]+ ms$'
    run 0 verbose client "$url" -v -s other -s chat -H 'X-Test: yes' -c v
    expect_err verbose 'connected to .*, subprotocol chat'
    expect_err verbose 'closed with 1000'

    # Output that cannot be written is an error of its own (exit 4).
    if [ -w /dev/full ]; then
        local st=0
        timeout -k 5 "$limit_s" "$zws" client "$url" -c full >/dev/full 2>"$tmp/full.err" || st=$?
        [ "$st" -eq 4 ] || fail "full: exit $st with stdout on /dev/full, expected 4"
        expect_err full 'writing stdout'
    fi
    # A closed stdin is an empty one, never the socket.
    st=0
    timeout -k 5 "$limit_s" "$zws" client "$url" --linger 0 <&- >"$tmp/nostdin.out" \
        2>"$tmp/nostdin.err" || st=$?
    [ "$st" -eq 0 ] || fail "nostdin: exit $st with stdin closed, expected 0"
    # SIGTERM while waiting on stdin: a closing handshake with 1001, exit 0.
    mkfifo "$tmp/fifo"
    exec 3<>"$tmp/fifo" # a writer that never writes: stdin stays open
    "$zws" client "$url" -v <"$tmp/fifo" >"$tmp/term.out" 2>"$tmp/term.err" &
    local cpid=$!
    pids+=("$cpid")
    for _ in $(seq $((startup_s * 20))); do
        grep -q '^connected to' "$tmp/term.err" && break
        sleep 0.05
    done
    kill -TERM "$cpid"
    st=0
    wait "$cpid" || st=$?
    unset 'pids[-1]'
    exec 3>&-
    [ "$st" -eq 0 ] || fail "term: exit $st after SIGTERM, expected 0"
    expect_err term 'closed with 1001'

    stop_last
    expect_err server 'path /cli, subprotocol chat'
    expect_err server 'closed: 1001'
}

print_scenario() {
    start server "$zws" server --host 127.0.0.1 --port 0
    printf 'to the server\nsecond\n' >"$tmp/text.in"
    run 0 text client "ws://127.0.0.1:$port/" --linger 0
    printf 'AZ\n' >"$tmp/bin.in"
    run 0 bin client "ws://127.0.0.1:$port/" --binary --linger 0
    # Each client ended with a completed closing handshake, which the server
    # read after the messages: they are printed by now.
    stop_last
    expect_out server 'listening on %s\nto the server\nsecond\n415a\n' "$port"
}

errors_scenario() {
    run 1 nourl client
    expect_err nourl 'missing URL'
    run 1 badurl client 'ftp://127.0.0.1/'
    expect_err badurl 'scheme'
    run 1 badopt client ws://127.0.0.1:1/ --no-such-option
    expect_err badopt "unknown option '--no-such-option'"
    run 1 badnum server --port 70000
    expect_err badnum 'not a number from 0 to 65535'
    run 1 novalue client ws://127.0.0.1:1/ --ping=3
    expect_err novalue "option '--ping' takes no value"
    run 1 bundle client ws://127.0.0.1:1/ -bx
    expect_err bundle "unknown option '-x'"
    run 1 needsvalue client ws://127.0.0.1:1/ -t
    expect_err needsvalue "option '-t' needs a value"
    run 1 nocmd nosuchcommand
    run 0 help --help
    grep -q 'client' "$tmp/help.out" || fail "--help does not list the client command"

    # A port nobody listens on: bind one, learn it, close it.
    local free
    free=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    run 2 refused client "ws://127.0.0.1:$free/" -c x
    expect_err refused 'refused'

    # A plain HTTP server refuses the upgrade: the status is reported, with
    # the body, which repeats the -H header it was sent.
    start http "$python" -u -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("no websockets here, X-Test=%s" % self.headers.get("X-Test")).encode()
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("listening on", s.server_address[1], flush=True)
s.serve_forever()'
    run 2 notfound client "ws://127.0.0.1:$port/" -c x -H 'X-Test: from the command line'
    expect_err notfound '404'
    expect_err notfound 'no websockets here, X-Test=from the command line'
}

tls_scenario() {
    command -v openssl >/dev/null || fail "openssl not found (apt-get install openssl)"
    local o=$tmp/openssl.log
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=zws cli test CA" -keyout "$tmp/ca.key" -out "$tmp/ca.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>>"$o"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=zws cli" \
        -keyout "$tmp/server.key" -out "$tmp/server.csr" 2>>"$o"
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$tmp/ext.cnf"
    openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 2 -extfile "$tmp/ext.cnf" -out "$tmp/server.pem" 2>>"$o"

    run 2 badkey server --host 127.0.0.1 --port 0 --cert "$tmp/server.pem" --key "$tmp/no-such.key"
    start server "$zws" server --host 127.0.0.1 --port 0 --echo \
        --cert "$tmp/server.pem" --key "$tmp/server.key"
    run 0 verified client "wss://127.0.0.1:$port/" --ca "$tmp/ca.pem" -c secure
    expect_out verified 'secure\n'
    run 0 byname client "wss://localhost:$port/" --ca "$tmp/ca.pem" -c named
    expect_out byname 'named\n'
    run 2 unknownca client "wss://127.0.0.1:$port/" -c x
    expect_err unknownca 'certificate'
    run 0 insecure client "wss://127.0.0.1:$port/" -k -c unverified
    expect_out insecure 'unverified\n'
    stop_last
}

# The blocking server's idle timeout closes a silent client with 1001.
idle_scenario() {
    start server "$zws" server --host 127.0.0.1 --port 0 --echo --idle-timeout 300
    local t0 t1 st=0
    mkfifo "$tmp/idle.fifo"
    exec 7<>"$tmp/idle.fifo" # stdin that stays open and silent
    t0=$(date +%s%N)
    timeout 10 "$zws" client "ws://127.0.0.1:$port/" <"$tmp/idle.fifo" \
        >"$tmp/idle.out" 2>"$tmp/idle.err" || st=$?
    t1=$(date +%s%N)
    exec 7>&-
    [ "$st" -eq 0 ] || fail "idle: client exited with $st"
    expect_err idle '1001'
    [ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "idle: the server did not close in time"
    stop_last
}

serve_scenario() {
    run 1 serve_noport serve --echo
    expect_err serve_noport 'port is required'
    run 1 serve_both serve --port 0 --echo --broadcast
    expect_err serve_both 'exclude each other'
    run 1 serve_loop serve --port 0 --loop poll
    expect_err serve_loop 'epoll or uring'
    run 1 bench_nourl bench -c 2
    expect_err bench_nourl 'URL is required'
    for be in epoll uring; do
        start serve "$zws" serve --host 127.0.0.1 --port 0 --echo -t 2 --loop "$be"
        local url=ws://127.0.0.1:$port/any/path
        run 0 "one_$be" client "$url" -c hello -c 'second ✓'
        expect_out "one_$be" 'hello
second ✓
'
        run 0 "bench_$be" bench "$url" -c 20 -d 1 -s 300 -k 4 --json
        grep -q '"bad_echoes":0,"failed":0,"closed_early":0' "$tmp/bench_$be.out" ||
            fail "bench_$be: $(cat "$tmp/bench_$be.out")"
        grep -Eq '"messages":[1-9]' "$tmp/bench_$be.out" || fail "bench_$be: no echoes"
        exec 5<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&5
        local health
        health=$(timeout 5 cat <&5 || true)
        exec 5<&-
        [[ $health == "HTTP/1.1 200 OK"* && $health == *ok ]] || fail "/health: $health"
        stop_last # SIGTERM: a graceful stop, exit 0
    done
    start serve "$zws" serve --host 127.0.0.1 --port 0 --broadcast -t 1
    local burl=ws://127.0.0.1:$port/
    mkfifo "$tmp/listen.in"
    "$zws" client "$burl" <"$tmp/listen.in" >"$tmp/listen.out" 2>/dev/null &
    pids+=($!)
    exec 6>"$tmp/listen.in"
    sleep 0.3
    run 0 speaker client "$burl" -c 'to everyone'
    expect_out speaker 'to everyone
' # the sender hears it too
    for _ in $(seq 100); do
        grep -q 'to everyone' "$tmp/listen.out" && break
        sleep 0.05
    done
    grep -q 'to everyone' "$tmp/listen.out" || fail "the listener did not hear the broadcast"
    exec 6>&-
}

case $scenario in
serve) serve_scenario ;;
idle) idle_scenario ;;
echo) echo_scenario ;;
print) print_scenario ;;
errors) errors_scenario ;;
tls) tls_scenario ;;
*) echo "cli_test: unknown scenario '$scenario'" >&2; exit 2 ;;
esac
echo "cli_test: $scenario: ok"
