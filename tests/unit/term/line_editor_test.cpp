// The line editor without a terminal: keys, escape sequences split anywhere, history, Tab
// completion, bracketed paste, the size cap and what render() draws.
#include "relay/term/line_editor.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace relay::term {
namespace {

using kind = line_editor::event::kind;

const std::string left = "\x1b[D";
const std::string right = "\x1b[C";
const std::string up = "\x1b[A";
const std::string down = "\x1b[B";
const std::string del = "\x1b[3~";
const std::string paste_begin = "\x1b[200~";
const std::string paste_end = "\x1b[201~";

std::vector<std::string> lines_of(const std::vector<line_editor::event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.what == kind::line) out.push_back(e.text);
  }
  return out;
}

/// Feeds one byte at a time, collecting every event.
std::vector<line_editor::event> feed_bytewise(line_editor& ed, std::string_view bytes) {
  std::vector<line_editor::event> all;
  for (const char c : bytes) {
    for (auto& e : ed.feed(std::string_view(&c, 1))) all.push_back(std::move(e));
  }
  return all;
}

TEST(LineEditor, InsertsPrintableAsciiAndUtf8) {
  line_editor ed;
  EXPECT_TRUE(ed.feed("héllo €").empty());
  EXPECT_EQ(ed.buffer(), "héllo €");
  EXPECT_EQ(ed.cursor(), ed.buffer().size());
}

TEST(LineEditor, Utf8SplitAcrossFeedsIsInsertedOnceComplete) {
  line_editor ed;
  const std::string euro = "\xe2\x82\xac";
  ed.feed(euro.substr(0, 1));
  EXPECT_EQ(ed.buffer(), "");
  ed.feed(euro.substr(1, 1));
  EXPECT_EQ(ed.buffer(), "");
  ed.feed(euro.substr(2));
  EXPECT_EQ(ed.buffer(), euro);
  ed.feed("\xf0\x9f");
  ed.feed("\x98\x80");  // U+1F600
  EXPECT_EQ(ed.buffer(), euro + "\xf0\x9f\x98\x80");
}

TEST(LineEditor, InvalidUtf8AndC1ControlsAreDropped) {
  line_editor ed;
  ed.feed(
      "a\x80"
      "b\xc3(c\xed\xa0\x80"
      "d\xc0\xaf"
      "e\xc2\x85"
      "f");
  EXPECT_EQ(ed.buffer(), "ab(cdef");
}

TEST(LineEditor, LeftRightMoveByCodePoint) {
  line_editor ed;
  ed.feed("aé€");
  ed.feed(left);
  EXPECT_EQ(ed.cursor(), 3u);  // before the 3-byte €
  ed.feed(left);
  EXPECT_EQ(ed.cursor(), 1u);
  ed.feed(left + left + left);
  EXPECT_EQ(ed.cursor(), 0u);
  ed.feed(right + right);
  EXPECT_EQ(ed.cursor(), 3u);
  ed.feed("x");
  EXPECT_EQ(ed.buffer(), "aéx€");
  ed.feed(right + right + right);
  EXPECT_EQ(ed.cursor(), ed.buffer().size());
  ed.feed("\x02");  // Ctrl-B
  EXPECT_EQ(ed.cursor(), 4u);
  ed.feed("\x06");  // Ctrl-F
  EXPECT_EQ(ed.cursor(), 7u);
}

TEST(LineEditor, EscapeSequencesSplitAnywhere) {
  line_editor ed;
  ed.feed("abc");
  ed.feed("\x1b");
  ed.feed("[");
  ed.feed("D");
  EXPECT_EQ(ed.cursor(), 2u);
  ed.feed("\x1b[");
  ed.feed("3");
  ed.feed("~");
  EXPECT_EQ(ed.buffer(), "ab");
  ed.feed("\x1b");
  ed.feed("O");
  ed.feed("H");
  EXPECT_EQ(ed.cursor(), 0u);
  EXPECT_EQ(ed.buffer(), "ab");
}

TEST(LineEditor, HomeAndEndInEveryEncoding) {
  for (const std::string home : {"\x01", "\x1b[H", "\x1b[1~", "\x1b[7~", "\x1bOH"}) {
    line_editor ed;
    ed.feed("hello");
    ed.feed(home);
    EXPECT_EQ(ed.cursor(), 0u) << testing::PrintToString(home);
    EXPECT_EQ(ed.buffer(), "hello");
  }
  for (const std::string end : {"\x05", "\x1b[F", "\x1b[4~", "\x1b[8~", "\x1bOF"}) {
    line_editor ed;
    ed.feed("hello\x01");
    ed.feed(end);
    EXPECT_EQ(ed.cursor(), 5u) << testing::PrintToString(end);
    EXPECT_EQ(ed.buffer(), "hello");
  }
}

TEST(LineEditor, BackspaceAndDeleteRemoveOneCodePoint) {
  line_editor ed;
  ed.feed("aé€b");
  ed.feed("\x7f");
  EXPECT_EQ(ed.buffer(), "aé€");
  ed.feed("\x08");  // ^H
  EXPECT_EQ(ed.buffer(), "aé");
  ed.feed("\x01" + del);
  EXPECT_EQ(ed.buffer(), "é");
  ed.feed(del);
  EXPECT_EQ(ed.buffer(), "");
  ed.feed(del + "\x7f");  // nothing to delete: nothing happens
  EXPECT_EQ(ed.buffer(), "");
  EXPECT_EQ(ed.cursor(), 0u);
}

