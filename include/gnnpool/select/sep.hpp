#ifndef GNNPOOL_SELECT_SEP_HPP
#define GNNPOOL_SELECT_SEP_HPP

/// \file
/// `SEPSelect`: structural entropy pooling's selection (Wu et al., "Structural Entropy Guided
/// Graph Hierarchical Pooling", ICML 2022; tgp `SEPSelect`): the depth-1 nodes of a coding tree
/// of depth 2 that greedily minimises the structural entropy become the clusters.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/parameters.hpp>
#include <gnnpool/core/selection.hpp>
#include <gnnpool/detail/coding_tree.hpp>
#include <gnnpool/select/identity.hpp>

#include <algorithm>
#include <string_view>
#include <vector>

namespace gnnpool {

/// SEP selection (non-trainable: it reads the adjacency only).
///
/// Forward, per graph: W = A + A^T without the diagonal (tgp: `remove_self_loops`, then
///   `to_undirected` with "add", which doubles a symmetric graph's weights and leaves the tree
///   unchanged); entries with W = 0 are no edges. A graph without edges keeps every node as its
///   own cluster. Otherwise each connected component (in the order of their lowest node) gets
///   its coding tree of depth 2 (`detail::CodingTree`: greedy merging by structural-entropy
///   delta, compression to height 2, balancing, in tgp's exact order and tie rules, with the
///   CPython set order where tgp depends on it); a single node is a cluster. The clusters of a
///   graph are numbered component by component, in tree-node order within one (tgp's
///   numbering), graph-major over the batch; `representative[c]` is the lowest member,
///   `weight` is all ones.
/// Backward: none (the partition is piecewise constant; no parameters). Features get their
///   gradient through the reduce, edge weights through the connect.
/// Cache: none. Cost per graph: O(E log E) for the merging plus the compression's
///   O(internal nodes x (tree height + children)); memory O(N + E). The entropy arithmetic runs
///   in double for every Scalar (tgp runs it in numpy float64).
/// Errors: `invalid_argument` for a negative edge weight (structural entropy needs weights >= 0).
template <typename Scalar_>
class SEPSelect : public detail::StructuralSelect<Scalar_> {
 public:
  using typename detail::StructuralSelect<Scalar_>::Scalar;
  using typename detail::StructuralSelect<Scalar_>::Selection;
  using typename detail::StructuralSelect<Scalar_>::Cache;

  void forward(const ParameterSet<Scalar>& /*params*/, const BatchRef<Scalar>& in, Selection& sel, Cache& /*cache*/) const {
    check_nonnegative(in.adj, "SEPSelect");
    const Index n = in.num_nodes();
    sel.assignment.assign(static_cast<std::size_t>(n), -1);
    sel.representative.clear();
    sel.offsets.assign(1, 0);
    sel.weight.setOnes(n);
    detail::CodingTree tree;
    std::vector<StorageIndex> outer, inner;
    std::vector<double> weight;
    std::vector<Index> component(static_cast<std::size_t>(n), -1), members, queue;
    for (Index b = 0; b < in.num_graphs(); ++b) {
      const Index lo = in.graph_begin(b), hi = in.graph_begin(b + 1);
      symmetric_block(in.adj, lo, hi, outer, inner, weight);
      // Components by BFS from the lowest unvisited node (scipy's labelling order).
      for (Index start = lo; start < hi; ++start) {
        if (component[static_cast<std::size_t>(start)] >= 0) continue;
        members.assign(1, start);
        component[static_cast<std::size_t>(start)] = start;
        for (std::size_t q = 0; q < members.size(); ++q) {
          const Index u = members[q] - lo;
          for (StorageIndex e = outer[static_cast<std::size_t>(u)]; e < outer[static_cast<std::size_t>(u) + 1]; ++e) {
            const Index v = inner[static_cast<std::size_t>(e)] + lo;
            if (component[static_cast<std::size_t>(v)] >= 0) continue;
            component[static_cast<std::size_t>(v)] = start;
            members.push_back(v);
          }
        }
        std::sort(members.begin(), members.end());
        if (members.size() == 1) {
          add_cluster(sel, members);
          continue;
        }
        // The component's own CSR, with local indices in ascending node order.
        std::vector<StorageIndex> c_outer{0}, c_inner;
        std::vector<double> c_weight;
        for (const Index u : members) {
          for (StorageIndex e = outer[static_cast<std::size_t>(u - lo)]; e < outer[static_cast<std::size_t>(u - lo) + 1]; ++e) {
            const Index v = inner[static_cast<std::size_t>(e)] + lo;
            c_inner.push_back(static_cast<StorageIndex>(std::lower_bound(members.begin(), members.end(), v) - members.begin()));
            c_weight.push_back(weight[static_cast<std::size_t>(e)]);
          }
          c_outer.push_back(static_cast<StorageIndex>(c_inner.size()));
        }
        for (auto& cluster : tree.clusters(static_cast<Index>(members.size()), c_outer, c_inner, c_weight)) {
          for (auto& v : cluster) v = members[static_cast<std::size_t>(v)];
          add_cluster(sel, cluster);
        }
      }
      sel.offsets.push_back(sel.num_supernodes());
    }
  }

