// interactive_terminal on a real pseudo-terminal: the test types on the master side, reads what
// the client drew there and replays it on a tiny screen model to see what a person would see.
#include "relay/term/terminal.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/child_wait.hpp"

namespace relay::term {
namespace {

using namespace std::chrono_literals;

/// A pseudo-terminal pair; a thread drains the master so the client's writes never block.
class pty_pair {
 public:
  explicit pty_pair(unsigned short cols = 80) {
    winsize ws{};
    ws.ws_row = 24;
    ws.ws_col = cols;
    if (::openpty(&master_, &slave_, nullptr, nullptr, &ws) != 0)
      throw std::runtime_error("openpty");
  }
  ~pty_pair() {
    stop_reading();
    if (master_ >= 0) ::close(master_);
    ::close(slave_);
  }
  int slave() const { return slave_; }

  void start_reading() {
    reader_ = std::thread([this] {
      char buf[4096];
      while (!stop_) {
        pollfd p{master_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const ssize_t n = ::read(master_, buf, sizeof buf);
        if (n <= 0) break;
        std::lock_guard lock(mutex_);
        output_.append(buf, static_cast<std::size_t>(n));
        changed_.notify_all();
      }
    });
  }
  void stop_reading() {
    stop_ = true;
    if (reader_.joinable()) reader_.join();
  }
  void close_master() {
    stop_reading();
    ::close(master_);
    master_ = -1;
  }

  void type(std::string_view bytes) {
    ASSERT_EQ(::write(master_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  std::string output() {
    std::lock_guard lock(mutex_);
    return output_;
  }
  /// Waits (bounded, only so a broken build fails instead of hanging) until `pred(output)`.
  bool wait_until(const std::function<bool(const std::string&)>& pred) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return pred(output_); });
  }
  bool wait_for(const std::string& text, std::size_t from = 0) {
    return wait_until(
        [&](const std::string& out) { return out.find(text, from) != std::string::npos; });
  }

 private:
  int master_ = -1;
  int slave_ = -1;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string output_;
};

/// Just enough of a terminal to replay our output: text, CR, LF, CSI K and CSI n C.
struct screen {
  std::vector<std::vector<std::string>> rows{1};
  std::size_t row = 0;
  std::size_t col = 0;

  explicit screen(std::string_view bytes) {
    for (std::size_t i = 0; i < bytes.size();) {
      const char c = bytes[i];
      if (c == '\r') {
        col = 0;
        ++i;
      } else if (c == '\n') {
        if (++row == rows.size()) rows.emplace_back();
        ++i;
      } else if (c == '\x1b' && i + 1 < bytes.size() && bytes[i + 1] == '[') {
        std::size_t j = i + 2;
        while (j < bytes.size() && !(bytes[j] >= 0x40 && bytes[j] <= 0x7e)) ++j;
        const std::string params(bytes.substr(i + 2, j - i - 2));
        const char final_byte = j < bytes.size() ? bytes[j] : '\0';
        if (final_byte == 'K' && rows[row].size() > col) rows[row].resize(col);
        if (final_byte == 'C') col += params.empty() ? 1 : std::stoul(params);
        i = j + 1;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        ++i;  // bell and the like
      } else {
        std::size_t n = 1;
        while (i + n < bytes.size() && (static_cast<unsigned char>(bytes[i + n]) & 0xC0) == 0x80)
          ++n;
        if (rows[row].size() <= col) rows[row].resize(col + 1, " ");
        rows[row][col++] = std::string(bytes.substr(i, n));
        i += n;
      }
    }
  }
  std::string text(std::size_t r) const {
    std::string s;
    for (const auto& cell : rows[r]) s += cell;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }
  std::string cursor_row() const { return text(row); }
  std::string dump() const {
    std::string s;
    for (std::size_t r = 0; r < rows.size(); ++r) s += "|" + text(r) + "|\n";
    return s + "cursor at row " + std::to_string(row) + " col " + std::to_string(col);
  }
};

/// next_line() on its own thread, as the client runs it.
struct line_reader_thread {
  std::atomic<bool> stop{false};
  std::future<std::optional<std::string>> result;
  explicit line_reader_thread(interactive_terminal& term)
      : result(std::async(std::launch::async, [&term, this] { return term.next_line(&stop); })) {}
  ~line_reader_thread() { stop = true; }  // as hidden_reader_thread's
  std::optional<std::string> get() {
    if (result.wait_for(10s) != std::future_status::ready) {
      stop = true;
      ADD_FAILURE() << "next_line did not return";
    }
    return result.get();
  }
};

bool same_modes(const termios& a, const termios& b) {
  return a.c_iflag == b.c_iflag && a.c_oflag == b.c_oflag && a.c_cflag == b.c_cflag &&
         a.c_lflag == b.c_lflag &&
         std::equal(std::begin(a.c_cc), std::end(a.c_cc), std::begin(b.c_cc));
}

TEST(InteractiveTerminal, PrintedMessageLeavesTheHalfTypedLineBelowItIntact) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);

  pty.type("bob:hello wor\x1b[D\x1b[D\x1b[C");  // the cursor ends before the 'r'
  ASSERT_TRUE(pty.wait_for("\x1b[14C")) << screen(pty.output()).dump();

