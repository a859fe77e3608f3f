// Reading a socket until it is empty, and then waiting for its next bytes without Asio's
// per-wait system call.
//
// Asio registers every socket with epoll once, edge-triggered. Its async_wait(wait_read)
// still calls epoll_ctl(EPOLL_CTL_MOD) each time: it cannot know whether the socket was read
// since the last edge, and MOD makes epoll report a socket that is readable now. We can know.
// Once a read has left nothing behind, any byte that arrives later raises a new edge, which
// epoll reports to the wait queued now. At 1000 clients the relay makes about one wait per
// delivered message, and on the test VM a system call costs about 1.3 µs
// (docs/benchmarks.md, "One system call less per read").
//
// "Nothing left behind" is what the kernel says, not a guess from a short read: a short read
// can leave the peer's FIN unread, whose edge has already been reported, and a wait for a new
// edge would then never see the close. read_some_counted() reads with TCP_INQ, so the kernel
// tells, with each read, how many bytes are still queued, and counts a pending FIN as one.
//
// The wait is an Asio reactor operation whose first attempt, made at once by the reactor
// when it queues it, reports "not ready"; read operations are queued without epoll_ctl.
// Every later attempt is an epoll event for the socket, which completes it. This reaches
// into boost/asio/detail, so it is built only for the Asio it was written against (Boost
// 1.74 on epoll, Debian 12); anywhere else async_wait_drained is plain async_wait.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <array>
#include <boost/version.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "relay/net.hpp"

#if BOOST_VERSION == 107400 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IOCP) && \
    !defined(BOOST_ASIO_HAS_IO_URING)
#define RELAY_HAS_DRAINED_WAIT 1
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#else
#define RELAY_HAS_DRAINED_WAIT 0
#endif

namespace relay::util {

#if RELAY_HAS_DRAINED_WAIT
namespace drained_detail {

namespace ad = boost::asio::detail;

/// True on this thread while it queues a drained wait: the reactor's first attempt then
/// reports "not ready" instead of completing the wait.
inline thread_local bool queueing = false;

template <typename Handler, typename IoExecutor>
class wait_op : public ad::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(wait_op);

  wait_op(Handler& handler, const IoExecutor& io_ex)
      : reactor_op(boost::system::error_code(), &wait_op::do_perform, &wait_op::do_complete),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  static status do_perform(reactor_op*) { return queueing ? not_done : done; }

  static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&,
                          std::size_t) {
    auto* o = static_cast<wait_op*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    ad::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    // The operation's memory goes back before the upcall, which may start the next wait.
    ad::binder1<Handler, boost::system::error_code> handler(o->handler_, o->ec_);
    p.h = std::addressof(handler.handler_);
    p.reset();
    if (owner) {  // null when the io_context is destroyed with the wait pending
      ad::fenced_block b(ad::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  Handler handler_;
  ad::handler_work<Handler, IoExecutor> work_;
};

/// Reaches the socket's implementation and its service's start_op, both protected: a
/// pointer to a member named through a derived class is ordinary C++.
template <typename Socket>
struct socket_access : Socket {
  static auto& impl(Socket& s) { return s.*(&socket_access::impl_); }
};

template <typename Service>
struct service_access : Service {
  using Service::start_op;
  static constexpr auto start = &service_access::start_op;
};

}  // namespace drained_detail
#endif

/// Asks the kernel to report, with every read of this TCP socket, how many bytes are still
/// queued (TCP_INQ, Linux 4.18). False if it cannot: read_some_counted() then reports "unknown".
template <typename Socket>
bool count_queued_bytes(Socket& socket) noexcept {
#ifdef TCP_INQ
  const int on = 1;
  return ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_INQ, &on, sizeof on) == 0;
#else
  static_cast<void>(socket);
  return false;
#endif
}

/// One read: the bytes read, and what is still queued after it.
struct counted_read {
  std::size_t n = 0;
  /// Bytes still queued, a pending FIN counting as 1 (0: the socket is empty, and only bytes
  /// that arrive from now on can make it readable); -1 if the kernel did not say.
  int queued = -1;

