// exitleft-soak: Failures, Scenario's thread management, number formatting.
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "tools/soak/soak.hpp"

namespace exitleft::soak {

void Failures::add(const std::string& scenario, std::string what) {
  std::lock_guard lock(mutex_);
  ++count_;
  for (auto& [name, kept] : per_scenario_) {
    if (name != scenario) continue;
    if (kept >= kept_per_scenario_limit_) return;
    ++kept;
    details_.push_back(scenario + ": " + std::move(what));
    return;
  }
  per_scenario_.emplace_back(scenario, 1);
  details_.push_back(scenario + ": " + std::move(what));
}

std::size_t Failures::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::vector<std::string> Failures::details() const {
  std::lock_guard lock(mutex_);
  return details_;
}

Scenario::~Scenario() {
  join();
}

void Scenario::spawn(std::string role, std::function<void(Worker&)> body) {
  // Each worker's random stream depends on the seed, the scenario and its index only.
  const std::uint64_t seed =
      mix(options_.seed ^ mix(std::hash<std::string>{}(name_)) ^ mix(workers_.size() + 1));
  workers_.push_back(std::make_unique<Worker>(std::move(role), seed));
  Worker& w = *workers_.back();
  threads_.emplace_back([this, &w, body = std::move(body)] {
#ifdef __linux__
    w.tid_.store(static_cast<long>(syscall(SYS_gettid)), std::memory_order_relaxed);
#endif
    try {
      body(w);
    } catch (const std::exception& e) {
      fail(w.name() + " threw: " + e.what());
    }
    w.at("finished");
    w.done_.store(true, std::memory_order_release);  // release: pairs with the acquire in done()
  });
}

bool Scenario::all_done() const {
  for (const auto& w : workers_) {
    if (!w->done()) return false;
  }
  return true;
}

void Scenario::join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::string short_count(std::uint64_t n) {
  char buf[32];
  if (n < 10'000) {
    std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(n));
  } else if (n < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1fk", static_cast<double>(n) / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fM", static_cast<double>(n) / 1e6);
  }
  return buf;
}

}  // namespace exitleft::soak