TEST(LineEditor, CtrlWDeletesTheWordBeforeTheCursor) {
  line_editor ed;
  ed.feed("bob:hello big  world  ");
  ed.feed("\x17");
  EXPECT_EQ(ed.buffer(), "bob:hello big  ");
  ed.feed("\x17");
  EXPECT_EQ(ed.buffer(), "bob:hello ");
  ed.feed("\x17\x17");
  EXPECT_EQ(ed.buffer(), "");
  ed.feed("one two three" + left + left);
  ed.feed("\x17");
  EXPECT_EQ(ed.buffer(), "one two ee");
  EXPECT_EQ(ed.cursor(), 8u);
}

TEST(LineEditor, CtrlUAndCtrlKKill) {
  line_editor ed;
  ed.feed("hello world" + left + left + left + left + left);
  ed.feed("\x0b");
  EXPECT_EQ(ed.buffer(), "hello ");
  EXPECT_EQ(ed.cursor(), 6u);
  ed.feed(left + "\x15");
  EXPECT_EQ(ed.buffer(), " ");
  EXPECT_EQ(ed.cursor(), 0u);
}

// Ctrl-Y puts back what the last kill took (found by a black-box terminal review: a word
// killed by mistake was gone for good).
TEST(LineEditor, CtrlYPutsBackWhatTheLastKillTook) {
  line_editor ed;
  ed.feed("bob:hello world");
  ed.feed("\x17");  // Ctrl-W
  EXPECT_EQ(ed.buffer(), "bob:hello ");
  ed.feed("\x19\x19");  // Ctrl-Y twice: two copies
  EXPECT_EQ(ed.buffer(), "bob:hello worldworld");
  ed.feed(std::string("\x01") + "\x0b");  // Ctrl-A, Ctrl-K
  EXPECT_EQ(ed.buffer(), "");
  ed.feed("alice:\x19");
  EXPECT_EQ(ed.buffer(), "alice:bob:hello worldworld");
  ed.feed("\x15");  // Ctrl-U
  ed.feed("\x15");  // nothing left to kill: the last kill stays
  ed.feed("\x19");
  EXPECT_EQ(ed.buffer(), "alice:bob:hello worldworld");
  ed.feed(std::string("\x1b") + "\x7f");  // Alt-Backspace kills a word too
  ed.feed("\x19");
  EXPECT_EQ(ed.buffer(), "alice:bob:hello worldworld");
}

// Nothing killed yet: Ctrl-Y does nothing (and is never inserted as a character).
TEST(LineEditor, CtrlYBeforeAnyKillChangesNothing) {
  line_editor ed;
  ed.feed("hi\x19");
  EXPECT_EQ(ed.buffer(), "hi");
}

TEST(LineEditor, AltKeysMoveAndDeleteByWord) {
  line_editor ed;
  ed.feed("one two three");
  ed.feed(
      "\x1b"
      "b");
  EXPECT_EQ(ed.cursor(), 8u);
  ed.feed("\x1b[1;5D");  // Ctrl-Left
  EXPECT_EQ(ed.cursor(), 4u);
  ed.feed(
      "\x1b"
      "f");
  EXPECT_EQ(ed.cursor(), 7u);
  ed.feed("\x1b\x7f");  // Alt-Backspace
  EXPECT_EQ(ed.buffer(), "one  three");
  ed.feed(
      "\x1b"
      "d");
  EXPECT_EQ(ed.buffer(), "one ");
}

TEST(LineEditor, CtrlLAsksForAClearScreenAndKeepsTheLine) {
  line_editor ed;
  ed.feed("abc" + left);
  const auto events = ed.feed("\x0c");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, line_editor::event::kind::clear);
  EXPECT_EQ(ed.buffer(), "abc");
  EXPECT_EQ(ed.cursor(), 2u);
}

TEST(LineEditor, EnterGivesTheLineAndClearsTheBuffer) {
  line_editor ed;
  auto ev = ed.feed("bob:hi\r");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::line);
  EXPECT_EQ(ev[0].text, "bob:hi");
  EXPECT_EQ(ed.buffer(), "");
  EXPECT_EQ(ed.cursor(), 0u);
  EXPECT_EQ(lines_of(ed.feed("a\nb\rc\r\nd\n\n")),
            (std::vector<std::string>{"a", "b", "c", "d", ""}));
  // The cursor position does not matter: the whole buffer is the line.
  EXPECT_EQ(lines_of(ed.feed("xyz" + left + left + "\r")), std::vector<std::string>{"xyz"});
}

TEST(LineEditor, CrLfSplitAcrossFeedsIsOneEnter) {
  line_editor ed;
  EXPECT_EQ(lines_of(ed.feed("a\r")), std::vector<std::string>{"a"});
  EXPECT_TRUE(ed.feed("\n").empty());
}

TEST(LineEditor, HistoryBrowsesAndKeepsTheLineInProgress) {
  line_editor ed;
  ed.feed("first\rsecond\r");
  ed.feed("draft");
  ed.feed(up);
  EXPECT_EQ(ed.buffer(), "second");
  EXPECT_EQ(ed.cursor(), 6u);
  ed.feed("\x1bOA");  // SS3 Up
  EXPECT_EQ(ed.buffer(), "first");
  ed.feed(up);  // at the oldest: stays
  EXPECT_EQ(ed.buffer(), "first");
  ed.feed(down);
  EXPECT_EQ(ed.buffer(), "second");
  ed.feed("\x1bOB");
  EXPECT_EQ(ed.buffer(), "draft");
  ed.feed(down);  // past the newest: stays on the draft
  EXPECT_EQ(ed.buffer(), "draft");
  // An entry recalled and edited is sent as edited; history keeps the original too.
  ed.feed("\x15" + up + up + "!\r");
  EXPECT_EQ(ed.history(), (std::vector<std::string>{"first", "second", "first!"}));
  ed.feed("\x10");  // Ctrl-P
  EXPECT_EQ(ed.buffer(), "first!");
  ed.feed("\x0e");  // Ctrl-N
  EXPECT_EQ(ed.buffer(), "");
}

