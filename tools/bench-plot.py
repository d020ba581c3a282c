#!/usr/bin/env python3
"""Charts and a Markdown summary of exitleft's benchmark results (Google Benchmark JSON).

Reads the JSON files the bench-run target writes (<build>/bench/<program>.json, or
<program>.round<k>.json with EXITLEFT_BENCH_ROUNDS > 1) and writes into --out one PNG per
comparison, each showing exitleft beside the baselines measured in the same program run, plus
summary.md: the ratios against the goals of TARGETS.md (P1-P5), computed by tools/bench-ratios.py
(imported as a module: this script parses no JSON itself), and links to the charts.

Bars and points are medians over the repetitions (with several rounds, the median of the
per-round medians); the whisker and the triangle mark the minimum (over all rounds). Ratios are
formed within one run only, as bench-ratios.py does. The machine (CPU model, CPUs, kernel) comes
from <json-dir>/machine-info.json, which tools/bench-report.sh writes when it runs the
benchmarks; without it, from the machine this script runs on (the footnote says so). The date is
the run's (the JSON context), in UTC.

Matplotlib with the Agg backend (no display needed); Debian 12's python3-matplotlib (3.6) works.

  python3 tools/bench-plot.py --json-dir build/bench/bench --out docs/bench
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import statistics
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
MACHINE_INFO = "machine-info.json"
FILE_RE = re.compile(r"^(?P<program>[A-Za-z0-9_]+?)(?:\.round(?P<round>[0-9]+))?\.json$")

EXITLEFT = "#1f77b4"  # exitleft: blue
BASELINE = "#8c8c8c"  # a baseline measured in the same run: grey
# Several baselines side by side (the Stage's other modes).
MODE_COLORS = ["#ff7f0e", "#8c564b", "#9467bd", "#e377c2"]  # not the goal colours
GOAL_OK = "#2ca02c"
GOAL_MISSED = "#d62728"


def import_bench_ratios():
    path = os.path.join(HERE, "bench-ratios.py")
    spec = importlib.util.spec_from_file_location("bench_ratios", path)
    module = importlib.util.module_from_spec(spec)
    sys.dont_write_bytecode = True  # no tools/__pycache__ in the source tree
    spec.loader.exec_module(module)
    return module


br = import_bench_ratios()


# ---- the results ------------------------------------------------------------------------------

def read_cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware", "cpu model"):
                    return " ".join(value.split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def this_machine():
    return {"cpu": read_cpu_model(), "nproc": os.cpu_count(), "kernel": platform.release(),
            "measured_here": False}


class Results:
    """The JSON files of one directory, grouped by program, read by bench-ratios.load()."""

    def __init__(self, json_dir):
        self.json_dir = json_dir
        self.runs = {}  # program -> [(file name, times, counters, context)], by round
        plain = {}
        rounds = {}
        for name in sorted(os.listdir(json_dir)):
            m = FILE_RE.match(name)
            if not m or name == MACHINE_INFO:
                continue
            if m["round"] is None:
                plain[m["program"]] = [name]
            else:
                rounds.setdefault(m["program"], []).append((int(m["round"]), name))
        # A program with round files uses them; its plain file (if any) is from another run.
        chosen = {p: [n for _, n in sorted(r)] for p, r in rounds.items()}
        for program, names in plain.items():
            chosen.setdefault(program, names)
        self.files = []
        for program in sorted(chosen):
            for name in chosen[program]:
                try:
                    times, counters, context = br.load(os.path.join(json_dir, name))
                except (OSError, ValueError, KeyError) as e:
                    print(f"bench-plot: {name}: cannot read, left out: {e}", file=sys.stderr)
                    continue
                if not times:
                    print(f"bench-plot: {name}: no successful benchmark", file=sys.stderr)
                self.runs.setdefault(program, []).append((name, times, counters, context))
                self.files.append(name)
        self.missing = []  # (program, benchmark) asked for by a chart and not found
        self.machine = this_machine()
        self.run_info = {}
        info_path = os.path.join(json_dir, MACHINE_INFO)
        if os.path.exists(info_path):
            with open(info_path, encoding="utf-8") as f:
                self.run_info = json.load(f)
            self.machine = {k: self.run_info.get(k, v) for k, v in self.machine.items()}
            self.machine["measured_here"] = True

    def per_file(self, program=None):
        """[(file name, times, counters)] in bench-ratios.compute_ratios' shape."""
        programs = [program] if program else sorted(self.runs)
        return [(name, times, counters) for p in programs for name, times, counters, _ in
                self.runs.get(p, [])]

    def date_utc(self):
        dates = []
        for runs in self.runs.values():
            for name, _, _, context in runs:
                try:
                    d = datetime.datetime.fromisoformat(context["date"])
                    if d.tzinfo is None:
                        d = d.astimezone()  # Google Benchmark wrote local time without an offset
                except (KeyError, ValueError):
                    d = datetime.datetime.fromtimestamp(
                        os.path.getmtime(os.path.join(self.json_dir, name)),
                        datetime.timezone.utc)
                dates.append(d.astimezone(datetime.timezone.utc))
        if not dates:
            return "unknown date"
        return min(dates).strftime("%Y-%m-%d %H:%M UTC")

    def time(self, program, name, which="real"):
        """(median, min) in ns over the program's runs, or None (recorded as missing)."""
        medians, minima = [], []
        for _, times, _, _ in self.runs.get(program, []):
            entry = times.get(name, {}).get(which)
            if entry:
                medians.append(entry["median"])
                if entry["min"] is not None:
                    minima.append(entry["min"])
        if not medians:
            self.missing.append((program, name))
            return None
        return statistics.median(medians), (min(minima) if minima else None)

    def counter(self, program, name, key):
        values = [c[name][key] for _, _, c, _ in self.runs.get(program, [])
                  if key in c.get(name, {})]
        if not values:
            self.missing.append((program, f"{name}#{key}"))
            return None
        return statistics.median(values)

    def rate(self, program, name):
        """(median, best) items/s: items per iteration (items_per_second x time of the median
        aggregate) divided by the median and by the minimum time."""
        t = self.time(program, name, "real")
        ips = self.counter(program, name, "items_per_second")
        if t is None or ips is None:
            return None
        median, minimum = t
        items = round(ips * median * 1e-9)
        if items <= 0:
            return None
        best = items / (minimum * 1e-9) if minimum else None
        return items / (median * 1e-9), best

    def ratio(self, program, kind, a, b, time=None):
        """The ratio bench-ratios.py computes for a pair (kind "pair": a = numerator,
        b = denominator) or a counter (kind "counter": a = benchmark, b = counter), with the
        goal of its built-in table if it has one. Returns the result dict, or None."""
        goal = None
        for spec in br.builtin_specs():
            if spec[0] == kind and spec[2] == a and spec[3] == b:
                goal = spec[4]
                time = time or (spec[5] if kind == "pair" else None)
        spec = (kind, f"{a}:{b}", a, b, goal) + ((time,) if kind == "pair" else ())
        results, _ = br.compute_ratios(self.per_file(program), [spec],
                                       default_time=time or "real")
        if not results:
            self.missing.append((program, f"{a} / {b}" if kind == "pair" else f"{a}#{b}"))
            return None
        return results[0]


