// Client link: async connect + Noise XX initiator + framed transport.
#include "relay/client/link.hpp"

#include "relay/crypto/random.hpp"
#include "relay/crypto/secret.hpp"

namespace relay::client {
namespace {

class link_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "link"; }
  std::string message(int ev) const override {
    switch (static_cast<link_errc>(ev)) {
      case link_errc::unreachable:
        return "cannot reach the relay";
      case link_errc::key_rejected:
        return "relay key rejected";
      case link_errc::handshake_failed:
        return "secure handshake with the relay failed";
      case link_errc::closed:
        return "connection closed";
      case link_errc::protocol:
        return "protocol error from the relay";
      case link_errc::timeout:
        return "the relay did not answer in time";
    }
    return "link error";
  }
};

}  // namespace

const std::error_category& link_category() noexcept {
  static const link_category_impl c;
  return c;
}
std::error_code make_error_code(link_errc e) noexcept {
  return {static_cast<int>(e), link_category()};
}

link::link(net::io_context& io, bool offer_aesgcm)
    : socket_(io),
      wake_(io),
      static_key_(crypto::key_pair::generate(crypto::os_random())),
      noise_(transport::noise_session::role::initiator, static_key_, crypto::os_random(), true,
             offer_aesgcm ? transport::cipher_choice::aesgcm_if_available
                          : transport::cipher_choice::chachapoly) {
  wake_.expires_at(net::steady_timer::time_point::max());
}

