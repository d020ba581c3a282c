#!/usr/bin/env python3
"""Ratios between Google Benchmark results measured in the same run.

Reads one or more Google Benchmark JSON files (--benchmark_out=<f> --benchmark_out_format=json)
and prints, for each file, the median and minimum time of every benchmark, then a table of
ratios for named pairs. Ratios are only formed within one file (one program run): absolute
times on a shared VM swing by up to 10x from minute to minute, so times from different runs are
never divided. With several files, a last row per pair gives the median of the per-file ratios.

Medians: the "median" aggregate when the run had --benchmark_repetitions (with or without
--benchmark_report_aggregates_only); otherwise the median over the iteration entries of that
benchmark (one per repetition). Minima likewise, from a "min" aggregate (bench/bench_util.hpp
adds one) or the iteration entries. The ratio of the minima is printed next to the ratio of the
medians and is the steadier of the two when the machine's timings are bimodal; goals are judged
on the ratio of the medians.

Benchmark names are matched without the "BM_" prefix and without the "/real_time",
"/manual_time" and "/process_time" parts Google Benchmark appends, so "ParkUnparkPingPong"
matches "BM_ParkUnparkPingPong/real_time" and "UnparkOneLatency/1000" matches
"BM_UnparkOneLatency/1000".

Pairs (arguments that are not files):
  label=Numerator:Denominator[<=GOAL]  ratio of the two benchmarks' median times
  label=Benchmark#counter[<=GOAL]      a ratio the benchmark measured itself (a user counter,
                                       e.g. paired_ping_pong's "ratio"), median over repetitions
  --builtin                            adds the built-in table below; its entries whose
                                       benchmarks are missing from a file are skipped silently
With no pair on the command line, the built-in table is used.

Examples:
  tools/bench-ratios.py build/release/bench/*.json
  tools/bench-ratios.py run.json 'park=ParkUnparkPingPong:RawFutexPingPong<=1.15'
  tools/bench-ratios.py run.json 'paired=ParkUnparkVsRawFutex#ratio<=1.15' --builtin
"""

import argparse
import json
import os
import re
import statistics
import sys

# Ratios of two benchmarks' medians: label, numerator, denominator, goal (the ratio must be
# <= goal; None: informational), time. Hand-offs between threads are compared on wall-clock time
# (the threads sleep); loops that never block on CPU time, which a preemption on a loaded
# machine does not inflate.
BUILTIN_PAIRS = [
    ("park/unpark vs raw futex (P4)", "ParkUnparkPingPong", "RawFutexPingPong", 1.15, "real"),
    ("unpark_one, 100 vs 1 parked (P4 flat)", "UnparkOneLatency/100", "UnparkOneLatency/1", 1.15,
     "cpu"),
    ("unpark_one, 1000 vs 1 parked (P4 flat)", "UnparkOneLatency/1000", "UnparkOneLatency/1",
     1.15, "cpu"),
]
# Ratios a benchmark measured itself: label, benchmark, counter, goal.
BUILTIN_COUNTERS = [
    ("park/unpark vs raw futex, paired blocks (P4)", "ParkUnparkVsRawFutex", "ratio", 1.15),
]

UNIT_TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
TIMING_PARTS = {"real_time", "manual_time", "process_time"}
# Keys of a benchmark entry that are not user counters.
STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "aggregate_name", "aggregate_unit", "label", "error_occurred", "error_message",
    "bytes_per_second", "items_per_second", "big_o", "rms",
}


def normalize(run_name):
    parts = run_name.split("/")
    if parts and parts[0].startswith("BM_"):
        parts[0] = parts[0][3:]
    return "/".join(p for p in parts if p not in TIMING_PARTS)


