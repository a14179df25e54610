// Regression tests of the soft poolers' and GCNConv's numerics at the extremes (issue 12,
// findings F4 and F5): a saturated softmax (tiny temperature, large logit gaps) and tiny positive
// edge weights used to give inf / NaN gradients in float. Every case is the fuzz finding's
// input; the result must be finite and, where double can represent the same computation, equal
// to it (float is checked against double on the same inputs and parameters).

#include <gnnpool/loss/mincut.hpp>
#include <gnnpool/loss/modularity.hpp>
#include <gnnpool/nn/gcn_conv.hpp>
#include <gnnpool/pool/asym_cheeger_cut_pool.hpp>
#include <gnnpool/pool/bn_pool.hpp>
#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/hosc_pool.hpp>
#include <gnnpool/pool/just_balance_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/pool/sag_pool.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_soft_reliability {

using namespace gnnpool;

namespace {

/// max|a - b| / scale, scale = max(floor, max|b|): a float result against the double one.
template <typename A, typename B>
double deviation(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b, double floor = 1.0) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  if (a.size() == 0) return 0.0;
  const auto bd = b.template cast<double>();
  const double scale = std::max(floor, bd.cwiseAbs().maxCoeff());
  return (a.template cast<double>() - bd).cwiseAbs().maxCoeff() / scale;
}

/// The upstream gradient of the tests: ones on the pooled features, `adj` on every pooled edge.
template <typename OutputGrad, typename Output>
OutputGrad upstream(const Output& out, double adj) {
  using Scalar = typename decltype(out.batch.x)::Scalar;
  OutputGrad grad;
  grad.x = Matrix<Scalar>::Ones(out.batch.x.rows(), out.batch.x.cols());
  grad.adj = Vector<Scalar>::Constant(out.batch.adj.nonZeros(), static_cast<Scalar>(adj));
  return grad;
}

/// Everything a pooler's forward and backward produce, for one upstream gradient of ones.
template <typename Scalar>
struct Run {
  Matrix<Scalar> x, dx;
  Vector<Scalar> adj, dadj;
  std::vector<Scalar> losses;
  ParameterSet<Scalar> dparams;
};

template <typename P, typename Scalar = typename P::Scalar>
Run<Scalar> run(const P& pool, const ParameterSet<Scalar>& params, const Batch<Scalar>& g) {
  typename P::Output out;
  typename P::Cache cache;
  pool.forward(params, g, out, cache);
  BatchGrad<Scalar> din;
  Run<Scalar> r;
  r.dparams = params.zeros_like();
  pool.backward(params, g, out, cache, upstream<typename P::OutputGrad>(out, 1.0), din, r.dparams);
  r.x = out.batch.x;
  r.adj = Eigen::Map<const Vector<Scalar>>(out.batch.adj.valuePtr(), out.batch.adj.nonZeros());
  for (const auto& l : out.losses) r.losses.push_back(l.value);
  r.dx = din.x;
  r.dadj = din.adj;
  return r;
}

template <typename Scalar>
bool finite(const Run<Scalar>& r) {
  bool ok = r.x.allFinite() && r.dx.allFinite() && r.adj.allFinite() && r.dadj.allFinite();
  for (const Scalar l : r.losses) ok = ok && std::isfinite(l);
  for (Index s = 0; s < r.dparams.size(); ++s) ok = ok && r.dparams[s].allFinite();
  return ok;
}

/// The float run against the double run of the same pooler type on the same inputs: pooled
/// values, losses, dL/dx and parameter gradients within `tol` of their scale; dL/dA within `tol`
/// of `adj_scale` (it grows like 1 / (edge weight) for these scale-invariant losses).
void compare(const Run<float>& f, const Run<double>& d, double tol, double adj_scale) {
  CHECK(finite(f));
  CHECK(deviation(f.x, d.x) < tol);
  CHECK(deviation(f.adj, d.adj) < tol);
  CHECK(deviation(f.dx, d.dx) < tol);
  CHECK(deviation(f.dadj, d.dadj, adj_scale) < tol);
  REQUIRE(f.losses.size() == d.losses.size());
  for (std::size_t k = 0; k < f.losses.size(); ++k) CHECK(f.losses[k] == Approx(d.losses[k]).epsilon(tol).margin(tol));
  for (Index s = 0; s < f.dparams.size(); ++s) CHECK(deviation(f.dparams[s], d.dparams[s]) < tol);
}