  enum class then { read_again, wait_for_new_bytes, wait_rearmed };
  /// What a reader does after handling this read into a buffer of `buffer_size` bytes: read
  /// on while anything (a FIN too) is queued; wait for a new edge only when the kernel says
  /// the socket is empty; if the kernel did not say, a short read means "wait", with the
  /// re-arm that reports whatever is still there. A short read alone never means empty.
  then next(std::size_t buffer_size) const noexcept {
    if (queued == 0) return then::wait_for_new_bytes;
    if (queued < 0 && n < buffer_size) return then::wait_rearmed;
    return then::read_again;
  }
};

/// read_some() on a non-blocking socket, with the kernel's count of what is left
/// (count_queued_bytes() must have been called). Errors as read_some(): would_block when
/// nothing was there, eof at the end of the stream.
template <typename Socket>
counted_read read_some_counted(Socket& socket, net::mutable_buffer into,
                               boost::system::error_code& ec) noexcept {
  counted_read r;
  ec.clear();
  iovec iov{into.data(), into.size()};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(int))> control{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.data();
  msg.msg_controllen = control.size();
  ssize_t got = 0;
  do {
    got = ::recvmsg(socket.native_handle(), &msg, 0);
  } while (got < 0 && errno == EINTR);
  if (got < 0) {
    ec = (errno == EAGAIN || errno == EWOULDBLOCK)
             ? boost::system::error_code(net::error::would_block)
             : boost::system::error_code(errno, boost::system::system_category());
    return r;
  }
  if (got == 0 && into.size() > 0) {
    ec = net::error::eof;
    return r;
  }
  r.n = static_cast<std::size_t>(got);
#ifdef TCP_CM_INQ
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ) {
      std::memcpy(&r.queued, CMSG_DATA(c), sizeof r.queued);
      if (r.queued < 0) r.queued = -1;
    }
  }
#endif
  return r;
}

/// Completes `handler(error_code)` when `socket` next becomes readable (or fails). Call it
/// only right after a read of this socket, on this thread, came back with would_block or
/// with read_some_counted() reporting 0 queued, with no turn of the event loop in between:
/// it relies on an edge that only bytes arriving after that read can raise. A short read
/// alone is not enough (a FIN may be waiting). Elsewhere use socket.async_wait(wait_read).
template <typename Socket, typename Handler>
void async_wait_drained(Socket& socket, Handler&& handler) {
#if RELAY_HAS_DRAINED_WAIT
  using handler_type = std::decay_t<Handler>;
  using executor_type = typename Socket::executor_type;
  using op = drained_detail::wait_op<handler_type, executor_type>;
  auto& io = drained_detail::socket_access<Socket>::impl(socket);
  using service_type = std::remove_reference_t<decltype(io.get_service())>;

  handler_type h(std::forward<Handler>(handler));
  typename op::ptr p = {std::addressof(h), op::ptr::allocate(h), nullptr};
  p.p = new (p.v) op(h, io.get_executor());
  const bool was = std::exchange(drained_detail::queueing, true);
  (io.get_service().*drained_detail::service_access<service_type>::start)(
      io.get_implementation(), drained_detail::ad::reactor::read_op, p.p,
      /*is_continuation=*/false, /*is_non_blocking (attempt at once)=*/true, /*noop=*/false);
  drained_detail::queueing = was;
  p.v = p.p = nullptr;
#else
  socket.async_wait(Socket::wait_read, std::forward<Handler>(handler));
#endif
}

/// Waits until `socket` is readable: async_wait_drained() when the last read left it empty
/// (`drained`: would_block, or then::wait_for_new_bytes), else async_wait() with its re-arm.
template <typename Socket, typename Handler>
void async_wait_readable(Socket& socket, bool drained, Handler&& handler) {
  if (drained) {
    async_wait_drained(socket, std::forward<Handler>(handler));
  } else {
    socket.async_wait(Socket::wait_read, std::forward<Handler>(handler));
  }
}

}  // namespace relay::util
