// Relay: accept loop, authentication on the worker pool, registry and routing.
#include "relay/server/relay_server.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "relay/console/ban.hpp"
#include "relay/console/command.hpp"
#include "relay/console/duration.hpp"
#include "relay/crypto/password.hpp"
#include "relay/crypto/random.hpp"
#include "relay/crypto/secret.hpp"
#include "relay/proto/names.hpp"
#include "relay/server/buffer_pool.hpp"
#include "relay/server/off_loop.hpp"
#include "relay/server/relay_key.hpp"
#include "relay/server/session.hpp"
#include "relay/server/thread_priority.hpp"
#include "relay/util/cpus.hpp"
#include "relay/util/log.hpp"
#include "relay/util/thread_name.hpp"

namespace relay::server {
namespace {

/// Why the database refused: SQLite's reason ("database or disk is full"), not the statement.
std::string plain_reason(const std::exception& e) {
  const auto* s = dynamic_cast<const store::sqlite_error*>(&e);
  return s ? s->code().message() : e.what();
}

/// A console command that the database refused: the operator's answer gives SQLite's reason
/// ("database or disk is full"), not the statement, and the log has an ERROR line for it.
std::string database_problem(const std::string& command, const char* doing,
                             const std::exception& e) {
  const std::string why = plain_reason(e);
  log::error() << "console: " << command << " failed: cannot " << doing
               << " the database: " << e.what();
  return "cannot " + std::string(doing) + " the database: " + why + "\n";
}

/// The answer to a `block` or `unblock` of something that names no source (cut at 40 bytes).
std::string not_an_address(const std::string& text) {
  std::size_t cut = std::min<std::size_t>(text.size(), 40);
  while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return "'" + text.substr(0, cut) + (cut < text.size() ? "..." : "") +
         "' is not an address: an IPv4 address (203.0.113.9), or an IPv6 address or its /64 "
         "(2001:db8:1:2::/64)\n";
}

/// "1 user", "3 users".
std::string count_of(std::size_t n, const std::string& thing) {
  return std::to_string(n) + " " + thing + (n == 1 ? "" : "s");
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// `t` in UTC, through put_time's `format`.
std::string format_time(std::int64_t t, const char* format = "%Y-%m-%d %H:%M:%SZ") {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::ostringstream os;
  os << std::put_time(&tm, format);
  return os.str();
}

/// The process's resident bytes from /proc/self/statm (0 if it cannot be read): a read of a
/// short file, cheap enough for a look once a second.
std::size_t resident_bytes() {
  const int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  const auto n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  unsigned long size = 0, resident = 0;  // pages: "size resident shared text lib data dt"
  if (std::sscanf(buf, "%lu %lu", &size, &resident) != 2) return 0;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

crypto::public_key to_key(const proto::key_bytes& k) {
  crypto::public_key out;
  std::copy(k.begin(), k.end(), out.begin());
  return out;
}

/// The relay's key, made on first start. A missing key file beside a database that has
/// accounts is a mistake (a mistyped --key, a lost file) unless --new-key says otherwise:
/// every client pinned the old key, and a new one would lock them all out with a warning.
crypto::key_pair open_relay_key(const relay_config& cfg, store::user_store& users, bool& created) {
  const std::filesystem::path path =
      cfg.key_path.empty() ? default_key_path(cfg.db_path) : std::filesystem::path(cfg.key_path);
  std::error_code ec;
  const bool exists = std::filesystem::exists(std::filesystem::symlink_status(path, ec));
  if (cfg.new_key && exists) {
    throw std::runtime_error("--new-key, but the relay key " + path.string() +
                             " exists: move it away first (clients pinned it)");
  }
  if (!cfg.new_key && !exists) {
    if (const auto accounts = users.count(); accounts > 0) {
      throw std::runtime_error(
          "no relay key at " + path.string() + ", but the database has " +
          std::to_string(accounts) +
          " account(s), whose clients pinned the relay's key and would refuse a new one. "
          "Give its key file with --key, or start once with --new-key to make a new key on "
          "purpose (each user must then accept it)");
    }
  }
  return load_or_create_relay_key(path, created);
}

/// A socket listening on `listen`:`port`; throws, saying which, if it cannot.
tcp::acceptor listening_socket(net::io_context& io, const std::string& listen, std::uint16_t port) {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(listen, ec);
  if (ec) throw std::runtime_error("invalid listen address '" + listen + "'");
  tcp::endpoint ep(addr, port);
  tcp::acceptor acceptor(io);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error("cannot listen on " + listen + ":" + std::to_string(port) + ": " +
                             ec.message());
  }
  return acceptor;
}

}  // namespace

relay_server::relay_server(net::io_context& io, relay_config cfg)
    : io_(io),
      cfg_(std::move(cfg)),
      acceptor_(listening_socket(io, cfg_.listen, cfg_.port)),
      db_lock_(cfg_.db_path),
      db_(store::open(cfg_.db_path)),
      users_(db_),
      key_(open_relay_key(cfg_, users_, key_created_)),
      presence_timer_(io),
      roster_pace_{cfg_.roster_interval, cfg_.roster_clients_per_interval},
      trim_timer_(io),
      sweep_timer_(io),
      n_workers_(server::hashing_threads(cfg_.workers, util::usable_cpus())),
      workers_(n_workers_),
      db_strand_(net::make_strand(db_thread_.get_executor())),
      dummy_hash_(crypto::dummy_hash(cfg_.argon2)),
      address_penalties_(cfg_.address_penalty),
      account_penalties_(cfg_.account_penalty),
      change_penalties_(cfg_.change_penalty),
      signups_({cfg_.max_signups_per_address, 10000}),
      connection_log_(cfg_.connection_log),
      failure_log_(cfg_.sign_in_failure_log),
      refusal_log_(cfg_.refusal_log) {
  net::post(db_thread_, [] { util::name_this_thread(util::database_thread_name); });
  port_ = acceptor_.local_endpoint().port();
  // A damaged file (a failing disk, a copy taken mid-write) otherwise shows only when a
  // damaged page is read, as sign-ins that fail (review 15): checked once, said at start.
  // Linear in the file: milliseconds for ten thousand accounts. First, so that damage the
  // steps below run into is said for what it is, and does not stop the relay (review 16).
  std::string found;
  try {
    found = db_.quick_check();
  } catch (const std::exception& e) {
    found = e.what();  // damage the check itself stops at
  }
  if (found != "ok") {
    if (const std::string_view head = "*** in database main ***\n"; found.starts_with(head)) {
      found.erase(0, head.size());
    }
    std::replace(found.begin(), found.end(), '\n', ';');
    if (found.size() > 300) found = found.substr(0, 297) + "...";
    database_damage_ = log::safe_text(found);
  }
  // Accounts made before names were compared by their looks (schema step 3, and again after
  // steps 4 and 5) get their key now, in one transaction, before the database thread starts
  // using the database. On a damaged file the relay starts without (the damage is said).
  try {
    store::transaction tx{db_};
    if (const auto filled = users_.fill_lookalikes(proto::lookalike_key); filled > 0) {
      log::info() << "database: " << filled << " account name(s) indexed by what they look like";
    }
    tx.commit();
    for (auto& b : blocks_.list_active(unix_now())) {
      blocked_[b.name] = {b.until, std::move(b.reason)};
    }
  } catch (const store::sqlite_error&) {
    if (database_damage_.empty()) throw;  // not damage: as any other failure to start
    log::warn() << "database: names not indexed by their looks, or address blocks not read, on "
                   "the damaged file (sign-ups that need them fail)";
  }
}

template <class F>
awaitable<std::invoke_result_t<F>> relay_server::hash_on_worker(F f) {
  ++hashes_in_pool_;
  return off_loop(workers_.get_executor(), inbox_, [this, f = std::move(f)] {
    yield_to_event_loop();
    struct done {
      relay_server& r;
      ~done() { r.after_hash(); }
    } count_it{*this};
    return f();
  });
}

void relay_server::after_hash() {
  // Worker thread. A hashing thread keeps Argon2's block (19 MiB) while sign-ins keep coming;
  // once fewer are waiting than there are workers, the burst is over: give it back.
  if (--hashes_in_pool_ < n_workers_) crypto::release_password_memory();
}

relay_server::~relay_server() {
  workers_.stop();
  workers_.join();
  db_thread_.stop();
  db_thread_.join();
}

void relay_server::start() {
  net::co_spawn(
      io_, [this] { return accept_loop(); }, net::detached);
  arm_rate_sampler();
  arm_sweep();
  // Opened now so a bad path shows at start (node -s logs it after its start line);
  // commands report it again until it works.
  if (auto ec = audit_.open()) audit_problem_ = ec.message();
}

awaitable<void> relay_server::accept_loop() {
  while (acceptor_.is_open()) {
    boost::system::error_code ec;
    // Accepted onto io_'s own executor type (see session.hpp's socket_type).
    // The peer's address as accept() returned it: remote_endpoint() fails once the peer has
    // reset, and every such connection would count as from "?".
    net::ip::tcp::endpoint peer;
    socket_type sock =
        co_await acceptor_.async_accept(io_, peer, net::redirect_error(net::use_awaitable, ec));
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
      // Out of descriptors (a leak, or other files open past what run.cpp allowed for): the
      // connection is refused at once on the spare descriptor, not left waiting in the
      // queue. Other failures (out of memory, ...): pause briefly and retry. Either way the
      // relay keeps serving, and the streak is logged once, not once per try.
      using shed = util::spare_descriptor::outcome;
      const bool out_of_descriptors = ec == boost::system::errc::too_many_files_open ||
                                      ec == boost::system::errc::too_many_files_open_in_system;
      const shed done = out_of_descriptors ? spare_fd_.close_one_pending(acceptor_.native_handle())
                                           : shed::no_spare;
      if (done == shed::closed) ++stats_.refused;
      // Out of descriptors with nobody waiting is no failure (accept() fails all the same).
      if (done != shed::none_pending) {
        if (auto line = accept_trouble_.failed(ec.message(), done == shed::closed,
                                               std::chrono::steady_clock::now())) {
          log::warn() << *line;
        }
      }
      if (done != shed::closed) {  // else accept() would fail again at once, in a loop
        net::steady_timer pause(io_, std::chrono::milliseconds(100));
        co_await pause.async_wait(net::redirect_error(net::use_awaitable, ec));
      }
      continue;
    }
    if (auto line = accept_trouble_.accepted(std::chrono::steady_clock::now())) {
      log::warn() << *line;
    }
    if (!admit(sock, peer)) continue;
    auto s = std::make_shared<session>(std::move(sock), peer, *this, next_id_++);
    on_session_start(s);
    s->start();
  }
}

bool relay_server::admit(socket_type& sock, const net::ip::tcp::endpoint& peer) {
  boost::system::error_code ec;
  const std::string ip = source_of(peer.address());
  const char* refusal = nullptr;
  if (!blocked_.empty() && block_on(ip) != nullptr) {
    refusal = "blocked by the operator";
  } else if (sessions_.size() >= cfg_.max_connections) {
    refusal = "connection limit reached";
  } else if (auto it = unauthenticated_by_ip_.find(ip);
             it != unauthenticated_by_ip_.end() &&
             it->second.size() >= cfg_.max_unauthenticated_per_address) {
    refusal = "too many connections not yet signed in from this address";
  } else if (unauthenticated_ >= cfg_.max_unauthenticated && !make_room_for(ip)) {
    refusal = "too many connections not yet signed in";
  }
  if (!refusal) return true;
  ++stats_.refused;
  // A flood of refusals must not flood the log too: a few per window, the rest summed up.
  if (refusal_log_.admit(ip, std::chrono::steady_clock::now())) {
    log::warn() << "refused connection from " << ip << ": " << refusal << " (" << stats_.refused
                << " refused so far)";
  }
  sock.close(ec);
  return false;
}

void relay_server::release_unauthenticated(session& s) {
  if (!s.counted_unauthenticated()) return;
  s.counted_unauthenticated() = false;
  --unauthenticated_;
  if (auto it = unauthenticated_by_ip_.find(s.source()); it != unauthenticated_by_ip_.end()) {
    const auto me = s.weak_from_this();
    std::erase_if(it->second, [&](const std::weak_ptr<session>& w) {
      return !w.owner_before(me) && !me.owner_before(w);
    });
    if (it->second.empty()) unauthenticated_by_ip_.erase(it);
  }
}

const relay_server::address_block* relay_server::block_on(const std::string& source) {
  const auto it = blocked_.find(source);
  if (it == blocked_.end()) return nullptr;
  if (it->second.until && *it->second.until <= unix_now()) {
    blocked_.erase(it);  // expired: as a ban, it stops applying on its own
    return nullptr;
  }
  return &it->second;
}

bool relay_server::make_room_for(const std::string& source) {
  const auto mine = unauthenticated_by_ip_.find(source);
  const std::size_t held = mine == unauthenticated_by_ip_.end() ? 0 : mine->second.size();
  // The sources holding the most (more than the newcomer's) give up their oldest connection
  // that is not waiting for a password check (that one is let finish); among several
  // such sources, the oldest connection of all (session ids grow with each accept), not the
  // one a walk of the table finds first (review 16 saw the newest closed). At most
  // --max-unauthenticated entries: a walk costs microseconds, and only at the limit.
  std::size_t most = held + 1;
  for (const auto& [from, list] : unauthenticated_by_ip_) most = std::max(most, list.size());
  std::shared_ptr<session> oldest;
  std::string from;
  for (const auto& [src, list] : unauthenticated_by_ip_) {
    if (list.size() != most) continue;
    for (const auto& w : list) {
      if (auto s = w.lock(); s && !s->checking() && !s->ending()) {
        if (!oldest || s->id() < oldest->id()) {
          oldest = std::move(s);
          from = src;
        }
        break;  // the list is in accept order: its first eligible one is its oldest
      }
    }
  }
  if (!oldest) return false;
  const std::size_t had = most;
  release_unauthenticated(*oldest);
  ++stats_.refused;
  if (refusal_log_.admit(from, std::chrono::steady_clock::now())) {
    log::warn() << "closed the oldest connection not yet signed in from " << from << " (of " << had
                << ") for a new one from " << source << ": the relay is at --max-unauthenticated ("
                << cfg_.max_unauthenticated << ")";
  }
  oldest->abort("closed for a newer connection: the relay is at --max-unauthenticated");
  return true;
}

void relay_server::maybe_trim_memory() {
  // Sign-in bursts and mass disconnects leave the heap full of freed snapshot and batch
  // buffers; glibc keeps those pages unless asked. Give them back once things settle. The
  // walk of the heap holds malloc's lock for milliseconds, which every message in flight
  // would wait for: so only when chat is quiet (checked each second until it is).
  if (trim_armed_) return;
  trim_armed_ = true;
  arm_trim(stats_.messages);
}

void relay_server::arm_trim(std::uint64_t messages_before) {
  trim_timer_.expires_after(std::chrono::seconds(1));
  trim_timer_.async_wait([this, messages_before](boost::system::error_code ec) {
    if (ec) {
      trim_armed_ = false;
      return;
    }
    if (stats_.messages - messages_before > quiet_messages_per_second) {
      arm_trim(stats_.messages);  // busy: the heap's high-water mark is in use anyway
      return;
    }
    trim_armed_ = false;
    local_buffer_pool().shrink(quiet_buffer_pool_bytes);
    ::malloc_trim(0);
    trim_policy_.trimmed(resident_bytes(), ::mallinfo2().fordblks);
  });
}

std::chrono::milliseconds relay_server::sweep_interval() const {
  // A deadline is enforced at most one tick late: an eighth of the shortest one, between
  // 10 ms (tests use short timeouts) and 1 s (the defaults are 10 s and more).
  const auto shortest = std::min({cfg_.auth_timeout, cfg_.ping_interval, cfg_.idle_timeout});
  return std::clamp(shortest / 8, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

void relay_server::arm_sweep() {
  sweep_timer_.expires_after(sweep_interval());
  sweep_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    sweep();
    arm_sweep();
  });
}

void relay_server::sweep() {
  // Collected first: what a session does when due (close, abort) can erase it from sessions_.
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<session>> due;
  for (const auto& weak : sessions_) {
    if (auto s = weak.lock(); s && s->next_check() <= now) due.push_back(std::move(s));
  }
  for (const auto& s : due) s->check_deadlines(now);
  for (const auto& summary : connection_log_.expire(now)) {
    log::info() << describe(summary);
  }
  for (const auto& summary : failure_log_.expire(now)) {
    log::info() << describe(summary, "failed sign-in", "failed sign-ins");
  }
  for (const auto& summary : refusal_log_.expire(now)) {
    log::warn() << describe(summary, "connection refused at the connection limits",
                            "connections refused at the connection limits");
  }
  // Frees with no churn event of their own (see trim_policy.hpp): a look once a second,
  // while chat is quiet (mallinfo2 walks malloc's free lists under its lock).
  if (!trim_armed_ && now >= next_heap_look_) {
    next_heap_look_ = now + std::chrono::seconds(1);
    const bool quiet = stats_.messages - messages_at_heap_look_ <= quiet_messages_per_second;
    messages_at_heap_look_ = stats_.messages;
    // The write buffers' spares are sized for a busy relay (buffer_pool.hpp); a quiet one
    // keeps what a few flushes need, and the rest becomes malloc's to trim.
    if (quiet) local_buffer_pool().shrink(quiet_buffer_pool_bytes);
    if (quiet && trim_policy_.due(resident_bytes(), ::mallinfo2().fordblks)) maybe_trim_memory();
  }
}

void relay_server::on_session_start(const std::shared_ptr<session>& s) {
  s->registry_slot() = static_cast<std::uint32_t>(sessions_.size());
  sessions_.push_back(s);
  ++stats_.connections;
  s->counted_unauthenticated() = true;
  ++unauthenticated_;
  const std::string ip = s->source();
  unauthenticated_by_ip_[ip].push_back(s);
  if (log::current() < log::level::info) return;
  s->set_logged(connection_log_.admit(ip, std::chrono::steady_clock::now()));
  if (s->logged()) log::info() << "session " << s->id() << ": connection from " << s->address();
}

void relay_server::on_session_end(session& s) {
  forget(s);
  maybe_trim_memory();
  release_unauthenticated(s);
  unregister(s);
  maybe_finish_stop();
}

void relay_server::forget(session& s) {
  const auto me = s.weak_from_this();
  const auto is_me = [&](const std::weak_ptr<session>& w) {
    return !w.owner_before(me) && !me.owner_before(w);
  };
  const std::size_t i = s.registry_slot();
  // Only if the slot is still ours (stop() clears the registry before the last sessions end).
  if (i >= sessions_.size() || !is_me(sessions_[i])) return;
  // Fill the hole with the last live session; an expired one at the end is dropped on the way.
  while (i + 1 < sessions_.size()) {
    if (auto last = sessions_.back().lock()) {
      last->registry_slot() = static_cast<std::uint32_t>(i);
      sessions_[i] = std::move(sessions_.back());
      break;
    }
    sessions_.pop_back();
  }
  sessions_.pop_back();
}

void relay_server::unregister(session& s) {
  // Only if still registered: a newer sign-in may have replaced this session.
  if (online_.erase(s)) {
    log::info() << "user " << s.name() << " left";
    broadcast_presence({proto::presence_entry::kind::offline, s.name(), {}});
  }
}

unsigned relay_server::pending_from(const std::string& source) const {
  const auto it = pending_by_source_.find(source);
  return it == pending_by_source_.end() ? 0 : it->second;
}

relay_server::hash_slot::hash_slot(relay_server& relay, std::string source)
    : relay_(relay), source_(std::move(source)) {
  ++relay_.pending_auth_;
  ++relay_.pending_by_source_[source_];
}

void relay_server::hash_slot::now() noexcept {
  if (!std::exchange(held_, false)) return;
  --relay_.pending_auth_;
  if (auto it = relay_.pending_by_source_.find(source_);
      it != relay_.pending_by_source_.end() && --it->second == 0) {
    relay_.pending_by_source_.erase(it);
  }
}

awaitable<void> relay_server::authenticate(std::shared_ptr<session> s, std::string name,
                                           std::string password, proto::key_bytes identity,
                                           bool sign_up,
                                           std::optional<proto::key_bytes> device_proof) {
  // Counted until its very end, so that stop() finishes only after it: a frame left
  // suspended (on a hashing thread's answer) when the event loop stops would be destroyed
  // with the loop, after the relay, and its guards would touch the relay's freed counters.
  ++auth_running_;
  struct running {
    relay_server& relay;
    ~running() {
      --relay.auth_running_;
      relay.maybe_finish_stop();
    }
  } count_running{*this};
  const char* what = sign_up ? "sign-up" : "sign-in";
  // Named in the log line below only once known to be printable.
  const std::string named = proto::valid_name(name) ? " as " + name : std::string();
  std::string failed;  // why, if it failed
  bool database = false;
  try {
    co_await authenticate_impl(s, std::move(name), std::move(password), identity, sign_up,
                               device_proof);
  } catch (const std::exception& e) {
    // Disk full, I/O error, worker pool stopped: this request fails, the relay goes on.
    failed = plain_reason(e);
    database = dynamic_cast<const store::sqlite_error*>(&e) != nullptr;
  }
  if (!failed.empty()) {
    log::error() << "session " << s->id() << " (" << s->address() << "): " << what << named
                 << " could not be processed: " << failed;
    if (!s->stopped()) {
      s->deliver(proto::error{
          proto::reason::busy, 0,
          database && sign_up
              ? "the relay cannot record a new account now (its database refuses writes); "
                "retry later"
              : std::string("the relay could not process the ") + what + "; retry"});
    }
  }
}

awaitable<void> relay_server::authenticate_impl(std::shared_ptr<session> s, std::string name,
                                                std::string password, proto::key_bytes identity,
                                                bool sign_up,
                                                std::optional<proto::key_bytes> device_proof) {
  struct wiper {  // the password never outlives this call
    std::string& p;
    ~wiper() { crypto::wipe(p.data(), p.size()); }
  } wipe_password{password};

  // Refusals that cost the relay no hashing are answered within the connection's message
  // rate, as pings are: a flood of them from a peer that never reads queues nothing.
  if (s->signed_in()) {
    s->answer_within_rate(proto::error{proto::reason::already_signed_in, 0, "already signed in"});
    co_return;
  }
  // An address past its free failures waits out its penalty before any hashing, except the
  // device an account last signed in from, once it proves it (after the lookup below): one
  // person mistyping behind a shared address must not lock the others out of their own
  // accounts (protocol.md 5.2.1).
  const auto address_wait =
      address_penalties_.blocked_for(s->source(), penalty_table::clock::now());
  const bool address_held = address_wait > penalty_table::clock::duration::zero();
  auto refuse_address = [&] {
    const auto secs = std::chrono::ceil<std::chrono::seconds>(address_wait).count();
    log::info() << "session " << s->id() << " (" << s->address()
                << "): sign-in refused, address penalised for " << secs << " s";
    s->answer_within_rate(proto::error{
        proto::reason::rate_limited, 0,
        "too many failed sign-ins from your address; retry in " + std::to_string(secs) + " s"});
  };
  if (address_held && (sign_up || !device_proof)) {
    refuse_address();
    co_return;
  }
  // New accounts per source: the token is taken here and given back at the end unless an
  // account was created (a taken name, a busy relay, a failure), so racing sign-ups on
  // parallel connections cannot create more than the bucket holds.
  struct signup_token {
    signup_limit& limit;
    std::string source;
    bool held = false;
    ~signup_token() {
      if (held) limit.give_back(source, signup_limit::clock::now());
    }
  } token{signups_, {}};
  if (sign_up) {
    if (const auto wait = signups_.take(s->source(), signup_limit::clock::now());
        wait > signup_limit::clock::duration::zero()) {
      const auto secs = std::chrono::ceil<std::chrono::seconds>(wait).count();
      const std::string when =
          secs < 120 ? std::to_string(secs) + " s" : std::to_string((secs + 59) / 60) + " min";
      log::info() << "session " << s->id() << " (" << s->address() << "): sign-up for " << name
                  << " refused: over --max-signups-per-address for this address ("
                  << cfg_.max_signups_per_address << " an hour)";
      s->answer_within_rate(
          proto::error{proto::reason::rate_limited, 0,
                       "too many new accounts from your address; retry in " + when});
      co_return;
    }
    token.source = s->source();
    token.held = true;
  }
  const std::string source = s->source();
  if (const bool full = pending_auth_ >= cfg_.max_pending_auth;
      full || pending_from(source) >= cfg_.max_pending_auth_per_address) {
    // A flood of sign-ins must not flood the log: one line a second, counting the rest.
    ++busy_unlogged_;
    if (const auto now = std::chrono::steady_clock::now();
        now - busy_logged_at_ >= std::chrono::seconds(1)) {
      log::warn() << "session " << s->id() << " (" << s->address() << "): sign-in refused, "
                  << (full ? "worker queue full"
                           : "its address already has " +
                                 std::to_string(cfg_.max_pending_auth_per_address) +
                                 " being checked (--max-pending-auth-per-address)")
                  << (busy_unlogged_ > 1 ? " (" + std::to_string(busy_unlogged_) +
                                               " refused since the last such line)"
                                         : std::string());
      busy_unlogged_ = 0;
      busy_logged_at_ = now;
    }
    s->answer_within_rate(proto::error{
        proto::reason::busy, 0,
        full ? "relay busy, retry in a moment"
             : "too many sign-ins from your address are being checked; retry in a moment"});
    co_return;
  }
  const crypto::public_key key = to_key(identity);
  hash_slot release_slot(*this, source);

  if (sign_up) {
    // Logged as refused sign-ins are (the name only once it is known to be printable).
    if (!proto::valid_name(name)) {
      log::info() << "session " << s->id() << " (" << s->address()
                  << "): sign-up refused: invalid user name";
      s->deliver(proto::error{proto::reason::invalid_name, 0,
                              std::string("invalid user name: ") + std::string(proto::name_rules)});
      co_return;
    }
    if (!proto::acceptable_password(password)) {
      log::info() << "session " << s->id() << " (" << s->address() << "): sign-up for " << name
                  << " refused: the password is not 8 to 255 bytes long";
      s->deliver(
          proto::error{proto::reason::weak_password, 0, "passwords must be 8 to 255 bytes long"});
      co_return;
    }
    auto refuse_taken = [&] {
      log::info() << "session " << s->id() << ": sign-up for " << name << " refused: name taken";
      s->deliver(proto::error{proto::reason::name_taken, 0, "the name " + name + " is taken"});
      // Refused sign-ups count like failed sign-ins: no unlimited hashing per connection.
      if (s->note_failure() >= cfg_.max_failures_per_connection) {
        s->close(proto::reason::too_many_attempts, "too many failed attempts on this connection");
      }
    };
    // A name that could be mistaken for a taken one ("b0b" for "bob") is refused as breaking
    // the name rules: its owner could pass for the other user (protocol.md 5.3).
    const std::string lookalike = proto::lookalike_key(name);
    auto refuse_lookalike = [&](const std::string& other) {
      log::info() << "session " << s->id() << " (" << s->address() << "): sign-up for " << name
                  << " refused: looks like " << other;
      s->deliver(proto::error{proto::reason::invalid_name, 0,
                              "the name " + name + " looks too much like " + other +
                                  ", who has an account: choose another"});
      if (s->note_failure() >= cfg_.max_failures_per_connection) {
        s->close(proto::reason::too_many_attempts, "too many failed attempts on this connection");
      }
    };
    struct taken {
      bool exists = false;
      std::optional<std::string> looks_like;
    };
    // A taken name is answered before any hashing: no Argon2 work for a doomed request.
    const auto [exists, looks_like] =
        co_await off_loop(db_strand_, inbox_, [this, &name, &lookalike] {
          taken t;
          t.exists = users_.find(name).has_value();
          if (!t.exists) t.looks_like = users_.lookalike_of(lookalike, name);
          return t;
        });
    if (s->ending()) co_return;
    if (exists) {
      refuse_taken();
      co_return;
    }
    if (looks_like) {
      refuse_lookalike(*looks_like);
      co_return;
    }
    const auto params = cfg_.argon2;
    std::string hash = co_await hash_on_worker([&password, params] {
      return crypto::hash_password(password, params, crypto::os_random());
    });
    const auto now = unix_now();
    // Checked again in the write: a sign-up for a lookalike may have won the race.
    struct made {
      result<void> created;  // read only when looks_like is empty
      std::optional<std::string> looks_like;
    };
    auto [created, raced_lookalike] =
        co_await writes_.write([this, &name, &hash, &key, now, &lookalike] {
          made m;
          m.looks_like = users_.lookalike_of(lookalike, name);
          if (m.looks_like) return m;
          m.created = users_.create(name, hash, key, now, lookalike);
          if (m.created) m.created = users_.record_sign_in(name, key, now);  // signs in too
          return m;
        });
    if (s->ending()) co_return;
    if (raced_lookalike) {
      refuse_lookalike(*raced_lookalike);
      co_return;
    }
    if (!created) {  // lost a race with another sign-up for the same name
      refuse_taken();
      co_return;
    }
    token.held = false;  // an account was created: the token is spent
    log::info() << "user " << name << " signed up from " << s->address();
    complete_sign_in(s, name, key);
    co_return;
  }

  // Sign-in: unknown names and wrong passwords take the same path and the same time.
  std::optional<store::user_record> stored;
  if (proto::valid_name(name)) {
    stored = co_await off_loop(db_strand_, inbox_, [this, &name] { return users_.find(name); });
  }
  if (s->ending()) co_return;  // gone during the lookup: nothing to answer
  if (address_held && !(stored && stored->identity_key &&
                        std::equal(key.begin(), key.end(), stored->identity_key->begin()) &&
                        s->proves_device(key, *device_proof))) {
    refuse_address();
    co_return;
  }
  // An account with more failures than its free ones lately takes one guess per penalty
  // from strangers, however many addresses they come from; the device it last signed in
  // from (which proves it holds that identity key) is not held back (protocol.md 5.2.1,
  // OWASP's device cookies). Unknown names are penalised alike: the refusal tells nothing.
  struct in_flight {  // this unproven attempt, counted until it is answered
    std::unordered_map<std::string, unsigned>* counts = nullptr;
    std::string name;
    ~in_flight() {
      if (counts == nullptr) return;
      if (auto it = counts->find(name); it != counts->end() && --it->second == 0) counts->erase(it);
    }
  } unproven_guard;
  if (proto::valid_name(name)) {
    const auto now = penalty_table::clock::now();
    const auto wait = account_penalties_.blocked_for(name, now);
    const unsigned failed = account_penalties_.failures(name, now);
    const unsigned free = account_penalties_.free_failures();
    const auto flying = unproven_in_flight_.find(name);
    const unsigned checking = flying == unproven_in_flight_.end() ? 0 : flying->second;
    // At once: as many as there are free failures left, one once past them (between holds).
    const unsigned room = failed < free ? free - failed : 1;
    const bool held_now = wait > penalty_table::clock::duration::zero() || checking >= room;
    // The proof is checked (one X25519) only where it matters: an account under attack.
    const bool proven = (held_now || failed >= free) && stored && stored->identity_key &&
                        device_proof &&
                        std::equal(key.begin(), key.end(), stored->identity_key->begin()) &&
                        s->proves_device(key, *device_proof);
    if (!proven) {
      if (!held_now) {
        unproven_guard.counts = &unproven_in_flight_;
        unproven_guard.name = name;
        ++unproven_in_flight_[name];
      } else {
        const auto secs =
            std::max<long long>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
        // An attack from many addresses must not flood the log: one line a second.
        ++held_unlogged_;
        if (const auto t = std::chrono::steady_clock::now();
            t - held_logged_at_ >= std::chrono::seconds(1)) {
          log::warn() << "session " << s->id() << " (" << s->address() << "): sign-in as " << name
                      << " held back: too many failed sign-ins for this account lately, not "
                         "from the device it last signed in from ("
                      << secs << " s left"
                      << (held_unlogged_ > 1 ? "; " + std::to_string(held_unlogged_) +
                                                   " held back since the last such line)"
                                             : std::string(")"));
          held_unlogged_ = 0;
          held_logged_at_ = t;
        }
        ++stats_.held_sign_ins;
        s->deliver(proto::error{proto::reason::rate_limited, 0,
                                "too many failed sign-ins for this account; retry in " +
                                    std::to_string(secs) +
                                    " s (the device it last signed in from is not held back)"});
        if (s->note_failure() >= cfg_.max_failures_per_connection) {
          s->close(proto::reason::too_many_attempts, "too many failed attempts on this connection");
        }
        co_return;
      }
    }
  }
  const std::string& against = stored ? stored->password_hash : dummy_hash_;
  const bool ok = co_await hash_on_worker(
      [&against, &password] { return crypto::verify_password(against, password); });
  if (!ok || !stored) {
    if (s->ending()) co_return;
    // The operator's log says what the client is never told (both get the same answer). A
    // name with no account is not logged: it is often a password typed at the name prompt.
    // A guessing script's lines are summed up past a budget, as a connection flood's are.
    if (log::current() >= log::level::info &&
        failure_log_.admit(s->source(), std::chrono::steady_clock::now())) {
      log::info() << "session " << s->id() << " (" << s->address() << "): sign-in"
                  << (stored ? " as " + name + " failed: wrong password"
                             : std::string(proto::valid_name(name)
                                               ? " failed: no such account (the name is not "
                                                 "logged: it may be a password typed there)"
                                               : " failed: invalid user name"));
    }
    ++stats_.sign_in_failures;
    const auto t = penalty_table::clock::now();
    // Only a wrong password for an account counts against the address: a name with no
    // account guesses no password (and whether a name is taken is public: sign_up says so).
    // Else every sign-up, which our client starts with a failed sign-in, would count, and
    // a few people signing up behind one NAT would lock each other out.
    if (stored) address_penalties_.failure(s->source(), t);
    if (proto::valid_name(name)) {
      // An account under attack answers failures slowly (never successes): serial guessing
      // slows down, and the owner can still sign in from anywhere.
      account_penalties_.failure(name, t);
      const auto delay = std::min<penalty_table::clock::duration>(
          account_penalties_.blocked_for(name, t), std::chrono::seconds(5));
      if (delay > penalty_table::clock::duration::zero()) {
        // The wait holds no hashing thread, so it holds no slot either: failures on one
        // name (which need not exist) must not fill --max-pending-auth and turn everyone
        // else's sign-ins away as busy. The connection itself is bounded by the per-address
        // and overall unauthenticated limits.
        release_slot.now();
        net::steady_timer wait(io_, delay);
        boost::system::error_code ec;
        co_await wait.async_wait(net::redirect_error(net::use_awaitable, ec));
        if (s->ending()) co_return;
      }
    }
    s->deliver(proto::error{proto::reason::invalid_credentials, 0, "invalid credentials"});
    if (s->note_failure() >= cfg_.max_failures_per_connection) {
      s->close(proto::reason::too_many_attempts, "too many failed attempts on this connection");
    }
    co_return;
  }
  account_penalties_.clear(name);
  const auto now = unix_now();
  // Bans are checked only after the password: a stranger cannot probe which accounts are
  // banned, and wrong passwords all get the same answer. Same job (one transaction on the
  // database strand) as recording the sign-in: a ban committed before it is seen here, one
  // committed after it finds the user online (its kick is queued on the io thread behind this
  // sign-in) and disconnects them.
  // An account the operator deleted while its password was being checked is gone: its
  // sign-in is not recorded, and fails as an unknown name does. One whose password was
  // changed (or rehashed) meanwhile is not recorded either, and the password is checked
  // again against the new hash: the old password must not get in after a change.
  struct recorded {
    std::optional<store::ban_record> ban;
    bool account_exists = true;
    bool hash_changed = false;
  };
  recorded r;
  bool same_key = false;
  for (int checks = 1;; ++checks) {
    same_key =
        stored->identity_key && std::equal(key.begin(), key.end(), stored->identity_key->begin());
    const std::string& checked = stored->password_hash;
    std::string not_recorded;  // why the database refused the record, if it did
    try {
      r = co_await writes_.write([this, &name, &key, now, &checked] {
        recorded w;
        w.ban = bans_.find_active(name, now);
        if (!w.ban) {
          const auto done = users_.record_sign_in(name, key, now, checked);
          w.account_exists = done || done.error() != store::store_errc::not_found;
          w.hash_changed = !done && done.error() == store::store_errc::hash_changed;
        }
        return w;
      });
    } catch (const std::exception& e) {
      not_recorded = plain_reason(e);
    }
    if (s->ending()) co_return;
    if (!not_recorded.empty()) {
      // A full disk (or any write the database refuses) must not lock everyone out: the key
      // already on record signs in unrecorded, and only the time of this sign-in is lost. A
      // new key is refused: unrecorded, its owner would never be told of it (protocol.md 5.13).
      if (!same_key) {
        log::error() << "session " << s->id() << " (" << s->address() << "): sign-in as " << name
                     << " with a new identity key refused: it cannot be recorded: " << not_recorded;
        s->deliver(proto::error{proto::reason::busy, 0,
                                "the relay cannot record a new key now (its database refuses "
                                "writes); retry later, or sign in from the device used before"});
        co_return;
      }
      r = co_await off_loop(db_strand_, inbox_, [this, &name, now, &checked] {
        recorded read;
        read.ban = bans_.find_active(name, now);
        const auto found = users_.find(name);
        read.account_exists = found.has_value();
        read.hash_changed = found && found->password_hash != checked;
        return read;
      });
      if (s->ending()) co_return;
      if (!r.hash_changed) {
        log::warn() << "user " << name << ": sign-in not recorded (" << not_recorded
                    << "); signed in with the key on record";
      }
    }
    if (!r.hash_changed || !r.account_exists) break;
    if (checks == 3) {  // changed again at every check: someone is changing it in a loop
      s->deliver(proto::error{proto::reason::busy, 0,
                              "the account's password is being changed; retry in a moment"});
      co_return;
    }
    stored = co_await off_loop(db_strand_, inbox_, [this, &name] { return users_.find(name); });
    if (s->ending()) co_return;
    const bool still = stored && co_await hash_on_worker([&stored, &password] {
                         return crypto::verify_password(stored->password_hash, password);
                       });
    if (s->ending()) co_return;
    if (!stored) {
      r.account_exists = false;
      break;
    }
    if (!still) {
      // The password was right when it was typed, and is no longer: not a guess, so no
      // penalty on the account or the address, but an attempt on this connection.
      log::info() << "session " << s->id() << " (" << s->address() << "): sign-in as " << name
                  << " failed: the password was changed while it was being checked";
      ++stats_.sign_in_failures;
      s->deliver(proto::error{proto::reason::invalid_credentials, 0, "invalid credentials"});
      if (s->note_failure() >= cfg_.max_failures_per_connection) {
        s->close(proto::reason::too_many_attempts, "too many failed attempts on this connection");
      }
      co_return;
    }
  }
  const auto& ban = r.ban;
  const bool account_exists = r.account_exists;
  if (!account_exists) {
    log::info() << "session " << s->id() << " (" << s->address() << "): sign-in as " << name
                << " failed: the account was deleted meanwhile";
    ++stats_.sign_in_failures;
    s->deliver(proto::error{proto::reason::invalid_credentials, 0, "invalid credentials"});
    co_return;
  }
  if (ban) {
    // Not a password failure (no penalty, not counted as one), but an attempt that did not
    // sign in: the per-connection cap still bounds the hashing a banned owner can cause.
    ++stats_.banned_sign_ins;
    log::info() << "session " << s->id() << " (" << s->address() << "): sign-in as " << name
                << " refused: banned";
    s->deliver(
        proto::error{proto::reason::banned, 0, console::ban_notice(ban->until, ban->reason, now)});
    if (s->note_failure() >= cfg_.max_failures_per_connection) {
      s->close(proto::reason::too_many_attempts, "too many failed attempts on this connection");
    }
    co_return;
  }
  // The operator sees key changes as clients do: a new device, or someone with the password.
  // So does the account's owner, who is the one who can tell the two apart (protocol.md 5.13).
  std::optional<proto::last_key> other_key;
  if (stored->identity_key && !same_key) {
    crypto::public_key before;
    std::copy(stored->identity_key->begin(), stored->identity_key->end(), before.begin());
    log::info() << "user " << name << " signed in with a new identity key (was "
                << crypto::short_fingerprint(before) << ")";
    if (s->peer_has(proto::feature_last_key)) {
      other_key = proto::last_key{*stored->identity_key,
                                  static_cast<std::uint64_t>(stored->last_sign_in.value_or(0))};
    }
  }
  complete_sign_in(s, name, key, other_key);
  // A hash made under other Argon2 parameters (the operator changed them since) is replaced
  // while the password is at hand, after the welcome. Until then a wrong password for that
  // account is checked at the old cost, while unknown names are checked against a dummy hash
  // at the current one: a timing tell of which accounts exist (found by a hostile review),
  // and the account keeps the old strength.
  // Apart from this sign-in: its connection reads on (a ping, a message) meanwhile.
  if (const auto was = crypto::params_of(stored->password_hash); !was || *was != cfg_.argon2) {
    net::co_spawn(io_, renew_hash(name, password, stored->password_hash), net::detached);
  }
}

awaitable<void> relay_server::renew_hash(std::string name, std::string password,
                                         std::string replaced) {
  ++auth_running_;  // stop() waits for this too (see authenticate())
  struct running {
    relay_server& relay;
    std::string& password;
    ~running() {
      crypto::wipe(password);
      --relay.auth_running_;
      relay.maybe_finish_stop();
    }
  } count_running{*this, password};
  try {
    const auto params = cfg_.argon2;
    std::string fresh = co_await hash_on_worker([&password, params] {
      return crypto::hash_password(password, params, crypto::os_random());
    });
    // Only over the hash it renews: a password changed meanwhile is not put back.
    const auto renewed = co_await writes_.write([this, &name, &fresh, &replaced] {
      return users_.set_password_hash(name, fresh, replaced);
    });
    if (renewed) {
      log::info() << "user " << name << ": password hash renewed with the current parameters";
    }
  } catch (const std::exception& e) {
    log::warn() << "user " << name << ": password hash not renewed: " << e.what();
  }
}

awaitable<void> relay_server::change_account(std::shared_ptr<session> s, std::string password,
                                             std::optional<std::string> new_password) {
  ++auth_running_;  // stop() waits for this too (see authenticate())
  struct running {
    relay_server& relay;
    std::string& password;
    std::optional<std::string>& fresh;
    ~running() {
      crypto::wipe(password);
      if (fresh) crypto::wipe(*fresh);
      --relay.auth_running_;
      relay.maybe_finish_stop();
    }
  } count_running{*this, password, new_password};
  const bool deleting = !new_password;
  const char* what = deleting ? "account deletion" : "password change";
  // Refusals that cost no hashing stay within the connection's message rate, as at sign-in.
  if (!s->signed_in()) {
    s->answer_within_rate(proto::error{proto::reason::not_signed_in, 0, "sign in first"});
    co_return;
  }
  if (new_password && !proto::acceptable_password(*new_password)) {
    s->answer_within_rate(proto::error{proto::reason::weak_password, 0,
                                       "passwords must be 8 to 255 bytes long; the password was "
                                       "not changed"});
    co_return;
  }
  const std::string name = s->name();
  // Guesses at the current password, over every connection of the account: its client
  // signing in again by itself must not give a new three (found by a review).
  if (const auto wait = change_penalties_.blocked_for(name, penalty_table::clock::now());
      wait > penalty_table::clock::duration::zero()) {
    const auto secs = std::chrono::ceil<std::chrono::seconds>(wait).count();
    s->answer_within_rate(
        proto::error{proto::reason::rate_limited, 0,
                     "too many wrong passwords for this account's changes lately; retry in " +
                         std::to_string(secs) + " s (nothing changed)"});
    co_return;
  }
  const std::string source = s->source();
  if (const bool full = pending_auth_ >= cfg_.max_pending_auth;
      full || pending_from(source) >= cfg_.max_pending_auth_per_address) {
    s->answer_within_rate(proto::error{
        proto::reason::busy, 0,
        full ? "relay busy, retry in a moment"
             : "too many password checks from your address at once; retry in a moment"});
    co_return;
  }
  hash_slot release_slot(*this, source);
  try {
    std::optional<std::string> hash;  // of the new password, made once
    // Each store write is made only if the hash the password was checked against is still
    // the account's: a sign-in, the relay's rehash or another device's change that got in
    // meanwhile is never undone, nor does a password that is no longer current change it.
    for (int checks = 1;; ++checks) {
      const auto stored =
          co_await off_loop(db_strand_, inbox_, [this, &name] { return users_.find(name); });
      if (s->ending()) co_return;
      const bool ok = stored && co_await hash_on_worker([&stored, &password] {
                        return crypto::verify_password(stored->password_hash, password);
                      });
      if (s->ending()) co_return;
      if (!ok) {
        // Someone at an unattended, signed-in terminal gets the connection's three attempts,
        // and the account's (change_penalties_) however often its client signs in again.
        log::info() << "user " << name << ": " << what << " refused: wrong password";
        change_penalties_.failure(name, penalty_table::clock::now());
        s->deliver(proto::error{proto::reason::invalid_credentials, 0,
                                deleting ? "wrong password: the account was not deleted"
                                         : "wrong password: the password was not changed"});
        if (s->note_failure() >= cfg_.max_failures_per_connection) {
          s->close(proto::reason::too_many_attempts, "too many failed attempts on this connection");
        }
        co_return;
      }
      change_penalties_.clear(name);
      const std::string& checked = stored->password_hash;
      if (deleting) {
        // The account, its key and any ban go, as with the operator's `delete`.
        const auto removed = co_await writes_.write(
            [this, &name, &checked] { return users_.remove(name, checked); });
        if (!removed && removed.error() == store::store_errc::hash_changed && checks < 3) continue;
        if (removed) {  // logged also when the session has just been replaced
          log::info() << "user " << name << " deleted their account (key "
                      << crypto::short_fingerprint(s->identity()) << ")";
        }
        if (s->ending()) co_return;
        if (!removed && removed.error() == store::store_errc::not_found) {
          // Deleted by the operator meanwhile: the session is being closed for that.
          s->deliver(
              proto::error{proto::reason::invalid_credentials, 0, "the account no longer exists"});
          co_return;
        }
        if (!removed) {
          s->deliver(
              proto::error{proto::reason::busy, 0,
                           "the account's password is being changed; the account was not deleted"});
          co_return;
        }
        // The answer, then the connection closes: leaving, the user is announced offline.
        s->say_last_and_close(proto::account_changed{proto::account_changed::change::deleted});
        co_return;
      }
      if (!hash) {
        const auto params = cfg_.argon2;
        hash = co_await hash_on_worker([&new_password, params] {
          return crypto::hash_password(*new_password, params, crypto::os_random());
        });
      }
      const auto changed = co_await writes_.write([this, &name, &hash, &checked] {
        return users_.set_password_hash(name, *hash, checked);
      });
      if (!changed && changed.error() == store::store_errc::hash_changed && checks < 3) continue;
      if (changed) {
        account_penalties_.clear(name);
        log::info() << "user " << name << " changed their password";
      }
      if (s->ending()) co_return;  // replaced by another sign-in: the next one tells (5.15)
      if (!changed) {
        s->deliver(proto::error{
            changed.error() == store::store_errc::not_found ? proto::reason::invalid_credentials
                                                            : proto::reason::busy,
            0,
            changed.error() == store::store_errc::not_found
                // Deleted by the operator meanwhile: the session is being closed for that.
                ? "the account no longer exists: the password was not changed"
                : "the account's password is being changed; the password was not changed"});
        co_return;
      }
      s->deliver(proto::account_changed{proto::account_changed::change::password});
      co_return;
    }
  } catch (const std::exception& e) {
    // Disk full, I/O error: nothing changed, the session goes on.
    log::error() << "user " << name << ": " << what
                 << " could not be processed: " << plain_reason(e);
    if (!s->ending()) {
      s->deliver(proto::error{proto::reason::busy, 0,
                              std::string("the relay could not record the ") + what + " (" +
                                  plain_reason(e) + "); nothing changed; retry later"});
    }
  }
}

void relay_server::complete_sign_in(const std::shared_ptr<session>& s, const std::string& name,
                                    const crypto::public_key& identity,
                                    const std::optional<proto::last_key>& other_key) {
  // Only a live session may be registered: a stopped one would never leave (its callers
  // check, right after their last co_await).
  if (s->ending()) return;
  maybe_trim_memory();    // a sign-in sends a snapshot: heap churn
  online_.reserve_one();  // out of memory: this sign-in fails here, and nothing has changed
  session* replaced = online_.find(name);
  if (replaced) online_.erase(*replaced);
  s->set_signed_in(name, identity);  // its name is its key: set before it is registered
  // Register the new session first, so closing the old one announces no departure.
  online_.insert(*s);
  if (replaced && replaced != s.get()) {
    replaced->close(proto::reason::replaced, "you signed in from " + s->address());
  }
  ++stats_.sign_ins;
  release_unauthenticated(*s);
  log::info() << "user " << name << " signed in from " << s->address() << " (key "
              << crypto::short_fingerprint(identity) << ")";
  s->deliver(proto::welcome{name});
  if (other_key) s->deliver(*other_key);
  send_snapshot(*s);
  proto::key_bytes k;
  std::copy(identity.begin(), identity.end(), k.begin());
  broadcast_presence({proto::presence_entry::kind::online, name, k});
  s->presence_joined() = presence_seq_;
}

void relay_server::send_snapshot(session& s) {
  // Chunked so that any number of online users fits under the frame limit; written straight
  // into one buffer (no entry objects: thousands per sign-in with thousands online). Each
  // chunk is sealed and written as soon as it is full, so the buffers stay small and malloc
  // hands them back warm. Queued whole, a 10,000-user snapshot (440 KB) grew one buffer by
  // doubling: the copies, the zeroing of new capacity and the page faults on fresh heap
  // took a fifth of the relay's CPU signing in 10,000 clients.
  thread_local bytes frame;
  proto::presence_writer w(frame, true, proto::snapshot_chunk);
  online_.for_each([&](const session& other) {
    if (&other == &s) return;
    constexpr auto online = proto::presence_entry::kind::online;
    if (!w.add(online, other.name(), other.identity())) {
      s.deliver_encoded(w.finish(false));
      s.write_now();  // never ends a session (so never leaves the registry)
      w.restart();
      w.add(online, other.name(), other.identity());
    }
  });
  s.deliver_encoded(w.finish(true));
  // Everything announced so far is in the snapshot; batches tell it only what comes later.
  s.presence_seen() = presence_seq_;
}

void relay_server::broadcast_presence(const proto::presence_entry& e) {
  presence_log_.push_back({++presence_seq_, e});
  if (!presence_round_) schedule_presence_round();  // else the round schedules it when done
}

void relay_server::schedule_presence_round() {
  if (cfg_.roster_interval.count() <= 0) {
    net::post(io_, [this] { flush_presence(); });
    return;
  }
  if (presence_timer_armed_) return;
  presence_timer_armed_ = true;
  presence_timer_.expires_at(roster_pace_.next_round(std::chrono::steady_clock::now(),
                                                     last_round_start_, last_round_recipients_));
  presence_timer_.async_wait([this](boost::system::error_code ec) {
    presence_timer_armed_ = false;
    if (!ec) flush_presence();
  });
}

namespace {
/// Encodes live roster entries as presence frames under the frame limit.
template <class Entries, class Keep>
std::vector<bytes> encode_roster_batches(const Entries& entries, Keep keep) {
  std::vector<bytes> out;
  thread_local bytes frame;
  proto::presence_writer w(frame, false);
  for (const auto& p : entries) {
    if (!keep(p)) continue;
    if (!w.add(p.entry)) {
      out.push_back(w.finish(false));
      w.restart();
      w.add(p.entry);
    }
  }
  if (w.entries() > 0) out.push_back(w.finish(false));
  return out;
}
}  // namespace

struct relay_server::presence_round {
  std::uint64_t first = 0;  // the round's changes are seq first..last of presence_log_
  std::uint64_t last = 0;
  // Encoded once and shared by everyone who has seen all earlier changes and is not itself
  // in the round (a client is never told about its own sign-in).
  std::vector<bytes> shared;
  std::unordered_set<std::string_view, name_hash, std::equal_to<>> names;  // into the log
  // Who was online when the round began; later sign-ins got all of it in their snapshot.
  std::vector<std::weak_ptr<session>> targets;
  std::size_t next = 0;
};

void relay_server::flush_presence() {
  if (presence_log_.empty() || presence_round_ || stopping_) return;
  auto r = std::make_unique<presence_round>();
  r->first = presence_log_.front().seq;
  r->last = presence_seq_;
  r->shared = encode_roster_batches(presence_log_, [](const auto&) { return true; });
  for (const auto& p : presence_log_) r->names.insert(p.entry.name);
  r->targets.reserve(online_.size());
  online_.for_each([&](session& s) { r->targets.push_back(s.weak_from_this()); });
  last_round_start_ = std::chrono::steady_clock::now();
  last_round_recipients_ = r->targets.size();
  presence_round_ = std::move(r);
  continue_presence_round();
}

void relay_server::continue_presence_round() {
  if (stopping_) {
    presence_round_.reset();
    return;
  }
  auto& r = *presence_round_;
  const std::size_t end =
      std::min(r.targets.size(), r.next + std::max<std::size_t>(1, cfg_.roster_slice));
  for (; r.next < end; ++r.next) {
    auto s = r.targets[r.next].lock();
    if (!s || !s->signed_in() || s->presence_seen() >= r.last) continue;
    if (s->presence_seen() + 1 == r.first && !r.names.count(s->name())) {
      for (const auto& b : r.shared) s->deliver_encoded(b);
      s->presence_seen() = r.last;
    } else {
      flush_presence_to(*s);
    }
    // Out before the next client's copy: one batch and one sealed buffer for the whole
    // round instead of one per client (14 MB at 10,000 clients) until the posted flushes.
    s->write_now();
  }
  if (r.next < r.targets.size()) {
    net::post(io_, [this] { continue_presence_round(); });
    return;
  }
  // Everyone has the round's changes; what came in meanwhile is the next round's.
  while (!presence_log_.empty() && presence_log_.front().seq <= r.last) presence_log_.pop_front();
  presence_round_.reset();
  if (!presence_log_.empty()) schedule_presence_round();
}

void relay_server::flush_presence_to(session& s) {
  const std::uint64_t seen = s.presence_seen();
  const std::string& me = s.name();
  for (const auto& b : encode_roster_batches(presence_log_, [&](const pending_presence& p) {
         return p.seq > seen && p.entry.name != me;
       })) {
    s.deliver_encoded(b);
  }
  s.presence_seen() = presence_seq_;
}

void relay_server::route(session& from, const proto::send_view& msg) {
  session* to = online_.find(msg.to);
  if (!to) {
    const bool valid = proto::valid_name(msg.to);
    log::debug() << "user " << from.name() << ": send " << msg.id << " to offline '"
                 << (valid ? msg.to : "<invalid name>") << "'";
    from.deliver(proto::error{
        proto::reason::unknown_recipient, msg.id,
        valid ? std::string(msg.to) + " is not online" : std::string("invalid recipient name")});
    return;
  }
  log::debug() << "relay " << from.name() << " -> " << msg.to << " " << msg.ciphertext.size()
               << " bytes";
  ++stats_.messages;
  stats_.bytes += msg.ciphertext.size();
  // The recipient must know the sender's key before its first message: announce it now if
  // the sender's join is still waiting in the roster batch.
  if (to->presence_seen() < from.presence_joined()) flush_presence_to(*to);
  thread_local bytes plain;
  plain.clear();
  proto::encode_deliver_into(from.name(), msg.ciphertext, plain);
  to->deliver_encoded(plain);
}

void relay_server::stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  stop_done_ = std::move(done);
  boost::system::error_code ec;
  acceptor_.close(ec);
  presence_timer_.cancel();
  trim_timer_.cancel();
  sweep_timer_.cancel();
  // Copy first: closing sessions erase themselves from sessions_.
  std::vector<std::shared_ptr<session>> all;
  for (auto& weak : sessions_) {
    if (auto s = weak.lock()) all.push_back(std::move(s));
  }
  for (auto& s : all) {
    if (s->signed_in()) {
      s->close(proto::reason::shutting_down, "the relay is shutting down");
    } else {
      s->abort("relay shutting down");
    }
  }
  // Grace period for peers that do not read their goodbye.
  stop_timer_ = std::make_unique<net::steady_timer>(io_, std::chrono::seconds(2));
  stop_timer_->async_wait([this](boost::system::error_code ec2) {
    if (ec2) return;
    std::vector<std::shared_ptr<session>> left;
    for (auto& weak : sessions_) {
      if (auto s = weak.lock()) left.push_back(std::move(s));
    }
    for (auto& s : left) s->abort("shutdown grace period over");
    sessions_.clear();
    maybe_finish_stop();
  });
  maybe_finish_stop();
}

