// The load tool's engine: N clients spread over a few io_context threads, each a small
// callback state machine (connect, handshake, sign-in, then traffic). Reads are reactor-style
// (wait for readable, then read into the thread's buffer) so an idle client holds no read
// buffer; writes gather everything queued into one write; steady state allocates nothing.
// Frames a client writes in one go (a burst of sends, a pong) are staged in its thread's
// buffer and sealed as one batch transport message (unless --no-batch); batches from the
// relay are taken apart here too.
#include "relay/bench/runner.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "relay/bench/histogram.hpp"
#include "relay/bench/irc_line.hpp"
#include "relay/bench/mqtt.hpp"
#include "relay/bench/payload.hpp"
#include "relay/bench/proc_stats.hpp"
#include "relay/bench/stream_checker.hpp"
#include "relay/bench/wire.hpp"
#include "relay/crypto/password.hpp"
#include "relay/crypto/random.hpp"
#include "relay/crypto/sodium.hpp"
#include "relay/net.hpp"
#include "relay/proto/frames.hpp"
#include "relay/server/config.hpp"
#include "relay/util/cpus.hpp"
#include "relay/util/idle_priority.hpp"
#include "relay/util/thread_name.hpp"

namespace relay::bench {
namespace {

using steady = std::chrono::steady_clock;
using boost::system::error_code;

std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
          .count());
}
double secs_since(steady::time_point t) {
  return std::chrono::duration<double>(steady::now() - t).count();
}
void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, s)));
}

// Phases a delivery can fall into; the main thread moves them forward.
enum phase_id : int { ph_setup, ph_warmup, ph_measure, ph_storm, ph_drain, n_phases };

constexpr std::size_t irc_part_max = 400;  // payload characters per PRIVMSG line (512-byte lines)
constexpr std::size_t write_batch = 64 * 1024;
// MQTT: a keepalive the broker accepts (mosquitto refuses 0 from 3.1.1 clients) and no run
// outlasts, so no PINGREQ is needed; the packet id of each client's one SUBSCRIBE.
constexpr std::uint16_t mqtt_keepalive_s = 3600, mqtt_subscribe_id = 1;

struct phase_stats {
  std::uint64_t delivered = 0, bytes = 0;
  histogram lat;
};

// Written only by the owning thread; counters the main thread polls are relaxed atomics.
struct thread_stats {
  std::array<phase_stats, n_phases> ph;
  std::uint64_t duplicated = 0, corrupted = 0, relay_errors = 0, pings = 0, disconnects = 0;
  std::uint64_t busy_retries = 0;
  // relaychat transport messages after the handshake, and the frames they carried
  std::uint64_t tx_messages = 0, tx_frames = 0, rx_messages = 0, rx_frames = 0, rx_batches = 0;
  std::atomic<std::uint64_t> presence_frames{0}, presence_bytes{0};
  std::string first_problem;
  void problem(const std::string& p) {
    if (first_problem.empty()) first_problem = p;
  }
};

class client;
struct shared_state;

struct worker {
  net::io_context io{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  thread_stats st;
  std::vector<client*> to_start;
  std::size_t next_start = 0;
  std::uint32_t starting = 0, start_limit = 1;
  std::vector<byte> rbuf = std::vector<byte>(1 << 16);  // socket reads
  std::vector<byte> pbuf = std::vector<byte>(1 << 16);  // decrypted frames
  std::vector<byte> sbuf = std::vector<byte>(1 << 16);  // frames being sent
  bytes padbuf;                                         // ... padded (--padding)
  batch_builder stage{sbuf};                            // ... one transport message of them
  client* stage_owner = nullptr;                        // whose frames are in `stage`
  std::uint64_t rng = 0x9e3779b97f4a7c15ULL;
  // pacing (latency/storm)
  std::vector<client*> chatters;
  std::size_t rr = 0;
  std::uint64_t interval_ns = 0, next_due = 0;
  std::unique_ptr<net::steady_timer> pacer;
  std::thread thread;
  bool idle_priority = false;       // the storm's thread: SCHED_IDLE
  std::string priority = "normal";  // what its thread runs at (set by the thread)

  std::uint64_t random() noexcept {  // xorshift64*
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ULL;
  }
  void start_more();
  void done_starting() {
    --starting;
    start_more();
  }
  void pace(shared_state& s);
};

struct shared_state {
  const bench_config& cfg;
  std::uint32_t n_chat = 0;  // clients exchanging messages (0 in idle)
  std::uint32_t window_per_client = 1;
  std::atomic<int> phase{ph_setup};
  std::atomic<bool> sending{false};
  std::atomic<std::uint32_t> ready{0}, failed{0};
  std::vector<std::string> names;
  std::vector<std::uint32_t> sent;  // [sender * n_chat + receiver], written by the sender
  std::vector<std::unique_ptr<client>> clients;
  std::vector<std::unique_ptr<worker>> workers;
  key32 static_secret{}, identity{};
  tcp::endpoint ep;
  std::mutex problem_mutex;
  std::string first_setup_problem;
  explicit shared_state(const bench_config& c) : cfg(c) {}
};

class client {
 public:
  client(worker& w, shared_state& s, std::uint32_t idx)
      : w_(w), s_(s), idx_(idx), sock_(w.io), checker_(idx < s.n_chat ? s.n_chat : 0) {}

