// Client data directory: key files and relay pins with private permissions.
#include "relay/client/data_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

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

std::string relay_dir_name(const std::string& relay) {
  std::string out = relay;
  for (char& c : out) {
    if (c == '/' || c == ':' || c == '\\') c = '_';
  }
  return out;
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

fs::path data_dir::identity_path(const std::string& relay, const std::string& user) const {
  return root_ / "relays" / relay_dir_name(relay) / user / "identity.key";
}

std::optional<bytes> data_dir::read_identity(const std::string& relay,
                                             const std::string& user) const {
  const auto p = identity_path(relay, user);
  std::ifstream in(p, std::ios::binary);
  if (!in) {
    if (!fs::exists(p)) return std::nullopt;
    throw io_error(p, "cannot read");
  }
  bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return b;
}

void data_dir::write_identity(const std::string& relay, const std::string& user,
                              byte_view contents) const {
  write_private_file(identity_path(relay, user), contents);
}

void data_dir::check_identity_writable(const std::string& relay, const std::string& user) const {
  fs::path tmp;
  ::close(create_private_temp(identity_path(relay, user), tmp));
  ::unlink(tmp.c_str());
}

fs::path data_dir::contacts_path(const std::string& relay, const std::string& user) const {
  return root_ / "relays" / relay_dir_name(relay) / user / "contacts";
}

std::string data_dir::read_contacts(const std::string& relay, const std::string& user) const {
  std::ifstream in(contacts_path(relay, user));
  if (!in) return {};
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void data_dir::write_contacts(const std::string& relay, const std::string& user,
                              std::string_view text) const {
  write_private_file(contacts_path(relay, user), as_bytes(text));
}

std::string data_dir::read_seen(const std::string& relay, const std::string& user) const {
  std::ifstream in(root_ / "relays" / relay_dir_name(relay) / user / "seen");
  if (!in) return {};
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void data_dir::write_seen(const std::string& relay, const std::string& user,
                          std::string_view text) const {
  write_private_file(root_ / "relays" / relay_dir_name(relay) / user / "seen", as_bytes(text),
                     false);
}

std::string data_dir::read_last_user(const std::string& relay) const {
  std::ifstream in(root_ / "relays" / relay_dir_name(relay) / "last_user");
  std::string name;
  if (!in || !std::getline(in, name) || !proto::valid_name(name)) return {};
  return name;  // valid: printing it in the prompt is safe
}

void data_dir::write_last_user(const std::string& relay, const std::string& user) const {
  write_private_file(root_ / "relays" / relay_dir_name(relay) / "last_user", as_bytes(user + "\n"),
                     false);
}

std::optional<crypto::public_key> data_dir::pinned_relay(const std::string& relay) const {
  std::ifstream in(known_relays_path());
  if (!in) return std::nullopt;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string who, hex;
    if (!(fields >> who >> hex)) {
      throw std::runtime_error(known_relays_path().string() + ":" + std::to_string(number) +
                               ": malformed line");
    }
    if (who != relay) continue;
    auto key = from_hex(hex);
    if (!key || key->size() != crypto::key_size) {
      throw std::runtime_error(known_relays_path().string() + ":" + std::to_string(number) +
                               ": malformed key for " + relay);
    }
    crypto::public_key k;
    std::copy(key->begin(), key->end(), k.begin());
    return k;
  }
  return std::nullopt;
}

void data_dir::pin_relay(const std::string& relay, const crypto::public_key& key) const {
  std::string existing;
  if (std::ifstream in(known_relays_path()); in) {
    existing.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (!existing.empty() && existing.back() != '\n') existing.push_back('\n');
  }
  existing += relay + " " + to_hex(key) + "\n";
  write_private_file(known_relays_path(), as_bytes(existing));
}

}  // namespace relay::client
