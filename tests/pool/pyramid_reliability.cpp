// Regression tests of load_pyramids on hostile files (issue 12, finding F3): counts whose byte
// size wraps around 2^64, and values that are not finite in the Scalar read into. Each file has
// a valid header, length and checksum, so only the payload checks can refuse it, with a
// parse_error naming the file and the byte offset.

#include <gnnpool/pool/pyramid.hpp>

#include <catch2/catch.hpp>

#include "io/support.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_pyramid_reliability {

using gnnpool::detail::ByteWriter;
using gnnpool::test::require_parse_error;
using gnnpool::test::TempDir;

namespace {

/// A whole pyramid file around `payload` (version 1, `scalar_bytes`, `count` pyramids).
std::string seal(const ByteWriter& payload, std::uint32_t scalar_bytes, std::uint64_t count = 1) {
  ByteWriter file;
  for (const char c : gnnpool::detail::pyramid_magic) file.bytes.push_back(static_cast<unsigned char>(c));
  file.put<std::uint32_t>(1);
  file.put<std::uint32_t>(scalar_bytes);
  file.put<std::uint64_t>(count);
  file.put<std::uint64_t>(payload.bytes.size());
  file.bytes.insert(file.bytes.end(), payload.bytes.begin(), payload.bytes.end());
  file.put<std::uint64_t>(gnnpool::detail::fnv1a(payload.bytes.data(), payload.bytes.size()));
  return {file.bytes.begin(), file.bytes.end()};
}

/// One graph of two nodes, one level merging them into one supernode without edges; the weights
/// and the node count are the caller's.
template <typename Scalar>
ByteWriter one_level(std::uint64_t nodes, Scalar w0, Scalar w1) {
  ByteWriter p;
  p.put<std::uint64_t>(nodes);  // N0
  p.put<std::uint64_t>(1);      // B
  p.put<std::int64_t>(0);
  p.put<std::int64_t>(2);       // offsets
  p.put<std::uint64_t>(1);      // L
  p.put<std::uint64_t>(1);      // M
  p.put<std::int64_t>(0);
  p.put<std::int64_t>(0);       // assignment
  p.put<Scalar>(w0);
  p.put<Scalar>(w1);            // weights
  p.put<std::int64_t>(0);       // representative
  p.put<std::int64_t>(0);
  p.put<std::int64_t>(1);       // supernode offsets
  p.put<std::uint64_t>(0);      // nnz
  p.put<std::int64_t>(0);
  p.put<std::int64_t>(0);       // outer
  return p;
}

}  // namespace

TEST_CASE("F3: load_pyramids refuses counts whose byte size overflows, before allocating", "[pool][pyramid][io][reliability]") {
  TempDir dir;
  // The fuzz finding: N0 = 2^61, so N0 * 8 = 0 mod 2^64 passed the size check and
  // std::vector::resize threw std::length_error.
  ByteWriter p;
  p.put<std::uint64_t>(std::uint64_t(1) << 61);
  p.put<std::uint64_t>(0);
  p.put<std::int64_t>(0);
  p.put<std::uint64_t>(1);
  p.put<std::uint64_t>(0);
  const auto path = dir.write("count.pyr", seal(p, 8)).string();
  require_parse_error([&] { (void)gnnpool::load_pyramids<double>(path); },
                      {path, "truncated at byte 72", "an assignment", "2305843009213693952 items of 8 bytes"});
  // The same through the weights of a float file: 2^62 nodes x 4 bytes.
  const auto weights = dir.write("weights.pyr", seal(one_level<float>(std::uint64_t(1) << 62, 1.0f, 1.0f), 4));
  require_parse_error([&] { (void)gnnpool::load_pyramids<float>(weights.string()); },
                      {"weights.pyr", "truncated", "items of 8 bytes"});
  // A count past 2^63 is not a count.
  const auto negative = dir.write("neg.pyr", seal(one_level<double>(~std::uint64_t(0), 1.0, 1.0), 8));
  require_parse_error([&] { (void)gnnpool::load_pyramids<double>(negative.string()); }, {"neg.pyr"});
  // The file the helper writes is otherwise valid.
  const auto good = dir.write("good.pyr", seal(one_level<double>(2, 1.0, 0.5), 8));
  const auto ps = gnnpool::load_pyramids<double>(good.string());
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].levels[0].selection.weight[1] == 0.5);
  CHECK(ps[0].level_size(1) == 1);
}

TEST_CASE("F6: load_pyramids refuses values that are not finite in the Scalar read into", "[pool][pyramid][io][reliability]") {
  TempDir dir;
  // A double file read as float: 1e39 is finite in the file but not in the result.
  const auto wide = dir.write("wide.pyr", seal(one_level<double>(2, 1.0, 1e39), 8)).string();
  CHECK(gnnpool::load_pyramids<double>(wide)[0].levels[0].selection.weight[1] == 1e39);
  require_parse_error([&] { (void)gnnpool::load_pyramids<float>(wide); },
                      {"wide.pyr", "corrupt at byte", "a weight is 1e+39, not a finite float"});
  const auto nan = dir.write("nan.pyr",
                             seal(one_level<float>(2, std::numeric_limits<float>::quiet_NaN(), 1.0f), 4)).string();
  require_parse_error([&] { (void)gnnpool::load_pyramids<double>(nan); }, {"nan.pyr", "a weight is nan"});
}

}  // namespace gnnpool_test_pool_pyramid_reliability
