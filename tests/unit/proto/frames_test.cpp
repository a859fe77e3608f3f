#include "relay/proto/frames.hpp"

#include <gtest/gtest.h>

#include "relay/proto/errc.hpp"

namespace relay::proto {
namespace {

key_bytes key_of(byte b) {
  key_bytes k;
  k.fill(b);
  return k;
}

std::vector<frame> samples() {
  return {
      sign_in{"alice", "correct horse", key_of(1)},
      sign_up{"bob", "battery staple", key_of(2)},
      send{42, "bob", bytes{1, 2, 3, ':', 5}},
      send{0, "x", bytes{}},
      ping{0x0102030405060708},
      pong{~0ull},
      bye{},
      welcome{"alice"},
      presence{true, true, {}},
      presence{false,
               false,
               {{presence_entry::kind::online, "bob", key_of(9)},
                {presence_entry::kind::offline, "carol", {}}}},
      deliver{"alice", bytes(max_ciphertext, 0xaa)},
      error{reason::unknown_recipient, 7, "bob is not online"},
      closing{reason::replaced, "signed in elsewhere"},
      last_key{key_of(3), 1764786240},
      change_password{"correct horse", "battery staple"},
      change_password{"", std::string(255, 'p')},
      delete_account{"correct horse"},
      account_changed{account_changed::change::password},
      account_changed{account_changed::change::deleted},
  };
}

TEST(Frames, RoundTripEveryType) {
  for (const frame& f : samples()) {
    auto d = decode(encode(f));
    ASSERT_TRUE(d) << type_name(f) << ": " << d.error().message();
    EXPECT_EQ(*d, f) << type_name(f);
  }
}

TEST(Frames, KnownEncoding) {
  // send: type 03, id 00000001, to "bo", ciphertext 2 bytes.
  EXPECT_EQ(encode(send{1, "bo", bytes{0xca, 0xfe}}),
            (bytes{0x03, 0, 0, 0, 1, 2, 'b', 'o', 0, 2, 0xca, 0xfe}));
  EXPECT_EQ(encode(ping{1}), (bytes{0x04, 0, 0, 0, 0, 0, 0, 0, 1}));
  // last_key: type 86, the 32-byte key, then the time as a u64.
  const bytes lk = encode(last_key{key_of(7), 0x0102});
  ASSERT_EQ(lk.size(), 1u + 32 + 8);
  EXPECT_EQ(lk[0], 0x86);
  const key_bytes k = key_of(7);
  EXPECT_EQ(bytes(lk.begin() + 1, lk.begin() + 33), bytes(k.begin(), k.end()));
  EXPECT_EQ(bytes(lk.end() - 8, lk.end()), (bytes{0, 0, 0, 0, 0, 0, 1, 2}));
  // The account frames of protocol.md 5.15 to 5.17.
  EXPECT_EQ(encode(change_password{"ab", "c"}), (bytes{0x09, 2, 'a', 'b', 1, 'c'}));
  EXPECT_EQ(encode(delete_account{"ab"}), (bytes{0x0a, 2, 'a', 'b'}));
  EXPECT_EQ(encode(account_changed{account_changed::change::password}), (bytes{0x87, 1}));
  EXPECT_EQ(encode(account_changed{account_changed::change::deleted}), (bytes{0x87, 2}));
  EXPECT_THROW(encode(change_password{std::string(256, 'x'), "new password"}), std::length_error);
  EXPECT_THROW(encode(delete_account{std::string(256, 'x')}), std::length_error);
}

TEST(Frames, EveryTruncationFailsCleanly) {
  for (const frame& f : samples()) {
    bytes e = encode(f);
    for (std::size_t n = 0; n < e.size(); ++n) {
      auto d = decode(byte_view{e.data(), n});
      EXPECT_FALSE(d) << type_name(f) << " cut at " << n;
    }
  }
}

TEST(Frames, TrailingBytesRejected) {
  for (const frame& f : samples()) {
    bytes e = encode(f);
    e.push_back(0);
    auto d = decode(e);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), errc::trailing_bytes) << type_name(f);
  }
}

