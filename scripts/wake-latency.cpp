// Wake-up latency of a thread on CPU 0, woken from CPU 1 500 us after its last wake-up,
// while CPU 0 is idle or busy with two SCHED_IDLE spinners (the relay's hashing threads during
// a sign-in storm): does an idle-policy thread give way at once? On the EPYC VM it does
// (docs/benchmarks.md, "Is the storm's chat tail the hashing threads?"). Not part of the build:
//   g++ -O2 -std=c++20 -pthread scripts/wake-latency.cpp -o /tmp/wake-latency
//   /tmp/wake-latency idle; /tmp/wake-latency sched-idle
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using clk = std::chrono::steady_clock;
std::atomic<bool> stop{false};
std::atomic<int> seen{0};  // wake-ups the waiter has timed

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace

int main(int argc, char** argv) {
  const bool busy = argc > 1 && std::strcmp(argv[1], "sched-idle") == 0;
  if (argc < 2 || (!busy && std::strcmp(argv[1], "idle") != 0)) {
    std::fprintf(stderr, "usage: %s idle|sched-idle\n", argv[0]);
    return 2;
  }
  constexpr int rounds = 10000;
  const int efd = eventfd(0, 0);
  std::vector<clk::time_point> sent(rounds), woke(rounds);

  std::vector<std::thread> spinners;
  for (int i = 0; busy && i < 2; ++i) {
    spinners.emplace_back([] {
      pin(0);
      sched_param p{};
      sched_setscheduler(0, SCHED_IDLE, &p);
      volatile std::uint64_t x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
  }
  std::thread waiter([&] {
    pin(0);
    for (int i = 0; i < rounds; ++i) {
      std::uint64_t v;
      if (read(efd, &v, sizeof v) != sizeof v) return;
      woke[i] = clk::now();
      seen.store(i + 1);
    }
  });
  pin(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < rounds; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    sent[i] = clk::now();
    const std::uint64_t one = 1;
    if (write(efd, &one, sizeof one) != sizeof one) return 1;
    while (seen.load() <= i) {  // one wake-up at a time, so each is timed alone
    }
  }
  waiter.join();
  stop = true;
  for (auto& t : spinners) t.join();

  std::vector<double> us(rounds);
  for (int i = 0; i < rounds; ++i) {
    us[i] = std::chrono::duration<double, std::micro>(woke[i] - sent[i]).count();
  }
  std::sort(us.begin(), us.end());
  const auto over_1ms = us.end() - std::upper_bound(us.begin(), us.end(), 1000.0);
  std::printf(
      "%s: wake-up latency p50 %.0f us, p99 %.0f, p99.9 %.0f, max %.0f; %td of %d over 1 ms\n",
      argv[1], us[rounds / 2], us[rounds * 99 / 100], us[rounds * 999 / 1000], us.back(), over_1ms,
      rounds);
  return 0;
}
