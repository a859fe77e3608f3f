// Names for the relay's threads, so that `top -H`, `ps -L`, perf and node-bench can tell the
// event loop from the hashing and database threads.
#pragma once

#include <string>
#include <string_view>

namespace relay::util {

/// The relay's thread names. The event loop is the process's main thread and keeps the
/// program's name (so `ps` and `pkill node` still find the relay).
inline constexpr std::string_view hashing_thread_name = "node-hash";
inline constexpr std::string_view database_thread_name = "node-db";
inline constexpr std::string_view console_thread_name = "node-console";
/// The logging thread, which writes the log's lines (log.hpp), in the relay and the client.
inline constexpr std::string_view log_thread_name = "node-log";

/// Names the calling thread (Linux keeps at most 15 bytes; longer names are cut).
void name_this_thread(std::string_view name) noexcept;
/// The calling thread's name ("" if it cannot be read).
std::string this_thread_name();

}  // namespace relay::util