  std::thread other([&] { term.print("alice: hi there\n* carol is online"); });
  other.join();
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    const auto at = out.find("carol is online");
    return at != std::string::npos && out.find("\x1b[14C", at) != std::string::npos;
  }));
  {
    const screen s(pty.output());
    ASSERT_GE(s.row, 2u) << s.dump();
    EXPECT_EQ(s.text(s.row - 2), "alice: hi there") << s.dump();
    EXPECT_EQ(s.text(s.row - 1), "* carol is online") << s.dump();
    EXPECT_EQ(s.cursor_row(), "> bob:hello wor") << s.dump();
    EXPECT_EQ(s.col, 14u) << s.dump();  // still before the 'r'
  }

  pty.type("\x05ld\r");
  EXPECT_EQ(reader.get(), "bob:hello world");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    // text() trims the prompt's trailing space.
    return out.rfind("bob:hello world") != std::string::npos && screen(out).cursor_row() == ">";
  }));
  const screen s(pty.output());
  EXPECT_EQ(s.text(s.row - 1), "> bob:hello world") << s.dump();  // stays as typed
  EXPECT_EQ(s.col, 2u) << s.dump();
}

TEST(InteractiveTerminal, LongHalfTypedLineScrollsWithinTheWidth) {
  pty_pair pty(20);
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);
  pty.type("bob:abcdefghijklmnopqrstuvwxyz");
  ASSERT_TRUE(pty.wait_for("xyz"));
  term.print("news");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return out.find("xyz", out.find("news")) != std::string::npos;
  }));
  const screen s(pty.output());
  EXPECT_EQ(s.text(s.row - 1), "news");
  const std::string row = s.cursor_row();
  EXPECT_EQ(row.substr(0, 3), "> <") << s.dump();
  EXPECT_EQ(row.substr(row.size() - 3), "xyz") << s.dump();
  EXPECT_LT(s.rows[s.row].size(), 20u) << s.dump();
  pty.type("\r");
  EXPECT_EQ(reader.get(), "bob:abcdefghijklmnopqrstuvwxyz");
  // What was sent stays on screen whole, wrapped at the width (the next row 2 columns in),
  // not as the scrolled view.
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    const screen now(out);
    return now.row >= 2 && now.text(now.row - 1) == "  opqrstuvwxyz";
  })) << screen(pty.output()).dump();
  const screen after(pty.output());
  EXPECT_EQ(after.text(after.row - 2), "> bob:abcdefghijklmn") << after.dump();
}

TEST(InteractiveTerminal, ASubmittedLineIsLeftWithTheStampInFront) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  term.set_line_stamp([] { return std::string("12:34 "); });
  line_reader_thread reader(term);
  pty.type("bob:hi\r");
  EXPECT_EQ(reader.get(), "bob:hi");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return out.find("bob:hi") != std::string::npos && screen(out).cursor_row() == ">";
  }));
  const screen s(pty.output());
  EXPECT_EQ(s.text(s.row - 1), "12:34 > bob:hi") << s.dump();
  EXPECT_EQ(s.cursor_row(), ">") << s.dump();  // the new prompt has none
}

TEST(InteractiveTerminal, PrintWithAHangWrapsToTheTerminalsWidth) {
  pty_pair pty(40);
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);
  pty.type("draft");
  ASSERT_TRUE(pty.wait_for("draft"));
  const std::string fox = "13:20 bob: the quick brown fox jumps over the lazy dog again and again";
  term.print(fox, 11);
  term.print(fox);  // no hang: as before, one line for the terminal to wrap at column 0
  ASSERT_TRUE(pty.wait_until([&](const std::string& out) {
    return out.find(fox) != std::string::npos && screen(out).cursor_row() == "> draft";
  })) << screen(pty.output()).dump();
  const screen s(pty.output());
  ASSERT_GE(s.row, 4u) << s.dump();
  EXPECT_EQ(s.text(s.row - 4), "13:20 bob: the quick brown fox jumps") << s.dump();
  EXPECT_EQ(s.text(s.row - 3), "           over the lazy dog again and") << s.dump();
  EXPECT_EQ(s.text(s.row - 2), "           again") << s.dump();
  EXPECT_EQ(s.text(s.row - 1), fox) << s.dump();
  reader.stop = true;
  reader.get();
}

TEST(InteractiveTerminal, AnEmptyLineCanLeaveNothingOnScreen) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  term.drop_empty_lines();
  pty.type("\r  \rhi\r");
  std::atomic<bool> stop{false};
  EXPECT_EQ(term.next_line(&stop), "");  // still handed over: the caller decides
  EXPECT_EQ(term.next_line(&stop), "  ");
  EXPECT_EQ(term.next_line(&stop), "hi");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return out.find("hi") != std::string::npos && screen(out).cursor_row() == ">";
  })) << screen(pty.output()).dump();
  const screen s(pty.output());
  ASSERT_EQ(s.row, 1u) << s.dump();  // one row for "> hi", none for the empty lines
  EXPECT_EQ(s.text(0), "> hi") << s.dump();
}

