// Noise state machines against the cacophony and snow vectors, plus tampering, truncation,
// low-order keys, replay, limits and the noise_session XX round trip.
#include "relay/transport/noise.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "relay/crypto/sodium.hpp"

namespace relay::transport {
namespace {

using json = nlohmann::json;
using crypto::key_pair;
using role = noise_session::role;

bytes hex(std::string_view s) {
  auto b = from_hex(s);
  if (!b) throw std::runtime_error("bad hex in test");
  return *b;
}

std::error_code err(noise_errc e) { return make_error_code(e); }

key_pair key_from(byte seed) { return key_pair::from_secret(bytes(crypto::key_size, seed)); }

class Noise : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { crypto::init(); }
};

// ---- known-answer vectors -------------------------------------------------------------------

struct vector_counts {
  std::map<std::string, int> ran;  // by pattern
  std::map<std::string, int> skipped_psk;
  std::map<std::string, int> skipped_unsupported;
  int total_ran() const {
    int n = 0;
    for (const auto& [k, v] : ran) n += v;
    return n;
  }
};

std::string pattern_of(const std::string& protocol) {
  const std::size_t a = protocol.find('_') + 1;
  return protocol.substr(a, protocol.find('_', a) - a);
}

bool is_one_way(const std::string& pattern) { return pattern.size() == 1; }

// Runs one vector through two handshake_states and the split cipher states.
void run_vector(const json& v) {
  const std::string name = v["protocol_name"];
  const cipher vc =
      name.find("_AESGCM_") != std::string::npos ? cipher::aesgcm : cipher::chachapoly;
  const bool one_way = is_one_way(pattern_of(name));
  auto opt_key = [&](const char* field) -> std::optional<key_pair> {
    if (!v.contains(field)) return std::nullopt;
    return key_pair::from_secret(hex(v[field].get<std::string>()));
  };
  auto opt_pub = [&](const char* field) -> std::optional<crypto::public_key> {
    if (!v.contains(field)) return std::nullopt;
    crypto::public_key k{};
    const bytes b = hex(v[field].get<std::string>());
    std::copy(b.begin(), b.end(), k.begin());
    return k;
  };
  const std::optional<key_pair> is = opt_key("init_static"), rs = opt_key("resp_static");
  const std::optional<crypto::public_key> irs = opt_pub("init_remote_static"),
                                          rrs = opt_pub("resp_remote_static");
  crypto::scripted_random irng, rrng;
  if (v.contains("init_ephemeral")) irng.push(hex(v["init_ephemeral"].get<std::string>()));
  if (v.contains("resp_ephemeral")) rrng.push(hex(v["resp_ephemeral"].get<std::string>()));
  const bytes ipro = hex(v["init_prologue"].get<std::string>());
  const bytes rpro = hex(v["resp_prologue"].get<std::string>());

  auto init =
      handshake_state::create({name, true, ipro, is ? &*is : nullptr, irs ? &*irs : nullptr}, irng);
  auto resp = handshake_state::create(
      {name, false, rpro, rs ? &*rs : nullptr, rrs ? &*rrs : nullptr}, rrng);
  ASSERT_TRUE(init) << init.error().message();
  ASSERT_TRUE(resp) << resp.error().message();

  const json& msgs = v["messages"];
  std::size_t i = 0;
  for (; i < msgs.size() && !init->done(); ++i) {
    SCOPED_TRACE("handshake message " + std::to_string(i));
    const bool from_init = one_way || i % 2 == 0;
    handshake_state& w = from_init ? *init : *resp;
    handshake_state& r = from_init ? *resp : *init;
    ASSERT_TRUE(w.my_turn());
    ASSERT_FALSE(r.my_turn());
    const bytes payload = hex(msgs[i]["payload"].get<std::string>());
    bytes out;
    ASSERT_TRUE(w.write_message(payload, out));
    EXPECT_EQ(to_hex(out), msgs[i]["ciphertext"].get<std::string>());
    bytes got;
    ASSERT_TRUE(r.read_message(out, got));
    EXPECT_EQ(got, payload);
  }
  ASSERT_TRUE(init->done());
  ASSERT_TRUE(resp->done());
  EXPECT_EQ(to_hex(init->handshake_hash()), to_hex(resp->handshake_hash()));
  if (v.contains("handshake_hash")) {
    EXPECT_EQ(to_hex(init->handshake_hash()), v["handshake_hash"].get<std::string>());
  }
  if (rs && init->remote_static() != nullptr) {
    EXPECT_EQ(*init->remote_static(), rs->pub());
  }
  if (is && resp->remote_static() != nullptr) {
    EXPECT_EQ(*resp->remote_static(), is->pub());
  }

  auto ic = init->split();
  auto rc = resp->split();
  ASSERT_TRUE(ic);
  ASSERT_TRUE(rc);
  ASSERT_EQ(init->split().error(), err(noise_errc::not_ready));  // only once
  for (; i < msgs.size(); ++i) {
    SCOPED_TRACE("transport message " + std::to_string(i));
    const bool from_init = one_way || i % 2 == 0;
    // c1 carries initiator-to-responder traffic, c2 the other way.
    cipher_state& enc = from_init ? ic->first : rc->second;
    cipher_state& dec = from_init ? rc->first : ic->second;
    const bytes payload = hex(msgs[i]["payload"].get<std::string>());
    bytes out;
    ASSERT_TRUE(enc.encrypt_with_ad(vc, {}, payload, out));
    EXPECT_EQ(to_hex(out), msgs[i]["ciphertext"].get<std::string>());
    bytes got;
    ASSERT_TRUE(dec.decrypt_with_ad(vc, {}, out, got));
    EXPECT_EQ(got, payload);
  }
}

vector_counts run_file(const std::string& file, const std::string& only_pattern = {}) {
  std::ifstream in(std::string(RELAY_VECTORS_DIR) + "/" + file);
  if (!in) throw std::runtime_error("missing vector file " + file);
  const json doc = json::parse(in);
  vector_counts c;
  for (const json& v : doc["vectors"]) {
    const std::string name = v["protocol_name"];
    const std::string pattern = pattern_of(name);
    if (!only_pattern.empty() && pattern != only_pattern) continue;
    if (pattern.find("psk") != std::string::npos) {
      ++c.skipped_psk[pattern];  // PSK modifiers are not implemented
      continue;
    }
    crypto::scripted_random probe;
    const auto supported = handshake_state::create({name, true, {}, nullptr, nullptr}, probe);
    if (!supported && supported.error() == err(noise_errc::unsupported_protocol)) {
      ++c.skipped_unsupported[pattern];  // deferred patterns (X1K, NK1, ...) are not in our table
      continue;
    }
    SCOPED_TRACE(file + ": " + name);
    run_vector(v);
    ++c.ran[pattern];
  }
  return c;
}

void report(const std::string& file, const vector_counts& c) {
  std::cout << "[ info ] " << file << ": ran " << c.total_ran() << " (";
  for (const auto& [k, v] : c.ran) std::cout << k << ' ';
  std::cout << "), skipped " << c.skipped_psk.size() << " PSK (";
  for (const auto& [k, v] : c.skipped_psk) std::cout << k << ' ';
  std::cout << "), skipped " << c.skipped_unsupported.size() << " deferred (";
  for (const auto& [k, v] : c.skipped_unsupported) std::cout << k << ' ';
  std::cout << ")\n";
}

const std::vector<std::string> supported_patterns = {"N",  "K",  "X",  "NN", "NK", "NX", "XN", "XK",
                                                     "XX", "KN", "KK", "KX", "IN", "IK", "IX"};

TEST_F(Noise, CacophonyXX) {
  const vector_counts c = run_file("cacophony-25519-ChaChaPoly-BLAKE2b.json", "XX");
  EXPECT_EQ(c.total_ran(), 1);
}

TEST_F(Noise, SnowXX) {
  const vector_counts c = run_file("snow-25519-ChaChaPoly-BLAKE2b.json", "XX");
  EXPECT_EQ(c.total_ran(), 1);
}

// Every non-PSK pattern of a vector file runs (one vector each); PSK and deferred patterns are
// counted as skipped. The files name 21 (cacophony) or 13 (snow) PSK patterns, 23 deferred.
void expect_all_non_psk_patterns(const std::string& file, std::size_t psk) {
  const vector_counts c = run_file(file);
  report(file, c);
  EXPECT_EQ(c.total_ran(), 15);
  for (const auto& p : supported_patterns) EXPECT_EQ(c.ran.count(p), 1u) << p;
  EXPECT_EQ(c.skipped_psk.size(), psk);
  EXPECT_EQ(c.skipped_unsupported.size(), 23u);
}

TEST_F(Noise, CacophonyAllNonPskPatterns) {
  expect_all_non_psk_patterns("cacophony-25519-ChaChaPoly-BLAKE2b.json", 21);
}

TEST_F(Noise, SnowAllNonPskPatterns) {
  expect_all_non_psk_patterns("snow-25519-ChaChaPoly-BLAKE2b.json", 13);
}

// The same, with AESGCM (Noise section 12.4): the transport messages of every vector check the
// big-endian nonce. The cacophony file also has handshake hashes.
TEST_F(Noise, CacophonyAesGcmAllNonPskPatterns) {
  if (!crypto::noise::aesgcm_available()) GTEST_SKIP() << "no AES-NI: AESGCM is never used here";
  expect_all_non_psk_patterns("cacophony-25519-AESGCM-BLAKE2b.json", 21);
}

TEST_F(Noise, SnowAesGcmAllNonPskPatterns) {
  if (!crypto::noise::aesgcm_available()) GTEST_SKIP() << "no AES-NI: AESGCM is never used here";
  expect_all_non_psk_patterns("snow-25519-AESGCM-BLAKE2b.json", 13);
}

// ---- errors and configuration ---------------------------------------------------------------

TEST_F(Noise, ErrorCategory) {
  EXPECT_STREQ(noise_category().name(), "noise");
  std::error_code ec = noise_errc::bad_mac;  // is_error_code_enum makes this implicit
  EXPECT_EQ(ec, err(noise_errc::bad_mac));
  EXPECT_EQ(&ec.category(), &noise_category());
  std::set<std::string> seen;
  for (int e = static_cast<int>(noise_errc::bad_mac);
       e <= static_cast<int>(noise_errc::unsupported_protocol); ++e) {
    const std::string m = make_error_code(static_cast<noise_errc>(e)).message();
    EXPECT_FALSE(m.empty());
    EXPECT_TRUE(seen.insert(m).second) << m;
  }
}

TEST_F(Noise, RejectsUnknownProtocolsAndMissingKeys) {
  crypto::scripted_random rng;
  const key_pair s = key_from(1);
  EXPECT_EQ(
      handshake_state::create({"Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b", true, {}, &s, nullptr}, rng)
          .error(),
      err(noise_errc::unsupported_protocol));
  EXPECT_EQ(
      handshake_state::create({"Noise_XX_25519_AESGCM_SHA256", true, {}, &s, nullptr}, rng).error(),
      err(noise_errc::unsupported_protocol));
  EXPECT_EQ(handshake_state::create({"Noise_XX_25519_AESGCM", true, {}, &s, nullptr}, rng).error(),
            err(noise_errc::unsupported_protocol));
  EXPECT_EQ(
      handshake_state::create({"Noise__25519_AESGCM_BLAKE2b", true, {}, &s, nullptr}, rng).error(),
      err(noise_errc::unsupported_protocol));
  if (crypto::noise::aesgcm_available()) {
    EXPECT_TRUE(handshake_state::create({protocol_name_aesgcm, true, {}, &s, nullptr}, rng));
  }
  EXPECT_EQ(handshake_state::create({"Noise_XX_448_ChaChaPoly_BLAKE2b", true, {}, &s, nullptr}, rng)
                .error(),
            err(noise_errc::unsupported_protocol));
  EXPECT_EQ(handshake_state::create({protocol_name, true, {}, nullptr, nullptr}, rng).error(),
            err(noise_errc::missing_key));
  EXPECT_EQ(
      handshake_state::create({"Noise_IK_25519_ChaChaPoly_BLAKE2b", true, {}, &s, nullptr}, rng)
          .error(),
      err(noise_errc::missing_key));
  EXPECT_TRUE(handshake_state::create(
      {"Noise_NN_25519_ChaChaPoly_BLAKE2b", true, {}, nullptr, nullptr}, rng));
}

// ---- cipher_state ---------------------------------------------------------------------------

std::pair<cipher_state, cipher_state> keyed_pair() {
  cipher_state a, b;
  const bytes k(32, 0x42);
  a.initialize_key(k);
  b.initialize_key(k);
  return {std::move(a), std::move(b)};
}

TEST_F(Noise, CipherStateWithoutKeyPassesThrough) {
  cipher_state c;
  EXPECT_FALSE(c.has_key());
  bytes out;
  ASSERT_TRUE(c.encrypt_with_ad(cipher::chachapoly, as_bytes("ad"), as_bytes("plain"), out));
  EXPECT_EQ(as_chars(out), "plain");
  EXPECT_EQ(c.nonce(), 0u);
}

TEST_F(Noise, DecryptFailureDoesNotAdvanceNonce) {
  auto [a, b] = keyed_pair();
  bytes ct;
  ASSERT_TRUE(a.encrypt_with_ad(cipher::chachapoly, {}, as_bytes("hello"), ct));
  bytes bad = ct;
  bad[0] ^= 1;
  bytes pt = {9};
  EXPECT_EQ(b.decrypt_with_ad(cipher::chachapoly, {}, bad, pt).error(), err(noise_errc::bad_mac));
  EXPECT_EQ(b.nonce(), 0u);
  EXPECT_EQ(pt, bytes{9});  // output untouched on error
  EXPECT_EQ(b.decrypt_with_ad(cipher::chachapoly, as_bytes("other ad"), ct, pt).error(),
            err(noise_errc::bad_mac));
  EXPECT_EQ(b.nonce(), 0u);
  ASSERT_TRUE(b.decrypt_with_ad(cipher::chachapoly, {}, ct, pt));
  EXPECT_EQ(b.nonce(), 1u);
  EXPECT_EQ(as_chars(byte_view(pt).subspan(1)), "hello");
}

TEST_F(Noise, NonceExhaustionFailsInsteadOfWrapping) {
  constexpr std::uint64_t last = UINT64_MAX - 1;  // the last usable nonce; 2^64-1 is reserved
  auto [a, b] = keyed_pair();
  a.set_nonce(last);
  b.set_nonce(last);
  bytes ct, pt;
  ASSERT_TRUE(a.encrypt_with_ad(cipher::chachapoly, {}, as_bytes("x"), ct));
  ASSERT_TRUE(b.decrypt_with_ad(cipher::chachapoly, {}, ct, pt));
  EXPECT_EQ(a.nonce(), UINT64_MAX);
  bytes more;
  EXPECT_EQ(a.encrypt_with_ad(cipher::chachapoly, {}, as_bytes("y"), more).error(),
            err(noise_errc::nonce_exhausted));
  EXPECT_TRUE(more.empty());
  EXPECT_EQ(b.decrypt_with_ad(cipher::chachapoly, {}, ct, pt).error(),
            err(noise_errc::nonce_exhausted));
  EXPECT_EQ(a.nonce(), UINT64_MAX);
}

TEST_F(Noise, CipherStateLimits) {
  auto [a, b] = keyed_pair();
  bytes out;
  EXPECT_EQ(a.encrypt_with_ad(cipher::chachapoly, {}, bytes(max_plaintext + 1), out).error(),
            err(noise_errc::too_long));
  EXPECT_EQ(b.decrypt_with_ad(cipher::chachapoly, {}, bytes(max_message + 1), out).error(),
            err(noise_errc::too_long));
  EXPECT_EQ(b.decrypt_with_ad(cipher::chachapoly, {}, bytes(tag_size - 1), out).error(),
            err(noise_errc::truncated));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(a.encrypt_with_ad(cipher::chachapoly, {}, bytes(max_plaintext, 7), out));
  EXPECT_EQ(out.size(), max_message);
  bytes pt;
  ASSERT_TRUE(b.decrypt_with_ad(cipher::chachapoly, {}, out, pt));
  EXPECT_EQ(pt, bytes(max_plaintext, 7));
}

TEST_F(Noise, RekeyKeepsPeersInStepAndNonceUnchanged) {
  auto [a, b] = keyed_pair();
  bytes ct, pt;
  ASSERT_TRUE(a.encrypt_with_ad(cipher::chachapoly, {}, as_bytes("one"), ct));
  ASSERT_TRUE(b.decrypt_with_ad(cipher::chachapoly, {}, ct, pt));
  a.rekey(cipher::chachapoly);
  EXPECT_EQ(a.nonce(), 1u);
  ct.clear();
  ASSERT_TRUE(a.encrypt_with_ad(cipher::chachapoly, {}, as_bytes("two"), ct));
  EXPECT_EQ(b.decrypt_with_ad(cipher::chachapoly, {}, ct, pt).error(),
            err(noise_errc::bad_mac));  // b not rekeyed
  b.rekey(cipher::chachapoly);
  pt.clear();
  ASSERT_TRUE(b.decrypt_with_ad(cipher::chachapoly, {}, ct, pt));
  EXPECT_EQ(as_chars(pt), "two");
}

TEST_F(Noise, AesGcmCipherStateAlwaysUsesTheKeyItHoldsNow) {
  if (!crypto::noise::aesgcm_available()) GTEST_SKIP() << "no AES-NI";
  namespace prim = crypto::noise;
  // Expected ciphertexts from the one-shot AEAD, which keeps nothing between calls.
  const auto one_shot = [](const bytes& key, std::uint64_t n, std::string_view text) {
    bytes out(text.size() + tag_size);
    prim::encrypt(cipher::aesgcm, std::span<const byte, prim::cipher_key_len>(key.data(), 32), n,
                  {}, as_bytes(text), out);
    return out;
  };
  const auto seal = [](cipher_state& c, std::string_view text) {
    bytes out;
    EXPECT_TRUE(c.encrypt_with_ad(cipher::aesgcm, {}, as_bytes(text), out));
    return out;
  };
  const bytes k1(32, 1), k2(32, 2), k3(32, 3);
  cipher_state a;
  a.initialize_key(k1);
  EXPECT_EQ(seal(a, "under k1"), one_shot(k1, 0, "under k1"));
  // A new key on the same object: the expansion of k1 must not be used again.
  a.initialize_key(k2);
  EXPECT_EQ(seal(a, "under k2"), one_shot(k2, 0, "under k2"));
  // Rekey: the next message is under REKEY(k2), nonce unchanged.
  bytes k2_next = k2;
  prim::rekey(cipher::aesgcm, std::span<byte, prim::cipher_key_len>(k2_next.data(), 32));
  a.rekey(cipher::aesgcm);
  EXPECT_EQ(seal(a, "after rekey"), one_shot(k2_next, 1, "after rekey"));
  // Moved over by a state whose key was expanded last: a seals under k3 from then on.
  cipher_state b;
  b.initialize_key(k3);
  EXPECT_EQ(seal(b, "b"), one_shot(k3, 0, "b"));
  EXPECT_EQ(seal(a, "a again"), one_shot(k2_next, 2, "a again"));  // a's key expanded last
  a = std::move(b);
  EXPECT_EQ(seal(a, "a is b"), one_shot(k3, 1, "a is b"));
  cipher_state c(std::move(a));
  EXPECT_EQ(seal(c, "c is b"), one_shot(k3, 2, "c is b"));
  // And the peer opens it all with its own states, the keys expanded by turns.
  cipher_state r1, r3;
  r1.initialize_key(k1);
  r3.initialize_key(k3);
  bytes pt;
  ASSERT_TRUE(r1.decrypt_with_ad(cipher::aesgcm, {}, one_shot(k1, 0, "one"), pt));
  ASSERT_TRUE(r3.decrypt_with_ad(cipher::aesgcm, {}, one_shot(k3, 0, "three"), pt));
  ASSERT_TRUE(r1.decrypt_with_ad(cipher::aesgcm, {}, one_shot(k1, 1, "one more"), pt));
  EXPECT_EQ(as_chars(pt), "onethreeone more");
}

// ---- handshake failures ---------------------------------------------------------------------

struct xx_pair {
  key_pair is = key_from(1), rs = key_from(2);
  crypto::scripted_random irng, rrng;
  noise_session init{role::initiator, is, irng};
  noise_session resp{role::responder, rs, rrng};
};

const std::array<std::string_view, 3> hs_payloads = {"first (cleartext)", "second", "third"};

// Runs the three XX messages, flipping one bit of message `tamper` at byte `pos` (if tamper >= 0).
// Returns the index of the message whose write or read failed and the error, or {-1, {}}.
std::pair<int, std::error_code> run_xx(noise_session& init, noise_session& resp, int tamper = -1,
                                       std::size_t pos = 0) {
  for (int m = 0; m < 3; ++m) {
    noise_session& w = m % 2 == 0 ? init : resp;
    noise_session& r = m % 2 == 0 ? resp : init;
    auto msg = w.write_handshake(as_bytes(hs_payloads[static_cast<std::size_t>(m)]));
    if (!msg) return {m, msg.error()};
    if (m == tamper) (*msg)[pos] ^= static_cast<byte>(1u << (pos % 8));
    auto payload = r.read_handshake(*msg);
    if (!payload) return {m, payload.error()};
    // Message 1's payload is cleartext, so a flip there only changes what was read.
    if (m != tamper && as_chars(*payload) != hs_payloads[static_cast<std::size_t>(m)]) {
      return {m, {}};
    }
  }
  return {-1, {}};
}

void expect_unusable(noise_session& s) {
  EXPECT_FALSE(s.handshake_done());
  EXPECT_FALSE(s.my_turn());
  EXPECT_EQ(s.write_handshake({}).error(), err(noise_errc::failed));
  EXPECT_EQ(s.read_handshake(bytes(100)).error(), err(noise_errc::failed));
  EXPECT_EQ(s.encrypt(as_bytes("x")).error(), err(noise_errc::failed));
  EXPECT_EQ(s.decrypt(bytes(32)).error(), err(noise_errc::failed));
  EXPECT_TRUE(s.handshake_hash().empty());
}

TEST_F(Noise, FlippedBitInEveryHandshakeByteFails) {
  // Message lengths with our payloads: 32 + 17, 32 + 48 + 6 + 16, 48 + 5 + 16.
  const std::array<std::size_t, 3> lengths = {32 + hs_payloads[0].size(),
                                              32 + 48 + hs_payloads[1].size() + 16,
                                              48 + hs_payloads[2].size() + 16};
  // A tampered message 1 is only detected by the MAC of message 2 (its payload is cleartext).
  const std::array<int, 3> fails_at = {1, 1, 2};
  int cases = 0;
  for (int m = 0; m < 3; ++m) {
    for (std::size_t pos = 0; pos < lengths[static_cast<std::size_t>(m)]; ++pos) {
      SCOPED_TRACE("message " + std::to_string(m) + " byte " + std::to_string(pos));
      xx_pair p;
      const auto [at, ec] = run_xx(p.init, p.resp, m, pos);
      EXPECT_EQ(at, fails_at[static_cast<std::size_t>(m)]);
      EXPECT_EQ(ec, err(noise_errc::bad_mac));
      expect_unusable(at == 1 ? p.init : p.resp);
      ++cases;
    }
  }
  EXPECT_EQ(cases, 49 + 102 + 69);
}

TEST_F(Noise, TruncatedHandshakeMessagesFail) {
  auto truncated_at = [](int m, std::size_t keep) {
    xx_pair p;
    for (int i = 0; i < m; ++i) {
      noise_session& w = i % 2 == 0 ? p.init : p.resp;
      noise_session& r = i % 2 == 0 ? p.resp : p.init;
      auto msg = w.write_handshake({});
      if (!msg || !r.read_handshake(*msg)) return std::error_code{};
    }
    noise_session& w = m % 2 == 0 ? p.init : p.resp;
    noise_session& r = m % 2 == 0 ? p.resp : p.init;
    auto msg = w.write_handshake({});
    if (!msg || keep > msg->size()) return std::error_code{};
    msg->resize(keep);
    const auto got = r.read_handshake(*msg);
    if (got) return std::error_code{};
    EXPECT_EQ(r.write_handshake({}).error(), err(noise_errc::failed));
    return got.error();
  };
  EXPECT_EQ(truncated_at(0, 0), err(noise_errc::truncated));
  EXPECT_EQ(truncated_at(0, 31), err(noise_errc::truncated));
  EXPECT_EQ(truncated_at(1, 31), err(noise_errc::truncated));            // inside e
  EXPECT_EQ(truncated_at(1, 32 + 47), err(noise_errc::truncated));       // inside encrypted s
  EXPECT_EQ(truncated_at(1, 32 + 48 + 15), err(noise_errc::truncated));  // inside payload tag
  EXPECT_EQ(truncated_at(1, 32 + 48), err(noise_errc::truncated));
  EXPECT_EQ(truncated_at(2, 0), err(noise_errc::truncated));
  EXPECT_EQ(truncated_at(2, 47), err(noise_errc::truncated));
  EXPECT_EQ(truncated_at(2, 48 + 15), err(noise_errc::truncated));
}

TEST_F(Noise, ExtraTrailingBytesFailTheMac) {
  xx_pair p;
  auto m1 = p.init.write_handshake({});
  ASSERT_TRUE(m1);
  ASSERT_TRUE(p.resp.read_handshake(*m1));
  auto m2 = p.resp.write_handshake({});
  ASSERT_TRUE(m2);
  m2->push_back(0);
  EXPECT_EQ(p.init.read_handshake(*m2).error(), err(noise_errc::bad_mac));
  expect_unusable(p.init);
}

TEST_F(Noise, WrongPrologueFailsAtMessageTwo) {
  const key_pair is = key_from(1), rs = key_from(2);
  crypto::scripted_random irng, rrng;
  auto init =
      handshake_state::create({protocol_name, true, as_bytes("relaychat/1"), &is, nullptr}, irng);
  auto resp =
      handshake_state::create({protocol_name, false, as_bytes("relaychat/2"), &rs, nullptr}, rrng);
  ASSERT_TRUE(init);
  ASSERT_TRUE(resp);
  bytes m1, m2, payload;
  ASSERT_TRUE(init->write_message({}, m1));
  ASSERT_TRUE(resp->read_message(m1, payload));  // message 1 has no key yet to catch it
  ASSERT_TRUE(resp->write_message({}, m2));
  EXPECT_EQ(init->read_message(m2, payload).error(), err(noise_errc::bad_mac));
  EXPECT_TRUE(init->failed());
  EXPECT_EQ(init->write_message({}, m1).error(), err(noise_errc::failed));
  EXPECT_EQ(init->split().error(), err(noise_errc::failed));
}

// Points of small order (0, 1, the two of order 8, p-1), which X25519 maps to zero.
const char* const low_order_points[] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
    "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};

TEST_F(Noise, LowOrderEphemeralFromInitiatorFails) {
  for (const char* point : low_order_points) {
    SCOPED_TRACE(point);
    xx_pair p;
    const bytes m1 = hex(point);  // message 1 is just e (empty payload)
    ASSERT_TRUE(p.resp.read_handshake(m1));
    EXPECT_EQ(p.resp.write_handshake({}).error(), err(noise_errc::low_order_key));  // DH(e, re)
    expect_unusable(p.resp);
  }
}

TEST_F(Noise, LowOrderEphemeralFromResponderFails) {
  for (const char* point : low_order_points) {
    SCOPED_TRACE(point);
    xx_pair p;
    auto m1 = p.init.write_handshake({});
    ASSERT_TRUE(m1);
    ASSERT_TRUE(p.resp.read_handshake(*m1));
    auto m2 = p.resp.write_handshake({});
    ASSERT_TRUE(m2);
    const bytes bad = hex(point);
    std::copy(bad.begin(), bad.end(), m2->begin());
    EXPECT_EQ(p.init.read_handshake(*m2).error(), err(noise_errc::low_order_key));
    expect_unusable(p.init);
  }
}

TEST_F(Noise, OutOfTurnCallsAreRejectedWithoutPoisoning) {
  xx_pair p;
  EXPECT_FALSE(p.resp.my_turn());
  EXPECT_EQ(p.resp.write_handshake({}).error(), err(noise_errc::wrong_turn));
  EXPECT_EQ(p.init.read_handshake(bytes(32)).error(), err(noise_errc::wrong_turn));
  EXPECT_EQ(p.init.encrypt(as_bytes("early")).error(), err(noise_errc::not_ready));
  EXPECT_EQ(p.resp.decrypt(bytes(32)).error(), err(noise_errc::not_ready));
  EXPECT_TRUE(p.init.handshake_hash().empty());
  EXPECT_EQ(run_xx(p.init, p.resp).first, -1);
  EXPECT_EQ(p.init.write_handshake({}).error(), err(noise_errc::wrong_turn));
  EXPECT_EQ(p.resp.read_handshake(bytes(64)).error(), err(noise_errc::wrong_turn));
  EXPECT_TRUE(p.init.encrypt(as_bytes("still fine")));
}

TEST_F(Noise, HandshakeMessageLimit) {
  {
    xx_pair p;  // message 1 is e (32 bytes) + cleartext payload
    auto m1 = p.init.write_handshake(bytes(max_message - 32, 1));
    ASSERT_TRUE(m1);
    EXPECT_EQ(m1->size(), max_message);
    EXPECT_TRUE(p.resp.read_handshake(*m1));
  }
  {
    xx_pair p;
    EXPECT_EQ(p.init.write_handshake(bytes(max_message - 31, 1)).error(),
              err(noise_errc::too_long));
    expect_unusable(p.init);
  }
  {
    xx_pair p;
    EXPECT_EQ(p.resp.write_handshake({}).error(), err(noise_errc::wrong_turn));
    auto m1 = p.init.write_handshake({});
    ASSERT_TRUE(m1);
    EXPECT_EQ(p.resp.read_handshake(bytes(max_message + 1)).error(), err(noise_errc::too_long));
    expect_unusable(p.resp);
  }
}

// ---- noise_session --------------------------------------------------------------------------

TEST_F(Noise, ASessionThatKeepsNoDetailsStillTalksButForgetsThePeerKeyAndHash) {
  key_pair is = key_from(1), rs = key_from(2);
  crypto::scripted_random irng, rrng;
  noise_session init{role::initiator, is, irng};
  noise_session resp{role::responder, rs, rrng, /*keep_details=*/false};
  const auto [failed_at, ec] = run_xx(init, resp);
  ASSERT_EQ(failed_at, -1) << ec.message();
  ASSERT_TRUE(resp.handshake_done());
  EXPECT_EQ(resp.remote_static(), nullptr);
  EXPECT_TRUE(resp.handshake_hash().empty());
  EXPECT_EQ(init.handshake_hash().size(), hash_size);  // the other side kept them
  auto c = init.encrypt(as_bytes("still works"));
  ASSERT_TRUE(c);
  auto p = resp.decrypt(*c);
  ASSERT_TRUE(p);
  EXPECT_EQ(as_chars(*p), "still works");
  auto back = resp.encrypt(as_bytes("both ways"));
  ASSERT_TRUE(back);
  EXPECT_EQ(as_chars(*init.decrypt(*back)), "both ways");
  // The relay holds one per connection: the details are not inline, and each transport key is
  // one pointer into the shared 32-byte slots, plus its id for AESGCM's expanded-key cache
  // (56 bytes before the ids: they save the key expansion on most messages of a busy peer).
  EXPECT_LE(sizeof(noise_session), 72u);
}

TEST_F(Noise, SessionRoundTrip) {
  const key_pair is = key_pair::generate(crypto::os_random());
  const key_pair rs = key_pair::generate(crypto::os_random());
  noise_session init(role::initiator, is, crypto::os_random());
  noise_session resp(role::responder, rs, crypto::os_random());

  EXPECT_TRUE(init.my_turn());
  EXPECT_FALSE(resp.my_turn());
  EXPECT_EQ(init.remote_static(), nullptr);
  auto m1 = init.write_handshake(as_bytes("hello"));
  ASSERT_TRUE(m1);
  EXPECT_EQ(m1->size(), 32u + 5u);
  auto p1 = resp.read_handshake(*m1);
  ASSERT_TRUE(p1);
  EXPECT_EQ(as_chars(*p1), "hello");
  EXPECT_TRUE(resp.my_turn());

  auto m2 = resp.write_handshake({});
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->size(), 96u);
  ASSERT_TRUE(init.read_handshake(*m2));
  ASSERT_NE(init.remote_static(), nullptr);  // the pin can be checked before message 3
  EXPECT_EQ(*init.remote_static(), rs.pub());
  EXPECT_EQ(resp.remote_static(), nullptr);
  EXPECT_FALSE(init.handshake_done());

