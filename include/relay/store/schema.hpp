// The relay's schema as an append-only list of migration steps, and the one-call open.
#pragma once

#include <span>
#include <string_view>

#include "relay/store/database.hpp"

namespace relay::store {

/// The relay's migrations: step i moves PRAGMA user_version from i to i + 1. Append new steps;
/// never edit a published one, since deployed databases have already run it.
std::span<const std::string_view> schema();

/// Opens the relay's database at `path` (":memory:" for tests) and migrates it to schema().
/// Throws std::runtime_error with a clear message if it cannot be opened or written, or if a
/// newer relay has already moved it past the schema this one knows.
database open(std::string_view path);

}  // namespace relay::store
