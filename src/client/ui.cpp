// Rendering of client events (styled, plain, JSON) and the thread-safe writer around it.
#include "relay/client/ui.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "relay/client/display.hpp"
#include "relay/term/terminal.hpp"
#include "relay/term/text_width.hpp"
#include "relay/term/wrap.hpp"

namespace relay::client {
namespace {

constexpr std::string_view reset = "\x1b[0m";
constexpr std::string_view dim = "\x1b[2m";
constexpr std::string_view bold_red = "\x1b[1;31m";
constexpr std::string_view red = "\x1b[31m";
// Continuation lines of a multi-line message: no sender name or notice starts with a space.
constexpr std::string_view continuation = "  | ";
constexpr std::size_t stamp_width = 6;  // "HH:MM "
constexpr std::string_view key_changed_mark = "(KEY CHANGED, not accepted)";

std::string sgr(std::string_view code, std::string_view text, const render_options& o) {
  if (o.style != output_style::styled || text.empty()) return std::string(text);
  std::string s(code);
  s += text;
  s += reset;
  return s;
}

}  // namespace

std::string time_text(std::chrono::system_clock::time_point when, bool local, const char* format) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  if (local)
    ::localtime_r(&t, &tm);
  else
    ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

namespace {

std::string clock_text(std::chrono::system_clock::time_point when, bool local) {
  return time_text(when, local, "%H:%M");
}

/// " (written 14:02)", or with the date when that was another day than `when`; empty when
/// the message did not wait a minute.
std::string written_note(const message_event& e, std::chrono::system_clock::time_point when,
                         bool local) {
  if (!e.written || when - *e.written < std::chrono::minutes(1)) return {};
  const std::string date = time_text(*e.written, local, "%Y-%m-%d");
  return " (written " + (date == time_text(when, local, "%Y-%m-%d") ? "" : date + " ") +
         clock_text(*e.written, local) + ")";
}

std::vector<std::string_view> split_lines(std::string_view s) {
  std::vector<std::string_view> lines;
  while (true) {
    const auto nl = s.find('\n');
    lines.push_back(s.substr(0, nl));
    if (nl == std::string_view::npos) return lines;
    s.remove_prefix(nl + 1);
  }
}

std::string_view level_code(notice_level l) {
  switch (l) {
    case notice_level::warning:
      return bold_red;
    case notice_level::error:
      return red;
    case notice_level::info:
      break;
  }
  return dim;
}

std::string_view level_name(notice_level l) {
  switch (l) {
    case notice_level::warning:
      return "warning";
    case notice_level::error:
      return "error";
    case notice_level::info:
      break;
  }
  return "info";
}

/// Our own status lines: each line neutralised and styled by level; the first one timestamped,
/// the others indented to match (one time per event).
std::string notice_lines(notice_level level, std::string_view text, const std::string& stamp,
                         const render_options& o) {
  std::string out;
  for (auto line : split_lines(text)) {
    if (!out.empty()) out += '\n' + std::string(o.timestamps ? stamp_width : 0, ' ');
    if (out.empty()) out += stamp;
    out += sgr(level_code(level), printable(line), o);
  }
  return out;
}

std::string roster_text(const roster_listing& r, std::size_t name_width = 0) {
  if (r.online.empty()) return "* nobody else is online";
  if (!r.who) {
    std::string s = "* online:";
    // Appended piecewise: GCC 12 at -O2 warns falsely (-Wrestrict) on " " + std::string&&.
    for (std::size_t i = 0; i < r.online.size() && i < online_line_names; ++i) {
      s += ' ';
      s += printable(r.online[i].name);
    }
    // A relay with thousands online would fill screens at every sign-in: /who lists them.
    if (r.online.size() > online_line_names) {
      s += " and ";
      s += std::to_string(r.online.size() - online_line_names);
      s += " more (";
      s += std::to_string(r.online.size());
      s += " others online; /who lists them all)";  // "online:" names the others
    }
    return s;
  }
  std::string s;
  for (const auto& e : r.online) {
    if (!s.empty()) s += '\n';
    const std::string name = printable(e.name);
    s += "* " + name + std::string(name_width > name.size() ? name_width - name.size() : 0, ' ') +
         "  key " + e.key.short_form + "  " + e.trust;
  }
  return s;
}

/// Notice text for programs: without the "* " or "! " marker people read.
std::string json_notice_text(std::string_view text) {
  if (text.size() >= 2 && (text[0] == '*' || text[0] == '!') && text[1] == ' ') {
    text.remove_prefix(2);
  }
  return std::string(text);
}

std::string render_json(const ui_event& ev, std::chrono::system_clock::time_point when) {
  nlohmann::ordered_json j;
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, message_event>) {
          j["type"] = "message";
          j["time"] = iso_time_utc(when);
          j["from"] = e.from;
          j["to"] = e.to;
          j["text"] = e.text;
          j["key_changed"] = e.key_changed;
          if (e.written) j["written"] = iso_time_utc(*e.written);
        } else if constexpr (std::is_same_v<T, notice_event>) {
          j["type"] = "notice";
          j["time"] = iso_time_utc(when);
          j["level"] = level_name(e.level);
          j["text"] = json_notice_text(e.text);
        } else if constexpr (std::is_same_v<T, signed_in_event>) {
          j["type"] = "signed_in";
          j["time"] = iso_time_utc(when);
          j["name"] = e.name;
          j["key"] = e.key.full;
          j["account_created"] = e.account_created;
        } else if constexpr (std::is_same_v<T, join_event>) {
          j["type"] = "join";
          j["time"] = iso_time_utc(when);
          j["name"] = e.name;
          j["key"] = e.key.full;
          j["new_contact"] = e.new_contact;
        } else if constexpr (std::is_same_v<T, leave_event>) {
          j["type"] = "leave";
          j["time"] = iso_time_utc(when);
          j["name"] = e.name;
        } else if constexpr (std::is_same_v<T, roster_listing>) {
          j["type"] = e.who ? "who" : "online";
          j["time"] = iso_time_utc(when);
          j["online"] = nlohmann::ordered_json::array();
          for (const auto& o : e.online) {
            nlohmann::ordered_json row{{"name", o.name}, {"key", o.key.full}};
            if (e.who) row["trust"] = o.trust;
            j["online"].push_back(std::move(row));
          }
        }
      },
      ev);
  // ASCII only: control characters, DEL and every non-ASCII code point are \u-escaped, so the
  // line is inert on a terminal; invalid UTF-8 from a peer becomes U+FFFD instead of throwing.
  return j.dump(-1, ' ', true, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace

key_text key_text::of(const crypto::public_key& k) {
  return {crypto::fingerprint(k), crypto::short_fingerprint(k)};
}

std::optional<std::chrono::system_clock::time_point> written_time(std::uint64_t counter) {
  constexpr std::uint64_t year_2020_us = 1'577'836'800'000'000;
  // Past year 2262 a time_point in nanoseconds would overflow: not a time either.
  constexpr std::uint64_t year_2200_us = 7'258'118'400'000'000;
  if (counter < year_2020_us || counter >= year_2200_us) return std::nullopt;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(static_cast<std::int64_t>(counter))));
}

