// Relay static key file: create once with 0600, refuse anything malformed or too open.
#include "relay/server/relay_key.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "relay/crypto/secret.hpp"

namespace relay::server {
namespace {

constexpr std::string_view header = "relaychat-relay-key-1\n";

std::runtime_error file_error(const std::filesystem::path& p, const char* what) {
  return std::runtime_error("relay key " + p.string() + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

std::filesystem::path default_key_path(const std::filesystem::path& db_path) {
  auto p = db_path;
  return p.replace_extension(".key");
}

result<crypto::key_pair> parse_relay_key(std::string_view text) {
  if (text.size() != header.size() + 64 + 1 || text.substr(0, header.size()) != header ||
      text.back() != '\n') {
    return failure(std::make_error_code(std::errc::invalid_argument));
  }
  auto secret = from_hex(text.substr(header.size(), 64));
  if (!secret || secret->size() != crypto::key_size) {
    return failure(std::make_error_code(std::errc::invalid_argument));
  }
  // An all-zero secret is no key (anyone can compute its public half's partner): a file
  // written by hand or zeroed by a broken disk, never by us.
  if (std::all_of(secret->begin(), secret->end(), [](byte b) { return b == 0; })) {
    return failure(std::make_error_code(std::errc::invalid_argument));
  }
  auto kp = crypto::key_pair::from_secret(*secret);
  crypto::wipe(secret->data(), secret->size());
  return kp;
}

crypto::key_pair load_or_create_relay_key(const std::filesystem::path& path, bool& created) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd >= 0) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      ::close(fd);
      throw file_error(path, "cannot stat");
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      throw std::runtime_error("relay key " + path.string() + " is not a file" +
                               (S_ISDIR(st.st_mode) ? " (a directory)" : ""));
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
      ::close(fd);
      throw std::runtime_error("relay key " + path.string() +
                               " is readable by others; run: chmod 600 " + path.string());
    }
    char buf[256];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n < 0) throw file_error(path, "cannot read");
    auto kp = parse_relay_key(std::string_view(buf, static_cast<std::size_t>(n)));
    crypto::wipe(buf, sizeof buf);
    if (!kp) throw std::runtime_error("relay key " + path.string() + " is malformed");
    created = false;
    return std::move(*kp);
  }
  if (errno != ENOENT) throw file_error(path, "cannot open");

  auto kp = crypto::key_pair::generate(crypto::os_random());
  std::string text(header);
  text += to_hex(kp.secret());
  text += '\n';
  // Write to a temporary name, fsync, then rename: a crash never leaves half a key.
  auto tmp = path;
  tmp += ".tmp";
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    crypto::wipe(text.data(), text.size());
    throw file_error(tmp, "cannot create");
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  crypto::wipe(text.data(), text.size());
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw file_error(path, "cannot write");
  }
  created = true;
  return kp;
}

}  // namespace relay::server
