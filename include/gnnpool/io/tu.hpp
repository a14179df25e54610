#ifndef GNNPOOL_IO_TU_HPP
#define GNNPOOL_IO_TU_HPP

/// \file
/// `read_tu`: the TU Dortmund graph-classification text format (TUDataset, Morris et al. 2020).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/io/edge_list.hpp>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace gnnpool {

/// Which node features `read_tu` builds.
struct TUReadOptions {
  bool node_attributes = true;  ///< DS_node_attributes.txt, when present: its columns first
  bool node_labels = true;      ///< DS_node_labels.txt, when present: one-hot, after the attributes
  /// One-hot columns of node labels between the smallest and the largest that no node uses (gaps
  /// in the label codes; DD has 7). The one-hot width is max - min + 1, so two labels 0 and
  /// 999999 would make a 10^6-column matrix from a few bytes: past this many unused columns the
  /// file is refused before anything is allocated. Raise it if your codes really are that sparse.
  Index max_unused_label_columns = 1024;
};

/// A TU dataset: all its graphs as one batch, and one class label per graph.
template <typename Scalar>
struct TUDataset {
  std::string name;
  /// Every graph of the file, in file order: x is N x F (F = num_node_attributes +
  /// num_node_label_columns, or a single column of ones when the dataset has neither),
  /// adj binary (an entry listed twice is stored once), offsets per graph.
  Batch<Scalar> graphs;
  /// Graph labels remapped to 0..C-1 (`y.classes` keeps the original codes).
  Labels y;
  Index num_node_attributes = 0;     ///< leading columns of x from DS_node_attributes.txt
  Index num_node_label_columns = 0;  ///< one-hot columns from DS_node_labels.txt
  long long node_label_min = 0;      ///< node label of one-hot column 0
  Index num_adjacency_lines = 0;     ///< lines of DS_A.txt (directed entries, duplicates included)

  Index num_graphs() const { return graphs.num_graphs(); }
  Index num_classes() const { return y.num_classes(); }
};

