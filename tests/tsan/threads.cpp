// Thread safety: every pooler and readout runs forward and backward from 4 threads at
// once on the same const layer objects and the same ParameterSet, each thread with its own
// batch, caches, outputs and gradients. Built with ThreadSanitizer (tests/tsan/CMakeLists.txt),
// which reports any data race; the test itself checks that every thread gets, bit for bit, what
// a single thread computed for the same batch (no hidden shared state).

#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "support/layer_zoo.hpp"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace gnnpool;

/// Batch t of the test: 3 graphs (a weighted ring, a path, an empty graph) whose features
/// depend on t, so that the threads really work on different batches.
template <typename Scalar>
Batch<Scalar> batch_for(int t) {
  std::vector<Batch<Scalar>> parts;
  Matrix<Scalar> x(6, 3);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<Scalar>(std::sin(0.7 * static_cast<double>(i + 5 * t)));
  const std::vector<Scalar> ring_w{1, 2, 0.5, 1, 3, 1.5, 1};
  parts.push_back(make_graph<Scalar>(x, {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 0}, {0, 3}}, ring_w));
  Matrix<Scalar> y(4, 3);
  for (Index i = 0; i < y.size(); ++i) y.data()[i] = static_cast<Scalar>(std::cos(1.3 * static_cast<double>(i + 3 * t)));
  parts.push_back(make_graph<Scalar>(y, {{0, 1}, {1, 2}, {2, 3}}));
  parts.push_back(make_graph<Scalar>(Matrix<Scalar>(0, 3), {}));
  return concatenate<Scalar>(parts);
}

template <typename Scalar>
void run_threads() {
  constexpr int threads = 4;
  constexpr int rounds = 8;
  ParameterSet<Scalar> params;
  test::ZooHyper hyper;
  hyper.clusters = 3;
  hyper.kmis_k = 2;
  const auto zoo = test::make_zoo<Scalar>(params, 3, hyper);
  params.initialize(7);
  REQUIRE(zoo.size() == static_cast<std::size_t>(test::zoo_size));

  // What one thread computes for every (layer, batch): the reference.
  std::vector<Batch<Scalar>> batches;
  for (int t = 0; t < threads; ++t) batches.push_back(batch_for<Scalar>(t));
  std::vector<std::vector<std::vector<double>>> expected(zoo.size());
  for (std::size_t l = 0; l < zoo.size(); ++l)
    for (int t = 0; t < threads; ++t) expected[l].push_back(zoo[l]->run(params, batches[static_cast<std::size_t>(t)], 11));

  // All threads start together and run every layer several times on their own batch.
  std::atomic<int> ready{0};
  std::vector<std::vector<std::string>> mismatches(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < threads) std::this_thread::yield();
      const auto& batch = batches[static_cast<std::size_t>(t)];
      for (int r = 0; r < rounds; ++r)
        for (std::size_t l = 0; l < zoo.size(); ++l)
          if (zoo[l]->run(params, batch, 11) != expected[l][static_cast<std::size_t>(t)])
            mismatches[static_cast<std::size_t>(t)].push_back(zoo[l]->name());
    });
  for (auto& th : pool) th.join();
  for (int t = 0; t < threads; ++t) {
    for (const auto& name : mismatches[static_cast<std::size_t>(t)]) UNSCOPED_INFO("thread " << t << " differs: " << name);
    CHECK(mismatches[static_cast<std::size_t>(t)].empty());
  }
  // The references are real results, not empty runs.
  for (std::size_t l = 0; l < zoo.size(); ++l) {
    INFO(zoo[l]->name());
    CHECK(!expected[l][0].empty());
    CHECK(expected[l][0] != expected[l][1]);
  }
}

}  // namespace

TEST_CASE("Every pooler and readout runs from 4 threads on shared const layers", "[tsan][threads]") {
  SECTION("double") { run_threads<double>(); }
  SECTION("float") { run_threads<float>(); }
}
