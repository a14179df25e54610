// Tests of gnnpool/core/types.hpp: the layout the whole library relies on (row-major dense,
// CSR sparse with 32-bit indices, Ref views that never copy contiguous rows).

#include <gnnpool/core/types.hpp>

#include <catch2/catch.hpp>

#include <type_traits>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_core_types {

using gnnpool::Index;

static_assert(std::is_same_v<gnnpool::Index, Eigen::Index>);
static_assert(std::is_same_v<gnnpool::StorageIndex, int>);
static_assert(gnnpool::Matrix<double>::IsRowMajor, "node features are row-major (PyG / NumPy layout)");
static_assert(gnnpool::Matrix<float>::IsRowMajor);
static_assert(gnnpool::Matrix<double>::RowsAtCompileTime == Eigen::Dynamic);
static_assert(gnnpool::Matrix<double>::ColsAtCompileTime == Eigen::Dynamic);
static_assert(gnnpool::Vector<double>::ColsAtCompileTime == 1, "Vector is a column vector");
static_assert(gnnpool::SparseMatrix<double>::IsRowMajor, "adjacency is CSR");
static_assert(std::is_same_v<gnnpool::SparseMatrix<float>::StorageIndex, gnnpool::StorageIndex>);
static_assert(std::is_same_v<gnnpool::SparseMatrix<float>::Scalar, float>);
static_assert(std::is_same_v<gnnpool::IndexVector, std::vector<Index>>);

namespace {

template <typename Scalar>
const Scalar* data_of(const gnnpool::ConstMatrixRef<Scalar>& view) {
  return view.data();
}

}  // namespace

TEMPLATE_TEST_CASE("ConstMatrixRef views a Matrix, a Map and a row block without copying", "[core][types]", float, double) {
  gnnpool::Matrix<TestType> m(4, 3);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = TestType(i);
  // Row-major: consecutive entries of a row are adjacent in memory.
  CHECK(m(1, 2) == TestType(5));
  CHECK(&m(1, 1) + 1 == &m(1, 2));

  CHECK(data_of<TestType>(m) == m.data());
  Eigen::Map<const gnnpool::Matrix<TestType>> map(m.data(), 2, 6);
  CHECK(data_of<TestType>(map) == m.data());
  CHECK(data_of<TestType>(m.middleRows(1, 2)) == m.data() + 3);
  const gnnpool::ConstMatrixRef<TestType> rows = m.middleRows(2, 2);
  CHECK(rows.rows() == 2);
  CHECK(rows(0, 0) == TestType(6));

  // Leading columns keep unit inner stride: viewed in place with an outer stride.
  const gnnpool::ConstMatrixRef<TestType> left = m.leftCols(2);
  CHECK(left.data() == m.data());
  CHECK(left.outerStride() == 3);
  CHECK(left(3, 1) == TestType(10));
  // A column-major expression cannot be viewed as row-major: the Ref copies it (documented cost).
  const gnnpool::ConstMatrixRef<TestType> transposed = m.transpose();
  CHECK(transposed.data() != m.data());
  CHECK(transposed(1, 3) == TestType(10));
}

TEMPLATE_TEST_CASE("SparseMatrix stores rows (CSR) with int indices", "[core][types]", float, double) {
  std::vector<Eigen::Triplet<TestType, gnnpool::StorageIndex>> t{{0, 1, TestType(2)}, {2, 0, TestType(3)}, {0, 2, TestType(4)}};
  gnnpool::SparseMatrix<TestType> a(3, 3);
  a.setFromTriplets(t.begin(), t.end());
  REQUIRE(a.isCompressed());
  CHECK(a.outerSize() == 3);  // one outer entry per row
  CHECK(a.outerIndexPtr()[1] == 2);  // row 0 holds two entries
  CHECK(a.innerIndexPtr()[0] == 1);  // sorted column indices within a row
  CHECK(a.innerIndexPtr()[1] == 2);
  CHECK(a.valuePtr()[2] == TestType(3));
  CHECK(sizeof(*a.innerIndexPtr()) == 4);
  gnnpool::Vector<TestType> ones = gnnpool::Vector<TestType>::Ones(3);
  const gnnpool::Vector<TestType> row_sums = a * ones;
  CHECK(row_sums(0) == TestType(6));
  CHECK(row_sums(1) == TestType(0));
}

}  // namespace gnnpool_test_core_types
