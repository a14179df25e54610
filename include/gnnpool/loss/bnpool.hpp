#ifndef GNNPOOL_LOSS_BNPOOL_HPP
#define GNNPOOL_LOSS_BNPOOL_HPP

/// \file
/// BN-Pool's three losses (Castellana & Bianchi; tgp's `BNPool`): the class-balanced edge
/// reconstruction ("quality", with the cluster connectivity K), the KL of the stick fractions to
/// their Dirichlet-process prior ("kl") and K's Gaussian prior ("K_prior").

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/detail/soft_kernels.hpp>
#include <gnnpool/detail/special.hpp>
#include <gnnpool/select/stick_breaking.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace gnnpool {

/// Which node pairs BN-Pool's reconstruction loss reads, and so what each graph's three losses
/// are divided by.
enum class ReconstructionPairs {
  /// Every pair of a graph (tgp's `BNPool`, its dense loss): O(n_b^2 K); divided by n_b^2.
  all,
  /// The stored entries with A != 0 (positives) and as many sampled non-edges (tgp's sparse
  /// BN-Pool and its negative edge sampling): O(E K); divided by the number of pairs read.
  sampled,
};

namespace detail {

/// Graph b's pairs in the `sampled` mode: positives (stored entries with A != 0), free pairs
/// (off-diagonal and not stored) and the negatives drawn, min(positives, free).
struct BNPoolPairCounts {
  Index positives = 0, free = 0, negatives = 0;
};

/// `BNPoolPairCounts` of graph b. O(stored entries of the graph).
template <typename Scalar>
BNPoolPairCounts bnpool_pair_counts(const BatchRef<Scalar>& in, Index b) {
  const Index lo = in.graph_begin(b), n = in.graph_size(b);
  const StorageIndex* outer = in.adj.outerIndexPtr();
  const StorageIndex* inner = in.adj.innerIndexPtr();
  const Scalar* val = in.adj.valuePtr();
  Index positives = 0, stored_off_diagonal = 0;
  for (Index i = lo; i < lo + n; ++i)
    for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p) {
      if (val[p] != Scalar(0)) ++positives;
      if (Index(inner[p]) != i) ++stored_off_diagonal;
    }
  const Index free = n * (n - 1) - stored_off_diagonal;
  return {positives, free, std::min(positives, free)};
}

/// The `sampled` divisor of a graph with these counts: positives plus negatives, at least 1 (as
/// tgp clamps its count).
inline double sampled_normalizer(const BNPoolPairCounts& counts) {
  return static_cast<double>(std::max<Index>(counts.positives + counts.negatives, 1));
}

/// What graph b's BN-Pool losses are divided by: n_b^2 (`all`) or `sampled_normalizer`.
template <typename Scalar>
double bnpool_normalizer(const BatchRef<Scalar>& in, Index b, ReconstructionPairs pairs) {
  const Index n = in.graph_size(b);
  if (pairs == ReconstructionPairs::all) return static_cast<double>(n) * static_cast<double>(n);
  return sampled_normalizer(bnpool_pair_counts(in, b));
}

}  // namespace detail