void relay_server::maybe_finish_stop() {
  if (!stopping_ || !sessions_.empty() || auth_running_ != 0 || !stop_done_) return;
  if (stop_timer_) stop_timer_->cancel();
  auto done = std::move(stop_done_);
  stop_done_ = nullptr;
  net::post(io_, std::move(done));
}

namespace {

/// Width of a column: its longest entry (at least the 4 of "NAME") and two spaces, so the
/// usual short names leave the other columns room within 80 columns (names are at most 32
/// bytes).
template <class Range, class Name>
int column_width(const Range& rows, Name name_of) {
  std::size_t w = 4;  // "NAME"
  for (const auto& r : rows) w = std::max(w, std::string_view(name_of(r)).size());
  return static_cast<int>(w + 2);
}

}  // namespace

std::string relay_server::active_report(const std::string& filter) const {
  std::ostringstream os;
  std::vector<const session*> users;
  users.reserve(online_.size());
  online_.for_each([&](const session& s) {
    if (s.name().find(filter) != std::string::npos) users.push_back(&s);
  });
  if (online_.size() == 0) return "nobody is online\n";
  if (users.empty()) {
    return "no one online has '" + filter + "' in their name (" + count_of(online_.size(), "user") +
           " online)\n";
  }
  std::sort(users.begin(), users.end(), [](auto& a, auto& b) { return a->name() < b->name(); });
  const auto now = std::chrono::system_clock::now();
  const int name_w = column_width(users, [](const session* s) { return s->name(); });
  const int address_w = column_width(users, [](const session* s) { return s->address(); });
  os << std::left << std::setw(name_w) << "NAME" << std::setw(address_w) << "ADDRESS"
     << "SINCE\n";
  for (const auto& s : users) {
    const auto t = std::chrono::system_clock::to_time_t(s->since());
    os << std::setw(name_w) << s->name() << std::setw(address_w) << s->address() << format_time(t)
       << " ("
       << console::format_duration(
              std::chrono::duration_cast<std::chrono::seconds>(now - s->since()))
       << ")\n";
  }
  if (filter.empty()) {
    os << count_of(users.size(), "user") << " online\n";
  } else {
    os << users.size() << " of " << count_of(online_.size(), "user") << " online "
       << (users.size() == 1 ? "has" : "have") << " '" << filter << "' in their name\n";
  }
  return os.str();
}

