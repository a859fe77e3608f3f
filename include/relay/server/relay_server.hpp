// The relay: accepts connections, authenticates users on a bounded worker pool, keeps the
// registry of who is online and routes end-to-end ciphertexts it cannot read.
//
// DESIGN: one io_context thread owns every piece of relay state (registry, sessions,
// counters), so there is no mutex here. Argon2 runs on `workers_` (at a lower priority than
// the io thread); every database access runs on `db_strand_` (one SQLite connection on its
// own thread). Coroutines co_await those and resume on the io thread, whose results come
// back through `inbox_` (loop_inbox.hpp).
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "relay/console/audit_log.hpp"
#include "relay/console/stats.hpp"
#include "relay/crypto/keys.hpp"
#include "relay/net.hpp"
#include "relay/proto/frames.hpp"
#include "relay/server/accept_trouble.hpp"
#include "relay/server/config.hpp"
#include "relay/server/group_commit.hpp"
#include "relay/server/log_budget.hpp"
#include "relay/server/loop_inbox.hpp"
#include "relay/server/online_registry.hpp"
#include "relay/server/penalty_table.hpp"
#include "relay/server/roster_pace.hpp"
#include "relay/server/session.hpp"
#include "relay/server/signup_limit.hpp"
#include "relay/server/trim_policy.hpp"
#include "relay/store/bans.hpp"
#include "relay/store/database.hpp"
#include "relay/store/database_lock.hpp"
#include "relay/store/schema.hpp"
#include "relay/store/users.hpp"
#include "relay/util/fd_limit.hpp"

namespace relay::server {

class session;

class relay_server {
 public:
  /// Opens (and migrates) the database, loads or creates the relay key, binds the listening
  /// socket. Throws std::runtime_error with a clear message on any start-up failure.
  relay_server(net::io_context& io, relay_config cfg);
  ~relay_server();
  relay_server(const relay_server&) = delete;
  relay_server& operator=(const relay_server&) = delete;

  /// Starts accepting connections.
  void start();
  /// Stops accepting, tells every client the relay is shutting down and closes them;
  /// `done` runs on the io thread once every session has ended (or after a grace period).
  void stop(std::function<void()> done = {});

  /// What the console's `quit` does (run_server stops the whole process cleanly).
  void set_quit_handler(std::function<void()> h) { quit_handler_ = std::move(h); }

  std::uint16_t port() const noexcept { return port_; }
  /// Threads hashing passwords: the configured --workers, or one per CPU the relay may use.
  unsigned hashing_threads() const noexcept { return n_workers_; }
  const crypto::key_pair& static_key() const noexcept { return key_; }
  bool key_created() const noexcept { return key_created_; }
  const relay_config& config() const noexcept { return cfg_; }

  /// Console: runs a parsed command on the io thread and hands the text answer to `reply`
  /// (later, from another thread: `reply` must be thread-safe). The command, its arguments
  /// and its outcome are appended to the audit log before `reply` is called; a failure to
  /// write it is added to the answer. io thread only.
  void run_command(const std::string& name, const std::vector<std::string>& args,
                   std::function<void(std::string)> reply);
  /// Console Tab completion: every account's name, sorted, handed to `reply` on the database
  /// thread (empty if the database cannot be read). Any thread: it only posts there.
  void account_names(std::function<void(std::vector<std::string>)> reply);
  /// Where the audit log goes (cfg.audit_log_path, or <db without extension>.audit.log).
  const std::string& audit_log_path() const noexcept { return audit_.path(); }
  /// Why the audit log could not be opened at start() (empty if it was).
  const std::string& audit_log_problem() const noexcept { return audit_problem_; }
  /// What SQLite's quick_check found wrong in the database file at start (empty: nothing).
  const std::string& database_damage() const noexcept { return database_damage_; }