TEST(LineEditor, HistorySkipsBlankLinesAndConsecutiveDuplicates) {
  line_editor ed;
  ed.feed("a\ra\r\r  \rb\ra\r");  // blank lines too: nothing to see on Up
  EXPECT_EQ(ed.history(), (std::vector<std::string>{"a", "b", "a"}));
}

TEST(LineEditor, HistoryIsCapped) {
  line_editor ed(3);
  ed.feed("1\r2\r3\r4\r5\r");
  EXPECT_EQ(ed.history(), (std::vector<std::string>{"3", "4", "5"}));
  ed.feed(up + up + up + up);
  EXPECT_EQ(ed.buffer(), "3");
  line_editor none(0);
  none.feed("x\r" + up);
  EXPECT_TRUE(none.history().empty());
  EXPECT_EQ(none.buffer(), "");
}

TEST(LineEditor, CtrlDIsEofOnEmptyLineOtherwiseDeletes) {
  line_editor ed;
  ed.feed("ab\x01");
  EXPECT_TRUE(ed.feed("\x04").empty());
  EXPECT_EQ(ed.buffer(), "b");
  ed.feed("\x05\x04");  // at the end of a non-empty line: nothing
  EXPECT_EQ(ed.buffer(), "b");
  ed.feed("\x7f");
  auto ev = ed.feed("\x04");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::eof);
}

TEST(LineEditor, UnknownEscapeSequencesAreSwallowedWhole) {
  line_editor ed;
  ed.feed("a");
  ed.feed("\x1b[1;5P");         // Ctrl-F1
  ed.feed("\x1b[?1000h");       // private mode
  ed.feed("\x1b[<0;12;5M");     // SGR mouse report
  ed.feed("\x1b[I\x1b[O");      // focus in/out
  ed.feed("\x1b[15~\x1b[99~");  // F5, unknown
  ed.feed("\x1bOP");            // F1
  ed.feed("\x1b[2");
  ed.feed("4;2");
  ed.feed("~");      // Shift-F12, split
  ed.feed("\x1bx");  // Alt-x
  ed.feed("b");
  EXPECT_EQ(ed.buffer(), "ab");
  // A very long parameter list is still swallowed up to its final byte.
  ed.feed("\x1b[" + std::string(500, '1') + "m" + "c");
  EXPECT_EQ(ed.buffer(), "abc");
}

TEST(LineEditor, TabAtLineStartCompletesToUserColon) {
  line_editor ed;
  ed.set_candidates({"alice", "bob", "carol"});
  EXPECT_TRUE(ed.feed("bo\t").empty());
  EXPECT_EQ(ed.buffer(), "bob:");
  EXPECT_EQ(ed.cursor(), 4u);
  ed.feed("hi");
  EXPECT_EQ(ed.buffer(), "bob:hi");
}

TEST(LineEditor, TabAfterCommandsCompletesWithSpace) {
  for (const std::string cmd : {"/msg ", "/accept ", "/verify ", "/msg   "}) {
    line_editor ed;
    ed.set_candidates({"alice", "bob"});
    ed.feed(cmd + "al\t");
    EXPECT_EQ(ed.buffer(), cmd + "alice ") << cmd;
  }
}

TEST(LineEditor, TabInsideTextCompletesTheBareName) {
  line_editor ed;
  ed.set_candidates({"alice", "bob"});
  ed.feed("bob:ask al\t");
  EXPECT_EQ(ed.buffer(), "bob:ask alice");
  ed.feed(
      "\x15"
      "bob:al\t");  // right after the colon
  EXPECT_EQ(ed.buffer(), "bob:alice");
  ed.feed(
      "\x15"
      "/who al\t");  // not a command that takes a name
  EXPECT_EQ(ed.buffer(), "/who alice");
}

TEST(LineEditor, TabDoesNotDoubleAColonAlreadyThere) {
  line_editor ed;
  ed.set_candidates({"bob"});
  ed.feed("b:hi\x01" + right + "\t");
  EXPECT_EQ(ed.buffer(), "bob:hi");
  EXPECT_EQ(ed.cursor(), 4u);
}

TEST(LineEditor, TabWithSeveralMatchesCompletesCommonPrefixThenLists) {
  line_editor ed;
  ed.set_candidates({"bobby", "bob", "carol", "bobcat", "bob"});
  EXPECT_TRUE(ed.feed("b\t").empty());
  EXPECT_EQ(ed.buffer(), "bob");
  auto ev = ed.feed("\t");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::list);
  EXPECT_EQ(ev[0].text, "bob bobby bobcat");
  EXPECT_EQ(ed.buffer(), "bob");  // listing changes nothing

  // The second Tab must follow the first directly.
  line_editor other;
  other.set_candidates({"alice", "alma"});
  ev = other.feed("al\t");
  EXPECT_EQ(other.buffer(), "al");  // nothing in common beyond what is typed: the bell
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::bell);
  other.feed(left + right);
  ev = other.feed("\t");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::bell);
  ev = other.feed("\t");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].text, "alice alma");
}

TEST(LineEditor, TabCompletesCommandsAtTheStartOfTheLine) {
  line_editor ed;
  ed.set_candidates({"msgbot"});
  ed.set_commands({"/accept", "/msg", "/verify", "/who"});
  ed.feed("/ms\t");
  EXPECT_EQ(ed.buffer(), "/msg ");
  ed.feed("ms\t");  // after the command, a name
  EXPECT_EQ(ed.buffer(), "/msg msgbot ");
  line_editor other;
  other.set_commands({"/verify", "/who"});
  auto ev = other.feed("/x\t");
  EXPECT_EQ(other.buffer(), "/x");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::bell);
}

