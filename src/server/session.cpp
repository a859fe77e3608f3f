// Relay-side connection: Noise XX responder, then frames (alone or batched) in transport
// messages.
//
// Callbacks, not coroutines, for the steady state: an idle connection is the session object
// and one pending readiness wait (deadlines are the relay's sweep), so ten thousand idle
// clients stay small.
// Records are handled one at a time; a sign-in is awaited (in a short-lived coroutine)
// before reading on, so a client cannot pipeline work past its own authentication.
// Outgoing frames are encrypted when queued, or, for a peer that accepts batches, gathered
// and sealed as one batch by the posted flush that writes everything queued.
#include "relay/server/session.hpp"

#include "relay/crypto/keys.hpp"
#include "relay/crypto/random.hpp"
#include "relay/crypto/secret.hpp"
#include "relay/server/buffer_pool.hpp"
#include "relay/server/relay_server.hpp"
#include "relay/util/drained_wait.hpp"
#include "relay/util/handler_memory.hpp"
#include "relay/util/log.hpp"

namespace relay::server {

namespace {

/// A socket error as the operator's log says it: in the same words whichever way the peer
/// went ("the peer reset the connection", not strerror's "Connection reset by peer" beside
/// our "peer closed the connection").
std::string socket_problem(const boost::system::error_code& ec) {
  if (ec == net::error::eof) return "peer closed the connection";
  if (ec == net::error::connection_reset) return "peer reset the connection";
  if (ec == net::error::broken_pipe) return "peer closed the connection (broken pipe)";
  if (ec == net::error::timed_out) return "the connection timed out (the network dropped it)";
  return ec.message();
}

/// What a batch of frames (sealed as one message) and a batch of outgoing records start
/// with: what batch_writer would reserve itself, so a buffer from the pool is not
/// reallocated by the first add(), and one size, so any spare in the pool fits either use.
constexpr std::size_t first_buffer_capacity = proto::batch_writer::first_capacity;
/// A write buffer bigger than this is freed after use, not pooled (see buffer_pool).
constexpr std::size_t big_write_buffer = 16 * 1024;
/// How long a closing session may take to write its goodbye before it is dropped.
constexpr std::chrono::seconds close_grace{5};
}  // namespace

session::session(socket_type socket, const net::ip::tcp::endpoint& peer, relay_server& owner,
                 std::uint64_t id)
    : socket_(std::move(socket)),
      owner_(owner),
      id_(id),
      // The handshake hash is kept until sign-in, for a device proof (protocol.md 5.2.1); the
      // client's per-connection static key is never read.
      noise_(transport::noise_session::role::responder, owner.noise_key(), crypto::os_random(),
             true,
             owner.config().aesgcm ? transport::cipher_choice::aesgcm_if_available
                                   : transport::cipher_choice::chachapoly) {
  boost::system::error_code ec;
  if (!peer.address().is_unspecified()) {
    // Kept as bytes (text on demand): a string was 32 bytes per connection.
    if (const auto a = peer.address(); a.is_v4()) {
      const auto b = a.to_v4().to_bytes();
      std::copy(b.begin(), b.end(), addr_.begin());
      family_ = 4;
    } else {
      addr_ = a.to_v6().to_bytes();
      family_ = 6;
    }
    port_ = peer.port();
  }
  last_rx_ = std::chrono::steady_clock::now();
  // Before sign-in the bucket bounds what the relay answers (pongs, refusals): a burst's
  // worth at once, then the rate, for at most --auth-timeout.
  tokens_ = owner_.config().message_burst;
  socket_.set_option(tcp::no_delay(true), ec);  // we batch writes ourselves
  socket_.non_blocking(true, ec);
  util::count_queued_bytes(socket_);  // each read tells whether the socket is empty now
  started_ = last_rx_;
}

void session::start() {
  wait_readable();
  arm_watch(started_ + owner_.config().auth_timeout);
}

std::optional<net::ip::address> session::peer_ip() const {
  if (family_ == 4) {
    net::ip::address_v4::bytes_type b;
    std::copy_n(addr_.begin(), b.size(), b.begin());
    return net::ip::address_v4(b);
  }
  if (family_ == 6) return net::ip::address_v6(addr_);
  return std::nullopt;
}

std::string session::ip() const {
  const auto a = peer_ip();
  return a ? a->to_string() : "?";
}

std::string source_of(const net::ip::address& a) {
  if (a.is_v4()) return a.to_string();
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, v6).to_string();
  auto b = v6.to_bytes();
  std::fill(b.begin() + 8, b.end(), 0);
  return net::ip::address_v6(b).to_string() + "/64";
}