// sign_in may end with a 32-byte device proof (protocol.md 5.2.1); any other tail is refused.
TEST(Frames, SignInCarriesAnOptionalDeviceProof) {
  const sign_in with{"alice", "correct horse", key_of(1), key_of(5)};
  const bytes e = encode(with);
  const bytes without = encode(sign_in{"alice", "correct horse", key_of(1)});
  ASSERT_EQ(e.size(), without.size() + 32);
  EXPECT_TRUE(std::equal(without.begin(), without.end(), e.begin()));
  auto d = decode(e);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, frame{with});
  auto plain = decode(without);
  ASSERT_TRUE(plain);
  EXPECT_FALSE(std::get<sign_in>(*plain).device_proof);
  for (std::size_t extra : {1u, 31u, 33u, 64u}) {
    bytes b = without;
    b.resize(b.size() + extra, 7);
    auto bad = decode(b);
    ASSERT_FALSE(bad) << extra;
    EXPECT_EQ(bad.error(), errc::trailing_bytes) << extra;
  }
  // Only sign_in has one: sign_up with 32 more bytes is refused.
  bytes up = encode(sign_up{"alice", "correct horse", key_of(1)});
  up.resize(up.size() + 32, 7);
  EXPECT_FALSE(decode(up));
}

TEST(Frames, UnknownTypeRejected) {
  for (int t : {0x00, 0x07, 0x0b, 0x80, 0x88, 0xff}) {
    auto d = decode(bytes{static_cast<byte>(t)});
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error(), errc::unknown_type) << t;
  }
  EXPECT_EQ(decode(bytes{}).error(), errc::empty_frame);
}

TEST(Frames, OversizeCiphertextRejectedFromLength) {
  // Declares 40000 bytes but carries none: rejected on the length, not the missing body.
  bytes e{0x03, 0, 0, 0, 1, 1, 'b', 0x9c, 0x40};
  EXPECT_EQ(decode(e).error(), errc::field_too_long);
  EXPECT_THROW(encode(send{1, "b", bytes(max_ciphertext + 1)}), std::length_error);
}

TEST(Frames, PresenceCountCannotOverAllocate) {
  bytes e{0x82, 0, 0xff, 0xff};  // claims 65535 entries in 4 bytes
  EXPECT_EQ(decode(e).error(), errc::truncated);
}

TEST(Frames, BadEnumValuesRejected) {
  EXPECT_EQ(decode(bytes{0x82, 4, 0, 0}).error(), errc::bad_value);           // flags
  EXPECT_EQ(decode(bytes{0x82, 0, 0, 1, 3, 0}).error(), errc::bad_value);     // kind
  EXPECT_EQ(decode(bytes{0x84, 0, 0, 0, 0, 0, 0}).error(), errc::bad_value);  // reason 0
  EXPECT_EQ(decode(bytes{0x85, 99, 0}).error(), errc::bad_value);
  EXPECT_EQ(decode(bytes{0x87, 0}).error(), errc::bad_value);  // account_changed
  EXPECT_EQ(decode(bytes{0x87, 3}).error(), errc::bad_value);
}

TEST(Frames, PresenceEntrySize) {
  presence p{false,
             false,
             {{presence_entry::kind::online, "bob", key_of(1)},
              {presence_entry::kind::offline, "al", {}}}};
  EXPECT_EQ(encode(p).size(),
            presence_header + encoded_size(p.entries[0]) + encoded_size(p.entries[1]));
}

TEST(Frames, ReasonsAreDescribed) {
  for (int r = 1; r <= 16; ++r) {
    EXPECT_STRNE(describe(static_cast<reason>(r)), "unknown reason") << r;
  }
}