  // Moving mid-handshake keeps the state.
  noise_session moved = std::move(init);
  auto m3 = moved.write_handshake(as_bytes("login"));
  ASSERT_TRUE(m3);
  EXPECT_EQ(m3->size(), 64u + 5u);
  EXPECT_TRUE(moved.handshake_done());
  auto p3 = resp.read_handshake(*m3);
  ASSERT_TRUE(p3);
  EXPECT_EQ(as_chars(*p3), "login");
  EXPECT_TRUE(resp.handshake_done());
  EXPECT_FALSE(resp.my_turn());
  EXPECT_FALSE(moved.my_turn());

  ASSERT_NE(resp.remote_static(), nullptr);
  EXPECT_EQ(*resp.remote_static(), is.pub());
  EXPECT_EQ(*moved.remote_static(), rs.pub());
  ASSERT_EQ(moved.handshake_hash().size(), hash_size);
  EXPECT_EQ(to_hex(moved.handshake_hash()), to_hex(resp.handshake_hash()));

  for (int i = 0; i < 4; ++i) {
    const std::string up = "up " + std::to_string(i), down = "down " + std::to_string(i);
    auto c = moved.encrypt(as_bytes(up));
    ASSERT_TRUE(c);
    EXPECT_EQ(c->size(), up.size() + tag_size);
    auto d = resp.decrypt(*c);
    ASSERT_TRUE(d);
    EXPECT_EQ(as_chars(*d), up);
    auto c2 = resp.encrypt(as_bytes(down));
    ASSERT_TRUE(c2);
    auto d2 = moved.decrypt(*c2);
    ASSERT_TRUE(d2);
    EXPECT_EQ(as_chars(*d2), down);
  }
  // The moved-from session never sends plaintext.
  EXPECT_FALSE(init.encrypt(as_bytes("x")));  // NOLINT(bugprone-use-after-move)
}