// The relay's console: commands are bare words, and names are arguments.
TEST(LineEditor, BareCommandsCompleteTheFirstWordAndNamesEndInASpace) {
  line_editor ed;
  ed.set_commands({"active", "ban", "bans", "db", "delete", "help", "kick"});
  ed.set_candidates({"alice", "albert", "bob"});
  ed.set_bare_commands(true);
  ed.feed("ki\t");
  EXPECT_EQ(ed.buffer(), "kick ");
  ed.feed("b\t");  // a name, followed by a space: not `bob:`
  EXPECT_EQ(ed.buffer(), "kick bob ");
  ed.feed("\r");
  ed.feed("ban al\t");  // alice and albert share `al`: nothing more, a second Tab lists them
  auto ev = ed.feed("\t");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::list);
  EXPECT_EQ(ev[0].text, "albert alice");
  ed.feed("i\t");
  EXPECT_EQ(ed.buffer(), "ban alice ");
  ed.feed("\r");
  ed.feed("help de\t");  // after help, a command
  EXPECT_EQ(ed.buffer(), "help delete ");
  ed.feed("\r");
  ev = ed.feed("\t\t");  // an empty line lists every command
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].what, kind::list);
  EXPECT_EQ(ev[1].text, "active ban bans db delete help kick");
  // Without bare commands (the chat client), `ki` at the start is a name to message.
  line_editor chat;
  chat.set_commands({"kick"});
  chat.set_candidates({"kim"});
  chat.feed("ki\t");
  EXPECT_EQ(chat.buffer(), "kim:");
}

// Review 12: commands are taken in any case, but `DE` and Tab found nothing. Completion
// ignores ASCII case, and what was typed takes the candidate's.
TEST(LineEditor, TabCompletesWhateverTheCaseTyped) {
  line_editor ed;
  ed.set_commands({"db", "delete", "help"});
  ed.set_candidates({"alice", "albert", "bob"});
  ed.set_bare_commands(true);
  ed.feed("DEL\t");
  EXPECT_EQ(ed.buffer(), "delete ");
  ed.feed("BO\t");
  EXPECT_EQ(ed.buffer(), "delete bob ");
  ed.feed("\r");
  ed.feed("db AL\t");  // alice and albert: nothing more in common
  EXPECT_EQ(ed.buffer(), "db AL");
  ed.feed("I\t");
  EXPECT_EQ(ed.buffer(), "db alice ");
  ed.feed("\r");
  ed.feed("HELP de\t");  // after help in any case, a command (review 13)
  EXPECT_EQ(ed.buffer(), "HELP delete ");
  ed.feed("\r");
  ed.feed("help H\t");
  EXPECT_EQ(ed.buffer(), "help help ");
  line_editor chat;
  chat.set_commands({"/msg", "/who"});
  chat.set_candidates({"kim"});
  chat.feed("/WH\t");
  EXPECT_EQ(chat.buffer(), "/who ");
  chat.feed("\r");
  chat.feed("Ki\t");
  EXPECT_EQ(chat.buffer(), "kim:");
}

// A Tab that finds nothing changes nothing and rings the bell, as a shell does.
TEST(LineEditor, TabWithoutMatchRingsTheBellAndChangesNothing) {
  line_editor ed;
  ed.set_candidates({"alice"});
  auto ev = ed.feed("zed\t\t");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].what, kind::bell);
  EXPECT_EQ(ev[1].what, kind::bell);
  EXPECT_EQ(ed.buffer(), "zed");
  line_editor no_candidates;
  ev = no_candidates.feed("\t");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::bell);
  EXPECT_EQ(no_candidates.buffer(), "");
}

TEST(LineEditor, CtrlCDropsTheLineOrOnAnEmptyLineInterrupts) {
  line_editor ed;
  auto ev = ed.feed("bob:quick\x03");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::discard);
  EXPECT_EQ(ev[0].text, "bob:quick");
  EXPECT_EQ(ed.buffer(), "");
  ASSERT_EQ(ed.history().size(), 1u);
  EXPECT_EQ(ed.history().back(), "bob:quick");
  ev = ed.feed("\x03");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].what, kind::interrupt);  // the terminal makes it eof, or SIGINT
}

// Ctrl-C on a half-typed line drops it into history (Up brings it back); on an empty line
// there is nothing to drop and the caller leaves.
TEST(LineEditor, DiscardDropsTheLineIntoHistory) {
  line_editor ed;
  EXPECT_FALSE(ed.discard());
  ed.feed("bob:half a tho");
  ed.feed(left);
  EXPECT_TRUE(ed.discard());
  EXPECT_EQ(ed.buffer(), "");
  EXPECT_EQ(ed.cursor(), 0u);
  EXPECT_FALSE(ed.discard());
  ASSERT_EQ(ed.history().size(), 1u);
  EXPECT_EQ(ed.history().back(), "bob:half a tho");
  ed.feed("\x1b[A");
  EXPECT_EQ(ed.buffer(), "bob:half a tho");
  auto ev = ed.feed("ught\r");
  EXPECT_EQ(lines_of(ev), std::vector<std::string>{"bob:half a thought"});
}

TEST(LineEditor, CandidatesAreReplacedWholesale) {
  line_editor ed;
  ed.set_candidates({"alice"});
  ed.set_candidates({"bob"});
  ed.feed("al\t");
  EXPECT_EQ(ed.buffer(), "al");
}

TEST(LineEditor, BracketedPasteOfSeveralLinesIsOneMessage) {
  line_editor ed;
  ed.feed("bob:");
  EXPECT_TRUE(ed.feed(paste_begin + "one\r\ntwo\rthree\nfour" + paste_end).empty());
  EXPECT_EQ(ed.buffer(), "bob:one\ntwo\nthree\nfour");
  auto ev = ed.feed("\r");
  EXPECT_EQ(lines_of(ev), std::vector<std::string>{"bob:one\ntwo\nthree\nfour"});
}