TEST(Frames, SendViewAgreesWithDecodeOnEveryPrefixAndCorruption) {
  // The relay's zero-copy path must accept and refuse exactly what decode() does.
  const bytes ct(300, 0x5a);
  const bytes good = encode(send{77, "bob", ct});
  std::vector<bytes> inputs{good, encode(send{1, "", {}}), encode(ping{3}), bytes{}};
  for (std::size_t n = 0; n < good.size(); ++n) inputs.emplace_back(good.begin(), good.begin() + n);
  bytes trailing = good;
  trailing.push_back(0);
  inputs.push_back(trailing);
  bytes too_long = good;
  too_long[1 + 4 + 1 + 3] = 0xff;  // ciphertext length over max_ciphertext
  inputs.push_back(too_long);
  for (const auto& in : inputs) {
    auto full = decode(in);
    auto view = decode_send_view(in);
    const bool full_is_send = full && std::holds_alternative<send>(*full);
    ASSERT_EQ(full_is_send, view.has_value()) << in.size();
    if (!full) {
      EXPECT_EQ(full.error(), view.error());
      continue;
    }
    if (!full_is_send) {
      EXPECT_EQ(view.error(), errc::unknown_type);
      continue;
    }
    const auto& s = std::get<send>(*full);
    EXPECT_EQ(view->id, s.id);
    EXPECT_EQ(view->to, s.to);
    EXPECT_EQ(bytes(view->ciphertext.begin(), view->ciphertext.end()), s.ciphertext);
  }
}

// The writer gives encode()'s bytes for every flag combination, entry count and kind.
TEST(PresenceWriter, MatchesEncodeForEveryFlagAndCount) {
  bytes out{7, 7, 7};  // whatever was in the buffer goes
  for (bool snapshot : {false, true}) {
    for (bool last : {false, true}) {
      for (std::size_t n : {0, 1, 2, 17}) {
        presence expected{snapshot, last, {}};
        presence_writer w(out, snapshot);
        for (std::size_t i = 0; i < n; ++i) {
          const std::string name = "user" + std::to_string(i) + std::string(i, 'x');
          const auto what =
              i % 3 == 2 ? presence_entry::kind::offline : presence_entry::kind::online;
          // An offline entry's key is not on the wire, so it decodes as zeros.
          const key_bytes k =
              what == presence_entry::kind::online ? key_of(static_cast<byte>(i + 1)) : key_bytes{};
          ASSERT_TRUE(w.add(what, name, key_of(static_cast<byte>(i + 1))));
          expected.entries.push_back({what, name, k});
        }
        EXPECT_EQ(w.entries(), n);
        EXPECT_EQ(w.finish(last), encode(expected)) << snapshot << last << n;
        auto back = decode(out);
        ASSERT_TRUE(back);
        EXPECT_EQ(std::get<presence>(*back), expected);
      }
    }
  }
}

// Entries go in until the next would take the frame past max_frame; restart() begins the
// next chunk with the same flags, and every chunk decodes.
TEST(PresenceWriter, FillsUpToTheFrameLimitThenRestarts) {
  bytes out;
  presence_writer w(out, true);
  const std::string name(255, 'n');
  const key_bytes k = key_of(5);
  const std::size_t entry = 1 + 1 + name.size() + k.size();
  std::size_t added = 0;
  while (w.add(presence_entry::kind::online, name, k)) ++added;
  EXPECT_EQ(added, (max_frame - presence_header) / entry);
  EXPECT_LE(out.size(), max_frame);
  EXPECT_GT(out.size() + entry, max_frame);
  const bytes full = out;
  EXPECT_FALSE(w.add(presence_entry::kind::online, name, k));  // refused: nothing written
  EXPECT_EQ(out, full);
  w.finish(false);
  auto first = decode(out);
  ASSERT_TRUE(first);
  EXPECT_EQ(std::get<presence>(*first).entries.size(), added);
  EXPECT_TRUE(std::get<presence>(*first).snapshot);
  EXPECT_FALSE(std::get<presence>(*first).last);

  w.restart();
  EXPECT_EQ(w.entries(), 0u);
  ASSERT_TRUE(w.add({presence_entry::kind::online, "bob", k}));
  auto second = decode(w.finish(true));
  ASSERT_TRUE(second);
  EXPECT_EQ(std::get<presence>(*second),
            (presence{true, true, {{presence_entry::kind::online, "bob", k}}}));
  EXPECT_THROW(w.add(presence_entry::kind::online, "", k), std::length_error);
  EXPECT_THROW(w.add(presence_entry::kind::offline, std::string(256, 'n'), k), std::length_error);
}

