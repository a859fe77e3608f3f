// Contacts' identity keys pinned on first sight (trust on first use, per relay and local
// user), so a relay that announces a different key for someone cannot do so unnoticed.
// Serialised as text lines "name <64 hex digits> unverified|verified".
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>

#include "relay/crypto/keys.hpp"
#include "relay/util/result.hpp"

namespace relay::client {

struct contact {
  crypto::public_key key{};  ///< the pinned key
  bool verified = false;     ///< safety number compared out of band
};

/// What seeing a key for a contact means.
enum class key_check {
  new_contact,       ///< first sight: now pinned (unverified)
  same,              ///< matches the pin
  changed,           ///< differs from an unverified pin: needs /accept (or /verify)
  changed_verified,  ///< differs from a verified pin: needs /verify
};

class contact_book {
 public:
  /// Parses the saved form; std::errc::invalid_argument on a malformed line, with which
  /// line and why in `problem` if given ("line 3: the key of bob is not 64 hex digits").
  static result<contact_book> parse(std::string_view text, std::string* problem = nullptr);
  std::string serialise() const;

  /// Compares `key` with the pin for `name`, pinning it if `name` is new.
  key_check see(const std::string& name, const crypto::public_key& key);
  /// Pins `key` for `name` as unverified (after /accept).
  void accept(const std::string& name, const crypto::public_key& key);
  /// Pins `key` for `name` as verified (after /verify ... confirm).
  void verify(const std::string& name, const crypto::public_key& key);
  const contact* find(const std::string& name) const;
  /// Another contact whose name looks like `name` on screen (proto::lookalike_key): the first
  /// by name, if any.
  std::optional<std::string> lookalike_of(const std::string& name) const;

 private:
  /// Pins `c` for `name`, new or not, keeping the lookalike index.
  void pin(const std::string& name, const contact& c);
  std::map<std::string, contact> contacts_;
  // Names by lookalike_key: a first sign-in to a relay with 10,000 users online asks for
  // each new contact, and a scan of the book for each made it quadratic.
  std::map<std::string, std::set<std::string>> by_look_;
};

}  // namespace relay::client
