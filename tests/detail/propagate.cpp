// Tests of gnnpool/detail/propagate.hpp's row sums (and rows.hpp's masked_row_sum under them):
// every row length around the masked kernel's width, rows at the end of the value array, and
// non-finite values just past a row that the mask must keep out.

#include <gnnpool/detail/propagate.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

namespace gnnpool_test_detail_propagate {

using gnnpool::Index;
using gnnpool::StorageIndex;

/// A CSR matrix whose row r has lengths[r] entries with values value(r, e) at columns 0, 1, ...
template <typename Scalar, typename Value>
gnnpool::SparseMatrix<Scalar> rows_of(const std::vector<Index>& lengths, Value value) {
  Index cols = 1;
  for (const Index len : lengths) cols = std::max(cols, len);
  std::vector<Eigen::Triplet<Scalar, StorageIndex>> entries;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    for (Index e = 0; e < lengths[r]; ++e)
      entries.emplace_back(static_cast<StorageIndex>(r), static_cast<StorageIndex>(e), value(static_cast<Index>(r), e));
  gnnpool::SparseMatrix<Scalar> m(static_cast<Index>(lengths.size()), cols);
  m.setFromTriplets(entries.begin(), entries.end());
  m.makeCompressed();
  return m;
}

TEMPLATE_TEST_CASE("detail::row_sums equals each row's sum for every length, at the array's end too",
                   "[detail][propagate]", float, double) {
  using Scalar = TestType;
  std::vector<Index> lengths;
  for (Index len = 0; len <= 40; ++len) lengths.push_back(len);  // short, exactly 16, long
  for (Index len = 40; len-- > 0;) lengths.push_back(len);       // the short rows last: near the end
  const auto value = [](Index r, Index e) { return static_cast<Scalar>(0.25 * static_cast<double>(1 + (3 * r + e) % 7)); };
  const auto m = rows_of<Scalar>(lengths, value);
  const gnnpool::Vector<Scalar> d = gnnpool::detail::row_sums(m);
  REQUIRE(d.size() == static_cast<Index>(lengths.size()));
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    double expected = 0;  // quarters: every partial sum is exact in float and double
    for (Index e = 0; e < lengths[r]; ++e) expected += static_cast<double>(value(static_cast<Index>(r), e));
    CHECK(static_cast<double>(d[static_cast<Index>(r)]) == expected);
  }
}

TEMPLATE_TEST_CASE("detail::row_sums keeps a neighbouring row's NaN or infinity out of a short row's sum",
                   "[detail][propagate]", float, double) {
  using Scalar = TestType;
  // Short rows followed by rows of non-finite values: the masked load reads them, the mask drops them.
  const std::vector<Index> lengths = {3, 20, 1, 20, 0, 20, 15, 20};
  const Scalar bad[] = {std::numeric_limits<Scalar>::quiet_NaN(), std::numeric_limits<Scalar>::infinity(),
                        -std::numeric_limits<Scalar>::infinity()};
  const auto value = [&](Index r, Index e) { return r % 2 == 1 ? bad[(r / 2 + e) % 3] : Scalar(1); };
  const auto m = rows_of<Scalar>(lengths, value);
  const gnnpool::Vector<Scalar> d = gnnpool::detail::row_sums(m);
  for (std::size_t r = 0; r < lengths.size(); r += 2) CHECK(d[static_cast<Index>(r)] == Scalar(lengths[r]));
  CHECK(std::isnan(d[1]));
}

TEMPLATE_TEST_CASE("detail::row_sums of matrices with fewer than 16 stored entries", "[detail][propagate]", float,
                   double) {
  using Scalar = TestType;
  const auto m = rows_of<Scalar>({2, 0, 5}, [](Index r, Index e) { return static_cast<Scalar>(r + e); });
  const gnnpool::Vector<Scalar> d = gnnpool::detail::row_sums(m);
  CHECK(d[0] == Scalar(1));
  CHECK(d[1] == Scalar(0));
  CHECK(d[2] == Scalar(2 + 3 + 4 + 5 + 6));
  const gnnpool::SparseMatrix<Scalar> empty(0, 0);
  CHECK(gnnpool::detail::row_sums(empty).size() == 0);
}

}  // namespace gnnpool_test_detail_propagate