TEST_F(Noise, SessionsWithDifferentStaticKeysStillComplete) {
  // XX authenticates keys but does not pin them: the caller compares remote_static().
  xx_pair p;
  EXPECT_EQ(run_xx(p.init, p.resp).first, -1);
  EXPECT_EQ(*p.init.remote_static(), p.rs.pub());
  EXPECT_EQ(*p.resp.remote_static(), p.is.pub());
  EXPECT_NE(*p.init.remote_static(), key_from(3).pub());
}

TEST_F(Noise, TransportReplayAndReorderFail) {
  xx_pair p;
  ASSERT_EQ(run_xx(p.init, p.resp).first, -1);
  auto c0 = p.init.encrypt(as_bytes("zero"));
  auto c1 = p.init.encrypt(as_bytes("one"));
  auto c2 = p.init.encrypt(as_bytes("two"));
  ASSERT_TRUE(c0 && c1 && c2);
  ASSERT_TRUE(p.resp.decrypt(*c0));
  EXPECT_EQ(p.resp.decrypt(*c0).error(), err(noise_errc::bad_mac));  // replay
  EXPECT_EQ(p.resp.decrypt(*c2).error(), err(noise_errc::bad_mac));  // skips one
  auto d1 = p.resp.decrypt(*c1);  // failures did not advance the nonce
  ASSERT_TRUE(d1);
  EXPECT_EQ(as_chars(*d1), "one");
  auto d2 = p.resp.decrypt(*c2);
  ASSERT_TRUE(d2);
  EXPECT_EQ(as_chars(*d2), "two");
  EXPECT_EQ(p.resp.decrypt(*c1).error(), err(noise_errc::bad_mac));  // old message again
  // A message reflected back to its sender fails too (different key per direction).
  auto c3 = p.init.encrypt(as_bytes("three"));
  ASSERT_TRUE(c3);
  EXPECT_EQ(p.init.decrypt(*c3).error(), err(noise_errc::bad_mac));
}

