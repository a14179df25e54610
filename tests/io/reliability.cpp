// Regression tests of the readers' input validation (issue 12, findings F2, F6 and F7): label
// codes at the ends of the 64-bit range, numbers finite in double but not in float, sums and
// normalised rows that overflow, and sizes a tiny file cannot justify. Every case is the fuzz
// finding's input; each must end in a parse_error naming the file and the line.

#include <gnnpool/io/edge_list.hpp>
#include <gnnpool/io/linqs.hpp>
#include <gnnpool/io/tu.hpp>

#include <catch2/catch.hpp>

#include "io/support.hpp"

#include <string>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_io_reliability {

using gnnpool::EdgeListReadOptions;
using gnnpool::Index;
using gnnpool::read_edge_list;
using gnnpool::read_linqs_files;
using gnnpool::read_tu;
using gnnpool::test::require_parse_error;
using gnnpool::test::TempDir;

namespace {

// A TU dataset "DS" of `n` nodes in one graph (one edge 1-2), with the given node labels.
void write_tu(const TempDir& dir, Index n, const std::string& node_labels, const std::string& attributes = {}) {
  std::string indicator;
  for (Index i = 0; i < n; ++i) indicator += "1\n";
  dir.write("DS_graph_indicator.txt", indicator);
  dir.write("DS_graph_labels.txt", "1\n");
  dir.write("DS_A.txt", n >= 2 ? "1, 2\n2, 1\n" : "");
  if (!node_labels.empty()) dir.write("DS_node_labels.txt", node_labels);
  if (!attributes.empty()) dir.write("DS_node_attributes.txt", attributes);
}

}  // namespace

TEST_CASE("F2: read_tu rejects node labels spanning more than 2^63 with a parse_error", "[io][tu][reliability]") {
  TempDir dir;
  // max - min overflowed long long: UB, then the labels were dropped or a bad_alloc followed.
  write_tu(dir, 2, "-9223372036854775808\n9223372036854775807\n");
  require_parse_error([&] { (void)read_tu<double>(dir.path(), "DS"); },
                      {"read_tu", "DS_node_labels.txt", "node labels span -9223372036854775808..9223372036854775807",
                       "not supported"});
  write_tu(dir, 2, "-9000000000000000000\n1000000000000000000\n");
  require_parse_error([&] { (void)read_tu<float>(dir.path(), "DS"); },
                      {"DS_node_labels.txt", "-9000000000000000000..1000000000000000000"});
  // Negative codes whose span is small stay fine: one-hot of label - min.
  write_tu(dir, 2, "-5\n-3\n");
  const auto d = read_tu<double>(dir.path(), "DS");
  CHECK(d.node_label_min == -5);
  REQUIRE(d.num_node_label_columns == 3);
  CHECK(d.graphs.x(0, 0) == 1.0);
  CHECK(d.graphs.x(1, 2) == 1.0);
  CHECK(d.graphs.x.sum() == 2.0);
}

TEST_CASE("F7: read_tu bounds the one-hot width by the labels it uses", "[io][tu][reliability]") {
  TempDir dir;
  // The fuzz input: 20000 nodes, labels 0 and 999999, which was a 20000 x 10^6 matrix (160 GB).
  std::string labels = "999999\n";
  for (int i = 1; i < 20000; ++i) labels += "0\n";
  write_tu(dir, 20000, labels);
  require_parse_error([&] { (void)read_tu<double>(dir.path(), "DS"); },
                      {"read_tu", "DS_node_labels.txt", "span 0..999999", "only 2 distinct codes",
                       "999998 unused columns", "max_unused_label_columns = 1024"});
  // Small gaps (DD leaves 7 codes unused) are accepted; a wide gap needs the option.
  write_tu(dir, 3, "0\n2000\n7\n");
  require_parse_error([&] { (void)read_tu<float>(dir.path(), "DS"); }, {"1998 unused columns"});
  gnnpool::TUReadOptions wide;
  wide.max_unused_label_columns = 1998;
  const auto d = read_tu<float>(dir.path(), "DS", wide);
  CHECK(d.num_node_label_columns == 2001);
  CHECK(d.graphs.x(1, 2000) == 1.0f);
  CHECK(d.graphs.x(2, 7) == 1.0f);
  write_tu(dir, 3, "1\n9\n3\n");
  CHECK(read_tu<double>(dir.path(), "DS").num_node_label_columns == 9);
}

TEST_CASE("F6: read_tu<float> rejects an attribute beyond float's range", "[io][tu][reliability]") {
  TempDir dir;
  write_tu(dir, 1, "", "444444444444444444444444444444444444444444444\n");
  require_parse_error([&] { (void)read_tu<float>(dir.path(), "DS"); },
                      {"read_tu", "DS_node_attributes.txt, line 1", "within the range of float",
                       "'444444444444444444444444444444444444444444444'"});
  // The same file is fine in double.
  const auto d = read_tu<double>(dir.path(), "DS");
  CHECK(d.graphs.x(0, 0) == Approx(4.444444444444444e44));
}

