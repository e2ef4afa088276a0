#!/usr/bin/python3
"""End-to-end server benchmark: servers side by side, interleaved, medians.

Each round starts every server in turn (pinned to core 0, the generator to
core 1), drives it with a load generator, and reads the server's CPU time
(utime + stime from /proc/PID/stat) over the measured window. Reported per
server and workload: messages/s and server CPU microseconds per message,
the median of the rounds with the lowest and highest beside it.

Servers are given as NAME=COMMAND, where COMMAND contains {port}; a peer
server built elsewhere (uWebSockets' EchoServer, say) is named the same way.
Generators:
  zws        `zws bench` (closed loop or --pipeline), counted from its JSON;
             also the echo's size on the wire (its wire_bytes_in / messages:
             frame header and, with --deflate, the compressed payload)
  load_test  uWebSockets' benchmarks/load_test (path with --load-test):
             counted from its "Msg/sec" lines, first one skipped
  broadcast  uWebSockets' benchmarks/broadcast_test (--broadcast-test):
             "Iterations/second" lines; per delivered message = N x iterations
  idle       RSS (VmRSS) added per idle connection: `zws bench --hold` opens
             a warm-up batch (--warm, default 1000) and keeps it open, the
             RSS is read, then a second one opens the rest of --conns. Two
             figures: KiB per connection after the warm-up (the rest's RSS
             over their number: what each further connection costs), and
             from the server's start (every connection over the RSS before
             the first, so one-time costs, such as the first touch of a
             backend's fixed buffers and rings, count as per-connection).

Arguments for `zws bench` beyond these: --gen-args for every server,
--gen-args-for NAME=ARGS for one (say --deflate for the servers that
compress, none for one that does not, in the same run). A generator given
--deflate must see every connection agree to it, else the run fails.

Example (one workload, two servers, 3 rounds):
  bench/e2e.py --zws build/release/tools/zws --rounds 3 --gen zws \\
      --conns 100 --size 20 \\
      'zws=build/release/tools/zws serve --port {port} --echo -t 1 -q' \\
      'uws=/path/to/EchoServer {port}'
"""
import argparse
import json
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def start_server(cmd, port):
    argv = ["taskset", "-c", "0", "sh", "-c", "exec " + cmd.format(port=port)]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port):
        p.kill()
        raise RuntimeError(f"server did not listen: {cmd}")
    time.sleep(0.2)
    return p


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def gen_args(a, name):
    """zws bench's extra arguments for server NAME."""
    extra = shlex.split(a.gen_args)
    for spec in a.gen_args_for:
        who, _, args = spec.partition("=")
        if who == name:
            extra += shlex.split(args)
    return extra


def run_zws_bench(a, name, pid, port):
    extra = gen_args(a, name)
    argv = ["taskset", "-c", "1", a.zws, "bench", f"ws://127.0.0.1:{port}/", "--json",
            "-c", str(a.conns), "-s", str(a.size), "-d", str(a.seconds),
            "-k", str(a.pipeline)] + (["--upgrades"] if a.upgrades else []) + extra
    c0 = cpu_seconds(pid)
    out = subprocess.run(argv, capture_output=True, text=True, timeout=a.seconds + 60)
    c1 = cpu_seconds(pid)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    if out.returncode != 0:
        raise RuntimeError("zws bench failed: " + out.stderr.strip())
    if "--deflate" in extra and res.get("deflated") != res["opened"]:
        raise RuntimeError(f"{name}: permessage-deflate agreed on {res.get('deflated')} "
                           f"of {res['opened']} connections")
    # the server's CPU over the whole run (setup included: it is short)
    rate, cpu = res["messages"] / res["seconds"], (c1 - c0) / max(res["messages"], 1)
    if "wire_bytes_in" not in res:
        return rate, cpu
    # an echo's size as the server sent it (frame header included)
    return rate, cpu, res["wire_bytes_in"] / max(res["messages"], 1)


