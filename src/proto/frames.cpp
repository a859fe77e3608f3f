// Frame encoding and decoding: a bounds-checked reader and writer over byte buffers.
#include "relay/proto/frames.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <tuple>

#include "relay/proto/errc.hpp"
#include "relay/proto/names.hpp"

namespace relay::proto {
namespace {

class writer {
 public:
  explicit writer(bytes& out) : out_(out) {}
  void u8(byte v) { out_.push_back(v); }
  void u16(std::uint16_t v) {
    out_.push_back(static_cast<byte>(v >> 8));
    out_.push_back(static_cast<byte>(v));
  }
  void u32(std::uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) out_.push_back(static_cast<byte>(v >> s));
  }
  void u64(std::uint64_t v) {
    for (int s = 56; s >= 0; s -= 8) out_.push_back(static_cast<byte>(v >> s));
  }
  void str8(std::string_view s) {
    if (s.size() > 255) throw std::length_error("str8 field over 255 bytes");
    u8(static_cast<byte>(s.size()));
    raw(as_bytes(s));
  }
  void blob16(byte_view b, std::size_t limit) {
    if (b.size() > limit) throw std::length_error("blob16 field over its limit");
    u16(static_cast<std::uint16_t>(b.size()));
    raw(b);
  }
  void raw(byte_view b) { out_.insert(out_.end(), b.begin(), b.end()); }