/// The two graphs of repro_soft_tiny_weights: one node with a self loop of weight w, and a path
/// of three nodes with weights w.
template <typename Scalar>
std::vector<Batch<Scalar>> tiny_weight_graphs(double w) {
  const Scalar ws = static_cast<Scalar>(w);
  const std::vector<Scalar> one{ws}, two{ws, ws};
  Matrix<Scalar> x(3, 1);
  x << Scalar(1), Scalar(0.5), Scalar(-1);
  return {make_graph<Scalar>(Matrix<Scalar>::Ones(1, 1), {{0, 0}}, one), make_graph<Scalar>(x, {{0, 1}, {1, 2}}, two)};
}

/// Builds the pooler in float and in double with the same parameters and compares the runs.
template <template <typename> class Make>
void float_matches_double(double w, double tol) {
  const auto gf = tiny_weight_graphs<float>(w);
  const auto gd = tiny_weight_graphs<double>(w);
  for (std::size_t k = 0; k < gf.size(); ++k) {
    INFO("graph " << k << ", w = " << w);
    ParameterSet<double> pd;
    const auto pool_d = Make<double>::make(pd);
    pd.initialize(0);
    ParameterSet<float> pf = pd.cast<float>();
    ParameterSet<float> unused;
    const auto pool_f = Make<float>::make(unused);
    compare(run(pool_f, pf, gf[k]), run(pool_d, pd, gd[k]), tol, 1.0 / w);
  }
}

template <typename S>
struct MakeMinCut {
  static MinCutPool<S> make(ParameterSet<S>& p) { return MinCutPool<S>(p, "m", 1, {.k = 2}); }
};
template <typename S>
struct MakeDMoN {
  static DMoNPool<S> make(ParameterSet<S>& p) { return DMoNPool<S>(p, "d", 1, {.k = 2}); }
};
template <typename S>
struct MakeDiff {
  static DiffPool<S> make(ParameterSet<S>& p) { return DiffPool<S>(p, "d", 1, {.k = 2}); }
};
// The tgp soft family: clamped column-degree connect, tgp's eps in the losses.
template <typename S>
struct MakeJustBalance {
  static JustBalancePool<S> make(ParameterSet<S>& p) { return JustBalancePool<S>(p, "j", 1, {.k = 2}); }
};
template <typename S>
struct MakeAsymCheegerCut {
  static AsymCheegerCutPool<S> make(ParameterSet<S>& p) { return AsymCheegerCutPool<S>(p, "a", 1, {.k = 2}); }
};
template <typename S>
struct MakeHOSC {
  static HOSCPool<S> make(ParameterSet<S>& p) { return HOSCPool<S>(p, "h", 1, {.k = 2}); }
};
template <typename S>
struct MakeBNPool {  // z = E[z]: the same assignment in float and double
  static BNPool<S> make(ParameterSet<S>& p) {
    return BNPool<S>(p, "b", 1, {.k = 2, .sampling = {.sampling = StickBreakingSampling::mean}});
  }
};

/// The batch of repro_softfn_tiny_temperature: 4 graphs of 1, 0, 0 and 2 nodes, self loops, K = 3.
template <typename Scalar>
Batch<Scalar> saturation_batch() {
  std::vector<Batch<Scalar>> parts;
  Matrix<Scalar> x0(1, 2), x3(2, 2);
  x0 << Scalar(-3.9375), Scalar(-3.9375);
  x3 << Scalar(0.65625), Scalar(-0.21875), Scalar(-3.65625), Scalar(-2.8125);
  parts.push_back(make_graph<Scalar>(x0, {{0, 0}}));
  parts.push_back(make_graph<Scalar>(Matrix<Scalar>(0, 2), {}));
  parts.push_back(make_graph<Scalar>(Matrix<Scalar>(0, 2), {}));
  parts.push_back(make_graph<Scalar>(x3, {{0, 1}, {1, 1}}));
  return concatenate<Scalar>(parts);
}

template <typename Scalar>
Matrix<Scalar> saturation_logits(double scale) {
  Matrix<Scalar> l(3, 3);
  l << Scalar(2.625), Scalar(3.375), Scalar(-1.75), Scalar(3.25), Scalar(0.5), Scalar(0), Scalar(0), Scalar(0), Scalar(0);
  return l * static_cast<Scalar>(scale);
}

/// A functional soft pooler's forward and backward: the pooled features and losses, and whether
/// everything (dL/dx, dL/dA, dL/dlogits included) is finite.
template <typename Scalar>
struct FunctionRun {
  Matrix<Scalar> x;
  std::vector<double> losses;
  bool finite = true;
};

