#ifndef GNNPOOL_TORCH_TENSOR_HPP
#define GNNPOOL_TORCH_TENSOR_HPP

/// \file
/// The PyTorch bridge's view of tensors (optional part of gnnpool: needs libtorch, built with
/// `GNNPOOL_WITH_TORCH`; docs/torch.md). Nothing here is included by `gnnpool/gnnpool.hpp`.
///
/// - Checks of device, layout, dtype, contiguity and shape, which throw gnnpool's errors
///   (`shape_error`, `invalid_argument`) with a sentence naming the layer and the argument.
/// - Zero-copy Eigen maps of contiguous CPU float / double tensors, and tensors that own (or
///   view) gnnpool's matrices without copying them.
/// - PyG's `batch` vector as graph offsets, and PyG's `edge_index` [2, E] as gnnpool's CSR
///   adjacency. A CSR has to be built (sorted by target, then source): its structure is a copy,
///   and the edge weights are copied into CSR order. The structure of an `edge_index` tensor is
///   cached (`structure_cache_capacity`), so the convolutions and the pooler of one model that
///   share an `edge_index` convert it once.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <ATen/ATen.h>
#include <c10/util/intrusive_ptr.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool::pyg {

/// torch's dtype of a gnnpool scalar (float or double).
template <typename Scalar>
constexpr at::ScalarType scalar_type_of() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "gnnpool's PyTorch bridge supports float and double");
  return std::is_same_v<Scalar, float> ? at::kFloat : at::kDouble;
}

namespace detail {

inline std::string sizes_of(const at::Tensor& t) {
  std::ostringstream os;
  os << '[';
  for (int64_t d = 0; d < t.dim(); ++d) os << (d ? ", " : "") << t.size(d);
  os << ']';
  return os.str();
}

}  // namespace detail

/// Checks that `t` is defined, strided (dense), on the CPU and contiguous; `what` is "x", ...
/// Throws `invalid_argument` with a sentence naming `op` and `what` otherwise.
inline void check_cpu_contiguous(const at::Tensor& t, std::string_view op, std::string_view what) {
  GNNPOOL_CHECK(t.defined(), invalid_argument, op, ": ", what, " is an undefined tensor");
  GNNPOOL_CHECK(t.layout() == at::kStrided, invalid_argument, op, ": ", what,
                " must be a dense (strided) tensor, got layout ", t.layout(),
                " (convert it with .to_dense())");
  GNNPOOL_CHECK(t.device().is_cpu(), invalid_argument, op, ": ", what, " must be a CPU tensor, got one on ",
                t.device(), " (gnnpool runs on the CPU: move it with .cpu())");
  GNNPOOL_CHECK(t.is_contiguous(), invalid_argument, op, ": ", what, " of shape ", detail::sizes_of(t),
                " must be contiguous (call .contiguous() on it): the bridge reads tensors in place");
}

/// Checks `t` as a CPU contiguous float32 / float64 tensor with `dims` dimensions.
inline void check_floating(const at::Tensor& t, int64_t dims, std::string_view op, std::string_view what) {
  check_cpu_contiguous(t, op, what);
  GNNPOOL_CHECK(t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble, invalid_argument, op, ": ",
                what, " must be float32 or float64, got ", t.scalar_type());
  GNNPOOL_CHECK(t.dim() == dims, shape_error, op, ": ", what, " must have ", dims, " dimension",
                dims == 1 ? "" : "s", ", got shape ", detail::sizes_of(t));
}

/// Checks that `t` has the dtype of `reference` (the layer's x).
inline void check_same_dtype(const at::Tensor& t, const at::Tensor& reference, std::string_view op,
                             std::string_view what, std::string_view reference_name = "x") {
  GNNPOOL_CHECK(t.scalar_type() == reference.scalar_type(), invalid_argument, op, ": ", what, " is ",
                t.scalar_type(), " but ", reference_name, " is ", reference.scalar_type(),
                "; they must have the same dtype");
}

/// Checks `t` as a CPU contiguous int64 tensor with `dims` dimensions (edge_index, batch, ...).
inline void check_index(const at::Tensor& t, int64_t dims, std::string_view op, std::string_view what) {
  check_cpu_contiguous(t, op, what);
  GNNPOOL_CHECK(t.scalar_type() == at::kLong, invalid_argument, op, ": ", what,
                " must be an int64 (torch.long) tensor, got ", t.scalar_type());
  GNNPOOL_CHECK(t.dim() == dims, shape_error, op, ": ", what, " must have ", dims, " dimension",
                dims == 1 ? "" : "s", ", got shape ", detail::sizes_of(t));
}