 private:
  bytes& out_;
};

class reader {
 public:
  explicit reader(byte_view in) : in_(in) {}
  bool u8(byte& v) {
    if (!need(1)) return false;
    v = in_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) {
    if (!need(2)) return false;
    v = static_cast<std::uint16_t>(in_[pos_] << 8 | in_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u32(std::uint32_t& v) {
    if (!need(4)) return false;
    v = 0;
    for (int i = 0; i < 4; ++i) v = v << 8 | in_[pos_++];
    return true;
  }
  bool u64(std::uint64_t& v) {
    if (!need(8)) return false;
    v = 0;
    for (int i = 0; i < 8; ++i) v = v << 8 | in_[pos_++];
    return true;
  }
  bool str8(std::string& s) {
    byte n = 0;
    if (!u8(n) || !need(n)) return false;
    s.assign(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool str8_view(std::string_view& s) {
    byte n = 0;
    if (!u8(n) || !need(n)) return false;
    s = std::string_view(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  bool key(key_bytes& k) {
    if (!need(k.size())) return false;
    std::memcpy(k.data(), in_.data() + pos_, k.size());
    pos_ += k.size();
    return true;
  }
  /// A blob16 whose declared length is checked against `limit` before copying.
  result<void> blob16(bytes& b, std::size_t limit) {
    std::uint16_t n = 0;
    if (!u16(n)) return errc::truncated;
    if (n > limit) return errc::field_too_long;
    if (!need(n)) return errc::truncated;
    b.assign(in_.begin() + static_cast<std::ptrdiff_t>(pos_),
             in_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return {};
  }
  result<void> blob16_view(byte_view& b, std::size_t limit) {
    std::uint16_t n = 0;
    if (!u16(n)) return errc::truncated;
    if (n > limit) return errc::field_too_long;
    if (!need(n)) return errc::truncated;
    b = in_.subspan(pos_, n);
    pos_ += n;
    return {};
  }
  bool done() const noexcept { return pos_ == in_.size(); }
  std::size_t left() const noexcept { return in_.size() - pos_; }

 private:
  bool need(std::size_t n) const noexcept { return in_.size() - pos_ >= n; }
  byte_view in_;
  std::size_t pos_ = 1;  // past the type byte
};

void encode_credentials(writer& w, frame_type t, const std::string& name,
                        const std::string& password, const key_bytes& identity) {
  if (password.size() > max_password) throw std::length_error("password over its wire limit");
  w.u8(static_cast<byte>(t));
  w.str8(name);
  w.str8(password);
  w.raw(identity);
}

template <class T>
result<frame> decode_credentials(reader& r) {
  T v;
  if (!r.str8(v.name) || !r.str8(v.password) || !r.key(v.identity)) return errc::truncated;
  return frame{std::move(v)};
}

bool valid_reason(byte b) noexcept { return b >= 1 && b <= 17; }

}  // namespace

void encode_into(const frame& f, bytes& out) {
  writer w(out);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, sign_in>) {
          encode_credentials(w, frame_type::sign_in, v.name, v.password, v.identity);
          if (v.device_proof) w.raw(*v.device_proof);
        } else if constexpr (std::is_same_v<T, sign_up>) {
          encode_credentials(w, frame_type::sign_up, v.name, v.password, v.identity);
        } else if constexpr (std::is_same_v<T, send>) {
          w.u8(static_cast<byte>(frame_type::send));
          w.u32(v.id);
          w.str8(v.to);
          w.blob16(v.ciphertext, max_ciphertext);
        } else if constexpr (std::is_same_v<T, ping>) {
          w.u8(static_cast<byte>(frame_type::ping));
          w.u64(v.token);
        } else if constexpr (std::is_same_v<T, pong>) {
          w.u8(static_cast<byte>(frame_type::pong));
          w.u64(v.token);
        } else if constexpr (std::is_same_v<T, bye>) {
          w.u8(static_cast<byte>(frame_type::bye));
        } else if constexpr (std::is_same_v<T, welcome>) {
          w.u8(static_cast<byte>(frame_type::welcome));
          w.str8(v.name);
        } else if constexpr (std::is_same_v<T, presence>) {
          if (v.entries.size() > 0xffff) throw std::length_error("presence batch too long");
          w.u8(static_cast<byte>(frame_type::presence));
          w.u8(static_cast<byte>((v.snapshot ? 1 : 0) | (v.last ? 2 : 0)));
          w.u16(static_cast<std::uint16_t>(v.entries.size()));
          for (const auto& e : v.entries) {
            w.u8(static_cast<byte>(e.what));
            w.str8(e.name);
            if (e.what == presence_entry::kind::online) w.raw(e.identity);
          }
        } else if constexpr (std::is_same_v<T, deliver>) {
          w.u8(static_cast<byte>(frame_type::deliver));
          w.str8(v.from);
          w.blob16(v.ciphertext, max_ciphertext);
        } else if constexpr (std::is_same_v<T, error>) {
          w.u8(static_cast<byte>(frame_type::error));
          w.u8(static_cast<byte>(v.code));
          w.u32(v.ref);
          w.str8(v.text);
        } else if constexpr (std::is_same_v<T, closing>) {
          w.u8(static_cast<byte>(frame_type::closing));
          w.u8(static_cast<byte>(v.code));
          w.str8(v.text);
        } else if constexpr (std::is_same_v<T, last_key>) {
          w.u8(static_cast<byte>(frame_type::last_key));
          w.raw(v.identity);
          w.u64(v.when);
        } else if constexpr (std::is_same_v<T, change_password>) {
          if (v.old_password.size() > max_password || v.new_password.size() > max_password) {
            throw std::length_error("password over its wire limit");
          }
          w.u8(static_cast<byte>(frame_type::change_password));
          w.str8(v.old_password);
          w.str8(v.new_password);
        } else if constexpr (std::is_same_v<T, delete_account>) {
          if (v.password.size() > max_password) {
            throw std::length_error("password over its wire limit");
          }
          w.u8(static_cast<byte>(frame_type::delete_account));
          w.str8(v.password);
        } else if constexpr (std::is_same_v<T, account_changed>) {
          w.u8(static_cast<byte>(frame_type::account_changed));
          w.u8(static_cast<byte>(v.what));
        }
      },
      f);
}

bytes encode(const frame& f) {
  bytes out;
  encode_into(f, out);
  return out;
}

result<send_view> decode_send_view(byte_view in) {
  // Same checks, in the same order, as decode()'s send case.
  if (in.empty()) return errc::empty_frame;
  if (in.size() > max_frame) return errc::field_too_long;
  if (in[0] != static_cast<byte>(frame_type::send)) return errc::unknown_type;
  reader r(in);
  send_view v;
  if (!r.u32(v.id) || !r.str8_view(v.to)) return errc::truncated;
  if (auto ok = r.blob16_view(v.ciphertext, max_ciphertext); !ok) return failure(ok.error());
  if (!r.done()) return errc::trailing_bytes;
  return v;
}

void encode_deliver_into(std::string_view from, byte_view ciphertext, bytes& out) {
  writer w(out);
  w.u8(static_cast<byte>(frame_type::deliver));
  w.str8(from);
  w.blob16(ciphertext, max_ciphertext);
}

presence_writer::presence_writer(bytes& out, bool snapshot, std::size_t limit)
    // Never below one entry of the longest name: a frame must always take its first entry.
    : out_(out),
      snapshot_(snapshot),
      limit_(std::clamp(limit, presence_header + encoded_size(presence_entry::kind::online, 255),
                        max_frame)) {
  restart();
}

void presence_writer::restart() {
  out_.clear();
  count_ = 0;
  writer w(out_);
  w.u8(static_cast<byte>(frame_type::presence));
  w.u8(snapshot_ ? 1 : 0);
  w.u16(0);  // the count, set by finish()
}

bool presence_writer::add(presence_entry::kind what, std::string_view name,
                          std::span<const byte, 32> identity) {
  if (name.empty() || name.size() > 255) throw std::length_error("presence name not 1..255 bytes");
  if (count_ == 0xffff || out_.size() + encoded_size(what, name.size()) > limit_) return false;
  writer w(out_);
  w.u8(static_cast<byte>(what));
  w.str8(name);
  if (what == presence_entry::kind::online) w.raw(identity);
  ++count_;
  return true;
}

bytes& presence_writer::finish(bool last) {
  if (last) out_[1] |= 2;
  out_[2] = static_cast<byte>(count_ >> 8);
  out_[3] = static_cast<byte>(count_);
  return out_;
}

result<frame> decode(byte_view in) {
  if (in.empty()) return errc::empty_frame;
  if (in.size() > max_frame) return errc::field_too_long;
  reader r(in);
  auto finish = [&](result<frame> f) -> result<frame> {
    if (f && !r.done()) return errc::trailing_bytes;
    return f;
  };
  switch (static_cast<frame_type>(in[0])) {
    case frame_type::sign_in: {
      auto f = decode_credentials<sign_in>(r);
      // The optional device proof is exactly 32 bytes more; any other length is trailing.
      if (f && r.left() == std::tuple_size_v<key_bytes>) {
        auto& v = std::get<sign_in>(*f);
        v.device_proof.emplace();
        r.key(*v.device_proof);
      }
      return finish(std::move(f));
    }
    case frame_type::sign_up:
      return finish(decode_credentials<sign_up>(r));
    case frame_type::send: {
      send v;
      if (!r.u32(v.id) || !r.str8(v.to)) return errc::truncated;
      if (auto ok = r.blob16(v.ciphertext, max_ciphertext); !ok) return failure(ok.error());
      return finish(frame{std::move(v)});
    }
    case frame_type::ping: {
      ping v;
      if (!r.u64(v.token)) return errc::truncated;
      return finish(frame{v});
    }
    case frame_type::pong: {
      pong v;
      if (!r.u64(v.token)) return errc::truncated;
      return finish(frame{v});
    }
    case frame_type::bye:
      return finish(frame{bye{}});
    case frame_type::batch:
    case frame_type::padded:
      break;  // containers, not frames: unpad and batch_reader take them apart
    case frame_type::welcome: {
      welcome v;
      if (!r.str8(v.name)) return errc::truncated;
      return finish(frame{std::move(v)});
    }
    case frame_type::presence: {
      presence v;
      byte flags = 0;
      std::uint16_t count = 0;
      if (!r.u8(flags) || !r.u16(count)) return errc::truncated;
      if (flags > 3) return errc::bad_value;
      v.snapshot = flags & 1;
      v.last = flags & 2;
      // Each entry takes at least 2 bytes, so `count` cannot make us over-allocate.
      if (std::size_t{count} * 2 > in.size()) return errc::truncated;
      v.entries.reserve(count);
      for (std::uint16_t i = 0; i < count; ++i) {
        presence_entry e;
        byte kind = 0;
        if (!r.u8(kind)) return errc::truncated;
        if (kind != 1 && kind != 2) return errc::bad_value;
        e.what = static_cast<presence_entry::kind>(kind);
        if (!r.str8(e.name)) return errc::truncated;
        if (e.what == presence_entry::kind::online && !r.key(e.identity)) return errc::truncated;
        v.entries.push_back(std::move(e));
      }
      return finish(frame{std::move(v)});
    }
    case frame_type::deliver: {
      deliver v;
      if (!r.str8(v.from)) return errc::truncated;
      if (auto ok = r.blob16(v.ciphertext, max_ciphertext); !ok) return failure(ok.error());
      return finish(frame{std::move(v)});
    }
    case frame_type::error: {
      error v;
      byte code = 0;
      if (!r.u8(code) || !r.u32(v.ref) || !r.str8(v.text)) return errc::truncated;
      if (!valid_reason(code)) return errc::bad_value;
      v.code = static_cast<reason>(code);
      return finish(frame{std::move(v)});
    }
    case frame_type::closing: {
      closing v;
      byte code = 0;
      if (!r.u8(code) || !r.str8(v.text)) return errc::truncated;
      if (!valid_reason(code)) return errc::bad_value;
      v.code = static_cast<reason>(code);
      return finish(frame{std::move(v)});
    }
    case frame_type::last_key: {
      last_key v;
      if (!r.key(v.identity) || !r.u64(v.when)) return errc::truncated;
      return finish(frame{v});
    }
    case frame_type::change_password: {
      change_password v;
      if (!r.str8(v.old_password) || !r.str8(v.new_password)) return errc::truncated;
      return finish(frame{std::move(v)});
    }
    case frame_type::delete_account: {
      delete_account v;
      if (!r.str8(v.password)) return errc::truncated;
      return finish(frame{std::move(v)});
    }
    case frame_type::account_changed: {
      byte what = 0;
      if (!r.u8(what)) return errc::truncated;
      if (what != 1 && what != 2) return errc::bad_value;
      return finish(frame{account_changed{static_cast<account_changed::change>(what)}});
    }
  }
  return errc::unknown_type;
}

std::size_t batch_writer::room() const noexcept {
  const std::size_t used = buf_.empty() ? batch_header : buf_.size();
  const std::size_t left = max_frame - used;
  return left > batch_entry_overhead ? left - batch_entry_overhead : 0;
}

void batch_writer::add(byte_view f) {
  if (f.empty() || f.size() > room()) throw std::length_error("batch entry too large");
  if (buf_.empty()) {
    // Room for a few frames at once: growing a byte at a time would reallocate per entry.
    buf_.reserve(std::max<std::size_t>(first_capacity, batch_header + 2 + f.size()));
    buf_.push_back(static_cast<byte>(frame_type::batch));
  }
  buf_.push_back(static_cast<byte>(f.size() >> 8));
  buf_.push_back(static_cast<byte>(f.size()));
  buf_.insert(buf_.end(), f.begin(), f.end());
}

bool batch_writer::single() const noexcept {
  if (buf_.size() < batch_header + batch_entry_overhead) return false;
  const std::size_t first = std::size_t{buf_[batch_header]} << 8 | buf_[batch_header + 1];
  return buf_.size() == batch_header + batch_entry_overhead + first;
}

std::size_t batch_writer::count() const noexcept {
  std::size_t n = 0;
  for (std::size_t at = batch_header; at + batch_entry_overhead <= buf_.size(); ++n) {
    at += batch_entry_overhead + (std::size_t{buf_[at]} << 8 | buf_[at + 1]);
  }
  return n;
}

byte_view batch_writer::plaintext() const noexcept {
  if (single()) return byte_view(buf_).subspan(batch_header + batch_entry_overhead);
  return buf_;
}

bytes batch_writer::take_buffer() noexcept {
  bytes b;
  b.swap(buf_);
  b.clear();
  return b;
}

void batch_writer::adopt_buffer(bytes&& spare) noexcept {
  if (buf_.capacity() != 0) return;
  buf_.swap(spare);
  buf_.clear();
}

void batch_writer::clear() noexcept { buf_.clear(); }

batch_reader::batch_reader(byte_view plain) noexcept : rest_(plain) {
  batch_ = !plain.empty() && plain[0] == static_cast<byte>(frame_type::batch);
  if (batch_) rest_ = plain.subspan(batch_header);
}

result<std::optional<byte_view>> batch_reader::next() {
  if (done_) return std::optional<byte_view>{};
  if (!batch_) {
    done_ = true;
    if (rest_.empty()) return errc::empty_frame;
    return std::optional<byte_view>{rest_};
  }
  if (rest_.empty()) {
    done_ = true;
    // A batch with no entries says nothing: refused, like an empty frame.
    if (entries_ == 0) return errc::empty_batch;
    return std::optional<byte_view>{};
  }
  auto fail = [this](errc e) -> result<std::optional<byte_view>> {
    done_ = true;
    return e;
  };
  if (rest_.size() < 2) return fail(errc::truncated);
  const std::size_t n = (std::size_t{rest_[0]} << 8) | rest_[1];
  if (n == 0) return fail(errc::empty_frame);
  if (rest_.size() - 2 < n) return fail(errc::truncated);
  byte_view f = rest_.subspan(2, n);
  const auto t = static_cast<frame_type>(f[0]);
  if (t == frame_type::batch || t == frame_type::padded || carries_password(f[0])) {
    return fail(errc::not_in_batch);
  }
  rest_ = rest_.subspan(2 + n);
  ++entries_;
  return std::optional<byte_view>{f};
}

namespace {
constexpr std::size_t longest_text = 255;  // error and closing texts are str8
/// A last_key frame (type, key, u64) and its batch entry length: what a welcome batch
/// without one is padded by, so that its absence does not show.
constexpr std::size_t last_key_entry = 2 + 1 + 32 + 8;

/// What a name lacks to the longest valid one (protocol.md 2.2).
std::size_t name_slack(std::size_t n) noexcept { return max_name - std::min(max_name, n); }

/// The bytes one frame built by the relay lacks to the padded rule (0 if it is not
/// well formed: the relay only pads what it encoded itself).
std::size_t frame_slack(byte_view f) noexcept {
  if (f.empty()) return 0;
  switch (static_cast<frame_type>(f[0])) {
    case frame_type::welcome:
    case frame_type::deliver:
      return f.size() > 1 ? name_slack(f[1]) : 0;
    case frame_type::error:
    case frame_type::closing: {
      // Texts name users and addresses: each counts as the longest text there can be.
      const std::size_t at = f[0] == static_cast<byte>(frame_type::error) ? 6 : 2;
      return f.size() > at ? longest_text - f[at] : 0;
    }
    case frame_type::presence: {
      // Every entry as an online one (with its key) for a 32-byte name: a leave looks like
      // a join.
      std::size_t slack = 0;
      for (std::size_t at = presence_header; at + 2 <= f.size();) {
        const std::size_t n = f[at + 1];
        const bool online = f[at] == static_cast<byte>(presence_entry::kind::online);
        slack += name_slack(n) + (online ? 0 : 32);
        at +=
            encoded_size(online ? presence_entry::kind::online : presence_entry::kind::offline, n);
      }
      return slack;
    }
    default:
      return 0;
  }
}
}  // namespace

void pad(byte_view content, std::size_t total, bytes& out) {
  if (content.size() > 0xffff || total < content.size() + padded_header || total > max_frame) {
    throw std::length_error("padded size out of range");
  }
  out.assign(total, byte{0});
  out[0] = static_cast<byte>(frame_type::padded);
  out[1] = static_cast<byte>(content.size() >> 8);
  out[2] = static_cast<byte>(content.size());
  std::copy(content.begin(), content.end(), out.begin() + padded_header);
}

std::size_t client_padded_size(byte_view content) noexcept {
  constexpr std::size_t credentials_block = 512;
  if (content.empty() || content.size() + padded_header > max_frame) return 0;
  if (carries_password(content[0])) {
    const std::size_t n = content.size() + padded_header;
    return std::min(max_frame, (n + credentials_block - 1) / credentials_block * credentials_block);
  }
  // Sends, alone or batched: as if each `to` were 32 bytes. Always wrapped, even for a
  // 32-byte name, so that the header gives nothing away. Nothing else is padded.
  bool sends = false;
  std::size_t slack = 0;
  batch_reader frames(content);
  for (auto f = frames.next(); f && *f; f = frames.next()) {
    if (const auto s = decode_send_view(**f)) {
      sends = true;
      slack += name_slack(s->to.size());
    }
  }
  return sends ? std::min(max_frame, content.size() + padded_header + slack) : 0;
}

std::size_t relay_padded_size(byte_view content) noexcept {
  std::size_t slack = 0;
  bool welcome = false, last_key_seen = false;
  batch_reader frames(content);
  for (auto f = frames.next(); f && *f; f = frames.next()) {
    const byte_view one = **f;
    welcome = welcome || one[0] == static_cast<byte>(frame_type::welcome);
    last_key_seen = last_key_seen || one[0] == static_cast<byte>(frame_type::last_key);
    slack += frame_slack(one);
  }
  if (frames.is_batch() && welcome && !last_key_seen) slack += last_key_entry;
  return content.size() + padded_header + slack;
}

result<byte_view> unpad(byte_view plain) noexcept {
  if (plain.empty() || plain[0] != static_cast<byte>(frame_type::padded)) return plain;
  if (plain.size() < padded_header) return errc::bad_padding;
  const std::size_t n = (std::size_t{plain[1]} << 8) | plain[2];
  if (n == 0 || n > plain.size() - padded_header) return errc::bad_padding;
  const byte_view content = plain.subspan(padded_header, n);
  if (content[0] == static_cast<byte>(frame_type::padded)) return errc::bad_padding;
  // Zeros only: padding must carry nothing, not even a covert channel.
  for (const byte b : plain.subspan(padded_header + n)) {
    if (b != 0) return errc::bad_padding;
  }
  return content;
}

const char* type_name(const frame& f) noexcept {
  static constexpr const char* names[] = {
      "sign_in",         "sign_up",        "send",           "ping",  "pong",    "bye",
      "welcome",         "presence",       "deliver",        "error", "closing", "last_key",
      "change_password", "delete_account", "account_changed"};
  return names[f.index()];
}

std::string describe_bad_frame(byte_view bad, std::error_code ec) {
  if (bad.empty()) return ec.message();
  static constexpr char digits[] = "0123456789abcdef";
  const byte t = bad.front();
  const std::string hex{'0', 'x', digits[t >> 4], digits[t & 15]};
  if (ec == errc::unknown_type) return "unknown frame type " + hex;
  if (ec == errc::field_too_long) {
    if (bad.size() > max_frame) {
      return "frame of " + std::to_string(bad.size()) + " bytes, over the " +
             std::to_string(max_frame) + "-byte limit";
    }
    // Within the frame limit, only a blob16 can be too long: the ciphertext of send/deliver.
    return "ciphertext over " + std::to_string(max_ciphertext) + " bytes in frame type " + hex;
  }
  return ec.message() + " (frame type " + hex + ")";
}

const char* describe(reason r) noexcept {
  switch (r) {
    case reason::invalid_credentials:
      return "invalid credentials";
    case reason::name_taken:
      return "that name is taken";
    case reason::invalid_name:
      return "invalid user name";
    case reason::busy:
      return "relay busy, retry shortly";
    case reason::unknown_recipient:
      return "recipient is not online";
    case reason::not_signed_in:
      return "not signed in";
    case reason::already_signed_in:
      return "already signed in";
    case reason::rate_limited:
      return "rate limited";
    case reason::too_large:
      return "too large";
    case reason::protocol_error:
      return "protocol error";
    case reason::replaced:
      return "signed in from another place";
    case reason::shutting_down:
      return "relay shutting down";
    case reason::kicked:
      return "kicked by the operator";
    case reason::timeout:
      return "timed out";
    case reason::weak_password:
      return "password does not meet the rules";
    case reason::too_many_attempts:
      return "too many failed attempts";
    case reason::banned:
      return "banned by the operator";
  }
  return "unknown reason";
}

}  // namespace relay::proto
