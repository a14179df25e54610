#ifndef GNNPOOL_DATA_SPLITS_HPP
#define GNNPOOL_DATA_SPLITS_HPP

/// \file
/// Seeded, stratified data splits: k-fold cross-validation and train / validation / test splits
/// that keep the class proportions (scikit-learn's StratifiedKFold(shuffle=True) and
/// train_test_split(stratify=y)), and the Planetoid split of node-classification datasets.

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace gnnpool {

/// Indices (of graphs, or of nodes) of a train / validation / test partition.
struct Split {
  std::vector<Index> train, val, test;
};

namespace detail {

/// Items of each class (labels 0..C-1), each list shuffled.
inline std::vector<std::vector<Index>> shuffled_classes(std::span<const Index> labels, std::mt19937_64& rng) {
  Index classes = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    GNNPOOL_CHECK(labels[i] >= 0, invalid_argument, "stratified split: label ", labels[i], " of item ", i,
                  " is negative (labels are 0..C-1)");
    classes = std::max(classes, labels[i] + 1);
  }
  std::vector<std::vector<Index>> by_class(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i)
    by_class[static_cast<std::size_t>(labels[i])].push_back(static_cast<Index>(i));
  for (auto& c : by_class) std::shuffle(c.begin(), c.end(), rng);
  return by_class;
}

inline void check_fraction(double fraction, const char* who) {
  GNNPOOL_CHECK(fraction >= 0 && fraction <= 1, invalid_argument, who, ": the fraction must be in [0, 1], got ",
                fraction);
}

}  // namespace detail

/// Splits `items` (indices into `labels`) into a part of ceil(fraction * n) items and the rest,
/// keeping class proportions (largest-remainder allocation per class). Returns {rest, part},
/// both sorted. Draws from `rng`, so successive calls continue one random sequence.
inline std::pair<std::vector<Index>, std::vector<Index>> stratified_split(std::span<const Index> items,
                                                                        std::span<const Index> labels,
                                                                        double fraction, std::mt19937_64& rng) {
  detail::check_fraction(fraction, "stratified_split");
  std::vector<Index> sub(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) {
    GNNPOOL_CHECK(items[i] >= 0 && items[i] < static_cast<Index>(labels.size()), invalid_argument,
                  "stratified_split: item ", items[i], " is out of range for ", labels.size(), " labels");
    sub[i] = labels[static_cast<std::size_t>(items[i])];
  }
  auto by_class = detail::shuffled_classes(sub, rng);
  const auto n = static_cast<double>(items.size());
  const auto total = static_cast<Index>(std::ceil(fraction * n));
  std::vector<Index> take(by_class.size());
  std::vector<std::pair<double, std::size_t>> remainder;
  Index taken = 0;
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    const double exact = fraction * static_cast<double>(by_class[c].size());
    take[c] = static_cast<Index>(std::floor(exact));
    taken += take[c];
    remainder.emplace_back(exact - std::floor(exact), c);
  }
  std::sort(remainder.begin(), remainder.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t r = 0; taken < total && r < remainder.size(); ++r) {
    const auto c = remainder[r].second;
    if (take[c] < static_cast<Index>(by_class[c].size())) ++take[c], ++taken;
  }
  std::vector<Index> rest, part;
  for (std::size_t c = 0; c < by_class.size(); ++c)
    for (std::size_t j = 0; j < by_class[c].size(); ++j)
      (static_cast<Index>(j) < take[c] ? part : rest).push_back(items[static_cast<std::size_t>(by_class[c][j])]);
  std::sort(rest.begin(), rest.end());
  std::sort(part.begin(), part.end());
  return {rest, part};
}

