// The line editor state machine: a byte-at-a-time decoder for keys, escape sequences, UTF-8 and
// bracketed paste, editing one buffer with history and Tab completion.
#include "relay/term/line_editor.hpp"

#include <string.h>  // explicit_bzero

#include <algorithm>
#include <utility>

#include "relay/term/text_width.hpp"
#include "relay/util/utf8.hpp"

namespace relay::term {
namespace {

constexpr char esc = '\x1b';
// Longest escape-sequence parameter kept; longer ones are still swallowed up to the final byte.
constexpr std::size_t max_sequence = 32;

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

/// Length of the UTF-8 sequence a lead byte starts; 0 for a byte that cannot start one.
std::size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

/// The second byte's range rules out overlong forms, surrogates and code points past U+10FFFF.
bool valid_second(unsigned char lead, unsigned char c) {
  switch (lead) {
    case 0xE0:
      return c >= 0xA0 && c <= 0xBF;
    case 0xED:
      return c >= 0x80 && c <= 0x9F;
    case 0xF0:
      return c >= 0x90 && c <= 0xBF;
    case 0xF4:
      return c >= 0x80 && c <= 0x8F;
    default:
      return is_continuation(c);
  }
}

/// Zeroes all of `s`, the bytes past its size up to its capacity too (where erased text
/// stays), in a way the compiler cannot elide, and leaves it empty.
void wipe(std::string& s) noexcept {
  s.resize(s.capacity());  // within the capacity: no reallocation, so it cannot throw
  ::explicit_bzero(s.data(), s.size());
  s.clear();
}

/// wipe(), then gives the memory back.
void wipe_and_free(std::string& s) noexcept {
  wipe(s);
  s.shrink_to_fit();
}

/// The events after which feed(bytes, used) stops: the line being typed is over.
bool ends_line(line_editor::event::kind k) {
  using kind = line_editor::event::kind;
  return k == kind::line || k == kind::discard || k == kind::eof || k == kind::interrupt;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n'; }

/// True if the character at text[pos] follows a zero-width joiner (U+200D, E2 80 8D): the
/// next part of one emoji (👨‍👩‍👧), which the cursor crosses with the rest.
bool after_zwj(std::string_view text, std::size_t pos) {
  return pos >= 3 && text.substr(pos - 3, 3) == "\xE2\x80\x8D";
}

bool is_regional_indicator(char32_t cp) { return cp >= 0x1F1E6 && cp <= 0x1F1FF; }

/// True if text[pos] is a character that makes one emoji with the one before it: a skin tone
/// (👍🏽, U+1F3FB..U+1F3FF), or the second letter of a flag (🇩🇪: a regional indicator
/// after an odd run of them). Backspace and the arrows took them apart (review 14).
bool joins_emoji(std::string_view text, std::size_t pos) {
  if (pos == 0) return false;
  const auto [cp, n] = util::utf8_at(text, pos);
  if (n != 4) return false;
  if (cp >= 0x1F3FB && cp <= 0x1F3FF) return true;
  if (!is_regional_indicator(cp)) return false;
  std::size_t run = 0;
  for (std::size_t p = pos; p >= 4; p -= 4) {
    const auto [before, m] = util::utf8_at(text, p - 4);
    if (m != 4 || !is_regional_indicator(before)) break;
    ++run;
  }
  return run % 2 == 1;
}

/// Characters that end a name being completed: `bob:hi al<Tab>`, `al,bo<Tab>`, `@bo<Tab>`.
bool is_word_delimiter(char c) { return is_space(c) || c == ':' || c == ',' || c == '@'; }

/// Columns a prompt takes: code points, not counting escape sequences (colours).
std::size_t prompt_columns(std::string_view prompt) {
  std::size_t cols = 0;
  for (std::size_t i = 0; i < prompt.size();) {
    const auto c = static_cast<unsigned char>(prompt[i]);
    if (c == static_cast<unsigned char>(esc)) {
      i += escape_length(prompt, i);
      continue;
    }
    if (!is_continuation(c) && c >= 0x20 && c != 0x7f) ++cols;
    ++i;
  }
  return cols;
}

/// A hidden line's prompt on a row of `width` columns: whole if it fits with the cursor after
/// it, else cut where it would not and marked '>', colour sequences kept (they take none).
std::string hidden_prompt_row(std::string_view prompt, std::size_t width) {
  // The last column stays empty (pending wrap), and the cursor takes one after the prompt.
  const std::size_t room = width > 2 ? width - 2 : 1;
  std::string out;
  std::size_t cols = 0;
  const bool cut = prompt_columns(prompt) > room;
  for (std::size_t i = 0; i < prompt.size();) {
    const auto c = static_cast<unsigned char>(prompt[i]);
    if (c == static_cast<unsigned char>(esc)) {
      const std::size_t n = escape_length(prompt, i);
      out.append(prompt.substr(i, n));
      i += n;
      continue;
    }
    const bool counts = !is_continuation(c) && c >= 0x20 && c != 0x7f;
    if (counts && cut && cols + 1 >= room) break;  // one column left for the mark
    if (counts) ++cols;
    out += prompt[i++];
  }
  if (cut) {
    out += "\x1b[0m>";  // a colour cut short ends here
    ++cols;
  }
  std::string row = "\r" + out + "\x1b[K\r";
  if (cols > 0) row += "\x1b[" + std::to_string(cols) + "C";
  return row;
}

struct cell {
  std::size_t at;  // byte offset of the code point in the text
  std::string shown;
  std::size_t cols;
  bool text = false;  // a printable character, which combining marks may join
};

/// One cell per character: printable ones as they are, taking the columns a terminal gives
/// them (2 for CJK and emoji), with the combining marks that follow them; a line break as ⏎,
/// a tab as ⇥, other control characters in caret notation, bytes that are not UTF-8 and
/// bidi controls as '?', so nothing typed or pasted can move the terminal's cursor, change
/// its state or reorder what is shown.
std::vector<cell> layout(std::string_view text) {
  std::vector<cell> cells;
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      cells.push_back({i, "\u23ce", 1});
      ++i;
    } else if (c == '\t') {
      cells.push_back({i, "\u21e5", 1});
      ++i;
    } else if (c < 0x20 || c == 0x7f) {
      cells.push_back({i, std::string{'^', static_cast<char>(c == 0x7f ? '?' : c + 0x40)}, 2});
      ++i;
    } else {
      const auto [cp, n] = util::utf8_at(text, i);
      if (n == 0 || util::is_c1_control(cp)) {
        cells.push_back({i, "?", 1});
        i += n == 0 ? 1 : n;
      } else {
        const std::string_view bytes = text.substr(i, n);
        if (is_bidi_control(cp)) {
          cells.push_back({i, "?", 1});
        } else if (joins_previous(cp) && !cells.empty() && cells.back().text) {
          cells.back().shown += bytes;
        } else if ((after_zwj(text, i) || joins_emoji(text, i)) && !cells.empty() &&
                   cells.back().text) {
          // 👨‍👩‍👧 moves and goes as one, with the columns its parts take.
          cells.back().shown += bytes;
          cells.back().cols += static_cast<std::size_t>(columns(cp));
        } else if (joins_previous(cp)) {
          cells.push_back({i, "\u25cc" + std::string(bytes), 1, true});  // on a dotted circle
        } else {
          cells.push_back({i, std::string(bytes), static_cast<std::size_t>(columns(cp)), true});
        }
        i += n;
      }
    }
  }
  return cells;
}

}  // namespace

