// Conformance of the soft-clustering poolers against PyG's dense ops: mincut
// (dense_mincut_pool), diffpool (dense_diff_pool) and dmon (DMoNPooling).
//
// PyG works on the padded form x[B, Nmax, F], adj[B, Nmax, Nmax], mask[B, Nmax]. Here gnnpool's
// unpadded batch is rebuilt from the valid rows (`from_dense_batch`), and every padded output
// and gradient of PyG is compared with gnnpool's per-graph blocks:
//
// - outputs x [B, K, F] and adj [B, K, K]: gnnpool's pooled x rows b K .. (b+1) K and its dense
//   K x K CSR blocks (same row-major order); dmon's s [B, Nmax, K]: the valid rows.
// - every auxiliary loss, and the total loss L recomputed from the case's weights.
// - grads of x [B, Nmax, F] and s_logits [B, Nmax, K]: the valid rows; the padded rows of the
//   expected gradients must be exactly 0 (checked, PyG masks them out).
// - grad of adj [B, Nmax, Nmax]: PyG's gradient is dense, dL/dA_ij for every pair. The batch is
//   built with EVERY (valid, valid) pair of a graph stored (explicit zeros are stored entries),
//   so gnnpool returns dL/dA on all of them and the whole valid x valid block of every graph is
//   compared. Padded rows of the expected gradient must be 0 (checked). Entries (valid row i,
//   padded column j) are NOT compared: they are derivatives with respect to pairs that do not
//   exist in an unpadded batch. For mincut and dmon they are not 0 in PyG (adding weight to
//   A_ij would change node i's degree d_i = sum_j A_ij, which both losses read), so they are
//   reported as skipped, not treated as an error.
// - grads of the parameters (assign.* for mincut / diffpool: a Linear F -> K that makes
//   s_logits; mlp.lins.* for dmon).
//
// mincut and diffpool run twice: the functional form (logits from the caller, which gives
// dL/ds_logits) and the Pool composition with a Linear scorer; dmon runs DMoNPool with its MLP.
// Configuration comes from `hyper` and the shapes only.

#include "conformance/conformance.hpp"

#include <gnnpool/connect/soft.hpp>
#include <gnnpool/nn/linear.hpp>
#include <gnnpool/pool/diff_pool.hpp>
#include <gnnpool/pool/dmon_pool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>