TEST(LineEditor, BracketedPasteDropsControlsButKeepsTabs) {
  line_editor ed;
  ed.feed(paste_begin +
          "a\tb\x01\x7f\x04\x1b[31mc\x08\x1b"
          "d\xc2\x9b"
          "e"
          "f" +
          paste_end);
  // ESC d is one sequence; so is the 8-bit CSI U+009B with its final byte "e".
  EXPECT_EQ(ed.buffer(), "a\tbcf");
}

TEST(LineEditor, BracketedPasteDropsStringAndCharsetSequencesWhole) {
  line_editor ed;
  // A window title (OSC, ended by BEL and by ST), a DCS, and a charset designation.
  ed.feed(paste_begin + "A\x1b]0;pwned\x07" + "B\x1b]2;title\x1b\\" + "C\x1bPq#0\x1b\\" +
          "D\x1b(B" + "E" + paste_end);
  EXPECT_EQ(ed.buffer(), "ABCDE");
  // A string that never ends still lets the paste end, and what is typed after it counts.
  line_editor open;
  open.feed(paste_begin + "x\x1b]0;no end" + paste_end + "y");
  EXPECT_EQ(open.buffer(), "xy");
  // The 8-bit (C1) starters, in UTF-8, take their sequence with them too.
  line_editor c1;
  c1.feed(paste_begin + "x\xc2\x9b" + "31my\xc2\x9d" + "0;ttl\x07z" + paste_end);
  EXPECT_EQ(c1.buffer(), "xyz");
  // A stray ESC before a line break, and a title left open, keep the line breaks.
  line_editor breaks;
  breaks.feed(paste_begin + "x\x1b\ny\x1b]0;title\nz" + paste_end);
  EXPECT_EQ(breaks.buffer(), "x\ny\nz");
  // Byte by byte, the same.
  line_editor slow;
  feed_bytewise(slow, paste_begin + "A\x1b]0;pwned\x07" + "B" + paste_end);
  EXPECT_EQ(slow.buffer(), "AB");
}

TEST(LineEditor, BracketedPasteSplitAcrossFeeds) {
  line_editor ed;
  const std::string all = paste_begin + "x\r\ny\xe2\x82\xac" + paste_end + "z";
  EXPECT_TRUE(feed_bytewise(ed, all).empty());
  EXPECT_EQ(ed.buffer(), "x\ny\xe2\x82\xacz");
  // \r at the end of one read and \n at the start of the next are one line break.
  line_editor split;
  split.feed(paste_begin + "a\r");
  split.feed("\nb" + paste_end);
  EXPECT_EQ(split.buffer(), "a\nb");
}

TEST(LineEditor, PasteIsInsertedAtTheCursor) {
  line_editor ed;
  ed.feed("bob:ad" + left);
  ed.feed(paste_begin + "b\nc" + paste_end);
  EXPECT_EQ(ed.buffer(), "bob:ab\ncd");
  EXPECT_EQ(ed.cursor(), 8u);
}

TEST(LineEditor, WithoutBracketedPasteEveryEnterIsALine) {
  line_editor ed;
  EXPECT_EQ(lines_of(ed.feed("bob:one\r\nbob:two\r")),
            (std::vector<std::string>{"bob:one", "bob:two"}));
}

TEST(LineEditor, BufferIsCappedAndRefusesMore) {
  line_editor ed(10, 8);
  ed.feed("12345678");
  EXPECT_EQ(ed.refused(), 0u);
  ed.feed("9\xe2\x82\xac");
  EXPECT_EQ(ed.buffer(), "12345678");
  EXPECT_EQ(ed.refused(), 4u);
  ed.feed("\x7f\x7f\xe2\x82\xac");  // the 3-byte € does not fit into 2 free bytes
  EXPECT_EQ(ed.buffer(), "123456");
  ed.feed("\x7f\xe2\x82\xac");
  EXPECT_EQ(ed.buffer(), "12345\xe2\x82\xac");
  EXPECT_EQ(line_editor().max_bytes(), 64u * 1024u);
}

TEST(LineEditor, PasteBeyondTheCapIsRefusedWhole) {
  line_editor ed(10, 16);
  ed.feed("abc");
  ed.feed(paste_begin + std::string(20, 'x') + paste_end);
  EXPECT_EQ(ed.buffer(), "abc");
  ed.feed(paste_begin + std::string(14, 'y') + paste_end);  // fits in 16 alone, not after abc
  EXPECT_EQ(ed.buffer(), "abc");
  ed.feed(paste_begin + std::string(13, 'z') + paste_end);
  EXPECT_EQ(ed.buffer(), "abc" + std::string(13, 'z'));
  EXPECT_GE(ed.refused(), 34u);
}

TEST(LineEditor, BytewiseFeedingEqualsWholeFeeding) {
  const std::string script = "héllo" + left + "\x1b[1;5D" + "X" + paste_begin + "p\r\nq" +
                             paste_end + "\x1b[3~" + "\x1bOH" + "€\r" + up + "\x15" + "bo\t" +
                             "\x1b[<0;1;1M" + "end\r\x04";
  line_editor whole;
  whole.set_candidates({"bob"});
  line_editor bytewise;
  bytewise.set_candidates({"bob"});
  const auto a = whole.feed(script);
  const auto b = feed_bytewise(bytewise, script);
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].what, b[i].what);
    EXPECT_EQ(a[i].text, b[i].text);
  }
  EXPECT_EQ(lines_of(a), (std::vector<std::string>{"€Xp\nqéllo", "bob:end"}));
  EXPECT_EQ(a.back().what, kind::eof);
}

// render(): parses what it draws back into the visible cells and the cursor column.
struct drawn {
  std::vector<std::string> cells;  // one per column (code points drawn)
  std::size_t cursor_col = 0;
};