line_editor::line_editor(std::size_t history_limit)
    : line_editor(history_limit, default_max_bytes) {}

line_editor::line_editor(std::size_t history_limit, std::size_t max_bytes)
    : history_limit_(history_limit), max_bytes_(max_bytes) {}

const std::string& line_editor::buffer() const noexcept { return buffer_; }

const std::string& line_editor::ordinary_buffer() const noexcept {
  return hidden_ ? aside_.buffer : buffer_;
}

void line_editor::begin_hidden() {
  if (hidden_) return;
  // Reserved before anything is put aside: a bad_alloc leaves the editor as it was.
  std::string text;
  text.reserve(max_bytes_);
  std::string killed;
  killed.reserve(max_bytes_);
  std::string paste;
  paste.reserve(max_bytes_);
  paste.append(paste_);  // (a paste under way, cut short by a stop; rare)
  hidden_limit_ = max_bytes_;
  aside_.buffer = std::exchange(buffer_, std::move(text));
  aside_.cursor = std::exchange(cursor_, 0);
  aside_.history_pos = history_pos_;
  aside_.saved_line = std::move(saved_line_);
  saved_line_.clear();
  aside_.killed = std::exchange(killed_, std::move(killed));
  paste_ = std::move(paste);
  last_was_tab_ = false;
  hidden_ = true;
}

