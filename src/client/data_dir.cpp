// Client data directory: key files and relay pins with private permissions.
#include "relay/client/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "relay/crypto/secret.hpp"
#include "relay/proto/names.hpp"

namespace relay::client {
namespace fs = std::filesystem;
namespace {

std::runtime_error io_error(const fs::path& p, const char* what) {
  return std::runtime_error(std::string(what) + " " + p.string() + ": " + std::strerror(errno));
}

void make_private_dirs(const fs::path& dir) {
  if (dir.empty() || fs::is_directory(dir)) return;
  make_private_dirs(dir.parent_path());
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) throw io_error(dir, "cannot create");
}

/// Why others than this user (and root) could change `p` (whose lstat/fstat is `st`), or
/// nullopt if they cannot: it belongs to another user, or group or others can write it (a
/// directory may be so if sticky, as /tmp is, since then only owners rename its files).
std::optional<std::string> others_can_change(const fs::path& p, const struct stat& st) {
  const bool dir = S_ISDIR(st.st_mode);
  if (st.st_uid != ::geteuid() && st.st_uid != 0) {
    return p.string() + " belongs to another user (uid " + std::to_string(st.st_uid) +
           "): whoever owns it can change the keys or counters this client relies on; check " +
           (dir ? "it and what is in it" : "it") + ", then make it yours (chown)";
  }
  const bool sticky_dir = dir && (st.st_mode & S_ISVTX) != 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) == 0 || sticky_dir) return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (dir) {
    return p.string() + " can be changed by other users (mode " + mode +
           "): whoever can write it can replace the files in it, which hold the keys or "
           "counters this client relies on; check them, then chmod go-w it";
  }
  return p.string() + " can be changed by other users (mode " + mode +
         "): whoever can write it can change the keys or counters this client relies on; "
         "check it, then chmod 600 it";
}

/// Throws unless others cannot change the directories from `root` down to the one holding
/// `file` (those that exist): whoever can write one can rename another file into `file`'s
/// place. Directories above `root` are the user's choice (a --home under /tmp is fine).
void check_directories(const fs::path& root, const fs::path& file) {
  fs::path top = root.lexically_normal();
  if (!top.has_filename()) top = top.parent_path();  // "dir/" is "dir"
  for (fs::path d = file.parent_path(); !d.empty(); d = d.parent_path()) {
    // stat, not lstat: a symbolic link's own mode is always 0777, and what matters is who
    // can change the directory it leads to (a --home that is a link is fine, as for ssh).
    struct stat st {};
    if (::stat(d.c_str(), &st) == 0) {
      if (auto problem = others_can_change(d, st)) throw std::runtime_error(*problem);
    }
    if (d.lexically_normal() == top || d == d.parent_path()) break;
  }
}

/// The whole of `p`; nullopt if it does not exist. Anything else that stops it being read
/// (a directory in its place, no permission) throws, naming the file: these files hold pins
/// and counters, and reading one as empty would drop them without a word.
std::optional<std::string> read_whole(const fs::path& p) {
  // O_NONBLOCK: a FIFO in its place is refused below, not waited on for a writer forever.
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    // ENOTDIR: a file where a directory on the way goes; writing it will say so.
    if (errno == ENOENT || errno == ENOTDIR) return std::nullopt;
    throw io_error(p, "cannot read");
  }
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) {
      errno = EISDIR;
      throw io_error(p, "cannot read");
    }
    throw std::runtime_error("cannot read " + p.string() +
                             ": not a regular file (a FIFO, socket or device)");
  }
  // Our files are written 0600. One others can write or own lets them swap the keys pinned
  // in it (ssh refuses such files for the same reason).
  if (auto problem = others_can_change(p, st)) {
    ::close(fd);
    throw std::runtime_error(*problem);
  }
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      errno = e;
      throw io_error(p, "cannot read");
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string relay_dir_name(const std::string& relay) {
  std::string out = relay;
  for (char& c : out) {
    if (c == '/' || c == ':' || c == '\\') c = '_';
  }
  return out;
}

/// `<root>/relays/<relay>/<user>/<file>` (protocol.md 10).
fs::path user_file(const fs::path& root, const std::string& relay, const std::string& user,
                   const char* file) {
  return root / "relays" / relay_dir_name(relay) / user / file;
}

}  // namespace

fs::path default_home(const std::string& home_option) {
  if (!home_option.empty()) return home_option;
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg)
    return fs::path(xdg) / "relaychat";
  if (const char* home = std::getenv("HOME"); home && *home) {
    return fs::path(home) / ".local" / "share" / "relaychat";
  }
  return fs::path(".relaychat");
}

namespace {

/// Creates (or empties) `path`.tmp, private to the user, in private directories made as
/// needed; its descriptor, with the path in `tmp`. Throws io_error if it cannot.
int create_private_temp(const fs::path& path, fs::path& tmp) {
  make_private_dirs(path.parent_path());
  tmp = path;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) throw io_error(tmp, "cannot create");
  return fd;
}

}  // namespace