  // --- used by sessions (io thread) ---
  const crypto::key_pair& noise_key() const noexcept { return key_; }
  void on_session_start(const std::shared_ptr<session>& s);
  void on_session_end(session& s);
  /// Takes a session out of sessions_ (on_session_end).
  void forget(session& s);
  /// Takes `s` off the online registry (announcing it) if it is the registered session.
  void unregister(session& s);
  /// Authenticates (sign_up=false) or creates (true) an account for `s`; answers the client.
  /// `device_proof`: a sign-in's proof that it comes from a device holding `identity`.
  awaitable<void> authenticate(std::shared_ptr<session> s, std::string name, std::string password,
                               proto::key_bytes identity, bool sign_up,
                               std::optional<proto::key_bytes> device_proof = std::nullopt);
  /// A signed-in session's change_password (`new_password` set) or delete_account (unset):
  /// `password` must be the account's current one (protocol.md 5.15, 5.16). Answers the client.
  awaitable<void> change_account(std::shared_ptr<session> s, std::string password,
                                 std::optional<std::string> new_password);
  /// Returns freed heap pages to the system after churn (a sign-in crowd, a mass disconnect,
  /// a large write buffer freed): at most once a second, and only once chat is quiet.
  void maybe_trim_memory();
  /// Routes a send frame from a signed-in session.
  void route(session& from, const proto::send_view& msg);

 private:
  /// An operator's block of a source address (console `block`).
  struct address_block {
    std::optional<std::int64_t> until;  // unix seconds; nullopt: permanent
    std::string reason;
  };
  /// Password checks from `source` (source_of()) holding a --max-pending-auth slot now.
  unsigned pending_from(const std::string& source) const;
  /// One --max-pending-auth slot, counted for its source too; given back by now() or at the
  /// end of its scope (a failure answered late gives it back before it waits).
  class hash_slot {
   public:
    hash_slot(relay_server& relay, std::string source);
    ~hash_slot() { now(); }
    hash_slot(const hash_slot&) = delete;
    hash_slot& operator=(const hash_slot&) = delete;
    void now() noexcept;

   private:
    relay_server& relay_;
    std::string source_;
    bool held_ = true;
  };
  awaitable<void> accept_loop();
  /// Applies the connection caps to a new socket; closes it and returns false if over.
  bool admit(socket_type& sock, const net::ip::tcp::endpoint& peer);
  void release_unauthenticated(session& s);
  /// The block in force on `source` now, if any (an expired one is forgotten).
  const address_block* block_on(const std::string& source);

  /// At --max-unauthenticated: closes the oldest connection not yet signed in (and not being
  /// checked) of the source holding the most, if it holds more than `source`; false if none.
  /// So a few addresses holding every slot cannot keep everyone else out (review 15).
  bool make_room_for(const std::string& source);
  awaitable<void> authenticate_impl(std::shared_ptr<session> s, std::string name,
                                    std::string password, proto::key_bytes identity, bool sign_up,
                                    std::optional<proto::key_bytes> device_proof);
  /// Replaces `name`'s password hash `replaced` by one under the current parameters, apart
  /// from the sign-in (its connection reads on meanwhile), unless it was replaced otherwise
  /// meanwhile; stop() waits for it. Wipes `password`.
  awaitable<void> renew_hash(std::string name, std::string password, std::string replaced);
  void complete_sign_in(const std::shared_ptr<session>& s, const std::string& name,
                        const crypto::public_key& identity,
                        const std::optional<proto::last_key>& other_key = std::nullopt);
  /// Queues a join or leave for everyone (batched per cfg_.roster_interval).
  void broadcast_presence(const proto::presence_entry& e);
  /// Arms the roster timer (or posts a round at once when the interval is 0).
  void schedule_presence_round();
  /// Starts a round that sends the queued roster changes to every signed-in session.
  void flush_presence();
  /// Serves the round's next cfg_.roster_slice sessions, then yields to the event loop.
  void continue_presence_round();
  /// Sends `s` the logged changes it has not seen (not its own), now.
  void flush_presence_to(session& s);
  void send_snapshot(session& s);
  /// Who is online, only names containing `filter` if not empty.
  std::string active_report(const std::string& filter = {}) const;
  std::string stats_report() const;
  /// A console command on its way out (see run_command).
  struct command_answer {
    std::string name;
    std::vector<std::string> args;
    std::function<void(std::string)> reply;
  };
  /// Writes the audit line on db_strand_, then replies; `then` runs on the io thread after.
  /// Any thread.
  void finish_command(const std::shared_ptr<const command_answer>& a, bool ok, std::string text,
                      std::function<void()> then = {});
  void ban_command(const std::shared_ptr<const command_answer>& a);
  /// `block ADDR [DURATION] [reason]`: stored, then whoever is connected from it goes.
  void block_command(const std::shared_ptr<const command_answer>& a);
  /// `delete USER`: shows what would go; `delete USER confirm` removes it (store::user_store).
  void delete_command(const std::shared_ptr<const command_answer>& a);
  /// Samples the message total once a second for the recent rate in `stats`.
  void arm_rate_sampler();
  static std::string audit_path_for(const relay_config& cfg);
  void maybe_finish_stop();
  /// Trims the heap after a second in which at most quiet_messages_per_second were routed.
  void arm_trim(std::uint64_t messages_before);
  static constexpr std::uint64_t quiet_messages_per_second = 100;
  /// The spare write buffers a quiet relay keeps (buffer_pool::shrink).
  static constexpr std::size_t quiet_buffer_pool_bytes = 64 * 1024;
  /// Every sweep_interval(), runs check_deadlines() of the sessions whose next_check() passed.
  void arm_sweep();
  void sweep();
  std::chrono::milliseconds sweep_interval() const;