def load(path):
    """Reads one JSON file. Returns (times, counters, context):
    times[name][time] = {"median": ns, "min": ns or None} for time in "real", "cpu";
    counters[name][counter] = median over repetitions."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    aggregates = {}  # (name, key, statistic) -> value; key is "real", "cpu" or a counter
    samples = {}  # (name, key) -> [values of the iteration entries]
    order = []
    for b in data.get("benchmarks", []):
        if b.get("error_occurred"):
            continue
        name = normalize(b.get("run_name", b["name"]))
        if name not in order:
            order.append(name)
        unit = UNIT_TO_NS[b.get("time_unit", "ns")]
        values = {"real": float(b["real_time"]) * unit, "cpu": float(b["cpu_time"]) * unit}
        for key, value in b.items():
            if key not in STANDARD_KEYS and isinstance(value, (int, float)):
                values["#" + key] = float(value)
        for key, value in values.items():
            if b.get("run_type") == "aggregate":
                aggregates[(name, key, b.get("aggregate_name"))] = value
            else:
                samples.setdefault((name, key), []).append(value)

    def statistic(name, key, which):
        value = aggregates.get((name, key, which))
        if value is None and samples.get((name, key)):
            pick = statistics.median if which == "median" else min
            value = pick(samples[(name, key)])
        return value

    times = {}
    counters = {}
    keys = {key for (_, key, _) in aggregates} | {key for (_, key) in samples}
    for name in order:
        entry = {}
        for time in ("real", "cpu"):
            median = statistic(name, time, "median")
            if median is not None:
                entry[time] = {"median": median, "min": statistic(name, time, "min")}
        if entry:
            times[name] = entry
        for key in keys:
            if key.startswith("#"):
                median = statistic(name, key, "median")
                if median is not None:
                    counters.setdefault(name, {})[key[1:]] = median
    return times, counters, data.get("context", {})


GOAL = r"(?:<=(?P<goal>[0-9.eE+-]+))?$"
PAIR_RE = re.compile(r"^(?P<label>[^=]+)=(?P<num>[^:#<]+):(?P<den>[^:#<]+)" + GOAL)
COUNTER_RE = re.compile(r"^(?P<label>[^=]+)=(?P<bench>[^#<]+)#(?P<counter>[^#<]+)" + GOAL)


def parse_spec(text):
    """Returns ("pair", label, num, den, goal, None), ("counter", label, bench, counter, goal)
    or None if `text` is not a pair."""
    m = PAIR_RE.match(text)
    if m:
        goal = float(m["goal"]) if m["goal"] else None
        return ("pair", m["label"].strip(), m["num"].strip(), m["den"].strip(), goal, None)
    m = COUNTER_RE.match(text)
    if m:
        goal = float(m["goal"]) if m["goal"] else None
        return ("counter", m["label"].strip(), m["bench"].strip(), m["counter"].strip(), goal)
    return None


def fmt_ns(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.3f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.3f} us"
    return f"{ns:.1f} ns"


def print_table(rows, header):
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())


def verdict(ratio, goal):
    return "" if goal is None else ("ok" if ratio <= goal else "MISSED")


def goal_text(goal):
    return "-" if goal is None else f"<= {goal:g}"


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", metavar="FILE_OR_PAIR",
                        help="Google Benchmark JSON files and pairs (see below)")
    parser.add_argument("--builtin", action="store_true", help="use the built-in pairs as well")
    parser.add_argument("--cpu", action="store_true",
                        help="compare cpu_time instead of real_time in the pairs given on the "
                        "command line (built-in pairs say which time they use)")
    parser.add_argument("--no-medians", action="store_true", help="print only the ratios")
    args = parser.parse_args(argv)

    files = []
    specs = []
    for item in args.inputs:
        spec = None if os.path.exists(item) else parse_spec(item)
        if spec is None and "=" in item and not os.path.exists(item):
            parser.error(f"{item!r} is neither a file nor a pair (label=Num:Den or "
                         "label=Benchmark#counter, optionally followed by <=GOAL)")
        if spec is None:
            files.append(item)
        else:
            specs.append((spec, True))
    if not files:
        parser.error("no JSON file given")
    if args.builtin or not specs:
        specs += [(("pair",) + p, False) for p in BUILTIN_PAIRS]
        specs += [(("counter",) + c, False) for c in BUILTIN_COUNTERS]

    default_time = "cpu" if args.cpu else "real"
    per_file = []
    for path in files:
        try:
            times, counters, context = load(path)
        except (OSError, ValueError, KeyError) as e:
            print(f"{path}: cannot read: {e}", file=sys.stderr)
            return 2
        per_file.append((os.path.basename(path), times, counters))
        if not args.no_medians:
            print(f"== {path} ({context.get('date', '?')}, "
                  f"{context.get('num_cpus', '?')} CPUs, load {context.get('load_avg', '?')})")
            if times:
                print_table([(n, fmt_ns(e["real"]["median"]), fmt_ns(e["real"]["min"]),
                              fmt_ns(e["cpu"]["median"]), fmt_ns(e["cpu"]["min"]))
                             for n, e in times.items()],
                            ("benchmark", "real median", "real min", "cpu median", "cpu min"))
            else:
                print("(no successful benchmarks)")
            print()

    rows = []
    missing = False
    for spec, required in specs:
        ratios = []
        min_ratios = []
        if spec[0] == "pair":
            _, label, num, den, goal, time = spec
            time = time or default_time
            for path, times, _ in per_file:
                if num not in times or den not in times:
                    continue
                a, b = times[num][time], times[den][time]
                if b["median"] <= 0:
                    continue
                ratios.append(a["median"] / b["median"])
                min_ratio = ""
                if a["min"] is not None and b["min"]:
                    min_ratios.append(a["min"] / b["min"])
                    min_ratio = f"{min_ratios[-1]:.3f}"
                rows.append((label, path, time, fmt_ns(a["median"]), fmt_ns(b["median"]),
                             f"{ratios[-1]:.3f}", min_ratio, goal_text(goal),
                             verdict(ratios[-1], goal)))
            what = f"{num} or {den}"
        else:
            _, label, bench, counter, goal = spec
            time = "self"
            for path, _, counters in per_file:
                value = counters.get(bench, {}).get(counter)
                if value is None:
                    continue
                ratios.append(value)
                rows.append((label, path, f"#{counter}", "", "", f"{value:.3f}", "",
                             goal_text(goal), verdict(value, goal)))
            what = f"{bench} with a {counter!r} counter"
        if not ratios and required:
            missing = True
            print(f"{label!r}: {what} not found in any file", file=sys.stderr)
        if len(ratios) > 1:
            ratio = statistics.median(ratios)
            min_ratio = f"{statistics.median(min_ratios):.3f}" if min_ratios else ""
            rows.append((label, f"median of {len(ratios)} files", "", "", "", f"{ratio:.3f}",
                         min_ratio, goal_text(goal), verdict(ratio, goal)))
    if rows:
        print("ratio: numerator median / denominator median, or the benchmark's own ratio "
              "counter (median over repetitions); min ratio: ratio of the minima")
        print_table(rows, ("pair", "file", "time", "numerator", "denominator", "ratio",
                           "min ratio", "goal", ""))
    else:
        print("no pair had its benchmarks in one file")
    # Exit status: 1 if a pair given on the command line was found in no file; goals are
    # reported, not enforced (a noisy machine must not fail a build).
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
