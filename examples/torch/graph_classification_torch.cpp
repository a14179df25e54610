// A libtorch graph classifier with gnnpool's layers: a torch::nn::Module of the PyTorch bridge's
// GCNConv layers, a gnnpool pooler and readout and torch Linear layers, trained with
// torch::optim::Adam on the cross-entropy plus the pooler's auxiliary losses (tensors of the
// autograd graph). Every gnnpool layer runs its own forward and, in loss.backward(), its own
// hand-written backward pass. Data: a TU dataset read with gnnpool::read_tu (default
// data/PROTEINS), stratified 10-fold cross-validation with early stopping on a validation part,
// the protocol `cv` of examples/graph_classification.cpp (docs/examples.md).
//
//   x -> GCNConv(32) -> relu -> pooler -> GCNConv(32) -> relu -> mean readout -> Linear(32) -> relu -> Linear
//
// Usage: graph_classification_torch [--data DIR] [--pooler mincut|dmon|diffpool|topk|sag]
//        [--folds 10] [--max-folds N] [--epochs 100] [--patience 20] [--batch 32] [--lr 1e-3]
//        [--max-graphs N] [--seed 0] [--smoke]   (--smoke: 200 graphs, one fold, one epoch)
#include <gnnpool/core/batch.hpp>
#include <gnnpool/data/splits.hpp>
#include <gnnpool/io/tu.hpp>
#include <gnnpool/torch/modules.hpp>

#include <ATen/Parallel.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#ifndef GNNPOOL_DATA_DIR
#define GNNPOOL_DATA_DIR "data"
#endif

namespace pyg = gnnpool::pyg;
using at::Tensor;
using gnnpool::Index;

namespace {

/// A mini-batch as PyG tensors.
struct Graphs {
  Tensor x, edge_index, batch, y;
  int64_t num_graphs = 0;
};

Graphs to_torch(const gnnpool::Batch<float>& b, const std::vector<Index>& labels) {
  Graphs g;
  g.x = at::from_blob(const_cast<float*>(b.x.data()), {b.x.rows(), b.x.cols()}, at::kFloat).clone();
  const gnnpool::IndexVector ei = gnnpool::to_edge_index(b.adj);
  g.edge_index = at::tensor(std::vector<int64_t>(ei.begin(), ei.end())).reshape({2, -1});
  const gnnpool::IndexVector graph = b.graph_index();
  g.batch = at::tensor(std::vector<int64_t>(graph.begin(), graph.end()));
  g.y = at::tensor(std::vector<int64_t>(labels.begin(), labels.end()));
  g.num_graphs = b.num_graphs();
  return g;
}

struct NetImpl : torch::nn::Module {
  pyg::GCNConv conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear lin1{nullptr}, lin2{nullptr};
  std::function<pyg::PoolingOutput(const Tensor&, const Tensor&, const Tensor&)> pool;

  NetImpl(int64_t features, int64_t classes, const std::string& pooler, int64_t k) {
    const int64_t h = 32;
    conv1 = register_module("conv1", pyg::GCNConv(pyg::GCNConvOptions(features, h)));
    conv2 = register_module("conv2", pyg::GCNConv(pyg::GCNConvOptions(h, h)));
    lin1 = register_module("lin1", torch::nn::Linear(h, h));
    lin2 = register_module("lin2", torch::nn::Linear(h, classes));
    auto hold = [&](auto module) {  // registers the pooler and calls it through one signature
      register_module("pool", module.ptr());
      pool = [module](const Tensor& x, const Tensor& ei, const Tensor& batch) mutable {
        return module(x, ei, c10::nullopt, c10::optional<Tensor>(batch));
      };
    };
    if (pooler == "topk") hold(pyg::TopKPooling(pyg::TopKPoolingOptions(h).ratio(0.5)));
    else if (pooler == "sag") hold(pyg::SAGPooling(pyg::SAGPoolingOptions(h).ratio(0.5)));
    else if (pooler == "mincut") hold(pyg::MinCutPool(pyg::SoftPoolOptions(h, k)));
    else if (pooler == "dmon") hold(pyg::DMoNPool(pyg::SoftPoolOptions(h, k)));
    else if (pooler == "diffpool") hold(pyg::DiffPool(pyg::SoftPoolOptions(h, k)));
    else throw std::invalid_argument("unknown pooler '" + pooler + "' (mincut, dmon, diffpool, topk or sag)");
  }