std::optional<std::string> block_source(std::string_view text) {
  std::string_view address = text;
  const bool slash64 = text.ends_with("/64");
  if (slash64) address.remove_suffix(3);
  boost::system::error_code ec;
  const auto a = net::ip::make_address(std::string(address), ec);
  if (ec) return std::nullopt;
  const bool v6 = a.is_v6() && !a.to_v6().is_v4_mapped();
  if (slash64 && !v6) return std::nullopt;  // an IPv4 /64 means nothing
  return source_of(a);
}

std::string session::source() const {
  const auto a = peer_ip();
  return a ? source_of(*a) : "?";
}

std::string session::address() const {
  const std::string ip = this->ip();
  if (family_ == 0) return ip;
  // IPv6 in brackets, so the port cannot be read as part of the address.
  if (family_ == 6) return "[" + ip + "]:" + std::to_string(port_);
  return ip + ":" + std::to_string(port_);
}

std::chrono::system_clock::time_point session::since() const noexcept {
  // Kept as steady time (one field with the accept time); the wall clock is for display.
  return std::chrono::system_clock::now() -
         std::chrono::duration_cast<std::chrono::system_clock::duration>(
             std::chrono::steady_clock::now() - started_);
}

void session::check_deadlines(std::chrono::steady_clock::time_point now) {
  if (stopped_) return;
  if (closing_) {
    // The goodbye (or an abort posted by abort_later) has had its time: a peer that does not
    // read cannot keep the connection open by leaving our write pending.
    abort("did not take its goodbye in time");
    return;
  }
  const auto& cfg = owner_.config();
  if (!signed_in()) {
    // While the relay checks a sign-in (a queue of Argon2 jobs, a database locked by another
    // program), the time is the relay's, not the peer's: the deadline waits for the answer,
    // at most the relay's bounded queue and SQLite's busy timeout, then applies at once.
    if (now - started_ >= cfg.auth_timeout && !checking_) {
      if (noise_.handshake_done()) {
        close(proto::reason::timeout, "sign-in took too long");
      } else {
        abort("handshake took too long");
      }
      return;
    }
    arm_watch(started_ + cfg.auth_timeout);
    return;
  }
  const auto idle = now - last_rx_;
  if (idle >= cfg.idle_timeout) {
    close(proto::reason::timeout, "no traffic from you for too long");
    return;
  }
  if (!pinged_ && idle >= cfg.ping_interval) {
    deliver(proto::ping{static_cast<std::uint64_t>(now.time_since_epoch().count())});
    pinged_ = true;  // cleared by the next record from the peer
  }
  arm_watch(last_rx_ + (pinged_ ? cfg.idle_timeout : cfg.ping_interval));
}

void session::received_at(std::chrono::steady_clock::time_point now) {
  // The bucket fills by the time since the last record; every message is a record, so
  // last_rx_ doubles as the bucket's clock (8 bytes less per connection).
  const auto& cfg = owner_.config();
  const double elapsed = std::chrono::duration<double>(now - last_rx_).count();
  tokens_ = std::min(cfg.message_burst, tokens_ + elapsed * cfg.message_rate);
  last_rx_ = now;
  if (pinged_) {
    pinged_ = false;  // anything from the peer answers a ping
    // The watch still points at the idle deadline; silence counts again from here, so the
    // next ping is due one interval on (protocol.md 5.5), not when the old deadline comes.
    if (!closing_) arm_watch(now + cfg.ping_interval);
  }
}