TEST(InteractiveTerminal, InputPastALinesLimitIsRefusedWithANote) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  term.set_line_stamp([] { return std::string("12:34 "); });
  term.limit_lines(10, "! too long");
  {
    line_reader_thread reader(term);
    pty.type("\x1b[200~0123456789abc\x1b[201~");  // a paste past the limit: refused whole
    ASSERT_TRUE(pty.wait_for("! too long")) << screen(pty.output()).dump();
    pty.type("bob:hi\r");
    EXPECT_EQ(reader.get(), "bob:hi");
  }
  line_reader_thread reader(term);
  pty.type("bob:abcdefgh\r");  // typed: the keys past the limit are refused
  EXPECT_EQ(reader.get(), "bob:abcdef");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return out.find("> bob:abcdef") != std::string::npos && screen(out).cursor_row() == ">";
  })) << screen(pty.output()).dump();
  const screen s(pty.output());
  EXPECT_EQ(s.text(0), "12:34 ! too long") << s.dump();
  EXPECT_EQ(s.text(1), "12:34 > bob:hi") << s.dump();
  // Refused again within 2 s: the bell only (a long paste is refused read by read).
  EXPECT_EQ(s.text(2), "12:34 > bob:abcdef") << s.dump();
  EXPECT_EQ(s.text(3), ">") << s.dump();
  EXPECT_EQ(s.cursor_row(), ">") << s.dump();
}

TEST(InteractiveTerminal, APastesLineBreaksCanBeLeftAsRowsUnderAMarker) {
  pty_pair pty(30);
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  term.set_line_stamp([] { return std::string("12:34 "); });
  term.set_line_break_marker("  | ");
  line_reader_thread reader(term);
  pty.type("\x1b[200~bob:one\ntwo is long enough to wrap here\n\nfour\n\x1b[201~\r");
  EXPECT_EQ(reader.get(), "bob:one\ntwo is long enough to wrap here\n\nfour\n");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return out.find("four") != std::string::npos && screen(out).cursor_row() == ">";
  })) << screen(pty.output()).dump();
  const screen s(pty.output());
  EXPECT_EQ(s.text(0), "12:34 > bob:one") << s.dump();
  EXPECT_EQ(s.text(1), "        | two is long enough") << s.dump();
  EXPECT_EQ(s.text(2), "          to wrap here") << s.dump();
  EXPECT_EQ(s.text(3), "        |") << s.dump();
  EXPECT_EQ(s.text(4), "        | four") << s.dump();
  EXPECT_EQ(s.text(5), ">") << s.dump();  // no row for the break at the end: it is not sent
  EXPECT_EQ(s.cursor_row(), ">") << s.dump();
}

TEST(InteractiveTerminal, BracketedPasteOfTwoLinesIsOneLine) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  ASSERT_TRUE(pty.wait_for("\x1b[?2004h"));  // bracketed paste enabled
  line_reader_thread reader(term);
  pty.type("bob:\x1b[200~first line\r\nsecond line\x1b[201~");
  ASSERT_TRUE(pty.wait_for("second line"));
  EXPECT_EQ(screen(pty.output()).cursor_row(), "> bob:first line\u23cesecond line");
  pty.type("\r");
  EXPECT_EQ(reader.get(), "bob:first line\nsecond line");
}

TEST(InteractiveTerminal, SeveralLinesInOneReadAreReturnedInOrder) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  pty.type("one\rtwo\r");
  std::atomic<bool> stop{false};
  EXPECT_EQ(term.next_line(&stop), "one");
  EXPECT_EQ(term.next_line(&stop), "two");
}

/// next_hidden_line() on its own thread, as the client's /password runs it.
struct hidden_reader_thread {
  std::atomic<bool> stop{false};
  std::future<std::optional<std::string>> result;
  hidden_reader_thread(interactive_terminal& term, std::string prompt)
      : result(std::async(std::launch::async,
                          [&term, this, prompt] { return term.next_hidden_line(prompt, &stop); })) {
  }
  // A test that fails before get() ends the read, rather than waiting on it for ever.
  ~hidden_reader_thread() { stop = true; }
  std::optional<std::string> get() {
    if (result.wait_for(10s) != std::future_status::ready) {
      stop = true;
      ADD_FAILURE() << "next_hidden_line did not return";
    }
    return result.get();
  }
};

// A password typed key by key, edited, with chat messages printed meanwhile from another
// thread: none of it reaches the terminal, only the prompt, left without a stamp.
TEST(InteractiveTerminal, AHiddenLineNeverReachesTheScreen) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ", interactive_terminal::ctrl_c::key);
  term.set_line_stamp([] { return std::string("12:34 "); });
  term.set_candidates({"hunter2hunter2"});
  term.set_line_break_marker("  | ");
  line_reader_thread command(term);
  pty.type("/password\r");
  ASSERT_EQ(command.get(), "/password");
  hidden_reader_thread reader(term, "Password: ");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return screen(out).cursor_row() == "Password:";
  })) << screen(pty.output()).dump();
  int printed = 0;
  const auto type_and_print = [&](std::string_view keys) {
    pty.type(keys);
    const std::string message = "bob: message " + std::to_string(++printed);
    std::thread other([&] { term.print(message); });
    other.join();
    ASSERT_TRUE(pty.wait_for(message)) << screen(pty.output()).dump();
  };
  for (const char c : std::string("hunter")) type_and_print(std::string(1, c));
  type_and_print("x\x7f");                    // Backspace
  type_and_print("\t");                       // Tab: no completion
  type_and_print("\x1b[A");                   // Up: no history
  type_and_print("\x1b[200~2\r\n\x1b[201~");  // a paste, its line break dropped
  type_and_print(" junk\x17\x7f");            // Ctrl-W, Backspace
  type_and_print("\x1b[D\x1b[C");             // moving shows nothing either
  ASSERT_TRUE(pty.wait_until([&](const std::string& out) {
    const screen sc(out);
    return sc.cursor_row() == "Password:" && sc.col == 10;
  })) << screen(pty.output()).dump();
  pty.type("\r");
  EXPECT_EQ(reader.get(), "hunter2");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return screen(out).cursor_row() == ">";
  })) << screen(pty.output()).dump();
  const std::string out = pty.output();
  for (const std::string_view secret : {"hunter", "unter", "junk", "hunter2hunter2", "*"}) {
    EXPECT_EQ(out.find(secret), std::string::npos) << secret << " in " << out;
  }
  const screen s(out);
  EXPECT_EQ(s.text(0), "12:34 > /password") << s.dump();
  EXPECT_EQ(s.text(s.row - 1), "Password:") << s.dump();  // no stamp, nothing after it
  EXPECT_EQ(s.cursor_row(), ">") << s.dump();
}

