// gnnpool_conformance: runs every conformance file (schema pyg-pool-ref/1) found in the folders
// or files given on the command line against gnnpool, one line per case, then the line
// "N passed, N failed, N unsupported". Exit status 1 when any case fails or no file was found.

#include "conformance/conformance.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>

namespace gnnpool::conformance {

namespace {

Tensor read_tensor(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("shape") || !j.contains("data"))
    throw std::runtime_error(where + ": not a tensor (needs shape and data)");
  Tensor t;
  t.dtype = j.value("dtype", "float64");
  for (const auto& s : j.at("shape")) t.shape.push_back(s.get<Index>());
  for (const auto& v : j.at("data")) {
    if (v.is_boolean()) t.data.push_back(v.get<bool>() ? 1.0 : 0.0);
    else if (v.is_null()) t.data.push_back(std::numeric_limits<double>::quiet_NaN());
    else t.data.push_back(v.get<double>());
  }
  Index expected = 1;
  for (Index s : t.shape) expected *= s;
  if (expected != t.size())
    throw std::runtime_error(where + ": shape says " + std::to_string(expected) + " entries, data has " +
                             std::to_string(t.size()));
  return t;
}

std::map<std::string, Tensor> read_tensors(const nlohmann::json& j, const std::string& key) {
  std::map<std::string, Tensor> out;
  if (!j.contains(key) || j.at(key).is_null()) return out;
  for (const auto& [name, value] : j.at(key).items())
    if (!value.is_null()) out.emplace(name, read_tensor(value, key + "." + name));  // null: absent (mask of one graph)
  return out;
}

const Tensor& lookup(const std::map<std::string, Tensor>& m, const std::string& key, const char* group,
                     const std::string& file) {
  auto it = m.find(key);
  if (it == m.end()) throw std::runtime_error(file + ": no " + group + " '" + key + "'");
  return it->second;
}

}  // namespace

Matrix<double> Tensor::matrix() const {
  Index rows = 1, cols = 1;
  if (shape.size() == 1) rows = shape[0];
  else if (shape.size() >= 2) {
    cols = shape.back();
    rows = size() / std::max<Index>(cols, 1);
    if (cols == 0) rows = shape.size() == 2 ? shape[0] : 0;
  }
  Matrix<double> m(rows, cols);
  for (Index i = 0; i < size(); ++i) m.data()[i] = data[static_cast<std::size_t>(i)];
  return m;
}

IndexVector Tensor::indices() const {
  IndexVector v(data.size());
  for (std::size_t i = 0; i < data.size(); ++i) v[i] = static_cast<Index>(std::llround(data[i]));
  return v;
}

double Tensor::scalar() const {
  if (data.size() != 1) throw std::runtime_error("expected a scalar tensor");
  return data[0];
}

const Tensor& Case::input(const std::string& key) const { return lookup(inputs, key, "input", file); }
const Tensor& Case::output(const std::string& key) const { return lookup(outputs, key, "output", file); }
const Tensor& Case::grad(const std::string& key) const { return lookup(grads, key, "gradient", file); }

double Case::hyper_number(const std::string& key, double fallback) const {
  if (!hyper.contains(key) || hyper.at(key).is_null()) return fallback;
  if (hyper.at(key).is_boolean()) return hyper.at(key).get<bool>() ? 1.0 : 0.0;
  return hyper.at(key).get<double>();
}

std::string Case::hyper_string(const std::string& key, const std::string& fallback) const {
  if (!hyper.contains(key) || hyper.at(key).is_null()) return fallback;
  if (hyper.at(key).is_string()) return hyper.at(key).get<std::string>();
  return hyper.at(key).dump();
}

bool Case::hyper_is_null(const std::string& key) const { return !hyper.contains(key) || hyper.at(key).is_null(); }

Batch<double> Case::sparse_batch() const {
  const IndexVector edge_index = has_input("edge_index") ? input("edge_index").indices() : IndexVector{};
  const IndexVector graph_of_node = has_input("batch") ? input("batch").indices() : IndexVector{};
  std::vector<double> weights;
  if (has_input("edge_weight")) weights = input("edge_weight").data;
  return from_edge_index<double>(input("x").matrix(), edge_index, graph_of_node, weights);
}