/// Reads the TU dataset `name` from `folder` (default name: the folder's own name), i.e.
/// `<name>_A.txt`, `<name>_graph_indicator.txt`, `<name>_graph_labels.txt` and, when present,
/// `<name>_node_labels.txt` and `<name>_node_attributes.txt` (edge labels are not read).
///
/// Semantics follow PyG's `TUDataset(use_node_attr=True)`: x = [attributes | one-hot(node label
/// - min node label)]; graph labels are remapped to 0..C-1 by sorted code (MUTAG -1/1, PROTEINS
/// 1/2, ENZYMES 1..6 and 0/1 codings all work). The quirks of the published files are
/// accepted: `2, 1` or `8,1` separators, leading spaces, CRLF, a missing final newline, entries
/// listed twice (merged). A node with no edge and a graph id with no node (an empty graph) are
/// legal.
///
/// Errors (`parse_error`, naming file, line and what was expected): a missing required file, a
/// line with the wrong number of columns, a non-numeric field, a node index outside 1..n, a
/// graph id outside 1..(lines of graph_labels), graph_indicator not sorted (each graph's nodes
/// must be contiguous), an edge joining two graphs, a per-node file whose line count differs
/// from graph_indicator's, attribute rows of unequal width, an attribute outside Scalar's range,
/// node labels spanning 10^6 or more codes or leaving more than `max_unused_label_columns`
/// one-hot columns unused. Nothing is returned on error.
///
/// Cost: O(n + E log d) time, the files' size plus O(n F + E) memory.
template <typename Scalar>
TUDataset<Scalar> read_tu(const std::filesystem::path& folder, std::string name = {},
                          const TUReadOptions& options = {}) {
  namespace fs = std::filesystem;
  constexpr std::string_view reader = "read_tu";
  if (name.empty()) name = fs::path(folder).lexically_normal().filename().string();
  if (name.empty() || name == ".")
    name = fs::path(folder).lexically_normal().parent_path().filename().string();
  auto file_of = [&](std::string_view suffix) { return folder / (name + std::string(suffix)); };
  std::vector<std::string_view> f;
  std::string_view line;

  // graph_indicator: the node count n and the offsets.
  detail::TextReader indicator(file_of("_graph_indicator.txt"), reader);
  std::vector<Index> graph_of;  // 0-based graph of every node
  while (indicator.next(line)) {
    indicator.split_exact(line, 1, "one graph id", f);
    const long long g = indicator.integer(f[0], "a graph id");
    if (g < 1) indicator.fail("a graph id >= 1 (ids are 1-based), got '", f[0], "'");
    if (!graph_of.empty() && g - 1 < graph_of.back())
      indicator.fail("a graph id >= ", graph_of.back() + 1,
                     " (the file must be sorted so that each graph's nodes are contiguous), got '", f[0], "'");
    if (static_cast<long long>(graph_of.size()) >= detail::max_reader_nodes)
      indicator.fail("at most 2^31 - 2 nodes");
    graph_of.push_back(static_cast<Index>(g - 1));
  }
  if (graph_of.empty()) indicator.fail_file("the file holds no node");
  const Index n = static_cast<Index>(graph_of.size());

  // graph_labels: one label per graph; the number of lines is the number of graphs.
  detail::TextReader graph_labels(file_of("_graph_labels.txt"), reader);
  std::vector<long long> codes;
  while (graph_labels.next(line)) {
    graph_labels.split_exact(line, 1, "one graph label", f);
    codes.push_back(graph_labels.integer(f[0], "a graph label"));
  }
  const Index num_graphs = static_cast<Index>(codes.size());
  if (graph_of.back() >= num_graphs)
    graph_labels.fail_file("has ", num_graphs, " lines (one label per graph) but ", indicator.path(),
                           " refers to graph ", graph_of.back() + 1);
  IndexVector offsets(static_cast<std::size_t>(num_graphs) + 1, 0);
  for (Index g : graph_of) ++offsets[static_cast<std::size_t>(g) + 1];
  for (std::size_t b = 0; b < static_cast<std::size_t>(num_graphs); ++b) offsets[b + 1] += offsets[b];

  // A: one directed entry "row, col" per line, 1-based global node ids.
  detail::TextReader a_file(file_of("_A.txt"), reader);
  std::vector<Index> rows, cols;
  while (a_file.next(line)) {
    a_file.split_exact(line, 2, "'row, col'", f);
    const long long u = a_file.integer(f[0], "a node index");
    const long long v = a_file.integer(f[1], "a node index");
    if (u < 1 || u > n) a_file.fail("a node index in 1..", n, " (graph_indicator has ", n, " lines), got '", f[0], "'");
    if (v < 1 || v > n) a_file.fail("a node index in 1..", n, " (graph_indicator has ", n, " lines), got '", f[1], "'");
    const Index gu = graph_of[static_cast<std::size_t>(u - 1)], gv = graph_of[static_cast<std::size_t>(v - 1)];
    if (gu != gv)
      a_file.fail("an edge inside one graph, but node ", u, " is in graph ", gu + 1, " and node ", v,
                  " in graph ", gv + 1);
    rows.push_back(static_cast<Index>(v - 1));  // adj(target, source)
    cols.push_back(static_cast<Index>(u - 1));
  }

  // Optional per-node files.
  Matrix<Scalar> attributes;
  if (options.node_attributes && fs::exists(file_of("_node_attributes.txt"))) {
    detail::TextReader attr(file_of("_node_attributes.txt"), reader);
    std::vector<Scalar> values;
    std::size_t width = 0;
    Index count = 0;
    while (attr.next(line)) {
      if (count == n) attr.fail("no more than ", n, " lines (one per node of graph_indicator)");
      if (count == 0) {
        attr.split(line, f);
        width = f.size();
        values.reserve(width * static_cast<std::size_t>(n));
      } else {
        attr.split_exact(line, width, "as many attributes as on line 1", f);
      }
      for (auto field : f) values.push_back(attr.value<Scalar>(field, "a node attribute"));
      ++count;
    }
    if (count != n)
      attr.fail_file("has ", count, " lines but graph_indicator has ", n, " nodes (one line per node expected)");
    attributes = Eigen::Map<const Matrix<Scalar>>(values.data(), n, static_cast<Index>(width));
  }
  std::vector<long long> node_labels;
  long long label_min = 0, label_max = -1;
  if (options.node_labels && fs::exists(file_of("_node_labels.txt"))) {
    detail::TextReader labels(file_of("_node_labels.txt"), reader);
    node_labels.reserve(static_cast<std::size_t>(n));
    while (labels.next(line)) {
      if (static_cast<Index>(node_labels.size()) == n)
        labels.fail("no more than ", n, " lines (one per node of graph_indicator)");
      labels.split_exact(line, 1, "one node label", f);
      node_labels.push_back(labels.integer(f[0], "a node label"));
    }
    if (static_cast<Index>(node_labels.size()) != n)
      labels.fail_file("has ", node_labels.size(), " lines but graph_indicator has ", n,
                       " nodes (one line per node expected)");
    label_min = *std::min_element(node_labels.begin(), node_labels.end());
    label_max = *std::max_element(node_labels.begin(), node_labels.end());
    // max - min in unsigned arithmetic: exact for any two long longs (max >= min), where the
    // signed difference overflows once the labels span more than 2^63.
    const unsigned long long span =
        static_cast<unsigned long long>(label_max) - static_cast<unsigned long long>(label_min);
    if (span >= 1'000'000ULL)
      labels.fail_file("node labels span ", label_min, "..", label_max,
                       "; a one-hot encoding that wide is not supported");
    std::vector<long long> distinct = node_labels;
    std::sort(distinct.begin(), distinct.end());
    const auto used = static_cast<unsigned long long>(std::unique(distinct.begin(), distinct.end()) - distinct.begin());
    const unsigned long long unused = span + 1 - used;
    if (unused > static_cast<unsigned long long>(std::max<Index>(options.max_unused_label_columns, 0)))
      labels.fail_file("node labels span ", label_min, "..", label_max, " but only ", used,
                       " distinct codes are used: the one-hot encoding (one column per code in the span) would have ",
                       unused, " unused columns, more than max_unused_label_columns = ",
                       options.max_unused_label_columns, " (", n, " rows); raise it if the codes really are that sparse");
  }

  TUDataset<Scalar> out;
  out.name = name;
  out.num_node_attributes = attributes.cols();
  out.num_node_label_columns = node_labels.empty() ? 0 : static_cast<Index>(label_max - label_min + 1);
  out.node_label_min = label_min;
  out.num_adjacency_lines = static_cast<Index>(rows.size());
  const Index width = out.num_node_attributes + out.num_node_label_columns;
  if (width == 0) {
    out.graphs.x = Matrix<Scalar>::Ones(n, 1);
  } else {
    out.graphs.x = Matrix<Scalar>::Zero(n, width);
    if (out.num_node_attributes > 0) out.graphs.x.leftCols(out.num_node_attributes) = attributes;
    for (Index i = 0; i < static_cast<Index>(node_labels.size()); ++i)
      out.graphs.x(i, out.num_node_attributes + static_cast<Index>(node_labels[static_cast<std::size_t>(i)] - label_min)) = Scalar(1);
  }
  out.graphs.adj = detail::build_csr<Scalar>(n, rows, cols, {}, true);
  out.graphs.offsets = std::move(offsets);
  out.y = detail::remap_labels(codes);
  return out;
}

}  // namespace gnnpool

#endif
