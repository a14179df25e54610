#ifndef GNNPOOL_MPI_DATA_PARALLEL_HPP
#define GNNPOOL_MPI_DATA_PARALLEL_HPP

/// \file
/// Data-parallel training over MPI: `shard_range` (a rank's contiguous share of n items),
/// `DistributedGraphLoader` (the global mini-batches of `GraphLoader`, the same sequence for any
/// number of ranks, each rank getting its slice of every global batch) and `DataParallel` (one
/// step: local forward and backward weighted by the slice's share, one all-reduce of the
/// gradients, with the time of each part). docs/distributed.md explains when the sum over the
/// ranks equals the single-process objective.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/data/loader.hpp>
#include <gnnpool/detail/bytes.hpp>
#include <gnnpool/model/tape.hpp>
#include <gnnpool/mpi/communicator.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace gnnpool::mpi {

/// Items [begin, end) of a rank's share.
struct Range {
  Index begin = 0, end = 0;
  Index size() const { return end - begin; }
  bool empty() const { return end <= begin; }
};

/// Rank `rank`'s share of n items among `size` ranks: contiguous, in rank order, sizes
/// differing by at most one (the first n mod size ranks get one more). Throws
/// `invalid_argument` for n < 0 or a rank outside [0, size).
inline Range shard_range(Index n, int rank, int size) {
  GNNPOOL_CHECK(n >= 0 && size >= 1 && rank >= 0 && rank < size, invalid_argument, "shard_range: ", n,
                " items, rank ", rank, " of ", size);
  const Index p = size, r = rank, base = n / p, extra = n % p;
  const Index begin = r * base + std::min(r, extra);
  return {begin, begin + base + (r < extra ? 1 : 0)};
}

/// Sends rank `root`'s dataset (graphs and one label per graph) to every rank, for clusters
/// where only one node reads the files: the other ranks' `graphs` and `labels` are replaced
/// (their contents are ignored). One broadcast of the size, one of the bytes (features,
/// adjacency in CSR, offsets, labels; in pieces of at most 1 GiB). Throws `collective_error`
/// on every rank when the root's labels do not match its graph count.
template <typename Scalar>
void broadcast_dataset(const Communicator& comm, Batch<Scalar>& graphs, std::vector<Index>& labels, int root = 0) {
  ::gnnpool::detail::ByteWriter w;
  if (comm.rank() == root) {
    const auto& a = graphs.adj;
    for (const Index v : {graphs.num_nodes(), graphs.num_features(), graphs.num_graphs(), a.nonZeros(),
                          static_cast<Index>(labels.size())})
      w.put<std::int64_t>(v);
    for (const Index o : graphs.offsets) w.put<std::int64_t>(o);
    for (Index i = 0; i < graphs.x.size(); ++i) w.put<Scalar>(graphs.x.data()[i]);
    for (Index r = 0; r <= a.rows(); ++r) w.put<std::int64_t>(a.outerIndexPtr()[r]);
    for (Index e = 0; e < a.nonZeros(); ++e) w.put<std::int32_t>(a.innerIndexPtr()[e]);
    for (Index e = 0; e < a.nonZeros(); ++e) w.put<Scalar>(a.valuePtr()[e]);
    for (const Index y : labels) w.put<std::int64_t>(y);
  }
  comm.check_same(comm.rank() == root ? static_cast<int>(labels.size() == static_cast<std::size_t>(graphs.num_graphs()))
                                      : 1,
                  "broadcast_dataset: the root's labels match its graphs (1 = yes)");
  std::uint64_t size = w.bytes.size();
  comm.broadcast(std::span<std::uint64_t>(&size, 1), root);
  w.bytes.resize(static_cast<std::size_t>(size));
  comm.broadcast(std::span<unsigned char>(w.bytes), root);
  if (comm.rank() == root) return;
  ::gnnpool::detail::ByteReader r(w.bytes, 0, w.bytes.size(), "broadcast_dataset");
  const auto n = static_cast<Index>(r.get<std::int64_t>("N")), f = static_cast<Index>(r.get<std::int64_t>("F")),
             b = static_cast<Index>(r.get<std::int64_t>("B")), nnz = static_cast<Index>(r.get<std::int64_t>("nnz")),
             y = static_cast<Index>(r.get<std::int64_t>("labels"));
  graphs.offsets.resize(static_cast<std::size_t>(b + 1));
  for (auto& o : graphs.offsets) o = static_cast<Index>(r.get<std::int64_t>("an offset"));
  graphs.x.resize(n, f);
  for (Index i = 0; i < graphs.x.size(); ++i) graphs.x.data()[i] = r.get<Scalar>("a feature");
  auto& a = graphs.adj;
  a.resize(n, n);
  a.resizeNonZeros(nnz);
  for (Index i = 0; i <= n; ++i) a.outerIndexPtr()[i] = static_cast<StorageIndex>(r.get<std::int64_t>("a row pointer"));
  for (Index e = 0; e < nnz; ++e) a.innerIndexPtr()[e] = r.get<std::int32_t>("a column");
  for (Index e = 0; e < nnz; ++e) a.valuePtr()[e] = r.get<Scalar>("an edge value");
  labels.resize(static_cast<std::size_t>(y));
  for (auto& l : labels) l = static_cast<Index>(r.get<std::int64_t>("a label"));
}

