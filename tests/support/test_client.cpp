// Blocking test client and recording proxy over POSIX sockets with poll() timeouts.
#include "support/test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "relay/crypto/random.hpp"
#include "relay/crypto/sodium.hpp"

namespace relay::test {
namespace {

int connect_loopback(std::uint16_t port, const char* source = nullptr) {
  // A source with a colon is IPv6: connect to ::1 from it (IPv4 loopback otherwise).
  const bool v6 = source && std::strchr(source, ':');
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket failed");
  int rc = 0;
  if (v6) {
    sockaddr_in6 from{};
    from.sin6_family = AF_INET6;
    ::inet_pton(AF_INET6, source, &from.sin6_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
      ::close(fd);
      throw std::runtime_error("cannot bind source address");
    }
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    a.sin6_addr = in6addr_loopback;
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    if (source) {
      sockaddr_in from{};
      from.sin_family = AF_INET;
      ::inet_pton(AF_INET, source, &from.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot bind source address");
      }
    }
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  if (rc != 0) {
    ::close(fd);
    throw std::runtime_error("connect failed: " + std::string(std::strerror(errno)));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

void write_all(int fd, byte_view b) {
  std::size_t off = 0;
  while (off < b.size()) {
    ssize_t n = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;  // peer gone: the test notices on read
    }
    off += static_cast<std::size_t>(n);
  }
}

int listen_loopback(std::uint16_t& port, const char* who) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 16) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error(std::string(who) + ": cannot listen");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  port = ntohs(a.sin_port);
  return fd;
}

raw_socket::raw_socket(std::uint16_t port, const char* source)
    : fd_(connect_loopback(port, source)) {}
raw_socket::~raw_socket() {
  if (fd_ >= 0) ::close(fd_);
}
void raw_socket::write(byte_view b) { write_all(fd_, b); }

std::optional<bytes> raw_socket::read_some(std::chrono::milliseconds timeout) {
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
  if (r <= 0) return bytes{};
  byte buf[65536];
  ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return std::nullopt;
  return bytes(buf, buf + n);
}

bool raw_socket::closed_within(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (!read_some(std::max(left, std::chrono::milliseconds(1)))) return true;
  }
  return false;
}

test_client::test_client(std::uint16_t port, const char* source, bool accept_batches,
                         transport::cipher_choice choice, byte extra_features)
    : sock_(port, source),
      static_key_((crypto::init(), crypto::key_pair::generate(crypto::os_random()))),
      identity_(crypto::key_pair::generate(crypto::os_random())),
      noise_(transport::noise_session::role::initiator, static_key_, crypto::os_random(), true,
             choice) {
  bytes out;
  auto m1 = noise_.write_handshake({});
  if (!m1) throw std::runtime_error("handshake: write 1");
  proto::append_record(out, *m1);
  sock_.write(out);
  auto m2 = next_record(5s);
  if (!m2) throw std::runtime_error("handshake: no message 2");
  if (!noise_.read_handshake(*m2)) throw std::runtime_error("handshake: bad message 2");
  relay_key_ = *noise_.remote_static();
  accept_batches_ = accept_batches;
  const std::array<byte, 1> features{
      static_cast<byte>((accept_batches ? proto::feature_batch : 0) | extra_features)};
  auto m3 = noise_.write_handshake(features[0] != 0 ? byte_view(features) : byte_view());
  if (!m3) throw std::runtime_error("handshake: write 3");
  out.clear();
  proto::append_record(out, *m3);
  sock_.write(out);
}

std::optional<bytes> test_client::next_record(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto r = reader_.next();
    if (!r) return std::nullopt;
    if (r->has_value()) return bytes((*r)->begin(), (*r)->end());
    auto now = std::chrono::steady_clock::now();
    if (now >= end || closed_) return std::nullopt;
    auto in = sock_.read_some(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
    if (!in) {
      closed_ = true;
      return std::nullopt;
    }
    reader_.feed(*in);
  }
}

void test_client::send_frame(const proto::frame& f) {
  const bytes plain = proto::encode(f);
  const std::size_t total = pad_ ? proto::client_padded_size(plain) : 0;
  if (total == 0) return send_raw_frame(plain);
  bytes padded;
  proto::pad(plain, total, padded);
  send_raw_frame(padded);
}

void test_client::send_raw_frame(byte_view plaintext) {
  auto ct = noise_.encrypt(plaintext);
  if (!ct) throw std::runtime_error("encrypt failed");
  bytes out;
  proto::append_record(out, *ct);
  sock_.write(out);
}

void test_client::send_batch(const std::vector<proto::frame>& frames) {
  // Built by hand, not with proto::batch_writer: tests also need what it refuses to make (a
  // batch of one entry, credentials inside a batch).
  bytes plain{static_cast<byte>(proto::frame_type::batch)};
  for (const auto& f : frames) {
    const bytes one = proto::encode(f);
    plain.push_back(static_cast<byte>(one.size() >> 8));
    plain.push_back(static_cast<byte>(one.size()));
    plain.insert(plain.end(), one.begin(), one.end());
  }
  send_raw_frame(plain);
}

std::optional<proto::frame> test_client::next_frame(std::chrono::milliseconds timeout) {
  if (queued_.empty()) {
    auto rec = next_record(timeout);
    if (!rec) return std::nullopt;
    auto plain = noise_.decrypt(*rec);
    if (!plain) throw std::runtime_error("relay sent an undecryptable record");
    ++transport_messages_;
    auto content = proto::unpad(*plain);
    if (!content) throw std::runtime_error("relay sent a bad padded message");
    last_message_size_ = plain->size();
    if (content->size() != plain->size()) ++padded_received_;
    proto::batch_reader frames(*content);
    if (frames.is_batch()) {
      if (!accept_batches_) throw std::runtime_error("relay sent a batch we did not ask for");
      ++batches_received_;
    }
    while (true) {
      auto one = frames.next();
      if (!one) throw std::runtime_error("relay sent a bad batch: " + one.error().message());
      if (!*one) break;
      auto f = proto::decode(**one);
      if (!f) throw std::runtime_error("relay sent an undecodable frame: " + f.error().message());
      queued_.push_back(std::move(*f));
    }
  }
  proto::frame f = std::move(queued_.front());
  queued_.pop_front();
  return f;
}

std::optional<proto::frame> test_client::sign_in(const std::string& name,
                                                 const std::string& password, bool sign_up,
                                                 std::chrono::milliseconds wait) {
  proto::key_bytes k;
  std::copy(identity_.pub().begin(), identity_.pub().end(), k.begin());
  if (sign_up) {
    send_frame(proto::sign_up{name, password, k});
  } else {
    send_frame(proto::sign_in{name, password, k, proof_for(identity_)});
  }
  return await_welcome(name, wait);
}

crypto::device_proof_bytes test_client::proof_for(const crypto::key_pair& identity) const {
  auto p = crypto::device_proof(identity, relay_key_, noise_.handshake_hash());
  if (!p) throw std::runtime_error("device proof: low-order relay key");
  return *p;
}

std::optional<proto::frame> test_client::await_welcome(const std::string& name,
                                                       std::chrono::milliseconds wait) {
  auto f = next_frame(wait);
  if (f && std::holds_alternative<proto::welcome>(*f)) {
    chat_.emplace(name, crypto::key_pair::from_secret(identity_.secret()), crypto::os_random());
  }
  return f;
}

void test_client::sign_up_ok(const std::string& name, const std::string& password) {
  send_sign_up(name, password);
  finish_sign_up(name);
}

void test_client::send_sign_up(const std::string& name, const std::string& password) {
  proto::key_bytes k;
  std::copy(identity_.pub().begin(), identity_.pub().end(), k.begin());
  send_frame(proto::sign_up{name, password, k});
}

void test_client::finish_sign_up(const std::string& name) {
  auto f = await_welcome(name, std::chrono::seconds(10));
  if (!f || !std::holds_alternative<proto::welcome>(*f)) {
    throw std::runtime_error("sign-up of " + name + " failed");
  }
  while (true) {
    auto p = expect<proto::presence>();
    if (!p) throw std::runtime_error("no roster snapshot for " + name);
    if (p->snapshot && p->last) return;
  }
}

void test_client::cork() {
  const int on = 1;
  ::setsockopt(sock_.fd(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

void test_client::shutdown_send() { ::shutdown(sock_.fd(), SHUT_WR); }

void test_client::send_text(const std::string& to, const std::string& text, std::uint32_t id) {
  send_frame(sealed_send(to, text, id));
}

proto::send test_client::sealed_send(const std::string& to, const std::string& text,
                                     std::uint32_t id) {
  auto sealed = chat_->seal_to(to, text);
  if (!sealed) throw std::runtime_error("seal failed: " + sealed.error().message());
  return proto::send{id, to, std::move(*sealed)};
}

std::optional<test_client::received> test_client::receive_text(std::chrono::milliseconds timeout) {
  auto d = expect<proto::deliver>(timeout);
  if (!d) return std::nullopt;
  auto opened = chat_->open_from(d->from, d->ciphertext);
  if (!opened) return received{d->from, failure{opened.error()}};
  return received{d->from, std::move(opened->text), opened->key_notice};
}

bool test_client::wait_roster(const std::string& name, bool online,
                              std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (chat_->is_online(name) != online) {
    auto now = std::chrono::steady_clock::now();
    if (now >= end) return false;
    auto f = next_frame(std::chrono::duration_cast<std::chrono::milliseconds>(end - now));
    if (!f) return false;
    if (auto* p = std::get_if<proto::presence>(&*f)) chat_->apply(*p);
  }
  return true;
}

bool contains(const bytes& haystack, std::string_view needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

// --- recording proxy ---------------------------------------------------------------------

struct recording_proxy::impl {
  int listen_fd = -1;
  std::uint16_t target = 0;
  std::atomic<bool> stop{false};
  mutable std::mutex m;
  bytes up, down;
  std::thread acceptor;
  std::vector<std::thread> pumps;  // guarded by m
  std::atomic<long>* corrupt_at = nullptr;
  std::atomic<long>* pass_records = nullptr;
  std::atomic<long>* close_after = nullptr;
  long up_count = 0;

  void pump(int client, int server) {
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    byte buf[65536];
    bytes stream;              // this connection, client->relay
    std::size_t sent = 0;      // of which forwarded or swallowed
    std::size_t boundary = 0;  // end of the last whole record in `stream`
    long records = 0;
    bytes down_stream;  // this connection, relay->client
    std::size_t down_boundary = 0;
    long down_records = 0;
    while (!stop) {
      if (::poll(fds, 2, 100) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0) {
          ::shutdown(client, SHUT_RDWR);
          ::shutdown(server, SHUT_RDWR);
          ::close(client);
          ::close(server);
          return;
        }
        {
          std::lock_guard lock(m);
          if (i == 0) {
            const long at = corrupt_at->load();
            if (at >= up_count && at < up_count + n) buf[at - up_count] ^= 0x01;
            up_count += n;
            up.insert(up.end(), buf, buf + n);
          } else {
            down.insert(down.end(), buf, buf + n);
          }
        }
        if (i == 0 && pass_records->load() >= 0) {
          stream.insert(stream.end(), buf, buf + n);
          const long limit = pass_records->load();
          while (records < limit && stream.size() >= boundary + 2) {
            const std::size_t len = std::size_t{stream[boundary]} << 8 | stream[boundary + 1];
            if (stream.size() < boundary + 2 + len) break;
            boundary += 2 + len;
            ++records;
          }
          const std::size_t pass_to = records < limit ? stream.size() : boundary;
          if (pass_to > sent) write_all(server, byte_view{stream.data() + sent, pass_to - sent});
          sent = std::max(sent, pass_to);
          continue;
        }
        write_all(i == 0 ? server : client, byte_view{buf, static_cast<std::size_t>(n)});
        if (i == 1 && close_after->load() >= 0) {
          down_stream.insert(down_stream.end(), buf, buf + n);
          while (down_stream.size() >= down_boundary + 2) {
            const std::size_t len =
                std::size_t{down_stream[down_boundary]} << 8 | down_stream[down_boundary + 1];
            if (down_stream.size() < down_boundary + 2 + len) break;
            down_boundary += 2 + len;
            ++down_records;
          }
          if (down_records >= close_after->load()) {
            ::shutdown(client, SHUT_RDWR);
            ::shutdown(server, SHUT_RDWR);
            ::close(client);
            ::close(server);
            return;
          }
        }
      }
    }
    ::close(client);
    ::close(server);
  }
};

recording_proxy::recording_proxy(std::uint16_t target) : impl_(std::make_unique<impl>()) {
  impl_->target = target;
  impl_->corrupt_at = &corrupt_at_;
  impl_->pass_records = &pass_records_;
  impl_->close_after = &close_after_;
  impl_->listen_fd = listen_loopback(port_, "proxy");
  impl_->acceptor = std::thread([this] {
    while (!impl_->stop) {
      pollfd p{impl_->listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept(impl_->listen_fd, nullptr, nullptr);
      if (c < 0) continue;
      int s = connect_loopback(impl_->target);
      std::lock_guard lock(impl_->m);
      impl_->pumps.emplace_back([this, c, s] { impl_->pump(c, s); });
    }
  });
}

recording_proxy::~recording_proxy() {
  impl_->stop = true;
  impl_->acceptor.join();  // after this nobody adds pumps
  for (auto& t : impl_->pumps) t.join();
  ::close(impl_->listen_fd);
}

bytes recording_proxy::upstream() const {
  std::lock_guard lock(impl_->m);
  return impl_->up;
}
bytes recording_proxy::downstream() const {
  std::lock_guard lock(impl_->m);
  return impl_->down;
}

}  // namespace relay::test