  net::io_context& io_;
  relay_config cfg_;
  // Listening first: a start that fails on a busy port leaves no new database or key behind.
  tcp::acceptor acceptor_;
  util::spare_descriptor spare_fd_;  // out of descriptors, lets a connection be refused at once
  accept_trouble accept_trouble_;    // accept() failures, logged once a streak
  store::database_lock db_lock_;     // before db_: taken before the database is opened
  store::database db_;
  store::user_store users_;
  // db_strand_ only, like users_.
  store::ban_store bans_{db_};
  store::block_store blocks_{db_};  // the database's copy; blocked_ is the io thread's
  // Blocked sources (source_of()), read at start and kept by the console commands: checked
  // at every accept while not empty (io thread).
  std::unordered_map<std::string, address_block> blocked_;
  bool key_created_ = false;  // before key_: its initialiser sets it
  crypto::key_pair key_;
  // Roster changes waiting for the next batch; seq numbers every change ever announced.
  struct pending_presence {
    std::uint64_t seq;
    proto::presence_entry entry;
  };
  net::steady_timer presence_timer_;
  bool presence_timer_armed_ = false;
  roster_pace roster_pace_;  // how soon a round may follow the last one
  std::chrono::steady_clock::time_point last_round_start_{};
  std::size_t last_round_recipients_ = 0;
  net::steady_timer trim_timer_;  // returns freed heap pages after churn (maybe_trim_memory)
  bool trim_armed_ = false;
  trim_policy trim_policy_;  // the once-a-second look at malloc's free memory (see sweep)
  std::chrono::steady_clock::time_point next_heap_look_{};
  std::uint64_t messages_at_heap_look_ = 0;
  net::steady_timer sweep_timer_;  // the one deadline timer for all sessions (sweep())
  std::uint64_t presence_seq_ = 0;
  // Changes not yet sent to everyone: those of the round in progress, then newer ones.
  std::deque<pending_presence> presence_log_;
  // A round goes out a slice of sessions at a time, so that chat between slices waits for
  // one slice, not for a frame to every online client (milliseconds at a few hundred).
  struct presence_round;
  std::unique_ptr<presence_round> presence_round_;
  // Names looked up by string_view (a decoded send frame's recipient, a registry key) without
  // building a std::string.
  struct name_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::uint16_t port_ = 0;
  const unsigned n_workers_;  // cfg_.workers, or one per usable CPU when that is 0
  net::thread_pool workers_;
  std::atomic<unsigned> hashes_in_pool_{0};  // sign-in hashes queued or running on workers_
  /// Runs the Argon2 job `f` on a hashing thread (at idle priority, counted in
  /// hashes_in_pool_) and resumes on the io thread with its result or exception.
  template <class F>
  awaitable<std::invoke_result_t<F>> hash_on_worker(F f);
  /// On a worker, after each hash (thrown or not): frees the thread's Argon2 block when the
  /// burst is over.
  void after_hash();
  // SQLite has its own thread: a commit waits for the disk (synchronous=FULL), and that wait
  // must not take a hashing thread away from sign-ins.
  net::thread_pool db_thread_{1};
  net::strand<net::thread_pool::executor_type> db_strand_;
  std::string dummy_hash_;
  penalty_table address_penalties_;  // failed sign-ins per source IP
  penalty_table account_penalties_;  // failed sign-ins per account name
  penalty_table change_penalties_;   // wrong current passwords at a change, per account
  signup_limit signups_;             // new accounts per source
  log_budget connection_log_;        // which connections are logged one by one
  log_budget failure_log_;           // which failed sign-ins are logged one by one
  log_budget refusal_log_;           // which refusals at the connection limits are logged

