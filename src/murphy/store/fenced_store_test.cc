// Unit tests of every rule of the fenced store (fenced_store.h), its codec and its
// snapshot.
#include "murphy/store/fenced_store.h"

#include <gtest/gtest.h>

#include "murphy/core/crc32c.h"
#include "murphy/core/rng.h"

namespace murphy::store {
namespace {

FencedWrite Write(std::string resource, std::string lock, uint64_t token, std::string value,
                  std::string key = "") {
  FencedWrite write;
  write.resource = std::move(resource);
  write.lock = std::move(lock);
  write.token = FencingToken(token);
  write.value = std::move(value);
  write.idempotency_key = std::move(key);
  return write;
}

TEST(FencedStoreTest, AcceptsEqualAndHigherTokensRejectsLowerWithTheCurrentMaximum) {
  FencedStore store;
  WriteResult first = store.CheckAndWrite(Write("file", "storage", 33, "A1"));
  ASSERT_TRUE(first.status.ok());
  EXPECT_EQ(first.version, 1u);
  EXPECT_EQ(first.max_token, FencingToken(33));
  EXPECT_TRUE(store.CheckAndWrite(Write("file", "storage", 33, "A2")).status.ok());  // equal: same grant
  WriteResult b = store.CheckAndWrite(Write("file", "storage", 34, "B1"));
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(b.version, 3u);
  WriteResult stale = store.CheckAndWrite(Write("file", "storage", 33, "A3"));
  EXPECT_EQ(stale.status.code(), StatusCode::kAborted);
  EXPECT_EQ(stale.max_token, FencingToken(34));
  EXPECT_EQ(store.Read("file")->value, "B1");
  EXPECT_EQ(store.Read("file")->version, 3u);
  EXPECT_EQ(store.Read("file")->max_token, FencingToken(34));
}

TEST(FencedStoreTest, ATokenOfAnotherLockIsRejected) {
  FencedStore store;
  ASSERT_TRUE(store.CheckAndWrite(Write("file", "a", 5, "x")).status.ok());
  WriteResult other = store.CheckAndWrite(Write("file", "b", 500, "y"));
  EXPECT_EQ(other.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.Read("file")->value, "x");
  EXPECT_EQ(store.Read("file")->lock, "a");
  // Another resource may be fenced by b.
  EXPECT_TRUE(store.CheckAndWrite(Write("other", "b", 1, "y")).status.ok());
}

TEST(FencedStoreTest, CompareAndSetOnVersion) {
  FencedStore store;
  FencedWrite create = Write("r", "l", 1, "v1");
  create.expected_version = 0;  // must not exist
  ASSERT_TRUE(store.CheckAndWrite(create).status.ok());
  EXPECT_EQ(store.CheckAndWrite(create).status.code(), StatusCode::kAborted);
  FencedWrite update = Write("r", "l", 1, "v2");
  update.expected_version = 1;
  EXPECT_TRUE(store.CheckAndWrite(update).status.ok());
  WriteResult conflict = store.CheckAndWrite(update);
  EXPECT_EQ(conflict.status.code(), StatusCode::kAborted);
  EXPECT_EQ(conflict.version, 2u);
  EXPECT_EQ(store.Read("r")->value, "v2");
  // The token check comes first: a stale token with the right version is stale.
  ASSERT_TRUE(store.CheckAndWrite(Write("r", "l", 9, "v3")).status.ok());
  FencedWrite stale = Write("r", "l", 1, "v4");
  stale.expected_version = 3;
  WriteResult result = store.CheckAndWrite(stale);
  EXPECT_EQ(result.status.code(), StatusCode::kAborted);
  EXPECT_EQ(result.max_token, FencingToken(9));
  FencedWrite missing = Write("nothing", "l", 1, "v");
  missing.expected_version = 4;
  EXPECT_EQ(store.CheckAndWrite(missing).status.code(), StatusCode::kAborted);
  EXPECT_FALSE(store.Read("nothing").has_value());
}

TEST(FencedStoreTest, RetriedWritesApplyOnce) {
  FencedStore store;
  const FencedWrite write = Write("r", "l", 3, "v", "request-1");
  WriteResult first = store.CheckAndWrite(write);
  WriteResult retry = store.CheckAndWrite(write);
  EXPECT_EQ(retry, first);
  EXPECT_EQ(store.Read("r")->version, 1u);  // not 2
  // A later holder writes; the old request retried still gets its original answer.
  ASSERT_TRUE(store.CheckAndWrite(Write("r", "l", 4, "w")).status.ok());
  EXPECT_EQ(store.CheckAndWrite(write), first);
  EXPECT_EQ(store.Read("r")->value, "w");
  // The same key for another write is a client bug.
  EXPECT_EQ(store.CheckAndWrite(Write("r", "l", 4, "other", "request-1")).status.code(),
            StatusCode::kInvalidArgument);
  // Rejections are remembered too.
  const FencedWrite stale = Write("r", "l", 3, "late", "request-2");
  WriteResult rejected = store.CheckAndWrite(stale);
  EXPECT_EQ(rejected.status.code(), StatusCode::kAborted);
  EXPECT_EQ(store.CheckAndWrite(stale), rejected);
}

TEST(FencedStoreTest, IdempotencyMemoryIsBoundedOldestFirst) {
  FencedStoreOptions options;
  options.max_idempotency_keys = 2;
  FencedStore store(options);
  store.CheckAndWrite(Write("r", "l", 1, "a", "k1"));
  store.CheckAndWrite(Write("r", "l", 1, "b", "k2"));
  store.CheckAndWrite(Write("r", "l", 1, "c", "k3"));
  EXPECT_EQ(store.idempotency_key_count(), 2u);
  // k1 was forgotten: its retry applies again (documented: the window is bounded).
  EXPECT_EQ(store.CheckAndWrite(Write("r", "l", 1, "a", "k1")).version, 4u);
  EXPECT_EQ(store.CheckAndWrite(Write("r", "l", 1, "c", "k3")).version, 3u);  // remembered
}

TEST(FencedStoreTest, LimitsAndMalformedRequests) {
  FencedStoreOptions options;
  options.max_name_bytes = 4;
  options.max_key_bytes = 3;
  options.max_value_bytes = 5;
  options.max_resources = 1;
  FencedStore store(options);
  EXPECT_EQ(store.CheckAndWrite(Write("", "l", 1, "v")).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.CheckAndWrite(Write("toolong", "l", 1, "v")).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.CheckAndWrite(Write("r", "", 1, "v")).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.CheckAndWrite(Write("r", "l", 1, "v", "long")).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.CheckAndWrite(Write("r", "l", 1, "123456")).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.CheckAndWrite(Write("r", "l", 0, "v")).status.code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(store.CheckAndWrite(Write("r", "l", 1, "12345")).status.ok());
  const FencedWrite full = Write("s", "l", 1, "v", "k");
  EXPECT_EQ(store.CheckAndWrite(full).status.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(store.idempotency_key_count(), 0u);  // not remembered: may be retried later
  EXPECT_EQ(store.resource_count(), 1u);
}

TEST(FencedStoreTest, WritesAndResultsRoundTrip) {
  FencedWrite write = Write("orders/17", "orders", 34, std::string("\0binary", 7), "key");
  write.expected_version = 12;
  Result<FencedWrite> decoded = DecodeWrite(EncodeWrite(write));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, write);
  write.expected_version.reset();
  EXPECT_EQ(*DecodeWrite(EncodeWrite(write)), write);
  WriteResult result{AbortedError("stale fencing token 33 < 34"), FencingToken(34), 3};
  EXPECT_EQ(*DecodeWriteResult(EncodeWriteResult(result)), result);
  const Bytes bytes = EncodeWrite(write);
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(DecodeWrite(std::span<const uint8_t>(bytes.data(), length)).ok());
  }
  Bytes version = bytes;
  version[0] = kStoreEncodingVersion + 1;
  EXPECT_EQ(DecodeWrite(version).status().code(), StatusCode::kUnimplemented);
}

TEST(FencedStoreTest, ExpectedValueRoundTripsAndOnlyItNeedsTheNewEncoding) {
  FencedWrite write = Write("orders/17", "orders", 34, "new", "key");
  // Without an expected value: the first encoding, as before the expected value.
  EXPECT_EQ(EncodeWrite(write)[0], 1);
  write.expected_value = std::string("old\0", 4);
  write.expected_version = 7;
  const Bytes bytes = EncodeWrite(write);
  EXPECT_EQ(bytes[0], kStoreEncodingVersion);
  Result<FencedWrite> decoded = DecodeWrite(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, write);
  write.expected_value = std::string();  // expecting the empty value is not "unconditional"
  EXPECT_EQ(*DecodeWrite(EncodeWrite(write)), write);
  for (size_t length = 0; length < bytes.size(); ++length) {
    EXPECT_FALSE(DecodeWrite(std::span<const uint8_t>(bytes.data(), length)).ok());
  }
  // A version-1 encoding followed by an expected value is trailing garbage.
  Bytes relabelled = bytes;
  relabelled[0] = 1;
  EXPECT_EQ(DecodeWrite(relabelled).status().code(), StatusCode::kInvalidArgument);
}

TEST(FencedStoreTest, CompareAndSetOnValue) {
  FencedStore store;
  FencedWrite absent = Write("r", "l", 1, "v1");
  absent.expected_value = "";
  EXPECT_EQ(store.CheckAndWrite(absent).status.code(), StatusCode::kAborted);  // no resource, no value
  EXPECT_FALSE(store.Read("r").has_value());
  ASSERT_TRUE(store.CheckAndWrite(Write("r", "l", 1, "v1")).status.ok());
  FencedWrite swap = Write("r", "l", 1, "v2");
  swap.expected_value = "v1";
  const WriteResult swapped = store.CheckAndWrite(swap);
  EXPECT_TRUE(swapped.status.ok());
  EXPECT_EQ(swapped.version, 2u);
  const WriteResult conflict = store.CheckAndWrite(swap);  // the value is v2 now
  EXPECT_EQ(conflict.status.code(), StatusCode::kAborted);
  EXPECT_EQ(conflict.version, 2u);
  EXPECT_EQ(conflict.max_token, FencingToken(1));
  EXPECT_EQ(store.Read("r")->value, "v2");
  // Both conditions must hold.
  FencedWrite both = Write("r", "l", 1, "v3");
  both.expected_value = "v2";
  both.expected_version = 1;
  EXPECT_EQ(store.CheckAndWrite(both).status.code(), StatusCode::kAborted);
  both.expected_version = 2;
  EXPECT_TRUE(store.CheckAndWrite(both).status.ok());
  // The token check comes first: a stale token with the right value is stale.
  ASSERT_TRUE(store.CheckAndWrite(Write("r", "l", 5, "v4")).status.ok());
  FencedWrite stale = Write("r", "l", 1, "v5");
  stale.expected_value = "v4";
  const WriteResult rejected = store.CheckAndWrite(stale);
  EXPECT_EQ(rejected.status.code(), StatusCode::kAborted);
  EXPECT_EQ(rejected.max_token, FencingToken(5));
  EXPECT_EQ(store.Read("r")->value, "v4");
  // The expected value is bounded like the value.
  FencedWrite huge = Write("r", "l", 5, "v6");
  huge.expected_value = std::string(store.Serialize().size() + (1 << 20), 'x');
  EXPECT_EQ(store.CheckAndWrite(huge).status.code(), StatusCode::kInvalidArgument);
}

TEST(FencedStoreTest, ApplyEncodedMatchesCheckAndWrite) {
  FencedStore direct;
  FencedStore replicated;
  for (const FencedWrite& write : {Write("r", "l", 2, "a", "k"), Write("r", "l", 1, "b"), Write("r", "m", 3, "c")}) {
    WriteResult expected = direct.CheckAndWrite(write);
    WriteResult got = replicated.ApplyEncoded(EncodeWrite(write));
    EXPECT_EQ(got, expected);
    EXPECT_EQ(*DecodeWriteResult(EncodeWriteResult(got)), got);
  }
  const uint8_t garbage[] = {kStoreEncodingVersion, 1, 0xff};
  EXPECT_EQ(replicated.ApplyEncoded(garbage).status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(direct.Serialize(), replicated.Serialize());
}

TEST(FencedStoreTest, SnapshotRoundTripsAndKeepsRejectingStaleTokens) {
  FencedStore store;
  store.CheckAndWrite(Write("b", "l", 7, "x", "k1"));
  store.CheckAndWrite(Write("a", "l", 3, "y", "k2"));
  store.CheckAndWrite(Write("a", "l", 2, "z", "k3"));  // rejected, remembered
  const Bytes snapshot = store.Serialize();
  FencedStore restored;
  ASSERT_TRUE(restored.Restore(snapshot).ok());
  EXPECT_EQ(restored.Serialize(), snapshot);
  EXPECT_EQ(restored.CheckAndWrite(Write("b", "l", 6, "old")).status.code(), StatusCode::kAborted);
  EXPECT_EQ(restored.CheckAndWrite(Write("b", "l", 7, "x", "k1")).version, 1u);  // replayed
  EXPECT_EQ(restored.Read("a")->value, "y");

  Bytes flipped = snapshot;
  flipped[2] ^= 1;
  EXPECT_EQ(restored.Restore(flipped).code(), StatusCode::kDataLoss);
  EXPECT_EQ(restored.Read("a")->value, "y");
}

// Snapshot decoding never crashes; mutations resealed with a valid checksum reach the
// structural checks; what is accepted is stable under another round.
TEST(FencedStoreTest, RestoreSurvivesRandomAndMutatedSnapshots) {
  FencedStore source;
  for (int i = 0; i < 30; ++i) {
    source.CheckAndWrite(Write("r" + std::to_string(i % 7), "l", static_cast<uint64_t>(1 + i % 5),
                               "value" + std::to_string(i), i % 2 ? "k" + std::to_string(i) : ""));
  }
  const Bytes snapshot = source.Serialize();
  int refused = 0;
  for (uint64_t seed = 1; seed <= 3000; ++seed) {
    Rng rng(seed);
    Bytes body(snapshot.begin(), snapshot.end() - 4);
    if (rng.Bernoulli(0.1)) {
      body.resize(rng.Uniform(body.size() + 1));
    } else {
      for (uint64_t i = 0, flips = 1 + rng.Uniform(4); i < flips; ++i) {
        body[rng.Uniform(body.size())] ^= 1 << rng.Uniform(8);
      }
    }
    ByteWriter resealed(body);
    resealed.PutU32(Crc32c(body));
    Bytes garbage(rng.Uniform(64));
    for (uint8_t& byte : garbage) byte = static_cast<uint8_t>(rng.Uniform(256));
    if (!garbage.empty()) garbage[0] = kStoreEncodingVersion;
    Result<FencedWrite> decoded = DecodeWrite(garbage);
    if (decoded.ok()) {
      EXPECT_EQ(*DecodeWrite(EncodeWrite(*decoded)), *decoded);
    }
    FencedStore store;
    EXPECT_FALSE(store.Restore(garbage).ok());
    const Status status = store.Restore(resealed.bytes());
    if (!status.ok()) {
      ++refused;
      EXPECT_EQ(store.resource_count(), 0u);
      continue;
    }
    FencedStore again;
    ASSERT_TRUE(again.Restore(store.Serialize()).ok()) << "seed " << seed;
    EXPECT_EQ(again.Serialize(), store.Serialize()) << "seed " << seed;
  }
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace murphy::store
