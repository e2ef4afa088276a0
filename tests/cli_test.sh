#!/usr/bin/env bash
# Tests of the zws command: `zws server` and `zws client` against each other
# (and a plain HTTP server for a refused handshake), checking what they print
# and their exit statuses. Every process started here is stopped by PID on
# the way out (trap on EXIT); everything listens on 127.0.0.1.
#
#   cli_test.sh ZWS_BINARY SCENARIO
#     echo     -c (one and several), stdin lines, --binary, --ping, -H, -s
#     print    a server without --echo prints what it receives
#     listen   ... and sends its stdin lines to every client (numbered when
#              several), over TCP and a unix socket
#     modes    slash commands, -x/-w, --binary chunks (1,000,000 random bytes
#              through an echo server), -P, --ping-interval, the default wait
#              of -c, http:// as an alias
#     exits    a closed stdout (4), the server's 1009 (5), lines not sent (6)
#     refusals ws:// to a TLS port, a 200 from a web server, headers refused
#     peers    --origin, --auth, -H Origin and mutual TLS (--cert/--key)
#              against Python's websockets
#     tty      on a terminal: "> " and "< " marks, colour, NO_COLOR, --no-color
#     deflate  permessage-deflate: agreed or not, a decompression bomb (1009),
#              compress-once broadcast to mixed subscribers, zws serve's
#              --deflate-level/-mem-level/-window-bits, bench's wire_bytes_in
#     errors   usage errors (1), connection refused (2), a refused handshake
#              with its HTTP status (2)
#     tls      wss:// with --ca, an unknown CA (2), --insecure
#     idle     `zws server --idle-timeout` closes a silent client with 1001
#     crowds   `zws server` against hostile crowds from 127.0.0.2: trickled
#              handshakes (a client from 127.0.0.1 is still served within
#              1 s), stalled near-16 MiB frames (closed with 1009 past
#              --budget, RSS bounded), --per-addr-conns
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

# start_web NAME STATUS: a plain web server answering every GET with
# STATUS and the body "no websockets here, X-Test=<that header>".
start_web() {
    start "$1" "$python" -u -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("no websockets here, X-Test=%s" % self.headers.get("X-Test")).encode()
        self.send_response(int(sys.argv[1]))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
print("listening on", s.server_address[1], flush=True)
s.serve_forever()' "$2"
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
    expect_out binary '[binary 2 bytes] 415a\n' # never mistaken for the text 415a
    run 0 base64 client "$url" --binary --base64 -c 'AZ'
    expect_out base64 '[binary 2 bytes, base64] QVo=\n'
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
    printf 'AZ' >"$tmp/bin.in" # --binary: stdin's bytes as they are
    run 0 bin client "ws://127.0.0.1:$port/" --binary --linger 0
    # Each client ended with a completed closing handshake, which the server
    # read after the messages: they are printed by now.
    stop_last
    expect_out server 'listening on %s\nto the server\nsecond\n[binary 2 bytes] 415a\n' "$port"
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
    run 1 bundle client ws://127.0.0.1:1/ -bj
    expect_err bundle "unknown option '-j'"
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
    start_web http 404
    run 2 notfound client "ws://127.0.0.1:$port/" -c x -H 'X-Test: from the command line'
    expect_err notfound '404'
    expect_err notfound 'no websockets here, X-Test=from the command line'
}

# make_certs: a CA, a server certificate for 127.0.0.1 and localhost, and a
# client certificate (CN "zws cli client"), all in $tmp.
make_certs() {
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
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=zws cli client" \
        -keyout "$tmp/client.key" -out "$tmp/client.csr" 2>>"$o"
    printf 'extendedKeyUsage=clientAuth\n' >"$tmp/cext.cnf"
    openssl x509 -req -in "$tmp/client.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 2 -extfile "$tmp/cext.cnf" -out "$tmp/client.pem" 2>>"$o"
}

# wait_for FILE PATTERN: until FILE has a line matching the extended regex.
wait_for() {
    for _ in $(seq $((startup_s * 20))); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    fail "no '$2' in $(basename "$1") after $startup_s s"
}

# bg NAME ARGS...: zws ARGS in the background (stdin from $tmp/NAME.fifo
# when it exists), output in $tmp/NAME.out/.err; sets $bgpid.
bg() {
    local name=$1 in=/dev/null
    shift
    [ -p "$tmp/$name.fifo" ] && in=$tmp/$name.fifo
    # The test's own fifo ends (fds 3-9) stay here, or no stdin would end.
    "$zws" "$@" <"$in" >"$tmp/$name.out" 2>"$tmp/$name.err" 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
    bgpid=$!
    pids+=("$bgpid")
}

# bg_wait PID WANT NAME: the background client PID exits with WANT in time.
bg_wait() {
    local st=0
    for _ in $(seq $((limit_s * 20))); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    wait "$1" || st=$?
    local keep=() p
    for p in "${pids[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    pids=("${keep[@]}")
    [ "$st" -eq "$2" ] || fail "$3: exited with $st, expected $2"
}

