// /proc parsing for the relay's CPU and memory figures.
#include "relay/bench/proc_stats.hpp"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace relay::bench {
namespace {

std::optional<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::uint64_t> number(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p == s.data()) return std::nullopt;
  return v;
}

// The value of "Key:   1234 kB" in a status text.
std::optional<std::uint64_t> status_field(std::string_view text, std::string_view key) {
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(at, eol - at);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      std::string_view v = line.substr(key.size() + 1);
      v.remove_prefix(std::min(v.find_first_not_of(" \t"), v.size()));
      return number(v);
    }
    at = eol + 1;
  }
  return std::nullopt;
}

}  // namespace

std::optional<cpu_times> parse_proc_stat(std::string_view text, long ticks_per_second) {
  const std::size_t close = text.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::string_view rest = text.substr(close + 1);
  // Field 3 (state) is the first after ')'; utime is field 14, stime 15.
  std::uint64_t ut = 0, st = 0;
  int field = 2;
  std::size_t at = 0;
  bool got_u = false, got_s = false;
  while (at < rest.size()) {
    at = rest.find_first_not_of(" \n", at);
    if (at == std::string_view::npos) break;
    std::size_t end = rest.find_first_of(" \n", at);
    if (end == std::string_view::npos) end = rest.size();
    ++field;
    if (field == 14 || field == 15) {
      auto v = number(rest.substr(at, end - at));
      if (!v) return std::nullopt;
      (field == 14 ? ut : st) = *v;
      (field == 14 ? got_u : got_s) = true;
      if (field == 15) break;
    }
    at = end;
  }
  if (!got_u || !got_s) return std::nullopt;
  const double tps = static_cast<double>(ticks_per_second);
  return cpu_times{static_cast<double>(ut) / tps, static_cast<double>(st) / tps};
}

std::optional<mem_status> parse_proc_status(std::string_view text) {
  auto rss = status_field(text, "VmRSS");
  auto hwm = status_field(text, "VmHWM");
  if (!rss || !hwm) return std::nullopt;
  return mem_status{*rss, *hwm};
}

std::optional<double> parse_schedstat(std::string_view text) {
  const std::size_t end = text.find_first_of(" \n");
  auto ns = number(text.substr(0, end));
  if (!ns) return std::nullopt;
  return static_cast<double>(*ns) / 1e9;
}

std::optional<cpu_times> read_cpu(int pid) {
  auto t = slurp("/proc/" + std::to_string(pid) + "/stat");
  if (!t) return std::nullopt;
  return parse_proc_stat(*t, ::sysconf(_SC_CLK_TCK));
}

std::optional<mem_status> read_mem(int pid) {
  auto t = slurp("/proc/" + std::to_string(pid) + "/status");
  if (!t) return std::nullopt;
  return parse_proc_status(*t);
}

std::vector<thread_cpu> read_threads(int pid) {
  std::vector<thread_cpu> out;
  std::error_code ec;
  const std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string tid = e.path().filename().string();
    auto ss = slurp((e.path() / "schedstat").string());
    auto comm = slurp((e.path() / "comm").string());
    auto id = number(tid);
    if (!ss || !comm || !id) continue;
    auto sec = parse_schedstat(*ss);
    if (!sec) continue;
    if (!comm->empty() && comm->back() == '\n') comm->pop_back();
    out.push_back({static_cast<int>(*id), std::move(*comm), *sec});
  }
  return out;
}

}  // namespace relay::bench
