// Command line of `node` (Boost.Program_options): relay mode with -s, client otherwise.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "relay/client/app.hpp"
#include "relay/server/config.hpp"
#include "relay/util/log.hpp"

namespace relay::cli {

struct show_text {
  std::string text;  ///< --help or --version output
};
struct usage_error {
  std::string message;
};
struct relay_mode {
  server::relay_config config;
  log::level level = log::level::info;
};
struct client_mode {
  client::client_config config;
  log::level level = log::level::warn;
};

using parsed = std::variant<show_text, usage_error, relay_mode, client_mode>;

/// Parses argv (argv[0] is the program name).
parsed parse_options(const std::vector<std::string>& args);

/// Runs `node` with these arguments; returns the exit code.
int run(const std::vector<std::string>& args);

}  // namespace relay::cli
