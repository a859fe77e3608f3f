// Lowering the calling thread to the idle scheduling class (the relay's hashing threads,
// node-bench's storm thread).
#pragma once

namespace relay::util {

/// What the calling thread runs at after lower_to_idle().
enum class thread_priority {
  idle,      ///< SCHED_IDLE: runs only when the core has nothing else to run
  nice,      ///< SCHED_IDLE was refused; the fallback nice value instead
  unchanged  ///< neither was allowed
};

/// Moves the calling thread to SCHED_IDLE (always allowed to an unprivileged thread on
/// Linux), or to `fallback_nice` if that is refused.
thread_priority lower_to_idle(int fallback_nice) noexcept;

}  // namespace relay::util