std::string_view name_colour(std::string_view name) {
  // Six hues told apart on dark and light backgrounds; never red, which marks warnings.
  static constexpr std::string_view palette[] = {"32", "33", "35", "36", "38;5;208", "94"};
  std::uint32_t h = 2166136261u;  // FNV-1a: the same colour for a name on every run
  for (const char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 16777619u;
  }
  return palette[h % std::size(palette)];
}

std::string iso_time_utc(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms < 0 ? ms + 1000 : ms));
  return out;
}

bool no_color_requested() {
  const char* v = std::getenv("NO_COLOR");
  return v != nullptr && *v != '\0';
}

std::string time_stamp(std::chrono::system_clock::time_point when, const render_options& o) {
  if (!o.timestamps || o.style == output_style::json) return {};
  return sgr(dim, clock_text(when, o.local_time), o) + " ";
}

std::size_t text_column(const ui_event& ev, const render_options& o) {
  const std::size_t stamp = o.timestamps ? stamp_width : 0;
  const auto marked = [&](std::string_view text) {
    return text.size() >= 2 && (text[0] == '*' || text[0] == '!') && text[1] == ' ' ? stamp + 2
                                                                                    : stamp;
  };
  return std::visit(
      [&](const auto& e) -> std::size_t {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, message_event>) {
          // Valid names are ASCII, one column each; printable() keeps any other visible.
          std::size_t col = stamp + printable(e.from).size() + 2;  // "name: "
          if (e.key_changed) col += 1 + std::string_view(key_changed_mark).size();
          return col;
        } else if constexpr (std::is_same_v<T, notice_event>) {
          return marked(e.text);
        } else if constexpr (std::is_same_v<T, signed_in_event>) {
          return stamp;
        } else {
          return stamp + 2;  // "* bob joined", "* online: ...", /who rows
        }
      },
      ev);
}

