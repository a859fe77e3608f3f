// Runs one benchmark (node-bench's modes) and returns its report as a JSON object; the
// human-readable text is made from the same object.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "relay/bench/options.hpp"
#include "relay/bench/proc_stats.hpp"

namespace relay::bench {

/// Runs the benchmark `c` describes; report["ok"] is false when anything was lost,
/// duplicated, corrupted, refused or disconnected.
nlohmann::json run(const bench_config& c);

/// Hashes with the relay's default Argon2id parameters on `threads` threads for `seconds`;
/// returns hashes per second. With `cpus`, the threads run only there (the relay's cores:
/// what its worker pool can hash is measured where the pool runs).
double measure_hash_rate(unsigned threads, double seconds, const std::vector<int>& cpus = {});

/// Restricts the calling thread to `cpus` (nothing if empty); false if the kernel refused.
bool pin_this_thread(const std::vector<int>& cpus);

/// The CPUs process `pid` may run on (its affinity, as `taskset` set it); empty if unknown.
std::vector<int> cpus_of(int pid);

/// Where the relay's CPU went between two snapshots of its threads (read_threads), in
/// percent of one core over `seconds`: "event_loop_pct" (the main thread, `pid`),
/// "hashing_pct" and "database_pct" (told apart by the names the relay gives those threads)
/// and "other_pct". A thread missing from `from` started since and counts in full.
nlohmann::json relay_thread_shares(const std::vector<thread_cpu>& from,
                                   const std::vector<thread_cpu>& to, int pid, double seconds);

/// The report as text for people.
std::string human_report(const nlohmann::json& r);

}  // namespace relay::bench