template <typename F, typename Scalar = typename F::Scalar>
FunctionRun<Scalar> run_function(const F& f, const Batch<Scalar>& b, const Matrix<Scalar>& logits) {
  typename F::Output out;
  typename F::Cache cache;
  f.forward(b, logits, out, cache);
  BatchGrad<Scalar> din;
  Matrix<Scalar> dlogits;
  f.backward(b, out, cache, upstream<typename F::OutputGrad>(out, 0.25), din, dlogits);
  FunctionRun<Scalar> r;
  r.x = out.batch.x;
  for (const auto& l : out.losses) {
    r.losses.push_back(static_cast<double>(l.value));
    r.finite = r.finite && std::isfinite(l.value);
  }
  r.finite = r.finite && r.x.allFinite() && din.x.allFinite() && din.adj.allFinite() && dlogits.allFinite();
  return r;
}

/// The float run is finite, and its pooled features and losses are the double run's: at a
/// saturated softmax both assignments are one-hot up to their own underflow level.
void compare(const FunctionRun<float>& f, const FunctionRun<double>& d) {
  CHECK(f.finite);
  CHECK(d.finite);
  CHECK(deviation(f.x, d.x) < 1e-5);
  REQUIRE(f.losses.size() == d.losses.size());
  for (std::size_t k = 0; k < f.losses.size(); ++k) CHECK(f.losses[k] == Approx(d.losses[k]).epsilon(1e-5).margin(1e-6));
}

}  // namespace

TEST_CASE("F5: MinCut, DMoN and DiffPool in float with tiny positive edge weights match double",
          "[pool][soft][reliability]") {
  // dL/dA ~ 1 / w is finite in float for these w; q^2, c^2, c^3 were not (underflow to 0).
  for (const double w : {1e-30, 1e-20, 1e-15, 1e-8}) {
    float_matches_double<MakeMinCut>(w, 1e-4);
    float_matches_double<MakeDMoN>(w, 1e-4);
    float_matches_double<MakeDiff>(w, 1e-4);
  }
}

TEST_CASE("F5: JustBalance, AsymCheegerCut, HOSC and BNPool in float with tiny positive edge weights match double",
          "[pool][soft][reliability]") {
  // Pooled degrees below tgp's clamp (1e-8) are clamped in both precisions; the cut losses'
  // denominators carry tgp's eps. (Weights near 1e-8 are left out: a pooled degree within
  // round-off of the clamp may fall on either side of it in float and double.)
  for (const double w : {1e-30, 1e-20, 1e-15, 1e-3}) {
    float_matches_double<MakeJustBalance>(w, 1e-4);
    float_matches_double<MakeAsymCheegerCut>(w, 1e-4);
    float_matches_double<MakeHOSC>(w, 1e-4);
    float_matches_double<MakeBNPool>(w, 1e-4);
  }
}

TEST_CASE("F5: a graph volume below numeric::tiny counts as edgeless in the soft losses", "[loss][reliability]") {
  // q = 1e-33 |S|^2 < 1e-31: the loss is 0 with zero gradient, as for an edgeless graph
  // (tgp's q + 1e-8 gives the same); just above, it is the exact -t/q.
  const std::vector<float> tiny{1e-33f}, small{1e-29f};
  SoftSelection<float> sel;
  sel.s = Matrix<float>::Constant(1, 2, 0.5f);
  sel.offsets = {0, 1};
  for (const auto* w : {&tiny, &small}) {
    const auto g = make_graph<float>(Matrix<float>::Ones(1, 1), {{0, 0}}, *w);
    const MinCutLoss<float> mincut;
    MinCutLoss<float>::Cache mc;
    const ModularityLoss<float> modularity;
    ModularityLoss<float>::Cache dc;
    const float lm = mincut.forward(g, sel, mc);
    const float ld = modularity.forward(g, sel, dc);
    BatchGrad<float> din;
    din.adj = Vector<float>::Zero(1);
    Matrix<float> ds = Matrix<float>::Zero(1, 2);
    mincut.backward(g, sel, mc, 1.0f, din, ds);
    modularity.backward(g, sel, dc, 1.0f, din, ds);
    CHECK(ds.allFinite());
    CHECK(din.adj.allFinite());
    if (w == &tiny) {
      CHECK(lm == 0.0f);
      CHECK(ld == 0.0f);
      CHECK(ds.isZero(0.0f));
      CHECK(din.adj[0] == 0.0f);
    } else {
      CHECK(lm == Approx(-1.0));  // one node: t = q
      CHECK(ld == Approx(0.0).margin(1e-6));  // one cluster of everything: Q = 0
    }
  }
}