// Up after a password brings back the line before it, not the password.
TEST(InteractiveTerminal, AHiddenLineIsNotInHistory) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ", interactive_terminal::ctrl_c::key);
  pty.type("/password\r");
  ASSERT_EQ(line_reader_thread(term).get(), "/password");
  pty.type("secret\r");
  ASSERT_EQ(hidden_reader_thread(term, "Password: ").get(), "secret");
  pty.type("\x1b[A\r");
  EXPECT_EQ(line_reader_thread(term).get(), "/password");
  pty.type("\x1b[A\x1b[A\x1b[A\r");
  EXPECT_EQ(line_reader_thread(term).get(), "/password");
  EXPECT_EQ(pty.output().find("secret"), std::string::npos) << pty.output();
}

// Pasted (or typed ahead) without bracketed paste, in one write: next_line() reads only the
// command; what follows is read by the call after, here hidden, so it is never echoed.
TEST(InteractiveTerminal, APasswordThatCameWithTheCommandIsReadHidden) {
  for (const std::string enter : {"\n", "\r", "\r\n"}) {
    pty_pair pty;
    pty.start_reading();
    interactive_terminal term(pty.slave(), pty.slave(), "> ");
    pty.type("/password" + enter + "secret" + enter + "new one" + enter + "after" + enter);
    // A read that takes the whole write (the test cannot otherwise make sure of it).
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(line_reader_thread(term).get(), "/password");
    EXPECT_EQ(hidden_reader_thread(term, "Current password: ").get(), "secret");
    EXPECT_EQ(hidden_reader_thread(term, "New password: ").get(), "new one");
    EXPECT_EQ(line_reader_thread(term).get(), "after");
    ASSERT_TRUE(pty.wait_until([](const std::string& out) {
      return out.find("> after") != std::string::npos && screen(out).cursor_row() == ">";
    })) << screen(pty.output()).dump();
    const std::string out = pty.output();
    EXPECT_EQ(out.find("secret"), std::string::npos) << out;
    EXPECT_EQ(out.find("new one"), std::string::npos) << out;
    const screen s(out);
    ASSERT_EQ(s.row, 4u) << s.dump();
    EXPECT_EQ(s.text(0), "> /password") << s.dump();
    EXPECT_EQ(s.text(1), "Current password:") << s.dump();
    EXPECT_EQ(s.text(2), "New password:") << s.dump();
    EXPECT_EQ(s.text(3), "> after") << s.dump();
  }
}

TEST(InteractiveTerminal, CtrlCCancelsAHiddenLineAndReadingGoesOn) {
  for (const auto mode :
       {interactive_terminal::ctrl_c::key, interactive_terminal::ctrl_c::line_or_signal}) {
    pty_pair pty;
    pty.start_reading();
    interactive_terminal term(pty.slave(), pty.slave(), "> ", mode);
    term.set_discard_note("* dropped");
    pty.type("secret\x03");
    EXPECT_EQ(hidden_reader_thread(term, "Password: ").get(), std::nullopt);
    pty.type("\x03");  // on an empty hidden line too (no SIGINT, no end of input)
    EXPECT_EQ(hidden_reader_thread(term, "Password: ").get(), std::nullopt);
    pty.type("hi\r");
    EXPECT_EQ(line_reader_thread(term).get(), "hi");
    ASSERT_TRUE(pty.wait_for("> hi")) << pty.output();
    const std::string out = pty.output();
    EXPECT_EQ(out.find("secret"), std::string::npos) << out;
    EXPECT_EQ(out.find("* dropped"), std::string::npos) << out;  // nothing was kept
    const screen s(out);
    ASSERT_EQ(s.row, 3u) << s.dump();
    EXPECT_EQ(s.text(0), "Password: ^C") << s.dump();
    EXPECT_EQ(s.text(1), "Password: ^C") << s.dump();
    EXPECT_EQ(s.text(2), "> hi") << s.dump();
  }
}

TEST(InteractiveTerminal, CtrlDCancelsAHiddenLine) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  term.ignore_eof_key("use /quit");  // not a way out of the chat, but still out of a password
  pty.type("secret\x01\x04");        // Ctrl-D at the start: not a delete here
  EXPECT_EQ(hidden_reader_thread(term, "Password: ").get(), std::nullopt);
  pty.type("x\r");
  EXPECT_EQ(line_reader_thread(term).get(), "x");
  ASSERT_TRUE(pty.wait_for("> x")) << pty.output();
  const std::string out = pty.output();
  EXPECT_EQ(out.find("ecret"), std::string::npos) << out;
  EXPECT_EQ(out.find("use /quit"), std::string::npos) << out;
  EXPECT_EQ(screen(out).text(0), "Password: ^D") << screen(out).dump();
}