/// A read-only row-major view of a contiguous 1-D or 2-D tensor of `Scalar` (1-D: a column).
/// No copy; the tensor must outlive the map.
template <typename Scalar>
Eigen::Map<const Matrix<Scalar>> map_matrix(const at::Tensor& t) {
  const Index rows = t.dim() >= 1 ? t.size(0) : 1;
  const Index cols = t.dim() == 2 ? t.size(1) : 1;
  return Eigen::Map<const Matrix<Scalar>>(t.data_ptr<Scalar>(), rows, cols);
}

/// A tensor that views `data` (`sizes`, dtype of `Scalar`) and keeps `owner` alive as long as
/// the tensor (or a view of it) lives. No copy.
template <typename Scalar, typename Owner>
at::Tensor view_of(Owner owner, Scalar* data, at::IntArrayRef sizes) {
  int64_t numel = 1;
  for (const int64_t s : sizes) numel *= s;
  if (numel == 0) return at::empty(sizes, at::TensorOptions().dtype(scalar_type_of<Scalar>()));
  return at::from_blob(
      data, sizes, [keep = std::move(owner)](void*) mutable { keep = Owner(); },
      at::TensorOptions().dtype(scalar_type_of<Scalar>()));
}

/// A tensor that takes over `m` (moved, not copied) with shape `sizes` (m.size() entries).
template <typename Derived>
at::Tensor take(Derived&& m, at::IntArrayRef sizes) {
  using Plain = std::remove_cvref_t<Derived>;
  auto owner = std::make_shared<Plain>(std::forward<Derived>(m));
  return view_of<typename Plain::Scalar>(owner, owner->data(), sizes);
}

/// A new int64 tensor with the values of `v`.
inline at::Tensor index_tensor(const IndexVector& v) {
  at::Tensor t = at::empty({static_cast<int64_t>(v.size())}, at::TensorOptions().dtype(at::kLong));
  std::copy(v.begin(), v.end(), t.data_ptr<int64_t>());
  return t;
}

/// PyG's `batch` vector (the graph of every node) of a batch with these offsets.
inline at::Tensor batch_tensor(const IndexVector& offsets) {
  const int64_t n = offsets.empty() ? 0 : offsets.back();
  at::Tensor t = at::empty({n}, at::TensorOptions().dtype(at::kLong));
  int64_t* p = t.data_ptr<int64_t>();
  for (std::size_t b = 0; b + 1 < offsets.size(); ++b) std::fill(p + offsets[b], p + offsets[b + 1], int64_t(b));
  return t;
}

/// PyG's `edge_index` [2, E] of a CSR adjacency, in CSR order: row 0 the sources (columns),
/// row 1 the targets (rows), since adj(i, j) is the weight of the edge j -> i.
template <typename Scalar>
at::Tensor edge_index_tensor(const SparseMatrix<Scalar>& adj) {
  const int64_t m = adj.nonZeros();
  at::Tensor t = at::empty({2, m}, at::TensorOptions().dtype(at::kLong));
  int64_t* src = t.data_ptr<int64_t>();
  int64_t* dst = src + m;
  const StorageIndex* outer = adj.outerIndexPtr();
  const StorageIndex* inner = adj.innerIndexPtr();
  // Two streaming passes (a widening copy, a fill per row) rather than one interleaved loop:
  // both vectorise, and this runs on every pooled graph.
  std::copy(inner, inner + m, src);
  for (Index i = 0; i < adj.rows(); ++i) std::fill(dst + outer[i], dst + outer[i + 1], static_cast<int64_t>(i));
  return t;
}