bool session::take_token() {
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool session::proves_device(const crypto::public_key& identity,
                            const crypto::device_proof_bytes& proof) const {
  return crypto::check_device_proof(owner_.noise_key(), identity, noise_.handshake_hash(), proof);
}

void session::answer_within_rate(const proto::frame& f) {
  if (take_token()) deliver(f);
}

void session::set_signed_in(std::string name, const crypto::public_key& identity) {
  name_ = std::move(name);
  identity_ = identity;
  noise_.forget_details();  // ten thousand signed-in sessions do not carry 100 bytes each
  tokens_ = owner_.config().message_burst;
  started_ = std::chrono::steady_clock::now();          // from now on the sign-in time (since())
  arm_watch(last_rx_ + owner_.config().ping_interval);  // now idle detection
}

void session::enqueue_record(byte_view body) {
  if (out_.capacity() == 0) out_ = local_buffer_pool().take(first_buffer_capacity);
  proto::append_record(out_, body);
  wake_writer();
}

void session::wake_writer() {
  // One posted flush per batch: every frame queued before it runs goes out in one write.
  if (flush_posted_ || writing_now_) return;
  flush_posted_ = true;
  net::post(socket_.get_executor(), cached([self = shared_from_this()] {
              self->flush_posted_ = false;
              self->flush();
            }));
}

void session::flush() {
  if (stopped_ || writing_now_) return;
  seal_batch();  // everything queued while the last write was in flight, in one message
  if (out_.empty()) {
    if (closing_) stop();  // the goodbye is out
    return;
  }
  // Write now, without a handler: the socket's buffer usually takes everything, and then
  // the buffer goes straight back to the pool for the next session. Left to a completion
  // handler, every buffer of a roster round (one per client) would be alive at once: tens
  // of megabytes at 10,000 clients, taken from malloc and freed again every 100 ms, which
  // scattered the long-lived objects signing in meanwhile across the heap.
  boost::system::error_code failed;
  const std::size_t sent = write_queued(failed);
  if (failed) {
    abort(failed.message());
    return;
  }
  if (out_.empty()) {
    if (closing_) stop();
    return;
  }
  // The rest when the peer has read: the buffer rides in the write's handler, not in the
  // session (24 bytes less per idle connection); moving a vector keeps its bytes where they
  // are, so the buffer stays valid.
  writing_now_ = true;
  bytes writing = std::exchange(out_, bytes());
  const auto rest = net::buffer(writing) + sent;
  net::async_write(socket_, rest,
                   cached([self = shared_from_this(), writing = std::move(writing)](
                              const boost::system::error_code& ec, std::size_t) mutable {
                     self->writing_now_ = false;
                     // A big buffer (a roster snapshot, a backlog) is freed, not pooled: the
                     // hole it leaves is worth giving back once things settle.
                     if (writing.capacity() > big_write_buffer) self->owner_.maybe_trim_memory();
                     // An idle connection holds no write buffer; the next batch takes one.
                     local_buffer_pool().give(std::move(writing));
                     if (ec) {
                       if (!self->stopped_) self->abort(socket_problem(ec));
                       return;
                     }
                     self->flush();  // what was queued meanwhile, or the end of a close
                   }));
}

std::size_t session::write_queued(boost::system::error_code& failed) {
  const std::size_t sent = socket_.write_some(net::buffer(out_), failed);
  if (failed == net::error::would_block || failed == net::error::try_again) {
    failed.clear();
    return 0;
  }
  if (failed) return 0;
  if (sent == out_.size()) {
    if (out_.capacity() > big_write_buffer) owner_.maybe_trim_memory();
    local_buffer_pool().give(std::exchange(out_, bytes()));
  }
  return sent;
}

void session::write_now() {
  if (stopped_ || closing_ || writing_now_) return;
  seal_batch();
  if (out_.empty()) return;
  boost::system::error_code failed;
  const std::size_t sent = write_queued(failed);
  // An error is left to the posted flush, which meets it again and ends the session.
  if (failed || out_.empty()) return;
  out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(sent));
}

