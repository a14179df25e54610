#ifndef GNNPOOL_TESTS_POOL_TEST_POLICIES_HPP
#define GNNPOOL_TESTS_POOL_TEST_POLICIES_HPP

// Small custom SRC policies, written the way a user writes one (docs/concepts.md quotes them):
// they exercise `Pool` and the concepts of gnnpool/core/concepts.hpp independently of the
// library's own poolers. Hard: EveryOtherSelect + ScaledGatherReduce + KeptEdgesConnect
// (+ EdgeAgreementLoss). Soft: SoftmaxSelect + SoftSumReduce + SoftQuadraticConnect.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>

#include <string_view>
#include <vector>

namespace example {

using gnnpool::Batch;
using gnnpool::BatchGrad;
using gnnpool::Index;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SparseMatrix;
using gnnpool::StorageIndex;
using gnnpool::Vector;

/// Select: keeps nodes 0, 2, 4, ... of every graph, each with the learnable weight
/// w_i = tanh(x_i . p), p: `<prefix>.weight` [1, F].
/// Backward: dz_i = dw_i (1 - w_i^2); dX += dz p (adds); dp = dz^T X (assigns).
template <typename Scalar_>
class EveryOtherSelect {
 public:
  using Scalar = Scalar_;
  using Selection = gnnpool::HardSelection<Scalar>;
  struct Cache {};  // the weights backward needs are in the selection itself

  EveryOtherSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features)
      : m_in(in_features),
        m_p(params.add(gnnpool::join_name(prefix, "weight"), 1, in_features, gnnpool::Init::glorot)) {}

  void parameter_slots(std::vector<gnnpool::Index>& out) const { out.push_back(m_p); }

  void forward(const ParameterSet<Scalar>& params, const gnnpool::BatchRef<Scalar>& in, Selection& sel, Cache&) const {
    gnnpool::check_features(in, m_in, "EveryOtherSelect");
    sel.assignment.assign(static_cast<std::size_t>(in.num_nodes()), Selection::dropped);
    sel.representative.clear();
    sel.offsets.assign(1, 0);
    for (Index b = 0; b < in.num_graphs(); ++b) {
      for (Index i = in.graph_begin(b); i < in.graph_begin(b + 1); i += 2) {
        sel.assignment[static_cast<std::size_t>(i)] = sel.num_supernodes();
        sel.representative.push_back(i);
      }
      sel.offsets.push_back(sel.num_supernodes());
    }
    sel.weight = (in.x * params[m_p].transpose()).array().tanh();
  }

  void backward(const ParameterSet<Scalar>& params, const gnnpool::BatchRef<Scalar>& in, const Selection& sel,
                const Cache&, const Vector<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Vector<Scalar> dz = (dsel.array() * (Scalar(1) - sel.weight.array().square())).matrix();
    din.x.noalias() += dz * params[m_p];
    dparams[m_p].noalias() = dz.transpose() * in.x;
  }

 private:
  Index m_in;
  Index m_p;
};

/// Reduce: x'_s = w_r x_r for the representative r of supernode s.
/// Backward: dx_r += w_r dx'_s; dw_r += dx'_s . x_r.
template <typename Scalar_>
class ScaledGatherReduce {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  void forward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::HardSelection<Scalar>& sel, Matrix<Scalar>& x_out,
               Cache&) const {
    x_out.resize(sel.num_supernodes(), in.x.cols());
    for (Index s = 0; s < sel.num_supernodes(); ++s) {
      const Index r = sel.representative[static_cast<std::size_t>(s)];
      x_out.row(s) = sel.weight[r] * in.x.row(r);
    }
  }

  void backward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::HardSelection<Scalar>& sel, const Cache&,
                const gnnpool::ConstMatrixRef<Scalar>& dx_out, BatchGrad<Scalar>& din, Vector<Scalar>& dsel) const {
    for (Index s = 0; s < sel.num_supernodes(); ++s) {
      const Index r = sel.representative[static_cast<std::size_t>(s)];
      din.x.row(r) += sel.weight[r] * dx_out.row(s);
      dsel[r] += dx_out.row(s).dot(in.x.row(r));
    }
  }
};

/// Connect: the subgraph induced by the kept nodes, weights unchanged: A'(s, t) = A(r_s, r_t).
/// Backward: every kept entry passes its gradient to the entry of A it came from.
/// Cache: for each stored entry of A', the position of its source entry in A.
template <typename Scalar_>
class KeptEdgesConnect {
 public:
  using Scalar = Scalar_;
  struct Cache {
    std::vector<StorageIndex> source;
  };

