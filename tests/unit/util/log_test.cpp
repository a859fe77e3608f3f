// The logger: whole lines in order, and a stopped output never blocks a caller; what it
// could not keep is counted in the output itself.
#include "relay/util/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/temp_dir.hpp"

namespace relay::log {
namespace {

using namespace std::chrono_literals;

// Lines go to `fd` for the life of this object, then back to standard error.
struct output_to {
  explicit output_to(int fd) { set_output(fd); }
  ~output_to() { set_output(STDERR_FILENO); }
};

// A pipe whose read end is drained on a thread of its own once started.
class pipe_drain {
 public:
  pipe_drain() {
    if (::pipe2(p_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  }
  ~pipe_drain() {
    finish();
    ::close(p_[0]);
  }
  pipe_drain(const pipe_drain&) = delete;
  pipe_drain& operator=(const pipe_drain&) = delete;

  int write_end() const noexcept { return p_[1]; }
  void start() {
    reader_ = std::thread([this] {
      char buf[65536];
      ssize_t k;
      while ((k = ::read(p_[0], buf, sizeof buf)) > 0)
        text_.append(buf, static_cast<std::size_t>(k));
    });
  }
  /// Closes the write end and returns everything read (start() first).
  const std::string& finish() {
    if (p_[1] >= 0) ::close(std::exchange(p_[1], -1));
    if (reader_.joinable()) reader_.join();
    return text_;
  }

 private:
  int p_[2];
  std::thread reader_;
  std::string text_;
};

// What reaches the log from outside (a kick reason, a peer's text) can neither act on the
// operator's terminal nor reverse the order of what they read.
TEST(Log, SafeTextKeepsPrintableTextAndEscapesWhatCouldActOnTheTerminal) {
  EXPECT_EQ(safe_text("plain ascii, été, 日本, 😀"), "plain ascii, été, 日本, 😀");
  EXPECT_EQ(safe_text("bell\a esc\x1b[31m del\x7f nl\n tab\t"),
            "bell\\x07 esc\\x1b[31m del\\x7f nl\\x0a tab\\x09");
  EXPECT_EQ(safe_text("\xc2\x9b"
                      "31m"),
            "\\xc2\\x9b31m");  // C1 CSI, two bytes in UTF-8
  EXPECT_EQ(safe_text("abc\xe2\x80\xae"
                      "evil"),
            "abc\\u{202E}evil");  // right-to-left override
  EXPECT_EQ(safe_text("\xe2\x81\xa6x\xe2\x80\x8b\xef\xbb\xbf"), "\\u{2066}x\\u{200B}\\u{FEFF}");
  // Invalid UTF-8, byte by byte, and the good text after it kept.
  EXPECT_EQ(safe_text("a\xff"
                      "b\xc3"
                      "c\xed\xa0\x80"
                      "d\xc0\xaf"),
            "a\\xffb\\xc3c\\xed\\xa0\\x80d\\xc0\\xaf");
  EXPECT_EQ(safe_text("cut at the end \xe6\x97"), "cut at the end \\xe6\\x97");
}

TEST(Log, LinesFromManyThreadsComeOutWholeAndEachThreadsInOrder) {
  test::temp_dir dir;
  const auto path = dir.file("log");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  {
    output_to out(fd);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 500; ++i) info() << "thread " << t << " line " << i << " end";
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(flush(10s));
  }
  ::close(fd);
  std::ifstream in(path);
  const std::regex shape(
      R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO thread (\d) line (\d+) end)");
  int next[4] = {0, 0, 0, 0};
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, shape)) << line;
    const int t = std::stoi(m[1]);
    EXPECT_EQ(std::stoi(m[2]), next[t]++) << line;
    ++lines;
  }
  EXPECT_EQ(lines, 2000);
}

