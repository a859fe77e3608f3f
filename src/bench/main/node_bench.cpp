// node-bench: the load tool of issue 5 (see docs/benchmarks.md). Exit 0 only if every
// message arrived once and intact; 1 otherwise; 2 on a usage error.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "relay/bench/options.hpp"
#include "relay/bench/runner.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = relay::bench::parse_options(args);
  if (auto* t = std::get_if<relay::bench::show_text>(&parsed)) {
    std::fputs(t->text.c_str(), t->exit_code ? stderr : stdout);
    return t->exit_code;
  }
  const auto& cfg = std::get<relay::bench::bench_config>(parsed);
  try {
    const auto report = relay::bench::run(cfg);
    const std::string text = cfg.json ? report.dump() + "\n" : relay::bench::human_report(report);
    std::fputs(text.c_str(), stdout);
    return report.value("ok", false) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "node-bench: %s\n", e.what());
    return 1;
  }
}