/// Reconstruction loss of BN-Pool ("quality"; tgp's `weighted_bce_reconstruction_loss` with
/// balance_links, normalised by N_b^2), mean over graphs. With R_b = S_b K S_b^T (n_b x n_b,
/// logits) and the weighted adjacency A_b as target:
///
///   l_b = (1 / n_b^2) sum_{i,j in b} w_ij BCEWithLogits(R_ij, A_ij),
///   BCEWithLogits(r, a) = max(r, 0) - r a + log(1 + exp(-|r|)),
///   w_ij = c_b = max(n_b^2 - E_b, 1) / max(E_b, 1) where A_ij != 0 (E_b such entries), 1 elsewhere.
///
/// With `ReconstructionPairs::sampled` (tgp's sparse BN-Pool) the sum runs over the E_b stored
/// entries with A != 0 (target A_ij, which is tgp's 1 on an unweighted graph) and m_b = min(E_b,
/// free pairs) non-edges (target 0) drawn uniformly with replacement from the graph's off-diagonal
/// pairs that are not stored, unweighted, divided by E_b + m_b instead of n_b^2; cost O(E K). The
/// non-edges come from a counter-based stream of (seed, the cache's draw counter, draw), so a
/// fresh cache or the same counter replays them; they are kept in the cache for the backward.
/// Rejection sampling where at least half of the free pairs are free, else the free pairs are
/// listed (O(n_b^2), which is then O(E_b)), so no graph makes it loop.
///
/// With `all`, every pair of the graph enters (the non-edges too), so the cost is O(n_b^2 K) per graph,
/// computed over blocks of `block_rows` rows of R (never an n_b x n_b matrix): a block is one
/// GEMM (rows of S_b K against S_b^T), its softplus over every pair (the non-edge term) one
/// vectorised sum (`softplus_sum`), and the stored entries of A its sparse correction
/// w (softplus(r) - r a) - softplus(r). Blocks are grouped into fixed row chunks
/// (`detail::reduction_grain`) that run in parallel, with partial sums combined in chunk order:
/// the same bits for any number of threads. tgp's negative sampling for large sparse graphs is not
/// provided.
/// Backward (g = w / B): dR_ij = g w_ij (sigmoid(R_ij) - A_ij) / n_b^2 (dense sigmoid, sparse
/// correction);  dS_b += dR S_b K^T + dR^T S_b K;  dK += S_b^T dR S_b (ADDED: K is shared with
/// `ConnectivityPriorLoss`); dA_ij += -g w_ij R_ij / n_b^2 on the stored entries (the target's
/// derivative; pairs that are not stored have no gradient slot). The weights w are read as
/// constants (the pattern of A is). Per block: three GEMMs with inner size K or the block.
/// Cache: E_b and c_b, and per chunk a block of R and the backward's n_b x K and K x K partials
/// (reused by the next call). Thread-safe (const) for distinct caches.
template <typename Scalar_>
class EdgeReconstructionLoss {
 public:
  using Scalar = Scalar_;
  using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  /// One chunk's buffers, kept in the cache so that training steps do not fault in fresh pages.
  struct Workspace {
    RowMatrix r;                ///< a block of R, then of dR
    Matrix<Scalar> u, dk, ds;   ///< the chunk's dR^T S K, S^T dR S and dR S of a block
    std::vector<Scalar> stored; ///< dR on the block's stored entries
  };
  /// A pair read by the `sampled` mode: nodes (batch indices) and the CSR position of a positive
  /// (-1 for a sampled non-edge).
  struct Pair {
    Index i, j;
    Index position;
  };
  struct Cache {
    Vector<Scalar> edge_scale;               ///< c_b (`all`)
    /// `all`: one per chunk of the largest graph, or per part of a batch of one-chunk graphs
    mutable std::vector<Workspace> work;
    mutable Matrix<Scalar> graph_dk;         ///< `all`, a batch of one-chunk graphs: each graph's dK
    std::vector<Pair> pairs;                 ///< `sampled`: the pairs of the last forward, graph by graph
    IndexVector pair_offsets;                ///< `sampled`: graph b's pairs are [pair_offsets[b], pair_offsets[b + 1])
    Vector<Scalar> normalizer;               ///< `sampled`: E_b + m_b (at least 1)
    std::uint64_t draws = 0;                 ///< `sampled`: forwards drawn so far with this cache
  };

  /// `k_slot`: the K x K cluster connectivity in the pooler's ParameterSet; `pairs` and `seed`:
  /// which pairs enter and the non-edges' stream; `redraw` false: every forward reads draw 0 of
  /// the stream (the same non-edges for the same graph), as `StickBreakingSelectOptions::redraw`.
  EdgeReconstructionLoss(Index k_slot, Scalar weight = Scalar(1), ReconstructionPairs pairs = ReconstructionPairs::all,
                         std::uint64_t seed = 0, bool redraw = true)
      : m_k(k_slot), m_weight(weight), m_pairs(pairs), m_seed(seed), m_redraw(redraw) {}
  ReconstructionPairs pairs() const { return m_pairs; }
  std::string_view name() const { return "quality"; }
  Scalar weight() const { return m_weight; }
  void parameter_slots(std::vector<Index>& out) const { out.push_back(m_k); }

