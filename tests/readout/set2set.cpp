// Tests of gnnpool/readout/set2set.hpp (PyG Set2Set) and of the LSTM cell it runs
// (gnnpool/nn/lstm.hpp): the cell against its definition and finite differences, the readout's
// recurrence, gradients, float vs double, empty graphs, a model around it, errors.

#include <gnnpool/model/check.hpp>
#include <gnnpool/model/ops.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/nn/lstm.hpp>
#include <gnnpool/readout/set2set.hpp>

#include "readout/readout_test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_readout_set2set {

using gnnpool::Index;
using gnnpool::LSTMCell;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::Set2SetReadout;

static_assert(gnnpool::ReadoutPolicy<Set2SetReadout<float>>);
static_assert(gnnpool::ReadoutPolicy<Set2SetReadout<double>>);

namespace {
auto make_set2set = [](auto& params) {
  return Set2SetReadout<typename std::remove_cvref_t<decltype(params)>::Scalar>(params, "s2s", 3, 3);
};
double sigmoid(double v) { return 1 / (1 + std::exp(-v)); }
}  // namespace

TEST_CASE("LSTMCell is PyTorch's LSTM step (gates i, f, g, o)", "[nn][lstm]") {
  ParameterSet<double> params;
  const LSTMCell<double> cell(params, "lstm", 3, 2, "_l0");
  CHECK(params.find("lstm.weight_ih_l0") >= 0);
  CHECK(params.find("lstm.bias_hh_l0") >= 0);
  CHECK(params.at("lstm.weight_ih_l0").rows() == 8);
  gnnpool::test::randomize_parameters(params, 3);
  const Matrix<double> x = gnnpool::testing::random_features<double>(4, 3, 4);
  const Matrix<double> h = gnnpool::testing::random_features<double>(4, 2, 5);
  const Matrix<double> c = gnnpool::testing::random_features<double>(4, 2, 6);
  Matrix<double> h1, c1;
  LSTMCell<double>::Cache cache;
  cell.forward(params, x, h, c, h1, c1, cache);
  const Matrix<double> z = x * params.at("lstm.weight_ih_l0").transpose() + h * params.at("lstm.weight_hh_l0").transpose() +
                           Matrix<double>::Ones(4, 1) * (params.at("lstm.bias_ih_l0") + params.at("lstm.bias_hh_l0"));
  for (Index r = 0; r < 4; ++r)
    for (Index q = 0; q < 2; ++q) {
      const double i = sigmoid(z(r, q)), f = sigmoid(z(r, 2 + q)), g = std::tanh(z(r, 4 + q)), o = sigmoid(z(r, 6 + q));
      const double cn = f * c(r, q) + i * g;
      CHECK(c1(r, q) == Approx(cn).epsilon(1e-14));
      CHECK(h1(r, q) == Approx(o * std::tanh(cn)).epsilon(1e-14));
    }
}

