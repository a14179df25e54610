// Tests of gnnpool/io/tu.hpp: the counts of the bundled TU datasets, the quirks of published
// files, and one clear error for every kind of malformed file.

#include <gnnpool/io/tu.hpp>

#include <catch2/catch.hpp>

#include "io/support.hpp"

#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_io_tu {

using gnnpool::Index;
using gnnpool::read_tu;
using gnnpool::test::require_parse_error;
using gnnpool::test::TempDir;

namespace {

// A valid 2-graph dataset "T": graph 1 = path 1-2-3, graph 2 = edge 4-5.
struct ToyFiles {
  std::string a = "1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n";
  std::string indicator = "1\n1\n1\n2\n2\n";
  std::string graph_labels = "-1\n1\n";
  std::string node_labels = "0\n2\n0\n1\n1\n";
  std::string attributes = " 0.5, 1\n 1.5, 2\n 2.5, 3\n 3.5, 4\n 4.5, 5\n";

  void write(const TempDir& dir) const {
    dir.write("T_A.txt", a);
    dir.write("T_graph_indicator.txt", indicator);
    dir.write("T_graph_labels.txt", graph_labels);
    if (!node_labels.empty()) dir.write("T_node_labels.txt", node_labels);
    if (!attributes.empty()) dir.write("T_node_attributes.txt", attributes);
  }
};

}  // namespace

TEMPLATE_TEST_CASE("read_tu: bundled MUTAG has the published counts", "[io][tu]", float, double) {
  const auto ds = read_tu<TestType>(gnnpool::test::data_dir() / "MUTAG");
  CHECK(ds.name == "MUTAG");
  CHECK(ds.num_graphs() == 188);
  CHECK(ds.graphs.num_nodes() == 3371);
  CHECK(ds.num_adjacency_lines == 7442);
  CHECK(ds.graphs.num_edges() == 7442);
  CHECK(gnnpool::count_undirected_edges(ds.graphs.adj) == 3721);
  CHECK(ds.num_classes() == 2);
  CHECK(ds.y.classes == std::vector<long long>{-1, 1});
  CHECK(ds.y.class_counts() == std::vector<Index>{63, 125});
  CHECK(ds.num_node_attributes == 0);
  CHECK(ds.num_node_label_columns == 7);
  REQUIRE(ds.graphs.x.cols() == 7);
  CHECK((ds.graphs.x.rowwise().sum().array() == TestType(1)).all());
  gnnpool::check_batch(ds.graphs, "test");
  gnnpool::check_symmetric(ds.graphs.adj, "test");
  // The first graph of MUTAG_graph_indicator.txt has 17 nodes; its label is 1.
  CHECK(ds.graphs.graph_size(0) == 17);
  CHECK(ds.y.classes[static_cast<std::size_t>(ds.y.labels[0])] == 1);
}

TEMPLATE_TEST_CASE("read_tu: bundled PROTEINS has the published counts", "[io][tu]", float, double) {
  const auto ds = read_tu<TestType>(gnnpool::test::data_dir() / "PROTEINS");
  CHECK(ds.num_graphs() == 1113);
  CHECK(ds.graphs.num_nodes() == 43471);
  CHECK(ds.num_adjacency_lines == 162088);
  CHECK(gnnpool::count_undirected_edges(ds.graphs.adj) == 81044);
  CHECK(ds.y.classes == std::vector<long long>{1, 2});
  CHECK(ds.y.class_counts() == std::vector<Index>{663, 450});
  CHECK(ds.num_node_attributes == 1);
  CHECK(ds.num_node_label_columns == 3);
  CHECK(ds.node_label_min == 0);
  REQUIRE(ds.graphs.x.cols() == 4);
  // Column 0 is the attribute (the first line of PROTEINS_node_attributes.txt is " 23.000000").
  CHECK(ds.graphs.x(0, 0) == TestType(23));
  CHECK((ds.graphs.x.rightCols(3).rowwise().sum().array() == TestType(1)).all());
  gnnpool::check_batch(ds.graphs, "test");
  gnnpool::check_symmetric(ds.graphs.adj, "test");
  // TUDataset reports an average of 39.06 nodes per graph.
  CHECK(static_cast<double>(ds.graphs.num_nodes()) / 1113.0 == Approx(39.06).margin(0.005));
}

