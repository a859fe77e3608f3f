// Trust-on-first-use pins for contacts' identity keys.
#include "relay/client/contacts.hpp"

#include <sstream>

#include "relay/proto/names.hpp"

namespace relay::client {

result<contact_book> contact_book::parse(std::string_view text, std::string* problem) {
  contact_book book;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  // Which line and why, so the person can mend or restore it (a bad line is never skipped:
  // the pin on it would be lost without a word).
  const auto damaged = [&](const std::string& why) -> result<contact_book> {
    if (problem) *problem = "line " + std::to_string(number) + ": " + why;
    return failure(std::make_error_code(std::errc::invalid_argument));
  };
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, hex, state, extra;
    if (!(fields >> name >> hex >> state) || (fields >> extra)) {
      return damaged("not NAME KEY verified|unverified");
    }
    if (!proto::valid_name(name)) return damaged("not a user name");
    if (state != "verified" && state != "unverified") {
      return damaged("the state of " + name + " is neither verified nor unverified");
    }
    auto key = from_hex(hex);
    if (!key || key->size() != crypto::key_size) {
      return damaged("the key of " + name + " is not 64 hex digits");
    }
    // A name on two lines is two pins for one contact: which one is theirs cannot be told
    // (a later line added by hand would silently win), so the file is as damaged as one with
    // a bad line.
    if (book.find(name)) return damaged(name + " has a line already");
    contact c;
    std::copy(key->begin(), key->end(), c.key.begin());
    c.verified = state == "verified";
    book.pin(name, c);
  }
  return book;
}

std::string contact_book::serialise() const {
  std::string out = "# relaychat contacts: name identity-key state\n";
  for (const auto& [name, c] : contacts_) {
    out += name + " " + to_hex(c.key) + (c.verified ? " verified\n" : " unverified\n");
  }
  return out;
}

key_check contact_book::see(const std::string& name, const crypto::public_key& key) {
  auto it = contacts_.find(name);
  if (it == contacts_.end()) {
    pin(name, contact{key, false});
    return key_check::new_contact;
  }
  if (it->second.key == key) return key_check::same;
  return it->second.verified ? key_check::changed_verified : key_check::changed;
}

void contact_book::accept(const std::string& name, const crypto::public_key& key) {
  pin(name, contact{key, false});
}

void contact_book::verify(const std::string& name, const crypto::public_key& key) {
  pin(name, contact{key, true});
}

void contact_book::pin(const std::string& name, const contact& c) {
  if (contacts_.insert_or_assign(name, c).second) {
    by_look_[proto::lookalike_key(name)].insert(name);
  }
}

const contact* contact_book::find(const std::string& name) const {
  auto it = contacts_.find(name);
  return it == contacts_.end() ? nullptr : &it->second;
}

std::optional<std::string> contact_book::lookalike_of(const std::string& name) const {
  const auto it = by_look_.find(proto::lookalike_key(name));
  if (it == by_look_.end()) return std::nullopt;
  for (const auto& other : it->second) {
    if (other != name) return other;
  }
  return std::nullopt;
}

}  // namespace relay::client