  void start() {
    state_ = st::connecting;
    sock_.async_connect(s_.ep, [this](const error_code& ec) {
      if (ec) return fail("connect: " + ec.message());
      error_code ignore;
      sock_.set_option(tcp::no_delay(true), ignore);
      sock_.non_blocking(true, ignore);
      if (s_.cfg.irc) {
        const std::string& nick = s_.names[idx_];
        append_text("NICK " + nick + "\r\nUSER " + nick + " 0 * :node-bench\r\n");
        state_ = st::signing_in;
      } else if (s_.cfg.mqtt) {
        // CONNECT and SUBSCRIBE in one write: a client may send before CONNACK arrives.
        mqtt::write_connect(out_, s_.names[idx_], mqtt_keepalive_s);
        mqtt::write_subscribe(out_, mqtt_subscribe_id, s_.names[idx_]);
        state_ = st::signing_in;
      } else {
        hs_ = std::make_unique<xx_initiator>(s_.static_secret, crypto::os_random());
        hs_->write_message1(out_);
        state_ = st::handshake;
      }
      flush();
      wait_read();
    });
  }

  bool ready() const noexcept { return state_ == st::ready; }
  std::uint32_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  const stream_checker& checker() const noexcept { return checker_; }

  // Throughput: send while the window allows; a receiver's credit() reposts it when blocked.
  void pump() {
    if (!s_.sending.load(std::memory_order_relaxed) || state_ != st::ready) return;
    const std::uint64_t t = now_ns();
    while (out_.size() + staged_bytes() < write_batch) {
      if (in_flight_.load(std::memory_order_acquire) >= s_.window_per_client) {
        blocked_.store(true, std::memory_order_seq_cst);
        if (in_flight_.load(std::memory_order_seq_cst) >= s_.window_per_client) break;
        if (!blocked_.exchange(false)) break;  // a credit() already posted pump()
        continue;
      }
      send_one(t);
    }
    flush();
  }

  // A receiver (on any thread) got one of our messages.
  void credit() noexcept {
    in_flight_.fetch_sub(1, std::memory_order_seq_cst);
    if (blocked_.load(std::memory_order_seq_cst) && blocked_.exchange(false)) {
      net::post(w_.io, [this] { pump(); });
    }
  }

  // One message to a random other chatter.
  void send_one(std::uint64_t t) {
    const std::uint32_t n = s_.n_chat;
    std::uint32_t peer = static_cast<std::uint32_t>(w_.random() % (n - 1));
    if (peer >= idx_) ++peer;
    payload_fields f{idx_, peer, s_.sent[std::size_t{idx_} * n + peer]++, t, 0, 1};
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    const std::string& to = s_.names[peer];
    const std::size_t size = s_.cfg.size;
    if (s_.cfg.mqtt) return write_binary(f, mqtt::write_publish(out_, to, size));
    if (!s_.cfg.irc) {
      std::span<byte> frame = stage(send_frame_size(to.size(), size));
      write_binary(f, write_send_frame(frame, ++send_id_, to, size));
      return;
    }
    const std::size_t parts = (size + irc_part_max - 1) / irc_part_max;
    f.parts = static_cast<std::uint8_t>(parts);
    for (std::size_t p = 0; p < parts; ++p) {
      f.part = static_cast<std::uint8_t>(p);
      const std::size_t len = size / parts + (p < size % parts ? 1 : 0);
      const std::size_t at = out_.size();
      out_.resize(at + 8 + to.size() + 2 + len + 2);
      char* c = reinterpret_cast<char*>(out_.data() + at);
      std::memcpy(c, "PRIVMSG ", 8);
      std::memcpy(c + 8, to.data(), to.size());
      std::memcpy(c + 8 + to.size(), " :", 2);
      write_text(f, std::span<char>(c + 10 + to.size(), len));
      std::memcpy(c + 10 + to.size() + len, "\r\n", 2);
    }
  }

  void flush() {
    seal_staged();
    if (writing_busy_ || out_.empty() || state_ == st::closed) return;
    writing_.swap(out_);
    out_.clear();
    writing_busy_ = true;
    net::async_write(sock_, net::buffer(writing_), [this](const error_code& ec, std::size_t) {
      writing_busy_ = false;
      writing_.clear();
      if (ec) return closed_by_peer("write: " + ec.message());
      if (s_.cfg.mode == mode::throughput) pump();
      flush();
    });
  }

  void close() {
    if (w_.stage_owner == this) {
      w_.stage.clear();
      w_.stage_owner = nullptr;
    }
    state_ = st::closed;
    error_code ignore;
    sock_.close(ignore);
  }

 private:
  enum class st { idle, connecting, handshake, signing_in, ready, closed };

  void append_text(std::string_view t) { out_.insert(out_.end(), t.begin(), t.end()); }

  // Room for the next frame (`len` bytes, for the caller to fill) in this thread's staging
  // buffer. Frames staged back to back become one transport message (a batch if several),
  // sealed into out_ by seal_staged(), which flush() calls; with --no-batch each frame is
  // sealed on its own.
  std::span<byte> stage(std::size_t len) {
    if (w_.stage_owner != this && w_.stage_owner) {
      client* other = w_.stage_owner;  // not expected: every stager flushes before yielding
      other->flush();
    }
    if (w_.stage_owner == this && (!s_.cfg.batch || !w_.stage.fits(len))) seal_staged();
    w_.stage_owner = this;
    return w_.stage.add(len);
  }
  std::size_t staged_bytes() const noexcept { return w_.stage_owner == this ? w_.stage.size() : 0; }
  // Seals what this client has staged as one transport message.
  void seal_staged() {
    if (w_.stage_owner != this) return;
    w_.stage_owner = nullptr;
    if (w_.stage.empty()) return;
    tx_.seal_record(padded(w_.stage.plaintext()), out_);
    ++w_.st.tx_messages;
    w_.st.tx_frames += w_.stage.count();
    w_.stage.clear();
  }
  // One frame as its own transport message, after anything staged (order is kept).
  void seal_frame(byte_view f) {
    seal_staged();
    tx_.seal_record(padded(f), out_);
    ++w_.st.tx_messages;
    ++w_.st.tx_frames;
  }