void session::deliver(const proto::frame& f) {
  thread_local bytes plain;
  plain.clear();
  proto::encode_into(f, plain);
  deliver_encoded(plain);
}

void session::deliver_encoded(byte_view plain) {
  if (stopped_ || closing_ || !noise_.handshake_done()) return;
  // A peer that does not read must not make us buffer without bound (or slow others).
  if (out_.size() + batch_.plaintext().size() > owner_.config().max_send_queue) {
    abort_later("send queue over " + std::to_string(owner_.config().max_send_queue) +
                " bytes: peer is not reading");
    return;
  }
  // Frames queued before the next flush share one transport message (one AEAD seal); for a
  // peer without batches they are sealed one by one, but in a row (seal_batch).
  if (plain.size() > batch_.room()) {
    seal_batch();
    if (plain.size() > batch_.room()) {  // too big for any batch: it goes alone
      seal(plain, padded_total(plain));
      wake_writer();
      return;
    }
  }
  if (batch_.capacity() == 0) batch_.adopt_buffer(local_buffer_pool().take(first_buffer_capacity));
  batch_.add(plain);
  wake_writer();
}

void session::seal_batch() {
  if (batch_.empty()) return;
  // A batch that padding would take past the frame limit goes frame by frame to a client
  // that asked for padding, each frame padded: capped, its length would say how short the
  // names in it were.
  const bool batches = peer_features_ & proto::feature_batch;
  const std::size_t total = batches ? padded_total(batch_.plaintext()) : 0;
  if (batches && total <= proto::max_frame) {
    seal(batch_.plaintext(), total);
  } else {
    // One transport message per frame, sealed in a row rather than as each was queued: the
    // seals then share one expansion of this connection's key (noise_primitives.hpp).
    batch_.for_each([this](byte_view f) { seal(f, padded_total(f)); });
  }
  // Back to the pool: ten thousand idle connections must not each hold a batch buffer.
  local_buffer_pool().give(batch_.take_buffer());
}

std::size_t session::padded_total(byte_view plain) const noexcept {
  return (peer_features_ & proto::feature_padding) ? proto::relay_padded_size(plain) : 0;
}

void session::seal(byte_view plain, std::size_t padded_total) {
  // A client that asked for padding gets every message padded, so that lengths do not
  // tell the names in it (protocol.md 5.14). Only such clients pay for the copy.
  static thread_local bytes padded;
  if (padded_total != 0 && plain.size() + proto::padded_header <= proto::max_frame) {
    proto::pad(plain, std::min(proto::max_frame, padded_total), padded);
    plain = padded;
  }
  // Reserve the length prefix, encrypt in place after it, then patch the length.
  if (out_.capacity() == 0) out_ = local_buffer_pool().take(first_buffer_capacity);
  const std::size_t at = out_.size();
  out_.push_back(0);
  out_.push_back(0);
  if (auto ok = noise_.encrypt_into(plain, out_); !ok) {
    out_.resize(at);
    log::warn() << "session " << id_ << ": cannot encrypt: " << ok.error().message();
    abort_later("encryption failed");
    return;
  }
  const std::size_t len = out_.size() - at - 2;
  out_[at] = static_cast<byte>(len >> 8);
  out_[at + 1] = static_cast<byte>(len);
}