// A smaller limit cuts frames there (the relay's snapshot chunks); a limit below one entry
// of the longest name still takes that entry, so a writer can never refuse an empty frame.
TEST(PresenceWriter, CutsFramesAtASmallerLimit) {
  bytes out;
  const key_bytes k = key_of(7);
  const std::string name(32, 'n');
  const std::size_t entry = encoded_size(presence_entry::kind::online, name.size());
  presence_writer w(out, true, snapshot_chunk);
  std::size_t added = 0;
  while (w.add(presence_entry::kind::online, name, k)) ++added;
  EXPECT_EQ(added, (snapshot_chunk - presence_header) / entry);
  EXPECT_LE(out.size(), snapshot_chunk);
  EXPECT_GT(out.size() + entry, snapshot_chunk);
  auto f = decode(w.finish(true));
  ASSERT_TRUE(f);
  EXPECT_EQ(std::get<presence>(*f).entries.size(), added);

  presence_writer tiny(out, false, 10);
  const std::string longest(255, 'l');
  EXPECT_TRUE(tiny.add(presence_entry::kind::online, longest, k));
  EXPECT_FALSE(tiny.add(presence_entry::kind::offline, "a", k));
  presence_writer huge(out, false, 1 << 20);  // never past the frame limit
  while (huge.add(presence_entry::kind::online, longest, k)) {
  }
  EXPECT_LE(out.size(), max_frame);
  EXPECT_GT(out.size() + encoded_size(presence_entry::kind::online, 255), max_frame);
}

TEST(Frames, DeliverEncodedInPlaceMatchesEncode) {
  const bytes ct{1, 2, 3, 4, 5};
  bytes out{9};  // appends after what is there
  encode_deliver_into("alice", ct, out);
  bytes expected{9};
  encode_into(deliver{"alice", ct}, expected);
  EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace relay::proto

namespace relay::proto {

// --- batches (protocol.md 5.12) -----------------------------------------------------------

namespace {
std::vector<bytes> read_all(byte_view plain, std::error_code* err = nullptr) {
  std::vector<bytes> out;
  batch_reader r(plain);
  while (true) {
    auto f = r.next();
    if (!f) {
      if (err) *err = f.error();
      return out;
    }
    if (!*f) return out;
    out.emplace_back((*f)->begin(), (*f)->end());
  }
}
}  // namespace

TEST(BatchCodec, OneFrameIsSentAsItself) {
  batch_writer w;
  const bytes ping = encode(frame{relay::proto::ping{7}});
  w.add(ping);
  EXPECT_EQ(bytes(w.plaintext().begin(), w.plaintext().end()), ping);
  std::error_code err;
  auto frames = read_all(w.plaintext(), &err);
  EXPECT_FALSE(err);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0], ping);
}

TEST(BatchCodec, SeveralFramesRoundTripInOrderWithExactLayout) {
  batch_writer w;
  const bytes a = encode(frame{relay::proto::ping{1}});
  const bytes b = encode(frame{deliver{"bob", bytes{1, 2, 3}}});
  w.add(a);
  w.add(b);
  EXPECT_EQ(w.count(), 2u);
  bytes expect{0x07, 0x00, static_cast<byte>(a.size())};
  expect.insert(expect.end(), a.begin(), a.end());
  expect.push_back(0x00);
  expect.push_back(static_cast<byte>(b.size()));
  expect.insert(expect.end(), b.begin(), b.end());
  EXPECT_EQ(bytes(w.plaintext().begin(), w.plaintext().end()), expect);
  std::error_code err;
  auto frames = read_all(w.plaintext(), &err);
  EXPECT_FALSE(err);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], a);
  EXPECT_EQ(frames[1], b);
  EXPECT_TRUE(batch_reader(w.plaintext()).is_batch());
}

