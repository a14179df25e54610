#ifndef GNNPOOL_POOL_PYRAMID_HPP
#define GNNPOOL_POOL_PYRAMID_HPP

/// \file
/// `Pyramid`: precomputed coarsening pyramids for the poolers whose selection does not depend
/// on the features (Graclus, NDP, k-MIS with a non-trainable score): L levels of hard
/// selections and coarse adjacencies computed once per graph, batched and reused every epoch,
/// saved to and loaded from a versioned binary file (format in docs/one-over-k.md).

#include <gnnpool/connect/cluster.hpp>
#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parallel.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/bytes.hpp>
#include <gnnpool/reduce/cluster.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gnnpool {

/// One coarsening step: `selection` maps the nodes of level l to the nodes of level l + 1,
/// `adj` is the adjacency of level l + 1 (num_supernodes square, block-diagonal over
/// `selection.offsets`).
template <typename Scalar_>
struct PyramidLevel {
  using Scalar = Scalar_;
  HardSelection<Scalar> selection;
  SparseMatrix<Scalar> adj;
};

/// The coarsening pyramid of one batch (usually one graph of a dataset): the node count and
/// graph offsets of level 0 and L levels. Level l has `level_size(l)` nodes; level 0 is the
/// input graph (its adjacency is the dataset's and is not stored).
template <typename Scalar_>
struct Pyramid {
  using Scalar = Scalar_;
  Index num_nodes = 0;
  IndexVector offsets{0};
  std::vector<PyramidLevel<Scalar>> levels;

  Index num_levels() const { return static_cast<Index>(levels.size()); }
  Index num_graphs() const { return static_cast<Index>(offsets.size()) - 1; }
  /// Nodes of level l, 0 <= l <= num_levels().
  Index level_size(Index l) const {
    return l == 0 ? num_nodes : levels[static_cast<std::size_t>(l - 1)].selection.num_supernodes();
  }
  /// Graph offsets of level l.
  const IndexVector& level_offsets(Index l) const {
    return l == 0 ? offsets : levels[static_cast<std::size_t>(l - 1)].selection.offsets;
  }
};

namespace detail {

template <typename Scalar>
bool same_sparse(const SparseMatrix<Scalar>& a, const SparseMatrix<Scalar>& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols() || a.nonZeros() != b.nonZeros()) return false;
  const auto nz = static_cast<std::size_t>(a.nonZeros());
  return std::equal(a.outerIndexPtr(), a.outerIndexPtr() + a.rows() + 1, b.outerIndexPtr()) &&
         std::equal(a.innerIndexPtr(), a.innerIndexPtr() + nz, b.innerIndexPtr()) &&
         std::equal(a.valuePtr(), a.valuePtr() + nz, b.valuePtr());
}

}  // namespace detail

/// Exact equality (every index and every value, bit for bit up to -0 == 0).
template <typename Scalar>
bool operator==(const PyramidLevel<Scalar>& a, const PyramidLevel<Scalar>& b) {
  return a.selection.assignment == b.selection.assignment && a.selection.weight == b.selection.weight &&
         a.selection.representative == b.selection.representative && a.selection.offsets == b.selection.offsets &&
         detail::same_sparse(a.adj, b.adj);
}

template <typename Scalar>
bool operator==(const Pyramid<Scalar>& a, const Pyramid<Scalar>& b) {
  return a.num_nodes == b.num_nodes && a.offsets == b.offsets && a.levels == b.levels;
}