def run_uws_client(a, pid, port, broadcast):
    path = a.broadcast_test if broadcast else a.load_test
    argv = ["taskset", "-c", "1", "stdbuf", "-oL", path, str(a.conns), "127.0.0.1", str(port), "0"]
    if not broadcast:
        argv += ["0", str(a.size)]
    pat = re.compile(r"Iterations/second \(\d+ clients\): ([\d.]+)" if broadcast
                     else r"Msg/sec: ([\d.]+)")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rates, c0, c1, t0, t1 = [], None, None, None, None
    skip = 1
    intervals = max(1, a.seconds // 4)
    try:
        for line in p.stdout:
            m = pat.search(line)
            if not m:
                continue
            if skip:
                skip -= 1
                c0, t0 = cpu_seconds(pid), time.time()
                continue
            rates.append(float(m.group(1)))
            if len(rates) == intervals:
                c1, t1 = cpu_seconds(pid), time.time()
                break
    finally:
        p.kill()
        p.wait()
    if c1 is None:
        raise RuntimeError(f"{path} reported too little")
    per_s = statistics.mean(rates)
    msgs = per_s * (t1 - t0)
    if broadcast:  # an iteration is N messages in, each delivered to all N
        return per_s, (c1 - c0) / max(msgs * a.conns * a.conns, 1)
    return per_s, (c1 - c0) / max(msgs, 1)


def hold(a, port, conns, seconds):
    argv = ["taskset", "-c", "1", a.zws, "bench", f"ws://127.0.0.1:{port}/", "--hold",
            "-c", str(conns), "-d", str(seconds), "--json"]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def held(p, conns, timeout):
    out, err = p.communicate(timeout=timeout)
    res = json.loads(out.strip().splitlines()[-1])
    if res["opened"] != conns:
        raise RuntimeError("not every connection opened: " + err.strip())


def hold_idle(a, pid, port):
    """RSS per idle connection while zws bench --hold keeps them open: after
    a warm-up batch, and from the start (see the module's docstring)."""
    warm = min(a.warm, a.conns - 1)
    rest = a.conns - warm
    r0 = rss_kib(pid)
    pw = hold(a, port, warm, a.seconds + 4)  # outlives the second batch's reading
    time.sleep(2)
    rw = rss_kib(pid)
    p = hold(a, port, rest, a.seconds)
    time.sleep(a.seconds / 2 + 2)
    r1 = rss_kib(pid)
    held(p, rest, a.seconds + 120)
    held(pw, warm, a.seconds + 120)
    return (r1 - rw) / rest, (r1 - r0) / a.conns


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("servers", nargs="+", help="NAME=COMMAND with {port}")
    ap.add_argument("--zws", default="build/release/tools/zws")
    ap.add_argument("--gen", choices=["zws", "load_test", "broadcast", "idle"], default="zws")
    ap.add_argument("--load-test")
    ap.add_argument("--broadcast-test")
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--size", type=int, default=20)
    ap.add_argument("--pipeline", type=int, default=1)
    ap.add_argument("--upgrades", action="store_true", help="zws bench --upgrades")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--warm", type=int, default=1000,
                    help="idle: connections opened before the baseline RSS is read")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=9300)
    ap.add_argument("--gen-args", default="", help="more zws bench arguments, every server")
    ap.add_argument("--gen-args-for", action="append", default=[], metavar="NAME=ARGS",
                    help="more zws bench arguments for server NAME (repeatable)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    servers = [s.split("=", 1) for s in a.servers]
    results = {name: [] for name, _ in servers}
    port = a.port
    for _ in range(a.rounds):
        for name, cmd in servers:  # interleaved: each round visits each server
            port += 1
            srv = start_server(cmd, port)
            try:
                if a.gen == "zws":
                    r = run_zws_bench(a, name, srv.pid, port)
                elif a.gen == "idle":
                    r = hold_idle(a, srv.pid, port)
                else:
                    r = run_uws_client(a, srv.pid, port, a.gen == "broadcast")
            finally:
                stop(srv)
            results[name].append(r)
    rows = []
    for name, _ in servers:
        rates = sorted(r[0] for r in results[name])
        cpus = sorted(r[1] for r in results[name])
        if a.gen == "idle":  # (after the warm-up, from the start), KiB/conn
            rows.append({"server": name, "warm": a.warm,
                         "kib_median": statistics.median(rates),
                         "kib_min": rates[0], "kib_max": rates[-1],
                         "kib_from_start_median": statistics.median(cpus),
                         "kib_from_start_min": cpus[0], "kib_from_start_max": cpus[-1]})
            continue
        rows.append({"server": name, "rate_median": statistics.median(rates),
                     "rate_min": rates[0], "rate_max": rates[-1],
                     "cpu_us_median": statistics.median(cpus) * 1e6,
                     "cpu_us_min": cpus[0] * 1e6, "cpu_us_max": cpus[-1] * 1e6})
        wires = sorted(r[2] for r in results[name] if len(r) > 2)
        if wires:
            rows[-1].update({"wire_b_median": statistics.median(wires),
                             "wire_b_min": wires[0], "wire_b_max": wires[-1]})
    base = rows[-1]
    what = {"zws": "msg/s", "load_test": "msg/s", "broadcast": "iter/s",
            "idle": "KiB/conn"}[a.gen]
    if a.json:
        for r in rows:
            r["rates"] = [x[0] for x in results[r["server"]]]  # per round, in order
            r["cpu_us"] = [x[1] * 1e6 for x in results[r["server"]]]
            if "wire_b_median" in r:
                r["wire_b"] = [x[2] for x in results[r["server"]]]
            if a.gen == "zws":
                r["gen_args"] = gen_args(a, r["server"])
        print(json.dumps({"gen": a.gen, "conns": a.conns, "size": a.size,
                          "pipeline": a.pipeline, "rows": rows}))
        return
    print(f"# gen={a.gen} conns={a.conns} size={a.size} pipeline={a.pipeline} "
          f"rounds={a.rounds} (server on core 0, generator on core 1)")
    for r in rows:
        if a.gen == "idle":
            ratio = r["kib_median"] / base["kib_median"] if base["kib_median"] else 0
            print(f"{r['server']:>8}  {r['kib_median']:6.3f} {what} after {a.warm} "
                  f"[{r['kib_min']:.3f}-{r['kib_max']:.3f}]  x{ratio:.2f} of {base['server']}"
                  f"   from the start {r['kib_from_start_median']:6.3f} "
                  f"[{r['kib_from_start_min']:.3f}-{r['kib_from_start_max']:.3f}]")
            continue
        unit = "us/delivery" if a.gen == "broadcast" else "us/msg"
        print(f"{r['server']:>8}  {r['rate_median']:10.0f} {what} "
              f"[{r['rate_min']:.0f}-{r['rate_max']:.0f}]  "
              f"cpu {r['cpu_us_median']:6.3f} {unit} "
              f"[{r['cpu_us_min']:.3f}-{r['cpu_us_max']:.3f}]  "
              f"x{r['cpu_us_median'] / base['cpu_us_median']:.2f} of {base['server']}"
              + (f"  echo {r['wire_b_median']:.1f} B/msg [{r['wire_b_min']:.1f}-"
                 f"{r['wire_b_max']:.1f}] ({r['wire_b_median'] / a.size:.3f} of {a.size})"
                 if "wire_b_median" in r else "")
              + (f"  [{' '.join(gen_args(a, r['server']))}]" if a.gen == "zws" and
                 gen_args(a, r["server"]) else ""))


if __name__ == "__main__":
    sys.exit(main())
