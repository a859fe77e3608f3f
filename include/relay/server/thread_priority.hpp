// The scheduling class of the relay's hashing threads.
#pragma once

#include "relay/util/idle_priority.hpp"

namespace relay::server {

/// How the calling thread now yields to the event loop (nice 10 is the fallback here).
using hashing_priority = util::thread_priority;

/// Called by each hashing thread (once per thread; later calls return the first answer),
/// which also takes the name util::hashing_thread_name.
/// Argon2 is slow on purpose, and on a busy core a sign-in storm must not delay everyone's
/// messages. At nice 10 a woken event loop still waited in the run queue for the next
/// scheduler tick (4 ms here, EEVDF on Linux 6.18) behind a hash; a SCHED_IDLE thread is
/// preempted at once by any normal thread that wakes. An idle core still hashes at full
/// speed. The price: while the event loop keeps a core 100% busy, sign-ins on that core
/// wait (and time out at --auth-timeout); existing conversations come first.
hashing_priority yield_to_event_loop() noexcept;

}  // namespace relay::server
