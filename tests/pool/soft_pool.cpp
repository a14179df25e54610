// Tests of gnnpool/pool/soft_pool.hpp and the tgp soft poolers built on it
// (pool/just_balance_pool.hpp, pool/asym_cheeger_cut_pool.hpp, pool/hosc_pool.hpp): the one class
// body (names, parameters by tgp's names, the spec's policies, the functional form), the tgp
// post-processing of the pooled adjacency, gradients of the poolers and of a model around them,
// float vs double, errors; and tgp's pseudo-inverse lift (pool/pinv_lift.hpp).

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/higher_order_cut.hpp>
#include <gnnpool/loss/link.hpp>
#include <gnnpool/loss/mincut.hpp>
#include <gnnpool/loss/modularity.hpp>
#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/nn/graph_conv.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/asym_cheeger_cut_pool.hpp>
#include <gnnpool/pool/hosc_pool.hpp>
#include <gnnpool/pool/just_balance_pool.hpp>
#include <gnnpool/pool/pinv_lift.hpp>
#include <gnnpool/pool/soft_pool.hpp>
#include <gnnpool/readout/mean.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_soft_pool {

using gnnpool::AsymCheegerCutPool;
using gnnpool::HOSCPool;
using gnnpool::Index;
using gnnpool::JustBalancePool;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

static_assert(gnnpool::PoolLayer<JustBalancePool<double>> && gnnpool::PoolLayer<AsymCheegerCutPool<float>> &&
              gnnpool::PoolLayer<HOSCPool<double>>);
static_assert(JustBalancePool<double>::adjacency_depends_on_selection);

TEMPLATE_TEST_CASE("The tgp soft poolers register tgp's parameter names and report tgp's losses", "[pool][soft_pool]",
                   float, double) {
  const auto batch = gnnpool::test::soft_test_batch<TestType>(3, 501);
  auto run = [&](const auto& pool, ParameterSet<TestType>& params, const std::string& name,
                 const std::vector<std::string>& losses) {
    CHECK(pool.name() == "p (" + name + ")");
    CHECK(params.find("p.selector.mlp.lins.0.weight") >= 0);
    CHECK(params.find("p.selector.mlp.lins.1.bias") >= 0);
    CHECK(pool.num_clusters() == 4);
    params.initialize(7);
    typename std::decay_t<decltype(pool)>::Output out;
    typename std::decay_t<decltype(pool)>::Cache cache;
    pool.forward(params, batch, out, cache);
    CHECK(out.batch.offsets == gnnpool::IndexVector{0, 4, 8, 12, 16});
    gnnpool::check_batch(out.batch, "test");
    REQUIRE(out.losses.size() == losses.size());
    for (std::size_t i = 0; i < losses.size(); ++i) CHECK(out.losses[i].name == losses[i]);
    for (const auto& l : out.losses) CHECK(std::isfinite(l.value));
    for (Index r = 0; r < 16; ++r) CHECK(out.batch.adj.coeff(r, r) == TestType(0));
  };
  {
    ParameterSet<TestType> params;
    run(JustBalancePool<TestType>(params, "p", 3, {.k = 4, .hidden = {5}}), params, "JustBalancePool", {"balance_loss"});
  }
  {
    ParameterSet<TestType> params;
    run(AsymCheegerCutPool<TestType>(params, "p", 3, {.k = 4, .hidden = {5}}), params, "AsymCheegerCutPool",
        {"total_variation_loss", "balance_loss"});
  }
  {
    ParameterSet<TestType> params;
    const HOSCPool<TestType> pool(params, "p", 3, {.k = 4, .hidden = {5}});
    CHECK(std::get<1>(pool.losses()).weight() == TestType(0.1));  // tgp's mu
    run(pool, params, "HOSCPool", {"hosc_loss", "ortho_loss"});
  }
}