TEST_CASE("F5: GCNConv's edge gradient stays finite in float at tiny degrees (SAG gcn, DiffPool)",
          "[nn][gcn_conv][reliability]") {
  // -1/2 s^3 t with s = deg^-1/2 ~ 1e15 overflowed; -1/2 s^2 (s t) with s t = sum G Â does not.
  for (const double w : {1e-30, 1e-26, 1e-24, 1e-20}) {
    INFO("w = " << w);
    Matrix<double> x(3, 2);
    x << 1, 0.5, -1, 2, 0.25, 0;
    const std::vector<double> wd{w, 1.0};
    const std::vector<float> wf{static_cast<float>(w), 1.0f};
    const auto gd = make_graph<double>(x, {{0, 0}, {1, 2}}, wd);
    const auto gf = make_graph<float>(x.cast<float>(), {{0, 0}, {1, 2}}, wf);
    {
      SAGOptions o;
      o.scorer = SAGScorer::gcn;
      ParameterSet<double> pd;
      const auto sag_d = SAGPool<double>(pd, "s", 2, o);
      pd.initialize(0);
      ParameterSet<float> pf = pd.cast<float>(), unused;
      const auto sag_f = SAGPool<float>(unused, "s", 2, o);
      compare(run(sag_f, pf, gf), run(sag_d, pd, gd), 1e-4, 1.0 / w);
    }
    {
      ParameterSet<double> pd;
      const DiffPool<double> diff_d(pd, "d", 2, {.k = 2});
      pd.initialize(0);
      ParameterSet<float> pf = pd.cast<float>(), unused;
      const DiffPool<float> diff_f(unused, "d", 2, {.k = 2});
      compare(run(diff_f, pf, gf), run(diff_d, pd, gd), 1e-4, 1.0 / w);
    }
  }
}

TEST_CASE("F5: GCNConv refuses to return an edge gradient that overflows", "[nn][gcn_conv][reliability]") {
  // deg = 1e-45 (subnormal in float): dL/dA ~ 1/deg ~ 1e45 has no float value; double has one.
  ParameterSet<float> pf;
  const GCNConv<float> conv(pf, "c", 1, 1);
  pf.initialize(0);
  const std::vector<float> w{1e-45f};
  const auto g = make_graph<float>(Matrix<float>::Ones(1, 1), {{0, 0}}, w);
  GCNConv<float>::Cache cache;
  Matrix<float> y, dx;
  conv.forward(pf, g, y, cache);
  CHECK(y.allFinite());
  Vector<float> dadj;
  auto dp = pf.zeros_like();
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { conv.backward(pf, g, cache, Matrix<float>::Ones(1, 1), {&dx, &dadj}, dp); },
      {"GCNConv backward", "entry (0, 0)", "in-degree", "too small"});
  // Without dL/dA the backward is fine.
  conv.backward(pf, g, cache, Matrix<float>::Ones(1, 1), {&dx, nullptr}, dp);
  CHECK(dx.allFinite());
}

