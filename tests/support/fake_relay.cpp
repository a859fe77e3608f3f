// The lying relay: blocking POSIX sockets, one thread per connection, poll() so that the
// destructor can stop them.
#include "support/fake_relay.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "relay/crypto/keys.hpp"
#include "relay/crypto/random.hpp"
#include "relay/crypto/sodium.hpp"
#include "relay/proto/record.hpp"
#include "relay/transport/noise.hpp"
#include "support/test_client.hpp"

namespace relay::test {

struct fake_relay::impl {
  int listen_fd = -1;
  std::atomic<bool> stop{false};
  crypto::key_pair static_key;
  script answer;
  script on_bye;
  std::atomic<int>* sign_ins = nullptr;
  std::mutex m;
  std::vector<std::thread> connections;  // guarded by m
  std::thread acceptor;

  impl(script a, script b)
      : static_key(crypto::key_pair::generate(crypto::os_random())),
        answer(std::move(a)),
        on_bye(std::move(b)) {}

  /// Sends `plains` (an empty one is a pause); false if the connection failed.
  bool send_all(int fd, transport::noise_session& noise, const std::vector<bytes>& plains) {
    for (const bytes& plain : plains) {
      if (plain.empty()) {  // a pause between rounds
        std::this_thread::sleep_for(fake_relay::pause);
        continue;
      }
      if (!send_plain(fd, noise, plain)) return false;
    }
    return true;
  }

  /// The next whole record from `fd`; nullopt once the peer closes, on a bad record, or stop.
  std::optional<bytes> read_record(int fd, proto::record_reader& reader) {
    byte buf[65536];
    while (!stop) {
      auto r = reader.next();
      if (!r) return std::nullopt;
      if (r->has_value()) return bytes((*r)->begin(), (*r)->end());
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return std::nullopt;
      reader.feed(byte_view{buf, static_cast<std::size_t>(n)});
    }
    return std::nullopt;
  }

  static bool send_plain(int fd, transport::noise_session& noise, byte_view plain) {
    auto ct = noise.encrypt(plain);
    if (!ct) return false;
    bytes rec;
    proto::append_record(rec, *ct);
    write_all(fd, rec);
    return true;
  }

  /// The frame a client's transport message carries (padded or not), if it is one frame.
  static std::optional<proto::frame> frame_of(byte_view plain) {
    auto content = proto::unpad(plain);
    if (!content) return std::nullopt;
    auto f = proto::decode(*content);
    if (!f) return std::nullopt;
    return std::move(*f);
  }

  void serve(int fd) {
    proto::record_reader reader;
    transport::noise_session noise(transport::noise_session::role::responder, static_key,
                                   crypto::os_random(), false,
                                   transport::cipher_choice::aesgcm_if_available);
    auto m1 = read_record(fd, reader);
    if (!m1 || !noise.read_handshake(*m1)) return;
    auto m2 = noise.write_handshake({});
    if (!m2) return;
    bytes rec;
    proto::append_record(rec, *m2);
    write_all(fd, rec);
    auto m3 = read_record(fd, reader);  // nullopt: the client's first-use probe
    if (!m3 || !noise.read_handshake(*m3)) return;
    auto first_record = read_record(fd, reader);
    if (!first_record) return;
    auto first_plain = noise.decrypt(*first_record);
    if (!first_plain) return;
    auto first = frame_of(*first_plain);
    if (!first) return;
    sign_ins->fetch_add(1);
    if (!send_all(fd, noise, answer(*first))) return;
    while (auto r = read_record(fd, reader)) {
      auto plain = noise.decrypt(*r);
      if (!plain) return;
      if (auto f = frame_of(*plain)) {
        if (auto* p = std::get_if<proto::ping>(&*f)) {
          if (!send_plain(fd, noise, proto::encode(proto::pong{p->token}))) return;
        } else if (std::holds_alternative<proto::bye>(*f) && on_bye) {
          send_all(fd, noise, on_bye(*first));
          return;
        } else if (std::holds_alternative<proto::change_password>(*f) ||
                   std::holds_alternative<proto::delete_account>(*f)) {
          return;  // gone before it answers: did it change the account or not?
        }
      }
    }
  }
};

fake_relay::fake_relay(script answer, script on_bye) {
  crypto::init();
  impl_ = std::make_unique<impl>(std::move(answer), std::move(on_bye));
  impl_->sign_ins = &sign_ins_;
  impl_->listen_fd = listen_loopback(port_, "fake relay");
  impl_->acceptor = std::thread([i = impl_.get()] {
    while (!i->stop) {
      pollfd p{i->listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int c = ::accept(i->listen_fd, nullptr, nullptr);
      if (c < 0) continue;
      int one = 1;
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard lock(i->m);
      i->connections.emplace_back([i, c] {
        i->serve(c);
        ::close(c);
      });
    }
  });
}

fake_relay::~fake_relay() {
  impl_->stop = true;
  impl_->acceptor.join();
  std::lock_guard lock(impl_->m);
  for (auto& t : impl_->connections) t.join();
  ::close(impl_->listen_fd);
}

}  // namespace relay::test