std::string relay_server::stats_report() const {
  const auto now = std::chrono::steady_clock::now();
  console::relay_stats st;
  st.uptime = std::chrono::duration_cast<std::chrono::seconds>(now - started_);
  st.connections_now = sessions_.size();
  st.connections_total = stats_.connections;
  st.refused = stats_.refused;
  st.unauthenticated_now = unauthenticated_;
  st.signed_in_now = online_.size();
  st.sign_ins = stats_.sign_ins;
  st.sign_in_failures = stats_.sign_in_failures;
  st.banned_sign_ins = stats_.banned_sign_ins;
  st.held_sign_ins = stats_.held_sign_ins;
  st.messages = stats_.messages;
  st.bytes = stats_.bytes;
  st.db_writes = writes_.writes();
  st.db_commits = writes_.commits();
  st.db_write_failures = writes_.failures();
  st.hashes_in_pool = hashes_in_pool_.load(std::memory_order_relaxed);
  st.hashing_threads = n_workers_;
  st.rate_recent = rate_.per_second(now, stats_.messages);
  return console::format_stats(st);
}

void relay_server::arm_rate_sampler() {
  rate_timer_.expires_after(std::chrono::seconds(1));
  rate_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    rate_.sample(std::chrono::steady_clock::now(), stats_.messages);
    arm_rate_sampler();
  });
}