TEST(BatchCodec, OneEntryGoesAloneWhateverItsLengthAndCountWalksTheEntries) {
  // The writer keeps no count: "one entry" is read off the first entry's length, so check it
  // with lengths that use the high byte, and a second entry of each size.
  for (const std::size_t n :
       {std::size_t{1}, std::size_t{255}, std::size_t{256}, std::size_t{4000}}) {
    batch_writer w;
    EXPECT_TRUE(w.empty());
    EXPECT_EQ(w.count(), 0u);
    const bytes a = encode(frame{deliver{"bob", bytes(n, 0x5a)}});
    w.add(a);
    EXPECT_FALSE(w.empty());
    EXPECT_EQ(w.count(), 1u);
    EXPECT_EQ(bytes(w.plaintext().begin(), w.plaintext().end()), a) << n;  // alone, unwrapped
    const bytes b = encode(frame{relay::proto::ping{7}});
    w.add(b);
    EXPECT_EQ(w.count(), 2u);
    EXPECT_TRUE(batch_reader(w.plaintext()).is_batch()) << n;
    w.add(b);
    EXPECT_EQ(w.count(), 3u);
    w.clear();
    EXPECT_TRUE(w.empty());
    EXPECT_EQ(w.count(), 0u);
  }
  // The writer is one buffer: a relay holds one per connection.
  EXPECT_EQ(sizeof(batch_writer), sizeof(bytes));
}

TEST(BatchCodec, RoomKeepsTheBatchWithinOneFrame) {
  batch_writer w;
  EXPECT_EQ(w.room(), max_frame - 3);
  const bytes big(w.room(), 0x04);
  w.add(big);
  EXPECT_EQ(w.plaintext().size(), max_frame - 3);  // sent alone, without the batch header
  EXPECT_EQ(w.room(), 0u);
  EXPECT_THROW(w.add(bytes{0x06}), std::length_error);
  w.clear();
  EXPECT_TRUE(w.empty());
  EXPECT_THROW(w.add(bytes{}), std::length_error);
}

TEST(BatchCodec, AHandedOutBufferCanBeAdoptedByTheNextBatch) {
  batch_writer w;
  const bytes a = encode(frame{relay::proto::ping{1}});
  const bytes b = encode(frame{relay::proto::ping{2}});
  w.add(a);
  w.add(b);
  bytes spare = w.take_buffer();
  EXPECT_TRUE(w.empty());
  EXPECT_EQ(w.capacity(), 0u);  // nothing held once handed out
  EXPECT_TRUE(spare.empty());
  const std::size_t cap = spare.capacity();
  ASSERT_GT(cap, 0u);
  const byte* storage = spare.data();

  batch_writer next;
  next.adopt_buffer(std::move(spare));
  EXPECT_EQ(next.capacity(), cap);
  next.add(b);
  EXPECT_EQ(next.plaintext().data() - 3, storage);  // the same storage, reused
  EXPECT_EQ(bytes(next.plaintext().begin(), next.plaintext().end()), b);

  bytes other(64, 0x55);
  next.adopt_buffer(std::move(other));  // ignored: the writer already has a buffer
  EXPECT_EQ(next.count(), 1u);
  EXPECT_EQ(bytes(next.plaintext().begin(), next.plaintext().end()), b);
}

TEST(BatchCodec, ABufferOfTheFirstCapacityIsUsedWithoutReallocation) {
  // The relay takes its batch buffers from a pool at this size (session.cpp): a smaller
  // one would be reallocated by the first add(), a malloc per batch for nothing.
  bytes spare;
  spare.reserve(batch_writer::first_capacity);
  const byte* storage = spare.data();
  batch_writer w;
  w.adopt_buffer(std::move(spare));
  const bytes f = encode(frame{relay::proto::ping{7}});
  w.add(f);
  w.add(f);
  EXPECT_EQ(w.capacity(), batch_writer::first_capacity);
  EXPECT_EQ(w.plaintext().data(), storage);

  batch_writer fresh;  // starting from nothing, add() reserves the same
  fresh.add(f);
  EXPECT_EQ(fresh.capacity(), batch_writer::first_capacity);
}