TEST_F(Noise, TransportLimits) {
  xx_pair p;
  ASSERT_EQ(run_xx(p.init, p.resp).first, -1);
  EXPECT_EQ(p.init.encrypt(bytes(max_plaintext + 1)).error(), err(noise_errc::too_long));
  bytes out = {0xaa};
  EXPECT_EQ(p.init.encrypt_into(bytes(max_plaintext + 1), out).error(), err(noise_errc::too_long));
  EXPECT_EQ(out, bytes{0xaa});
  auto big = p.init.encrypt(bytes(max_plaintext, 3));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->size(), max_message);
  auto back = p.resp.decrypt(*big);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, bytes(max_plaintext, 3));
  EXPECT_EQ(p.resp.decrypt(bytes(max_message + 1)).error(), err(noise_errc::too_long));
  EXPECT_EQ(p.resp.decrypt(bytes(tag_size - 1)).error(), err(noise_errc::truncated));
  auto empty = p.init.encrypt({});
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->size(), tag_size);
  auto none = p.resp.decrypt(*empty);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(Noise, EncryptIntoAppendsFrames) {
  xx_pair p;
  ASSERT_EQ(run_xx(p.init, p.resp).first, -1);
  const std::array<std::string_view, 3> frames = {"alpha", "", "gamma gamma"};
  bytes batch = {0x00, 0x01};  // whatever the server already queued
  for (auto f : frames) ASSERT_TRUE(p.resp.encrypt_into(as_bytes(f), batch));
  std::size_t off = 2;
  for (auto f : frames) {
    const std::size_t n = f.size() + tag_size;
    auto d = p.init.decrypt(byte_view(batch).subspan(off, n));
    ASSERT_TRUE(d);
    EXPECT_EQ(as_chars(*d), f);
    off += n;
  }
  EXPECT_EQ(off, batch.size());
}

