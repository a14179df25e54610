// Graph classification with hierarchical pooling on a TU dataset (PROTEINS by default).
//
//   x -> GraphConvSkip -> relu -> [pooler -> GraphConvSkip -> relu] x levels -> mean -> MLP
//
// trained with Adam on the cross-entropy plus the pooler's auxiliary losses, with early
// stopping on the validation loss, evaluated by stratified k-fold cross-validation (default) or
// by the MinCutPool paper's protocol (--protocol mincut: 10 random stratified splits, 10 % test,
// 10 % of the rest for validation). Run with --help for the options, --pooler to compare
// poolers; docs/examples.md has the reproduction table.
//
// Built with MPI (GNNPOOL_WITH_MPI) the same program is also `graph_classification_mpi`, which
// trains data-parallel: `mpirun -np P graph_classification_mpi ...` gives every rank a slice of
// each global mini-batch (--batch is the global size) and sums the gradients over the ranks
// every step (docs/distributed.md). --checkpoint / --resume save and load the parameters and
// Adam's state (rank 0 writes; any run, with or without MPI, reads).

#include <gnnpool/gnnpool.hpp>

#include "common/cli.hpp"
#include "common/graphs.hpp"
#include "common/metrics.hpp"
#include "common/model.hpp"
#include "common/parallel.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#ifndef GNNPOOL_DATA_DIR
#define GNNPOOL_DATA_DIR "data"
#endif

