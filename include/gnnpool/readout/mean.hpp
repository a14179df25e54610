#ifndef GNNPOOL_READOUT_MEAN_HPP
#define GNNPOOL_READOUT_MEAN_HPP

/// \file
/// `MeanReadout`: PyG's `global_mean_pool`, Spektral's `GlobalAvgPool`.

#include <gnnpool/detail/readout.hpp>

namespace gnnpool {

/// Global mean readout: one row per graph.
///
/// Forward:  out.row(g) = sum_{i in g} x.row(i) / max(n_g, 1).     x: N x F, out: B x F.
/// Backward: dx.row(i) = dout.row(g) / n_g for every node i of graph g (assigned).
/// An empty graph (n_g = 0) reads out as a zero row, never NaN, as PyG (count clamped to 1).
/// No parameters. Reads `x` and `offsets` only. Cache: the input shape. Cost: O(N F) both ways,
/// one contiguous pass over the rows, no allocation besides the output. Thread-safe (const).
/// Errors: as `SumReadout`.
template <typename Scalar_>
class MeanReadout : public detail::SegmentSumReadout<Scalar_, true> {};

}  // namespace gnnpool

#endif