TEST_F(Noise, KnownEphemeralsGiveKnownTranscript) {
  // Same keys and ephemerals on both runs: the same bytes and the same handshake hash.
  auto transcript = [] {
    xx_pair p;
    p.irng.push(bytes(32, 0x10));
    p.rrng.push(bytes(32, 0x20));
    bytes all;
    for (int m = 0; m < 3; ++m) {
      noise_session& w = m % 2 == 0 ? p.init : p.resp;
      noise_session& r = m % 2 == 0 ? p.resp : p.init;
      auto msg = w.write_handshake({});
      EXPECT_TRUE(msg && r.read_handshake(*msg));
      all.insert(all.end(), msg->begin(), msg->end());
    }
    const byte_view h = p.init.handshake_hash();
    all.insert(all.end(), h.begin(), h.end());
    return all;
  };
  EXPECT_EQ(transcript(), transcript());
}

// ---- cipher negotiation (docs/protocol.md, section 4.3) -------------------------------------

struct negotiating_pair {
  key_pair is = key_from(1), rs = key_from(2);
  crypto::scripted_random irng, rrng;
  noise_session init, resp;
  negotiating_pair(cipher_choice client, cipher_choice relay)
      : init{role::initiator, is, irng, true, client},
        resp{role::responder, rs, rrng, true, relay} {}
};

