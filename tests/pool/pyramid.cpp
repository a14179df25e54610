// Tests of gnnpool/pool/pyramid.hpp: building pyramids from any selector (Graclus, k-MIS with a
// fixed score, NDP + Kron), batching per-graph pyramids, PyramidPool against the live pooler,
// the file format (round trip, precision conversion) and every way a file can be bad.

#include <gnnpool/connect/kron.hpp>
#include <gnnpool/pool/graclus_pool.hpp>
#include <gnnpool/pool/pyramid.hpp>
#include <gnnpool/select/kmis.hpp>
#include <gnnpool/select/ndp.hpp>
#include <gnnpool/testing/gradcheck.hpp>

#include "pool/cluster_test_support.hpp"
#include "support/approx.hpp"
#include "support/temp_file.hpp"
#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_pool_pyramid {

using gnnpool::Batch;
using gnnpool::GraclusOptions;
using gnnpool::GraclusSelect;
using gnnpool::HardSelection;
using gnnpool::Index;
using gnnpool::IndexVector;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::Pyramid;
using gnnpool::PyramidPool;
using gnnpool::test::require_throws_with;

namespace {

/// A temporary file removed at the end of the scope.
struct TempFile : gnnpool::test::TempFile {
  explicit TempFile(const std::string& name) : gnnpool::test::TempFile("gnnpool_pyramid_", name) {}
};

template <typename Scalar>
auto graclus_coarsener(std::uint64_t seed) {
  GraclusOptions o;
  o.seed = seed;
  o.weighting = gnnpool::GraclusWeighting::normalized_cut;
  return gnnpool::make_coarsener(GraclusSelect<Scalar>(o));
}

/// Rewrites the checksum after a deliberate edit of the payload (to reach the structural checks).
void reseal(std::vector<unsigned char>& bytes) {
  const std::uint64_t h = gnnpool::detail::fnv1a(bytes.data() + 32, bytes.size() - 40);
  for (std::size_t k = 0; k < 8; ++k) bytes[bytes.size() - 8 + k] = static_cast<unsigned char>((h >> (8 * k)) & 0xff);
}

}  // namespace

TEMPLATE_TEST_CASE("A Graclus pyramid equals running the pooler level after level", "[pool][pyramid]", float, double) {
  using T = TestType;
  const auto g = gnnpool::test::random_cluster_batch<T>({60, 1, 35}, 4.0, 3, 17);
  const auto p = gnnpool::build_pyramid(g, 3, graclus_coarsener<T>(4));
  REQUIRE(p.num_levels() == 3);
  CHECK(p.num_graphs() == 3);
  Batch<T> current = g;
  for (Index l = 0; l < 3; ++l) {
    gnnpool::GraclusPoolOptions o;
    o.select.seed = 4;
    o.select.weighting = gnnpool::GraclusWeighting::normalized_cut;
    o.aggregation = gnnpool::ClusterAggregation::mean;
    typename gnnpool::GraclusPool<T>::Output out;
    typename gnnpool::GraclusPool<T>::Cache cache;
    gnnpool::ParameterSet<T> none;
    gnnpool::GraclusPool<T>(none, "", current.num_features(), o).forward(none, current, out, cache);
    const auto& level = p.levels[static_cast<std::size_t>(l)];
    CHECK(level.selection.assignment == out.selection.assignment);
    CHECK(gnnpool::detail::same_sparse(level.adj, out.batch.adj));
    CHECK(p.level_size(l + 1) == out.batch.num_nodes());
    CHECK(p.level_size(l + 1) < p.level_size(l));
    // PyramidPool reproduces the pooled features from the stored level.
    Batch<T> pooled;
    typename PyramidPool<T>::Cache pc;
    PyramidPool<T>({gnnpool::ClusterAggregation::mean}).forward(p, l, current, pooled, pc);
    CHECK(pooled.x == out.batch.x);
    CHECK(pooled.offsets == out.batch.offsets);
    current = out.batch;
  }
  // A callable that returns a bare selection is connected with ClusterConnect.
  GraclusOptions o;
  o.seed = 4;
  o.weighting = gnnpool::GraclusWeighting::normalized_cut;
  const GraclusSelect<T> select(o);
  const auto q = gnnpool::build_pyramid(g, 3, [&](const Batch<T>& level_graph, Index) {
    HardSelection<T> s;
    typename GraclusSelect<T>::Cache c;
    select.forward({}, level_graph, s, c);
    return s;
  });
  CHECK(q == p);
}

