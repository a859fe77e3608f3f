#include "relay/bench/proc_stats.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "relay/util/thread_name.hpp"

namespace relay::bench {
namespace {

TEST(BenchProcStats, StatFieldsAfterAnAwkwardCommandName) {
  // comm may contain spaces and ')' : fields are counted after the last ')'.
  const char* stat =
      "4242 (we ird) (name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 3 0 "
      "100 164924000 1900 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 0 0 0 0 0 0\n";
  auto c = parse_proc_stat(stat, 100);
  ASSERT_TRUE(c);
  EXPECT_DOUBLE_EQ(c->user, 2.5);
  EXPECT_DOUBLE_EQ(c->system, 0.75);
  EXPECT_DOUBLE_EQ(c->total(), 3.25);
}

TEST(BenchProcStats, TruncatedOrMalformedStatIsRejected) {
  EXPECT_FALSE(parse_proc_stat("4242 (node) S 1 2 3", 100));
  EXPECT_FALSE(parse_proc_stat("no parenthesis at all", 100));
  EXPECT_FALSE(parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 7 0", 100));
}

TEST(BenchProcStats, StatusRssAndPeak) {
  const char* status =
      "Name:\tnode\nVmPeak:\t  170000 kB\nVmSize:\t  164924 kB\nVmHWM:\t    8032 kB\n"
      "VmRSS:\t    7604 kB\nRssAnon:\t    1300 kB\n";
  auto m = parse_proc_status(status);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rss_kib, 7604u);
  EXPECT_EQ(m->hwm_kib, 8032u);
  EXPECT_FALSE(parse_proc_status("Name:\tnode\nVmRSS:\t 12 kB\n"));  // no VmHWM
}

TEST(BenchProcStats, ReadsThisProcess) {
  auto c = read_cpu(::getpid());
  auto m = read_mem(::getpid());
  ASSERT_TRUE(c);
  ASSERT_TRUE(m);
  EXPECT_GE(c->total(), 0.0);
  EXPECT_GT(m->rss_kib, 0u);
  EXPECT_GE(m->hwm_kib, m->rss_kib);
  EXPECT_FALSE(read_cpu(-1));
}

TEST(BenchProcStats, SchedstatIsNanosecondsOnTheCpu) {
  auto s = parse_schedstat("1234567890 5678 42\n");
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(*s, 1.23456789);
  EXPECT_FALSE(parse_schedstat(""));
  EXPECT_FALSE(parse_schedstat("x 1 2\n"));
}

TEST(BenchProcStats, ThreadsOfThisProcessWithTheirNamesAndCpuTime) {
  std::atomic<bool> named{false}, done{false};
  std::thread t([&] {
    util::name_this_thread("probe-thread");
    // Burn a little CPU so schedstat has something to show.
    volatile unsigned long x = 0;
    for (int i = 0; i < 2'000'000; ++i) x = x + static_cast<unsigned long>(i);
    named = true;
    while (!done) std::this_thread::yield();
  });
  while (!named) std::this_thread::yield();
  const auto threads = read_threads(::getpid());
  done = true;
  t.join();
  const auto find = [&](auto pred) { return std::find_if(threads.begin(), threads.end(), pred); };
  const auto probe = find([](const thread_cpu& c) { return c.name == "probe-thread"; });
  ASSERT_NE(probe, threads.end());
  EXPECT_GT(probe->seconds, 0.0);
  EXPECT_NE(probe->tid, ::getpid());
  EXPECT_NE(find([](const thread_cpu& c) { return c.tid == ::getpid(); }), threads.end());
  EXPECT_TRUE(read_threads(-1).empty());
}

}  // namespace
}  // namespace relay::bench