namespace {

using Scalar = double;
using examples::Index;
using Batch = gnnpool::Batch<Scalar>;
using Model = examples::HierarchicalGNN<Scalar>;

/// Everything that defines a run.
struct Protocol {
  std::string name = "cv";          // "cv" (k-fold cross-validation) or "mincut" (random splits)
  std::string features = "tu";      // "tu" or "mincut"
  Index folds = 10;                 // cv: number of folds; mincut: number of runs
  Index max_folds = 0;              // run only the first max_folds folds (0: all)
  double val_fraction = 0.1;
  Index epochs = 100;
  Index patience = 20;
  Index batch_size = 32;
  double lr = 1e-3;
  double l2 = 0;                    // L2 penalty on the GraphConv and pooler weight matrices
  Index log_every = 10;
  std::uint64_t seed = 0;
  std::string checkpoint;           // written by rank 0 after every epoch (empty: none)
  std::string resume;               // loaded at the start of every fold (empty: none)
};

struct Dataset {
  std::string name;
  Batch graphs;                // features of the protocol, normalised adjacency
  std::vector<Index> labels;   // 0..C-1
  Index num_classes = 0;
};

/// Node features: "tu" = the TU attributes (z-scored) and one-hot node labels; "mincut" = the
/// MinCutPool code's one-hot degree, z-scored clustering coefficient, one-hot attributes and
/// one-hot node labels.
Dataset load_dataset(const std::string& folder, const std::string& features) {
  auto tu = gnnpool::read_tu<Scalar>(folder);
  Dataset d;
  d.name = tu.name;
  d.labels = tu.y.labels;
  d.num_classes = tu.num_classes();
  const Index n = tu.graphs.num_nodes(), a = tu.num_node_attributes;
  std::vector<gnnpool::Matrix<double>> blocks;
  auto column = [&](Index j) {
    std::vector<double> v(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = tu.graphs.x(i, j);
    return v;
  };
  if (features == "mincut") {
    blocks.push_back(examples::one_hot(examples::node_degrees(tu.graphs.adj)));
    blocks.push_back(examples::z_score(examples::clustering_coefficients(tu.graphs.adj)));
    for (Index j = 0; j < a; ++j) blocks.push_back(examples::one_hot(column(j)));
  } else if (features == "tu") {
    for (Index j = 0; j < a; ++j) blocks.push_back(examples::z_score(column(j)));
  } else {
    throw std::invalid_argument("unknown --features '" + features + "' (tu, mincut)");
  }
  for (Index j = a; j < tu.graphs.x.cols(); ++j)  // one-hot node labels; drop values never used
    if (tu.num_node_label_columns > 0 && tu.graphs.x.col(j).sum() > 0) blocks.push_back(tu.graphs.x.col(j));
  if (blocks.empty()) blocks.push_back(gnnpool::Matrix<double>::Ones(n, 1));  // featureless dataset
  d.graphs.x = examples::hstack(blocks).cast<Scalar>();
  d.graphs.adj = examples::normalized_adjacency(tu.graphs.adj);
  d.graphs.offsets = tu.graphs.offsets;
  return d;
}

/// Cross-entropy + weighted auxiliary losses + L2 penalty, and accuracy.
struct Scores {
  double loss = 0, ce = 0, aux = 0, acc = 0;
};

/// The slots the L2 penalty reaches: the weight matrices of the GraphConvs and, for the soft
/// poolers, of the assignment network: the Keras kernel_regularizer=l2(1e-4) of the MinCutPool
/// code (which regularises neither the biases, the output layer, nor TopK / SAG).
std::vector<Index> l2_slots(const gnnpool::ParameterSet<Scalar>& params, bool pools) {
  std::vector<Index> slots;
  for (Index s = 0; s < params.size(); ++s) {
    const std::string& name = params.name(s);
    const bool regularized = name.rfind("convs.", 0) == 0 || (pools && name.rfind("pools.", 0) == 0);
    if (regularized && name.size() >= 6 && name.compare(name.size() - 6, 6, "weight") == 0) slots.push_back(s);
  }
  return slots;
}

/// l2 * |W|^2 summed over `l2_slots`, as the training objective counts it.
double l2_penalty(const gnnpool::ParameterSet<Scalar>& params, double l2, bool pools) {
  double p = 0;
  if (l2 == 0) return p;
  for (const Index s : l2_slots(params, pools)) p += l2 * params[s].squaredNorm();
  return p;
}

Scores evaluate(const Model& model, const Dataset& data, const std::vector<Index>& ids, double l2,
                examples::Parallel& par) {
  const bool pools = examples::is_soft_pooler(model.config().pooler);
  Scores s;
  gnnpool::Tape<Scalar> tape(model.parameters());
  const std::vector<Index> mine = par.shard(ids);  // each rank scores its share; the sums are reduced
  gnnpool::GraphLoader<Scalar> loader(data.graphs, data.labels, mine, {.batch_size = 64, .shuffle = false});
  for (const auto& mb : loader.epoch()) {
    tape.reset();
    const auto out = model.forward(tape, mb.batch);
    const double w = static_cast<double>(mb.ids.size());
    s.ce += w * static_cast<double>(gnnpool::softmax_cross_entropy(out.logits.value(), mb.labels));
    s.aux += w * static_cast<double>(out.aux.value());
    s.acc += static_cast<double>(gnnpool::argmax_accuracy_count(out.logits.value(), mb.labels));
  }
  double sums[3] = {s.ce, s.aux, s.acc};
  par.sum(sums);
  s.ce = sums[0], s.aux = sums[1], s.acc = sums[2];
  const double n = static_cast<double>(ids.size());
  s.ce /= n;
  s.aux /= n;
  s.acc /= n;
  s.loss = s.ce + s.aux + l2_penalty(model.parameters(), l2, pools);
  return s;
}

struct FoldResult {
  double test_acc = 0;
  Index epochs = 0, best_epoch = 0;
  double seconds = 0;
};

/// Progress of the whole run, for the estimated time left.
struct Progress {
  Index folds = 0, done_folds = 0, done_epochs = 0, max_epochs = 0;
  double train_seconds = 0;  // training time of all epochs so far (summary)
  double epoch_seconds = 0;  // training + validation time of all epochs so far (ETA)
  double compute_seconds = 0;  // forward + backward of the training steps (this rank)
  Index steps = 0;
  examples::Stopwatch clock;

  std::string eta(Index fold_epoch) const {
    const Index epochs_run = done_epochs + fold_epoch;
    if (epochs_run == 0) return "?";
    const double per_epoch = epoch_seconds / static_cast<double>(epochs_run);
    const double expected = done_folds > 0 ? static_cast<double>(done_epochs) / static_cast<double>(done_folds)
                                           : static_cast<double>(max_epochs);
    const double left_here = std::max(0.0, expected - static_cast<double>(fold_epoch));
    const double left = left_here + static_cast<double>(folds - done_folds - 1) * expected;
    return examples::format_duration(left * per_epoch);
  }
};

/// The pooling levels: soft poolers get K = ceil(average N of the training graphs) / 2, then / 4,
/// ... as the MinCutPool code; TopK / SAG keep `ratio` of the nodes at every level.
std::vector<examples::PoolerSettings> pooling_levels(const Dataset& data, const std::vector<Index>& train, Index levels,
                                                     double ratio, double aux_weight, std::uint64_t seed) {
  double nodes = 0;
  for (Index g : train) nodes += static_cast<double>(data.graphs.graph_size(g));
  Index k = static_cast<Index>(std::ceil(nodes / static_cast<double>(std::max<std::size_t>(train.size(), 1))));
  std::vector<examples::PoolerSettings> out;
  for (Index l = 0; l < levels; ++l) {
    examples::PoolerSettings s;
    k = std::max<Index>(1, k / 2);
    s.clusters = k;
    s.ratio = ratio;
    s.mlp_hidden = {16};  // the MinCutPool code's assignment MLP (hidden 16, relu)
    s.seed = seed + static_cast<std::uint64_t>(l);
    s.aux_weight = aux_weight;
    out.push_back(s);
  }
  return out;
}

FoldResult train_fold(const examples::ModelConfig& config, const Protocol& p, const Dataset& data,
                      const gnnpool::Split& split, Index fold, Progress& progress, examples::Parallel& par) {
  examples::Stopwatch fold_clock;
  Model model(config, p.seed + static_cast<std::uint64_t>(fold));
  auto& params = model.parameters();
  gnnpool::AdamOptions adam_options;
  adam_options.lr = p.lr;
  gnnpool::Adam<Scalar> adam(params, adam_options);
  if (!p.resume.empty()) gnnpool::load_checkpoint(p.resume, params, adam);
  par.broadcast(params);  // every rank starts from rank 0's parameters
  gnnpool::ParameterSet<Scalar> grads = params.zeros_like(), best = params;
  auto loader = par.loader<Scalar>(data.graphs, data.labels, split.train,
                                   {.batch_size = p.batch_size, .seed = p.seed * 7919 + static_cast<std::uint64_t>(fold)});
  gnnpool::Tape<Scalar> tape(params);
  const std::vector<Index> penalized = p.l2 > 0 ? l2_slots(params, examples::is_soft_pooler(config.pooler))
                                                : std::vector<Index>{};
  double best_val = std::numeric_limits<double>::infinity();
  FoldResult r;
  Index waited = 0;
  for (Index epoch = 1; epoch <= p.epochs; ++epoch) {
    examples::Stopwatch epoch_clock;
    double train_loss = 0, train_aux = 0, train_correct = 0;
    for (const auto& mb : loader.epoch()) {
      examples::Stopwatch step_clock;
      if (mb.ids.empty()) {  // a rank without graphs in this (small) global batch
        grads.set_zero();
      } else {
        tape.reset();
        const auto out = model.forward(tape, mb.batch);
        const auto ce = gnnpool::cross_entropy(out.logits, mb.labels);
        auto loss = ce + out.aux;
        if (!penalized.empty()) loss = loss + gnnpool::l2_penalty(tape, static_cast<Scalar>(p.l2), penalized);
        const double w = static_cast<double>(mb.ids.size());
        train_loss += w * static_cast<double>(ce.value());
        train_aux += w * static_cast<double>(out.aux.value());
        train_correct += static_cast<double>(gnnpool::argmax_accuracy_count(out.logits.value(), mb.labels));
        tape.backward(loss, grads, examples::Parallel::weight(mb));  // the slice's share of the global mean
      }
      progress.compute_seconds += step_clock.seconds();
      ++progress.steps;
      par.allreduce(grads);
      adam.step(params, grads);
    }
    double sums[3] = {train_loss, train_aux, train_correct};
    par.sum(sums);
    train_loss = sums[0], train_aux = sums[1], train_correct = sums[2];
    if (!p.checkpoint.empty() && par.is_root()) gnnpool::save_checkpoint(p.checkpoint, params, adam);
    progress.train_seconds += epoch_clock.seconds();
    const double n = static_cast<double>(loader.num_graphs());
    const Scores val = evaluate(model, data, split.val, p.l2, par);
    r.epochs = epoch;
    if (val.loss < best_val) {
      best_val = val.loss;
      best = params;
      r.best_epoch = epoch;
      waited = 0;
    } else {
      ++waited;
    }
    const bool stop = waited >= p.patience;
    progress.epoch_seconds += epoch_clock.seconds();
    if (epoch == 1 || epoch % p.log_every == 0 || stop || epoch == p.epochs)
      std::printf("  fold %2ld  epoch %3ld  loss %.4f (ce %.4f + aux %.4f)  train %5.1f%%  val %5.1f%% (loss %.4f)"
                  "  %s/epoch  ETA %s\n",
                  static_cast<long>(fold + 1), static_cast<long>(epoch), (train_loss + train_aux) / n, train_loss / n,
                  train_aux / n, 100 * train_correct / n, 100 * val.acc, val.loss,
                  examples::format_duration(epoch_clock.seconds()).c_str(), progress.eta(epoch).c_str());
    std::fflush(stdout);
    if (stop) break;
  }
  params = best;
  r.test_acc = evaluate(model, data, split.test, p.l2, par).acc;
  r.seconds = fold_clock.seconds();
  return r;
}

}  // namespace

int run(int argc, char** argv) {
  examples::Parallel par;
  examples::Options opt(argc, argv,
                        "graph_classification: hierarchical GNN with a gnnpool pooler on a TU dataset.\n"
                        "Usage: graph_classification [--pooler mincut] [--data data/PROTEINS] [--protocol cv|mincut] ...");
  Protocol p;
  std::string names;
  for (const auto& n : examples::pooler_names()) names += (names.empty() ? "" : ", ") + n;
  const std::string data_dir = opt.text("data", std::string(GNNPOOL_DATA_DIR) + "/PROTEINS", "folder of a TU dataset");
  const std::string pooler = opt.text("pooler", "mincut", "pooler: " + names);
  p.name = opt.text("protocol", "cv", "cv: stratified k-fold CV; mincut: the MinCutPool paper's protocol (sets the defaults below)");
  const bool mincut_protocol = p.name == "mincut";
  if (!mincut_protocol && p.name != "cv") throw std::invalid_argument("--protocol must be cv or mincut");
  const bool soft = examples::is_soft_pooler(pooler);
  p.features = opt.text("features", mincut_protocol ? "mincut" : "tu", "node features: tu or mincut (degree, clustering, one-hot)");
  p.folds = opt.integer("folds", 10, "cv: number of folds; mincut: number of random splits");
  p.max_folds = opt.integer("max-folds", 0, "stop after this many folds (0: all)");
  p.epochs = opt.integer("epochs", mincut_protocol ? 500 : 100, "maximum epochs per fold");
  p.patience = opt.integer("patience", mincut_protocol ? 50 : 20, "early-stopping patience (epochs without a better validation loss)");
  p.batch_size = opt.integer("batch", mincut_protocol ? (soft ? 1 : 8) : 32, "graphs per mini-batch");
  p.lr = opt.real("lr", mincut_protocol ? 5e-4 : 1e-3, "Adam learning rate");
  p.l2 = opt.real("l2", mincut_protocol ? 1e-4 : 0.0, "L2 penalty on GraphConv and pooler weights (Keras l2)");
  p.seed = static_cast<std::uint64_t>(opt.integer("seed", 0, "seed of splits, initialisation and shuffling"));
  p.log_every = opt.integer("log-every", 10, "print a progress line every this many epochs");
  p.checkpoint = opt.text("checkpoint", "", "write parameters + Adam state here after every epoch (rank 0)");
  p.resume = opt.text("resume", "", "start every fold from this checkpoint (parameters + Adam state)");
  examples::ModelConfig config;  // the pooling levels are set per split (pooling_levels)
  config.pooler = pooler;
  config.hidden = opt.integer("hidden", 32, "channels of every GraphConv");
  const Index levels = opt.integer("levels", mincut_protocol ? 2 : 1, "pooling levels");
  const double ratio = opt.real("ratio", 0.5, "topk / sag: fraction of nodes kept per level");
  const double aux_weight = opt.real("aux-weight", 1.0, "coefficient of every auxiliary loss");
  config.readout = opt.text("readout", "mean", "global readout: mean, sum or max");
  const Index head_hidden = opt.integer("head-hidden", mincut_protocol ? 0 : 32, "hidden width of the MLP after the readout (0: one Linear)");
  Index max_graphs = opt.integer("max-graphs", 0, "use a stratified random subset of this many graphs (0: all)");
  const bool smoke = opt.flag("smoke", "2 epochs on 2 folds of at most 200 graphs (CTest)");
  const bool gradcheck = opt.flag("gradcheck", "check the model's gradients by finite differences on 4 graphs, then exit");
  opt.finish();
  if (smoke) {  // unless given explicitly
    if (!opt.given("epochs")) p.epochs = 2;
    if (!opt.given("max-folds")) p.max_folds = 2;
    if (!opt.given("log-every")) p.log_every = 1;
    if (!opt.given("max-graphs")) max_graphs = 200;
  }
  if (p.folds < 2 && !mincut_protocol) throw std::invalid_argument("--folds must be >= 2");
  if (p.batch_size < 1 || p.epochs < 1 || p.patience < 1 || levels < 1)
    throw std::invalid_argument("--batch, --epochs, --patience and --levels must be >= 1");

  examples::Stopwatch total;
  Dataset data = load_dataset(data_dir, p.features);
  if (max_graphs > 0 && max_graphs < data.graphs.num_graphs()) {
    std::mt19937_64 rng(p.seed);
    std::vector<Index> all(static_cast<std::size_t>(data.graphs.num_graphs()));
    std::iota(all.begin(), all.end(), Index(0));
    const double fraction = static_cast<double>(max_graphs) / static_cast<double>(all.size());
    const auto subset = gnnpool::stratified_split(all, data.labels, fraction, rng).second;
    std::vector<Index> labels;
    for (Index g : subset) labels.push_back(data.labels[static_cast<std::size_t>(g)]);
    data.graphs = gnnpool::select_graphs(data.graphs, subset);
    data.labels = std::move(labels);
  }
  const Index num_graphs = data.graphs.num_graphs();
  const double avg_nodes = static_cast<double>(data.graphs.num_nodes()) / static_cast<double>(num_graphs);
  config.in_features = data.graphs.num_features();
  config.num_classes = data.num_classes;
  if (head_hidden > 0) config.head_hidden = {head_hidden};
  if (gradcheck) {  // the whole model, backward against central differences (CTest)
    config.levels = pooling_levels(data, {0, 1, 2, 3}, levels, ratio, aux_weight, p.seed);
    const std::vector<Index> ids{0, 1, 2, 3};
    const std::vector<Index> y = gnnpool::gather(data.labels, ids);
    const Batch batch = gnnpool::select_graphs(data.graphs, ids);
    Model model(config, p.seed);
    gnnpool::ModelCheckOptions check;
    check.entries_per_tensor = 3;  // a sample of every tensor keeps the check to seconds
    const auto result = gnnpool::check_model(model.parameters(), [&](gnnpool::Tape<double>& tape) {
      const auto out = model.forward(tape, batch);
      return gnnpool::cross_entropy(out.logits, y) + out.aux;
    }, {}, check);
    std::printf("gradient check (%s, %ld levels): %s", pooler.c_str(), static_cast<long>(levels), result.log.c_str());
    return result.ok ? 0 : 1;
  }
  const auto splits = mincut_protocol
                          ? gnnpool::stratified_random_splits(data.labels, p.folds, 0.1, p.val_fraction, p.seed)
                          : gnnpool::stratified_k_fold(data.labels, p.folds, p.val_fraction, p.seed);
  const Index run_folds = p.max_folds > 0 ? std::min<Index>(p.max_folds, static_cast<Index>(splits.size()))
                                          : static_cast<Index>(splits.size());
  config.levels = pooling_levels(data, splits.front().train, levels, ratio, aux_weight, p.seed);
  std::printf("gnnpool graph classification\n");
  std::printf("  data      %s: %ld graphs, %ld nodes (%.2f per graph), %ld features, %ld classes\n", data.name.c_str(),
              static_cast<long>(num_graphs), static_cast<long>(data.graphs.num_nodes()), avg_nodes,
              static_cast<long>(config.in_features), static_cast<long>(config.num_classes));
  std::printf("  model     GraphConvSkip(%ld)", static_cast<long>(config.hidden));
  for (const auto& s : config.levels) {
    if (examples::is_soft_pooler(pooler)) std::printf(" -> %s(k=%ld)", pooler.c_str(), static_cast<long>(s.clusters));
    else if (pooler == "topk" || pooler == "sag") std::printf(" -> %s(ratio=%.2f)", pooler.c_str(), s.ratio);
    else std::printf(" -> %s", pooler.c_str());
    std::printf(" -> GraphConvSkip(%ld)", static_cast<long>(config.hidden));
  }
  std::printf(" -> %s readout -> MLP -> %ld classes (%ld parameters)\n", config.readout.c_str(),
              static_cast<long>(config.num_classes), static_cast<long>(Model(config, p.seed).parameters().num_scalars()));
  std::printf("  protocol  %s: %ld %s, validation %.0f%% of train, Adam lr %g, batch %ld, <= %ld epochs, patience %ld,"
              " L2 %g, seed %lu\n",
              p.name.c_str(), static_cast<long>(run_folds), mincut_protocol ? "random splits (10% test)" : "folds",
              100 * p.val_fraction, p.lr, static_cast<long>(p.batch_size), static_cast<long>(p.epochs),
              static_cast<long>(p.patience), p.l2, static_cast<unsigned long>(p.seed));
  if (par.size() > 1)
    std::printf("  parallel  %d MPI ranks, each on its slice of every global batch of %ld\n", par.size(),
                static_cast<long>(p.batch_size));

  Progress progress;
  progress.folds = run_folds;
  progress.max_epochs = p.epochs;
  std::vector<double> accs;
  Index epochs = 0;
  for (Index f = 0; f < run_folds; ++f) {
    const auto& split = splits[static_cast<std::size_t>(f)];
    config.levels = pooling_levels(data, split.train, levels, ratio, aux_weight, p.seed);
    const auto r = train_fold(config, p, data, split, f, progress, par);
    accs.push_back(100 * r.test_acc);
    epochs += r.epochs;
    progress.done_folds = f + 1;
    progress.done_epochs = epochs;
    std::printf("fold %ld/%ld: test accuracy %.2f%% (best validation loss at epoch %ld of %ld, %s)\n",
                static_cast<long>(f + 1), static_cast<long>(run_folds), 100 * r.test_acc, static_cast<long>(r.best_epoch),
                static_cast<long>(r.epochs), examples::format_duration(r.seconds).c_str());
    std::fflush(stdout);
  }
  const auto acc = examples::mean_std(accs);
  std::printf("\n%s, pooler %s, protocol %s, seed %lu\n", data.name.c_str(), pooler.c_str(), p.name.c_str(),
              static_cast<unsigned long>(p.seed));
  std::printf("test accuracy: %.2f +- %.2f %% over %ld %s\n", acc.mean, acc.std, static_cast<long>(run_folds),
              mincut_protocol ? "runs" : "folds");
  std::printf("time per epoch: %s (training only), total %s\n",
              examples::format_duration(progress.train_seconds / static_cast<double>(std::max<Index>(epochs, 1))).c_str(),
              examples::format_duration(total.seconds()).c_str());
  const double steps = static_cast<double>(std::max<Index>(progress.steps, 1));
  std::printf("time per step (rank 0, %d rank%s): compute %.3f ms, gradient all-reduce %.3f ms (%.1f %% of the step)\n",
              par.size(), par.size() > 1 ? "s" : "", 1e3 * progress.compute_seconds / steps, 1e3 * par.comm_seconds() / steps,
              100 * par.comm_seconds() / std::max(progress.compute_seconds + par.comm_seconds(), 1e-12));
  return 0;
}

int main(int argc, char** argv) {
  return examples::Parallel::main("graph_classification", argc, argv, [&] { return run(argc, argv); });
}
