#ifndef GNNPOOL_READOUT_SUM_HPP
#define GNNPOOL_READOUT_SUM_HPP

/// \file
/// `SumReadout`: PyG's `global_add_pool`, Spektral's `GlobalSumPool`.

#include <gnnpool/detail/readout.hpp>

namespace gnnpool {

/// Global sum readout: one row per graph.
///
/// Forward:  out.row(g) = sum_{i in g} x.row(i).          x: N x F, out: B x F.
/// Backward: dx.row(i) = dout.row(g) for every node i of graph g (assigned).
/// An empty graph reads out as a zero row and gives no gradient. No parameters.
/// Reads `x` and `offsets` only (the adjacency may be empty). Cache: the input shape, to check
/// that backward gets the batch forward saw. Cost: O(N F) both ways, one contiguous pass over
/// the rows, no allocation besides the output. `forward`/`backward` are const and thread-safe.
/// Errors: `invalid_argument`/`shape_error` for malformed offsets, offsets not ending at x's
/// row count, a cache from another batch, or dout not B x F.
template <typename Scalar_>
class SumReadout : public detail::SegmentSumReadout<Scalar_, false> {};

}  // namespace gnnpool

#endif
