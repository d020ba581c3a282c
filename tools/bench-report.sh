#!/usr/bin/env bash
# tools/bench-report.sh [options]: the benchmark report in one command.
#
# On a fresh Debian 12 machine (as root, or with sudo): installs what is missing
# (tools/install-deps.sh build plots), configures a Release build of the benchmark programs and
# tools (tests off), builds them and runs every program through the bench-run target (JSON per
# program, interleaved repetitions, the ratio table of tools/bench-ratios.py on the terminal),
# records the machine (CPU model, CPUs, kernel) next to the JSON, then draws the charts and
# writes summary.md with tools/bench-plot.py (matplotlib, Agg backend).
#
# Figures are only worth quoting from a quiet machine: other processes (a compile, a browser)
# move every wake-up figure. --quick checks the pipeline in a minute or two; its figures mean
# nothing.
#
# The plot step alone, on JSON already there:
#   python3 tools/bench-plot.py --json-dir build/bench/bench --out docs/bench
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash tools/bench-report.sh [--quick] [--out DIR] [--rounds N] [--repetitions N]
                                  [--min-time SECONDS] [--build-dir DIR] [--no-deps]

  --quick             tiny measuring time (--benchmark_min_time=0.005), 3 repetitions, 1 round:
                      checks the whole pipeline in a minute or two; the figures mean nothing
  --out DIR           where the charts (PNG) and summary.md go (default: docs/bench)
  --rounds N          run every program N times in turn and take the median of the per-round
                      ratios (default: 3; 1 with --quick)
  --repetitions N     --benchmark_repetitions per program and round (default: 9; 3 with --quick)
  --min-time SECONDS  --benchmark_min_time, a plain number (default: 0.01; 0.005 with --quick)
  --build-dir DIR     the Release build tree (default: build/bench; JSON in DIR/bench)
  --no-deps           do not run tools/install-deps.sh (everything is installed already)
  -h, --help          this text
EOF
}

bad_usage() {
  echo "bench-report: $*" >&2
  usage >&2
  exit 2
}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
quick=0
out=docs/bench
rounds=
repetitions=
min_time=
build=build/bench
deps=1

need_value() {  # need_value <flag> <number of arguments left>
  [ "$2" -ge 2 ] || bad_usage "$1 needs a value"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --out) need_value "$1" $#; out=$2; shift ;;
    --out=*) out=${1#*=} ;;
    --rounds) need_value "$1" $#; rounds=$2; shift ;;
    --rounds=*) rounds=${1#*=} ;;
    --repetitions) need_value "$1" $#; repetitions=$2; shift ;;
    --repetitions=*) repetitions=${1#*=} ;;
    --min-time) need_value "$1" $#; min_time=$2; shift ;;
    --min-time=*) min_time=${1#*=} ;;
    --build-dir) need_value "$1" $#; build=$2; shift ;;
    --build-dir=*) build=${1#*=} ;;
    --no-deps) deps=0 ;;
    -h | --help) usage; exit 0 ;;
    *) bad_usage "unknown argument '$1'" ;;
  esac
  shift
done

if [ "$quick" = 1 ]; then
  : "${rounds:=1}" "${repetitions:=3}" "${min_time:=0.005}"
else
  : "${rounds:=3}" "${repetitions:=9}" "${min_time:=0.01}"
fi
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || bad_usage "--rounds must be a positive integer, not '$rounds'"
[[ "$repetitions" =~ ^[1-9][0-9]*$ ]] ||
  bad_usage "--repetitions must be a positive integer, not '$repetitions'"
