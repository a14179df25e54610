// Regression test of issue 12, finding F8: batches whose graphs have no node. The results were
// right, but Eigen's column reductions on a 0-row matrix offset a null pointer (undefined
// behaviour that UBSan reports: Linear::backward_params, MinCut, DiffPool, DMoN, the attention
// readouts). Every pooler and readout runs forward and backward on such batches here, so the
// sanitizer build (the ci preset) checks that none of them does it again.

#include "support/layer_zoo.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_empty_batch {

using namespace gnnpool;

namespace {

template <typename Scalar>
std::vector<Batch<Scalar>> batches_with_empty_graphs() {
  std::vector<Batch<Scalar>> out;
  out.push_back(make_graph<Scalar>(Matrix<Scalar>(0, 2), {}));  // the fuzz finding: 1 graph, 0 nodes
  std::vector<Batch<Scalar>> parts;
  parts.push_back(make_graph<Scalar>(Matrix<Scalar>(0, 2), {}));
  Matrix<Scalar> x(3, 2);
  x << Scalar(1), Scalar(2), Scalar(-1), Scalar(0.5), Scalar(3), Scalar(-2);
  parts.push_back(make_graph<Scalar>(x, {{0, 1}, {1, 2}}));
  parts.push_back(make_graph<Scalar>(Matrix<Scalar>(0, 2), {}));
  out.push_back(concatenate<Scalar>(parts));  // empty graphs around a non-empty one
  std::vector<Batch<Scalar>> empties(3, make_graph<Scalar>(Matrix<Scalar>(0, 2), {}));
  out.push_back(concatenate<Scalar>(empties));  // 3 graphs, 0 nodes
  return out;
}

template <typename Scalar>
void run_all() {
  for (const auto& batch : batches_with_empty_graphs<Scalar>()) {
    ParameterSet<Scalar> params;
    const auto zoo = test::make_zoo<Scalar>(params, 2, test::ZooHyper{});
    params.initialize(1);
    for (const auto& layer : zoo) {
      INFO(layer->name() << " on " << batch.num_graphs() << " graphs, " << batch.num_nodes() << " nodes");
      const std::vector<double> values = layer->run(params, batch, 3);
      for (const double v : values) CHECK(std::isfinite(v));
    }
  }
}

}  // namespace

TEST_CASE("F8: the repro, MinCutPool<float> backward on a graph without nodes", "[pool][reliability]") {
  ParameterSet<float> params;
  const MinCutPool<float> pool(params, "p", 1, {.k = 2});
  params.initialize(0);
  const Batch<float> batch = make_graph<float>(Matrix<float>(0, 1), {});
  MinCutPool<float>::Output out;
  MinCutPool<float>::Cache cache;
  pool.forward(params, batch, out, cache);
  // An empty graph still owns its K supernodes, with zero features and no loss.
  CHECK(out.batch.x == Matrix<float>::Zero(2, 1));
  for (const auto& l : out.losses) CHECK(l.value == 0.0f);
  MinCutPool<float>::OutputGrad grad;
  grad.x = Matrix<float>::Ones(2, 1);
  BatchGrad<float> din;
  auto dparams = params.zeros_like();
  pool.backward(params, batch, out, cache, grad, din, dparams);
  CHECK(din.x.rows() == 0);
  for (Index s = 0; s < dparams.size(); ++s) CHECK(dparams[s].isZero(0.0f));
}

TEST_CASE("F8: every pooler and readout on batches with empty graphs, sanitizer-clean", "[pool][readout][reliability]") {
  SECTION("float") { run_all<float>(); }
  SECTION("double") { run_all<double>(); }
}

}  // namespace gnnpool_test_pool_empty_batch