/// Checks that the levels of `p` fit together: each selection covers the nodes of its level
/// with graph offsets of the same length, assignments and representatives in range, offsets
/// non-decreasing and ending at the level's size, adjacency square, compressed, in range and
/// block-diagonal. Throws `invalid_argument` naming `where`, the level and the sizes. O(sum of
/// the level sizes and edges).
template <typename Scalar>
void check_pyramid(const Pyramid<Scalar>& p, std::string_view where) {
  auto check_offsets = [&](const IndexVector& off, Index n, Index l, std::string_view what) {
    GNNPOOL_CHECK(off.size() == p.offsets.size() && !off.empty() && off.front() == 0 && off.back() == n,
                  invalid_argument, where, ": level ", l, " ", what, " has ", off.size(), " entries from ",
                  off.empty() ? 0 : off.front(), " to ", off.empty() ? 0 : off.back(), "; expected ",
                  p.offsets.size(), " from 0 to ", n);
    for (std::size_t b = 1; b < off.size(); ++b)
      GNNPOOL_CHECK(off[b] >= off[b - 1], invalid_argument, where, ": level ", l, " ", what,
                    " decrease at entry ", b);
  };
  GNNPOOL_CHECK(p.num_nodes >= 0, invalid_argument, where, ": negative node count ", p.num_nodes);
  check_offsets(p.offsets, p.num_nodes, 0, "graph offsets");
  for (Index l = 0; l < p.num_levels(); ++l) {
    const auto& lvl = p.levels[static_cast<std::size_t>(l)];
    const auto& s = lvl.selection;
    const Index n = p.level_size(l), m = s.num_supernodes();
    GNNPOOL_CHECK(s.num_nodes() == n && s.weight.size() == n, invalid_argument, where, ": level ", l,
                  " selection has ", s.num_nodes(), " assignments and ", s.weight.size(),
                  " weights for ", n, " nodes");
    check_offsets(s.offsets, m, l + 1, "supernode offsets");
    const IndexVector& in_off = p.level_offsets(l);
    for (Index b = 0; b < p.num_graphs(); ++b)
      for (Index i = in_off[static_cast<std::size_t>(b)]; i < in_off[static_cast<std::size_t>(b + 1)]; ++i) {
        const Index a = s.assignment[static_cast<std::size_t>(i)];
        GNNPOOL_CHECK(a == HardSelection<Scalar>::dropped ||
                          (a >= s.offsets[static_cast<std::size_t>(b)] && a < s.offsets[static_cast<std::size_t>(b + 1)]),
                      invalid_argument, where, ": level ", l, " assigns node ", i, " of graph ", b,
                      " to supernode ", a, ", outside the graph's supernodes ", s.offsets[static_cast<std::size_t>(b)],
                      "..", s.offsets[static_cast<std::size_t>(b + 1)] - 1);
      }
    for (Index c = 0; c < m; ++c)
      check_node_index(s.representative[static_cast<std::size_t>(c)], n, where, "representative");
    GNNPOOL_CHECK(lvl.adj.rows() == m && lvl.adj.cols() == m, invalid_argument, where, ": level ", l,
                  " adjacency is ", detail::shape(lvl.adj.rows(), lvl.adj.cols()), " for ", m, " supernodes");
    Batch<Scalar> coarse;
    coarse.adj = lvl.adj;
    coarse.x.resize(m, 0);
    coarse.offsets = s.offsets;
    check_batch(coarse, where);
  }
}

/// A coarsening step from a select policy with a hard selection and a connect policy (default
/// `ClusterConnect`): `NDPSelect` + `KronConnect`, `GraclusSelect` + `ClusterConnect`,
/// `KMISSelect` (non-trainable score) + `ClusterConnect`, or any user policy pair. Throws
/// `invalid_argument` when the selector says it reads the features (`feature_independent()`).
template <typename Select, typename Connect = ClusterConnect<typename Select::Scalar>>
auto make_coarsener(Select select, Connect connect = Connect{}) {
  using Scalar = typename Select::Scalar;
  if constexpr (requires { select.feature_independent(); })
    GNNPOOL_CHECK(select.feature_independent(), invalid_argument,
                  "make_coarsener: the selector depends on the node features (for example k-MIS with the "
                  "linear scorer), so its selections cannot be precomputed");
  return [select = std::move(select), connect = std::move(connect)](const BatchRef<Scalar>& graph, Index) {
    PyramidLevel<Scalar> level;
    typename Select::Cache select_cache;
    select.forward(ParameterSet<Scalar>{}, graph, level.selection, select_cache);
    typename Connect::Cache connect_cache;
    connect.forward(graph, level.selection, level.adj, connect_cache);
    return level;
  };
}

