// Tests of gnnpool/core/selection.hpp: the two selection forms and their counts.

#include <gnnpool/core/selection.hpp>

#include <catch2/catch.hpp>

#include <type_traits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_core_selection {

using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::SoftSelection;

static_assert(std::is_same_v<HardSelection<float>::Scalar, float>);
static_assert(std::is_same_v<HardSelection<double>::Gradient, gnnpool::Vector<double>>,
              "dL/d(hard selection) is one entry per input node (its weight)");
static_assert(std::is_same_v<SoftSelection<double>::Gradient, gnnpool::Matrix<double>>,
              "dL/dS has the shape of S");
static_assert(HardSelection<double>::dropped == -1);

TEMPLATE_TEST_CASE("a default selection is an empty batch", "[core][selection]", float, double) {
  HardSelection<TestType> h;
  CHECK(h.offsets == IndexVector{0});
  CHECK(h.num_nodes() == 0);
  CHECK(h.num_supernodes() == 0);
  SoftSelection<TestType> s;
  CHECK(s.offsets == IndexVector{0});
  CHECK(s.num_nodes() == 0);
  CHECK(s.num_supernodes() == 0);
}

TEMPLATE_TEST_CASE("HardSelection counts input nodes and supernodes graph-major", "[core][selection]", float, double) {
  // Two graphs (nodes 0..3 and 4..6); TopK-like: keep 0 and 2 of the first, 5 of the second.
  HardSelection<TestType> h;
  const Index d = HardSelection<TestType>::dropped;
  h.assignment = {0, d, 1, d, d, 2, d};
  h.weight = gnnpool::Vector<TestType>::Constant(7, TestType(0.5));
  h.representative = {0, 2, 5};
  h.offsets = {0, 2, 3};
  CHECK(h.num_nodes() == 7);
  CHECK(h.num_supernodes() == 3);
  CHECK(h.weight.size() == h.num_nodes());
  // Each supernode's representative is assigned to it.
  for (Index s = 0; s < h.num_supernodes(); ++s)
    CHECK(h.assignment[static_cast<std::size_t>(h.representative[static_cast<std::size_t>(s)])] == s);
}

TEMPLATE_TEST_CASE("SoftSelection has K clusters per graph", "[core][selection]", float, double) {
  SoftSelection<TestType> s;
  s.s = gnnpool::Matrix<TestType>::Constant(9, 3, TestType(1) / TestType(3));
  s.offsets = {0, 4, 4, 9};  // three graphs, the middle one empty
  CHECK(s.num_nodes() == 9);
  CHECK(s.num_clusters() == 3);
  CHECK(s.num_supernodes() == 9);  // K per graph, the empty graph included
  CHECK(s.s.row(0).sum() == Approx(1.0));
}

}  // namespace gnnpool_test_core_selection