/// Graph offsets of PyG's `batch` vector: sorted graph ids, one per node (absent: one graph).
/// `num_graphs` (PyG's `size`) fixes the number of graphs, so trailing graphs may be empty;
/// otherwise it is max(batch) + 1 (1 for an empty batch). O(N).
inline IndexVector graph_offsets(const c10::optional<at::Tensor>& batch, Index num_nodes,
                                 c10::optional<int64_t> num_graphs, std::string_view op) {
  GNNPOOL_CHECK(!num_graphs || *num_graphs >= 1, invalid_argument, op, ": the number of graphs must be >= 1, got ",
                num_graphs.value_or(0));
  IndexVector offsets{0};
  if (!batch || !batch->defined()) {
    for (int64_t b = 0; b < num_graphs.value_or(1); ++b) offsets.push_back(num_nodes);
    return offsets;
  }
  check_index(*batch, 1, op, "batch");
  GNNPOOL_CHECK(batch->size(0) == num_nodes, shape_error, op, ": batch has ", batch->size(0),
                " entries but x has ", num_nodes, " rows");
  const int64_t* g = batch->data_ptr<int64_t>();
  const int64_t graphs = num_graphs ? *num_graphs : (num_nodes == 0 ? 1 : g[num_nodes - 1] + 1);
  for (Index i = 0; i < num_nodes; ++i) {
    GNNPOOL_CHECK(g[i] >= 0, invalid_argument, op, ": batch[", i, "] = ", g[i], " is negative");
    GNNPOOL_CHECK(i == 0 || g[i] >= g[i - 1], invalid_argument, op, ": batch must be sorted, but batch[", i,
                  "] = ", g[i], " < batch[", i - 1, "] = ", g[i - 1]);
    GNNPOOL_CHECK(g[i] < graphs, invalid_argument, op, ": batch[", i, "] = ", g[i], " but there are only ",
                  graphs, " graphs");
    while (static_cast<int64_t>(offsets.size()) <= g[i]) offsets.push_back(i);
  }
  while (static_cast<int64_t>(offsets.size()) <= graphs) offsets.push_back(num_nodes);
  return offsets;
}

/// The CSR form of one `edge_index`: the adjacency with every stored value 1 (what an
/// unweighted graph is), and for every input edge e the CSR entry it went to. Duplicate edges
/// share one entry (their weights are summed, as PyG's `coalesce`).
template <typename Scalar>
struct EdgeStructure {
  SparseMatrix<Scalar> ones;
  std::vector<StorageIndex> entry;
  /// entry[e] == e for every e: edge_index was already sorted by (target, source) without
  /// duplicates, so weights and their gradients need no permutation.
  bool identity = false;
};

/// Builds the structure of `edge_index` [2, E] (int64) over `num_nodes` nodes. Checks every
/// index. O(N + E) plus the sort of rows that are not already sorted by source.
template <typename Scalar>
std::shared_ptr<const EdgeStructure<Scalar>> build_edge_structure(const at::Tensor& edge_index, Index num_nodes,
                                                                  std::string_view op) {
  const int64_t m = edge_index.size(1);
  GNNPOOL_CHECK(m <= int64_t(std::numeric_limits<StorageIndex>::max()), invalid_argument, op, ": ", m,
                " edges exceed the 32-bit storage index");
  const int64_t* src = edge_index.data_ptr<int64_t>();
  const int64_t* dst = src + m;
  const auto n = static_cast<std::size_t>(num_nodes);
  std::vector<StorageIndex> start(n + 1, 0);
  for (int64_t e = 0; e < m; ++e) {
    GNNPOOL_CHECK(src[e] >= 0 && src[e] < num_nodes, invalid_argument, op, ": edge_index[0, ", e, "] = ", src[e],
                  " is out of range for ", num_nodes, " nodes");
    GNNPOOL_CHECK(dst[e] >= 0 && dst[e] < num_nodes, invalid_argument, op, ": edge_index[1, ", e, "] = ", dst[e],
                  " is out of range for ", num_nodes, " nodes");
    ++start[static_cast<std::size_t>(dst[e]) + 1];
  }
  for (std::size_t i = 0; i < n; ++i) start[i + 1] += start[i];
  // Edge ids by target row, in input order within a row.
  std::vector<StorageIndex> order(static_cast<std::size_t>(m));
  {
    std::vector<StorageIndex> next(start.begin(), start.end() - 1);
    for (int64_t e = 0; e < m; ++e) order[static_cast<std::size_t>(next[static_cast<std::size_t>(dst[e])]++)] = static_cast<StorageIndex>(e);
  }
  auto s = std::make_shared<EdgeStructure<Scalar>>();
  s->entry.resize(static_cast<std::size_t>(m));
  SparseMatrix<Scalar>& a = s->ones;
  a.resize(num_nodes, num_nodes);
  a.resizeNonZeros(m);
  StorageIndex* outer = a.outerIndexPtr();
  StorageIndex* inner = a.innerIndexPtr();
  StorageIndex nnz = 0;
  bool identity = true;
  outer[0] = 0;
  for (std::size_t i = 0; i < n; ++i) {
    StorageIndex* first = order.data() + start[i];
    StorageIndex* last = order.data() + start[i + 1];
    const auto by_source = [&](StorageIndex p, StorageIndex q) { return src[p] < src[q] || (src[p] == src[q] && p < q); };
    if (!std::is_sorted(first, last, by_source)) std::sort(first, last, by_source);
    for (StorageIndex* it = first; it != last; ++it) {
      const auto col = static_cast<StorageIndex>(src[*it]);
      if (nnz == outer[i] || inner[nnz - 1] != col) inner[nnz++] = col;  // else: a duplicate
      s->entry[static_cast<std::size_t>(*it)] = nnz - 1;
      identity = identity && *it == nnz - 1;
    }
    outer[i + 1] = nnz;
  }
  a.data().resize(nnz);
  std::fill(a.valuePtr(), a.valuePtr() + nnz, Scalar(1));
  s->identity = identity;
  return s;
}

