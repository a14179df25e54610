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
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"logits", logits.data(), logits.size()});
  problem.variables.push_back({"x", batch.x.data(), batch.x.size()});
  problem.variables.push_back({"adj", batch.adj.valuePtr(), batch.adj.nonZeros()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    Function::Output o;
    Function::Cache c;
    f.forward(batch, logits, o, c);
    gnnpool::testing::append(o.batch.x, out);
    for (Index e = 0; e < o.batch.adj.nonZeros(); ++e) out.push_back(o.batch.adj.valuePtr()[e]);
    gnnpool::testing::append(o.selection.s, out);
    return o.weighted_loss();
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    Function::Output o;
    Function::Cache c;
    f.forward(batch, logits, o, c);
    Function::OutputGrad g;
    std::size_t k = 0;
    g.x = Eigen::Map<const Matrix<double>>(up.data(), o.batch.x.rows(), o.batch.x.cols());
    k += static_cast<std::size_t>(o.batch.x.size());
    g.adj = Eigen::Map<const gnnpool::Vector<double>>(up.data() + k, o.batch.adj.nonZeros());
    k += static_cast<std::size_t>(o.batch.adj.nonZeros());
    g.selection = Eigen::Map<const Matrix<double>>(up.data() + k, o.selection.s.rows(), o.selection.s.cols());
    gnnpool::BatchGrad<double> din;
    Matrix<double> dlogits;
    f.backward(batch, o, c, g, din, dlogits);
    gnnpool::testing::copy_gradient(dlogits, grads[0]);
    gnnpool::testing::copy_gradient(din.x, grads[1]);
    gnnpool::testing::copy_gradient(din.adj, grads[2]);
  };
  const auto r = gnnpool::testing::check_gradients(problem);
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