void Case::load_params(ParameterSet<double>& layer_params, const std::string& prefix) const {
  for (const auto& [key, tensor] : params) {
    const std::string full = join_name(prefix, key);
    if (layer_params.find(full) < 0)
      throw std::runtime_error(file + ": the file's parameter '" + key + "' has no counterpart in the gnnpool layer");
    Matrix<double> value = tensor.matrix();
    Matrix<double>& target = layer_params.at(full);
    if (target.size() != value.size())
      throw std::runtime_error(file + ": parameter '" + key + "' has " + std::to_string(value.size()) +
                               " entries, the gnnpool layer " + std::to_string(target.size()));
    for (Index i = 0; i < value.size(); ++i) target.data()[i] = value.data()[i];
  }
  for (Index s = 0; s < layer_params.size(); ++s) {
    const std::string& full = layer_params.name(s);
    if (full.rfind(prefix, 0) != 0) continue;
    const std::string local = prefix.empty() ? full : full.substr(prefix.size() + 1);
    if (params.count(local) == 0)
      throw std::runtime_error(file + ": the gnnpool parameter '" + full + "' is not set by the file");
  }
}

Case read_case(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": not valid JSON: " + e.what());
  }
  if (j.value("schema", "") != "pyg-pool-ref/1")
    throw std::runtime_error(path + ": schema is '" + j.value("schema", "") + "', expected pyg-pool-ref/1");
  Case c;
  c.file = path;
  c.name = j.value("case", std::filesystem::path(path).stem().string());
  c.op = j.at("op").get<std::string>();
  c.graph = j.value("graph", "");
  c.hyper = j.contains("hyper") && !j.at("hyper").is_null() ? j.at("hyper") : nlohmann::json::object();
  c.inputs = read_tensors(j, "inputs");
  c.params = read_tensors(j, "params");
  c.outputs = read_tensors(j, "outputs");
  c.aux_losses = read_tensors(j, "aux_losses");
  c.loss_weights = read_tensors(j, "loss_weights");
  c.grads = read_tensors(j, "grads");
  c.loss = j.value("loss", 0.0);
  return c;
}

void Comparison::values(const std::string& what, const std::vector<double>& actual, const Tensor& expected,
                        double floor, double tolerance) {
  ++m_compared;
  if (static_cast<Index>(actual.size()) != expected.size()) {
    m_failures.push_back(what + ": " + std::to_string(actual.size()) + " values, expected " +
                         std::to_string(expected.size()));
    return;
  }
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double d = std::abs(actual[i] - expected.data[i]);
    diff = std::isnan(d) ? std::numeric_limits<double>::infinity() : std::max(diff, d);
    scale = std::max(scale, std::abs(expected.data[i]));
  }
  const double err = diff / std::max(scale, floor);
  if (tolerance <= 0) m_worst = std::max(m_worst, err);
  if (!(err <= (tolerance > 0 ? tolerance : m_tolerance))) {
    std::ostringstream s;
    s << what << ": relative error " << err;
    if (tolerance > 0) s << " (tolerance " << tolerance << " for this comparison)";
    m_failures.push_back(s.str());
  }
}

void Comparison::scalar(const std::string& what, double actual, double expected) {
  Tensor t;
  t.data = {expected};
  values(what, {actual}, t);
}

void Comparison::indices(const std::string& what, const IndexVector& actual, const IndexVector& expected) {
  ++m_compared;
  if (actual != expected) {
    std::ostringstream s;
    s << what << ": differs (" << actual.size() << " vs " << expected.size() << " entries";
    for (std::size_t i = 0; i < std::min(actual.size(), expected.size()); ++i)
      if (actual[i] != expected[i]) {
        s << "; first at " << i << ": " << actual[i] << " vs " << expected[i];
        break;
      }
    s << ")";
    m_failures.push_back(s.str());
  }
}

