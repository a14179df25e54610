#ifndef GNNPOOL_DETAIL_RANK_KEYS_HPP
#define GNNPOOL_DETAIL_RANK_KEYS_HPP

/// \file
/// Ranking of nodes by a score, higher first, ties to the lower node index (not part of the API):
/// the keys that encode that order, their radix sort and radix select (TopK, SAG, PAN, ASAP,
/// MaxCut), and the ranking of every node of each graph (k-MIS's visiting order).

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool::detail {

/// A (score, node) pair in gnnpool's tie order: higher score first, then lower node index.
/// For float the pair is packed into one 64-bit integer whose ascending order is that order
/// (the score's bits mapped to an order-reversing unsigned image in the high half, the node in
/// the low half), so ranking compares integers; for double it is a (score, node) pair.
template <typename Scalar>
struct RankKey {
  static constexpr bool packed = std::is_same_v<Scalar, float>;
  struct Pair {
    Scalar s;
    StorageIndex i;
  };
  using Type = std::conditional_t<packed, std::uint64_t, Pair>;

  static Type make(Scalar s, StorageIndex i) {
    if constexpr (packed) {
      // + 0 maps -0 to +0 (equal scores must tie); the image of the bits ascends with s.
      const auto u = std::bit_cast<std::uint32_t>(static_cast<float>(s + 0.0f));
      const std::uint32_t ascending = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
      return (static_cast<std::uint64_t>(~ascending) << 32) | static_cast<std::uint32_t>(i);
    } else {
      return Pair{s, i};
    }
  }
  static StorageIndex node(const Type& k) {
    if constexpr (packed) return static_cast<StorageIndex>(k & 0xffffffffu);
    else return k.i;
  }
  static bool less(const Type& a, const Type& b) {
    if constexpr (packed) return a < b;
    else return a.s > b.s || (a.s == b.s && a.i < b.i);
  }
};

/// Sorts n unique rank keys that come in ascending node order into `RankKey::less` order.
/// float: a stable least-significant-digit radix sort on the keys' high halves (the scores'
/// images, 8 bits per pass; a pass whose digit all keys share is skipped), so equal scores keep
/// their ascending node order: O(n) and no branch on the data, where a comparison sort of the
/// kept keys cost about a sixth of TopK's forward. double: `parallel_sort`. Either way the keys
/// are unique, so the result does not depend on the algorithm or the number of threads.
/// `buffer` is scratch.
template <typename Scalar>
void sort_rank_keys(typename RankKey<Scalar>::Type* keys, Index n, std::vector<typename RankKey<Scalar>::Type>& buffer) {
  using Rank = RankKey<Scalar>;
  using Key = typename Rank::Type;
  if constexpr (Rank::packed) {
    constexpr Index small = 64;  // below this a comparison sort is cheaper than four histograms
    if (n < small) {
      std::sort(keys, keys + n);
      return;
    }
    std::uint32_t count[4][256] = {};
    for (Index i = 0; i < n; ++i) {
      const auto w = static_cast<std::uint32_t>(keys[i] >> 32);
      ++count[0][w & 0xffu];
      ++count[1][(w >> 8) & 0xffu];
      ++count[2][(w >> 16) & 0xffu];
      ++count[3][w >> 24];
    }
    buffer.resize(static_cast<std::size_t>(n));
    Key* src = keys;
    Key* dst = buffer.data();
    for (int d = 0; d < 4; ++d) {
      const int shift = 32 + 8 * d;
      if (count[d][(src[0] >> shift) & 0xffu] == static_cast<std::uint32_t>(n)) continue;  // one digit: in order
      std::uint32_t next[256];
      std::uint32_t sum = 0;
      for (int b = 0; b < 256; ++b) {
        next[b] = sum;
        sum += count[d][b];
      }
      for (Index i = 0; i < n; ++i) dst[next[(src[i] >> shift) & 0xffu]++] = src[i];
      std::swap(src, dst);
    }
    if (src != keys) std::copy(src, src + n, keys);
  } else {
    parallel_sort(keys, n, [](const Key& a, const Key& c) { return Rank::less(a, c); });
  }
}

/// Keeps, in place and in their order, the k smallest (`RankKey::less`) of n unique keys that
/// come in ascending node order (0 < k < n): the top k of a graph, still in node order.
/// float: a most-significant-digit radix select of the k-th key's high half (four histogram
/// passes over the keys, 8 bits each, no branch on the data), then one pass that keeps the keys
/// below it and, of the keys equal to it (equal scores), as many as the rank needs in node
/// order, which is the tie order. double: `std::nth_element` on a copy for the k-th key, then the
/// same pass. O(n) either way; `buffer` is scratch.
template <typename Scalar>
void keep_smallest_keys(typename RankKey<Scalar>::Type* keys, Index n, Index k,
                        std::vector<typename RankKey<Scalar>::Type>& buffer) {
  using Rank = RankKey<Scalar>;
  using Key = typename Rank::Type;
  Index kept = 0;
  if constexpr (Rank::packed) {
    const auto high = [](Key key) { return static_cast<std::uint32_t>(key >> 32); };
    std::uint32_t prefix = 0, mask = 0;
    Index rank = k;  // rank of the k-th key among the keys whose high half matches prefix on mask
    for (int shift = 24; shift >= 0; shift -= 8) {
      std::uint32_t count[256] = {};
      for (Index i = 0; i < n; ++i) {
        const std::uint32_t w = high(keys[i]);
        count[(w >> shift) & 0xffu] += (w & mask) == prefix ? 1u : 0u;
      }
      std::uint32_t digit = 0;
      while (static_cast<Index>(count[digit]) < rank) rank -= static_cast<Index>(count[digit++]);
      prefix |= digit << shift;
      mask |= 0xffu << shift;
    }
    Index ties = 0;
    for (Index i = 0; i < n; ++i) {
      const Key key = keys[i];
      const std::uint32_t w = high(key);
      const bool take = w < prefix || (w == prefix && ties < rank);
      ties += w == prefix ? 1 : 0;
      keys[kept] = key;  // kept <= i: the write never passes the key being read
      kept += take ? 1 : 0;
    }
  } else {
    const auto less = [](const Key& a, const Key& c) { return Rank::less(a, c); };
    buffer.assign(keys, keys + n);
    std::nth_element(buffer.begin(), buffer.begin() + (k - 1), buffer.end(), less);
    const Key last = buffer[static_cast<std::size_t>(k - 1)];
    for (Index i = 0; i < n; ++i) {
      const Key key = keys[i];
      keys[kept] = key;
      kept += less(last, key) ? 0 : 1;
    }
  }
  GNNPOOL_ASSERT(kept == k, "kept ", kept, " keys of ", n, ", expected ", k);
}

/// The rank of `k` among the `len` distinct integer keys at `key` (how many are smaller), counted
/// without a branch on the data: O(len) compares that vectorise. Placing each key of a short run
/// (a pooled row of a few dozen columns) at its rank sorts the run in O(len²) compares that cost
/// less than the mispredictions of a comparison sort (about one per key). ClusterConnect and
/// InducedConnect sort their short pooled rows this way.
template <typename Key>
std::size_t rank_among(const Key* key, std::size_t len, Key k) {
  static_assert(std::is_integral_v<Key>, "rank_among counts integer keys");
  std::make_unsigned_t<Key> rank = 0;  // the keys' width, so the compares and counts vectorise together
  for (std::size_t v = 0; v < len; ++v) rank += key[v] < k ? 1u : 0u;
  return static_cast<std::size_t>(rank);
}

/// The nodes of each graph by descending key, ties to the lower index, graph after graph (keys
/// are not NaN): each graph's `RankKey`s, made in node order, sorted by `sort_rank_keys` (for
/// float a radix sort, O(N)). `order` is resized to N.
template <typename Scalar>
void rank_descending(const Vector<Scalar>& key, const IndexVector& offsets, IndexVector& order) {
  using Rank = RankKey<Scalar>;
  const Index n = key.size();
  order.resize(static_cast<std::size_t>(n));
  std::vector<typename Rank::Type> keys, buffer;
  const IndexVector whole{0, n};
  const IndexVector& bounds = offsets.size() < 2 ? whole : offsets;
  for (std::size_t b = 0; b + 1 < bounds.size(); ++b) {
    const Index lo = bounds[b], hi = bounds[b + 1];
    keys.resize(static_cast<std::size_t>(hi - lo));
    for (Index i = lo; i < hi; ++i) keys[static_cast<std::size_t>(i - lo)] = Rank::make(key[i], static_cast<StorageIndex>(i));
    sort_rank_keys<Scalar>(keys.data(), hi - lo, buffer);
    for (Index i = lo; i < hi; ++i) order[static_cast<std::size_t>(i)] = Rank::node(keys[static_cast<std::size_t>(i - lo)]);
  }
}

}  // namespace gnnpool::detail

#endif