TEST_CASE("F7: read_edge_list refuses node ids its lines cannot justify, before allocating", "[io][edge_list][reliability]") {
  TempDir dir;
  // 13 bytes that asked for 2^31 - 1 nodes (bad_alloc), and 20 bytes that took 13.7 s and 1.2 GB.
  for (const std::string id : {"2147483646", "100000000"}) {
    const auto p = dir.write("huge.txt", "0 " + id + "\n");
    require_parse_error([&] { (void)read_edge_list<double>(p); },
                        {"read_edge_list", "huge.txt, line 1", "1 line can justify", "got the id " + id,
                         "max_unlisted_nodes"});
  }
  // Sparse ids are still read when the file or the caller justifies them.
  const auto p = dir.write("sparse.txt", "0 1\n2 70000\n");
  require_parse_error([&] { (void)read_edge_list<float>(p); }, {"sparse.txt, line 2", "got the id 70000"});
  EdgeListReadOptions slack;
  slack.max_unlisted_nodes = 70000;
  CHECK(read_edge_list<float>(p, slack).graph.num_nodes() == 70001);
  EdgeListReadOptions relabel;
  relabel.relabel = true;
  CHECK(read_edge_list<float>(p, relabel).graph.num_nodes() == 4);
  EdgeListReadOptions given;
  given.num_nodes = 80000;
  CHECK(read_edge_list<float>(p, given).graph.num_nodes() == 80000);
  // Up to 2 x lines + 65536 nodes needs no option.
  CHECK(read_edge_list<double>(dir.write("ok.txt", "0 65537\n")).graph.num_nodes() == 65538);
}

TEST_CASE("F6: edge weights and matrix entries must stay finite in the Scalar read into", "[io][edge_list][reliability]") {
  TempDir dir;
  EdgeListReadOptions weighted;
  weighted.weighted = true;
  // 1. A weight finite in double but not in float.
  const auto big = dir.write("w1.txt", "0 1 0.5\n0 1 8e38\n");
  require_parse_error([&] { (void)read_edge_list<float>(big, weighted); },
                      {"read_edge_list", "w1.txt, line 2", "an edge weight within the range of float", "'8e38'"});
  CHECK(read_edge_list<double>(big, weighted).graph.adj.coeff(1, 0) == 8e38 + 0.5);
  // 2. Duplicates summed to inf: the line whose weight overflowed the sum is named.
  const auto dup = dir.write("w2.txt", "0 1 1e308\n1 2 1\n0 1 1e308\n");
  require_parse_error([&] { (void)read_edge_list<double>(dup, weighted); },
                      {"w2.txt, line 3", "sum stays within the range of double", "listed several times"});
  // With symmetrize, "1 0" adds to the same entry as "0 1".
  const auto mirror = dir.write("w3.txt", "0 1 3e38\n1 0 3e38\n");
  require_parse_error([&] { (void)read_edge_list<float>(mirror, weighted); }, {"w3.txt, line 2", "float"});
  EdgeListReadOptions directed = weighted;
  directed.symmetrize = false;
  const auto g = read_edge_list<float>(mirror, directed);
  CHECK(g.graph.adj.coeff(1, 0) == 3e38f);
  CHECK(g.graph.adj.coeff(0, 1) == 3e38f);
  // 3. A dense matrix entry beyond float.
  const auto m = dir.write("m.txt", "0 1e39\n1 0\n");
  require_parse_error([&] { (void)gnnpool::read_adjacency_matrix<float>(m); },
                      {"read_adjacency_matrix", "m.txt, line 1", "a matrix entry within the range of float", "'1e39'"});
  CHECK(gnnpool::read_adjacency_matrix<double>(m).adj.coeff(1, 0) == 1e39);
}

TEST_CASE("F6: read_linqs rejects features and normalised rows that are not finite", "[io][linqs][reliability]") {
  TempDir dir;
  // 4. A feature beyond float (fuzz_linqs' minimised input).
  const auto content = dir.write("f.content", "a\t11e38\te\n");
  const auto cites = dir.write("f.cites", "");
  require_parse_error([&] { (void)read_linqs_files<float>(content, cites); },
                      {"read_linqs", "f.content, line 1", "a feature value within the range of float", "'11e38'"});
  CHECK(read_linqs_files<double>(content, cites).graph.x(0, 0) == 11e38);
  // Row normalisation dividing by a row sum of 1e-300 (1e300 - 1e300 + 1e-300).
  gnnpool::LinqsReadOptions normalize;
  normalize.row_normalize = true;
  const auto tiny = dir.write("t.content", "b\t0\t1\t0\tY\na\t1e300\t-1e300\t1e-300\tX\n");
  const auto tc = dir.write("t.cites", "a\tb\n");
  require_parse_error([&] { (void)read_linqs_files<double>(tiny, tc, normalize); },
                      {"read_linqs", "t.content, line 2", "row_normalize", "sum (1e-300)", "overflows"});
  // A sum that overflows double.
  const auto huge = dir.write("h.content", "a\t1e308\t1e308\tX\n");
  require_parse_error([&] { (void)read_linqs_files<double>(huge, tc, normalize); },
                      {"h.content, line 1", "the sum overflows double"});
  // A quotient finite in double but not in float; fine in double.
  const auto mid = dir.write("m.content", "a\t1e30\t-1e30\t1e-10\tX\nb\t1\t3\t0\tY\n");
  require_parse_error([&] { (void)read_linqs_files<float>(mid, tc, normalize); }, {"m.content, line 1", "float"});
  const auto d = read_linqs_files<double>(mid, tc, normalize);
  CHECK(d.graph.x(0, 0) == Approx(1e40).epsilon(1e-6));
  CHECK(d.graph.x(1, 0) == 0.25);
  CHECK(d.graph.x(1, 1) == 0.75);
  CHECK(d.graph.x.allFinite());
}

}  // namespace gnnpool_test_io_reliability