  Scalar forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                 Cache& cache) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "EdgeReconstructionLoss");
    const Matrix<Scalar>& kmat = params[m_k];
    GNNPOOL_CHECK(kmat.rows() == sel.s.cols() && kmat.cols() == sel.s.cols(), shape_error,
                  "EdgeReconstructionLoss: K is ", detail::shape(kmat.rows(), kmat.cols()), " but S has ", sel.s.cols(),
                  " clusters");
    const Index nb = detail::num_graphs(sel);
    if (m_pairs == ReconstructionPairs::sampled) return sampled_forward(kmat, in, sel, cache);
    cache.edge_scale.resize(nb);
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    // Graph b's rows [r_lo, r_hi) (whole blocks of `block_rows`): their part of the sum.
    const auto rows_sum = [&](Index b, const Matrix<Scalar>& t, Index r_lo, Index r_hi, Workspace& work) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      const Scalar c = cache.edge_scale[b];
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      RowMatrix& r = work.r;
      double sum = 0;
      for (Index r0 = r_lo; r0 < r_hi; r0 += block_rows) {
        const Index rows = std::min(block_rows, n - r0);
        r.noalias() = t.middleRows(r0, rows) * sb.transpose();
        sum += softplus_sum(r.data(), r.size());
        for_each_stored(in, lo, r0, rows, [&](Index i, Index j, StorageIndex, Scalar a) {
          const Scalar v = r(i, j), w = a != Scalar(0) ? c : Scalar(1), sp = softplus(v);
          sum += static_cast<double>(w * (sp - v * a) - sp);
        });
      }
      return sum;
    };
    const auto prepare = [&](Index b) {
      cache.edge_scale[b] = in.graph_size(b) == 0 ? Scalar(0) : edge_scale(in, b);
    };
    const auto finish = [&](Index b, double sum) {
      const auto n = static_cast<double>(in.graph_size(b));
      per_graph[b] = static_cast<Scalar>(sum / (n * n));
    };
    if (nb > 1 && single_chunks(in)) {
      // Every graph one chunk: the graphs in parallel, one workspace per part (each graph's sum
      // computed alone, as in the loop below, so the parts change no bit).
      const Index parts = detail::part_count(in.num_nodes());
      if (cache.work.size() < static_cast<std::size_t>(parts)) cache.work.resize(static_cast<std::size_t>(parts));
      detail::parallel_parts(in.offsets.data(), nb, parts, [&](Index part, Index b_lo, Index b_hi) {
        for (Index b = b_lo; b < b_hi; ++b) {
          prepare(b);
          const Index n = in.graph_size(b);
          if (n == 0) continue;
          const Matrix<Scalar> t = detail::graph_rows(sel.s, sel.offsets, b) * kmat;
          // 0.0 + the one chunk's sum: what the loop below adds up for a one-chunk graph.
          finish(b, 0.0 + rows_sum(b, t, 0, n, cache.work[static_cast<std::size_t>(part)]));
        }
      });
      return detail::graph_mean(per_graph);
    }
    for (Index b = 0; b < nb; ++b) {
      prepare(b);
      const Index n = in.graph_size(b);
      if (n == 0) continue;
      const Matrix<Scalar> t = detail::graph_rows(sel.s, sel.offsets, b) * kmat;  // n x K: R = T S^T, R_ij = <T_i, S_j>
      const Index grain = chunk_rows(n), chunks = detail::chunk_count(n, grain);
      std::vector<double> partial(static_cast<std::size_t>(chunks), 0.0);
      if (cache.work.size() < static_cast<std::size_t>(chunks)) cache.work.resize(static_cast<std::size_t>(chunks));
      detail::parallel_for(chunks, [&](Index chunk) {
        partial[static_cast<std::size_t>(chunk)] = rows_sum(b, t, chunk * grain, std::min(n, (chunk + 1) * grain),
                                                            cache.work[static_cast<std::size_t>(chunk)]);
      });
      double sum = 0;
      for (const double v : partial) sum += v;
      finish(b, sum);
    }
    return detail::graph_mean(per_graph);
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                const Cache& cache, Scalar dloss, BatchGrad<Scalar>& din, Matrix<Scalar>& dsel,
                ParameterSet<Scalar>& dparams) const {
    const Matrix<Scalar>& kmat = params[m_k];
    const Index nb = detail::num_graphs(sel), k = sel.s.cols();
    const Scalar g = dloss / static_cast<Scalar>(nb);
    if (m_pairs == ReconstructionPairs::sampled) {
      check_pairs(in, nb, cache);
      sampled_backward(kmat, in, sel, cache, g, din, dsel, dparams[m_k]);
      return;
    }
    GNNPOOL_CHECK(cache.edge_scale.size() == nb, shape_error, "EdgeReconstructionLoss backward: the cache holds ",
                  cache.edge_scale.size(), " graphs, the batch ", nb, " (backward needs the cache of the same forward)");
    // Graph b's rows [r_lo, r_hi) (whole blocks): into work.u its dR^T S K (n x K), into
    // work.dk its S^T dR S (K x K); dR S K^T straight into the rows' dS.
    const auto rows_backward = [&](Index b, const Matrix<Scalar>& t, Index r_lo, Index r_hi, Workspace& work) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      const Scalar scale = g / (static_cast<Scalar>(n) * static_cast<Scalar>(n)), c = cache.edge_scale[b];
      const auto sb = detail::graph_rows(sel.s, sel.offsets, b);
      auto db = detail::graph_rows(dsel, sel.offsets, b);
      Matrix<Scalar>& uc = work.u;
      Matrix<Scalar>& dkc = work.dk;
      uc.setZero(n, k);
      dkc.setZero(k, k);
      RowMatrix& r = work.r;
      Matrix<Scalar>& ds = work.ds;
      std::vector<Scalar>& stored = work.stored;
      for (Index r0 = r_lo; r0 < r_hi; r0 += block_rows) {
        const Index rows = std::min(block_rows, n - r0);
        r.noalias() = t.middleRows(r0, rows) * sb.transpose();
        stored.clear();
        for_each_stored(in, lo, r0, rows, [&](Index i, Index j, StorageIndex p, Scalar a) {
          const Scalar v = r(i, j), w = a != Scalar(0) ? c : Scalar(1);
          if (din.adj_needed) din.adj[p] += -scale * w * v;
          stored.push_back(scale * w * (sigmoid(v) - a));
        });
        r.array() = scale / (Scalar(1) + (-r.array()).exp());  // dR off the stored entries
        std::size_t q = 0;
        for_each_stored(in, lo, r0, rows, [&](Index i, Index j, StorageIndex, Scalar) { r(i, j) = stored[q++]; });
        ds.noalias() = r * sb;  // (dR S) of the block's rows
        db.middleRows(r0, rows).noalias() += ds * kmat.transpose();
        uc.noalias() += r.transpose() * t.middleRows(r0, rows);
        dkc.noalias() += sb.middleRows(r0, rows).transpose() * ds;
      }
    };
    if (nb > 1 && single_chunks(in)) {
      // Every graph one chunk: the graphs in parallel, one workspace per part; each graph's dK
      // is kept and the dKs are added in graph order, as the loop below adds them.
      const Index parts = detail::part_count(in.num_nodes());
      if (cache.work.size() < static_cast<std::size_t>(parts)) cache.work.resize(static_cast<std::size_t>(parts));
      cache.graph_dk.resize(nb * k, k);
      detail::parallel_parts(in.offsets.data(), nb, parts, [&](Index part, Index b_lo, Index b_hi) {
        Workspace& work = cache.work[static_cast<std::size_t>(part)];
        for (Index b = b_lo; b < b_hi; ++b) {
          const Index n = in.graph_size(b);
          if (n == 0) {
            cache.graph_dk.middleRows(b * k, k).setZero();
            continue;
          }
          const Matrix<Scalar> t = detail::graph_rows(sel.s, sel.offsets, b) * kmat;
          rows_backward(b, t, 0, n, work);
          detail::graph_rows(dsel, sel.offsets, b).noalias() += work.u;
          cache.graph_dk.middleRows(b * k, k) = work.dk;
        }
      });
      for (Index b = 0; b < nb; ++b)
        if (in.graph_size(b) != 0) dparams[m_k] += cache.graph_dk.middleRows(b * k, k);
      return;
    }
    for (Index b = 0; b < nb; ++b) {
      const Index n = in.graph_size(b);
      if (n == 0) continue;
      const Matrix<Scalar> t = detail::graph_rows(sel.s, sel.offsets, b) * kmat;  // S K
      const Index grain = chunk_rows(n), chunks = detail::chunk_count(n, grain);
      // Per chunk: u = dR^T S K over its rows (n x K) and dK = S^T dR S over its rows (K x K).
      if (cache.work.size() < static_cast<std::size_t>(chunks)) cache.work.resize(static_cast<std::size_t>(chunks));
      detail::parallel_for(chunks, [&](Index chunk) {
        rows_backward(b, t, chunk * grain, std::min(n, (chunk + 1) * grain), cache.work[static_cast<std::size_t>(chunk)]);
      });
      auto db = detail::graph_rows(dsel, sel.offsets, b);
      for (Index chunk = 0; chunk < chunks; ++chunk) {
        db.noalias() += cache.work[static_cast<std::size_t>(chunk)].u;
        dparams[m_k] += cache.work[static_cast<std::size_t>(chunk)].dk;
      }
    }
  }

 private:
  /// Rows of R formed at once: 64 x n_b logits (2.5 MB in float at n_b = 10^4), enough rows for
  /// the GEMMs to run at speed.
  static constexpr Index block_rows = 64;

  /// Rows per chunk (a multiple of `block_rows`, at least 1 024; at most `detail::max_partials`
  /// chunks, so the backward's n_b x K partials stay bounded), a function of n_b only.
  static Index chunk_rows(Index n) {
    const Index grain = detail::reduction_grain(n, 16 * block_rows);
    return (grain + block_rows - 1) / block_rows * block_rows;
  }

  /// Whether every graph of the batch is one chunk (then the graphs run in parallel instead).
  static bool single_chunks(const BatchRef<Scalar>& in) {
    for (Index b = 0; b < in.num_graphs(); ++b)
      if (in.graph_size(b) > chunk_rows(in.graph_size(b))) return false;
    return true;
  }

  static Scalar sigmoid(Scalar v) { return Scalar(1) / (Scalar(1) + std::exp(-v)); }
  /// softplus(v) = max(v, 0) + ln(1 + e^-|v|), the non-edge BCE. ln(1 + y) for y in (0, 1],
  /// not log1p: its absolute error (what a sum of n^2 terms feels) is the same, and it is what
  /// `softplus_sum` computes.
  static Scalar softplus(Scalar v) { return std::max(v, Scalar(0)) + std::log(Scalar(1) + std::exp(-std::abs(v))); }

  /// sum_i softplus(v_i) over n values, vectorised: sum max(v, 0), plus ln of products of eight
  /// factors 1 + e^-|v| (each in (1, 2], so a product is at most 256): one logarithm per eight
  /// values, the costly part of the sum (log is 3.5x exp in Eigen's float kernels). The eight
  /// factors of a product are v_g, v_{g+G}, ..., v_{g+7G} (G = n / 8), so the product is a
  /// lane-wise multiply of contiguous segments.
  static double softplus_sum(const Scalar* data, Index n) {
    using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
    const Eigen::Map<const Array> v(data, n);
    double total = static_cast<double>(v.max(Scalar(0)).sum());
    const Index g = n / 8;
    if (g > 0) {
      auto factor = [&](Index j) { return Scalar(1) + (-v.segment(j * g, g).abs()).exp(); };
      total += static_cast<double>(
          (factor(0) * factor(1) * factor(2) * factor(3) * factor(4) * factor(5) * factor(6) * factor(7)).log().sum());
    }
    for (Index i = 8 * g; i < n; ++i) total += static_cast<double>(std::log(Scalar(1) + std::exp(-std::abs(data[i]))));
    return total;
  }

  /// f(i, j, p, a) for the stored entries of rows [r0, r0 + rows) of the graph starting at lo (i,
  /// j relative: i to the block, j to the graph; p the CSR position; a the value).
  template <typename F>
  static void for_each_stored(const BatchRef<Scalar>& in, Index lo, Index r0, Index rows, F&& f) {
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    for (Index i = 0; i < rows; ++i)
      for (StorageIndex p = outer[lo + r0 + i]; p < outer[lo + r0 + i + 1]; ++p) f(i, Index(inner[p]) - lo, p, val[p]);
  }

  static Scalar bce(Scalar r, Scalar y) { return softplus(r) - r * y; }

  /// Fills cache.pairs with each graph's positives (CSR order) and m_b sampled non-edges.
  void sample_pairs(const BatchRef<Scalar>& in, Cache& cache) const {
    const Index nb = in.num_graphs();
    const StorageIndex* outer = in.adj.outerIndexPtr();
    const StorageIndex* inner = in.adj.innerIndexPtr();
    const Scalar* val = in.adj.valuePtr();
    auto stored = [&](Index i, Index j) {
      return std::binary_search(inner + outer[i], inner + outer[i + 1], static_cast<StorageIndex>(j));
    };
    cache.pairs.clear();
    cache.pair_offsets.assign(static_cast<std::size_t>(nb) + 1, 0);
    cache.normalizer.resize(nb);
    std::vector<Pair> free_pairs;
    for (Index b = 0; b < nb; ++b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      const detail::BNPoolPairCounts counts = detail::bnpool_pair_counts(in, b);
      const Index negatives = counts.negatives, off_diagonal = n * (n - 1);
      for (Index i = lo; i < lo + n; ++i)
        for (StorageIndex p = outer[i]; p < outer[i + 1]; ++p)
          if (val[p] != Scalar(0)) cache.pairs.push_back({i, Index(inner[p]), Index(p)});
      if (negatives > 0) {
        if (2 * counts.free >= off_diagonal) {
          // Rejection: at least half of the draws are free pairs.
          for (Index q = 0; q < negatives; ++q) {
            // A bounded loop: each trial succeeds with probability >= 1/2, so 2^20 never run out.
            const std::uint64_t draw = static_cast<std::uint64_t>(cache.pairs.size());
            bool drawn = false;
            for (std::uint64_t t = 0; t < (std::uint64_t(1) << 20) && !drawn; ++t) {
              const double u = detail::counter_uniform(m_seed, cache.draws, (draw << 20) | t);
              const Index flat = std::min(static_cast<Index>(u * static_cast<double>(off_diagonal)), off_diagonal - 1);
              const Index i = flat / (n - 1), jj = flat % (n - 1), j = jj + (jj >= i ? 1 : 0);
              if (!stored(lo + i, lo + j)) {
                cache.pairs.push_back({lo + i, lo + j, -1});
                drawn = true;
              }
            }
            GNNPOOL_ASSERT(drawn, "EdgeReconstructionLoss: no free pair in 2^20 draws");
          }
        } else {
          // A dense graph: list its free pairs (O(n_b^2), no more than its stored entries).
          free_pairs.clear();
          for (Index i = 0; i < n; ++i)
            for (Index j = 0; j < n; ++j)
              if (i != j && !stored(lo + i, lo + j)) free_pairs.push_back({lo + i, lo + j, -1});
          for (Index q = 0; q < negatives; ++q) {
            const double u =
                detail::counter_uniform(m_seed, cache.draws, static_cast<std::uint64_t>(cache.pairs.size()) << 20);
            const auto pick = std::min(static_cast<std::size_t>(u * static_cast<double>(free_pairs.size())),
                                       free_pairs.size() - 1);
            cache.pairs.push_back(free_pairs[pick]);
          }
        }
      }
      cache.pair_offsets[static_cast<std::size_t>(b) + 1] = static_cast<Index>(cache.pairs.size());
      cache.normalizer[b] = static_cast<Scalar>(detail::sampled_normalizer(counts));
    }
    if (m_redraw) ++cache.draws;
  }

  /// Graph b's pairs in the cache.
  static std::span<const Pair> graph_pairs(const Cache& cache, Index b) {
    const auto lo = static_cast<std::size_t>(cache.pair_offsets[static_cast<std::size_t>(b)]);
    const auto hi = static_cast<std::size_t>(cache.pair_offsets[static_cast<std::size_t>(b) + 1]);
    return std::span<const Pair>(cache.pairs).subspan(lo, hi - lo);
  }

  /// The target of a pair: A_ij for a positive, 0 for a sampled non-edge.
  static Scalar target(const BatchRef<Scalar>& in, const Pair& pair) {
    return pair.position >= 0 ? in.adj.valuePtr()[pair.position] : Scalar(0);
  }

  Scalar sampled_forward(const Matrix<Scalar>& kmat, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                         Cache& cache) const {
    sample_pairs(in, cache);
    const Index nb = in.num_graphs();
    const Matrix<Scalar> t = sel.s * kmat;  // R_ij = <T_i, S_j>
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    for (Index b = 0; b < nb; ++b) {
      double sum = 0;
      for (const Pair& pair : graph_pairs(cache, b)) {
        sum += static_cast<double>(bce(t.row(pair.i).dot(sel.s.row(pair.j)), target(in, pair)));
      }
      per_graph[b] = static_cast<Scalar>(sum / static_cast<double>(cache.normalizer[b]));
    }
    return detail::graph_mean(per_graph);
  }

  /// dR_q = g (sigmoid(R_q) - y_q) / (E_b + m_b) on the pairs: W = D S (D the pairs' dR as a
  /// sparse matrix), dS += W K^T + D^T S K, dK += S^T W, dA_q += -g R_q / (E_b + m_b).
  /// The `sampled` cache's pairs index S and A: each must lie in the batch (a cache of another
  /// forward is refused, not read out of bounds). O(pairs).
  static void check_pairs(const BatchRef<Scalar>& in, Index nb, const Cache& cache) {
    const Index n = in.num_nodes(), nnz = in.adj.nonZeros();
    GNNPOOL_CHECK(cache.normalizer.size() == nb && static_cast<Index>(cache.pair_offsets.size()) == nb + 1 &&
                      cache.pair_offsets.back() == static_cast<Index>(cache.pairs.size()),
                  shape_error, "EdgeReconstructionLoss backward: the cache holds pairs of ", cache.normalizer.size(),
                  " graphs, the batch ", nb, " (backward needs the cache of the same forward)");
    GNNPOOL_CHECK(std::is_sorted(cache.pair_offsets.begin(), cache.pair_offsets.end()) && cache.pair_offsets.front() == 0,
                  invalid_argument, "EdgeReconstructionLoss backward: the cache's pair offsets are not a partition of its ",
                  cache.pairs.size(), " pairs (backward needs the cache of the same forward)");
    for (const Pair& pair : cache.pairs)
      GNNPOOL_CHECK(pair.i >= 0 && pair.i < n && pair.j >= 0 && pair.j < n && pair.position < nnz, invalid_argument,
                    "EdgeReconstructionLoss backward: the cache's pair (", pair.i, ", ", pair.j, ") at position ",
                    pair.position, " lies outside the batch of ", n, " nodes and ", nnz,
                    " stored entries (backward needs the cache of the same forward)");
  }

  void sampled_backward(const Matrix<Scalar>& kmat, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                        const Cache& cache, Scalar g, BatchGrad<Scalar>& din, Matrix<Scalar>& dsel,
                        Matrix<Scalar>& dk) const {
    const Matrix<Scalar> t = sel.s * kmat;
    Matrix<Scalar> w = Matrix<Scalar>::Zero(sel.s.rows(), sel.s.cols());
    for (Index b = 0; b < cache.normalizer.size(); ++b) {
      const Scalar scale = g / cache.normalizer[b];
      for (const Pair& pair : graph_pairs(cache, b)) {
        const Scalar r = t.row(pair.i).dot(sel.s.row(pair.j));
        const Scalar dr = scale * (sigmoid(r) - target(in, pair));
        w.row(pair.i) += dr * sel.s.row(pair.j);
        dsel.row(pair.j) += dr * t.row(pair.i);
        if (pair.position >= 0 && din.adj_needed) din.adj[pair.position] += -scale * r;
      }
    }
    dsel.noalias() += w * kmat.transpose();
    dk.noalias() += sel.s.transpose() * w;
  }

  /// c_b = max(n^2 - E, 1) / max(E, 1), E = the stored entries of the graph with A != 0.
  static Scalar edge_scale(const BatchRef<Scalar>& in, Index b) {
    const Index n = in.graph_size(b), edges = detail::bnpool_pair_counts(in, b).positives;
    const Index pairs = n * n;
    return static_cast<Scalar>(std::max<Index>(pairs - edges, 1)) / static_cast<Scalar>(std::max<Index>(edges, 1));
  }

  Index m_k;
  Scalar m_weight;
  ReconstructionPairs m_pairs;
  std::uint64_t m_seed;
  bool m_redraw;
};

