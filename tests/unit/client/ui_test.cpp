#include "relay/client/ui.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "relay/client/input.hpp"

namespace relay::client {
namespace {

using namespace std::chrono;

// 2024-05-01T12:34:56.789Z
const system_clock::time_point when = system_clock::time_point(seconds(1714566896)) + 789ms;

render_options styled() { return {output_style::styled, true, false}; }
render_options plain(bool timestamps = false) { return {output_style::plain, timestamps, false}; }
render_options json() { return {output_style::json, false, false}; }

key_text key(char c) { return {std::string(64, c), std::string(4, c) + " " + std::string(4, c)}; }

const ui_event every_kind[] = {
    message_event{"alice", "bob", "hi\nthere", true},
    notice_event{notice_level::info, "* info"},
    notice_event{notice_level::warning, "!!! WARNING: x\n!   y"},
    notice_event{notice_level::error, "! error"},
    signed_in_event{"bob", key('a'), true},
    join_event{"carol", key('b')},
    leave_event{"carol"},
    roster_listing{{{"alice", key('c'), ""}}, false},
    roster_listing{{{"alice", key('c'), "verified"}}, true},
};

TEST(Ui, PlainMessageIsOneLineWithTheSender) {
  EXPECT_EQ(render(message_event{"alice", "bob", "hello", false}, when, plain()), "alice: hello");
  EXPECT_EQ(render(message_event{"alice", "bob", "hello", true}, when, plain()),
            "alice (KEY CHANGED, not accepted): hello");
}

TEST(Ui, TimeTextIsUtcOrLocalThroughTheFormat) {
  const auto t = std::chrono::system_clock::from_time_t(86400 + 3600 + 120);
  EXPECT_EQ(time_text(t, false, "%Y-%m-%d %H:%M"), "1970-01-02 01:02");
  std::tm tm{};
  const std::time_t raw = 86400 + 3600 + 120;
  ::localtime_r(&raw, &tm);
  char want[32];
  std::strftime(want, sizeof want, "%H:%M", &tm);
  EXPECT_EQ(time_text(t, true, "%H:%M"), want);
}

TEST(Ui, PlainAndNoColourHaveNoEscapeAtAll) {
  for (const auto& ev : every_kind) {
    for (bool ts : {false, true}) {
      const auto s = render(ev, when, plain(ts));
      EXPECT_EQ(s.find('\x1b'), std::string::npos) << s;
    }
  }
  // Even a peer's escape sequences arrive inert.
  const auto s = render(message_event{"alice", "bob", "\x1b[2Jboo\x9b", false}, when, plain());
  EXPECT_EQ(s, "alice: ^[[2Jboo\\x9b");
}

TEST(Ui, NoColorConventionNeedsANonEmptyValue) {
  ::unsetenv("NO_COLOR");
  EXPECT_FALSE(no_color_requested());
  ::setenv("NO_COLOR", "", 1);
  EXPECT_FALSE(no_color_requested());
  ::setenv("NO_COLOR", "1", 1);
  EXPECT_TRUE(no_color_requested());
  ::setenv("NO_COLOR", "0", 1);  // any value counts, even "0"
  EXPECT_TRUE(no_color_requested());
  ::unsetenv("NO_COLOR");
}

TEST(Ui, SenderColoursAreStableAndNeverRed) {
  std::set<std::string_view> used;
  for (int i = 0; i < 200; ++i) {
    const std::string name = "user" + std::to_string(i);
    const auto c = name_colour(name);
    EXPECT_EQ(c, name_colour(std::string(name)));
    EXPECT_NE(c, "31");
    EXPECT_NE(c, "91");
    used.insert(c);
  }
  EXPECT_GE(used.size(), 5u) << "names should spread over the palette";
  // Pinned values: the same person keeps the same colour across versions and runs.
  EXPECT_EQ(name_colour("alice"), "94");
  EXPECT_EQ(name_colour("bob"), "35");
  const auto s = render(message_event{"alice", "bob", "hi", false}, when, styled());
  EXPECT_NE(s.find("\x1b[" + std::string(name_colour("alice")) + "malice\x1b[0m: hi"),
            std::string::npos)
      << s;
}

TEST(Ui, WarningsStandOutAndInfoIsDim) {
  const auto w = render(notice_event{notice_level::warning, "!!! WARNING"}, when, styled());
  EXPECT_NE(w.find("\x1b[1;31m!!! WARNING\x1b[0m"), std::string::npos) << w;
  const auto i = render(notice_event{notice_level::info, "* bob left"}, when, styled());
  EXPECT_NE(i.find("\x1b[2m* bob left\x1b[0m"), std::string::npos) << i;
  const auto k = render(message_event{"alice", "bob", "hi", true}, when, styled());
  EXPECT_NE(k.find("\x1b[1;31m(KEY CHANGED, not accepted)\x1b[0m"), std::string::npos) << k;
}

TEST(Ui, WhoShowsAChangedKeyAsAWarning) {
  const roster_listing who{{{"alice", key('c'), "verified"}, {"bob", key('d'), "KEY CHANGED"}},
                           true};
  const auto s = render(who, when, styled());
  const auto bob = s.find("* bob");
  ASSERT_NE(bob, std::string::npos) << s;
  EXPECT_EQ(s.rfind("\x1b[1;31m", bob), bob - 7) << s;
  EXPECT_NE(s.find("\x1b[2m* alice"), std::string::npos) << s;
  // Plain output: one line per user, the second indented under the timestamp.
  const auto p = render(who, when, plain(true));
  EXPECT_EQ(p.substr(0, 12), "12:34 * alic") << p;
  EXPECT_NE(p.find("\n      * bob    key "), std::string::npos) << p;
  EXPECT_NE(p.find("KEY CHANGED"), std::string::npos) << p;
}

TEST(Ui, TimestampsWhenAskedOncePerEvent) {
  EXPECT_EQ(render(notice_event{notice_level::info, "* a\n* b"}, when, plain(true)),
            "12:34 * a\n      * b");
  EXPECT_EQ(render(leave_event{"bob"}, when, plain(false)), "* bob left");
  const auto s = render(leave_event{"bob"}, when, styled());
  EXPECT_EQ(s.rfind("\x1b[2m12:34\x1b[0m ", 0), 0u) << s;
}

TEST(Ui, MultiLineMessagesBecomeIndentedContinuationLines) {
  EXPECT_EQ(render(message_event{"alice", "bob", "one\ntwo\n* carol left", false}, when, plain()),
            "alice: one\n  | two\n  | * carol left");
  EXPECT_EQ(render(message_event{"alice", "bob", "one\nbob: fake", false}, when, plain(true)),
            "12:34 alice: one\n        | bob: fake");
  // Every other control character stays neutralised, also in continuation lines.
  EXPECT_EQ(render(message_event{"alice", "bob", "a\r\nb\x1b[K", false}, when, plain()),
            "alice: a^M\n  | b^[[K");
  const auto s = render(message_event{"alice", "bob", "a\nb", false}, when, styled());
  EXPECT_NE(s.find("\n      \x1b[2m  | \x1b[0mb"), std::string::npos) << s;
}

TEST(Ui, AMessageThatWaitedSaysWhenItWasWritten) {
  const auto at = [](system_clock::duration before) {
    return message_event{"alice", "bob", "hi", false, when - before};
  };
  EXPECT_EQ(render(at(5min), when, plain(true)), "12:34 alice (written 12:29): hi");
  EXPECT_EQ(render(at(59s), when, plain(true)), "12:34 alice: hi");    // not a wait worth a word
  EXPECT_EQ(render(at(-5min), when, plain(true)), "12:34 alice: hi");  // a clock ahead of ours
  EXPECT_EQ(render(at(24h), when, plain(true)), "12:34 alice (written 2024-04-30 12:34): hi");
  auto two = at(10min);
  two.text = "one\ntwo";
  EXPECT_EQ(render(two, when, plain(true)), "12:34 alice (written 12:24): one\n        | two");
  const auto s = render(at(5min), when, styled());
  EXPECT_NE(s.find("\x1b[2m (written 12:29)\x1b[0m"), std::string::npos) << s;  // dim
  // From a black-box review: the note came after the text, where a sender could type one
  // ("hello (written 03:14)") that looked the same without colour. It is now in the header.
  EXPECT_EQ(render(message_event{"alice", "bob", "hi (written 03:14)", false}, when, plain(true)),
            "12:34 alice: hi (written 03:14)");
  // Wrapped under the text, after the note.
  auto long_one = at(5min);
  long_one.text = std::string(30, 'x') + " " + std::string(30, 'y');
  EXPECT_EQ(wrap_for_terminal(long_one, render(long_one, when, plain(true)), 60, plain(true)),
            "12:34 alice (written 12:29): " + std::string(30, 'x') + "\n" + std::string(29, ' ') +
                std::string(30, 'y'));
  // Programs get it always, when the counter is a time.
  auto j = nlohmann::json::parse(render(at(30s), when, json()));
  EXPECT_EQ(j["written"], "2024-05-01T12:34:26.789Z");
  EXPECT_FALSE(nlohmann::json::parse(render(message_event{"alice", "bob", "hi"}, when, json()))
                   .contains("written"));
}

TEST(Ui, ACounterIsReadAsATimeOnlyWhenItIsOne) {
  EXPECT_EQ(written_time(1714566896789000u), when);
  EXPECT_FALSE(written_time(1));  // a client that counts from 1
  EXPECT_FALSE(written_time(1577836800000000u - 1));
  EXPECT_TRUE(written_time(1577836800000000u));
  EXPECT_FALSE(written_time(~std::uint64_t{0}));  // past what a time point holds
}

TEST(Ui, NetworkNamesCannotBreakLines) {
  EXPECT_EQ(render(leave_event{"x\nalice: hi"}, when, plain()), "* x^Jalice: hi left");
}

TEST(Ui, JsonHasOneObjectPerEventWithItsFields) {
  for (const auto& ev : every_kind) {
    const auto s = render(ev, when, json());
    EXPECT_EQ(s.find('\n'), std::string::npos) << s;
    auto j = nlohmann::json::parse(s);
    EXPECT_TRUE(j.contains("type")) << s;
    EXPECT_EQ(j["time"], "2024-05-01T12:34:56.789Z") << s;
  }
  auto m = nlohmann::json::parse(render(every_kind[0], when, json()));
  EXPECT_EQ(m["type"], "message");
  EXPECT_EQ(m["from"], "alice");
  EXPECT_EQ(m["to"], "bob");
  EXPECT_EQ(m["text"], "hi\nthere");  // exact text, not the display form
  EXPECT_EQ(m["key_changed"], true);
  auto w = nlohmann::json::parse(render(every_kind[2], when, json()));
  EXPECT_EQ(w["type"], "notice");
  EXPECT_EQ(w["level"], "warning");
  auto e = nlohmann::json::parse(render(every_kind[3], when, json()));
  EXPECT_EQ(e["level"], "error");
  EXPECT_EQ(e["text"], "error");  // without the "! " people read
  auto si = nlohmann::json::parse(render(every_kind[4], when, json()));
  EXPECT_EQ(si["type"], "signed_in");
  EXPECT_EQ(si["name"], "bob");
  EXPECT_EQ(si["key"], std::string(64, 'a'));
  EXPECT_EQ(si["account_created"], true);
  auto jn = nlohmann::json::parse(render(every_kind[5], when, json()));
  EXPECT_EQ(jn["type"], "join");
  EXPECT_EQ(jn["name"], "carol");
  EXPECT_EQ(jn["key"], std::string(64, 'b'));
  EXPECT_EQ(jn["new_contact"], false);
  EXPECT_EQ(
      nlohmann::json::parse(render(join_event{"bob", key('f'), true}, when, json()))["new_contact"],
      true);
  EXPECT_EQ(nlohmann::json::parse(render(every_kind[6], when, json()))["type"], "leave");
  auto on = nlohmann::json::parse(render(every_kind[7], when, json()));
  EXPECT_EQ(on["type"], "online");
  EXPECT_EQ(on["online"][0]["name"], "alice");
  EXPECT_EQ(on["online"][0]["key"], std::string(64, 'c'));
  auto who = nlohmann::json::parse(render(every_kind[8], when, json()));
  EXPECT_EQ(who["type"], "who");
  EXPECT_EQ(who["online"][0]["trust"], "verified");
}

TEST(Ui, JsonIsInertAsciiEvenForHostileText) {
  const auto s = render(
      message_event{"alice", "bob", "\x1b[2J\x7f\xc2\x9b caf\xc3\xa9 \xff", false}, when, json());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    EXPECT_TRUE(u >= 0x20 && u < 0x7f) << "byte " << static_cast<int>(u) << " in " << s;
  }
  auto j = nlohmann::json::parse(s);
  // Valid text survives exactly; the invalid byte becomes U+FFFD.
  EXPECT_EQ(j["text"], "\x1b[2J\x7f\xc2\x9b caf\xc3\xa9 \xef\xbf\xbd");
}

TEST(Ui, IsoTimeIsUtcWithMilliseconds) {
  EXPECT_EQ(iso_time_utc(when), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(iso_time_utc(system_clock::time_point{}), "1970-01-01T00:00:00.000Z");
}

TEST(Ui, TextColumnIsWhereTheTextStarts) {
  // Wrapped rows on the terminal start at this column: it must match what render() writes.
  const std::pair<ui_event, std::string_view> cases[] = {
      {message_event{"alice", "bob", "hello there", false}, "hello there"},
      {message_event{"alice", "bob", "hello there", true}, "hello there"},
      {notice_event{notice_level::info, "* bob left the room"}, "bob left the room"},
      {notice_event{notice_level::error, "! not sent"}, "not sent"},
      {notice_event{notice_level::info, "no marker"}, "no marker"},
      {join_event{"carol", key('c')}, "carol joined"},
      {roster_listing{{{"a", key('1'), ""}}, false}, "online: a"},
  };
  for (const bool timestamps : {true, false}) {
    for (const auto& [ev, text] : cases) {
      const auto shown = render(ev, when, plain(timestamps));
      const auto col = text_column(ev, plain(timestamps));
      ASSERT_LE(col, shown.size()) << shown;
      EXPECT_EQ(shown.substr(col, text.size()), text) << shown;
    }
  }
}

TEST(Ui, EachLineOfAMessageWrapsUnderItsOwnText) {
  const message_event m{"alice", "bob",
                        "line one\nline two is long enough to wrap at thirty\nthree", false};
  EXPECT_EQ(wrap_for_terminal(m, render(m, when, plain(true)), 40, plain(true)),
            "12:34 alice: line one\n"
            "        | line two is long enough to\n"
            "          wrap at thirty\n"
            "        | three");
  // The first line's rows under "alice: ", a notice's under the text after "* ".
  const message_event one{"alice", "bob", "a first line that is long enough to wrap", false};
  EXPECT_EQ(wrap_for_terminal(one, render(one, when, plain(true)), 40, plain(true)),
            "12:34 alice: a first line that is long\n"
            "             enough to wrap");
  const notice_event n{notice_level::info, "* a notice that is long enough to wrap here"};
  EXPECT_EQ(wrap_for_terminal(n, render(n, when, plain(true)), 40, plain(true)),
            "12:34 * a notice that is long enough to\n"
            "        wrap here");
}

TEST(Ui, AWarningsLinesWrapAfterTheirMarks) {
  const notice_event w{notice_level::warning,
                       "!!! WARNING: bob's key has CHANGED !!!\n"
                       "!   bob may have a new device, or someone (the relay?)"};
  for (const auto& o : {plain(true), styled()}) {
    const auto rows = std::regex_replace(wrap_for_terminal(w, render(w, when, o), 40, o),
                                         std::regex("\x1b\\[[0-9;]*m"), "");
    // The second line's overflow starts under its text, after "!   ", and the mark goes on.
    EXPECT_NE(rows.find("\n      !   someone (the relay?)"), std::string::npos) << rows;
  }
}

// Review 10: with a long name the warning's rows wrapped without its "!" down the left.
TEST(Ui, AWarningsWrappedRowsKeepItsMark) {
  const std::string name(32, 'x');
  const notice_event w{notice_level::warning,
                       "!!! WARNING: " + name + "'s key has CHANGED !!!\n!   " + name +
                           " may have a new device, or someone (the relay?)"};
  for (const auto& o : {plain(true), styled()}) {
    const auto rows = std::regex_replace(wrap_for_terminal(w, render(w, when, o), 60, o),
                                         std::regex("\x1b\\[[0-9;]*m"), "");
    EXPECT_EQ(rows, "12:34 !!! WARNING: " + name +
                        "'s key\n"
                        "      ! has CHANGED !!!\n"
                        "      !   " +
                        name +
                        " may have a new\n"
                        "      !   device, or someone (the relay?)")
        << rows;
  }
  // Info lines stay as they were: no mark added.
  const notice_event n{notice_level::info, "* a notice that is long enough to wrap here"};
  EXPECT_EQ(wrap_for_terminal(n, render(n, when, plain(true)), 40, plain(true)),
            "12:34 * a notice that is long enough to\n"
            "        wrap here");
}

// Review 11: a key's fingerprint broke across rows, half of it on each, where a row could
// hold it whole. Now it moves to the next row whole; where no row can hold it, it breaks
// between groups (never inside one); a message is wrapped as it was.
TEST(Ui, AFingerprintIsNotSplitAcrossRowsWhereARowCanHoldIt) {
  const std::string key = "e098 785a c366 2d9b e318 14d2 5fee 8b8a";
  const notice_event n{notice_level::info, "* bob joined, a new contact: key " + key};
  EXPECT_EQ(wrap_for_terminal(n, render(n, when, plain(true)), 60, plain(true)),
            "12:34 * bob joined, a new contact: key\n        " + key);
  EXPECT_EQ(wrap_for_terminal(n, render(n, when, plain(true)), 30, plain(true)),
            "12:34 * bob joined, a new\n"
            "        contact: key\n"
            "        e098 785a c366 2d9b\n"
            "        e318 14d2 5fee 8b8a");  // in halves, the same in every line (review 13)
  EXPECT_EQ(wrap_for_terminal(n, render(n, when, plain(true)), 20, plain(true)),
            "12:34 * bob joined,\n"
            "  a new contact: key\n"
            "  e098 785a c366\n"
            "  2d9b e318 14d2\n"
            "  5fee 8b8a");  // not even half fits: between groups
  const notice_event w{notice_level::warning, "!   announced key: " + key + " (new)"};
  EXPECT_EQ(wrap_for_terminal(w, render(w, when, plain(true)), 50, plain(true)),
            "12:34 !   announced key:\n      ! " + key + "\n      ! (new)");
  // Nine groups, or a longer hex word, are no fingerprint: wrapped as any text.
  const notice_event other{notice_level::info, "* x: 1111 2222 3333 4444 5555 6666 7777 8888 9999"};
  EXPECT_EQ(wrap_for_terminal(other, render(other, when, plain(true)), 40, plain(true)),
            "12:34 * x: 1111 2222 3333 4444 5555 6666\n        7777 8888 9999");
  const message_event m{"bob", "alice", "mine is " + key, false};
  EXPECT_EQ(wrap_for_terminal(m, render(m, when, plain(true)), 40, plain(true)),
            "12:34 bob: mine is e098 785a c366 2d9b\n           e318 14d2 5fee 8b8a");
}

// Review 12: /help on a 30-column terminal was cut by the terminal mid-word at column 0.
// Rows of a table continue under its last column, or two columns in when that is too far.
TEST(Ui, ATableWrapsUnderItsLastColumnOrTwoColumnsIn) {
  const std::string help =
      "commands:\n"
      "  NAME:MESSAGE          send MESSAGE to NAME (split at the first colon)\n"
      "  /who                  you and who is online\n";
  EXPECT_EQ(wrap_table(help, 80), help);
  EXPECT_EQ(wrap_table(help, 60),
            "commands:\n"
            "  NAME:MESSAGE          send MESSAGE to NAME (split at the\n"
            "                        first colon)\n"
            "  /who                  you and who is online\n");
  // Too narrow for the column: each row's text goes below its head.
  EXPECT_EQ(wrap_table(help, 30),
            "commands:\n"
            "  NAME:MESSAGE\n"
            "      send MESSAGE to NAME\n"
            "      (split at the first\n"
            "      colon)\n"
            "  /who\n"
            "      you and who is online\n");
  EXPECT_EQ(wrap_table("keys: Tab completes names, Up/Down recall earlier lines", 30),
            "keys: Tab completes names,\n  Up/Down recall earlier lines");
  EXPECT_EQ(wrap_table(help, 0), help);
  // The whole of /help, at 30 columns: no row wider.
  for (const bool editor : {true, false}) {
    const std::string rows = wrap_table(input_help(editor), 30);
    std::istringstream in(rows);
    for (std::string row; std::getline(in, row);) EXPECT_LE(row.size(), 30u) << rows;
  }
}

TEST(Ui, SomeNamesSaysHowManyMore) {
  EXPECT_EQ(some_names({}, 5), "");
  EXPECT_EQ(some_names({"a", "b"}, 5), "a, b");
  EXPECT_EQ(some_names({"a", "b", "c"}, 2), "a, b and 1 more");
  EXPECT_EQ(some_names({"a\x1b[2J", "b"}, 1), "a^[[2J and 1 more");  // made printable
}

TEST(Ui, RosterAndJoinTextsKeepTheirWording) {
  EXPECT_EQ(render(roster_listing{{}, false}, when, plain()), "* nobody else is online");
  EXPECT_EQ(
      render(roster_listing{{{"a", key('1'), ""}, {"b", key('2'), ""}}, false}, when, plain()),
      "* online: a b");
  // After sign-in on a relay with thousands online: the first 50, and how many more.
  roster_listing many;
  std::string first_fifty = "* online:";
  for (int i = 0; i < 60; ++i) {
    many.online.push_back({"u" + std::to_string(i), key('1'), ""});
    if (i < 50) first_fifty += " u" + std::to_string(i);
  }
  EXPECT_EQ(render(many, when, plain()),
            first_fifty + " and 10 more (60 others online; /who lists them all)");
  many.online.pop_back();
  many.online.resize(50);
  EXPECT_EQ(render(many, when, plain()), first_fifty);
  EXPECT_EQ(render(roster_listing{{{"a", key('1'), "unverified"}}, true}, when, plain()),
            "* a  key 1111 1111  unverified");
  // /who lists yourself first; alone, it says nobody else is there.
  EXPECT_EQ(render(roster_listing{{{"me", key('0'), "you"}, {"a", key('1'), "verified"}}, true},
                   when, plain()),
            "* me  key 0000 0000  you\n* a   key 1111 1111  verified");  // keys in a column
  EXPECT_EQ(render(roster_listing{{{"me", key('0'), "you"}}, true}, when, plain()),
            "* me  key 0000 0000  you\n* nobody else is online");
  EXPECT_EQ(render(join_event{"bob", key('f')}, when, plain()), "* bob joined (key ffff ffff)");
  EXPECT_EQ(render(join_event{"bob", key('f'), true}, when, plain()),
            "* bob joined, a new contact: key ffff ffff\n"
            "  (pinned; compare safety numbers with /verify bob)");
  EXPECT_EQ(render(signed_in_event{"bob", key('f'), false}, when, plain()),
            "signed in as bob (key ffff ffff)");
  // A new account says so on a line of its own: with a whole key, a 15-character name and
  // the time in front, the line still fits 80 columns.
  EXPECT_EQ(render(signed_in_event{"bob", key('f'), true}, when, plain()),
            "account created\nsigned in as bob (key ffff ffff)");
}

// protocol.md 5.13: the previous sign-in's time, in UTC here; 0 is unknown (no time), and a
// value past the year 9999 (a relay's garbage, which wrapped to 1969) is shown as a number.
TEST(LastKeyWarning, SaysWhenOnlyForARealDate) {
  crypto::public_key k;
  k.fill(0x07);
  const std::string dated = last_key_warning(k, 1764786240, false);
  EXPECT_NE(dated.find(", last at 2025-12-03 18:24\n"), std::string::npos) << dated;
  const std::string unknown = last_key_warning(k, 0, false);
  EXPECT_EQ(unknown.find("last at"), std::string::npos) << unknown;
  const std::string garbage = last_key_warning(k, UINT64_MAX, false);
  EXPECT_EQ(garbage.find("1969"), std::string::npos) << garbage;
  EXPECT_NE(garbage.find("at a time the relay gave as 18446744073709551615 (not a date)"),
            std::string::npos)
      << garbage;
}

}  // namespace
}  // namespace relay::client