TEST(BatchCodec, MalformedBatchesAreRefused) {
  std::error_code err;
  // No entries at all.
  EXPECT_TRUE(read_all(bytes{0x07}, &err).empty());
  EXPECT_EQ(err, errc::empty_batch);
  // An empty entry.
  err = {};
  read_all(bytes{0x07, 0x00, 0x00}, &err);
  EXPECT_EQ(err, errc::empty_frame);
  // An entry running past the end, and a lone length byte.
  err = {};
  read_all(bytes{0x07, 0x00, 0x05, 0x06}, &err);
  EXPECT_EQ(err, errc::truncated);
  err = {};
  read_all(bytes{0x07, 0x00, 0x01, 0x06, 0x00}, &err);
  EXPECT_EQ(err, errc::truncated);
  // Nested batches and credentials inside a batch.
  for (byte t : {byte{0x07}, byte{0x01}, byte{0x02}, byte{0x09}, byte{0x0a}}) {
    err = {};
    auto frames = read_all(bytes{0x07, 0x00, 0x01, 0x06, 0x00, 0x01, t}, &err);
    EXPECT_EQ(err, errc::not_in_batch) << int(t);
    EXPECT_EQ(frames.size(), 1u) << "the frame before the bad entry still counts";
  }
  // An empty transport message.
  err = {};
  read_all(bytes{}, &err);
  EXPECT_EQ(err, errc::empty_frame);
  // decode() never takes a batch for a frame.
  EXPECT_EQ(decode(bytes{0x07, 0x00, 0x01, 0x06}).error(), errc::unknown_type);
}

// The closing text names what an implementer must fix: the type byte, or the limit broken.
TEST(Frames, BadFramesAreDescribedWithTheirTypeOrLimit) {
  const bytes unknown{0x42, 1, 2};
  EXPECT_EQ(describe_bad_frame(unknown, decode(unknown).error()), "unknown frame type 0x42");

  bytes ping = encode(frame{proto::ping{7}});
  ping.push_back(0);
  EXPECT_EQ(describe_bad_frame(ping, decode(ping).error()),
            "trailing bytes after frame (frame type 0x04)");

  bytes big_send{0x03, 0, 0, 0, 1, 1, 'b'};
  const std::size_t n = max_ciphertext + 1;
  big_send.push_back(static_cast<byte>(n >> 8));
  big_send.push_back(static_cast<byte>(n & 0xff));
  big_send.resize(big_send.size() + n, 0);
  EXPECT_EQ(describe_bad_frame(big_send, decode_send_view(big_send).error()),
            "ciphertext over 32768 bytes in frame type 0x03");

  const bytes huge(max_frame + 1, 0x04);
  EXPECT_EQ(describe_bad_frame(huge, decode(huge).error()),
            "frame of 65520 bytes, over the 65519-byte limit");
  EXPECT_EQ(describe_bad_frame({}, make_error_code(errc::empty_frame)), "empty frame");
}

}  // namespace relay::proto

// --- padded messages (protocol.md 5.14) ---------------------------------------------------