  std::uint64_t next_id_ = 1;
  // All connections, in no order: a session knows its slot (registry_slot) and leaves by
  // swapping the last one into it. 16 bytes a connection; a std::map node took 64.
  std::vector<std::weak_ptr<session>> sessions_;
  // Signed in, by name (the sessions themselves, see online_registry.hpp). A session leaves
  // before it ends (begin_close, on_session_end) and a new sign-in replaces it, so every
  // entry is alive: no weak_ptr to lock per routed message or per snapshot entry.
  online_sessions online_;
  unsigned pending_auth_ = 0;
  // Of pending_auth_, per source (source_of()): --max-pending-auth-per-address each.
  std::unordered_map<std::string, unsigned> pending_by_source_;
  unsigned auth_running_ = 0;  // authenticate() coroutines not finished: stop() waits for them
  // "worker queue full" refusals: one log line a second at most, with how many it stands for.
  std::uint64_t busy_unlogged_ = 0;
  std::chrono::steady_clock::time_point busy_logged_at_{};
  // Sign-ins without a device proof being checked now, per account name: no more at once
  // than the account has free failures left (one, once past them), or a crowd arriving
  // together (or as a hold ends) would all be hashed, and fill the pool before the owner.
  std::unordered_map<std::string, unsigned> unproven_in_flight_;
  // Likewise for sign-ins held back on an account under attack (one line a second).
  std::uint64_t held_unlogged_ = 0;
  std::chrono::steady_clock::time_point held_logged_at_{};
  std::size_t unauthenticated_ = 0;
  // Connections not yet signed in, per source (source_of()), oldest first: the per-address
  // cap counts them, and at --max-unauthenticated the source holding the most gives up its
  // oldest for a newcomer from a source holding fewer (make_room_for).
  std::unordered_map<std::string, std::vector<std::weak_ptr<session>>> unauthenticated_by_ip_;
  struct counters {
    std::uint64_t connections = 0;
    std::uint64_t refused = 0;
    std::uint64_t sign_ins = 0;
    std::uint64_t sign_in_failures = 0;
    std::uint64_t banned_sign_ins = 0;  // right password, refused by a ban
    std::uint64_t held_sign_ins = 0;    // account penalised, not its device: refused unhashed
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
  } stats_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  console::rate_window rate_{started_};  // io thread; sampled by rate_timer_, not per message
  net::steady_timer rate_timer_{io_};
  console::audit_log audit_{audit_path_for(cfg_)};  // db_strand_ only: no disk I/O on io
  std::string audit_problem_;                       // set by start(), read by the caller
  std::string database_damage_;                     // set by the constructor
  bool stopping_ = false;
  std::function<void()> stop_done_;
  std::unique_ptr<net::steady_timer> stop_timer_;
  std::function<void()> quit_handler_;
  // Results from workers_ and db_strand_ reach the io thread here, not by net::post to io_
  // (loop_inbox.hpp). At the end, so that jobs it never ran are destroyed while the rest of
  // the relay still exists.
  loop_inbox inbox_{io_};
  // Sign-in and sign-up writes, batched into shared commits on db_strand_ (group_commit.hpp).
  // After inbox_, which it answers through: destroyed first, with any writes never run.
  group_commit writes_{db_, db_strand_, inbox_};
};

}  // namespace relay::server
