// Tests of gnnpool/data/loader.hpp and select_graphs (core/batch.hpp): mini-batches cover the
// ids once per epoch, carry their labels, reshuffle each epoch from one seeded sequence, honour
// drop_last, and are the graphs select_graphs cuts out.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/data/loader.hpp>
#include <gnnpool/testing/random_graph.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_dataset_loader {

using gnnpool::Batch;
using gnnpool::Index;

TEST_CASE("select_graphs cuts graphs out of a dataset, in the order asked", "[data][loader]") {
  const std::vector<Index> sizes{3, 0, 4, 2};
  const Batch<double> all = gnnpool::testing::random_batch<double>(sizes, 2.0, 2, 5);
  const std::vector<Index> ids{2, 0, 1, 2};
  const Batch<double> b = gnnpool::select_graphs(all, ids);
  gnnpool::check_batch(b, "test");
  CHECK(b.offsets == gnnpool::IndexVector{0, 4, 7, 7, 11});
  CHECK(b.x.topRows(4) == all.x.middleRows(3, 4));
  CHECK(b.x.middleRows(4, 3) == all.x.topRows(3));
  CHECK(gnnpool::Matrix<double>(b.adj).block(0, 0, 4, 4) == gnnpool::Matrix<double>(all.adj).block(3, 3, 4, 4));
  CHECK(gnnpool::Matrix<double>(b.adj).block(7, 7, 4, 4) == gnnpool::Matrix<double>(all.adj).block(3, 3, 4, 4));
  gnnpool::test::require_throws_with<gnnpool::invalid_argument>(
      [&] { (void)gnnpool::select_graphs(all, std::vector<Index>{4}); }, {"select_graphs", "graph 4", "4 graphs"});
}

TEST_CASE("GraphLoader: seeded shuffled epochs of mini-batches with their labels", "[data][loader]") {
  const std::vector<Index> sizes(10, 3);
  const Batch<double> all = gnnpool::testing::random_batch<double>(sizes, 2.0, 2, 1);
  std::vector<Index> labels(10);
  for (Index g = 0; g < 10; ++g) labels[static_cast<std::size_t>(g)] = g % 3;
  const std::vector<Index> train{0, 1, 2, 3, 4, 5, 7, 9};
  gnnpool::GraphLoader<double> loader(all, labels, train, {.batch_size = 3, .seed = 4});
  CHECK(loader.num_batches() == 3);
  std::vector<std::vector<Index>> epochs;
  for (int e = 0; e < 2; ++e) {
    std::vector<Index> seen;
    Index batches = 0;
    for (const auto& mb : loader.epoch()) {
      ++batches;
      CHECK(mb.batch.num_graphs() == static_cast<Index>(mb.ids.size()));
      CHECK(mb.batch.num_nodes() == 3 * static_cast<Index>(mb.ids.size()));
      for (std::size_t i = 0; i < mb.ids.size(); ++i) CHECK(mb.labels[i] == mb.ids[i] % 3);
      seen.insert(seen.end(), mb.ids.begin(), mb.ids.end());
    }
    CHECK(batches == 3);
    epochs.push_back(seen);
    std::sort(seen.begin(), seen.end());
    CHECK(seen == train);
  }
  CHECK(epochs[0] != epochs[1]);  // reshuffled
  gnnpool::GraphLoader<double> same(all, labels, train, {.batch_size = 3, .seed = 4});
  std::vector<Index> first;
  for (const auto& mb : same.epoch()) first.insert(first.end(), mb.ids.begin(), mb.ids.end());
  CHECK(first == epochs[0]);  // reproducible from the seed

  gnnpool::GraphLoader<double> fixed(all, labels, train, {.batch_size = 3, .shuffle = false, .drop_last = true});
  CHECK(fixed.num_batches() == 2);
  std::vector<Index> in_order;
  for (const auto& mb : fixed.epoch()) in_order.insert(in_order.end(), mb.ids.begin(), mb.ids.end());
  CHECK(in_order == std::vector<Index>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("GraphLoader rejects bad arguments with sentences", "[data][loader][errors]") {
  using gnnpool::test::require_throws_with;
  const std::vector<Index> sizes(4, 2);
  const Batch<double> all = gnnpool::testing::random_batch<double>(sizes, 1.0, 2, 1);
  const std::vector<Index> labels(4, 0), ids{0, 1};
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::GraphLoader<double>(all, labels, ids, {.batch_size = 0}); }, {"GraphLoader", "batch_size", "got 0"});
  require_throws_with<gnnpool::shape_error>(
      [&] { gnnpool::GraphLoader<double>(all, std::vector<Index>(3, 0), ids); }, {"GraphLoader", "3 labels", "4 graphs"});
  require_throws_with<gnnpool::invalid_argument>(
      [&] { gnnpool::GraphLoader<double>(all, labels, std::vector<Index>{5}); }, {"GraphLoader", "graph 5", "4 graphs"});
}

TEST_CASE("GraphLoader::batch_ids are the ids of the epoch's mini-batches, without building them", "[data][loader]") {
  const std::vector<Index> sizes{3, 1, 4, 2, 5, 2, 3};
  const Batch<double> all = gnnpool::testing::random_batch<double>(sizes, 2.0, 2, 5);
  const std::vector<Index> labels{0, 1, 0, 1, 0, 1, 0}, ids{0, 2, 3, 4, 5, 6};
  for (const bool drop_last : {false, true}) {
    gnnpool::GraphLoader<double> loader(all, labels, ids, {.batch_size = 4, .drop_last = drop_last, .seed = 9});
    for (int epoch = 0; epoch < 3; ++epoch) {
      Index k = 0;
      for (const auto& mb : loader.epoch()) {
        const auto batch = loader.batch_ids(k++);
        CHECK(std::vector<Index>(batch.begin(), batch.end()) == mb.ids);
      }
      CHECK(k == loader.num_batches());
    }
    gnnpool::test::require_throws_with<gnnpool::invalid_argument>([&] { loader.batch_ids(loader.num_batches()); },
                                                                 {"GraphLoader::batch_ids", "of an epoch of"});
  }
}

}  // namespace gnnpool_test_dataset_loader
