#!/usr/bin/env bash
# The market-data commands end to end: `zws feed` checked from outside
# (tests/md_probe.py), `zws md` against its in-process feed and against a
# separate one. Every process started here is stopped by PID on the way out;
# everything listens on 127.0.0.1.
#
#   md_test.sh ZWS_BINARY SCENARIO
#     protocol   streams, envelopes, requests and their errors, REST depth
#     limits     1024 streams a connection, 5 incoming messages a second
#     pong       no pong closes a client; one that answers is kept
#     lifetime   serverShutdown, then the close
#     book       zws md --verify with injected gaps and reconnects: every book
#                equals the feed's
#     deflate    permessage-deflate between zws md and its feed (books still
#                verify), and zws feed --deflate agreeing with a client
#     reconnect  the feed killed and restarted: zws md comes back and resyncs
#     slow       a stalled reader and a slow consumer: memory bounded both sides
#     tls        wss:// streams and https:// snapshots, an unknown CA refused
#     record     record, replay, record again: the same bytes
#     strategies each handoff strategy runs, inline allocates nothing, the
#                parser thread's CPU is counted; the
#                live view; usage errors (1) and no feed (2)
set -euo pipefail

zws=$1 scenario=$2
python=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
export NO_PROXY='*' no_proxy='*'
startup_s=15

test_name=md_test
. "$(dirname "$0")/proc.sh"

json_get() { # json_get FILE EXPR: a Python expression over the object j
    "$python" -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}

case $scenario in
protocol)
    start feed "$zws" feed -p 0 -q
    timeout 60 "$python" "$here/md_probe.py" protocol "$port" || fail "protocol probe"
    ;;
limits)
    syms=$(seq -f 's%03gusdt' 0 99 | paste -sd, -)
    start feed "$zws" feed -p 0 -q --symbols "$syms" --rate 5 --levels 10
    timeout 60 "$python" "$here/md_probe.py" limits "$port" || fail "limits probe"
    ;;
pong)
    start feed "$zws" feed -p 0 -q --ping-interval 0.3 --pong-timeout 1
    timeout 60 "$python" "$here/md_probe.py" pong "$port" || fail "pong probe"
    ;;
lifetime)
    start feed "$zws" feed -p 0 -q --lifetime 1
    timeout 30 "$python" "$here/md_probe.py" lifetime "$port" || fail "lifetime probe"
    ;;
book)
    # one diff-depth event in 5 never arrives: each gap must be found, the
    # book resynced from a snapshot, and at the end equal the feed's
    timeout 60 "$zws" md -d 4 --no-view --json --verify --drop-every 5 \
        -s btcusdt@depth@100ms,ethusdt@depth,solusdt@depth@100ms,bnbusdt@bookTicker \
        >"$tmp/md.out" 2>"$tmp/md.err" || fail "zws md --verify exited $?"
    [ "$(json_get "$tmp/md.out" 'j["books_checked"]')" = 3 ] || fail "three books checked"
    [ "$(json_get "$tmp/md.out" 'j["books_equal"]')" = 3 ] || fail "books differ"
    [ "$(json_get "$tmp/md.out" 'j["gaps"] > 0')" = True ] || fail "no gap was seen"
    [ "$(json_get "$tmp/md.out" 'j["snapshots"] > 3')" = True ] || fail "no resync"
    # the feed also closes every connection each 1.5 s (1012): the consumer
    # reconnects, resubscribes, resyncs, and its books still end equal;
    # four streams two a connection: two connections
    timeout 60 "$zws" md -d 5 --no-view --json --verify --drop-every 7 --kick-every 1.5 \
        --per-conn 2 -s btcusdt@depth@100ms,ethusdt@depth@100ms,btcusdt@trade,ethusdt@bookTicker \
        >"$tmp/md3.out" 2>"$tmp/md3.err" || fail "zws md --verify --kick-every exited $?"
    [ "$(json_get "$tmp/md3.out" 'j["connections"]')" = 2 ] || fail "not two connections"
    [ "$(json_get "$tmp/md3.out" 'j["reconnects"] >= 4')" = True ] || fail "too few reconnects"
    [ "$(json_get "$tmp/md3.out" 'j["books_equal"]')" = 2 ] || fail "books differ after reconnects"
    # and without injected loss: no gap at all
    timeout 60 "$zws" md -d 2 --no-view --json --verify >"$tmp/md2.out" 2>"$tmp/md2.err" ||
        fail "zws md --verify (no loss) exited $?"
    [ "$(json_get "$tmp/md2.out" 'j["gaps"]')" = 0 ] || fail "gaps without loss"
    [ "$(json_get "$tmp/md2.out" 'j["books_equal"]')" = 4 ] || fail "books differ (no loss)"
    ;;
