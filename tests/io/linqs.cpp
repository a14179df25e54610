// Tests of gnnpool/io/linqs.hpp: the counts of bundled Cora, string ids, unknown and self
// citations, and one clear error for every kind of malformed file.

#include <gnnpool/io/linqs.hpp>

#include <catch2/catch.hpp>

#include "io/support.hpp"

#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_io_linqs {

using gnnpool::Index;
using gnnpool::read_linqs;
using gnnpool::read_linqs_files;
using gnnpool::test::require_parse_error;
using gnnpool::test::TempDir;

TEMPLATE_TEST_CASE("read_linqs: bundled Cora has the published counts", "[io][linqs]", float, double) {
  const auto ds = read_linqs<TestType>(gnnpool::test::data_dir() / "cora");
  CHECK(ds.graph.num_nodes() == 2708);
  CHECK(ds.graph.num_features() == 1433);
  CHECK(ds.graph.x.sum() == TestType(49216));
  CHECK(ds.num_citations == 5429);
  CHECK(ds.num_unknown_citations == 0);
  CHECK(ds.num_self_citations == 0);
  CHECK(gnnpool::count_undirected_edges(ds.graph.adj) == 5278);
  CHECK(ds.graph.num_edges() == 2 * 5278);
  gnnpool::check_batch(ds.graph, "test");
  gnnpool::check_symmetric(ds.graph.adj, "test");
  REQUIRE(ds.num_classes() == 7);
  CHECK(ds.class_names == std::vector<std::string>{"Case_Based", "Genetic_Algorithms", "Neural_Networks",
                                                   "Probabilistic_Methods", "Reinforcement_Learning",
                                                   "Rule_Learning", "Theory"});
  std::vector<Index> counts(7, 0);
  for (Index l : ds.labels) ++counts[static_cast<std::size_t>(l)];
  CHECK(counts == std::vector<Index>{298, 418, 818, 426, 217, 180, 351});
  CHECK(ds.ids.front() == "31336");  // the first line of cora.content
  CHECK(ds.class_names[static_cast<std::size_t>(ds.labels.front())] == "Neural_Networks");
}