void line_editor::end_hidden() noexcept {
  if (!hidden_) return;
  hidden_ = false;
  wipe_and_free(buffer_);
  wipe_and_free(killed_);
  wipe_and_free(paste_);
  wipe(utf8_);
  wipe(seq_);
  // A hidden paste cut short (by the caller's stop): what is left of it is refused, not
  // shown on the ordinary line.
  paste_overflow_ = pasting_;
  buffer_ = std::move(aside_.buffer);
  cursor_ = aside_.cursor;
  history_pos_ = std::min(aside_.history_pos, history_.size());
  saved_line_ = std::move(aside_.saved_line);
  killed_ = std::move(aside_.killed);
  aside_ = {};
  last_was_tab_ = false;
}

std::size_t line_editor::cursor() const noexcept { return cursor_; }

void line_editor::set_candidates(std::vector<std::string> names) { candidates_ = std::move(names); }

void line_editor::set_commands(std::vector<std::string> commands) {
  commands_ = std::move(commands);
}

std::vector<line_editor::event> line_editor::feed(std::string_view bytes) {
  std::size_t used = 0;
  return feed(bytes, false, used);
}

std::vector<line_editor::event> line_editor::feed(std::string_view bytes, std::size_t& used) {
  return feed(bytes, true, used);
}