void write_private_file(const fs::path& path, byte_view contents, bool durable) {
  fs::path tmp;
  const int fd = create_private_temp(path, tmp);
  const bool ok =
      ::write(fd, contents.data(), contents.size()) == static_cast<ssize_t>(contents.size()) &&
      (!durable || ::fsync(fd) == 0);
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw io_error(path, "cannot write");
  }
}

std::optional<std::string> data_dir::read(const fs::path& file) const {
  check_directories(root_, file);
  return read_whole(file);
}

fs::path data_dir::identity_path(const std::string& relay, const std::string& user) const {
  return user_file(root_, relay, user, "identity.key");
}

std::optional<bytes> data_dir::read_identity(const std::string& relay,
                                             const std::string& user) const {
  auto text = read(identity_path(relay, user));
  if (!text) return std::nullopt;
  bytes b(text->begin(), text->end());
  crypto::wipe(text->data(), text->size());
  return b;
}

void data_dir::write_identity(const std::string& relay, const std::string& user,
                              byte_view contents) const {
  write_private_file(identity_path(relay, user), contents);
}

void data_dir::check_identity_writable(const std::string& relay, const std::string& user) const {
  // Directories made for the check go again after it (writing the key makes them anew): a
  // sign-in that then fails leaves no empty directory behind (found by a review).
  std::vector<fs::path> made;  // the deepest first
  for (fs::path d = identity_path(relay, user).parent_path(); !d.empty() && !fs::exists(d);
       d = d.parent_path()) {
    made.push_back(d);
  }
  fs::path tmp;
  ::close(create_private_temp(identity_path(relay, user), tmp));
  ::unlink(tmp.c_str());
  for (const auto& d : made) ::rmdir(d.c_str());
}

fs::path data_dir::contacts_path(const std::string& relay, const std::string& user) const {
  return user_file(root_, relay, user, "contacts");
}

std::string data_dir::read_contacts(const std::string& relay, const std::string& user) const {
  return read(contacts_path(relay, user)).value_or("");
}

void data_dir::write_contacts(const std::string& relay, const std::string& user,
                              std::string_view text) const {
  write_private_file(contacts_path(relay, user), as_bytes(text));
}

std::string data_dir::read_seen(const std::string& relay, const std::string& user) const {
  return read(user_file(root_, relay, user, "seen")).value_or("");
}

void data_dir::write_seen(const std::string& relay, const std::string& user,
                          std::string_view text) const {
  write_private_file(user_file(root_, relay, user, "seen"), as_bytes(text), false);
}

std::string data_dir::read_sent(const std::string& relay, const std::string& user) const {
  return read(user_file(root_, relay, user, "sent")).value_or("");
}

void data_dir::write_sent(const std::string& relay, const std::string& user,
                          std::string_view text) const {
  write_private_file(user_file(root_, relay, user, "sent"), as_bytes(text), false);
}

std::string data_dir::read_last_user(const std::string& relay) const {
  std::optional<std::string> text;
  try {
    text = read(root_ / "relays" / relay_dir_name(relay) / "last_user");
  } catch (const std::exception&) {
    return {};  // only a convenience: the name is asked for without it
  }
  if (!text) return {};
  std::string name = text->substr(0, text->find('\n'));
  if (!proto::valid_name(name)) return {};
  return name;  // valid: printing it in the prompt is safe
}

void data_dir::write_last_user(const std::string& relay, const std::string& user) const {
  write_private_file(root_ / "relays" / relay_dir_name(relay) / "last_user", as_bytes(user + "\n"),
                     false);
}

std::vector<data_dir::relay_pin> data_dir::relay_pins() const {
  std::vector<relay_pin> pins;
  const auto text = read(known_relays_path());
  if (!text) return pins;
  std::istringstream in(*text);
  std::string line;
  int number = 0;
  // Every line is checked, not only up to the one asked for: a damaged file is refused
  // whichever relay is asked for, the same way each time.
  while (std::getline(in, line)) {
    ++number;
    // Blank, or a comment (indented or not), as in ssh's known_hosts.
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    std::istringstream fields(line);
    std::string who, hex, extra;
    const auto where = [&] { return known_relays_path().string() + ":" + std::to_string(number); };
    if (!(fields >> who >> hex) || (fields >> extra)) {
      throw std::runtime_error(where() + ": malformed line (not HOST:PORT KEY)");
    }
    auto key = from_hex(hex);
    if (!key || key->size() != crypto::key_size) {
      throw std::runtime_error(where() + ": malformed line (the key of " + who +
                               " is not 64 hex digits)");
    }
    relay_pin pin{std::move(who), {}};
    std::copy(key->begin(), key->end(), pin.key.begin());
    pins.push_back(std::move(pin));
  }
  return pins;
}

std::optional<crypto::public_key> data_dir::pinned_relay(const std::string& relay) const {
  for (const auto& pin : relay_pins()) {
    if (pin.relay == relay) return pin.key;  // the first line for it wins
  }
  return std::nullopt;
}

void data_dir::pin_relay(const std::string& relay, const crypto::public_key& key) const {
  std::string existing = read(known_relays_path()).value_or("");
  if (!existing.empty() && existing.back() != '\n') existing.push_back('\n');
  existing += relay + " " + to_hex(key) + "\n";
  write_private_file(known_relays_path(), as_bytes(existing));
}

}  // namespace relay::client