void session::close(proto::reason r, std::string_view text) {
  if (stopped_ || closing_) return;
  if (logged_ || signed_in()) {
    // The reason's name, then the text, unless the text already says it ("kicked: the
    // operator deleted this account", not "kicked by the operator: kicked: ...").
    // Nor "relay shutting down: the relay is shutting down": a text with every word of the
    // reason's name says it in its own words.
    const std::string_view what = proto::describe(r);
    const auto says_it = [&] {
      if (text.starts_with(what.substr(0, what.find(' ')))) return true;
      for (std::size_t at = 0; at < what.size();) {
        const std::size_t end = std::min(what.find(' ', at), what.size());
        if (text.find(what.substr(at, end - at)) == std::string_view::npos) return false;
        at = end + 1;
      }
      return true;
    };
    std::string said(what);
    if (!text.empty() && text != what)
      said = says_it() ? std::string(text) : said + ": " + std::string(text);
    log::info() << "session " << id_ << " (" << (name_.empty() ? address() : name_)
                << "): closing: " << said;
  }
  deliver(proto::closing{r, std::string(text.substr(0, 255))});
  begin_close();
}

void session::say_last_and_close(const proto::frame& last) {
  if (stopped_ || closing_) return;
  deliver(last);
  begin_close();
}

void session::begin_close() {
  closing_ = true;
  arm_watch(std::chrono::steady_clock::now() + close_grace);
  wake_writer();
  // A closing session is no longer online: leave the registry now, not when the socket ends.
  owner_.unregister(*this);
}

void session::abort_later(std::string_view why) {
  if (stopped_) return;
  // Said now: a flush that finds nothing left to write ends a closing session at once, and
  // may run before the posted stop (the reason was lost for signed-in users that way).
  log_dropped(why);
  // Callers may be iterating the registry (broadcasts): stop from a fresh handler instead.
  closing_ = true;
  net::post(socket_.get_executor(), [self = shared_from_this()] { self->stop(); });
}

void session::abort(std::string_view why) {
  if (stopped_) return;
  log_dropped(why);
  stop();
}

void session::log_dropped(std::string_view why) const {
  if (logged_ || signed_in()) {
    log::info() << "session " << id_ << " (" << (name_.empty() ? address() : name_)
                << "): dropped: " << why;
  }
}

void session::end_quietly(std::string_view how) {
  if (stopped_) return;
  if (logged_) log::info() << "session " << id_ << " (" << address() << "): " << how;
  stop();
}

void session::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  socket_.shutdown(socket_type::shutdown_both, ec);
  socket_.close(ec);
  owner_.on_session_end(*this);
}

void session::wait_readable(bool drained) {
  // Right after our read emptied the socket the next edge is enough: no epoll_ctl per wait.
  util::async_wait_readable(
      socket_, drained, cached([self = shared_from_this()](const boost::system::error_code& ec) {
        if (self->stopped_ || self->closing_) return;
        if (ec) {
          self->abort(socket_problem(ec));
          return;
        }
        self->read_available();
      }));
}

void session::read_available() {
  // One buffer shared by all sessions of this thread: an idle connection holds none.
  static thread_local std::array<byte, 65536> buf;
  while (!stopped_ && !closing_) {
    boost::system::error_code ec;
    const auto got = util::read_some_counted(socket_, net::buffer(buf), ec);
    if (ec == net::error::would_block || ec == net::error::try_again) {
      wait_readable(true);
      return;
    }
    if (ec == net::error::eof && !noise_.handshake_done() && !signed_in()) {
      // Not a failure: a client's first contact (protocol.md 4.4) reads the relay's key
      // from handshake message 2 and leaves, for its user to decide whether to trust it.
      end_quietly("left during the handshake (a client reading the relay's key, or a probe)");
      return;
    }
    if (ec) {
      abort(socket_problem(ec));
      return;
    }
    reader_.feed_borrowed(byte_view{buf.data(), got.n});
    received_at(std::chrono::steady_clock::now());
    if (!handle_records()) return;
    switch (got.next(buf.size())) {  // by the kernel's count of what is left, FIN included
      case util::counted_read::then::read_again:
        break;
      case util::counted_read::then::wait_for_new_bytes:
        wait_readable(true);
        return;
      case util::counted_read::then::wait_rearmed:
        wait_readable(false);
        return;
    }
  }
}

