// Quick start: a batch of two small graphs through one GCN layer, TopKPool (keep the
// best-scoring half of every graph) and a sum readout, recorded on the model layer; one call on
// the loss computes every gradient. Any other pooler of gnnpool is used the same way: swap the
// TopKPool line for SAGPool, MinCutPool ({.k = 2}), DiffPool, DMoNPool, GraclusPool, NDPPool or
// KMISPool, all built as Pooler<S>(params, prefix, in_channels, options).

#include <gnnpool/gnnpool.hpp>

#include <cstdio>
#include <vector>

namespace {

void print_shape(const char* what, gnnpool::Index rows, gnnpool::Index cols) {
  std::printf("  %-26s %ld x %ld\n", what, static_cast<long>(rows), static_cast<long>(cols));
}

/// A cycle of n nodes with features x_i = (i, 1, -i).
gnnpool::Batch<double> cycle(gnnpool::Index n) {
  gnnpool::Matrix<double> x(n, 3);
  gnnpool::EdgeList edges;
  for (gnnpool::Index i = 0; i < n; ++i) {
    x.row(i) << double(i), 1.0, -double(i);
    edges.emplace_back(i, (i + 1) % n);
  }
  return gnnpool::make_graph<double>(x, edges);  // symmetrised, weight 1
}

}  // namespace

int main() {
  using namespace gnnpool;

  // A batch is the disjoint union of its graphs: here a 6-cycle and a 4-cycle (10 nodes).
  const std::vector<Batch<double>> graphs{cycle(6), cycle(4)};
  const Batch<double> batch = concatenate<double>(graphs);

  // Layers register their parameters (PyG names) in one ParameterSet.
  ParameterSet<double> params;
  const GCNConv<double> conv(params, "conv", 3, 8);
  const TopKPool<double> pool(params, "pool", 8);  // ratio 0.5
  const SumReadout<double> readout;
  const Linear<double> head(params, "head", 8, 2);
  params.initialize(42);

  // The model, recorded on a tape: h = relu(GCN(x)), pool, read every graph out to one row.
  Tape<double> tape(params);
  auto [g, x] = tape.inputs(batch);
  auto h = relu(tape(conv, g, x));
  auto pooled = tape(pool, g, h);
  auto out = tape(readout, pooled.graph, pooled.x);
  auto loss = cross_entropy(tape(head, out), std::vector<Index>{0, 1});

  // One backward: every parameter's gradient, under its PyG name.
  ParameterSet<double> grads = params.zeros_like();
  tape.backward(loss, grads);

  std::printf("gnnpool quick start: %ld graphs, %ld parameters, loss %.4f\n", static_cast<long>(batch.num_graphs()),
              static_cast<long>(params.num_scalars()), loss.value());
  print_shape("input x", x.rows(), x.cols());
  print_shape("input adjacency", g.adj().rows(), g.adj().cols());
  print_shape("GCN output", h.rows(), h.cols());
  print_shape("TopKPool output x", pooled.x.rows(), pooled.x.cols());
  print_shape("TopKPool output adjacency", pooled.graph.adj().rows(), pooled.graph.adj().cols());
  print_shape("readout", out.rows(), out.cols());
  std::printf("  kept nodes:");
  for (Index r : pooled.selection.value().representative) std::printf(" %ld", static_cast<long>(r));
  std::printf("\n  |dL/d pool.select.weight| = %.4g, |dL/d conv.lin.weight| = %.4g\n",
              grads.at("pool.select.weight").norm(), grads.at("conv.lin.weight").norm());
  return 0;
}