drawn parse_render(const std::string& bytes) {
  drawn d;
  EXPECT_EQ(bytes.substr(0, 1), "\r");
  const auto clear = bytes.find("\x1b[K\r");
  EXPECT_NE(clear, std::string::npos);
  const std::string row = bytes.substr(1, clear - 1);
  for (std::size_t i = 0; i < row.size();) {
    std::size_t n = 1;
    while (i + n < row.size() && (static_cast<unsigned char>(row[i + n]) & 0xC0) == 0x80) ++n;
    d.cells.push_back(row.substr(i, n));
    i += n;
  }
  const std::string tail = bytes.substr(clear + 4);
  if (!tail.empty()) {
    EXPECT_EQ(tail.substr(0, 2), "\x1b[");
    EXPECT_EQ(tail.back(), 'C');
    d.cursor_col = std::stoul(tail.substr(2, tail.size() - 3));
  }
  return d;
}

TEST(LineEditorRender, ShortLineIsDrawnWholeWithTheCursorInPlace) {
  line_editor ed;
  ed.feed("héllo" + left + left);
  EXPECT_EQ(ed.render("> ", 80), "\r> héllo\x1b[K\r\x1b[5C");
  ed.feed("\x01");
  EXPECT_EQ(ed.render("> ", 80), "\r> héllo\x1b[K\r\x1b[2C");
  line_editor empty;
  EXPECT_EQ(empty.render("", 80), "\r\x1b[K\r");
}

TEST(LineEditorRender, LineBreaksAndControlsAreShownInertly) {
  line_editor ed;
  ed.feed(paste_begin + "a\nb\tc" + paste_end);
  EXPECT_EQ(ed.render("", 80), "\ra\u23ceb\u21e5c\x1b[K\r\x1b[5C");
  const std::string r = line_editor::render_line("", "x\x01y\x1b[2J\x7f\xff", 2, 80);
  EXPECT_EQ(r, "\rx^Ay^[[2J^??\x1b[K\r\x1b[3C");
}

TEST(LineEditorRender, PromptColoursTakeNoColumns) {
  EXPECT_EQ(line_editor::render_line("\x1b[1m>\x1b[0m ", "ab", 2, 80),
            "\r\x1b[1m>\x1b[0m ab\x1b[K\r\x1b[4C");
}

TEST(LineEditorRender, LongLineScrollsAndMarksCutOffs) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += static_cast<char>('a' + i % 26);
  line_editor ed;
  ed.feed(text);
  // Cursor at the end: the tail is visible, the head is cut off.
  auto d = parse_render(ed.render("> ", 30));
  EXPECT_EQ(d.cells[2], "<");
  EXPECT_NE(d.cells.back(), ">");
  EXPECT_LE(d.cells.size(), 29u);
  EXPECT_EQ(d.cells[d.cursor_col - 1], std::string(1, text.back()));
  // Cursor at the start: the head is visible, the tail cut off.
  ed.feed("\x01");
  d = parse_render(ed.render("> ", 30));
  EXPECT_EQ(d.cells[2], "a");
  EXPECT_EQ(d.cells.back(), ">");
  EXPECT_EQ(d.cursor_col, 2u);
  EXPECT_LE(d.cells.size(), 29u);
}

TEST(LineEditorRender, CursorIsVisibleOnTheRightCellAtEveryPositionAndWidth) {
  std::string text;
  for (int i = 0; i < 70; ++i)
    text += i % 7 == 6 ? std::string("é") : std::string(1, static_cast<char>('a' + i % 26));
  text += "\n";  // a line break in the middle of the text
  text += text;
  for (const std::size_t width : {5u, 8u, 13u, 20u, 41u, 80u, 200u}) {
    line_editor ed;
    ed.feed(paste_begin + text + paste_end + "\x01");
    for (;;) {
      const auto d = parse_render(ed.render("me> ", width));
      ASSERT_LT(d.cells.size(), width) << "width " << width;  // never the last column
      ASSERT_LT(d.cursor_col, width);
      if (ed.cursor() < ed.buffer().size()) {
        ASSERT_LT(d.cursor_col, d.cells.size());
        std::string expected = ed.buffer().substr(ed.cursor(), 1);
        if (static_cast<unsigned char>(expected[0]) >= 0x80)
          expected = ed.buffer().substr(ed.cursor(), 2);
        if (expected == "\n") expected = "\u23ce";
        EXPECT_EQ(d.cells[d.cursor_col], expected)
            << "width " << width << " cursor " << ed.cursor();
      } else {
        EXPECT_TRUE(d.cursor_col == d.cells.size() || d.cells[d.cursor_col] == ">");
        break;
      }
      ed.feed(right);
    }
  }
}

TEST(LineEditorRender, HugePromptIsDroppedRatherThanHidingTheText) {
  const std::string prompt(50, 'p');
  const auto d = parse_render(line_editor::render_line(prompt, "hello", 5, 40));
  EXPECT_EQ(d.cells.size(), 5u);
  EXPECT_EQ(d.cursor_col, 5u);
}

TEST(LineEditor, ACombiningMarkMovesAndGoesWithItsCharacter) {
  line_editor ed;
  ed.feed("ae\u0301x");  // a, e + combining acute (one é on screen), x
  ed.feed(left);
  EXPECT_EQ(ed.cursor(), 4u);  // before x
  ed.feed(left);
  EXPECT_EQ(ed.cursor(), 1u);  // before e, not between e and its accent
  ed.feed(right);
  EXPECT_EQ(ed.cursor(), 4u);
  ed.feed("\x7f");  // Backspace takes the whole é
  EXPECT_EQ(ed.buffer(), "ax");
  ed.feed("\x01" + del);  // Delete too
  EXPECT_EQ(ed.buffer(), "x");
  ed.feed("e\u0301");
  ed.feed("\x01" + del);
  EXPECT_EQ(ed.buffer(), "x");
}