# ---- drawing helpers ------------------------------------------------------------------------

def time_unit(values_ns):
    values = [v for v in values_ns if v]
    top = max(values) if values else 1.0
    if top >= 1e6:
        return 1e6, "ms"
    if top >= 1e3:
        return 1e3, "µs"
    return 1.0, "ns"


def fmt_value(value, unit):
    if value >= 100:
        return f"{value:.0f} {unit}"
    if value >= 10:
        return f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def fmt_rate(value):
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.3g}"


def wants_log(values):
    values = [v for v in values if v and v > 0]
    return bool(values) and max(values) / min(values) >= 30


def whisker(ax, x, median, low, color="black"):
    """The minimum under a median: a line from the median down to it and a triangle on it."""
    if low is None:
        return
    ax.vlines(x, low, median, colors=color, linewidth=1.2, zorder=3)
    ax.scatter([x], [low], marker="v", s=22, color=color, zorder=4)


def bar_panel(ax, items, title, what, reference=None):
    """Bars of medians with the minima; items: (label, (median, min) or None, color).
    `reference` is the index of the bar the others are annotated against (n.nn x)."""
    present = [(label, t, color) for label, t, color in items if t is not None]
    if not present:
        ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title, fontsize=10)
        return
    scale, unit = time_unit([t[0] for _, t, _ in present])
    ref = items[reference][1] if reference is not None else None
    for i, (label, (median, minimum), color) in enumerate(present):
        ax.bar(i, median / scale, color=color, width=0.65, zorder=2)
        whisker(ax, i, median / scale, None if minimum is None else minimum / scale)
        text = fmt_value(median / scale, unit)
        if ref is not None and ref[0]:
            text += f"\n{median / ref[0]:.2f}×"
        ax.annotate(text, (i, median / scale), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(present)))
    ax.set_xticklabels([label for label, _, _ in present], fontsize=8)
    if wants_log([t[0] for _, t, _ in present] + [t[1] for _, t, _ in present]):
        ax.set_yscale("log")
        ax.set_ylim(top=ax.get_ylim()[1] * 3)
    else:
        ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
    ax.set_ylabel(f"{what} ({unit})")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3, which="both", zorder=0)


