// exitleft-udp-demux: many threads wait for datagrams from their own peer on ONE UDP socket.
//
// Runs the demultiplexing modes of demux.hpp one after the other (or one of them), checks that
// every datagram reached its own worker exactly once and in order, and prints a table: datagrams
// per second, delivery latency, and the ratio to one thread that only drains the socket.
// Exit status: 0 all checks passed, 1 a check failed (or the OS refused), 2 bad arguments.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "tools/udp_demux/demux.hpp"
#include "tools/udp_demux/udp_socket.hpp"

namespace {

using namespace exitleft::udp_demux;

#ifndef EXITLEFT_TOOLS_VERSION
#error "EXITLEFT_TOOLS_VERSION (the project's version) comes from tools/CMakeLists.txt"
#endif

// Read by people and by help2man, which makes the man page from it (tools/CMakeLists.txt): the
// Usage line, the description, then sections that start with a line ending in a colon.
constexpr const char* kUsage = R"(Usage: exitleft-udp-demux [OPTION]...
Check and measure ways for many threads to share one UDP socket.

P peer threads on 127.0.0.1 send sequence-numbered datagrams to one UDP socket; W worker threads
each wait for their own peer's datagrams. Every datagram must reach its own worker exactly once
and in order. Modes (each measured on the same load):
  stage            the workers share the socket through an exitleft::Stage (leader/followers:
                   the head receives with recvmmsg, routes the others' datagrams, notifies them)
  dispatcher       one reader thread, per-peer queues with an exitleft::AutoResetEvent each
  mutex-cv         leader/followers with std::mutex + one std::condition_variable per worker
  socket-per-peer  one connected socket per worker (the peers send to W ports)
  single-reader    one thread only drains the socket and counts: the upper limit
  all              all of the above in turn, single-reader first (the default)

Exit status: 0 every datagram reached its own worker exactly once and in order, 1 a check
failed or the system refused a socket call, 2 bad arguments.

Options:
  --mode M         one of the modes above (default all)
  --peers N        peer threads, each with its own socket (1-256, default 8)
  --workers N      worker threads: one per peer, so it must equal --peers (default: --peers)
  --datagrams N    datagrams per peer (1-10000000, default 20000)
  --duration S     upper bound, in seconds, of each mode's sending time (default 20, at most
                   3600); a mode that is done earlier stops earlier
  --batch N        datagrams per receive call (1-1024, default 64)
  --window N       datagrams in flight per peer (default: what the receive buffer holds)
  --json FILE      also write the figures as JSON to FILE
  --quiet          no progress line and no table (errors are still printed)
  --help           print this text and exit
  --version        print the version and exit

After the table, what each datagram cost on the receiving side (the mode's own threads) and the
sending side (the peers): CPU time and context switches (getrusage per thread), recvmmsg and
futex calls (the kernel's syscall tracepoints; root only), and a sentence comparing Stage with
the dispatcher and mutex-cv when the run measured them.

Examples:
  exitleft-udp-demux
                     every mode in turn, 8 peers, 20000 datagrams each
  exitleft-udp-demux --mode stage --peers 4 --datagrams 5000 --duration 2
                     the Stage alone, a short run
  exitleft-udp-demux --quiet --json figures.json
                     every mode, the figures as JSON only
)";

struct Options {
  bool version = false;  // --version: print it and exit
  Config config;
  bool workers_given = false;
  std::vector<Mode> modes{std::begin(kAllModes), std::end(kAllModes)};
  std::string json;
  bool quiet = false;
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class T>
T parse_integer(std::string_view flag, std::string_view text, T low, T high) {
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < low || value > high) {
    throw UsageError(std::string(flag) + " wants a whole number from " + std::to_string(low) +
                     " to " + std::to_string(high) + ", not '" + std::string(text) + "'");
  }
  return value;
}

double parse_seconds(std::string_view flag, const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value) || value <= 0 ||
      value > Limits::kMaxDurationSeconds) {
    throw UsageError(std::string(flag) + " wants a number of seconds above 0 and at most " +
                     std::to_string(static_cast<int>(Limits::kMaxDurationSeconds)) + ", not '" +
                     text + "'");
  }
  return value;
}