TEST_CASE("clamped_column_degree normalises the zero-diagonal S^T A S by its column sums, clamped at 1e-8",
          "[pool][soft_pool][connect]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 511);
  const auto sel = gnnpool::test::soft_test_selection(batch, 3, 512);
  for (const auto norm : {gnnpool::SoftConnectNormalization::clamped_column_degree,
                          gnnpool::SoftConnectNormalization::clamped_row_degree}) {
    const gnnpool::SoftConnect<double> connect(norm);
    gnnpool::SparseMatrix<double> out;
    gnnpool::SoftConnect<double>::Cache cache;
    connect.forward(batch, sel, out, cache);
    const Matrix<double> dense(out);
    for (Index b = 0; b < batch.num_graphs(); ++b) {
      const Index lo = batch.graph_begin(b), n = batch.graph_size(b);
      const Matrix<double> a = Matrix<double>(batch.adj).block(lo, lo, n, n);
      Matrix<double> p = sel.s.middleRows(lo, n).transpose() * a * sel.s.middleRows(lo, n);
      p.diagonal().setZero();
      const Eigen::VectorXd d = norm == gnnpool::SoftConnectNormalization::clamped_column_degree
                                    ? Eigen::VectorXd(p.colwise().sum().transpose())
                                    : Eigen::VectorXd(p.rowwise().sum());
      const Eigen::VectorXd r = d.cwiseMax(1e-8).cwiseSqrt().cwiseInverse();
      const Matrix<double> expected = r.asDiagonal() * p * r.asDiagonal();
      CHECK(gnnpool::test::max_relative_error(dense.block(3 * b, 3 * b, 3, 3), expected) < 1e-14);
    }
  }
}

TEST_CASE("The tgp soft poolers' backward passes match finite differences (x, A, the MLP)",
          "[pool][soft_pool][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(3, 521);
  SECTION("JustBalancePool, both roots, column and row normalisation") {
    for (const auto root : {gnnpool::BalanceSquareRoot::elementwise, gnnpool::BalanceSquareRoot::matrix})
      for (const auto norm : {gnnpool::SoftConnectNormalization::clamped_column_degree,
                              gnnpool::SoftConnectNormalization::clamped_row_degree}) {
        ParameterSet<double> params;
        gnnpool::JustBalancePoolOptions<double> o;
        o.k = 3;
        o.hidden = {4};
        o.activation = gnnpool::Activation::tanh;
        o.balance.root = root;
        o.normalization = norm;
        o.temperature = 0.9;
        const JustBalancePool<double> pool(params, "", 3, o);
        params.initialize(21);
        const auto r = gnnpool::testing::check_pool(pool, params, batch);
        INFO(r.log);
        CHECK(r.ok);
      }
  }
  SECTION("AsymCheegerCutPool") {
    ParameterSet<double> params;
    const AsymCheegerCutPool<double> pool(params, "", 3, {.k = 3, .total_variation_weight = 0.7, .balance_weight = 1.2});
    params.initialize(22);
    const auto r = gnnpool::testing::check_pool(pool, params, batch);
    INFO(r.log);
    CHECK(r.ok);
  }
  SECTION("HOSCPool, both motifs") {
    for (const auto motif : {gnnpool::MotifAdjacency::walks, gnnpool::MotifAdjacency::triangles}) {
      ParameterSet<double> params;
      gnnpool::HOSCPoolOptions<double> o;
      o.k = 3;
      o.cut.motif = motif;
      o.cut.alpha = 0.4;
      const HOSCPool<double> pool(params, "", 3, o);
      params.initialize(23);
      const auto r = gnnpool::testing::check_pool(pool, params, batch);
      INFO(r.log);
      CHECK(r.ok);
    }
  }
}