std::string relay_server::audit_path_for(const relay_config& cfg) {
  if (!cfg.audit_log_path.empty()) return cfg.audit_log_path;
  return std::filesystem::path(cfg.db_path).replace_extension(".audit.log").string();
}

void relay_server::finish_command(const std::shared_ptr<const command_answer>& a, bool ok,
                                  std::string text, std::function<void()> then) {
  // On the database strand: the disk write stays off the io thread, and the line is on disk
  // before the operator sees the answer.
  net::post(db_strand_, [this, a, ok, text = std::move(text), then = std::move(then)]() mutable {
    // A failure records why; a change records what it did (a ban's end as computed, not
    // only the duration typed). Both are the answer's first line.
    const auto* spec = console::find_command(a->name);
    std::string_view outcome;
    if (!ok || (spec != nullptr && spec->changes_state)) {
      outcome = std::string_view(text).substr(0, text.find('\n'));
    }
    if (auto ec =
            audit_.append(console::format_audit_line(unix_now(), a->name, a->args, ok, outcome))) {
      log::error() << "audit log " << audit_.path() << ": " << ec.message();
      text +=
          "console: could not write the audit log " + audit_.path() + ": " + ec.message() + "\n";
    }
    a->reply(std::move(text));
    if (then) inbox_.post(std::move(then));
  });
}