  void forward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::HardSelection<Scalar>& sel,
               SparseMatrix<Scalar>& adj_out, Cache& cache) const {
    const Index m = sel.num_supernodes();
    std::vector<StorageIndex> outer(static_cast<std::size_t>(m) + 1, 0), inner;
    std::vector<Scalar> values;
    cache.source.clear();
    for (Index s = 0; s < m; ++s) {
      const Index r = sel.representative[static_cast<std::size_t>(s)];
      for (StorageIndex p = in.adj.outerIndexPtr()[r]; p < in.adj.outerIndexPtr()[r + 1]; ++p) {
        const Index t = sel.assignment[static_cast<std::size_t>(in.adj.innerIndexPtr()[p])];
        if (t == gnnpool::HardSelection<Scalar>::dropped) continue;
        inner.push_back(static_cast<StorageIndex>(t));  // sorted: supernodes follow node order
        values.push_back(in.adj.valuePtr()[p]);
        cache.source.push_back(p);
      }
      outer[static_cast<std::size_t>(s) + 1] = static_cast<StorageIndex>(inner.size());
    }
    adj_out = Eigen::Map<const SparseMatrix<Scalar>>(m, m, static_cast<Index>(inner.size()), outer.data(),
                                                     inner.data(), values.data());
  }

  void backward(const gnnpool::BatchRef<Scalar>&, const gnnpool::HardSelection<Scalar>&, const Cache& cache,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din, Vector<Scalar>&) const {
    for (std::size_t q = 0; q < cache.source.size(); ++q)
      din.adj[cache.source[q]] += dadj_out[static_cast<Index>(q)];
  }
};

/// Auxiliary loss: l = sum over stored entries of A_ij w_i w_j (reads both A and the selection).
/// Backward: dA_ij += g w_i w_j; dw_i += g A_ij w_j; dw_j += g A_ij w_i.
template <typename Scalar_>
class EdgeAgreementLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  explicit EdgeAgreementLoss(Scalar weight) : m_weight(weight) {}
  std::string_view name() const { return "edge_agreement"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::HardSelection<Scalar>& sel, Cache&) const {
    Scalar l(0);
    for (Index i = 0; i < in.adj.outerSize(); ++i)
      for (typename SparseMatrix<Scalar>::InnerIterator it(in.adj, i); it; ++it)
        l += it.value() * sel.weight[i] * sel.weight[it.col()];
    return l;
  }

  void backward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::HardSelection<Scalar>& sel, const Cache&, Scalar dloss,
                BatchGrad<Scalar>& din, Vector<Scalar>& dsel) const {
    for (Index i = 0; i < in.adj.outerSize(); ++i)
      for (StorageIndex p = in.adj.outerIndexPtr()[i]; p < in.adj.outerIndexPtr()[i + 1]; ++p) {
        const Index j = in.adj.innerIndexPtr()[p];
        const Scalar a = in.adj.valuePtr()[p];
        din.adj[p] += dloss * sel.weight[i] * sel.weight[j];
        dsel[i] += dloss * a * sel.weight[j];
        dsel[j] += dloss * a * sel.weight[i];
      }
  }

 private:
  Scalar m_weight;
};

/// Soft select: S = softmax(X W^T) row by row, K clusters, W: `<prefix>.weight` [K, F].
/// Backward: dZ = S .* (dS - rowsum(dS .* S)); dX += dZ W; dW = dZ^T X.
template <typename Scalar_>
class SoftmaxSelect {
 public:
  using Scalar = Scalar_;
  using Selection = gnnpool::SoftSelection<Scalar>;
  struct Cache {};

  SoftmaxSelect(ParameterSet<Scalar>& params, std::string_view prefix, Index in_features, Index clusters)
      : m_w(params.add(gnnpool::join_name(prefix, "weight"), clusters, in_features, gnnpool::Init::glorot)) {}

  void parameter_slots(std::vector<gnnpool::Index>& out) const { out.push_back(m_w); }

  void forward(const ParameterSet<Scalar>& params, const gnnpool::BatchRef<Scalar>& in, Selection& sel, Cache&) const {
    sel.s.noalias() = in.x * params[m_w].transpose();
    for (Index i = 0; i < sel.s.rows(); ++i) {
      sel.s.row(i) = (sel.s.row(i).array() - sel.s.row(i).maxCoeff()).exp();
      sel.s.row(i) /= sel.s.row(i).sum();
    }
    sel.offsets = in.offsets;
  }

