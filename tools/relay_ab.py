#!/usr/bin/python3
"""relay_ab: one zrelayd build against another, interleaved round by round (A B A B ...), each a
fresh process fed flat out by bench_driver, as relay_bench runs them. Prints the medians and the
per-round ratio A/B: what a change costs, measured side by side on a noisy machine; then each
relay's CPU per message relayed (utime + stime from /proc, medians), for the process and by thread.

    tools/relay_ab.py build/release /tmp/before/build/release [--rounds 9]
    # one build, two settings (keys added to each side's egress section):
    tools/relay_ab.py build/release build/release --a-egress "stamp: true" --b-egress "stamp: false"
    # one build, two environments for the relay alone (the driver keeps the default):
    tools/relay_ab.py build/release build/release \
        --b-env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
    # one build, two top-level settings (lines added to each side's config, repeatable):
    tools/relay_ab.py build/release build/release --a-config "io_threads: 1" \
        --b-config "io_threads: 2" --a-config "workers: 2" --b-config "workers: 2"
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import relay_bench  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", help="build directory A (holds daemon/zrelayd and tools/bench_driver)")
    p.add_argument("b", help="build directory B")
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--cases", default="tcp:64,tcp:1024,ipc:64")
    p.add_argument("--a-egress", default="", help="extra egress keys for A, e.g. 'stamp: false'")
    p.add_argument("--b-egress", default="", help="extra egress keys for B")
    p.add_argument("--a-env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment for A's relay only (repeatable)")
    p.add_argument("--b-env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment for B's relay only (repeatable)")
    p.add_argument("--a-config", action="append", default=[], metavar="LINE",
                   help="a top-level line for A's config, e.g. 'io_threads: 2' (repeatable)")
    p.add_argument("--b-config", action="append", default=[], metavar="LINE",
                   help="a top-level line for B's config (repeatable)")
    args = p.parse_args()
    envs = [dict(kv.split("=", 1) for kv in side) for side in (args.a_env, args.b_env)]
    bench = relay_bench.Bench(argparse.Namespace(build=args.a, quick=False))
    builds = [os.path.abspath(args.a), os.path.abspath(args.b)]
    for case in args.cases.split(","):
        transport, size = case.split(":")
        runs = ([], [])
        for _ in range(args.rounds):
            for build, extra, env, lines, out in zip(builds, (args.a_egress, args.b_egress), envs,
                                                     (args.a_config, args.b_config), runs):
                bench.build = build
                out.append(bench.run("zrelayd", transport, int(size), egress_extra=extra,
                                     relay_env=env, config_extra=lines))
        rates = [[r["msgs_per_s"] for r in side] for side in runs]
        ratios = [a / b for a, b in zip(*rates)]
        print(f"{transport} {size} B: A {statistics.median(rates[0]):,.0f} msg/s, "
              f"B {statistics.median(rates[1]):,.0f} msg/s, A/B per round: median "
              f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})",
              flush=True)
        for label, side in zip("AB", runs):
            names = sorted({n for r in side for n in r["thread_cpu_us_per_msg"]})
            threads = ", ".join(
                f"{n} {statistics.median([r['thread_cpu_us_per_msg'].get(n, 0.0) for r in side]):.3f}"
                for n in names)
            print(f"  {label} CPU µs/msg: process "
                  f"{statistics.median([r['cpu_us_per_msg'] for r in side]):.3f}; {threads}",
                  flush=True)
        cpu = [a["cpu_us_per_msg"] / b["cpu_us_per_msg"] for a, b in zip(*runs)]
        print(f"  CPU A/B per round: median {statistics.median(cpu):.3f} (min {min(cpu):.3f}, "
              f"max {max(cpu):.3f})", flush=True)


if __name__ == "__main__":
    main()
