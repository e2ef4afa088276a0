#!/usr/bin/python3
"""Broadcast with permessage-deflate: server CPU per delivered message.

    deflate_broadcast.py URL SERVER_PID [--conns N] [--rate R] [--seconds S]

Opens N connections (Python's websockets, which offers permessage-deflate)
to a broadcast server such as `zws serve --broadcast`, sends a depth-update
JSON message (about 1 KiB) R times a second from the first of them, counts
what every connection receives, and reads the server's CPU time from
/proc/SERVER_PID/stat over the middle of the run. Prints the extension the
server agreed to and the server's CPU microseconds per delivered message.
Run it on one core and the server on the other (taskset), e.g. against

    zws serve --port 9001 --broadcast -t 1 --idle-timeout 0
    zws serve --port 9001 --broadcast --deflate -t 1 --idle-timeout 0
    zws serve --port 9001 --broadcast --deflate --deflate-no-context -t 1 --idle-timeout 0

(no compression; compressed per connection; compressed once for all).
"""
import argparse
import asyncio
import json
import os
import time

import websockets


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(a):
    msg = json.dumps({"e": "depthUpdate", "E": 1, "s": "BTCUSDT", "U": 1, "u": 2,
                      "b": [["97000.%02d" % i, "0.%03d" % i] for i in range(20)],
                      "a": [["97001.%02d" % i, "1.%03d" % i] for i in range(20)]})
    got = [0]

    async def reader(ws):
        async for _ in ws:
            got[0] += 1

    conns = [await websockets.connect(a.url, max_size=1 << 24) for _ in range(a.conns)]
    tasks = [asyncio.create_task(reader(c)) for c in conns]
    ext = conns[0].response_headers.get("Sec-WebSocket-Extensions")
    t0 = time.monotonic()
    window = None
    while time.monotonic() - t0 < a.seconds:
        now = time.monotonic() - t0
        if window is None and now >= a.seconds / 4:
            window = (time.monotonic(), cpu_seconds(a.pid), got[0])
        if window and len(window) == 3 and now >= a.seconds * 3 / 4:
            window = window + (time.monotonic(), cpu_seconds(a.pid), got[0])
        await conns[0].send(msg)
        await asyncio.sleep(1 / a.rate)
    for t in tasks:
        t.cancel()
    w0, c0, g0, w1, c1, g1 = window
    per = (c1 - c0) / (g1 - g0) * 1e6
    print("extension: %s; message %d B; %d deliveries/s; server %.2f us CPU a delivery"
          % (ext, len(msg), (g1 - g0) / (w1 - w0), per))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("pid", type=int)
    p.add_argument("--conns", type=int, default=100)
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--seconds", type=float, default=8)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