// The relay's console hands lines to its terminal instead of a descriptor: whole lines, all of
// them, on the logging thread; then back to the descriptor.
TEST(Log, AWriterGetsWholeLinesInsteadOfTheOutput) {
  test::temp_dir dir;
  const auto path = dir.file("log");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  {
    output_to out(fd);
    auto got = std::make_shared<std::string>();
    auto m = std::make_shared<std::mutex>();
    const auto caller = std::this_thread::get_id();
    auto on_caller = std::make_shared<std::atomic<bool>>(false);
    set_writer([got, m, caller, on_caller](std::string_view lines) {
      if (std::this_thread::get_id() == caller) *on_caller = true;
      std::lock_guard lock(*m);
      got->append(lines);
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([t] {
        for (int i = 0; i < 200; ++i) info() << "writer " << t << " line " << i;
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_TRUE(flush(10s));
    set_writer({});
    info() << "back to the file";
    ASSERT_TRUE(flush(10s));
    std::lock_guard lock(*m);
    EXPECT_FALSE(*on_caller);
    std::istringstream lines(*got);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      EXPECT_NE(line.find(" INFO writer "), std::string::npos) << line;
      ++n;
    }
    EXPECT_EQ(n, 400);
  }
  ::close(fd);
  std::ifstream in(path);
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(file.str().find("writer "), std::string::npos) << file.str();
  EXPECT_NE(file.str().find("INFO back to the file\n"), std::string::npos) << file.str();
}

TEST(Log, AnotherWriterOnTheSamePipeLandsBetweenLinesNeverInside) {
  // As the console's answers on stdout do when stdout and stderr are one pipe.
  pipe_drain pipe;
  pipe.start();
  {
    output_to out(pipe.write_end());
    std::thread console([&] {
      for (int i = 0; i < 10000; ++i) ASSERT_EQ(::write(pipe.write_end(), "CONSOLE\n", 8), 8);
    });
    for (int i = 0; i < 20000; ++i) info() << "line " << i << ' ' << std::string(40, 'y');
    console.join();
    ASSERT_TRUE(flush(30s));
  }
  const std::string text = pipe.finish();
  std::istringstream in(text);
  std::string line;
  const std::regex kept(R"(.* INFO line \d+ y{40})");
  int logged = 0, console = 0;
  while (std::getline(in, line)) {
    if (line == "CONSOLE") {
      ++console;
    } else {
      EXPECT_TRUE(std::regex_match(line, kept)) << "a line cut by the other writer: " << line;
      ++logged;
    }
  }
  EXPECT_EQ(logged, 20000);
  EXPECT_EQ(console, 10000);
}

TEST(Log, AStoppedOutputNeverBlocksTheCallerAndCountsWhatItDrops) {
  pipe_drain pipe;
  ::fcntl(pipe.write_end(), F_SETPIPE_SZ, 4096);  // nobody reads yet: the writer blocks at once
  const std::uint64_t dropped_before = dropped_lines();
  constexpr int n = 30000;  // ~3 MB of lines, three times what may wait
  {
    output_to out(pipe.write_end());
    auto writing = std::async(std::launch::async, [] {
      for (int i = 0; i < n; ++i) info() << "line " << i << ' ' << std::string(64, 'x');
    });
    // A deadlock guard, not a timing assertion: blocked writes would never finish.
    const bool returned = writing.wait_for(60s) == std::future_status::ready;
    pipe.start();  // read everything from here on, so that the writer can finish either way
    ASSERT_TRUE(returned) << "log::write blocked while the output was stopped";
    EXPECT_GT(dropped_lines() - dropped_before, 0u);
    ASSERT_TRUE(flush(30s));
    info() << "after the stop";
    ASSERT_TRUE(flush(30s));
  }
  const std::string text = pipe.finish();

  // Every line is either out, in order, or counted in a "dropped" line in its place.
  std::istringstream in(text);
  std::string line;
  const std::regex kept(R"(.* INFO line (\d+) x{64})");
  const std::regex lost(
      R"(.* WARN log: (\d+) lines? dropped: the output \(standard error\) was not keeping up)");
  int last = -1;
  std::uint64_t out_lines = 0, counted = 0;
  bool after = false;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, kept)) {
      EXPECT_GT(std::stoi(m[1]), last) << line;
      last = std::stoi(m[1]);
      ++out_lines;
    } else if (std::regex_match(line, m, lost)) {
      counted += std::stoull(m[1]);
    } else {
      EXPECT_NE(line.find(" INFO after the stop"), std::string::npos) << line;
      EXPECT_FALSE(after);
      after = true;
    }
  }
  EXPECT_TRUE(after) << "the line logged once the output moved again is missing";
  EXPECT_GT(counted, 0u);
  EXPECT_EQ(out_lines + counted, static_cast<std::uint64_t>(n));
  EXPECT_EQ(dropped_lines() - dropped_before, counted);
}

}  // namespace
}  // namespace relay::log
