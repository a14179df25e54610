#ifndef GNNPOOL_SELECT_NMF_HPP
#define GNNPOOL_SELECT_NMF_HPP

/// \file
/// `NMFSelect`: the assignment of NMF pooling (Bacciu & Di Sotto, "A non-negative factorization
/// approach to node pooling in graph convolutional neural networks", 2019; tgp's `NMFSelect`):
/// S = softmax(H^T) for a non-negative factorisation A ≈ W H of every graph's adjacency, computed
/// by gnnpool's own deterministic, sparse solver (`nmf_factorize`).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/nn/softmax.hpp>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <vector>

namespace gnnpool {

/// The iteration and stopping rule of `nmf_factorize`.
struct NMFOptions {
  /// Sweeps of HALS (one update of H and one of W) at most, per start.
  Index max_iterations = 1000;
  /// Stop when a sweep lowers the objective by less than tolerance times the objective after the
  /// initialisation: f_{t-1} - f_t <= tolerance f_0.
  double tolerance = 1e-9;
  /// Subspace-iteration steps of the NNDSVD initialisation (top-k eigenvectors of A).
  Index power_iterations = 50;
  /// Starts: NNDSVD, then NNDSVDa (its zeros filled with sqrt(mean(A) / k)), then fixed
  /// pseudo-random starts |N(0, 1)|-like values scaled by sqrt(mean(A) / k) from the counter-based
  /// stream (seed = the start's number); the factors of lowest objective are kept.
  Index restarts = 4;
};

/// The factors of one graph: A ≈ W H, W and H^T both n x k.
template <typename Scalar>
struct NMFFactors {
  Matrix<Scalar> w;   ///< n x k
  Matrix<Scalar> ht;  ///< n x k (H transposed)
  Scalar objective = 0;  ///< |A - W H|_F^2
  Index iterations = 0;
};

namespace detail {

/// y += A_b x for graph b's diagonal block (rows / columns lo .. lo + n of the batch's CSR, with
/// A's negative entries read as 0), x and y n x k row-major (local rows).
template <typename Scalar>
void block_product(const SparseMatrix<Scalar>& a, Index lo, Index n, const Matrix<Scalar>& x, Matrix<Scalar>& y,
                   bool transposed) {
  const StorageIndex* outer = a.outerIndexPtr();
  const StorageIndex* inner = a.innerIndexPtr();
  const Scalar* val = a.valuePtr();
  for (Index i = 0; i < n; ++i)
    for (StorageIndex p = outer[lo + i]; p < outer[lo + i + 1]; ++p) {
      const Scalar v = std::max(val[p], Scalar(0));
      const Index j = Index(inner[p]) - lo;
      if (transposed) y.row(j) += v * x.row(i);
      else y.row(i) += v * x.row(j);
    }
}

/// A uniform in [0, 1) from (seed, index): splitmix64, for NMF's fixed pseudo-random starts.
inline double nmf_uniform(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + index * 0xBF58476D1CE4E5B9ULL + 0x94D049BB133111EBULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return static_cast<double>(x >> 11) * 0x1.0p-53;
}

/// |A_b|_F^2 over the block (negative entries read as 0).
template <typename Scalar>
Scalar block_squared_norm(const SparseMatrix<Scalar>& a, Index lo, Index n) {
  const StorageIndex* outer = a.outerIndexPtr();
  const Scalar* val = a.valuePtr();
  Scalar s(0);
  for (StorageIndex p = outer[lo]; p < outer[lo + n]; ++p) s += std::max(val[p], Scalar(0)) * std::max(val[p], Scalar(0));
  return s;
}

}  // namespace detail

/// Deterministic non-negative factorisation of graph b's block of `a` (negative weights read as
/// 0, tgp's clamp), min |A - W H|_F^2 over W, H >= 0 with k components, sparse throughout.
///
/// Initialisation (NNDSVD, Boutsidis & Gallopoulos 2008, with no random draw): the k eigenpairs
/// of A (symmetric graphs; A^T A's for a directed one would differ) of largest |lambda| by
/// subspace iteration from fixed cosine vectors (`power_iterations` steps, then Rayleigh-Ritz),
/// each split into its positive and negative parts, the dominant part scaled by sqrt(|lambda|).
/// Iteration: HALS (the coordinate descent of scikit-learn's "cd" solver: each column of H, then
/// each of W, set to its non-negative least-squares optimum with the others fixed), until a sweep
/// lowers the objective by less than `tolerance` f_0 or after `max_iterations` sweeps; from
/// `restarts` fixed starts (NNDSVD, NNDSVDa, then fixed pseudo-random ones), the best kept.
/// Cost per sweep O(E_b k + n k^2); memory O(n k). Deterministic: the same graph gives the same
/// factors on every machine with the same floating-point evaluation.
template <typename Scalar>
NMFFactors<Scalar> nmf_factorize(const SparseMatrix<Scalar>& a, Index lo, Index n, Index k, const NMFOptions& options = {}) {
  GNNPOOL_CHECK(k >= 1 && k <= std::max<Index>(n, 1), invalid_argument, "nmf_factorize: k = ", k,
                " components for a graph of ", n, " nodes");
  NMFFactors<Scalar> f;
  f.w.setZero(n, k);
  f.ht.setZero(n, k);
  if (n == 0) return f;
  // NNDSVD start from the top-k eigenpairs.
  Matrix<Scalar> q(n, k), aq(n, k);
  for (Index i = 0; i < n; ++i)
    for (Index r = 0; r < k; ++r)
      q(i, r) = static_cast<Scalar>(std::cos(std::numbers::pi * static_cast<double>(r) *
                                             (static_cast<double>(i) + 0.5) / static_cast<double>(n)));
  using Dense = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;
  auto orthonormalize = [&](Matrix<Scalar>& m) {
    const Eigen::HouseholderQR<Dense> qr{Dense(m)};
    m = (qr.householderQ() * Dense::Identity(n, k));
  };
  orthonormalize(q);
  for (Index t = 0; t < options.power_iterations; ++t) {
    aq.setZero(n, k);
    detail::block_product(a, lo, n, q, aq, false);
    if (aq.squaredNorm() == Scalar(0)) break;  // A = 0: nothing to factorise
    q = aq;
    orthonormalize(q);
  }
  aq.setZero(n, k);
  detail::block_product(a, lo, n, q, aq, false);
  const Dense t = Dense(q.transpose() * aq);
  const Eigen::SelfAdjointEigenSolver<Dense> eig(Dense((t + t.transpose()) / Scalar(2)));
  const Dense u = Dense(q) * eig.eigenvectors();
  std::vector<Index> order(static_cast<std::size_t>(k));
  for (Index r = 0; r < k; ++r) order[static_cast<std::size_t>(r)] = r;
  std::stable_sort(order.begin(), order.end(), [&](Index x, Index y) {
    return std::abs(eig.eigenvalues()[x]) > std::abs(eig.eigenvalues()[y]);
  });
  Matrix<Scalar> w0 = Matrix<Scalar>::Zero(n, k), h0 = Matrix<Scalar>::Zero(n, k);
  for (Index r = 0; r < k; ++r) {
    const Index c = order[static_cast<std::size_t>(r)];
    const Scalar lambda = eig.eigenvalues()[c];
    const auto x = u.col(c);
    // A = sum lambda u u^T: the right factor is u for lambda > 0 and -u for lambda < 0.
    const Eigen::Matrix<Scalar, Eigen::Dynamic, 1> y = lambda >= Scalar(0) ? Dense(x) : Dense(-x);
    const Eigen::Matrix<Scalar, Eigen::Dynamic, 1> xp = x.cwiseMax(Scalar(0)), xn = (-x).cwiseMax(Scalar(0));
    const Eigen::Matrix<Scalar, Eigen::Dynamic, 1> yp = y.cwiseMax(Scalar(0)), yn = (-y).cwiseMax(Scalar(0));
    const Scalar mp = xp.norm() * yp.norm(), mn = xn.norm() * yn.norm();
    const bool positive = mp >= mn;
    const Scalar m = positive ? mp : mn;
    if (m == Scalar(0)) continue;
    const Scalar scale = std::sqrt(std::abs(lambda) * m);
    w0.col(r) = scale * (positive ? Dense(xp / xp.norm()) : Dense(xn / xn.norm()));
    h0.col(r) = scale * (positive ? Dense(yp / yp.norm()) : Dense(yn / yn.norm()));
  }
  // HALS sweeps.
  const Scalar norm_a = detail::block_squared_norm(a, lo, n);
  Scalar total(0);  // sum of A's (non-negative) entries: the starts' scale sqrt(mean(A) / k), sklearn's
  for (StorageIndex e = a.outerIndexPtr()[lo]; e < a.outerIndexPtr()[lo + n]; ++e) total += std::max(a.valuePtr()[e], Scalar(0));
  const Scalar fill = std::sqrt(total / (static_cast<Scalar>(n) * static_cast<Scalar>(n) * static_cast<Scalar>(k)));
  Matrix<Scalar> p(n, k), gram(k, k);
  NMFFactors<Scalar> cur;
  auto objective = [&]() {
    p.setZero(n, k);
    detail::block_product(a, lo, n, cur.ht, p, false);  // A H^T
    const Scalar cross = cur.w.cwiseProduct(p).sum();
    const Dense ww = Dense(cur.w.transpose() * cur.w), hh = Dense(cur.ht.transpose() * cur.ht);
    return std::max(norm_a - Scalar(2) * cross + ww.cwiseProduct(hh).sum(), Scalar(0));
  };
  // One HALS pass on `fac` (n x k) with `other` fixed: fac_r <- max(0, fac_r + (P_r - fac G_r) / G_rr),
  // P = A other (or A^T other), G = other^T other.
  auto update = [&](Matrix<Scalar>& fac, const Matrix<Scalar>& other, bool transposed) {
    p.setZero(n, k);
    detail::block_product(a, lo, n, other, p, transposed);
    gram.noalias() = other.transpose() * other;
    for (Index r = 0; r < k; ++r) {
      if (gram(r, r) <= Scalar(0)) continue;
      const Eigen::Matrix<Scalar, Eigen::Dynamic, 1> col = (p.col(r) - fac * gram.col(r)) / gram(r, r);
      fac.col(r) = (fac.col(r) + col).cwiseMax(Scalar(0));
    }
  };
  const Scalar tol = static_cast<Scalar>(options.tolerance);
  f.objective = std::numeric_limits<Scalar>::infinity();
  for (Index start = 0; start < std::max<Index>(options.restarts, 1); ++start) {
    cur.w = w0;
    cur.ht = h0;
    if (start == 1) {  // NNDSVDa
      for (Index e = 0; e < cur.w.size(); ++e) {
        if (cur.w.data()[e] == Scalar(0)) cur.w.data()[e] = fill;
        if (cur.ht.data()[e] == Scalar(0)) cur.ht.data()[e] = fill;
      }
    } else if (start >= 2) {
      for (Index e = 0; e < cur.w.size(); ++e) {
        cur.w.data()[e] = fill * static_cast<Scalar>(2 * detail::nmf_uniform(static_cast<std::uint64_t>(start), 2 * static_cast<std::uint64_t>(e)));
        cur.ht.data()[e] = fill * static_cast<Scalar>(2 * detail::nmf_uniform(static_cast<std::uint64_t>(start), 2 * static_cast<std::uint64_t>(e) + 1));
      }
    }
    const Scalar f0 = objective();
    Scalar previous = f0;
    cur.iterations = 0;
    while (cur.iterations < options.max_iterations) {
      update(cur.ht, cur.w, /*transposed=*/true);   // H: (W^T A)^T = A^T W
      update(cur.w, cur.ht, /*transposed=*/false);  // W: A H^T
      ++cur.iterations;
      const Scalar current = objective();
      const bool done = previous - current <= tol * f0;
      previous = current;
      if (done) break;
    }
    cur.objective = previous;
    if (cur.objective < f.objective) f = cur;
  }
  return f;
}

/// The selection of NMF pooling, tgp's `NMFSelect` (no parameters, features not read), per graph
/// b with n_b nodes and k_b = max(1, min(K, n_b)) components:
///
///   k_b = 1:           S_b = ones(n_b, 1);
///   k_b >= n_b > 1:    S_b = I (every node its own cluster);
///   otherwise:         A_b ≈ W H (`nmf_factorize`), S_b = softmax(H^T) row by row (n_b x k_b);
///
/// then padded with zero columns to K (tgp's batched layout: graph b owns supernodes
/// b K .. (b + 1) K, the last K - k_b of them empty). S does not depend on x or on the
/// parameters, and no gradient flows through it (tgp's S is a numpy constant): backward does
/// nothing. Feature-independent, so it can be computed once per graph and replayed with
/// `PrecomputedSoftSelect`. Cost: `nmf_factorize` per graph. Thread-safe (const).
template <typename Scalar_>
class NMFSelect {
 public:
  using Scalar = Scalar_;
  using Selection = SoftSelection<Scalar>;
  struct Cache {
    std::vector<Index> iterations;  ///< HALS sweeps per graph (0 for the special cases)
    std::vector<Scalar> objective;  ///< |A_b - W H|_F^2 per graph
  };

