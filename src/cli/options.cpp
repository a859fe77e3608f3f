// node's command line: one table of options per mode, validated before anything starts.
#include "relay/cli/options.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <set>
#include <sstream>

#include "relay/client/app.hpp"
#include "relay/client/input.hpp"
#include "relay/crypto/keys.hpp"
#include "relay/proto/names.hpp"
#include "relay/server/run.hpp"

namespace relay::cli {
namespace po = boost::program_options;

namespace {

constexpr const char* version_text = "node (relaychat) 0.1.0\n";

constexpr std::uint32_t max_argon2_memory_kib = 1 << 20;  // 1 GiB per hash
constexpr std::uint32_t max_argon2_iterations = 64;
constexpr std::uint32_t max_argon2_parallelism = 16;
constexpr std::size_t min_send_queue = 65536;  // a record of max_record must fit

constexpr const char* usage_head =
    "usage: node -s [relay options]     run the relay\n"
    "       node [client options]       chat through a relay\n\n";

constexpr const char* examples =
    "\nexamples:\n"
    "  node -s                               relay on 127.0.0.1:20001, database ./relay.db\n"
    "  node -s --listen 0.0.0.0 --db /var/lib/relaychat/relay.db\n"
    "  node                                  sign in to the relay on 127.0.0.1:20001\n"
    "  node --host chat.example.org --relay-key 3f2a...(64 hex digits)\n"
    "  printf 'bob:hi\\n' | RELAYCHAT_PASSWORD=... node --user alice\n"
    "                                        piping mode: send bob \"hi\", then sign off\n"
    "  node --user bot --password-file ~/.bot-pw --sign-up --json\n"
    "                                        a bot: JSON events on stdout, NAME:MESSAGE in\n"
    "\nclient modes: with a terminal on stdin and stdout, a line editor (Tab completes\n"
    "  names, Up/Down history, a bracketed multi-line paste is ONE message); otherwise\n"
    "  piping mode: each input line NAME:MESSAGE (or /msg, /who, /quit) is one message,\n"
    "  stdout carries only incoming messages (\"alice: hello\"; continuation lines of a\n"
    "  multi-line message start with \"  | \"), status goes to stderr, end of input\n"
    "  signs off. Colour only on a terminal and without NO_COLOR; messages over 16384\n"
    "  bytes are refused. The password comes from --password-file, else the\n"
    "  environment variable RELAYCHAT_PASSWORD (removed from the environment once read),\n"
    "  else a prompt at a terminal; never from the command line, nor from a piped\n"
    "  standard input, whose lines are messages. Without a terminal an unknown user is\n"
    "  only created with --sign-up. --json: each event is one JSON object per line on\n"
    "  stdout (\"type\": message, notice, signed_in, join, leave, online or who; \"time\"\n"
    "  in UTC, ISO 8601).\n"
    "\nclient exit codes: 0 ok, 1 error (kicked, banned, replaced), 2 sign-in/sign-up refused,\n"
    "  3 relay unreachable, 4 relay key not accepted (not the pinned key or --relay-key,\n"
    "  or not trusted when asked on first use), 5 without a terminal: left normally, but\n"
    "  some line was refused or some message was not sent or not confirmed\n";

}  // namespace

parsed parse_options(const std::vector<std::string>& args) {
  po::options_description general("general options");
  general.add_options()("help,h", "show this help")("version", "show the version")(
      "server,s", "run the relay (otherwise: the client)")(
      "log-level", po::value<std::string>(), "error, warn, info or debug (relay default info)")(
      "port,p", po::value<std::uint16_t>()->default_value(20001), "relay TCP port");

  po::options_description relay_opts("relay options (with -s)");
  relay_opts.add_options()("listen", po::value<std::string>()->default_value("127.0.0.1"),
                           "address to listen on")(
      "db", po::value<std::string>()->default_value("relay.db"), "SQLite database file")(
      "key", po::value<std::string>(), "relay key file (default: beside the database, .key)")(
      "new-key",
      "make a new relay key although the database has accounts (move the old key file away "
      "first); clients pinned the old key and refuse the new one, as ssh does, until each "
      "user removes the relay's line from known_relays in their data directory")(
      "audit-log", po::value<std::string>(),
      "operator audit log (default: beside the database, .audit.log)")(
      "argon2-memory", po::value<std::uint32_t>()->default_value(19456),
      "Argon2id memory per hash, KiB")(
      "argon2-iterations", po::value<std::uint32_t>()->default_value(2), "Argon2id passes")(
      "argon2-parallelism", po::value<std::uint32_t>()->default_value(1), "Argon2id lanes")(
      "workers", po::value<unsigned>()->default_value(0),
      "password-hashing threads (0: one per CPU the relay may run on, at most 8)")(
      "max-pending-auth", po::value<unsigned>()->default_value(64),
      "sign-ins queued for hashing before answering busy")(
      "max-pending-auth-per-address", po::value<unsigned>()->default_value(4),
      "of those, at most this many from one address (an IPv6 /64)")(
      "auth-timeout", po::value<double>()->default_value(10),
      "seconds a new connection has to finish handshake and sign-in")(
      "ping-interval", po::value<double>()->default_value(30),
      "seconds of silence before the relay pings a client")(
      "idle-timeout", po::value<double>()->default_value(90),
      "seconds of silence before a client is disconnected")(
      "max-connections", po::value<std::size_t>()->default_value(4096), "connections in all")(
      "max-unauthenticated", po::value<std::size_t>()->default_value(512),
      "connections not yet signed in, in all")(
      "max-unauthenticated-per-address", po::value<std::size_t>()->default_value(16),
      "connections not yet signed in, per IP address (an IPv6 /64)")(
      "max-signups-per-address", po::value<unsigned>()->default_value(10),
      "accounts one IP address (an IPv6 /64) may create per hour, this many at once "
      "(0: no limit)")("max-send-queue", po::value<std::size_t>()->default_value(1 << 20),
                       "bytes queued to a client that does not read before it is disconnected")(
      "message-rate", po::value<double>()->default_value(20),
      "messages per second one connection may send, sustained (pings and refusals "
      "before sign-in count too)")(
      "message-burst", po::value<double>()->default_value(100),
      "messages one connection may send at once (e.g. a pasted paragraph)")(
      "roster-interval", po::value<double>()->default_value(100),
      "milliseconds over which joins and leaves are batched into one update (0: at once); "
      "while they keep coming, one interval per 100 clients online, at most ten")(
      "cipher", po::value<std::string>()->default_value("auto"),
      "transport cipher: auto (AES-256-GCM for clients that offer it, if this CPU has AES-NI;\n"
      "else ChaCha20-Poly1305) or chachapoly (ChaCha20-Poly1305 for everyone)");

  po::options_description client_opts("client options");
  client_opts.add_options()("host", po::value<std::string>()->default_value("127.0.0.1"),
                            "relay host")(
      "home", po::value<std::string>(),
      "data directory (default $XDG_DATA_HOME/relaychat or ~/.local/share/relaychat)")(
      "relay-key", po::value<std::string>(),
      "accept only a relay with this key fingerprint (64 hex digits)")(
      "user", po::value<std::string>(), "user name (no prompt)")(
      "password-file", po::value<std::string>(),
      "read the password from the first line of this file (mode 600 or stricter)")(
      "sign-up", "create the account if the relay does not know it (no y/N question)")(
      "json", "print one JSON object per event on stdout (for programs)")(
      "relay-timeout", po::value<unsigned>()->default_value(60),
      "seconds the relay may stay silent (it is pinged at half) before the client connects "
      "again");

  po::options_description all;
  all.add(general).add(relay_opts).add(client_opts);

  // Boost would take "--password X" as an abbreviation of --password-file: a password typed
  // on the command line (visible in ps and shell history) is refused, never used.
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string flag = args[i].substr(0, args[i].find('='));
    if (flag.rfind("--pass", 0) == 0 && flag != "--password-file") {
      return usage_error{
          "passwords are never taken from the command line: use --password-file PATH or the "
          "environment variable RELAYCHAT_PASSWORD"};
    }
  }
  po::variables_map vm;
  try {
    std::vector<std::string> rest(args.begin() + (args.empty() ? 0 : 1), args.end());
    const auto given = po::command_line_parser(rest).options(all).run();
    // Boost reads "-1" for an unsigned option as its largest value (a port of 65535, no
    // limit at all), and passes words that are no option by: `node -s relay.db` would start
    // a fresh relay with a new key on the default database. Both are refused.
    static const std::set<std::string> counts = {"port",
                                                 "argon2-memory",
                                                 "argon2-iterations",
                                                 "argon2-parallelism",
                                                 "workers",
                                                 "max-pending-auth",
                                                 "max-pending-auth-per-address",
                                                 "max-connections",
                                                 "max-unauthenticated",
                                                 "max-unauthenticated-per-address",
                                                 "max-signups-per-address",
                                                 "max-send-queue",
                                                 "relay-timeout"};
    for (const auto& o : given.options) {
      if (o.position_key >= 0 && !o.value.empty()) {
        return usage_error{"unexpected argument '" + o.value.front() +
                           "': every option is spelled --name (try node --help)"};
      }
      // `--host --home DIR` made "--home" the host and DIR an unexpected word: an option
      // that takes the next option as its value is said to lack one (--host=--x still works).
      if (!o.value.empty() && o.original_tokens.size() >= 2 &&
          o.value.front().rfind("--", 0) == 0) {
        return usage_error{"--" + o.string_key + " needs a value (it would take '" +
                           o.value.front() + "'; write --" + o.string_key + "=" + o.value.front() +
                           " if that is meant)"};
      }
      if (counts.count(o.string_key) && !o.value.empty() &&
          o.value.front().find('-') != std::string::npos) {
        return usage_error{"--" + o.string_key + " cannot be negative"};
      }
    }
    po::store(given, vm);
    po::notify(vm);
  } catch (const std::exception& e) {
    return usage_error{std::string(e.what()) + " (try node --help)"};
  }
  if (vm.count("help")) {
    std::ostringstream os;
    os << usage_head << all << examples;
    return show_text{os.str()};
  }
  if (vm.count("version")) return show_text{version_text};

