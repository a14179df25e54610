#ifndef GNNPOOL_IO_EDGE_LIST_HPP
#define GNNPOOL_IO_EDGE_LIST_HPP

/// \file
/// Readers for plain graph files: edge lists (SNAP, Network Repository, KONECT-style), dense
/// adjacency matrices in text (Zachary's karate club) and node-label files. It also holds the
/// line reader that the TU (io/tu.hpp) and LINQS (io/linqs.hpp) readers share.
///
/// Every reader of gnnpool::io follows the same rules:
/// - A malformed file is rejected with `gnnpool::parse_error`; the message is
///   "<file>, line <n>: expected <what>, got '<text>'" (or names the whole file for errors that
///   concern no single line, such as a missing file or too few lines).
/// - The result is built in local objects and returned only when the whole input has been
///   read and checked: an exception never leaves a half-read dataset behind.
/// - Both LF and CRLF line endings are accepted, a missing final newline too. Blank lines are
///   accepted only at the end of a file.
/// - Every number must be finite in the Scalar the caller asked for (1e39 is an error in a
///   float read), and so must everything the reader computes from them (summed duplicate
///   weights, normalised rows).
/// - Sizes are bounded by what the file can justify before anything is allocated (docs/reliability.md).

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace gnnpool {

/// Class labels remapped to 0..C-1. `classes[c]` is the original code of class c; codes are
/// sorted increasingly, so MUTAG's -1/1 becomes 0/1 and PROTEINS' 1/2 becomes 0/1.
struct Labels {
  std::vector<Index> labels;
  std::vector<long long> classes;

  Index num_classes() const { return static_cast<Index>(classes.size()); }
  Index size() const { return static_cast<Index>(labels.size()); }
  /// Number of items in each class.
  std::vector<Index> class_counts() const {
    std::vector<Index> counts(classes.size(), 0);
    for (Index l : labels) ++counts[static_cast<std::size_t>(l)];
    return counts;
  }
};

namespace detail {

/// "float", "double" or "long double": the Scalar a message talks about.
template <typename Scalar>
constexpr const char* scalar_name() {
  if constexpr (std::is_same_v<Scalar, float>) return "float";
  else if constexpr (std::is_same_v<Scalar, double>) return "double";
  else return "long double";
}

/// A whole text file held in memory and read line by line. Every error it raises names the
/// file and the current line.
class TextReader {
 public:
  /// Reads `path`; `reader` names the caller in messages ("read_tu"). Lines whose first
  /// non-blank character is one of `comments` are skipped.
  TextReader(const std::filesystem::path& path, std::string_view reader, std::string_view comments = {})
      : m_path(path.string()), m_reader(reader), m_comments(comments) {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status))
      raise<parse_error>(concat(m_reader, ": the file '", m_path, "' does not exist"));
    if (!std::filesystem::is_regular_file(status))
      raise<parse_error>(concat(m_reader, ": '", m_path, "' is not a regular file"));
    std::ifstream in(path, std::ios::binary);
    if (!in) raise<parse_error>(concat(m_reader, ": cannot open '", m_path, "' for reading"));
    m_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (in.bad()) raise<parse_error>(concat(m_reader, ": cannot read '", m_path, "'"));
  }

  const std::string& path() const { return m_path; }
  /// 1-based number of the line last returned by `next`.
  Index line_number() const { return m_line; }

  /// Moves to the next data line (without its line ending) and returns true, or returns false
  /// at the end of the file. A blank line followed by more data is an error.
  bool next(std::string_view& line) {
    while (m_pos < m_text.size()) {
      std::size_t end = m_text.find('\n', m_pos);
      if (end == std::string::npos) end = m_text.size();
      line = std::string_view(m_text).substr(m_pos, end - m_pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      m_pos = end + 1;
      ++m_line;
      const std::size_t first = line.find_first_not_of(" \t");
      if (first == std::string_view::npos) {
        if (std::string_view(m_text).substr(std::min(m_pos, m_text.size())).find_first_not_of(" \t\r\n") ==
            std::string_view::npos) {
          m_pos = m_text.size();
          return false;
        }
        fail("a data line, got a blank line in the middle of the file");
      }
      if (!m_comments.empty() && m_comments.find(line[first]) != std::string_view::npos) continue;
      return true;
    }
    return false;
  }

  /// Throws parse_error "<reader>: <file>, line <n>: expected <parts...>".
  template <typename... Parts>
  [[noreturn]] void fail(const Parts&... parts) const {
    raise<parse_error>(concat(m_reader, ": ", m_path, ", line ", m_line, ": expected ", parts...));
  }

  /// The same for an earlier line `line` (checks that can only be made once the file is read).
  template <typename... Parts>
  [[noreturn]] void fail_at(Index line, const Parts&... parts) const {
    raise<parse_error>(concat(m_reader, ": ", m_path, ", line ", line, ": expected ", parts...));
  }

  /// Throws parse_error "<reader>: <file>: <parts...>" for errors about the file as a whole.
  template <typename... Parts>
  [[noreturn]] void fail_file(const Parts&... parts) const {
    raise<parse_error>(concat(m_reader, ": ", m_path, ": ", parts...));
  }

  /// Splits `line` into fields. A field ends at a comma (blanks around it are ignored) or at
  /// a run of blanks (spaces, tabs): "2, 1", "8,1", " 23.0", "u\tv" and "a b" all work. An
  /// empty field (",,", a leading or trailing comma) is an error.
  void split(std::string_view line, std::vector<std::string_view>& fields) const {
    fields.clear();
    std::size_t i = 0;
    const std::size_t n = line.size();
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (i < n && blank(line[i])) ++i;
    while (i < n) {
      std::size_t j = i;
      while (j < n && !blank(line[j]) && line[j] != ',') ++j;
      if (j == i) fail("a value before the comma in '", line, "'");
      fields.push_back(line.substr(i, j - i));
      while (j < n && blank(line[j])) ++j;
      if (j < n && line[j] == ',') {
        ++j;
        while (j < n && blank(line[j])) ++j;
        if (j == n) fail("a value after the last comma in '", line, "'");
      }
      i = j;
    }
  }

  /// The fields of `line`, which must number exactly `count` ("<count> <what>").
  void split_exact(std::string_view line, std::size_t count, std::string_view what,
                   std::vector<std::string_view>& fields) const {
    split(line, fields);
    if (fields.size() != count)
      fail(what, " (", count, count == 1 ? " column" : " columns", "), got ", fields.size(),
           fields.size() == 1 ? " column" : " columns", " in '", line, "'");
  }

  /// `field` as an integer; `what` names it in the message.
  long long integer(std::string_view field, std::string_view what) const {
    std::string_view f = field;
    if (!f.empty() && f.front() == '+') f.remove_prefix(1);
    long long value = 0;
    const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), value);
    if (ec == std::errc::result_out_of_range) fail(what, " as an integer in range, got '", field, "'");
    if (ec != std::errc() || ptr != f.data() + f.size() || f.empty())
      fail(what, " as an integer, got '", field, "'");
    return value;
  }

  /// `field` as a finite real number.
  double real(std::string_view field, std::string_view what) const {
    std::string_view f = field;
    if (!f.empty() && f.front() == '+') f.remove_prefix(1);
    double value = 0;
    const auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), value);
    if (ec != std::errc() || ptr != f.data() + f.size() || f.empty() || !std::isfinite(value))
      fail(what, " as a finite number, got '", field, "'");
    return value;
  }

  /// `field` as a finite number of the caller's Scalar: a value finite in double but beyond
  /// the Scalar's range ("1e39" read as float) is an error, not an inf.
  template <typename Scalar>
  Scalar value(std::string_view field, std::string_view what) const {
    const double v = real(field, what);
    if (!(std::abs(v) <= static_cast<double>(std::numeric_limits<Scalar>::max())))
      fail(what, " within the range of ", scalar_name<Scalar>(), " (magnitude at most ",
           std::numeric_limits<Scalar>::max(), "), got '", field, "'");
    return static_cast<Scalar>(v);
  }

 private:
  std::string m_path;
  std::string_view m_reader;
  std::string_view m_comments;
  std::string m_text;
  std::size_t m_pos = 0;
  Index m_line = 0;
};

