// The soft-clustering poolers of the bridge, in both forms:
// - sparse, gnnpool's unpadded batch (pool kinds mincut, diffpool, dmon): MinCutPool and
//   DMoNPool with their MLP scorer (`mlp.lins.<l>.*`), DiffPool with its GCN scorer (`gnn.*`);
// - PyG's padded dense form (dense kinds mincut, diffpool, dmon): the functional poolers with
//   the logits from the caller, as PyG's dense_mincut_pool, dense_diff_pool and DMoNPooling.

#include "bridge.hpp"

#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>

namespace gnnpool::pyg::impl {
namespace {

std::vector<Index> hidden_of(Config& c) {
  std::vector<Index> h;
  for (const int64_t v : c.integers("hidden")) h.push_back(v);
  return h;
}

struct MakeMinCut {
  template <typename S>
  MinCutPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra&) const {
    MinCutPoolOptions<S> o;
    o.k = c.integer("k");
    o.hidden = hidden_of(c);
    o.temperature = static_cast<S>(c.number("temperature", 1.0));
    return MinCutPool<S>(ps, "", c.integer("in_channels"), o);
  }
};
struct MakeDiffPool {
  template <typename S>
  DiffPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra&) const {
    DiffPoolOptions<S> o;
    o.k = c.integer("k");
    o.temperature = static_cast<S>(c.number("temperature", 1.0));
    return DiffPool<S>(ps, "", c.integer("in_channels"), o);
  }
};
struct MakeDMoN {
  template <typename S>
  DMoNPool<S> operator()(ParameterSet<S>& ps, Config& c, const Extra&) const {
    DMoNPoolOptions<S> o;
    o.k = c.integer("k");
    o.hidden = hidden_of(c);
    o.temperature = static_cast<S>(c.number("temperature", 1.0));
    return DMoNPool<S>(ps, "", c.integer("in_channels"), o);
  }
};

/// [x, edge_index, edge_weight, batch, s, losses...].
struct SoftOutputs {
  std::vector<at::Tensor> operator()(PoolResult&& r, const GraphInput&, const Extra&) const {
    std::vector<at::Tensor> out{r.x, r.edge_index, r.edge_weight, r.batch, r.s};
    out.insert(out.end(), r.losses.begin(), r.losses.end());
    return out;
  }
};

template <typename Make>
PoolKind soft_kind(const std::vector<std::string>& losses) {
  std::vector<std::string> outputs{"x", "edge_index", "edge_attr", "batch", "s"};
  outputs.insert(outputs.end(), losses.begin(), losses.end());
  return pool_kind<Make, SoftOutputs>(std::move(outputs));
}

/// A dense kind: `make<S>(config, padded_size)` builds the functional pooler.
template <typename Make>
DenseKind dense_kind(std::vector<std::string> losses) {
  std::vector<std::string> outputs{"x", "adj", "s"};
  outputs.insert(outputs.end(), losses.begin(), losses.end());
  return DenseKind{std::move(outputs), [](Config& c, const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                      const c10::optional<at::Tensor>& mask) {
    const std::string op = c.layer();  // "gnnpool.dense_pool(<function>)"
    return dispatch(x, op, [&]<typename S>() {
      const Index nmax = x.dim() == 3 ? x.size(1) : x.size(0);
      auto function = std::make_shared<const decltype(Make{}.template operator()<S>(c, nmax))>(
          Make{}.template operator()<S>(c, nmax));
      c.finish();
      DenseSoftResult r = dense_soft_pool(std::move(function), x, adj, s, mask, op);
      std::vector<at::Tensor> out{r.x, r.adj, r.s};
      out.insert(out.end(), r.losses.begin(), r.losses.end());
      return out;
    });
  }};
}

struct MakeDenseMinCut {
  template <typename S>
  MinCutPoolFunction<S> operator()(Config& c, Index) const {
    MinCutPoolOptions<S> o;
    o.temperature = static_cast<S>(c.number("temperature", 1.0));
    return mincut_pool_function<S>(o);
  }
};
struct MakeDenseDiffPool {
  template <typename S>
  DiffPoolFunction<S> operator()(Config& c, Index nmax) const {
    DiffPoolOptions<S> o;
    // PyG divides the link loss by adj.numel() = B Nmax^2 and averages the entropy over the
    // B Nmax padded rows (normalize=True); normalize=False: the unnormalised Frobenius norm.
    o.link.normalization = c.flag("normalize", true) ? LinkLossNormalization::pyg : LinkLossNormalization::none;
    o.link.padded_size = nmax;
    o.entropy.reduction = EntropyLossReduction::pyg;
    o.entropy.padded_size = nmax;
    return diff_pool_function<S>(o);
  }
};
struct MakeDenseDMoN {
  template <typename S>
  DMoNPoolFunction<S> operator()(Config& c, Index) const {
    DMoNPoolOptions<S> o;
    o.temperature = static_cast<S>(c.number("temperature", 1.0));
    return dmon_pool_function<S>(o);
  }
};

}  // namespace

void add_soft_kinds(Registry& r) {
  const std::vector<std::string> mincut{"mincut_loss", "ortho_loss"}, diffpool{"link_loss", "ent_loss"},
      dmon{"spectral_loss", "ortho_loss", "cluster_loss"};
  r.pools["mincut"] = soft_kind<MakeMinCut>(mincut);
  r.pools["diffpool"] = soft_kind<MakeDiffPool>(diffpool);
  r.pools["dmon"] = soft_kind<MakeDMoN>(dmon);
  r.dense["mincut"] = dense_kind<MakeDenseMinCut>(mincut);
  r.dense["diffpool"] = dense_kind<MakeDenseDiffPool>(diffpool);
  r.dense["dmon"] = dense_kind<MakeDenseDMoN>(dmon);
}

}  // namespace gnnpool::pyg::impl