tls_scenario() {
    make_certs

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

# A WebSocket peer in the standard library only: raw sockets, so the crowd
# can come from 127.0.0.2 and stall wherever the test wants.
write_crowd_py() {
    cat >"$tmp/crowd.py" <<'PY'
import os, socket, struct, sys, threading, time
REQ = (b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
port = int(sys.argv[2])

def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s

def upgrade(s, timeout=5):
    s.settimeout(timeout)
    s.sendall(REQ)
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(4096)
        if not b:
            return None
        head += b
    return head.split(b"\r\n", 1)[0]

def header(op, n):  # masked with a zero key: the payload goes as it is
    if n < 126:
        return bytes([0x80 | op, 0x80 | n]) + b"\0\0\0\0"
    if n < 65536:
        return bytes([0x80 | op, 0x80 | 126]) + struct.pack(">H", n) + b"\0\0\0\0"
    return bytes([0x80 | op, 0x80 | 127]) + struct.pack(">Q", n) + b"\0\0\0\0"

def echo(msg=b"in"):  # a legitimate client from 127.0.0.1; seconds it took
    t0 = time.monotonic()
    s = conn("127.0.0.1")
    status = upgrade(s)
    if status != b"HTTP/1.1 101 Switching Protocols":
        sys.exit("legit client: %r" % status)
    s.sendall(header(1, len(msg)) + msg)
    got = b""
    while len(got) < 2 + len(msg):
        b = s.recv(4096)
        if not b:
            sys.exit("legit client: closed after %r" % got)
        got += b
    if got[2:2 + len(msg)] != msg:
        sys.exit("legit client: echo %r" % got)
    s.close()
    return time.monotonic() - t0

def closed(s, wait):  # the server closed s (EOF or reset) within wait seconds
    s.settimeout(wait)
    try:
        return s.recv(4096) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False

def rss_kib(pid):
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

mode = sys.argv[1]
if mode == "slowloris":  # 300 handshakes trickled at 1 byte a second
    socks = []
    for _ in range(300):
        s = conn("127.0.0.2")
        s.send(b"G")
        socks.append(s)
    stop = False
    def trickle():
        i = 1
        while not stop:
            time.sleep(1)
            for s in socks:
                try:
                    s.send(REQ[i:i + 1])
                except OSError:
                    pass
            i += 1
    threading.Thread(target=trickle, daemon=True).start()
    took = echo()
    early = sum(closed(s, 0.01) for s in socks)
    stop = True
    print("served in %.0f ms; %d of 300 trickling connections closed at once" % (took * 1000, early))
    sys.exit(0 if took < 1.0 and early >= 300 - 16 else 1)
elif mode == "budget":  # N connections stall on all but the last byte of a frame
    pid, n, length = sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    rss0 = rss_kib(pid)
    payload = bytes(1 << 20)
    socks, refused = [], 0
    for _ in range(n):
        s = conn("127.0.0.2")
        assert upgrade(s) == b"HTTP/1.1 101 Switching Protocols"
        s.sendall(header(2, length))
        left, deadline = length - 1, time.monotonic() + 5
        s.settimeout(1)
        try:
            while left and time.monotonic() < deadline:
                left -= s.send(payload[:min(left, len(payload))])
        except OSError:
            pass
        socks.append(s)
    time.sleep(0.5)
    for s in socks:
        s.settimeout(0.2)
        try:
            b = s.recv(64)
        except (socket.timeout, ConnectionResetError):
            continue
        if b[:1] == b"\x88" and struct.unpack(">H", b[2:4])[0] == 1009:
            refused += 1
    grew = (rss_kib(pid) - rss0) // 1024
    took = echo()
    print("%d of %d closed with 1009; server RSS grew by %d MiB; echo in %.0f ms"
          % (refused, n, grew, took * 1000))
    ok = refused >= n - 5 and (len(sys.argv) > 7 or grew < int(sys.argv[6]))
    sys.exit(0 if ok else 1)
elif mode == "caps":  # K + 2 upgrades from one address under --per-addr-conns K
    k = int(sys.argv[3])
    socks = [conn("127.0.0.2") for _ in range(k + 2)]
    answers = []
    for s in socks:
        try:
            answers.append(upgrade(s, 2))
        except (OSError, socket.timeout):
            answers.append(None)
    ok = sum(a == b"HTTP/1.1 101 Switching Protocols" for a in answers)
    took = echo()
    print("%d upgraded, %d refused; 127.0.0.1 served in %.0f ms" % (ok, len(socks) - ok, took * 1000))
    sys.exit(0 if ok == k else 1)
PY
}

crowds_scenario() {
    write_crowd_py
    # the defaults: 16 handshakes at once per address, 256 connections
    start server "$zws" server --host 127.0.0.1 --port 0 --echo
    timeout 30 "$python" "$tmp/crowd.py" slowloris "$port" >"$tmp/slowloris.out" 2>&1 ||
        fail "slowloris: $(cat "$tmp/slowloris.out")"
    expect_err server 'refused 127\.0\.0\.2: 16 handshakes'
    stop_last

    # RSS is no measure under AddressSanitizer: there only the closes count
    local asan=
    grep -qa __asan_init "$zws" && asan=asan
    start server "$zws" server --host 127.0.0.1 --port 0 --echo --budget 64m
    timeout 60 "$python" "$tmp/crowd.py" budget "$port" "$pid" 20 $(((16 << 20) - 64)) 96 $asan \
        >"$tmp/budget.out" 2>&1 || fail "budget: $(cat "$tmp/budget.out")"
    expect_err server 'closed with 1009 server memory budget reached'
    stop_last

    start server "$zws" server --host 127.0.0.1 --port 0 --echo --per-addr-conns 4
    timeout 30 "$python" "$tmp/crowd.py" caps "$port" 4 >"$tmp/caps.out" 2>&1 ||
        fail "caps: $(cat "$tmp/caps.out")"
    expect_err server 'refused 127\.0\.0\.2: 4 connections from that address'
    stop_last

    run 1 badcap server --port 0 --per-addr-conns x
    expect_err badcap 'per-addr-conns'
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
        run 0 "bench_text_$be" bench "$url" -c 5 -d 1 -s 20 --text --json
        grep -q '"bad_echoes":0,"failed":0,"closed_early":0' "$tmp/bench_text_$be.out" ||
            fail "bench_text_$be: $(cat "$tmp/bench_text_$be.out")"
        grep -Eq '"messages":[1-9]' "$tmp/bench_$be.out" || fail "bench_$be: no echoes"
        exec 5<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&5
        local health
        health=$(timeout 5 cat <&5 || true)
        exec 5<&-
        [[ $health == "HTTP/1.1 200 OK"* && $health == *ok ]] || fail "/health: $health"
        stop_last # SIGTERM: a graceful stop, exit 0
    done
    # --md: market-data JSON, with and without compression, every echo checked.
    start serve "$zws" serve --host 127.0.0.1 --port 0 --echo --deflate -t 1
    local murl=ws://127.0.0.1:$port/ d
    for d in 0 4; do
        local args=() name=bench_md_$d
        [ "$d" = 0 ] || args=(--deflate)
        run 0 "$name" bench "$murl" --md "${args[@]}" -c 4 -d 1 -s 1k -k 2 --json
        grep -q "\"bad_echoes\":0,\"failed\":0,\"closed_early\":0,\"payload\":\"md\",\"deflated\":$d}" \
            "$tmp/$name.out" || fail "$name: $(cat "$tmp/$name.out")"
        grep -Eq '"messages":[1-9]' "$tmp/$name.out" || fail "$name: no echoes"
    done
    stop_last
    # What --md sends: exchange messages, whole and newline-separated, the
    # last cut to the size; the next message goes on with the stream.
    run 0 md_dump bench --md -s 1k --dump-payload 3
    "$python" - "$tmp/md_dump.out" <<'PY' || fail "md_dump: not market-data JSON"
import json, sys
d = open(sys.argv[1], "rb").read()
assert len(d) == 3 * 1024, len(d)
msgs = [d[i:i + 1024] for i in range(0, len(d), 1024)]
assert len(set(msgs)) == 3
kinds = set()
for m in msgs:
    lines = m.decode("ascii").split("\n")
    assert lines[-1] and lines[-1][0] == "{"  # the cut one
    for line in lines[:-1]:
        j = json.loads(line)
        assert j["s"].endswith("USDT")
        kinds.add(j.get("e", "bookTicker" if "b" in j and "A" in j else "?"))
assert kinds >= {"trade", "bookTicker"}, kinds
PY
    run 0 md_dump20 bench --md -s 20 --dump-payload 2
    [ "$(wc -c <"$tmp/md_dump20.out")" = 40 ] && grep -q '^{"' "$tmp/md_dump20.out" ||
        fail "md_dump20: '$(cat "$tmp/md_dump20.out")'"
    # ... and what a server receives of it, inflated: the stream's messages.
    start printer "$zws" server --host 127.0.0.1 --port 0 --deflate
    run 0 md_print bench "ws://127.0.0.1:$port/" --md --deflate -c 1 -d 1 -s 1k --json
    grep -q '"deflated":1}' "$tmp/md_print.out" || fail "md_print: $(cat "$tmp/md_print.out")"
    wait_for "$tmp/printer.out" '^\{"e":"trade","E":[0-9]+,"s":"[A-Z]+USDT","t":'
    wait_for "$tmp/printer.out" '^\{"u":[0-9]+,"s":"[A-Z]+USDT","b":"[0-9.]+","B":'
    kill -TERM "${pids[-1]}"
    unset 'pids[-1]'

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

# Without --echo the server is a listen mode: stdin lines go to every
# client, clients' messages to stdout, numbered while several are connected.
listen_scenario() {
    mkfifo "$tmp/srv.in"
    exec 8<>"$tmp/srv.in"
    start_in=$tmp/srv.in
    start server "$zws" server --host 127.0.0.1 --port 0
    start_in=
    local url=ws://127.0.0.1:$port/
    run 0 solo client "$url" -c alone -w 0.3 # nobody answers: -w ends the wait
    expect_out solo ''
    expect_err solo '1 reply not received in time'
    mkfifo "$tmp/a.fifo" "$tmp/b.fifo"
    exec 3<>"$tmp/a.fifo" 4<>"$tmp/b.fifo"
    bg a client "$url" --linger 2000
    local apid=$bgpid
    bg b client "$url" --linger 2000
    local bpid=$bgpid
    wait_for "$tmp/server.err" '^\[3\] .* connected'
    wait_for "$tmp/server.err" '^\[2\] .* connected'
    printf 'from a\n' >&3
    printf 'from b\n' >&4
    wait_for "$tmp/server.out" 'from a'
    wait_for "$tmp/server.out" 'from b'
    printf 'to all ✓\n\xff\n' >&8 # the second line is not UTF-8: not sent
    wait_for "$tmp/a.out" 'to all'
    wait_for "$tmp/b.out" 'to all'
    exec 3>&-
    bg_wait "$apid" 0 a
    # a left; c comes and goes (in a's old place); b still hears stdin.
    run 0 c client "$url" -c 'from c' -w 0.3
    printf 'after\n' >&8
    wait_for "$tmp/b.out" 'after'
    exec 4>&-
    bg_wait "$bpid" 0 b
    expect_out a 'to all ✓\n'
    expect_out b 'to all ✓\nafter\n'
    expect_err server 'stdin line 2 is not valid UTF-8, not sent'
    grep -Eq '^\[4\] from c$' "$tmp/server.out" || fail "no numbered 'from c'"
    stop_last
    exec 8>&-
    head -2 "$tmp/server.out" | cmp -s - <(printf 'listening on %s\nalone\n' "$port") ||
        fail "server: $(head -2 "$tmp/server.out")"
    grep -Eq '^\[[23]\] from a$' "$tmp/server.out" || fail "no numbered 'from a'"
    grep -Eq '^\[[23]\] from b$' "$tmp/server.out" || fail "no numbered 'from b'"

    # Messages it cannot write stop it (exit 4), not lost one by one.
    mkfifo "$tmp/head.fifo"
    head -1 "$tmp/head.fifo" >"$tmp/head.out" &
    local hpid=$!
    "$zws" server --host 127.0.0.1 --port 0 >"$tmp/head.fifo" 2>"$tmp/closed.err" \
        3>&- 4>&- 8>&- &
    local cpid=$!
    pids+=("$cpid")
    wait "$hpid"
    port=$(sed -n 's/^listening on //p' "$tmp/head.out")
    run 3 tohead client "ws://127.0.0.1:$port/" -c 'nobody reads this' -w 0.3 # dropped
    bg_wait "$cpid" 4 closed
    expect_err closed 'writing stdout'

    # A unix domain socket: echo, a stale socket file replaced, a live one
    # refused, the file removed at the end.
    local sock=$tmp/app.sock
    "$python" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$sock"
    bg userver server --unix "$sock" --echo
    local upid=$bgpid
    wait_for "$tmp/userver.out" "^listening on $sock\$"
    run 0 unix client "ws+unix://$sock:/chat?x=1" -c 'over a unix socket'
    expect_out unix 'over a unix socket\n'
    expect_err userver 'unix socket connected, path /chat\?x=1'
    run 2 inuse server --unix "$sock"
    expect_err inuse 'in use'
    run 1 unixport server --unix "$sock" --port 1
    expect_err unixport 'excludes --port'
    run 2 nosock client "ws+unix://$tmp/none.sock" -c x
    expect_err nosock 'none.sock'
    kill -TERM "$upid"
    bg_wait "$upid" 0 userver
    [ ! -e "$sock" ] || fail "the socket file is still there"
}

# Slash commands, -x/-w, binary chunks, pings and pongs, aliases.
modes_scenario() {
    start server "$zws" server --host 127.0.0.1 --port 0 --echo
    local url=ws://127.0.0.1:$port/
    printf '/ping hi\n/binary 41 5a\n//slash\n/nope\nplain\n/pong beat\n' >"$tmp/slash.in"
    run 0 slash client "$url" --slash --linger 1000
    expect_out slash '[binary 2 bytes] 415a\n/slash\nplain\n'
    expect_err slash '^pong: [0-9]+\.[0-9]+ ms$'
    expect_err slash "unknown command '/nope'"
    printf '/ping\n' >"$tmp/noslash.in" # piped: a line like any other
    run 0 noslash client "$url" --linger 1000
    expect_out noslash '/ping\n'
    printf 'first\n/close 4000 done here\n' >"$tmp/close.in"
    run 0 close client "$url" --slash
    run 0 execute client "$url" -x one -x two -w 0.5 -P --ping-interval 0.1
    head -2 "$tmp/execute.out" | cmp -s - <(printf 'one\ntwo\n') ||
        fail "execute: $(cat "$tmp/execute.out")"
    grep -Eq '^\[pong 8 bytes\] [0-9a-f]{16}$' "$tmp/execute.out" ||
        fail "execute: no pong shown: $(cat "$tmp/execute.out")"
    run 0 alias client "http://127.0.0.1:$port/" -c 'http:// is ws://'
    expect_out alias 'http:// is ws://\n'
    # More than both directions' socket buffers hold: the client must read
    # echoes while its own lines wait, or both ends block.
    seq 1 500000 >"$tmp/flow.in"
    run 0 flow client "$url" --linger 2000
    cmp -s "$tmp/flow.in" "$tmp/flow.out" ||
        fail "flow: $(wc -l <"$tmp/flow.out") of 500000 lines came back"
    head -c 1000000 /dev/urandom >"$tmp/chunks.in"
    run 0 chunks client "$url" --binary --raw --linger 2000
    cmp -s "$tmp/chunks.in" "$tmp/chunks.out" ||
        fail "chunks: $(wc -c <"$tmp/chunks.out") bytes came back, not the same 1000000"
    stop_last
    expect_err server 'closed: 4000 done here$'

    # -c against a server that never answers: the default wait, then 0.
    start server "$zws" server --host 127.0.0.1 --port 0
    local t0 t1
    t0=$(date +%s%N)
    run 0 silent client "ws://127.0.0.1:$port/" -c 'anyone?'
    t1=$(date +%s%N)
    expect_err silent 'reply not received in time'
    local ms=$(((t1 - t0) / 1000000))
    [ "$ms" -ge 4500 ] && [ "$ms" -lt 15000 ] || fail "silent: waited $ms ms, expected 5 s"
    stop_last
}

# Exit statuses that never hide lost data.
exits_scenario() {
    start server "$zws" server --host 127.0.0.1 --port 0 --echo --max-message 16
    local url=ws://127.0.0.1:$port/
    # A closed pipe on stdout: 4 (not 141 from SIGPIPE), closing with 1001.
    local ps=(0 0 0)
    seq 1 300000 | "$zws" client "$url" 2>"$tmp/pipe.err" | head -1 >/dev/null ||
        ps=("${PIPESTATUS[@]}")
    local st=${ps[1]}
    [ "$st" -eq 4 ] || fail "pipe: exit $st with stdout closed, expected 4"
    expect_err pipe 'writing stdout: Broken pipe'
    run 5 toobig client "$url" -c 'more than sixteen bytes'
    expect_err toobig '^closed: 1009'
    { printf 'ok\n'; head -c $((33 << 20)) /dev/zero | tr '\0' a; printf '\n\xff\xfe\nalso ok\n'; } \
        >"$tmp/unsent.in"
    run 6 unsent client "$url" --linger 500
    expect_out unsent 'ok\nalso ok\n'
    expect_err unsent 'line 2 is longer than 32 MiB'
    expect_err unsent 'line 3 is not valid UTF-8'
    expect_err unsent '2 lines not sent'
    stop_last
    expect_err server 'closed: 1001'
    run 0 help client --help
    grep -q '5 the server closed with a code other than 1000 or 1001' "$tmp/help.out" ||
        fail "--help does not document exit status 5"
}

# What the client says when the other end is not what the URL promised.
refusals_scenario() {
    make_certs
    start server "$zws" server --host 127.0.0.1 --port 0 --echo \
        --cert "$tmp/server.pem" --key "$tmp/server.key"
    run 2 plaintotls client "ws://127.0.0.1:$port/" -c x
    expect_err plaintotls 'the port speaks TLS: use wss://'
    stop_last
    start_web web 200
    run 2 web client "ws://127.0.0.1:$port/" -c x
    expect_err web 'server answered 200 OK, not 101 Switching Protocols'
    run 1 hostheader client "ws://127.0.0.1:$port/" -H 'Host: elsewhere' -c x
    expect_err hostheader "-H 'Host: elsewhere': "
    run 1 keyheader client "ws://127.0.0.1:$port/" -H 'Sec-WebSocket-Key: x' -c x
    expect_err keyheader "-H 'Sec-WebSocket-Key: x': "
    run 1 badauth client "ws://127.0.0.1:$port/" --auth nocolon -c x
    expect_err badauth 'expected USER:PASS'
}

# --origin, --auth, -H Origin, pings from the server (-P) and mutual TLS,
# against Python's websockets, which reports what it saw.
peers_scenario() {
    "$python" -c 'import websockets' 2>/dev/null ||
        fail "python3-websockets not found (apt-get install python3-websockets)"
    make_certs
    cat >"$tmp/peer.py" <<'PY'
import asyncio, signal, ssl, sys
import websockets

async def handler(ws, path=None):
    h = ws.request_headers
    cert = ws.transport.get_extra_info("peercert")
    cn = dict(x[0] for x in cert["subject"]).get("commonName", "") if cert else ""
    await ws.send("origin=%s auth=%s cn=%s" % (h.get("Origin"), h.get("Authorization"), cn))
    async for m in ws:
        await ws.send(m)

async def main():
    ctx = None
    if len(sys.argv) > 1:
        d = sys.argv[1]
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(d + "/server.pem", d + "/server.key")
        ctx.load_verify_locations(d + "/ca.pem")
        ctx.verify_mode = ssl.CERT_REQUIRED
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    async with websockets.serve(handler, "127.0.0.1", 0, ssl=ctx, ping_interval=0.2) as s:
        print("listening on", s.sockets[0].getsockname()[1], flush=True)
        await stop

asyncio.run(main())
PY
    start peer "$python" -u "$tmp/peer.py"
    local url=ws://127.0.0.1:$port/
    run 0 origin client "$url" --origin http://app.example --auth 'user:pa:ss' -x hi -w 0.7 -P
    head -2 "$tmp/origin.out" | cmp -s - \
        <(printf 'origin=http://app.example auth=Basic dXNlcjpwYTpzcw== cn=\nhi\n') ||
        fail "origin: $(cat "$tmp/origin.out")"
    # Its payload is 4 random bytes: shown as text when they happen to be.
    grep -Eq '^\[ping( 4 bytes\] [0-9a-f]{8}$|\] )' "$tmp/origin.out" ||
        fail "origin: the server's pings are not shown: $(cat "$tmp/origin.out")"
    run 0 horigin client "$url" -H 'Origin: http://h.example' -c x
    expect_out horigin 'origin=http://h.example auth=None cn=\n'
    stop_last
    start peer "$python" -u "$tmp/peer.py" "$tmp"
    url=wss://127.0.0.1:$port/
    run 0 mtls client "$url" --ca "$tmp/ca.pem" --cert "$tmp/client.pem" \
        --key "$tmp/client.key" -c x
    expect_out mtls 'origin=None auth=None cn=zws cli client\n'
    local st=0
    timeout -k 5 "$limit_s" "$zws" client "$url" --ca "$tmp/ca.pem" -c x \
        >"$tmp/nocert.out" 2>"$tmp/nocert.err" || st=$?
    [ "$st" -ne 0 ] && [ "$st" -ne 124 ] || fail "nocert: exit $st without a client certificate"
    run 1 halfcert client "$url" --cert "$tmp/client.pem" -c x
    expect_err halfcert '--cert and --key go together'
    run 2 badcert client "$url" --cert "$tmp/none.pem" --key "$tmp/client.key" -c x
    expect_err badcert 'none.pem'
}

# On a terminal: marks, colour, the prompt, slash commands by default.
tty_scenario() {
    start server "$zws" server --host 127.0.0.1 --port 0 --echo
    local url=ws://127.0.0.1:$port/ mode
    for mode in color NO_COLOR no-color; do
        "$python" - "$zws" "$url" "$mode" >"$tmp/tty_$mode.log" 2>&1 <<'PY' ||
import os, pty, select, sys, time
zws, url, mode = sys.argv[1:4]
env = dict(os.environ, TERM="xterm")
env.pop("NO_COLOR", None)
args = [zws, "client", url]
if mode == "NO_COLOR":
    env["NO_COLOR"] = "1"
if mode == "no-color":
    args.append("--no-color")
pid, fd = pty.fork()
if pid == 0:
    os.execve(zws, args, env)
out = b""
def until(want, secs=10):
    global out
    end = time.time() + secs
    while want not in out:
        r, _, _ = select.select([fd], [], [], max(0, end - time.time()))
        if not r:
            sys.exit("no %r in %r" % (want, out))
        out += os.read(fd, 4096)
colour = mode == "color"
prompt = b"\x1b[32m> \x1b[0m" if colour else b"> "
got = b"\x1b[36m< \x1b[0m" if colour else b"< "
until(prompt)
os.write(fd, b"hello\n")
until(got + b"hello\r\n")
os.write(fd, b"/binary 415a\n")
until(got + b"[binary 2 bytes] 415a\r\n")
os.write(fd, b"/close 1005\n")
until(b"not a close code")
os.write(fd, b"/close 1000 bye\n")
_, st = os.waitpid(pid, 0)
if not colour and b"\x1b[3" in out:
    sys.exit("colour with %s: %r" % (mode, out))
if os.waitstatus_to_exitcode(st) != 0:
    sys.exit("exit %d: %r" % (os.waitstatus_to_exitcode(st), out))
PY
            fail "tty $mode: $(cat "$tmp/tty_$mode.log")"
    done
    stop_last
    [ "$(grep -c 'closed: 1000 bye$' "$tmp/server.err")" -eq 3 ] ||
        fail "tty: the server did not see '/close 1000 bye' three times"
}

# permessage-deflate through the commands: zws client and zws server agree
# on it; zws serve --broadcast compresses each message once for the
# subscribers that reset their context (one frame per window size) and per
# connection for the others; a small message that would inflate to 64 MiB
# is refused with 1009, fast, and the server goes on.
deflate_scenario() {
    "$python" -c 'import websockets' 2>/dev/null ||
        fail "python3-websockets not found (apt-get install python3-websockets)"
    start server "$zws" server --host 127.0.0.1 --port 0 --echo --deflate --max-message 1m
    local url=ws://127.0.0.1:$port/
    run 0 agreed client "$url" --deflate -v -c 'compressed both ways'
    expect_out agreed 'compressed both ways\n'
    expect_err agreed 'extensions permessage-deflate'
    run 0 plain client "$url" -v -c 'not offered'
    expect_out plain 'not offered\n'
    grep -q 'extensions' "$tmp/plain.err" && fail "plain: an extension without an offer"
    cat >"$tmp/bomb.py" <<'PY'
import asyncio, sys, time, websockets
async def main():
    async with websockets.connect(sys.argv[1], max_size=None) as ws:
        t0 = time.monotonic()
        await ws.send(bytes(64 << 20)) # compresses to about 64 KiB
        try:
            await asyncio.wait_for(ws.recv(), 20)
            sys.exit("echoed a message past the limit")
        except websockets.ConnectionClosed as e:
            print("closed", e.code, "after %.1f s" % (time.monotonic() - t0))
            sys.exit(0 if e.code == 1009 else 1)
asyncio.run(main())
PY
    timeout 60 "$python" "$tmp/bomb.py" "$url" >"$tmp/bomb.out" 2>&1 ||
        fail "bomb: $(cat "$tmp/bomb.out")"
    grep -q '^closed 1009' "$tmp/bomb.out" || fail "bomb: $(cat "$tmp/bomb.out")"
    run 0 after client "$url" --deflate -c 'still serving'
    expect_out after 'still serving\n'
    stop_last

    # The loop's client connections (zws bench) against Python's and Node's
    # servers, both compressing every echo; bench checks each byte.
    cat >"$tmp/pyecho.py" <<'PY'
import asyncio, websockets
async def echo(ws, path=None):
    print("agreed", ws.response_headers.get("Sec-WebSocket-Extensions"), flush=True)
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0, max_size=1 << 24) as s:
        print("listening on", s.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
PY
    start pyecho "$python" -u "$tmp/pyecho.py"
    run 0 bench_py bench "ws://127.0.0.1:$port/" --deflate -c 4 -d 1 -s 1000 --text --json
    grep -q '"bad_echoes":0,"failed":0,"closed_early":0' "$tmp/bench_py.out" ||
        fail "bench_py: $(cat "$tmp/bench_py.out")"
    grep -Eq '"messages":[1-9]' "$tmp/bench_py.out" || fail "bench_py: no echoes"
    grep -q '^agreed permessage-deflate' "$tmp/pyecho.out" || fail "bench_py: not compressed"
    kill -TERM "${pids[-1]}"
    unset 'pids[-1]'
    local ws_dir
    ws_dir=$(cd "$(dirname "$0")/interop" && pwd)/node_modules
    if [ -d "$ws_dir/ws" ] && command -v node >/dev/null; then
        start nodeecho node -e '
const { WebSocketServer } = require(process.argv[1] + "/ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { threshold: 0 } });
wss.on("listening", () => console.log("listening on " + wss.address().port));
wss.on("connection", ws => { console.log("agreed " + ws.extensions);
    ws.on("message", (m, bin) => ws.send(m, { binary: bin })); });' "$ws_dir"
        run 0 bench_node bench "ws://127.0.0.1:$port/" --deflate -c 4 -d 1 -s 1000 --json
        grep -q '"bad_echoes":0,"failed":0,"closed_early":0' "$tmp/bench_node.out" ||
            fail "bench_node: $(cat "$tmp/bench_node.out")"
        grep -q '^agreed permessage-deflate' "$tmp/nodeecho.out" || fail "bench_node: not compressed"
        kill -TERM "${pids[-1]}"
        unset 'pids[-1]'
    else
        echo "cli_test: deflate: Node's ws not installed (the interop fixture installs it): its part skipped" >&2
    fi

    start serve "$zws" serve --host 127.0.0.1 --port 0 --broadcast --deflate -t 1
    cat >"$tmp/fanout.py" <<'PY'
import asyncio, os, sys, websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory as F
async def main():
    conns = []
    for i in range(6): # context reset by the server or not, two window sizes
        ext = [F(server_no_context_takeover=i % 2 == 0, client_max_window_bits=True,
                 server_max_window_bits=10 if i == 4 else None)]
        conns.append(await websockets.connect(sys.argv[1], extensions=ext, max_size=1 << 24))
    print(" | ".join(c.response_headers["Sec-WebSocket-Extensions"] for c in conns))
    for k, n in enumerate([10, 2000, 100000, 1 << 20]):
        m = (str(k) + os.urandom(n // 2).hex())[:n]
        await conns[k % 6].send(m)
        for c in conns:
            assert await asyncio.wait_for(c.recv(), 20) == m
    print("fanout ok")
asyncio.run(main())
PY
    timeout 60 "$python" "$tmp/fanout.py" "ws://127.0.0.1:$port/" >"$tmp/fanout.out" 2>&1 ||
        fail "fanout: $(cat "$tmp/fanout.out")"
    grep -q 'server_no_context_takeover; server_max_window_bits=10' "$tmp/fanout.out" ||
        fail "fanout: $(cat "$tmp/fanout.out")"
    grep -q '^fanout ok' "$tmp/fanout.out" || fail "fanout: $(cat "$tmp/fanout.out")"
    stop_last

    deflate_knobs
}

# zws serve's compressor settings: each of --deflate-level, --deflate-mem-level
# and --deflate-window-bits alone, and the three together, against the
# defaults. A raw client sends the same market-data-like text to each and
# reads the echo's frame: compressed exactly as zlib compresses with those
# settings (the same library underneath), and the window agreed in the
# answer. zws bench's wire_bytes_in counts those frames. Out-of-range
# values are usage errors.
deflate_knobs() {
    local v
    for v in "--deflate-level 0" "--deflate-level 10" "--deflate-mem-level 0" \
        "--deflate-mem-level 10" "--deflate-window-bits 8" "--deflate-window-bits 16" \
        "--deflate-level x"; do
        # shellcheck disable=SC2086 # the option and its value
        run 1 knob_range serve --port 0 --echo --deflate $v
        expect_err knob_range "^zws serve: ${v% *} takes [0-9]+ to [0-9]+, not '${v#* }'"
    done
    expect_err knob_range "not 'x'"
    run 1 knob_range8 serve --port 0 --echo --deflate --deflate-window-bits 8
    expect_err knob_range8 'zlib cannot compress with an 8-bit window'
    run 1 knob_alone serve --port 0 --echo --deflate-level 3
    expect_err knob_alone 'go with --deflate'
    local cfgs=("6 15 8" "1 15 8" "6 9 8" "6 15 1" "1 9 1") ports=() c
    for c in "${cfgs[@]}"; do
        read -r lv wb ml <<<"$c"
        local args=()
        [ "$lv" = 6 ] || args+=(--deflate-level "$lv")
        [ "$wb" = 15 ] || args+=(--deflate-window-bits "$wb")
        [ "$ml" = 8 ] || args+=(--deflate-mem-level "$ml")
        start "knobs_$lv$wb$ml" "$zws" serve --host 127.0.0.1 --port 0 --echo --deflate -t 1 \
            ${args[@]+"${args[@]}"}
        ports+=("$port")
    done
    cat >"$tmp/knobs.py" <<'PY'
import base64, os, random, socket, sys, zlib
r = random.Random(7)
text = "".join('{"e":"trade","E":%d,"s":"%sUSDT","t":%d,"p":"%.2f","q":"%.5f"}\n' % (
    1700000000000 + r.randrange(10**6), r.choice(["BTC", "ETH", "SOL", "BNB"]),
    r.randrange(10**9), r.uniform(10, 70000), r.uniform(0, 5)) for _ in range(40)).encode()

def echo(port):
    """The Sec-WebSocket-Extensions answer and the echo's frame payload."""
    s = socket.create_connection(("127.0.0.1", port), 10)
    s.settimeout(10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
               % key).encode())
    buf = b""
    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            buf += chunk
    while b"\r\n\r\n" not in buf:
        need(len(buf) + 1)
    head, buf = buf.split(b"\r\n\r\n", 1)
    ext = [l.split(b":", 1)[1].strip().decode() for l in head.split(b"\r\n")
           if l.lower().startswith(b"sec-websocket-extensions:")]
    mask = os.urandom(4)
    s.sendall(bytes([0x81, 0x80 | 126]) + len(text).to_bytes(2, "big") + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(text)))
    need(2)
    n, off = buf[1] & 0x7f, 2
    if n == 126:
        need(4)
        n, off = int.from_bytes(buf[2:4], "big"), 4
    need(off + n)
    assert buf[0] == 0xc1, "not a compressed final text frame: %#x" % buf[0]
    data = buf[off:off + n]
    s.close()
    return ext, data

sizes = {}
for port, cfg in zip(sys.argv[1::2], sys.argv[2::2]):
    level, bits, mem = map(int, cfg.split())
    ext, data = echo(int(port))
    assert zlib.decompressobj(-15).decompress(data + b"\0\0\xff\xff") == text
    c = zlib.compressobj(level, zlib.DEFLATED, -bits, mem)
    want = c.compress(text) + c.flush(zlib.Z_SYNC_FLUSH)
    assert data == want[:-4], "%s: %d bytes, zlib makes %d" % (cfg, len(data), len(want) - 4)
    agreed = "permessage-deflate" + ("; server_max_window_bits=%d" % bits if bits < 15 else "")
    assert ext == [agreed], "%s: %s" % (cfg, ext)
    sizes[cfg] = len(data)
    print(cfg, len(data), ext[0])
assert len(set(sizes.values())) == len(sizes), sizes  # every setting tells
print("knobs ok")
PY
    local pargs=() i
    for i in "${!cfgs[@]}"; do pargs+=("${ports[$i]}" "${cfgs[$i]}"); done
    timeout 30 "$python" "$tmp/knobs.py" "${pargs[@]}" >"$tmp/knobs.out" 2>&1 ||
        fail "knobs: $(cat "$tmp/knobs.out")"
    grep -q '^knobs ok' "$tmp/knobs.out" || fail "knobs: $(cat "$tmp/knobs.out")"
    # wire_bytes_in: 2 header bytes and 20 of payload per uncompressed echo;
    # compressed, the settings of uWebSockets' dedicated compressor (9 bits,
    # memLevel 1) echo 1 KiB of market data in more bytes than the defaults.
    run 0 wire_plain bench "ws://127.0.0.1:${ports[0]}/" -c 2 -d 1 -s 20 --json
    run 0 wire_def bench "ws://127.0.0.1:${ports[0]}/" --md --deflate -c 2 -d 1 -s 1k --json
    run 0 wire_small bench "ws://127.0.0.1:${ports[4]}/" --md --deflate -c 2 -d 1 -s 1k --json
    "$python" - "$tmp/wire_plain.out" "$tmp/wire_def.out" "$tmp/wire_small.out" <<'PY' ||
import json, sys
plain, dflt, small = (json.load(open(f)) for f in sys.argv[1:])
per = [r["wire_bytes_in"] / r["messages"] for r in (plain, dflt, small)]
assert all(r["messages"] > 100 and r["deflated"] == 2 - 2 * (r is plain) for r in (plain, dflt, small)), per
assert 21.9 < per[0] < 22.1, per
assert 20 < per[1] < 0.5 * 1024 and per[1] * 1.3 < per[2] < 0.8 * 1024, per
print("wire per echo: %.2f, %.1f, %.1f" % tuple(per))
PY
        fail "wire: $(cat "$tmp/wire_plain.out" "$tmp/wire_def.out" "$tmp/wire_small.out")"
    for c in "${cfgs[@]}"; do stop_last; done
}

case $scenario in
serve) serve_scenario ;;
idle) idle_scenario ;;
crowds) crowds_scenario ;;
echo) echo_scenario ;;
print) print_scenario ;;
listen) listen_scenario ;;
modes) modes_scenario ;;
exits) exits_scenario ;;
refusals) refusals_scenario ;;
peers) peers_scenario ;;
tty) tty_scenario ;;
deflate) deflate_scenario ;;
errors) errors_scenario ;;
tls) tls_scenario ;;
*) echo "cli_test: unknown scenario '$scenario'" >&2; exit 2 ;;
esac
echo "cli_test: $scenario: ok"
