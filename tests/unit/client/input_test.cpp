#include "relay/client/input.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "relay/client/ui.hpp"

namespace relay::client {
namespace {

send_line as_send(const input& in) {
  if (auto* e = std::get_if<input_error>(&in)) ADD_FAILURE() << e->message;
  return std::get<send_line>(in);
}

TEST(Input, SplitsAtTheFirstColon) {
  auto s = as_send(parse_input("bob:hello there"));
  EXPECT_EQ(s.to, "bob");
  EXPECT_EQ(s.text, "hello there");
  s = as_send(parse_input("bob:see you at 10:30: ok"));
  EXPECT_EQ(s.text, "see you at 10:30: ok");
  s = as_send(parse_input("bob: spaced\r\n"));
  EXPECT_EQ(s.text, "spaced");
}

// A link alone is not "send //example.com to https" (it said "https is not online"); a link
// after a name is a message like any other.
TEST(Input, ALinkAloneIsNotAMessageToItsScheme) {
  const auto e = parse_input("https://example.com/page");
  ASSERT_TRUE(std::holds_alternative<input_error>(e));
  EXPECT_EQ(std::get<input_error>(e).message,
            "that is a link, not NAME:MESSAGE: to send it type NAME:https://example.com/page");
  EXPECT_EQ(as_send(parse_input("bob:https://example.com/page")).text, "https://example.com/page");
  EXPECT_EQ(as_send(parse_input("bob: http://x")).text, "http://x");
}

TEST(Input, OneSpaceAfterTheColonSeparatesAndTheRestIsTheMessages) {
  EXPECT_EQ(as_send(parse_input("bob:  indented")).text, " indented");
  EXPECT_EQ(as_send(parse_input("bob:\t\tcode")).text, "\tcode");
  EXPECT_EQ(as_send(parse_input("bob:    def f():\n        return 1")).text,
            "   def f():\n        return 1");
  EXPECT_EQ(as_send(parse_input("/msg bob   three")).text, "  three");
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("bob: \t ")));
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/msg bob    ")));
}

TEST(Input, MsgCommand) {
  auto s = as_send(parse_input("/msg bob hi: there"));
  EXPECT_EQ(s.to, "bob");
  EXPECT_EQ(s.text, "hi: there");
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/msg bob")));
}

TEST(Input, Commands) {
  EXPECT_TRUE(std::holds_alternative<quit_line>(parse_input("q!")));
  EXPECT_TRUE(std::holds_alternative<quit_line>(parse_input("/quit")));
  EXPECT_TRUE(std::holds_alternative<help_line>(parse_input("/help")));
  EXPECT_TRUE(std::holds_alternative<who_line>(parse_input("/who")));
  EXPECT_TRUE(std::holds_alternative<empty_line>(parse_input("   ")));
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/frobnicate")));
}

// Review 13: a script's stderr said how to send a message but not which line did not go.
TEST(Input, ALineWithoutAColonIsNamedInItsRefusal) {
  const auto e = parse_input("  no colon line ");
  ASSERT_TRUE(std::holds_alternative<input_error>(e));
  EXPECT_EQ(std::get<input_error>(e).message,
            "not sent: \"no colon line\" (to send a message type NAME:MESSAGE, or /help)");
  const auto hostile = parse_input("a\x1b[2J" + std::string(100, 'x'));
  ASSERT_TRUE(std::holds_alternative<input_error>(hostile));
  EXPECT_EQ(std::get<input_error>(hostile).message.find('\x1b'), std::string::npos);
}

TEST(Input, TypedNamesAreTrimmedAndLowered) {
  EXPECT_EQ(typed_name("  Bob \t"), "bob");
  EXPECT_EQ(typed_name("ALICE.b-2"), "alice.b-2");
  EXPECT_EQ(typed_name("   "), "");
  EXPECT_EQ(typed_name("bad name"), "bad name");  // inner blanks stay: valid_name refuses it
}

TEST(Input, ErrorsShowWhatWasTypedInertly) {
  const auto bad = parse_input("hello there\nworld 15:31 carol: x");
  ASSERT_TRUE(std::holds_alternative<input_error>(bad));
  const auto& message = std::get<input_error>(bad).message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("'hello there^Jworld 15'"), std::string::npos) << message;
  const auto cmd = parse_input("/\x1b[2Jx");
  ASSERT_TRUE(std::holds_alternative<input_error>(cmd));
  EXPECT_EQ(std::get<input_error>(cmd).message.find('\x1b'), std::string::npos);
}

TEST(Input, CommandsInAnyCaseAndUsageForStrayArguments) {
  EXPECT_TRUE(std::holds_alternative<who_line>(parse_input("/WHO")));
  EXPECT_TRUE(std::holds_alternative<quit_line>(parse_input("/Quit")));
  const auto msg = parse_input("/MSG bob Hello There");
  ASSERT_TRUE(std::holds_alternative<send_line>(msg));
  EXPECT_EQ(std::get<send_line>(msg).text, "Hello There");  // only the command word is lowered
  const auto verify = parse_input("/Verify Bob CONFIRM");   // in any case, as the command
  ASSERT_TRUE(std::holds_alternative<verify_line>(verify));
  EXPECT_TRUE(std::get<verify_line>(verify).confirm);
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/verify bob confirmed")));
  for (const char* line : {"/who all", "/help me", "/quit now", "/q\tx"}) {
    const auto in = parse_input(line);
    ASSERT_TRUE(std::holds_alternative<input_error>(in)) << line;
    EXPECT_EQ(std::get<input_error>(in).message.rfind("usage: /", 0), 0U) << line;
  }
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/whoami")));  // unknown
}

