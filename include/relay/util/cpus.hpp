// How many CPUs this process may run on: the default size of thread pools that do CPU work.
#pragma once

namespace relay::util {

/// CPUs in the calling thread's affinity mask (what `taskset` or a cgroup's cpuset leaves
/// it), at least 1. More threads than that only time-slice one core and evict each other's
/// caches: two Argon2id hashes on one core finish about 16% fewer per second than one.
unsigned usable_cpus() noexcept;

}  // namespace relay::util
