// Tests of gnnpool/testing/gradcheck.hpp: the checker must pass a correct backward and FAIL
// each way a backward can be wrong (a wrong value, an entry left unassigned, accumulation),
// and its kink guard must resample instead of failing on a discrete choice that flips.

#include <gnnpool/nn/linear.hpp>
#include <gnnpool/testing/gradcheck.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_testing_gradcheck {

using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
namespace testing = gnnpool::testing;

namespace {

/// How the hand-written backward of `LinearProblem` goes wrong.
enum class Fault { none, scaled_weight_gradient, unassigned_bias_entry, accumulates_into_x };

/// A Linear layer y = x W^T + b as a GradCheckProblem, with an optional fault in backward.
struct LinearProblem {
  ParameterSet<double> params;
  gnnpool::Linear<double> lin{params, "lin", 3, 2};
  Matrix<double> x = testing::random_features<double>(5, 3, 11);
  Matrix<double> persistent_dx = Matrix<double>::Zero(5, 3);
  testing::GradCheckProblem problem;

  explicit LinearProblem(Fault fault) {
    params.initialize(4);
    problem.variables.push_back({"x", x.data(), x.size()});
    testing::add_parameters(problem, params);
    problem.forward = [this](std::vector<double>& out, std::vector<Index>&) {
      Matrix<double> y;
      gnnpool::Linear<double>::Cache cache;
      lin.forward(params, x, y, cache);
      testing::append(y, out);
      return 0.0;
    };
    problem.backward = [this, fault](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
      Matrix<double> dy(x.rows(), 2);
      std::copy(upstream.begin(), upstream.end(), dy.data());
      Matrix<double> dx;
      ParameterSet<double> dparams = params.zeros_like();
      testing::poison(dparams);
      lin.backward(params, x, {}, dy, &dx, dparams);
      if (fault == Fault::scaled_weight_gradient) dparams.at("lin.weight")(1, 2) *= 1.01;
      if (fault == Fault::accumulates_into_x) {
        persistent_dx += dx;  // a backward that keeps adding into a buffer it owns
        dx = persistent_dx;
      }
      testing::copy_gradient(dx, grads[0]);
      testing::copy_gradient(dparams[0], grads[1]);
      if (fault == Fault::unassigned_bias_entry) {
        grads[2][0] = dparams[1](0, 0);  // forgets entry 1 of the bias: it stays NaN
      } else {
        testing::copy_gradient(dparams[1], grads[2]);
      }
    };
  }
};

/// y = [max_i x_i, sum_i x_i^2]: one discrete choice (the argmax), reported to the checker.
struct ArgmaxProblem {
  std::vector<double> x;
  testing::GradCheckProblem problem;
  int forward_calls = 0;

  explicit ArgmaxProblem(std::vector<double> values) : x(std::move(values)) {
    problem.variables.push_back({"x", x.data(), static_cast<Index>(x.size())});
    problem.forward = [this](std::vector<double>& out, std::vector<Index>& discrete) {
      ++forward_calls;
      const auto it = std::max_element(x.begin(), x.end());
      double sq = 0;
      for (double v : x) sq += v * v;
      out.push_back(*it);
      out.push_back(sq);
      discrete.push_back(static_cast<Index>(it - x.begin()));
      return 0.5 * sq;  // an extra term with no upstream gradient, like a weighted aux loss
    };
    problem.backward = [this](const std::vector<double>& upstream, std::vector<std::vector<double>>& grads) {
      const auto arg = static_cast<std::size_t>(std::max_element(x.begin(), x.end()) - x.begin());
      for (std::size_t i = 0; i < x.size(); ++i)
        grads[0][i] = (i == arg ? upstream[0] : 0.0) + 2 * x[i] * upstream[1] + x[i];
    };
  }
};

}  // namespace

TEST_CASE("the checker passes a correct backward and counts every entry", "[testing][gradcheck]") {
  LinearProblem lp(Fault::none);
  const auto r = testing::check_gradients(lp.problem);
  INFO(r.log);
  CHECK(r.ok);
  CHECK(r.entries_checked == 15 + 6 + 2);  // x, weight, bias
  CHECK(r.worst_error < 1e-8);
  CHECK(r.log.find("checked 23 entries of 3 variables") != std::string::npos);
}

TEST_CASE("the checker fails a wrong gradient and names the entry", "[testing][gradcheck]") {
  LinearProblem lp(Fault::scaled_weight_gradient);
  const auto r = testing::check_gradients(lp.problem);
  INFO(r.log);
  CHECK_FALSE(r.ok);
  CHECK(r.worst_error > 1e-4);
  // weight is 2 x 3 row-major: entry (1, 2) is flat index 5.
  CHECK(r.log.find("param:lin.weight[5]") != std::string::npos);
  CHECK(r.log.find("finite difference") != std::string::npos);
  CHECK(r.log.find("param:lin.weight[4]") == std::string::npos);
}

