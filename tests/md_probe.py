#!/usr/bin/python3
"""Checks `zws feed` from outside, as a client of the real service would
see it: Python's websockets for the stream protocol, raw sockets where the
client must misbehave (no pong, too many messages, a reader that stops).

    md_probe.py protocol PORT   streams, envelopes, requests, errors, REST
    md_probe.py limits PORT     1024 streams, 5 messages a second
    md_probe.py pong PORT       no pong: the feed closes (feed: short timeouts)
    md_probe.py lifetime PORT   serverShutdown, then a close (feed: --lifetime 1)
    md_probe.py slow PORT PID   a reader that stops: the feed stays bounded

Exits 0 when every check holds, else prints what failed and exits 1."""
import asyncio
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.error
import urllib.request

import websockets

HOST = "127.0.0.1"


def check(cond, what):
    if not cond:
        print("md_probe: FAIL:", what, file=sys.stderr)
        sys.exit(1)


async def recv_json(ws, timeout=5):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, pred, timeout=5):
    """The first message for which pred holds (others are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, "timed out waiting for a message")
        m = await recv_json(ws, left)
        if pred(m):
            return m


def rest(port, query):
    url = f"http://{HOST}:{port}/api/v3/depth?{query}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


async def protocol(port):
    base = f"ws://{HOST}:{port}"
    # a raw trade stream: the real field names and types
    async with websockets.connect(f"{base}/ws/btcusdt@trade", ping_interval=None) as ws:
        m = await recv_json(ws)
        check(m["e"] == "trade" and m["s"] == "BTCUSDT", f"trade message: {m}")
        for k, t in (("E", int), ("t", int), ("p", str), ("q", str), ("T", int),
                     ("m", bool), ("M", bool)):
            check(isinstance(m[k], t), f"trade field {k}: {m}")
        check(m["t"] > 2**32, "trade ids pass 2^32")
        check("." in m["p"] and float(m["p"]) > 0, "price is a decimal string")
    # bookTicker has no "e" or "E"; partial depth no symbol (combined)
    async with websockets.connect(
            f"{base}/stream?streams=ethusdt@bookTicker/btcusdt@depth5@100ms",
            ping_interval=None) as ws:
        seen = set()
        while len(seen) < 2:
            m = await recv_json(ws)
            check(set(m) == {"stream", "data"}, f"envelope: {m}")
            d = m["data"]
            if m["stream"] == "ethusdt@bookTicker":
                check("e" not in d and "E" not in d, f"bookTicker has no e/E: {d}")
                check(set(d) == {"u", "s", "b", "B", "a", "A"}, f"bookTicker: {d}")
                check(float(d["b"]) < float(d["a"]), "bid below ask")
            elif m["stream"] == "btcusdt@depth5@100ms":
                check(set(d) == {"lastUpdateId", "bids", "asks"}, f"partial depth: {d}")
                check(len(d["bids"]) == 5 and len(d["asks"]) == 5, "five levels a side")
                check(all(isinstance(x, str) for lv in d["bids"] for x in lv), "levels as strings")
            else:
                check(False, f"a stream not asked for: {m['stream']}")
            seen.add(m["stream"])
    # live requests
    async with websockets.connect(f"{base}/ws", ping_interval=None) as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE",
                                  "params": ["btcusdt@aggTrade", "solusdt@depth"], "id": 1}))
        r = await until(ws, lambda m: "id" in m)
        check(r == {"result": None, "id": 1}, f"SUBSCRIBE reply: {r}")
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": "abc"}))
        r = await until(ws, lambda m: m.get("id") == "abc")
        check(sorted(r["result"]) == ["btcusdt@aggTrade", "solusdt@depth"], f"LIST: {r}")
        m = await until(ws, lambda m: m.get("e") == "aggTrade")
        check(isinstance(m["a"], int) and m["f"] <= m["l"], f"aggTrade: {m}")
        d = await until(ws, lambda m: m.get("e") == "depthUpdate", timeout=5)
        check(d["U"] <= d["u"] and d["s"] == "SOLUSDT", f"depthUpdate: {d}")
        await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@aggTrade"],
                                  "id": 2}))
        r = await until(ws, lambda m: m.get("id") == 2)
        check(r == {"result": None, "id": 2}, f"UNSUBSCRIBE reply: {r}")
        await asyncio.sleep(1.1)  # the message rate window
        # bad requests: an error reply with the request's id, never a crash
        for req, code in (('{"method":"NOPE","id":5}', 2),
                          ('{"method":"SUBSCRIBE","params":["nosuch@trade"],"id":6}', 2),
                          ('{"method":"SUBSCRIBE","params":[1],"id":7}', 1),
                          ('{"method":"SUBSCRIBE","params":[],"foo":1,"id":8}', 0),
                          ('{"method":', 3)):
            await ws.send(req)
            r = await until(ws, lambda m: "error" in m)
            check(r["error"]["code"] == code, f"error for {req}: {r}")
            await asyncio.sleep(0.25)
    # unknown paths and streams are refused at the handshake
    for path, status in (("/nope", 404), ("/ws/btcusdt@nosuch", 400),
                         ("/ws/BTCUSDT@trade", 400)):
        try:
            async with websockets.connect(base + path, ping_interval=None):
                check(False, f"{path} was accepted")
        except websockets.exceptions.InvalidStatusCode as e:
            check(e.status_code == status, f"{path}: {e.status_code}, want {status}")
    # REST depth: consistent with the diff stream's update ids
    async with websockets.connect(f"{base}/ws/btcusdt@depth@100ms", ping_interval=None) as ws:
        first = await recv_json(ws)
        status, snap = rest(port, "symbol=BTCUSDT&limit=1000")
        check(status == 200, f"REST status {status}")
        check(len(snap["bids"]) == 1000 and len(snap["asks"]) == 1000, "1000 levels a side")
        check(float(snap["bids"][0][0]) < float(snap["asks"][0][0]), "snapshot crossed")
        L = snap["lastUpdateId"]
        check(L >= first["U"] - 1, "snapshot not older than the stream")
        prev = first["u"]
        # the stream goes on from the snapshot without a hole
        while True:
            d = await recv_json(ws)
            check(d["U"] == prev + 1, f"diff ids have a hole: {prev} then {d['U']}")
            prev = d["u"]
            if d["u"] >= L + 1:
                check(d["U"] <= L + 1, "an event spans the snapshot's id")
                break
    check(rest(port, "symbol=NOPE")[0] == 400, "unknown symbol: 400")
    check(rest(port, "symbol=btcusdt")[0] == 400, "lower-case symbol: 400")
    check(rest(port, "symbol=BTCUSDT&limit=0")[0] == 400, "limit 0: 400")
    check(rest(port, "")[0] == 400, "no symbol: 400")


async def limits(port):
    base = f"ws://{HOST}:{port}"
    streams = [f"btcusdt@depth{n}" for n in (5, 10, 20)]
    names = []
    kinds = ["trade", "aggTrade", "bookTicker", "depth", "depth@100ms", "depth5",
             "depth5@100ms", "depth10", "depth10@100ms", "depth20", "depth20@100ms"]
    syms = [f"s{i:03d}usdt" for i in range(100)]
    for s in syms:
        for k in kinds:
            names.append(f"{s}@{k}")
    check(len(names) >= 1025, "enough stream names")
    async with websockets.connect(f"{base}/ws", ping_interval=None, max_size=None) as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": names[:1024], "id": 1}))
        r = await until(ws, lambda m: "id" in m, timeout=10)
        check(r == {"result": None, "id": 1}, f"1024 streams: {r}")
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": names[1024:1025], "id": 2}))
        r = await until(ws, lambda m: "id" in m, timeout=10)
        check("error" in r, f"the 1025th stream is refused: {r}")
    del streams
    # six messages inside a second: the connection is closed
    async with websockets.connect(f"{base}/ws", ping_interval=None) as ws:
        for i in range(6):
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except websockets.exceptions.ConnectionClosed as e:
            check(e.code == 1008, f"closed with {e.code}, want 1008")
    # five a second is allowed
    async with websockets.connect(f"{base}/ws", ping_interval=None) as ws:
        for i in range(10):
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}))
            await until(ws, lambda m, i=i: m.get("id") == i)
            await asyncio.sleep(0.25)


# ---- raw sockets: a client that does not behave ----

def raw_connect(port, path):
    s = socket.create_connection((HOST, port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        check(d, "the handshake was cut")
        buf += d
    head, rest_ = buf.split(b"\r\n\r\n", 1)
    check(head.startswith(b"HTTP/1.1 101"), f"handshake: {head[:40]!r}")
    return s, rest_


def raw_frames(s, buf, deadline):
    """Yields (opcode, payload) until the deadline."""
    while True:
        while True:
            if len(buf) >= 2:
                n = buf[1] & 0x7F
                off = 2
                if n == 126:
                    if len(buf) < 4:
                        break
                    n, off = struct.unpack(">H", buf[2:4])[0], 4
                elif n == 127:
                    if len(buf) < 10:
                        break
                    n, off = struct.unpack(">Q", buf[2:10])[0], 10
                if len(buf) >= off + n:
                    op, payload, buf = buf[0] & 0x0F, buf[off:off + n], buf[off + n:]
                    yield op, payload
                    continue
            break
        left = deadline - time.monotonic()
        check(left > 0, "timed out")
        s.settimeout(left)
        d = s.recv(65536)
        if not d:
            yield None, b""
            return
        buf += d


def pong(port):
    s, buf = raw_connect(port, "/ws/btcusdt@bookTicker")
    t0 = time.monotonic()
    pings = 0
    for op, payload in raw_frames(s, buf, t0 + 20):
        if op == 0x9:
            pings += 1  # and no pong goes back
        elif op == 0x8 or op is None:
            check(op == 0x8, "closed without a close frame")
            code = struct.unpack(">H", payload[:2])[0]
            check(code == 1008, f"close code {code}, want 1008")
            check(pings >= 1, "pinged before the close")
            break
    # a client that answers is kept
    async def answers():
        async with websockets.connect(f"ws://{HOST}:{port}/ws/btcusdt@bookTicker",
                                      ping_interval=None) as ws:
            t_end = time.monotonic() + 3
            while time.monotonic() < t_end:
                await asyncio.wait_for(ws.recv(), 5)  # websockets answers pings itself
    asyncio.run(answers())


def lifetime(port):
    s, buf = raw_connect(port, "/ws/btcusdt@trade")
    shutdown = False
    for op, payload in raw_frames(s, buf, time.monotonic() + 10):
        if op == 0x1 and b"serverShutdown" in payload:
            shutdown = True
        elif op == 0x8 or op is None:
            check(op == 0x8, "closed without a close frame")
            check(shutdown, "serverShutdown came before the close")
            code = struct.unpack(">H", payload[:2])[0]
            check(code == 1001, f"close code {code}, want 1001")
            return


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def slow(port, pid):
    # many streams, then no reading at all: the feed must not grow without
    # bound (fast mode refills only up to its high-water mark; paced
    # pub/sub closes a reader past --max-buffer)
    s, buf = raw_connect(port, "/stream?streams=" + "/".join(
        f"{x}@{k}" for x in ("btcusdt", "ethusdt") for k in ("trade", "bookTicker", "depth20")))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    base = rss_kb(pid)
    peak = base
    for _ in range(30):
        time.sleep(0.1)
        peak = max(peak, rss_kb(pid))
    print(f"md_probe: feed RSS {base} KiB before, {peak} KiB at most with a stalled reader")
    check(peak - base < 64 * 1024, "the feed's memory grew past 64 MiB for one stalled reader")
    s.close()


def main():
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "protocol":
        asyncio.run(protocol(port))
    elif what == "limits":
        asyncio.run(limits(port))
    elif what == "pong":
        pong(port)
    elif what == "lifetime":
        lifetime(port)
    elif what == "slow":
        slow(port, int(sys.argv[3]))
    else:
        check(False, f"unknown probe {what}")
    print(f"md_probe: {what}: ok")


if __name__ == "__main__":
    main()
