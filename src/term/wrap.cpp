// Word wrap with a hanging indent: a logical line becomes atoms (spaces, tabs, escape
// sequences, characters with their combining marks), grouped into words, laid out greedily.
#include "relay/term/wrap.hpp"

#include <utility>
#include <vector>

#include "relay/term/text_width.hpp"

namespace relay::term {
namespace {

constexpr std::size_t tab_stop = 8;
constexpr char32_t zwj = 0x200D;
constexpr std::string_view sgr_reset = "\x1b[0m";

enum class kind { space, tab, escape, glyph };

struct atom {
  kind what;
  std::size_t begin;  // bytes [begin, end) of the logical line
  std::size_t end;
  std::size_t cols = 0;  // glyphs only: spaces and tabs are counted where they land
  bool glued = false;    // a glyph that follows a ZWJ: kept with the glyph before it
};

bool is_blank(const atom& a) { return a.what == kind::space || a.what == kind::tab; }

/// Length of the UTF-8 sequence at s[i], 0 if it is not one (such a byte counts one column).
std::size_t sequence_length(std::string_view s, std::size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) n = 2;
  if (lead >= 0xE0 && lead <= 0xEF) n = 3;
  if (lead >= 0xF0 && lead <= 0xF4) n = 4;
  if (n == 0 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

std::vector<atom> atoms_of(std::string_view line) {
  std::vector<atom> atoms;
  bool after_zwj = false;
  for (std::size_t i = 0; i < line.size();) {
    const char c = line[i];
    if (c == ' ' || c == '\t') {
      atoms.push_back({c == ' ' ? kind::space : kind::tab, i, i + 1});
      after_zwj = false;
      ++i;
      continue;
    }
    if (c == '\x1b') {
      const std::size_t j = i + escape_length(line, i);
      atoms.push_back({kind::escape, i, j});
      i = j;
      continue;
    }
    const std::size_t n = sequence_length(line, i);
    if (n == 0) {
      atoms.push_back({kind::glyph, i, i + 1, 1});
      after_zwj = false;
      ++i;
      continue;
    }
    const char32_t cp = decode_utf8(line, i, n);
    if (joins_previous(cp) && !atoms.empty() && atoms.back().what == kind::glyph) {
      atoms.back().end = i + n;
    } else {
      atoms.push_back({kind::glyph, i, i + n, static_cast<std::size_t>(columns(cp)), after_zwj});
    }
    after_zwj = cp == zwj;
    i += n;
  }
  return atoms;
}

std::size_t advance(const atom& a, std::size_t col) {
  switch (a.what) {
    case kind::space:
      return col + 1;
    case kind::tab:
      return col + tab_stop - col % tab_stop;
    case kind::escape:
      return col;
    case kind::glyph:
      break;
  }
  return col + a.cols;
}

/// Atoms [first, last) of a line.
struct span {
  std::size_t first = 0;
  std::size_t last = 0;
  bool empty() const { return first == last; }
};

/// The blanks before a word (with the escapes among them) and the word (with the escapes
/// touching it). The last piece of a line may have an empty word: trailing blanks.
struct piece {
  span blanks;
  span word;
};

std::vector<piece> pieces_of(const std::vector<atom>& atoms) {
  std::vector<piece> pieces;
  std::size_t blanks_from = 0;
  for (std::size_t i = 0; i < atoms.size();) {
    std::size_t j = i;
    bool has_glyph = false;
    for (; j < atoms.size() && !is_blank(atoms[j]); ++j) has_glyph |= atoms[j].what == kind::glyph;
    if (has_glyph) {  // a region of escapes alone stays with the blanks around it
      pieces.push_back({{blanks_from, i}, {i, j}});
      blanks_from = j;
    }
    i = j + 1;  // past the blank that ended the region
  }
  if (blanks_from < atoms.size()) pieces.push_back({{blanks_from, atoms.size()}, {}});
  return pieces;
}

/// Lays out the logical lines of one text, keeping the SGR style state across them.
class wrapper {
 public:
  wrapper(std::size_t width, std::size_t hang) : width_(width), hang_(hang) {}

  void add_line(std::string_view line) {
    line_ = line;
    atoms_ = atoms_of(line);
    std::size_t total = 0;
    for (const atom& a : atoms_) total = advance(a, total);
    if (total <= width_) {  // unchanged, byte for byte
      out_ += line;
      for (const atom& a : atoms_) track(a);
      return;
    }
    col_ = row_start_ = 0;
    for (const piece& p : pieces_of(atoms_)) add_piece(p);
  }

  std::string& out() { return out_; }

 private:
  void add_piece(const piece& p) {
    const std::size_t after_blanks = columns_after(p.blanks, col_);
    if (p.word.empty()) {  // trailing blanks: kept only if they fit
      if (after_blanks <= width_) {
        put(p.blanks);
      } else {
        drop(p.blanks);
      }
      return;
    }
    const std::size_t word = columns_after(p.word, 0);
    if (after_blanks + word <= width_) {
      put(p.blanks);
      put(p.word);
    } else if (placed() && hang_ + word <= width_) {  // break at the blanks
      drop(p.blanks);
      break_row();
      put(p.word);
    } else {  // longer than a row (or the line's first word): starts here, broken hard
      if (after_blanks + first_cluster(p.word) <= width_) {
        put(p.blanks);
      } else {
        drop(p.blanks);
        if (placed()) break_row();
      }
      put_hard(p.word);
    }
  }

  /// The word glyph by glyph, a new row wherever the next one does not fit. A cluster joined
  /// by ZWJs moves to the next row whole, unless it would not fit on an empty row either.
  void put_hard(span word) {
    for (std::size_t k = word.first; k < word.last; ++k) {
      const atom& a = atoms_[k];
      if (a.what == kind::glyph && placed()) {
        const std::size_t cluster = a.glued ? a.cols : cluster_columns(k, word.last);
        if (col_ + cluster > width_ && cluster <= width_ - hang_) {
          break_row();
        } else if (col_ + a.cols > width_) {
          break_row();
        }
      }
      put(a);
    }
  }

  std::size_t cluster_columns(std::size_t k, std::size_t last) const {
    std::size_t cols = atoms_[k].cols;
    for (++k; k < last; ++k) {
      if (atoms_[k].what != kind::glyph) continue;
      if (!atoms_[k].glued) break;
      cols += atoms_[k].cols;
    }
    return cols;
  }

  std::size_t first_cluster(span word) const {
    for (std::size_t k = word.first; k < word.last; ++k) {
      if (atoms_[k].what == kind::glyph) return cluster_columns(k, word.last);
    }
    return 0;
  }

  std::size_t columns_after(span s, std::size_t col) const {
    for (std::size_t k = s.first; k < s.last; ++k) col = advance(atoms_[k], col);
    return col;
  }

  /// Something that takes columns is on this row already (beyond the hang).
  bool placed() const { return col_ > row_start_; }

  void put(span s) {
    for (std::size_t k = s.first; k < s.last; ++k) put(atoms_[k]);
  }
  void put(const atom& a) {
    out_ += line_.substr(a.begin, a.end - a.begin);
    col_ = advance(a, col_);
    track(a);
  }
  /// Blanks at a break go; the escapes among them still count.
  void drop(span s) {
    for (std::size_t k = s.first; k < s.last; ++k) {
      if (atoms_[k].what == kind::escape) put(atoms_[k]);
    }
  }

  void break_row() {
    if (!style_.empty()) out_ += sgr_reset;
    out_ += '\n';
    out_.append(hang_, ' ');
    out_ += style_;
    col_ = row_start_ = hang_;
  }

  /// style_: the SGR sequences since the last full reset, which reproduce the current style.
  void track(const atom& a) {
    if (a.what != kind::escape) return;
    const std::string_view seq = line_.substr(a.begin, a.end - a.begin);
    if (seq.size() < 3 || seq[1] != '[' || seq.back() != 'm') return;
    const std::string_view params = seq.substr(2, seq.size() - 3);
    const std::string_view first = params.substr(0, params.find(';'));
    if (first.find_first_not_of('0') == std::string_view::npos) style_.clear();
    if (params.find_first_not_of("0;") != std::string_view::npos) style_ += seq;
  }

  std::size_t width_;
  std::size_t hang_;
  std::string out_;
  std::string style_;
  std::string_view line_;
  std::vector<atom> atoms_;
  std::size_t col_ = 0;
  std::size_t row_start_ = 0;
};

}  // namespace

std::string wrap(std::string_view text, std::size_t width, std::size_t hang) {
  if (width == 0) return std::string(text);
  wrapper w(width, effective_hang(width, hang));
  for (std::size_t from = 0;;) {
    const std::size_t nl = text.find('\n', from);
    w.add_line(text.substr(from, nl == std::string_view::npos ? nl : nl - from));
    if (nl == std::string_view::npos) break;
    w.out() += '\n';
    from = nl + 1;
  }
  return std::move(w.out());
}

}  // namespace relay::term
