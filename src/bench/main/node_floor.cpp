// node-floor: the copy-only relay that relaychat's CPU per message is measured against
// (scripts/bench, docs/benchmarks.md). A benchmark tool: no authentication, no encryption.
#include <boost/program_options.hpp>
#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "relay/bench/floor_relay.hpp"

namespace po = boost::program_options;

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  unsigned port = 0;
  po::options_description opts(
      "node-floor: a copy-only relay speaking the IRC subset of node-bench --irc (a benchmark "
      "floor: no authentication, no encryption)\nOptions");
  opts.add_options()("help,h", "show this help")("host", po::value(&host)->default_value(host),
                                                 "address to listen on")(
      "port,p", po::value(&port)->default_value(port), "port to listen on (0: any free port)");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts << "\n";
      return 0;
    }
    po::notify(vm);
    if (port > 65535) throw std::invalid_argument("--port must be at most 65535");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "node-floor: %s (see --help)\n", e.what());
    return 2;
  }
  try {
    relay::net::io_context io(1);
    relay::bench::floor_relay floor(io, relay::tcp::endpoint(relay::net::ip::make_address(host),
                                                             static_cast<std::uint16_t>(port)));
    relay::net::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
    std::printf("node-floor listening on %s:%u\n", host.c_str(), floor.port());
    std::fflush(stdout);
    io.run();
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "node-floor: %s\n", e.what());
    return 1;
  }
}
