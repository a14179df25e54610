// Tests of gnnpool/pool/soft_function.hpp: SoftPoolFunction with a custom composition (the
// functional form of any soft pooler), its gradient of the logits and its errors.

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/loss/cluster.hpp>
#include <gnnpool/loss/entropy.hpp>
#include <gnnpool/pool/soft_function.hpp>
#include <gnnpool/reduce/soft.hpp>

#include "support/soft.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_soft_function {

using gnnpool::Index;
using gnnpool::Matrix;

namespace {

using Function = gnnpool::SoftPoolFunction<gnnpool::SoftReduce<double>, gnnpool::SoftConnect<double>,
                                           gnnpool::EntropyLoss<double>, gnnpool::ClusterLoss<double>>;

Function make_function(double temperature) {
  return Function("custom", temperature, gnnpool::SoftReduce<double>({gnnpool::Activation::tanh, false}),
                  gnnpool::SoftConnect<double>(gnnpool::SoftConnectNormalization::symmetric),
                  gnnpool::EntropyLoss<double>(0.3), gnnpool::ClusterLoss<double>(0.6));
}

}  // namespace

TEST_CASE("SoftPoolFunction composes any soft policies and differentiates the caller's logits",
          "[pool][soft_function][gradcheck]") {
  auto batch = gnnpool::test::soft_test_batch<double>(2, 601);
  Matrix<double> logits = gnnpool::testing::random_features<double>(batch.num_nodes(), 3, 602);
  const Function f = make_function(0.9);
  CHECK(f.name() == "custom");
  CHECK(f.temperature() == 0.9);
  const auto r = gnnpool::test::check_function(f, batch, logits, true);
  INFO(r.log);
  CHECK(r.ok);
}

TEST_CASE("SoftPoolFunction rejects bad temperatures and logits", "[pool][soft_function][errors]") {
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>([] { (void)make_function(0.0); },
                                                                {"SoftAssignSelect", "temperature"});
  const auto batch = gnnpool::test::soft_test_batch<double>(2, 1);
  const Function f = make_function(1.0);
  Function::Output o;
  Function::Cache c;
  gnnpool::test::require_throws_with<gnnpool::shape_error>(
      [&] { f.forward(batch, Matrix<double>::Zero(5, 3), o, c); }, {"CallerLogits", "5 x 3", "19 nodes"});
}

}  // namespace gnnpool_test_pool_soft_function