/// Builds L levels of `graph` (its x is not read). `coarsen(level_graph, l)` is called with the
/// level-l graph (adjacency and offsets of level l, x with 0 columns) and returns either a
/// `PyramidLevel` or a `HardSelection` (then connected with `ClusterConnect`). Each returned
/// level is checked (`check_pyramid`). Cost: the sum of the coarsening steps.
template <typename Scalar, typename Coarsen>
Pyramid<Scalar> build_pyramid(const Batch<Scalar>& graph, Index levels, Coarsen&& coarsen) {
  constexpr std::string_view where = "build_pyramid";
  GNNPOOL_CHECK(levels >= 0, invalid_argument, where, ": the number of levels must be >= 0, got ", levels);
  check_batch(graph, where);
  Pyramid<Scalar> p;
  p.num_nodes = graph.num_nodes();
  p.offsets = graph.offsets;
  Batch<Scalar> current;
  current.adj = graph.adj;
  current.offsets = graph.offsets;
  current.x.resize(graph.num_nodes(), 0);
  for (Index l = 0; l < levels; ++l) {
    using Result = std::decay_t<decltype(coarsen(std::as_const(current), l))>;
    PyramidLevel<Scalar> level;
    if constexpr (std::is_same_v<Result, HardSelection<Scalar>>) {
      level.selection = coarsen(std::as_const(current), l);
      typename ClusterConnect<Scalar>::Cache cache;
      ClusterConnect<Scalar>().forward(current, level.selection, level.adj, cache);
    } else {
      static_assert(std::is_same_v<Result, PyramidLevel<Scalar>>,
                    "build_pyramid: coarsen(graph, level) must return a PyramidLevel or a HardSelection");
      level = coarsen(std::as_const(current), l);
    }
    p.levels.push_back(std::move(level));
    check_pyramid(p, where);
    const auto& last = p.levels.back();
    current.adj = last.adj;
    current.offsets = last.selection.offsets;
    current.x.resize(last.selection.num_supernodes(), 0);
  }
  return p;
}

/// The pyramid of the disjoint union of `parts` (a mini-batch of a dataset whose graphs were
/// coarsened one by one): level by level, selections and adjacencies are stacked with their
/// node and supernode indices shifted. Every part must have the same number of levels.
/// Equals `build_pyramid` of the concatenated batch for the selectors of gnnpool, which treat
/// each graph on its own. Cost: O(total size).
template <typename Scalar>
Pyramid<Scalar> concatenate_pyramids(std::span<const Pyramid<Scalar>> parts) {
  constexpr std::string_view where = "concatenate_pyramids";
  GNNPOOL_CHECK(!parts.empty(), invalid_argument, where, ": no pyramids given");
  const Index levels = parts.front().num_levels();
  Pyramid<Scalar> out;
  out.levels.resize(static_cast<std::size_t>(levels));
  for (std::size_t k = 0; k < parts.size(); ++k)
    GNNPOOL_CHECK(parts[k].num_levels() == levels, invalid_argument, where, ": pyramid ", k, " has ",
                  parts[k].num_levels(), " levels but pyramid 0 has ", levels);
  auto append_offsets = [](IndexVector& to, const IndexVector& from, Index shift) {
    for (std::size_t b = 1; b < from.size(); ++b) to.push_back(from[b] + shift);
  };
  for (const auto& part : parts) {
    append_offsets(out.offsets, part.offsets, out.num_nodes);
    out.num_nodes += part.num_nodes;
  }
  for (Index l = 0; l < levels; ++l) {
    auto& level = out.levels[static_cast<std::size_t>(l)];
    auto& s = level.selection;
    Index n = 0, m = 0, nnz = 0, total = 0;
    for (const auto& part : parts) {
      n += part.level_size(l);
      m += part.level_size(l + 1);
      nnz += part.levels[static_cast<std::size_t>(l)].adj.nonZeros();
    }
    s.weight.resize(n);
    s.assignment.reserve(static_cast<std::size_t>(n));
    s.representative.reserve(static_cast<std::size_t>(m));
    level.adj.resize(m, m);
    level.adj.resizeNonZeros(nnz);
    level.adj.outerIndexPtr()[0] = 0;
    Index node_shift = 0, super_shift = 0, pos = 0;
    for (const auto& part : parts) {
      const auto& ps = part.levels[static_cast<std::size_t>(l)].selection;
      const auto& pa = part.levels[static_cast<std::size_t>(l)].adj;
      for (const Index a : ps.assignment) s.assignment.push_back(a < 0 ? a : a + super_shift);
      s.weight.segment(total, ps.weight.size()) = ps.weight;
      total += ps.weight.size();
      for (const Index r : ps.representative) s.representative.push_back(r + node_shift);
      append_offsets(s.offsets, ps.offsets, super_shift);
      for (Index r = 0; r < pa.rows(); ++r) {
        for (StorageIndex p = pa.outerIndexPtr()[r]; p < pa.outerIndexPtr()[r + 1]; ++p, ++pos) {
          level.adj.innerIndexPtr()[pos] = static_cast<StorageIndex>(pa.innerIndexPtr()[p] + super_shift);
          level.adj.valuePtr()[pos] = pa.valuePtr()[p];
        }
        level.adj.outerIndexPtr()[super_shift + r + 1] = static_cast<StorageIndex>(pos);
      }
      node_shift += part.level_size(l);
      super_shift += part.level_size(l + 1);
    }
  }
  return out;
}