deflate)
    # permessage-deflate between zws md and its feed: the diff-depth books
    # still verify, paced (compressed) and fast (pre-rendered, uncompressed)
    timeout 60 "$zws" md -d 3 --no-view --json --verify --deflate --rate 500 \
        -s btcusdt@depth@100ms,ethusdt@trade,btcusdt@bookTicker \
        >"$tmp/mdz.out" 2>"$tmp/mdz.err" || fail "zws md --deflate exited $?"
    [ "$(json_get "$tmp/mdz.out" 'j["books_equal"]')" = 1 ] || fail "book differs (deflate)"
    [ "$(json_get "$tmp/mdz.out" 'j["parse_errors"]')" = 0 ] || fail "parse errors (deflate)"
    [ "$(json_get "$tmp/mdz.out" 'j["messages"] > 100')" = True ] || fail "few messages (deflate)"
    start feed "$zws" feed -p 0 -q --deflate --rate 200
    timeout 30 "$zws" client "ws://127.0.0.1:$port/ws/btcusdt@trade" --deflate -v \
        --close-after 3 >"$tmp/cz.out" 2>"$tmp/cz.err" || fail "zws client --deflate exited $?"
    grep -q 'extensions permessage-deflate' "$tmp/cz.err" || fail "the feed did not agree"
    [ "$(grep -c '"e":"trade"' "$tmp/cz.out")" = 3 ] || fail "three trades, inflated"
    ;;
reconnect)
    start feed "$zws" feed -p 0 -q
    feed_port=$port feed_pid=$pid
    "$zws" md "ws://127.0.0.1:$feed_port" -d 7 --no-view --json \
        -s btcusdt@depth@100ms,btcusdt@trade >"$tmp/md.out" 2>"$tmp/md.err" &
    md_pid=$!
    pids+=("$md_pid")
    sleep 2
    kill -TERM "$feed_pid"
    wait "$feed_pid" 2>/dev/null || true
    sleep 1
    start feed2 "$zws" feed -p "$feed_port" -q --seed 2
    wait "$md_pid" || fail "zws md exited $?"
    [ "$(json_get "$tmp/md.out" 'j["reconnects"] >= 1')" = True ] || fail "no reconnect"
    grep -q "back after" "$tmp/md.err" || fail "the gap was not reported"
    # the new feed's book is another: the old one was dropped, a snapshot taken
    [ "$(json_get "$tmp/md.out" 'j["snapshots"] >= 2')" = True ] || fail "no resync"
    [ "$(json_get "$tmp/md.out" 'j["parse_errors"]')" = 0 ] || fail "parse errors"
    ;;
