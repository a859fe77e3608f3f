// The terminal client's line editor as a pure state machine: bytes typed in, events and
// screen redraws out, no syscalls, so every key binding is unit-tested without a terminal.
//
// Key bindings: printable UTF-8 inserts; Left/Right, Home/End (Ctrl-A/Ctrl-E, ESC[H, ESC[F,
// ESC[1~, ESC[4~, ESC[7~, ESC[8~, ESCOH, ESCOF) move; Backspace (0x7f, ^H) and Delete (ESC[3~)
// delete one code point; Ctrl-W kills the word before the cursor; Ctrl-U kills to the start,
// Ctrl-K to the end, and Ctrl-Y puts back what the last kill took (Alt-d and Alt-Backspace kill
// too), as in readline but with one kill kept, not a ring; Ctrl-L asks for a redraw (no event, the
// caller redraws after every feed); Enter (\r or \n) gives event line; Up/Down (ESC[A/ESC[B,
// ESCOA/ESCOB) browse history; Ctrl-D on an empty line gives event eof, otherwise deletes at the
// cursor; Ctrl-C on an empty line gives event eof too, otherwise event discard (the line goes to
// history, as discard() does); Tab completes a candidate name (`bo` -> `bob:` at the start of the
// line, `bob ` after /msg, /accept and /verify, `bob` elsewhere; a word starting with '/' at the
// start of the line completes from set_commands(), `/ms` -> `/msg `; several matches complete their
// common prefix and a second Tab lists them; a Tab that adds nothing gives event bell). Other
// escape sequences (CSI ... final byte, SS3 x, ESC x) are swallowed whole, never inserted.
//
// Paste policy: a bracketed paste (ESC[200~ ... ESC[201~, which the terminal sends when the
// client enabled it) is inserted as-is: its line breaks (\r\n, \r, \n, all normalised to \n)
// stay inside the buffer, so a multi-line paste becomes ONE message, sent on the next Enter.
// Control characters other than \n and \t are dropped from a paste; a paste that would not fit
// under the size cap is refused whole (never half inserted). Without bracketed paste (a terminal
// that does not support it) every line break in the pasted text is an Enter and sends a line.
//
// render() counts columns as terminals do (text_width.hpp): CJK and emoji take two, combining
// marks none and move with their base character. Limitations: the buffer is capped (64 KiB by
// default) and input beyond the cap is refused (counted in refused()). A lone Escape key waits for
// the next byte and swallows it as an Alt-key (Alt-b/f move by word, Alt-d and Alt-Backspace delete
// words). Also bound: Ctrl-B/Ctrl-F (left/right), Ctrl-P/Ctrl-N (history), Ctrl-Left/Ctrl-Right
// (words), Ctrl-L (clear the screen, keeping the line).
//
// Hidden mode (begin_hidden/end_hidden) reads a password: drawn as nothing, kept nowhere.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace relay::term {

class line_editor {
 public:
  static constexpr std::size_t default_max_bytes = 64 * 1024;

  explicit line_editor(std::size_t history_limit = 500);
  line_editor(std::size_t history_limit, std::size_t max_bytes);

  struct event {
    // list: text is completion candidates to show above the line; clear: Ctrl-L; bell: a Tab
    // that completed nothing (no match, or several with nothing in common yet); discard: Ctrl-C
    // dropped the half-typed line in text (it is in history now).
    /// interrupt: Ctrl-C (as a key) on an empty line; the terminal treats it as eof unless
    /// told otherwise (interactive_terminal::ctrl_c).
    enum class kind { line, eof, list, clear, bell, discard, interrupt };
    kind what;
    std::string text;
  };

  /// Feeds bytes read from the terminal (any split: escape sequences and UTF-8 may arrive in
  /// pieces; an incomplete sequence waits for the next feed).
  std::vector<event> feed(std::string_view bytes);
  /// feed(), stopping after the byte that ends the line being typed (an event line, discard,
  /// eof or interrupt); `used` is set to the bytes taken. The rest are the caller's to keep
  /// for the next feed, once it knows how they are to be read (a password after "/password").
  std::vector<event> feed(std::string_view bytes, std::size_t& used);
  /// What is being typed: in hidden mode the hidden text (never to be shown).
  const std::string& buffer() const noexcept;
  /// The ordinary line: buffer(), or in hidden mode the line put aside until it ends.
  const std::string& ordinary_buffer() const noexcept;
  /// Hidden mode, for a password: the line being typed (buffer, cursor, history position,
  /// last kill) is put aside and an empty one started; render() draws the prompt alone; Enter
  /// gives event line without keeping it in history; Ctrl-C and Ctrl-D give event interrupt and
  /// eof whatever was typed (cancelled); Tab rings the bell; Up/Down (Ctrl-P/N) do nothing; a
  /// bracketed paste is inserted without its line breaks (a password manager's paste). The
  /// editing keys work as usual, and Ctrl-Y puts back only what was killed in hidden mode.
  /// Allocates max_bytes() for the text up front, so it is never copied as it grows.
  void begin_hidden();
  /// Wipes (explicit_bzero) the hidden text wherever the editor kept it (buffer, kill, paste,
  /// partial UTF-8 or escape sequence) and puts the ordinary line back as it was. Escape and
  /// Enter state carry over (an escape sequence split across reads, \r\n as one Enter).
  void end_hidden() noexcept;
  bool hidden() const noexcept { return hidden_; }
  std::size_t cursor() const noexcept;  // byte offset into buffer(), always on a UTF-8 boundary
  /// Drops the half-typed line (Ctrl-C), keeping it as the newest history entry so that Up
  /// brings it back (in hidden mode it is wiped, and kept nowhere); false if there was nothing
  /// to drop.
  bool discard();
  /// Names offered by Tab completion (online users); replaced wholesale.
  void set_candidates(std::vector<std::string> names);
  /// Words starting with '/' that Tab completes at the start of the line (`/ms` -> `/msg `).
  void set_commands(std::vector<std::string> commands);
  /// A console's commands: words without '/' (`ki` -> `kick `). The first word of a line, and
  /// the word after `help`, complete from set_commands(); every completion ends in a space
  /// (`kick al` -> `kick alice `), since names there are arguments, not `bob:` messages.
  void set_bare_commands(bool bare) noexcept { bare_commands_ = bare; }
  /// Bytes that redraw prompt + visible part of the line from column 0 of the current row,
  /// clear the rest of the row and leave the cursor where it is in the buffer (in hidden mode,
  /// after the prompt: nothing of the line, not even its length, is drawn).
  std::string render(std::string_view prompt, std::size_t width) const;