constexpr cipher_choice both = cipher_choice::aesgcm_if_available;
constexpr cipher_choice plain_xx = cipher_choice::chachapoly;

TEST_F(Noise, AesGcmOnlyWhenBothSidesWantItAndPayloadsPassUnchanged) {
  for (const cipher_choice client : {both, plain_xx}) {
    for (const cipher_choice relay : {both, plain_xx}) {
      SCOPED_TRACE(std::string("client ") + (client == both ? "offers" : "does not offer") +
                   ", relay " + (relay == both ? "accepts" : "refuses"));
      negotiating_pair p(client, relay);
      for (int m = 0; m < 3; ++m) {
        noise_session& w = m % 2 == 0 ? p.init : p.resp;
        noise_session& r = m % 2 == 0 ? p.resp : p.init;
        // A client that does not negotiate sends message 1 with an empty payload, as the
        // protocol requires (a negotiating relay reads its first byte as the offer).
        const std::string_view sent =
            m == 0 && client == plain_xx ? "" : hs_payloads[static_cast<std::size_t>(m)];
        auto msg = w.write_handshake(as_bytes(sent));
        ASSERT_TRUE(msg) << msg.error().message();
        auto got = r.read_handshake(*msg);
        ASSERT_TRUE(got) << got.error().message();
        // The offer byte is added and removed by negotiating sessions, so their callers read
        // what was written; a plain responder sees it in front of message 1's payload.
        if (m == 0 && client == both && relay == plain_xx) {
          ASSERT_FALSE(got->empty());
          EXPECT_EQ(got->front(), crypto::noise::aesgcm_available() ? offer_aesgcm : byte{0});
          got->erase(got->begin());
        }
        EXPECT_EQ(as_chars(*got), sent);
      }
      const cipher want = client == both && relay == both && crypto::noise::aesgcm_available()
                              ? cipher::aesgcm
                              : cipher::chachapoly;
      EXPECT_EQ(p.init.cipher_function(), want);
      EXPECT_EQ(p.resp.cipher_function(), want);
      EXPECT_EQ(to_hex(p.init.handshake_hash()), to_hex(p.resp.handshake_hash()));
      for (int i = 0; i < 3; ++i) {
        auto ct = p.init.encrypt(as_bytes("to the relay"));
        ASSERT_TRUE(ct);
        auto pt = p.resp.decrypt(*ct);
        ASSERT_TRUE(pt);
        EXPECT_EQ(as_chars(*pt), "to the relay");
        auto back = p.resp.encrypt(as_bytes("to the client"));
        ASSERT_TRUE(back);
        auto got = p.init.decrypt(*back);
        ASSERT_TRUE(got);
        EXPECT_EQ(as_chars(*got), "to the client");
      }
    }
  }
}