// Returns nullopt for --help; for --version, Options with version set.
std::optional<Options> parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    const auto next = [&]() -> std::string {
      if (has_value) return value;
      if (i + 1 >= argc) throw UsageError(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") return std::nullopt;
    if (arg == "--version") {
      if (has_value) throw UsageError("--version takes no value");
      o.version = true;
      return o;
    }
    if (arg == "--quiet" || arg == "-q") {
      if (has_value) throw UsageError("--quiet takes no value");
      o.quiet = true;
    } else if (arg == "--mode") {
      const std::string m = next();
      if (m == "all") {
        o.modes.assign(std::begin(kAllModes), std::end(kAllModes));
      } else if (const auto mode = parse_mode(m)) {
        o.modes = {*mode};
      } else {
        throw UsageError("unknown mode '" + m +
                         "' (stage, dispatcher, mutex-cv, socket-per-peer, single-reader, all)");
      }
    } else if (arg == "--peers") {
      o.config.peers = parse_integer<int>(arg, next(), 1, Limits::kMaxPeers);
    } else if (arg == "--workers") {
      o.config.workers = parse_integer<int>(arg, next(), 1, Limits::kMaxPeers);
      o.workers_given = true;
    } else if (arg == "--datagrams") {
      o.config.datagrams = parse_integer<std::uint64_t>(arg, next(), 1, Limits::kMaxDatagrams);
    } else if (arg == "--duration") {
      o.config.duration = std::chrono::duration<double>(parse_seconds(arg, next()));
    } else if (arg == "--batch") {
      o.config.batch = parse_integer<int>(arg, next(), 1, Limits::kMaxBatch);
    } else if (arg == "--window") {
      o.config.window = parse_integer<int>(arg, next(), 1, 256);
    } else if (arg == "--json") {
      o.json = next();
      if (o.json.empty()) throw UsageError("--json needs a file name");
    } else {
      throw UsageError("unknown argument '" + std::string(argv[i]) + "'");
    }
  }
  if (!o.workers_given) o.config.workers = o.config.peers;
  if (std::string why = validate(o.config); !why.empty()) throw UsageError(why);
  return o;
}

// ---- output
// ----------------------------------------------------------------------------------------

std::string group(double value) {  // 1234567 -> "1 234 567"
  std::string digits = std::to_string(static_cast<long long>(std::llround(value)));
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ' ';
    out += digits[i];
  }
  return out;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::optional<double> ratio_to_single_reader(const std::vector<Result>& results, const Result& r) {
  for (const Result& base : results) {
    if (base.mode == Mode::single_reader && base.ok() && base.rate > 0 && r.ok()) {
      return r.rate / base.rate;
    }
  }
  return std::nullopt;
}

// Context switches of both kinds.
std::uint64_t switches(const ThreadCosts& c) {
  return c.voluntary + c.involuntary;
}

// What each datagram cost, the receiving side (the mode's own threads) apart from the sending
// side (the peers, the same work in every mode).
void print_costs(const std::vector<Result>& results) {
  bool measured = false, counted = false;
  for (const Result& r : results) {
    measured = measured || r.receiving.measured;
    counted = counted || r.receiving.syscalls_counted;
  }
  if (!measured) return;
  std::printf("\nper datagram     %s%s\n", "------------------ receiving side ------------------",
              "  ---- sending side ----");
  std::printf("%-16s %8s %9s %9s %9s %9s %9s %10s\n", "mode", "CPU us", "vol sw", "invol sw",
              "recvmmsg", "futex", "CPU us", "futex");
  auto calls = [&](std::uint64_t n, const Result& r) {
    return counted ? fixed(r.per_datagram(static_cast<double>(n)), 4) : std::string("-");
  };
  for (const Result& r : results) {
    std::printf("%-16s %8s %9s %9s %9s %9s %9s %10s\n", std::string(mode_name(r.mode)).c_str(),
                fixed(r.per_datagram(r.receiving.cpu_seconds * 1e6), 2).c_str(),
                fixed(r.per_datagram(static_cast<double>(r.receiving.voluntary)), 4).c_str(),
                fixed(r.per_datagram(static_cast<double>(r.receiving.involuntary)), 4).c_str(),
                calls(r.receiving.recvmmsg, r).c_str(), calls(r.receiving.futex, r).c_str(),
                fixed(r.per_datagram(r.sending.cpu_seconds * 1e6), 2).c_str(),
                calls(r.sending.futex, r).c_str());
  }
  if (!counted) {
    std::printf(
        "(system calls not counted: it needs tracefs and the right to use tracepoints, e.g. "
        "root)\n");
  }
}