/// Pooling with a precomputed pyramid level: the features of level l are reduced with the
/// stored selection (`ClusterReduce`), the adjacency and offsets of level l + 1 are the stored
/// ones (no selection or connection is computed in the training loop).
///
/// Forward: out.x = reduce(in.x, levels[l].selection), out.adj = levels[l].adj,
/// out.offsets = levels[l].selection.offsets. Backward: dL/dX of the reduce (the stored
/// adjacency is a constant; the selection weights too). Shapes: in must be the level-l graph
/// (level_size(l) nodes, the level's offsets). Cache: the reduce's. Cost: O(N_l F) plus a copy
/// of the level's adjacency.
template <typename Scalar_>
class PyramidPool {
 public:
  using Scalar = Scalar_;

  struct Cache {
    typename ClusterReduce<Scalar>::Cache reduce;
  };

  explicit PyramidPool(ClusterReduceOptions reduce = {}) : m_reduce(reduce) {}

  void forward(const Pyramid<Scalar>& pyramid, Index level, const BatchRef<Scalar>& in, Batch<Scalar>& out,
               Cache& cache) const {
    check_level(pyramid, level, in);
    const auto& lvl = pyramid.levels[static_cast<std::size_t>(level)];
    m_reduce.forward(in, lvl.selection, out.x, cache.reduce);
    detail::copy_sparse(lvl.adj, out.adj);
    out.offsets = lvl.selection.offsets;
  }

  /// ASSIGNS dx (N_l x F).
  void backward(const Pyramid<Scalar>& pyramid, Index level, const BatchRef<Scalar>& in, const Cache& cache,
                const Matrix<Scalar>& dx_out, Matrix<Scalar>& dx) const {
    check_level(pyramid, level, in);
    const auto& sel = pyramid.levels[static_cast<std::size_t>(level)].selection;
    BatchGrad<Scalar> din;
    din.x.swap(dx);  // reuse the caller's buffer: a fresh N x F one would be faulted in again
    detail::set_zero_rows(din.x, in.x.rows(), in.x.cols());
    Vector<Scalar> dw = Vector<Scalar>::Zero(sel.weight.size());
    m_reduce.backward(in, sel, cache.reduce, dx_out, din, dw);
    dx.swap(din.x);
  }

 private:
  static void check_level(const Pyramid<Scalar>& pyramid, Index level, const BatchRef<Scalar>& in) {
    constexpr std::string_view layer = "PyramidPool";
    GNNPOOL_CHECK(level >= 0 && level < pyramid.num_levels(), invalid_argument, layer, ": level ", level,
                  " does not exist (the pyramid has ", pyramid.num_levels(), " levels)");
    GNNPOOL_CHECK(in.x.rows() == pyramid.level_size(level) && in.offsets == pyramid.level_offsets(level),
                  shape_error, layer, ": the batch has ", in.x.rows(), " nodes in ", in.num_graphs(),
                  " graphs but level ", level, " of the pyramid has ", pyramid.level_size(level), " nodes in ",
                  pyramid.num_graphs(), " graphs (with other offsets if the counts agree)");
  }

  ClusterReduce<Scalar> m_reduce;
};

// ---------------------------------------------------------------------------------------------
// File format (little-endian; see docs/one-over-k.md for the table):
//   header  : magic "GNNPPYR\0" (8 bytes), u32 version = 1, u32 scalar bytes (4 or 8),
//             u64 pyramid count, u64 payload bytes
//   payload : per pyramid: u64 N0, u64 B, i64 offsets[B+1], u64 L, then per level:
//             u64 M, i64 assignment[N_l], scalar weight[N_l], i64 representative[M],
//             i64 supernode offsets[B+1], u64 nnz, i64 outer[M+1], i32 inner[nnz],
//             scalar values[nnz]
//   trailer : u64 FNV-1a 64 hash of the payload bytes
// ---------------------------------------------------------------------------------------------