TEST_CASE("Pyramids of single graphs concatenate to the pyramid of their batch", "[pool][pyramid]") {
  std::vector<Batch<double>> graphs;
  for (std::uint64_t s = 0; s < 4; ++s) graphs.push_back(gnnpool::test::random_cluster_batch<double>({20 + static_cast<Index>(7 * s)}, 3.0, 2, s));
  graphs.push_back(gnnpool::test::random_cluster_batch<double>({0}, 3.0, 2, 9));
  const auto batch = gnnpool::concatenate<double>(graphs);
  for (int kind = 0; kind < 2; ++kind) {
    auto run = [&](const Batch<double>& g) {
      if (kind == 0) return gnnpool::build_pyramid(g, 2, graclus_coarsener<double>(3));
      gnnpool::KMISOptions o;
      o.scorer = gnnpool::KMISScorer::degree;
      o.k = 2;
      return gnnpool::build_pyramid(g, 2, gnnpool::make_coarsener(gnnpool::KMISSelect<double>(o)));
    };
    std::vector<Pyramid<double>> parts;
    for (const auto& g : graphs) parts.push_back(run(g));
    const auto joined = gnnpool::concatenate_pyramids<double>(parts);
    CHECK_NOTHROW(gnnpool::check_pyramid(joined, "test"));
    CHECK(joined == run(batch));
  }
}

TEST_CASE("NDP plugs into the pyramid: NDPSelect + KronConnect, saved and loaded", "[pool][pyramid][ndp]") {
  const auto grid = gnnpool::testing::grid_graph<double>(6, 7, 1, 1);
  const auto p = gnnpool::build_pyramid(grid, 2, gnnpool::make_coarsener(gnnpool::NDPSelect<double>(),
                                                                        gnnpool::KronConnect<double>()));
  REQUIRE(p.num_levels() == 2);
  CHECK(p.level_size(1) == 21);  // a grid is bipartite: one colour class is kept
  CHECK(p.level_size(2) < p.level_size(1));
  // The dropped nodes are marked as such; kept ones point at their own supernode.
  for (Index i = 0; i < p.level_size(0); ++i) {
    const Index a = p.levels[0].selection.assignment[static_cast<std::size_t>(i)];
    CHECK((a == HardSelection<double>::dropped || p.levels[0].selection.representative[static_cast<std::size_t>(a)] == i));
  }
  TempFile file("ndp");
  gnnpool::save_pyramid(file.path, p);
  CHECK(gnnpool::load_pyramids<double>(file.path).front() == p);
}

TEST_CASE("make_coarsener rejects a selector that reads the features", "[pool][pyramid][errors]") {
  ParameterSet<double> params;
  const gnnpool::KMISSelect<double> linear(params, "", 3, gnnpool::KMISOptions{});
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::make_coarsener(linear); },
                                                 {"make_coarsener", "depends on the node features"});
  const auto g = gnnpool::test::random_cluster_batch<double>({5}, 2.0, 1, 1);
  require_throws_with<gnnpool::invalid_argument>([&] { gnnpool::build_pyramid(g, -1, graclus_coarsener<double>(0)); },
                                                 {"build_pyramid", "levels must be >= 0, got -1"});
  // A coarsener returning a selection that does not fit the level is caught at once.
  require_throws_with<gnnpool::shape_error>(
      [&] {
        gnnpool::build_pyramid(g, 1, [](const Batch<double>&, Index) {
          HardSelection<double> s;
          s.assignment = {0, 0, 0};
          s.weight.setOnes(3);
          s.representative = {0};
          s.offsets = {0, 1};
          return s;
        });
      },
      {"ClusterConnect", "3 assignments", "5 nodes"});
}

TEST_CASE("PyramidPool backward is the reduce's and passes the gradient check", "[pool][pyramid][gradcheck]") {
  auto g = gnnpool::test::random_cluster_batch<double>({18, 11}, 3.0, 2, 5);
  const auto p = gnnpool::build_pyramid(g, 1, graclus_coarsener<double>(1));
  const PyramidPool<double> pool({gnnpool::ClusterAggregation::max});
  gnnpool::testing::GradCheckProblem problem;
  problem.variables.push_back({"x", g.x.data(), g.x.size()});
  problem.forward = [&](std::vector<double>& out, std::vector<Index>&) {
    Batch<double> pooled;
    PyramidPool<double>::Cache c;
    pool.forward(p, 0, g, pooled, c);
    gnnpool::testing::append(pooled.x, out);
    return 0.0;
  };
  problem.backward = [&](const std::vector<double>& up, std::vector<std::vector<double>>& grads) {
    Batch<double> pooled;
    PyramidPool<double>::Cache c;
    pool.forward(p, 0, g, pooled, c);
    const Matrix<double> dy = Eigen::Map<const Matrix<double>>(up.data(), pooled.x.rows(), pooled.x.cols());
    Matrix<double> dx;
    pool.backward(p, 0, g, c, dy, dx);
    gnnpool::testing::copy_gradient(dx, grads[0]);
  };
  const auto result = gnnpool::testing::check_gradients(problem);
  INFO(result.log);
  CHECK(result.ok);

  Batch<double> pooled;
  PyramidPool<double>::Cache c;
  require_throws_with<gnnpool::invalid_argument>([&] { pool.forward(p, 1, g, pooled, c); },
                                                 {"PyramidPool", "level 1 does not exist", "1 levels"});
  const auto other = gnnpool::test::random_cluster_batch<double>({18, 12}, 3.0, 2, 5);
  require_throws_with<gnnpool::shape_error>([&] { pool.forward(p, 0, other, pooled, c); },
                                            {"PyramidPool", "30 nodes in 2 graphs", "29 nodes"});
}

