// A DiffPool graph classifier on MUTAG, written on the model layer: GCNConv -> DiffPool ->
// GCNConv -> mean readout -> Linear, trained with Adam on the cross-entropy plus DiffPool's
// auxiliary losses, on a stratified 80/10/10 split. One call on the loss runs every backward.
// Usage: diffpool_mutag [TU folder (data/MUTAG)] [epochs (100)]
#include <gnnpool/gnnpool.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#ifndef GNNPOOL_DATA_DIR
#define GNNPOOL_DATA_DIR "data"
#endif

using namespace gnnpool;
using S = double;

int main(int argc, char** argv) {
  const auto ds = read_tu<S>(argc > 1 ? argv[1] : GNNPOOL_DATA_DIR "/MUTAG");
  const int epochs = argc > 2 ? std::atoi(argv[2]) : 100;
  const Index f = ds.graphs.num_features(), h = 32;
  ParameterSet<S> params;
  const GCNConv<S> conv1(params, "conv1", f, h), conv2(params, "conv2", h, h);
  const DiffPool<S> pool(params, "pool", h, {.k = 8});
  const MeanReadout<S> mean;
  const Linear<S> head(params, "head", h, ds.num_classes());
  params.initialize(0);
  Adam<S> adam(params, {.lr = 5e-3});
  auto grads = params.zeros_like();
  Tape<S> tape(params);
  const Split split = stratified_train_val_test(ds.y.labels, 0.1, 1.0 / 9, /*seed=*/0);
  GraphLoader<S> loader(ds.graphs, ds.y.labels, split.train, {.batch_size = 16, .seed = 0});
  auto model = [&](const Batch<S>& batch) {  // logits and the weighted auxiliary losses
    auto [g, x] = tape.inputs(batch);
    auto p = tape(pool, g, relu(tape(conv1, g, x)));
    auto out = tape(mean, p.graph, relu(tape(conv2, p.graph, p.x)));  // dL/dA' reaches S by itself
    return std::pair{tape(head, out), p.aux_loss()};
  };
  auto accuracy = [&](const std::vector<Index>& ids) {
    tape.reset();
    const Batch<S> batch = select_graphs(ds.graphs, ids);
    const auto logits = model(batch).first;
    return 100.0 * double(argmax_accuracy_count(logits.value(), gather(ds.y.labels, ids))) / double(ids.size());
  };
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double total = 0;
    for (const auto& mb : loader.epoch()) {
      tape.reset();
      auto [logits, aux] = model(mb.batch);
      const auto loss = cross_entropy(logits, mb.labels) + aux;
      tape.backward(loss, grads);
      adam.step(params, grads);
      total += loss.value() * double(mb.ids.size());
    }
    if (epoch % 10 == 0 || epoch == epochs)
      std::printf("epoch %3d  loss %.4f  val %.1f%%\n", epoch, total / double(split.train.size()), accuracy(split.val));
  }
  std::printf("test accuracy %.1f%% (%zu graphs)\n", accuracy(split.test), split.test.size());
}