/// Where the text of a continuation line starts: after its indent and a marker ('!', '*'
/// or a message's '|') with the spaces after it; styles take no column.
std::size_t continuation_text_column(std::string_view line) {
  std::size_t cols = 0;
  bool marker_seen = false;
  for (std::size_t i = 0; i < line.size();) {
    if (line[i] == '\x1b') {
      i += term::escape_length(line, i);
    } else if (line[i] == ' ') {
      ++cols;
      ++i;
    } else if (!marker_seen && (line[i] == '!' || line[i] == '*' || line[i] == '|') &&
               i + 1 < line.size() && line[i + 1] == ' ') {
      marker_seen = true;
      ++cols;
      ++i;
    } else {
      break;
    }
  }
  return cols;
}

namespace {

/// Where a rendered message's text starts: after the first ": ", which only its header
/// (time, sender, marks, the written note, all ASCII) comes before. `fallback` if none.
std::size_t after_sender(std::string_view line, std::size_t fallback) {
  std::size_t cols = 0;
  for (std::size_t i = 0; i < line.size();) {
    if (line[i] == '\x1b') {
      i += term::escape_length(line, i);
    } else if (line[i] == ':' && i + 1 < line.size() && line[i + 1] == ' ') {
      return cols + 2;
    } else {
      ++cols;
      ++i;
    }
  }
  return fallback;
}

}  // namespace

/// The column of a warning's or an error's "!" at the start of `line` (after the time and
/// escapes), if it starts with one.
std::optional<std::size_t> warning_mark_column(std::string_view line) {
  std::size_t cols = 0;
  for (std::size_t i = 0; i < line.size();) {
    if (line[i] == '\x1b') {
      i += term::escape_length(line, i);
    } else if (line[i] == ' ' || (line[i] >= '0' && line[i] <= '9') || line[i] == ':') {
      ++cols;  // the time ("12:34 ") and the indent of later lines
      ++i;
    } else {
      return line[i] == '!' ? std::optional<std::size_t>(cols) : std::nullopt;
    }
  }
  return std::nullopt;
}

