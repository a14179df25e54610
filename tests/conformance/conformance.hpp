#ifndef GNNPOOL_TESTS_CONFORMANCE_HPP
#define GNNPOOL_TESTS_CONFORMANCE_HPP

// The conformance runner's shared pieces: a case read from a file of the `pyg-pool-ref/1`
// schema (tests/data/conformance/README.md), the comparison of one result against it, and the
// registry where each pooler family (ops_*.cpp) registers the ops it supports.

#include <gnnpool/core/batch.hpp>
#include <gnnpool/core/parameters.hpp>

#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace gnnpool::conformance {

/// A tensor of the file: shape and row-major data (integers and booleans kept as doubles).
struct Tensor {
  std::vector<Index> shape;
  std::vector<double> data;
  std::string dtype;

  Index size() const { return static_cast<Index>(data.size()); }
  /// 2-D as is, 1-D as a column, a scalar as 1 x 1; 3-D [B, R, C] as (B*R) x C.
  Matrix<double> matrix() const;
  /// Integer contents (edge_index, batch, perm).
  IndexVector indices() const;
  double scalar() const;
};

struct Case {
  std::string file, name, op, graph;
  nlohmann::json hyper;
  std::map<std::string, Tensor> inputs, params, outputs, aux_losses, loss_weights, grads;
  double loss = 0;

  const Tensor& input(const std::string& key) const;
  const Tensor& output(const std::string& key) const;
  const Tensor& grad(const std::string& key) const;
  bool has_input(const std::string& key) const { return inputs.count(key) != 0; }
  /// hyper[key] as a number, or `fallback` when absent or null.
  double hyper_number(const std::string& key, double fallback) const;
  std::string hyper_string(const std::string& key, const std::string& fallback) const;
  bool hyper_is_null(const std::string& key) const;

  /// The sparse-op input as a gnnpool batch: x, edge_index, batch, edge_weight if present.
  Batch<double> sparse_batch() const;
  /// Copies every file parameter into `params` by name; throws when a name is unknown to the
  /// layer or a layer parameter is missing from the file, so a mis-wired layer cannot pass.
  void load_params(ParameterSet<double>& layer_params, const std::string& prefix = "") const;
};

Case read_case(const std::string& path);

/// Collects the comparisons of one case. An error is ||actual - expected||_inf divided by
/// max(||expected||_inf, 1e-6) (relative, with a floor for all-zero tensors).
class Comparison {
 public:
  explicit Comparison(double tolerance) : m_tolerance(tolerance) {}

  /// Compares values with the same number of entries, in the same (row-major) order. `floor`
  /// replaces 1e-6 as the scale below which the error is absolute: a handler passes the size
  /// of the terms a quantity is a cancelling sum of, when its exact value is 0 and the file
  /// holds PyTorch's round-off (e.g. the gradient of a weight that enters only by its sign).
  /// `tolerance` > 0 replaces the runner's for this comparison only (a handler passes one when
  /// the reference itself is approximate there, and says why); such a comparison does not count
  /// towards `worst()`.
  void values(const std::string& what, const std::vector<double>& actual, const Tensor& expected,
              double floor = 1e-6, double tolerance = -1);
  template <typename Derived>
  void matrix(const std::string& what, const Eigen::DenseBase<Derived>& actual, const Tensor& expected,
              double floor = 1e-6, double tolerance = -1) {
    std::vector<double> flat;
    flat.reserve(static_cast<std::size_t>(actual.size()));
    for (Index r = 0; r < actual.rows(); ++r)
      for (Index c = 0; c < actual.cols(); ++c) flat.push_back(static_cast<double>(actual(r, c)));
    values(what, flat, expected, floor, tolerance);
  }
  void scalar(const std::string& what, double actual, double expected);
  /// Exact comparison of integer outputs (perm, edge lists, cluster ids).
  void indices(const std::string& what, const IndexVector& actual, const IndexVector& expected);
  /// The total loss L = sum(outputs * loss_weights) + sum(aux) recomputed from the case's own
  /// weights against `loss`.
  void fail(const std::string& message) { m_failures.push_back(message); }

  bool ok() const { return m_failures.empty() && m_compared > 0; }
  double worst() const { return m_worst; }
  int compared() const { return m_compared; }
  const std::vector<std::string>& failures() const { return m_failures; }

 private:
  double m_tolerance;
  double m_worst = 0;
  int m_compared = 0;
  std::vector<std::string> m_failures;
};

/// Runs one case: configures the gnnpool layer from hyper/params, runs forward and backward
/// with the case's loss weights, and records every comparison.
using Handler = std::function<void(const Case&, Comparison&)>;

std::map<std::string, Handler>& registry();

/// `static Register r({"global_add", ...}, handler);` in an ops_*.cpp file.
struct Register {
  Register(std::initializer_list<std::string> ops, Handler handler) {
    for (const auto& op : ops) registry()[op] = handler;
  }
};

/// CSR position of the stored entry adj(row, col) (the edge col -> row), or -1.
Index stored_entry(const SparseMatrix<double>& adj, Index row, Index col);

/// Compares dL/d(edge_weight), in the case's input edge order, with the CSR-ordered gradient
/// `dadj` of the batch built from the case (no-op when the case has no such gradient).
void compare_edge_weight_grad(const Case& c, const Batch<double>& in, const Vector<double>& dadj, Comparison& cmp);

/// Edge lists of (source, target) sorted lexicographically, from a 2 x E edge_index: pooled
/// edges are compared as sets since gnnpool's CSR order differs from PyG's edge order.
std::vector<std::pair<Index, Index>> sorted_edges(const IndexVector& edge_index);

}  // namespace gnnpool::conformance

#endif
