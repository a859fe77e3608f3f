// Runs one benchmark (node-bench's modes) and returns its report as a JSON object; the
// human-readable text is made from the same object.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "relay/bench/options.hpp"

namespace relay::bench {

/// Runs the benchmark `c` describes; report["ok"] is false when anything was lost,
/// duplicated, corrupted, refused or disconnected.
nlohmann::json run(const bench_config& c);

/// Hashes with the relay's default Argon2id parameters on `threads` threads for `seconds`;
/// returns hashes per second.
double measure_hash_rate(unsigned threads, double seconds);

/// The report as text for people.
std::string human_report(const nlohmann::json& r);

}  // namespace relay::bench
