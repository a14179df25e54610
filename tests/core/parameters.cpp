// Tests of gnnpool/core/parameters.hpp: registration, lookup by PyG name, shape errors,
// seeded initialisation, gradient sets (zeros_like, +=) and the scalar cast.

#include <gnnpool/core/parameters.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cmath>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_core_parameters {

using gnnpool::Index;
using gnnpool::Init;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::test::require_throws_with;

namespace {

template <typename Scalar>
ParameterSet<Scalar> two_layer_set() {
  ParameterSet<Scalar> p;
  p.add("lin.weight", 3, 4, Init::torch_linear, 4);
  p.add("lin.bias", 1, 3, Init::torch_linear, 4);
  p.add("pool.select.weight", 1, 3, Init::glorot);
  p.add("scale", 2, 2, Init::ones);
  return p;
}

}  // namespace

TEMPLATE_TEST_CASE("ParameterSet registers named tensors in slot order", "[core][parameters]", float, double) {
  ParameterSet<TestType> p;
  CHECK(p.size() == 0);
  CHECK(p.add("a.weight", 2, 3) == 0);
  CHECK(p.add("a.bias", 1, 2) == 1);
  CHECK(p.add("empty", 0, 5) == 2);
  CHECK(p.size() == 3);
  CHECK(p.name(1) == "a.bias");
  CHECK(p[0].rows() == 2);
  CHECK(p[0].cols() == 3);
  CHECK(p[0].isZero(0));
  CHECK(p[2].size() == 0);
  CHECK(p.num_scalars() == 8);

  CHECK(p.find("a.bias") == 1);
  CHECK(p.find("a") == -1);
  CHECK(p.find("A.BIAS") == -1);
  p.at("a.bias")(0, 1) = TestType(2.5);
  CHECK(p[1](0, 1) == TestType(2.5));
  const ParameterSet<TestType>& cp = p;
  CHECK(cp.at("a.bias")(0, 1) == TestType(2.5));
}

TEST_CASE("ParameterSet rejects duplicate names, negative shapes and unknown names", "[core][parameters][errors]") {
  ParameterSet<double> p;
  p.add("lin.weight", 2, 2);
  require_throws_with<gnnpool::invalid_argument>([&] { p.add("lin.weight", 1, 1); },
                                                 {"ParameterSet", "'lin.weight'", "twice"});
  require_throws_with<gnnpool::invalid_argument>([&] { p.add("bad", -1, 3); },
                                                 {"'bad'", "negative shape", "-1 x 3"});
  CHECK(p.size() == 1);
  p.add("lin.bias", 1, 2);
  require_throws_with<gnnpool::invalid_argument>([&] { p.at("lin.wieght"); },
                                                 {"no parameter named 'lin.wieght'", "lin.weight, lin.bias"});
  ParameterSet<double> empty;
  require_throws_with<gnnpool::invalid_argument>([&] { empty.at("x"); }, {"'x'", "known: none"});
  // Both error types are std::invalid_argument, so one catch serves a caller that does not care.
  CHECK_THROWS_AS(p.at("nope"), std::invalid_argument);
}

TEMPLATE_TEST_CASE("ParameterSet::set copies by name, casts, and checks the shape", "[core][parameters]", float, double) {
  ParameterSet<TestType> p;
  p.add("w", 2, 3);
  Matrix<double> v(2, 3);
  v << 1, 2, 3, 4, 5, 6;
  p.set("w", v);  // double into a set of any scalar
  CHECK(p[0](1, 2) == TestType(6));
  CHECK(p[0](0, 1) == TestType(2));
  require_throws_with<gnnpool::shape_error>([&] { p.set("w", Matrix<double>::Zero(3, 2)); },
                                            {"'w' is 2 x 3", "value given is 3 x 2"});
  require_throws_with<gnnpool::invalid_argument>([&] { p.set("v", v); }, {"no parameter named 'v'"});
  CHECK(p[0](1, 2) == TestType(6));  // a failed set leaves the tensor as it was
}