  void backward(const ParameterSet<Scalar>& params, const gnnpool::BatchRef<Scalar>& in, const Selection& sel,
                const Cache&, const Matrix<Scalar>& dsel, BatchGrad<Scalar>& din,
                ParameterSet<Scalar>& dparams) const {
    const Vector<Scalar> inner = (dsel.array() * sel.s.array()).rowwise().sum();
    const Matrix<Scalar> dz = (sel.s.array() * (dsel.array().colwise() - inner.array())).matrix();
    din.x.noalias() += dz * params[m_w];
    dparams[m_w].noalias() = dz.transpose() * in.x;
  }

 private:
  Index m_w;
};

/// Soft reduce: X'_b = S_b^T X_b per graph (K rows per graph).
/// Backward: dX_b += S_b dX'_b; dS_b += X_b dX'_b^T.
template <typename Scalar_>
class SoftSumReduce {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  void forward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::SoftSelection<Scalar>& sel, Matrix<Scalar>& x_out,
               Cache&) const {
    const Index k = sel.num_clusters();
    x_out.resize(sel.num_supernodes(), in.x.cols());
    for (Index b = 0; b < in.num_graphs(); ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      x_out.middleRows(b * k, k).noalias() = sel.s.middleRows(lo, n).transpose() * in.x.middleRows(lo, n);
    }
  }

  void backward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::SoftSelection<Scalar>& sel, const Cache&,
                const gnnpool::ConstMatrixRef<Scalar>& dx_out, BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    const Index k = sel.num_clusters();
    for (Index b = 0; b < in.num_graphs(); ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      din.x.middleRows(lo, n).noalias() += sel.s.middleRows(lo, n) * dx_out.middleRows(b * k, k);
      dsel.middleRows(lo, n).noalias() += in.x.middleRows(lo, n) * dx_out.middleRows(b * k, k).transpose();
    }
  }
};

/// Soft connect: A'_b = S_b^T A_b S_b, stored as a dense K x K block per graph (all entries).
/// Backward: dS_b += A_b S_b dA'^T + A_b^T S_b dA'; dA_ij += s_i dA' s_j^T on stored entries.
template <typename Scalar_>
class SoftQuadraticConnect {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  void forward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::SoftSelection<Scalar>& sel,
               SparseMatrix<Scalar>& adj_out, Cache&) const {
    const Index k = sel.num_clusters(), m = sel.num_supernodes();
    std::vector<Eigen::Triplet<Scalar, StorageIndex>> entries;
    for (Index b = 0; b < in.num_graphs(); ++b) {
      const Matrix<Scalar> block = block_product(in, sel, b);
      for (Index r = 0; r < k; ++r)
        for (Index c = 0; c < k; ++c)
          entries.emplace_back(static_cast<StorageIndex>(b * k + r), static_cast<StorageIndex>(b * k + c), block(r, c));
    }
    adj_out.resize(m, m);
    adj_out.setFromTriplets(entries.begin(), entries.end());
  }

  void backward(const gnnpool::BatchRef<Scalar>& in, const gnnpool::SoftSelection<Scalar>& sel, const Cache&,
                const Vector<Scalar>& dadj_out, BatchGrad<Scalar>& din, Matrix<Scalar>& dsel) const {
    const Index k = sel.num_clusters();
    for (Index b = 0; b < in.num_graphs(); ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      // Block b's K*K stored entries are consecutive and row-major (CSR order of the output).
      const Eigen::Map<const Matrix<Scalar>> g(dadj_out.data() + b * k * k, k, k);
      const auto s = sel.s.middleRows(lo, n);
      const Matrix<Scalar> as = in.adj.middleRows(lo, n) * sel.s;  // A_b S_b
      const Matrix<Scalar> sta = s.transpose() * in.adj.middleRows(lo, n);  // (A_b^T S_b)^T, K x N
      const Matrix<Scalar> ats = sta.middleCols(lo, n).transpose();
      dsel.middleRows(lo, n).noalias() += as * g.transpose() + ats * g;
      const Matrix<Scalar> sg = s * g;  // row i: s_i dA'
      for (Index i = lo; i < lo + n; ++i)
        for (StorageIndex p = in.adj.outerIndexPtr()[i]; p < in.adj.outerIndexPtr()[i + 1]; ++p)
          din.adj[p] += sg.row(i - lo).dot(sel.s.row(in.adj.innerIndexPtr()[p]));
    }
  }

 private:
  static Matrix<Scalar> block_product(const gnnpool::BatchRef<Scalar>& in, const gnnpool::SoftSelection<Scalar>& sel, Index b) {
    const Index lo = in.graph_begin(b), n = in.graph_size(b);
    const Matrix<Scalar> as = in.adj.middleRows(lo, n) * sel.s;  // columns outside the block are 0
    return sel.s.middleRows(lo, n).transpose() * as;
  }
};

}  // namespace example

#endif