namespace relay::proto {
namespace {

bytes padded_of(const frame& f, std::size_t total) {
  bytes out;
  pad(encode(f), total, out);
  return out;
}

TEST(Padded, UnpadGivesBackTheContentAndPadWritesTheDocumentedBytes) {
  const bytes ping_frame = encode(ping{7});
  const bytes p = padded_of(ping{7}, 20);
  ASSERT_EQ(p.size(), 20U);
  EXPECT_EQ(p[0], 0x08);
  EXPECT_EQ(p[1], 0x00);
  EXPECT_EQ(p[2], ping_frame.size());
  EXPECT_TRUE(
      std::all_of(p.begin() + 3 + ping_frame.size(), p.end(), [](byte b) { return b == 0; }));
  auto content = unpad(p);
  ASSERT_TRUE(content.has_value());
  EXPECT_EQ(bytes(content->begin(), content->end()), ping_frame);
  // No padding at all is still a padded message: the header alone.
  const bytes bare = padded_of(ping{7}, ping_frame.size() + 3);
  ASSERT_TRUE(unpad(bare).has_value());
  EXPECT_EQ(unpad(bare)->size(), ping_frame.size());
  // Anything that is not padded passes through as it is.
  auto same = unpad(ping_frame);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(same->data(), ping_frame.data());
}

TEST(Padded, BadPaddingIsMalformed) {
  const bytes good = padded_of(ping{7}, 32);
  auto expect_bad = [](bytes b, const char* why) {
    auto r = unpad(b);
    ASSERT_FALSE(r.has_value()) << why;
    EXPECT_EQ(r.error(), errc::bad_padding) << why;
  };
  expect_bad(bytes{0x08}, "no length");
  expect_bad(bytes{0x08, 0x00}, "half a length");
  expect_bad(bytes{0x08, 0x00, 0x00, 0x00}, "an empty content");
  bytes past = good;
  past[2] = 30;  // 3 + 30 > 32
  expect_bad(past, "a length past the end");
  bytes dirty = good;
  ASSERT_EQ(dirty.size(), 32U);
  dirty[31] = 0x01;  // (not back(): GCC 12 -Warray-bounds misreads it after the copy)
  expect_bad(dirty, "a padding byte that is not zero");
  bytes nested;
  pad(good, good.size() + 3, nested);
  expect_bad(nested, "padded inside padded");
}

TEST(Padded, APaddedMessageIsNoBatchEntry) {
  batch_writer w;
  w.add(encode(ping{1}));
  w.add(padded_of(ping{2}, 16));
  std::error_code err;
  EXPECT_EQ(read_all(w.plaintext(), &err).size(), 1U);  // the ping before it counts
  EXPECT_EQ(err, errc::not_in_batch);
}

TEST(Padded, CredentialsPadToTheSameLengthWhateverTheNameAndPassword) {
  const key_bytes proof = key_of(9);
  const std::vector<frame> credentials = {
      sign_in{"al", "12345678", key_of(1), proof},
      sign_in{"bartholomew.of.the.north.coast", std::string(255, 'x'), key_of(1), proof},
      sign_in{"al", "", key_of(1)},
      sign_up{"al", "12345678", key_of(1)},
      sign_up{std::string(32, 'b'), std::string(255, 'y'), key_of(1)},
      change_password{"", ""},
      change_password{std::string(250, 'o'), std::string(255, 'n')},
      delete_account{""},
      delete_account{std::string(255, 'p')},
  };
  for (const frame& f : credentials) {
    const bytes plain = encode(f);
    EXPECT_EQ(client_padded_size(plain), 512U) << plain.size();
  }
  // Past the longest valid name, a longer one still pads to a whole number of blocks.
  const frame huge = sign_in{std::string(255, 'n'), std::string(255, 'p'), key_of(1), proof};
  EXPECT_EQ(client_padded_size(encode(huge)), 1024U);
  // Two long passwords together pass one block (protocol.md 5.14).
  EXPECT_EQ(
      client_padded_size(encode(change_password{std::string(252, 'o'), std::string(255, 'n')})),
      1024U);
}

TEST(Frames, ForEachPasswordVisitsEveryPasswordFieldAndNothingElse) {
  std::vector<frame> frames = {
      sign_in{"al", "pw-in", key_of(1)},   sign_up{"al", "pw-up", key_of(1)},
      change_password{"pw-old", "pw-new"}, delete_account{"pw-del"},
      send{1, "al", bytes{1, 2}},          welcome{},
  };
  std::vector<std::string> seen;
  for (frame& f : frames) {
    proto::for_each_password(f, [&](std::string& s) {
      seen.push_back(s);
      s.assign(s.size(), '*');
    });
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"pw-in", "pw-up", "pw-old", "pw-new", "pw-del"}));
  // What the callback does reaches the frame itself (callers wipe through it).
  EXPECT_EQ(std::get<change_password>(frames[2]).new_password, "******");
  EXPECT_EQ(std::get<sign_in>(frames[0]).name, "al");
}