/// Maps label codes to 0..C-1 by sorted code.
inline Labels remap_labels(const std::vector<long long>& codes) {
  Labels out;
  out.classes = codes;
  std::sort(out.classes.begin(), out.classes.end());
  out.classes.erase(std::unique(out.classes.begin(), out.classes.end()), out.classes.end());
  out.labels.resize(codes.size());
  for (std::size_t i = 0; i < codes.size(); ++i)
    out.labels[i] = std::lower_bound(out.classes.begin(), out.classes.end(), codes[i]) - out.classes.begin();
  return out;
}

/// Largest node count a reader accepts: the sparse storage index is 32-bit.
constexpr long long max_reader_nodes = std::numeric_limits<StorageIndex>::max() - 1;

/// `build_csr` sums the weights of an entry listed several times; a sum of finite weights can
/// still overflow (two lines "0 1 1e308"). Throws parse_error naming the line whose weight made
/// the sum non-finite (summed in file order; the last line of that edge if only build_csr's
/// order overflows), given the file line of every coordinate. O(E): one pass over the stored
/// values, and one over the coordinates only when a value is not finite.
template <typename Scalar>
void check_summed_weights(const TextReader& file, const SparseMatrix<Scalar>& adj, std::span<const Index> rows,
                          std::span<const Index> cols, std::span<const Scalar> weights,
                          std::span<const Index> lines) {
  const Scalar* val = adj.valuePtr();
  Index bad = -1;
  for (Index e = 0; e < adj.nonZeros() && bad < 0; ++e)
    if (!std::isfinite(val[e])) bad = e;
  if (bad < 0) return;
  Index row = 0;
  while (adj.outerIndexPtr()[row + 1] <= bad) ++row;
  const Index col = adj.innerIndexPtr()[bad];
  Scalar sum(0);
  Index line = 0;
  for (std::size_t e = 0; e < rows.size(); ++e) {
    if (rows[e] != row || cols[e] != col) continue;
    sum += weights[e];
    line = lines[e];
    if (!std::isfinite(sum)) break;
  }
  file.fail_at(line, "weights whose sum stays within the range of ", scalar_name<Scalar>(),
               " for an edge listed several times (the entries of edge ", col, " -> ", row,
               " are summed), but the sum overflows here");
}

}  // namespace detail