def ratio_panel(ax, items, title, xlabel="ratio (median)"):
    """Horizontal bars of ratios, green when the goal is met, red when missed, grey without a
    goal; the goal is a black tick. items: (label, result of Results.ratio or None)."""
    present = [(label, r) for label, r in items if r is not None]
    ax.set_title(title, fontsize=10)
    if not present:
        ax.text(0.5, 0.5, "not measured", ha="center", va="center", transform=ax.transAxes)
        return
    ys = list(range(len(present)))[::-1]
    values = []
    for y, (label, r) in zip(ys, present):
        goal = r["goal"]
        if goal is None:
            color = BASELINE
        else:
            color = GOAL_OK if br.goal_met(r["ratio"], goal) else GOAL_MISSED
        ax.barh(y, r["ratio"], color=color, height=0.6, zorder=2)
        values.append(r["ratio"])
        text = f"{r['ratio']:.2f}"
        end = r["ratio"]
        if goal is not None:
            ax.plot([goal[1], goal[1]], [y - 0.4, y + 0.4], color="black", linewidth=2, zorder=3)
            values.append(goal[1])
            end = max(end, goal[1])
            text += f"  (goal {goal[0].replace('<=', '≤').replace('>=', '≥')} {goal[1]:g})"
        # Right of the bar and of the goal tick, whichever ends further right.
        ax.annotate(text, (end, y), xytext=(5, 0), textcoords="offset points", va="center",
                    fontsize=8)
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, _ in present], fontsize=8)
    ax.axvline(1.0, color="black", linewidth=0.8, linestyle=":", zorder=1)
    if wants_log(values):
        ax.set_xscale("log")
        ax.set_xlim(min(values + [1.0]) / 2, max(values + [1.0]) * 12)
    else:
        ax.set_xlim(0, max(values + [1.0]) * 1.7)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3, which="both", zorder=0)


def legend(fig, entries, marker="v", marker_label="minimum (bar / point: median)"):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Patch(color=color, label=label) for label, color in entries]
    handles.append(Line2D([], [], color="black", marker=marker, linestyle="-", markersize=5,
                          label=marker_label))
    fig.legend(handles=handles, loc="upper right", fontsize=8, ncol=len(handles),
               frameon=False, bbox_to_anchor=(0.99, 0.955))


