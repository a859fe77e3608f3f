// Process-level protections of the real binary: no core files, no secrets in the log.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "support/pty_process.hpp"
#include "support/temp_dir.hpp"

namespace relay::test {
namespace {

std::string read_proc(pid_t pid, const char* what) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + what);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

TEST(Process, RelayCannotDumpCore) {
  temp_dir dir;
  auto relay = start_relay(dir.path() / "relay.db");
  const std::string limits = read_proc(relay.proc->pid(), "limits");
  // "Max core file size        0                    0                    bytes"
  std::istringstream lines(limits);
  std::string line;
  bool found = false;
  while (std::getline(lines, line)) {
    if (line.rfind("Max core file size", 0) != 0) continue;
    found = true;
    std::istringstream f(line.substr(18));
    std::string soft, hard;
    f >> soft >> hard;
    EXPECT_EQ(soft, "0");
    EXPECT_EQ(hard, "0");
  }
  EXPECT_TRUE(found) << limits;
}

TEST(Process, ClientCannotDumpCore) {
  temp_dir dir;
  auto relay = start_relay(dir.path() / "relay.db");
  pty_options opts;
  opts.argv = {RELAY_NODE_BINARY, "--port", std::to_string(relay.port), "--home", dir.file("home")};
  opts.label = "client";
  pty_process client(opts);
  ASSERT_TRUE(client.wait_for("user name: ")) << client.describe("no prompt");
  const std::string limits = read_proc(client.pid(), "limits");
  EXPECT_NE(limits.find("Max core file size        0                    0"), std::string::npos)
      << limits;
  client.terminate();
}

}  // namespace
}  // namespace relay::test

namespace relay::test {
namespace {

TEST(Process, RelaySaysWhenItCreatesItsKey) {
  temp_dir dir;
  std::string first_out, second_out;
  {
    auto relay = start_relay(dir.path() / "relay.db");
    first_out = relay.proc->transcript();
    relay.proc->terminate();
    EXPECT_EQ(relay.proc->wait_exit(), 0);
  }
  auto again = start_relay(dir.path() / "relay.db");
  EXPECT_NE(first_out.find("(new key created)"), std::string::npos) << first_out;
  EXPECT_EQ(again.proc->transcript().find("(new key created)"), std::string::npos);
}

}  // namespace
}  // namespace relay::test