# Google Benchmark 1.7.1 takes seconds as a plain number and rejects a unit ("0.01s").
[[ "$min_time" =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] ||
  bad_usage "--min-time must be a plain number of seconds (e.g. 0.01, no unit), not '$min_time'"
[ -n "$out" ] || bad_usage "--out needs a directory"
[ -n "$build" ] || bad_usage "--build-dir needs a directory"

# Relative paths are taken from the project root, wherever the script is started from.
cd "$root"
started=$(date +%s)

# ---- 1. dependencies ------------------------------------------------------------------------
if [ "$deps" = 1 ]; then
  bash tools/install-deps.sh build plots
fi

# A Python 3 that has matplotlib: Debian's python3-matplotlib is for /usr/bin/python3, which
# another python3 earlier on PATH (pyenv, a virtualenv) may hide.
python=
for candidate in "${PYTHON:-}" python3 /usr/bin/python3; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import matplotlib' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "bench-report: no python3 with matplotlib (bash tools/install-deps.sh plots)" >&2
  exit 1
fi

# ---- 2. configure and build -----------------------------------------------------------------
# What the release preset sets (Release, tests off), plus the benchmarks and the tools
# (stage_bench needs the UDP demultiplexing library of tools/udp_demux). The bench-run
# target's flags come from the EXITLEFT_BENCH_* cache variables.
generator=()
if [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null; then
  generator=(-G Ninja)
fi
echo "bench-report: configuring $build (Release, benchmarks and tools, tests off)"
cmake -S . -B "$build" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DEXITLEFT_BUILD_TESTS=OFF \
  -DEXITLEFT_BUILD_BENCHMARKS=ON \
  -DEXITLEFT_BUILD_TOOLS=ON \
  -DEXITLEFT_BENCH_MIN_TIME="$min_time" \
  -DEXITLEFT_BENCH_REPETITIONS="$repetitions" \
  -DEXITLEFT_BENCH_ROUNDS="$rounds"

json_dir=$build/bench
programs=(parking_lot_bench events_bench wait_bench stage_bench)
# async_bench exists where standalone asio is installed (the build group installs it).
if grep -q "EXITLEFT_ASIO_INCLUDE_DIR:PATH=/" "$build/CMakeCache.txt" 2>/dev/null; then
  programs+=(async_bench)
fi
echo "bench-report: building ${programs[*]}"
cmake --build "$build" --target "${programs[@]}"

# ---- 3. run ---------------------------------------------------------------------------------
# JSON from an earlier run (another number of rounds) would be mixed into this report.
rm -f "$json_dir"/*.json
kernel=$(uname -r)
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
cpu=${cpu:-$(uname -m)}
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit (with local changes)"
fi
BR_CPU=$cpu BR_NPROC=$(nproc) BR_KERNEL=$kernel BR_COMMIT=$commit BR_QUICK=$quick \
  BR_ROUNDS=$rounds BR_REPETITIONS=$repetitions BR_MIN_TIME=$min_time \
  "$python" - "$json_dir/machine-info.json" <<'EOF'
# Written next to the JSON: the plots name the machine the benchmarks ran on.
import datetime, json, os, sys
e = os.environ
info = {"cpu": e["BR_CPU"], "nproc": int(e["BR_NPROC"]), "kernel": e["BR_KERNEL"],
        "commit": e["BR_COMMIT"], "quick": e["BR_QUICK"] == "1", "rounds": int(e["BR_ROUNDS"]),
        "repetitions": int(e["BR_REPETITIONS"]), "min_time": e["BR_MIN_TIME"],
        "build_type": "Release",
        "started_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")}
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump(info, f, indent=2)
    f.write("\n")
EOF
echo "bench-report: running ${programs[*]}: $rounds round(s) x $repetitions repetitions," \
  "--benchmark_min_time=$min_time ($cpu, $(nproc) CPUs, Linux $kernel)"
if ! cmake --build "$build" --target bench-run; then
  echo "bench-report: a benchmark program failed (see above); no charts drawn" >&2
  exit 1
fi

# ---- 4. charts and summary ------------------------------------------------------------------
mkdir -p "$out"
MPLBACKEND=Agg "$python" tools/bench-plot.py --json-dir "$json_dir" --out "$out"

elapsed=$(($(date +%s) - started))
echo
echo "bench-report: done in $((elapsed / 60)) min $((elapsed % 60)) s"
echo "bench-report: JSON:    $json_dir/*.json"
echo "bench-report: charts:  $out/*.png"
echo "bench-report: summary: $out/summary.md"
if [ "$quick" = 1 ]; then
  echo "bench-report: --quick: a pipeline check; rerun without --quick on a quiet machine for figures"
fi