// From a black-box review: Left stopped inside an emoji joined with zero-width joiners, and
// what was typed there split it (👨‍👩Y‍👧).
TEST(LineEditor, AnEmojiJoinedWithZeroWidthJoinersMovesAndGoesAsOne) {
  const std::string family = "\U0001F468\u200D\U0001F469\u200D\U0001F467";  // 👨‍👩‍👧
  line_editor ed;
  ed.feed("a" + family + "z");
  ed.feed(left);
  ed.feed(left);
  EXPECT_EQ(ed.cursor(), 1u);  // before the whole family
  ed.feed("Y");
  EXPECT_EQ(ed.buffer(), "aY" + family + "z");
  ed.feed(right);
  EXPECT_EQ(ed.cursor(), 2u + family.size());
  ed.feed("\x7f");  // Backspace takes all of it
  EXPECT_EQ(ed.buffer(), "aYz");
  // Shown whole, with the columns its three emoji take (2 each, as wcwidth counts them).
  EXPECT_EQ(line_editor::render_line("", family + "z", family.size(), 80),
            "\r" + family + "z\x1b[K\r\x1b[6C");
}

// From a black-box review (14): Backspace left half a flag (🇩 of 🇩🇪) and a thumb without
// its skin tone, and Left stopped between them, so typed text split them (🇩X🇪).
TEST(LineEditor, AFlagAndASkinTonedEmojiMoveAndGoAsOne) {
  const std::string de = "\U0001F1E9\U0001F1EA";     // 🇩🇪
  const std::string fr = "\U0001F1EB\U0001F1F7";     // 🇫🇷
  const std::string thumb = "\U0001F44D\U0001F3FD";  // 👍🏽
  line_editor ed;
  ed.feed("flag " + de);
  ed.feed("\x7f");
  EXPECT_EQ(ed.buffer(), "flag ");
  ed.feed("\x05\x15thumb " + thumb);
  ed.feed("\x7f");
  EXPECT_EQ(ed.buffer(), "thumb ");
  const std::string new_line = "\x05\x15";  // Ctrl-E, Ctrl-U: the line emptied
  ed.feed(new_line + "ab" + thumb);
  ed.feed(left + "X");
  EXPECT_EQ(ed.buffer(), "abX" + thumb);
  // Two flags side by side pair up from the left: Left crosses one whole flag at a time.
  ed.feed(new_line + "ab" + de + fr);
  ed.feed(left + "X");
  EXPECT_EQ(ed.buffer(), "ab" + de + "X" + fr);
  ed.feed(left + left + "Y");
  EXPECT_EQ(ed.buffer(), "abY" + de + "X" + fr);
  // A lone letter after a flag is a character of its own.
  ed.feed("\x05\x15" + de + "\U0001F1EB");
  ed.feed("\x7f");
  EXPECT_EQ(ed.buffer(), de);
  ed.feed("\x7f");
  EXPECT_EQ(ed.buffer(), "");
  // Shown whole, with the columns its parts take (as wcwidth counts them).
  EXPECT_EQ(line_editor::render_line("", thumb + "z", thumb.size(), 80),
            "\r" + thumb + "z\x1b[K\r\x1b[4C");
}

TEST(LineEditorRender, WideCharactersTakeTwoColumns) {
  line_editor ed;
  ed.feed("abc\u4f60");  // abc你
  EXPECT_EQ(ed.render("> ", 80), "\r> abc\u4f60\x1b[K\r\x1b[7C");
  ed.feed(left);
  EXPECT_EQ(ed.render("> ", 80), "\r> abc\u4f60\x1b[K\r\x1b[5C");
  // Combining marks take none, whatever comes after them.
  EXPECT_EQ(line_editor::render_line("", "e\u0301\u4f60z", 6, 80),
            "\re\u0301\u4f60z\x1b[K\r\x1b[3C");
}

TEST(LineEditorRender, ALineOfWideCharactersScrollsInsteadOfWrapping) {
  // The line that made the terminal wrap, and every redraw leave a copy behind.
  std::string text = "alice:";
  for (int i = 0; i < 48; ++i) text += "\u4f60";
  for (const std::size_t width : {20u, 41u, 80u}) {
    line_editor ed;
    ed.feed(text + "\x01");
    for (;;) {
      const std::string r = ed.render("carol> ", width);
      const std::string row = r.substr(1, r.find("\x1b[K\r") - 1);
      std::size_t cols = 0, cursor_cols = 0;
      for (std::size_t i = 0; i < row.size(); ++i) {
        const auto c = static_cast<unsigned char>(row[i]);
        if (c < 0x80)
          cols += 1;
        else if (c >= 0xE0)
          cols += 2;  // only 你 here
      }
      ASSERT_LT(cols, width) << "width " << width << " cursor " << ed.cursor();
      const std::size_t at = r.find("\x1b[K\r\x1b[");
      if (at != std::string::npos) cursor_cols = std::stoul(r.substr(at + 6));
      ASSERT_LT(cursor_cols, width);
      if (ed.cursor() == ed.buffer().size()) break;
      ed.feed(right);
    }
  }
}

TEST(LineEditorRender, BidiControlsAndLoneMarksAreShownInertly) {
  EXPECT_EQ(line_editor::render_line("", "a\u202etxt", 0, 80), "\ra?txt\x1b[K\r");
  EXPECT_EQ(line_editor::render_line("", "\u0301a", 0, 80), "\r\u25cc\u0301a\x1b[K\r");
}