/// KL loss of BN-Pool ("kl"; tgp's `kl_loss` with the Beta posteriors, normalised by N_b^2, or
/// by graph b's pairs E_b + m_b in the `sampled` mode: `detail::bnpool_normalizer`), mean over
/// graphs (written below for `all`):
///
///   l_b = (1 / n_b^2) sum_{i in b} sum_k KL(Beta(alpha_ik, beta_ik) || Beta(1, alpha_DP)),
///   KL(Beta(a, b) || Beta(c, d)) = ln B(c, d) - ln B(a, b) + (a - c) psi(a) + (b - d) psi(b)
///                                  + (c + d - a - b) psi(a + b).
///
/// Backward (g = w / B): dKL/da = (a - c) psi'(a) + (c + d - a - b) psi'(a + b), dKL/db = (b - d)
/// psi'(b) + (c + d - a - b) psi'(a + b); ADDED into the selection's dalpha / dbeta (the stick
/// select turns them into parameter gradients): the loss reads alpha and beta, not S.
/// tgp's "kl" includes its coefficient eta; gnnpool's weight is eta. Cost O(N K) (the graphs, or a lone
/// graph's rows, in parallel). Thread-safe.
template <typename Scalar_>
class StickBreakingKLLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {};

  /// `pairs`: the reconstruction's mode, which sets each graph's divisor (n_b^2 or its pairs).
  explicit StickBreakingKLLoss(Scalar weight = Scalar(1), Scalar alpha_dp = Scalar(1),
                               ReconstructionPairs pairs = ReconstructionPairs::all)
      : m_weight(weight), m_alpha_dp(alpha_dp), m_pairs(pairs) {
    GNNPOOL_CHECK(std::isfinite(alpha_dp) && alpha_dp > Scalar(0), invalid_argument,
                  "StickBreakingKLLoss: alpha_DP must be positive and finite, got ", alpha_dp);
  }
  std::string_view name() const { return "kl"; }
  Scalar weight() const { return m_weight; }

  Scalar forward(const BatchRef<Scalar>& in, const StickBreakingSelection<Scalar>& sel, Cache& /*cache*/) const {
    detail::check_soft_selection(sel, in.num_nodes(), in.offsets, "StickBreakingKLLoss");
    const Index nb = detail::num_graphs(sel);
    Vector<Scalar> per_graph = Vector<Scalar>::Zero(nb);
    const double prior = detail::log_beta(1, static_cast<double>(m_alpha_dp));  // ln B(c, d), once
    // The graphs in parallel; a graph's sum over fixed chunks of its rows (`parallel_sum`: in
    // parallel when it is the only graph, one chunk, the serial loop, up to 1 024 rows), so the
    // value does not depend on the number of threads.
    detail::parallel_for(nb, [&](Index b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      if (n == 0) return;
      const double sum = detail::parallel_sum<double>(n, [&](Index r_lo, Index r_hi) {
        double part = 0;
        for (Index i = lo + r_lo; i < lo + r_hi; ++i)
          for (Index j = 0; j < sel.alpha.cols(); ++j)
            part += kl(static_cast<double>(sel.alpha(i, j)), static_cast<double>(sel.beta(i, j)), prior);
        return part;
      });
      per_graph[b] = static_cast<Scalar>(sum / detail::bnpool_normalizer(in, b, m_pairs));
    });
    return detail::graph_mean(per_graph);
  }

  void backward(const BatchRef<Scalar>& in, const StickBreakingSelection<Scalar>& sel, const Cache& /*cache*/,
                Scalar dloss, BatchGrad<Scalar>& /*din*/, Matrix<Scalar>& /*dsel*/) const {
    const Index nb = detail::num_graphs(sel), m = sel.alpha.cols();
    if (sel.dalpha.size() == 0) sel.dalpha.setZero(sel.alpha.rows(), m);
    if (sel.dbeta.size() == 0) sel.dbeta.setZero(sel.beta.rows(), m);
    const double c = 1, d = static_cast<double>(m_alpha_dp);
    // Every entry on its own: the graphs in parallel, the rows of a lone graph too.
    detail::parallel_for(nb, [&](Index b) {
      const Index lo = in.graph_begin(b), n = in.graph_size(b);
      if (n == 0) return;
      const double scale = static_cast<double>(dloss) / (static_cast<double>(nb) * detail::bnpool_normalizer(in, b, m_pairs));
      detail::parallel_rows(n, [&](Index r_lo, Index r_hi) {
        for (Index i = lo + r_lo; i < lo + r_hi; ++i)
          for (Index j = 0; j < m; ++j) {
            const double a = static_cast<double>(sel.alpha(i, j)), bb = static_cast<double>(sel.beta(i, j));
            const double common = (c + d - a - bb) * detail::trigamma(a + bb);
            sel.dalpha(i, j) += static_cast<Scalar>(scale * ((a - c) * detail::trigamma(a) + common));
            sel.dbeta(i, j) += static_cast<Scalar>(scale * ((bb - d) * detail::trigamma(bb) + common));
          }
      });
    });
  }

 private:
  /// KL(Beta(a, b) || Beta(1, alpha_DP)); `prior` = ln B(1, alpha_DP).
  double kl(double a, double b, double prior) const {
    const double c = 1, d = static_cast<double>(m_alpha_dp);
    return prior - detail::log_beta(a, b) + (a - c) * detail::digamma(a) + (b - d) * detail::digamma(b) +
           (c + d - a - b) * detail::digamma(a + b);
  }

  Scalar m_weight;
  Scalar m_alpha_dp;
  ReconstructionPairs m_pairs;
};

