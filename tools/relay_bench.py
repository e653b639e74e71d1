#!/usr/bin/python3
"""relay_bench: zrelayd against the bare forwarders, side by side in one run.

For each transport (tcp, ipc) and message size (64 B, 1 KiB, 16 KiB, 256 KiB) it runs, round after
round, the plain recv/send loop, zmq_proxy, the loop sending [topic][message] as zrelayd does
(topic-loop), and zrelayd (A B C D A B C D ...), each a fresh process fed by bench_driver flat
out, and prints medians and the per-round ratios zrelayd/loop, zrelayd/proxy and
zrelayd/topic-loop. Only ratios within one run mean anything on a shared machine. Then: zrelayd with
workers = 0, 1, 2, 4 against the loop at 64 B over tcp, and latency at a fixed offered load of half
the loop's median throughput. Every driver run checks that nothing was lost, duplicated or
reordered, and the runner stops on the first that fails.

    cmake --workflow --preset release && tools/relay_bench.py

Options: --rounds N (default 5), --quick (fewer messages and rounds, to try it out),
--sizes 64,1024, --transports tcp, --json FILE (every run's figures).
"""
import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Messages per measured run, by size: about half a second to a second each on 2 cores.
COUNTS = {64: 400_000, 1024: 200_000, 16384: 40_000, 262144: 4_000}
HWM = 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Endpoints:
    def __init__(self, transport, tmpdir, n):
        if transport == "tcp":
            self.ingress = f"tcp://127.0.0.1:{free_port()}"
            self.egress = f"tcp://127.0.0.1:{free_port()}"
        else:
            self.ingress = f"ipc://{tmpdir}/in-{n}.sock"
            self.egress = f"ipc://{tmpdir}/out-{n}.sock"


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.tmpdir = tempfile.mkdtemp(prefix="zrelay-bench-")
        self.n = 0
        self.runs = []

    def start(self, system, eps, workers=None, egress_extra="", relay_env=None):
        if system in ("loop", "proxy", "topic-loop"):
            cmd = [f"{self.build}/tools/bench_forwarder", "--mode", system, "--in", eps.ingress,
                   "--out", eps.egress, "--rcvhwm", str(HWM), "--sndhwm", str(HWM),
                   "--nodrop", "1"]
        else:
            config = os.path.join(self.tmpdir, f"zrelay-{self.n}.yaml")
            with open(config, "w") as f:
                f.write(f"ingress: {{bind: ['{eps.ingress}'], rcvhwm: {HWM}, "
                        f"max_message_bytes: 1048576}}\n"
                        f"egress: {{bind: ['{eps.egress}'], sndhwm: {HWM}, nodrop: true"
                        f"{', ' + egress_extra if egress_extra else ''}}}\n"
                        "metrics: {listen: ''}\nlog: {level: warn}\n")
                if workers is not None:
                    f.write(f"workers: {workers}\n")
            cmd = [f"{self.build}/daemon/zrelayd", "--config", config]
        # relay_env: extra environment for the relay alone (e.g. LD_PRELOAD of an allocator).
        return subprocess.Popen(cmd, env={**os.environ, **relay_env} if relay_env else None)

    def run(self, system, transport, size, rate=0.0, count=None, workers=None, egress_extra="",
            relay_env=None):
        self.n += 1
        eps = Endpoints(transport, self.tmpdir, self.n)
        proc = self.start(system, eps, workers, egress_extra, relay_env)
        try:
            count = count or self.count(size)
            cmd = [f"{self.build}/tools/bench_driver", "--push", eps.ingress, "--sub", eps.egress,
                   "--count", str(count), "--size", str(size), "--hwm", str(HWM),
                   "--warmup", str(min(2000, count // 10)), "--rate", str(rate)]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            rss = peak_rss_kib(proc.pid)
            if proc.poll() is not None:
                sys.exit(f"relay_bench: {system} exited early ({proc.returncode}): {cmd}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if out.returncode != 0:
            sys.exit(f"relay_bench: {system} {transport} {size} B failed:\n{out.stdout}{out.stderr}")
        figures = json.loads(out.stdout)
        figures.update(system=system, transport=transport, workers=workers, rss_kib=rss)
        self.runs.append(figures)
        return figures

    def count(self, size):
        n = COUNTS.get(size, max(4000, 25_000_000 // size))
        return n // 4 if self.args.quick else n


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_rate(x):
    return f"{x / 1e6:.3f} M" if x >= 1e6 else f"{x / 1e3:.1f} k"


def ratio_cell(xs):
    return f"{median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def throughput(bench, transports, sizes, rounds):
    # topic-loop is the loop sending [topic][message] like zrelayd: what the wire contract's
    # extra frame costs by itself, so the table shows how much of the gap is the relay's own.
    systems = ["loop", "proxy", "topic-loop", "zrelayd"]
    print("\n## Throughput, flat out (median of rounds; ratios: median of per-round ratios, "
          "range in brackets)\n")
    print("| transport | size | loop msg/s | proxy msg/s | topic-loop msg/s | zrelayd msg/s | "
          "zrelayd MB/s | zrelayd/loop | zrelayd/proxy | zrelayd/topic-loop | "
          "peak RSS zrelayd / loop |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    loop_max = {}
    flat_latency = []
    for transport in transports:
        for size in sizes:
            res = {s: [] for s in systems}
            for _ in range(rounds):
                for s in systems:
                    res[s].append(bench.run(s, transport, size))
            rate = {s: [r["msgs_per_s"] for r in res[s]] for s in systems}
            vs_loop = [z / l for z, l in zip(rate["zrelayd"], rate["loop"])]
            vs_proxy = [z / p for z, p in zip(rate["zrelayd"], rate["proxy"])]
            vs_topic = [z / t for z, t in zip(rate["zrelayd"], rate["topic-loop"])]
            loop_max[(transport, size)] = median(rate["loop"])
            rss_z = max(r["rss_kib"] for r in res["zrelayd"]) / 1024
            rss_l = max(r["rss_kib"] for r in res["loop"]) / 1024
            print(f"| {transport} | {size} | {fmt_rate(median(rate['loop']))} | "
                  f"{fmt_rate(median(rate['proxy']))} | {fmt_rate(median(rate['topic-loop']))} | "
                  f"{fmt_rate(median(rate['zrelayd']))} | "
                  f"{median([r['mb_per_s'] for r in res['zrelayd']]):.0f} | "
                  f"{ratio_cell(vs_loop)} | {ratio_cell(vs_proxy)} | {ratio_cell(vs_topic)} | "
                  f"{rss_z:.1f} / {rss_l:.1f} MiB |", flush=True)
            flat_latency.append((transport, size, res))
    print("\n## Latency flat out (µs, medians over rounds; queueing at saturation, not a goal)\n")
    print("| transport | size | loop p50 / p99 | topic-loop p50 / p99 | zrelayd p50 / p99 |")
    print("|---|---|---|---|---|")
    for transport, size, res in flat_latency:
        cells = [" / ".join(f"{median([r[k] for r in res[s]]):.0f}" for k in ("p50_us", "p99_us"))
                 for s in ("loop", "topic-loop", "zrelayd")]
        print(f"| {transport} | {size} | " + " | ".join(cells) + " |")
    return loop_max


def workers_sweep(bench, rounds, transport="tcp", size=64):
    choices = [0, 1, 2, 4]
    print(f"\n## zrelayd workers, {size} B over {transport} (ratio to the loop, per round)\n")
    print("| workers | msg/s | zrelayd/loop | peak RSS |")
    print("|---|---|---|---|")
    loop = []
    res = {w: [] for w in choices}
    for _ in range(rounds):
        loop.append(bench.run("loop", transport, size))
        for w in choices:
            res[w].append(bench.run("zrelayd", transport, size, workers=w))
    for w in choices:
        ratios = [r["msgs_per_s"] / l["msgs_per_s"] for r, l in zip(res[w], loop)]
        print(f"| {w} | {fmt_rate(median([r['msgs_per_s'] for r in res[w]]))} | "
              f"{ratio_cell(ratios)} | {max(r['rss_kib'] for r in res[w]) / 1024:.1f} MiB |",
              flush=True)


def latency(bench, loop_max, transports, sizes, rounds):
    systems = ["loop", "proxy", "zrelayd"]
    print("\n## Latency at a fixed offered load: half and a quarter of the loop's median "
          "throughput (µs, medians over rounds)\n")
    print("| transport | size | load | offered msg/s | loop p50 / p99 / p99.9 | "
          "proxy p50 / p99 / p99.9 | zrelayd p50 / p99 / p99.9 / max | p99 zrelayd/loop |")
    print("|---|---|---|---|---|---|---|---|")
    cases = [(t, s, f) for t in transports for s in sizes for f in (0.5, 0.25)]
    for transport, size, load in cases:
        rate = loop_max[(transport, size)] * load
        count = int(rate * (0.5 if bench.args.quick else 1.5))
        res = {s: [] for s in systems}
        for _ in range(rounds):
            for s in systems:
                res[s].append(bench.run(s, transport, size, rate=rate, count=count))

        def cell(s, keys, res=res):
            return " / ".join(f"{median([r[k] for r in res[s]]):.0f}" for k in keys)

        p99 = [z["p99_us"] / l["p99_us"] for z, l in zip(res["zrelayd"], res["loop"])]
        print(f"| {transport} | {size} | {load:g} | {fmt_rate(rate)} | "
              f"{cell('loop', ['p50_us', 'p99_us', 'p999_us'])} | "
              f"{cell('proxy', ['p50_us', 'p99_us', 'p999_us'])} | "
              f"{cell('zrelayd', ['p50_us', 'p99_us', 'p999_us', 'max_us'])} | "
              f"{ratio_cell(p99)} |", flush=True)


def describe_machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"machine: {os.cpu_count()} cores, {cpu}, Linux {platform.release()}, "
          f"load average at start {os.getloadavg()[0]:.2f}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--sizes", default="64,1024,16384,262144")
    p.add_argument("--transports", default="tcp,ipc")
    p.add_argument("--skip", default="", help="comma list of: throughput,workers,latency")
    p.add_argument("--json", help="write every run's figures to this file")
    args = p.parse_args()
    if args.quick:
        args.rounds = min(args.rounds, 3)
    sizes = [int(s) for s in args.sizes.split(",")]
    transports = args.transports.split(",")
    skip = set(filter(None, args.skip.split(",")))

    bench = Bench(args)
    describe_machine()
    started = time.monotonic()
    loop_max = {}
    if "throughput" not in skip:
        loop_max = throughput(bench, transports, sizes, args.rounds)
    if "workers" not in skip:
        workers_sweep(bench, args.rounds)
    if "latency" not in skip:
        lat_sizes = [s for s in sizes if s <= 1024]
        for t in transports:
            for s in lat_sizes:
                if (t, s) not in loop_max:
                    loop_max[(t, s)] = median(
                        [bench.run("loop", t, s)["msgs_per_s"] for _ in range(3)])
        latency(bench, loop_max, transports, lat_sizes, args.rounds)
    print(f"\n{len(bench.runs)} runs in {time.monotonic() - started:.0f} s; every run lost, "
          "duplicated and reordered nothing.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(bench.runs, f, indent=1)


if __name__ == "__main__":
    main()
