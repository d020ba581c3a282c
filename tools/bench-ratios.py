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
  label=Numerator:Denominator[<=GOAL|>=GOAL]  ratio of the two benchmarks' median times
  label=Benchmark#counter[<=GOAL|>=GOAL]      a ratio the benchmark measured itself (a user
                                              counter, e.g. paired_ping_pong's "ratio"), median
                                              over repetitions
  --builtin    adds the built-in table (BUILTIN_PAIRS, BUILTIN_COUNTERS: the goals of TARGETS.md
               P1-P5 and the multi-wait comparisons); its entries whose benchmarks are missing
               from a file are skipped silently
With no pair on the command line, the built-in table is used. A goal "<= G" is met when the
ratio is at most G, ">= G" when it is at least G; a pair without a goal is informational.

--markdown prints the same as Markdown tables, one row per pair (the ratio is the median over
the files when there are several; the per-file ratios follow in the last column).
tools/bench-plot.py imports this file as a module (load, parse_goal, builtin_specs,
compute_ratios, markdown_ratios) to write docs/bench/summary.md; it does not parse JSON itself.

Examples:
  tools/bench-ratios.py build/release/bench/*.json
  tools/bench-ratios.py run.json 'park=ParkUnparkPingPong:RawFutexPingPong<=1.15'
  tools/bench-ratios.py run.json 'paired=ParkUnparkVsRawFutex#ratio<=1.15' --builtin
  tools/bench-ratios.py stage_bench.json 'w8=RouteRounds/8/0#stage_vs_dispatcher>=2.5'
  tools/bench-ratios.py --markdown build/bench/bench/*.json > ratios.md
"""

import argparse
import json
import os
import re
import statistics
import sys

# Ratios of two benchmarks' medians: label, numerator, denominator, goal, time. A goal is
# "<=G" (the ratio must be at most G), ">=G" (at least G), a bare number (the same as "<=") or
# None (informational). Hand-offs between threads are compared on wall-clock time (the threads
# sleep; benchmarks with UseManualTime report their own time there too); loops that never block
# on CPU time, which a preemption on a loaded machine does not inflate.
BUILTIN_PAIRS = [
    # P1 (events_bench): uncontended operations.
    ("AutoResetEvent set+try_wait vs atomic exchange pair (P1)", "AutoResetSetTryWait",
     "AtomicExchangePair", "<=1.1", "cpu"),
    ("std::binary_semaphore vs AutoResetEvent set+try_wait (P1: 15x faster)",
     "BinarySemaphoreReleaseTryAcquire", "AutoResetSetTryWait", ">=15", "cpu"),
    ("Semaphore vs std::counting_semaphore, release+try_acquire", "SemaphoreReleaseTryAcquire",
     "CountingSemaphoreReleaseTryAcquire", None, "cpu"),
    ("C API event set+wait(0) vs C++ AutoResetEvent set+try_wait", "CApiEventSetPoll",
     "AutoResetSetTryWait", None, "cpu"),
    ("C API semaphore release+acquire(0) vs std::counting_semaphore", "CApiSemaphoreReleasePoll",
     "CountingSemaphoreReleaseTryAcquire", None, "cpu"),
    # P2 (events_bench): ping-pong in separate benchmarks, threads placed freely (/0), both pinned
    # to one CPU (/1), pinned to two CPUs (/2) (issue 13); the paired counters below are steadier.
    ("ping-pong AutoResetEvent vs mutex+cv (P2: 10x faster)", "PingPong/AutoReset/0",
     "PingPong/MutexCv/0", "<=0.1", "real"),
    ("ping-pong AutoResetEvent vs std::binary_semaphore (P2)", "PingPong/AutoReset/0",
     "PingPong/BinarySemaphore/0", "<=1", "real"),
    ("ping-pong AutoResetEvent without spinning vs raw futex (P2)", "PingPong/AutoResetNoSpin/0",
     "PingPong/RawFutex/0", "<=1", "real"),
    ("ping-pong on two CPUs, AutoResetEvent vs mutex+cv (10x faster)", "PingPong/AutoReset/2",
     "PingPong/MutexCv/2", "<=0.1", "real"),
    ("ping-pong on one CPU, AutoResetEvent vs mutex+cv (no slower)", "PingPong/AutoReset/1",
     "PingPong/MutexCv/1", "<=1", "real"),
    ("ping-pong on one CPU, AutoResetEvent without spinning vs raw futex", "PingPong/AutoResetNoSpin/1",
     "PingPong/RawFutex/1", "<=1", "real"),
    ("ping-pong on two CPUs, AutoResetEvent without spinning vs raw futex", "PingPong/AutoResetNoSpin/2",
     "PingPong/RawFutex/2", "<=1", "real"),
    # P3 (events_bench): set() until the last of N waiters runs.
    ("broadcast ManualResetEvent vs raw FUTEX_WAKE, 16 waiters (P3)", "Broadcast/ManualReset/16",
     "Broadcast/RawFutex/16", "<=1.1", "real"),
    ("broadcast ManualResetEvent vs raw FUTEX_WAKE, 64 waiters (P3)", "Broadcast/ManualReset/64",
     "Broadcast/RawFutex/64", "<=1.1", "real"),
    ("broadcast CountdownEvent to zero vs raw FUTEX_WAKE, 16 waiters", "Broadcast/Countdown/16",
     "Broadcast/RawFutex/16", "<=1.1", "real"),
    ("broadcast CountdownEvent to zero vs raw FUTEX_WAKE, 64 waiters", "Broadcast/Countdown/64",
     "Broadcast/RawFutex/64", "<=1.1", "real"),
    ("4 producers / 4 consumers, Semaphore vs std::counting_semaphore (time, separate runs)",
     "SemaphoreThroughput/exitleft/4", "SemaphoreThroughput/std/4", None, "real"),
    # Awaitable waits (async_bench, issue 14).
    ("set + co_await async_wait vs set + try_wait (goal: within 2x)", "SetAsyncWait",
     "SetTryWait", "<=2", "cpu"),
    ("coroutine hand-off, AutoResetEvent async_wait vs asio channel", "CoroutineHandOff/exitleft",
     "CoroutineHandOff/asio_channel", None, "real"),
    ("coroutine hand-off, exitleft/asio.hpp use_awaitable vs asio channel",
     "CoroutineHandOff/exitleft_asio", "CoroutineHandOff/asio_channel", None, "real"),
    # P4 (parking_lot_bench).
    ("park/unpark vs raw futex (P4)", "ParkUnparkPingPong", "RawFutexPingPong", 1.15, "real"),
    ("unpark_one, 100 vs 1 parked (P4 flat)", "UnparkOneLatency/100", "UnparkOneLatency/1", 1.15,
     "cpu"),
    ("unpark_one, 1000 vs 1 parked (P4 flat)", "UnparkOneLatency/1000", "UnparkOneLatency/1",
     1.15, "cpu"),
    # Multi-object waits (wait_bench), one object signalled.
    ("wait_any over 2, first signalled, vs a single wait", "WaitAny/objects:2/last:0",
     "SingleWait", None, "cpu"),
    ("wait_any over 8, first signalled, vs a single wait", "WaitAny/objects:8/last:0",
     "SingleWait", None, "cpu"),
    ("wait_any over 64, first signalled, vs a single wait", "WaitAny/objects:64/last:0",
     "SingleWait", None, "cpu"),
    ("wait_any over 64, last signalled, vs a single wait", "WaitAny/objects:64/last:1",
     "SingleWait", None, "cpu"),
    ("set+reset with vs without a wait-all registered", "SetReset/registered:1",
     "SetReset/registered:0", None, "cpu"),
    # Stage notify latency (stage_bench).
    ("Stage notify vs AutoResetEvent, ping-pong", "PingPong/StageNotify",
     "PingPong/AutoReset", None, "real"),
    ("Stage notify vs AutoResetEvent set, waking a parked waiter", "WakeParked/StageNotify",
     "WakeParked/AutoReset", None, "real"),
    ("Stage notify of a notified ticket vs set of a set AutoResetEvent", "NotifyPending/Stage",
     "NotifyPending/AutoReset", None, "cpu"),
]
# Ratios a benchmark measured itself: label, benchmark, counter, goal.
BUILTIN_COUNTERS = [
    ("ping-pong AutoResetEvent without spinning vs raw futex, paired blocks (P2)",
     "Paired/AutoResetNoSpin_vs_RawFutex", "ratio", "<=1"),
    ("ping-pong AutoResetEvent vs std::binary_semaphore, paired blocks (P2)",
     "Paired/AutoReset_vs_BinarySemaphore", "ratio", "<=1"),
    ("ping-pong AutoResetEvent vs mutex+cv, paired blocks (P2: 10x faster)",
     "Paired/AutoReset_vs_MutexCv", "ratio", "<=0.1"),
    ("park/unpark vs raw futex, paired blocks (P4)", "ParkUnparkVsRawFutex", "ratio", 1.15),
    # Semaphore throughput (issue 13): exitleft's time / std::counting_semaphore's, same iteration.
    ("1 producer / 1 consumer, Semaphore vs std::counting_semaphore (time)",
     "SemaphoreThroughputRounds/1", "exitleft_vs_std", "<=1"),
    ("4 producers / 4 consumers, Semaphore vs std::counting_semaphore (time)",
     "SemaphoreThroughputRounds/4", "exitleft_vs_std", "<=1"),
    ("8 producers / 8 consumers, Semaphore vs std::counting_semaphore (time)",
     "SemaphoreThroughputRounds/8", "exitleft_vs_std", "<=1"),
    ("broadcast ManualResetEvent vs raw FUTEX_WAKE, 16 waiters, same iteration (P3)",
     "BroadcastRounds/16/iterations:300", "event_vs_raw", "<=1.1"),
    ("broadcast ManualResetEvent vs raw FUTEX_WAKE, 64 waiters, same iteration (P3)",
     "BroadcastRounds/64/iterations:300", "event_vs_raw", "<=1.1"),
    ("broadcast CountdownEvent to zero vs raw FUTEX_WAKE, 16 waiters, same iteration",
     "BroadcastRounds/16/iterations:300", "countdown_vs_raw", "<=1.1"),
    ("broadcast CountdownEvent to zero vs raw FUTEX_WAKE, 64 waiters, same iteration",
     "BroadcastRounds/64/iterations:300", "countdown_vs_raw", "<=1.1"),
    ("Stage notify vs AutoResetEvent ping-pong, paired blocks", "Paired/StageNotify_vs_AutoReset",
     "ratio", None),
]
# Stage (stage_bench): BM_RouteRounds/<workers>/<window> measures Stage's datagrams/s divided by
# each other mode's in the same iteration (counters stage_vs_<mode>; higher is better), and the
# receiving side's CPU and context switches per datagram the same way (stage_cpu_vs_<mode>,
# stage_switches_vs_<mode>; lower is better). Goals of issue 11; the old "2.5x a dispatcher" is
# retired (the dispatcher's extra hop costs little next to a system call on loopback).
for _workers, _window in ((2, 0), (8, 0), (32, 0), (8, 2)):
    _run = f"RouteRounds/{_workers}/{_window}"
    _where = f"{_workers} workers, window {_window}"
    for _mode, _goal in (("single_reader", ">=0.9"), ("dispatcher", None),
                         ("socket_per_peer", None), ("mutex_cv", None)):
        BUILTIN_COUNTERS.append((f"Stage vs {_mode.replace('_', '-')}, datagrams/s, {_where}",
                                 _run, f"stage_vs_{_mode}", _goal))
    for _mode in ("dispatcher", "mutex_cv"):
        BUILTIN_COUNTERS.append((f"Stage vs {_mode.replace('_', '-')}, receive CPU per datagram, "
                                 f"{_where}", _run, f"stage_cpu_vs_{_mode}", "<=0.9"))
    BUILTIN_COUNTERS.append((f"Stage vs dispatcher, context switches per datagram, {_where}",
                             _run, "stage_switches_vs_dispatcher", "<=0.5"))

UNIT_TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
TIMING_PARTS = {"real_time", "manual_time", "process_time"}
# Keys of a benchmark entry that are not user counters. The rates Google Benchmark derives
# (items_per_second, bytes_per_second) are kept as counters too, for the plots' throughputs.
STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "aggregate_name", "aggregate_unit", "label", "error_occurred", "error_message", "big_o",
    "rms",
}


def normalize(run_name):
    parts = run_name.split("/")
    if parts and parts[0].startswith("BM_"):
        parts[0] = parts[0][3:]
    return "/".join(p for p in parts if p not in TIMING_PARTS)


def load(path):
    """Reads one JSON file. Returns (times, counters, context):
    times[name][time] = {"median": ns, "min": ns or None} for time in "real", "cpu";
    counters[name][counter] = median over repetitions (user counters and items_per_second)."""
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


GOAL = r"(?:(?P<op><=|>=)(?P<goal>[0-9.eE+-]+))?$"
PAIR_RE = re.compile(r"^(?P<label>[^=]+)=(?P<num>[^:#<>]+):(?P<den>[^:#<>]+)" + GOAL)
COUNTER_RE = re.compile(r"^(?P<label>[^=]+)=(?P<bench>[^#<>]+)#(?P<counter>[^#<>]+)" + GOAL)


def parse_goal(goal):
    """None, a number (meaning "<="), "<=G", ">=G" or an (op, G) pair -> (op, G) or None."""
    if goal is None or isinstance(goal, tuple):
        return goal
    if isinstance(goal, (int, float)):
        return ("<=", float(goal))
    text = str(goal).replace(" ", "")
    if text[:2] in ("<=", ">="):
        return (text[:2], float(text[2:]))
    return ("<=", float(text))


def parse_spec(text):
    """Returns ("pair", label, num, den, goal, None), ("counter", label, bench, counter, goal)
    or None if `text` is not a pair; goal is (op, G) or None."""
    m = PAIR_RE.match(text)
    if m:
        goal = (m["op"], float(m["goal"])) if m["goal"] else None
        return ("pair", m["label"].strip(), m["num"].strip(), m["den"].strip(), goal, None)
    m = COUNTER_RE.match(text)
    if m:
        goal = (m["op"], float(m["goal"])) if m["goal"] else None
        return ("counter", m["label"].strip(), m["bench"].strip(), m["counter"].strip(), goal)
    return None


def builtin_specs():
    """The built-in table as specs (the shape parse_spec returns), grouped by target: the
    entries whose label names one ("(P2)", "(P4 flat)") in its order, then the others."""
    specs = ([("pair",) + p for p in BUILTIN_PAIRS] +
             [("counter",) + c for c in BUILTIN_COUNTERS])

    def target(spec):
        m = re.search(r"\(P([0-9]+)", spec[1])
        return int(m[1]) if m else 99
    return sorted(specs, key=target)  # stable: the tables' order within a target


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


def goal_met(ratio, goal):
    op, value = parse_goal(goal)
    return ratio <= value if op == "<=" else ratio >= value


def verdict(ratio, goal):
    return "" if goal is None else ("ok" if goal_met(ratio, goal) else "MISSED")


def goal_text(goal):
    if goal is None:
        return "-"
    op, value = parse_goal(goal)
    return f"{op} {value:g}"


def compute_ratios(per_file, specs, default_time="real"):
    """per_file: [(file name, times, counters)] as load() returns them; specs: as parse_spec
    returns them. Returns one result per spec found in at least one file:
      {"label", "kind" ("pair" or "counter"), "time" ("real", "cpu" or "#<counter>"), "goal",
       "entries": [{"file", "numerator", "denominator" (ns or None), "ratio", "min_ratio"}],
       "ratio", "min_ratio" (the median over the entries; min_ratio may be None)}
    and the specs found in no file: [(label, what was looked for)]."""
    results = []
    not_found = []
    for spec in specs:
        entries = []
        if spec[0] == "pair":
            _, label, num, den, goal, time = spec
            time = time or default_time
            for path, times, _ in per_file:
                if num not in times or den not in times:
                    continue
                if time not in times[num] or time not in times[den]:
                    continue
                a, b = times[num][time], times[den][time]
                if b["median"] <= 0:
                    continue
                min_ratio = a["min"] / b["min"] if a["min"] is not None and b["min"] else None
                entries.append({"file": path, "numerator": a["median"],
                                "denominator": b["median"], "ratio": a["median"] / b["median"],
                                "min_ratio": min_ratio})
            what = f"{num} or {den}"
            column = time
        else:
            _, label, bench, counter, goal = spec
            for path, _, counters in per_file:
                value = counters.get(bench, {}).get(counter)
                if value is None:
                    continue
                entries.append({"file": path, "numerator": None, "denominator": None,
                                "ratio": value, "min_ratio": None})
            what = f"{bench} with a {counter!r} counter"
            column = f"#{counter}"
        if not entries:
            not_found.append((label, what))
            continue
        mins = [e["min_ratio"] for e in entries if e["min_ratio"] is not None]
        results.append({
            "label": label, "kind": spec[0], "time": column, "goal": parse_goal(goal),
            "entries": entries,
            "ratio": statistics.median(e["ratio"] for e in entries),
            "min_ratio": statistics.median(mins) if mins else None,
        })
    return results, not_found


def print_ratios(results):
    """The plain-text table: one row per pair and file, then the median over the files."""
    rows = []
    for r in results:
        goal = r["goal"]
        for e in r["entries"]:
            min_ratio = "" if e["min_ratio"] is None else f"{e['min_ratio']:.3f}"
            num = "" if r["kind"] == "counter" else fmt_ns(e["numerator"])
            den = "" if r["kind"] == "counter" else fmt_ns(e["denominator"])
            rows.append((r["label"], e["file"], r["time"], num, den, f"{e['ratio']:.3f}",
                         min_ratio, goal_text(goal), verdict(e["ratio"], goal)))
        if len(r["entries"]) > 1:
            min_ratio = "" if r["min_ratio"] is None else f"{r['min_ratio']:.3f}"
            rows.append((r["label"], f"median of {len(r['entries'])} files", "", "", "",
                         f"{r['ratio']:.3f}", min_ratio, goal_text(goal),
                         verdict(r["ratio"], goal)))
    if rows:
        print("ratio: numerator median / denominator median, or the benchmark's own ratio "
              "counter (median over repetitions); min ratio: ratio of the minima")
        print_table(rows, ("pair", "file", "time", "numerator", "denominator", "ratio",
                           "min ratio", "goal", ""))
    else:
        print("no pair had its benchmarks in one file")


def markdown_table(rows, header):
    def cell(value):
        return str(value).replace("|", "\\|")
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def markdown_ratios(results):
    """A Markdown table, one row per pair: the ratio (median over the files), the ratio of the
    minima, the goal and its verdict, the numerator and denominator medians (medians over the
    files) and, with several files, the per-file ratios."""
    if not results:
        return "*(no pair had its benchmarks in one file)*"
    several = any(len(r["entries"]) > 1 for r in results)
    header = ["pair", "time", "ratio", "min ratio", "goal", "verdict", "numerator",
              "denominator"] + (["per run"] if several else [])
    rows = []
    for r in results:
        nums = [e["numerator"] for e in r["entries"] if e["numerator"] is not None]
        dens = [e["denominator"] for e in r["entries"] if e["denominator"] is not None]
        row = [r["label"], {"real": "wall", "cpu": "cpu"}.get(r["time"], r["time"]),
               f"{r['ratio']:.3f}", "-" if r["min_ratio"] is None else f"{r['min_ratio']:.3f}",
               goal_text(r["goal"]),
               {"ok": "ok", "MISSED": "**missed**", "": "-"}[verdict(r["ratio"], r["goal"])],
               fmt_ns(statistics.median(nums)) if nums else "-",
               fmt_ns(statistics.median(dens)) if dens else "-"]
        if several:
            row.append(", ".join(f"{e['ratio']:.3f}" for e in r["entries"]))
        rows.append(row)
    return markdown_table(rows, header)


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
    parser.add_argument("--markdown", action="store_true",
                        help="print Markdown tables, one row per pair")
    args = parser.parse_args(argv)

    files = []
    specs = []
    for item in args.inputs:
        spec = None if os.path.exists(item) else parse_spec(item)
        if spec is None and "=" in item and not os.path.exists(item):
            parser.error(f"{item!r} is neither a file nor a pair (label=Num:Den or "
                         "label=Benchmark#counter, optionally followed by <=GOAL or >=GOAL)")
        if spec is None:
            files.append(item)
        else:
            specs.append(spec)
    if not files:
        parser.error("no JSON file given")
    required = {spec[1] for spec in specs}
    if args.builtin or not specs:
        specs += builtin_specs()

    default_time = "cpu" if args.cpu else "real"
    per_file = []
    for path in files:
        try:
            times, counters, context = load(path)
        except (OSError, ValueError, KeyError) as e:
            print(f"{path}: cannot read: {e}", file=sys.stderr)
            return 2
        per_file.append((os.path.basename(path), times, counters))
        if args.no_medians:
            continue
        heading = (f"{path} ({context.get('date', '?')}, {context.get('num_cpus', '?')} CPUs, "
                   f"load {context.get('load_avg', '?')})")
        rows = [(n, fmt_ns(e.get("real", {}).get("median")), fmt_ns(e.get("real", {}).get("min")),
                 fmt_ns(e.get("cpu", {}).get("median")), fmt_ns(e.get("cpu", {}).get("min")))
                for n, e in times.items()]
        header = ("benchmark", "real median", "real min", "cpu median", "cpu min")
        if args.markdown:
            print(f"### {heading}\n")
            print(markdown_table(rows, header) if rows else "*(no successful benchmarks)*")
        else:
            print(f"== {heading}")
            if rows:
                print_table(rows, header)
            else:
                print("(no successful benchmarks)")
        print()

    results, not_found = compute_ratios(per_file, specs, default_time)
    missing = False
    for label, what in not_found:
        if label in required:
            missing = True
            print(f"{label!r}: {what} not found in any file", file=sys.stderr)
    if args.markdown:
        print(markdown_ratios(results))
    else:
        print_ratios(results)
    # Exit status: 1 if a pair given on the command line was found in no file; goals are
    # reported, not enforced (a noisy machine must not fail a build).
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