TEST(Input, MalformedTargetsAreErrors) {
  for (const char* line :
       {":hi", "bad name:hi", "b\x1b[2J:x", "no colon here", "bob:", "bob:   "}) {
    EXPECT_TRUE(std::holds_alternative<input_error>(parse_input(line))) << line;
  }
}

TEST(Input, NamesAreLowerCaseWhateverIsTyped) {
  // As at the name prompt: BOB is bob.
  auto s = as_send(parse_input("BOB:caps on"));
  EXPECT_EQ(s.to, "bob");
  EXPECT_EQ(s.text, "caps on");
  EXPECT_EQ(as_send(parse_input("/msg Alice.Smith hi")).to, "alice.smith");
  EXPECT_EQ(std::get<verify_line>(parse_input("/verify Bob confirm")).name, "bob");
  EXPECT_EQ(std::get<accept_line>(parse_input("/accept BOB")).name, "bob");
}

TEST(Input, HelpListsCommands) {
  for (const bool editor : {true, false}) {
    for (const char* c : {"/msg", "/who", "/verify", "/accept", "/help", "/quit", "NAME:MESSAGE"}) {
      EXPECT_NE(input_help(editor).find(c), std::string::npos) << c;
    }
  }
}

// Piped lines have no keys to press and no hidden prompt for a password: their help says
// what works there (a review found the terminal's keys listed to a script).
TEST(Input, HelpForPipedLinesNamesNoKeysAndNoAccountCommandsAsUsable) {
  const std::string piped = input_help(false);
  for (const char* c :
       {"Tab", "Up/Down", "Ctrl-C", "Ctrl-D", "pasted", "  /password", "  /delete-account"}) {
    EXPECT_EQ(piped.find(c), std::string::npos) << c;
  }
  EXPECT_NE(piped.find("need the client at a terminal"), std::string::npos) << piped;
  const std::string typed = input_help(true);
  for (const char* c : {"Tab", "Up/Down", "Ctrl-C", "  /password", "  /delete-account"}) {
    EXPECT_NE(typed.find(c), std::string::npos) << c;
  }
}

}  // namespace
}  // namespace relay::client

namespace relay::client {
namespace {

TEST(Input, AcceptAndVerify) {
  auto a = std::get<accept_line>(parse_input("/accept bob"));
  EXPECT_EQ(a.name, "bob");
  auto v = std::get<verify_line>(parse_input("/verify bob"));
  EXPECT_EQ(v.name, "bob");
  EXPECT_FALSE(v.confirm);
  EXPECT_TRUE(std::get<verify_line>(parse_input("/verify bob confirm")).confirm);
  EXPECT_TRUE(std::get<verify_line>(parse_input("/verify Bob CONFIRM")).confirm);
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/verify bob maybe")));
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/accept")));
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/accept Bad!")));
  // The usage line shows the confirm form too.
  EXPECT_EQ(std::get<input_error>(parse_input("/verify")).message, "usage: /verify NAME [confirm]");
  EXPECT_EQ(std::get<input_error>(parse_input("/accept")).message, "usage: /accept NAME");
}

// The passwords are never typed on the command line, where they would be shown and kept.
TEST(Input, AccountCommandsTakeNothingAfterThem) {
  EXPECT_TRUE(std::holds_alternative<password_line>(parse_input("/password")));
  EXPECT_TRUE(std::holds_alternative<password_line>(parse_input("  /Password ")));
  EXPECT_TRUE(std::holds_alternative<delete_account_line>(parse_input("/delete-account")));
  const auto typed = parse_input("/password hunter22 hunter23");
  ASSERT_TRUE(std::holds_alternative<input_error>(typed));
  EXPECT_EQ(std::get<input_error>(typed).message,
            "usage: /password (alone: the passwords are asked for without being shown)");
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/delete-account hunter22")));
  EXPECT_TRUE(std::holds_alternative<input_error>(parse_input("/passwords")));
  EXPECT_NE(input_help(true).find("/password"), std::string::npos);
  EXPECT_NE(input_help(true).find("/delete-account"), std::string::npos);
}

// As shown on an 80-column terminal (ui wraps it to the terminal's width: its prose is one
// paragraph each, review 13).
TEST(Input, HelpFitsEightyColumnsAndIsAligned) {
  for (const bool editor : {true, false}) {
    std::istringstream lines{wrap_table(input_help(editor), 79)};
    std::string line;
    std::size_t column = 0;
    while (std::getline(lines, line)) {
      EXPECT_LT(line.size(), 80u) << line;
      if (line.rfind("  ", 0) != 0) continue;  // the command rows are indented
      const auto gap = line.find("  ", 2);
      if (gap == std::string::npos) continue;  // a paragraph's continued row
      const auto at = line.find_first_not_of(' ', gap);
      if (column == 0) column = at;
      EXPECT_EQ(at, column) << line;
    }
  }
}

}  // namespace
}  // namespace relay::client
