// Tests of gnnpool/data/splits.hpp (in tests/dataset/: tests/data/ holds data files): stratified
// k-fold, random and train/val/test splits keep the class proportions, are partitions, and are
// reproducible from the seed; the Planetoid split takes per_class training nodes of each class.

#include <gnnpool/data/splits.hpp>

#include "support/throws.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <vector>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_dataset_splits {

using gnnpool::Index;
using gnnpool::Split;

namespace {

std::vector<Index> labels_60_40(Index n) {  // 60 % class 0, 40 % class 1, interleaved
  std::vector<Index> y(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) y[static_cast<std::size_t>(i)] = (i % 5 < 3) ? 0 : 1;
  return y;
}

Index count(const std::vector<Index>& ids, const std::vector<Index>& y, Index c) {
  return static_cast<Index>(std::count_if(ids.begin(), ids.end(), [&](Index i) { return y[static_cast<std::size_t>(i)] == c; }));
}

void require_partition(const Split& s, Index n) {
  std::vector<Index> all;
  for (const auto* part : {&s.train, &s.val, &s.test}) all.insert(all.end(), part->begin(), part->end());
  std::sort(all.begin(), all.end());
  REQUIRE(static_cast<Index>(all.size()) == n);
  for (Index i = 0; i < n; ++i) REQUIRE(all[static_cast<std::size_t>(i)] == i);
}

}  // namespace

TEST_CASE("stratified_k_fold: every item is tested once, folds keep the class ratio", "[data][splits]") {
  const auto y = labels_60_40(100);
  const auto folds = gnnpool::stratified_k_fold(y, 5, 0.1, 7);
  REQUIRE(folds.size() == 5);
  std::vector<int> tested(100, 0);
  for (const auto& f : folds) {
    require_partition(f, 100);
    REQUIRE(f.test.size() == 20);
    CHECK(count(f.test, y, 0) == 12);  // 60 % of 20
    CHECK(f.val.size() == 8);          // ceil(0.1 * 80)
    for (Index i : f.test) ++tested[static_cast<std::size_t>(i)];
  }
  CHECK(std::all_of(tested.begin(), tested.end(), [](int t) { return t == 1; }));
  const auto again = gnnpool::stratified_k_fold(y, 5, 0.1, 7);
  CHECK(again[3].train == folds[3].train);
  CHECK(gnnpool::stratified_k_fold(y, 5, 0.1, 8)[0].test != folds[0].test);
}

TEST_CASE("stratified_train_val_test and stratified_random_splits keep proportions", "[data][splits]") {
  const auto y = labels_60_40(200);
  const Split s = gnnpool::stratified_train_val_test(y, 0.1, 1.0 / 9, 3);
  require_partition(s, 200);
  CHECK(s.test.size() == 20);
  CHECK(count(s.test, y, 1) == 8);
  CHECK(s.val.size() == 20);
  const auto runs = gnnpool::stratified_random_splits(y, 3, 0.1, 0.1, 3);
  REQUIRE(runs.size() == 3);
  CHECK(runs[0].test == s.test);  // one run of the same sequence
  CHECK(runs[1].test != runs[0].test);
}

TEST_CASE("planetoid_split takes per_class training nodes of each class", "[data][splits]") {
  std::vector<Index> y;
  for (Index c = 0; c < 3; ++c)
    for (Index i = 0; i < 40; ++i) y.push_back(c);
  const Split s = gnnpool::planetoid_split(y, 5, 20, 30, 1);
  REQUIRE(s.train.size() == 15);
  for (Index c = 0; c < 3; ++c) CHECK(count(s.train, y, c) == 5);
  CHECK(s.val.size() == 20);
  CHECK(s.test.size() == 30);
  std::set<Index> seen(s.train.begin(), s.train.end());
  for (Index i : s.val) CHECK(seen.insert(i).second);
  for (Index i : s.test) CHECK(seen.insert(i).second);
  CHECK(gnnpool::gather(y, std::vector<Index>{0, 40, 119}) == std::vector<Index>{0, 1, 2});
}

TEST_CASE("splits reject bad arguments with sentences", "[data][splits][errors]") {
  using gnnpool::test::require_throws_with;
  const auto y = labels_60_40(10);
  require_throws_with<gnnpool::invalid_argument>([&] { (void)gnnpool::stratified_k_fold(y, 1, 0.1, 0); },
                                                 {"stratified_k_fold", "k must be >= 2", "got 1"});
  require_throws_with<gnnpool::invalid_argument>([&] { (void)gnnpool::stratified_k_fold(y, 11, 0.1, 0); },
                                                 {"10 items", "11 folds"});
  require_throws_with<gnnpool::invalid_argument>([&] { (void)gnnpool::stratified_random_splits(y, 2, 1.5, 0.1, 0); },
                                                 {"fraction must be in [0, 1]", "1.5"});
  require_throws_with<gnnpool::invalid_argument>([&] { (void)gnnpool::planetoid_split(y, 2, 100, 0, 0); },
                                                 {"planetoid_split", "100 validation", "remain"});
  const std::vector<Index> negative{0, -1, 1};
  require_throws_with<gnnpool::invalid_argument>([&] { (void)gnnpool::stratified_k_fold(negative, 2, 0.0, 0); },
                                                 {"label -1", "item 1"});
  require_throws_with<gnnpool::invalid_argument>([&] { (void)gnnpool::gather(y, std::vector<Index>{10}); },
                                                 {"gather", "index 10", "10 values"});
}

}  // namespace gnnpool_test_dataset_splits