/// Prior loss of BN-Pool's cluster connectivity K ("K_prior"; tgp's
/// `cluster_connectivity_prior_loss` normalised by N_b^2, or by E_b + m_b in the `sampled` mode;
/// written below for `all`):
///
///   P = sum_kl (K_kl - mu_kl)^2 / (2 var),  mu = mu0 on the diagonal, -mu0 off it;
///   value = (1 / B) sum_b P / (B n_b^2)   (tgp divides the replicated P by B, then averages);
///
/// Backward: dK += w (K - mu) / var (1 / B^2) sum_b 1 / n_b^2 (ADDED: K is shared with the
/// reconstruction loss). An empty graph contributes 0 (tgp divides by 0). Cost O(K^2 + B).
template <typename Scalar_>
class ConnectivityPriorLoss {
 public:
  using Scalar = Scalar_;
  struct Cache {
    Scalar factor = 0;  ///< (1 / B^2) sum_b 1 / n_b^2
  };

  ConnectivityPriorLoss(Index k_slot, Scalar weight = Scalar(1), Scalar mu = Scalar(10), Scalar var = Scalar(1),
                        ReconstructionPairs pairs = ReconstructionPairs::all)
      : m_k(k_slot), m_weight(weight), m_mu(mu), m_var(var), m_pairs(pairs) {
    GNNPOOL_CHECK(std::isfinite(var) && var > Scalar(0), invalid_argument,
                  "ConnectivityPriorLoss: K_var must be positive and finite, got ", var);
  }
  std::string_view name() const { return "K_prior"; }
  Scalar weight() const { return m_weight; }
  void parameter_slots(std::vector<Index>& out) const { out.push_back(m_k); }

