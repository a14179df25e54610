// A Graph U-Net on Cora, written on the model layer: PyG's GraphUNet(depth = 2, pool_ratios = 0.5,
// sum_res = True) with the augmented adjacency (A + I)^2 at every pooling, i.e. GCN down,
// TopK pool twice, then lift and add the skip connection on the way up, trained on the
// Planetoid split (20 labelled nodes per class). Usage: graph_unet_cora [LINQS folder] [epochs]
#include <gnnpool/gnnpool.hpp>

#include <cstdio>
#include <cstdlib>

#ifndef GNNPOOL_DATA_DIR
#define GNNPOOL_DATA_DIR "data"
#endif

using namespace gnnpool;
using S = double;

int main(int argc, char** argv) {
  const auto cora = read_linqs<S>(argc > 1 ? argv[1] : GNNPOOL_DATA_DIR "/cora", "", {.row_normalize = true});
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 200;
  const Index f = cora.graph.num_features(), h = 32, c = cora.num_classes();
  ParameterSet<S> params;
  const GCNConv<S> down0(params, "down_convs.0", f, h), down1(params, "down_convs.1", h, h),
      down2(params, "down_convs.2", h, h), up1(params, "up_convs.0", h, h), up0(params, "up_convs.1", h, c);
  const TopKAugmentedPool<S> pool1(params, "pools.0", h, {.ratio = 0.5}), pool2(params, "pools.1", h, {.ratio = 0.5});
  const HardLift<S> lift;
  params.initialize(0);
  Adam<S> adam(params, {.lr = 0.01, .weight_decay = 1e-3});
  auto grads = params.zeros_like();
  Tape<S> tape(params);
  const Split split = planetoid_split(cora.labels, 20, 500, 1000, /*seed=*/0);
  auto logits = [&] {
    tape.reset();
    auto [g0, x] = tape.inputs(cora.graph);
    auto h0 = relu(tape(down0, g0, x));
    auto p1 = tape(pool1, g0, h0);
    auto h1 = relu(tape(down1, p1.graph, p1.x));
    auto p2 = tape(pool2, p1.graph, h1);
    auto h2 = relu(tape(down2, p2.graph, p2.x));
    auto u1 = relu(tape(up1, p1.graph, h1 + tape(lift, p2.selection, h2)));  // h1 read twice: summed
    return tape(up0, g0, h0 + tape(lift, p1.selection, u1));
  };
  auto accuracy = [&](const std::vector<Index>& ids) {
    const auto out = rows(logits(), ids);
    return 100.0 * double(argmax_accuracy_count(out.value(), gather(cora.labels, ids))) / double(ids.size());
  };
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    const auto loss = cross_entropy(rows(logits(), split.train), gather(cora.labels, split.train));
    tape.backward(loss, grads);
    adam.step(params, grads);
    if (epoch % 20 == 0 || epoch == epochs)
      std::printf("epoch %3d  loss %.4f  val %.1f%%\n", epoch, loss.value(), accuracy(split.val));
  }
  std::printf("test accuracy %.1f%% (%zu nodes)\n", accuracy(split.test), split.test.size());
}