TEST_CASE("The tgp soft poolers in float match double", "[pool][soft_pool]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 531);
  CHECK(gnnpool::test::pool_float_gap(
            []<typename S>(ParameterSet<S>& params) { return JustBalancePool<S>(params, "", 3, {.k = 4}); }, batch, 3) <
        gnnpool::numeric<float>::compare_tolerance());
  CHECK(gnnpool::test::pool_float_gap(
            []<typename S>(ParameterSet<S>& params) { return AsymCheegerCutPool<S>(params, "", 3, {.k = 4}); }, batch,
            4) < gnnpool::numeric<float>::compare_tolerance());
  CHECK(gnnpool::test::pool_float_gap(
            []<typename S>(ParameterSet<S>& params) { return HOSCPool<S>(params, "", 3, {.k = 4}); }, batch, 5) <
        gnnpool::numeric<float>::compare_tolerance());
}

TEST_CASE("The functional forms equal the poolers on the same logits", "[pool][soft_pool][functional]") {
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 541);
  ParameterSet<double> params;
  const gnnpool::Linear<double> lin(params, "assign", 3, 4);
  params.initialize(5);
  const HOSCPool<double, gnnpool::Linear<double>> pool(lin);
  HOSCPool<double, gnnpool::Linear<double>>::Output a;
  HOSCPool<double, gnnpool::Linear<double>>::Cache ca;
  pool.forward(params, batch, a, ca);
  Matrix<double> logits;
  gnnpool::Linear<double>::Cache lc;
  lin.forward(params, batch.x, logits, lc);
  const auto f = gnnpool::hosc_pool_function<double>();
  CHECK(f.name() == "hosc_pool");
  gnnpool::HOSCPoolFunction<double>::Output b;
  gnnpool::HOSCPoolFunction<double>::Cache cb;
  f.forward(batch, logits, b, cb);
  CHECK(gnnpool::test::max_relative_error(a.batch.x, b.batch.x) < 1e-14);
  CHECK(a.loss("hosc_loss") == Approx(b.loss("hosc_loss")).epsilon(1e-14));
  auto batch2 = batch;
  Matrix<double> l2 = logits;
  const auto r = gnnpool::test::check_function(gnnpool::asym_cheeger_cut_pool_function<double>({.k = 4}), batch2, l2, true);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("A model with each tgp soft pooler passes the whole-model gradient check", "[pool][soft_pool][model]") {
  auto check = [](auto make) {
    ParameterSet<double> params;
    // GraphConv, not GCNConv, before the pooler: GCN gives the nodes of an isolated edge or of a
    // clique the same embedding, hence the same row of S, and |S_i - S_j| (the total variation)
    // has a kink exactly there, which a one-sided perturbation of A_ij would straddle.
    const gnnpool::GraphConv<double> conv(params, "conv", 3, 4);
    const auto pool = make(params);
    const gnnpool::GCNConv<double> conv2(params, "conv2", 4, 4);
    const gnnpool::MeanReadout<double> mean;
    const gnnpool::Linear<double> head(params, "head", 4, 2);
    params.initialize(9);
    std::vector<Index> sizes{6, 5, 7};
    gnnpool::Batch<double> batch = gnnpool::testing::random_batch<double>(sizes, 2.5, 3, 17);
    const std::vector<Index> labels{0, 1, 0};
    gnnpool::ModelCheckOptions options;
    options.check.tolerance = 1e-6;
    return gnnpool::check_model(
        params,
        [&](gnnpool::Tape<double>& tape) {
          auto [g, x] = tape.inputs(batch);
          auto p = tape(pool, g, gnnpool::tanh(tape(conv, g, x)));
          auto h = tape(conv2, p.graph, p.x);  // the pooled adjacency carries gradient
          return gnnpool::cross_entropy(tape(head, tape(mean, p.graph, h)), labels) + p.aux_loss();
        },
        {&batch}, options);
  };
  const auto jb = check([](ParameterSet<double>& p) { return JustBalancePool<double>(p, "pool", 4, {.k = 3}); });
  INFO(jb.log);
  CHECK(jb.ok);
  const auto acc = check([](ParameterSet<double>& p) { return AsymCheegerCutPool<double>(p, "pool", 4, {.k = 3}); });
  INFO(acc.log);
  CHECK(acc.ok);
  const auto hosc = check([](ParameterSet<double>& p) { return HOSCPool<double>(p, "pool", 4, {.k = 3}); });
  INFO(hosc.log);
  CHECK(hosc.ok);
}