#include <cmath>
#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace gnnpool::conformance {
namespace {

/// The padded layout of a case: B graphs of Nmax rows, and which rows are real.
struct Padding {
  Index graphs = 0, nmax = 0;
  std::unique_ptr<bool[]> valid;  // B Nmax flags, contiguous (std::vector<bool> is not)
  std::span<const bool> mask() const { return {valid.get(), static_cast<std::size_t>(graphs * nmax)}; }
};

Padding padding_of(const Case& c) {
  const Tensor& x = c.input("x");
  if (x.shape.size() != 3) throw std::runtime_error(c.file + ": x must be [B, Nmax, F]");
  Padding p;
  p.graphs = x.shape[0];
  p.nmax = x.shape[1];
  p.valid = std::make_unique<bool[]>(static_cast<std::size_t>(p.graphs * p.nmax));
  std::fill_n(p.valid.get(), p.graphs * p.nmax, true);
  if (c.has_input("mask")) {
    const Tensor& m = c.input("mask");
    if (m.size() != p.graphs * p.nmax) throw std::runtime_error(c.file + ": mask must be [B, Nmax]");
    for (Index i = 0; i < m.size(); ++i) p.valid[static_cast<std::size_t>(i)] = m.data[static_cast<std::size_t>(i)] != 0;
  }
  return p;
}

Batch<double> unpadded_batch(const Case& c, const Padding& p) {
  return from_dense_batch<double>(c.input("x").matrix(), c.input("adj").matrix(), p.mask(), p.graphs,
                                  /*keep_zeros=*/true);
}

/// The valid rows of a [B, Nmax, C] tensor, as a tensor of their own. For expected gradients and
/// outputs (`what` given) a padded row that is not exactly 0 fails the comparison; upstream
/// weights (`what` empty) may hold anything there, PyG's padded outputs being 0.
Tensor valid_rows(const Tensor& t, const Padding& p, const std::string& what, Comparison& cmp) {
  const Index cols = t.size() / std::max<Index>(p.graphs * p.nmax, 1);
  Tensor out;
  for (Index r = 0; r < p.graphs * p.nmax; ++r)
    for (Index col = 0; col < cols; ++col) {
      const double v = t.data[static_cast<std::size_t>(r * cols + col)];
      if (p.valid[static_cast<std::size_t>(r)]) out.data.push_back(v);
      else if (!what.empty() && v != 0.0) cmp.fail(what + ": the expected gradient is " + std::to_string(v) + " on padded row " +
                                  std::to_string(r) + " (PyG should mask it to 0)");
    }
  out.shape = {static_cast<Index>(out.data.size())};
  return out;
}

/// Compares dL/dA: gnnpool's gradient on every stored (valid, valid) pair against PyG's dense
/// gradient; expected padded rows must be 0; (valid, padded) entries are skipped (see the top).
void compare_adj_grad(const Case& c, const Padding& p, const Batch<double>& batch, const Vector<double>& dadj,
                      const std::string& what, Comparison& cmp) {
  const Tensor& expected = c.grad("adj");
  Tensor sub;
  std::vector<double> actual;
  Index node = 0;
  for (Index b = 0; b < p.graphs; ++b) {
    const Index n = batch.graph_size(b);
    for (Index i = 0; i < p.nmax; ++i)
      for (Index j = 0; j < p.nmax; ++j) {
        const double e = expected.data[static_cast<std::size_t>((b * p.nmax + i) * p.nmax + j)];
        if (i >= n) {
          if (e != 0.0) cmp.fail(what + ": expected gradient on padded row " + std::to_string(i) + " of graph " +
                                 std::to_string(b) + " is " + std::to_string(e) + ", not 0");
          continue;
        }
        if (j >= n) continue;  // a pair absent from the unpadded batch
        sub.data.push_back(e);
        // Every pair of the graph is stored, columns ascending: entry (i, j) of graph b.
        const StorageIndex row_start = batch.adj.outerIndexPtr()[node + i];
        if (batch.adj.outerIndexPtr()[node + i + 1] - row_start != n ||
            batch.adj.innerIndexPtr()[row_start + j] != node + j)
          throw std::runtime_error(c.file + ": the dense batch does not store every pair");
        actual.push_back(dadj[row_start + j]);
      }
    node += n;
  }
  sub.shape = {static_cast<Index>(sub.data.size())};
  cmp.values(what, actual, sub);
}

/// The upstream gradient of a case: loss_weights of x and adj (and s, valid rows, when given).
PoolOutputGrad<double, SoftSelection<double>> upstream(const Case& c, const Padding& p, Comparison& cmp) {
  PoolOutputGrad<double, SoftSelection<double>> g;
  g.x = c.loss_weights.at("x").matrix();
  const Tensor& wa = c.loss_weights.at("adj");
  g.adj = Eigen::Map<const Vector<double>>(wa.data.data(), wa.size());
  if (c.loss_weights.count("s")) {
    const Tensor ws = valid_rows(c.loss_weights.at("s"), p, "", cmp);
    const Index k = c.loss_weights.at("s").shape.back();
    g.selection = Eigen::Map<const Matrix<double>>(ws.data.data(), ws.size() / k, k);
  }
  return g;
}

/// Outputs and losses of one run; returns L = <outputs, weights> + sum(aux).
template <typename Output>
double compare_outputs(const Case& c, const Padding& p, const Output& out, const std::string& tag, Comparison& cmp) {
  cmp.matrix(tag + "x", out.batch.x, c.output("x"));
  std::vector<double> adj(out.batch.adj.valuePtr(), out.batch.adj.valuePtr() + out.batch.adj.nonZeros());
  cmp.values(tag + "adj", adj, c.output("adj"));
  double loss = 0;
  if (c.outputs.count("s")) {
    cmp.matrix(tag + "s", out.selection.s, valid_rows(c.output("s"), p, "outputs.s", cmp));
    const Tensor ws = valid_rows(c.loss_weights.at("s"), p, "", cmp);
    loss += Eigen::Map<const Vector<double>>(ws.data.data(), ws.size())
                .dot(Eigen::Map<const Vector<double>>(out.selection.s.data(), out.selection.s.size()));
  }
  for (const auto& [name, expected] : c.aux_losses) {
    cmp.scalar(tag + "aux_losses." + name, out.loss(name), expected.scalar());
    loss += out.loss(name);
  }
  const Tensor& wx = c.loss_weights.at("x");
  const Tensor& wa = c.loss_weights.at("adj");
  loss += Eigen::Map<const Vector<double>>(wx.data.data(), wx.size())
              .dot(Eigen::Map<const Vector<double>>(out.batch.x.data(), out.batch.x.size()));
  loss += Eigen::Map<const Vector<double>>(wa.data.data(), wa.size())
              .dot(Eigen::Map<const Vector<double>>(out.batch.adj.valuePtr(), out.batch.adj.nonZeros()));
  cmp.scalar(tag + "loss", loss, c.loss);
  return loss;
}

void compare_params(const Case& c, const ParameterSet<double>& dparams, const std::string& tag, Comparison& cmp) {
  for (const auto& [name, tensor] : c.params) cmp.matrix(tag + "param:" + name, dparams.at(name), c.grad("param:" + name));
}

/// Runs a Pool composition on the case and compares its outputs, losses and gradients.
template <typename PoolT>
void check_pool_run(const Case& c, const Padding& p, const PoolT& pool, ParameterSet<double>& params,
                    const Batch<double>& batch, const PoolOutputGrad<double, SoftSelection<double>>& grad,
                    const std::string& tag, Comparison& cmp) {
  typename PoolT::Output out;
  typename PoolT::Cache cache;
  pool.forward(params, batch, out, cache);
  compare_outputs(c, p, out, tag, cmp);
  BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  pool.backward(params, batch, out, cache, grad, din, dparams);
  cmp.matrix(tag + "grads.x", din.x, valid_rows(c.grad("x"), p, "grads.x", cmp));
  compare_adj_grad(c, p, batch, din.adj, tag + "grads.adj", cmp);
  compare_params(c, dparams, tag, cmp);
}

/// mincut and diffpool: logits = assign(x) (a Linear F -> K), then the functional form and the
/// Pool composition.
template <typename MakeFunction, typename MakePool>
void run_assign_case(const Case& c, Comparison& cmp, MakeFunction make_function, MakePool make_pool) {
  const Padding p = padding_of(c);
  Batch<double> batch = unpadded_batch(c, p);
  const Index f = batch.x.cols();
  const Index k = static_cast<Index>(c.hyper_number("K", 0));
  ParameterSet<double> params;
  Linear<double> assign(params, "assign", f, k);
  c.load_params(params);
  const auto grad = upstream(c, p, cmp);

  // Functional form: dL/ds_logits, then the Linear's backward for x and the parameters.
  {
    const auto fn = make_function(p);
    Matrix<double> logits;
    Linear<double>::Cache lin_cache;
    assign.forward(params, batch.x, logits, lin_cache);
    typename decltype(fn)::Output out;
    typename decltype(fn)::Cache cache;
    fn.forward(batch, logits, out, cache);
    compare_outputs(c, p, out, "", cmp);
    BatchGrad<double> din;
    Matrix<double> dlogits, dx_assign;
    fn.backward(batch, out, cache, grad, din, dlogits);
    cmp.matrix("grads.s_logits", dlogits, valid_rows(c.grad("s_logits"), p, "grads.s_logits", cmp));
    ParameterSet<double> dparams = params.zeros_like();
    assign.backward(params, batch.x, lin_cache, dlogits, &dx_assign, dparams);
    cmp.matrix("grads.x", din.x + dx_assign, valid_rows(c.grad("x"), p, "grads.x", cmp));
    compare_adj_grad(c, p, batch, din.adj, "grads.adj", cmp);
    compare_params(c, dparams, "", cmp);
  }
  // Pool composition with the Linear as scorer: the same numbers through Pool::backward.
  check_pool_run(c, p, make_pool(assign, p), params, batch, grad, "pool.", cmp);
}

void run_mincut(const Case& c, Comparison& cmp) {
  MinCutPoolOptions<double> options;
  options.temperature = c.hyper_number("temp", 1.0);
  run_assign_case(
      c, cmp, [&](const Padding&) { return mincut_pool_function<double>(options); },
      [&](const Linear<double>& assign, const Padding&) { return MinCutPool<double, Linear<double>>(assign, options); });
}

void run_diffpool(const Case& c, Comparison& cmp) {
  auto options_for = [&](const Padding& p) {
    DiffPoolOptions<double> options;
    options.temperature = c.hyper_number("temp", 1.0);
    // PyG divides by adj.numel() = B Nmax^2 and averages the entropy over B Nmax rows, Nmax being
    // the padded size of the input tensors.
    options.link.normalization =
        c.hyper_number("normalize", 1.0) != 0.0 ? LinkLossNormalization::pyg : LinkLossNormalization::none;
    options.link.padded_size = p.nmax;
    options.entropy.reduction = EntropyLossReduction::pyg;
    options.entropy.padded_size = p.nmax;
    return options;
  };
  run_assign_case(
      c, cmp, [&](const Padding& p) { return diff_pool_function<double>(options_for(p)); },
      [&](const Linear<double>& assign, const Padding& p) {
        return DiffPool<double, Linear<double>>(assign, options_for(p));
      });
}

void run_dmon(const Case& c, Comparison& cmp) {
  const Padding p = padding_of(c);
  Batch<double> batch = unpadded_batch(c, p);
  const Index f = batch.x.cols();
  const Index k = static_cast<Index>(c.hyper_number("K", 0));
  // PyG's MLP: lins.0 .. lins.(L-1); hidden widths from the parameter shapes.
  std::vector<Index> hidden;
  for (Index l = 0;; ++l) {
    auto it = c.params.find("mlp.lins." + std::to_string(l) + ".weight");
    if (it == c.params.end()) break;
    if (c.params.count("mlp.lins." + std::to_string(l + 1) + ".weight")) hidden.push_back(it->second.shape[0]);
  }
  if (c.hyper_number("dropout", 0.0) != 0.0) throw std::runtime_error(c.file + ": dropout is not supported");
  ParameterSet<double> params;
  const DMoNPool<double> pool(params, "", f, {.k = k, .hidden = hidden});
  c.load_params(params);
  const auto grad = upstream(c, p, cmp);
  check_pool_run(c, p, pool, params, batch, grad, "", cmp);
}

const Register mincut_registration({"mincut"}, run_mincut);
const Register diffpool_registration({"diffpool"}, run_diffpool);
const Register dmon_registration({"dmon"}, run_dmon);

}  // namespace
}  // namespace gnnpool::conformance