TEST_CASE("LSTMCell backward matches finite differences for x, h, c and the four parameters", "[nn][lstm][gradcheck]") {
  ParameterSet<double> params;
  const LSTMCell<double> cell(params, "cell", 3, 2);
  gnnpool::test::randomize_parameters(params, 7);
  Matrix<double> x = gnnpool::testing::random_features<double>(4, 3, 8);
  Matrix<double> h = gnnpool::testing::random_features<double>(4, 2, 9);
  Matrix<double> c = gnnpool::testing::random_features<double>(4, 2, 10);
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x", x.data(), x.size()});
  problem.variables.push_back({"h", h.data(), h.size()});
  problem.variables.push_back({"c", c.data(), c.size()});
  gnnpool::testing::add_parameters(problem, params);
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    Matrix<double> h1, c1;
    LSTMCell<double>::Cache cache;
    cell.forward(params, x, h, c, h1, c1, cache);
    gnnpool::testing::append(h1, out);
    gnnpool::testing::append(c1, out);
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    Matrix<double> h1, c1;
    LSTMCell<double>::Cache cache;
    cell.forward(params, x, h, c, h1, c1, cache);
    const Matrix<double> dh1 = Eigen::Map<const Matrix<double>>(up.data(), 4, 2);
    const Matrix<double> dc1 = Eigen::Map<const Matrix<double>>(up.data() + 8, 4, 2);
    Matrix<double> dx, dh, dc;
    ParameterSet<double> dparams = params.zeros_like();  // backward ADDS the parameter gradients
    cell.backward(params, x, h, c, cache, dh1, dc1, &dx, &dh, &dc, dparams);
    gnnpool::testing::copy_gradient(dx, grads[0]);
    gnnpool::testing::copy_gradient(dh, grads[1]);
    gnnpool::testing::copy_gradient(dc, grads[2]);
    for (Index s = 0; s < dparams.size(); ++s) gnnpool::testing::copy_gradient(dparams[s], grads[3 + static_cast<std::size_t>(s)]);
  };
  const auto r = gnnpool::testing::check_gradients(problem);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("LSTMCell on 600 rows (three row chunks) equals the cell on each row alone", "[nn][lstm]") {
  // The cell cuts its rows into fixed chunks of 256 (products, gates, weight-gradient sums); the
  // finite-difference test above has 4 rows, one chunk. Row by row is the reference: outputs and
  // dX, dH, dC per row, the parameter gradients summed over the rows.
  constexpr Index b = 600;
  ParameterSet<double> params;
  const LSTMCell<double> cell(params, "cell", 3, 2);
  gnnpool::test::randomize_parameters(params, 17);
  const Matrix<double> x = gnnpool::testing::random_features<double>(b, 3, 18);
  const Matrix<double> h = gnnpool::testing::random_features<double>(b, 2, 19);
  const Matrix<double> c = gnnpool::testing::random_features<double>(b, 2, 20);
  const Matrix<double> dh1 = gnnpool::testing::random_features<double>(b, 2, 21);
  const Matrix<double> dc1 = gnnpool::testing::random_features<double>(b, 2, 22);
  Matrix<double> h1, c1, dx, dh, dc;
  LSTMCell<double>::Cache cache;
  cell.forward(params, x, h, c, h1, c1, cache);
  ParameterSet<double> dparams = params.zeros_like();
  cell.backward(params, x, h, c, cache, dh1, dc1, &dx, &dh, &dc, dparams);
  ParameterSet<double> dsum = params.zeros_like();
  for (Index r = 0; r < b; ++r) {
    Matrix<double> hr, cr, dxr, dhr, dcr;
    LSTMCell<double>::Cache one;
    cell.forward(params, x.row(r), h.row(r), c.row(r), hr, cr, one);
    cell.backward(params, x.row(r), h.row(r), c.row(r), one, dh1.row(r), dc1.row(r), &dxr, &dhr, &dcr, dsum);
    INFO("row " << r);
    CHECK(h1.row(r).isApprox(hr, 1e-13));
    CHECK(c1.row(r).isApprox(cr, 1e-13));
    CHECK(dx.row(r).isApprox(dxr, 1e-13));
    CHECK(dh.row(r).isApprox(dhr, 1e-13));
    CHECK(dc.row(r).isApprox(dcr, 1e-13));
  }
  for (Index s = 0; s < dparams.size(); ++s) CHECK(dparams[s].isApprox(dsum[s], 1e-11));
}

