// The graph-classification model of the examples (examples/common/model.hpp), recorded on the
// tape, against the same model chained by hand the way the examples did before the model layer
// existed: for every pooler setting of graph_classification, the gradients are bit-identical
// (the same layer backward passes in the same order; sums of two terms commute exactly).

#include <gnnpool/gnnpool.hpp>

#include "../../examples/common/model.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <variant>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_model_hierarchical {

using namespace gnnpool;
using Model = examples::HierarchicalGNN<double>;

namespace {

/// The examples' pre-model-layer forward / backward, on today's layer signatures.
struct HandChained {
  struct Level {
    Batch<double> in;          // the level's input graph (pooled, renormalised where the pooler says)
    Matrix<double> pre, post;  // GraphConv output and its activation
    typename GraphConv<double>::Cache conv;
  };
  struct PoolState {  // the pooler's Output and Cache, of the type of the level's pooler
    std::shared_ptr<void> out, cache;
  };
  std::vector<Level> levels;
  std::vector<PoolState> pools;
  Matrix<double> pooled, logits;
  typename MLP<double>::Cache head;
  std::variant<MeanReadout<double>::Cache, SumReadout<double>::Cache, MaxReadout<double>::Cache> readout;
  double aux = 0;
};

/// Pooled batch of a pooler's output (x and the adjacency the next level sees).
template <typename Out>
Batch<double> next_level(const Out& out, bool renormalize) {
  Batch<double> b = out.batch;
  if (renormalize) b.adj = examples::normalized_adjacency(out.batch.adj);
  return b;
}

void forward(const Model& model, const std::vector<examples::AnyPooler<double>>& pools, const GraphConv<double>* convs,
             const MLP<double>& head, const Batch<double>& batch, HandChained& t) {
  const auto& params = model.parameters();
  const auto& cfg = model.config();
  const std::size_t n = pools.size() + 1;
  t.levels.assign(n, {});
  t.pools.assign(pools.size(), {});
  t.aux = 0;
  for (std::size_t l = 0; l < n; ++l) {
    auto& level = t.levels[l];
    if (l == 0) {
      level.in = batch;
    } else {
      const Batch<double> prev{t.levels[l - 1].post, t.levels[l - 1].in.adj, t.levels[l - 1].in.offsets};
      std::visit(
          [&](const auto& pool) {
            using P = std::decay_t<decltype(pool)>;
            if constexpr (std::is_same_v<P, examples::NoPool>) {
              level.in = prev;
            } else {
              auto out_ptr = std::make_shared<typename P::Output>();
              auto cache_ptr = std::make_shared<typename P::Cache>();
              t.pools[l - 1] = {out_ptr, cache_ptr};
              auto& out = *out_ptr;
              auto& cache = *cache_ptr;
              pool.forward(params, prev, out, cache);
              t.aux += out.weighted_loss();
              level.in = next_level(out, examples::renormalizes(cfg.pooler));
            }
          },
          pools[l - 1]);
    }
    convs[l].forward(params, level.in, level.pre, level.conv);
    activation_forward<double>(cfg.activation, level.pre, level.post);
  }
  const BatchRef<double> top(t.levels.back().post, t.levels.back().in);
  if (cfg.readout == "max") MaxReadout<double>().forward(params, top, t.pooled, t.readout.emplace<2>());
  else if (cfg.readout == "sum") SumReadout<double>().forward(params, top, t.pooled, t.readout.emplace<1>());
  else MeanReadout<double>().forward(params, top, t.pooled, t.readout.emplace<0>());
  head.forward(params, t.pooled, t.logits, t.head);
}

void backward(const Model& model, const std::vector<examples::AnyPooler<double>>& pools,
              const GraphConv<double>* convs, const MLP<double>& head, const HandChained& t,
              const Matrix<double>& dlogits, ParameterSet<double>& grads) {
  const auto& params = model.parameters();
  const auto& cfg = model.config();
  Matrix<double> dpooled, dh, dz, dx;
  Vector<double> dadj_next;
  head.backward(params, t.pooled, t.head, dlogits, &dpooled, grads);
  const BatchRef<double> top(t.levels.back().post, t.levels.back().in);
  std::visit(
      [&](const auto& cache) {
        using C = std::decay_t<decltype(cache)>;
        if constexpr (std::is_same_v<C, MaxReadout<double>::Cache>) MaxReadout<double>().backward(params, top, cache, dpooled, {&dh, nullptr}, grads);
        else if constexpr (std::is_same_v<C, SumReadout<double>::Cache>) SumReadout<double>().backward(params, top, cache, dpooled, {&dh, nullptr}, grads);
        else MeanReadout<double>().backward(params, top, cache, dpooled, {&dh, nullptr}, grads);
      },
      t.readout);
  for (std::size_t l = t.levels.size(); l-- > 0;) {
    const auto& level = t.levels[l];
    activation_backward<double>(cfg.activation, level.pre, level.post, dh, dz);
    if (l == 0) {
      convs[0].backward(params, level.in, level.conv, dz, {&dx, nullptr}, grads);
      break;
    }
    Vector<double> dadj;
    convs[l].backward(params, level.in, level.conv, dz, {&dx, &dadj}, grads);
    if (dadj_next.size() == dadj.size()) dadj += dadj_next;
    const auto& prev = t.levels[l - 1];
    const BatchRef<double> in(prev.post, prev.in);
    std::visit(
        [&](const auto& pool) {
          using P = std::decay_t<decltype(pool)>;
          if constexpr (std::is_same_v<P, examples::NoPool>) {
            dh = dx;
            dadj_next = dadj;
          } else {
            typename P::OutputGrad grad;
            grad.x = dx;
            if (!examples::renormalizes(cfg.pooler)) grad.adj = dadj;  // renormalised: a constant
            BatchGrad<double> din;
            pool.backward(params, in, *static_cast<const typename P::Output*>(t.pools[l - 1].out.get()),
                          *static_cast<const typename P::Cache*>(t.pools[l - 1].cache.get()), grad, din, grads);
            dh = din.x;
            dadj_next = din.adj;
          }
        },
        pools[l - 1]);
  }
}

}  // namespace

