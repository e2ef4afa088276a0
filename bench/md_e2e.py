#!/usr/bin/python3
"""The market-data pipeline end to end: `zws md` against its in-process feed
on loopback, per message type and handoff strategy, median of several runs.

    bench/md_e2e.py [--zws build/release/tools/zws] [--reps 3] [--seconds 4]

Throughput runs have the feed as fast as possible (pre-rendered frames):
messages/s consumed, the consumer's CPU per message (its threads' CPU
time), allocations per message in steady state, and latency from the feed
queueing a message to its parse -- under saturation that is mostly the
time spent in full buffers. The strategies take turns within each round,
and a second table gives each one's throughput against inline, the median
of the rounds' ratios. Latency runs have the feed paced (bookTicker and
trade at a moderate rate, depth20 at its 100 ms speed), where the figure is
the pipeline's own. Feed and consumer share the machine's cores: say how
many there are beside the numbers."""
import argparse
import json
import os
import statistics
import subprocess
import sys

KINDS = [("bookTicker", "btcusdt@bookTicker"), ("trade", "btcusdt@trade"),
         ("depth20", "btcusdt@depth20")]
STRATEGIES = ["inline", "copy", "ref", "naive"]


def run(zws, args, seconds):
    cmd = [zws, "md", "-d", str(seconds), "--no-view", "--json"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 4 + 60)
    if out.returncode != 0:
        sys.exit(f"md_e2e: {' '.join(cmd)} exited {out.returncode}: {out.stderr[-500:]}")
    return json.loads(out.stdout)


def med(rows, key, sub=None):
    vals = [r[key][sub] if sub else r[key] for r in rows]
    return statistics.median(vals), min(vals), max(vals)


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--zws", default=os.path.join(here, "..", "build", "release", "tools", "zws"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    results = []
    print(f"zws md, in-process feed, {os.cpu_count()} cores shared by feed and consumer; "
          f"median of {a.reps} runs of {a.seconds:g} s (min-max in brackets)\n")
    print("| message | strategy | msgs/s | consumer ns/msg | allocs/msg | "
          "p50 / p99 / p99.9 saturated |")
    print("|---|---|---:|---:|---:|---|")
    ratios = []
    for kind, stream in KINDS:
        # the strategies take turns within each round, so that a slower
        # stretch of this shared machine falls on all of them alike
        runs = {s: [] for s in STRATEGIES}
        for _ in range(a.reps):
            for s in STRATEGIES:
                runs[s].append(run(a.zws, ["-r", "max", "-S", s, "-s", stream], a.seconds))
        for s in STRATEGIES:
            rows = runs[s]
            rate, lo, hi = med(rows, "msgs_per_s")
            ns = med(rows, "consumer_ns_per_msg")[0]
            al = med(rows, "allocs_per_msg")[0]
            lat = [med(rows, "latency_ns", p)[0] / 1e3 for p in ("p50", "p99", "p999")]
            results.append({"kind": kind, "strategy": s, "msgs_per_s": rate, "min": lo,
                            "max": hi, "consumer_ns": ns, "allocs": al,
                            "latency_us": lat})
            print(f"| {kind} | {s} | {rate / 1e6:.2f} M [{lo / 1e6:.2f}-{hi / 1e6:.2f}] | "
                  f"{ns:.0f} | {al:.3f} | {lat[0]:.0f} / {lat[1]:.0f} / {lat[2]:.0f} us |")
        for s in STRATEGIES[1:]:
            r = [x["msgs_per_s"] / i["msgs_per_s"] for x, i in zip(runs[s], runs["inline"])]
            ratios.append((kind, s, statistics.median(r), min(r), max(r)))
        sys.stdout.flush()
    print("\nthroughput against inline, the median of the rounds' ratios (min-max)\n")
    print("| message | " + " | ".join(STRATEGIES[1:]) + " |")
    print("|---|" + "---:|" * (len(STRATEGIES) - 1))
    for kind, _ in KINDS:
        cells = [f"{m:.2f}x [{lo:.2f}-{hi:.2f}]" for k, _, m, lo, hi in ratios if k == kind]
        print(f"| {kind} | " + " | ".join(cells) + " |")
    for kind, s, m, lo, hi in ratios:
        results.append({"kind": kind, "strategy": s, "vs_inline": m, "vs_inline_min": lo,
                        "vs_inline_max": hi})
    print("\nlatency, feed paced (inline strategy): feed queues the message -> parsed\n")
    print("| message | rate | p50 | p99 | p99.9 | samples |")
    print("|---|---|---:|---:|---:|---:|")
    paced = [("bookTicker", ["-r", "20000", "-s", "btcusdt@bookTicker"]),
             ("trade", ["-r", "20000", "-s", "btcusdt@trade"]),
             ("depth20", ["-r", "1000", "-s", "btcusdt@depth20@100ms"])]
    for kind, args in paced:
        rows = [run(a.zws, args, a.seconds) for _ in range(a.reps)]
        rate = med(rows, "msgs_per_s")[0]
        lat = [med(rows, "latency_ns", p)[0] / 1e3 for p in ("p50", "p99", "p999")]
        n = sum(r["latency_ns"]["samples"] for r in rows)
        results.append({"kind": kind, "paced": True, "msgs_per_s": rate, "latency_us": lat})
        print(f"| {kind} | {rate:.0f}/s | {lat[0]:.0f} us | {lat[1]:.0f} us | {lat[2]:.0f} us | {n} |")
    if a.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
