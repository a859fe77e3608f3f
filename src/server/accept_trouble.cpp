// Accept failures logged once a streak, summed up once a minute and at its end.
#include "relay/server/accept_trouble.hpp"

#include <cstdio>

namespace relay::server {
namespace {

std::string seconds(accept_trouble::clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

std::string counted(std::uint64_t failed, std::uint64_t closed) {
  return "accept failed " + std::to_string(failed) + (failed == 1 ? " time, " : " times, ") +
         std::to_string(closed) + (closed == 1 ? " connection" : " connections") +
         " closed at once";
}

}  // namespace

std::optional<std::string> accept_trouble::failed(std::string_view why, bool closed,
                                                  clock::time_point now) {
  ++failed_in_all_;
  if (closed) ++closed_in_all_;
  if (!since_) {
    since_ = last_line_ = now;
    why_ = why;
    failed_ = closed_ = 0;
    return "cannot accept connections: " + why_ +
           (closed ? "; until descriptors are free, new connections are closed at once "
                     "(clients are told no, not kept waiting)"
                   : "; retrying every 0.1 s") +
           ". Lines like this are summed up once a minute while it lasts";
  }
  ++failed_;
  if (closed) ++closed_;
  if (why != why_ || now - last_line_ >= every_) {
    std::string line = "still cannot accept connections (" + why_ +
                       "): " + counted(failed_, closed_) + " in the last " +
                       seconds(now - last_line_);
    if (why != why_) line += "; now: " + std::string(why);
    why_ = why;
    last_line_ = now;
    failed_ = closed_ = 0;
    return line;
  }
  return std::nullopt;
}

std::optional<std::string> accept_trouble::accepted(clock::time_point now) {
  if (!since_) return std::nullopt;
  std::string line = "accepting connections again after " + seconds(now - *since_) + " (" + why_ +
                     "): " + counted(failed_in_all_, closed_in_all_);
  since_.reset();
  failed_in_all_ = closed_in_all_ = failed_ = closed_ = 0;
  return line;
}

}  // namespace relay::server
