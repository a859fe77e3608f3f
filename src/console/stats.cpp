// The `stats` report text.
#include "relay/console/stats.hpp"

#include <algorithm>
#include <cstdio>

#include "relay/console/duration.hpp"

namespace relay::console {

namespace {

// Labels fill 21 columns, so every value starts in the same column.
void line(std::string& out, const char* label, const std::string& value) {
  std::string l = label;
  l.resize(std::max<std::size_t>(l.size() + 1, 21), ' ');
  out += l + value + "\n";
}

std::string rate(double r) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", r);
  return buf;
}

}  // namespace

std::string format_stats(const relay_stats& s) {
  std::string out;
  const auto up = s.uptime.count();
  line(out, "uptime", format_duration(s.uptime));
  line(out, "connections now", std::to_string(s.connections_now));
  line(out, "connections total", std::to_string(s.connections_total));
  line(out, "connections refused", std::to_string(s.refused));
  line(out, "not signed in now", std::to_string(s.unauthenticated_now));
  line(out, "signed in now", std::to_string(s.signed_in_now));
  line(out, "sign-ins", std::to_string(s.sign_ins));
  line(out, "sign-in failures", std::to_string(s.sign_in_failures));
  line(out, "banned sign-ins", std::to_string(s.banned_sign_ins));
  line(out, "sign-ins held back", std::to_string(s.held_sign_ins));
  line(out, "messages relayed", std::to_string(s.messages));
  line(out, "bytes relayed", std::to_string(s.bytes));
  line(out, "database writes",
       std::to_string(s.db_writes) + " in " + std::to_string(s.db_commits) +
           (s.db_commits == 1 ? " commit" : " commits") +
           (s.db_write_failures > 0 ? ", " + std::to_string(s.db_write_failures) + " failed"
                                    : std::string()));
  line(out, "password hashing",
       std::to_string(s.hashes_in_pool) + " waiting or running on " +
           std::to_string(s.hashing_threads) + (s.hashing_threads == 1 ? " thread" : " threads"));
  line(out, "messages/s (10 s)", rate(s.rate_recent));
  line(out, "messages/s (avg)",
       rate(up > 0 ? static_cast<double>(s.messages) / static_cast<double>(up) : 0.0));
  return out;
}

}  // namespace relay::console