  const bool is_relay = vm.count("server") != 0;
  log::level level = is_relay ? log::level::info : log::level::warn;
  if (vm.count("log-level") && !log::parse_level(vm["log-level"].as<std::string>(), level)) {
    return usage_error{"--log-level must be error, warn, info or debug"};
  }
  const auto port = vm["port"].as<std::uint16_t>();
  if (!is_relay && port == 0) return usage_error{"--port must be 1..65535"};
  if (is_relay) {
    for (const char* o : {"host", "home", "relay-key", "user", "password-file", "sign-up", "json",
                          "relay-timeout"}) {
      if (vm.count(o) && !vm[o].defaulted()) {
        return usage_error{std::string("--") + o + " is a client option (not with -s)"};
      }
    }
    relay_mode m;
    m.level = level;
    m.config.listen = vm["listen"].as<std::string>();
    m.config.port = port;
    m.config.db_path = vm["db"].as<std::string>();
    // SQLite takes "" and ":memory:" as databases that vanish at exit (and "file:" as a URI):
    // a unit with --db "$UNSET" would lose every account at its next restart.
    if (const std::string& d = m.config.db_path;
        d.empty() || d == ":memory:" || d.rfind("file:", 0) == 0) {
      return usage_error{
          "--db must be a file path (not empty, :memory: or a file: URI): "
          "accounts must outlive the relay"};
    }
    for (const char* o : {"key", "audit-log"}) {
      if (vm.count(o) && vm[o].as<std::string>().empty()) {
        return usage_error{std::string("--") + o + " must name a file"};
      }
    }
    if (vm.count("key")) m.config.key_path = vm["key"].as<std::string>();
    m.config.new_key = vm.count("new-key") != 0;
    if (vm.count("audit-log")) m.config.audit_log_path = vm["audit-log"].as<std::string>();
    m.config.argon2.m_cost_kib = vm["argon2-memory"].as<std::uint32_t>();
    m.config.argon2.t_cost = vm["argon2-iterations"].as<std::uint32_t>();
    m.config.argon2.parallelism = vm["argon2-parallelism"].as<std::uint32_t>();
    m.config.workers = vm["workers"].as<unsigned>();
    m.config.max_pending_auth = vm["max-pending-auth"].as<unsigned>();
    m.config.max_pending_auth_per_address = vm["max-pending-auth-per-address"].as<unsigned>();
    // Numbers are checked before any cast: "nan", "inf" and 1e300 parse as doubles, and
    // casting them to an integer is undefined; every comparison with NaN is false, so each
    // test says what is allowed rather than what is not.
    auto in_range = [&](const char* o, double lo, double hi) {
      const double v = vm[o].as<double>();
      return v >= lo && v <= hi;
    };
    constexpr double max_seconds = 1e7;  // about 115 days; far inside a millisecond count
    for (const char* o : {"auth-timeout", "ping-interval", "idle-timeout"}) {
      if (!in_range(o, 0.001, max_seconds)) {
        return usage_error{std::string("--") + o + " must be 0.001.." +
                           std::to_string(static_cast<long>(max_seconds)) + " seconds"};
      }
    }
    auto seconds = [&](const char* o) {
      return std::chrono::milliseconds(static_cast<long long>(vm[o].as<double>() * 1000));
    };
    m.config.auth_timeout = seconds("auth-timeout");
    m.config.ping_interval = seconds("ping-interval");
    m.config.idle_timeout = seconds("idle-timeout");
    m.config.max_connections = vm["max-connections"].as<std::size_t>();
    m.config.max_unauthenticated = vm["max-unauthenticated"].as<std::size_t>();
    m.config.max_unauthenticated_per_address =
        vm["max-unauthenticated-per-address"].as<std::size_t>();
    m.config.max_signups_per_address = vm["max-signups-per-address"].as<unsigned>();
    m.config.max_send_queue = vm["max-send-queue"].as<std::size_t>();
    if (!in_range("message-rate", 0.001, 1e12)) {
      return usage_error{"--message-rate must be 0.001..1e12 per second"};
    }
    if (!in_range("message-burst", 1, 1e12)) {
      return usage_error{"--message-burst must be 1..1e12"};
    }
    m.config.message_rate = vm["message-rate"].as<double>();
    m.config.message_burst = vm["message-burst"].as<double>();
    if (!in_range("roster-interval", 0, 10000)) {
      return usage_error{"--roster-interval must be 0..10000 milliseconds"};
    }
    m.config.roster_interval =
        std::chrono::milliseconds(static_cast<long long>(vm["roster-interval"].as<double>()));
    if (const std::string c = vm["cipher"].as<std::string>(); c == "chachapoly") {
      m.config.aesgcm = false;
    } else if (c != "auto") {
      return usage_error{"--cipher must be auto or chachapoly"};
    }
    if (m.config.idle_timeout <= m.config.ping_interval) {
      return usage_error{"--idle-timeout must be above --ping-interval"};
    }
    // Bounded above too: the relay hashes once at start, and 4 GiB or a million passes
    // would keep it silent (and deaf to SIGTERM) for minutes.
    if (const auto& a = m.config.argon2; a.m_cost_kib < 8 * a.parallelism ||
                                         a.m_cost_kib > max_argon2_memory_kib || a.t_cost < 1 ||
                                         a.t_cost > max_argon2_iterations || a.parallelism < 1 ||
                                         a.parallelism > max_argon2_parallelism) {
      return usage_error{
          "Argon2 parameters out of range: --argon2-memory 8..1048576 KiB (at "
          "least 8 per lane), --argon2-iterations 1..64, --argon2-parallelism "
          "1..16"};
    }
    // Zero would turn everyone away (or drop each client at its first record): a mistake.
    for (const char* o :
         {"max-connections", "max-unauthenticated", "max-unauthenticated-per-address"}) {
      if (vm[o].as<std::size_t>() < 1)
        return usage_error{std::string("--") + o + " must be at least 1"};
    }
    if (m.config.max_pending_auth < 1) return usage_error{"--max-pending-auth must be at least 1"};
    if (m.config.max_pending_auth_per_address < 1) {
      return usage_error{"--max-pending-auth-per-address must be at least 1"};
    }
    if (m.config.max_send_queue < min_send_queue) {
      return usage_error{"--max-send-queue must be at least 65536 bytes (one record)"};
    }
    if (m.config.workers > server::relay_config::max_workers) {
      return usage_error{"--workers must be 0..64 (0: one per CPU)"};
    }
    return m;
  }
  for (const char* o : {"listen",
                        "db",
                        "key",
                        "new-key",
                        "argon2-memory",
                        "argon2-iterations",
                        "argon2-parallelism",
                        "workers",
                        "max-pending-auth",
                        "max-pending-auth-per-address",
                        "auth-timeout",
                        "ping-interval",
                        "idle-timeout",
                        "max-connections",
                        "max-unauthenticated",
                        "max-unauthenticated-per-address",
                        "max-signups-per-address",
                        "max-send-queue",
                        "message-rate",
                        "message-burst",
                        "roster-interval",
                        "audit-log",
                        "cipher"}) {
    if (vm.count(o) && !vm[o].defaulted()) {
      return usage_error{std::string("--") + o + " is a relay option (use it with -s)"};
    }
  }
  client_mode m;
  m.level = level;
  m.config.host = vm["host"].as<std::string>();
  // "[::1]", as the relay prints its IPv6 address: the brackets only set it off from a port.
  if (m.config.host.size() > 2 && m.config.host.front() == '[' && m.config.host.back() == ']')
    m.config.host = m.config.host.substr(1, m.config.host.size() - 2);
  // An empty host would connect to the local machine and pin a relay named ":PORT".
  if (m.config.host.empty() || m.config.host.find_first_of(" \t\n") != std::string::npos) {
    return usage_error{"--host takes a host name or an address (not empty, no spaces)"};
  }
  m.config.port = port;
  if (vm.count("home")) m.config.home = vm["home"].as<std::string>();
  if (vm.count("relay-key")) {
    // Checked here, not after connecting: a mistyped fingerprint is a usage error. Spaces and
    // colons are allowed (copied from a grouped display), case is not significant.
    const std::string key = crypto::typed_fingerprint(vm["relay-key"].as<std::string>());
    if (!crypto::is_fingerprint(key)) {
      return usage_error{
          "--relay-key takes the relay's fingerprint: 64 hex digits (spaces and colons are "
          "ignored), as the relay prints it at start and on its console's `key` command"};
    }
    m.config.relay_key = key;
  }
  if (vm.count("user")) {
    // Checked here, before anything is connected to (a review: a bad name was said only
    // once the relay answered, and a relay that was down made it "cannot reach the relay").
    m.config.user = client::typed_name(vm["user"].as<std::string>());
    if (!proto::valid_name(*m.config.user)) {
      return usage_error{"--user: invalid user name: names are " + std::string(proto::name_rules)};
    }
  }
  if (vm.count("password-file")) m.config.password_file = vm["password-file"].as<std::string>();
  m.config.sign_up = vm.count("sign-up") != 0;
  m.config.json = vm.count("json") != 0;
  const unsigned relay_timeout = vm["relay-timeout"].as<unsigned>();
  if (relay_timeout < 2 || relay_timeout > 3600) {
    return usage_error{"--relay-timeout takes 2 to 3600 seconds"};
  }
  m.config.relay_timeout = std::chrono::seconds(relay_timeout);
  return m;
}

int run(const std::vector<std::string>& args) {
  auto p = parse_options(args);
  if (auto* t = std::get_if<show_text>(&p)) {
    std::fputs(t->text.c_str(), stdout);
    return 0;
  }
  if (auto* e = std::get_if<usage_error>(&p)) {
    std::fprintf(stderr, "node: %s\n", e->message.c_str());
    return 1;
  }
  if (auto* r = std::get_if<relay_mode>(&p)) {
    log::set_level(r->level);
    return server::run_relay(r->config);
  }
  auto& c = std::get<client_mode>(p);
  log::set_level(c.level);
  return client::run_client(c.config);
}

}  // namespace relay::cli
