// The relay holds one session per connection, ten thousand of them idle in the benchmark:
// their size is a figure of merit (docs/benchmarks.md, PERF-7), guarded here.
#include <gtest/gtest.h>

#include "relay/server/session.hpp"

namespace relay::server {
namespace {

TEST(SessionFootprint, AConnectionsStateStaysSmall) {
  // 512 bytes before the transport keys became one pointer each, the record reader packed
  // its limit and error, the ping and accept times were folded into other fields, the
  // buffer being written moved into the write's handler, the peer's address is kept as
  // bytes, not text, and the batch writer keeps no entry count; 408 before the rate bucket
  // took last_rx_ as its clock and the flags shared one word. 392 before the session became
  // its own entry in the registry of who is online: its hook and array index (16 bytes with
  // padding) replaced a 48-byte map node per signed-in user (online_registry.hpp). 424 since
  // each transport key carries an id for AESGCM's expanded-key cache (noise_primitives.hpp).
  EXPECT_LE(sizeof(session), 424u);
}

}  // namespace
}  // namespace relay::server