void relay_server::account_names(std::function<void(std::vector<std::string>)> reply) {
  net::post(db_strand_, [this, reply = std::move(reply)] {
    std::vector<std::string> names;
    try {
      for (auto& u : users_.list()) names.push_back(std::move(u.name));
    } catch (const std::exception&) {
      names.clear();  // nothing to complete; the `db` command says what is wrong
    }
    reply(std::move(names));
  });
}

void relay_server::run_command(const std::string& name, const std::vector<std::string>& args,
                               std::function<void(std::string)> reply) {
  // Answers hold names, fingerprints, addresses, times and counters only: the relay has no
  // plaintext to show, and no command takes or shows a password or a secret key.
  auto a = std::make_shared<const command_answer>(command_answer{name, args, std::move(reply)});
  const auto* spec = console::find_command(name);
  if (spec != nullptr && args.size() < static_cast<std::size_t>(spec->min_args)) {
    finish_command(a, false, "usage: " + std::string(spec->usage) + "\n");
    return;
  }
  // A USER that cannot be anyone's name (too long, a capital beyond ASCII, a space) is said
  // to be no name at all, not "not online" (review 12), and shown cut short.
  if (spec != nullptr && spec->usage.substr(spec->name.size()).starts_with(" USER") &&
      !proto::valid_name(args[0])) {
    std::size_t cut = std::min<std::size_t>(args[0].size(), 40);
    while (cut < args[0].size() && (static_cast<unsigned char>(args[0][cut]) & 0xc0) == 0x80) --cut;
    const std::string shown = args[0].substr(0, cut) + (cut < args[0].size() ? "..." : "");
    finish_command(a, false,
                   "'" + shown + "' is not a user name (" + std::string(proto::name_rules) + ")\n");
    return;
  }
  if (name == "help") {
    if (!args.empty() && console::help_text(args[0]).empty()) {
      finish_command(a, false, "no command named " + args[0] + " (help lists them)\n");
      return;
    }
    finish_command(a, true, console::help_text(args.empty() ? "" : args[0]));
  } else if (name == "stats") {
    finish_command(a, true, stats_report());
  } else if (name == "kick") {
    session* target = online_.find(args[0]);
    if (!target) {
      finish_command(a, false, args[0] + " is not online\n");
      return;
    }
    const std::string why = args.size() > 1 ? args[1] : std::string("kicked by the operator");
    // The same limit as a ban's reason: the client is shown all of it, never a cut one.
    if (why.size() > console::max_ban_reason) {
      finish_command(a, false,
                     "reason too long (over " + std::to_string(console::max_ban_reason) +
                         " bytes); " + args[0] + " was not kicked\n");
      return;
    }
    log::info() << "operator kicked " << args[0] << ": " << why;
    target->close(proto::reason::kicked, why);
    finish_command(a, true, "kicked " + args[0] + "\n");
  } else if (name == "ban") {
    ban_command(a);
  } else if (name == "block") {
    block_command(a);
  } else if (name == "unblock") {
    const auto source = block_source(args[0]);
    if (!source) {
      finish_command(a, false, not_an_address(args[0]));
      return;
    }
    net::post(db_strand_, [this, a, source = *source] {
      try {
        if (!blocks_.unblock(source, unix_now())) {
          finish_command(a, false, source + " is not blocked\n");
          return;
        }
      } catch (const std::exception& e) {
        finish_command(a, false, database_problem("unblock " + source, "write", e));
        return;
      }
      inbox_.post([this, a, source] {
        blocked_.erase(source);
        log::info() << "operator unblocked " << source;
        finish_command(a, true, "unblocked " + source + "\n");
      });
    });
  } else if (name == "blocks") {
    const auto now = unix_now();
    std::vector<std::pair<std::string, address_block>> list;
    for (const auto& [source, b] : blocked_) {
      if (!b.until || *b.until > now) list.emplace_back(source, b);
    }
    if (list.empty()) {
      finish_command(a, true, "no address blocks in force\n");
      return;
    }
    std::sort(list.begin(), list.end(),
              [](const auto& x, const auto& y) { return x.first < y.first; });
    std::vector<std::string> untils;
    for (const auto& [source, b] : list) {
      untils.push_back(
          b.until ? console::format_utc(*b.until) + " (" +
                        console::format_time_left(std::chrono::seconds(*b.until - now)) + " left)"
                  : std::string("permanent"));
    }
    const int source_w = column_width(list, [](const auto& e) { return e.first; });
    const int until_w = column_width(untils, [](const std::string& u) { return u; });
    std::ostringstream os;
    os << std::left << std::setw(source_w) << "ADDRESS" << std::setw(until_w) << "UNTIL"
       << "REASON\n";
    for (std::size_t i = 0; i < list.size(); ++i) {
      os << std::setw(source_w) << list[i].first << std::setw(until_w) << untils[i]
         << log::safe_text(list[i].second.reason) << "\n";
    }
    os << list.size() << (list.size() == 1 ? " address block" : " address blocks") << " in force\n";
    finish_command(a, true, os.str());
  } else if (name == "delete") {
    delete_command(a);
  } else if (name == "unban") {
    net::post(db_strand_, [this, a] {
      const std::string& user = a->args[0];
      try {
        if (bans_.unban(user, unix_now())) {
          log::info() << "operator unbanned " << user;
          finish_command(a, true, "unbanned " + user + "\n");
        } else {
          finish_command(a, false, user + " is not banned\n");
        }
      } catch (const std::exception& e) {
        finish_command(a, false, database_problem("unban " + user, "write", e));
      }
    });
  } else if (name == "bans") {
    net::post(db_strand_, [this, a] {
      const auto now = unix_now();
      std::vector<store::ban_record> list;
      try {
        list = bans_.list_active(now);
      } catch (const std::exception& e) {
        finish_command(a, false, std::string("cannot read the database: ") + e.what() + "\n");
        return;
      }
      if (list.empty()) {
        finish_command(a, true, "no bans in force\n");
        return;
      }
      std::ostringstream os;
      const int name_w = column_width(list, [](const auto& b) { return b.name; });
      std::vector<std::string> untils;
      for (const auto& b : list) {
        untils.push_back(
            b.until ? console::format_utc(*b.until) + " (" +
                          console::format_time_left(std::chrono::seconds(*b.until - now)) + " left)"
                    : std::string("permanent"));
      }
      const int until_w = column_width(untils, [](const std::string& u) { return u; });
      os << std::left << std::setw(name_w) << "NAME" << std::setw(until_w) << "UNTIL"
         << "REASON\n";
      for (std::size_t i = 0; i < list.size(); ++i) {
        // As the log shows it: a reason stored before the console refused direction and
        // invisible controls (or written into the database by hand) cannot act on the screen.
        os << std::setw(name_w) << list[i].name << std::setw(until_w) << untils[i]
           << log::safe_text(list[i].reason) << "\n";
      }
      os << list.size() << (list.size() == 1 ? " ban" : " bans") << " in force\n";
      finish_command(a, true, os.str());
    });
  } else if (name == "active") {
    finish_command(a, true, active_report(args.empty() ? std::string() : args[0]));
  } else if (name == "key") {
    // On a line of its own: copied whole from an 80-column terminal, pasted whole.
    finish_command(a, true, "relay key fingerprint:\n" + crypto::fingerprint(key_.pub()) + "\n");
  } else if (name == "db") {
    // TEXT comes lowered by the parser: `db Bo` finds bob.
    net::post(db_strand_, [this, a, filter = args.empty() ? std::string() : args[0]] {
      std::ostringstream os;
      std::vector<store::user_record> list;
      try {
        list = users_.list();
      } catch (const std::exception& e) {
        finish_command(a, false, database_problem("db", "read", e));
        return;
      }
      if (list.empty()) {
        finish_command(a, true, "no registered users\n");
        return;
      }
      const std::size_t registered = list.size();
      std::erase_if(list, [&](const auto& u) { return u.name.find(filter) == std::string::npos; });
      if (list.empty()) {
        finish_command(a, true,
                       "no user name contains '" + filter + "' (" + count_of(registered, "user") +
                           " registered)\n");
        return;
      }
      const int name_w = column_width(list, [](const auto& u) { return u.name; });
      // The day an account was made, and the minute it was last used: with a short name, a
      // row (and its whole key fingerprint) fits 80 columns.
      os << std::left << std::setw(name_w) << "NAME" << std::setw(12) << "CREATED" << std::setw(19)
         << "LAST SIGN-IN"
         << "KEY FINGERPRINT\n";
      for (const auto& u : list) {
        os << std::setw(name_w) << u.name << std::setw(12) << format_time(u.created, "%Y-%m-%d")
           << std::setw(19)
           << (u.last_sign_in ? format_time(*u.last_sign_in, "%Y-%m-%d %H:%MZ")
                              : std::string("never"))
           << (u.identity_key ? crypto::short_fingerprint(*u.identity_key) : std::string("-"))
           << "\n";
      }
      if (filter.empty()) {
        os << count_of(list.size(), "user") << " registered\n";
      } else {
        os << list.size() << " of " << count_of(registered, "user") << " registered "
           << (list.size() == 1 ? "has" : "have") << " '" << filter << "' in their name\n";
      }
      finish_command(a, true, os.str());
    });
  } else if (name == "quit") {
    // The audit line is written before the relay starts stopping (and its pool with it).
    finish_command(a, true, "stopping the relay\n", [this] {
      if (quit_handler_) {
        quit_handler_();
      } else {
        stop();
      }
    });
  } else {
    finish_command(a, false, "unknown command: " + name + "\n");
  }
}

