// Helpers shared by the control-plane benchmarks (bench_controlplane.cc, bench_k8s.cc): latency
// summaries and their JSON form, sustained rates, progress lines and a description of the
// machine.
#pragma once

#include <fmt/format.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cluster/types.h"

namespace quidditch::bench {

// `d` in milliseconds.
inline double Ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// A summary of samples, in their unit; all zero when there were none.
struct Stats {
  double p50 = 0, p99 = 0, mean = 0;
  size_t n = 0;
};

inline Stats Summarize(std::vector<double> v) {
  Stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.n = v.size();
  s.p50 = v[v.size() / 2];
  s.p99 = v[std::min(v.size() - 1, v.size() * 99 / 100)];
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  return s;
}

// Calls `op(writer, i)`, i = 0, 1, 2, ..., in a loop on each of `writers` threads (writer = 0 ..
// writers - 1) until `duration` has passed; returns how many calls returned true per second.
// `op` is called from several threads at once.
inline double SustainedRate(int writers, std::chrono::steady_clock::duration duration,
                            const std::function<bool(int writer, int i)>& op) {
  std::atomic<int64_t> done{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < writers; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        if (op(w, i)) ++done;
      }
    });
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(duration);
  stop = true;
  for (std::thread& t : threads) t.join();
  return done / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// {"p50": ..., "p99": ..., "mean": ..., "n": ...}, as the results files hold a summary.
inline cluster::Json StatsJson(const Stats& s) {
  return cluster::Json{{"p50", s.p50}, {"p99", s.p99}, {"mean", s.mean}, {"n", s.n}};
}

// Reports a benchmark's progress on stderr.
inline void Progress(const std::string& what) { std::cerr << "[bench] " << what << std::endl; }

// The system, architecture, cores and memory of this machine, e.g.
// "Linux x86_64, 8 cores, 31.2 GiB".
inline std::string Machine() {
  utsname u{};
  uname(&u);
  return fmt::format("{} {}, {} cores, {:.1f} GiB", u.sysname, u.machine,
                     sysconf(_SC_NPROCESSORS_ONLN),
                     sysconf(_SC_PHYS_PAGES) * double(sysconf(_SC_PAGESIZE)) / (1 << 30));
}

}  // namespace quidditch::bench