awaitable<result<void>> link::open(const std::string& host, std::uint16_t port,
                                   std::function<bool(const crypto::public_key&)> accept_key,
                                   std::chrono::seconds timeout) {
  // A watchdog closes the socket if the whole open() takes too long.
  net::steady_timer deadline(socket_.get_executor(), timeout);
  bool timed_out = false;
  deadline.async_wait([this, &timed_out](boost::system::error_code ec) {
    if (!ec) {
      timed_out = true;
      boost::system::error_code ignore;
      socket_.close(ignore);
    }
  });
  // Where the time ran out tells the person what is wrong: an HTTP or SSH server takes the
  // connection and waits for its own protocol, silent (review 13).
  enum class stage { lookup, connect, handshake } at = stage::lookup;
  auto fail = [&](link_errc e) -> result<void> {
    deadline.cancel();
    if (!timed_out) return e;
    const std::string secs = std::to_string(timeout.count()) + " s";
    switch (at) {
      case stage::lookup:
        protocol_fault_ = "looking up the host name took over " + secs;
        break;
      case stage::connect:
        protocol_fault_ = "no answer to the connection in " + secs +
                          " (the host is down, or a firewall drops the connection)";
        break;
      case stage::handshake:
        protocol_fault_ = "it took the connection but did not answer the secure handshake in " +
                          secs +
                          ": not a relaychat relay (a web or other server waits silently for "
                          "its own protocol), or a wedged one";
        break;
    }
    return link_errc::timeout;
  };

  boost::system::error_code ec;
  tcp::resolver resolver(socket_.get_executor());
  auto endpoints = co_await resolver.async_resolve(host, std::to_string(port),
                                                   net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    unreachable_because_ = ec.message();
    co_return fail(link_errc::unreachable);
  }
  at = stage::connect;
  co_await net::async_connect(socket_, endpoints, net::redirect_error(net::use_awaitable, ec));
  if (ec) {
    unreachable_because_ = ec.message();
    co_return fail(link_errc::unreachable);
  }
  socket_.set_option(tcp::no_delay(true), ec);
  at = stage::handshake;

  // -> e
  auto m1 = noise_.write_handshake({});
  if (!m1) co_return fail(link_errc::handshake_failed);
  bytes rec;
  proto::append_record(rec, *m1);
  co_await net::async_write(socket_, net::buffer(rec), net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return fail(link_errc::closed);
  // <- e, ee, s, es: always 96 bytes (protocol.md 4.2); a longer record is not a relay's,
  // and is refused at its length instead of waited for.
  reader_.set_limit(handshake_record_limit);
  auto m2 = co_await next_record();
  if (!m2) {
    protocol_fault_ =
        m2.error() == link_errc::closed
            ? "it closed the connection before answering (a relay at one of its limits of "
              "connections does so: in all, or not signed in yet, from this address or from "
              "all; or this is not a relaychat relay)"
            : "its answer is not a relaychat handshake message (" + protocol_fault_ +
                  "): not a relaychat relay?";
    co_return fail(link_errc::handshake_failed);
  }
  reader_.set_limit(proto::max_record);
  if (auto p = noise_.read_handshake(*m2); !p || !noise_.remote_static()) {
    protocol_fault_ =
        "its handshake message does not check (not a relaychat relay, or altered "
        "on the way?)";
    co_return fail(link_errc::handshake_failed);
  }
  relay_key_ = *noise_.remote_static();
  // The pin check happens here, before message 3 reveals anything of ours.
  if (!accept_key(relay_key_)) {
    boost::system::error_code ignore;
    socket_.close(ignore);
    co_return fail(link_errc::key_rejected);
  }
  // -> s, se; the payload tells the relay we take batches of frames, want to hear of a
  // sign-in with another key, and want what it sends padded (protocol.md 4.3)
  const std::array<byte, 1> features{proto::feature_batch | proto::feature_last_key |
                                     proto::feature_padding};
  auto m3 = noise_.write_handshake(features);
  if (!m3) co_return fail(link_errc::handshake_failed);
  rec.clear();
  proto::append_record(rec, *m3);
  co_await net::async_write(socket_, net::buffer(rec), net::redirect_error(net::use_awaitable, ec));
  if (ec) co_return fail(link_errc::closed);
  deadline.cancel();
  co_return result<void>{};
}

awaitable<result<byte_view>> link::next_record() {
  std::array<byte, 16384> buf;
  while (true) {
    auto r = reader_.next();
    if (!r) {
      protocol_fault_ = "a bad record: " + r.error().message();
      co_return link_errc::protocol;
    }
    if (r->has_value()) co_return **r;
    boost::system::error_code ec;
    std::size_t n = co_await socket_.async_read_some(net::buffer(buf),
                                                     net::redirect_error(net::use_awaitable, ec));
    if (ec) co_return link_errc::closed;
    reader_.feed(byte_view{buf.data(), n});
  }
}

void link::send(const proto::frame& f) {
  bytes plain = proto::encode(f);
  // Padded so that record lengths do not tell a password's length, nor a recipient's name
  // length (protocol.md 5.14).
  if (const std::size_t total = proto::client_padded_size(plain); total != 0) {
    bytes padded;
    proto::pad(plain, total, padded);
    crypto::wipe(plain.data(), plain.size());
    plain.swap(padded);
  }
  auto ct = noise_.encrypt(plain);
  crypto::wipe(plain.data(), plain.size());  // may hold a password
  if (!ct) return;
  proto::append_record(out_, *ct);
  if (!writer_running_) {
    writer_running_ = true;
    net::co_spawn(
        socket_.get_executor(), [self = shared_from_this()] { return self->write_loop(); },
        net::detached);
  }
  wake_.cancel_one();
}

awaitable<void> link::write_loop() {
  while (socket_.is_open()) {
    if (out_.empty()) {
      boost::system::error_code ec;
      co_await wake_.async_wait(net::redirect_error(net::use_awaitable, ec));
      continue;
    }
    writing_.swap(out_);
    out_.clear();
    boost::system::error_code ec;
    co_await net::async_write(socket_, net::buffer(writing_),
                              net::redirect_error(net::use_awaitable, ec));
    writing_.clear();
    wake_.cancel_one();  // wakes flush()
    if (ec) break;
  }
  writer_running_ = false;
}

awaitable<void> link::flush() {
  net::steady_timer t(socket_.get_executor());
  for (int i = 0; i < 200 && socket_.is_open() && (!out_.empty() || !writing_.empty()); ++i) {
    t.expires_after(std::chrono::milliseconds(10));
    boost::system::error_code ec;
    co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
  }
}

awaitable<result<proto::frame>> link::receive() {
  if (!received_.empty()) {
    proto::frame f = std::move(received_.front());
    received_.pop_front();
    co_return f;
  }
  auto rec = co_await next_record();
  if (!rec) co_return failure(rec.error());
  // Each fault is named: a person (or the relay's operator) can tell a bug from an attack.
  auto fault = [this](std::string what) -> result<proto::frame> {
    protocol_fault_ = std::move(what);
    return link_errc::protocol;
  };
  auto plain = noise_.decrypt(*rec);
  if (!plain) co_return fault("a transport message that does not decrypt (altered on the way?)");
  auto content = proto::unpad(*plain);  // padded content (protocol.md 5.14)
  if (!content) co_return fault(content.error().message() + " (protocol.md 5.14)");
  // One frame, or a batch of them (protocol.md 5.12): decode all now, hand out one by one.
  proto::batch_reader frames(*content);
  while (true) {
    auto next = frames.next();
    if (!next) co_return fault("a malformed batch (" + next.error().message() + ")");
    if (!*next) break;
    auto f = proto::decode(**next);
    if (!f) co_return fault("a malformed frame (" + f.error().message() + ")");
    received_.push_back(std::move(*f));
  }
  proto::frame f = std::move(received_.front());
  received_.pop_front();
  co_return f;
}

void link::close() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  wake_.cancel();
}

}  // namespace relay::client