void relay_server::delete_command(const std::shared_ptr<const command_answer>& a) {
  const std::string& user = a->args[0];
  const bool confirmed = a->args.size() > 1;
  if (confirmed && !console::is_confirm_word(a->args[1])) {
    finish_command(a, false, "delete: the word after the name can only be 'confirm'\n");
    return;
  }
  net::post(db_strand_, [this, a, user, confirmed] {
    const auto now = unix_now();
    std::optional<store::user_record> account;
    std::optional<store::ban_record> ban;
    try {
      account = users_.find(user);
      if (account) ban = bans_.find_active(user, now);
      // Asked first: the account, its key and its ban go for good, and the name is free.
      if (account && confirmed) (void)users_.remove(user);
    } catch (const std::exception& e) {
      finish_command(a, false, database_problem("delete " + user, "use", e));
      return;
    }
    if (!account) {
      finish_command(a, false, "no registered user named " + user + "\n");
      return;
    }
    // On the io thread, which knows who is online.
    inbox_.post([this, a, user, confirmed, account = std::move(*account), ban = std::move(ban)] {
      session* online = online_.find(user);
      const std::string key =
          account.identity_key ? crypto::short_fingerprint(*account.identity_key) : "none";
      if (!confirmed) {
        std::string text = "nothing deleted yet: 'delete " + user + " confirm' removes for good\n";
        text += "  the account " + user + ": created " + format_time(account.created, "%Y-%m-%d") +
                ", last sign-in " +
                (account.last_sign_in ? format_time(*account.last_sign_in, "%Y-%m-%d %H:%MZ")
                                      : std::string("never")) +
                "\n  its key " + key + "\n";
        if (ban) {
          text += "  its ban, " +
                  (ban->until ? "until " + console::format_utc(*ban->until)
                              : std::string("permanent")) +
                  (ban->reason.empty() ? "" : ": " + ban->reason) + "\n";
        }
        text += online ? "  " + user + " is online now, and would be disconnected\n"
                       : "  " + user + " is not online\n";
        text += "  then anyone may sign up as " + user + "; contacts are warned of the new key\n";
        finish_command(a, true, std::move(text));
        return;
      }
      // Which account went (names are reused): its key, in the answer and the audit log.
      log::info() << "operator deleted the account " << user << " (key " << key << ")"
                  << (ban ? " and its ban" : "");
      std::string text =
          "deleted the account " + user + " (key " + key + ")" + (ban ? " and its ban" : "") + "\n";
      if (online) {
        online->close(proto::reason::kicked, "kicked: the operator deleted this account");
        text += "disconnected " + user + "\n";
      }
      finish_command(a, true, std::move(text));
    });
  });
}

