#ifndef GNNPOOL_SELECT_PAN_HPP
#define GNNPOOL_SELECT_PAN_HPP

/// \file
/// `PANSelect`: PAN pooling's selection (Ma et al., "Path Integral Based Convolution and Pooling
/// for Graph Neural Networks"; PyG `PANPooling`, tgp `PANPooling`): top-k on a learned
/// combination of the features and the MET matrix's node degree.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/numeric.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/segment_softmax.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/nn/activation.hpp>
#include <gnnpool/select/topk.hpp>

#include <cmath>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gnnpool {

/// Which structural quantity of the MET matrix M enters PAN's score.
enum class PANStructure {
  /// deg(M)_i = sum of the weights of the edges entering i (PyG / tgp: `scatter(value, col)`,
  /// the paper's deg(M)); the row sums of gnnpool's adjacency.
  in_degree,
  /// M_ii, the diagonal of M (the path-integral weight of staying at i); 0 where M stores none.
  diagonal,
};

/// Hyper-parameters of `PANSelect`: the top-k settings (ratio / k / min_score, tanh or
/// sigmoid, multiplier, node order) as for TopK, and the structural term.
struct PANOptions {
  TopKOptions topk{};
  PANStructure structure = PANStructure::in_degree;
};

/// PAN selection on the MET matrix M (the batch's adjacency).
///
/// Forward:  z_i = beta_0 <x_i, p> + beta_1 deg(M)_i  (or beta_1 M_ii);
///           ratio / k:  s = act(z) (tanh by default; no norm of p, unlike TopK);
///           min_score:  s = softmax over each graph of z (PyG), kept s_i > min(min_score,
///           max_g s - 1e-7). Kept set, node order and the `HardSelection` layout as TopKSelect
///           (PyG order: score descending, ties by lower node index); weight = s for every node.
/// Backward: dz from ds (act' or the softmax's Jacobian); dx_i += dz_i beta_0 p;
///           dp = beta_0 X^T dz; dbeta_0 = <dz, X p>; dbeta_1 = <dz, deg>; dM_e += dz_i beta_1 for
///           every stored entry e of row i (in_degree) or for M_ii (diagonal).
/// Parameters: `<prefix>.p` [1, F] and `<prefix>.beta` [1, 2] (PyG's / tgp's names). Both are
///   initialised to ones (PyG fills beta with 0.5; set it by name to reproduce that).
/// Cache: X p and deg (N each). Cost O(N F + E) plus the ranking.
/// Errors: feature width, options (as TopK), non-finite scores.
template <typename Scalar_>
class PANSelect {
 public:
  using Scalar = Scalar_;
  using Selection = HardSelection<Scalar>;

  struct Cache {
    Vector<Scalar> xp;         ///< X p^T
    Vector<Scalar> structure;  ///< deg(M) or diag(M)
  };

  PANSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features, PANOptions options = {})
      : m_in(in_features), m_options(std::move(options)) {
    GNNPOOL_CHECK(in_features >= 1, invalid_argument, "PANSelect '", prefix, "': in_features must be >= 1, got ",
                  in_features);
    check_topk_options(m_options.topk, "PANSelect");
    m_p = params.add(join_name(prefix, "p"), 1, in_features, Init::ones);
    m_beta = params.add(join_name(prefix, "beta"), 1, 2, Init::ones);
  }

  Index in_features() const { return m_in; }
  const PANOptions& options() const { return m_options; }
  void parameter_slots(std::vector<Index>& out) const {
    out.push_back(m_p);
    out.push_back(m_beta);
  }

  void forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    constexpr std::string_view layer = "PANSelect";
    check_features(in, m_in, layer);
    const Index n = in.num_nodes();
    const Matrix<Scalar>& beta = params[m_beta];
    cache.xp.noalias() = in.x * params[m_p].transpose();
    // One masked vector per short row (`row_sums`): no chained sum through structure[i] in
    // memory, no branch on the row length.
    if (m_options.structure == PANStructure::in_degree) {
      cache.structure = detail::row_sums(in.adj);
    } else {
      cache.structure.resize(n);
      const StorageIndex* outer = in.adj.outerIndexPtr();
      const StorageIndex* inner = in.adj.innerIndexPtr();
      const Scalar* val = in.adj.valuePtr();
      Scalar* structure = cache.structure.data();
      detail::parallel_rows(n, [&](Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i) {
          Scalar sum(0);
          for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) sum += inner[e] == i ? val[e] : Scalar(0);
          structure[i] = sum;
        }
      });
    }
    Vector<Scalar> score = beta(0, 0) * cache.xp + beta(0, 1) * cache.structure;
    if (!detail::all_finite(score))  // one vectorised pass; the loop below names the node
      for (Index i = 0; i < n; ++i)
        GNNPOOL_CHECK(std::isfinite(score[i]), invalid_argument, layer, ": the score of node ", i,
                      " is not finite (its features, its edge weights or the weights hold a NaN or an infinity)");
    if (m_options.topk.min_score) {
      detail::segment_softmax(score.data(), score.data(), in.offsets.data(), in.num_graphs(),
                              static_cast<Scalar>(pyg_constants::softmax_denominator_eps));
    } else {
      Matrix<Scalar> s;
      activation_forward<Scalar>(m_options.topk.nonlinearity, Matrix<Scalar>(score), s);
      score = s.col(0);
    }
    detail::rank_and_select(score, in.offsets, m_options.topk, sel);
  }

  /// Adds dL/dX into din.x and dL/dM into din.adj; assigns dL/dp and dL/dbeta.
  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const Selection& sel,
                const Cache& cache, const Vector<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Index n = in.num_nodes();
    GNNPOOL_CHECK(dsel.size() == n && cache.xp.size() == n && sel.weight.size() == n, shape_error,
                  "PANSelect: the selection gradient has ", dsel.size(), " entries and the cache ", cache.xp.size(),
                  " for a batch of ", n, " nodes (backward needs the cache of the same forward)");
    Vector<Scalar> dz;
    if (m_options.topk.min_score) {
      dz = dsel;
      detail::segment_softmax_backward(sel.weight.data(), dz.data(), dz.data(), in.offsets.data(), in.num_graphs());
    } else {
      Matrix<Scalar> d;
      const Matrix<Scalar> s = sel.weight;
      const Matrix<Scalar> z = s;  // tanh / sigmoid' read the output only
      activation_backward<Scalar>(m_options.topk.nonlinearity, z, s, Matrix<Scalar>(dsel), d);
      dz = d.col(0);
    }
    GNNPOOL_CHECK(din.x.rows() == n && din.x.cols() == in.x.cols(), shape_error, "PANSelect: din.x is ",
                  detail::shape(din.x.rows(), din.x.cols()), ", expected ", detail::shape(n, in.x.cols()));
    GNNPOOL_CHECK(!din.adj_needed || din.adj.size() == in.adj.nonZeros(), shape_error, "PANSelect: din.adj has ",
                  din.adj.size(), " entries but the adjacency stores ", in.adj.nonZeros());
    const Matrix<Scalar>& beta = params[m_beta];
    din.x.noalias() += (beta(0, 0) * dz) * params[m_p];
    dparams[m_p].noalias() = beta(0, 0) * (dz.transpose() * in.x);
    dparams[m_beta].resize(1, 2);
    dparams[m_beta](0, 0) = dz.dot(cache.xp);
    dparams[m_beta](0, 1) = dz.dot(cache.structure);
    if (!din.adj_needed) return;
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar b1 = beta(0, 1);
    Scalar* dadj = din.adj.data();
    // Every entry of row i (in_degree) or its diagonal entry only; rows are disjoint, so the
    // chunks write disjoint entries.
    if (m_options.structure == PANStructure::in_degree) {
      detail::parallel_rows(n, [&](Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i) {
          const Scalar g = dz[i] * b1;
          for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e) dadj[e] += g;
        }
      });
    } else {
      detail::parallel_rows(n, [&](Index lo, Index hi) {
        for (Index i = lo; i < hi; ++i)
          for (StorageIndex e = outer[i]; e < outer[i + 1]; ++e)
            if (inner[e] == i) dadj[e] += dz[i] * b1;
      });
    }
  }

 private:
  Index m_in;
  PANOptions m_options;
  Index m_p = -1, m_beta = -1;
};

}  // namespace gnnpool

#endif
