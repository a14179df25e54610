#ifndef GNNPOOL_MPI_PYRAMID_HPP
#define GNNPOOL_MPI_PYRAMID_HPP

/// \file
/// Distributed pyramid precomputation: the ranks coarsen their shares of a dataset (NDP,
/// Graclus, k-MIS with a fixed score, or any coarsener `build_pyramid` takes) and rank 0 writes
/// ONE pyramid file of the versioned format of gnnpool/pool/pyramid.hpp, byte for byte the file
/// a single process writes with `save_pyramids` for the same dataset and coarsener.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/mpi/communicator.hpp>
#include <gnnpool/mpi/data_parallel.hpp>
#include <gnnpool/pool/pyramid.hpp>

#include <string>
#include <utility>
#include <vector>

namespace gnnpool::mpi {

/// A rank's part of a distributed pyramid computation: the pyramids of graphs
/// [range.begin, range.end) of the dataset, in dataset order.
template <typename Scalar>
struct PyramidShard {
  Range range;
  std::vector<Pyramid<Scalar>> pyramids;
};

/// The pyramid of every graph of `dataset` (one `Pyramid` per graph, `levels` levels,
/// `build_pyramid(select_graphs(dataset, {g}), levels, coarsen)`), each rank computing the
/// graphs of its `shard_range`, then written by rank 0 to `path` (when not empty) in the format
/// of `save_pyramids`: the payload records are serialised where they were computed, gathered in
/// rank order (which is dataset order) and written with one header and checksum. The file is
/// byte-identical to `save_pyramids(path, pyramids of all graphs)` of one process: gnnpool's
/// selectors coarsen each graph on its own, from a seed that depends on the graph alone.
///
/// Returns this rank's shard. Collective: a coarsening that throws on one rank makes every
/// rank throw the same `collective_error` (naming the rank and the error) before anything is
/// gathered; a dataset whose graph count differs across ranks is refused the same way. Memory:
/// rank 0 holds the whole file's bytes while writing, as a single process does.
template <typename Scalar, typename Coarsen>
PyramidShard<Scalar> build_pyramids(const Communicator& comm, const Batch<Scalar>& dataset, Index levels,
                                    Coarsen&& coarsen, const std::string& path = {}) {
  static_assert(sizeof(Scalar) == 4 || sizeof(Scalar) == 8, "mpi::build_pyramids: Scalar must be float or double");
  comm.check_same(dataset.num_graphs(), "the number of graphs in the dataset to coarsen");
  comm.check_same(levels, "the number of pyramid levels");
  PyramidShard<Scalar> shard;
  shard.range = shard_range(dataset.num_graphs(), comm.rank(), comm.size());
  ::gnnpool::detail::ByteWriter payload;
  comm.collectively("mpi::build_pyramids (coarsening)", [&] {
    for (Index g = shard.range.begin; g < shard.range.end; ++g) {
      const Index one[1] = {g};
      shard.pyramids.push_back(build_pyramid(select_graphs(dataset, std::span<const Index>(one)), levels, coarsen));
      ::gnnpool::detail::put_pyramid(payload, shard.pyramids.back());
    }
  });
  if (path.empty()) return shard;
  const std::vector<unsigned char> all = comm.gather_bytes(payload.bytes, 0);
  comm.collectively("mpi::build_pyramids (writing '" + path + "')", [&] {
    if (comm.is_root())
      ::gnnpool::detail::write_pyramid_file(path, static_cast<std::uint32_t>(sizeof(Scalar)),
                                            static_cast<std::uint64_t>(dataset.num_graphs()), all,
                                            "mpi::build_pyramids");
  });
  return shard;
}

}  // namespace gnnpool::mpi

#endif