// A half-typed line (next_line stopped) is put aside while a password is typed, and back after.
TEST(InteractiveTerminal, TheOrdinaryLineComesBackAfterAHiddenOne) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  {
    line_reader_thread reader(term);
    pty.type("half");
    ASSERT_TRUE(pty.wait_for("> half"));
    reader.stop = true;
    ASSERT_EQ(reader.get(), std::nullopt);
  }
  hidden_reader_thread hidden(term, "Password: ");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return screen(out).cursor_row() == "Password:";
  })) << screen(pty.output()).dump();
  pty.type("pw");
  term.print("news");
  ASSERT_TRUE(pty.wait_for("news"));
  EXPECT_EQ(term.draft(), "half");  // the ordinary line, never the hidden one
  EXPECT_EQ(screen(pty.output()).cursor_row(), "Password:") << screen(pty.output()).dump();
  pty.type("\r");
  EXPECT_EQ(hidden.get(), "pw");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return screen(out).cursor_row() == "> half";
  })) << screen(pty.output()).dump();
  line_reader_thread reader(term);
  pty.type("way\r");
  EXPECT_EQ(reader.get(), "halfway");
}

TEST(InteractiveTerminal, CtrlDOnAnEmptyLineEndsInput) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);
  pty.type("ab\x01\x04");  // not empty: deletes the 'a'
  ASSERT_TRUE(
      pty.wait_until([](const std::string& out) { return screen(out).cursor_row() == "> b"; }));
  pty.type("\x04\x04");  // deletes the 'b', then ends input
  EXPECT_EQ(reader.get(), std::nullopt);
}

TEST(InteractiveTerminal, EndOfInputEndsInput) {
  pty_pair pty;
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  pty.close_master();  // the terminal hangs up
  std::atomic<bool> stop{false};
  EXPECT_EQ(term.next_line(&stop), std::nullopt);
}

TEST(InteractiveTerminal, StopFlagEndsNextLine) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);
  pty.type("half");
  ASSERT_TRUE(pty.wait_for("half"));
  reader.stop = true;
  EXPECT_EQ(reader.get(), std::nullopt);
}

TEST(InteractiveTerminal, TabCompletesCandidatesAndListsThem) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  term.set_candidates({"bob", "bobby", "alice"});
  line_reader_thread reader(term);
  pty.type("al\t");
  ASSERT_TRUE(pty.wait_for("alice:"));
  pty.type("hi bo\t\t");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return out.find("bob bobby") != std::string::npos &&
           screen(out).cursor_row() == "> alice:hi bob";
  })) << screen(pty.output()).dump();
  const screen s(pty.output());
  EXPECT_EQ(s.text(s.row - 1), "bob bobby") << s.dump();
  EXPECT_EQ(s.cursor_row(), "> alice:hi bob") << s.dump();
  pty.type("\r");
  EXPECT_EQ(reader.get(), "alice:hi bob");
}

// Review 10: a long list wrapped where the terminal cut it, in the middle of a name and at
// column 0. It breaks between names now, later rows two columns in.
TEST(InteractiveTerminal, ALongListOfCandidatesBreaksBetweenNames) {
  pty_pair pty(40);
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  std::vector<std::string> names;
  for (int i = 10; i < 30; ++i) names.push_back("user" + std::to_string(i));
  term.set_candidates(names);
  line_reader_thread reader(term);
  pty.type("user\t\t");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    return out.find("user29") != std::string::npos && screen(out).cursor_row() == "> user";
  })) << screen(pty.output()).dump();
  const screen s(pty.output());
  // 20 names of 6 columns and a space: 5 on the first row (34 columns), then 5 a row.
  ASSERT_GE(s.row, 4U) << s.dump();
  EXPECT_EQ(s.text(s.row - 4), "user10 user11 user12 user13 user14") << s.dump();
  EXPECT_EQ(s.text(s.row - 3), "  user15 user16 user17 user18 user19") << s.dump();
  EXPECT_EQ(s.text(s.row - 1), "  user25 user26 user27 user28 user29") << s.dump();
  pty.type("\x15q!\r");
  EXPECT_EQ(reader.get(), "q!");
}

// The console asks for names when Tab is pressed: a name added since the last Tab is there.
TEST(InteractiveTerminal, ACandidateSourceIsAskedAtEachTab) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "relay> ");
  term.set_commands({"ban", "kick"});
  term.set_bare_commands(true);
  std::atomic<int> asked{0};
  std::vector<std::string> names{"alice"};
  std::mutex m;
  term.set_candidate_source([&] {
    ++asked;
    std::lock_guard lock(m);
    return names;
  });
  line_reader_thread reader(term);
  pty.type("ki\tal\t");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    const screen sc(out);
    return sc.cursor_row() == "relay> kick alice" && sc.col == 18;  // after the space
  })) << screen(pty.output()).dump();
  pty.type("\r");
  EXPECT_EQ(reader.get(), "kick alice ");
  {
    std::lock_guard lock(m);
    names.push_back("zoe");  // signed up meanwhile
  }
  line_reader_thread second(term);
  pty.type("ban z\t\r");
  EXPECT_EQ(second.get(), "ban zoe ");
  EXPECT_GE(asked.load(), 2);
}