  explicit NMFSelect(Index k, NMFOptions options = {}) : m_k(k), m_options(options) {
    GNNPOOL_CHECK(k >= 1, invalid_argument, "NMFSelect: k must be >= 1, got ", k);
    GNNPOOL_CHECK(options.max_iterations >= 0 && options.power_iterations >= 0 && options.tolerance >= 0,
                  invalid_argument, "NMFSelect: iteration counts and tolerance must be >= 0");
  }
  Index num_clusters() const { return m_k; }
  const NMFOptions& options() const { return m_options; }
  void parameter_slots(std::vector<Index>& /*out*/) const {}

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Selection& sel, Cache& cache) const {
    const Index nb = in.num_graphs();
    sel.s.setZero(in.num_nodes(), m_k);
    sel.offsets = in.offsets;
    cache.iterations.assign(static_cast<std::size_t>(nb), 0);
    cache.objective.assign(static_cast<std::size_t>(nb), Scalar(0));
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      const Index kb = std::max<Index>(1, std::min(m_k, n));
      if (n == 0) continue;
      if (kb == 1) {
        sel.s.block(lo, 0, n, 1).setOnes();
      } else if (kb >= n) {
        sel.s.block(lo, 0, n, n).setIdentity();
      } else {
        const NMFFactors<Scalar> f = nmf_factorize(in.adj, lo, n, kb, m_options);
        cache.iterations[static_cast<std::size_t>(b)] = f.iterations;
        cache.objective[static_cast<std::size_t>(b)] = f.objective;
        Matrix<Scalar> s;
        row_softmax<Scalar>(f.ht, s, "NMFSelect");
        sel.s.block(lo, 0, n, kb) = s;
      }
    }
  }

  /// S is a constant of (A's pattern and values, read as data): nothing to add.
  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& /*in*/, const Selection& /*sel*/,
                const Cache& /*cache*/, const Matrix<Scalar>& /*dsel*/, BatchGrad<Scalar>& /*din*/,
                ParameterSet<Scalar>& /*dparams*/) const {}

 private:
  Index m_k;
  NMFOptions m_options;
};

}  // namespace gnnpool

#endif