  // What goes into a transport message: `plain`, or with --padding `plain` padded as our
  // terminal client pads it (protocol.md 5.14).
  byte_view padded(byte_view plain) {
    if (!s_.cfg.padding) return plain;
    const std::size_t total = proto::client_padded_size(plain);
    if (total == 0) return plain;
    proto::pad(plain, total, w_.padbuf);
    return w_.padbuf;
  }

  void wait_read() {
    sock_.async_wait(tcp::socket::wait_read, [this](const error_code& ec) {
      if (state_ == st::closed) return;
      if (ec) return closed_by_peer("read: " + ec.message());
      on_readable();
    });
  }

  void on_readable() {
    for (int round = 0; round < 8; ++round) {
      error_code ec;
      const std::size_t n = sock_.read_some(net::buffer(w_.rbuf), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) break;
      if (ec) return closed_by_peer(ec == net::error::eof ? "closed by server" : ec.message());
      consume(byte_view(w_.rbuf.data(), n));
      if (state_ == st::closed) return;
      if (n < w_.rbuf.size()) break;
    }
    flush();
    wait_read();
  }

  // Appends to what is left of an incomplete record or line and handles every whole one.
  void consume(byte_view in) {
    if (partial_.empty()) {
      const std::size_t used = process(in);
      if (state_ != st::closed) partial_.assign(in.begin() + used, in.end());
    } else {
      partial_.insert(partial_.end(), in.begin(), in.end());
      const std::size_t used = process(partial_);
      if (state_ != st::closed) partial_.erase(partial_.begin(), partial_.begin() + used);
    }
    if (partial_.empty() && partial_.capacity() > 16384) bytes().swap(partial_);  // idle: small
  }

  std::size_t process(byte_view in) {
    std::size_t at = 0;
    if (s_.cfg.irc) {
      while (state_ != st::closed) {
        auto cut = next_irc_line(as_chars(in.subspan(at)));
        if (!cut.consumed) break;
        at += cut.consumed;
        on_line(cut.line);
      }
      return at;
    }
    if (s_.cfg.mqtt) {
      while (state_ != st::closed) {
        const auto cut = mqtt::next_packet(in.subspan(at));
        if (cut.malformed) {
          fail("malformed MQTT packet length");
          break;
        }
        if (!cut.p) break;
        at += cut.p->size;
        on_mqtt(*cut.p);
      }
      return at;
    }
    while (state_ != st::closed && in.size() - at >= 2) {
      const std::size_t len = (std::size_t{in[at]} << 8) | in[at + 1];
      if (len == 0) {
        fail("empty record from the relay");
        break;
      }
      if (in.size() - at - 2 < len) break;
      on_record(in.subspan(at + 2, len));
      at += 2 + len;
    }
    return at;
  }

  void on_record(byte_view body) {
    if (state_ == st::handshake) {
      if (!hs_->read_message2(body)) return fail("handshake: message 2 does not authenticate");
      const byte features = static_cast<byte>((s_.cfg.batch ? proto::feature_batch : 0) |
                                              (s_.cfg.padding ? proto::feature_padding : 0));
      auto [tx, rx] = hs_->write_message3(out_, features);
      tx_ = tx;
      rx_ = rx;
      hs_.reset();
      state_ = st::signing_in;
      send_auth();
      return;
    }
    auto len = rx_.open(body, w_.pbuf);
    if (!len) return fail("relay record does not decrypt");
    const byte_view plain(w_.pbuf.data(), *len);
    auto content = proto::unpad(plain);
    if (!content) return fail("malformed padded message from the relay");
    if ((content->size() != plain.size()) != s_.cfg.padding) {
      return fail(s_.cfg.padding ? "an unpadded message, though message 3 asked for padding"
                                 : "a padded message, though message 3 did not ask");
    }
    proto::batch_reader frames(*content);
    auto& ts = w_.st;
    ++ts.rx_messages;
    if (frames.is_batch()) {
      if (!s_.cfg.batch) return fail("a batch from the relay, though message 3 did not ask");
      ++ts.rx_batches;
    }
    while (state_ != st::closed) {
      auto f = frames.next();
      if (!f) {
        return fail(frames.is_batch()
                        ? "malformed batch from the relay (" + f.error().message() + ")"
                        : std::string("empty frame from the relay"));
      }
      if (!*f) break;
      ++ts.rx_frames;
      on_frame(**f);
    }
  }

  void send_auth() {
    proto::frame f =
        signing_up_ ? proto::frame{proto::sign_up{s_.names[idx_], s_.cfg.password, s_.identity}}
                    : proto::frame{proto::sign_in{s_.names[idx_], s_.cfg.password, s_.identity}};
    seal_frame(proto::encode(f));  // never in a batch
    flush();
  }