TEST(InteractiveTerminal, CtrlLClearsTheScreenAndRedrawsTheLineAtTheTop) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);
  pty.type("half");
  ASSERT_TRUE(pty.wait_for("half"));
  pty.type("\x0c");
  ASSERT_TRUE(pty.wait_until([](const std::string& out) {
    const auto clear = out.find("\x1b[H\x1b[2J");
    return clear != std::string::npos && out.find("> half", clear) != std::string::npos;
  })) << pty.output();
  pty.type(" done\r");
  EXPECT_EQ(reader.get(), "half done");
}

TEST(InteractiveTerminal, SetPromptRedraws) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);
  pty.type("draft");
  ASSERT_TRUE(pty.wait_for("draft"));
  term.set_prompt("alice> ");
  ASSERT_TRUE(pty.wait_for("alice> draft"));
  EXPECT_EQ(screen(pty.output()).cursor_row(), "alice> draft");
  reader.stop = true;
  reader.get();
}

TEST(InteractiveTerminal, ModesAreSetAndRestored) {
  pty_pair pty;
  pty.start_reading();
  termios before{};
  ASSERT_EQ(::tcgetattr(pty.slave(), &before), 0);
  {
    interactive_terminal term(pty.slave(), pty.slave(), "> ");
    termios during{};
    ASSERT_EQ(::tcgetattr(pty.slave(), &during), 0);
    EXPECT_EQ(during.c_lflag & ICANON, 0u);
    EXPECT_EQ(during.c_lflag & ECHO, 0u);
    EXPECT_NE(during.c_lflag & ISIG, 0u);  // Ctrl-C still raises SIGINT
    EXPECT_NE(during.c_oflag & OPOST, 0u);
    EXPECT_EQ(during.c_cc[VQUIT], _POSIX_VDISABLE);  // Ctrl-\ does not kill us
    EXPECT_NE(during.c_cc[VSUSP], _POSIX_VDISABLE);  // Ctrl-Z still suspends, by default
    term.ignore_suspend_key();
    ASSERT_EQ(::tcgetattr(pty.slave(), &during), 0);
    EXPECT_EQ(during.c_cc[VSUSP], _POSIX_VDISABLE);
  }
  termios after{};
  ASSERT_EQ(::tcgetattr(pty.slave(), &after), 0);
  EXPECT_TRUE(same_modes(before, after));
  ASSERT_TRUE(pty.wait_for("\x1b[?2004l"));
  const std::string out = pty.output();
  EXPECT_LT(out.find("\x1b[?2004h"), out.find("\x1b[?2004l"));
}

TEST(InteractiveTerminal, ModesTheShellPutBackAfterAStopAreMadeOursAgain) {
  pty_pair pty;
  pty.start_reading();
  termios before{};
  ASSERT_EQ(::tcgetattr(pty.slave(), &before), 0);
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  line_reader_thread reader(term);
  pty.type("half");
  ASSERT_TRUE(pty.wait_for("> half"));
  // What a shell does when the stopped client is put back with `fg`: its own cooked modes.
  ASSERT_EQ(::tcsetattr(pty.slave(), TCSADRAIN, &before), 0);
  const std::size_t seen = pty.output().size();
  ASSERT_TRUE(pty.wait_until([&](const std::string& out) {
    termios now{};
    return ::tcgetattr(pty.slave(), &now) == 0 && (now.c_lflag & (ICANON | ECHO)) == 0 &&
           out.find("> half", seen) != std::string::npos;  // and the line redrawn
  })) << screen(pty.output()).dump();
  pty.type("way\r");
  EXPECT_EQ(reader.get(), "halfway");
}

// From a black-box review: half a password typed before Ctrl-Z stayed, unseen, in front of
// what was typed after `fg`. It is dropped when the modes come back, and said.
TEST(InteractiveTerminal, AHiddenLineHalfTypedBeforeAStopIsDropped) {
  pty_pair pty;
  pty.start_reading();
  termios before{};
  ASSERT_EQ(::tcgetattr(pty.slave(), &before), 0);
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  hidden_reader_thread hidden(term, "Password: ");
  pty.type("half");
  // Read by the terminal (nothing left in the tty's queue; it feeds what it read before it
  // looks at the modes again): nothing on screen says so, by design.
  ASSERT_TRUE(pty.wait_until([&](const std::string& out) {
    int unread = -1;
    return screen(out).cursor_row() == "Password:" &&
           ::ioctl(pty.slave(), FIONREAD, &unread) == 0 && unread == 0;
  })) << screen(pty.output()).dump();
  ASSERT_EQ(::tcsetattr(pty.slave(), TCSADRAIN, &before), 0);  // the shell, after `fg`
  ASSERT_TRUE(pty.wait_for("(stopped: what was typed here is dropped; type it again)"))
      << screen(pty.output()).dump();
  pty.type("whole\r");
  EXPECT_EQ(hidden.get(), "whole");
  EXPECT_EQ(pty.output().find("half"), std::string::npos);
}