TEST_CASE("The tgp soft poolers reject a missing k and inputs of the wrong width", "[pool][soft_pool][errors]") {
  ParameterSet<double> params;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)JustBalancePool<double>(params, "jb", 3, {}); }, {"jb (JustBalancePool)", "k must be >= 1", "0"});
  const HOSCPool<double> pool(params, "h", 3, {.k = 2});
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  HOSCPool<double>::Output out;
  HOSCPool<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { pool.forward(params, batch, out, cache); },
                                                           {"h (HOSCPool)", "x is 19 x 2", "expects 3 features"});
}

TEST_CASE("PseudoInverseLift: S (S^T S)^+ X', undone by the sum reduce; backward matches finite differences",
          "[pool][soft_pool][lift]") {
  static_assert(gnnpool::LiftPolicy<gnnpool::PseudoInverseLift<double>, gnnpool::SoftSelection<double>>);
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 551);
  auto sel = gnnpool::test::soft_test_selection(batch, 3, 552);
  // Graphs of one node have rank-1 S: keep them out of the exactness check (graphs 0, 1, 3 have >= 3 nodes).
  const Matrix<double> xp = gnnpool::testing::random_features<double>(12, 4, 553);
  const gnnpool::PseudoInverseLift<double> lift;
  Matrix<double> x;
  lift.forward(sel, xp, x);
  for (const Index b : {0, 1, 3}) {
    const auto sb = sel.s.middleRows(batch.graph_begin(b), batch.graph_size(b));
    const Matrix<double> back = sb.transpose() * x.middleRows(batch.graph_begin(b), batch.graph_size(b));
    CHECK(gnnpool::test::max_relative_error(back, Matrix<double>(xp.middleRows(3 * b, 3))) < 1e-10);
  }
  // Gradient check of x' and S (graph 2 has one node: S^T S has rank 1, the constant-rank formula).
  Matrix<double> xv = xp;
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x_pooled", xv.data(), xv.size()});
  problem.variables.push_back({"s", sel.s.data(), sel.s.size()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    Matrix<double> y;
    lift.forward(sel, xv, y);
    gnnpool::testing::append(y, out);
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    const Matrix<double> dy = Eigen::Map<const Matrix<double>>(up.data(), sel.s.rows(), 4);
    Matrix<double> dxp, ds = Matrix<double>::Zero(sel.s.rows(), 3);
    lift.backward(sel, xv, dy, dxp, ds);
    gnnpool::testing::copy_gradient(dxp, grads[0]);
    gnnpool::testing::copy_gradient(ds, grads[1]);
  };
  const auto r = gnnpool::testing::check_gradients(problem);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("The quadratic-form losses share the connect's A S and its A^T scatter: same values and gradients",
          "[pool][soft_pool][shared_product]") {
  // Pool hands SoftConnect's P = A S to the losses that take it (detail::loss_forward), and they
  // and the connect defer their A^T scatters to one (Pool::backward); each must give what it gives
  // alone, and refuse a product of another shape.
  const auto batch = gnnpool::test::soft_test_batch<double>(3, 31);
  const auto sel = gnnpool::test::soft_test_selection(batch, 4, 32);
  const gnnpool::SoftConnect<double> connect;
  gnnpool::SparseMatrix<double> pooled;
  gnnpool::SoftConnect<double>::Cache connect_cache;
  connect.forward(batch, sel, pooled, connect_cache);
  const Matrix<double>& as = gnnpool::SoftConnect<double>::adjacency_product(connect_cache);
  REQUIRE(as.isApprox(Matrix<double>(batch.adj * sel.s), 1e-14));
  const auto close = [](const auto& a, const auto& b) { return (a - b).norm() <= 1e-12 * (1.0 + a.norm()); };
  const auto same = [&](const auto& loss) {
    using Loss = std::decay_t<decltype(loss)>;
    INFO(loss.name());
    typename Loss::Cache own, shared;
    const double value = loss.forward(batch, sel, own);
    CHECK(loss.forward(batch, sel, shared, &as) == Approx(value).epsilon(1e-12));
    for (const bool adj_needed : {false, true}) {
      gnnpool::BatchGrad<double> din_own, din_shared;
      for (auto* d : {&din_own, &din_shared}) {
        d->x.setZero(batch.x.rows(), batch.x.cols());
        d->adj.setZero(batch.adj.nonZeros());
        d->adj_needed = adj_needed;
      }
      // Shared backward: the A^T scatter deferred to the caller (as Pool does), then scattered.
      Matrix<double> ds_own = Matrix<double>::Zero(sel.s.rows(), sel.s.cols()), ds_shared = ds_own;
      Matrix<double> deferred = Matrix<double>::Zero(sel.s.rows(), sel.s.cols());
      loss.backward(batch, sel, own, 0.7, din_own, ds_own);
      loss.backward(batch, sel, shared, 0.7, din_shared, ds_shared, &deferred);
      CHECK(deferred.norm() > 0);
      gnnpool::SoftConnect<double>::add_transposed(batch, sel, deferred, ds_shared);
      CHECK(close(ds_own, ds_shared));
      CHECK(close(din_own.adj, din_shared.adj));
    }
    const Matrix<double> wrong = as.leftCols(as.cols() - 1);
    typename Loss::Cache c;
    gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { (void)loss.forward(batch, sel, c, &wrong); },
                                                              {"the shared product A S is", "but S is"});
  };
  // SoftConnect's own backward defers its scatter the same way.
  {
    const Eigen::VectorXd dadj_out = Eigen::VectorXd::LinSpaced(pooled.nonZeros(), -1.0, 1.5);
    gnnpool::BatchGrad<double> din_own, din_deferred;
    for (auto* d : {&din_own, &din_deferred}) {
      d->x.setZero(batch.x.rows(), batch.x.cols());
      d->adj.setZero(batch.adj.nonZeros());
    }
    Matrix<double> ds_own = Matrix<double>::Zero(sel.s.rows(), sel.s.cols()), ds_deferred = ds_own;
    Matrix<double> deferred = Matrix<double>::Zero(sel.s.rows(), sel.s.cols());
    connect.backward(batch, sel, connect_cache, dadj_out, din_own, ds_own);
    connect.backward(batch, sel, connect_cache, dadj_out, din_deferred, ds_deferred, &deferred);
    gnnpool::SoftConnect<double>::add_transposed(batch, sel, deferred, ds_deferred);
    CHECK(close(ds_own, ds_deferred));
    CHECK(close(din_own.adj, din_deferred.adj));
    Matrix<double> wrong = Matrix<double>::Zero(sel.s.rows(), sel.s.cols() + 1);
    gnnpool::test::require_throws_with<gnnpool::shape_error>(
        [&] { connect.backward(batch, sel, connect_cache, dadj_out, din_deferred, ds_deferred, &wrong); },
        {"SoftConnect backward: the deferred scatter is", "but S is"});
  }
  same(gnnpool::MinCutLoss<double>());
  same(gnnpool::LinkLoss<double>());
  same(gnnpool::ModularityLoss<double>());
  same(gnnpool::HigherOrderCutLoss<double>(1.0, {.alpha = 0.5, .motif = gnnpool::MotifAdjacency::walks}));
  same(gnnpool::HigherOrderCutLoss<double>(1.0, {.alpha = 0.5, .motif = gnnpool::MotifAdjacency::triangles}));
}

}  // namespace gnnpool_test_pool_soft_pool
