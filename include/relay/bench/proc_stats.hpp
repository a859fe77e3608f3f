// The relay's CPU time and memory as Linux reports them in /proc/PID/stat and /proc/PID/status.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relay::bench {

/// CPU time a process has used, in seconds.
struct cpu_times {
  double user = 0, system = 0;
  double total() const noexcept { return user + system; }
};
/// Memory figures from /proc/PID/status, in KiB.
struct mem_status {
  std::uint64_t rss_kib = 0;  ///< VmRSS: resident now
  std::uint64_t hwm_kib = 0;  ///< VmHWM: peak resident since start
};

/// utime and stime (fields 14 and 15) of a /proc/PID/stat line; the command name may hold
/// spaces and parentheses, so fields are counted after its last ')'.
std::optional<cpu_times> parse_proc_stat(std::string_view text, long ticks_per_second);
/// VmRSS and VmHWM from the text of /proc/PID/status (nullopt if either is missing).
std::optional<mem_status> parse_proc_status(std::string_view text);

/// One thread's name and the CPU time it has run, from /proc/PID/task/TID/{comm,schedstat}.
struct thread_cpu {
  int tid = 0;
  std::string name;
  double seconds = 0;
};
/// The first field of a schedstat text (nanoseconds on the CPU), in seconds: exact, unlike
/// stat's utime and stime, which are sampled at the scheduler tick.
std::optional<double> parse_schedstat(std::string_view text);

/// Reads and parses /proc/<pid>/stat (sysconf(_SC_CLK_TCK) ticks).
std::optional<cpu_times> read_cpu(int pid);
/// Reads and parses /proc/<pid>/status.
std::optional<mem_status> read_mem(int pid);
/// Every thread of process `pid` (empty if it cannot be read; threads that end meanwhile
/// are left out).
std::vector<thread_cpu> read_threads(int pid);

}  // namespace relay::bench