slow)
    # memory is what this checks: under AddressSanitizer, a quarantine of
    # freed blocks small beside the bounds (its default would hold 256 MiB
    # of the feed's chunks and of naive's per-message allocations)
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"
    start feed "$zws" feed -p 0 -q --rate max --max-buffer 1m
    timeout 30 "$python" "$here/md_probe.py" slow "$port" "$pid" || fail "slow probe"
    # a consumer spending 20 us a message, four times slower than the feed
    # could go: it takes what it can, and neither side's memory runs away
    # (the handoffs hold at most 65,536 messages and 8 MiB of payload: small
    # messages meet the first bound, depth20's 1.3 KB the second)
    for run in copy:btcusdt@bookTicker naive:btcusdt@depth20 copy:btcusdt@depth20; do
        timeout 60 "$zws" md "ws://127.0.0.1:$port" -d 3 --no-view --json --work-ns 20000 \
            -S "${run%%:*}" -s "${run#*:}" >"$tmp/md.out" 2>"$tmp/md.err" ||
            fail "zws md ($run) exited $?"
        rss=$(json_get "$tmp/md.out" 'j["max_rss_kb"]')
        [ "$rss" -lt 131072 ] || fail "zws md ($run) grew to $rss KiB"
        [ "$(json_get "$tmp/md.out" 'j["ring_waits"] > 0')" = True ] ||
            fail "zws md ($run): the handoff never filled, the bound was not tried"
    done
    feed_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    [ "$feed_rss" -lt 262144 ] || fail "the feed grew to $feed_rss KiB"
    ;;
tls)
    # wss:// and https:// snapshots, the feed's certificate trusted as a CA
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || fail "openssl"
    start feed "$zws" feed -p 0 -q --cert "$tmp/cert.pem" --key "$tmp/key.pem"
    timeout 60 "$zws" md "wss://127.0.0.1:$port" --ca "$tmp/cert.pem" -d 2 --no-view --json \
        -s btcusdt@depth@100ms,btcusdt@bookTicker >"$tmp/md.out" 2>"$tmp/md.err" ||
        fail "zws md over wss exited $?"
    [ "$(json_get "$tmp/md.out" 'j["messages"] > 100')" = True ] || fail "few messages over wss"
    [ "$(json_get "$tmp/md.out" 'j["snapshots"] >= 1')" = True ] || fail "no https snapshot"
    # without the CA: the handshake fails, and it says so
    if timeout 30 "$zws" md "wss://127.0.0.1:$port" -d 1 --no-view -s btcusdt@trade \
        >"$tmp/bad.out" 2>"$tmp/bad.err"; then
        fail "an unknown CA was accepted"
    fi
    grep -qi "certificate" "$tmp/bad.err" || fail "no word of the certificate"
    ;;
record)
    start feed "$zws" feed -p 0 -q --rate 3000
    timeout 30 "$zws" md "ws://127.0.0.1:$port" -d 2 --no-view -q --record "$tmp/a.rec" \
        -s btcusdt@trade,btcusdt@bookTicker,ethusdt@depth5 2>"$tmp/rec1.err" ||
        fail "recording exited $?"
    start replay "$zws" feed -p 0 -q --replay "$tmp/a.rec" --rate max
    timeout 30 "$zws" md "ws://127.0.0.1:$port" -d 2 --no-view -q --record "$tmp/b.rec" \
        -s btcusdt@trade 2>"$tmp/rec2.err" || fail "recording the replay exited $?"
    "$python" - "$tmp/a.rec" "$tmp/b.rec" <<'EOF' || fail "the replay differs"
import struct, sys
def payloads(path):
    b = open(path, "rb").read()
    assert b[:8] == b"ZWSMDR1\n", "header"
    p, out = 8, []
    while p < len(b):
        n = struct.unpack("<I", b[p + 8:p + 12])[0]
        out.append((b[p + 12], b[p + 16:p + 16 + n]))
        p += 16 + n
    return out
a, b = payloads(sys.argv[1]), payloads(sys.argv[2])
assert len(a) > 1000, f"only {len(a)} messages recorded"
# the replay starts over for each connection: its first len(a) messages
assert b[:len(a)] == a, "the replayed messages are not the recorded ones"
print(f"md_test: {len(a)} messages replayed byte for byte")
EOF
    ;;