/// How `read_edge_list` interprets a file.
struct EdgeListReadOptions {
  bool symmetrize = true;        ///< add v -> u for every line u v (undirected graph)
  bool keep_self_loops = false;  ///< keep lines u u as self-loops (they are always counted)
  /// false: node ids are non-negative integers used as node indices (SNAP), N = max id + 1
  /// unless `num_nodes` is given. true: ids are arbitrary tokens ("bradshaw97", "10027394")
  /// numbered 0..N-1 in order of first appearance; `EdgeListGraph::ids` keeps them.
  bool relabel = false;
  Index num_nodes = 0;           ///< with relabel == false: the node count (0: max id + 1)
  /// With relabel == false and num_nodes == 0, N = max id + 1 must not exceed 2 L +
  /// max_unlisted_nodes for a file of L edge lines: L lines name at most 2 L nodes, and every
  /// id the file skips becomes an isolated node that costs memory (a 13-byte "0 2147483646"
  /// would otherwise allocate 2^31 nodes). Raise it, give num_nodes, or relabel, for files
  /// whose ids really are that sparse.
  Index max_unlisted_nodes = Index(1) << 16;
  bool weighted = false;         ///< a third column holds the edge weight (duplicates summed)
  std::string comments = "#%";   ///< lines starting with one of these characters are skipped
};

/// A single graph read from a file, with what the reader saw on the way.
template <typename Scalar>
struct EdgeListGraph {
  /// One graph (offsets {0, N}). x is N x 1, all ones: these files carry no node features.
  Batch<Scalar> graph;
  /// With `relabel`: the token of node i in the file. Empty otherwise.
  std::vector<std::string> ids;
  Index num_lines = 0;       ///< edge lines read (comments and blank lines excluded)
  Index num_self_loops = 0;  ///< lines u u (dropped unless keep_self_loops)

  /// Node index of a file token: its position in `ids` (relabelled), or the integer itself.
  /// Returns -1 when the token is unknown.
  Index node_of(std::string_view token) const {
    if (!ids.empty()) {
      if (m_index.empty())
        for (std::size_t i = 0; i < ids.size(); ++i) m_index.emplace(ids[i], static_cast<Index>(i));
      auto it = m_index.find(std::string(token));
      return it == m_index.end() ? -1 : it->second;
    }
    long long v = -1;
    const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), v);
    if (ec != std::errc() || ptr != token.data() + token.size() || v < 0 || v >= graph.num_nodes()) return -1;
    return static_cast<Index>(v);
  }

 private:
  mutable std::unordered_map<std::string, Index> m_index;
};

