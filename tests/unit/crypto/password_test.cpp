// Argon2id password hashes: reference-implementation vectors, PHC parsing, dummy hashes.
#include "relay/crypto/password.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "relay/crypto/sodium.hpp"

namespace relay::crypto {
namespace {

const bool sodium_ready = (init(), true);

// Small enough to keep the suite fast.
constexpr argon2_params fast{1, 64, 1};

nlohmann::json load_vectors() {
  std::ifstream in(RELAY_VECTORS_DIR "/argon2id-kat.json");
  EXPECT_TRUE(in.good());
  return nlohmann::json::parse(in);
}

TEST(Password, ReferenceVectorsReproduceAndVerify) {
  const auto all = load_vectors();
  const auto& vs = all.at("reference_impl_src_test_c_argon2id_v19");
  ASSERT_EQ(vs.size(), 8u);
  for (const auto& v : vs) {
    const std::string pwd = v.at("password"), salt = v.at("salt"), encoded = v.at("encoded");
    const argon2_params p{v.at("t_cost").get<std::uint32_t>(),
                          v.at("m_cost_kib").get<std::uint32_t>(),
                          v.at("parallelism").get<std::uint32_t>()};
    SCOPED_TRACE(encoded);
    EXPECT_EQ(hash_password_with_salt(pwd, p, as_bytes(salt)), encoded);
    EXPECT_TRUE(verify_password(encoded, pwd));
    EXPECT_FALSE(verify_password(encoded, pwd + "x"));
    EXPECT_EQ(params_of(encoded), p);
  }
}

TEST(Password, KeptWorkingMemoryGivesTheSameAnswersAcrossSizesAndThreads) {
  // Each thread keeps Argon2's block between hashes: growing, shrinking and releasing it, on
  // several threads at once, must not change a single hash.
  const std::string salt = "0123456789abcdef";
  const argon2_params sizes[] = {{1, 64, 1}, {1, 512, 1}, {1, 64, 1}, {2, 256, 2}};
  std::vector<std::string> expected;
  for (const auto& p : sizes) expected.push_back(hash_password_with_salt("pw", p, as_bytes(salt)));
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 3; ++round) {
        for (std::size_t i = 0; i < std::size(sizes); ++i) {
          if (hash_password_with_salt("pw", sizes[i], as_bytes(salt)) != expected[i]) ++wrong;
          if (!verify_password(expected[i], "pw") || verify_password(expected[i], "pW")) ++wrong;
        }
        release_password_memory();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(Password, VerifyErrorVectorsAreArgon2iAndRejected) {
  const auto all = load_vectors();
  for (const auto& v : all.at("reference_impl_src_test_c_verify_errors")) {
    const std::string encoded = v.at("encoded"), pwd = v.at("password");
    EXPECT_FALSE(verify_password(encoded, pwd)) << encoded;
    EXPECT_FALSE(params_of(encoded)) << encoded;
  }
}

TEST(Password, RoundTrip) {
  const std::string h = hash_password("correct horse", fast, os_random());
  EXPECT_TRUE(verify_password(h, "correct horse"));
  EXPECT_FALSE(verify_password(h, "correct hors"));
  EXPECT_FALSE(verify_password(h, "correct horsf"));
  EXPECT_FALSE(verify_password(h, ""));
}

TEST(Password, EmptyAndBinaryPasswords) {
  const std::string bin("a\0b", 3);
  const std::string h0 = hash_password("", fast, os_random());
  const std::string h1 = hash_password(bin, fast, os_random());
  EXPECT_TRUE(verify_password(h0, ""));
  EXPECT_TRUE(verify_password(h1, bin));
  EXPECT_FALSE(verify_password(h1, "a"));
}

TEST(Password, SaltMakesHashesDiffer) {
  const std::string a = hash_password("same", fast, os_random());
  const std::string b = hash_password("same", fast, os_random());
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password(a, "same"));
  EXPECT_TRUE(verify_password(b, "same"));
}

TEST(Password, SaltComesFromTheRandomSource) {
  scripted_random r1, r2;
  const bytes salt(password_salt_size, 0x42);
  r1.push(salt);
  r2.push(salt);
  const std::string h = hash_password("pw", fast, r1);
  EXPECT_EQ(h, hash_password("pw", fast, r2));
  EXPECT_NE(h.find("$QkJCQkJCQkJCQkJCQkJCQg$"), std::string::npos) << h;
}

TEST(Password, DefaultParamsAppearInTheString) {
  const std::string h = hash_password("pw", argon2_params{}, os_random());
  EXPECT_TRUE(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << h;
  // 16-byte salt and 32-byte tag, unpadded base64.
  const auto salt_at = std::string_view("$argon2id$v=19$m=19456,t=2,p=1$").size();
  const auto tag_at = h.rfind('$') + 1;
  EXPECT_EQ(tag_at - salt_at - 1, 22u);
  EXPECT_EQ(h.size() - tag_at, 43u);
  EXPECT_TRUE(verify_password(h, "pw"));
  EXPECT_EQ(params_of(h), argon2_params{});
}

TEST(Password, InvalidParamsThrow) {
  EXPECT_THROW((void)hash_password("pw", {0, 64, 1}, os_random()), std::invalid_argument);
  EXPECT_THROW((void)hash_password("pw", {1, 4, 1}, os_random()), std::invalid_argument);
  EXPECT_THROW((void)hash_password("pw", {1, 64, 0}, os_random()), std::invalid_argument);
  EXPECT_THROW((void)hash_password_with_salt("pw", fast, as_bytes("short")), std::invalid_argument);
}

TEST(Password, LongPasswordsRejected) {
  const std::string ok(max_password, 'a'), too_long(max_password + 1, 'a');
  const std::string h = hash_password(ok, fast, os_random());
  EXPECT_TRUE(verify_password(h, ok));
  EXPECT_THROW((void)hash_password(too_long, fast, os_random()), std::invalid_argument);
  EXPECT_FALSE(verify_password(h, too_long));
}

TEST(Password, MalformedStringsAreFalseNotThrown) {
  const std::string h = hash_password("pw", fast, os_random());
  ASSERT_TRUE(verify_password(h, "pw"));
  const std::size_t tag_at = h.rfind('$') + 1;
  for (std::size_t n = 0; n < h.size(); ++n) {
    EXPECT_FALSE(verify_password(h.substr(0, n), "pw")) << n;
    // Shorter than a 4-byte tag: not even well formed.
    if (n <= tag_at + 5) {
      EXPECT_FALSE(params_of(h.substr(0, n))) << n;
    }
  }
  const std::string bad[] = {
      "",
      "$argon2id$",
      "$argon2i$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2d$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=16$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$t=1,m=64,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=-64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=064,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=99999999999,t=1,p=1$c29tZXNhbHQ$"
      "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=64,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=64,t=1,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=7,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=64,t=1,p=1$c29tZQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$",
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXP$JO1aFaMa",
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=64,t=1,p=1 $c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\n",
  };
  for (const auto& s : bad) {
    EXPECT_FALSE(verify_password(s, "pw")) << s;
    EXPECT_FALSE(verify_password(s, "password")) << s;
    EXPECT_FALSE(params_of(s)) << s;
  }
  // An embedded NUL must not let a prefix pass for the whole string.
  std::string nul = h;
  nul.insert(nul.size() - 1, 1, '\0');
  EXPECT_FALSE(verify_password(nul, "pw"));
}

TEST(Password, TamperedHashFails) {
  const std::string h = hash_password("pw", fast, os_random());
  for (std::size_t i = h.rfind('$') + 1; i < h.size() - 1; ++i) {
    std::string t = h;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(verify_password(t, "pw")) << t;
  }
}

TEST(Password, DummyHashIsWellFormedAndMatchesNothing) {
  const std::string& d = dummy_hash(fast);
  EXPECT_EQ(params_of(d), fast);
  EXPECT_TRUE(d.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
  EXPECT_FALSE(verify_password(d, ""));
  EXPECT_FALSE(verify_password(d, "pw"));
  EXPECT_FALSE(verify_password(d, "password"));
  EXPECT_EQ(&dummy_hash(fast), &d) << "cached";
  const argon2_params other{1, 128, 1};
  const std::string& d2 = dummy_hash(other);
  EXPECT_EQ(params_of(d2), other);
  EXPECT_NE(d, d2);
  EXPECT_EQ(&dummy_hash(fast), &d);
}

TEST(Password, DummyHashIsComputedOnceAcrossThreads) {
  const argon2_params p{1, 200, 1};
  std::vector<const std::string*> seen(4);
  std::vector<std::thread> ts;
  for (auto& s : seen) ts.emplace_back([&s, p] { s = &dummy_hash(p); });
  for (auto& t : ts) t.join();
  for (const auto* s : seen) EXPECT_EQ(s, seen[0]);
  EXPECT_EQ(params_of(*seen[0]), p);
}

TEST(Password, ParamsOf) {
  EXPECT_EQ(params_of("$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$"
                      "CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"),
            (argon2_params{3, 65536, 4}));
  const std::string h = hash_password("pw", {2, 96, 2}, os_random());
  EXPECT_EQ(params_of(h), (argon2_params{2, 96, 2}));
  EXPECT_NE(params_of(h), argon2_params{}) << "an outdated hash is told apart";
  EXPECT_FALSE(params_of("not a hash"));
}

}  // namespace
}  // namespace relay::crypto