void relay_server::block_command(const std::shared_ptr<const command_answer>& a) {
  auto parsed = console::parse_ban_args(a->args);
  if (!parsed) {
    finish_command(a, false, "block: " + parsed.error().message() + "\n");
    return;
  }
  const auto source = block_source(parsed->user);
  if (!source) {
    finish_command(a, false, not_an_address(parsed->user));
    return;
  }
  const auto now = unix_now();
  const auto until = console::ban_until(parsed->duration, now);
  net::post(db_strand_, [this, a, source = *source, reason = parsed->reason, until, now] {
    try {
      blocks_.block(source, until, reason, now);
    } catch (const std::exception& e) {
      finish_command(a, false, database_problem("block " + source, "write", e));
      return;
    }
    // Stored: now the io thread refuses it and closes what is connected from it.
    inbox_.post([this, a, source, reason, until, now] {
      blocked_[source] = {until, reason};
      std::string text = "blocked " + source;
      text += until ? " until " + console::format_utc(*until) : std::string(" permanently");
      if (!reason.empty()) text += ": " + reason;
      log::info() << "operator " << text;
      text += "\n";
      std::vector<std::shared_ptr<session>> from;
      for (const auto& w : sessions_) {
        if (auto s = w.lock(); s && !s->ending() && s->source() == source) from.push_back(s);
      }
      std::size_t unnamed = 0;
      for (const auto& s : from) {
        if (s->signed_in()) {
          text += "disconnected " + s->name() + "\n";
          s->close(proto::reason::banned, console::block_notice(until, reason, now));
        } else {
          ++unnamed;
          s->abort("its address was blocked by the operator");
        }
      }
      if (unnamed > 0) text += "closed " + count_of(unnamed, "connection") + " not signed in\n";
      finish_command(a, true, std::move(text));
    });
  });
}