std::vector<line_editor::event> line_editor::feed(std::string_view bytes, bool to_line_end,
                                                  std::size_t& used) {
  std::vector<event> out;
  std::size_t seen = 0;  // events already looked at for one that ends the line
  for (used = 0; used < bytes.size(); ++used) {
    if (to_line_end) {
      if (std::any_of(out.begin() + static_cast<std::ptrdiff_t>(seen), out.end(),
                      [](const event& e) { return ends_line(e.what); })) {
        break;
      }
      seen = out.size();
    }
    const char c = bytes[used];
    const auto u = static_cast<unsigned char>(c);
    const bool after_cr = std::exchange(after_cr_, false);
    if (!(state_ == state::ground && !pasting_ && c == '\t')) last_was_tab_ = false;
    switch (state_) {
      case state::esc:
        if (c == '[') {
          state_ = state::csi;
          seq_.clear();
        } else if (c == 'O') {
          state_ = state::ss3;
        } else if (pasting_ && (c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X')) {
          state_ = state::string;  // a pasted window title or the like: none of it is text
        } else if (pasting_ && u >= 0x20 && u <= 0x2f) {
          state_ = state::nf;
        } else if (pasting_ && (c == '\r' || c == '\n' || c == '\t')) {
          state_ = state::ground;  // a stray ESC before a line break: the break is kept
          paste_byte(c, after_cr);
        } else if (c != esc) {  // ESC ESC: the first one was a lone Escape key
          state_ = state::ground;
          if (!pasting_) alt_key(c);
        }
        continue;
      case state::csi:
        if (u >= 0x20 && u <= 0x3f) {
          if (seq_.size() < max_sequence) seq_.push_back(c);
          continue;
        }
        state_ = state::ground;
        if (u >= 0x40 && u <= 0x7e) {
          csi_done(c, out);
          continue;
        }
        break;  // a control byte cuts the sequence short and counts as typed
      case state::ss3:
        state_ = state::ground;
        if (!pasting_) ss3_done(c, out);
        continue;
      case state::string:
        // Ends at BEL, or at any ESC (ST is ESC \): so the paste's own end, ESC[201~, is
        // always seen, even after a string that never ends. A line break ends it too, and
        // stays: a title left open loses the rest of its line, not the rest of the paste.
        if (c == esc) state_ = state::esc;
        if (c == '\x07') state_ = state::ground;
        if (c == '\r' || c == '\n') {
          state_ = state::ground;
          paste_byte(c, after_cr);
        }
        continue;
      case state::nf:
        if (c == esc) {
          state_ = state::esc;
        } else if (u < 0x20 || u > 0x2f) {
          state_ = state::ground;  // the final byte (or anything else) ends it
        }
        continue;
      case state::ground:
        break;
    }
    if (pasting_) {
      paste_byte(c, after_cr);
    } else {
      key_byte(c, after_cr, out);
    }
  }
  return out;
}

bool line_editor::utf8_byte(unsigned char u, bool paste) {
  if (!utf8_.empty()) {
    const auto lead = static_cast<unsigned char>(utf8_[0]);
    if (utf8_.size() == 1 ? valid_second(lead, u) : is_continuation(u)) {
      utf8_.push_back(static_cast<char>(u));
      if (utf8_.size() == utf8_length(lead)) {
        // C1 control characters (U+0080..U+009F) are dropped like the C0 ones. In a paste,
        // the 8-bit CSI and string starters take what follows with them, as ESC [ and ESC ]
        // do: no "31m" or "0;title" is left behind.
        const auto second = static_cast<unsigned char>(utf8_[1]);
        const bool c1 = lead == 0xC2 && second < 0xA0;
        if (!c1) paste ? paste_append(utf8_) : static_cast<void>(insert(utf8_));
        if (c1 && paste && second == 0x9B) {
          state_ = state::csi;
          seq_.clear();
        } else if (c1 && paste &&
                   (second == 0x9D || second == 0x90 || second == 0x9E || second == 0x9F ||
                    second == 0x98)) {
          state_ = state::string;
        }
        utf8_.clear();
      }
      return true;
    }
    utf8_.clear();  // a broken sequence is dropped; this byte starts afresh
  }
  if (u < 0x80) return false;
  if (utf8_length(u) != 0) utf8_.push_back(static_cast<char>(u));
  return true;  // a stray continuation or invalid byte is dropped
}

void line_editor::key_byte(char c, bool after_cr, std::vector<event>& out) {
  const auto u = static_cast<unsigned char>(c);
  if (utf8_byte(u, false)) return;
  switch (c) {
    case '\r':
      submit(out);
      after_cr_ = true;
      return;
    case '\n':
      if (!after_cr) submit(out);  // \r\n is one Enter
      return;
    case esc:
      state_ = state::esc;
      return;
    case '\x01':  // Ctrl-A
      cursor_ = 0;
      return;
    case '\x05':  // Ctrl-E
      cursor_ = buffer_.size();
      return;
    case '\x02':  // Ctrl-B
      if (cursor_ > 0) cursor_ = prev_boundary(cursor_);
      return;
    case '\x06':  // Ctrl-F
      if (cursor_ < buffer_.size()) cursor_ = next_boundary(cursor_);
      return;
    case '\x7f':
    case '\x08':
      if (cursor_ > 0) erase(prev_boundary(cursor_), cursor_);
      return;
    case '\x03':  // Ctrl-C (when the terminal gives it to us as a key): drop the line, or leave
      if (hidden_) {
        // A hidden line is cancelled, whatever was typed: nothing of it is handed out.
        wipe(buffer_);
        cursor_ = 0;
        out.push_back({event::kind::interrupt, {}});
      } else if (buffer_.empty()) {
        out.push_back({event::kind::interrupt, {}});
      } else {
        out.push_back({event::kind::discard, buffer_});
        discard();
      }
      return;
    case '\x04':  // Ctrl-D
      if (hidden_) {
        // Cancels a hidden line, as Ctrl-C does.
        wipe(buffer_);
        cursor_ = 0;
        out.push_back({event::kind::eof, {}});
      } else if (buffer_.empty()) {
        out.push_back({event::kind::eof, {}});
      } else if (cursor_ < buffer_.size()) {
        erase(cursor_, next_boundary(cursor_));
      }
      return;
    case '\x17':  // Ctrl-W
      kill(word_left(cursor_), cursor_);
      return;
    case '\x15':  // Ctrl-U
      kill(0, cursor_);
      return;
    case '\x0b':  // Ctrl-K
      kill(cursor_, buffer_.size());
      return;
    case '\x19':  // Ctrl-Y: what the last kill took, at the cursor
      insert(killed_);
      return;
    case '\t':
      if (hidden_) {
        out.push_back({event::kind::bell, {}});  // nothing to complete a password with
      } else {
        complete(out);
      }
      return;
    case '\x10':  // Ctrl-P
      history_up();
      return;
    case '\x0e':  // Ctrl-N
      history_down();
      return;
    case '\x0c':  // Ctrl-L: clear the screen (the line is kept, and redrawn at the top)
      out.push_back({event::kind::clear, {}});
      return;
    default:
      // Other control bytes change nothing: the caller redraws after feed().
      if (u >= 0x20) insert(std::string_view(&c, 1));
      return;
  }
}

void line_editor::alt_key(char c) {
  switch (c) {
    case 'b':
      cursor_ = word_left(cursor_);
      return;
    case 'f':
      cursor_ = word_right(cursor_);
      return;
    case 'd':
      kill(cursor_, word_right(cursor_));
      return;
    case '\x7f':
    case '\x08':
      kill(word_left(cursor_), cursor_);
      return;
    default:
      return;  // other Alt-keys (and whatever followed a lone Escape) are swallowed
  }
}

void line_editor::paste_byte(char c, bool after_cr) {
  const auto u = static_cast<unsigned char>(c);
  if (c == esc) {
    state_ = state::esc;  // only ESC[201~ matters inside a paste; other sequences are dropped
    return;
  }
  if (utf8_byte(u, true)) return;
  // A password has no line breaks; a password manager may paste one after it.
  if (c == '\r') {
    if (!hidden_) paste_append("\n");
    after_cr_ = true;
  } else if (c == '\n') {
    if (!after_cr && !hidden_) paste_append("\n");
  } else if (c == '\t' || (u >= 0x20 && u != 0x7f)) {
    paste_append(std::string_view(&c, 1));
  }
}

void line_editor::paste_append(std::string_view text) {
  if (paste_overflow_ || paste_.size() + text.size() > limit()) {
    paste_overflow_ = true;
    refused_ += text.size();
    return;
  }
  paste_.append(text);
}

void line_editor::csi_done(char final_byte, std::vector<event>& out) {
  if (pasting_) {
    if (final_byte == '~' && seq_ == "201") {
      pasting_ = false;
      utf8_.clear();
      // A paste is inserted whole or not at all: half a paste sent by mistake is worse.
      if (paste_overflow_) {
        refused_ += paste_.size();
      } else {
        insert(paste_);
      }
      paste_.clear();
      paste_overflow_ = false;
    }
    return;
  }
  if (final_byte == '~') {
    if (seq_ == "200") {
      pasting_ = true;
      utf8_.clear();
      paste_.clear();
      paste_overflow_ = false;
    } else if (seq_ == "1" || seq_ == "7") {
      cursor_ = 0;
    } else if (seq_ == "4" || seq_ == "8") {
      cursor_ = buffer_.size();
    } else if (seq_ == "3") {
      if (cursor_ < buffer_.size()) erase(cursor_, next_boundary(cursor_));
    }
    return;
  }
  // Plain keys carry no parameter or a modifier ("1;5" for Ctrl); private sequences (mouse,
  // focus reports) start with one of <=>? and are ignored.
  if (!std::all_of(seq_.begin(), seq_.end(),
                   [](char p) { return (p >= '0' && p <= '9') || p == ';'; })) {
    return;
  }
  const auto semicolon = seq_.find(';');
  const std::string_view modifier = semicolon == std::string::npos
                                        ? std::string_view{}
                                        : std::string_view(seq_).substr(semicolon + 1);
  const bool by_word = modifier == "5" || modifier == "3";  // Ctrl or Alt
  switch (final_byte) {
    case 'C':
      if (by_word) {
        cursor_ = word_right(cursor_);
        return;
      }
      break;
    case 'D':
      if (by_word) {
        cursor_ = word_left(cursor_);
        return;
      }
      break;
    default:
      break;
  }
  ss3_done(final_byte, out);
}

void line_editor::ss3_done(char final_byte, std::vector<event>& /*out*/) {
  switch (final_byte) {
    case 'A':
      history_up();
      return;
    case 'B':
      history_down();
      return;
    case 'C':
      if (cursor_ < buffer_.size()) cursor_ = next_boundary(cursor_);
      return;
    case 'D':
      if (cursor_ > 0) cursor_ = prev_boundary(cursor_);
      return;
    case 'H':
      cursor_ = 0;
      return;
    case 'F':
      cursor_ = buffer_.size();
      return;
    default:
      return;  // unknown keys are swallowed
  }
}

bool line_editor::insert(std::string_view text) {
  if (buffer_.size() + text.size() > limit()) {
    refused_ += text.size();
    return false;
  }
  buffer_.insert(cursor_, text);
  cursor_ += text.size();
  return true;
}

void line_editor::erase(std::size_t from, std::size_t to) {
  buffer_.erase(from, to - from);
  cursor_ = from;
}

void line_editor::kill(std::size_t from, std::size_t to) {
  if (from == to) return;  // nothing taken: the last kill stays for Ctrl-Y
  killed_.assign(buffer_, from, to - from);
  erase(from, to);
}

std::string line_editor::take_line() {
  if (hidden_) {
    // A copy, on the heap even when short (past the 15 bytes a string holds in itself), so
    // moving it on to the caller leaves no copy behind; the buffer (reserved, never
    // reallocated) is wiped. No history.
    std::string line;
    line.reserve(std::max<std::size_t>(buffer_.size(), 32));
    line.append(buffer_);
    wipe(buffer_);
    wipe(utf8_);
    cursor_ = 0;
    return line;
  }
  std::string line = std::move(buffer_);
  buffer_.clear();
  cursor_ = 0;
  utf8_.clear();
  const bool blank = line.find_first_not_of(" \t") == std::string::npos;  // invisible on Up
  if (!blank && history_limit_ > 0 && (history_.empty() || history_.back() != line)) {
    history_.push_back(line);
    if (history_.size() > history_limit_) history_.erase(history_.begin());
  }
  history_pos_ = history_.size();
  saved_line_.clear();
  return line;
}

void line_editor::submit(std::vector<event>& out) {
  out.push_back({event::kind::line, take_line()});
}

bool line_editor::discard() {
  if (buffer_.empty()) return false;
  if (hidden_) {
    wipe(buffer_);
    cursor_ = 0;
    return true;
  }
  take_line();
  return true;
}

void line_editor::history_up() {
  if (hidden_ || history_pos_ == 0) return;
  if (history_pos_ == history_.size()) saved_line_ = buffer_;
  --history_pos_;
  buffer_ = history_[history_pos_];
  cursor_ = buffer_.size();
}

void line_editor::history_down() {
  if (hidden_ || history_pos_ >= history_.size()) return;
  ++history_pos_;
  buffer_ =
      history_pos_ == history_.size() ? std::exchange(saved_line_, {}) : history_[history_pos_];
  cursor_ = buffer_.size();
}

void line_editor::complete(std::vector<event>& out) {
  const bool second_tab = std::exchange(last_was_tab_, true);
  std::size_t start = cursor_;
  while (start > 0 && !is_word_delimiter(buffer_[start - 1])) --start;
  const std::string word = buffer_.substr(start, cursor_ - start);
  std::string_view before(buffer_.data(), start);
  while (!before.empty() && is_space(before.back())) before.remove_suffix(1);
  // In any case, as commands are typed (`DE` finds `delete`, review 12); the typed letters
  // then take the candidate's case (ASCII only: the same bytes, so nothing moves).
  const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
  const auto same = [&](std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [&](char x, char y) { return lower(x) == lower(y); });
  };
  // `/ms` at the start of the line is a command being typed, not a name; at a console any
  // first word is, and so is the word after `help` (`HELP` too, review 13).
  const bool command = bare_commands_
                           ? start == 0 || (same(before, "help") && before.size() < start)
                           : start == 0 && !word.empty() && word.front() == '/';

  std::vector<std::string> matches;
  for (const auto& name : command ? commands_ : candidates_) {
    if (name.size() >= word.size() &&
        std::equal(word.begin(), word.end(), name.begin(),
                   [&](char a, char b) { return lower(a) == lower(b); })) {
      matches.push_back(name);
    }
  }
  std::sort(matches.begin(), matches.end());
  matches.erase(std::unique(matches.begin(), matches.end()), matches.end());
  if (matches.empty()) {
    out.push_back({event::kind::bell, {}});
    return;
  }

  if (matches.size() == 1) {
    // What follows the name depends on where it is: `bob:` starts a message, `/msg bob ` takes
    // the text next, inside a message the name is just a word.
    std::string suffix;
    if (command || bare_commands_) {
      suffix = " ";
    } else if (start == 0) {
      suffix = ":";
    } else {
      if (before.size() < start &&
          (before == "/msg" || before == "/accept" || before == "/verify")) {
        suffix = " ";
      }
    }
    buffer_.replace(start, word.size(), matches.front(), 0, word.size());
    if (!insert(std::string_view(matches.front()).substr(word.size()))) return;
    if (!suffix.empty()) {
      if (buffer_.compare(cursor_, suffix.size(), suffix) == 0) {
        cursor_ += suffix.size();
      } else {
        insert(suffix);
      }
    }
    return;
  }

  if (second_tab) {
    std::string list;
    for (const auto& m : matches) {
      if (!list.empty()) list.push_back(' ');
      list += m;
    }
    out.push_back({event::kind::list, std::move(list)});
    return;
  }
  // Sorted, so the common prefix of all is the common prefix of the first and last.
  const std::string& first = matches.front();
  const std::string& last = matches.back();
  std::size_t common = 0;
  while (common < first.size() && common < last.size() && first[common] == last[common]) ++common;
  // Never stop inside a UTF-8 sequence.
  while (common > word.size() && common < first.size() &&
         is_continuation(static_cast<unsigned char>(first[common]))) {
    --common;
  }
  if (common > word.size()) {
    buffer_.replace(start, word.size(), first, 0, word.size());
    insert(std::string_view(first).substr(word.size(), common - word.size()));
  } else {
    out.push_back({event::kind::bell, {}});  // a second Tab lists them
  }
}