TEST_CASE("the checker fails an entry that backward leaves unassigned (NaN)", "[testing][gradcheck]") {
  LinearProblem lp(Fault::unassigned_bias_entry);
  const auto r = testing::check_gradients(lp.problem);
  INFO(r.log);
  CHECK_FALSE(r.ok);
  CHECK(std::isinf(r.worst_error));
  CHECK(r.log.find("param:lin.bias[1]") != std::string::npos);
  CHECK(r.log.find("unassigned") != std::string::npos);
  CHECK(r.log.find("param:lin.bias[0]") == std::string::npos);
}

TEST_CASE("the checker fails a backward that accumulates instead of assigning", "[testing][gradcheck]") {
  LinearProblem lp(Fault::accumulates_into_x);
  const auto r = testing::check_gradients(lp.problem);
  INFO(r.log);
  CHECK_FALSE(r.ok);
  CHECK(r.log.find("accumulates instead of assigning") != std::string::npos);
  CHECK(r.log.find("x[0]") != std::string::npos);
}

TEST_CASE("the checker respects its tolerance and logs only the worst entries", "[testing][gradcheck]") {
  LinearProblem lp(Fault::scaled_weight_gradient);
  testing::GradCheckOptions loose;
  loose.tolerance = 0.05;  // the 1% error is now acceptable
  const auto r = testing::check_gradients(lp.problem, loose);
  INFO(r.log);
  CHECK(r.ok);

  LinearProblem all_wrong(Fault::accumulates_into_x);
  testing::GradCheckOptions short_log;
  short_log.log_worst = 2;
  const auto w = testing::check_gradients(all_wrong.problem, short_log);
  CHECK_FALSE(w.ok);
  CHECK(w.log.find("... and 13 more") != std::string::npos);  // 15 entries of x, 2 shown
}

TEST_CASE("a discrete choice that flips makes the checker resample, not fail", "[testing][gradcheck]") {
  // x[0] and x[2] are 1e-9 apart: moving either by h ~ 6e-6 changes the argmax.
  ArgmaxProblem near_tie({0.3, -0.2, 0.3 + 1e-9, 0.1});
  int resamples = 0;
  near_tie.problem.resample = [&](std::uint64_t seed) {
    ++resamples;
    near_tie.x = {0.9, -0.4, 0.2, 0.05 + 1e-3 * static_cast<double>(seed % 7)};  // well separated
  };
  const auto r = testing::check_gradients(near_tie.problem);
  INFO(r.log);
  CHECK(r.ok);
  CHECK(resamples == 1);
  CHECK(r.log.find("a discrete choice flips") != std::string::npos);
  CHECK(r.log.find("resampling") != std::string::npos);
  CHECK(r.entries_checked == 4);

  // Without a way to resample, a flip is a failure, never a silent pass.
  ArgmaxProblem stuck({0.3, -0.2, 0.3 + 1e-9, 0.1});
  const auto s = testing::check_gradients(stuck.problem);
  INFO(s.log);
  CHECK_FALSE(s.ok);
  CHECK(s.log.find("gave up") != std::string::npos);

  // A resampler that keeps producing ties is given up on after max_resamples.
  ArgmaxProblem always_tied({0.3, 0.3 + 1e-9});
  int tries = 0;
  always_tied.problem.resample = [&](std::uint64_t) {
    ++tries;
    always_tied.x = {0.5, 0.5 + 1e-9};
  };
  testing::GradCheckOptions few;
  few.max_resamples = 3;
  const auto t = testing::check_gradients(always_tied.problem, few);
  CHECK_FALSE(t.ok);
  CHECK(tries == 3);
}

TEST_CASE("the extra (auxiliary) term of the objective is differentiated too", "[testing][gradcheck]") {
  // ArgmaxProblem's backward includes d(0.5 |x|^2)/dx = x; dropping it must fail the check.
  ArgmaxProblem ok({0.9, -0.4, 0.2});
  CHECK(testing::check_gradients(ok.problem).ok);
  ArgmaxProblem missing_extra({0.9, -0.4, 0.2});
  auto full = missing_extra.problem.backward;
  missing_extra.problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& g) {
    full(up, g);
    for (std::size_t i = 0; i < g[0].size(); ++i) g[0][i] -= missing_extra.x[i];
  };
  CHECK_FALSE(testing::check_gradients(missing_extra.problem).ok);
}

TEST_CASE("a problem without variables does not pass vacuously", "[testing][gradcheck]") {
  testing::GradCheckProblem empty;
  empty.forward = [](std::vector<double>& out, std::vector<Index>&) {
    out.push_back(1.0);
    return 0.0;
  };
  empty.backward = [](const std::vector<double>&, std::vector<std::vector<double>>&) {};
  const auto r = testing::check_gradients(empty);
  CHECK_FALSE(r.ok);
  CHECK(r.entries_checked == 0);
}

}  // namespace gnnpool_test_testing_gradcheck