TEST_CASE("Pyramid files: round trip, float <-> double, several pyramids", "[pool][pyramid][io]") {
  std::vector<Pyramid<double>> ps;
  for (std::uint64_t s = 0; s < 3; ++s)
    ps.push_back(gnnpool::build_pyramid(gnnpool::test::random_cluster_batch<double>({30, 9}, 3.0, 1, s), static_cast<Index>(s),
                                        graclus_coarsener<double>(s)));
  TempFile file("roundtrip");
  gnnpool::save_pyramids<double>(file.path, ps);
  const auto back = gnnpool::load_pyramids<double>(file.path);
  REQUIRE(back.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) CHECK(back[k] == ps[k]);
  // Saved again, the bytes are the same (the format has no timestamps or padding garbage).
  TempFile again("again");
  gnnpool::save_pyramids<double>(again.path, back);
  CHECK(again.read() == file.read());
  // A double file read as float converts the values; a float file read as double too.
  const auto as_float = gnnpool::load_pyramids<float>(file.path);
  CHECK(as_float[2].levels[1].selection.assignment == ps[2].levels[1].selection.assignment);
  CHECK(gnnpool::test::max_relative_error(Matrix<float>(as_float[2].levels[1].adj), Matrix<double>(ps[2].levels[1].adj)) < 1e-6);
  TempFile f32("float");
  gnnpool::save_pyramids<float>(f32.path, as_float);
  CHECK(f32.read().size() < file.read().size());
  const auto widened = gnnpool::load_pyramids<double>(f32.path);
  CHECK(widened[1].levels[0].selection.representative == ps[1].levels[0].selection.representative);
  // An empty list is a valid file.
  TempFile none("none");
  gnnpool::save_pyramids<double>(none.path, {});
  CHECK(gnnpool::load_pyramids<double>(none.path).empty());
}

TEST_CASE("Corrupt, truncated and foreign pyramid files are rejected with a clear error", "[pool][pyramid][io][errors]") {
  const auto p = gnnpool::build_pyramid(gnnpool::test::random_cluster_batch<double>({25}, 3.0, 1, 2), 2,
                                        graclus_coarsener<double>(2));
  TempFile file("bad");
  gnnpool::save_pyramid(file.path, p);
  const auto good = file.read();
  using gnnpool::parse_error;

  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path + ".missing"); },
                                   {".missing", "cannot open"});
  auto bytes = good;
  bytes[0] = 'X';
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); }, {file.path, "not a gnnpool pyramid file"});
  bytes = good;
  bytes[8] = 7;  // version 7
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); },
                                   {"format version 7 is not supported", "reads version 1"});
  bytes = good;
  bytes[12] = 2;  // 2-byte scalars
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); }, {"scalar size 2"});
  for (const std::size_t keep : {std::size_t(5), std::size_t(20), good.size() / 2, good.size() - 1}) {
    bytes.assign(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(keep));
    file.write(bytes);
    INFO("kept " << keep << " bytes");
    require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); }, {file.path});
    try {
      gnnpool::load_pyramids<double>(file.path);
    } catch (const parse_error& e) {
      const std::string what = e.what();
      CHECK((what.find("truncated") != std::string::npos || what.find("not a gnnpool pyramid") != std::string::npos));
    }
  }
  bytes = good;
  bytes.push_back(0);
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); }, {"1 unexpected bytes"});
  bytes = good;
  bytes[100] ^= 0x10;  // one flipped bit in the payload
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); }, {"corrupt", "checksum"});
  // Structurally wrong content under a valid checksum: the first assignment of level 0 (after
  // N0, B, offsets[2], L, M: byte 32 + 6 * 8) points past the supernodes.
  bytes = good;
  bytes[32 + 48 + 3] = 0x7f;
  reseal(bytes);
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); },
                                   {"corrupt pyramid file", "pyramid 0", "level 0 assigns node 0"});
  // A huge count is refused before anything is allocated.
  bytes = good;
  bytes[32 + 8 + 6] = 0x7f;  // the graph count
  reseal(bytes);
  file.write(bytes);
  require_throws_with<parse_error>([&] { gnnpool::load_pyramids<double>(file.path); },
                                   {"corrupt at byte 40", "the graph count"});
}

}  // namespace gnnpool_test_pool_pyramid
