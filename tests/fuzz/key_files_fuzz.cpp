// Fuzzes the parsers of files a user or operator may hand us: byte 0 picks one of the
// identity key file, the relay key file, the contacts file and the seen-counters file.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "relay/client/chat.hpp"
#include "relay/client/contacts.hpp"
#include "relay/crypto/key_file.hpp"
#include "relay/server/relay_key.hpp"

using namespace relay;
using fuzz::check;

namespace {

constexpr std::string_view password = "correct horse battery staple";
constexpr std::string_view relay_key_header = "relaychat-relay-key-1\n";
constexpr std::size_t ops_at = 6, mem_at = 14, salt_at = 22, nonce_at = 38;

std::uint64_t get_u64(byte_view b) {
  std::uint64_t v = 0;
  for (byte c : b) v = v << 8 | c;
  return v;
}

void key_file(byte_view in) {
  // Argon2 runs only once the header passed the cost bounds; keep the fuzzer fast by letting
  // through only files whose costs are rejected or cheap to derive.
  if (in.size() == crypto::key_file_size) {
    const std::uint64_t ops = get_u64(in.subspan(ops_at, 8));
    const std::uint64_t mem = get_u64(in.subspan(mem_at, 8));
    const bool in_bounds =
        ops >= crypto::key_file_opslimit_min && ops <= crypto::key_file_opslimit_max &&
        mem >= crypto::key_file_memlimit_min && mem <= crypto::key_file_memlimit_max;
    if (in_bounds && (ops > 2 || mem > 4 * crypto::key_file_memlimit_min)) return;
  }
  auto kp = crypto::open_key_file(in, password);
  if (!kp) return;
  // Sealing the same key with the file's costs, salt and nonce gives the file back.
  crypto::scripted_random rng;
  rng.push(bytes(in.begin() + salt_at, in.begin() + nonce_at));
  rng.push(bytes(in.begin() + nonce_at, in.begin() + nonce_at + 24));
  const crypto::key_file_params p{get_u64(in.subspan(ops_at, 8)),
                                  static_cast<std::size_t>(get_u64(in.subspan(mem_at, 8)))};
  const bytes again = crypto::seal_key_file(*kp, password, rng, p);
  check(std::equal(again.begin(), again.end(), in.begin(), in.end()));
}

void relay_key(std::string_view text) {
  auto kp = server::parse_relay_key(text);
  if (!kp) return;
  // The only accepted variation is the case of the hex digits.
  const std::string canonical = std::string(relay_key_header) + to_hex(kp->secret()) + "\n";
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  check(lower == canonical);
  auto again = server::parse_relay_key(canonical);
  check(again.has_value() && again->pub() == kp->pub());
}

void contacts(std::string_view text) {
  auto book = client::contact_book::parse(text);
  if (!book) return;
  const std::string saved = book->serialise();
  auto again = client::contact_book::parse(saved);
  check(again.has_value() && again->serialise() == saved);
}

void seen(std::string_view text) {
  const auto counters = client::chat::parse_seen(text);
  const std::string saved = client::chat::format_seen(counters);
  check(client::chat::parse_seen(saved) == counters);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::input_reader in(data, size);
  const byte which = in.u8();
  const byte_view body = in.rest();
  switch (which % 4) {
    case 0:
      key_file(body);
      break;
    case 1:
      relay_key(as_chars(body));
      break;
    case 2:
      contacts(as_chars(body));
      break;
    default:
      seen(as_chars(body));
      break;
  }
  return 0;
}
