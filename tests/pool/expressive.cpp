// Tests of gnnpool/pool/expressive.hpp: the row-sum condition on hand-made selections of the
// three forms, and the verdict for every pooler of the library on one batch (the table of
// docs/sparse-pooling.md).

#include <gnnpool/pool/expressive.hpp>

#include "pool/hard_test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_expressive {

using namespace gnnpool;

TEST_CASE("is_expressive checks that every row of S sums to one non-zero constant", "[pool][expressive]") {
  HardSelection<double> hard;
  hard.assignment = {0, 0, 1};
  hard.representative = {0, 2};
  hard.weight = Vector<double>::Constant(3, 0.5);
  hard.offsets = {0, 2};
  CHECK(is_expressive(hard));
  hard.weight[2] = 0.5 + 1e-7;  // within torch.allclose's rtol
  CHECK(is_expressive(hard));
  hard.weight[2] = 0.6;
  CHECK_FALSE(is_expressive(hard));
  hard.weight.setConstant(0.5);
  hard.assignment[1] = HardSelection<double>::dropped;  // a dropped node: a zero row
  CHECK_FALSE(is_expressive(hard));
  hard.weight.setZero();
  hard.assignment = {0, 0, 1};
  CHECK_FALSE(is_expressive(hard));  // constant, but 0
  CHECK_FALSE(is_expressive(HardSelection<double>{}));

  SoftSelection<double> soft;
  soft.s = Matrix<double>::Constant(4, 3, 1.0 / 3.0);
  soft.offsets = {0, 4};
  CHECK(is_expressive(soft));
  soft.s(1, 1) = 0.5;
  CHECK_FALSE(is_expressive(soft));

  // Two overlapping supernodes {0, 1} and {1, 2}: node 1 is in both; scales 2 and 1.
  SparseSelection<double> sparse;
  sparse.start = {0, 2, 4};
  sparse.node = {0, 1, 1, 2};
  sparse.weight.resize(6);
  sparse.weight << 0.5, 0.25, 0.5, 1.0, 2.0, 1.0;
  sparse.representative = {0, 2};
  sparse.assignment = {0, -1, 1};
  sparse.offsets = {0, 2};
  CHECK(selection_row_sums(sparse).isApprox((Vector<double>(3) << 1.0, 1.0, 1.0).finished()));
  CHECK(is_expressive(sparse));
}

TEST_CASE("Which poolers give an expressive selection", "[pool][expressive]") {
  std::vector<Index> sizes{12, 9};
  const Batch<double> g = testing::random_batch<double>(sizes, 3.0, 4, 3, {.weighted = true});
  auto verdict = [&](const auto& pool, ParameterSet<double>& params) {
    params.initialize(5);
    typename std::decay_t<decltype(pool)>::Output out;
    typename std::decay_t<decltype(pool)>::Cache cache;
    pool.forward(params, g, out, cache);
    return is_expressive(out.selection);
  };
  ParameterSet<double> p;
  CHECK(verdict(NoPool<double>(p, "a", 4), p));
  CHECK(verdict(GraclusPool<double>(p, "b", 4), p));
  CHECK(verdict(SEPPool<double>(p, "c", 4), p));
  CHECK(verdict(MinCutPool<double>(p, "d", 4, {.k = 3}), p));
  CHECK(verdict(DiffPool<double>(p, "e", 4, {.k = 3}), p));
  CHECK(verdict(DMoNPool<double>(p, "f", 4, {.k = 3}), p));
  CHECK_FALSE(verdict(TopKPool<double>(p, "g", 4), p));
  CHECK_FALSE(verdict(SAGPool<double>(p, "h", 4), p));
  CHECK_FALSE(verdict(PANPool<double>(p, "i", 4), p));
  CHECK_FALSE(verdict(ASAPPool<double>(p, "j", 4), p));
  CHECK_FALSE(verdict(EdgeContractionPool<double>(p, "k", 4), p));
  CHECK_FALSE(verdict(MaxCutPool<double>(p, "l", 4, {.select = {.mp_units = {4}, .mlp_units = {}}}), p));
  CHECK_FALSE(verdict(KMISPool<double>(p, "m", 4), p));
  CHECK(verdict(KMISPool<double>(p, "n", 4, {.select = {.scorer = KMISScorer::constant}, .passthrough = ScorePassthrough::none}), p));
}

}  // namespace gnnpool_test_pool_expressive