TEST_CASE("Set2SetReadout runs T attention steps of the LSTM and returns [q, r]", "[readout][set2set]") {
  ParameterSet<double> params;
  const Set2SetReadout<double> readout(params, "s2s", 2, 2);
  CHECK(readout.out_features() == 4);
  CHECK(readout.name() == "s2s (Set2SetReadout)");
  gnnpool::test::randomize_parameters(params, 11);
  const auto batch = gnnpool::test::readout_batch<double>({3, 0, 2}, 2, 12);
  Matrix<double> out;
  Set2SetReadout<double>::Cache cache;
  readout.forward(params, batch, out, cache);
  // The same recurrence written out with the cell and dense per-graph softmaxes.
  Matrix<double> qstar = Matrix<double>::Zero(3, 4), h = Matrix<double>::Zero(3, 2), c = Matrix<double>::Zero(3, 2);
  const Matrix<double> wih = params.at("s2s.lstm.weight_ih_l0"), whh = params.at("s2s.lstm.weight_hh_l0");
  const Matrix<double> bias = params.at("s2s.lstm.bias_ih_l0") + params.at("s2s.lstm.bias_hh_l0");
  for (int t = 0; t < 2; ++t) {
    const Matrix<double> z = qstar * wih.transpose() + h * whh.transpose() + Matrix<double>::Ones(3, 1) * bias;
    for (Index r = 0; r < 3; ++r)
      for (Index q = 0; q < 2; ++q) {
        const double i = sigmoid(z(r, q)), f = sigmoid(z(r, 2 + q)), g = std::tanh(z(r, 4 + q)), o = sigmoid(z(r, 6 + q));
        c(r, q) = f * c(r, q) + i * g;
        h(r, q) = o * std::tanh(c(r, q));
      }
    qstar.leftCols(2) = h;
    for (Index g = 0; g < 3; ++g) {
      const Index lo = batch.graph_begin(g), n = batch.graph_size(g);
      Eigen::VectorXd e = batch.x.middleRows(lo, n) * h.row(g).transpose();
      if (n > 0) e = (e.array() - e.maxCoeff()).exp();
      const Eigen::VectorXd a = n > 0 ? Eigen::VectorXd(e / (e.sum() + 1e-16)) : e;
      qstar.block(g, 2, 1, 2) = a.transpose() * batch.x.middleRows(lo, n);
    }
  }
  CHECK(gnnpool::test::max_relative_error(out, qstar) < 1e-14);
  CHECK(out.block(1, 2, 1, 2).isZero(0));  // the empty graph attends over nothing
}

TEST_CASE("Set2SetReadout backward matches finite differences through time, float matches double",
          "[readout][set2set][gradcheck]") {
  gnnpool::test::check_readout_gradients(make_set2set, 3, 621);
  gnnpool::test::check_float_matches_double(make_set2set, 3, 622);
}

TEST_CASE("A model with a Set2Set readout passes the whole-model gradient check", "[readout][set2set][model]") {
  ParameterSet<double> params;
  const gnnpool::Linear<double> lin(params, "lin", 3, 3);
  const Set2SetReadout<double> readout(params, "s2s", 3, 2);
  const gnnpool::Linear<double> head(params, "head", 6, 2);
  params.initialize(5);
  gnnpool::Batch<double> batch = gnnpool::test::readout_batch<double>({4, 3}, 3, 631);
  const std::vector<Index> labels{1, 0};
  const auto r = gnnpool::check_model(
      params,
      [&](gnnpool::Tape<double>& tape) {
        auto [g, x] = tape.inputs(batch);
        return gnnpool::cross_entropy(tape(head, tape(readout, g, gnnpool::tanh(tape(lin, x)))), labels);
      },
      {&batch});
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("Set2SetReadout and LSTMCell reject bad sizes", "[readout][set2set][errors]") {
  ParameterSet<double> params;
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)Set2SetReadout<double>(params, "a", 3, 0); }, {"Set2SetReadout", "processing_steps", "0"});
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)LSTMCell<double>(params, "b", 0, 2); }, {"b (LSTMCell)", "input_size", "0"});
  const Set2SetReadout<double> readout(params, "c", 3, 1);
  const auto batch = gnnpool::test::readout_batch<double>({2}, 4, 1);
  Matrix<double> out;
  Set2SetReadout<double>::Cache cache;
  gnnpool::test::require_throws_with<gnnpool::shape_error>([&] { readout.forward(params, batch, out, cache); },
                                                           {"Set2SetReadout", "expects 3 features"});
  // A cache whose steps do not fit the batch is an error, not an out-of-range read.
  const auto good = gnnpool::test::readout_batch<double>({2, 3}, 3, 2);
  readout.forward(params, good, out, cache);
  cache.steps[0].alpha.resize(2);
  ParameterSet<double> dparams = params.zeros_like();
  Matrix<double> dx;
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { readout.backward(params, good, cache, Matrix<double>::Zero(2, 6), {&dx, nullptr}, dparams); },
      {"Set2SetReadout", "2 nodes", "same forward"});
}

}  // namespace gnnpool_test_readout_set2set