TEST(Padded, SendsPadAsIfToTheLongestName) {
  const bytes envelope(104, 0xee);
  const frame to_short = send{1, "al", envelope};
  const frame to_long = send{2, std::string(32, 'b'), envelope};
  const std::size_t a = client_padded_size(encode(to_short));
  const std::size_t b = client_padded_size(encode(to_long));
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, encode(to_long).size() + 3);
  // Nothing else is padded: pings, pongs and byes have one size each.
  EXPECT_EQ(client_padded_size(encode(ping{1})), 0U);
  EXPECT_EQ(client_padded_size(encode(bye{})), 0U);
  // A batch of sends: each as if to a 32-byte name; a ping in it adds its own length only.
  batch_writer short_names, long_names;
  for (batch_writer* w : {&short_names, &long_names}) {
    const std::size_t to = w == &short_names ? 1 : 32;
    w->add(encode(send{1, std::string(to, 'a'), envelope}));
    w->add(encode(ping{2}));
    w->add(encode(send{3, std::string(to, 'b'), envelope}));
  }
  EXPECT_EQ(client_padded_size(short_names.plaintext()),
            client_padded_size(long_names.plaintext()));
  EXPECT_EQ(client_padded_size(long_names.plaintext()), long_names.plaintext().size() + 3);
}

TEST(Padded, TheRelayCountsEveryNameAs32BytesAndEveryTextAs255) {
  const bytes envelope(104, 0xee);
  auto size_for = [](const frame& f) { return relay_padded_size(encode(f)); };
  // Only the names differ: one padded size.
  EXPECT_EQ(size_for(deliver{"b", envelope}), size_for(deliver{std::string(32, 'b'), envelope}));
  EXPECT_EQ(size_for(deliver{std::string(32, 'b'), envelope}),
            encode(deliver{std::string(32, 'b'), envelope}).size() + 3);
  EXPECT_EQ(size_for(welcome{"al"}), size_for(welcome{"bartholomew"}));
  const presence few{
      false,
      false,
      {{presence_entry::kind::online, "al", key_of(1)}, {presence_entry::kind::offline, "bo", {}}}};
  const presence long_names{false,
                            false,
                            {{presence_entry::kind::online, std::string(30, 'a'), key_of(1)},
                             {presence_entry::kind::offline, std::string(32, 'b'), {}}}};
  EXPECT_EQ(size_for(few), size_for(long_names));
  EXPECT_EQ(
      size_for(error{reason::unknown_recipient, 3, "x is not online"}),
      size_for(error{reason::unknown_recipient, 3, "nobody-by-that-longer-name is not online"}));
  EXPECT_EQ(size_for(closing{reason::kicked, "kicked"}),
            size_for(closing{reason::kicked, std::string(64, 'k')}));
  // A batch adds up its frames'.
  batch_writer short_names, long_ones;
  for (const frame& f : {frame{deliver{"b", envelope}}, frame{welcome{"al"}}}) {
    short_names.add(encode(f));
  }
  for (const frame& f :
       {frame{deliver{std::string(20, 'b'), envelope}}, frame{welcome{"alexander"}}}) {
    long_ones.add(encode(f));
  }
  EXPECT_EQ(relay_padded_size(short_names.plaintext()), relay_padded_size(long_ones.plaintext()));
  // A leave is as long as a join.
  EXPECT_EQ(size_for(presence{false, false, {{presence_entry::kind::online, "al", key_of(1)}}}),
            size_for(presence{false, false, {{presence_entry::kind::offline, "al", {}}}}));
  // A welcome batch is as long with a last_key as without.
  batch_writer with_last_key, without;
  with_last_key.add(encode(welcome{"al"}));
  with_last_key.add(encode(last_key{key_of(7), 1764786240}));
  with_last_key.add(encode(presence{true, true, {}}));
  without.add(encode(welcome{"al"}));
  without.add(encode(presence{true, true, {}}));
  EXPECT_EQ(relay_padded_size(with_last_key.plaintext()), relay_padded_size(without.plaintext()));
  // Every text as 255 bytes: a lookalike refusal names two users.
  EXPECT_EQ(size_for(error{reason::invalid_name, 0, "the name b0b looks too much like bob"}),
            size_for(error{reason::invalid_name, 0, std::string(255, 'x')}));
  // Frames without names are only wrapped; the rule has no cap (the relay splits or caps).
  EXPECT_EQ(size_for(ping{1}), encode(ping{1}).size() + 3);
  EXPECT_EQ(relay_padded_size(bytes(max_frame - 2, 0x04)), max_frame + 1);
}

}  // namespace
}  // namespace relay::proto