TEST_F(Noise, OfferIsTheFirstCleartextByteOfMessage1) {
  negotiating_pair offered(both, both), silent(plain_xx, both);
  auto m1 = offered.init.write_handshake({});
  auto m1_plain = silent.init.write_handshake({});
  ASSERT_TRUE(m1);
  ASSERT_TRUE(m1_plain);
  if (!crypto::noise::aesgcm_available()) GTEST_SKIP() << "no AES-NI: nothing is offered";
  ASSERT_EQ(m1->size(), 33u);
  EXPECT_EQ(m1->back(), offer_aesgcm);
  EXPECT_EQ(m1_plain->size(), 32u);
  // The same ephemeral key either way (same scripted randomness): only the offer differs.
  EXPECT_TRUE(std::equal(m1_plain->begin(), m1_plain->end(), m1->begin()));
}

// Message 1 is cleartext, but its payload is mixed into h, so whoever changes the offer on
// the path makes message 2 fail for the client under both ciphers: no silent downgrade.
TEST_F(Noise, ChangingTheOfferOnThePathFailsTheHandshake) {
  if (!crypto::noise::aesgcm_available()) GTEST_SKIP() << "no AES-NI: nothing is offered";
  auto after_tamper = [](cipher_choice client, auto tamper, cipher relay_picks) {
    negotiating_pair p(client, both);
    auto m1 = p.init.write_handshake({});
    EXPECT_TRUE(m1);
    if (!m1) return;
    tamper(*m1);
    ASSERT_TRUE(p.resp.read_handshake(*m1));
    EXPECT_EQ(p.resp.cipher_function(), relay_picks);
    auto m2 = p.resp.write_handshake({});
    ASSERT_TRUE(m2);
    EXPECT_EQ(p.init.read_handshake(*m2).error(), err(noise_errc::bad_mac));
    expect_unusable(p.init);
  };
  // Offer removed: the relay picks ChaChaPoly, the client's fallback still disagrees on h.
  after_tamper(
      both, [](bytes& m) { m.pop_back(); }, cipher::chachapoly);
  // Offer bit cleared: the same.
  after_tamper(
      both, [](bytes& m) { m.back() = 0x00; }, cipher::chachapoly);
  // Offer added to a client that made none: the relay picks AESGCM, the client cannot read it.
  after_tamper(
      plain_xx, [](bytes& m) { m.push_back(offer_aesgcm); }, cipher::aesgcm);
}

TEST_F(Noise, NegotiatingResponderWaitsForMessage1) {
  negotiating_pair p(both, both);
  EXPECT_FALSE(p.resp.my_turn());
  EXPECT_EQ(p.resp.write_handshake({}).error(), err(noise_errc::wrong_turn));
  EXPECT_EQ(p.resp.read_handshake(bytes(31)).error(), err(noise_errc::truncated));
  expect_unusable(p.resp);
}

}  // namespace
}  // namespace relay::transport
