// The client's data directory ($XDG_DATA_HOME/relaychat, ~/.local/share/relaychat or --home):
// encrypted identity keys per relay and user, and the pinned relay keys (known_relays, like
// SSH's known_hosts). Directories are 0700, files 0600, writes atomic.
//
//   <root>/known_relays                          "host:port <64 hex digits>" per line
//   <root>/relays/<host>_<port>/<user>/identity.key   crypto::seal_key_file output
//   <root>/relays/<host>_<port>/<user>/contacts       contact_book::serialise output
//   <root>/relays/<host>_<port>/<user>/seen           "name counter" lines (replay defence)
//   <root>/relays/<host>_<port>/last_user        the name last signed in with
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "relay/crypto/keys.hpp"
#include "relay/util/bytes.hpp"

namespace relay::client {

/// --home if given, else $XDG_DATA_HOME/relaychat, else $HOME/.local/share/relaychat.
std::filesystem::path default_home(const std::string& home_option);

class data_dir {
 public:
  explicit data_dir(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const noexcept { return root_; }

  /// Where `user`'s identity key for `relay` ("host:port") lives.
  std::filesystem::path identity_path(const std::string& relay, const std::string& user) const;
  /// The encrypted identity file, or nullopt if there is none. Throws on I/O errors.
  std::optional<bytes> read_identity(const std::string& relay, const std::string& user) const;
  /// Stores the encrypted identity file (0600, atomic). Throws on I/O errors.
  void write_identity(const std::string& relay, const std::string& user, byte_view contents) const;
  /// Throws (saying why) unless an identity key for `user` could be written now: checked
  /// before a new key is used, so that no sign-in is made with a key that cannot be kept.
  void check_identity_writable(const std::string& relay, const std::string& user) const;

  /// The saved contact pins of `user` on `relay` (empty text if none yet).
  std::string read_contacts(const std::string& relay, const std::string& user) const;
  void write_contacts(const std::string& relay, const std::string& user,
                      std::string_view text) const;
  std::filesystem::path contacts_path(const std::string& relay, const std::string& user) const;

  /// Highest message counters accepted per contact (chat::format_seen text).
  std::string read_seen(const std::string& relay, const std::string& user) const;
  void write_seen(const std::string& relay, const std::string& user, std::string_view text) const;

  /// The highest message counter this client sealed with, as chat::format_sent writes it
  /// (empty if none yet); throws std::runtime_error if the file exists but cannot be read.
  std::string read_sent(const std::string& relay, const std::string& user) const;
  void write_sent(const std::string& relay, const std::string& user, std::string_view text) const;

  /// The name last signed in with on `relay` from here (offered at the name prompt), or ""
  /// if none or not a valid name.
  std::string read_last_user(const std::string& relay) const;
  /// Remembers `user` for read_last_user. Throws on I/O errors.
  void write_last_user(const std::string& relay, const std::string& user) const;

  /// One line of known_relays: a relay as typed (host:port) and the key pinned for it.
  struct relay_pin {
    std::string relay;
    crypto::public_key key;
  };
  /// Every pin, in file order. Throws std::runtime_error if any line of known_relays is
  /// damaged (protocol.md 10.2).
  std::vector<relay_pin> relay_pins() const;
  /// The pinned key for `relay`, if any (its first line). Throws like relay_pins().
  std::optional<crypto::public_key> pinned_relay(const std::string& relay) const;
  /// Pins `key` for `relay` (appends; never replaces an existing pin).
  void pin_relay(const std::string& relay, const crypto::public_key& key) const;
  std::filesystem::path known_relays_path() const { return root_ / "known_relays"; }

 private:
  /// The whole of `file` (under root_), or nullopt if it does not exist. Throws, naming it,
  /// if it cannot be read, or if others could change it or a directory above it up to root_.
  std::optional<std::string> read(const std::filesystem::path& file) const;
  std::filesystem::path root_;
};

/// Writes `contents` to `path` via a temporary file, fsync and rename; mode 0600; creates
/// parent directories with 0700. Throws std::runtime_error with the path on failure.
/// `durable` = fsync before the rename (keys, pins); frequent small updates skip it.
void write_private_file(const std::filesystem::path& path, byte_view contents, bool durable = true);

}  // namespace relay::client
