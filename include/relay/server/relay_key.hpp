// The relay's long-term Noise static key, kept in a 0600 file beside its database.
#pragma once

#include <filesystem>
#include <string>

#include "relay/crypto/keys.hpp"

namespace relay::server {

/// The key file path for a database path: "relay.db" -> "relay.key".
std::filesystem::path default_key_path(const std::filesystem::path& db_path);

/// Loads the key, or creates it (mode 0600, written atomically) when the file does not exist.
/// `created` tells which happened. Throws std::runtime_error with a clear message if the file
/// exists but is unreadable, malformed, or readable by group/others.
crypto::key_pair load_or_create_relay_key(const std::filesystem::path& path, bool& created);

/// Parses key file contents: "relaychat-relay-key-1\n" then 64 hex digits and "\n".
result<crypto::key_pair> parse_relay_key(std::string_view text);

}  // namespace relay::server
