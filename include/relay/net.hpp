// The one header that includes Boost.Asio. <utility> must come first on GCC 12 + Boost 1.74
// ("'exchange' is not a member of 'std'" in awaitable.hpp).
#pragma once

#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
// clang-format on

namespace relay {
namespace net = boost::asio;
using tcp = net::ip::tcp;
template <class T = void>
using awaitable = net::awaitable<T>;
}  // namespace relay
