#!/usr/bin/python3
"""relay_ab: one zrelayd build against another, interleaved round by round (A B A B ...), each a
fresh process fed flat out by bench_driver, as relay_bench runs them. Prints the medians and the
per-round ratio A/B: what a change costs, measured side by side on a noisy machine.

    tools/relay_ab.py build/release /tmp/before/build/release [--rounds 9]
    # one build, two settings (keys added to each side's egress section):
    tools/relay_ab.py build/release build/release --a-egress "stamp: true" --b-egress "stamp: false"
    # one build, two environments for the relay alone (the driver keeps the default):
    tools/relay_ab.py build/release build/release \
        --b-env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
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
    args = p.parse_args()
    envs = [dict(kv.split("=", 1) for kv in side) for side in (args.a_env, args.b_env)]
    bench = relay_bench.Bench(argparse.Namespace(build=args.a, quick=False))
    builds = [os.path.abspath(args.a), os.path.abspath(args.b)]
    for case in args.cases.split(","):
        transport, size = case.split(":")
        rates = ([], [])
        for _ in range(args.rounds):
            for build, extra, env, out in zip(builds, (args.a_egress, args.b_egress), envs,
                                              rates):
                bench.build = build
                out.append(bench.run("zrelayd", transport, int(size), egress_extra=extra,
                                     relay_env=env)["msgs_per_s"])
        ratios = [a / b for a, b in zip(*rates)]
        print(f"{transport} {size} B: A {statistics.median(rates[0]):,.0f} msg/s, "
              f"B {statistics.median(rates[1]):,.0f} msg/s, A/B per round: median "
              f"{statistics.median(ratios):.3f} (min {min(ratios):.3f}, max {max(ratios):.3f})",
              flush=True)


if __name__ == "__main__":
    main()
