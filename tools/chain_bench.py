#!/usr/bin/env python3
"""chain_bench: a two-relay chain (edge -> egress.forward -> central) against a single relay,
interleaved round by round, each round a fresh set of processes fed flat out by bench_driver
(pushing into the first relay, subscribing to the last). Prints throughput medians, the per-round
ratio chain / single (issue 18's goal 6: >= 0.45 at 1 KiB), and CPU per message summed over the
relays, from /proc (steadier than throughput on a shared 2-core machine).

    cmake --workflow --preset release && tools/chain_bench.py build/release [--rounds 7]
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from relay_bench import CLK_TCK, HWM, cpu_snapshot, free_port, median  # noqa: E402


def relay_config(path, ingress, egress, forward=None):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"ingress: {{bind: ['{ingress}'], rcvhwm: {HWM}}}\n"
                f"egress: {{bind: ['{egress}'], sndhwm: {HWM}, nodrop: true"
                + (f", forward: ['{forward}']" if forward else "") + "}\n"
                "metrics: {listen: ''}\nreplay: {bind: []}\nlog: {level: warn}\nworkers: 0\n")


def run(build, tmp, chain, size, count):
    """One round: returns (msgs/s, CPU µs per message over all relays)."""
    ports = [free_port() for _ in range(4)]
    eps = [f"tcp://127.0.0.1:{p}" for p in ports]
    procs = []
    try:
        configs = []
        if chain:
            # central: eps[2] in, eps[3] out; edge: eps[0] in, eps[1] out, forwards to central.
            configs.append((eps[2], eps[3], None))
            configs.append((eps[0], eps[1], eps[2]))
            push, sub = eps[0], eps[3]
        else:
            configs.append((eps[0], eps[1], None))
            push, sub = eps[0], eps[1]
        for i, (ingress, egress, forward) in enumerate(configs):
            path = os.path.join(tmp, f"relay-{i}.yaml")
            relay_config(path, ingress, egress, forward)
            procs.append(subprocess.Popen([f"{build}/daemon/zrelayd", "--config", path]))
        warmup = min(2000, count // 10)
        out = subprocess.run([f"{build}/tools/bench_driver", "--push", push, "--sub", sub,
                              "--hwm", str(HWM), "--count", str(count), "--size", str(size),
                              "--warmup", str(warmup)],
                             capture_output=True, text=True, timeout=300, check=False)
        if out.returncode != 0:
            sys.exit(f"chain_bench: bench_driver failed:\n{out.stdout}{out.stderr}")
        ticks = sum(cpu_snapshot(p.pid)["process"] for p in procs)
        figures = json.loads(out.stdout)
        if figures["lost"] or figures["duplicated_or_reordered"]:
            sys.exit(f"chain_bench: the relays lost or reordered messages: {figures}")
        return figures["msgs_per_s"], ticks * 1e6 / CLK_TCK / (count + warmup)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("build", help="a build directory (daemon/zrelayd, tools/bench_driver)")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--sizes", default="1024,64")
    p.add_argument("--count", type=int, default=200_000)
    args = p.parse_args()
    build = os.path.abspath(args.build)
    with tempfile.TemporaryDirectory(prefix="zrelay-chain-") as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            single, chained, ratios, cpu_single, cpu_chain = [], [], [], [], []
            for _ in range(args.rounds):
                s_rate, s_cpu = run(build, tmp, False, size, args.count)
                c_rate, c_cpu = run(build, tmp, True, size, args.count)
                single.append(s_rate)
                chained.append(c_rate)
                ratios.append(c_rate / s_rate)
                cpu_single.append(s_cpu)
                cpu_chain.append(c_cpu)
            print(f"tcp {size} B, {args.rounds} rounds of {args.count:,} messages: "
                  f"single {median(single):,.0f} msg/s, chain {median(chained):,.0f} msg/s, "
                  f"chain/single per round: median {median(ratios):.3f} "
                  f"(min {min(ratios):.3f}, max {max(ratios):.3f})")
            print(f"  CPU µs/msg over the relays: single {median(cpu_single):.3f}, "
                  f"chain {median(cpu_chain):.3f}")


if __name__ == "__main__":
    main()
