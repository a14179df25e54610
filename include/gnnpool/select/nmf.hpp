#ifndef GNNPOOL_SELECT_NMF_HPP
#define GNNPOOL_SELECT_NMF_HPP

/// \file
/// `NMFSelect`: the assignment of NMF pooling (Bacciu & Di Sotto, "A non-negative factorization
/// approach to node pooling in graph convolutional neural networks", 2019; tgp's `NMFSelect`):
/// S = softmax(H^T) for a non-negative factorisation A ≈ W H of every graph's adjacency, computed
/// by gnnpool's own deterministic, sparse solver (`nmf_factorize`).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/hash.hpp>
#include <gnnpool/detail/propagate.hpp>
#include <gnnpool/nn/softmax.hpp>

#include <Eigen/Eigenvalues>
#include <Eigen/QR>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
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

/// Graph b's diagonal block of `a` (rows and columns lo .. lo + n) as its own n x n CSR, with
/// A's negative entries read as 0 (tgp's clamp). O(n + E_b).
template <typename Scalar>
SparseMatrix<Scalar> nonnegative_block(const SparseMatrix<Scalar>& a, Index lo, Index n) {
  const StorageIndex* outer = a.outerIndexPtr();
  const StorageIndex* inner = a.innerIndexPtr();
  const Scalar* val = a.valuePtr();
  const StorageIndex base = outer[lo];
  SparseMatrix<Scalar> m(n, n);
  m.resizeNonZeros(Index(outer[lo + n] - base));
  for (Index i = 0; i <= n; ++i) m.outerIndexPtr()[i] = outer[lo + i] - base;
  for (StorageIndex e = 0; e < outer[lo + n] - base; ++e) {
    m.innerIndexPtr()[e] = inner[base + e] - static_cast<StorageIndex>(lo);
    m.valuePtr()[e] = std::max(val[base + e], Scalar(0));
  }
  return m;
}

/// pr = M x (its first k columns) for a column-major n x k block x (HALS updates columns),
/// through a row-major copy xr padded with zero columns to a multiple of 16: the gather
/// `propagate` then adds whole vector registers per stored entry for every k (a row narrower
/// than 16 would take its scalar path), where a product on the column-major block adds one value
/// per entry in a chain of dependent additions (4x slower at k = 25). O(E k + n k).
template <typename Scalar, typename Dense>
void nmf_product(const SparseMatrix<Scalar>& m, const Dense& x, Matrix<Scalar>& xr, Matrix<Scalar>& pr) {
  const Index k = x.cols(), padded = (k + 15) / 16 * 16;
  if (xr.rows() != x.rows() || xr.cols() != padded) xr.setZero(x.rows(), padded);
  xr.leftCols(k) = x;
  propagate<Scalar>(m, m.valuePtr(), nullptr, xr, pr);
}

