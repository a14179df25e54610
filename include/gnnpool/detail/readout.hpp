#ifndef GNNPOOL_DETAIL_READOUT_HPP
#define GNNPOOL_DETAIL_READOUT_HPP

/// \file
/// Building blocks of the global readouts (readout/*.hpp): argument checks and the per-graph
/// ("segment") loops. Not part of the API. Every loop walks the rows of a graph in order, so x
/// is read once, contiguously, and nothing is allocated per graph. Runs of whole graphs go in
/// parallel (`parallel_graphs`): a graph's outputs are computed by one thread, in the serial
/// order, so the results do not depend on the number of threads.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <vector>

namespace gnnpool::detail {

inline Index segment_begin(const IndexVector& offsets, Index g) { return offsets[static_cast<std::size_t>(g)]; }
inline Index segment_end(const IndexVector& offsets, Index g) { return offsets[static_cast<std::size_t>(g + 1)]; }

/// What a readout reads of a batch: `offsets` well formed (B + 1 >= 2 entries, starting at 0,
/// non-decreasing) and ending at the number of rows of `x`. The adjacency is not read, so it is
/// not checked (a readout may be given a batch with an empty `adj`). O(B).
template <typename Scalar>
void check_readout_input(const BatchRef<Scalar>& batch, std::string_view layer) {
  const IndexVector& offsets = batch.offsets;
  GNNPOOL_CHECK(offsets.size() >= 2, invalid_argument, layer, ": the batch is empty (offsets has ",
                offsets.size(), " entries; a batch of B graphs needs B + 1 >= 2)");
  GNNPOOL_CHECK(offsets.front() == 0, invalid_argument, layer, ": offsets must start at 0, got ",
                offsets.front());
  for (std::size_t b = 1; b < offsets.size(); ++b)
    GNNPOOL_CHECK(offsets[b] >= offsets[b - 1], invalid_argument, layer,
                  ": offsets must be non-decreasing, but offsets[", b, "] = ", offsets[b],
                  " < offsets[", b - 1, "] = ", offsets[b - 1]);
  GNNPOOL_CHECK(offsets.back() == batch.x.rows(), shape_error, layer, ": offsets end at ",
                offsets.back(), " but x is ", shape(batch.x.rows(), batch.x.cols()));
}

/// backward must see the batch that forward filled the cache with.
inline void check_readout_cache(Index cache_nodes, Index cache_features, Index nodes, Index features,
                                std::string_view layer) {
  GNNPOOL_CHECK(cache_nodes == nodes && cache_features == features, shape_error, layer,
                ": the cache was filled by forward on x of ", shape(cache_nodes, cache_features),
                " but backward is given x of ", shape(nodes, features));
}

/// dout must be B x F' (the shape of the readout's output).
template <typename Scalar>
void check_readout_dout(const ConstMatrixRef<Scalar>& dout, Index graphs, Index features, std::string_view layer) {
  GNNPOOL_CHECK(dout.rows() == graphs && dout.cols() == features, shape_error, layer, ": dout is ",
                shape(dout.rows(), dout.cols()), " but the output is ", shape(graphs, features));
}

/// out.row(g) = scale_g * sum of the rows of x in graph g, with scale_g = 1, or 1 / max(n_g, 1)
/// when `mean` (an empty graph gives a zero row either way). Assigns out (B x F).
template <typename Scalar>
void segment_sum(const ConstMatrixRef<Scalar>& x, const IndexVector& offsets, Matrix<Scalar>& out, bool mean) {
  const Index graphs = static_cast<Index>(offsets.size()) - 1, f = x.cols();
  out.resize(graphs, f);
  const Scalar* xd = x.data();
  const Index xs = x.outerStride();  // x may be a view of some columns of a wider matrix
  parallel_graphs(offsets, [&](Index g_lo, Index g_hi) {
    for (Index g = g_lo; g < g_hi; ++g) {
      Scalar* o = out.data() + g * f;
      std::fill(o, o + f, Scalar(0));
      const Index lo = segment_begin(offsets, g), hi = segment_end(offsets, g);
      for (Index i = lo; i < hi; ++i) {
        const Scalar* xi = xd + i * xs;
        for (Index c = 0; c < f; ++c) o[c] += xi[c];
      }
      if (mean && hi - lo > 1) {
        const auto n = static_cast<Scalar>(hi - lo);
        for (Index c = 0; c < f; ++c) o[c] /= n;
      }
    }
  });
}

/// The backward of `segment_sum`: dx.row(i) = scale_g * dout.row(g) for every node i of graph g.
/// Assigns dx (N x F).
template <typename Scalar>
void segment_broadcast(const ConstMatrixRef<Scalar>& dout, const IndexVector& offsets, Index rows, Matrix<Scalar>& dx,
                       bool mean) {
  const Index f = dout.cols();
  dx.resize(rows, f);
  parallel_graphs(offsets, [&](Index g_lo, Index g_hi) {
    Matrix<Scalar> scaled(1, f);
    for (Index g = g_lo; g < g_hi; ++g) {
      const Index lo = segment_begin(offsets, g), hi = segment_end(offsets, g);
      if (mean && hi - lo > 1)
        scaled = dout.row(g) / static_cast<Scalar>(hi - lo);
      else
        scaled = dout.row(g);
      // Row by row with Eigen's inline vector stores (std::copy would call memcpy once per node).
      for (Index i = lo; i < hi; ++i) dx.row(i) = scaled;
    }
  });
}

/// out.row(g) = sum_{i in g} alpha_i h.row(i). Assigns out (B x F').
template <typename Scalar>
void segment_weighted_sum(const ConstMatrixRef<Scalar>& h, const Scalar* alpha, const IndexVector& offsets,
                          Matrix<Scalar>& out) {
  const Index graphs = static_cast<Index>(offsets.size()) - 1, f = h.cols();
  out.resize(graphs, f);
  parallel_graphs(offsets, [&](Index g_lo, Index g_hi) {
    for (Index g = g_lo; g < g_hi; ++g) {
      Scalar* o = out.data() + g * f;
      std::fill(o, o + f, Scalar(0));
      for (Index i = segment_begin(offsets, g); i < segment_end(offsets, g); ++i) {
        const Scalar* hi = h.data() + i * h.outerStride();
        const Scalar a = alpha[i];
        for (Index c = 0; c < f; ++c) o[c] += a * hi[c];
      }
    }
  });
}

/// The backward of `segment_weighted_sum` for the upstream gradient dout (B x F'):
/// dh.row(i) = alpha_i dout.row(g) (assigned, N x F') and dalpha_i = <dout.row(g), h.row(i)>.
template <typename Scalar>
void segment_weighted_sum_backward(const ConstMatrixRef<Scalar>& h, const Scalar* alpha, const IndexVector& offsets,
                                   const ConstMatrixRef<Scalar>& dout, Matrix<Scalar>& dh, Scalar* dalpha) {
  dh.resize(h.rows(), h.cols());
  parallel_graphs(offsets, [&](Index g_lo, Index g_hi) {
    for (Index g = g_lo; g < g_hi; ++g) {
      for (Index i = segment_begin(offsets, g); i < segment_end(offsets, g); ++i) {
        dh.row(i) = alpha[i] * dout.row(g);
        dalpha[i] = dout.row(g).dot(h.row(i));  // Eigen's dot: vectorised, several accumulators
      }
    }
  });
}

/// Every check of a readout's forward: the batch (`check_readout_input`) and, for a layer with
/// a fixed input width (features >= 0), the width of x.
template <typename Scalar>
void check_readout_forward(const BatchRef<Scalar>& in, Index features, std::string_view layer) {
  check_readout_input(in, layer);
  if (features >= 0) check_features(in, features, layer);
}

/// Every check of a readout's backward: the forward checks, the cache (filled by forward on x of
/// cache_nodes x cache_features) against x, and dout against B x out_features.
template <typename Scalar>
void check_readout_backward(const BatchRef<Scalar>& in, Index features, Index cache_nodes, Index cache_features,
                            const ConstMatrixRef<Scalar>& dout, Index out_features, std::string_view layer) {
  check_readout_forward(in, features, layer);
  check_readout_cache(cache_nodes, cache_features, in.x.rows(), in.x.cols(), layer);
  check_readout_dout(dout, in.num_graphs(), out_features, layer);
}

/// Sum (Mean = false) or mean (Mean = true) readout; SumReadout and MeanReadout are this class
/// under their public names (readout/sum.hpp, readout/mean.hpp document the math).
template <typename Scalar_, bool Mean>
class SegmentSumReadout {
 public:
  using Scalar = Scalar_;
  /// Only the shape forward saw (backward needs nothing else).
  struct Cache {
    Index nodes = -1;
    Index features = -1;
  };

  static constexpr std::string_view layer_name() { return Mean ? "MeanReadout" : "SumReadout"; }
  /// Readouts read x and offsets only: the model layer passes them no adjacency gradient.
  static constexpr bool reads_adjacency = false;
  std::string_view name() const { return layer_name(); }
  /// No parameters.
  void parameter_slots(std::vector<Index>& /*out*/) const {}

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Matrix<Scalar>& out,
               Cache& cache) const {
    check_readout_forward(in, -1, layer_name());
    segment_sum<Scalar>(in.x, in.offsets, out, Mean);
    cache.nodes = in.x.rows();
    cache.features = in.x.cols();
  }

  /// Assigns *din.x (N x F) when not null; there are no parameters, so dparams is left as it is.
  void backward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, const Cache& cache,
                const ConstMatrixRef<Scalar>& dout, BatchGradRef<Scalar> din,
                ParameterSet<Scalar>& /*dparams*/) const {
    check_readout_backward(in, -1, cache.nodes, cache.features, dout, in.x.cols(), layer_name());
    if (din.x) segment_broadcast<Scalar>(dout, in.offsets, in.x.rows(), *din.x, Mean);
  }
};

}  // namespace gnnpool::detail

#endif