  /// render() for any text: `prompt` + `text` with the cursor at byte `cursor` (also used to
  /// leave a submitted line on screen as it was typed). `prompt` may hold CSI colour sequences
  /// (they take no column).
  static std::string render_line(std::string_view prompt, std::string_view text, std::size_t cursor,
                                 std::size_t width);
  /// `text` as render_line shows it, whole and without cursor movements: line breaks as ⏎,
  /// tabs as ⇥, control characters in caret notation.
  static std::string shown(std::string_view text);
  /// Columns `s` takes on screen: code points, not counting CSI sequences (a styled prompt).
  static std::size_t columns_of(std::string_view s);
  /// Input bytes refused so far because the buffer was full (the shell rings the bell).
  std::size_t refused() const noexcept { return refused_; }
  /// History, oldest first (for tests and a future /history).
  const std::vector<std::string>& history() const noexcept { return history_; }
  std::size_t max_bytes() const noexcept { return max_bytes_; }
  /// Lowers (or raises) the cap for what is typed or pasted from now on.
  void set_max_bytes(std::size_t n) noexcept { max_bytes_ = n; }

 private:
  // In a paste only: `string` is an OSC/DCS/APC/PM/SOS body (to BEL or the next ESC), `nf`
  // an nF escape's intermediates (ESC ( B): both dropped whole, never left as text.
  enum class state { ground, esc, csi, ss3, string, nf };

  struct ordinary_line {  // what begin_hidden() puts aside
    std::string buffer;
    std::size_t cursor = 0;
    std::size_t history_pos = 0;
    std::string saved_line;
    std::string killed;
  };

  std::vector<event> feed(std::string_view bytes, bool to_line_end, std::size_t& used);
  bool utf8_byte(unsigned char u, bool paste);
  void key_byte(char c, bool after_cr, std::vector<event>& out);
  void alt_key(char c);
  void paste_byte(char c, bool after_cr);
  void paste_append(std::string_view text);
  void csi_done(char final_byte, std::vector<event>& out);
  void ss3_done(char final_byte, std::vector<event>& out);
  /// The cap on the buffer and a paste: max_bytes(), and in hidden mode what was reserved.
  std::size_t limit() const noexcept {
    return hidden_ && hidden_limit_ < max_bytes_ ? hidden_limit_ : max_bytes_;
  }
  bool insert(std::string_view text);
  void erase(std::size_t from, std::size_t to);
  /// erase(), keeping what it took for Ctrl-Y.
  void kill(std::size_t from, std::size_t to);
  std::string take_line();  // empties the buffer into history
  void submit(std::vector<event>& out);
  void complete(std::vector<event>& out);
  void history_up();
  void history_down();
  std::size_t word_left(std::size_t pos) const noexcept;
  std::size_t word_right(std::size_t pos) const noexcept;
  std::size_t prev_boundary(std::size_t pos) const noexcept;
  std::size_t next_boundary(std::size_t pos) const noexcept;
  /// The code point at `pos` is a combining mark (or the like) that joins the one before.
  bool joins_at(std::size_t pos) const noexcept;

  std::size_t history_limit_;
  std::size_t max_bytes_;
  std::string buffer_;
  std::size_t cursor_ = 0;
  std::vector<std::string> candidates_;
  std::vector<std::string> commands_;
  bool bare_commands_ = false;
  std::vector<std::string> history_;
  std::size_t history_pos_ = 0;  // == history_.size(): editing the in-progress line
  std::string saved_line_;       // the in-progress line while browsing history
  std::string killed_;           // what the last Ctrl-W/U/K (or Alt-d/Backspace) took: Ctrl-Y
  state state_ = state::ground;
  std::string seq_;   // parameter bytes of the escape sequence being read
  std::string utf8_;  // an incomplete UTF-8 sequence typed so far
  bool pasting_ = false;
  bool last_was_tab_ = false;
  bool after_cr_ = false;  // the last byte was \r, so a following \n is the same line break
  std::string paste_;      // bracketed paste collected until ESC[201~, inserted whole
  bool paste_overflow_ = false;
  std::size_t refused_ = 0;
  bool hidden_ = false;
  std::size_t hidden_limit_ = 0;  // what begin_hidden() reserved: hidden text never outgrows it
  ordinary_line aside_;           // in hidden mode: the ordinary line, back at end_hidden()
};

}  // namespace relay::term