/// A rank's slice of one global mini-batch: the graphs (`batch`, `labels`, dataset `ids`) of
/// positions [first, first + ids.size()) of the global batch, and the global batch's size.
/// `weight()` = local / global graphs: a loss that is a mean over the graphs of a batch,
/// computed on the slice and multiplied by it, sums over the ranks to the global batch's loss.
template <typename Scalar>
struct LocalBatch : MiniBatch<Scalar> {
  Index global_count = 0;  ///< graphs in the global batch
  Index first = 0;         ///< position of this slice in the global batch
  Index step = 0;          ///< index of the global batch in its epoch

  Index local_count() const { return static_cast<Index>(this->ids.size()); }
  bool empty() const { return this->ids.empty(); }
  Scalar weight() const {
    return global_count == 0 ? Scalar(0) : static_cast<Scalar>(local_count()) / static_cast<Scalar>(global_count);
  }
};

/// The mini-batches of `GraphLoader` (same options, same seed: the same global batches in the
/// same order, whatever the number of ranks), each cut into per-rank slices by `shard_range`.
///
///     DistributedGraphLoader<S> loader(comm, ds.graphs, ds.y.labels, split.train, {.batch_size = 32, .seed = 0});
///     for (const auto& mb : loader.epoch()) { ... mb.batch, mb.labels, mb.weight() ... }
///
/// Every rank holds the dataset (each reads the files, or rank 0 reads them and
/// `broadcast_dataset` sends them) and draws the same permutation
/// from the shared seed; each builds only its slice (O(its nodes + edges)). A rank whose slice
/// is empty (a global batch smaller than the number of ranks) still takes part in the step with
/// zero gradients (`DataParallel` does this).
///
/// Errors, on every rank at once (`collective_error`, checked at construction): datasets of
/// different sizes (graph count, node count), different training ids, options or labels across
/// ranks. The single-rank errors are `GraphLoader`'s.
template <typename Scalar>
class DistributedGraphLoader {
 public:
  DistributedGraphLoader(const Communicator& comm, const Batch<Scalar>& graphs, std::span<const Index> labels,
                         std::span<const Index> ids, const LoaderOptions& options = {})
      : m_comm(&comm), m_graphs(&graphs), m_labels(labels.begin(), labels.end()),
        m_global(agreed(comm, graphs, labels, ids, options)) {}

  class Iterator {
   public:
    Iterator(const DistributedGraphLoader* loader, Index step) : m_loader(loader), m_step(step) { load(); }
    const LocalBatch<Scalar>& operator*() const { return m_current; }
    const LocalBatch<Scalar>* operator->() const { return &m_current; }
    Iterator& operator++() {
      ++m_step;
      load();
      return *this;
    }
    bool operator==(const Iterator& other) const { return m_step == other.m_step; }

   private:
    void load() {
      if (m_step >= m_loader->num_batches()) return;
      const auto global = m_loader->m_global.batch_ids(m_step);
      const Range mine = shard_range(static_cast<Index>(global.size()), m_loader->m_comm->rank(), m_loader->m_comm->size());
      const auto ids = global.subspan(static_cast<std::size_t>(mine.begin), static_cast<std::size_t>(mine.size()));
      m_current.ids.assign(ids.begin(), ids.end());
      m_current.labels = gather(m_loader->m_labels, ids);
      m_current.batch = select_graphs(*m_loader->m_graphs, ids);
      m_current.global_count = static_cast<Index>(global.size());
      m_current.first = mine.begin;
      m_current.step = m_step;
    }
    const DistributedGraphLoader* m_loader;
    Index m_step;
    LocalBatch<Scalar> m_current;
  };

  struct Epoch {
    const DistributedGraphLoader* loader;
    Iterator begin() const { return Iterator(loader, 0); }
    Iterator end() const { return Iterator(loader, loader->num_batches()); }
  };

  /// The global batches of one epoch (reshuffled as `GraphLoader` does), this rank's slices.
  Epoch epoch() {
    m_global.epoch();
    return Epoch{this};
  }

  /// Global mini-batches per epoch (the same on every rank).
  Index num_batches() const { return m_global.num_batches(); }
  /// Graphs per epoch over all ranks.
  Index num_graphs() const { return m_global.num_graphs(); }