  /// Logits and the sum of the pooler's auxiliary losses.
  std::pair<Tensor, Tensor> forward(const Graphs& g) {
    Tensor h = conv1(g.x, g.edge_index).relu();
    const pyg::PoolingOutput p = pool(h, g.edge_index, g.batch);
    h = conv2(p.x, p.edge_index, p.edge_attr.defined() ? c10::optional<Tensor>(p.edge_attr) : c10::nullopt).relu();
    h = pyg::global_mean_pool(h, p.batch, g.num_graphs);
    return {lin2(lin1(h).relu()), p.aux_loss()};
  }
};
TORCH_MODULE(Net);

std::map<std::string, std::string> parse(int argc, char** argv) {
  std::map<std::string, std::string> o{{"data", GNNPOOL_DATA_DIR "/PROTEINS"}, {"pooler", "mincut"}, {"folds", "10"},
                                       {"max-folds", "0"}, {"epochs", "100"}, {"patience", "20"}, {"batch", "32"},
                                       {"lr", "1e-3"}, {"max-graphs", "0"}, {"seed", "0"}};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--smoke") {
      o["max-folds"] = "1";
      o["epochs"] = "1";
      o["max-graphs"] = "200";
    } else if (a.rfind("--", 0) == 0 && i + 1 < argc && o.count(a.substr(2))) {
      o[a.substr(2)] = argv[++i];
    } else {
      std::printf("usage: %s [--data DIR] [--pooler mincut|dmon|diffpool|topk|sag] [--folds 10] [--max-folds N]\n"
                  "       [--epochs 100] [--patience 20] [--batch 32] [--lr 1e-3] [--max-graphs N] [--seed 0] [--smoke]\n",
                  argv[0]);
      std::exit(a == "--help" ? 0 : 2);
    }
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  at::set_num_threads(1);
  const auto seed = std::stoull(o.at("seed"));
  at::manual_seed(seed);
  auto ds = gnnpool::read_tu<float>(o.at("data"));
  if (const Index max_graphs = std::stol(o.at("max-graphs")); max_graphs > 0 && max_graphs < ds.num_graphs()) {
    std::vector<Index> ids;  // every k-th graph: both classes stay
    for (Index g = 0; g < max_graphs; ++g) ids.push_back(g * ds.num_graphs() / max_graphs);
    ds.graphs = gnnpool::select_graphs(ds.graphs, ids);
    ds.y.labels = gnnpool::gather(ds.y.labels, ids);
  }
  // Features: the TU attributes z-scored, then the one-hot node labels (protocol cv).
  for (Index j = 0; j < ds.num_node_attributes; ++j) {
    auto col = ds.graphs.x.col(j);
    const float mean = col.mean();
    const float sd = std::sqrt((col.array() - mean).square().mean());
    col = (col.array() - mean) / (sd > 0 ? sd : 1.0f);
  }
  const int64_t features = ds.graphs.num_features(), classes = ds.num_classes();
  const auto k = static_cast<int64_t>(std::ceil(double(ds.graphs.num_nodes()) / double(ds.num_graphs()) / 2.0));
  const int folds = std::stoi(o.at("folds")), max_folds = std::stoi(o.at("max-folds"));
  const int epochs = std::stoi(o.at("epochs")), patience = std::stoi(o.at("patience"));
  const auto batch_size = static_cast<std::size_t>(std::stoi(o.at("batch")));
  const double lr = std::stod(o.at("lr"));
  std::printf("gnnpool + libtorch graph classification: %s, %ld graphs, %ld features, %ld classes\n", ds.name.c_str(),
              long(ds.num_graphs()), long(features), long(classes));
  std::printf("model: GCNConv(32) -> %s%s -> GCNConv(32) -> mean -> MLP; Adam lr %g, batch %zu, <= %d epochs, patience %d\n",
              o.at("pooler").c_str(), o.at("pooler") == "topk" || o.at("pooler") == "sag" ? "(ratio 0.5)" : ("(k=" + std::to_string(k) + ")").c_str(),
              lr, batch_size, epochs, patience);

