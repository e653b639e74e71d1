#!/usr/bin/python3
"""relay_bench: zrelayd against the bare forwarders and NATS, side by side in one run.

For each transport (tcp, ipc) and message size (64 B, 1 KiB, 16 KiB, 256 KiB) it runs, round after
round, the plain recv/send loop, zmq_proxy, the loop sending [topic][message] as zrelayd does
(topic-loop), nats-server (tcp only: core NATS, no JetStream, driven through libnats by
nats_bench_driver with the same messages and checks) and zrelayd (A B C D E A B C D E ...), each a
fresh process fed by the driver flat out, and prints medians and the per-round ratios
zrelayd/loop, zrelayd/proxy, zrelayd/topic-loop and zrelayd/nats. Then the CPU each forwarding
process spent per message (user + system time from /proc, read when the driver is done, over the
messages it passed), for zrelayd also per thread. Only ratios within one run mean anything on a
shared machine. Then: zrelayd with workers = 0, 1, 2 against the loop at 64 B over tcp, with
per-thread CPU, and latency at a fixed offered load of half the loop's median throughput. Every
driver run checks that nothing was lost, duplicated or reordered, and the runner stops on the
first that fails.

    cmake --workflow --preset release && tools/relay_bench.py

Options: --rounds N (default 5), --quick (fewer messages and rounds, to try it out),
--sizes 64,1024, --transports tcp, --skip throughput,workers,latency, --json FILE (every run's
figures, CPU included), --zrelay-bench (zrelayd at 64 B over tcp measured by `zrelay bench` too,
alternating with bench_driver, and the ratio of the two: `tools/relay_bench.py --zrelay-bench
--skip throughput,workers,latency` for that alone).
"""
import argparse
import json
import os
import platform
import shutil
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
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