void relay_server::ban_command(const std::shared_ptr<const command_answer>& a) {
  auto parsed = console::parse_ban_args(a->args);
  if (!parsed) {
    finish_command(a, false, "ban: " + parsed.error().message() + "\n");
    return;
  }
  const auto now = unix_now();
  const auto until = console::ban_until(parsed->duration, now);
  net::post(db_strand_, [this, a, b = std::move(*parsed), until, now]() mutable {
    std::string failure;
    std::optional<store::ban_record> before;  // replaced, so the operator is told which
    try {
      before = bans_.find_active(b.user, now);
      if (!bans_.ban(b.user, until, b.reason, now)) failure = "no registered user named " + b.user;
    } catch (const std::exception& e) {
      finish_command(a, false, database_problem("ban " + b.user, "write", e));
      return;
    }
    if (!failure.empty()) {
      finish_command(a, false, failure + "\n");
      return;
    }
    // Stored: now disconnect the user if online, on the io thread that owns the registry.
    inbox_.post([this, a, b = std::move(b), before = std::move(before), until, now] {
      std::string text = "banned " + b.user;
      text += until ? " until " + console::format_utc(*until) : std::string(" permanently");
      if (!b.reason.empty()) text += ": " + b.reason;
      std::string replaced;
      if (before) {
        replaced = "(replacing the ban ";
        replaced += before->until ? "until " + console::format_utc(*before->until)
                                  : std::string("that was permanent");
        if (!before->reason.empty()) replaced += ": " + before->reason;
        replaced += ")";
      }
      // On the first line: the audit log records an answer's first line, and the replaced ban
      // is part of what the command did.
      if (!replaced.empty()) text += " " + replaced;
      log::info() << "operator " << text;
      text += "\n";
      if (session* target = online_.find(b.user)) {
        target->close(proto::reason::banned, console::ban_notice(until, b.reason, now));
        text += "disconnected " + b.user + "\n";
      }
      finish_command(a, true, std::move(text));
    });
  });
}

}  // namespace relay::server
