// Everything the relay can be told on its command line, with the embedded defaults.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "relay/crypto/password.hpp"
#include "relay/server/log_budget.hpp"
#include "relay/server/penalty_table.hpp"

namespace relay::server {

struct relay_config {
  std::string listen = "127.0.0.1";
  std::uint16_t port = 20001;  ///< 0 picks a free port (tests)
  std::string db_path = "relay.db";
  std::string key_path;  ///< empty: beside the database (<db without extension>.key)
  /// --new-key: make a key although the database has accounts (their clients pinned the old
  /// one); without it a missing key file is then an error, not a silent new identity.
  bool new_key = false;
  crypto::argon2_params argon2{};  ///< for new hashes; old hashes keep their own parameters
  /// Argon2 worker threads; 0: one per CPU the relay may run on (util::usable_cpus()), at
  /// most auto_workers: each thread holds a 19 MiB block while a burst of sign-ins lasts,
  /// so a crowd of strangers must not make a big machine's relay hold a gigabyte.
  unsigned workers = 0;
  static constexpr unsigned auto_workers = 8;
  static constexpr unsigned max_workers = 64;  ///< most --workers accepts
  unsigned max_pending_auth = 64;              ///< queued sign-ins beyond this are answered "busy"
  /// Of those, at most this many from one source (source_of()): a few addresses sending
  /// sign-ins for names with no account (checked as long, and no penalty for the address)
  /// must not take every slot and turn everyone else away (review 15).
  unsigned max_pending_auth_per_address = 4;
  unsigned max_failures_per_connection = 3;
  /// Console audit log; empty: beside the database (<db without extension>.audit.log).
  std::string audit_log_path;

  // Limits against hostile or vanished peers (configurable on the command line, except the
  // penalty schedules and the failures allowed per connection).
  std::chrono::milliseconds auth_timeout{10000};   ///< handshake + sign-in must finish by then
  std::chrono::milliseconds ping_interval{30000};  ///< ping a signed-in peer silent this long
  std::chrono::milliseconds idle_timeout{90000};   ///< close a peer silent this long
  std::size_t max_connections = 4096;              ///< all connections
  std::size_t max_unauthenticated = 512;           ///< not yet signed in, all addresses
  std::size_t max_unauthenticated_per_address = 16;
  /// Accounts one source (signup_limit) may create per hour, a bucket of this many at once;
  /// 0: no limit.
  unsigned max_signups_per_address = 10;
  std::size_t max_send_queue = 1 << 20;  ///< bytes queued to one peer before it is dropped
  double message_rate = 20;              ///< sustained messages per second per user
  double message_burst = 100;            ///< messages a user may send at once (a paste)
  /// Joins and leaves are sent to everyone in one batch per interval (0: at once), so a
  /// crowd signing in costs one frame per client per interval, not one per join.
  std::chrono::milliseconds roster_interval{100};
  /// While rounds follow each other, the next waits one more interval per this many clients
  /// the last one reached, up to ten intervals (roster_pace.hpp): 400 online, 400 ms.
  std::size_t roster_clients_per_interval = 100;
  /// A roster round serves this many clients, then lets waiting chat through (each client
  /// costs a seal and a send(), some microseconds). 8, not 32: chat p99 during the default
  /// sign-in storm 362-777 µs against 796-1,137 µs, and 10,000 sign-ins no slower
  /// (docs/benchmarks.md, "Smaller roster slices").
  std::size_t roster_slice = 8;
  /// Use AES-256-GCM for a client that offers it, where this CPU has AES-NI (about three
  /// times cheaper than ChaCha20-Poly1305 there); false: ChaCha20-Poly1305 for everyone.
  bool aesgcm = true;
  /// Failed sign-ins per source address: after 5 free ones, refusals for 2 s, 4 s, ... 10 min.
  penalty_table::params address_penalty{};
  /// Connections logged one by one per 10 s window: 10 per source address, 100 in all; the
  /// rest are summed up when the window ends, so a flood does not drown the console.
  log_budget::params connection_log{};
  /// Failed sign-ins logged one by one per 10 s window: 10 per source address, 30 in all;
  /// the rest summed up the same way (a guessing script would write a line per guess).
  log_budget::params sign_in_failure_log{10, 30};
  /// Connections refused at the connection limits, logged one by one per 10 s window: 5 per
  /// source address, 20 in all; the rest summed up the same way (a reconnect loop refused at
  /// once can make tens of thousands a second).
  log_budget::params refusal_log{5, 20};
  /// Failed sign-ins per account, from all addresses: after 10 free ones the account is held
  /// back (0.5 s doubling to 60 s) from every device but the one it last signed in from.
  penalty_table::params account_penalty{10, std::chrono::milliseconds(500),
                                        std::chrono::milliseconds(60000),
                                        std::chrono::milliseconds(900000), 10000};
  /// Wrong current passwords given with change_password or delete_account, per account, over
  /// all its connections (a sign-in does not clear them: someone at an unattended terminal
  /// whose client signs in again by itself): after 3 free ones, refused for 30 s doubling to
  /// 1 h. A right one clears them; they are forgotten after an hour without one.
  penalty_table::params change_penalty{3, std::chrono::milliseconds(30000),
                                       std::chrono::milliseconds(3600000),
                                       std::chrono::milliseconds(3600000), 10000};
};

/// The hashing threads a relay started with `--workers workers` runs when it may use `cpus`
/// CPUs: `workers`, or for 0 one per CPU, at least 1 and at most relay_config::auto_workers.
constexpr unsigned hashing_threads(unsigned workers, unsigned cpus) noexcept {
  return workers != 0 ? workers : std::clamp(cpus, 1u, relay_config::auto_workers);
}

}  // namespace relay::server