TEST_CASE("read_tu: features are [attributes | one-hot(node label - min)], labels remapped", "[io][tu]") {
  TempDir dir;
  ToyFiles files;
  files.write(dir);
  const auto ds = read_tu<double>(dir.path(), "T");
  REQUIRE(ds.num_graphs() == 2);
  CHECK(ds.graphs.offsets == gnnpool::IndexVector{0, 3, 5});
  CHECK(ds.y.labels == std::vector<Index>{0, 1});
  CHECK(ds.num_node_attributes == 2);
  CHECK(ds.num_node_label_columns == 3);
  gnnpool::Matrix<double> expected(5, 5);
  expected << 0.5, 1, 1, 0, 0,  //
      1.5, 2, 0, 0, 1,          //
      2.5, 3, 1, 0, 0,          //
      3.5, 4, 0, 1, 0,          //
      4.5, 5, 0, 1, 0;
  CHECK(ds.graphs.x == expected);
  CHECK(ds.graphs.adj.coeff(1, 0) == 1.0);
  CHECK(ds.graphs.adj.coeff(4, 3) == 1.0);
  CHECK(ds.graphs.num_edges() == 6);

  gnnpool::TUReadOptions labels_only;
  labels_only.node_attributes = false;
  CHECK(read_tu<double>(dir.path(), "T", labels_only).graphs.x == expected.rightCols(3));
  gnnpool::TUReadOptions none;
  none.node_attributes = false;
  none.node_labels = false;
  CHECK(read_tu<double>(dir.path(), "T", none).graphs.x == gnnpool::Matrix<double>::Ones(5, 1));
}

TEST_CASE("read_tu: tolerates the quirks of published files", "[io][tu]") {
  TempDir dir;
  ToyFiles files;
  // NCI1-style "8,1", IMDB-style duplicates, CRLF, no final newline, trailing blank lines,
  // labels 1..C, a graph id with no node (empty graph 2), no optional files.
  files.a = "1,2\r\n2,1\r\n2,1\r\n1,2\r\n2,3\r\n3,2\r\n4,5\r\n5,4";
  files.indicator = "1\r\n1\r\n1\r\n3\r\n3\r\n\r\n\n";
  files.graph_labels = "2\n1\n2";
  files.node_labels.clear();
  files.attributes.clear();
  files.write(dir);
  const auto ds = read_tu<double>(dir.path(), "T");
  CHECK(ds.num_graphs() == 3);
  CHECK(ds.graphs.offsets == gnnpool::IndexVector{0, 3, 3, 5});
  CHECK(ds.num_adjacency_lines == 8);
  CHECK(ds.graphs.num_edges() == 6);  // duplicates merged
  CHECK(ds.graphs.adj.coeff(0, 1) == 1.0);
  CHECK(ds.y.labels == std::vector<Index>{1, 0, 1});
  CHECK(ds.graphs.x == gnnpool::Matrix<double>::Ones(5, 1));
  // The folder's own name is the default dataset name; a trailing slash is fine.
  TempDir named;
  std::filesystem::create_directories(named.path() / "T");
  for (const auto* suffix : {"_A.txt", "_graph_indicator.txt", "_graph_labels.txt"})
    std::filesystem::copy_file(dir.path() / (std::string("T") + suffix), named.path() / "T" / (std::string("T") + suffix));
  CHECK(read_tu<double>(named.path() / "T" / "").num_graphs() == 3);
}

