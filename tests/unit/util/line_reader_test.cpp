#include "relay/util/line_reader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace relay {
namespace {

/// A pipe whose writing end is fed by a thread, in small writes, then closed.
struct fed_pipe {
  int fds[2]{-1, -1};
  std::thread writer;
  explicit fed_pipe(std::string text, std::size_t chunk = 1000) {
    EXPECT_EQ(::pipe(fds), 0);
    writer = std::thread([this, text = std::move(text), chunk] {
      for (std::size_t at = 0; at < text.size(); at += chunk) {
        const std::string part = text.substr(at, chunk);
        EXPECT_EQ(::write(fds[1], part.data(), part.size()), static_cast<ssize_t>(part.size()));
      }
      ::close(fds[1]);
    });
  }
  ~fed_pipe() {
    writer.join();
    ::close(fds[0]);
  }
};

// An over-long line comes back once, cut, and none of its tail is taken for a line: the
// console refused a 1 MB line about once per KiB before, and a tail could be a command.
TEST(LineReader, AnOverLongLineComesBackOnceCutAndItsTailIsDropped) {
  for (const std::size_t chunk : {std::size_t{7}, std::size_t{1000}, std::size_t{1 << 20}}) {
    fed_pipe p(
        "short\r\n" + std::string(5000, 'x') + "quit\n" + std::string(10, 'y') + "\n" + "after\n",
        chunk);
    line_reader lines(p.fds[0], 10);
    auto a = lines.next();
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, "short");
    EXPECT_FALSE(lines.cut());
    auto b = lines.next();
    ASSERT_TRUE(b);
    EXPECT_EQ(*b, std::string(10, 'x')) << chunk;
    EXPECT_TRUE(lines.cut());
    auto c = lines.next();  // exactly the limit: whole, not cut
    ASSERT_TRUE(c);
    EXPECT_EQ(*c, std::string(10, 'y')) << chunk;
    EXPECT_FALSE(lines.cut());
    auto d = lines.next();
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, "after") << chunk;
    EXPECT_FALSE(lines.next());
    EXPECT_TRUE(lines.at_eof());
  }
}

TEST(LineReader, AnOverLongLastLineWithoutNewlineIsCutToo) {
  fed_pipe p("ok\n" + std::string(25, 'z'), 4);
  line_reader lines(p.fds[0], 10);
  EXPECT_EQ(lines.next().value_or("?"), "ok");
  EXPECT_EQ(lines.next().value_or("?"), std::string(10, 'z'));
  EXPECT_TRUE(lines.cut());
  EXPECT_FALSE(lines.next());
}

}  // namespace
}  // namespace relay