bool session::handle_records() {
  while (!stopped_ && !closing_) {
    auto rec = reader_.next();
    if (!rec) {
      if (noise_.handshake_done()) {
        close(proto::reason::protocol_error, reader_.failure_text());
      } else {
        abort(reader_.failure_text());
      }
      return false;
    }
    if (!rec->has_value()) return true;
    switch (on_record(**rec)) {
      case step::next:
        break;
      case step::stop:
        return false;
      case step::authenticate:
        // Other sessions reuse the read buffer meanwhile, so keep what is left of ours.
        reader_.keep();
        authenticate_then_read_on();
        return false;
    }
  }
  return false;
}

void session::authenticate_then_read_on() {
  net::co_spawn(
      socket_.get_executor(),
      [self = shared_from_this()]() -> awaitable<void> {
        auto f = std::move(self->auth_);
        self->checking_ = true;
        if (auto* up = std::get_if<proto::sign_up>(f.get())) {
          co_await self->owner_.authenticate(self, std::move(up->name), std::move(up->password),
                                             up->identity, true);
        } else if (auto* in = std::get_if<proto::sign_in>(f.get())) {
          co_await self->owner_.authenticate(self, std::move(in->name), std::move(in->password),
                                             in->identity, false, in->device_proof);
        } else if (auto* cp = std::get_if<proto::change_password>(f.get())) {
          co_await self->owner_.change_account(self, std::move(cp->old_password),
                                               std::move(cp->new_password));
        } else {
          auto& del = std::get<proto::delete_account>(*f);
          co_await self->owner_.change_account(self, std::move(del.password), std::nullopt);
        }
        // A moved-from short string keeps its bytes in place: the passwords go here.
        proto::for_each_password(*f, [](std::string& s) { crypto::wipe(s); });
        self->checking_ = false;
        // Records that arrived behind the sign-in, then the socket again.
        if (self->handle_records()) self->read_available();
      },
      net::detached);
}

session::step session::on_record(byte_view record) {
  if (!noise_.handshake_done()) {
    auto payload = noise_.read_handshake(record);
    if (!payload) {
      abort(std::string("handshake failed: ") + payload.error().message());
      return step::stop;
    }
    if (noise_.my_turn()) {
      auto reply = noise_.write_handshake({});
      if (!reply) {
        abort(std::string("handshake failed: ") + reply.error().message());
        return step::stop;
      }
      enqueue_record(*reply);
    }
    if (noise_.handshake_done()) {
      // Message 3's payload: feature bits (protocol.md 4.3); unknown bits are ignored.
      peer_features_ = payload->empty() ? byte{0} : (*payload)[0];
      reader_.set_limit(proto::max_record);
      log::debug() << "session " << id_ << " (" << address() << "): handshake complete, "
                   << crypto::noise::cipher_name(noise_.cipher_function());
    }
    return step::next;
  }
  // One plaintext buffer for every session of the thread: no allocation per message.
  static thread_local bytes plain;
  plain.clear();
  if (auto ok = noise_.decrypt_into(record, plain); !ok) {
    // Tampered, replayed or reordered transport message: nothing more can be trusted.
    abort(std::string("transport decrypt failed: ") + ok.error().message());
    return step::stop;
  }
  // A padded message (protocol.md 5.14) is handled as its content alone.
  const auto content = proto::unpad(plain);
  if (!content) {
    close(proto::reason::protocol_error,
          "bad padded message: a length of 0 or past the end, padded content, or a padding "
          "byte that is not zero");
    return step::stop;
  }
  proto::batch_reader frames(*content);
  if (!frames.is_batch()) {
    const bool credentials = !content->empty() && proto::carries_password(content->front());
    const step st = on_plain_frame(*content);
    if (credentials) crypto::wipe(plain.data(), plain.size());  // it held a password
    return st;
  }
  // A batch: its frames in order, as if each had come in its own transport message.
  while (true) {
    auto f = frames.next();
    if (!f) {
      close(proto::reason::protocol_error, std::string("bad batch: ") + f.error().message());
      return step::stop;
    }
    if (!*f) return step::next;
    if (const step st = on_plain_frame(**f); st != step::next) return st;
  }
}

