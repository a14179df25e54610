#ifndef GNNPOOL_IO_LINQS_HPP
#define GNNPOOL_IO_LINQS_HPP

/// \file
/// `read_linqs` / `read_linqs_files`: the LINQS citation-network format (Cora, Citeseer; Sen et al. 2008).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/io/edge_list.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gnnpool {

/// How `read_linqs` builds the graph.
struct LinqsReadOptions {
  bool symmetrize = true;        ///< citations as undirected edges (as PyG's Planetoid)
  bool keep_self_loops = false;  ///< keep self-citations (Citeseer has 124; always counted)
  /// Divide each feature row by its sum (rows summing to 0 stay 0): the `preprocess_features`
  /// of GCN / MinCutPool's reference code.
  bool row_normalize = false;
};

/// A LINQS citation graph: one graph, its bag-of-words features and one class per paper.
template <typename Scalar>
struct LinqsDataset {
  /// One graph: x is N x F (the word indicators), adj binary, offsets {0, N}. Nodes are
  /// numbered in the order of the .content file.
  Batch<Scalar> graph;
  std::vector<Index> labels;             ///< class of each paper, 0..C-1
  std::vector<std::string> class_names;  ///< sorted alphabetically; class c is class_names[c]
  std::vector<std::string> ids;          ///< the paper id of each node
  Index num_citations = 0;               ///< lines of the .cites file
  Index num_unknown_citations = 0;       ///< lines naming a paper absent from .content (dropped)
  Index num_self_citations = 0;          ///< lines citing the paper itself

  Index num_classes() const { return static_cast<Index>(class_names.size()); }
};

/// Reads `content` (`<paper_id> <F feature values> <class_label>` per line, tab-separated) and
/// `cites` (`<cited_id> <citing_id>` per line). Paper ids are arbitrary strings. A citation
/// that names a paper missing from `content` is dropped and counted (Citeseer has 17), never an
/// error. An edge cited twice (or in both directions) is stored once.
///
/// Errors (`parse_error`, naming file, line and what was expected): a missing file, a content
/// line with fewer than 3 columns or with another column count than line 1, a non-numeric
/// feature or one outside Scalar's range, a row that `row_normalize` cannot divide by its sum
/// without leaving that range (a sum that overflows, or one so small that the quotients do), a
/// paper id listed twice, a cites line without exactly 2 columns, an empty file. Row
/// normalisation is computed in double, then rounded to Scalar.
/// Nothing is returned on error. Cost: O(N F + E log d).
template <typename Scalar>
LinqsDataset<Scalar> read_linqs_files(const std::filesystem::path& content, const std::filesystem::path& cites,
                                      const LinqsReadOptions& options = {}) {
  constexpr std::string_view reader = "read_linqs";
  std::vector<std::string_view> f;
  std::string_view line;

  detail::TextReader content_file(content, reader);
  std::unordered_map<std::string, Index> index_of;
  std::vector<std::string> ids, label_names;
  std::vector<Scalar> values;
  std::vector<double> row;  // one row's features in double, for row_normalize
  std::size_t columns = 0;
  while (content_file.next(line)) {
    if (ids.empty()) {
      content_file.split(line, f);
      columns = f.size();
      if (columns < 3)
        content_file.fail("'<paper_id> <features...> <class_label>' (at least 3 columns), got ", columns,
                          columns == 1 ? " column" : " columns");
    } else {
      content_file.split_exact(line, columns, "'<paper_id> <features...> <class_label>' as on line 1", f);
    }
    if (static_cast<long long>(ids.size()) >= detail::max_reader_nodes)
      content_file.fail("at most 2^31 - 2 papers");
    auto [it, inserted] = index_of.try_emplace(std::string(f[0]), static_cast<Index>(ids.size()));
    if (!inserted)
      content_file.fail("each paper id once, but '", f[0], "' was already listed as paper ", it->second + 1);
    ids.emplace_back(f[0]);
    if (options.row_normalize) {
      row.clear();
      double sum = 0;
      for (std::size_t j = 1; j + 1 < columns; ++j) {
        row.push_back(content_file.real(f[j], "a feature value"));
        sum += row.back();
      }
      // Rows summing to 0 stay as they are; any other sum must give finite quotients.
      if (!std::isfinite(sum))
        content_file.fail("a feature row whose sum row_normalize can divide by, but the sum overflows double");
      for (double v : row) {
        const double q = sum != 0 ? v / sum : v;
        if (!(std::abs(q) <= static_cast<double>(std::numeric_limits<Scalar>::max())))
          content_file.fail("a feature row that row_normalize can divide by its sum (", sum, ") within the range of ",
                            detail::scalar_name<Scalar>(), ", but ", v, " / ", sum, " overflows");
        values.push_back(static_cast<Scalar>(q));
      }
    } else {
      for (std::size_t j = 1; j + 1 < columns; ++j) values.push_back(content_file.value<Scalar>(f[j], "a feature value"));
    }
    label_names.emplace_back(f[columns - 1]);
  }
  if (ids.empty()) content_file.fail_file("the file holds no paper");
  const Index n = static_cast<Index>(ids.size());
  const Index width = static_cast<Index>(columns) - 2;

  detail::TextReader cites_file(cites, reader);
  LinqsDataset<Scalar> out;
  std::vector<Index> rows, cols;
  while (cites_file.next(line)) {
    cites_file.split_exact(line, 2, "'<cited_id> <citing_id>'", f);
    ++out.num_citations;
    const auto cited = index_of.find(std::string(f[0]));
    const auto citing = index_of.find(std::string(f[1]));
    if (cited == index_of.end() || citing == index_of.end()) {
      ++out.num_unknown_citations;
      continue;
    }
    const Index u = citing->second, v = cited->second;  // the edge citing -> cited
    if (u == v) {
      ++out.num_self_citations;
      if (!options.keep_self_loops) continue;
    }
    rows.push_back(v);  // adj(target, source)
    cols.push_back(u);
    if (options.symmetrize && u != v) {
      rows.push_back(u);
      cols.push_back(v);
    }
  }

  out.graph.x = Eigen::Map<const Matrix<Scalar>>(values.data(), n, width);
  out.graph.adj = detail::build_csr<Scalar>(n, rows, cols, {}, true);
  out.graph.offsets = {0, n};
  out.class_names = label_names;
  std::sort(out.class_names.begin(), out.class_names.end());
  out.class_names.erase(std::unique(out.class_names.begin(), out.class_names.end()), out.class_names.end());
  out.labels.resize(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < label_names.size(); ++i)
    out.labels[i] = std::lower_bound(out.class_names.begin(), out.class_names.end(), label_names[i]) -
                    out.class_names.begin();
  out.ids = std::move(ids);
  return out;
}

/// Reads `<folder>/<name>.content` and `<folder>/<name>.cites` (default name: the folder's name,
/// so `read_linqs<double>("data/cora")` reads cora.content and cora.cites).
template <typename Scalar>
LinqsDataset<Scalar> read_linqs(const std::filesystem::path& folder, std::string name = {},
                                const LinqsReadOptions& options = {}) {
  if (name.empty()) name = folder.lexically_normal().filename().string();
  if (name.empty() || name == ".") name = folder.lexically_normal().parent_path().filename().string();
  return read_linqs_files<Scalar>(folder / (name + ".content"), folder / (name + ".cites"), options);
}

}  // namespace gnnpool

#endif