// One measured sentence: what Stage saved against the other routed designs in this run.
void print_verdict(const std::vector<Result>& results) {
  const Result* stage = nullptr;
  for (const Result& r : results) {
    if (r.mode == Mode::stage && r.ok() && r.receiving.measured) stage = &r;
  }
  if (stage == nullptr) return;
  std::string text;
  for (const Result& r : results) {
    if (&r == stage || !r.ok() || !r.receiving.measured || r.delivered == 0) continue;
    if (r.mode != Mode::dispatcher && r.mode != Mode::mutex_cv) continue;
    const double cpu =
        stage->per_datagram(stage->receiving.cpu_seconds) / r.per_datagram(r.receiving.cpu_seconds);
    const double sw = r.per_datagram(static_cast<double>(switches(r.receiving))) > 0
                          ? stage->per_datagram(static_cast<double>(switches(stage->receiving))) /
                                r.per_datagram(static_cast<double>(switches(r.receiving)))
                          : 0;
    text += (text.empty() ? "" : "; against ") + std::string(mode_name(r.mode)) + ": " +
            fixed(cpu, 2) + "x the CPU, " + fixed(sw, 2) + "x the context switches, p50 " +
            fixed(stage->p50_us, 0) + " us vs " + fixed(r.p50_us, 0) + " us";
  }
  if (text.empty()) return;
  std::printf("In this run Stage's receiving side used, per datagram, against %s.\n", text.c_str());
}