TEST_CASE("read_tu: every malformed file gives a clear error", "[io][tu]") {
  auto check = [](auto mutate, const std::vector<std::string>& fragments) {
    TempDir dir;
    ToyFiles files;
    mutate(files);
    files.write(dir);
    require_parse_error([&] { (void)read_tu<double>(dir.path(), "T"); }, fragments);
  };
  SECTION("missing file") {
    TempDir dir;
    ToyFiles files;
    files.write(dir);
    std::filesystem::remove(dir.path() / "T_A.txt");
    require_parse_error([&] { (void)read_tu<double>(dir.path(), "T"); }, {"T_A.txt", "does not exist"});
    require_parse_error([&] { (void)read_tu<double>(dir.path() / "nowhere"); },
                        {"nowhere_graph_indicator.txt", "does not exist"});
  }
  SECTION("truncated files") {
    check([](ToyFiles& f) { f.a = "1, 2\n2, 1\n2, 3\n3, "; },
          {"T_A.txt, line 4", "a value after the last comma"});
    check([](ToyFiles& f) { f.node_labels = "0\n2\n0\n"; },
          {"T_node_labels.txt", "has 3 lines but graph_indicator has 5 nodes"});
    check([](ToyFiles& f) { f.attributes = " 0.5, 1\n 1.5, 2\n 2.5"; },
          {"T_node_attributes.txt, line 3", "as many attributes as on line 1 (2 columns), got 1 column"});
    check([](ToyFiles& f) { f.graph_labels = "1\n"; },
          {"T_graph_labels.txt", "has 1 lines", "refers to graph 2"});
  }
  SECTION("wrong column count") {
    check([](ToyFiles& f) { f.a = "1, 2\n2, 1, 7\n"; }, {"T_A.txt, line 2", "'row, col' (2 columns), got 3 columns"});
    check([](ToyFiles& f) { f.indicator = "1\n1 1\n1\n2\n2\n"; }, {"T_graph_indicator.txt, line 2", "one graph id"});
  }
  SECTION("non-numeric field") {
    check([](ToyFiles& f) { f.a = "1, 2\n2, x\n"; }, {"T_A.txt, line 2", "a node index as an integer, got 'x'"});
    check([](ToyFiles& f) { f.graph_labels = "1\nactive\n"; }, {"T_graph_labels.txt, line 2", "got 'active'"});
    check([](ToyFiles& f) { f.attributes = " 0.5, 1\n 1.5, 2\n 2.5, 3\n 3.5, nan\n 4.5, 5\n"; },
          {"T_node_attributes.txt, line 4", "a finite number, got 'nan'"});
    check([](ToyFiles& f) { f.node_labels = "0\n2\n0\n1.5\n1\n"; }, {"T_node_labels.txt, line 4", "got '1.5'"});
  }
  SECTION("index out of range") {
    check([](ToyFiles& f) { f.a = "1, 2\n2, 6\n"; }, {"T_A.txt, line 2", "a node index in 1..5", "got '6'"});
    check([](ToyFiles& f) { f.a = "0, 2\n"; }, {"T_A.txt, line 1", "got '0'"});
    check([](ToyFiles& f) { f.indicator = "1\n1\n1\n2\n0\n"; }, {"T_graph_indicator.txt, line 5"});
    check([](ToyFiles& f) { f.a = "3, 4\n"; }, {"T_A.txt, line 1", "node 3 is in graph 1 and node 4 in graph 2"});
    check([](ToyFiles& f) { f.node_labels += "1\n"; }, {"T_node_labels.txt, line 6", "no more than 5 lines"});
  }
  SECTION("graph_indicator not sorted") {
    check([](ToyFiles& f) { f.indicator = "1\n2\n1\n2\n2\n"; },
          {"T_graph_indicator.txt, line 3", "must be sorted", "got '1'"});
  }
  SECTION("blank line inside a file") {
    check([](ToyFiles& f) { f.a = "1, 2\n\n2, 1\n"; }, {"T_A.txt, line 2", "blank line"});
  }
  SECTION("empty file") {
    check([](ToyFiles& f) { f.indicator = ""; }, {"T_graph_indicator.txt", "no node"});
  }
}

TEST_CASE("read_tu: NCI1 ('8,1') and IMDB-BINARY (entries listed twice) when ../shared/data is present", "[io][tu]") {
  const auto root = std::filesystem::path(GNNPOOL_SOURCE_DIR) / ".." / "shared" / "data";
  if (!std::filesystem::exists(root / "NCI1" / "NCI1_A.txt")) {
    WARN("skipped: " << root << " is not on this machine");
    return;
  }
  const auto nci1 = read_tu<float>(root / "NCI1");
  CHECK(nci1.num_graphs() == 4110);
  CHECK(nci1.graphs.num_nodes() == 122747);
  CHECK(gnnpool::count_undirected_edges(nci1.graphs.adj) == 132753);
  CHECK(nci1.y.class_counts() == std::vector<Index>{2053, 2057});
  CHECK(nci1.num_node_label_columns == 37);
  const auto imdb = read_tu<float>(root / "IMDB-BINARY");
  CHECK(imdb.num_graphs() == 1000);
  CHECK(imdb.graphs.num_nodes() == 19773);
  CHECK(imdb.num_adjacency_lines == 386124);
  CHECK(imdb.graphs.num_edges() == 193062);
  CHECK(gnnpool::count_undirected_edges(imdb.graphs.adj) == 96531);
  CHECK(imdb.graphs.x == gnnpool::Matrix<float>::Ones(19773, 1));
  const auto enzymes = read_tu<float>(root / "ENZYMES");
  CHECK(enzymes.num_graphs() == 600);
  CHECK(enzymes.graphs.num_features() == 18 + 3);
  CHECK(enzymes.y.class_counts() == std::vector<Index>(6, 100));
}

}  // namespace gnnpool_test_io_tu