TEST_CASE("ParameterSet::initialize is deterministic per seed and respects each Init's bounds", "[core][parameters]") {
  auto a = two_layer_set<double>();
  auto b = two_layer_set<double>();
  a.initialize(7);
  b.initialize(7);
  for (Index s = 0; s < a.size(); ++s) CHECK(a[s] == b[s]);
  b.initialize(8);
  CHECK(a[0] != b[0]);
  // Re-initialising with the first seed restores exactly the first draw.
  b.initialize(7);
  CHECK(a[0] == b[0]);

  // torch_linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), here fan_in = 4 -> 0.5.
  CHECK(a.at("lin.weight").cwiseAbs().maxCoeff() <= 0.5);
  CHECK(a.at("lin.bias").cwiseAbs().maxCoeff() <= 0.5);
  // glorot: U(-a, a), a = sqrt(6 / (rows + cols)) = sqrt(6 / 4).
  CHECK(a.at("pool.select.weight").cwiseAbs().maxCoeff() <= std::sqrt(1.5));
  CHECK(a.at("scale") == Matrix<double>::Ones(2, 2));

  // The draws really spread over the interval (not all zero, not all equal).
  ParameterSet<double> big;
  big.add("w", 50, 40, Init::torch_linear, 25);  // bound 0.2
  big.add("g", 30, 30, Init::glorot);            // bound sqrt(0.1)
  big.add("z", 3, 3, Init::zeros);
  big.add("no_fan_in", 2, 2, Init::torch_linear);  // fan_in 0: nothing to scale by, zeros
  big[2].setOnes();
  big.initialize(1);
  const auto& w = big[0];
  CHECK(w.maxCoeff() <= 0.2);
  CHECK(w.minCoeff() >= -0.2);
  CHECK(w.maxCoeff() > 0.19);
  CHECK(w.minCoeff() < -0.19);
  CHECK(std::abs(w.mean()) < 0.01);
  CHECK(big[1].cwiseAbs().maxCoeff() <= std::sqrt(0.1));
  CHECK(big[1].cwiseAbs().maxCoeff() > 0.9 * std::sqrt(0.1));
  CHECK(big[2].isZero(0));  // zeros overwrites whatever was there
  CHECK(big[3].isZero(0));
}

TEST_CASE("a float set initialised with a seed equals the double set cast to float", "[core][parameters]") {
  auto d = two_layer_set<double>();
  auto f = two_layer_set<float>();
  d.initialize(99);
  f.initialize(99);
  for (Index s = 0; s < d.size(); ++s) CHECK(f[s] == d[s].cast<float>());
}

TEMPLATE_TEST_CASE("zeros_like, += and same_layout make gradient sets", "[core][parameters]", float, double) {
  auto p = two_layer_set<TestType>();
  p.initialize(3);
  auto g = p.zeros_like();
  REQUIRE(g.same_layout(p));
  REQUIRE(g.size() == p.size());
  for (Index s = 0; s < g.size(); ++s) {
    CHECK(g.name(s) == p.name(s));
    CHECK(g[s].rows() == p[s].rows());
    CHECK(g[s].cols() == p[s].cols());
    CHECK(g[s].isZero(0));
  }
  CHECK_FALSE(p[0].isZero(0));  // the original is untouched

  g += p;
  g += p;
  for (Index s = 0; s < g.size(); ++s) CHECK(g[s] == (p[s] * TestType(2)).eval());
  g.set_zero();
  for (Index s = 0; s < g.size(); ++s) CHECK(g[s].isZero(0));

  ParameterSet<TestType> renamed;
  renamed.add("lin.weight", 3, 4);
  renamed.add("lin.bias", 1, 3);
  renamed.add("pool.select.weight", 1, 3);
  renamed.add("scale2", 2, 2);
  CHECK_FALSE(renamed.same_layout(p));
  ParameterSet<TestType> reshaped;
  reshaped.add("lin.weight", 4, 3);
  CHECK_FALSE(reshaped.same_layout(p.zeros_like()));
  require_throws_with<gnnpool::shape_error>([&] { g += renamed; }, {"different layouts"});
  require_throws_with<gnnpool::shape_error>([&] { g += reshaped; }, {"4 and 1 tensors"});
}

TEST_CASE("cast keeps names, shapes, values and the Init of every tensor", "[core][parameters]") {
  auto d = two_layer_set<double>();
  d.initialize(5);
  d.at("scale")(0, 0) = 0.1;
  const ParameterSet<float> f = d.cast<float>();
  REQUIRE(f.size() == d.size());
  for (Index s = 0; s < d.size(); ++s) {
    CHECK(f.name(s) == d.name(s));
    CHECK(f[s] == d[s].cast<float>());
  }
  // The cast set re-initialises like the original did (same Init and fan_in per tensor).
  ParameterSet<float> g = f;
  g.initialize(5);
  CHECK(g.at("lin.weight") == d.at("lin.weight").cast<float>());
  CHECK(g.at("scale") == Matrix<float>::Ones(2, 2));
  const ParameterSet<double> back = f.cast<double>();
  CHECK(back.same_layout(d));
}

TEST_CASE("join_name joins PyG names with a dot", "[core][parameters]") {
  CHECK(gnnpool::join_name("pool.select", "weight") == "pool.select.weight");
  CHECK(gnnpool::join_name("", "weight") == "weight");
}

#ifndef NDEBUG
TEST_CASE("slot access out of range is an internal assertion in debug builds", "[core][parameters][errors]") {
  ParameterSet<double> p;
  p.add("w", 1, 1);
  CHECK_THROWS_AS(p[1], gnnpool::assertion_error);
  CHECK_THROWS_AS(p[-1], gnnpool::assertion_error);
  CHECK_THROWS_AS(p.name(3), gnnpool::assertion_error);
}
#endif

}  // namespace gnnpool_test_core_parameters
