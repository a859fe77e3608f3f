#include "relay/cli/options.hpp"

#include <gtest/gtest.h>

namespace relay::cli {
namespace {

parsed parse(std::vector<std::string> a) {
  a.insert(a.begin(), "node");
  return parse_options(a);
}

TEST(Options, RelayDefaults) {
  auto p = parse({"-s"});
  auto& r = std::get<relay_mode>(p);
  EXPECT_EQ(r.config.listen, "127.0.0.1");
  EXPECT_EQ(r.config.port, 20001);
  EXPECT_EQ(r.config.db_path, "relay.db");
  EXPECT_EQ(r.config.argon2.m_cost_kib, 19456u);
  EXPECT_EQ(r.config.argon2.t_cost, 2u);
  EXPECT_EQ(r.config.argon2.parallelism, 1u);
  EXPECT_EQ(r.level, log::level::info);
}

TEST(Options, RelayOptions) {
  auto p = parse({"-s", "--listen", "0.0.0.0", "--port", "4000", "--db", "/tmp/x.db", "--log-level",
                  "debug", "--argon2-memory", "65536", "--workers", "4"});
  auto& r = std::get<relay_mode>(p);
  EXPECT_EQ(r.config.listen, "0.0.0.0");
  EXPECT_EQ(r.config.port, 4000);
  EXPECT_EQ(r.config.db_path, "/tmp/x.db");
  EXPECT_EQ(r.level, log::level::debug);
  EXPECT_EQ(r.config.argon2.m_cost_kib, 65536u);
  EXPECT_EQ(r.config.workers, 4u);
}

TEST(Options, WorkersDefaultToOnePerCpu) {
  // 0 is the default: the relay starts one hashing thread per CPU it may run on.
  EXPECT_EQ(std::get<relay_mode>(parse({"-s"})).config.workers, 0u);
  EXPECT_EQ(std::get<relay_mode>(parse({"-s", "--workers", "0"})).config.workers, 0u);
  EXPECT_EQ(std::get<relay_mode>(parse({"-s", "--workers", "64"})).config.workers, 64u);
}

TEST(Options, Cipher) {
  EXPECT_TRUE(std::get<relay_mode>(parse({"-s"})).config.aesgcm);  // auto
  EXPECT_TRUE(std::get<relay_mode>(parse({"-s", "--cipher", "auto"})).config.aesgcm);
  EXPECT_FALSE(std::get<relay_mode>(parse({"-s", "--cipher", "chachapoly"})).config.aesgcm);
  EXPECT_TRUE(std::holds_alternative<usage_error>(parse({"-s", "--cipher", "rot13"})));
  EXPECT_TRUE(std::holds_alternative<usage_error>(parse({"--cipher", "chachapoly"})));  // client
  EXPECT_NE(std::get<show_text>(parse({"--help"})).text.find("--cipher"), std::string::npos);
}

TEST(Options, AuditLog) {
  EXPECT_EQ(std::get<relay_mode>(parse({"-s"})).config.audit_log_path, "");  // beside the db
  EXPECT_EQ(std::get<relay_mode>(parse({"-s", "--audit-log", "/var/log/relay-audit.log"}))
                .config.audit_log_path,
            "/var/log/relay-audit.log");
  EXPECT_TRUE(std::holds_alternative<usage_error>(parse({"--audit-log", "x.log"})));
  EXPECT_NE(std::get<show_text>(parse({"--help"})).text.find("--audit-log"), std::string::npos);
}

TEST(Options, ClientOptions) {
  auto p = parse({"--host", "chat.example", "--port", "4000", "--home", "/h", "--relay-key",
                  std::string(64, 'a')});
  auto& c = std::get<client_mode>(p);
  EXPECT_EQ(c.config.host, "chat.example");
  EXPECT_EQ(c.config.port, 4000);
  // From a black-box review: the relay prints "[::1]:P", and --host '[::1]' was not found.
  EXPECT_EQ(std::get<client_mode>(parse({"--host", "[::1]"})).config.host, "::1");
  EXPECT_EQ(std::get<client_mode>(parse({"--host", "::1"})).config.host, "::1");
  // From a black-box review: an empty host connected, and pinned a relay named ":PORT".
  for (const char* bad : {"", "a b", " chat.example"}) {
    const auto refused = parse({"--host", bad});
    ASSERT_TRUE(std::holds_alternative<usage_error>(refused)) << bad;
    EXPECT_NE(std::get<usage_error>(refused).message.find("--host takes"), std::string::npos);
  }
  EXPECT_EQ(c.config.home, "/h");
  EXPECT_EQ(*c.config.relay_key, std::string(64, 'a'));
  // A review: a bad --user was said only once the relay answered (exit 3 with it down).
  EXPECT_EQ(*std::get<client_mode>(parse({"--user", " Bob "})).config.user, "bob");
  const std::string too_long(33, 'a');
  for (const std::string& bad :
       {std::string("Bad!Name"), std::string(), std::string("-x"), too_long}) {
    const auto refused = parse({"--user", bad});
    ASSERT_TRUE(std::holds_alternative<usage_error>(refused)) << bad;
    EXPECT_NE(std::get<usage_error>(refused).message.find("--user: invalid user name"),
              std::string::npos);
  }
  // Grouped, upper case, with colons: the same fingerprint.
  std::string grouped;
  for (int i = 0; i < 16; ++i) grouped += std::string(i == 0 ? "" : (i % 2 ? " " : ":")) + "ABCD";
  EXPECT_EQ(*std::get<client_mode>(parse({"--relay-key", grouped})).config.relay_key, [] {
    std::string s;
    for (int i = 0; i < 16; ++i) s += "abcd";
    return s;
  }());
}

TEST(Options, Errors) {
  for (auto args :
       std::vector<std::vector<std::string>>{{"--bogus"},
                                             {"--port", "99999"},
                                             {"--port", "abc"},
                                             {"-s", "--host", "x"},
                                             {"--db", "x.db"},
                                             {"-s", "--log-level", "loud"},
                                             {"-s", "--workers", "65"},
                                             {"-s", "--argon2-iterations", "0"},
                                             {"-s", "--argon2-iterations", "65"},
                                             {"-s", "--argon2-memory", "4194304"},
                                             {"-s", "--argon2-parallelism", "17"},
                                             {"-s", "--max-connections", "0"},
                                             {"-s", "--max-unauthenticated", "0"},
                                             {"-s", "--max-unauthenticated-per-address", "0"},
                                             {"-s", "--max-pending-auth", "0"},
                                             {"-s", "--max-pending-auth-per-address", "0"},
                                             {"-s", "--max-send-queue", "0"},
                                             {"-s", "--max-send-queue", "65535"},
                                             {"--port", "0"},
                                             {"-s", "--db", ""},
                                             {"-s", "--db", ":memory:"},
                                             {"-s", "--db", "file:x.db?mode=memory"},
                                             {"-s", "--key", ""},
                                             {"-s", "--audit-log", ""},
                                             {"--relay-key", "abc"},
                                             {"--relay-key", std::string(64, 'z')},
                                             {"--relay-key", std::string(65, 'a')}}) {
    EXPECT_TRUE(std::holds_alternative<usage_error>(parse(args))) << args[0];
  }
}

// "nan", "inf" and huge numbers parse as doubles; each must be refused with a clear message
// instead of reaching an integer cast (undefined) or a rate limiter that NaN would switch off.
TEST(Options, RelayNumbersThatAreNotNumbersAreRefused) {
  for (auto [option, value] :
       std::vector<std::pair<std::string, std::string>>{{"--roster-interval", "nan"},
                                                        {"--roster-interval", "-1"},
                                                        {"--roster-interval", "10001"},
                                                        {"--message-rate", "nan"},
                                                        {"--message-rate", "0"},
                                                        {"--message-rate", "inf"},
                                                        {"--message-rate", "0.0001"},
                                                        {"--message-burst", "nan"},
                                                        {"--message-burst", "0.5"},
                                                        {"--auth-timeout", "nan"},
                                                        {"--auth-timeout", "1e300"},
                                                        {"--auth-timeout", "0"},
                                                        {"--ping-interval", "inf"},
                                                        {"--idle-timeout", "nan"},
                                                        {"--idle-timeout", "-5"}}) {
    auto p = parse({"-s", option, value});
    ASSERT_TRUE(std::holds_alternative<usage_error>(p)) << option << " " << value;
    EXPECT_NE(std::get<usage_error>(p).message.find(option), std::string::npos)
        << option << " " << value << ": " << std::get<usage_error>(p).message;
  }
  // The message names the range that is refused, not a looser one.
  auto slow = parse({"-s", "--message-rate", "0.0001"});
  EXPECT_NE(std::get<usage_error>(slow).message.find("0.001..1e12"), std::string::npos);
  auto burst = parse({"-s", "--message-burst", "0"});
  EXPECT_EQ(std::get<usage_error>(burst).message.find("--message-rate"), std::string::npos)
      << std::get<usage_error>(burst).message;
  // Still accepted: what the benchmark and the tests use.
  auto ok = parse({"-s", "--message-rate", "1e9", "--message-burst", "1e9", "--auth-timeout", "0.5",
                   "--roster-interval", "0"});
  ASSERT_TRUE(std::holds_alternative<relay_mode>(ok));
  EXPECT_EQ(std::get<relay_mode>(ok).config.auth_timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(std::get<relay_mode>(ok).config.max_pending_auth_per_address, 4u);  // the default
  const auto share = parse({"-s", "--max-pending-auth-per-address", "16"});
  ASSERT_TRUE(std::holds_alternative<relay_mode>(share));
  EXPECT_EQ(std::get<relay_mode>(share).config.max_pending_auth_per_address, 16u);
  EXPECT_EQ(std::get<relay_mode>(ok).config.roster_interval, std::chrono::milliseconds(0));
}

// Boost reads "-1" for an unsigned option as its largest value, and lets words that are no
// option pass: found by a black-box operator review (`-p -1` listened on 65535, `node -s
// relay.db` started a fresh relay on the default database).
TEST(Options, NegativeCountsAndStrayWordsAreRefused) {
  for (const char* o :
       {"--port", "--max-connections", "--max-unauthenticated", "--max-unauthenticated-per-address",
        "--max-pending-auth", "--max-pending-auth-per-address", "--max-send-queue",
        "--max-signups-per-address", "--argon2-iterations", "--argon2-memory",
        "--argon2-parallelism", "--workers"}) {
    auto p = parse({"-s", o, "-1"});
    ASSERT_TRUE(std::holds_alternative<usage_error>(p)) << o;
    EXPECT_NE(std::get<usage_error>(p).message.find("cannot be negative"), std::string::npos)
        << o << ": " << std::get<usage_error>(p).message;
  }
  EXPECT_TRUE(std::holds_alternative<usage_error>(parse({"--relay-timeout", "-5"})));
  for (auto args : std::vector<std::vector<std::string>>{
           {"-s", "relay.db"}, {"-s", "--db", "a.db", "extra"}, {"alice"}}) {
    auto p = parse(args);
    ASSERT_TRUE(std::holds_alternative<usage_error>(p)) << args.back();
    EXPECT_NE(std::get<usage_error>(p).message.find("unexpected argument '" + args.back() + "'"),
              std::string::npos)
        << std::get<usage_error>(p).message;
  }
  // Still accepted: the relay on any free port (tests and scripts read it from the banner),
  // and the largest values.
  EXPECT_TRUE(std::holds_alternative<relay_mode>(parse({"-s", "--port", "0"})));
  EXPECT_TRUE(std::holds_alternative<relay_mode>(
      parse({"-s", "--argon2-memory", "1048576", "--argon2-iterations", "64",
             "--argon2-parallelism", "16", "--max-send-queue", "65536"})));
}

// From a black-box review: `node --host --home DIR` took "--home" as the host and then
// called DIR an unexpected argument. An option that would take the next option as its value
// says it lacks one; written with '=', such a value is still taken.
TEST(Options, AnOptionFollowedByAnotherSaysItLacksAValue) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--host", "--home", "dir"}, {"--user", "--json"}, {"-s", "--db", "--port", "1"}}) {
    auto p = parse(args);
    ASSERT_TRUE(std::holds_alternative<usage_error>(p)) << args[args.size() > 3 ? 1 : 0];
    EXPECT_NE(std::get<usage_error>(p).message.find(args[args.size() > 3 ? 1 : 0] +
                                                    " needs a value (it would take '" +
                                                    args[args.size() > 3 ? 2 : 1] + "'"),
              std::string::npos)
        << std::get<usage_error>(p).message;
  }
  auto p = parse({"--home=--odd-dir-name"});
  ASSERT_TRUE(std::holds_alternative<client_mode>(p));
}

TEST(Options, ClientScriptingOptions) {
  auto c = std::get<client_mode>(
      parse({"--user", "bot", "--password-file", "/run/pw", "--sign-up", "--json"}));
  EXPECT_EQ(*c.config.user, "bot");
  EXPECT_EQ(*c.config.password_file, "/run/pw");
  EXPECT_TRUE(c.config.sign_up);
  EXPECT_TRUE(c.config.json);
  auto d = std::get<client_mode>(parse({}));
  EXPECT_FALSE(d.config.user);
  EXPECT_FALSE(d.config.password_file);
  EXPECT_FALSE(d.config.sign_up);
  EXPECT_FALSE(d.config.json);
  for (const char* o : {"--user", "--password-file"}) {
    EXPECT_TRUE(std::holds_alternative<usage_error>(parse({"-s", o, "x"}))) << o;
  }
  for (const char* o : {"--sign-up", "--json"}) {
    EXPECT_TRUE(std::holds_alternative<usage_error>(parse({"-s", o}))) << o;
  }
}

TEST(Options, PasswordOnTheCommandLineIsRefusedWithoutEchoingIt) {
  // "--password" would otherwise be taken as an abbreviation of --password-file.
  for (auto args :
       std::vector<std::vector<std::string>>{{"--password", "hunter2-secret"},
                                             {"--password=hunter2-secret"},
                                             {"--pass", "hunter2-secret"},
                                             {"--user", "a", "--passw=hunter2-secret"}}) {
    auto p = parse(args);
    ASSERT_TRUE(std::holds_alternative<usage_error>(p)) << args[0];
    const auto& m = std::get<usage_error>(p).message;
    EXPECT_EQ(m.find("hunter2"), std::string::npos) << m;
    EXPECT_NE(m.find("RELAYCHAT_PASSWORD"), std::string::npos) << m;
  }
}

TEST(Options, HelpAndVersion) {
  auto h = std::get<show_text>(parse({"--help"}));
  for (const char* o : {"--listen", "--port", "--db", "--log-level", "--host", "--home",
                        "--relay-key", "exit codes", "examples", "--user", "--password-file",
                        "--sign-up", "--json", "RELAYCHAT_PASSWORD", "NO_COLOR",
                        "printf 'bob:hi\\n' | RELAYCHAT_PASSWORD=... node --user alice"}) {
    EXPECT_NE(h.text.find(o), std::string::npos) << o;
  }
  EXPECT_NE(std::get<show_text>(parse({"--version"})).text.find("relaychat"), std::string::npos);
}

}  // namespace
}  // namespace relay::cli