void print_table(const Options& o, const std::vector<Result>& results) {
  const int window = results.empty() ? 0 : results.front().window;
  std::printf(
      "exitleft-udp-demux: %d peers, %d workers, %s datagrams per peer, window %d, "
      "batch %d\n\n",
      o.config.peers, o.config.workers, group(static_cast<double>(o.config.datagrams)).c_str(),
      window, o.config.batch);
  std::printf("%-16s %12s %9s %13s %9s %9s %17s\n", "mode", "datagrams", "seconds", "datagrams/s",
              "p50 us", "p99 us", "vs single-reader");
  bool any_bound = false;
  for (const Result& r : results) {
    const auto ratio = ratio_to_single_reader(results, r);
    std::string count = group(static_cast<double>(r.delivered));
    if (r.time_bound_reached) {
      count += "*";
      any_bound = true;
    }
    std::printf("%-16s %12s %9s %13s %9s %9s %17s%s\n", std::string(mode_name(r.mode)).c_str(),
                count.c_str(), fixed(r.seconds, 3).c_str(), group(r.rate).c_str(),
                fixed(r.p50_us, 1).c_str(), fixed(r.p99_us, 1).c_str(),
                ratio ? fixed(*ratio, 2).c_str() : "-", r.ok() ? "" : "  FAILED");
  }
  if (any_bound) {
    std::printf(
        "\n* the time bound (--duration) stopped the peers before they sent everything; "
        "every datagram they did send was delivered and checked.\n");
  }
  print_costs(results);
  bool all_ok = true;
  for (const Result& r : results) all_ok = all_ok && r.ok();
  if (all_ok) {
    std::printf("\nEvery datagram reached its own worker exactly once and in order.\n");
  }
  print_verdict(results);
  std::fflush(stdout);
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string json_number(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// One side's costs: totals and per delivered datagram; null where not measured.
std::string json_costs(const Result& r, const ThreadCosts& c) {
  auto per = [&](double total) { return json_number(r.per_datagram(total)); };
  auto calls = [&](std::uint64_t n) {
    return c.syscalls_counted ? std::to_string(n) : std::string("null");
  };
  auto calls_per = [&](std::uint64_t n) {
    return c.syscalls_counted ? per(static_cast<double>(n)) : std::string("null");
  };
  if (!c.measured) return "null";
  std::ostringstream j;
  j << "{\"cpu_seconds\": " << json_number(c.cpu_seconds)
    << ", \"voluntary_switches\": " << c.voluntary
    << ", \"involuntary_switches\": " << c.involuntary << ", \"recvmmsg\": " << calls(c.recvmmsg)
    << ", \"sendmmsg\": " << calls(c.sendmmsg) << ", \"futex\": " << calls(c.futex)
    << ", \"per_datagram\": {\"cpu_us\": " << per(c.cpu_seconds * 1e6)
    << ", \"voluntary_switches\": " << per(static_cast<double>(c.voluntary))
    << ", \"involuntary_switches\": " << per(static_cast<double>(c.involuntary))
    << ", \"recvmmsg\": " << calls_per(c.recvmmsg) << ", \"sendmmsg\": " << calls_per(c.sendmmsg)
    << ", \"futex\": " << calls_per(c.futex) << "}}";
  return j.str();
}

void write_json(const Options& o, const std::vector<Result>& results) {
  std::ostringstream j;
  j << "{\n  \"tool\": \"exitleft-udp-demux\",\n"
    << "  \"peers\": " << o.config.peers << ",\n"
    << "  \"workers\": " << o.config.workers << ",\n"
    << "  \"datagrams_per_peer\": " << o.config.datagrams << ",\n"
    << "  \"batch\": " << o.config.batch << ",\n"
    << "  \"duration_bound_seconds\": " << json_number(o.config.duration.count()) << ",\n"
    << "  \"results\": [";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const Result& r = results[i];
    const auto ratio = ratio_to_single_reader(results, r);
    j << (i ? "," : "") << "\n    {\"mode\": " << json_string(mode_name(r.mode))
      << ", \"ok\": " << (r.ok() ? "true" : "false")
      << ", \"error\": " << (r.ok() ? "null" : json_string(r.error)) << ", \"window\": " << r.window
      << ", \"expected\": " << r.expected << ", \"delivered\": " << r.delivered
      << ", \"seconds\": " << json_number(r.seconds)
      << ", \"datagrams_per_second\": " << json_number(r.rate)
      << ", \"p50_us\": " << json_number(r.p50_us) << ", \"p99_us\": " << json_number(r.p99_us)
      << ", \"vs_single_reader\": " << (ratio ? json_number(*ratio) : "null")
      << ", \"time_bound_reached\": " << (r.time_bound_reached ? "true" : "false")
      << ", \"late_wakeups\": " << r.late_wakeups
      << ", \"receiving\": " << json_costs(r, r.receiving)
      << ", \"sending\": " << json_costs(r, r.sending) << "}";
  }
  j << "\n  ]\n}\n";
  std::ofstream f(o.json, std::ios::binary | std::ios::trunc);
  f << j.str();
  f.close();
  if (!f) throw std::runtime_error("cannot write " + o.json);
}

// The live progress line on a terminal: "stage  45%  312 000 datagrams/s".
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled) {}
  ProgressFn for_mode(Mode mode) {
    if (!enabled_) return {};
    last_count_ = 0;
    last_time_ = std::chrono::steady_clock::now();
    return [this, mode](std::uint64_t delivered, std::uint64_t expected) {
      const auto now = std::chrono::steady_clock::now();
      const double dt = std::chrono::duration<double>(now - last_time_).count();
      const double rate = dt > 0 ? static_cast<double>(delivered - last_count_) / dt : 0;
      last_count_ = delivered;
      last_time_ = now;
      std::fprintf(
          stderr, "\r\033[K%-16s %5.1f%%  %s datagrams/s", std::string(mode_name(mode)).c_str(),
          expected ? 100.0 * static_cast<double>(delivered) / static_cast<double>(expected) : 0.0,
          group(rate).c_str());
      std::fflush(stderr);
      shown_ = true;
    };
  }
  void clear() {
    if (shown_) std::fprintf(stderr, "\r\033[K");
    shown_ = false;
  }

 private:
  bool enabled_;
  bool shown_ = false;
  std::uint64_t last_count_ = 0;
  std::chrono::steady_clock::time_point last_time_;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  try {
    auto parsed = parse(argc, argv);
    if (!parsed) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    options = std::move(*parsed);
    if (options.version) {
      std::puts("exitleft-udp-demux " EXITLEFT_TOOLS_VERSION);
      return 0;
    }
  } catch (const UsageError& e) {
    std::fprintf(stderr, "exitleft-udp-demux: %s\n(try --help)\n", e.what());
    return 2;
  }

  ProgressLine progress(!options.quiet && stderr_is_terminal());
  std::vector<Result> results;
  int status = 0;
  for (const Mode mode : options.modes) {
    try {
      results.push_back(run(mode, options.config, progress.for_mode(mode)));
    } catch (const std::invalid_argument& e) {
      progress.clear();
      std::fprintf(stderr, "exitleft-udp-demux: %s\n", e.what());
      return 2;
    } catch (const std::exception& e) {
      progress.clear();
      std::fprintf(stderr, "exitleft-udp-demux: %s: %s\n", std::string(mode_name(mode)).c_str(),
                   e.what());
      return 1;
    }
    progress.clear();
    const Result& r = results.back();
    if (!r.ok()) {
      std::fprintf(stderr, "exitleft-udp-demux: %s FAILED: %s\n",
                   std::string(mode_name(mode)).c_str(), r.error.c_str());
      status = 1;
    } else if (r.late_wakeups > 0 && !options.quiet) {
      std::fprintf(stderr,
                   "exitleft-udp-demux: %s: %llu waits ran to their 50 ms limit while datagrams "
                   "were waiting (late wake-ups)\n",
                   std::string(mode_name(mode)).c_str(),
                   static_cast<unsigned long long>(r.late_wakeups));
    }
  }
  if (!options.quiet) print_table(options, results);
  if (!options.json.empty()) {
    try {
      write_json(options, results);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "exitleft-udp-demux: %s\n", e.what());
      return 1;
    }
  }
  return status;
}