// The cursor moves, and Backspace and Delete remove, one character: a code point with the
// combining marks after it (e + U+0301 is one é on screen, and one step).
std::size_t line_editor::prev_boundary(std::size_t pos) const noexcept {
  std::size_t p = pos;
  do {
    --p;
    while (p > 0 && is_continuation(static_cast<unsigned char>(buffer_[p]))) --p;
  } while (p > 0 && joins_at(p));
  return p;
}

std::size_t line_editor::next_boundary(std::size_t pos) const noexcept {
  std::size_t p = pos;
  do {
    ++p;
    while (p < buffer_.size() && is_continuation(static_cast<unsigned char>(buffer_[p]))) ++p;
  } while (p < buffer_.size() && joins_at(p));
  return p;
}

bool line_editor::joins_at(std::size_t pos) const noexcept {
  const auto [cp, n] = util::utf8_at(buffer_, pos);
  return (n > 1 && joins_previous(cp)) || after_zwj(buffer_, pos) || joins_emoji(buffer_, pos);
}

std::size_t line_editor::word_left(std::size_t pos) const noexcept {
  while (pos > 0 && is_space(buffer_[pos - 1])) --pos;
  while (pos > 0 && !is_space(buffer_[pos - 1])) --pos;
  return pos;
}

std::size_t line_editor::word_right(std::size_t pos) const noexcept {
  while (pos < buffer_.size() && is_space(buffer_[pos])) ++pos;
  while (pos < buffer_.size() && !is_space(buffer_[pos])) ++pos;
  return pos;
}