strategies)
    for s in inline copy ref naive; do
        timeout 60 "$zws" md -d 2 --no-view --json -r max -S "$s" -s btcusdt@bookTicker,ethusdt@depth20,solusdt@trade \
            >"$tmp/$s.out" 2>"$tmp/$s.err" || fail "strategy $s exited $?"
        [ "$(json_get "$tmp/$s.out" 'j["messages"] > 10000')" = True ] || fail "$s: few messages"
        [ "$(json_get "$tmp/$s.out" 'j["parse_errors"]')" = 0 ] || fail "$s: parse errors"
    done
    [ "$(json_get "$tmp/inline.out" 'j["allocs_per_msg"] < 0.001')" = True ] ||
        fail "inline allocates per message"
    # copy refills the buffers the parser gives back (a few thousand made
    # while the ring first fills, against one a message without refilling)
    [ "$(json_get "$tmp/copy.out" 'j["allocs_per_msg"] < 0.05')" = True ] ||
        fail "copy allocates per message: $(cat "$tmp/copy.out")"
    [ "$(json_get "$tmp/naive.out" 'j["allocs_per_msg"] >= 1')" = True ] ||
        fail "naive should allocate per message"
    # the parser thread's CPU counts in the consumer's, and with depth20
    # the parse is most of the parser's (its CPU read after the thread was
    # joined, when its clock is gone, was once left out). parse_ns is the
    # wall time of sampled parses, so it may pass the CPU time by the
    # moments the thread waits for a core: half of it at least
    for s in copy ref; do
        timeout 60 "$zws" md -d 2 --no-view --json -r max -S "$s" -s btcusdt@depth20 \
            >"$tmp/$s-d.out" 2>"$tmp/$s-d.err" || fail "strategy $s (depth20) exited $?"
        [ "$(json_get "$tmp/$s-d.out" 'j["parser_ns_per_msg"] >= 0.5 * j["parse_ns"] and j["consumer_ns_per_msg"] > j["parser_ns_per_msg"]')" = True ] ||
            fail "$s: the parser thread's CPU is not counted: $(cat "$tmp/$s-d.out")"
    done
    # usage errors exit 1, a feed that is not there 2, each with its line
    st=0; "$zws" md -s nosuch -d 1 --no-view 2>"$tmp/u1.err" || st=$?
    [ "$st" = 1 ] && grep -q "bad stream 'nosuch'" "$tmp/u1.err" || fail "bad stream: $st"
    st=0; "$zws" md -c 1 --per-conn 1 -s a@trade,b@trade -d 1 2>"$tmp/u2.err" || st=$?
    [ "$st" = 1 ] && grep -q "do not fit" "$tmp/u2.err" || fail "too many streams: $st"
    st=0; "$zws" md ws://127.0.0.1:9 --verify -d 1 2>"$tmp/u3.err" || st=$?
    [ "$st" = 1 ] || fail "--verify with a URL: $st"
    st=0; timeout 30 "$zws" md ws://127.0.0.1:9 -d 1.5 --no-view -q -s btcusdt@trade \
        >/dev/null 2>"$tmp/u4.err" || st=$?
    [ "$st" = 2 ] && grep -q "no messages" "$tmp/u4.err" || fail "no feed: $st"
    # the live view draws on a terminal (script gives zws md a tty)
    if command -v script >/dev/null; then
        timeout 30 script -qec "$zws md -d 1.5 -s btcusdt@bookTicker,btcusdt@trade" \
            "$tmp/view.out" >/dev/null 2>&1 || fail "the live view exited $?"
        grep -q "bookTicker" "$tmp/view.out" || fail "the view shows no bookTicker line"
        grep -q "BTCUSDT" "$tmp/view.out" || fail "the view shows no best bid/ask"
    fi
    ;;
*)
    fail "unknown scenario $scenario"
    ;;
esac
echo "md_test: $scenario: ok"