TEST_CASE("The examples' model on the tape gives the hand-chained gradients bit for bit, for every pooler",
          "[model][tape][examples]") {
  auto ds = read_tu<double>(std::string(GNNPOOL_SOURCE_DIR) + "/data/MUTAG");
  ds.graphs.adj = examples::normalized_adjacency(ds.graphs.adj);
  const std::vector<Index> ids{0, 5, 17, 42, 101, 150, 187};
  const Batch<double> batch = select_graphs(ds.graphs, ids);
  const std::vector<Index> labels = gather(ds.y.labels, ids);
  for (const auto& pooler : examples::pooler_names())
    for (const std::string readout : {"mean", "max"}) {
      INFO(pooler << ", readout " << readout);
      examples::ModelConfig cfg;
      cfg.in_features = batch.num_features();
      cfg.num_classes = 2;
      cfg.hidden = 8;
      cfg.pooler = pooler;
      cfg.readout = readout;
      cfg.head_hidden = {6};
      cfg.levels.assign(2, examples::PoolerSettings{});
      cfg.levels[0].clusters = 5;
      cfg.levels[1].clusters = 2;
      cfg.levels[0].mlp_hidden = cfg.levels[1].mlp_hidden = {4};
      cfg.levels[1].seed = 1;
      cfg.levels[0].aux_weight = cfg.levels[1].aux_weight = 0.7;
      Model model(cfg, 3);

      // The same layers, rebuilt in the same order on a second set (the model's are private):
      // registration order and seed give the same initial values.
      ParameterSet<double> mirror;
      const MLP<double> head(mirror, "head", {cfg.hidden, 6, cfg.num_classes}, cfg.activation);
      std::vector<GraphConv<double>> convs;
      std::vector<examples::AnyPooler<double>> pools;
      convs.emplace_back(mirror, "convs.0", cfg.in_features, cfg.hidden);
      for (std::size_t l = 0; l < cfg.levels.size(); ++l) {
        pools.push_back(examples::make_pooler<double>(pooler, mirror, "pools." + std::to_string(l), cfg.hidden, cfg.levels[l]));
        convs.emplace_back(mirror, "convs." + std::to_string(l + 1), cfg.hidden, cfg.hidden);
      }
      mirror.initialize(3);
      REQUIRE(mirror.same_layout(model.parameters()));
      for (Index s = 0; s < mirror.size(); ++s) REQUIRE(mirror[s] == model.parameters()[s]);

      // The tape.
      Tape<double> tape(model.parameters());
      const auto out = model.forward(tape, batch);
      const auto loss = cross_entropy(out.logits, labels) + out.aux;
      ParameterSet<double> taped = model.parameters().zeros_like();
      tape.backward(loss, taped);

      // By hand.
      HandChained t;
      forward(model, pools, convs.data(), head, batch, t);
      Matrix<double> dlogits;
      const double ce = softmax_cross_entropy<double>(t.logits, labels, &dlogits);
      ParameterSet<double> hand = model.parameters().zeros_like();
      backward(model, pools, convs.data(), head, t, dlogits, hand);

      CHECK(out.logits.value() == t.logits);
      CHECK(loss.value() == ce + t.aux);
      for (Index s = 0; s < hand.size(); ++s) {
        INFO(hand.name(s));
        CHECK(taped[s] == hand[s]);
      }
    }
}

}  // namespace gnnpool_test_model_hierarchical