/// A uniform in [0, 1) from (seed, index), for NMF's fixed pseudo-random starts: mix64 of a
/// linear mix (mix64 adds the golden-ratio increment back, so the stream is the one NMF has
/// always drawn).
inline double nmf_uniform(std::uint64_t seed, std::uint64_t index) {
  return unit_double(mix64(seed * 0x9E3779B97F4A7C15ULL + index * 0xBF58476D1CE4E5B9ULL +
                           (0x94D049BB133111EBULL - 0x9E3779B97F4A7C15ULL)));
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
/// `restarts` fixed starts (NNDSVD, NNDSVDa, then fixed pseudo-random ones), the best kept (the
/// first of equal ones).
///
/// A sweep takes two sparse products (A^T W for H, A H^T for W) and two Gram matrices (W^T W,
/// H H^T), and nothing else: the objective after it is |A|^2 - 2 <W, A H^T> + <W^T W, H H^T>
/// from those four, and W^T W is also the next sweep's Gram for H. Cost per sweep
/// O(E_b k + n k^2); memory O(n k) per running start plus the best finished one. The starts run
/// in parallel (OpenMP, when not already inside a parallel region); each is computed alone and
/// the pick depends on the objectives and start numbers only, so the result does not depend on
/// the number of threads. Deterministic: the same graph gives the same factors on every machine
/// with the same floating-point evaluation.
template <typename Scalar>
NMFFactors<Scalar> nmf_factorize(const SparseMatrix<Scalar>& a, Index lo, Index n, Index k, const NMFOptions& options = {}) {
  GNNPOOL_CHECK(k >= 1 && k <= std::max<Index>(n, 1), invalid_argument, "nmf_factorize: k = ", k,
                " components for a graph of ", n, " nodes");
  NMFFactors<Scalar> f;
  f.w.setZero(n, k);
  f.ht.setZero(n, k);
  if (n == 0) return f;
  using Dense = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>;  // column-major: HALS updates columns
  using Column = Eigen::Matrix<Scalar, Eigen::Dynamic, 1>;
  const SparseMatrix<Scalar> ab = detail::nonnegative_block(a, lo, n);
  const SparseMatrix<Scalar> abt = ab.transpose();
  // NNDSVD start from the top-k eigenpairs.
  Dense q(n, k), aq(n, k);
  Matrix<Scalar> xr, pr;
  for (Index i = 0; i < n; ++i)
    for (Index r = 0; r < k; ++r)
      q(i, r) = static_cast<Scalar>(std::cos(std::numbers::pi * static_cast<double>(r) *
                                             (static_cast<double>(i) + 0.5) / static_cast<double>(n)));
  auto orthonormalize = [&](Dense& m) {
    const Eigen::HouseholderQR<Dense> qr{m};
    m = qr.householderQ() * Dense::Identity(n, k);
  };
  orthonormalize(q);
  for (Index t = 0; t < options.power_iterations; ++t) {
    detail::nmf_product(ab, q, xr, pr);
    aq = pr.leftCols(k);
    if (aq.squaredNorm() == Scalar(0)) break;  // A = 0: nothing to factorise
    q = aq;
    orthonormalize(q);
  }
  detail::nmf_product(ab, q, xr, pr);
  aq = pr.leftCols(k);
  const Dense t = q.transpose() * aq;
  const Eigen::SelfAdjointEigenSolver<Dense> eig(Dense((t + t.transpose()) / Scalar(2)));
  const Dense u = q * eig.eigenvectors();
  std::vector<Index> order(static_cast<std::size_t>(k));
  for (Index r = 0; r < k; ++r) order[static_cast<std::size_t>(r)] = r;
  std::stable_sort(order.begin(), order.end(), [&](Index x, Index y) {
    return std::abs(eig.eigenvalues()[x]) > std::abs(eig.eigenvalues()[y]);
  });
  Dense w0 = Dense::Zero(n, k), h0 = Dense::Zero(n, k);
  for (Index r = 0; r < k; ++r) {
    const Index c = order[static_cast<std::size_t>(r)];
    const Scalar lambda = eig.eigenvalues()[c];
    const auto x = u.col(c);
    // A = sum lambda u u^T: the right factor is u for lambda > 0 and -u for lambda < 0.
    const Column y = lambda >= Scalar(0) ? Column(x) : Column(-x);
    const Column xp = x.cwiseMax(Scalar(0)), xn = (-x).cwiseMax(Scalar(0));
    const Column yp = y.cwiseMax(Scalar(0)), yn = (-y).cwiseMax(Scalar(0));
    const Scalar mp = xp.norm() * yp.norm(), mn = xn.norm() * yn.norm();
    const bool positive = mp >= mn;
    const Scalar m = positive ? mp : mn;
    if (m == Scalar(0)) continue;
    const Scalar scale = std::sqrt(std::abs(lambda) * m);
    w0.col(r) = scale * (positive ? Column(xp / xp.norm()) : Column(xn / xn.norm()));
    h0.col(r) = scale * (positive ? Column(yp / yp.norm()) : Column(yn / yn.norm()));
  }
  // HALS sweeps.
  const Scalar norm_a = ab.squaredNorm();
  // The starts' scale sqrt(mean(A) / k), scikit-learn's.
  const Scalar fill = std::sqrt(ab.sum() / (static_cast<Scalar>(n) * static_cast<Scalar>(n) * static_cast<Scalar>(k)));
  // One HALS pass on `fac` (n x k) given P = A other (or A^T other) and G = other^T other:
  // fac_r <- max(0, fac_r + (P_r - fac G_r) / G_rr), column by column (each sees the new ones).
  auto update = [k](Dense& fac, const Matrix<Scalar>& p, const Dense& gram, Column& tmp) {
    for (Index r = 0; r < k; ++r) {
      if (gram(r, r) <= Scalar(0)) continue;
      tmp = p.col(r);
      tmp.noalias() -= fac * gram.col(r);
      fac.col(r) = (fac.col(r) + tmp / gram(r, r)).cwiseMax(Scalar(0));
    }
  };
  const Scalar tol = static_cast<Scalar>(options.tolerance);
  struct Start {
    Dense w, ht;
    Scalar objective = 0;
    Index iterations = 0;
    Index index = -1;
  };
  // Lower objective wins, a NaN one loses, then the lower start: the order of the starts'
  // completion (the threads) does not change the pick.
  const auto better = [](const Start& x, const Start& y) {
    if (std::isnan(x.objective) != std::isnan(y.objective)) return !std::isnan(x.objective);
    if (!std::isnan(x.objective) && x.objective != y.objective) return x.objective < y.objective;
    return x.index < y.index;
  };
  // Only the best finished start is kept beside the ones running (one per thread).
  Start best;
  std::mutex best_mutex;
  detail::parallel_for(std::max<Index>(options.restarts, 1), [&](Index start) {
    Start cur;
    cur.index = start;
    cur.w = w0;
    cur.ht = h0;
    if (start == 1) {  // NNDSVDa
      for (Index e = 0; e < cur.w.size(); ++e) {
        if (cur.w.data()[e] == Scalar(0)) cur.w.data()[e] = fill;
        if (cur.ht.data()[e] == Scalar(0)) cur.ht.data()[e] = fill;
      }
    } else if (start >= 2) {  // element e of the row-major n x k layout, as the seeds were drawn
      for (Index i = 0; i < n; ++i)
        for (Index r = 0; r < k; ++r) {
          const auto e = static_cast<std::uint64_t>(i * k + r);
          cur.w(i, r) = fill * static_cast<Scalar>(2 * detail::nmf_uniform(static_cast<std::uint64_t>(start), 2 * e));
          cur.ht(i, r) = fill * static_cast<Scalar>(2 * detail::nmf_uniform(static_cast<std::uint64_t>(start), 2 * e + 1));
        }
    }
    Dense gw(k, k), gh(k, k);
    Matrix<Scalar> x_start, p;  // nmf_product's workspace and P = A^T W or A H^T (n x padded k)
    Column tmp(n);
    auto objective = [&]() {  // p = A H^T, gw = W^T W, gh = H H^T current
      return std::max(norm_a - Scalar(2) * cur.w.cwiseProduct(p.leftCols(k)).sum() + gw.cwiseProduct(gh).sum(), Scalar(0));
    };
    gw.noalias() = cur.w.transpose() * cur.w;
    gh.noalias() = cur.ht.transpose() * cur.ht;
    detail::nmf_product(ab, cur.ht, x_start, p);
    const Scalar f0 = objective();
    Scalar previous = f0;
    while (cur.iterations < options.max_iterations) {
      detail::nmf_product(abt, cur.w, x_start, p);  // H: (W^T A)^T = A^T W
      update(cur.ht, p, gw, tmp);
      gh.noalias() = cur.ht.transpose() * cur.ht;
      detail::nmf_product(ab, cur.ht, x_start, p);  // W: A H^T
      update(cur.w, p, gh, tmp);
      gw.noalias() = cur.w.transpose() * cur.w;
      ++cur.iterations;
      const Scalar current = objective();
      const bool done = previous - current <= tol * f0;
      previous = current;
      if (done) break;
    }
    cur.objective = previous;
    const std::lock_guard<std::mutex> lock(best_mutex);
    if (best.index < 0 || better(cur, best)) best = std::move(cur);
  });
  f.w = best.w;
  f.ht = best.ht;
  f.objective = best.objective;
  f.iterations = best.iterations;
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
/// `PrecomputedSoftSelect`. Cost: `nmf_factorize` per graph, the graphs in parallel (OpenMP).
/// Thread-safe (const).
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
    // Graphs in parallel (each writes its own rows of S and its own cache entries).
    detail::parallel_for(nb, [&](Index b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      const Index kb = std::max<Index>(1, std::min(m_k, n));
      if (n == 0) return;
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
    });
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
