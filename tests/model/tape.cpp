// Tests of gnnpool/model/tape.hpp, gnnpool/model/ops.hpp and gnnpool/model/check.hpp: models
// recorded on a tape get the gradients of the whole model (finite differences through
// check_model), including the paths through a pooled adjacency that depends on learned
// quantities; shared layers get the sum of their calls; values read twice get the sum of their
// gradients; memory is reused between steps.

#include <gnnpool/gnnpool.hpp>
#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>

#include "support/model_check.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_model_tape {

using namespace gnnpool;

using test::check_conv_after_pool;
using test::three_graphs;

TEST_CASE("A convolution after DiffPool passes the whole-model gradient check", "[model][tape][gradcheck]") {
  auto make = [](ParameterSet<double>& params, Index h) {
    return DiffPool<double>(params, "pool", h, {.k = 3});
  };
  const auto r = check_conv_after_pool(make, /*with_inputs=*/true);
  INFO(r.log);
  REQUIRE(r.ok);
}

TEST_CASE("A convolution after MinCutPool passes the whole-model gradient check", "[model][tape][gradcheck]") {
  auto make = [](ParameterSet<double>& params, Index h) {
    return MinCutPool<double>(params, "pool", h, {.k = 3, .hidden = {4}});
  };
  const auto r = check_conv_after_pool(make, /*with_inputs=*/true);
  INFO(r.log);
  REQUIRE(r.ok);
}

TEST_CASE("Convolutions after TopK, DMoN, Graclus and k-MIS pass the whole-model gradient check", "[model][tape][gradcheck]") {
  SECTION("TopK") {
    const auto r = check_conv_after_pool(
        [](ParameterSet<double>& params, Index h) { return TopKPool<double>(params, "pool", h, {.ratio = 0.5}); },
        false);
    INFO(r.log);
    REQUIRE(r.ok);
  }
  SECTION("DMoN") {
    const auto r = check_conv_after_pool(
        [](ParameterSet<double>& params, Index h) { return DMoNPool<double>(params, "pool", h, {.k = 2}); }, true);
    INFO(r.log);
    REQUIRE(r.ok);
  }
  SECTION("Graclus") {
    const auto r = check_conv_after_pool(
        [](ParameterSet<double>& params, Index h) { return GraclusPool<double>(params, "pool", h); }, false);
    INFO(r.log);
    REQUIRE(r.ok);
  }
  SECTION("k-MIS") {  // linear scorer, representative x[mis] with the score before: dX and dW through the score
    const auto r = check_conv_after_pool(
        [](ParameterSet<double>& params, Index h) { return KMISPool<double>(params, "pool", h); }, false);
    INFO(r.log);
    REQUIRE(r.ok);
  }
}

TEST_CASE("Dropping the pooled adjacency's gradient would change the parameter gradients after DiffPool",
          "[model][tape]") {
  // Why the tape never passes a null adjacency target for S^T A S: its gradient reaches the
  // pooler's parameters. With the second convolution's dA' forced to zero (a constant copy of
  // the pooled graph), the pooler's gradient changes.
  ParameterSet<double> params;
  const GCNConv<double> conv1(params, "conv1", 3, 4), conv2(params, "conv2", 4, 4);
  const DiffPool<double> pool(params, "pool", 4, {.k = 3, .link_weight = 0, .entropy_weight = 0});
  const SumReadout<double> sum;
  params.initialize(1);
  const Batch<double> batch = three_graphs(3, 5);
  Tape<double> tape(params);
  auto run = [&](bool detach, ParameterSet<double>& grads) {
    tape.reset();
    auto [g, x] = tape.inputs(batch);
    auto p = tape(pool, g, relu(tape(conv1, g, x)));
    auto pooled_graph = detach ? tape.constant_graph(p.graph.adj(), p.graph.offsets()) : p.graph;
    auto out = tape(sum, pooled_graph, tape(conv2, pooled_graph, p.x));
    auto loss = cross_entropy(out, std::vector<Index>{0, 1, 2});
    tape.backward(loss, grads);
  };
  ParameterSet<double> full = params.zeros_like(), dropped = params.zeros_like();
  run(false, full);
  run(true, dropped);
  const Matrix<double>& a = full.at("pool.gnn.lin.weight");
  const Matrix<double>& b = dropped.at("pool.gnn.lin.weight");
  REQUIRE((a - b).norm() > 1e-3 * a.norm());
  // conv2 itself does not care.
  REQUIRE((full.at("conv2.lin.weight") - dropped.at("conv2.lin.weight")).norm() == 0.0);
}

