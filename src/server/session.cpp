// Relay-side connection: Noise XX responder, then one frame per transport message.
//
// The read loop handles one record at a time and awaits sign-in before reading on, so a
// client cannot pipeline work past its own authentication. Outgoing frames are encrypted
// when queued and the write loop sends everything queued in a single write.
#include "relay/server/session.hpp"

#include "relay/crypto/random.hpp"
#include "relay/crypto/secret.hpp"
#include "relay/server/relay_server.hpp"
#include "relay/util/log.hpp"

namespace relay::server {

session::session(tcp::socket socket, relay_server& owner, std::uint64_t id)
    : socket_(std::move(socket)),
      owner_(owner),
      id_(id),
      wake_(socket_.get_executor()),
      watch_(socket_.get_executor()),
      noise_(transport::noise_session::role::responder, owner.noise_key(), crypto::os_random()),
      since_(std::chrono::system_clock::now()) {
  boost::system::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  ip_ = ec ? "?" : ep.address().to_string();
  address_ = ec ? "?" : ip_ + ":" + std::to_string(ep.port());
  last_rx_ = std::chrono::steady_clock::now();
  socket_.set_option(tcp::no_delay(true), ec);  // we batch writes ourselves
  wake_.expires_at(net::steady_timer::time_point::max());
}

void session::start() {
  auto self = shared_from_this();
  net::co_spawn(
      socket_.get_executor(), [self] { return self->read_loop(); }, net::detached);
  net::co_spawn(
      socket_.get_executor(), [self] { return self->write_loop(); }, net::detached);
  net::co_spawn(
      socket_.get_executor(), [self] { return self->watch_loop(); }, net::detached);
}

awaitable<void> session::watch_loop() {
  const auto& cfg = owner_.config();
  const auto started = std::chrono::steady_clock::now();
  bool pinged = false;
  std::chrono::steady_clock::time_point pinged_at;
  while (!stopped_) {
    const auto now = std::chrono::steady_clock::now();
    if (!signed_in()) {
      if (now - started >= cfg.auth_timeout) {
        if (noise_.handshake_done()) {
          close(proto::reason::timeout, "sign-in took too long");
        } else {
          abort("handshake took too long");
        }
        co_return;
      }
      watch_.expires_at(started + cfg.auth_timeout);
    } else {
      const auto idle = now - last_rx_;
      if (idle >= cfg.idle_timeout) {
        close(proto::reason::timeout, "no traffic from you for too long");
        co_return;
      }
      if (pinged && last_rx_ > pinged_at) pinged = false;  // it answered
      if (!pinged && idle >= cfg.ping_interval) {
        deliver(proto::ping{static_cast<std::uint64_t>(now.time_since_epoch().count())});
        pinged = true;
        pinged_at = now;
      }
      watch_.expires_at(last_rx_ + (pinged ? cfg.idle_timeout : cfg.ping_interval));
    }
    boost::system::error_code ec;
    co_await watch_.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

bool session::take_token() {
  const auto& cfg = owner_.config();
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - tokens_at_).count();
  tokens_ = std::min(cfg.message_burst, tokens_ + elapsed * cfg.message_rate);
  tokens_at_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

void session::set_signed_in(std::string name, const crypto::public_key& identity) {
  name_ = std::move(name);
  identity_ = identity;
  since_ = std::chrono::system_clock::now();
  tokens_ = owner_.config().message_burst;
  tokens_at_ = std::chrono::steady_clock::now();
  watch_.cancel();  // re-arm for idle detection
}

void session::enqueue_record(byte_view body) {
  proto::append_record(out_, body);
  wake_writer();
}

void session::wake_writer() {
  // Cancelling a timer takes the reactor's lock and posts a handler: only when it sleeps.
  if (writer_waiting_) {
    writer_waiting_ = false;
    wake_.cancel_one();
  }
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
  if (out_.size() > owner_.config().max_send_queue) {
    abort_later("send queue over " + std::to_string(owner_.config().max_send_queue) +
                " bytes: peer is not reading");
    return;
  }
  // Reserve the length prefix, encrypt in place after it, then patch the length.
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
  wake_writer();
}

void session::close(proto::reason r, std::string_view text) {
  if (stopped_ || closing_) return;
  log::info() << "session " << id_ << " (" << (name_.empty() ? address_ : name_)
              << "): closing: " << proto::describe(r) << (text.empty() ? "" : ": ") << text;
  deliver(proto::closing{r, std::string(text.substr(0, 255))});
  begin_close();
}

void session::begin_close() {
  closing_ = true;
  wake_writer();
  // A closing session is no longer online: leave the registry now, not when the socket ends.
  owner_.unregister(*this);
}

void session::abort_later(std::string why) {
  // Callers may be iterating the registry (broadcasts): stop from a fresh handler instead.
  closing_ = true;
  net::post(socket_.get_executor(),
            [self = shared_from_this(), why = std::move(why)] { self->abort(why); });
}

void session::abort(std::string_view why) {
  if (stopped_) return;
  log::info() << "session " << id_ << " (" << (name_.empty() ? address_ : name_)
              << "): dropped: " << why;
  stop();
}

void session::stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  wake_.cancel();
  watch_.cancel();
  owner_.on_session_end(*this);
}

awaitable<void> session::read_loop() {
  // Wait for readability, then read into one buffer shared by all sessions of this thread:
  // an idle connection holds no read buffer at all.
  static thread_local std::array<byte, 65536> buf;
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);
  while (!stopped_ && !closing_) {
    co_await socket_.async_wait(tcp::socket::wait_read,
                                net::redirect_error(net::use_awaitable, ec));
    // Read until a short read: the reactor is edge-triggered, so data left in the socket
    // would not wake us again.
    std::size_t n = buf.size();
    while (n == buf.size() && !stopped_ && !closing_) {
      n = 0;
      if (!ec) n = socket_.read_some(net::buffer(buf), ec);
      if (ec == net::error::would_block || ec == net::error::try_again) {
        ec = {};
        break;
      }
      if (ec) {
        if (!stopped_) abort(ec == net::error::eof ? "peer closed the connection" : ec.message());
        co_return;
      }
      reader_.feed_borrowed(byte_view{buf.data(), n});
      last_rx_ = std::chrono::steady_clock::now();
      while (!stopped_ && !closing_) {
        auto rec = reader_.next();
        if (!rec) {
          if (noise_.handshake_done()) {
            close(proto::reason::protocol_error, rec.error().message());
          } else {
            abort(rec.error().message());
          }
          co_return;
        }
        if (!rec->has_value()) break;
        const step next = on_record(**rec);
        if (next == step::stop) co_return;
        if (next == step::authenticate) {
          // The only awaited step: the read loop does not go on until sign-in is answered.
          // Other sessions reuse `buf` meanwhile, so keep what is left of ours.
          reader_.keep();
          auto f = std::move(*auth_);
          auth_.reset();
          if (auto* up = std::get_if<proto::sign_up>(&f)) {
            co_await owner_.authenticate(shared_from_this(), std::move(up->name),
                                         std::move(up->password), up->identity, true);
          } else {
            auto& in = std::get<proto::sign_in>(f);
            co_await owner_.authenticate(shared_from_this(), std::move(in.name),
                                         std::move(in.password), in.identity, false);
          }
          if (stopped_ || closing_) co_return;
        }
      }
    }
  }
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
      reader_.set_limit(proto::max_record);
      log::debug() << "session " << id_ << " (" << address_ << "): handshake complete";
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
  if (!plain.empty() && plain.front() == static_cast<byte>(proto::frame_type::send)) {
    return on_send(plain);
  }
  auto f = proto::decode(plain);
  if (!plain.empty() && (plain.front() == static_cast<byte>(proto::frame_type::sign_in) ||
                         plain.front() == static_cast<byte>(proto::frame_type::sign_up))) {
    crypto::wipe(plain.data(), plain.size());  // it held a password
  }
  if (!f) {
    close(proto::reason::protocol_error, f.error().message());
    return step::stop;
  }
  return on_frame(std::move(*f));
}

session::step session::on_send(byte_view plain) {
  auto s = proto::decode_send_view(plain);
  if (!s) {
    close(proto::reason::protocol_error, s.error().message());
    return step::stop;
  }
  if (!signed_in()) {
    deliver(proto::error{proto::reason::not_signed_in, s->id, "sign in first"});
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
  if (std::holds_alternative<proto::sign_in>(f) || std::holds_alternative<proto::sign_up>(f)) {
    auth_ = std::move(f);
    return step::authenticate;
  }
  if (auto* p = std::get_if<proto::ping>(&f)) {
    deliver(proto::pong{p->token});
    return step::next;
  }
  if (std::holds_alternative<proto::pong>(f)) return step::next;
  if (std::holds_alternative<proto::bye>(f)) {
    log::info() << "session " << id_ << " (" << (name_.empty() ? address_ : name_)
                << "): said goodbye";
    begin_close();  // flush anything queued, then close
    return step::stop;
  }
  // Relay-to-client frame types coming from a client.
  close(proto::reason::protocol_error,
        std::string("unexpected frame from client: ") + proto::type_name(f));
  return step::stop;
}

awaitable<void> session::write_loop() {
  while (!stopped_) {
    if (out_.empty()) {
      if (closing_) break;
      boost::system::error_code ec;
      writer_waiting_ = true;
      co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
      writer_waiting_ = false;
      continue;
    }
    writing_.swap(out_);
    out_.clear();
    boost::system::error_code ec;
    co_await net::async_write(socket_, net::buffer(writing_),
                              net::redirect_error(net::use_awaitable, ec));
    writing_.clear();
    if (writing_.capacity() > proto::shrink_above) bytes().swap(writing_);  // idle peers stay small
    if (ec) {
      if (!stopped_) abort(ec.message());
      co_return;
    }
  }
  stop();
}

}  // namespace relay::server