TEST_CASE("read_linqs: row_normalize divides each feature row by its sum", "[io][linqs]") {
  gnnpool::LinqsReadOptions normalized;
  normalized.row_normalize = true;
  const auto raw = read_linqs<double>(gnnpool::test::data_dir() / "cora");
  const auto nd = read_linqs<double>(gnnpool::test::data_dir() / "cora", "cora", normalized);
  const auto sums = raw.graph.x.rowwise().sum().eval();
  REQUIRE(sums.minCoeff() >= 1.0);  // every Cora paper has at least one word
  CHECK((nd.graph.x.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-12);
  CHECK((nd.graph.x.array().colwise() * sums.array() - raw.graph.x.array()).abs().maxCoeff() < 1e-12);
}

TEST_CASE("read_linqs: string ids, unknown and self citations, duplicates and CRLF", "[io][linqs]") {
  TempDir dir;
  const auto content = dir.write("toy.content",
                                 "bradshaw97\t1\t0\tAgents\r\n"
                                 "42\t0\t1\tML\r\n"
                                 "smith01x\t1\t1\tAgents\r\n"
                                 "7\t0\t0\tAI");
  const auto cites = dir.write("toy.cites",
                               "42\tbradshaw97\n"
                               "bradshaw97\t42\n"    // the same edge, other direction
                               "smith01x\tsmith01x\n"  // self-citation
                               "42\tghost99\n"         // unknown paper
                               "7\t42\n");
  const auto ds = read_linqs_files<double>(content, cites);
  CHECK(ds.ids == std::vector<std::string>{"bradshaw97", "42", "smith01x", "7"});
  CHECK(ds.class_names == std::vector<std::string>{"AI", "Agents", "ML"});
  CHECK(ds.labels == std::vector<Index>{1, 2, 1, 0});
  CHECK(ds.num_citations == 5);
  CHECK(ds.num_unknown_citations == 1);
  CHECK(ds.num_self_citations == 1);
  CHECK(ds.graph.num_edges() == 4);  // {0,1} and {1,3}, both directions
  CHECK(ds.graph.adj.coeff(0, 1) == 1.0);
  CHECK(ds.graph.adj.coeff(3, 1) == 1.0);
  CHECK(ds.graph.adj.coeff(2, 2) == 0.0);
  gnnpool::Matrix<double> x(4, 2);
  x << 1, 0, 0, 1, 1, 1, 0, 0;
  CHECK(ds.graph.x == x);

  gnnpool::LinqsReadOptions loops;
  loops.keep_self_loops = true;
  loops.symmetrize = false;
  const auto directed = read_linqs_files<double>(content, cites, loops);
  CHECK(directed.graph.adj.coeff(2, 2) == 1.0);
  // "7\t42": 42 cites 7, the edge 42 -> 7, stored in row 3 (paper 7) as adj(target, source).
  CHECK(directed.graph.adj.coeff(3, 1) == 1.0);
  CHECK(directed.graph.adj.coeff(1, 3) == 0.0);
}

TEST_CASE("read_linqs: every malformed file gives a clear error", "[io][linqs]") {
  TempDir dir;
  const std::string good_content = "a\t1\t0\tX\nb\t0\t1\tY\n";
  const auto good_cites = dir.write("good.cites", "a\tb\n");
  auto content_error = [&](const std::string& text, const std::vector<std::string>& fragments) {
    const auto p = dir.write("bad.content", text);
    require_parse_error([&] { (void)read_linqs_files<double>(p, good_cites); }, fragments);
  };
  auto cites_error = [&](const std::string& text, const std::vector<std::string>& fragments) {
    const auto c = dir.write("ok.content", good_content);
    const auto p = dir.write("bad.cites", text);
    require_parse_error([&] { (void)read_linqs_files<double>(c, p); }, fragments);
  };
  SECTION("missing file") {
    require_parse_error([&] { (void)read_linqs<double>(dir.path() / "citeseer"); },
                        {"citeseer.content", "does not exist"});
    const auto c = dir.write("ok.content", good_content);
    require_parse_error([&] { (void)read_linqs_files<double>(c, dir.path() / "none.cites"); },
                        {"none.cites", "does not exist"});
  }
  SECTION("truncated file") {
    content_error("a\t1\t0\tX\nb\t0", {"bad.content, line 2", "as on line 1 (4 columns), got 2 columns"});
  }
  SECTION("wrong column count") {
    content_error("a\tX\n", {"bad.content, line 1", "at least 3 columns"});
    cites_error("a\tb\nb\n", {"bad.cites, line 2", "'<cited_id> <citing_id>' (2 columns), got 1 column"});
    cites_error("a\tb\tc\n", {"bad.cites, line 1", "got 3 columns"});
  }
  SECTION("non-numeric field") {
    content_error("a\t1\t0\tX\nb\t0\tyes\tY\n", {"bad.content, line 2", "a feature value as a finite number, got 'yes'"});
  }
  SECTION("duplicate id") {
    content_error("a\t1\t0\tX\na\t0\t1\tY\n", {"bad.content, line 2", "'a' was already listed as paper 1"});
  }
  SECTION("empty file") {
    content_error("", {"bad.content", "no paper"});
  }
}

TEST_CASE("read_linqs: Citeseer quirks (when ../shared/data is present)", "[io][linqs]") {
  const auto folder = std::filesystem::path(GNNPOOL_SOURCE_DIR) / ".." / "shared" / "data" / "citeseer";
  if (!std::filesystem::exists(folder / "citeseer.content")) {
    WARN("skipped: " << folder << " is not on this machine");
    return;
  }
  const auto ds = read_linqs<float>(folder);
  CHECK(ds.graph.num_nodes() == 3312);
  CHECK(ds.graph.num_features() == 3703);
  CHECK(ds.num_classes() == 6);
  CHECK(ds.num_citations == 4732);
  CHECK(ds.num_unknown_citations == 17);
  CHECK(ds.num_self_citations == 124);
  CHECK(gnnpool::count_undirected_edges(ds.graph.adj) == 4536);
  CHECK(ds.ids[0].empty() == false);
}

}  // namespace gnnpool_test_io_linqs
