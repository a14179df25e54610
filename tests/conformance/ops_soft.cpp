// Conformance of the soft-clustering poolers against PyG's dense ops: mincut
// (dense_mincut_pool), diffpool (dense_diff_pool) and dmon (DMoNPooling); and against tgp's
// dense soft poolers: jb (JustBalancePooling), acc (AsymCheegerCutPooling), hosc (HOSCPooling)
// and lap (LaPooling), with tgp's lift (see the section below).
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
#include <gnnpool/pool/asym_cheeger_cut_pool.hpp>
#include <gnnpool/pool/bn_pool.hpp>
#include <gnnpool/pool/hosc_pool.hpp>
#include <gnnpool/pool/just_balance_pool.hpp>
#include <gnnpool/pool/lapool.hpp>
#include <gnnpool/pool/mincut_pool.hpp>
#include <gnnpool/pool/soft_lift.hpp>

#include <cmath>
#include <algorithm>
#include <functional>
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

/// How a file reports an auxiliary loss: PyG returns the loss itself; tgp returns it multiplied
/// by its coefficient, which gnnpool keeps apart as the loss's weight (compared as weight * value).
enum class AuxReport { value, weighted };

/// <weights, values> over the valid rows of a padded [B, Nmax, C] weight tensor.
double weighted_sum(const Tensor& weights, const Padding& p, const Matrix<double>& values, Comparison& cmp) {
  const Tensor w = valid_rows(weights, p, "", cmp);
  if (w.size() != values.size()) {
    cmp.fail("loss weights have " + std::to_string(w.size()) + " valid entries, the output " +
             std::to_string(values.size()));
    return 0;
  }
  return Eigen::Map<const Vector<double>>(w.data.data(), w.size())
      .dot(Eigen::Map<const Vector<double>>(values.data(), values.size()));
}