TEST_CASE("A layer called twice in one step gets the sum of both calls' parameter gradients", "[model][tape]") {
  ParameterSet<double> params;
  const GCNConv<double> shared(params, "shared", 4, 4);
  const Linear<double> head(params, "head", 4, 2);
  const MeanReadout<double> mean;
  params.initialize(2);
  const Batch<double> batch = three_graphs(4, 3);
  const std::vector<Index> labels{1, 0, 1};

  Tape<double> tape(params);
  tape.reset();
  auto [g, x] = tape.inputs(batch);
  auto h1 = relu(tape(shared, g, x));
  auto h2 = relu(tape(shared, g, h1));  // the same layer again
  auto loss = cross_entropy(tape(head, tape(mean, g, h2)), labels);
  ParameterSet<double> grads = params.zeros_like();
  tape.backward(loss, grads);

  // The same by hand: two separate calls' parameter gradients, summed.
  typename GCNConv<double>::Cache c1, c2;
  Matrix<double> z1, a1, z2, a2, pooled, logits, dlogits, dpooled, da2, dz2, da1, dz1;
  shared.forward(params, batch, z1, c1);
  activation_forward<double>(Activation::relu, z1, a1);
  const BatchRef<double> level2(a1, batch);
  shared.forward(params, level2, z2, c2);
  activation_forward<double>(Activation::relu, z2, a2);
  typename MeanReadout<double>::Cache mc;
  const BatchRef<double> top(a2, batch);
  mean.forward(params, top, pooled, mc);
  typename Linear<double>::Cache lc;
  head.forward(params, pooled, logits, lc);
  softmax_cross_entropy<double>(logits, labels, &dlogits);
  ParameterSet<double> one = params.zeros_like(), two = params.zeros_like();
  head.backward(params, pooled, lc, dlogits, &dpooled, one);
  mean.backward(params, top, mc, dpooled, {&da2, nullptr}, one);
  activation_backward<double>(Activation::relu, z2, a2, da2, dz2);
  shared.backward(params, level2, c2, dz2, {&da1, nullptr}, one);
  activation_backward<double>(Activation::relu, z1, a1, da1, dz1);
  shared.backward(params, batch, c1, dz1, {nullptr, nullptr}, two);
  for (const char* name : {"shared.lin.weight", "shared.bias"}) {
    INFO(name);
    REQUIRE(grads.at(name).isApprox(one.at(name) + two.at(name), 1e-14));
    REQUIRE((one.at(name) - two.at(name)).norm() > 1e-6);  // both calls contribute
  }
  REQUIRE(grads.at("head.weight") == one.at("head.weight"));

  // And the finite-difference check agrees.
  const auto r = check_model(params, [&](Tape<double>& t) {
    auto [gg, xx] = t.inputs(batch);
    auto y = relu(t(shared, gg, relu(t(shared, gg, xx))));
    return cross_entropy(t(head, t(mean, gg, y)), labels);
  });
  INFO(r.log);
  REQUIRE(r.ok);
}

TEST_CASE("A Graph U-Net level: TopK, lift and skip sums pass the whole-model check", "[model][tape][gradcheck]") {
  ParameterSet<double> params;
  const GCNConv<double> down0(params, "down0", 3, 4), down1(params, "down1", 4, 4), up0(params, "up0", 4, 2);
  const TopKAugmentedPool<double> pool(params, "pool", 4, {.ratio = 0.5});
  const HardLift<double> lift;
  params.initialize(4);
  // Not every random batch will do: a triangle component (seed 8 has one) gives its three nodes
  // one TopK score whatever the parameters, a tie the kept set breaks by index: a true kink.
  Batch<double> batch = three_graphs(3, 13);
  const std::vector<Index> train{0, 2, 5, 9, 12, 17};
  const std::vector<Index> labels{0, 1, 1, 0, 1, 0};
  const auto r = check_model(
      params,
      [&](Tape<double>& tape) {
        auto [g, x] = tape.inputs(batch);
        // tanh, not ReLU, first: a node whose ReLU row is all zero gives exact zeros downstream
        // (a kink the check would keep hitting, since the biases start at 0).
        auto h0 = tanh(tape(down0, g, x));
        auto p = tape(pool, g, h0);
        auto h1 = relu(tape(down1, p.graph, p.x));
        auto out = tape(up0, g, h0 + tape(lift, p.selection, h1));  // h0 is read twice
        return cross_entropy(rows(out, train), labels);
      },
      {&batch});
  INFO(r.log);
  REQUIRE(r.ok);
}

