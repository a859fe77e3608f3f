// Thread names through pthread_setname_np (what /proc/PID/task/TID/comm shows).
#include "relay/util/thread_name.hpp"

#include <pthread.h>

#include <array>

namespace relay::util {

void name_this_thread(std::string_view name) noexcept {
  // The kernel refuses names over 15 bytes rather than cutting them.
  std::array<char, 16> cut{};
  name.copy(cut.data(), cut.size() - 1);
  (void)::pthread_setname_np(::pthread_self(), cut.data());
}

std::string this_thread_name() {
  std::array<char, 16> buf{};
  if (::pthread_getname_np(::pthread_self(), buf.data(), buf.size()) != 0) return {};
  return buf.data();
}

}  // namespace relay::util