def wait_for_port(port, proc, log, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    proc.kill()
    proc.wait()
    with open(log) as f:
        sys.exit(f"relay_bench: nats-server did not accept on port {port}:\n{f.read()}")


def cpu_ticks(stat_path):
    """utime + stime from a /proc stat file, in clock ticks (the name may hold spaces)."""
    with open(stat_path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5)


def cpu_snapshot(pid):
    """The process's CPU time and each live thread's, by thread name, in clock ticks."""
    snap = {"process": cpu_ticks(f"/proc/{pid}/stat"), "threads": {}}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            ticks = cpu_ticks(f"/proc/{pid}/task/{tid}/stat")
        except OSError:
            continue  # gone since the listing
        snap["threads"][name] = snap["threads"].get(name, 0) + ticks
    return snap


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

    def start(self, system, eps, workers=None, egress_extra="", relay_env=None, config_extra=()):
        if system == "nats":
            # Core NATS only (no -js), logging to a file that is shown if it fails to start.
            log = os.path.join(self.tmpdir, f"nats-{self.n}.log")
            with open(log, "w") as out:
                proc = subprocess.Popen(["nats-server", "-a", "127.0.0.1", "-p", str(eps.port)],
                                        stdout=out, stderr=subprocess.STDOUT)
            wait_for_port(eps.port, proc, log)
            return proc
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
                        # A port of its own, as before but not the default 5557, which any
                        # relay on the host may hold.
                        f"replay: {{bind: ['tcp://127.0.0.1:{free_port()}']}}\n"
                        "metrics: {listen: ''}\nlog: {level: warn}\n")
                if workers is not None:
                    f.write(f"workers: {workers}\n")
                for line in config_extra:  # top-level keys, e.g. "io_threads: 2"
                    f.write(line + "\n")
            cmd = [f"{self.build}/daemon/zrelayd", "--config", config]
        # relay_env: extra environment for the relay alone (e.g. LD_PRELOAD of an allocator).
        return subprocess.Popen(cmd, env={**os.environ, **relay_env} if relay_env else None)

    def run(self, system, transport, size, rate=0.0, count=None, workers=None, egress_extra="",
            relay_env=None, config_extra=(), client="driver"):
        self.n += 1
        eps = Endpoints(transport, self.tmpdir, self.n)
        if system == "nats":
            if transport != "tcp":
                raise ValueError("nats runs over tcp only")
            eps.port = free_port()
        proc = self.start(system, eps, workers, egress_extra, relay_env, config_extra)
        try:
            count = count or self.count(size)
            warmup = min(2000, count // 10)
            load = ["--count", str(count), "--size", str(size), "--warmup", str(warmup),
                    "--rate", str(rate)]
            if client == "zrelay-bench":
                # The client tool's bench, 1 publisher and 1 subscriber, with a payload that
                # makes the DataMessage `size` bytes on the wire, as the driver's.
                cmd = [f"{self.build}/tools/zrelay", "bench", "--to", eps.ingress, "--from",
                       eps.egress, "--pub", "1", "--sub", "1", "--topic", "bench", "--count",
                       str(count), "--size", str(bench_payload(size)), "--rate", str(rate),
                       "--json"]
            elif system == "nats":
                cmd = [f"{self.build}/tools/nats_bench_driver", "--server",
                       f"nats://127.0.0.1:{eps.port}", *load]
            else:
                cmd = [f"{self.build}/tools/bench_driver", "--push", eps.ingress, "--sub",
                       eps.egress, "--hwm", str(HWM), *load]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            rss = peak_rss_kib(proc.pid)
            if proc.poll() is not None:
                sys.exit(f"relay_bench: {system} exited early ({proc.returncode}): {cmd}")
            # Before stopping it: what the forwarding process spent, over the messages it passed
            # (measured + warm-up; the few probes are left out).
            cpu = cpu_snapshot(proc.pid)
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
        if client == "zrelay-bench":
            figures = tool_figures(figures, size)
            warmup = 0  # a few warm-up messages, 10 ms apart: nothing to count
        per_msg = 1e6 / CLK_TCK / (count + warmup)
        threads = {name: t * per_msg for name, t in cpu["threads"].items()}
        busiest = max(threads, key=threads.get)
        figures.update(system=system, client=client, transport=transport, workers=workers,
                       rss_kib=rss,
                       cpu_us_per_msg=cpu["process"] * per_msg, thread_cpu_us_per_msg=threads,
                       busiest_thread=busiest, busiest_thread_us_per_msg=threads[busiest])
        self.runs.append(figures)
        return figures

    def count(self, size):
        n = COUNTS.get(size, max(4000, 25_000_000 // size))
        return n // 4 if self.args.quick else n


def bench_payload(size):
    """`zrelay bench --size` for a DataMessage of `size` bytes: topic "bench" (7 bytes with its
    tag and length), then the payload's tag, length and bytes, as bench_driver builds it."""
    for payload in range(size, 0, -1):
        if 7 + 1 + len(varint(payload)) + payload == size:
            return payload
    sys.exit(f"relay_bench: no zrelay bench payload makes a {size}-byte DataMessage")


def varint(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def tool_figures(summary, size):
    """`zrelay bench --json`'s summary under bench_driver's keys: the figure compared is the
    throughput delivered to the subscriber, first send to last receive, as the driver's."""
    if summary["message_bytes"] != size:
        sys.exit(f"relay_bench: zrelay bench sent {summary['message_bytes']}-byte messages, not "
                 f"{size}")
    delivered = summary["delivered"]
    latency = summary["latency_us"]
    return {"ok": summary["ok"], "size": size, "count": summary["expected"],
            "received": delivered["messages"], "lost": summary["lost"],
            "seconds": delivered["seconds"], "msgs_per_s": delivered["msgs_per_s"],
            "mb_per_s": delivered["msgs_per_s"] * size / 1e6,
            "offered_msgs_per_s": summary["offered"]["msgs_per_s"], "p50_us": latency["p50"],
            "p99_us": latency["p99"], "p999_us": latency["p99_9"], "max_us": latency["max"]}


def zrelay_bench_vs_driver(bench, rounds, transport="tcp", size=64):
    """The same zrelayd configuration measured by bench_driver and by `zrelay bench`, rounds
    alternating: the tool's figure should be the driver's, within the noise."""
    print(f"\n## zrelay bench against bench_driver: zrelayd, {size} B over {transport}, 1 "
          "publisher, 1 subscriber, HWM 1000 (medians of rounds; ratio: median of per-round "
          "ratios, range in brackets)\n")
    res = {"driver": [], "zrelay-bench": []}
    for _ in range(rounds):
        for client in res:
            res[client].append(bench.run("zrelayd", transport, size, client=client))
    ratios = [t["msgs_per_s"] / d["msgs_per_s"]
              for d, t in zip(res["driver"], res["zrelay-bench"])]
    print("| client | delivered msg/s | MB/s | p50 / p99 µs | zrelayd CPU µs/msg | runs |")
    print("|---|---|---|---|---|---|")
    for client, runs in res.items():
        print(f"| {client} | {fmt_rate(median([r['msgs_per_s'] for r in runs]))} | "
              f"{median([r['mb_per_s'] for r in runs]):.1f} | "
              f"{median([r['p50_us'] for r in runs]):.0f} / "
              f"{median([r['p99_us'] for r in runs]):.0f} | "
              f"{median([r['cpu_us_per_msg'] for r in runs]):.2f} | "
              + " ".join(fmt_rate(r["msgs_per_s"]) for r in runs) + " |")
    offered = median([r["offered_msgs_per_s"] for r in res["zrelay-bench"]])
    print(f"\nzrelay bench / bench_driver: {ratio_cell(ratios)}; zrelay bench's offered rate "
          f"(what zmq took from its publisher): {fmt_rate(offered)} msg/s", flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_rate(x):
    return f"{x / 1e6:.3f} M" if x >= 1e6 else f"{x / 1e3:.1f} k"


def ratio_cell(xs):
    return f"{median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


# topic-loop is the loop sending [topic][message] like zrelayd: what the wire contract's extra
# frame costs by itself, so the table shows how much of the gap is the relay's own. nats is the
# field's yardstick, a broker clients reach over tcp only.
SYSTEMS = ["loop", "proxy", "topic-loop", "nats", "zrelayd"]


def systems_for(transport):
    return [s for s in SYSTEMS if s != "nats" or transport == "tcp"]


def thread_rank(name):
    """zrelayd's threads in pipeline order, then libzmq's, then the rest (the main thread)."""
    for i, prefix in enumerate(("zrelay-relay", "zrelay-receive", "zrelay-work", "zrelay-publish",
                                "zrelay-", "ZMQbg/IO", "ZMQbg/")):
        if name.startswith(prefix):
            return (i, name)
    return (99, name)


def busiest_cell(runs):
    names = [r["busiest_thread"] for r in runs]
    name = max(set(names), key=names.count)
    return f"{name} {median([r['busiest_thread_us_per_msg'] for r in runs]):.2f}"


def thread_table(labels, rows):
    """One zrelayd row per case, a column per thread name seen: µs/msg, medians over rounds."""
    names = sorted({n for _, runs in rows for r in runs for n in r["thread_cpu_us_per_msg"]},
                   key=thread_rank)
    print("| " + " | ".join(labels + ["process"] + names + ["busiest"]) + " |")
    print("|---" * (len(labels) + len(names) + 2) + "|")
    for cells, runs in rows:
        threads = []
        for n in names:
            xs = [r["thread_cpu_us_per_msg"][n] for r in runs if n in r["thread_cpu_us_per_msg"]]
            threads.append(f"{median(xs):.2f}" if xs else "-")
        print("| " + " | ".join([str(c) for c in cells]
                                + [f"{median([r['cpu_us_per_msg'] for r in runs]):.2f}"]
                                + threads + [busiest_cell(runs)]) + " |", flush=True)


def throughput(bench, transports, sizes, rounds):
    print("\n## Throughput, flat out (median of rounds; ratios: median of per-round ratios, "
          "range in brackets)\n")
    print("| transport | size | loop msg/s | proxy msg/s | topic-loop msg/s | nats msg/s | "
          "zrelayd msg/s | zrelayd MB/s | zrelayd/loop | zrelayd/proxy | zrelayd/topic-loop | "
          "zrelayd/nats | peak RSS zrelayd / loop / nats |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    loop_max = {}
    cases = []
    for transport in transports:
        systems = systems_for(transport)
        for size in sizes:
            res = {s: [] for s in SYSTEMS}
            for _ in range(rounds):
                for s in systems:
                    res[s].append(bench.run(s, transport, size))
            rate = {s: [r["msgs_per_s"] for r in res[s]] for s in SYSTEMS}

            def vs(other, rate=rate):
                if not rate[other]:
                    return "-"
                return ratio_cell([z / o for z, o in zip(rate["zrelayd"], rate[other])])

            def rss(s, res=res):
                return f"{max(r['rss_kib'] for r in res[s]) / 1024:.1f}" if res[s] else "-"

            loop_max[(transport, size)] = median(rate["loop"])
            cells = [fmt_rate(median(rate[s])) if rate[s] else "-" for s in SYSTEMS]
            print(f"| {transport} | {size} | " + " | ".join(cells) + " | "
                  f"{median([r['mb_per_s'] for r in res['zrelayd']]):.0f} | "
                  f"{vs('loop')} | {vs('proxy')} | {vs('topic-loop')} | {vs('nats')} | "
                  f"{rss('zrelayd')} / {rss('loop')} / {rss('nats')} MiB |", flush=True)
            cases.append((transport, size, res))

    print("\n## Latency flat out (µs, medians over rounds; queueing at saturation, not a goal)\n")
    print("| transport | size | loop p50 / p99 | topic-loop p50 / p99 | nats p50 / p99 | "
          "zrelayd p50 / p99 |")
    print("|---|---|---|---|---|---|")
    for transport, size, res in cases:
        cells = [" / ".join(f"{median([r[k] for r in res[s]]):.0f}" for k in ("p50_us", "p99_us"))
                 if res[s] else "-" for s in ("loop", "topic-loop", "nats", "zrelayd")]
        print(f"| {transport} | {size} | " + " | ".join(cells) + " |")

    print("\n## CPU per message, flat out (µs of the forwarding process's user + system time over "
          "the messages it passed, medians over rounds; /proc counts in "
          f"{1000 // CLK_TCK} ms ticks)\n")
    print("| transport | size | loop | proxy | topic-loop | nats | zrelayd | zrelayd/loop | "
          "zrelayd/nats | zrelayd busiest thread |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for transport, size, res in cases:
        cpu = {s: [r["cpu_us_per_msg"] for r in res[s]] for s in SYSTEMS}

        def cpu_vs(other, cpu=cpu):
            if not cpu[other] or min(cpu[other]) <= 0:
                return "-"
            return ratio_cell([z / o for z, o in zip(cpu["zrelayd"], cpu[other])])

        cells = [f"{median(cpu[s]):.2f}" if cpu[s] else "-" for s in SYSTEMS]
        print(f"| {transport} | {size} | " + " | ".join(cells) + f" | {cpu_vs('loop')} | "
              f"{cpu_vs('nats')} | {busiest_cell(res['zrelayd'])} |")
    print("\nzrelayd per thread (µs/msg):\n")
    thread_table(["transport", "size"], [([t, s], res["zrelayd"]) for t, s, res in cases])
    return loop_max


def workers_sweep(bench, rounds, transport="tcp", size=64):
    choices = [0, 1, 2]
    print(f"\n## zrelayd workers, {size} B over {transport} (ratio to the loop, per round; CPU in "
          "µs per message)\n")
    print("| workers | msg/s | zrelayd/loop | CPU | CPU zrelayd/loop | peak RSS |")
    print("|---|---|---|---|---|---|")
    loop = []
    res = {w: [] for w in choices}
    for _ in range(rounds):
        loop.append(bench.run("loop", transport, size))
        for w in choices:
            res[w].append(bench.run("zrelayd", transport, size, workers=w))
    for w in choices:
        ratios = [r["msgs_per_s"] / l["msgs_per_s"] for r, l in zip(res[w], loop)]
        cpu = [r["cpu_us_per_msg"] / l["cpu_us_per_msg"] for r, l in zip(res[w], loop)
               if l["cpu_us_per_msg"] > 0]
        print(f"| {w} | {fmt_rate(median([r['msgs_per_s'] for r in res[w]]))} | "
              f"{ratio_cell(ratios)} | {median([r['cpu_us_per_msg'] for r in res[w]]):.2f} | "
              f"{ratio_cell(cpu) if cpu else '-'} | "
              f"{max(r['rss_kib'] for r in res[w]) / 1024:.1f} MiB |", flush=True)
    print(f"\nloop: {median([l['cpu_us_per_msg'] for l in loop]):.2f} µs/msg. "
          "zrelayd per thread (µs/msg):\n")
    thread_table(["workers"], [([w], res[w]) for w in choices])


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
    p.add_argument("--zrelay-bench", action="store_true",
                   help="also measure zrelayd at 64 B over tcp with `zrelay bench`, alternating "
                   "with bench_driver, and print the ratio")
    args = p.parse_args()
    if args.quick:
        args.rounds = min(args.rounds, 3)
    sizes = [int(s) for s in args.sizes.split(",")]
    transports = args.transports.split(",")
    skip = set(filter(None, args.skip.split(",")))

    if "throughput" not in skip and "tcp" in transports and not shutil.which("nats-server"):
        sys.exit("relay_bench: nats-server not found (tools/install-deps.sh installs it)")

    bench = Bench(args)
    describe_machine()
    started = time.monotonic()
    loop_max = {}
    if "throughput" not in skip:
        loop_max = throughput(bench, transports, sizes, args.rounds)
    if "workers" not in skip:
        workers_sweep(bench, args.rounds)
    if args.zrelay_bench:
        zrelay_bench_vs_driver(bench, args.rounds)
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
