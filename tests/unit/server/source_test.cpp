// What a peer's address counts against for per-address limits and penalties.
#include <gtest/gtest.h>

#include "relay/server/session.hpp"

namespace relay::server {
namespace {

std::string source(const char* text) { return source_of(net::ip::make_address(text)); }

TEST(Source, AnIpv4AddressIsItsOwnSource) {
  EXPECT_EQ(source("203.0.113.9"), "203.0.113.9");
  EXPECT_NE(source("203.0.113.9"), source("203.0.113.10"));
  EXPECT_EQ(source("::ffff:203.0.113.9"), "203.0.113.9");  // from a dual-stack socket
}

// One host or one customer's LAN usually holds a whole /64: counting single addresses
// would let it open as many connections, and guess as many passwords, as it likes.
TEST(Source, IPv6AddressesCountByTheirSlash64) {
  EXPECT_EQ(source("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(source("2001:db8:1:2:ffff:ffff:ffff:ffff"), source("2001:db8:1:2::1"));
  EXPECT_NE(source("2001:db8:1:2::1"), source("2001:db8:1:3::1"));
  EXPECT_EQ(source("::1"), "::/64");
}

// What the operator's `block ADDR` names: the source a connection from it counts against.
TEST(Source, ABlockNamesAnIpv4AddressOrAnIpv6Slash64) {
  EXPECT_EQ(block_source("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(block_source("::ffff:203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(block_source("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  EXPECT_EQ(block_source("2001:DB8:1:2::/64"), "2001:db8:1:2::/64");
  for (const char* not_one : {"bob", "", "203.0.113.9/64", "203.0.113.0/24", "2001:db8::/48",
                              "2001:db8::/64/64", "203.0.113.256", " 203.0.113.9"}) {
    EXPECT_FALSE(block_source(not_one)) << not_one;
  }
}

}  // namespace
}  // namespace relay::server
