// One relay per database file: two relays on one file would both accept sign-ins with the
// same key while their rosters, kicks and bans never meet.
#pragma once

#include <string>

namespace relay::store {

/// An exclusive flock(2) on the database file for as long as it lives. The file is created
/// (empty, 0600) if missing, so the database SQLite then makes in it is private from the
/// start: it holds password hashes. SQLite's own locks (fcntl) are separate and unaffected.
/// In-memory databases (an empty path, or one starting with ':' or "file:") take no lock.
class database_lock {
 public:
  /// Throws std::runtime_error naming `path` if another process holds it, or if it cannot
  /// be opened.
  explicit database_lock(const std::string& path);
  ~database_lock();
  database_lock(const database_lock&) = delete;
  database_lock& operator=(const database_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace relay::store