// The chat's mode: Ctrl-C is a key, so it is read after what was typed before it, drops that
// line (left on screen with ^C, the note shown once) and on an empty line ends input.
TEST(InteractiveTerminal, CtrlCAsAKeyDropsTheLineThenEndsInput) {
  pty_pair pty;
  pty.start_reading();
  termios before{};
  ASSERT_EQ(::tcgetattr(pty.slave(), &before), 0);
  {
    interactive_terminal term(pty.slave(), pty.slave(), "> ", interactive_terminal::ctrl_c::key);
    term.set_discard_note("* dropped");
    termios during{};
    ASSERT_EQ(::tcgetattr(pty.slave(), &during), 0);
    EXPECT_EQ(during.c_cc[VINTR], _POSIX_VDISABLE);
    EXPECT_NE(during.c_lflag & ISIG, 0u);  // Ctrl-Z and Ctrl-\ are still signals
    line_reader_thread reader(term);
    pty.type("half a line\x03");  // one write: a signal would have found the line empty
    ASSERT_TRUE(pty.wait_for("* dropped")) << pty.output();
    pty.type("again\x03\x1b[A\r");
    EXPECT_EQ(reader.get(), "again");  // Up brought back the line dropped last
    ASSERT_TRUE(pty.wait_for("> again^C")) << pty.output();
    const std::string out = pty.output();
    EXPECT_NE(out.find("> half a line^C"), std::string::npos) << out;
    EXPECT_NE(out.find("> again^C"), std::string::npos) << out;
    EXPECT_EQ(out.find("* dropped"), out.rfind("* dropped")) << "the note is shown once";
    line_reader_thread last(term);
    pty.type("\x03");
    EXPECT_EQ(last.get(), std::nullopt);  // on an empty line: end of input, as Ctrl-D
  }
  termios after{};
  ASSERT_EQ(::tcgetattr(pty.slave(), &after), 0);
  EXPECT_TRUE(same_modes(before, after));
  EXPECT_NE(after.c_cc[VINTR], _POSIX_VDISABLE);
}

// From a black-box review: at 50 columns the note after a dropped line broke at column 0 in
// the middle of a word. It wraps under its text, as notices do.
TEST(InteractiveTerminal, TheNoteAfterADroppedLineWrapsUnderItsText) {
  pty_pair pty(30);
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ", interactive_terminal::ctrl_c::key);
  term.set_discard_note("* line dropped (Up brings it back); Ctrl-C leaves");
  line_reader_thread reader(term);
  pty.type("half\x03");
  ASSERT_TRUE(pty.wait_for("leaves")) << pty.output();
  std::string out = pty.output();
  std::erase(out, '\r');
  EXPECT_NE(out.find("* line dropped (Up brings it\n  back); Ctrl-C leaves"), std::string::npos)
      << pty.output();
  pty.type("\x03");
  EXPECT_EQ(reader.get(), std::nullopt);
}

volatile std::sig_atomic_t sigints = 0;
extern "C" void count_sigint(int) { sigints = sigints + 1; }