namespace detail {

inline constexpr char pyramid_magic[8] = {'G', 'N', 'N', 'P', 'P', 'Y', 'R', '\0'};
inline constexpr std::uint32_t pyramid_version = 1;
inline constexpr std::size_t pyramid_header_bytes = 32;

/// Appends one pyramid's payload record (format above) to `w`.
template <typename Scalar>
void put_pyramid(ByteWriter& w, const Pyramid<Scalar>& p) {
  w.put<std::uint64_t>(static_cast<std::uint64_t>(p.num_nodes));
  w.put<std::uint64_t>(static_cast<std::uint64_t>(p.num_graphs()));
  for (const Index o : p.offsets) w.put<std::int64_t>(o);
  w.put<std::uint64_t>(static_cast<std::uint64_t>(p.num_levels()));
  for (const auto& lvl : p.levels) {
    const auto& s = lvl.selection;
    w.put<std::uint64_t>(static_cast<std::uint64_t>(s.num_supernodes()));
    for (const Index a : s.assignment) w.put<std::int64_t>(a);
    for (Index i = 0; i < s.weight.size(); ++i) w.put<Scalar>(s.weight[i]);
    for (const Index r : s.representative) w.put<std::int64_t>(r);
    for (const Index o : s.offsets) w.put<std::int64_t>(o);
    w.put<std::uint64_t>(static_cast<std::uint64_t>(lvl.adj.nonZeros()));
    for (Index r = 0; r <= lvl.adj.rows(); ++r) w.put<std::int64_t>(lvl.adj.outerIndexPtr()[r]);
    for (Index e = 0; e < lvl.adj.nonZeros(); ++e) w.put<std::int32_t>(lvl.adj.innerIndexPtr()[e]);
    for (Index e = 0; e < lvl.adj.nonZeros(); ++e) w.put<Scalar>(lvl.adj.valuePtr()[e]);
  }
}

inline constexpr FileKind pyramid_file{pyramid_magic, pyramid_version, "pyramid file", "GNNPPYR\\0",
                                      "the pyramid count"};

/// Writes a pyramid file from the concatenated payload records of `count` pyramids: header,
/// payload, checksum. `who` names the caller in errors.
inline void write_pyramid_file(const std::string& path, std::uint32_t scalar_bytes, std::uint64_t count,
                               const std::vector<unsigned char>& payload, std::string_view who) {
  write_versioned_file(path, pyramid_file, scalar_bytes, count, payload, who);
}

}  // namespace detail

/// Writes `pyramids` to `path` (format above, values in the pyramids' own Scalar). Throws
/// `gnnpool::error` when the file cannot be written.
template <typename Scalar>
void save_pyramids(const std::string& path, std::span<const Pyramid<Scalar>> pyramids) {
  static_assert(sizeof(Scalar) == 4 || sizeof(Scalar) == 8, "save_pyramids: Scalar must be float or double");
  for (const auto& p : pyramids) check_pyramid(p, "save_pyramids");
  detail::ByteWriter w;
  for (const auto& p : pyramids) detail::put_pyramid(w, p);
  detail::write_pyramid_file(path, static_cast<std::uint32_t>(sizeof(Scalar)),
                             static_cast<std::uint64_t>(pyramids.size()), w.bytes, "save_pyramids");
}

/// One pyramid.
template <typename Scalar>
void save_pyramid(const std::string& path, const Pyramid<Scalar>& pyramid) {
  save_pyramids<Scalar>(path, std::span<const Pyramid<Scalar>>(&pyramid, 1));
}