TEST_CASE("The functional DiffPool (logits from another network) passes the whole-model check",
          "[model][tape][gradcheck]") {
  ParameterSet<double> params;
  const GCNConv<double> embed(params, "embed", 3, 4), assign(params, "assign", 3, 2), after(params, "after", 4, 3);
  const auto diffpool = diff_pool_function<double>();
  const MaxReadout<double> max;
  params.initialize(6);
  Batch<double> batch = three_graphs(3, 21);
  const std::vector<Index> labels{2, 0, 1};
  const auto r = check_model(
      params,
      [&](Tape<double>& tape) {
        auto [g, x] = tape.inputs(batch);
        auto p = tape(diffpool, g, relu(tape(embed, g, x)), tape(assign, g, x));
        auto out = tape(max, p.graph, tape(after, p.graph, p.x));
        return cross_entropy(out, labels) + p.loss("link_loss") + 0.5 * p.loss("ent_loss");
      },
      {&batch});
  INFO(r.log);
  REQUIRE(r.ok);
}

TEST_CASE("Loss weights at the call site equal weights at construction", "[model][tape]") {
  ParameterSet<double> params;
  const Linear<double> lin(params, "lin", 3, 3);
  const MinCutPool<double> weighted(params, "a", 3, {.k = 2, .cut_weight = 0.25, .ortho_weight = 2.0});
  params.initialize(9);
  const Batch<double> batch = three_graphs(3, 2);
  Tape<double> tape(params);
  ParameterSet<double> g1 = params.zeros_like(), g2 = params.zeros_like();
  {
    tape.reset();
    auto [g, x] = tape.inputs(batch);
    auto p = tape(weighted, g, tape(lin, x));
    tape.backward(p.aux_loss(), g1);
  }
  {
    tape.reset();
    auto [g, x] = tape.inputs(batch);
    auto p = tape(weighted, g, tape(lin, x));
    tape.backward(0.25 * p.loss("mincut_loss") + p.loss("ortho_loss") * 2.0, g2);
  }
  for (Index s = 0; s < params.size(); ++s) REQUIRE(g1[s].isApprox(g2[s], 1e-14));
  REQUIRE(g1.at("lin.weight").norm() > 0);
}

TEST_CASE("The tape reuses its nodes between steps and rejects stale handles", "[model][tape][errors]") {
  ParameterSet<double> params;
  const GCNConv<double> conv(params, "conv", 3, 3);
  params.initialize(0);
  const Batch<double> batch = three_graphs(3, 1);
  Tape<double> tape(params);
  const Matrix<double>* first = nullptr;
  Tensor<double> stale;
  for (int step = 0; step < 3; ++step) {
    tape.reset();
    auto [g, x] = tape.inputs(batch);
    auto y = tape(conv, g, x);
    if (step == 0) {
      first = &y.value();
      stale = y;
    }
    REQUIRE(&y.value() == first);  // the same node, the same output buffer
    REQUIRE(tape.size() == 1);
  }
  tape.reset();
  using gnnpool::test::require_throws_with;
  require_throws_with<gnnpool::invalid_argument>([&] { (void)stale.value(); }, {"Tape", "reset"});
  ParameterSet<double> other;
  const GCNConv<double> foreign(other, "foreign", 3, 3);
  const GCNConv<double> foreign2(other, "foreign2", 3, 3);
  auto in = tape.inputs(batch);  // named, not bound: clang 14 cannot capture a structured binding
  require_throws_with<gnnpool::invalid_argument>([&] { (void)tape(foreign2, in.graph, in.x); },
                                                 {"foreign2 (GCNConv)", "parameter slot 2", "another set"});
  ParameterSet<double> bad;
  require_throws_with<gnnpool::shape_error>([&] {
    auto y = tape(conv, in.graph, in.x);
    tape.backward(cross_entropy(y, std::vector<Index>(18, 0)), bad);
  }, {"Tape::backward", "zeros_like"});
}

TEST_CASE("A value the loss does not depend on gets no gradient, and its layer is skipped", "[model][tape]") {
  ParameterSet<double> params;
  const Linear<double> used(params, "used", 3, 2), unused(params, "unused", 3, 2);
  params.initialize(0);
  const Batch<double> batch = three_graphs(3, 1);
  Tape<double> tape(params);
  auto [g, x] = tape.inputs(batch);
  (void)g;
  auto a = tape(used, x);
  (void)tape(unused, x);
  ParameterSet<double> grads = params.zeros_like();
  grads.at("unused.weight").setConstant(7);  // assigned: overwritten with 0
  tape.backward(cross_entropy(a, std::vector<Index>(18, 1)), grads);
  REQUIRE(grads.at("unused.weight").norm() == 0);
  REQUIRE(grads.at("used.weight").norm() > 0);
}