TEST_CASE("F4: MinCut and DMoN stay finite when the softmax saturates", "[pool][soft][reliability]") {
  // The fuzz finding's batch: in float with T = 1e-6 or 1e-3 the softmax is one-hot up to
  // ~1e-38, SoftConnect's -r^2 / (2 sqrt(d)) overflowed at the empty clusters' degree and
  // SoftReduce's cluster mean divided by their size.
  const auto bf = saturation_batch<float>();
  const auto bd = saturation_batch<double>();
  const auto lf = saturation_logits<float>(1);
  const auto ld = saturation_logits<double>(1);
  for (const double t : {1e-6, 1e-3, 1.0}) {
    INFO("T = " << t);
    MinCutPoolOptions<float> mf;
    MinCutPoolOptions<double> md;
    mf.temperature = static_cast<float>(t);
    md.temperature = t;
    compare(run_function(mincut_pool_function<float>(mf), bf, lf), run_function(mincut_pool_function<double>(md), bd, ld));
    for (const bool mean : {false, true}) {
      DMoNPoolOptions<float> df;
      DMoNPoolOptions<double> dd;
      df.temperature = static_cast<float>(t);
      dd.temperature = t;
      df.cluster_mean = dd.cluster_mean = mean;
      compare(run_function(dmon_pool_function<float>(df), bf, lf), run_function(dmon_pool_function<double>(dd), bd, ld));
    }
    DiffPoolOptions<float> pf;
    DiffPoolOptions<double> pd;
    pf.temperature = static_cast<float>(t);
    pd.temperature = t;
    compare(run_function(diff_pool_function<float>(pf), bf, lf), run_function(diff_pool_function<double>(pd), bd, ld));
  }
  // Logit gaps of about 2000 saturate double too (exp(-2000) is below its range); there the
  // result is the one-hot assignment's, which float gives at T = 1e-3.
  DMoNPoolOptions<double> cm;
  cm.cluster_mean = true;
  DMoNPoolOptions<float> cmf;
  cmf.cluster_mean = true;
  cmf.temperature = 1e-3f;
  compare(run_function(dmon_pool_function<float>(cmf), bf, lf),
          run_function(dmon_pool_function<double>(cm), bd, saturation_logits<double>(1000)));
  MinCutPoolOptions<float> mcf;
  mcf.temperature = 1e-3f;
  compare(run_function(mincut_pool_function<float>(mcf), bf, lf),
          run_function(mincut_pool_function<double>(), bd, saturation_logits<double>(1000)));
  // The classes too (T = 1e-3, as late in training): MLP scorer, parameter gradients.
  for (const bool mean : {false, true}) {
    ParameterSet<float> p;
    DMoNPoolOptions<float> o;
    o.k = 3;
    o.temperature = 1e-3f;
    o.cluster_mean = mean;
    const DMoNPool<float> dmon(p, "d", 2, o);
    MinCutPoolOptions<float> mo;
    mo.k = 3;
    mo.temperature = 1e-3f;
    const MinCutPool<float> mincut(p, "m", 2, mo);
    p.initialize(3);
    CHECK(finite(run(dmon, p, bf)));
    CHECK(finite(run(mincut, p, bf)));
  }
}

TEST_CASE("F4: away from saturation the reformulated backward passes agree in float and double", "[pool][soft][reliability]") {
  const auto bf = saturation_batch<float>();
  const auto bd = saturation_batch<double>();
  for (const bool mean : {false, true}) {
    ParameterSet<double> pd;
    DMoNPoolOptions<double> od;
    od.k = 3;
    od.cluster_mean = mean;
    const DMoNPool<double> dd(pd, "d", 2, od);
    pd.initialize(5);
    ParameterSet<float> pf = pd.cast<float>(), unused;
    DMoNPoolOptions<float> of;
    of.k = 3;
    of.cluster_mean = mean;
    const DMoNPool<float> df(unused, "d", 2, of);
    compare(run(df, pf, bf), run(dd, pd, bd), 1e-4, 1.0);
  }
}

TEST_CASE("F4: on a directed graph, a gradient through a tiny pooled degree that overflows is an error",
          "[pool][soft][reliability]") {
  // Node 0 (cluster 0) receives 1e-28 from node 1 and sends 1e4 to it: cluster 0's pooled
  // degree is ~1e-28 (above numeric::tiny) while it sends 1e4, so dL/dd ~ 1e4 / d^{3/2}
  // (about 1e44) has no float value. Double computes it; float says so instead of an inf.
  EdgeListOptions directed;
  directed.symmetrize = false;
  auto run_directed = [&](auto scalar) {
    using S = decltype(scalar);
    const std::vector<S> w{S(1e-28), S(1e4)};
    const auto g = make_graph<S>(Matrix<S>::Ones(2, 1), {{1, 0}, {0, 1}}, w, directed);
    Matrix<S> logits(2, 2);
    logits << S(30), S(-30), S(-30), S(30);
    return run_function(mincut_pool_function<S>(), g, logits);
  };
  CHECK(run_directed(0.0).finite);
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { (void)run_directed(0.0f); },
                                                                {"SoftConnect backward", "overflows", "directed graph"});
  // The same graph made symmetric stays finite in float: the bound holds.
  const std::vector<float> sym{1e-28f, 1e4f};
  const auto g = make_graph<float>(Matrix<float>::Ones(2, 1), {{1, 0}, {0, 1}}, sym);
  Matrix<float> logits(2, 2);
  logits << 30.0f, -30.0f, -30.0f, 30.0f;
  CHECK(run_function(mincut_pool_function<float>(), g, logits).finite);
}

}  // namespace gnnpool_test_pool_soft_reliability
