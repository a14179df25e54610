// Tests of gnnpool/select/scorer.hpp: the one node-scorer interface. LayerScorer forwards to its
// layer (feature layer: x only; graph layer: x and A), ADDS the layer's input gradients into din
// (as every policy inside a Pool does) and assigns its parameter gradients; CallerLogits hands
// the caller's logits through and returns dL/dlogits; node_scorer_t picks the right wrapper.

#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/mlp.hpp>
#include <gnnpool/select/scorer.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <type_traits>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_select_scorer {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::Vector;

static_assert(gnnpool::NodeScorer<gnnpool::CallerLogits<double>>);
static_assert(gnnpool::NodeScorer<gnnpool::LayerScorer<gnnpool::MLP<double>>>);
static_assert(gnnpool::NodeScorer<gnnpool::LayerScorer<gnnpool::GCNConv<float>>>);
static_assert(gnnpool::ScoringLayer<gnnpool::MLP<double>> && gnnpool::ScoringLayer<gnnpool::GCNConv<double>>);
static_assert(!gnnpool::NodeScorer<gnnpool::MLP<double>>);
static_assert(std::is_same_v<gnnpool::node_scorer_t<gnnpool::MLP<double>>, gnnpool::LayerScorer<gnnpool::MLP<double>>>);
static_assert(std::is_same_v<gnnpool::node_scorer_t<gnnpool::CallerLogits<double>>, gnnpool::CallerLogits<double>>);

TEST_CASE("LayerScorer over a graph layer: the layer's logits, its gradients added into din", "[select][scorer]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 41);
  ParameterSet<double> params;
  const gnnpool::GCNConv<double> gcn(params, "gcn", 3, 4);
  params.initialize(7);
  const gnnpool::LayerScorer<gnnpool::GCNConv<double>> scorer(gcn);
  CHECK(scorer.out_features() == 4);
  CHECK(&gnnpool::scorer_layer(scorer) == &scorer.layer());
  std::vector<Index> slots, layer_slots;
  scorer.parameter_slots(slots);
  gcn.parameter_slots(layer_slots);
  CHECK(slots == layer_slots);

  Matrix<double> z, expected;
  gnnpool::LayerScorer<gnnpool::GCNConv<double>>::Cache cache;
  gnnpool::GCNConv<double>::Cache layer_cache;
  scorer.forward(params, batch, z, cache);
  gcn.forward(params, batch, expected, layer_cache);
  CHECK(z == expected);

  const Matrix<double> dz = gnnpool::testing::random_features<double>(batch.num_nodes(), 4, 42);
  Matrix<double> dx;
  Vector<double> dadj;
  ParameterSet<double> layer_grads = params.zeros_like();
  gcn.backward(params, batch, layer_cache, dz, gnnpool::BatchGradRef<double>{&dx, &dadj}, layer_grads);
  gnnpool::BatchGrad<double> din;
  din.x.setOnes(batch.num_nodes(), 3);  // what earlier policies already added
  din.adj.setOnes(batch.adj.nonZeros());
  ParameterSet<double> grads = params.zeros_like();
  scorer.backward(params, batch, cache, dz, din, grads);
  CHECK(gnnpool::test::max_relative_error(din.x, (dx.array() + 1).matrix()) < 1e-14);
  CHECK(gnnpool::test::max_relative_error(din.adj, (dadj.array() + 1).matrix()) < 1e-14);
  for (const Index s : slots) CHECK(grads[s] == layer_grads[s]);
}

TEST_CASE("LayerScorer over a feature layer reads x only and leaves dA alone", "[select][scorer]") {
  const auto batch = gnnpool::test::soft_test_batch<float>(3, 43);
  ParameterSet<float> params;
  const gnnpool::MLP<float> mlp(params, "mlp", {3, 5, 2}, gnnpool::Activation::relu);
  params.initialize(8);
  const gnnpool::LayerScorer<gnnpool::MLP<float>> scorer(mlp);
  Matrix<float> z, expected;
  gnnpool::LayerScorer<gnnpool::MLP<float>>::Cache cache;
  gnnpool::MLP<float>::Cache layer_cache;
  scorer.forward(params, batch, z, cache);
  mlp.forward(params, batch.x, expected, layer_cache);
  CHECK(z == expected);
  const Matrix<float> dz = gnnpool::testing::random_features<float>(batch.num_nodes(), 2, 44);
  Matrix<float> dx;
  ParameterSet<float> layer_grads = params.zeros_like();
  mlp.backward(params, batch.x, layer_cache, dz, &dx, layer_grads);
  gnnpool::BatchGrad<float> din;
  din.x.setZero(batch.num_nodes(), 3);
  din.adj.setConstant(batch.adj.nonZeros(), 2.0f);
  ParameterSet<float> grads = params.zeros_like();
  scorer.backward(params, batch, cache, dz, din, grads);
  CHECK(din.x == dx);
  CHECK((din.adj.array() == 2.0f).all());
  for (Index s = 0; s < grads.size(); ++s) CHECK(grads[s] == layer_grads[s]);
}

TEST_CASE("CallerLogits passes the logits through and returns dL/dlogits", "[select][scorer]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 45);
  const Matrix<double> logits = gnnpool::testing::random_features<double>(batch.num_nodes(), 3, 46);
  const gnnpool::ConstMatrixRef<double> ref(logits);
  ParameterSet<double> none;
  const gnnpool::CallerLogits<double> forward_only(&ref);
  CHECK(forward_only.out_features() == 3);
  std::vector<Index> slots;
  forward_only.parameter_slots(slots);
  CHECK(slots.empty());
  Matrix<double> z;
  gnnpool::CallerLogits<double>::Cache cache;
  forward_only.forward(none, batch, z, cache);
  CHECK(z == logits);

  Matrix<double> dlogits;
  const gnnpool::CallerLogits<double> backward_only(nullptr, &dlogits);
  const Matrix<double> dz = gnnpool::testing::random_features<double>(batch.num_nodes(), 3, 47);
  gnnpool::BatchGrad<double> din;
  din.x.setZero(batch.num_nodes(), 3);
  ParameterSet<double> dnone;
  backward_only.backward(none, batch, cache, dz, din, dnone);
  CHECK(dlogits == dz);
  CHECK(din.x.isZero(0));

  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { backward_only.forward(none, batch, z, cache); }, {"CallerLogits", "no logits"});
  const Matrix<double> short_logits(2, 3);
  const gnnpool::ConstMatrixRef<double> short_ref(short_logits);
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { gnnpool::CallerLogits<double>(&short_ref).forward(none, batch, z, cache); },
      {"CallerLogits", "2 x 3", std::to_string(batch.num_nodes()) + " nodes"});
}

}  // namespace gnnpool_test_select_scorer