namespace {

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_word(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

/// Stands in for the spaces inside a key's fingerprint while a line is wrapped: one column,
/// no break point, and never in a line otherwise (printable() shows controls as ^A).
constexpr char glued_space = '\x01';
/// "e098 785a c366 2d9b e318 14d2 5fee 8b8a": short_fingerprint's form.
constexpr std::size_t fingerprint_columns = 8 * 4 + 7;

/// The fingerprints in `line` with glued spaces, so that a row break never splits one
/// (people compare them group by group, and half a key on each row reads as two); with
/// `in_halves`, the space between the fourth and fifth groups stays a break, for rows too
/// narrow for a whole one (two rows of four groups read alike in every line).
std::string glue_fingerprints(std::string_view line, bool in_halves = false) {
  std::string out(line);
  for (std::size_t i = 0; i + fingerprint_columns <= out.size(); ++i) {
    // Exactly eight groups: not part of a longer run of them ("1111 2222 ... 9999").
    const std::size_t end = i + fingerprint_columns;
    if (i > 0 && (is_word(out[i - 1]) || (i > 1 && out[i - 1] == ' ' && is_hex_digit(out[i - 2]))))
      continue;
    bool match = end == out.size() ||
                 (!is_word(out[end]) &&
                  !(out[end] == ' ' && end + 1 < out.size() && is_hex_digit(out[end + 1])));
    for (std::size_t k = 0; match && k < fingerprint_columns; ++k) {
      match = k % 5 == 4 ? out[i + k] == ' ' : is_hex_digit(out[i + k]);
    }
    if (!match) continue;
    for (std::size_t k = 4; k < fingerprint_columns; k += 5) {
      if (!in_halves || k != 19) out[i + k] = glued_space;
    }
    i += fingerprint_columns - 1;
  }
  return out;
}

}  // namespace

std::string wrap_for_terminal(const ui_event& ev, const std::string& text, std::size_t width,
                              const render_options& o) {
  std::string out;
  bool first = true;
  const bool message = std::holds_alternative<message_event>(ev);
  const auto* notice = std::get_if<notice_event>(&ev);
  const bool marked = notice != nullptr && notice->level != notice_level::info;
  for (const auto line : split_lines(text)) {
    if (!first) out += '\n';
    std::size_t column = !first    ? continuation_text_column(line)
                         : message ? after_sender(line, text_column(ev, o))
                                   : text_column(ev, o);
    // A warning's rows keep its "!" down the left, also where a long line (a long name)
    // wrapped: the rows after it would otherwise read as the chat's own (review 10).
    const auto found = marked ? warning_mark_column(line) : std::nullopt;
    const bool has_mark = found.has_value();
    const std::size_t mark = found.value_or(0);         // (GCC 12 warns of *found below the wrap)
    if (has_mark && column <= mark) column = mark + 2;  // "!!! WARNING": under its text
    // A fingerprint is kept whole on a row when one can hold it (on narrower ones it breaks
    // between groups, not inside one). Our own lines only: a message is left as it was sent.
    const std::size_t room = width == 0
                                 ? fingerprint_columns
                                 : width - std::min(width, term::effective_hang(width, column));
    const bool whole = room >= fingerprint_columns;
    const bool glue = !message && (whole || room >= fingerprint_columns / 2);
    std::string rows = glue ? term::wrap(glue_fingerprints(line, !whole), width, column)
                            : term::wrap(line, width, column);
    if (glue) std::replace(rows.begin(), rows.end(), glued_space, ' ');
    if (has_mark) {
      for (std::size_t at = rows.find('\n'); at != std::string::npos;
           at = rows.find('\n', at + 1)) {
        if (rows.compare(at + 1, column, std::string(column, ' ')) == 0) rows[at + 1 + mark] = '!';
      }
    }
    out += rows;
    first = false;
  }
  return out;
}

std::string render(const ui_event& ev, std::chrono::system_clock::time_point when,
                   const render_options& o) {
  if (o.style == output_style::json) return render_json(ev, when);
  const std::string stamp = time_stamp(when, o);
  return std::visit(
      [&](const auto& e) -> std::string {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, message_event>) {
          const auto lines = split_lines(e.text);
          const std::string from = printable(e.from);
          std::string out = stamp + sgr("\x1b[" + std::string(name_colour(from)) + "m", from, o);
          if (e.key_changed) {
            out += ' ';  // not " " + sgr(...): see roster_text
            out += sgr(bold_red, key_changed_mark, o);
          }
          // Before the colon, where the sender's text cannot reach: a text ending in
          // "(written 03:14)" cannot pass for the note, with or without colour.
          out += sgr(dim, written_note(e, when, o.local_time), o);
          out += ": " + printable(lines.front());
          const std::string indent(o.timestamps ? stamp_width : 0, ' ');
          for (std::size_t i = 1; i < lines.size(); ++i) {
            out += "\n" + indent + sgr(dim, continuation, o) + printable(lines[i]);
          }
          return out;
        } else if constexpr (std::is_same_v<T, notice_event>) {
          return notice_lines(e.level, e.text, stamp, o);
        } else if constexpr (std::is_same_v<T, signed_in_event>) {
          return notice_lines(notice_level::info,
                              std::string(e.account_created ? "account created\n" : "") +
                                  "signed in as " + printable(e.name) + " (key " +
                                  e.key.short_form + ")",
                              stamp, o);
        } else if constexpr (std::is_same_v<T, join_event>) {
          // A new contact's key is said once, with what to do about it.
          const std::string name = printable(e.name);
          return notice_lines(
              notice_level::info,
              e.new_contact ? "* " + name + " joined, a new contact: key " + e.key.short_form +
                                  "\n  (pinned; compare safety numbers with "
                                  "/verify " +
                                  name + ")"
                            : "* " + name + " joined (key " + e.key.short_form +
                                  (e.not_accepted ? ", CHANGED and not accepted)" : ")"),
              stamp, o);
        } else if constexpr (std::is_same_v<T, leave_event>) {
          return notice_lines(notice_level::info, "* " + printable(e.name) + " left", stamp, o);
        } else {
          if (!e.who) return notice_lines(notice_level::info, roster_text(e), stamp, o);
          // /who: one line per user, keys in a column; a changed key is styled as the warning
          // it is.
          std::size_t name_width = 0;
          for (const auto& row : e.online) {
            name_width = std::max(name_width, printable(row.name).size());
          }
          std::string out;
          for (const auto& row : e.online) {
            roster_listing one{{row}, true};
            const auto level =
                row.trust == "KEY CHANGED" ? notice_level::warning : notice_level::info;
            if (!out.empty()) out += '\n';
            const std::string lead =
                out.empty() ? stamp : std::string(o.timestamps ? stamp_width : 0, ' ');
            out += notice_lines(level, roster_text(one, name_width), lead, o);
          }
          if (e.online.size() == 1 && e.online.front().trust == "you") {
            out += '\n' + std::string(o.timestamps ? stamp_width : 0, ' ');
            out += sgr(dim, "* nobody else is online", o);
          }
          return out.empty() ? notice_lines(notice_level::info, roster_text(e), stamp, o) : out;
        }
      },
      ev);
}

