// Tests of gnnpool/io/edge_list.hpp: karate (dense matrix + label column), SNAP-style edge
// lists (comments, CRLF, self-loops, duplicates), relabelled ids, node-label files, and one
// clear error for every kind of malformed file.

#include <gnnpool/io/edge_list.hpp>

#include <catch2/catch.hpp>

#include "io/support.hpp"

#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_io_edge_list {

using gnnpool::EdgeListReadOptions;
using gnnpool::Index;
using gnnpool::read_edge_list;
using gnnpool::test::require_parse_error;
using gnnpool::test::TempDir;

TEMPLATE_TEST_CASE("read_adjacency_matrix / read_labels: bundled karate has the published counts", "[io][edge_list]",
                   float, double) {
  const auto g = gnnpool::read_adjacency_matrix<TestType>(gnnpool::test::data_dir() / "karate" / "karate.txt");
  CHECK(g.num_nodes() == 34);
  CHECK(g.num_edges() == 156);
  CHECK(gnnpool::count_undirected_edges(g.adj) == 78);
  gnnpool::check_batch(g, "test");
  gnnpool::check_symmetric(g.adj, "test");
  CHECK(g.adj.coeff(1, 0) == TestType(1));  // members 1 and 2 are friends
  CHECK(g.adj.coeff(0, 0) == TestType(0));
  // karate_labels.txt has no final newline.
  const auto y = gnnpool::read_labels(gnnpool::test::data_dir() / "karate" / "karate_labels.txt", 34);
  CHECK(y.classes == std::vector<long long>{1, 2});
  CHECK(y.class_counts() == std::vector<Index>{17, 17});
  CHECK(y.labels[0] == 0);   // Mr. Hi
  CHECK(y.labels[33] == 1);  // the Officer
}

TEST_CASE("read_edge_list: comments, CRLF, self-loops, duplicates and weights", "[io][edge_list]") {
  TempDir dir;
  const auto path = dir.write("g.txt",
                              "# Directed graph: g.txt\r\n"
                              "% another comment style\r\n"
                              "0\t1\r\n"
                              "1\t0\r\n"
                              "2 2\r\n"
                              "1, 3\r\n"
                              "3 1");
  const auto g = read_edge_list<double>(path);
  CHECK(g.num_lines == 5);
  CHECK(g.num_self_loops == 1);
  CHECK(g.graph.num_nodes() == 4);
  CHECK(g.graph.num_edges() == 4);  // {0,1}, {1,3}; the loop dropped, duplicates merged
  CHECK(gnnpool::count_undirected_edges(g.graph.adj) == 2);
  CHECK(g.graph.x == gnnpool::Matrix<double>::Ones(4, 1));
  CHECK(g.node_of("3") == 3);
  CHECK(g.node_of("9") == -1);

  EdgeListReadOptions loops;
  loops.keep_self_loops = true;
  loops.symmetrize = false;
  loops.num_nodes = 6;
  const auto d = read_edge_list<double>(path, loops);
  CHECK(d.graph.num_nodes() == 6);
  CHECK(d.graph.adj.coeff(2, 2) == 1.0);
  CHECK(d.graph.num_edges() == 5);  // 0->1, 1->0, 2->2, 1->3, 3->1 kept as directed entries
  CHECK(d.graph.adj.coeff(3, 1) == 1.0);

  EdgeListReadOptions weighted;
  weighted.weighted = true;
  const auto w = read_edge_list<double>(dir.write("w.txt", "0 1 0.5\n1 0 0.25\n1 2 2\n"), weighted);
  CHECK(w.graph.adj.coeff(0, 1) == 0.75);
  CHECK(w.graph.adj.coeff(1, 0) == 0.75);
  CHECK(w.graph.adj.coeff(2, 1) == 2.0);
}

TEST_CASE("read_edge_list + read_node_labels: relabelled string ids (Network Repository style)", "[io][edge_list]") {
  TempDir dir;
  EdgeListReadOptions relabel;
  relabel.relabel = true;
  const auto g = read_edge_list<float>(dir.write("p.edges", "10027394,2566547\n10027394,8059694\n"), relabel);
  CHECK(g.ids == std::vector<std::string>{"10027394", "2566547", "8059694"});
  CHECK(g.graph.num_edges() == 4);
  const auto y = gnnpool::read_node_labels(dir.write("p.labels", "8059694,3\r\n10027394,1\r\n2566547,3\r\n"), g);
  CHECK(y.labels == std::vector<Index>{0, 1, 1});
  CHECK(y.classes == std::vector<long long>{1, 3});
  require_parse_error([&] { (void)gnnpool::read_node_labels(dir.write("q.labels", "8059694,3\n"), g); },
                      {"q.labels", "labels 1 of the 3 nodes", "node 10027394 (index 0) has no label"});
  require_parse_error([&] { (void)gnnpool::read_node_labels(dir.write("r.labels", "8059694,3\n8059694,1\n"), g); },
                      {"r.labels, line 2", "labelled again"});
  require_parse_error([&] { (void)gnnpool::read_node_labels(dir.write("s.labels", "555,3\n"), g); },
                      {"s.labels, line 1", "a node of the graph (3 nodes), got '555'"});
}