/// Outputs and losses of one run (and of tgp's lift, `lift_x`, when given); returns
/// L = <outputs, weights> + sum(aux).
template <typename Output>
double compare_outputs(const Case& c, const Padding& p, const Output& out, const std::string& tag, Comparison& cmp,
                       const Matrix<double>* lift = nullptr, AuxReport report = AuxReport::value) {
  cmp.matrix(tag + "x", out.batch.x, c.output("x"));
  std::vector<double> adj(out.batch.adj.valuePtr(), out.batch.adj.valuePtr() + out.batch.adj.nonZeros());
  cmp.values(tag + "adj", adj, c.output("adj"));
  double loss = 0;
  if (c.outputs.count("s")) {
    cmp.matrix(tag + "s", out.selection.s, valid_rows(c.output("s"), p, "outputs.s", cmp));
    loss += weighted_sum(c.loss_weights.at("s"), p, out.selection.s, cmp);
  }
  if (lift) {
    cmp.matrix(tag + "lift_x", *lift, valid_rows(c.output("lift_x"), p, "outputs.lift_x", cmp));
    loss += weighted_sum(c.loss_weights.at("lift_x"), p, *lift, cmp);
  }
  for (const auto& [name, expected] : c.aux_losses) {
    double value = out.loss(name);
    if (report == AuxReport::weighted)
      for (const auto& l : out.losses)
        if (l.name == name) value *= l.weight;
    cmp.scalar(tag + "aux_losses." + name, value, expected.scalar());
    loss += value;
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

/// `loose`: parameters whose reference gradient is approximate (BN-Pool's, upstream of PyTorch's
/// Beta sample), compared at `loose_tolerance`.
void compare_params(const Case& c, const ParameterSet<double>& dparams, const std::string& tag, Comparison& cmp,
                    const std::function<bool(const std::string&)>& loose = {}, double loose_tolerance = -1) {
  for (const auto& [name, tensor] : c.params)
    cmp.matrix(tag + "param:" + name, dparams.at(name), c.grad("param:" + name), 1e-6,
               loose && loose(name) ? loose_tolerance : -1);
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

std::vector<Index> mlp_hidden(const Case& c, const std::string& prefix);

void run_dmon(const Case& c, Comparison& cmp) {
  const Padding p = padding_of(c);
  Batch<double> batch = unpadded_batch(c, p);
  const Index f = batch.x.cols();
  const Index k = static_cast<Index>(c.hyper_number("K", 0));
  // PyG's MLP: lins.0 .. lins.(L-1); hidden widths from the parameter shapes.
  const std::vector<Index> hidden = mlp_hidden(c, "mlp");
  if (c.hyper_number("dropout", 0.0) != 0.0) throw std::runtime_error(c.file + ": dropout is not supported");
  ParameterSet<double> params;
  const DMoNPool<double> pool(params, "", f, {.k = k, .hidden = hidden});
  c.load_params(params);
  const auto grad = upstream(c, p, cmp);
  check_pool_run(c, p, pool, params, batch, grad, "", cmp);
}

// ---------------------------------------------------------------------------------------------
// tgp's dense soft poolers (jb, acc, hosc): MLPSelect (one Linear, `selector.mlp.lins.0.*`),
// DenseConnect (clamped column-degree normalisation), the loss coefficients in the reported aux
// values, and tgp's lift S x_out (`lift_x`), which is part of L: its backward adds dL/dS into the
// selection gradient and dL/dx_out into the pooled x's.

/// Hidden widths of a tgp / PyG MLP `<prefix>.lins.<l>.weight` from the parameter shapes.
std::vector<Index> mlp_hidden(const Case& c, const std::string& prefix) {
  std::vector<Index> hidden;
  for (Index l = 0;; ++l) {
    auto it = c.params.find(prefix + ".lins." + std::to_string(l) + ".weight");
    if (it == c.params.end()) break;
    if (c.params.count(prefix + ".lins." + std::to_string(l + 1) + ".weight")) hidden.push_back(it->second.shape[0]);
  }
  return hidden;
}

/// Runs a pooler whose selection is soft on a dense tgp case: forward, lift, every comparison,
/// backward through the lift and the pooler.
/// BN-Pool: PyTorch differentiates its Beta sample with an approximation of the implicit
/// reparameterisation gradient (aten's `_dirichlet_grad`: series and asymptotic fits), which the
/// generator's own finite-difference check puts at up to 3e-4 relative per entry (7e-5 normwise)
/// from the exact value gnnpool computes. The gradients upstream of the sample (x and the MLP)
/// are therefore compared at 1e-3; adj and K, which do not pass through the sample, at the
/// runner's tolerance.
constexpr double beta_sample_gradient_tolerance = 1e-3;

template <typename PoolT>
void check_tgp_dense_run(const Case& c, const Padding& p, const PoolT& pool, ParameterSet<double>& params,
                         const Batch<double>& batch, Comparison& cmp,
                         const std::function<bool(const std::string&)>& loose = {}, double loose_tolerance = -1) {
  typename PoolT::Output out;
  typename PoolT::Cache cache;
  pool.forward(params, batch, out, cache);
  const SoftLift<double> lift;
  Matrix<double> lifted;
  lift.forward(out.selection, out.batch.x, lifted);
  compare_outputs(c, p, out, "", cmp, &lifted, AuxReport::weighted);

  typename PoolT::OutputGrad grad;
  {
    auto given = upstream(c, p, cmp);
    grad.x = std::move(given.x);
    grad.adj = std::move(given.adj);
    grad.selection = std::move(given.selection);
  }
  if (grad.selection.size() == 0) grad.selection.setZero(out.selection.s.rows(), out.selection.s.cols());
  const Tensor wl = valid_rows(c.loss_weights.at("lift_x"), p, "", cmp);
  const Matrix<double> dlift = Eigen::Map<const Matrix<double>>(wl.data.data(), lifted.rows(), lifted.cols());
  Matrix<double> dx_pooled;
  lift.backward(out.selection, out.batch.x, dlift, dx_pooled, grad.selection);
  grad.x += dx_pooled;
  BatchGrad<double> din;
  ParameterSet<double> dparams = params.zeros_like();
  pool.backward(params, batch, out, cache, grad, din, dparams);
  cmp.matrix("grads.x", din.x, valid_rows(c.grad("x"), p, "grads.x", cmp), 1e-6, loose ? loose_tolerance : -1);
  compare_adj_grad(c, p, batch, din.adj, "grads.adj", cmp);
  compare_params(c, dparams, "", cmp, loose, loose_tolerance);
}

/// The scorer part of the options of a tgp dense pooler, from the case.
template <typename Options>
Options tgp_mlp_options(const Case& c) {
  Options o;
  o.k = static_cast<Index>(c.hyper_number("k", 0));
  o.hidden = mlp_hidden(c, "selector.mlp");
  if (!c.hyper_is_null("act")) throw std::runtime_error(c.file + ": only act=None (identity) is supported");
  if (c.hyper_number("dropout", 0.0) != 0.0) throw std::runtime_error(c.file + ": dropout is not supported");
  if (c.hyper_number("remove_self_loops", 1) == 0 || c.hyper_number("degree_norm", 1) == 0 ||
      c.hyper_number("edge_weight_norm", 0) != 0)
    throw std::runtime_error(c.file + ": only tgp's default DenseConnect post-processing is supported");
  o.normalization = c.hyper_number("adj_transpose", 1) != 0 ? SoftConnectNormalization::clamped_column_degree
                                                            : SoftConnectNormalization::clamped_row_degree;
  if (c.hyper_string("lift", "precomputed") != "precomputed" || c.hyper_string("s_inv_op", "transpose") != "transpose")
    throw std::runtime_error(c.file + ": only tgp's transpose lift is supported here");
  return o;
}

template <typename Pooler, typename Options>
void run_tgp_dense(const Case& c, Comparison& cmp, const Options& options) {
  const Padding p = padding_of(c);
  Batch<double> batch = unpadded_batch(c, p);
  ParameterSet<double> params;
  const Pooler pool(params, "", batch.x.cols(), options);
  c.load_params(params);
  check_tgp_dense_run(c, p, pool, params, batch, cmp);
}

void run_jb(const Case& c, Comparison& cmp) {
  auto o = tgp_mlp_options<JustBalancePoolOptions<double>>(c);
  o.balance_weight = c.hyper_number("loss_coeff", 1.0);
  o.balance.normalize = c.hyper_number("normalize_loss", 1.0) != 0.0;
  run_tgp_dense<JustBalancePool<double>>(c, cmp, o);
}

void run_acc(const Case& c, Comparison& cmp) {
  auto o = tgp_mlp_options<AsymCheegerCutPoolOptions<double>>(c);
  o.total_variation_weight = c.hyper_number("totvar_coeff", 1.0);
  o.balance_weight = c.hyper_number("balance_coeff", 1.0);
  run_tgp_dense<AsymCheegerCutPool<double>>(c, cmp, o);
}

void run_hosc(const Case& c, Comparison& cmp) {
  auto o = tgp_mlp_options<HOSCPoolOptions<double>>(c);
  o.ortho_weight = c.hyper_number("mu", 0.1);
  o.cut.alpha = c.hyper_number("alpha", 0.5);
  if (c.hyper_number("hosc_ortho", 0) != 0) throw std::runtime_error(c.file + ": hosc_ortho=True is not supported");
  run_tgp_dense<HOSCPool<double>>(c, cmp, o);
}

void run_lap(const Case& c, Comparison& cmp) {
  if (c.hyper_number("shortest_path_reg", 0) != 0)
    throw std::runtime_error(c.file + ": shortest_path_reg=True is not supported");
  if (c.hyper_number("remove_self_loops", 1) == 0 || c.hyper_number("degree_norm", 1) == 0 ||
      c.hyper_number("edge_weight_norm", 0) != 0)
    throw std::runtime_error(c.file + ": only tgp's default DenseConnect post-processing is supported");
  LaPoolOptions o;
  o.normalization = c.hyper_number("adj_transpose", 1) != 0 ? SoftConnectNormalization::clamped_column_degree
                                                            : SoftConnectNormalization::clamped_row_degree;
  run_tgp_dense<LaPool<double>>(c, cmp, o);
}

void run_bnpool(const Case& c, Comparison& cmp) {
  const Padding p = padding_of(c);
  Batch<double> batch = unpadded_batch(c, p);
  if (!c.hyper_is_null("act")) throw std::runtime_error(c.file + ": only act=None (identity) is supported");
  if (c.hyper_number("dropout", 0.0) != 0.0) throw std::runtime_error(c.file + ": dropout is not supported");
  if (!c.hyper_is_null("num_neg_samples")) throw std::runtime_error(c.file + ": negative sampling is not supported");
  if (c.hyper_number("remove_self_loops", 1) == 0 || c.hyper_number("degree_norm", 1) == 0 ||
      c.hyper_number("edge_weight_norm", 0) != 0)
    throw std::runtime_error(c.file + ": only tgp's default DenseConnect post-processing is supported");
  // The recorded Beta draw z (valid rows), replayed.
  const Tensor z = valid_rows(c.output("debug_z"), p, "", cmp);
  const Index sticks = c.output("debug_z").shape.back();
  const Matrix<double> samples = Eigen::Map<const Matrix<double>>(z.data.data(), z.size() / std::max<Index>(sticks, 1), sticks);
  BNPoolOptions<double> o;
  o.k = static_cast<Index>(c.hyper_number("k", 0));
  o.hidden = mlp_hidden(c, "selector.mlp");
  o.alpha_dp = c.hyper_number("alpha_DP", 1.0);
  o.k_var = c.hyper_number("K_var", 1.0);
  o.k_mu = c.hyper_number("K_mu", 10.0);
  o.k_init = c.hyper_number("K_init", 1.0);
  o.kl_weight = c.hyper_number("eta", 1.0);
  o.k_prior_weight = c.hyper_number("train_K", 1.0) != 0 ? 1.0 : 0.0;
  o.sampling.sampling = StickBreakingSampling::given;
  o.given_samples = &samples;
  o.normalization = c.hyper_number("adj_transpose", 1) != 0 ? SoftConnectNormalization::clamped_column_degree
                                                            : SoftConnectNormalization::clamped_row_degree;
  ParameterSet<double> params;
  const BNPool<double> pool(params, "", batch.x.cols(), o);
  c.load_params(params);
  // The Beta parameters tgp sampled from: a check of the MLP and the softplus / clamp.
  {
    typename BNPool<double>::Output out;
    typename BNPool<double>::Cache cache;
    pool.forward(params, batch, out, cache);
    cmp.matrix("debug_q_alpha", out.selection.alpha, valid_rows(c.output("debug_q_alpha"), p, "", cmp));
    cmp.matrix("debug_q_beta", out.selection.beta, valid_rows(c.output("debug_q_beta"), p, "", cmp));
  }
  check_tgp_dense_run(
      c, p, pool, params, batch, cmp, [](const std::string& name) { return name != "K"; }, beta_sample_gradient_tolerance);
}

const Register bnpool_registration({"bnpool"}, run_bnpool);
const Register lap_registration({"lap"}, run_lap);
const Register jb_registration({"jb"}, run_jb);
const Register acc_registration({"acc"}, run_acc);
const Register hosc_registration({"hosc"}, run_hosc);

const Register mincut_registration({"mincut"}, run_mincut);
const Register diffpool_registration({"diffpool"}, run_diffpool);
const Register dmon_registration({"dmon"}, run_dmon);

}  // namespace
}  // namespace gnnpool::conformance