ui::ui(stream messages, stream status) : messages_(messages), status_(status) {}

void ui::write(std::FILE* f, const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), f);
  std::fflush(f);
}

void ui::show(const ui_event& ev) {
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  if (terminal_ != nullptr) {
    terminal_->print(
        wrap_for_terminal(ev, render(ev, now, terminal_opts_), terminal_->width(), terminal_opts_));
    return;
  }
  const bool to_messages = json() || std::holds_alternative<message_event>(ev);
  const stream& s = to_messages ? messages_ : status_;
  std::string text = render(ev, now, s.opts);
  // On a terminal (before the chat's editor exists: sign-in), wrapped as the editor wraps.
  if (s.opts.timestamps && s.opts.style != output_style::json) {
    text = wrap_for_terminal(ev, text, term::terminal_columns(::fileno(s.file)), s.opts);
  }
  write(s.file, text + "\n");
}

std::string wrap_table(std::string_view text, std::size_t width) {
  std::string out;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    // Under the last column: the text after the last gap of two spaces or more.
    const std::size_t indent = std::min(line.find_first_not_of(' '), line.size());
    std::size_t hang = indent + 2, gap = std::string_view::npos;
    for (std::size_t at = line.find("  ", indent); at != std::string_view::npos;
         at = line.find("  ", at + 1)) {
      const std::size_t next = line.find_first_not_of(' ', at);
      if (next != std::string_view::npos) hang = next, gap = line.find_last_not_of(' ', at) + 1;
    }
    if (width > 0 && gap != std::string_view::npos && term::effective_hang(width, hang) != hang &&
        line.size() > width) {
      // Too narrow for the column: the row's head alone, its text on rows of its own below.
      const std::string under(indent + 4, ' ');
      out += std::string(line.substr(0, gap)) + '\n' +
             term::wrap(under + std::string(line.substr(hang)), width, under.size());
    } else {
      out += term::wrap(line, width, hang);
    }
    if (end < text.size()) out += '\n';
    start = end + 1;
  }
  return out;
}

void ui::prompt(std::string_view text) {
  std::lock_guard lock(mutex_);
  // A question longer than the terminal is wide breaks between words, as notices do (its
  // last row still ends where the answer is typed).
  write(status_.file, term::wrap(text, term::terminal_columns(::fileno(status_.file)), 2));
}

void ui::text_block(std::string_view text) {
  if (json()) {
    info(std::string(text));
    return;
  }
  std::lock_guard lock(mutex_);
  if (terminal_ != nullptr) {
    terminal_->print(wrap_table(text, terminal_->width()));
    return;
  }
  write(status_.file, wrap_table(text, term::terminal_columns(::fileno(status_.file))));
}

void ui::attach(term::interactive_terminal* t, render_options opts) {
  std::lock_guard lock(mutex_);
  terminal_ = t;
  terminal_opts_ = opts;
}

std::string some_names(const std::vector<std::string>& names, std::size_t shown) {
  std::string s;
  for (std::size_t i = 0; i < names.size() && i < shown; ++i) {
    if (i != 0) s += ", ";
    s += printable(names[i]);
  }
  if (names.size() > shown) {
    s += " and ";
    s += std::to_string(names.size() - shown);
    s += " more";
  }
  return s;
}

std::string last_key_warning(const crypto::public_key& other, std::uint64_t when, bool local) {
  std::string at;
  // Up to the year 9999: past that (a relay's garbage) the time would wrap to 1969.
  constexpr std::uint64_t latest = 253402300799;
  if (when > latest) {
    at = ", at a time the relay gave as " + std::to_string(when) + " (not a date)";
  } else if (when > 0) {
    const auto t = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(when));
    at = ", last at " + time_text(t, local, "%Y-%m-%d %H:%M");
  }
  return "!!! your account signed in with another key since you were last here !!!\n"
         "!   key " +
         crypto::short_fingerprint(other) + at +
         "\n"
         "!   Another device of yours? Then all is well. If not, someone has your\n"
         "!   password: change it now (/password), and tell your contacts (they were\n"
         "!   warned of that key) and the relay's operator.";
}

}  // namespace relay::client