namespace detail {

/// How many converted `edge_index` structures each scalar type keeps (0: none).
inline std::atomic<std::size_t>& structure_cache_capacity_ref() {
  static std::atomic<std::size_t> capacity{4};
  return capacity;
}

/// The cache of edge structures of one scalar type: least recently used first out. An entry
/// matches only the very tensor it was built from (a weak reference to its TensorImpl: a freed
/// tensor never matches, even if its memory is reused), at the same version (any in-place
/// change through torch bumps it), data pointer, size and node count.
template <typename Scalar>
class StructureCache {
 public:
  static StructureCache& instance() {
    static StructureCache cache;
    return cache;
  }

  std::shared_ptr<const EdgeStructure<Scalar>> get(const at::Tensor& edge_index, Index num_nodes, std::string_view op) {
    const std::size_t capacity = structure_cache_capacity_ref().load();
    // Inference tensors (torch.inference_mode) have no version counter: not cached.
    if (capacity == 0 || edge_index.is_inference()) return build_edge_structure<Scalar>(edge_index, num_nodes, op);
    const Key key = key_of(edge_index, num_nodes);
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      for (std::size_t i = 0; i < m_entries.size(); ++i)
        if (matches(m_entries[i], key, edge_index)) {
          std::rotate(m_entries.begin() + static_cast<std::ptrdiff_t>(i), m_entries.begin() + static_cast<std::ptrdiff_t>(i) + 1,
                      m_entries.end());  // most recent last
          return m_entries.back().value;
        }
    }
    auto value = build_edge_structure<Scalar>(edge_index, num_nodes, op);
    std::lock_guard<std::mutex> lock(m_mutex);
    std::erase_if(m_entries, [](const Entry& e) { return e.tensor.expired(); });
    while (!m_entries.empty() && m_entries.size() >= capacity) m_entries.erase(m_entries.begin());
    m_entries.push_back(Entry{c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl>(edge_index.getIntrusivePtr()),
                              key, value});
    return value;
  }

  void clear() {
    std::lock_guard<std::mutex> lock(m_mutex);
    m_entries.clear();
  }

 private:
  struct Key {
    int64_t version;
    const void* data;
    int64_t numel;
    Index num_nodes;
  };
  struct Entry {
    c10::weak_intrusive_ptr<c10::TensorImpl, c10::UndefinedTensorImpl> tensor;
    Key key;
    std::shared_ptr<const EdgeStructure<Scalar>> value;
  };

  static Key key_of(const at::Tensor& t, Index num_nodes) { return Key{t._version(), t.data_ptr(), t.numel(), num_nodes}; }
  static bool matches(const Entry& e, const Key& k, const at::Tensor& t) {
    if (e.key.version != k.version || e.key.data != k.data || e.key.numel != k.numel || e.key.num_nodes != k.num_nodes)
      return false;
    const auto alive = e.tensor.lock();
    return alive && alive.get() == t.unsafeGetTensorImpl();
  }

  std::mutex m_mutex;
  std::vector<Entry> m_entries;
};

}  // namespace detail