 private:
  static void add_cluster(Selection& sel, const std::vector<Index>& members) {
    const Index c = sel.num_supernodes();
    for (const Index v : members) sel.assignment[static_cast<std::size_t>(v)] = c;
    sel.representative.push_back(*std::min_element(members.begin(), members.end()));
  }

  /// W = A + A^T on the rows lo .. hi of a block-diagonal A, diagonal dropped, zero entries
  /// dropped, as a local CSR with sorted columns. O(entries of the block).
  static void symmetric_block(const SparseMatrix<Scalar>& a, Index lo, Index hi, std::vector<StorageIndex>& outer,
                              std::vector<StorageIndex>& inner, std::vector<double>& weight) {
    const Index m = hi - lo;
    std::vector<std::pair<StorageIndex, double>> entries;
    std::vector<StorageIndex> count(static_cast<std::size_t>(m) + 1, 0);
    const StorageIndex* ao = a.outerIndexPtr();
    const StorageIndex* ai = a.innerIndexPtr();
    for (Index t = lo; t < hi; ++t)
      for (StorageIndex e = ao[t]; e < ao[t + 1]; ++e)
        if (ai[e] != t) {
          ++count[static_cast<std::size_t>(t - lo) + 1];
          ++count[static_cast<std::size_t>(ai[e] - lo) + 1];
        }
    for (Index i = 0; i < m; ++i) count[static_cast<std::size_t>(i) + 1] += count[static_cast<std::size_t>(i)];
    entries.resize(static_cast<std::size_t>(count.back()));
    std::vector<StorageIndex> next(count.begin(), count.end() - 1);
    const Scalar* av = a.valuePtr();
    for (Index t = lo; t < hi; ++t)
      for (StorageIndex e = ao[t]; e < ao[t + 1]; ++e) {
        const StorageIndex s = ai[e];
        if (s == t) continue;
        const auto w = static_cast<double>(av[e]);
        entries[static_cast<std::size_t>(next[static_cast<std::size_t>(t - lo)]++)] = {static_cast<StorageIndex>(s - lo), w};
        entries[static_cast<std::size_t>(next[static_cast<std::size_t>(s - lo)]++)] = {static_cast<StorageIndex>(t - lo), w};
      }
    outer.assign(1, 0);
    inner.clear();
    weight.clear();
    for (Index i = 0; i < m; ++i) {
      auto first = entries.begin() + count[static_cast<std::size_t>(i)], last = entries.begin() + count[static_cast<std::size_t>(i) + 1];
      std::sort(first, last, [](const auto& p, const auto& q) { return p.first < q.first; });
      for (auto it = first; it != last; ++it) {
        if (!inner.empty() && static_cast<Index>(inner.size()) > outer.back() && inner.back() == it->first)
          weight.back() += it->second;
        else {
          inner.push_back(it->first);
          weight.push_back(it->second);
        }
      }
      // Drop summed zeros (no edge for tgp's dense nonzero test).
      StorageIndex keep = outer.back();
      for (StorageIndex k = outer.back(); k < static_cast<StorageIndex>(inner.size()); ++k)
        if (weight[static_cast<std::size_t>(k)] != 0) {
          inner[static_cast<std::size_t>(keep)] = inner[static_cast<std::size_t>(k)];
          weight[static_cast<std::size_t>(keep)] = weight[static_cast<std::size_t>(k)];
          ++keep;
        }
      inner.resize(static_cast<std::size_t>(keep));
      weight.resize(static_cast<std::size_t>(keep));
      outer.push_back(keep);
    }
  }
};

}  // namespace gnnpool

#endif