/// Number of unordered pairs {u, v}, u != v, joined by a stored entry in either direction:
/// the "undirected edges" of the dataset READMEs.
template <typename Scalar>
Index count_undirected_edges(const SparseMatrix<Scalar>& adj) {
  Index count = 0;
  for (Index i = 0; i < adj.outerSize(); ++i)
    for (StorageIndex p = adj.outerIndexPtr()[i]; p < adj.outerIndexPtr()[i + 1]; ++p) {
      const Index j = adj.innerIndexPtr()[p];
      if (j == i) continue;
      if (i < j) {
        ++count;
      } else {
        const StorageIndex* first = adj.innerIndexPtr() + adj.outerIndexPtr()[j];
        const StorageIndex* last = adj.innerIndexPtr() + adj.outerIndexPtr()[j + 1];
        if (!std::binary_search(first, last, static_cast<StorageIndex>(i))) ++count;
      }
    }
  return count;
}

/// Reads an edge list: one edge "u v" per line (or "u v w" with `weighted`), separated by
/// blanks or a comma; `#`/`%` comment lines skipped; CRLF accepted. Edges listed more than once
/// are merged (weight 1, or the sum of the weights). Errors (parse_error, naming file and line):
/// missing file, a line without exactly 2 (3) columns, a non-numeric id or weight, a negative
/// id, an id >= num_nodes when num_nodes is given, an id beyond what the file justifies
/// (`max_unlisted_nodes`), a weight or a sum of duplicate weights outside Scalar's range, an
/// empty file.
template <typename Scalar>
EdgeListGraph<Scalar> read_edge_list(const std::filesystem::path& path, const EdgeListReadOptions& options = {}) {
  detail::TextReader file(path, "read_edge_list", options.comments);
  const std::size_t columns = options.weighted ? 3 : 2;
  std::vector<std::string_view> f;
  std::vector<Index> src, dst, lines;  // lines: the file line of each weighted entry
  std::vector<Scalar> weights;
  std::unordered_map<std::string, Index> index_of;
  std::vector<std::string> ids;
  EdgeListGraph<Scalar> out;
  long long max_id = -1;
  Index max_id_line = 0;
  auto node = [&](std::string_view token) -> Index {
    if (options.relabel) {
      auto [it, inserted] = index_of.try_emplace(std::string(token), static_cast<Index>(ids.size()));
      if (inserted) ids.emplace_back(token);
      return it->second;
    }
    const long long v = file.integer(token, "a node id");
    if (v < 0) file.fail("a non-negative node id, got '", token, "'");
    if (options.num_nodes > 0 && v >= options.num_nodes)
      file.fail("a node id below num_nodes = ", options.num_nodes, ", got '", token, "'");
    if (v > detail::max_reader_nodes) file.fail("a node id below 2^31 - 1, got '", token, "'");
    if (v > max_id) {
      max_id = v;
      max_id_line = file.line_number();
    }
    return static_cast<Index>(v);
  };
  std::string_view line;
  while (file.next(line)) {
    file.split_exact(line, columns, options.weighted ? "'u v weight'" : "'u v'", f);
    const Index u = node(f[0]);
    const Index v = node(f[1]);
    Scalar w(1);
    if (options.weighted) w = file.value<Scalar>(f[2], "an edge weight");
    ++out.num_lines;
    if (u == v) {
      ++out.num_self_loops;
      if (!options.keep_self_loops) continue;
    }
    // adj(target, source): the edge u -> v is stored in row v.
    dst.push_back(v);
    src.push_back(u);
    if (options.weighted) {
      weights.push_back(w);
      lines.push_back(file.line_number());
    }
    if (options.symmetrize && u != v) {
      dst.push_back(u);
      src.push_back(v);
      if (options.weighted) {
        weights.push_back(w);
        lines.push_back(file.line_number());
      }
    }
  }
  if (out.num_lines == 0) file.fail_file("the file holds no edge");
  // Node ids the lines do not justify are refused before anything of size N is allocated.
  if (!options.relabel && options.num_nodes <= 0 &&
      max_id + 1 > 2 * static_cast<long long>(out.num_lines) + static_cast<long long>(options.max_unlisted_nodes))
    file.fail_at(max_id_line, "node ids that the file's ", out.num_lines, out.num_lines == 1 ? " line" : " lines",
                 " can justify (N = max id + 1 <= 2 x lines + max_unlisted_nodes = ",
                 2 * out.num_lines + options.max_unlisted_nodes, "), got the id ", max_id,
                 "; give num_nodes, relabel, or raise max_unlisted_nodes if the ids really are that sparse");
  const Index n = options.relabel ? static_cast<Index>(ids.size())
                                  : (options.num_nodes > 0 ? options.num_nodes : static_cast<Index>(max_id + 1));
  out.graph.adj = detail::build_csr<Scalar>(n, dst, src, weights, !options.weighted);
  if (options.weighted) detail::check_summed_weights<Scalar>(file, out.graph.adj, dst, src, weights, lines);
  out.graph.x = Matrix<Scalar>::Ones(n, 1);
  out.graph.offsets = {0, n};
  out.ids = std::move(ids);
  return out;
}

