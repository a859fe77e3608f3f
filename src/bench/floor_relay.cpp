#include "relay/bench/floor_relay.hpp"

#include <array>

#include "relay/bench/irc_line.hpp"
#include "relay/util/drained_wait.hpp"
#include "relay/util/handler_memory.hpp"

namespace relay::bench {

struct floor_relay::conn {
  explicit conn(socket_type s) : sock(std::move(s)) {}
  socket_type sock;
  std::string nick;
  std::string in;       // the start of a line whose LF has not arrived
  std::string out;      // queued for the next write
  std::string writing;  // being written now
  bool writing_now = false;
  bool dirty = false;
  bool closed = false;
};

floor_relay::floor_relay(net::io_context& io, const tcp::endpoint& at)
    : io_(io), acceptor_(io.get_executor()) {
  acceptor_.open(at.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(at);
  acceptor_.listen(net::socket_base::max_listen_connections);
  port_ = acceptor_.local_endpoint().port();
  accept();
}

floor_relay::~floor_relay() {
  *alive_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  for (auto& [nick, weak] : by_nick_) {
    if (auto c = weak.lock()) c->sock.close(ec);
  }
}

void floor_relay::accept() {
  acceptor_.async_accept(
      io_, [this, alive = alive_](const boost::system::error_code& ec, socket_type sock) {
        if (!*alive) return;
        if (ec == net::error::operation_aborted) return;
        if (!ec) {
          boost::system::error_code opt;
          sock.set_option(tcp::no_delay(true), opt);  // as relaychat: it coalesces writes itself
          sock.non_blocking(true, opt);
          util::count_queued_bytes(sock);
          auto c = std::make_shared<conn>(std::move(sock));
          ++open_;
          wait_readable(c);
        }
        accept();
      });
}

void floor_relay::wait_readable(const std::shared_ptr<conn>& c, bool drained) {
  // Asio's operations from the same per-thread cache as relaychat's (relay/util/
  // handler_memory.hpp): the floor must not pay a malloc per message that the relay does not.
  // Nor a system call per wait that the relay does not (relay/util/drained_wait.hpp).
  util::async_wait_readable(c->sock, drained,
                            cached([this, c, alive = alive_](const boost::system::error_code& ec) {
                              if (!*alive || c->closed) return;
                              if (ec) return close(c);
                              read_available(c);
                            }));
}

void floor_relay::read_available(const std::shared_ptr<conn>& c) {
  static thread_local std::array<char, 65536> buf;
  bool drained = false;  // by the kernel's count: then the next edge is news (as in relaychat)
  while (!c->closed) {
    boost::system::error_code ec;
    const auto got = util::read_some_counted(c->sock, net::buffer(buf), ec);
    const std::size_t n = got.n;
    if (ec == net::error::would_block || ec == net::error::try_again) {
      drained = true;
      break;
    }
    if (ec) {
      close(c);
      break;
    }
    std::string_view data(buf.data(), n);
    // Complete the line carried over from the last read first.
    if (!c->in.empty()) {
      const std::size_t lf = data.find('\n');
      c->in.append(data.substr(0, lf == std::string_view::npos ? data.size() : lf + 1));
      data.remove_prefix(lf == std::string_view::npos ? data.size() : lf + 1);
      if (lf != std::string_view::npos) {
        const std::string line = std::move(c->in);
        c->in.clear();
        if (!on_line(c, next_irc_line(line).line)) break;
      }
    }
    while (!c->closed) {
      const line_cut cut = next_irc_line(data);
      if (cut.consumed == 0) break;
      if (!on_line(c, cut.line)) break;
      data.remove_prefix(cut.consumed);
    }
    if (c->closed) break;
    c->in.append(data);
    if (c->in.size() > max_line) {
      close(c);
      break;
    }
    const auto then = got.next(buf.size());  // the same rule as relaychat's sessions
    if (then != util::counted_read::then::read_again) {
      drained = then == util::counted_read::then::wait_for_new_bytes;
      break;
    }
  }
  flush_dirty();
  if (!c->closed) wait_readable(c, drained);
}

bool floor_relay::on_line(const std::shared_ptr<conn>& c, std::string_view line) {
  const auto m = parse_irc_line(line);
  if (!m) return true;
  const std::string_view cmd = m->command;
  if (cmd == "PRIVMSG" && m->n_params >= 2 && !c->nick.empty()) {
    const auto it = by_nick_.find(m->params[0]);
    if (it == by_nick_.end()) return true;
    auto to = it->second.lock();
    if (!to) return true;
    queue(to, ":", c->nick, " PRIVMSG ", m->params[0], " :");
    queue(to, m->params[m->n_params - 1], "\r\n");
    ++forwarded_;
    return true;
  }
  if (cmd == "NICK" && m->n_params >= 1 && c->nick.empty()) {
    c->nick = std::string(m->params[0]);
    by_nick_[c->nick] = c;
    return true;
  }
  if (cmd == "USER" && !c->nick.empty()) {
    queue(c, ":floor 001 ", c->nick, " :ready\r\n");
    return true;
  }
  if (cmd == "PING") {
    queue(c, "PONG :", m->n_params ? m->params[m->n_params - 1] : std::string_view{}, "\r\n");
    return true;
  }
  if (cmd == "QUIT") {
    close(c);
    return false;
  }
  return true;
}

void floor_relay::queue(const std::shared_ptr<conn>& to, std::string_view a, std::string_view b,
                        std::string_view c, std::string_view d, std::string_view e) {
  if (to->closed) return;
  to->out.append(a).append(b).append(c).append(d).append(e);
  if (!to->dirty) {
    to->dirty = true;
    dirty_.push_back(to);
  }
}

void floor_relay::flush_dirty() {
  // flush() may not add to dirty_ (it only writes), so the list can be walked directly.
  for (auto& c : dirty_) {
    c->dirty = false;
    flush(c);
  }
  dirty_.clear();
}

void floor_relay::flush(const std::shared_ptr<conn>& c) {
  if (c->closed || c->writing_now || c->out.empty()) return;
  c->writing.swap(c->out);
  c->out.clear();
  c->writing_now = true;
  net::async_write(
      c->sock, net::buffer(c->writing),
      cached([this, c, alive = alive_](const boost::system::error_code& ec, std::size_t) {
        if (!*alive) return;
        c->writing_now = false;
        c->writing.clear();
        if (ec) return close(c);
        flush(c);
      }));
}

void floor_relay::close(const std::shared_ptr<conn>& c) {
  if (c->closed) return;
  c->closed = true;
  --open_;
  if (!c->nick.empty()) {
    const auto it = by_nick_.find(c->nick);
    if (it != by_nick_.end() && it->second.lock() == c) by_nick_.erase(it);
  }
  boost::system::error_code ec;
  c->sock.close(ec);
}

}  // namespace relay::bench
