#!/usr/bin/env python3
"""Stage's per-datagram goals (issue 11), measured the way README's Stage table is.

Runs `exitleft-udp-demux --json` for each worker count, every mode in each round (the tool's
own order), and prints, per worker count, the median over rounds of the same-round ratios:

  datagrams/s vs single-reader      goal >= 0.9
  CPU per datagram vs dispatcher    goal <= 0.9   (receiving side: the mode's own threads)
  CPU per datagram vs mutex-cv      goal <= 0.9
  switches per datagram vs dispatcher (voluntary + involuntary)   goal <= 0.5
  median latency vs dispatcher's    goal: no worse

usage: tools/stage-goals.py [--binary PATH] [--rounds N] [--workers 2,8,32] [--datagrams N]
Exit status: 0 the runs passed their checks (whether or not the goals were met), 1 a run failed.
Only worth quoting from a quiet machine.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

GOALS = [
    # (label, numerator mode, denominator mode, figure, goal test, goal text)
    ("datagrams/s vs single-reader", "stage", "single-reader", "rate", lambda r: r >= 0.9, ">= 0.9"),
    ("CPU per datagram vs dispatcher", "stage", "dispatcher", "cpu", lambda r: r <= 0.9, "<= 0.9"),
    ("CPU per datagram vs mutex-cv", "stage", "mutex-cv", "cpu", lambda r: r <= 0.9, "<= 0.9"),
    ("switches per datagram vs dispatcher", "stage", "dispatcher", "switches", lambda r: r <= 0.5,
     "<= 0.5"),
    ("p50 latency vs dispatcher", "stage", "dispatcher", "p50", lambda r: r <= 1.0, "<= 1.0"),
]


def figures(result):
    per = result["receiving"]["per_datagram"]
    return {
        "rate": result["datagrams_per_second"],
        "cpu": per["cpu_us"],
        "switches": per["voluntary_switches"] + per["involuntary_switches"],
        "p50": result["p50_us"],
    }


def one_round(binary, workers, datagrams):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        per_peer = max(1, datagrams // workers)
        cmd = [binary, "--peers", str(workers), "--datagrams", str(per_peer), "--quiet",
               "--json", out]
        done = subprocess.run(cmd, check=False)
        if done.returncode != 0:
            sys.exit(f"stage-goals: {' '.join(cmd)} exited with {done.returncode}")
        with open(out, encoding="utf-8") as f:
            return {r["mode"]: figures(r) for r in json.load(f)["results"]}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary",
                        default=os.path.join(here, "..", "build", "release", "tools",
                                             "exitleft-udp-demux"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", default="2,8,32")
    parser.add_argument("--datagrams", type=int, default=160000, help="in all, per run")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]

    medians = {}
    raw = {}
    for w in counts:
        rounds = [one_round(args.binary, w, args.datagrams) for _ in range(args.rounds)]
        raw[w] = {m: {k: statistics.median(r[m][k] for r in rounds) for k in rounds[0][m]}
                  for m in rounds[0]}
        medians[w] = [statistics.median(r[num][fig] / r[den][fig] for r in rounds)
                      for (_, num, den, fig, _, _) in GOALS]

    print(f"Stage goals: median of {args.rounds} same-round ratios, "
          f"{args.datagrams} datagrams per run, receiving side")
    print()
    print("| goal (receiving side, same run) | " + " | ".join(f"{w} workers" for w in counts) + " |")
    print("|---|" + "---|" * len(counts))
    for i, (label, _, _, _, ok, text) in enumerate(GOALS):
        cells = []
        for w in counts:
            r = medians[w][i]
            cells.append(f"{r:.2f}" if ok(r) else f"**{r:.2f}**")
        print(f"| {label} ({text}) | " + " | ".join(cells) + " |")
    print()
    print("Medians per mode (datagrams/s, CPU us, switches per datagram, p50 us):")
    for w in counts:
        for mode, f in raw[w].items():
            print(f"  {w:>3} workers  {mode:<16} {f['rate']:>9.0f} {f['cpu']:>6.2f} "
                  f"{f['switches']:>8.4f} {f['p50']:>9.1f}")


if __name__ == "__main__":
    main()