namespace detail {

/// How many spare buffer sets each kind of call keeps (`set_buffer_cache_capacity`).
inline std::atomic<std::size_t>& buffer_cache_capacity_ref() {
  static std::atomic<std::size_t> capacity{2};
  return capacity;
}

/// The `clear` functions of every `BufferCache` in use (each registers itself when first used).
struct BufferCacheRegistry {
  std::mutex mutex;
  std::vector<void (*)()> clear;
  static BufferCacheRegistry& instance() {
    static auto* r = new BufferCacheRegistry();  // never destroyed, as the caches
    return *r;
  }
};

/// Spare buffers of one kind `T` (a layer call's output, cache and gradient buffers; or the
/// gradient matrices handed to torch), left by finished calls for the next ones. A training step
/// then writes into the previous step's memory instead of asking the allocator again for tens of
/// megabytes, which glibc (as installed) returns to the kernel at every free and faults in
/// again at every call: the bridge's main overhead at S100k (docs/performance.md). A `T` holds
/// gnnpool matrices only, never a tensor, so the cache keeps no user data alive. At most
/// `slots` spare buffers (capacity x `per_capacity`); the oldest goes first.
template <typename T, std::size_t per_capacity = 1>
class BufferCache {
 public:
  static BufferCache& instance() {
    // Never destroyed: a call may end (a tensor held in static storage dies) after the static
    // destructors ran.
    static auto* cache = [] {
      auto* c = new BufferCache();
      auto& registry = BufferCacheRegistry::instance();
      std::lock_guard<std::mutex> lock(registry.mutex);
      registry.clear.push_back([] { instance().clear(); });
      return c;
    }();
    return *cache;
  }

  /// A spare buffer for which `fits` holds (the most recent such), or a new one.
  template <typename Fits>
  std::unique_ptr<T> take(Fits fits) {
    {
      std::lock_guard<std::mutex> lock(m_mutex);
      for (std::size_t i = m_spare.size(); i-- > 0;)
        if (fits(*m_spare[i])) {
          std::unique_ptr<T> p = std::move(m_spare[i]);
          m_spare.erase(m_spare.begin() + static_cast<std::ptrdiff_t>(i));
          return p;
        }
    }
    return std::make_unique<T>();
  }
  std::unique_ptr<T> take() {
    return take([](const T&) { return true; });
  }

  /// Keeps `p` for a later call (or frees it when the cache is full or off).
  void give(std::unique_ptr<T> p) {
    if (!p) return;
    const std::size_t slots = buffer_cache_capacity_ref().load() * per_capacity;
    std::unique_ptr<T> evicted;  // freed outside the lock
    std::lock_guard<std::mutex> lock(m_mutex);
    if (slots == 0) return;
    if (m_spare.size() >= slots) {
      evicted = std::move(m_spare.front());
      m_spare.erase(m_spare.begin());
    }
    m_spare.push_back(std::move(p));
  }

  void clear() {
    std::vector<std::unique_ptr<T>> spare;
    std::lock_guard<std::mutex> lock(m_mutex);
    spare.swap(m_spare);
  }

 private:
  std::mutex m_mutex;
  std::vector<std::unique_ptr<T>> m_spare;
};

/// The gradient matrices handed to torch (dL/dx of every call): more of them than layers, as
/// a step hands out one per layer and they come back when torch frees them.
template <typename Scalar>
using GradientCache = BufferCache<Matrix<Scalar>, 8>;

/// A matrix of rows x cols from the gradient cache (the memory of a freed gradient of the
/// same size when there is one; contents unspecified).
template <typename Scalar>
Matrix<Scalar> gradient_matrix(Index rows, Index cols) {
  const Index size = rows * cols;
  std::unique_ptr<Matrix<Scalar>> p = GradientCache<Scalar>::instance().take([size](const Matrix<Scalar>& m) { return m.size() == size; });
  Matrix<Scalar> m = std::move(*p);
  m.resize(rows, cols);
  return m;
}

}  // namespace detail

/// A tensor that takes over the gradient matrix `m` (moved, not copied) with shape `sizes`;
/// when torch frees the tensor, the matrix goes back to the gradient cache for the next call.
template <typename Scalar>
at::Tensor take_gradient(Matrix<Scalar>&& m, at::IntArrayRef sizes) {
  std::shared_ptr<Matrix<Scalar>> owner(new Matrix<Scalar>(std::move(m)), [](Matrix<Scalar>* p) {
    detail::GradientCache<Scalar>::instance().give(std::unique_ptr<Matrix<Scalar>>(p));
  });
  return view_of<Scalar>(owner, owner->data(), sizes);
}