 private:
  /// The agreement checks (collective), then the loader of the global batches.
  static GraphLoader<Scalar> agreed(const Communicator& comm, const Batch<Scalar>& graphs,
                                    std::span<const Index> labels, std::span<const Index> ids,
                                    const LoaderOptions& options) {
    comm.check_same(graphs.num_graphs(), "the number of graphs in the dataset");
    comm.check_same(graphs.num_nodes(), "the number of nodes in the dataset");
    comm.check_same(static_cast<Index>(ids.size()), "the number of training graphs");
    comm.check_same(options.batch_size, "the global batch size");
    comm.check_same(options.seed, "the loader seed");
    comm.check_same(static_cast<int>(options.shuffle) * 2 + static_cast<int>(options.drop_last),
                    "the loader's shuffle / drop_last options");
    comm.check_same(fingerprint(graphs, labels, ids), "the dataset content (offsets, labels, training ids)");
    return comm.collectively("DistributedGraphLoader", [&] { return GraphLoader<Scalar>(graphs, labels, ids, options); });
  }

  static std::uint64_t fingerprint(const Batch<Scalar>& graphs, std::span<const Index> labels,
                                   std::span<const Index> ids) {
    ::gnnpool::detail::ByteWriter w;
    for (const Index o : graphs.offsets) w.put<std::int64_t>(o);
    w.put<std::int64_t>(graphs.num_edges());
    for (const Index y : labels) w.put<std::int64_t>(y);
    for (const Index g : ids) w.put<std::int64_t>(g);
    return ::gnnpool::detail::fnv1a(w.bytes.data(), w.bytes.size());
  }

  const Communicator* m_comm;
  const Batch<Scalar>* m_graphs;
  std::vector<Index> m_labels;
  GraphLoader<Scalar> m_global;  ///< the shuffles and the global batches: GraphLoader's own
};

/// Seconds spent in the two parts of the training steps so far.
struct StepTimes {
  double compute = 0;       ///< forward + backward on the local slice
  double communicate = 0;   ///< the gradient all-reduce (including waiting for the slowest rank)
  Index steps = 0;
};

/// One data-parallel training step at a time: this rank's forward and backward on its slice,
/// weighted by `LocalBatch::weight()`, then the sum of the gradients over the ranks (one
/// all-reduce). The parameters are broadcast from rank 0 at construction, so every rank starts
/// from rank 0's initialisation; after `step`, every rank holds the same summed gradient, and
/// the same optimiser step on every rank keeps the parameters identical.
///
///     DataParallel<S> dp(comm, params);
///     for (const auto& mb : loader.epoch()) {
///       dp.step(tape, mb, grads, [&](Tape<S>& t, const LocalBatch<S>& b) {
///         auto out = model.forward(t, b.batch);
///         return cross_entropy(out.logits, b.labels) + out.aux;   // a mean over b's graphs
///       });
///       adam.step(params, grads);
///     }
///
/// The loss returned must be a mean over the slice's graphs of per-graph terms (plus terms that
/// do not depend on the data): then the weighted sum over the ranks is the single-process loss
/// of the global batch, and so are the gradients, up to the order of the floating-point sums.
template <typename Scalar>
class DataParallel {
 public:
  DataParallel(Communicator& comm, ParameterSet<Scalar>& params) : m_comm(&comm) { comm.broadcast(params); }

  /// Fills `grads` with the gradient of the global batch's loss (ASSIGNED, as Tape::backward):
  /// records `loss_of(tape, slice)` after `tape.reset()`, runs the backward with the slice's
  /// weight as the seed, and sums the gradients over the ranks. A rank with an empty slice
  /// contributes zeros. Returns the slice's (unweighted) loss value, 0 for an empty slice.
  template <typename LossOf>
  Scalar step(Tape<Scalar>& tape, const LocalBatch<Scalar>& slice, ParameterSet<Scalar>& grads, LossOf&& loss_of) {
    const auto t0 = std::chrono::steady_clock::now();
    Scalar value(0);
    if (slice.empty()) {
      grads.set_zero();
    } else {
      tape.reset();
      const Loss<Scalar> loss = loss_of(tape, slice);
      value = loss.value();
      tape.backward(loss, grads, slice.weight());
    }
    const auto t1 = std::chrono::steady_clock::now();
    m_comm->allreduce_sum(grads);
    const auto t2 = std::chrono::steady_clock::now();
    m_times.compute += std::chrono::duration<double>(t1 - t0).count();
    m_times.communicate += std::chrono::duration<double>(t2 - t1).count();
    ++m_times.steps;
    return value;
  }

  /// Sums the gradients over the ranks (for a loop that runs its own backward), timed as
  /// communication.
  void allreduce(ParameterSet<Scalar>& grads) {
    const auto t0 = std::chrono::steady_clock::now();
    m_comm->allreduce_sum(grads);
    m_times.communicate += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  const StepTimes& times() const { return m_times; }
  void reset_times() { m_times = {}; }
  Communicator& communicator() const { return *m_comm; }

 private:
  Communicator* m_comm;
  StepTimes m_times;
};

}  // namespace gnnpool::mpi

#endif
