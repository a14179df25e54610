#ifndef GNNPOOL_EXAMPLES_COMMON_SPLITS_HPP
#define GNNPOOL_EXAMPLES_COMMON_SPLITS_HPP

// Seeded, stratified data splits: k-fold cross-validation and train/test splits that keep the
// class proportions (sklearn's StratifiedKFold(shuffle=True) and train_test_split(stratify=y)).

#include <gnnpool/core/types.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

namespace examples {

using gnnpool::Index;

/// Indices of a train / validation / test partition.
struct Split {
  std::vector<Index> train, val, test;
};

namespace detail {

/// Items of each class, each list shuffled.
inline std::vector<std::vector<Index>> shuffled_classes(const std::vector<Index>& labels, std::mt19937_64& rng) {
  const Index classes = labels.empty() ? 0 : *std::max_element(labels.begin(), labels.end()) + 1;
  std::vector<std::vector<Index>> by_class(static_cast<std::size_t>(classes));
  for (std::size_t i = 0; i < labels.size(); ++i) by_class[static_cast<std::size_t>(labels[i])].push_back(static_cast<Index>(i));
  for (auto& c : by_class) std::shuffle(c.begin(), c.end(), rng);
  return by_class;
}

}  // namespace detail

/// Splits `items` (indices into `labels`) into a part of round(fraction * n) items and the rest,
/// keeping class proportions (largest-remainder allocation per class). Returns {rest, part}.
inline std::pair<std::vector<Index>, std::vector<Index>> stratified_split(const std::vector<Index>& items,
                                                                        const std::vector<Index>& labels,
                                                                        double fraction, std::mt19937_64& rng) {
  std::vector<Index> sub(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) sub[i] = labels[static_cast<std::size_t>(items[i])];
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
    auto c = remainder[r].second;
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

/// Stratified k-fold cross-validation: fold f tests on about 1/k of every class, and the
/// validation set is a stratified `val_fraction` of the remaining items.
inline std::vector<Split> stratified_k_fold(const std::vector<Index>& labels, Index k, double val_fraction,
                                            std::uint64_t seed) {
  if (k < 2) throw std::invalid_argument("k-fold cross-validation needs k >= 2");
  std::mt19937_64 rng(seed);
  auto by_class = detail::shuffled_classes(labels, rng);
  std::vector<Index> fold_of(labels.size());
  Index next = 0;  // deal every class round-robin, continuing where the last class stopped
  for (const auto& c : by_class)
    for (Index i : c) fold_of[static_cast<std::size_t>(i)] = next++ % k;
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
inline std::vector<Split> stratified_random_splits(const std::vector<Index>& labels, Index runs, double test_fraction,
                                                   double val_fraction, std::uint64_t seed) {
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

}  // namespace examples

#endif