class Charts:
    def __init__(self, results, out_dir):
        self.r = results
        self.out_dir = out_dir
        self.written = []  # (file name, title)
        self.skipped = []  # (file name, reason)
        m = results.machine
        where = "" if m.get("measured_here") else " (the plotting machine; no machine-info.json)"
        info = results.run_info
        run = []
        if info.get("repetitions"):
            run.append(f"{info['repetitions']} repetitions × {info.get('rounds', 1)} round(s), "
                       f"min_time {info.get('min_time', '?')} s")
        if info.get("quick"):
            run.append("QUICK RUN: pipeline check, not figures to quote")
        if info.get("commit"):
            run.append(f"exitleft {info['commit']}")
        self.footnote = (f"{m['cpu']} · {m['nproc']} CPUs · Linux {m['kernel']}{where} · "
                         f"run {results.date_utc()}\n" +
                         " · ".join(run + ["ratios only within one run (same-run baselines)"]))

    def figure(self, program, name, title, panels, width=12.0, height=4.8, ratios=None):
        import matplotlib.pyplot as plt
        if program and program not in self.r.runs:
            self.skipped.append((name, f"no {program} JSON in {self.r.json_dir}"))
            return None, None
        fig, axes = plt.subplots(1, panels, figsize=(width, height),
                                 gridspec_kw={"width_ratios": ratios} if ratios else None)
        if panels == 1:
            axes = [axes]
        fig.suptitle(title, fontsize=12, x=0.01, ha="left", y=0.99)
        # About 16 characters of 7-point text per inch of figure.
        footnote = "\n".join(textwrap.fill(line, width=int(width * 16))
                             for line in self.footnote.split("\n"))
        fig.text(0.01, 0.01, footnote, fontsize=7, color="#444444", va="bottom")
        return fig, axes

    def save(self, fig, name, title):
        import matplotlib.pyplot as plt
        fig.tight_layout(rect=(0, 0.07, 1, 0.92))
        path = os.path.join(self.out_dir, name)
        fig.savefig(path, dpi=110, metadata={
            "Title": title, "Software": "exitleft tools/bench-plot.py",
            "Description": self.footnote.replace("\n", " · ")})
        plt.close(fig)
        self.written.append((name, title))

    # P1
    def event_ops(self):
        name, title = "event_ops.png", "P1: uncontended operations (CPU time per pair of calls)"
        fig, axes = self.figure("events_bench", name, title, 1, width=11)
        if fig is None:
            return
        t = lambda b: self.r.time("events_bench", b, "cpu")  # noqa: E731
        bar_panel(axes[0], [
            ("atomic exchange\npair (floor)", t("AtomicExchangePair"), BASELINE),
            ("AutoResetEvent\nset + try_wait", t("AutoResetSetTryWait"), EXITLEFT),
            ("std::binary_semaphore\nrelease + try_acquire",
             t("BinarySemaphoreReleaseTryAcquire"), BASELINE),
            ("ManualResetEvent\nset + reset", t("ManualResetSetReset"), EXITLEFT),
            ("exitleft::Semaphore\nrelease + try_acquire", t("SemaphoreReleaseTryAcquire"),
             EXITLEFT),
            ("std::counting_semaphore\nrelease + try_acquire",
             t("CountingSemaphoreReleaseTryAcquire"), BASELINE),
        ], "goal: AutoResetEvent ≤ 1.1× the atomic pair and ≥ 15× faster than "
           "std::binary_semaphore  (n.nn× = vs the atomic pair)", "CPU time per pair",
            reference=0)
        legend(fig, [("exitleft", EXITLEFT), ("baseline, same run", BASELINE)])
        self.save(fig, name, title)

    # P2
    def ping_pong(self):
        name = "ping_pong.png"
        title = "P2: two-thread ping-pong (wall time per round trip)"
        fig, axes = self.figure("events_bench", name, title, 2, width=14, ratios=[1.1, 1])
        if fig is None:
            return
        t = lambda b: self.r.time("events_bench", b, "real")  # noqa: E731
        bar_panel(axes[0], [
            ("raw futex\n(no spin)", t("PingPong/RawFutex/0"), BASELINE),
            ("AutoResetEvent\nno spin", t("PingPong/AutoResetNoSpin/0"), EXITLEFT),
            ("AutoResetEvent\n(spins)", t("PingPong/AutoReset/0"), EXITLEFT),
            ("std::binary_\nsemaphore", t("PingPong/BinarySemaphore/0"), BASELINE),
            ("std::mutex +\ncondition_variable", t("PingPong/MutexCv/0"), BASELINE),
        ], "separate benchmarks (n.nn× = vs raw futex)", "wall time per round trip",
            reference=0)
        c = lambda bench: self.r.ratio("events_bench", "counter", bench, "ratio")  # noqa: E731
        p = lambda a, b: self.r.ratio("events_bench", "pair", a, b)  # noqa: E731
        ratio_panel(axes[1], [
            ("no-spin / raw futex\n(paired blocks)", c("Paired/AutoResetNoSpin_vs_RawFutex")),
            ("no-spin / raw futex\n(separate)", p("PingPong/AutoResetNoSpin/0", "PingPong/RawFutex/0")),
            ("AutoResetEvent / binary_semaphore\n(paired blocks)",
             c("Paired/AutoReset_vs_BinarySemaphore")),
            ("AutoResetEvent / binary_semaphore\n(separate)",
             p("PingPong/AutoReset/0", "PingPong/BinarySemaphore/0")),
            ("AutoResetEvent / mutex+cv\n(paired blocks)", c("Paired/AutoReset_vs_MutexCv")),
            ("AutoResetEvent / mutex+cv\n(separate)", p("PingPong/AutoReset/0", "PingPong/MutexCv/0")),
            ("AutoResetEvent / mutex+cv\n(both on one CPU)",
             p("PingPong/AutoReset/1", "PingPong/MutexCv/1")),
            ("AutoResetEvent / mutex+cv\n(on two CPUs)", p("PingPong/AutoReset/2", "PingPong/MutexCv/2")),
            ("no-spin / raw futex\n(both on one CPU)",
             p("PingPong/AutoResetNoSpin/1", "PingPong/RawFutex/1")),
            ("no-spin / raw futex\n(on two CPUs)", p("PingPong/AutoResetNoSpin/2", "PingPong/RawFutex/2")),
        ], "exitleft / baseline (lower is better); paired = alternating blocks, one partner; "
           "separate = threads placed freely unless pinned")
        legend(fig, [("exitleft", EXITLEFT), ("baseline, same run", BASELINE),
                     ("goal met", GOAL_OK), ("goal missed", GOAL_MISSED)])
        self.save(fig, name, title)

    # P3
    def broadcast(self):
        name = "broadcast.png"
        title = "P3: broadcast wake-up, set() until the last of N waiters runs"
        fig, axes = self.figure("events_bench", name, title, 2, width=13)
        if fig is None:
            return
        counts = [1, 4, 16, 64]
        series = [("ManualResetEvent", "Broadcast/ManualReset", EXITLEFT),
                  ("raw FUTEX_WAKE(INT_MAX)", "Broadcast/RawFutex", BASELINE)]
        data = {label: [(n, self.r.time("events_bench", f"{bench}/{n}", "real")) for n in counts]
                for label, bench, _ in series}
        scale, unit = time_unit([t[0] for pts in data.values() for _, t in pts if t])
        ax = axes[0]
        plotted = []
        for label, _, color in series:
            pts = [(n, t) for n, t in data[label] if t]
            if not pts:
                continue
            xs = [n for n, _ in pts]
            ax.plot(xs, [t[0] / scale for _, t in pts], marker="o", color=color, label=label,
                    zorder=3)
            for n, (median, minimum) in pts:
                whisker(ax, n, median / scale, None if minimum is None else minimum / scale,
                        color=color)
            plotted += [v for _, t in pts for v in t if v]
        ax.set_xscale("log")
        ax.set_xticks(counts)
        ax.set_xticklabels([str(n) for n in counts])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_xlabel("waiters")
        ax.set_ylabel(f"wall time, set() to last waiter running ({unit})")
        ax.set_title("median (line) and minimum (▼) per waiter count", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        ratio_panel(axes[1], [
            (f"{n} waiter{'s' if n > 1 else ''}",
             self.r.ratio("events_bench", "pair", f"Broadcast/ManualReset/{n}",
                          f"Broadcast/RawFutex/{n}", "real")) for n in counts
        ], "ManualResetEvent / raw FUTEX_WAKE (goal ≤ 1.1 at 16 and 64)")
        legend(fig, [("exitleft", EXITLEFT), ("baseline, same run", BASELINE),
                     ("goal met", GOAL_OK), ("goal missed", GOAL_MISSED)])
        self.save(fig, name, title)

    # P4
    def park_unpark(self):
        name = "park_unpark.png"
        title = "P4: parking lot, park/unpark hand-off and unpark_one cost"
        fig, axes = self.figure("parking_lot_bench", name, title, 3, width=16,
                                ratios=[0.8, 1.2, 1])
        if fig is None:
            return
        prog = "parking_lot_bench"
        bar_panel(axes[0], [
            ("raw futex", self.r.time(prog, "RawFutexPingPong", "real"), BASELINE),
            ("park / unpark_one", self.r.time(prog, "ParkUnparkPingPong", "real"), EXITLEFT),
        ], "ping-pong (n.nn× = vs raw futex)", "wall time per round trip", reference=0)
        ratio_panel(axes[1], [
            ("park/unpark / raw futex\n(paired blocks)",
             self.r.ratio(prog, "counter", "ParkUnparkVsRawFutex", "ratio")),
            ("park/unpark / raw futex\n(separate)",
             self.r.ratio(prog, "pair", "ParkUnparkPingPong", "RawFutexPingPong")),
            ("unpark_one, 100 / 1 parked",
             self.r.ratio(prog, "pair", "UnparkOneLatency/100", "UnparkOneLatency/1")),
            ("unpark_one, 1000 / 1 parked",
             self.r.ratio(prog, "pair", "UnparkOneLatency/1000", "UnparkOneLatency/1")),
        ], "ratios (goal ≤ 1.15)")
        ax = axes[2]
        counts = [1, 100, 1000]
        pts = [(n, self.r.time(prog, f"UnparkOneLatency/{n}", "cpu")) for n in counts]
        pts = [(n, t) for n, t in pts if t]
        if pts:
            ax.plot([n for n, _ in pts], [t[0] for _, t in pts], marker="o", color=EXITLEFT,
                    label="unpark_one (nobody parked on its key)", zorder=3)
            for n, (median, minimum) in pts:
                whisker(ax, n, median, minimum, color=EXITLEFT)
            ax.set_ylim(0, max(t[0] for _, t in pts) * 1.5)
            ax.legend(fontsize=8, loc="lower right")
        ax.set_xscale("log")
        ax.set_xticks(counts)
        ax.set_xticklabels([str(n) for n in counts])
        ax.minorticks_off()
        ax.set_xlabel("other threads parked (on other keys)")
        ax.set_ylabel("CPU time per unpark_one (ns)")
        ax.set_title("unpark_one vs parked threads (goal: flat)", fontsize=10)
        ax.grid(alpha=0.3)
        legend(fig, [("exitleft", EXITLEFT), ("baseline, same run", BASELINE),
                     ("goal met", GOAL_OK), ("goal missed", GOAL_MISSED)])
        self.save(fig, name, title)

    # P5
    def stage_route(self):
        name = "stage_route.png"
        title = "Stage vs the other ways to share one UDP socket (routed datagrams/s)"
        fig, axes = self.figure("stage_bench", name, title, 3, width=17, height=6,
                                ratios=[1, 1, 1.3])
        if fig is None:
            return
        from matplotlib.ticker import FuncFormatter
        prog = "stage_bench"
        modes = [("stage", "Stage (exitleft)", EXITLEFT)] + [
            (mode, label, color) for (mode, label), color in zip(
                [("dispatcher", "dispatcher thread"), ("mutex_cv", "mutex + cv queues"),
                 ("socket_per_peer", "socket per peer"), ("single_reader", "single reader")],
                MODE_COLORS)]
        workers = [2, 8, 32]  # window 2 is measured with 8 workers only (stage_bench route_args)
        width = 0.8 / len(modes)
        for ax, window in zip(axes[:2], (0, 2)):
            values = []
            for k, (mode, label, color) in enumerate(modes):
                for j, w in enumerate(workers):
                    rate = self.r.rate(prog, f"Route/{mode}/{w}/{window}")
                    if rate is None:
                        continue
                    x = j + (k - (len(modes) - 1) / 2) * width
                    ax.bar(x, rate[0], width=width * 0.95, color=color, zorder=2)
                    if rate[1]:
                        # The best rate (from the minimum time) is above the median one.
                        ax.vlines(x, rate[0], rate[1], colors="black", linewidth=1.2, zorder=3)
                        ax.scatter([x], [rate[1]], marker="^", s=18, color="black", zorder=4)
                    values += [v for v in rate if v]
            ax.set_xticks(range(len(workers)))
            ax.set_xticklabels([f"{w} workers / peers" for w in workers])
            ax.set_ylabel("routed datagrams/s (median; ▲ best)")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_rate(v)))
            desc = ("window 0: as many in flight as the socket buffer holds" if window == 0
                    else "window 2: 2 in flight per peer (many wake-ups)")
            ax.set_title(desc, fontsize=10)
            ax.grid(axis="y", alpha=0.3, zorder=0)
            if values:
                ax.set_ylim(0, max(values) * 1.15)
        items = []
        for w, window in ((2, 0), (8, 0), (32, 0), (8, 2)):
            for mode, label in (("single_reader", "single reader"),
                                ("dispatcher", "dispatcher"),
                                ("socket_per_peer", "socket/peer"),
                                ("mutex_cv", "mutex+cv")):
                items.append((f"W{w} window {window}: vs {label}",
                              self.r.ratio(prog, "counter", f"RouteRounds/{w}/{window}",
                                           f"stage_vs_{mode}")))
        ratio_panel(axes[2], items,
                    "Stage datagrams/s ÷ other mode's, same iteration (higher is better)",
                    xlabel="ratio (median over iterations)")
        legend(fig, [(label, color) for _, label, color in modes] +
               [("goal met", GOAL_OK), ("goal missed", GOAL_MISSED), ("no goal", BASELINE)],
               marker="^", marker_label="best (from the minimum time)")
        self.save(fig, name, title)

    def stage_notify(self):
        name = "stage_notify.png"
        title = "Stage notify vs AutoResetEvent set"
        fig, axes = self.figure("stage_bench", name, title, 3, width=13)
        if fig is None:
            return
        prog = "stage_bench"
        for ax, (bench, what, which) in zip(axes, [
                ("PingPong", "ping-pong, wall time per round trip", "real"),
                ("WakeParked", "waking a parked waiter, wall time", "real"),
                ("NotifyPending", "notify an already notified ticket, CPU time", "cpu")]):
            ex = "Stage" if bench == "NotifyPending" else "StageNotify"
            bar_panel(ax, [
                ("AutoResetEvent", self.r.time(prog, f"{bench}/AutoReset", which), BASELINE),
                ("Stage notify", self.r.time(prog, f"{bench}/{ex}", which), EXITLEFT),
            ], what, "time", reference=0)
        legend(fig, [("Stage (exitleft)", EXITLEFT), ("AutoResetEvent (exitleft, reference)",
                                                      BASELINE)])
        self.save(fig, name, title)

    def multi_wait(self):
        name = "multi_wait.png"
        title = "Multi-object waits: wait_any vs a single wait (CPU time, one object signalled)"
        fig, axes = self.figure("wait_bench", name, title, 2, width=13, ratios=[1.4, 1])
        if fig is None:
            return
        prog = "wait_bench"
        ax = axes[0]
        counts = [2, 8, 64]
        single = self.r.time(prog, "SingleWait", "cpu")
        values = []
        for last, label, style in ((0, "wait_any, first object signalled", "-"),
                                   (1, "wait_any, last object signalled", "--")):
            pts = [(n, self.r.time(prog, f"WaitAny/objects:{n}/last:{last}", "cpu"))
                   for n in counts]
            pts = [(n, t) for n, t in pts if t]
            if not pts:
                continue
            ax.plot([n for n, _ in pts], [t[0] for _, t in pts], marker="o", linestyle=style,
                    color=EXITLEFT, label=label, zorder=3)
            for n, (median, minimum) in pts:
                whisker(ax, n, median, minimum, color=EXITLEFT)
            values += [v for _, t in pts for v in t if v]
        if single:
            ax.axhline(single[0], color=BASELINE, linewidth=2,
                       label=f"single AutoResetEvent set + wait ({single[0]:.1f} ns)")
            values.append(single[0])
        ax.set_xscale("log")
        ax.set_xticks(counts)
        ax.set_xticklabels([str(n) for n in counts])
        ax.minorticks_off()
        if wants_log(values):
            ax.set_yscale("log")
        ax.set_xlabel("objects in the wait_any")
        ax.set_ylabel("CPU time per set + wait (ns)")
        ax.set_title("set() one object, then wait_any over N", fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        bar_panel(axes[1], [
            ("no multi-waiter", self.r.time(prog, "SetReset/registered:0", "cpu"), BASELINE),
            ("a wait-all\nregistered", self.r.time(prog, "SetReset/registered:1", "cpu"),
             EXITLEFT),
        ], "set() + reset() on an event, with and without a multi-waiter", "CPU time",
            reference=0)
        legend(fig, [("exitleft", EXITLEFT), ("baseline, same run", BASELINE)])
        self.save(fig, name, title)

    def semaphore(self):
        name = "semaphore.png"
        title = "Semaphore: N producers / N consumers, 20 000 units each"
        fig, axes = self.figure("events_bench", name, title, 2, width=14, ratios=[1, 1])
        if fig is None:
            return
        bar_panel(axes[0], [
            ("std::counting_semaphore", self.r.time("events_bench", "SemaphoreThroughput/std/4",
                                                    "real"), BASELINE),
            ("exitleft::Semaphore", self.r.time("events_bench", "SemaphoreThroughput/exitleft/4",
                                                "real"), EXITLEFT),
        ], "4 / 4, separate runs (n.nn× = vs std)", "wall time per run", reference=0)
        c = lambda n: self.r.ratio("events_bench", "counter",  # noqa: E731
                                   f"SemaphoreThroughputRounds/{n}", "exitleft_vs_std")
        ratio_panel(axes[1], [(f"{n} / {n}", c(n)) for n in (1, 4, 8)],
                    "exitleft / std::counting_semaphore, same iteration (lower is better)")
        legend(fig, [("exitleft", EXITLEFT), ("baseline", BASELINE),
                     ("goal met", GOAL_OK), ("goal missed", GOAL_MISSED)])
        self.save(fig, name, title)

    def all(self):
        for chart in (self.event_ops, self.ping_pong, self.broadcast, self.park_unpark,
                      self.stage_route, self.multi_wait, self.semaphore, self.stage_notify):
            chart()


# ---- summary.md -----------------------------------------------------------------------------

def summary_markdown(results, charts):
    m = results.machine
    info = results.run_info
    lines = ["<!-- Generated by tools/bench-report.sh (tools/bench-plot.py, ratios by "
             "tools/bench-ratios.py); do not edit: rerun the script. -->", "",
             "# exitleft benchmark report", ""]
    if info.get("quick"):
        lines += ["> **Quick run** (`tools/bench-report.sh --quick`): a check of the pipeline "
                  "with tiny measuring times. These figures are not to be quoted; regenerate "
                  "with `bash tools/bench-report.sh` on a quiet machine.", ""]
    where = "" if m.get("measured_here") else " (the plotting machine: no machine-info.json)"
    lines.append(f"- Machine: {m['cpu']}, {m['nproc']} CPUs, Linux {m['kernel']}{where}")
    run = f"- Run: {results.date_utc()}"
    if info.get("repetitions"):
        run += (f"; {info.get('rounds', 1)} round(s) of every program, "
                f"{info['repetitions']} interleaved repetitions, "
                f"`--benchmark_min_time={info.get('min_time', '?')}`")
    if info.get("build_type"):
        run += f"; {info['build_type']} build"
    lines.append(run)
    if info.get("commit"):
        lines.append(f"- exitleft: {info['commit']}")
    lines.append(f"- Files: {', '.join(f'`{f}`' for f in results.files)}")
    lines += ["", "## Ratios against the goals", "",
              "Every ratio is formed within one program run (one JSON file), against a baseline "
              "measured in the same run: absolute times on a shared VM swing by up to 10x. "
              "*ratio*: numerator median / denominator median, or the benchmark's own ratio "
              "counter (*paired blocks*, the steadier figure); with several rounds, the median "
              "of the per-round ratios (listed under *per run*). *min ratio*: ratio of the "
              "minima. Goals (TARGETS.md P1-P5) are judged on *ratio*; pairs without a goal "
              "are informational. *wall* / *cpu*: the time compared; *#counter*: a ratio the "
              "benchmark measured itself.", ""]
    ratio_results, _ = br.compute_ratios(results.per_file(), br.builtin_specs())
    lines += [br.markdown_ratios([r for r in ratio_results if r["goal"] is not None]), "",
              "### Other comparisons (no goal)", "",
              br.markdown_ratios([r for r in ratio_results if r["goal"] is None]), ""]
    lines += ["## Charts", "",
              "Bars and points: medians over the repetitions; whisker and triangle: the "
              "minimum. Blue: exitleft; grey: the baselines of the same run.", ""]
    for name, title in charts.written:
        lines += [f"### {title}", "", f"![{title}]({name})", ""]
    for name, reason in charts.skipped:
        lines += [f"- `{name}` not drawn: {reason}"]
    if charts.skipped:
        lines.append("")
    lines += ["## All medians", ""]
    for program in sorted(results.runs):
        names = sorted({n for _, times, _, _ in results.runs[program] for n in times})
        rows = []
        for n in names:
            row = [n]
            for which in ("real", "cpu"):
                t = results.time(program, n, which)
                row += [br.fmt_ns(t[0]), br.fmt_ns(t[1])] if t else ["-", "-"]
            rows.append(row)
        lines += [f"<details><summary>{program}</summary>", "",
                  br.markdown_table(rows, ("benchmark", "wall median", "wall min",
                                           "cpu median", "cpu min")),
                  "", "</details>", ""]
    return "\n".join(lines)


def main(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json-dir", default="build/bench/bench",
                        help="directory of the <program>[.round<k>].json files "
                        "(default: %(default)s)")
    parser.add_argument("--out", default="docs/bench",
                        help="where the PNGs and summary.md go (default: %(default)s)")
    args = parser.parse_args(argv)

    if not os.path.isdir(args.json_dir):
        parser.error(f"--json-dir {args.json_dir}: no such directory")
    try:
        import matplotlib
    except ImportError:
        # Debian's python3-matplotlib belongs to /usr/bin/python3, which a python3 earlier on
        # PATH (pyenv, a virtualenv) hides: retry with it once.
        system = "/usr/bin/python3"
        if (os.path.exists(system) and os.path.realpath(sys.executable) !=
                os.path.realpath(system) and not os.environ.get("EXITLEFT_BENCH_PLOT_REEXEC")):
            os.environ["EXITLEFT_BENCH_PLOT_REEXEC"] = "1"
            os.execv(system, [system, os.path.abspath(__file__)] + list(argv))
        print(f"bench-plot: {sys.executable} has no matplotlib (Debian: apt-get install "
              "python3-matplotlib, or: bash tools/install-deps.sh plots)", file=sys.stderr)
        return 2
    matplotlib.use("Agg")

    results = Results(args.json_dir)
    if not results.runs:
        print(f"bench-plot: no <program>.json in {args.json_dir}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    charts = Charts(results, args.out)
    charts.all()
    summary = os.path.join(args.out, "summary.md")
    with open(summary, "w", encoding="utf-8") as f:
        f.write(summary_markdown(results, charts))

    print(f"bench-plot: read {len(results.files)} file(s) from {args.json_dir}: "
          f"{' '.join(results.files)}")
    for name, reason in charts.skipped:
        print(f"bench-plot: {name} not drawn: {reason}")
    missing = sorted(set(results.missing))
    if missing:
        print("bench-plot: not found in the JSON (left out of the charts): " +
              ", ".join(f"{p}:{n}" for p, n in missing))
    print(f"bench-plot: charts: {' '.join(os.path.join(args.out, n) for n, _ in charts.written)}")
    print(f"bench-plot: summary: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
