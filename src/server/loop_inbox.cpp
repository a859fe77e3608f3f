// The event loop's inbox for work from other threads (loop_inbox.hpp says why).
#include "relay/server/loop_inbox.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace relay::server {

struct loop_inbox::state {
  explicit state(net::io_context& loop, int bell_fd) : fd(bell_fd), bell(loop, bell_fd) {}
  const int fd;  // the eventfd, for producers: they never touch the descriptor object
  std::atomic<node*> newest{nullptr};  // pushed newest first; taken all at once by the loop
  std::atomic<std::uint64_t> rung{0};
  bool closed = false;    // loop thread (and the destructor, once the loop is done)
  std::uint64_t count{};  // the eventfd's counter, read into here
  net::posix::stream_descriptor bell;
};

static_assert(std::atomic<void*>::is_always_lock_free);

namespace {
int make_bell() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}
}  // namespace

loop_inbox::loop_inbox(net::io_context& loop) : state_(std::make_shared<state>(loop, make_bell())) {
  wait_for_bell(state_);
}

loop_inbox::~loop_inbox() {
  state_->closed = true;
  boost::system::error_code ignored;
  state_->bell.close(ignored);  // the pending read completes (aborted) or is destroyed
  node* n = state_->newest.exchange(nullptr, std::memory_order_acquire);
  while (n != nullptr) {
    std::unique_ptr<node> gone(n);
    n = n->next;
  }
}

std::uint64_t loop_inbox::bells() const noexcept {
  return state_->rung.load(std::memory_order_relaxed);
}

void loop_inbox::push(node* n) noexcept {
  // The previous head is kept here, not read back from n->next: once n is in the list the
  // loop may run and delete it at any moment.
  node* before = state_->newest.load(std::memory_order_relaxed);
  do {
    n->next = before;
  } while (!state_->newest.compare_exchange_weak(before, n, std::memory_order_release,
                                                 std::memory_order_relaxed));
  if (before != nullptr) return;  // not empty before: its first job's bell is still due
  state_->rung.fetch_add(1, std::memory_order_relaxed);
  const std::uint64_t one = 1;
  // Cannot fail short of a counter at 2^64 - 1 (it is read back to 0 every time the loop
  // wakes); the write is the wake-up, made with nothing held.
  [[maybe_unused]] const auto w = ::write(state_->fd, &one, sizeof one);
}

void loop_inbox::wait_for_bell(const std::shared_ptr<state>& s) {
  // A read, not async_wait: the reactor tries it at once, so a bell rung before this call
  // (the eventfd already readable, its edge gone) is not missed.
  s->bell.async_read_some(net::buffer(&s->count, sizeof s->count),
                          [s](boost::system::error_code ec, std::size_t) {
                            if (ec || s->closed) return;
                            wait_for_bell(s);  // first: a job that throws must not lose it
                            run_all(*s);
                          });
}

void loop_inbox::run_all(state& s) {
  // Taken after the bell was read: a job pushed since then either is in this list or rang
  // again (the list was empty), so none waits without a bell.
  node* newest = s.newest.exchange(nullptr, std::memory_order_acquire);
  node* oldest = nullptr;
  while (newest != nullptr) {  // reverse into posting order
    node* next = newest->next;
    newest->next = oldest;
    oldest = newest;
    newest = next;
  }
  struct rest {  // if a job throws, the ones after it are destroyed, not leaked
    node*& n;
    ~rest() {
      while (n != nullptr) {
        std::unique_ptr<node> gone(n);
        n = n->next;
      }
    }
  } guard{oldest};
  while (oldest != nullptr) {
    std::unique_ptr<node> j(oldest);
    oldest = oldest->next;
    j->run();
  }
}

}  // namespace relay::server
