// Password-encrypted identity key files: round trip, wrong password, damage, hostile costs.
#include "relay/crypto/key_file.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "relay/crypto/sodium.hpp"

namespace relay::crypto {
namespace {

// The cheapest costs libsodium allows, to keep the suite fast.
constexpr key_file_params fast{key_file_opslimit_min, key_file_memlimit_min};

class KeyFile : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { init(); }
  key_pair id_ = key_pair::generate(os_random());
  bytes file_ = seal_key_file(id_, "hunter2", os_random(), fast);

  void expect_error(const bytes& f, key_file_errc e, std::string_view pw = "hunter2") {
    auto r = open_key_file(f, pw);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), e) << r.error().message();
  }
};

TEST_F(KeyFile, RoundTripGivesTheSameKeys) {
  ASSERT_EQ(file_.size(), key_file_size);
  auto r = open_key_file(file_, "hunter2");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->pub(), id_.pub());
  EXPECT_TRUE(equal(r->secret(), id_.secret()));
}

TEST_F(KeyFile, LayoutIsAsDocumented) {
  const bytes head = {'R', 'C', 'K', 'E', 'Y', 1, 0, 0, 0, 0,    0,
                      0,   0,   1,   0,   0,   0, 0, 0, 0, 0x20, 0};
  EXPECT_TRUE(std::equal(head.begin(), head.end(), file_.begin()));
  scripted_random r1, r2;
  EXPECT_EQ(seal_key_file(id_, "pw", r1, fast), seal_key_file(id_, "pw", r2, fast))
      << "salt and nonce come only from the random source";
  EXPECT_NE(seal_key_file(id_, "pw", os_random(), fast),
            seal_key_file(id_, "pw", os_random(), fast));
}

TEST_F(KeyFile, EmptyAndUnicodePasswords) {
  for (std::string_view pw : {std::string_view(""), std::string_view("p\xc3\xa4ssw\xc3\xb6rd"),
                              std::string_view("with\0nul", 8)}) {
    const bytes f = seal_key_file(id_, pw, os_random(), fast);
    auto r = open_key_file(f, pw);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->pub(), id_.pub());
  }
}

TEST_F(KeyFile, WrongPassword) {
  expect_error(file_, key_file_errc::wrong_password, "hunter3");
  expect_error(file_, key_file_errc::wrong_password, "");
  expect_error(file_, key_file_errc::wrong_password, "hunter2 ");
}

TEST_F(KeyFile, EveryTruncatedLengthFails) {
  for (std::size_t n = 0; n < file_.size(); ++n) {
    auto r = open_key_file(byte_view(file_).first(n), "hunter2");
    ASSERT_FALSE(r) << n;
    EXPECT_STREQ(r.error().category().name(), "key_file");
  }
  bytes longer = file_;
  longer.push_back(0);
  expect_error(longer, key_file_errc::bad_format);
}

TEST_F(KeyFile, EveryTamperedByteFails) {
  for (std::size_t i = 0; i < file_.size(); ++i) {
    bytes t = file_;
    t[i] ^= 0x01;
    auto r = open_key_file(t, "hunter2");
    ASSERT_FALSE(r) << "byte " << i;
    if (i >= 22) {  // salt, nonce, box: authenticated by the secretbox
      EXPECT_EQ(r.error(), key_file_errc::wrong_password) << i;
    }
  }
}

TEST_F(KeyFile, BadMagicAndVersion) {
  bytes m = file_;
  m[0] = 'X';
  expect_error(m, key_file_errc::bad_format);
  bytes v = file_;
  v[5] = 2;
  expect_error(v, key_file_errc::unsupported_version);
  v[5] = 0;
  expect_error(v, key_file_errc::unsupported_version);
  expect_error(bytes{'R', 'C', 'K', 'E', 'Y'}, key_file_errc::bad_format);
}

void put_u64(bytes& f, std::size_t at, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) f[at++] = static_cast<byte>(v >> (8 * i));
}

TEST_F(KeyFile, HostileCostsRejectedBeforeDeriving) {
  // Had we derived with these costs we would answer wrong_password (the key changes), and
  // slowly: bad_format, at once, shows the bounds were checked first.
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t bad_mem[] = {key_file_memlimit_max + 1024,
                                   std::uint64_t{1} << 40,
                                   UINT64_MAX,
                                   key_file_memlimit_min - 1,
                                   0,
                                   key_file_memlimit_min + 1};
  for (std::uint64_t mem : bad_mem) {
    bytes t = file_;
    put_u64(t, 14, mem);
    expect_error(t, key_file_errc::bad_format);
  }
  for (std::uint64_t ops : {std::uint64_t{0}, key_file_opslimit_max + 1, UINT64_MAX}) {
    bytes t = file_;
    put_u64(t, 6, ops);
    expect_error(t, key_file_errc::bad_format);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  // In-bounds but different costs derive a different key.
  bytes t = file_;
  put_u64(t, 6, 2);
  expect_error(t, key_file_errc::wrong_password);
}

TEST_F(KeyFile, SealRejectsOutOfBoundsCosts) {
  EXPECT_THROW((void)seal_key_file(id_, "pw", os_random(), {0, key_file_memlimit_min}),
               std::invalid_argument);
  EXPECT_THROW((void)seal_key_file(id_, "pw", os_random(), {17, key_file_memlimit_min}),
               std::invalid_argument);
  EXPECT_THROW((void)seal_key_file(id_, "pw", os_random(), {1, key_file_memlimit_min - 1}),
               std::invalid_argument);
  EXPECT_THROW((void)seal_key_file(id_, "pw", os_random(), {1, key_file_memlimit_max + 1}),
               std::invalid_argument);
  EXPECT_THROW((void)seal_key_file(id_, "pw", os_random(), {1, key_file_memlimit_min + 1}),
               std::invalid_argument);
}

// From a black-box review: an empty, cut or hostile key file was reported as a wrong
// password, with advice to make a new key. What no password can open is said as what it is.
TEST_F(KeyFile, AProblemNoPasswordCanGetPastIsNamed) {
  EXPECT_EQ(key_file_problem(file_), "");
  auto with = [&](auto change) {
    bytes f = file_;
    change(f);
    return key_file_problem(f);
  };
  EXPECT_EQ(with([](bytes& f) { f.clear(); }), "it is empty");
  EXPECT_EQ(with([](bytes& f) { f[0] = 'X'; }),
            "it is not a relaychat key file (it does not start with \"RCKEY\")");
  EXPECT_EQ(with([](bytes& f) { f[5] = 2; }),
            "it is a key file of version 2, which this client does not read (written by a "
            "newer relaychat?)");
  EXPECT_EQ(with([](bytes& f) { f.resize(50); }),
            "it has 50 bytes where a key file has 110 (cut short or damaged)");
  EXPECT_EQ(with([](bytes& f) { f[14 + 2] = 1; }),  // memlimit 2^40
            "the password-hashing costs it names are out of range (damaged or tampered with)");
  // Damage inside the salt, nonce or box is not seen without the password.
  EXPECT_EQ(with([](bytes& f) { f[key_file_size - 1] ^= 1; }), "");
}

TEST(KeyFileDefaults, AreLibsodiumInteractive) {
  const key_file_params p;
  EXPECT_EQ(p.opslimit, 2u);
  EXPECT_EQ(p.memlimit, 64u << 20);
}

}  // namespace
}  // namespace relay::crypto
