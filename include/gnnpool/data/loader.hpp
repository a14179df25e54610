#ifndef GNNPOOL_DATA_LOADER_HPP
#define GNNPOOL_DATA_LOADER_HPP

/// \file
/// `GraphLoader`: seeded, shuffled mini-batches of a graph-classification dataset (PyG's
/// `DataLoader(dataset[ids], batch_size, shuffle)`).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/data/splits.hpp>

#include <algorithm>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace gnnpool {

/// How `GraphLoader` cuts an epoch.
struct LoaderOptions {
  Index batch_size = 32;
  bool shuffle = true;      ///< reshuffle the graphs at every epoch
  bool drop_last = false;   ///< skip the last, smaller mini-batch
  std::uint64_t seed = 0;   ///< seeds the shuffles (one random sequence over all epochs)
};

/// One mini-batch: the graphs (their disjoint union), their labels and their dataset indices.
template <typename Scalar>
struct MiniBatch {
  Batch<Scalar> batch;
  std::vector<Index> labels;
  std::vector<Index> ids;
};

/// Mini-batches of the graphs `ids` of a dataset (`graphs` and one label per graph).
///
///     GraphLoader<S> loader(ds.graphs, ds.y.labels, split.train, {.batch_size = 32, .seed = 0});
///     for (int epoch = 0; epoch < epochs; ++epoch)
///       for (const auto& mb : loader.epoch()) { ... mb.batch, mb.labels ... }
///
/// Every `epoch()` reshuffles the order of the previous epoch with one generator seeded once,
/// so a run is reproducible from the seed. The dataset is referenced, not copied: it must
/// outlive the loader. A mini-batch is built when the iterator reaches it (O(its nodes + edges)).
template <typename Scalar>
class GraphLoader {
 public:
  GraphLoader(const Batch<Scalar>& graphs, std::span<const Index> labels, std::span<const Index> ids,
              const LoaderOptions& options = {})
      : m_graphs(&graphs), m_labels(labels.begin(), labels.end()), m_order(ids.begin(), ids.end()),
        m_options(options), m_rng(options.seed) {
    GNNPOOL_CHECK(options.batch_size >= 1, invalid_argument, "GraphLoader: batch_size must be >= 1, got ",
                  options.batch_size);
    GNNPOOL_CHECK(static_cast<Index>(labels.size()) == graphs.num_graphs(), shape_error, "GraphLoader: ",
                  labels.size(), " labels for ", graphs.num_graphs(), " graphs");
    for (const Index g : m_order)
      GNNPOOL_CHECK(g >= 0 && g < graphs.num_graphs(), invalid_argument, "GraphLoader: graph ", g,
                    " is out of range for ", graphs.num_graphs(), " graphs");
  }

  class Iterator {
   public:
    Iterator(const GraphLoader* loader, std::size_t begin) : m_loader(loader), m_begin(begin) { load(); }
    const MiniBatch<Scalar>& operator*() const { return m_current; }
    const MiniBatch<Scalar>* operator->() const { return &m_current; }
    Iterator& operator++() {
      m_begin += static_cast<std::size_t>(m_loader->m_options.batch_size);
      load();
      return *this;
    }
    bool operator==(const Iterator& other) const { return m_begin == other.m_begin; }

   private:
    void load() {
      const std::size_t end = m_loader->end_of_epoch();
      if (m_begin >= end) {
        m_begin = end;
        return;
      }
      const std::size_t stop = std::min(end, m_begin + static_cast<std::size_t>(m_loader->m_options.batch_size));
      const std::span<const Index> ids(m_loader->m_order.data() + m_begin, stop - m_begin);
      m_current.ids.assign(ids.begin(), ids.end());
      m_current.labels = gather(m_loader->m_labels, ids);
      m_current.batch = select_graphs(*m_loader->m_graphs, ids);
    }
    const GraphLoader* m_loader;
    std::size_t m_begin;
    MiniBatch<Scalar> m_current;
  };

  /// The mini-batches of one epoch (in a new order when shuffling): a range for range-for.
  struct Epoch {
    const GraphLoader* loader;
    Iterator begin() const { return Iterator(loader, 0); }
    Iterator end() const { return Iterator(loader, loader->end_of_epoch()); }
  };

  Epoch epoch() {
    if (m_options.shuffle) std::shuffle(m_order.begin(), m_order.end(), m_rng);
    return Epoch{this};
  }

  /// Number of mini-batches per epoch.
  Index num_batches() const {
    const auto n = static_cast<Index>(m_order.size()), b = m_options.batch_size;
    return m_options.drop_last ? n / b : (n + b - 1) / b;
  }
  Index num_graphs() const { return static_cast<Index>(m_order.size()); }

  /// Dataset ids of mini-batch k (0 <= k < num_batches()) of the current epoch, without
  /// building it (data-parallel loaders cut it into per-rank slices).
  std::span<const Index> batch_ids(Index k) const {
    GNNPOOL_CHECK(k >= 0 && k < num_batches(), invalid_argument, "GraphLoader::batch_ids: batch ", k,
                  " of an epoch of ", num_batches());
    const std::size_t begin = static_cast<std::size_t>(k) * static_cast<std::size_t>(m_options.batch_size);
    const std::size_t stop = std::min(end_of_epoch(), begin + static_cast<std::size_t>(m_options.batch_size));
    return {m_order.data() + begin, stop - begin};
  }

 private:
  std::size_t end_of_epoch() const {
    const auto n = m_order.size(), b = static_cast<std::size_t>(m_options.batch_size);
    return m_options.drop_last ? n - n % b : n;
  }

  const Batch<Scalar>* m_graphs;
  std::vector<Index> m_labels;
  std::vector<Index> m_order;
  LoaderOptions m_options;
  std::mt19937_64 m_rng;
};

}  // namespace gnnpool

#endif