session::step session::on_plain_frame(byte_view plain) {
  if (!plain.empty() && plain.front() == static_cast<byte>(proto::frame_type::send)) {
    return on_send(plain);
  }
  // A type only the relay sends is said to be one, whether or not its fields decode (a
  // lone 0x81 was "truncated frame", a whole closing "unexpected frame from client").
  if (!plain.empty() && plain.front() >= static_cast<byte>(proto::frame_type::welcome) &&
      plain.front() <= static_cast<byte>(proto::frame_type::account_changed)) {
    static constexpr char digits[] = "0123456789abcdef";
    close(proto::reason::protocol_error,
          std::string("unexpected frame from client: type 0x") + digits[plain.front() >> 4] +
              digits[plain.front() & 15] + " is one only the relay sends");
    return step::stop;
  }
  auto f = proto::decode(plain);
  if (!f) {
    close(proto::reason::protocol_error, proto::describe_bad_frame(plain, f.error()));
    return step::stop;
  }
  return on_frame(std::move(*f));
}

session::step session::on_send(byte_view plain) {
  auto s = proto::decode_send_view(plain);
  if (!s) {
    close(proto::reason::protocol_error, proto::describe_bad_frame(plain, s.error()));
    return step::stop;
  }
  if (!signed_in()) {
    // Answered within the message rate only, as pings are: no account, no free echo.
    answer_within_rate(proto::error{proto::reason::not_signed_in, s->id, "sign in first"});
    return step::next;
  }
  if (!take_token()) {
    deliver(proto::error{proto::reason::rate_limited, s->id,
                         "too many messages: this one was not sent; slow down"});
    return step::next;
  }
  owner_.route(*this, *s);
  return step::next;
}

session::step session::on_frame(proto::frame f) {
  // Frames carrying a password are checked on the hashing threads; reading waits for them.
  if (std::holds_alternative<proto::sign_in>(f) || std::holds_alternative<proto::sign_up>(f) ||
      std::holds_alternative<proto::change_password>(f) ||
      std::holds_alternative<proto::delete_account>(f)) {
    // A low-order identity key (32 zero bytes, say) is no one's: nothing can be sealed to it,
    // and announced, it would only put a warning on every client's screen (a review). No
    // client of ours makes one: a malformed frame. (One X25519, about 30 us.)
    const auto* in = std::get_if<proto::sign_in>(&f);
    const auto* up = std::get_if<proto::sign_up>(&f);
    if ((in || up) && !crypto::usable_public_key(in ? in->identity : up->identity)) {
      close(proto::reason::protocol_error,
            "the identity key is unusable (a low-order point: no one holds its secret key)");
      return step::stop;
    }
    auth_ = std::make_unique<proto::frame>(std::move(f));
    return step::authenticate;
  }
  if (auto* p = std::get_if<proto::ping>(&f)) {
    // A ping costs the peer a few bytes inside a batch and the relay a sealed record: pings
    // draw on the message rate like sends, or a peer that never reads (signed in or not)
    // could queue pongs by the megabyte. One over the rate gets no pong (protocol.md 5.5).
    answer_within_rate(proto::pong{p->token});
    return step::next;
  }
  if (std::holds_alternative<proto::pong>(f)) return step::next;
  if (std::holds_alternative<proto::bye>(f)) {
    if (logged_ || signed_in()) {
      log::info() << "session " << id_ << " (" << (name_.empty() ? address() : name_)
                  << "): said goodbye";
    }
    begin_close();  // flush anything queued, then close
    return step::stop;
  }
  // Relay-to-client frame types coming from a client.
  close(proto::reason::protocol_error,
        std::string("unexpected frame from client: ") + proto::type_name(f));
  return step::stop;
}

}  // namespace relay::server
