// node-bench's text report, made from the JSON report so both always agree.
#include <cstdio>
#include <string>

#include "relay/bench/runner.hpp"

namespace relay::bench {
namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}
double num(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : 0;
}
std::string latency_line(const nlohmann::json& l) {
  return "p50 " + fmt("%.1f", num(l, "p50_us")) + " us, p99 " + fmt("%.1f", num(l, "p99_us")) +
         " us, p99.9 " + fmt("%.1f", num(l, "p999_us")) + " us, max " +
         fmt("%.1f", num(l, "max_us")) + " us (" + fmt("%.0f", num(l, "count")) + " messages)";
}

}  // namespace

std::string human_report(const nlohmann::json& r) {
  std::string o;
  const std::string mode = r.value("mode", "");
  o += "node-bench " + mode + " against " + r.value("system", "") + "\n";
  if (mode == "hash") {
    o += "  Argon2id (relay defaults) on " + fmt("%.0f", num(r, "hash_threads")) +
         " threads: " + fmt("%.1f", num(r, "hashes_per_s")) + " hashes/s\n";
    return o;
  }
  o += "  clients         " + fmt("%.0f", num(r, "clients")) + " signed in " +
       fmt("%.0f", num(r, "signed_in")) + " in " + fmt("%.2f", num(r, "signin_s")) + " s (" +
       fmt("%.0f", num(r, "signins_per_s")) + " sign-ins/s)\n";
  o += "  roster traffic  " + fmt("%.0f", num(r, "presence_frames")) + " presence frames, " +
       fmt("%.0f", num(r, "presence_bytes")) + " bytes during the joins\n";
  if (r.contains("transport")) {
    const auto& t = r["transport"];
    const double sm = num(t, "sent_messages"), rm = num(t, "received_messages");
    o += std::string("  batches         ") + (r.value("batch", false) ? "on" : "off (--no-batch)") +
         ": sent " + fmt("%.0f", num(t, "sent_frames")) + " frames in " + fmt("%.0f", sm) +
         " transport messages (" + fmt("%.2f", sm > 0 ? num(t, "sent_frames") / sm : 0) +
         " per message), received " + fmt("%.0f", num(t, "received_frames")) + " in " +
         fmt("%.0f", rm) + " (" + fmt("%.2f", rm > 0 ? num(t, "received_frames") / rm : 0) +
         " per message, " + fmt("%.0f", num(t, "received_batches")) + " batches)\n";
    if (r.value("padding", false)) o += "  padding         on (--padding): both ways\n";
  }
  if (r.contains("delivered")) {
    o += "  size/window     " + fmt("%.0f", num(r, "size")) + " B, window " +
         fmt("%.0f", num(r, "window")) +
         (r.contains("rate") ? ", rate " + fmt("%.0f", num(r, "rate")) + " msg/s" : "") + "\n";
    o += "  delivered       " + fmt("%.0f", num(r, "delivered")) + " in " +
         fmt("%.2f", num(r, "measured_s")) + " s: " + fmt("%.0f", num(r, "msgs_per_s")) +
         " msg/s, " + fmt("%.2f", num(r, "mb_per_s")) + " MB/s\n";
    o += "  latency         " + latency_line(r["latency"]) + "\n";
    o += "  integrity       lost " + fmt("%.0f", num(r, "lost")) + ", duplicated " +
         fmt("%.0f", num(r, "duplicated")) + ", corrupted " + fmt("%.0f", num(r, "corrupted")) +
         ", relay errors " + fmt("%.0f", num(r, "relay_errors")) + ", disconnects " +
         fmt("%.0f", num(r, "disconnects")) + " (of " + fmt("%.0f", num(r, "sent_total")) +
         " sent)\n";
  }
  if (r.contains("storm")) {
    const auto& s = r["storm"];
    o += "  storm           " + fmt("%.0f", num(s, "signed_in")) + " sign-ins in " +
         fmt("%.2f", num(s, "storm_s")) + " s: " + fmt("%.1f", num(s, "signins_per_s")) +
         " sign-ins/s";
    if (s.contains("pool_hashes_per_s")) {
      o += " = " + fmt("%.0f", num(s, "pct_of_pool")) + "% of " +
           fmt("%.1f", num(s, "pool_hashes_per_s")) + " hashes/s";
      if (s.contains("pool_hashes_per_s_after")) {
        o += " (mean of " + fmt("%.1f", num(s, "pool_hashes_per_s_before")) + " before and " +
             fmt("%.1f", num(s, "pool_hashes_per_s_after")) + " after the storm)";
      }
      if (s.contains("pool_cpus") && !s["pool_cpus"].empty()) {
        std::string cpus;
        for (const auto& c : s["pool_cpus"]) cpus += (cpus.empty() ? "" : ",") + c.dump();
        o += " (measured on the relay's CPU " + cpus;
        if (s.contains("pool_threads"))
          o += ", " + fmt("%.0f", num(s, "pool_threads")) + " thread(s)";
        o += ")";
      }
    }
    if (s.contains("relay_threads_storm")) {
      const auto line = [&](const nlohmann::json& t) {
        return "event loop " + fmt("%.1f", num(t, "event_loop_pct")) + "%, hashing " +
               fmt("%.1f", num(t, "hashing_pct")) + "%, database " +
               fmt("%.1f", num(t, "database_pct")) + "%, other " +
               fmt("%.1f", num(t, "other_pct")) + "% of a core";
      };
      o += "\n  relay, baseline " + line(s["relay_threads_baseline"]);
      o += "\n  relay, storm    " + line(s["relay_threads_storm"]);
      if (s.contains("pct_of_pool_for_its_cpu")) {
        o += "\n  per hashing CPU " + fmt("%.0f", num(s, "pct_of_pool_for_its_cpu")) +
             "% of the pool's rate on the CPU time its threads had";
      }
    }
    o += "\n  chat, baseline  " + latency_line(s["baseline_latency"]) + "\n";
    o += "  chat, storm     " + latency_line(s["storm_latency"]) + "\n";
    o += "  p99 storm/base  " + fmt("%.2f", num(s, "p99_ratio")) + "x\n";
  }
  if (r.contains("relay")) {
    const auto& rel = r["relay"];
    o += "  server pid " + fmt("%.0f", num(rel, "pid")) + ":";
    if (rel.contains("cpu_s")) {
      o += " CPU " + fmt("%.2f", num(rel, "cpu_s")) + " s (" + fmt("%.0f", num(rel, "cpu_pct")) +
           "%), " + fmt("%.3f", num(rel, "cpu_us_per_msg")) + " us/message;";
    }
    o += " RSS " + fmt("%.0f", num(rel, "rss_kib")) + " KiB, peak " +
         fmt("%.0f", num(rel, "hwm_kib")) + " KiB";
    if (rel.contains("rss_per_1000_clients_kib")) {
      o += ", before " + fmt("%.0f", num(rel, "rss_before_kib")) + " KiB, " +
           fmt("%.0f", num(rel, "rss_per_1000_clients_kib")) + " KiB per 1000 clients";
    }
    o += "\n";
  }
  for (const auto& p : r["problems"]) o += "  PROBLEM: " + p.get<std::string>() + "\n";
  o += r.value("ok", false) ? "  result: ok\n" : "  result: FAILED\n";
  return o;
}

}  // namespace relay::bench