  void on_frame(byte_view f) {
    if (f.empty()) return fail("empty frame from the relay");
    switch (f[0]) {
      case 0x83:  // deliver
        if (auto d = parse_deliver(f)) {
          on_payload(d->from, read_binary(d->ciphertext));
        } else {
          ++w_.st.corrupted;
        }
        return;
      case 0x82: {  // presence: counted, not decoded
        auto& ts = w_.st;
        ts.presence_frames.store(ts.presence_frames.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
        ts.presence_bytes.store(
            ts.presence_bytes.load(std::memory_order_relaxed) + f.size() + 16 + 2,
            std::memory_order_relaxed);
        if (state_ == st::signing_in && welcomed_ && f.size() >= 2 && (f[1] & 0x02)) {
          became_ready();
        }
        return;
      }
      case 0x04:  // ping
        if (auto t = parse_ping(f)) {
          write_pong(stage(9).first<9>(), *t);
          ++w_.st.pings;
        }
        return;
      case 0x81:  // welcome; ready once the roster snapshot is complete
        welcomed_ = true;
        return;
      default:
        break;
    }
    auto decoded = proto::decode(f);
    if (!decoded) return fail("undecodable frame from the relay");
    if (auto* e = std::get_if<proto::error>(&*decoded)) return on_error(*e);
    if (auto* c = std::get_if<proto::closing>(&*decoded)) {
      return fail(std::string("closing: ") + proto::describe(c->code) + ": " + c->text);
    }
  }

  void on_error(const proto::error& e) {
    if (state_ == st::signing_in) {
      if (e.code == proto::reason::name_taken && signing_up_) {
        signing_up_ = false;  // the account exists: sign in on the same connection
        return send_auth();
      }
      if (e.code == proto::reason::busy) {
        ++w_.st.busy_retries;
        if (!retry_) retry_ = std::make_unique<net::steady_timer>(w_.io);
        retry_->expires_after(std::chrono::milliseconds(20 + w_.random() % 30));
        retry_->async_wait([this](const error_code& ec) {
          if (!ec && state_ == st::signing_in) send_auth();
        });
        return;
      }
      return fail(std::string("sign-in refused: ") + proto::describe(e.code) + ": " + e.text);
    }
    ++w_.st.relay_errors;
    w_.st.problem(std::string("relay error: ") + proto::describe(e.code) + ": " + e.text);
  }

  void on_line(std::string_view line) {
    auto m = parse_irc_line(line);
    if (!m) return;
    const std::string_view cmd = m->command;
    if (cmd == "PRIVMSG" && m->n_params >= 2) {
      return on_payload(m->nick(), read_text(m->params[m->n_params - 1]));
    }
    if (cmd == "PING") {
      append_text("PONG :");
      append_text(m->n_params ? m->params[m->n_params - 1] : std::string_view{});
      append_text("\r\n");
      ++w_.st.pings;
      return;
    }
    if (cmd == "001" && state_ == st::signing_in) return became_ready();
    if (cmd == "433" || cmd == "432") return fail("nick refused: " + std::string(line));
    if (cmd == "ERROR") return fail("server: " + std::string(line));
  }

  // MQTT tells no sender: the topic (ours) and the payload's fields are what it checks.
  void on_mqtt(const mqtt::packet& p) {
    if (auto pub = mqtt::parse_publish(p)) {
      if (pub->topic != s_.names[idx_]) {
        ++w_.st.corrupted;
        return;
      }
      return on_payload(std::nullopt, read_binary(pub->payload));
    }
    if (state_ == st::signing_in) {
      if (auto c = mqtt::connack_code(p)) {
        if (*c != 0) fail("CONNACK refused with code " + std::to_string(*c));
        return;
      }
      if (auto c = mqtt::suback_code(p, mqtt_subscribe_id)) {
        if (*c == 0x80) return fail("SUBSCRIBE refused");
        return became_ready();
      }
    }
    if (p.type == mqtt::pingresp) return;
    fail("unexpected MQTT packet type " + std::to_string(p.type >> 4));
  }

  // `from`: the sender the server named (nullopt when the protocol names none).
  void on_payload(std::optional<std::string_view> from, const std::optional<payload_fields>& f) {
    auto& ts = w_.st;
    if (!f || f->receiver != idx_ || f->sender >= s_.n_chat ||
        (from && *from != s_.names[f->sender])) {
      ++ts.corrupted;
      return;
    }
    const arrival a = checker_.on_part(*f);
    if (a == arrival::duplicate) {
      ++ts.duplicated;
      return;
    }
    if (a == arrival::partial || (a == arrival::gap && f->parts != 1)) return;
    const std::uint64_t t = now_ns();
    auto& p = ts.ph[s_.phase.load(std::memory_order_relaxed)];
    ++p.delivered;
    p.bytes += s_.cfg.size;
    p.lat.record(t > f->sent_ns ? t - f->sent_ns : 0);
    s_.clients[f->sender]->credit();
  }

  void became_ready() {
    state_ = st::ready;
    s_.ready.fetch_add(1);
    w_.done_starting();
  }

  void fail(const std::string& why) {
    const bool was_ready = state_ == st::ready;
    const bool was_starting = state_ != st::closed && !was_ready;
    close();
    if (was_ready) {
      ++w_.st.disconnects;
      w_.st.problem(s_.names[idx_] + ": " + why);
    } else if (was_starting) {
      {
        std::lock_guard lock(s_.problem_mutex);
        if (s_.first_setup_problem.empty()) s_.first_setup_problem = s_.names[idx_] + ": " + why;
      }
      s_.failed.fetch_add(1);
      w_.done_starting();
    }
  }
  void closed_by_peer(const std::string& why) {
    if (state_ != st::closed) fail(why);
  }

  worker& w_;
  shared_state& s_;
  std::uint32_t idx_;
  tcp::socket sock_;
  st state_ = st::idle;
  bool writing_busy_ = false, welcomed_ = false, signing_up_ = true;
  bytes out_, writing_, partial_;
  std::unique_ptr<xx_initiator> hs_;
  std::unique_ptr<net::steady_timer> retry_;
  bench_cipher tx_, rx_;
  std::uint32_t send_id_ = 0;
  std::atomic<std::uint32_t> in_flight_{0};
  std::atomic<bool> blocked_{false};
  stream_checker checker_;
};

void worker::start_more() {
  while (starting < start_limit && next_start < to_start.size()) {
    ++starting;
    to_start[next_start++]->start();
  }
}

// Open-loop pacing: one timer per thread walks its chatters round-robin at its share of the
// aggregate rate; when late it catches up (send time is stamped at the actual send).
void worker::pace(shared_state& s) {
  if (!pacer) pacer = std::make_unique<net::steady_timer>(io);
  pacer->expires_at(steady::time_point(std::chrono::nanoseconds(next_due)));
  pacer->async_wait([this, &s](const error_code& ec) {
    if (ec || !s.sending.load(std::memory_order_relaxed)) return;
    const std::uint64_t t = now_ns();
    if (t > next_due + 1'000'000'000ULL) next_due = t;  // a stall: do not burst a second's worth
    while (next_due <= t) {
      client* c = chatters[rr++ % chatters.size()];
      if (c->ready()) {
        c->send_one(t);
        c->flush();
      }
      next_due += interval_ns;
    }
    pace(s);
  });
}

template <class F>
void on_each_worker(shared_state& s, F f) {
  for (auto& w : s.workers) net::post(w->io, [&w, f] { f(*w); });
}

// The storm thread's priority, for the report.
const char* lower_to_idle_priority() noexcept {
  switch (util::lower_to_idle(19)) {
    case util::thread_priority::idle:
      return "idle";
    case util::thread_priority::nice:
      return "nice 19";
    case util::thread_priority::unchanged:
      break;
  }
  return "normal";
}

// Waits until `pred` holds or `timeout` seconds pass; true if it held.
template <class P>
bool wait_for(P pred, double timeout) {
  const auto t0 = steady::now();
  while (!pred()) {
    if (secs_since(t0) > timeout) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::uint64_t total_presence(shared_state& s, bool bytes_not_frames) {
  std::uint64_t t = 0;
  for (auto& w : s.workers) {
    t += (bytes_not_frames ? w->st.presence_bytes : w->st.presence_frames)
             .load(std::memory_order_relaxed);
  }
  return t;
}

nlohmann::json latency_json(const histogram& h) {
  auto us = [](std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  return {{"count", h.count()},
          {"p50_us", us(h.percentile(50))},
          {"p99_us", us(h.percentile(99))},
          {"p999_us", us(h.percentile(99.9))},
          {"max_us", us(h.max())},
          {"mean_us", h.mean() / 1000.0}};
}

}  // namespace

std::vector<int> cpus_of(int pid) {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pid <= 0 || ::sched_getaffinity(pid, sizeof set, &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  return cpus;
}

bool pin_this_thread(const std::vector<int>& cpus) {
  if (cpus.empty()) return true;
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return ::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) == 0;
}

nlohmann::json relay_thread_shares(const std::vector<thread_cpu>& from,
                                   const std::vector<thread_cpu>& to, int pid, double seconds) {
  double loop = 0, hashing = 0, database = 0, other = 0;
  for (const auto& t : to) {
    const auto was =
        std::find_if(from.begin(), from.end(), [&](const thread_cpu& f) { return f.tid == t.tid; });
    const double used = t.seconds - (was == from.end() ? 0.0 : was->seconds);
    if (t.tid == pid) {
      loop += used;
    } else if (t.name == util::hashing_thread_name) {
      hashing += used;
    } else if (t.name == util::database_thread_name) {
      database += used;
    } else {
      other += used;
    }
  }
  const double pct = seconds > 0 ? 100 / seconds : 0;
  return {{"event_loop_pct", loop * pct},
          {"hashing_pct", hashing * pct},
          {"database_pct", database * pct},
          {"other_pct", other * pct}};
}

double measure_hash_rate(unsigned threads, double seconds, const std::vector<int>& cpus) {
  crypto::init();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  std::vector<std::thread> ts;
  const auto t0 = steady::now();
  for (unsigned i = 0; i < threads; ++i) {
    ts.emplace_back([&] {
      pin_this_thread(cpus);
      const crypto::argon2_params defaults{};  // what the relay uses unless told otherwise
      while (!stop.load()) {
        (void)crypto::hash_password("bench-password", defaults, crypto::os_random());
        done.fetch_add(1);
      }
    });
  }
  sleep_s(seconds);
  stop = true;
  for (auto& t : ts) t.join();
  return static_cast<double>(done.load()) / secs_since(t0);
}

nlohmann::json run(const bench_config& cfg) {
  crypto::init();
  nlohmann::json r;
  static const char* mode_names[] = {"throughput", "latency", "idle", "storm", "hash"};
  r["mode"] = mode_names[static_cast<int>(cfg.mode)];
  r["system"] = cfg.label;
  r["threads"] = cfg.threads;
  r["batch"] = cfg.batch && cfg.relaychat();
  r["padding"] = cfg.padding && cfg.relaychat();
  std::vector<std::string> problems;

  if (cfg.mode == mode::hash) {
    const unsigned threads = server::hashing_threads(cfg.hash_threads, util::usable_cpus());
    const double hps = measure_hash_rate(threads, cfg.hash_seconds);
    r["hash_threads"] = threads;
    r["hashes_per_s"] = hps;
    r["ok"] = true;
    return r;
  }
  double hash_rate = 0;
  unsigned hash_threads = 0;
  std::vector<int> pool_cpus;
  if (cfg.mode == mode::storm && cfg.hash_seconds > 0 && cfg.relaychat()) {
    // On the relay's own cores while it is still idle: that is where its pool hashes.
    pool_cpus = cpus_of(cfg.relay_pid);
    // As many threads as the relay hashes on when --workers is left at its default.
    hash_threads = server::hashing_threads(
        cfg.hash_threads,
        pool_cpus.empty() ? util::usable_cpus() : static_cast<unsigned>(pool_cpus.size()));
    hash_rate = measure_hash_rate(hash_threads, cfg.hash_seconds, pool_cpus);
  }

  shared_state s(cfg);
  const bool messaging = cfg.mode != mode::idle;
  const std::uint32_t n_main = cfg.clients;
  const std::uint32_t n_total = n_main + (cfg.mode == mode::storm ? cfg.storm_clients : 0);
  s.n_chat = messaging ? n_main : 0;
  s.window_per_client = std::max<std::uint32_t>(1, effective_window(cfg) / std::max(1u, n_main));
  if (messaging) s.sent.assign(std::size_t{s.n_chat} * s.n_chat, 0);
  s.ep = tcp::endpoint(net::ip::make_address(cfg.host), cfg.port);
  crypto::os_random().fill(s.static_secret);  // the relay does not check client static keys
  crypto::os_random().fill(s.identity);       // announced, never used: payloads are not sealed
  for (std::uint32_t i = 0; i < n_total; ++i) s.names.push_back(cfg.prefix + std::to_string(i));
  for (unsigned t = 0; t < cfg.threads; ++t) {
    s.workers.push_back(std::make_unique<worker>());
    s.workers.back()->rng ^= (t + 1) * 0x632be59bd9b4e019ULL;
    s.workers.back()->guard.emplace(s.workers.back()->io.get_executor());
  }
  // Storm clients get a thread of their own at idle priority: their handshakes and roster
  // snapshots must not delay the chat threads' reading, or the tool would measure its own
  // busy thread as relay latency (docs/benchmarks.md, "The load tool's own share").
  if (cfg.mode == mode::storm) {
    s.workers.push_back(std::make_unique<worker>());
    s.workers.back()->rng ^= (cfg.threads + 1) * 0x632be59bd9b4e019ULL;
    s.workers.back()->guard.emplace(s.workers.back()->io.get_executor());
    s.workers.back()->idle_priority = true;
  }
  for (std::uint32_t i = 0; i < n_total; ++i) {
    worker& w = i < n_main ? *s.workers[i % cfg.threads] : *s.workers.back();
    s.clients.push_back(std::make_unique<client>(w, s, i));
    if (i < n_main) w.to_start.push_back(s.clients.back().get());
    if (i < n_main && messaging) w.chatters.push_back(s.clients.back().get());
  }

  std::optional<mem_status> mem_before;
  if (cfg.relay_pid) mem_before = read_mem(cfg.relay_pid);
  for (auto& w : s.workers) {
    w->thread = std::thread([&w] {
      if (w->idle_priority) w->priority = lower_to_idle_priority();
      w->io.run();
    });
  }

  // Sign everybody in.
  const auto t_join = steady::now();
  on_each_worker(s, [&](worker& w) {
    w.start_limit = std::max(1u, cfg.connect_concurrency / cfg.threads);
    w.start_more();
  });
  const bool setup_done =
      wait_for([&] { return s.ready.load() + s.failed.load() >= n_main; }, cfg.setup_timeout);
  const double signin_s = secs_since(t_join);
  r["clients"] = n_main;
  r["signed_in"] = s.ready.load();
  r["signin_s"] = signin_s;
  r["signins_per_s"] = s.ready.load() / signin_s;
  if (!setup_done) problems.push_back("sign-in of all clients did not finish in time");
  if (s.failed.load()) {
    std::lock_guard lock(s.problem_mutex);
    problems.push_back(std::to_string(s.failed.load()) +
                       " clients failed to sign in; first: " + s.first_setup_problem);
  }

  const bool all_in = problems.empty();
  // Roster traffic of the joins: wait until presence frames stop arriving for longer than
  // the relay may space its roster rounds (ten intervals; protocol.md 5.8, live updates), so
  // the last round is counted and out before the measured phase.
  if (all_in) {
    std::uint64_t last = total_presence(s, false);
    auto quiet_since = steady::now();
    const auto t0 = steady::now();
    const double settle = cfg.roster_settle_seconds();
    while (secs_since(quiet_since) < settle && secs_since(t0) < 60 + settle) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      const std::uint64_t now = total_presence(s, false);
      if (now != last) {
        last = now;
        quiet_since = steady::now();
      }
    }
  }
  r["presence_frames"] = total_presence(s, false);
  r["presence_bytes"] = total_presence(s, true);
  r["joins_settled_s"] = secs_since(t_join);

  std::optional<cpu_times> cpu0, cpu1;
  // The relay's threads at the start and end of the measured phase and at the storm's end.
  std::vector<thread_cpu> threads0, threads1, threads2;
  std::optional<mem_status> mem_after;
  double measured_s = 0, storm_s = 0;
  std::uint32_t storm_signed = 0;

  if (all_in && cfg.mode == mode::idle) {
    // Hold them (answering pings), then read the relay's footprint: idle means settled, after
    // the last roster batch went out and the relay returned its freed heap (once a second).
    sleep_s(cfg.duration);
    if (cfg.relay_pid) mem_after = read_mem(cfg.relay_pid);
  } else if (all_in) {
    s.sending = true;
    s.phase = ph_warmup;
    if (cfg.mode == mode::throughput) {
      for (std::uint32_t i = 0; i < n_main; ++i) {
        client* p = s.clients[i].get();
        net::post(s.workers[i % cfg.threads]->io, [p] { p->pump(); });
      }
    } else {
      on_each_worker(s, [&](worker& w) {
        if (w.chatters.empty()) return;
        const double share = cfg.rate * static_cast<double>(w.chatters.size()) / n_main;
        w.interval_ns = static_cast<std::uint64_t>(1e9 / share);
        w.next_due = now_ns();
        w.pace(s);
      });
    }
    sleep_s(cfg.warmup);
    if (cfg.relay_pid) {
      cpu0 = read_cpu(cfg.relay_pid);
      threads0 = read_threads(cfg.relay_pid);
    }
    auto t_m0 = steady::now();
    s.phase = ph_measure;
    sleep_s(cfg.duration);
    measured_s = secs_since(t_m0);
    if (cfg.relay_pid) {
      cpu1 = read_cpu(cfg.relay_pid);
      threads1 = read_threads(cfg.relay_pid);
    }
    if (cfg.mode == mode::storm) {
      const std::uint32_t before = s.ready.load();
      const auto t_s0 = steady::now();
      s.phase = ph_storm;
      worker& storm = *s.workers.back();
      net::post(storm.io, [&] {
        storm.to_start.clear();
        storm.next_start = 0;
        for (std::uint32_t i = n_main; i < n_total; ++i)
          storm.to_start.push_back(s.clients[i].get());
        storm.start_limit = cfg.storm_concurrency;
        storm.start_more();
      });
      wait_for([&] { return s.ready.load() + s.failed.load() >= n_total; }, cfg.storm_max);
      storm_s = secs_since(t_s0);
      if (cfg.relay_pid) threads2 = read_threads(cfg.relay_pid);
      storm_signed = s.ready.load() - before;
      if (s.failed.load()) {
        std::lock_guard lock(s.problem_mutex);
        problems.push_back(std::to_string(s.failed.load()) +
                           " storm clients failed to sign in; first: " + s.first_setup_problem);
      }
    }
    s.phase = ph_drain;
    if (cfg.relay_pid) mem_after = read_mem(cfg.relay_pid);
    s.sending = false;
    const bool drained = wait_for(
        [&] {
          for (std::uint32_t i = 0; i < n_main; ++i) {
            if (s.clients[i]->in_flight()) return false;
          }
          return true;
        },
        cfg.drain);
    if (!drained) problems.push_back("messages still in flight after the drain time");
  }

  // Stop: the io threads end, then the clients (and their sockets) go on this thread.
  for (auto& w : s.workers) {
    w->guard.reset();
    w->io.stop();
  }
  for (auto& w : s.workers) w->thread.join();
  // The VM's speed drifts (the same measure has read 25 and 42 hashes/s minutes apart), so
  // the pool is measured again now that the relay is idle, and the storm is compared with
  // the mean of the two.
  double hash_rate_after = 0;
  if (hash_rate > 0) {
    hash_rate_after = measure_hash_rate(hash_threads, cfg.hash_seconds, pool_cpus);
  }

  thread_stats total;
  for (auto& w : s.workers) {
    for (int p = 0; p < n_phases; ++p) {
      total.ph[p].delivered += w->st.ph[p].delivered;
      total.ph[p].bytes += w->st.ph[p].bytes;
      total.ph[p].lat.merge(w->st.ph[p].lat);
    }
    total.duplicated += w->st.duplicated;
    total.corrupted += w->st.corrupted;
    total.relay_errors += w->st.relay_errors;
    total.pings += w->st.pings;
    total.disconnects += w->st.disconnects;
    total.busy_retries += w->st.busy_retries;
    total.tx_messages += w->st.tx_messages;
    total.tx_frames += w->st.tx_frames;
    total.rx_messages += w->st.rx_messages;
    total.rx_frames += w->st.rx_frames;
    total.rx_batches += w->st.rx_batches;
    if (!w->st.first_problem.empty()) problems.push_back(w->st.first_problem);
  }
  std::uint64_t sent = 0, lost = 0;
  for (std::uint32_t j = 0; j < s.n_chat; ++j) {
    const stream_checker& ch = s.clients[j]->checker();
    lost += ch.lost();
    for (std::uint32_t i = 0; i < s.n_chat; ++i) {
      const std::uint64_t out = s.sent[std::size_t{i} * s.n_chat + j];
      sent += out;
      if (out > ch.received_from(i)) lost += out - ch.received_from(i);
    }
  }
  s.clients.clear();

  r["pings_answered"] = total.pings;
  if (cfg.relaychat()) {  // the whole run, sign-ins included
    r["transport"] = {{"sent_messages", total.tx_messages},
                      {"sent_frames", total.tx_frames},
                      {"received_messages", total.rx_messages},
                      {"received_frames", total.rx_frames},
                      {"received_batches", total.rx_batches}};
  }
  r["busy_retries"] = total.busy_retries;
  if (messaging) {
    const auto& m = total.ph[ph_measure];
    r["size"] = cfg.size;
    r["window"] = cfg.mode == mode::throughput ? effective_window(cfg) : 0;
    if (cfg.mode != mode::throughput) r["rate"] = cfg.rate;
    r["measured_s"] = measured_s;
    r["delivered"] = m.delivered;
    r["msgs_per_s"] = measured_s > 0 ? static_cast<double>(m.delivered) / measured_s : 0;
    r["mb_per_s"] = measured_s > 0 ? static_cast<double>(m.bytes) / measured_s / 1e6 : 0;
    r["latency"] = latency_json(m.lat);
    r["sent_total"] = sent;
    r["lost"] = lost;
    r["duplicated"] = total.duplicated;
    r["corrupted"] = total.corrupted;
    r["relay_errors"] = total.relay_errors;
    r["disconnects"] = total.disconnects;
    if (lost || total.duplicated || total.corrupted || total.relay_errors || total.disconnects) {
      problems.push_back("lost " + std::to_string(lost) + ", duplicated " +
                         std::to_string(total.duplicated) + ", corrupted " +
                         std::to_string(total.corrupted) + ", relay errors " +
                         std::to_string(total.relay_errors) + ", disconnects " +
                         std::to_string(total.disconnects));
    }
  }
  if (cfg.mode == mode::storm) {
    nlohmann::json st;
    st["storm_clients"] = cfg.storm_clients;
    st["signed_in"] = storm_signed;
    st["storm_s"] = storm_s;
    st["signins_per_s"] = storm_s > 0 ? storm_signed / storm_s : 0;
    st["baseline_latency"] = latency_json(total.ph[ph_measure].lat);
    st["storm_latency"] = latency_json(total.ph[ph_storm].lat);
    const double b99 = static_cast<double>(total.ph[ph_measure].lat.percentile(99));
    const double s99 = static_cast<double>(total.ph[ph_storm].lat.percentile(99));
    st["p99_ratio"] = b99 > 0 ? s99 / b99 : 0;
    st["storm_thread"] = s.workers.back()->priority;  // joined above: no race
    if (hash_rate > 0) {
      const double pool = (hash_rate + hash_rate_after) / 2;
      st["pool_hashes_per_s_before"] = hash_rate;
      st["pool_hashes_per_s_after"] = hash_rate_after;
      st["pool_hashes_per_s"] = pool;
      st["pool_cpus"] = pool_cpus;  // empty: measured on node-bench's own cores
      st["pool_threads"] = hash_threads;
      st["pct_of_pool"] = 100.0 * (storm_s > 0 ? storm_signed / storm_s : 0) / pool;
    }
    if (!threads1.empty() && !threads2.empty()) {
      // Chat alone, then chat and the storm: what the hashing threads got of the core, and
      // what the event loop kept. The pool was measured with its cores to itself; scaled to
      // the CPU its threads actually had, it shows how much of the gap is the pipeline's.
      st["relay_threads_baseline"] =
          relay_thread_shares(threads0, threads1, cfg.relay_pid, measured_s);
      const auto storm_threads = relay_thread_shares(threads1, threads2, cfg.relay_pid, storm_s);
      st["relay_threads_storm"] = storm_threads;
      const double hashing_cores = storm_threads.at("hashing_pct").get<double>() / 100;
      if (st.contains("pool_hashes_per_s") && !pool_cpus.empty() && hashing_cores > 0) {
        const double pool_for_its_cpu = st.at("pool_hashes_per_s").get<double>() * hashing_cores /
                                        static_cast<double>(pool_cpus.size());
        st["pct_of_pool_for_its_cpu"] =
            100.0 * (storm_s > 0 ? storm_signed / storm_s : 0) / pool_for_its_cpu;
      }
    }
    r["storm"] = st;
  }
  if (cfg.relay_pid) {
    nlohmann::json rel;
    rel["pid"] = cfg.relay_pid;
    if (cpu0 && cpu1) {
      const double cpu = cpu1->total() - cpu0->total();
      rel["cpu_s"] = cpu;
      rel["cpu_pct"] = measured_s > 0 ? 100 * cpu / measured_s : 0;
      const auto d = total.ph[ph_measure].delivered;
      rel["cpu_us_per_msg"] = d ? cpu * 1e6 / static_cast<double>(d) : 0;
    }
    if (mem_after) {
      rel["rss_kib"] = mem_after->rss_kib;
      rel["hwm_kib"] = mem_after->hwm_kib;
    }
    if (mem_before) rel["rss_before_kib"] = mem_before->rss_kib;
    if (mem_before && mem_after && n_main && cfg.mode == mode::idle) {
      const double grown =
          static_cast<double>(mem_after->rss_kib) - static_cast<double>(mem_before->rss_kib);
      rel["rss_per_1000_clients_kib"] = grown * 1000.0 / n_main;
    }
    if (!cpu1 && !mem_after) problems.push_back("cannot read /proc of --relay-pid");
    r["relay"] = rel;
  }
  r["problems"] = problems;
  r["ok"] = problems.empty();
  return r;
}

}  // namespace relay::bench
