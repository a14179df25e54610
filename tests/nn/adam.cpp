// Tests of gnnpool/nn/adam.hpp: closed-form steps, weight decay, convergence, errors.

#include <gnnpool/nn/adam.hpp>

#include "nn_test_support.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_nn_adam {

using gnnpool::Adam;
using gnnpool::AdamOptions;
using gnnpool::Matrix;
using gnnpool::ParameterSet;

namespace {

template <typename S>
ParameterSet<S> two_tensors() {
  ParameterSet<S> p;
  p.add("a.weight", 2, 3);
  p.add("a.bias", 1, 2);
  return p;
}

}  // namespace

TEMPLATE_TEST_CASE("Adam's first step is lr * g / (|g| + eps)", "[nn][adam]", float, double) {
  using S = TestType;
  ParameterSet<S> params = two_tensors<S>();
  gnnpool::test::randomize(params, 1);
  const ParameterSet<S> start = params;
  ParameterSet<S> grads = params.zeros_like();
  gnnpool::test::randomize(grads, 2);
  grads[1](0, 1) = S(0);  // a zero gradient leaves its parameter where it is
  AdamOptions options;
  options.lr = 0.1;
  Adam<S> adam(params, options);
  adam.step(params, grads);
  CHECK(adam.steps() == 1);
  // Bias correction makes m_hat = g and v_hat = g^2 after one step, whatever beta1 and beta2.
  for (gnnpool::Index s = 0; s < params.size(); ++s)
    for (gnnpool::Index i = 0; i < params[s].size(); ++i) {
      const double g = static_cast<double>(grads[s].data()[i]);
      const double expected = static_cast<double>(start[s].data()[i]) - 0.1 * g / (std::abs(g) + 1e-8);
      CHECK(std::abs(static_cast<double>(params[s].data()[i]) - expected) < 8 * gnnpool::numeric<S>::epsilon());
    }
  CHECK(params[1](0, 1) == start[1](0, 1));
}

TEST_CASE("Adam with weight decay follows torch.optim.Adam's documented update", "[nn][adam]") {
  ParameterSet<double> params = two_tensors<double>();
  gnnpool::test::randomize(params, 3);
  AdamOptions options;
  options.lr = 0.01;
  options.beta1 = 0.8;
  options.beta2 = 0.95;
  options.eps = 1e-6;
  options.weight_decay = 0.1;
  Adam<double> adam(params, options);
  // Reference: the pseudo-code of torch.optim.Adam, one scalar at a time.
  Matrix<double> p = params[0];
  Matrix<double> m = Matrix<double>::Zero(p.rows(), p.cols()), v = m;
  for (int t = 1; t <= 5; ++t) {
    ParameterSet<double> grads = params.zeros_like();
    gnnpool::test::randomize(grads, 100 + static_cast<std::uint64_t>(t));
    for (gnnpool::Index i = 0; i < p.size(); ++i) {
      const double g = grads[0](i) + options.weight_decay * p(i);
      m(i) = options.beta1 * m(i) + (1 - options.beta1) * g;
      v(i) = options.beta2 * v(i) + (1 - options.beta2) * g * g;
      const double m_hat = m(i) / (1 - std::pow(options.beta1, t));
      const double v_hat = v(i) / (1 - std::pow(options.beta2, t));
      p(i) -= options.lr * m_hat / (std::sqrt(v_hat) + options.eps);
    }
    adam.step(params, grads);
  }
  CHECK((params[0] - p).cwiseAbs().maxCoeff() < 1e-14);
  CHECK(adam.steps() == 5);
  adam.reset();
  CHECK(adam.steps() == 0);
  CHECK(adam.first_moment()[0].isZero());
  CHECK(adam.second_moment()[1].isZero());
}

TEMPLATE_TEST_CASE("Adam minimises a quadratic", "[nn][adam]", float, double) {
  using S = TestType;
  // f(p) = 1/2 sum_i a_i (p_i - c_i)^2, badly scaled (a from 0.1 to 10): grad = a (p - c).
  ParameterSet<S> params;
  params.add("p", 1, 6);
  Matrix<S> a(1, 6), c(1, 6);
  a << S(0.1), S(0.5), S(1), S(2), S(5), S(10);
  c << S(3), S(-2), S(0.5), S(1), S(-1), S(4);
  AdamOptions options;
  options.lr = 0.05;
  Adam<S> adam(params, options);
  ParameterSet<S> grads = params.zeros_like();
  auto loss = [&] { return S(0.5) * (a.array() * (params[0] - c).array().square()).sum(); };
  const S initial = loss();
  for (int t = 0; t < 3000; ++t) {
    grads[0] = (a.array() * (params[0] - c).array()).matrix();
    adam.step(params, grads);
  }
  INFO("initial loss " << initial << ", final " << loss());
  CHECK(loss() < S(1e-6) * initial);
  CHECK((params[0] - c).cwiseAbs().maxCoeff() < S(1e-3));
}

TEST_CASE("Adam rejects bad options and mismatched layouts", "[nn][adam][errors]") {
  using gnnpool::test::require_throws_with;
  ParameterSet<double> params = two_tensors<double>();
  auto with = [](auto change) {
    AdamOptions o;
    change(o);
    return o;
  };
  require_throws_with<gnnpool::invalid_argument>(
      [&] { Adam<double>(params, with([](AdamOptions& o) { o.lr = -1; })); }, {"Adam", "lr", "-1"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { Adam<double>(params, with([](AdamOptions& o) { o.beta1 = 1; })); }, {"Adam", "beta1", "[0, 1)"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { Adam<double>(params, with([](AdamOptions& o) { o.beta2 = -0.1; })); }, {"Adam", "beta2"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { Adam<double>(params, with([](AdamOptions& o) { o.eps = -1e-8; })); }, {"Adam", "eps"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { Adam<double>(params, with([](AdamOptions& o) { o.weight_decay = -1; })); }, {"Adam", "weight_decay"});
  Adam<double> adam(params);
  require_throws_with<gnnpool::invalid_argument>([&] { adam.set_lr(-0.5); }, {"Adam", "lr"});
  ParameterSet<double> other;
  other.add("a.weight", 2, 3);
  require_throws_with<gnnpool::shape_error>([&] { adam.step(params, other); },
                                            {"Adam::step", "grads (1 tensors, 6 scalars)", "2 tensors, 8 scalars"});
  require_throws_with<gnnpool::shape_error>([&] { adam.step(other, params); },
                                            {"Adam::step", "params (1 tensors, 6 scalars)"});
  CHECK(adam.steps() == 0);  // a rejected step changes nothing
}

}  // namespace gnnpool_test_nn_adam