// The terminal reads no further than a line: what follows may be a password, to be read
// hidden, so it must not be taken as keys (echoed, kept in history) yet.
TEST(LineEditor, FeedCanStopAfterTheFirstLine) {
  line_editor ed;
  std::size_t used = 0;
  EXPECT_EQ(lines_of(ed.feed("/password\rsecret\r", used)), std::vector<std::string>{"/password"});
  EXPECT_EQ(used, 10u);
  EXPECT_EQ(ed.buffer(), "");  // "secret" not typed yet
  // \r\n is one Enter even when the feed stopped between the two.
  EXPECT_EQ(lines_of(ed.feed("one\r\ntwo", used)), std::vector<std::string>{"one"});
  EXPECT_EQ(used, 4u);
  EXPECT_TRUE(lines_of(ed.feed("\ntwo", used)).empty());
  EXPECT_EQ(used, 4u);
  EXPECT_EQ(ed.buffer(), "two");
  // A Ctrl-C that drops a line, and Ctrl-D on an empty one, end a feed too.
  EXPECT_EQ(ed.feed("\x03more", used).size(), 1u);
  EXPECT_EQ(used, 1u);
  EXPECT_EQ(ed.feed("\x04more", used).front().what, kind::eof);
  EXPECT_EQ(used, 1u);
  // Other events do not: a Tab's bell, Ctrl-L.
  EXPECT_EQ(ed.feed("\t\x0cx", used).size(), 2u);
  EXPECT_EQ(used, 3u);
}

TEST(LineEditor, HiddenModeEditsAPasswordItKeepsNowhere) {
  line_editor ed;
  ed.set_candidates({"passage"});
  ed.feed("one\rkilled\x15half");  // history, a kill and a half-typed line to put aside
  ed.begin_hidden();
  EXPECT_TRUE(ed.hidden());
  EXPECT_EQ(ed.buffer(), "");
  EXPECT_EQ(ed.ordinary_buffer(), "half");
  // Editing keys work; Ctrl-Y puts back the hidden kill, not the ordinary one.
  EXPECT_TRUE(ed.feed("pass wrd\x17word\x15\x19").empty());
  EXPECT_EQ(ed.buffer(), "pass word");
  // Tab completes nothing (a bell), Up and Ctrl-P bring no history into it.
  const auto tab = ed.feed("\t" + up + "\x10");
  ASSERT_EQ(tab.size(), 1u);
  EXPECT_EQ(tab[0].what, kind::bell);
  EXPECT_EQ(ed.buffer(), "pass word");
  // A paste is taken, without its line breaks.
  EXPECT_TRUE(ed.feed(paste_begin + "!\r\n" + paste_end).empty());
  EXPECT_EQ(ed.buffer(), "pass word!");
  // Nothing of it is drawn, not even its length.
  EXPECT_EQ(ed.render("Password: ", 80), line_editor::render_line("Password: ", "", 0, 80));
  EXPECT_EQ(lines_of(ed.feed("\r")), std::vector<std::string>{"pass word!"});
  EXPECT_EQ(ed.history(), std::vector<std::string>{"one"});
  ed.end_hidden();
  EXPECT_FALSE(ed.hidden());
  EXPECT_EQ(ed.buffer(), "half");
  EXPECT_EQ(ed.cursor(), 4u);
  ed.feed("\x19");  // the ordinary kill is back
  EXPECT_EQ(ed.buffer(), "halfkilled");
  ed.feed("\x15" + up);
  EXPECT_EQ(ed.buffer(), "one");
}

// A hidden line's prompt is drawn whatever its width: /delete-account's, wider than half the
// row, was not drawn at all below 135 columns (review 14). One wider than the row is cut.
TEST(LineEditor, AHiddenLinesPromptIsAlwaysDrawnCutToTheRowIfNeeded) {
  line_editor ed;
  ed.begin_hidden();
  ed.feed("secret");
  const std::string prompt = "password, to delete the account dave for good (Ctrl-C keeps it): ";
  ASSERT_EQ(prompt.size(), 65u);
  EXPECT_EQ(ed.render(prompt, 100), "\r" + prompt + "\x1b[K\r\x1b[65C");
  EXPECT_EQ(ed.render(prompt, 67), "\r" + prompt + "\x1b[K\r\x1b[65C");
  // 30 columns: 27 of the prompt and the mark; then the cursor, and the last column empty.
  EXPECT_EQ(ed.render(prompt, 30), "\r" + prompt.substr(0, 27) + "\x1b[0m>\x1b[K\r\x1b[28C");
  // Colours take no column and are kept.
  EXPECT_EQ(ed.render("\x1b[1mpw\x1b[0m: ", 30), "\r\x1b[1mpw\x1b[0m: \x1b[K\r\x1b[4C");
}

TEST(LineEditor, CtrlCAndCtrlDCancelAHiddenLine) {
  line_editor ed;
  ed.begin_hidden();
  auto events = ed.feed("secret\x01\x03");  // at the start, where Ctrl-D would delete
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, kind::interrupt);
  EXPECT_EQ(events[0].text, "");
  EXPECT_EQ(ed.buffer(), "");
  events = ed.feed("secret\x01\x04");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].what, kind::eof);
  EXPECT_EQ(ed.buffer(), "");
  ed.feed("secret");
  EXPECT_TRUE(ed.discard());
  ed.end_hidden();
  EXPECT_TRUE(ed.history().empty());
  ed.feed(up);
  EXPECT_EQ(ed.buffer(), "");
}

TEST(LineEditor, AHiddenLineKeepsToTheSizeCap) {
  line_editor ed(500, 8);
  ed.begin_hidden();
  ed.feed("0123456789");
  EXPECT_EQ(ed.buffer(), "01234567");
  EXPECT_EQ(ed.refused(), 2u);
  ed.set_max_bytes(100);  // raised meanwhile: the hidden text still never outgrows its reserve
  ed.feed("89");
  EXPECT_EQ(ed.buffer(), "01234567");
  ed.end_hidden();
  ed.feed("0123456789");
  EXPECT_EQ(ed.buffer(), "0123456789");
}

}  // namespace
}  // namespace relay::term