std::string line_editor::render(std::string_view prompt, std::size_t width) const {
  // Nothing typed is drawn, so the prompt has the row to itself: render_line leaves out a
  // prompt wider than half the row, and /delete-account's went unseen below 135 columns, so
  // chat lines were typed into it as its password (review 14).
  if (hidden_) return hidden_prompt_row(prompt, width);
  return render_line(prompt, buffer_, cursor_, width);
}

std::string line_editor::shown(std::string_view text) {
  std::string out;
  for (const auto& c : layout(text)) out += c.shown;
  return out;
}

std::size_t line_editor::columns_of(std::string_view s) { return prompt_columns(s); }

std::string line_editor::render_line(std::string_view prompt, std::string_view text,
                                     std::size_t cursor, std::size_t width) {
  const std::vector<cell> cells = layout(text);
  const std::size_t n = cells.size();
  std::vector<std::size_t> column(n + 1, 0);  // column[i]: columns taken by cells[0..i)
  std::size_t k = n;                          // the cell under the cursor
  for (std::size_t i = 0; i < n; ++i) {
    column[i + 1] = column[i] + cells[i].cols;
    if (k == n && cells[i].at >= cursor) k = i;
  }

  // The last column stays empty: writing there leaves terminals in a pending-wrap state.
  const std::size_t usable = width > 1 ? width - 1 : 1;
  const std::size_t prompt_cols = prompt_columns(prompt);
  const bool show_prompt = prompt_cols <= usable / 2;  // a huge prompt must not hide the text
  const std::size_t avail = std::max<std::size_t>(usable - (show_prompt ? prompt_cols : 0), 1);

  std::size_t start = 0;
  std::size_t end = n;
  bool left_mark = false;
  bool right_mark = false;
  if (column[n] + 1 > avail) {
    const std::size_t cursor_cols = k < n ? cells[k].cols : 1;
    const auto fits = [&](std::size_t s) {
      return (s > 0 ? 1 : 0) + (column[k] - column[s]) + cursor_cols + 1 <= avail;
    };
    // The window moves by thirds of its width, so it stays put while the cursor moves inside
    // it, and the cursor keeps some text visible on both sides.
    const std::size_t step = std::max<std::size_t>(avail / 3, 1);
    const std::size_t x = column[k];
    const std::size_t start_col = x / step >= 1 ? (x / step - 1) * step : 0;
    while (start < k && column[start] < start_col) ++start;
    while (start < k && !fits(start)) ++start;
    left_mark = start > 0;
    const std::size_t room = avail - (left_mark ? 1 : 0);
    std::size_t used = 0;
    end = start;
    while (end < n && used + cells[end].cols <= room) used += cells[end++].cols;
    if (end < n) {
      right_mark = true;
      while (end > start && used + 1 > room) used -= cells[--end].cols;
    }
  }

  std::string out = "\r";
  if (show_prompt) out += prompt;
  if (left_mark) out += '<';
  for (std::size_t i = start; i < end; ++i) out += cells[i].shown;
  if (right_mark) out += '>';
  out += "\x1b[K\r";
  const std::size_t col =
      (show_prompt ? prompt_cols : 0) + (left_mark ? 1 : 0) + column[k] - column[start];
  if (col > 0) out += "\x1b[" + std::to_string(col) + "C";
  return out;
}

}  // namespace relay::term
