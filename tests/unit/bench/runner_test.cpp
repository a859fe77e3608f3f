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

  nlohmann::json run_bench(bool batch, mode m = mode::throughput) {
    bench_config c;
    c.mode = m;
    c.port = relay_.port();
    c.clients = 4;
    c.duration = 0.3;
    c.warmup = 0.1;
    c.rate = 2000;
    c.batch = batch;
    c.prefix = batch ? "bb" : "nb";
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
  const auto r = run(c);
  ASSERT_TRUE(r.at("ok").get<bool>()) << r.dump(2);
  EXPECT_EQ(num(r, "lost"), 0u);
  const auto& st = r.at("storm");
  EXPECT_EQ(num(st, "signed_in"), 6u);
  // The storm's handshakes and snapshots run where they cannot delay the chat threads.
  EXPECT_EQ(st.at("storm_thread").get<std::string>(), "idle");
  EXPECT_GT(num(st.at("storm_latency"), "count"), 0u) << st.dump(2);
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
  st["p99_ratio"] = 2.0;
  for (const char* k : {"baseline_latency", "storm_latency"}) {
    st[k] = {{"count", 1},     {"p50_us", 1.0}, {"p99_us", 1.0},
             {"p999_us", 1.0}, {"max_us", 1.0}, {"mean_us", 1.0}};
  }
  nlohmann::json r;
  r["mode"] = "storm";
  r["storm"] = st;
  r["problems"] = nlohmann::json::array();
  const std::string text = human_report(r);
  EXPECT_NE(text.find("= 86% of 35.0 hashes/s (mean of 30.0 before and 40.0 after the storm)"),
            std::string::npos)
      << text;
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