TEST_CASE("edge-list readers: every malformed file gives a clear error", "[io][edge_list]") {
  TempDir dir;
  auto edge_error = [&](const std::string& text, const std::vector<std::string>& fragments,
                        const EdgeListReadOptions& options = {}) {
    const auto p = dir.write("bad.txt", text);
    require_parse_error([&] { (void)read_edge_list<double>(p, options); }, fragments);
  };
  SECTION("missing file") {
    require_parse_error([&] { (void)read_edge_list<double>(dir.path() / "absent.txt"); },
                        {"read_edge_list", "absent.txt", "does not exist"});
    require_parse_error([&] { (void)read_edge_list<double>(dir.path()); }, {"is not a regular file"});
  }
  SECTION("truncated file") {
    edge_error("0 1\n1 2\n2", {"bad.txt, line 3", "'u v' (2 columns), got 1 column"});
    edge_error("# only a comment\n", {"bad.txt", "no edge"});
  }
  SECTION("wrong column count") {
    edge_error("0 1 5\n", {"bad.txt, line 1", "got 3 columns"});
    EdgeListReadOptions weighted;
    weighted.weighted = true;
    edge_error("0 1 5\n1 2\n", {"bad.txt, line 2", "'u v weight' (3 columns)"}, weighted);
  }
  SECTION("non-numeric field") {
    edge_error("0 1\n1 b\n", {"bad.txt, line 2", "a node id as an integer, got 'b'"});
    EdgeListReadOptions weighted;
    weighted.weighted = true;
    edge_error("0 1 inf\n", {"bad.txt, line 1", "an edge weight as a finite number, got 'inf'"}, weighted);
    edge_error("0 99999999999999999999\n", {"bad.txt, line 1", "an integer in range"});
  }
  SECTION("index out of range") {
    edge_error("0 1\n-1 2\n", {"bad.txt, line 2", "a non-negative node id, got '-1'"});
    EdgeListReadOptions four;
    four.num_nodes = 4;
    edge_error("0 1\n1 4\n", {"bad.txt, line 2", "below num_nodes = 4, got '4'"}, four);
  }
  SECTION("dense matrices and label columns") {
    const auto ragged = dir.write("m.txt", "0\t1\t0\n1\t0\n0\t0\t0\n");
    require_parse_error([&] { (void)gnnpool::read_adjacency_matrix<double>(ragged); },
                        {"m.txt, line 2", "one entry per column of the first row (3 columns), got 2 columns"});
    const auto tall = dir.write("t.txt", "0 1\n1 0\n0 0\n");
    require_parse_error([&] { (void)gnnpool::read_adjacency_matrix<double>(tall); },
                        {"t.txt, line 3", "no more rows"});
    const auto wide = dir.write("u.txt", "0 1 1\n1 0 1\n");
    require_parse_error([&] { (void)gnnpool::read_adjacency_matrix<double>(wide); }, {"u.txt", "must be square"});
    const auto labels = dir.write("l.txt", "1\n2\nx\n");
    require_parse_error([&] { (void)gnnpool::read_labels(labels); }, {"l.txt, line 3", "got 'x'"});
    const auto short_labels = dir.write("s.txt", "1\n2\n");
    require_parse_error([&] { (void)gnnpool::read_labels(short_labels, 34); }, {"s.txt", "expected 34 labels"});
  }
}

TEST_CASE("read_edge_list: SNAP graphs (when ../shared/data is present)", "[io][edge_list]") {
  const auto root = std::filesystem::path(GNNPOOL_SOURCE_DIR) / ".." / "shared" / "data";
  if (!std::filesystem::exists(root / "email-Eu-core" / "email-Eu-core.txt")) {
    WARN("skipped: " << root << " is not on this machine");
    return;
  }
  const auto eu = read_edge_list<float>(root / "email-Eu-core" / "email-Eu-core.txt");
  CHECK(eu.graph.num_nodes() == 1005);
  CHECK(eu.num_lines == 25571);
  CHECK(eu.num_self_loops == 642);
  CHECK(gnnpool::count_undirected_edges(eu.graph.adj) == 16064);
  const auto dept = gnnpool::read_node_labels(root / "email-Eu-core" / "email-Eu-core-department-labels.txt", eu);
  CHECK(dept.num_classes() == 42);  // CRLF file
  const auto enron = read_edge_list<float>(root / "email-Enron" / "email-Enron.txt");  // CRLF, '#' comments
  CHECK(enron.graph.num_nodes() == 36692);
  CHECK(enron.num_lines == 367662);
  CHECK(gnnpool::count_undirected_edges(enron.graph.adj) == 183831);
  EdgeListReadOptions relabel;
  relabel.relabel = true;
  const auto pubmed = read_edge_list<float>(root / "PubMed" / "PubMed.edges", relabel);
  CHECK(pubmed.graph.num_nodes() == 19717);
  CHECK(pubmed.num_self_loops == 3);
  CHECK(gnnpool::count_undirected_edges(pubmed.graph.adj) == 44324);
  CHECK(gnnpool::read_node_labels(root / "PubMed" / "PubMed.node_labels", pubmed).class_counts() ==
        std::vector<Index>{4103, 7875, 7739});
}

}  // namespace gnnpool_test_io_edge_list
