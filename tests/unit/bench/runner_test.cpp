// node-bench's engine against an in-process relay: batches both ways by default, none with
// --no-batch (config.batch = false), and every message arrives once and intact either way.
#include "relay/bench/runner.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <thread>

#include "support/relay_fixture.hpp"
#include "support/temp_dir.hpp"

namespace relay::bench {
namespace {

class BenchRun : public ::testing::Test {
 protected:
  static server::relay_config relay_config(const test::temp_dir& dir) {
    auto c = test::test_config(dir.path().string());
    c.message_rate = 1e9;  // throughput mode sends as fast as the window allows
    c.message_burst = 1e9;
    return c;
  }

  nlohmann::json run_bench(bool batch, mode m = mode::throughput, bool padding = false) {
    bench_config c;
    c.mode = m;
    c.port = relay_.port();
    c.clients = 4;
    c.duration = 0.3;
    c.warmup = 0.1;
    c.rate = 2000;
    c.batch = batch;
    c.padding = padding;
    c.prefix = padding ? "pb" : batch ? "bb" : "nb";
    return run(c);
  }

  test::temp_dir dir_;
  test::relay_fixture relay_{relay_config(dir_)};
};

std::uint64_t num(const nlohmann::json& j, const char* k) { return j.at(k).get<std::uint64_t>(); }

TEST_F(BenchRun, BatchesBothWaysByDefault) {
  const auto r = run_bench(true);
  ASSERT_TRUE(r.at("ok").get<bool>()) << r.dump(2);
  EXPECT_TRUE(r.at("batch").get<bool>());
  EXPECT_GT(num(r, "delivered"), 0u);
  const auto& t = r.at("transport");
  // a client's burst of sends (its share of the window) went out as batches
  EXPECT_GT(num(t, "sent_frames"), num(t, "sent_messages"));
  // message 3 announced feature_batch: the relay sent batches (welcome and the snapshot, at
  // least), and the frames in them were all handled
  EXPECT_GT(num(t, "received_batches"), 0u);
  EXPECT_GT(num(t, "received_frames"), num(t, "received_messages"));
  EXPECT_NE(human_report(r).find("batches         on"), std::string::npos);
}

TEST_F(BenchRun, NoBatchMeansOneFramePerTransportMessage) {
  const auto r = run_bench(false);
  ASSERT_TRUE(r.at("ok").get<bool>()) << r.dump(2);
  EXPECT_FALSE(r.at("batch").get<bool>());
  EXPECT_GT(num(r, "delivered"), 0u);
  const auto& t = r.at("transport");
  EXPECT_EQ(num(t, "sent_frames"), num(t, "sent_messages"));
  EXPECT_EQ(num(t, "received_frames"), num(t, "received_messages"));
  EXPECT_EQ(num(t, "received_batches"), 0u);
  EXPECT_NE(human_report(r).find("batches         off"), std::string::npos);
}

// With --padding every message the relay sends is padded (the run fails on one that is
// not), and the relay takes padded sign-ins and batches of sends.
TEST_F(BenchRun, PaddingBothWays) {
  const auto r = run_bench(true, mode::throughput, true);
  ASSERT_TRUE(r.at("ok").get<bool>()) << r.dump(2);
  EXPECT_TRUE(r.at("padding").get<bool>());
  EXPECT_GT(num(r, "delivered"), 0u);
  EXPECT_EQ(num(r, "lost") + num(r, "duplicated") + num(r, "corrupted"), 0u);
  EXPECT_GT(num(r.at("transport"), "received_batches"), 0u);
  EXPECT_NE(human_report(r).find("padding         on"), std::string::npos);
}

TEST_F(BenchRun, PacedModeWithBatches) {
  const auto r = run_bench(true, mode::latency);
  ASSERT_TRUE(r.at("ok").get<bool>()) << r.dump(2);
  EXPECT_GT(num(r, "delivered"), 0u);
  EXPECT_GT(num(r.at("transport"), "received_batches"), 0u);
}

TEST_F(BenchRun, StormClientsSignInFromTheirOwnIdlePriorityThread) {
  bench_config c;
  c.mode = mode::storm;
  c.port = relay_.port();
  c.clients = 4;
  c.storm_clients = 6;
  c.duration = 0.3;
  c.warmup = 0.1;
  c.rate = 500;
  c.hash_seconds = 0;  // no pool measurement: the relay is in this process
  c.prefix = "sm";
  c.relay_pid = static_cast<int>(::getpid());  // the relay's threads are this process's
  const auto r = run(c);
  ASSERT_TRUE(r.at("ok").get<bool>()) << r.dump(2);
  EXPECT_EQ(num(r, "lost"), 0u);
  const auto& st = r.at("storm");
  EXPECT_EQ(num(st, "signed_in"), 6u);
  // The storm's handshakes and snapshots run where they cannot delay the chat threads.
  EXPECT_EQ(st.at("storm_thread").get<std::string>(), "idle");
  EXPECT_GT(num(st.at("storm_latency"), "count"), 0u) << st.dump(2);
  // The relay's named hashing threads did the storm's hashing (and none before it: the
  // chatters signed in before the measured phase).
  EXPECT_GT(st.at("relay_threads_storm").at("hashing_pct").get<double>(), 0.0) << st.dump(2);
  EXPECT_LT(st.at("relay_threads_baseline").at("hashing_pct").get<double>(),
            st.at("relay_threads_storm").at("hashing_pct").get<double>());
}

TEST(BenchThreads, CpuIsSharedOutByThreadRole) {
  const int pid = 100;
  const std::vector<thread_cpu> from{
      {100, "node", 1.0}, {101, "node-hash", 2.0}, {102, "node-hash", 3.0}, {103, "node-db", 0.5}};
  const std::vector<thread_cpu> to{{100, "node", 1.5},
                                   {101, "node-hash", 3.0},
                                   {102, "node-hash", 3.5},
                                   {103, "node-db", 0.6},
                                   {104, "node-console", 0.2}};  // started since: counts in full
  const auto j = relay_thread_shares(from, to, pid, 2.0);
  EXPECT_DOUBLE_EQ(j.at("event_loop_pct").get<double>(), 25.0);  // 0.5 s of 2 s
  EXPECT_DOUBLE_EQ(j.at("hashing_pct").get<double>(), 75.0);     // 1.0 + 0.5 s
  EXPECT_NEAR(j.at("database_pct").get<double>(), 5.0, 1e-9);
  EXPECT_NEAR(j.at("other_pct").get<double>(), 10.0, 1e-9);
}

// The text report of a storm run with `st` as its "storm" part (latencies filled in).
std::string storm_text(nlohmann::json st) {
  for (const char* k : {"baseline_latency", "storm_latency"}) {
    st[k] = {{"count", 1},     {"p50_us", 1.0}, {"p99_us", 1.0},
             {"p999_us", 1.0}, {"max_us", 1.0}, {"mean_us", 1.0}};
  }
  nlohmann::json r;
  r["mode"] = "storm";
  r["storm"] = std::move(st);
  r["problems"] = nlohmann::json::array();
  return human_report(r);
}

TEST(BenchReport, TheStormIsComparedWithThePoolMeasuredBeforeAndAfterIt) {
  nlohmann::json st;
  st["signed_in"] = 300;
  st["storm_s"] = 10.0;
  st["signins_per_s"] = 30.0;
  st["pool_hashes_per_s_before"] = 30.0;
  st["pool_hashes_per_s_after"] = 40.0;
  st["pool_hashes_per_s"] = 35.0;
  st["pct_of_pool"] = 100.0 * 30.0 / 35.0;
  st["pool_cpus"] = {0};
  st["pool_threads"] = 1;
  st["p99_ratio"] = 2.0;
  const std::string text = storm_text(st);
  EXPECT_NE(text.find("= 86% of 35.0 hashes/s (mean of 30.0 before and 40.0 after the storm) "
                      "(measured on the relay's CPU 0, 1 thread(s))"),
            std::string::npos)
      << text;
}

TEST(BenchReport, TheStormShowsWhereTheRelaysCpuWent) {
  nlohmann::json st;
  st["signed_in"] = 300;
  st["storm_s"] = 10.0;
  st["signins_per_s"] = 30.0;
  st["pool_hashes_per_s"] = 40.0;
  st["pct_of_pool"] = 75.0;
  st["p99_ratio"] = 1.0;
  st["relay_threads_baseline"] = {
      {"event_loop_pct", 10.0}, {"hashing_pct", 0.0}, {"database_pct", 0.0}, {"other_pct", 0.0}};
  st["relay_threads_storm"] = {
      {"event_loop_pct", 22.5}, {"hashing_pct", 74.0}, {"database_pct", 3.0}, {"other_pct", 0.0}};
  st["pct_of_pool_for_its_cpu"] = 101.4;
  const std::string text = storm_text(st);
  EXPECT_NE(text.find("relay, baseline event loop 10.0%, hashing 0.0%"), std::string::npos) << text;
  EXPECT_NE(text.find("relay, storm    event loop 22.5%, hashing 74.0%, database 3.0%"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("per hashing CPU 101% of the pool's rate"), std::string::npos) << text;
}

}  // namespace
}  // namespace relay::bench

namespace relay::bench {
namespace {

TEST(BenchHash, CpusOfAProcessAreItsAffinity) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  const auto cpus = cpus_of(static_cast<int>(::getpid()));
  ASSERT_EQ(static_cast<int>(cpus.size()), CPU_COUNT(&set));
  for (int c : cpus) EXPECT_TRUE(CPU_ISSET(c, &set)) << c;
  EXPECT_TRUE(cpus_of(0).empty());        // no relay PID given
  EXPECT_TRUE(cpus_of(1 << 30).empty());  // no such process
}

TEST(BenchHash, APinnedThreadRunsOnlyOnTheGivenCpu) {
  const auto mine = cpus_of(static_cast<int>(::getpid()));
  ASSERT_FALSE(mine.empty());
  const std::vector<int> one{mine.back()};
  std::vector<int> seen;
  bool pinned = false;
  std::thread t([&] {
    pinned = pin_this_thread(one);
    cpu_set_t set;
    CPU_ZERO(&set);
    ::sched_getaffinity(0, sizeof set, &set);  // 0: the calling thread
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) seen.push_back(c);
    }
  });
  t.join();
  EXPECT_TRUE(pinned);
  EXPECT_EQ(seen, one);
  EXPECT_TRUE(pin_this_thread({}));  // nothing asked, nothing changed
  EXPECT_EQ(cpus_of(static_cast<int>(::getpid())), mine);
  // A measurement on that CPU hashes (a hash takes tens of ms: 0.3 s gives a few).
  EXPECT_GT(measure_hash_rate(1, 0.3, one), 0.0);
}

}  // namespace
}  // namespace relay::bench