  Scalar forward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& in, const SoftSelection<Scalar>& sel,
                 Cache& cache) const {
    (void)sel;
    const Index nb = in.num_graphs();
    Scalar inv(0);
    for (Index b = 0; b < nb; ++b)
      if (in.graph_size(b) > 0) inv += static_cast<Scalar>(1 / detail::bnpool_normalizer(in, b, m_pairs));
    cache.factor = inv / (static_cast<Scalar>(nb) * static_cast<Scalar>(nb));
    return penalty(params[m_k]) * cache.factor;
  }

  void backward(const ParameterSet<Scalar>& params, const BatchRef<Scalar>& /*in*/, const SoftSelection<Scalar>& /*sel*/,
                const Cache& cache, Scalar dloss, BatchGrad<Scalar>& /*din*/, Matrix<Scalar>& /*dsel*/,
                ParameterSet<Scalar>& dparams) const {
    const Matrix<Scalar>& k = params[m_k];
    const Scalar scale = dloss * cache.factor / m_var;
    for (Index r = 0; r < k.rows(); ++r)
      for (Index c = 0; c < k.cols(); ++c) dparams[m_k](r, c) += scale * (k(r, c) - mean(r, c));
  }

 private:
  Scalar mean(Index r, Index c) const { return r == c ? m_mu : -m_mu; }
  Scalar penalty(const Matrix<Scalar>& k) const {
    Scalar p(0);
    for (Index r = 0; r < k.rows(); ++r)
      for (Index c = 0; c < k.cols(); ++c) p += Scalar(0.5) * (k(r, c) - mean(r, c)) * (k(r, c) - mean(r, c)) / m_var;
    return p;
  }

  Index m_k;
  Scalar m_weight, m_mu, m_var;
  ReconstructionPairs m_pairs;
};

}  // namespace gnnpool

#endif