std::map<std::string, Handler>& registry() {
  static std::map<std::string, Handler> r;
  return r;
}

Index stored_entry(const SparseMatrix<double>& adj, Index row, Index col) {
  const StorageIndex* first = adj.innerIndexPtr() + adj.outerIndexPtr()[row];
  const StorageIndex* last = adj.innerIndexPtr() + adj.outerIndexPtr()[row + 1];
  const StorageIndex* pos = std::lower_bound(first, last, static_cast<StorageIndex>(col));
  return pos != last && *pos == col ? static_cast<Index>(pos - adj.innerIndexPtr()) : -1;
}

void compare_edge_weight_grad(const Case& c, const Batch<double>& in, const Vector<double>& dadj, Comparison& cmp) {
  if (!c.grads.count("edge_weight")) return;
  const IndexVector ei = c.input("edge_index").indices();
  const std::size_t m = ei.size() / 2;
  std::vector<double> actual(m);
  for (std::size_t e = 0; e < m; ++e) {
    const Index p = stored_entry(in.adj, ei[m + e], ei[e]);  // the edge source -> target is adj(target, source)
    actual[e] = p >= 0 ? dadj[p] : std::nan("");
  }
  cmp.values("grad edge_weight", actual, c.grad("edge_weight"));
}

std::vector<std::pair<Index, Index>> sorted_edges(const IndexVector& edge_index) {
  const std::size_t m = edge_index.size() / 2;
  std::vector<std::pair<Index, Index>> e(m);
  for (std::size_t i = 0; i < m; ++i) e[i] = {edge_index[i], edge_index[m + i]};
  std::sort(e.begin(), e.end());
  return e;
}

}  // namespace gnnpool::conformance

int main(int argc, char** argv) {
  using namespace gnnpool::conformance;
  namespace fs = std::filesystem;
  if (argc < 2) {
    std::cerr << "usage: gnnpool_conformance FOLDER_OR_FILE...\n"
                 "Runs every *.json conformance file (schema pyg-pool-ref/1) against gnnpool.\n";
    return 2;
  }
  std::vector<std::string> files;
  for (int a = 1; a < argc; ++a) {
    const fs::path p(argv[a]);
    if (fs::is_directory(p)) {
      for (const auto& entry : fs::directory_iterator(p))
        if (entry.path().extension() == ".json") files.push_back(entry.path().string());
    } else if (fs::is_regular_file(p)) {
      files.push_back(p.string());
    } else {
      std::cerr << "gnnpool_conformance: " << p.string() << " is neither a folder nor a file\n";
      return 2;
    }
  }
  std::sort(files.begin(), files.end());
  const double tolerance = 1e-10;
  int passed = 0, failed = 0, unsupported = 0;
  for (const auto& file : files) {
    std::string name = fs::path(file).stem().string();
    try {
      const Case c = read_case(file);
      name = c.name;
      auto it = registry().find(c.op);
      if (it == registry().end()) {
        std::printf("UNSUPPORTED  %-40s op '%s' is not supported yet\n", name.c_str(), c.op.c_str());
        ++unsupported;
        continue;
      }
      Comparison cmp(tolerance);
      it->second(c, cmp);
      if (cmp.ok()) {
        std::printf("PASS         %-40s %2d comparisons, worst relative error %.2e\n", name.c_str(),
                    cmp.compared(), cmp.worst());
        ++passed;
      } else {
        std::printf("FAIL         %-40s worst relative error %.2e\n", name.c_str(), cmp.worst());
        if (cmp.compared() == 0) std::printf("               nothing was compared\n");
        for (const auto& f : cmp.failures()) std::printf("               %s\n", f.c_str());
        ++failed;
      }
    } catch (const std::exception& e) {
      std::printf("FAIL         %-40s error: %s\n", name.c_str(), e.what());
      ++failed;
    }
  }
  std::printf("%d passed, %d failed, %d unsupported\n", passed, failed, unsupported);
  return failed > 0 || files.empty() ? 1 : 0;
}