/// Stratified k-fold cross-validation over items 0..labels.size()-1: fold f tests on about 1/k
/// of every class, and its validation set is a stratified `val_fraction` of the other items.
inline std::vector<Split> stratified_k_fold(std::span<const Index> labels, Index k, double val_fraction,
                                            std::uint64_t seed) {
  GNNPOOL_CHECK(k >= 2, invalid_argument, "stratified_k_fold: k must be >= 2, got ", k);
  GNNPOOL_CHECK(static_cast<Index>(labels.size()) >= k, invalid_argument, "stratified_k_fold: ", labels.size(),
                " items cannot make ", k, " folds");
  detail::check_fraction(val_fraction, "stratified_k_fold");
  std::mt19937_64 rng(seed);
  auto by_class = detail::shuffled_classes(labels, rng);
  std::vector<Index> fold_of(labels.size());
  Index next = 0;  // deal every class round-robin, continuing where the last class stopped
  for (const auto& c : by_class)
    for (const Index i : c) fold_of[static_cast<std::size_t>(i)] = next++ % k;
  std::vector<Split> folds(static_cast<std::size_t>(k));
  for (Index f = 0; f < k; ++f) {
    std::vector<Index> rest;
    for (std::size_t i = 0; i < labels.size(); ++i)
      (fold_of[i] == f ? folds[static_cast<std::size_t>(f)].test : rest).push_back(static_cast<Index>(i));
    auto [train, val] = stratified_split(rest, labels, val_fraction, rng);
    folds[static_cast<std::size_t>(f)].train = std::move(train);
    folds[static_cast<std::size_t>(f)].val = std::move(val);
  }
  return folds;
}

/// `runs` independent random splits: a stratified `test_fraction` for testing, then a
/// stratified `val_fraction` of the rest for validation (the MinCutPool paper's protocol).
inline std::vector<Split> stratified_random_splits(std::span<const Index> labels, Index runs, double test_fraction,
                                                   double val_fraction, std::uint64_t seed) {
  GNNPOOL_CHECK(runs >= 1, invalid_argument, "stratified_random_splits: runs must be >= 1, got ", runs);
  detail::check_fraction(test_fraction, "stratified_random_splits");
  detail::check_fraction(val_fraction, "stratified_random_splits");
  std::mt19937_64 rng(seed);
  std::vector<Index> all(labels.size());
  std::iota(all.begin(), all.end(), Index(0));
  std::vector<Split> splits;
  for (Index r = 0; r < runs; ++r) {
    auto [rest, test] = stratified_split(all, labels, test_fraction, rng);
    auto [train, val] = stratified_split(rest, labels, val_fraction, rng);
    splits.push_back({std::move(train), std::move(val), std::move(test)});
  }
  return splits;
}

/// A train / validation / test split by stratified fractions (one run of
/// `stratified_random_splits`): e.g. 80 / 10 / 10 with test_fraction 0.1, val_fraction 1/9.
inline Split stratified_train_val_test(std::span<const Index> labels, double test_fraction, double val_fraction,
                                       std::uint64_t seed) {
  return stratified_random_splits(labels, 1, test_fraction, val_fraction, seed).front();
}

/// The Planetoid split of a node-classification dataset (Kipf & Welling; PyG's
/// `Planetoid(split="random")`): `per_class` random training nodes of every class, then
/// `num_val` validation and `num_test` test nodes drawn at random from the rest.
inline Split planetoid_split(std::span<const Index> labels, Index per_class, Index num_val, Index num_test,
                             std::uint64_t seed) {
  GNNPOOL_CHECK(per_class >= 1 && num_val >= 0 && num_test >= 0, invalid_argument,
                "planetoid_split: per_class must be >= 1 and num_val, num_test >= 0, got ", per_class, ", ", num_val,
                ", ", num_test);
  std::mt19937_64 rng(seed);
  auto by_class = detail::shuffled_classes(labels, rng);
  Split s;
  std::vector<Index> rest;
  for (const auto& c : by_class)
    for (std::size_t j = 0; j < c.size(); ++j) (static_cast<Index>(j) < per_class ? s.train : rest).push_back(c[j]);
  GNNPOOL_CHECK(num_val + num_test <= static_cast<Index>(rest.size()), invalid_argument, "planetoid_split: ",
                num_val, " validation and ", num_test, " test nodes requested but only ", rest.size(), " remain");
  std::shuffle(rest.begin(), rest.end(), rng);
  s.val.assign(rest.begin(), rest.begin() + num_val);
  s.test.assign(rest.begin() + num_val, rest.begin() + num_val + num_test);
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.val.begin(), s.val.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

/// The entries `ids` of `values` (the labels of a mini-batch or of a split).
inline std::vector<Index> gather(std::span<const Index> values, std::span<const Index> ids) {
  std::vector<Index> out(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    GNNPOOL_CHECK(ids[i] >= 0 && ids[i] < static_cast<Index>(values.size()), invalid_argument, "gather: index ",
                  ids[i], " is out of range for ", values.size(), " values");
    out[i] = values[static_cast<std::size_t>(ids[i])];
  }
  return out;
}

}  // namespace gnnpool

#endif