TEST_CASE("A graph that requires no gradient gets no adjacency target, and no parameter gradient changes",
          "[model][tape]") {
  // Why a layer's adjacency target may be null: the input graph of a model depends on nothing
  // that learns, so dL/dA is skipped work. Marking the input as requiring a gradient (the tape
  // then asks every layer for dA) gives bit-identical parameter gradients.
  ParameterSet<double> params;
  const GCNConv<double> conv1(params, "conv1", 3, 4), conv2(params, "conv2", 4, 4);
  const TopKPool<double> pool(params, "pool", 4, {.ratio = 0.5});
  const MeanReadout<double> mean;
  params.initialize(8);
  const Batch<double> batch = three_graphs(3, 9);
  Tape<double> tape(params);
  auto run = [&](bool requires_grad, ParameterSet<double>& grads) {
    tape.reset();
    auto [g, x] = tape.inputs(batch, requires_grad);
    auto p = tape(pool, g, relu(tape(conv1, g, x)));
    REQUIRE(tape.requires_grad(p.graph) == requires_grad);  // A[perm, perm]: only through A
    auto loss = cross_entropy(tape(mean, p.graph, tape(conv2, p.graph, p.x)), std::vector<Index>{0, 1, 2});
    tape.backward(loss, grads);
    return g;
  };
  ParameterSet<double> without = params.zeros_like(), with = params.zeros_like();
  run(false, without);
  const auto g = run(true, with);
  REQUIRE(g.grad().size() == batch.num_edges());
  REQUIRE(g.grad().norm() > 0);
  for (Index s = 0; s < params.size(); ++s) REQUIRE(with[s] == without[s]);
}

TEST_CASE("mean_squared_error is mean((y - t)^2) and passes the whole-model gradient check", "[model][ops][gradcheck]") {
  ParameterSet<double> params;
  const Linear<double> lin(params, "lin", 3, 2);
  params.initialize(5);
  Batch<double> batch = three_graphs(3, 41);
  const Matrix<double> target = testing::random_features<double>(batch.num_nodes(), 2, 42);
  Tape<double> tape(params);
  auto [g, x] = tape.inputs(batch);
  const auto y = tape(lin, x);
  const auto loss = mean_squared_error(y, target);
  CHECK(loss.value() == Approx((y.value() - target).squaredNorm() / double(target.size())).epsilon(1e-15));
  const auto r = check_model(
      params,
      [&](Tape<double>& t) {
        auto [gg, xx] = t.inputs(batch);
        return mean_squared_error(tanh(t(lin, xx)), target);
      },
      {&batch});
  INFO(r.log);
  CHECK(r.ok);
  test::require_throws_with<shape_error>([&] { (void)mean_squared_error(y, Matrix<double>(2, 2)); },
                                         {"mean_squared_error", "18 x 2", "2 x 2"});
}

TEST_CASE("GraphConv in both product orders and the gated attention readout pass the whole-model check",
          "[model][tape][gradcheck]") {
  // GraphConv 3 -> 4 aggregates first, 4 -> 2 transforms first; both add their bias in the pass
  // that writes y, and the gated readout sums its gated features block by block.
  ParameterSet<double> params;
  const GraphConv<double> widen(params, "widen", 3, 4), narrow(params, "narrow", 4, 2);
  const GatedAttentionReadout<double> readout(params, "gated", 2, 3);
  params.initialize(7);
  Batch<double> batch = three_graphs(3, 43);
  const Matrix<double> target = testing::random_features<double>(batch.num_graphs(), 3, 44);
  const auto r = check_model(
      params,
      [&](Tape<double>& t) {
        auto [g, x] = t.inputs(batch);
        const auto h = tanh(t(narrow, g, tanh(t(widen, g, x))));
        return mean_squared_error(t(readout, g, h), target);
      },
      {&batch});
  INFO(r.log);
  CHECK(r.ok);
}


TEST_CASE("one-channel GraphConv and GCNConv (dX = u w^T, written row by row) pass the whole-model check",
          "[model][tape][gradcheck]") {
  // Both transform first to one channel, as SAG's scorers do, so dX is the outer product of the
  // N x 1 gradient with the 1 x 3 weight (`detail::block_product`'s row-by-row path).
  ParameterSet<double> params;
  const GraphConv<double> graph_score(params, "graph_score", 3, 1);
  const GCNConv<double> gcn_score(params, "gcn_score", 3, 1);
  const GatedAttentionReadout<double> readout(params, "gated", 1, 2);
  params.initialize(9);
  Batch<double> batch = three_graphs(3, 45);
  const Matrix<double> target = testing::random_features<double>(batch.num_graphs(), 2, 46);
  for (const bool use_gcn : {false, true}) {
    INFO((use_gcn ? "GCNConv" : "GraphConv"));
    const auto r = check_model(
        params,
        [&](Tape<double>& t) {
          auto [g, x] = t.inputs(batch);
          const auto s = use_gcn ? t(gcn_score, g, x) : t(graph_score, g, x);
          return mean_squared_error(t(readout, g, tanh(s)), target);
        },
        {&batch});
    INFO(r.log);
    CHECK(r.ok);
  }
}

}  // namespace gnnpool_test_model_tape
