// format_audit_line and audit_log: quoting, ASCII-only lines, O_APPEND, 0600, failures.
#include "relay/console/audit_log.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace relay::console {
namespace {

namespace fs = std::filesystem;
using args = std::vector<std::string>;

constexpr std::int64_t t0 = 1700000000;  // 2023-11-14T22:13:20Z

TEST(AuditLine, OkAndError) {
  EXPECT_EQ(format_audit_line(t0, "stats", args{}, true), "2023-11-14T22:13:20Z stats => ok");
  EXPECT_EQ(format_audit_line(t0, "kick", args{"bob", "being rude"}, true),
            "2023-11-14T22:13:20Z kick bob \"being rude\" => ok");
  EXPECT_EQ(format_audit_line(t0, "unban", args{"carol"}, false, "carol is not banned"),
            "2023-11-14T22:13:20Z unban carol => error \"carol is not banned\"");
  // A command that changes something says what it did.
  EXPECT_EQ(format_audit_line(t0, "ban", args{"bob", "2H rude"}, true,
                              "banned bob until 2023-11-15 00:13:20Z: rude"),
            "2023-11-14T22:13:20Z ban bob \"2H rude\" => ok \"banned bob until 2023-11-15 "
            "00:13:20Z: rude\"");
}

TEST(AuditLine, QuotesAndEscapesEverythingButPlainWords) {
  EXPECT_EQ(format_audit_line(t0, "ban", args{"bob", "2h"}, true),
            "2023-11-14T22:13:20Z ban bob 2h => ok");
  EXPECT_EQ(format_audit_line(t0, "ban", args{"x", ""}, true),
            "2023-11-14T22:13:20Z ban x \"\" => ok");
  EXPECT_EQ(format_audit_line(t0, "kick", args{"bob", "say \"hi\" \\o/"}, true),
            "2023-11-14T22:13:20Z kick bob \"say \\\"hi\\\" \\\\o/\" => ok");
  EXPECT_EQ(format_audit_line(t0, "kick", args{"bob", "=> ok"}, true),
            "2023-11-14T22:13:20Z kick bob \"=> ok\" => ok");
  // Control characters, escape sequences, newlines and non-ASCII become \xNN.
  const auto line =
      format_audit_line(t0, "kick", args{"bob", "a\x1b[2J\nb caf\xc3\xa9"}, false, "x\ny");
  EXPECT_EQ(line,
            "2023-11-14T22:13:20Z kick bob \"a\\x1b[2J\\x0ab caf\\xc3\\xa9\" => error \"x\\x0ay\"");
  for (char c : line) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << static_cast<int>(c);
}

class AuditLog : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "relay-audit-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::owner_all, ec);
    fs::remove_all(dir_, ec);
  }
  static std::string slurp(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path dir_;
};

TEST_F(AuditLog, AppendsLinesAndCreatesTheFilePrivate) {
  const auto path = dir_ / "relay.audit.log";
  {
    audit_log log(path.string());
    EXPECT_FALSE(fs::exists(path));  // nothing opened before first use
    EXPECT_FALSE(log.append("one"));
    EXPECT_FALSE(log.append("two"));
    EXPECT_EQ(slurp(path), "one\ntwo\n");  // on disk at once: no buffer to flush
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A second writer (a restarted relay) appends instead of truncating.
  audit_log again(path.string());
  EXPECT_FALSE(again.open());
  EXPECT_FALSE(again.append("three"));
  EXPECT_EQ(slurp(path), "one\ntwo\nthree\n");
}

// Rotation (the file moved away) or deletion: the next line starts a new file at the path,
// private, instead of going on to the moved file or into an unlinked one (found by a
// black-box operator review: after `mv`, bans were audited in the .1 file, after `rm`
// nowhere).
TEST_F(AuditLog, ARotatedOrDeletedFileIsFollowedByANewOne) {
  const auto path = dir_ / "relay.audit.log";
  audit_log log(path.string());
  EXPECT_FALSE(log.append("one"));
  fs::rename(path, dir_ / "relay.audit.log.1");
  EXPECT_FALSE(log.append("two"));
  EXPECT_EQ(slurp(dir_ / "relay.audit.log.1"), "one\n");
  EXPECT_EQ(slurp(path), "two\n");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  fs::remove(path);
  EXPECT_FALSE(log.append("three"));
  EXPECT_EQ(slurp(path), "three\n");
  EXPECT_FALSE(log.append("four"));
  EXPECT_EQ(slurp(path), "three\nfour\n");
}

TEST_F(AuditLog, FailureIsAnErrorCodeNotAnException) {
  audit_log log((dir_ / "no" / "such" / "dir.log").string());
  const auto ec = log.open();
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory);
  EXPECT_EQ(log.append("x"), std::errc::no_such_file_or_directory);
  // Once the directory exists, the next append opens the file and succeeds.
  fs::create_directories(dir_ / "no" / "such");
  EXPECT_FALSE(log.append("x"));
  EXPECT_EQ(slurp(dir_ / "no" / "such" / "dir.log"), "x\n");
}

TEST_F(AuditLog, FullDiskIsReported) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  audit_log log("/dev/full");
  EXPECT_EQ(log.append("x"), std::errc::no_space_on_device);
}

}  // namespace
}  // namespace relay::console
