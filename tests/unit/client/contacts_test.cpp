#include "relay/client/contacts.hpp"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

namespace relay::client {
namespace {

crypto::public_key key_of(byte b) {
  crypto::public_key k;
  k.fill(b);
  return k;
}

TEST(ContactBook, FirstSightPinsThenSameOrChanged) {
  contact_book book;
  EXPECT_EQ(book.see("bob", key_of(1)), key_check::new_contact);
  EXPECT_EQ(book.see("bob", key_of(1)), key_check::same);
  EXPECT_EQ(book.see("bob", key_of(2)), key_check::changed);
  EXPECT_EQ(book.find("bob")->key, key_of(1));  // a change never replaces the pin by itself
  book.accept("bob", key_of(2));
  EXPECT_EQ(book.see("bob", key_of(2)), key_check::same);
}

TEST(ContactBook, ALookalikeOfAKnownContactIsFound) {
  contact_book book;
  book.see("bob", key_of(1));
  book.see("mallory", key_of(2));
  EXPECT_EQ(book.lookalike_of("b0b"), "bob");
  EXPECT_EQ(book.lookalike_of("rnallory"), "mallory");
  EXPECT_FALSE(book.lookalike_of("bob"));  // itself
  EXPECT_FALSE(book.lookalike_of("bob2"));
}

// Every way a name enters the book is found as a lookalike: read from the file, pinned by
// /accept or /verify, seen; with several, the first by name.
TEST(ContactBook, ALookalikeIsFoundHoweverTheContactCameIn) {
  contact_book seen;
  (void)seen.see("bob", key_of(1));
  auto book = contact_book::parse(seen.serialise());
  ASSERT_TRUE(book);
  EXPECT_EQ(book->lookalike_of("b0b"), "bob");
  book->accept("carol", key_of(2));
  book->verify("da_ve", key_of(3));
  EXPECT_EQ(book->lookalike_of("caro1"), "carol");
  EXPECT_EQ(book->lookalike_of("da-ve"), "da_ve");
  (void)book->see("b0b", key_of(4));
  EXPECT_EQ(book->lookalike_of("b0b"), "bob");
  EXPECT_EQ(book->lookalike_of("bob"), "b0b");
  (void)book->see("rnallory", key_of(5));
  (void)book->see("mallory", key_of(6));
  EXPECT_EQ(book->lookalike_of("mal1ory"), "mallory");  // two look alike: the first by name
  EXPECT_EQ(book->lookalike_of("mallory"), "rnallory");
  book->accept("mallory", key_of(7));  // pinned again: still found, and only once
  EXPECT_EQ(book->lookalike_of("rnallory"), "mallory");
}

TEST(ContactBook, VerifiedChangeIsDistinct) {
  contact_book book;
  book.verify("bob", key_of(1));
  EXPECT_EQ(book.see("bob", key_of(3)), key_check::changed_verified);
  EXPECT_TRUE(book.find("bob")->verified);
  book.accept("bob", key_of(3));
  EXPECT_FALSE(book.find("bob")->verified);
}

TEST(ContactBook, SerialiseRoundTrip) {
  contact_book book;
  (void)book.see("alice", key_of(7));
  book.verify("bob", key_of(9));
  auto again = contact_book::parse(book.serialise());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->find("alice")->key, key_of(7));
  EXPECT_FALSE(again->find("alice")->verified);
  EXPECT_TRUE(again->find("bob")->verified);
}

TEST(ContactBook, DamagedFilesAreRejected) {
  for (const std::string& bad :
       std::vector<std::string>{"bob zz verified\n", "bob " + std::string(64, 'a') + " maybe\n",
                                "Bob " + std::string(64, 'a') + " verified\n",
                                "bob " + std::string(62, 'a') + " verified\n",
                                "bob " + std::string(64, 'a') + " verified extra\n"}) {
    EXPECT_FALSE(contact_book::parse(bad)) << bad;
  }
  EXPECT_TRUE(contact_book::parse("# comment\n\n"));
}

// From a review: a damaged contacts file was refused without saying where or why, unlike
// known_relays; the person mending it by hand had to find the line.
TEST(ContactBook, ADamagedFileSaysWhichLineAndWhy) {
  const std::string good = "# relaychat contacts: name identity-key state\nalice " +
                           std::string(64, 'a') + " verified\n";
  for (const auto& [bad, says] : std::vector<std::pair<std::string, std::string>>{
           {"bob " + std::string(64, 'b') + "\n", "line 3: not NAME KEY verified|unverified"},
           {"Bob " + std::string(64, 'b') + " verified\n", "line 3: not a user name"},
           {"bob " + std::string(64, 'b') + " trusted\n",
            "line 3: the state of bob is neither verified nor unverified"},
           {"bob " + std::string(63, 'b') + " verified\n",
            "line 3: the key of bob is not 64 hex digits"},
           {"alice " + std::string(64, 'c') + " unverified\n",
            "line 3: alice has a line already"}}) {
    std::string problem;
    EXPECT_FALSE(contact_book::parse(good + bad, &problem)) << bad;
    EXPECT_EQ(problem, says) << bad;
  }
}

// From a black-box review: a second line for alice (added by hand, or by someone with
// access to the file) silently replaced her pin and its verified state.
TEST(ContactBook, ANameOnTwoLinesIsADamagedFile) {
  const std::string one = "alice " + std::string(64, 'a') + " verified\n";
  ASSERT_TRUE(contact_book::parse(one));
  EXPECT_FALSE(contact_book::parse(one + "alice " + std::string(63, '0') + "1 verified\n"));
  EXPECT_FALSE(contact_book::parse(one + one));
  EXPECT_TRUE(contact_book::parse(one + "bob " + std::string(64, 'b') + " unverified\n"));
}

}  // namespace
}  // namespace relay::client