  const auto splits = gnnpool::stratified_k_fold(ds.y.labels, folds, 0.1, seed);
  auto graphs_of = [&](const std::vector<Index>& ids) {
    return to_torch(gnnpool::select_graphs(ds.graphs, ids), gnnpool::gather(ds.y.labels, ids));
  };
  std::vector<double> accuracies;
  double train_seconds = 0;
  long train_epochs = 0;
  std::mt19937_64 rng(seed);
  for (int fold = 0; fold < folds && (max_folds <= 0 || fold < max_folds); ++fold) {
    const auto& split = splits[static_cast<std::size_t>(fold)];
    Net net(features, classes, o.at("pooler"), k);
    torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(lr));
    const Graphs val = graphs_of(split.val), test = graphs_of(split.test);
    auto evaluate = [&](const Graphs& g) {  // loss and accuracy, no autograd
      torch::NoGradGuard no_grad;
      net->eval();
      const auto [logits, aux] = net->forward(g);
      const double loss = (at::cross_entropy_loss(logits, g.y) + aux).item<double>();
      const double acc = 100.0 * logits.argmax(1).eq(g.y).sum().item<double>() / double(g.num_graphs);
      net->train();
      return std::pair{loss, acc};
    };
    double best = 1e300;
    int best_epoch = 0;
    std::vector<Tensor> best_state;
    std::vector<Index> order = split.train;
    for (int epoch = 1; epoch <= epochs && epoch - best_epoch <= patience; ++epoch) {
      const auto start = std::chrono::steady_clock::now();
      std::shuffle(order.begin(), order.end(), rng);
      for (std::size_t i = 0; i < order.size(); i += batch_size) {
        const std::vector<Index> ids(order.begin() + static_cast<std::ptrdiff_t>(i),
                                     order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), i + batch_size)));
        const Graphs g = graphs_of(ids);
        adam.zero_grad();
        const auto [logits, aux] = net->forward(g);
        (at::cross_entropy_loss(logits, g.y) + aux).backward();
        adam.step();
      }
      train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      ++train_epochs;
      const auto [val_loss, val_acc] = evaluate(val);
      if (val_loss < best) {
        best = val_loss;
        best_epoch = epoch;
        best_state.clear();
        for (const auto& p : net->parameters()) best_state.push_back(p.detach().clone());
      }
      if (epoch % 10 == 0) std::printf("  fold %2d epoch %3d  val loss %.4f  val %.1f%%\n", fold + 1, epoch, val_loss, val_acc);
    }
    {
      torch::NoGradGuard no_grad;
      auto params = net->parameters();
      for (std::size_t i = 0; i < params.size(); ++i) params[i].copy_(best_state[i]);
    }
    const double acc = evaluate(test).second;
    accuracies.push_back(acc);
    std::printf("fold %d/%d: test accuracy %.2f%% (best validation loss at epoch %d)\n", fold + 1, folds, acc, best_epoch);
  }
  double mean = 0, var = 0;
  for (const double a : accuracies) mean += a / double(accuracies.size());
  for (const double a : accuracies) var += (a - mean) * (a - mean) / double(accuracies.size());
  std::printf("\n%s, pooler %s: test accuracy %.2f +- %.2f %% over %zu folds; %.2f s per training epoch\n", ds.name.c_str(),
              o.at("pooler").c_str(), mean, std::sqrt(var), accuracies.size(), train_seconds / double(train_epochs));
  return 0;
}