/// Reads a file written by `save_pyramids` (values converted to Scalar if the file holds the
/// other precision). Everything is checked before anything is returned: magic, version,
/// length, checksum, then every count against the bytes left and every pyramid with
/// `check_pyramid`. Throws `gnnpool::parse_error` naming the file, the byte offset and what was
/// expected; nothing is half-loaded.
template <typename Scalar>
std::vector<Pyramid<Scalar>> load_pyramids(const std::string& path) {
  const detail::VersionedFile file = detail::read_versioned_file(path, detail::pyramid_file);
  const auto& bytes = file.bytes;
  const auto scalar_bytes = file.scalar_bytes;
  const auto count = file.count;
  const auto payload = file.payload;
  const std::size_t end = file.end;
  detail::ByteReader r(bytes, detail::pyramid_header_bytes, end, path);
  // Every value must be finite in the Scalar read into (a double file read as float can hold
  // values beyond float's range).
  auto scalar = [&](std::string_view what) -> Scalar {
    const std::size_t at = r.position();
    const double v = scalar_bytes == 4 ? static_cast<double>(r.get<float>(what)) : r.get<double>(what);
    GNNPOOL_CHECK(std::abs(v) <= static_cast<double>(std::numeric_limits<Scalar>::max()), parse_error, path,
                  ": corrupt at byte ", at, ": ", what, " is ", v, ", not a finite ",
                  sizeof(Scalar) == 4 ? "float" : "double");
    return static_cast<Scalar>(v);
  };
  auto indices = [&](IndexVector& v, Index n, std::string_view what) {
    r.need_items(n, 8, what);
    v.resize(static_cast<std::size_t>(n));
    for (auto& x : v) x = static_cast<Index>(r.get<std::int64_t>(what));
  };
  std::vector<Pyramid<Scalar>> out;
  GNNPOOL_CHECK(count <= payload / 32, parse_error, path, ": corrupt header: ", count, " pyramids cannot fit in ",
                payload, " bytes");
  out.resize(static_cast<std::size_t>(count));
  for (std::size_t k = 0; k < out.size(); ++k) {
    auto& p = out[k];
    const std::string where = path + ": pyramid " + std::to_string(k);
    p.num_nodes = r.count("the node count", 0);  // per-node data is counted where it is read
    const Index graphs = r.count("the graph count", 8);
    indices(p.offsets, graphs + 1, "the graph offsets");
    const Index levels = r.count("the level count", 8);
    p.levels.resize(static_cast<std::size_t>(levels));
    for (Index l = 0; l < levels; ++l) {
      auto& lvl = p.levels[static_cast<std::size_t>(l)];
      auto& s = lvl.selection;
      const Index n = p.level_size(l);
      GNNPOOL_CHECK(n >= 0, parse_error, where, ": corrupt level ", l);
      const Index m = r.count("the supernode count", 8);
      indices(s.assignment, n, "an assignment");
      r.need_items(n, scalar_bytes, "the weights");
      s.weight.resize(n);
      for (Index i = 0; i < n; ++i) s.weight[i] = scalar("a weight");
      indices(s.representative, m, "the representatives");
      indices(s.offsets, graphs + 1, "the supernode offsets");
      const Index nnz = r.count("the edge count", 4 + scalar_bytes);
      GNNPOOL_CHECK(nnz <= static_cast<Index>(std::numeric_limits<StorageIndex>::max()), parse_error, where,
                    ": level ", l, " has ", nnz, " edges, more than the 32-bit storage index holds");
      IndexVector outer;
      indices(outer, m + 1, "the row pointers");
      GNNPOOL_CHECK(outer.front() == 0 && outer.back() == nnz, parse_error, where, ": level ", l,
                    " row pointers run from ", outer.front(), " to ", outer.back(), ", expected 0 to ", nnz);
      for (Index i = 0; i < m; ++i)
        GNNPOOL_CHECK(outer[static_cast<std::size_t>(i + 1)] >= outer[static_cast<std::size_t>(i)], parse_error,
                      where, ": level ", l, " row pointers decrease at row ", i);
      lvl.adj.resize(m, m);
      lvl.adj.resizeNonZeros(nnz);
      for (Index i = 0; i <= m; ++i) lvl.adj.outerIndexPtr()[i] = static_cast<StorageIndex>(outer[static_cast<std::size_t>(i)]);
      for (Index e = 0; e < nnz; ++e) {
        const auto c = r.get<std::int32_t>("a column index");
        GNNPOOL_CHECK(c >= 0 && c < m, parse_error, where, ": level ", l, " column index ", c,
                      " is out of range for ", m, " supernodes");
        lvl.adj.innerIndexPtr()[e] = c;
      }
      for (Index e = 0; e < nnz; ++e) lvl.adj.valuePtr()[e] = scalar("an edge value");
    }
    try {
      check_pyramid(p, where);
    } catch (const std::invalid_argument& e) {
      detail::raise<parse_error>(detail::concat("corrupt pyramid file: ", e.what()));
    }
  }
  GNNPOOL_CHECK(r.done(), parse_error, path, ": corrupt: ", end - r.position(),
                " payload bytes left after the last pyramid");
  return out;
}

}  // namespace gnnpool

#endif