/// Sets how many spare buffer sets the bridge keeps per kind of layer call (default 2; 0 turns
/// the cache off and frees what it holds) and returns the previous capacity. The buffers are
/// the outputs, caches and gradients of finished calls; the next call of the same layer type
/// writes into them. Set 0 to give the memory back between, say, training and serving.
inline std::size_t set_buffer_cache_capacity(std::size_t capacity) {
  const std::size_t old = detail::buffer_cache_capacity_ref().exchange(capacity);
  if (capacity == 0) {
    auto& registry = detail::BufferCacheRegistry::instance();
    std::vector<void (*)()> clear;
    {
      std::lock_guard<std::mutex> lock(registry.mutex);
      clear = registry.clear;
    }
    for (auto* f : clear) f();
  }
  return old;
}

/// Sets how many `edge_index` conversions each scalar type keeps (default 4; 0 turns the cache
/// off and empties it) and returns the previous capacity. Only a tensor changed in place
/// without torch knowing (through a NumPy array sharing its memory, say) would be missed: turn
/// the cache off for such code.
inline std::size_t set_structure_cache_capacity(std::size_t capacity) {
  const std::size_t old = detail::structure_cache_capacity_ref().exchange(capacity);
  if (capacity == 0) {
    detail::StructureCache<float>::instance().clear();
    detail::StructureCache<double>::instance().clear();
  }
  return old;
}

/// The CSR structure of `edge_index` [2, E] (int64, CPU, contiguous) over `num_nodes` nodes,
/// from the cache when this tensor was converted before. Checks the tensor and every index.
template <typename Scalar>
std::shared_ptr<const EdgeStructure<Scalar>> edge_structure(const at::Tensor& edge_index, Index num_nodes,
                                                            std::string_view op) {
  check_index(edge_index, 2, op, "edge_index");
  GNNPOOL_CHECK(edge_index.size(0) == 2, shape_error, op, ": edge_index must be [2, E], got ",
                detail::sizes_of(edge_index));
  return detail::StructureCache<Scalar>::instance().get(edge_index, num_nodes, op);
}

/// `structure.ones` with the values of `edge_weight` [E] (input edge order) in CSR order,
/// duplicates summed: a copy of the structure and of the values. Checks dtype and size.
template <typename Scalar>
void weighted_adjacency(const EdgeStructure<Scalar>& structure, const at::Tensor& edge_weight, SparseMatrix<Scalar>& out,
                        std::string_view op) {
  check_floating(edge_weight, 1, op, "edge_weight");
  GNNPOOL_CHECK(edge_weight.scalar_type() == scalar_type_of<Scalar>(), invalid_argument, op, ": edge_weight is ",
                edge_weight.scalar_type(), " but x is ", scalar_type_of<Scalar>(), "; they must have the same dtype");
  const auto m = static_cast<int64_t>(structure.entry.size());
  GNNPOOL_CHECK(edge_weight.size(0) == m, shape_error, op, ": edge_weight has ", edge_weight.size(0),
                " entries but edge_index has ", m, " edges");
  out = structure.ones;
  const Scalar* w = edge_weight.data_ptr<Scalar>();
  Scalar* v = out.valuePtr();
  if (structure.identity) {
    std::copy(w, w + m, v);
  } else {
    std::fill(v, v + out.nonZeros(), Scalar(0));
    for (int64_t e = 0; e < m; ++e) v[structure.entry[static_cast<std::size_t>(e)]] += w[e];
  }
}

/// dL/d(edge_weight) [E] in input edge order from dL/dA on the stored entries (CSR order):
/// each edge gets the gradient of the entry it was summed into.
template <typename Scalar>
at::Tensor edge_weight_gradient(const EdgeStructure<Scalar>& structure, Vector<Scalar>&& dadj) {
  const auto m = static_cast<int64_t>(structure.entry.size());
  if (structure.identity) return take(std::move(dadj), {m});
  at::Tensor g = at::empty({m}, at::TensorOptions().dtype(scalar_type_of<Scalar>()));
  Scalar* out = g.data_ptr<Scalar>();
  for (int64_t e = 0; e < m; ++e) out[e] = dadj[structure.entry[static_cast<std::size_t>(e)]];
  return g;
}

}  // namespace gnnpool::pyg

#endif
