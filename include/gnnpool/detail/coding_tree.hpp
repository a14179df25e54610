#ifndef GNNPOOL_DETAIL_CODING_TREE_HPP
#define GNNPOOL_DETAIL_CODING_TREE_HPP

/// \file
/// The structural-entropy coding tree of depth 2 that SEP pooling's clusters come from (Wu et
/// al., "Structural Entropy Guided Graph Hierarchical Pooling"; tgp `SEPSelect`'s
/// `PartitionTree`), on one connected component; not part of the API. Used by select/sep.hpp.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace gnnpool::detail {

/// The iteration order of a CPython 3.11 `set` of non-negative ints (hash(i) = i), for the one
/// place where tgp's coding tree depends on it: which of the root's leaf children get their
/// depth-1 node first. The table, linear probing (9 slots), perturbation (shift 5), dummy
/// reuse (the last dummy on the probe path), growth (fill * 5 >= mask * 3, to 4 x used) and the
/// copy / merge paths of `set(s)` and `s.union(t)` follow CPython's setobject.c; the emulation
/// was checked against CPython 3.11 on thousands of random add / remove / union / copy
/// sequences.
class PySetOrder {
 public:
  void add(std::int64_t key) {
    const std::size_t mask = m_mask;
    const auto hash = static_cast<std::size_t>(key);
    std::size_t i = hash & mask, perturb = hash;
    std::int64_t* freeslot = nullptr;
    for (;;) {
      std::size_t probes = i + linear_probes <= mask ? linear_probes : 0;
      std::int64_t* entry = &m_keys[i];
      for (;;) {
        if (*entry == unused) {
          if (freeslot) {
            *freeslot = key;
            ++m_used;
            return;
          }
          *entry = key;
          ++m_fill;
          ++m_used;
          if (m_fill * 5 >= mask * 3) resize(m_used > 50000 ? m_used * 2 : m_used * 4);
          return;
        }
        if (*entry == key) return;
        if (*entry == dummy) freeslot = entry;
        ++entry;
        if (probes == 0) break;
        --probes;
      }
      perturb >>= perturb_shift;
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  void remove(std::int64_t key) {
    const auto hash = static_cast<std::size_t>(key);
    std::size_t i = hash & m_mask, perturb = hash;
    for (;;) {
      std::size_t probes = i + linear_probes <= m_mask ? linear_probes : 0;
      std::int64_t* entry = &m_keys[i];
      for (;;) {
        GNNPOOL_ASSERT(*entry != unused, "PySetOrder::remove: key ", key, " absent");
        if (*entry == key) {
          *entry = dummy;
          --m_used;
          return;
        }
        ++entry;
        if (probes == 0) break;
        --probes;
      }
      perturb >>= perturb_shift;
      i = (i * 5 + 1 + perturb) & m_mask;
    }
  }

  /// set(other): CPython's set_merge into an empty set.
  static PySetOrder copy_of(const PySetOrder& other) {
    PySetOrder s;
    s.merge(other);
    return s;
  }
  /// a.union(b) for two distinct sets.
  static PySetOrder union_of(const PySetOrder& a, const PySetOrder& b) {
    PySetOrder s = copy_of(a);
    s.merge(b);
    return s;
  }

  template <typename F>
  void for_each(F&& f) const {
    for (const std::int64_t k : m_keys)
      if (k >= 0) f(k);
  }
  std::size_t size() const { return m_used; }

 private:
  static constexpr std::int64_t unused = -1, dummy = -2;
  static constexpr std::size_t linear_probes = 9, perturb_shift = 5;

  static void insert_clean(std::vector<std::int64_t>& keys, std::size_t mask, std::int64_t key) {
    const auto hash = static_cast<std::size_t>(key);
    std::size_t i = hash & mask, perturb = hash;
    for (;;) {
      if (keys[i] == unused) {
        keys[i] = key;
        return;
      }
      if (i + linear_probes <= mask)
        for (std::size_t j = 1; j <= linear_probes; ++j)
          if (keys[i + j] == unused) {
            keys[i + j] = key;
            return;
          }
      perturb >>= perturb_shift;
      i = (i * 5 + 1 + perturb) & mask;
    }
  }

  void resize(std::size_t minused) {
    std::size_t size = 8;
    while (size <= minused) size <<= 1;
    std::vector<std::int64_t> old(size, unused);
    old.swap(m_keys);
    m_mask = size - 1;
    for (const std::int64_t k : old)
      if (k >= 0) insert_clean(m_keys, m_mask, k);
    m_fill = m_used;
  }

  void merge(const PySetOrder& other) {
    if (other.m_used == 0) return;
    if ((m_fill + other.m_used) * 5 >= m_mask * 3) resize((m_used + other.m_used) * 2);
    if (m_fill == 0 && m_mask == other.m_mask && other.m_fill == other.m_used) {
      m_keys = other.m_keys;
      m_fill = other.m_fill;
      m_used = other.m_used;
      return;
    }
    if (m_fill == 0) {
      m_fill = m_used = other.m_used;
      for (const std::int64_t k : other.m_keys)
        if (k >= 0) insert_clean(m_keys, m_mask, k);
      return;
    }
    for (const std::int64_t k : other.m_keys)
      if (k >= 0) add(k);
  }

  std::vector<std::int64_t> m_keys = std::vector<std::int64_t>(8, unused);
  std::size_t m_mask = 7, m_fill = 0, m_used = 0;
};

/// tgp's coding tree of depth 2 on one connected component of n >= 2 nodes, whose symmetric
/// weighted adjacency (no self loops, weights > 0) is given in CSR form with local indices.
/// Returns the depth-1 clusters (lists of local nodes) in tgp's order (ascending tree-node id).
///
/// 1. Greedy merging: every node is a leaf (vol = g = its weighted degree d_i; V = sum d); the
///    pair of adjacent clusters with the smallest
///      delta = [(v1 - g1) log2(v12 / v1) + (v2 - g2) log2(v12 / v2) - 2 cut log2(V / v12)] / V
///    (v12 = v1 + v2, ties by the lower cluster ids, in tgp's tuple order) is merged into a new
///    node (vol v12, g = g1 + g2 - 2 cut), until one cluster remains: a binary tree.
/// 2. Compression to height 2: repeatedly the internal node with the smallest
///    cut_inside(node) ln(vol(parent) / vol(node)) whose subtree reaches deeper than 2 is
///    removed, its children moving to its parent (tgp's cmp_heap with its update rules).
/// 3. Balance: each leaf left directly under the root gets its own depth-1 node, in the
///    iteration order of a CPython copy of the root's children set (`PySetOrder`).
/// Cost: O(E log E + merges x live degree) for 1, O(internal nodes x (height + children)) for 2.
class CodingTree {
 public:
  std::vector<std::vector<Index>> clusters(Index n, const std::vector<StorageIndex>& outer,
                                           const std::vector<StorageIndex>& inner, const std::vector<double>& weight) {
    reset(n);
    // Leaves: vol = g = weighted degree; V = sum (sequential, as Python's sum).
    double total = 0;
    m_neighbours.assign(static_cast<std::size_t>(n), {});
    for (Index i = 0; i < n; ++i) {
      double d = 0;
      for (StorageIndex e = outer[static_cast<std::size_t>(i)]; e < outer[static_cast<std::size_t>(i) + 1]; ++e) {
        d += weight[static_cast<std::size_t>(e)];
        m_neighbours[static_cast<std::size_t>(i)].emplace(inner[static_cast<std::size_t>(e)], weight[static_cast<std::size_t>(e)]);
      }
      m_nodes[static_cast<std::size_t>(i)].vol = m_nodes[static_cast<std::size_t>(i)].g = d;
      total += d;
    }
    m_volume = total;
    const Index root = merge_all(n, outer, inner, weight);
    compress(root);
    balance(root);
    // Depth-1 nodes (the root's children) by id; their children are leaves.
    std::vector<std::int64_t> depth_one;
    m_nodes[static_cast<std::size_t>(root)].children.for_each([&](std::int64_t c) { depth_one.push_back(c); });
    std::sort(depth_one.begin(), depth_one.end());
    std::vector<std::vector<Index>> out;
    for (const std::int64_t c : depth_one) {
      std::vector<Index> leaves;
      m_nodes[static_cast<std::size_t>(c)].children.for_each([&](std::int64_t leaf) { leaves.push_back(leaf); });
      std::sort(leaves.begin(), leaves.end());
      out.push_back(std::move(leaves));
    }
    return out;
  }

 private:
  struct Node {
    double vol = 0, g = 0, child_cut = 0;
    Index child_h = 0;
    Index parent = -1;
    PySetOrder children;
    bool merged = false;
    bool in_heap = false;  ///< has an entry in the compression heap
    double entry_delta = 0;
    Index entry_parent = -1;
  };

  void reset(Index n) {
    m_heap.clear();
    m_nodes.assign(static_cast<std::size_t>(n), Node{});
    m_nodes.reserve(static_cast<std::size_t>(3 * n));
  }

  Index new_node() {
    m_nodes.emplace_back();
    return static_cast<Index>(m_nodes.size()) - 1;
  }

  /// tgp's `_combine_delta`, in the same order of operations (math.log(x, 2) = log(x) / log(2)).
  double combine_delta(const Node& a, const Node& b, double cut) const {
    const double v1 = a.vol, v2 = b.vol, g1 = a.g, g2 = b.g, v12 = v1 + v2;
    const double ln2 = std::log(2.0);
    return ((v1 - g1) * (std::log(v12 / v1) / ln2) + (v2 - g2) * (std::log(v12 / v2) / ln2) -
            2 * cut * (std::log(m_volume / v12) / ln2)) /
           m_volume;
  }

  /// Step 1: the binary merge tree; returns its root.
  Index merge_all(Index n, const std::vector<StorageIndex>& outer, const std::vector<StorageIndex>& inner,
                  const std::vector<double>& weight) {
    using Entry = std::tuple<double, Index, Index, double>;  // (delta, id1, id2, cut): Python's tuple order
    std::vector<Entry> heap;
    const auto push = [&](Entry e) {
      heap.push_back(e);
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    };
    for (Index i = 0; i < n; ++i)
      for (StorageIndex e = outer[static_cast<std::size_t>(i)]; e < outer[static_cast<std::size_t>(i) + 1]; ++e) {
        const Index j = inner[static_cast<std::size_t>(e)];
        if (j <= i) continue;
        const double cut = weight[static_cast<std::size_t>(e)];
        push({combine_delta(m_nodes[static_cast<std::size_t>(i)], m_nodes[static_cast<std::size_t>(j)], cut), i, j, cut});
      }
    Index unmerged = n, root = -1;
    while (unmerged > 1 && !heap.empty()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
      const auto [delta, id1, id2, cut] = heap.back();
      heap.pop_back();
      if (m_nodes[static_cast<std::size_t>(id1)].merged || m_nodes[static_cast<std::size_t>(id2)].merged) continue;
      const Index id = new_node();
      Node& a = m_nodes[static_cast<std::size_t>(id1)];
      Node& b = m_nodes[static_cast<std::size_t>(id2)];
      Node& c = m_nodes[static_cast<std::size_t>(id)];
      a.merged = b.merged = true;
      c.vol = a.vol + b.vol;
      c.g = a.g + b.g - 2 * cut;
      c.child_h = std::max(a.child_h, b.child_h) + 1;
      c.child_cut = cut;
      c.children.add(id1);
      c.children.add(id2);
      a.parent = b.parent = id;
      if (a.child_h > 0) add_entry(id1, id);
      if (b.child_h > 0) add_entry(id2, id);
      --unmerged;
      // The new cluster's cuts: the sum of its two parts' (small map merged into the large).
      auto& na = m_neighbours[static_cast<std::size_t>(id1)];
      auto& nb = m_neighbours[static_cast<std::size_t>(id2)];
      const bool a_larger = na.size() >= nb.size();
      std::unordered_map<Index, double> merged = std::move(a_larger ? na : nb);
      auto& small = a_larger ? nb : na;
      for (const auto& [k, w] : small) merged[k] += w;
      na.clear();
      nb.clear();
      merged.erase(id1);
      merged.erase(id2);
      for (const auto& [k, w] : merged) {
        auto& back = m_neighbours[static_cast<std::size_t>(k)];
        back.erase(id1);
        back.erase(id2);
        back[id] = w;
        push({combine_delta(m_nodes[static_cast<std::size_t>(k)], m_nodes[static_cast<std::size_t>(id)], w), k, id, w});
      }
      m_neighbours.push_back(std::move(merged));
      root = id;
    }
    GNNPOOL_ASSERT(unmerged == 1, "CodingTree: the component is not connected (", unmerged, " clusters left)");
    return root;
  }

  double compress_delta(Index node, Index parent) const {
    const Node& c = m_nodes[static_cast<std::size_t>(node)];
    return c.child_cut * std::log(m_nodes[static_cast<std::size_t>(parent)].vol / c.vol);
  }

  void add_entry(Index node, Index parent) {
    Node& c = m_nodes[static_cast<std::size_t>(node)];
    c.entry_parent = parent;
    c.entry_delta = compress_delta(node, parent);
    c.in_heap = true;
    m_heap.emplace(c.entry_delta, node, parent);
  }

  void update_entry(Index node, Index parent) {
    Node& c = m_nodes[static_cast<std::size_t>(node)];
    m_heap.erase({c.entry_delta, node, c.entry_parent});
    add_entry(node, parent);
  }

  /// tgp's `_child_tree_depth`: the node's depth plus its height.
  Index subtree_depth(Index node) const {
    Index depth = 0;
    for (Index p = m_nodes[static_cast<std::size_t>(node)].parent; p >= 0; p = m_nodes[static_cast<std::size_t>(p)].parent)
      ++depth;
    return depth + m_nodes[static_cast<std::size_t>(node)].child_h;
  }

  /// Step 2 (tgp's `k` loop of `_build_k_tree`, k = 2).
  void compress(Index root) {
    constexpr Index k = 2;
    while (m_nodes[static_cast<std::size_t>(root)].child_h > k) {
      GNNPOOL_ASSERT(!m_heap.empty(), "CodingTree: nothing left to compress");
      const auto [delta, node, parent] = *m_heap.begin();
      m_heap.erase(m_heap.begin());
      m_nodes[static_cast<std::size_t>(node)].in_heap = false;
      if (subtree_depth(node) <= k) continue;
      const PySetOrder moved = m_nodes[static_cast<std::size_t>(node)].children;
      compress_node(node, parent);
      if (m_nodes[static_cast<std::size_t>(root)].child_h == k) break;
      if (m_nodes[static_cast<std::size_t>(parent)].in_heap && subtree_depth(parent) > k)
        update_entry(parent, m_nodes[static_cast<std::size_t>(parent)].entry_parent);
      const Index new_parent = parent;  // named, not bound: clang 14 cannot capture a structured binding
      moved.for_each([&](std::int64_t child) {
        const Node& c = m_nodes[static_cast<std::size_t>(child)];
        if (!c.in_heap || c.child_h == 0) return;
        if (subtree_depth(child) > k) update_entry(child, new_parent);
      });
    }
  }

  /// tgp's `_compress_node`: the node's children move to its parent; heights are repaired.
  void compress_node(Index node, Index parent) {
    Node& p = m_nodes[static_cast<std::size_t>(parent)];
    Node& c = m_nodes[static_cast<std::size_t>(node)];
    const Index parent_height = p.child_h;
    p.child_cut += c.child_cut;
    p.children.remove(node);
    p.children = PySetOrder::union_of(p.children, c.children);
    c.children.for_each([&](std::int64_t child) { m_nodes[static_cast<std::size_t>(child)].parent = parent; });
    if (parent_height - c.child_h != 1) return;
    for (Index q = parent; q >= 0;) {
      Node& qn = m_nodes[static_cast<std::size_t>(q)];
      Index highest = 0;
      qn.children.for_each([&](std::int64_t ch) { highest = std::max(highest, m_nodes[static_cast<std::size_t>(ch)].child_h); });
      if (qn.child_h == highest + 1) break;
      qn.child_h = highest + 1;
      q = qn.parent;
    }
  }

  /// Step 3 (tgp's `check_balance`): leaves under the root get a depth-1 node each.
  void balance(Index root) {
    const PySetOrder order = PySetOrder::copy_of(m_nodes[static_cast<std::size_t>(root)].children);
    order.for_each([&](std::int64_t child) {
      if (m_nodes[static_cast<std::size_t>(child)].child_h != 0) return;
      const Index id = new_node();
      Node& up = m_nodes[static_cast<std::size_t>(id)];
      up.parent = root;
      up.children.add(child);
      up.child_h = 1;
      m_nodes[static_cast<std::size_t>(child)].parent = id;
      m_nodes[static_cast<std::size_t>(root)].children.remove(child);
      m_nodes[static_cast<std::size_t>(root)].children.add(id);
    });
  }

  std::vector<Node> m_nodes;
  std::vector<std::unordered_map<Index, double>> m_neighbours;  ///< live cluster -> cut
  std::set<std::tuple<double, Index, Index>> m_heap;            ///< (delta, node, entry parent)
  double m_volume = 0;
};

}  // namespace gnnpool::detail

#endif
