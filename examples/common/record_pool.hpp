#ifndef GNNPOOL_EXAMPLES_COMMON_RECORD_POOL_HPP
#define GNNPOOL_EXAMPLES_COMMON_RECORD_POOL_HPP

// The definition of examples::record_pool (declared in model.hpp), included only by the
// pooler-family translation units common/pools_*.cpp, each of which instantiates it for its
// poolers (GNNPOOL_EXAMPLES_RECORD_POOL). Recording a pooler on the tape instantiates its
// forward, backward and losses: that is where the compile time of a model goes.

#include "model.hpp"

#include <vector>

namespace examples {

template <typename Scalar, typename Pool>
void record_pool(gnnpool::Tape<Scalar>& tape, const Pool& pool, bool renormalize, gnnpool::Graph<Scalar>& g,
                 gnnpool::Tensor<Scalar>& h, std::vector<gnnpool::Loss<Scalar>>& aux) {
  auto p = tape(pool, g, h);
  aux.push_back(p.aux_loss());
  h = p.x;
  g = renormalize ? tape.constant_graph(normalized_adjacency(p.graph.adj()), p.graph.offsets()) : p.graph;
}

}  // namespace examples

/// Explicit instantiation of record_pool for gnnpool::Pooler<double>.
#define GNNPOOL_EXAMPLES_RECORD_POOL(Pooler)                                                                        \
  template void examples::record_pool<double, gnnpool::Pooler<double>>(                                              \
      gnnpool::Tape<double>&, const gnnpool::Pooler<double>&, bool, gnnpool::Graph<double>&, gnnpool::Tensor<double>&, \
      std::vector<gnnpool::Loss<double>>&)

#endif