// The relay's console: Ctrl-C drops a half-typed command without stopping the relay; on an
// empty line it is SIGINT, which stops it.
TEST(InteractiveTerminal, CtrlCDropsAHalfTypedLineAndOnAnEmptyLineRaisesSigint) {
  struct sigaction counting {
  }, before{};
  counting.sa_handler = count_sigint;
  sigemptyset(&counting.sa_mask);
  ASSERT_EQ(::sigaction(SIGINT, &counting, &before), 0);
  sigints = 0;
  pty_pair pty;
  pty.start_reading();
  {
    interactive_terminal term(pty.slave(), pty.slave(), "relay> ",
                              interactive_terminal::ctrl_c::line_or_signal);
    termios during{};
    ASSERT_EQ(::tcgetattr(pty.slave(), &during), 0);
    EXPECT_EQ(during.c_cc[VINTR], _POSIX_VDISABLE);  // the kernel would flush the typed line
    line_reader_thread reader(term);
    pty.type("delete bob\x03");
    ASSERT_TRUE(pty.wait_for("relay> delete bob^C")) << pty.output();
    EXPECT_EQ(sigints, 0) << "a half-typed command is only dropped";
    pty.type("\x03");
    for (int i = 0; i < 200 && sigints == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    EXPECT_EQ(sigints, 1) << "on an empty line Ctrl-C is SIGINT";
    pty.type("help\r");
    EXPECT_EQ(reader.get(), "help");  // still reading: what SIGINT does is the handler's
  }
  ::sigaction(SIGINT, &before, nullptr);
}

// The relay's console: Ctrl-D on an empty line shows a note and reading goes on.
TEST(InteractiveTerminal, AnIgnoredEofKeyShowsTheNoteAndKeepsReading) {
  pty_pair pty;
  pty.start_reading();
  interactive_terminal term(pty.slave(), pty.slave(), "> ");
  term.ignore_eof_key("use quit");
  line_reader_thread reader(term);
  pty.type("\x04");
  ASSERT_TRUE(pty.wait_for("use quit")) << pty.output();
  pty.type("quit\r");
  EXPECT_EQ(reader.get(), "quit");
}

TEST(InteractiveTerminal, FatalSignalRestoresModesBeforeTheProcessDies) {
  for (const int sig : {SIGTERM, SIGHUP, SIGINT}) {
    pty_pair pty;  // no reader thread yet: fork() with only this thread running
    termios before{};
    ASSERT_EQ(::tcgetattr(pty.slave(), &before), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::signal(sig, SIG_DFL);
      interactive_terminal term(pty.slave(), pty.slave(), "> ");
      ::raise(sig);
      ::_exit(3);  // not reached: the default action ends the process
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "signal " << sig << " status " << status;
    EXPECT_EQ(WTERMSIG(status), sig);
    termios after{};
    ASSERT_EQ(::tcgetattr(pty.slave(), &after), 0);
    EXPECT_TRUE(same_modes(before, after)) << "signal " << sig;
  }
}

void client_handler(int) {}

TEST(InteractiveTerminal, ClientSignalHandlersAreLeftAlone) {
  pty_pair pty;
  pty.start_reading();
  struct sigaction saved {};
  ::sigaction(SIGHUP, nullptr, &saved);
  ::signal(SIGHUP, client_handler);  // installed before the terminal
  {
    interactive_terminal term(pty.slave(), pty.slave(), "> ");
    struct sigaction now {};
    ::sigaction(SIGHUP, nullptr, &now);
    EXPECT_EQ(now.sa_handler, client_handler);
    ::signal(SIGTERM, client_handler);  // installed after the terminal: replaces the fallback
  }
  struct sigaction now {};
  ::sigaction(SIGTERM, nullptr, &now);
  EXPECT_EQ(now.sa_handler, client_handler);
  ::sigaction(SIGINT, nullptr, &now);
  EXPECT_EQ(now.sa_handler, SIG_DFL);  // the fallback is gone with the terminal
  ::signal(SIGTERM, SIG_DFL);
  ::sigaction(SIGHUP, &saved, nullptr);
}

TEST(InteractiveTerminal, AvailableOnlyOnTwoTerminalsWithAUsableTerm) {
  pty_pair pty;
  const char* old = std::getenv("TERM");
  const std::string saved = old ? old : "";
  ::setenv("TERM", "xterm-256color", 1);
  EXPECT_TRUE(interactive_terminal_available(pty.slave(), pty.slave()));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  EXPECT_FALSE(interactive_terminal_available(fds[0], pty.slave()));
  EXPECT_FALSE(interactive_terminal_available(pty.slave(), fds[1]));
  ::close(fds[0]);
  ::close(fds[1]);
  ::setenv("TERM", "dumb", 1);
  EXPECT_FALSE(interactive_terminal_available(pty.slave(), pty.slave()));
  ::unsetenv("TERM");
  EXPECT_FALSE(interactive_terminal_available(pty.slave(), pty.slave()));
  if (old) ::setenv("TERM", saved.c_str(), 1);
}

// From a black-box review: a relay put in the background by its shell (an outside SIGSTOP,
// then SIGCONT) set its terminal's modes or read a key from there, and the kernel stopped it
// (SIGTTOU, SIGTTIN) for everyone until `fg`. The editor now waits for the foreground.
//
// A session on a new pty: the reader starts the editor in the foreground, the leader takes
// the foreground back, a line is typed, and only once the leader hands the terminal back is
// it read.
TEST(InteractiveTerminal, WhatIsTypedWhileInTheBackgroundWaitsForTheForeground) {
  int master = -1, slave = -1;
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, nullptr), 0);
  const std::string slave_name = ::ttyname(slave);
  ::close(slave);
  int told[2];  // the leader tells the test when the reader is in the background
  ASSERT_EQ(::pipe(told), 0);
  const pid_t leader = ::fork();
  ASSERT_GE(leader, 0);
  if (leader == 0) {
    ::setsid();
    const int tty = ::open(slave_name.c_str(), O_RDWR);
    if (tty < 0 || ::ioctl(tty, TIOCSCTTY, 0) != 0) ::_exit(10);
    int ready[2];
    if (::pipe(ready) != 0) ::_exit(11);
    const pid_t reader = ::fork();
    if (reader == 0) {
      ::setpgid(0, 0);
      while (::tcgetpgrp(tty) != ::getpgrp()) ::usleep(1000);  // the leader's `fg`
      interactive_terminal term(tty, tty, "> ");
      (void)!::write(ready[1], "r", 1);
      const auto line = term.next_line(nullptr);
      ::_exit(line && *line == "typed in the background" ? 0 : 13);
    }
    ::setpgid(reader, reader);
    if (::tcsetpgrp(tty, reader) != 0) ::_exit(12);
    char r = 0;
    if (::read(ready[0], &r, 1) != 1) ::_exit(18);
    ::signal(SIGTTOU, SIG_IGN);  // taking the terminal back from the background
    if (::tcsetpgrp(tty, ::getpgrp()) != 0) ::_exit(16);
    (void)!::write(told[1], "b", 1);  // the test types now
    if (const auto early = test::wait_status(reader, 600ms, WUNTRACED)) {
      ::kill(reader, SIGKILL);
      ::_exit(WIFSTOPPED(*early) ? 14 : 15);
    }
    if (::tcsetpgrp(tty, reader) != 0) ::_exit(17);
    ::_exit(test::exited_cleanly(test::wait_or_kill(reader, 5000ms)) ? 0 : 19);
  }
  // Drain what the editor draws; type the line once the reader is in the background.
  std::atomic<bool> done{false};
  std::thread drain([&] {
    char buf[4096];
    while (!done) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0 && ::read(master, buf, sizeof buf) <= 0) break;
    }
  });
  char b = 0;
  EXPECT_EQ(::read(told[0], &b, 1), 1);  // 0: the leader ended early (its code says why)
  const std::string typed = "typed in the background\r";
  EXPECT_EQ(::write(master, typed.data(), typed.size()), static_cast<ssize_t>(typed.size()));
  const auto status = test::wait_or_kill(leader, 10000ms);
  done = true;
  drain.join();
  ::close(master);
  ::close(told[0]);
  ::close(told[1]);
  ASSERT_TRUE(status && WIFEXITED(*status)) << "the session did not end";
  // 14: the reader was stopped (SIGTTIN or SIGTTOU); 15: it read in the background.
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

}  // namespace
}  // namespace relay::term
