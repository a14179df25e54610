// The package consumer: includes gnnpool from its installed location, builds a graph, runs a
// Linear layer and a sum readout by hand, and checks the numbers. Built by tests/package.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/nn/linear.hpp>

#include <cmath>
#include <cstdio>

int main() {
  using Scalar = double;
  // A triangle 0-1-2 and a pendant node 3 attached to 2, features x_i = (i, 1).
  gnnpool::Matrix<Scalar> x(4, 2);
  x << 0, 1, 1, 1, 2, 1, 3, 1;
  auto graph = gnnpool::make_graph<Scalar>(x, gnnpool::EdgeList{{0, 1}, {1, 2}, {2, 0}, {2, 3}});

  gnnpool::ParameterSet<Scalar> params;
  gnnpool::Linear<Scalar> linear(params, "lin", 2, 3);
  params.initialize(7);
  params.set("lin.weight", gnnpool::Matrix<Scalar>::Ones(3, 2));
  params.set("lin.bias", gnnpool::Matrix<Scalar>::Zero(1, 3));

  gnnpool::Matrix<Scalar> h;
  gnnpool::Linear<Scalar>::Cache cache;
  linear.forward(params, graph.x, h, cache);
  // Sum readout of one message-passing step: sum_i sum_j A_ij h_j = sum_j deg_j h_j.
  const gnnpool::Matrix<Scalar> agg = graph.adj * h;
  const gnnpool::Matrix<Scalar> readout = agg.colwise().sum();

  // h_j = j + 1 in every column; degrees (2, 2, 3, 1) give 1*2 + 2*2 + 3*3 + 4*1 = 19.
  const bool ok = graph.num_edges() == 8 && h.rows() == 4 && h.cols() == 3 &&
                  readout.rows() == 1 && readout.cols() == 3 &&
                  std::abs(readout(0, 0) - 19.0) < 1e-12 && std::abs(readout(0, 2) - 19.0) < 1e-12;
  bool threw = false;
  try {
    gnnpool::Matrix<Scalar> wrong = gnnpool::Matrix<Scalar>::Zero(4, 5);
    linear.forward(params, wrong, h, cache);
  } catch (const gnnpool::shape_error&) {
    threw = true;
  }
  std::printf("gnnpool consumer: %ld nodes, %ld stored edges, readout [%g %g %g], shape check %s\n",
              static_cast<long>(graph.num_nodes()), static_cast<long>(graph.num_edges()), readout(0, 0),
              readout(0, 1), readout(0, 2), threw ? "threw" : "did not throw");
  return ok && threw ? 0 : 1;
}