/// Reads node labels "node label" (one pair per line, blanks or a comma between) for the nodes
/// of `graph`: the node token is looked up as `EdgeListGraph::node_of` does. Every node must be
/// labelled exactly once. Labels are integers, remapped to 0..C-1 by sorted code.
template <typename Scalar>
Labels read_node_labels(const std::filesystem::path& path, const EdgeListGraph<Scalar>& graph) {
  detail::TextReader file(path, "read_node_labels", "#%");
  const Index n = graph.graph.num_nodes();
  std::vector<long long> codes(static_cast<std::size_t>(n));
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  std::vector<std::string_view> f;
  std::string_view line;
  Index count = 0;
  while (file.next(line)) {
    file.split_exact(line, 2, "'node label'", f);
    const Index i = graph.node_of(f[0]);
    if (i < 0) file.fail("a node of the graph (", n, " nodes), got '", f[0], "'");
    if (seen[static_cast<std::size_t>(i)]) file.fail("each node once, but node '", f[0], "' is labelled again");
    seen[static_cast<std::size_t>(i)] = 1;
    codes[static_cast<std::size_t>(i)] = file.integer(f[1], "a class label");
    ++count;
  }
  if (count != n) {
    const auto missing = std::find(seen.begin(), seen.end(), 0) - seen.begin();
    file.fail_file("labels ", count, " of the ", n, " nodes; node ",
                   graph.ids.empty() ? std::to_string(missing) : graph.ids[static_cast<std::size_t>(missing)],
                   " (index ", missing, ") has no label");
  }
  return detail::remap_labels(codes);
}

/// Reads one integer label per line (karate_labels.txt), remapped to 0..C-1 by sorted code.
/// With `expected` > 0 the file must have exactly that many lines.
inline Labels read_labels(const std::filesystem::path& path, Index expected = 0) {
  detail::TextReader file(path, "read_labels", "#%");
  std::vector<long long> codes;
  std::vector<std::string_view> f;
  std::string_view line;
  while (file.next(line)) {
    file.split_exact(line, 1, "one label", f);
    codes.push_back(file.integer(f[0], "a class label"));
  }
  if (expected > 0 && static_cast<Index>(codes.size()) != expected)
    file.fail_file("expected ", expected, " labels (one per line), found ", codes.size());
  if (codes.empty()) file.fail_file("the file holds no label");
  return detail::remap_labels(codes);
}

/// Reads a dense adjacency matrix written as text, one row per line (karate.txt): row i,
/// column j non-zero is the edge i -> j with that weight. The matrix must be square; all
/// entries finite. x is N x 1, all ones.
template <typename Scalar>
Batch<Scalar> read_adjacency_matrix(const std::filesystem::path& path) {
  detail::TextReader file(path, "read_adjacency_matrix", "#%");
  std::vector<std::string_view> f;
  std::vector<Index> src, dst;
  std::vector<Scalar> weights;
  std::string_view line;
  std::size_t n = 0;
  Index row = 0;
  while (file.next(line)) {
    if (row == 0) {
      file.split(line, f);
      n = f.size();
    } else {
      file.split_exact(line, n, "one entry per column of the first row", f);
    }
    if (static_cast<std::size_t>(row) >= n) file.fail("no more rows: the first row has ", n, " columns");
    for (std::size_t j = 0; j < n; ++j) {
      const Scalar w = file.value<Scalar>(f[j], "a matrix entry");
      if (w == Scalar(0)) continue;
      dst.push_back(static_cast<Index>(j));
      src.push_back(row);
      weights.push_back(w);
    }
    ++row;
  }
  if (n == 0) file.fail_file("the file holds no matrix");
  if (static_cast<std::size_t>(row) != n)
    file.fail_file("the matrix has ", row, " rows but ", n, " columns; it must be square");
  Batch<Scalar> g;
  g.adj = detail::build_csr<Scalar>(static_cast<Index>(n), dst, src, weights, false);
  g.x = Matrix<Scalar>::Ones(static_cast<Index>(n), 1);
  g.offsets = {0, static_cast<Index>(n)};
  return g;
}

}  // namespace gnnpool

#endif
