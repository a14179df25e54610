// Tests of the PyTorch bridge's C++ API (gnnpool/torch/modules.hpp): every PyG conformance
// vector through the libtorch modules and functions, with the loss differentiated by torch's
// autograd (so by gnnpool's backward passes); central finite differences through torch's
// autograd; PyG parameter names and training with torch::optim; float32; argument errors.
// Catch2 with its own main (this test is built without sanitizers, as the bridge library).

#include <gnnpool/torch/function.hpp>
#include <gnnpool/torch/modules.hpp>
#include <gnnpool/torch/ops.hpp>
#include <gnnpool/torch/tensor.hpp>

#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/adam.h>

// torch's headers bring glog's CHECK macro; Catch2's must be the one used here.
#undef CHECK
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace pyg = gnnpool::pyg;
using at::Tensor;

// --- reading a case -----------------------------------------------------------------------

Tensor tensor_of(const nlohmann::json& j) {
  std::vector<int64_t> shape = j.at("shape").get<std::vector<int64_t>>();
  const std::string dtype = j.at("dtype");
  const std::vector<double> data = j.at("data").get<std::vector<double>>();
  Tensor t = at::tensor(data, at::TensorOptions().dtype(at::kDouble)).reshape(shape);
  if (dtype == "int64") return t.to(at::kLong);
  if (dtype == "bool") return t.to(at::kBool);
  return t;
}

struct Case {
  std::string name, op;
  nlohmann::json hyper;
  std::map<std::string, Tensor> inputs, params, outputs, aux, weights, grads;
  double loss = 0;
  std::vector<std::string> failures;
  int compared = 0;
  double worst = 0;

  double number(const std::string& key, double fallback) const {
    if (!hyper.contains(key) || hyper.at(key).is_null()) return fallback;
    const auto& v = hyper.at(key);
    return v.is_boolean() ? (v.get<bool>() ? 1.0 : 0.0) : v.get<double>();
  }
  std::string text(const std::string& key, const std::string& fallback) const {
    return hyper.contains(key) && !hyper.at(key).is_null() ? hyper.at(key).get<std::string>() : fallback;
  }
  c10::optional<Tensor> input(const std::string& key) const {
    const auto it = inputs.find(key);
    return it == inputs.end() ? c10::optional<Tensor>() : c10::optional<Tensor>(it->second);
  }

  /// max |actual - expected| / max(max |expected|, floor) <= 1e-10.
  void values(const std::string& what, const Tensor& actual, const Tensor& expected, double floor = 1e-6) {
    ++compared;
    if (!actual.defined() || actual.numel() != expected.numel()) {
      failures.push_back(what + ": wrong size");
      return;
    }
    if (actual.numel() == 0) return;
    const Tensor a = actual.detach().to(at::kDouble).reshape(-1), e = expected.to(at::kDouble).reshape(-1);
    const double err = (a - e).abs().max().item<double>() / std::max(e.abs().max().item<double>(), floor);
    worst = std::max(worst, err);
    if (!(err <= 1e-10)) failures.push_back(what + ": relative error " + std::to_string(err));
  }
  void exact(const std::string& what, const Tensor& actual, const Tensor& expected) {
    ++compared;
    if (!actual.defined() || !at::equal(actual.to(at::kLong).reshape(-1), expected.to(at::kLong).reshape(-1)))
      failures.push_back(what + ": differs");
  }
  void set(torch::nn::Module& m, const std::string& parameter) {
    torch::NoGradGuard no_grad;
    Tensor p = m.named_parameters()[parameter];
    p.copy_(params.at(parameter).reshape(p.sizes()));
  }
};

Case read_case(const std::filesystem::path& path) {
  std::ifstream in(path);
  const nlohmann::json d = nlohmann::json::parse(in);
  Case c;
  c.name = d.at("case");
  c.op = d.at("op");
  c.hyper = d.value("hyper", nlohmann::json::object());
  const auto read = [&](const char* key, std::map<std::string, Tensor>& into) {
    if (!d.contains(key)) return;
    for (const auto& [k, v] : d.at(key).items())
      if (!v.is_null()) into[k] = tensor_of(v);
  };
  read("inputs", c.inputs);
  read("params", c.params);
  read("outputs", c.outputs);
  read("aux_losses", c.aux);
  read("loss_weights", c.weights);
  read("grads", c.grads);
  c.loss = d.at("loss");
  return c;
}

using Edge = std::pair<int64_t, int64_t>;

std::vector<Edge> edges_of(const Tensor& ei) {
  std::vector<Edge> out;
  for (int64_t e = 0; e < ei.size(1); ++e) out.emplace_back(ei[0][e].item<int64_t>(), ei[1][e].item<int64_t>());
  return out;
}

/// Compares pooled edges as sets (and their values edge by edge); returns where each expected
/// edge is in the returned list.
std::vector<int64_t> compare_edges(Case& c, const std::string& what, const Tensor& ei, const Tensor& values,
                                   const Tensor& expected_ei, const Tensor& expected_values) {
  const std::vector<Edge> actual = edges_of(ei), expected = edges_of(expected_ei);
  std::vector<Edge> a = actual, e = expected;
  std::sort(a.begin(), a.end());
  std::sort(e.begin(), e.end());
  ++c.compared;
  if (a != e) c.failures.push_back(what + ": the edge sets differ");
  std::map<Edge, int64_t> where;
  for (std::size_t i = 0; i < actual.size(); ++i) where[actual[i]] = static_cast<int64_t>(i);
  std::vector<int64_t> position;
  for (const Edge& edge : expected) position.push_back(where.count(edge) ? where[edge] : -1);
  if (values.defined() && expected_values.defined() && std::find(position.begin(), position.end(), -1) == position.end())
    c.values(what + " values", values.index_select(0, at::tensor(position)), expected_values);
  return position;
}

Tensor grad_or_zero(const Tensor& g, const Tensor& like) { return g.defined() ? g : at::zeros_like(like); }

// --- handlers -----------------------------------------------------------------------------

void run_score(Case& c) {
  Tensor x = c.inputs.at("x").clone().requires_grad_();
  const int64_t f = x.size(1);
  const auto ratio = c.hyper.at("ratio").is_null() ? c10::optional<double>() : c10::optional<double>(c.number("ratio", 0.5));
  const auto min_score =
      c.hyper.at("min_score").is_null() ? c10::optional<double>() : c10::optional<double>(c.number("min_score", 0));
  pyg::PoolingOutput out;
  std::shared_ptr<torch::nn::Module> module;
  if (c.op.rfind("sag", 0) == 0) {
    pyg::SAGPooling pool(pyg::SAGPoolingOptions(f).ratio(ratio).min_score(min_score).gnn(c.text("gnn", "GraphConv"))
                             .multiplier(c.number("multiplier", 1.0)).nonlinearity(c.text("nonlinearity", "tanh")));
    pool->to(at::kDouble);
    for (const auto& [name, t] : c.params) c.set(*pool, name);
    out = pool(x, c.inputs.at("edge_index"), c10::nullopt, c.input("batch"));
    module = pool.ptr();
  } else {
    pyg::TopKPooling pool(pyg::TopKPoolingOptions(f).ratio(ratio).min_score(min_score)
                              .multiplier(c.number("multiplier", 1.0)).nonlinearity(c.text("nonlinearity", "tanh")));
    pool->to(at::kDouble);
    for (const auto& [name, t] : c.params) c.set(*pool, name);
    out = pool(x, c.inputs.at("edge_index"), c10::nullopt, c.input("batch"));
    module = pool.ptr();
  }
  c.values("x", out.x, c.outputs.at("x"));
  c.exact("perm", out.perm, c.outputs.at("perm"));
  c.values("score", out.score, c.outputs.at("score"));
  c.exact("batch", out.batch, c.outputs.at("batch"));
  compare_edges(c, "edge_index", out.edge_index, {}, c.outputs.at("edge_index"), {});
  if (out.edge_attr.defined()) c.failures.push_back("edge_attr must be undefined without input weights");
  Tensor loss = (out.x * c.weights.at("x")).sum() + (out.score * c.weights.at("score")).sum();
  c.values("loss", loss, at::scalar_tensor(c.loss, at::kDouble));
  loss.backward();
  c.values("grad x", x.grad(), c.grads.at("x"));
  auto named = module->named_parameters();
  const bool sag_ratio = c.op.rfind("sag", 0) == 0 && !min_score;
  for (const auto& [name, t] : c.params)
    c.values("grad " + name, grad_or_zero(named[name].grad(), t), c.grads.at("param:" + name),
             sag_ratio && name == "select.weight" ? 1.0 : 1e-6);  // exact 0: PyG's round-off
}

void run_kmis(Case& c) {
  Tensor x = c.inputs.at("x").clone().requires_grad_();
  pyg::KMISPooling pool(pyg::KMISPoolingOptions(x.size(1))
                            .k(static_cast<int64_t>(c.number("k", 1)))
                            .scorer(c.text("scorer", "linear"))
                            .score_heuristic(c.text("score_heuristic", "none"))
                            .score_passthrough(c.text("score_passthrough", "none"))
                            .aggr_x(c.text("aggr_x", "none"))
                            .remove_self_loops(!c.hyper.contains("remove_self_loops") || c.hyper.at("remove_self_loops").get<bool>()));
  pool->to(at::kDouble);
  for (const auto& [name, t] : c.params) c.set(*pool, name);
  const pyg::PoolingOutput out = pool(x, c.inputs.at("edge_index"), c10::nullopt, c.input("batch"));
  c.values("x", out.x, c.outputs.at("x"));
  c.exact("batch", out.batch, c.outputs.at("batch"));
  c.exact("mis", out.mis, c.outputs.at("mis"));
  c.exact("cluster", out.cluster, c.outputs.at("cluster"));
  compare_edges(c, "edge_index", out.edge_index, out.edge_attr, c.outputs.at("edge_index"), c.outputs.at("edge_attr"));
  Tensor loss = (out.x * c.weights.at("x")).sum();
  c.values("loss", loss, at::scalar_tensor(c.loss, at::kDouble));
  loss.backward();
  c.values("grad x", x.grad(), c.grads.at("x"));
  auto named = pool->named_parameters();
  for (const auto& [name, t] : c.params) c.values("grad " + name, named[name].grad(), c.grads.at("param:" + name));
}

void run_graclus(Case& c) {
  Tensor x = c.inputs.at("x").clone().requires_grad_();
  const Tensor ei = c.inputs.at("edge_index");
  Tensor w;
  if (c.inputs.count("edge_weight")) w = c.inputs.at("edge_weight").clone().requires_grad_();
  at::manual_seed(static_cast<uint64_t>(c.number("torch_seed", 0)));
  const Tensor cluster = pyg::graclus(ei, w.defined() ? c10::optional<Tensor>(w.detach()) : c10::nullopt, x.size(0), {});
  c.exact("cluster", cluster, c.outputs.at("cluster"));
  const bool max = c.text("pool", "max") == "max";
  const c10::optional<Tensor> attr = w.defined() ? c10::optional<Tensor>(w) : c10::nullopt;
  const pyg::PoolingOutput out = max ? pyg::max_pool(cluster, x, ei, attr, c.input("batch"))
                                     : pyg::avg_pool(cluster, x, ei, attr, c.input("batch"));
  c.values("x", out.x, c.outputs.at("x"));
  c.exact("batch", out.batch, c.outputs.at("batch"));
  const auto position = compare_edges(c, "edge_index", out.edge_index, out.edge_attr, c.outputs.at("edge_index"),
                                      c.outputs.count("edge_attr") ? c.outputs.at("edge_attr") : Tensor());
  Tensor loss = (out.x * c.weights.at("x")).sum();
  if (c.weights.count("edge_attr")) loss = loss + (out.edge_attr.index_select(0, at::tensor(position)) * c.weights.at("edge_attr")).sum();
  c.values("loss", loss, at::scalar_tensor(c.loss, at::kDouble));
  loss.backward();
  c.values("grad x", x.grad(), c.grads.at("x"));
  if (c.grads.count("edge_weight")) c.values("grad edge_weight", w.grad(), c.grads.at("edge_weight"));
}

void run_readout(Case& c) {
  Tensor x = c.inputs.at("x").clone().requires_grad_();
  const auto batch = c.input("batch");
  Tensor out;
  std::shared_ptr<torch::nn::Module> module;
  if (c.op == "global_add") out = pyg::global_add_pool(x, batch);
  else if (c.op == "global_mean") out = pyg::global_mean_pool(x, batch);
  else if (c.op == "global_max") out = pyg::global_max_pool(x, batch);
  else {
    pyg::AttentionalAggregationOptions o(x.size(1));
    if (c.params.count("nn.weight")) o.nn_out_channels(c.params.at("nn.weight").size(0));
    pyg::AttentionalAggregation readout(o);
    readout->to(at::kDouble);
    for (const auto& [name, t] : c.params) c.set(*readout, name);
    out = readout(x, batch);
    module = readout.ptr();
  }
  c.values("x", out, c.outputs.at("x"));
  Tensor loss = (out * c.weights.at("x")).sum();
  c.values("loss", loss, at::scalar_tensor(c.loss, at::kDouble));
  loss.backward();
  c.values("grad x", x.grad(), c.grads.at("x"));
  if (module) {
    auto named = module->named_parameters();
    for (const auto& [name, t] : c.params)  // the gate bias: exactly 0 up to the 1e-16 guard
      c.values("grad " + name, named[name].grad(), c.grads.at("param:" + name), name == "gate_nn.bias" ? 1.0 : 1e-6);
  }
}

void compare_padded(Case& c, const std::string& what, const Tensor& actual, const Tensor& expected,
                    const c10::optional<Tensor>& mask) {
  if (!mask) return c.values(what, actual, expected);
  if (expected.index({~*mask}).ne(0).any().item<bool>()) c.failures.push_back(what + ": expected non-zero padding");
  c.values(what, actual.index({*mask}), expected.index({*mask}));
}

void run_dense(Case& c) {
  Tensor x = c.inputs.at("x").clone().requires_grad_();
  Tensor adj = c.inputs.at("adj").clone().requires_grad_();
  const auto mask = c.input("mask");
  pyg::DensePoolingOutput out;
  Tensor loss = at::zeros({}, at::kDouble), s_logits;
  std::map<std::string, Tensor> params;
  if (c.op == "dmon") {
    std::vector<int64_t> channels{x.size(2)};
    for (int l = 0; c.params.count("mlp.lins." + std::to_string(l + 1) + ".weight"); ++l)
      channels.push_back(c.params.at("mlp.lins." + std::to_string(l) + ".weight").size(0));
    pyg::DMoNPooling pool(pyg::DMoNPoolingOptions(channels, static_cast<int64_t>(c.number("K", 0))));
    pool->to(at::kDouble);
    for (const auto& [name, t] : c.params) {
      c.set(*pool, name);
      params[name] = pool->named_parameters()[name];
    }
    out = pool(x, adj, mask);
    compare_padded(c, "s", out.s, c.outputs.at("s"), mask);
    loss = (out.s * c.weights.at("s")).sum();
  } else {
    params["assign.weight"] = c.params.at("assign.weight").clone().requires_grad_();
    params["assign.bias"] = c.params.at("assign.bias").clone().requires_grad_();
    s_logits = at::matmul(x, params["assign.weight"].t()) + params["assign.bias"];
    s_logits.retain_grad();
    out = c.op == "mincut" ? pyg::dense_mincut_pool(x, adj, s_logits, mask, c.number("temp", 1.0))
                           : pyg::dense_diff_pool(x, adj, s_logits, mask, c.number("normalize", 1.0) != 0.0);
  }
  c.values("x", out.x, c.outputs.at("x"));
  c.values("adj", out.adj, c.outputs.at("adj"));
  for (const auto& [name, expected] : c.aux) {
    c.values("aux " + name, out.loss(name), expected);
    loss = loss + out.loss(name);
  }
  loss = loss + (out.x * c.weights.at("x")).sum() + (out.adj * c.weights.at("adj")).sum();
  c.values("loss", loss, at::scalar_tensor(c.loss, at::kDouble));
  loss.backward();
  compare_padded(c, "grad x", x.grad(), c.grads.at("x"), mask);
  const Tensor pairs = mask ? (mask->unsqueeze(2) & mask->unsqueeze(1)) : at::ones_like(adj, at::kBool);
  c.values("grad adj", adj.grad().index({pairs}), c.grads.at("adj").index({pairs}));  // (valid, padded): no counterpart
  for (const auto& [name, p] : params) c.values("grad " + name, p.grad(), c.grads.at("param:" + name));
  if (s_logits.defined()) compare_padded(c, "grad s_logits", s_logits.grad(), c.grads.at("s_logits"), mask);
}

void run_ndp(Case& c) {
  Tensor x = c.inputs.at("x").clone().requires_grad_();
  Tensor cur = x, ei = c.inputs.at("edge_index"), node_index;
  c10::optional<Tensor> w = c.input("edge_weight"), batch = c.input("batch");
  const auto levels = static_cast<int>(c.number("levels", 1));
  for (int l = 1; l <= levels; ++l) {
    const std::string k = "_l" + std::to_string(l);
    pyg::NDPPooling pool(pyg::NDPPoolingOptions()
                             .sparse_threshold(c.number("sparse_threshold", 1e-2))
                             .cut_threshold(c.number("cut_threshold", 0.5))
                             .seed(static_cast<int64_t>(c.number("fallback_seed" + k, 0)))
                             .random_split("numpy"));
    c10::optional<Tensor> fallback;
    if (c.outputs.count("debug_random_cut" + k) && c.outputs.at("debug_random_cut" + k).item<bool>() &&
        c.outputs.count("debug_partition" + k))
      fallback = c.outputs.at("debug_partition" + k);
    const pyg::PoolingOutput out = pool(cur, ei, w, batch, fallback);
    cur = out.x;
    ei = out.edge_index;
    w = out.edge_attr;
    batch = out.batch;
    node_index = node_index.defined() ? node_index.index_select(0, out.perm) : out.perm;
  }
  c.exact("node_index", node_index, c.outputs.at("node_index"));
  c.values("x", cur, c.outputs.at("x"));
  compare_edges(c, "edge_index", ei, *w, c.outputs.at("edge_index"), c.outputs.at("edge_weight"));
  Tensor loss = (cur * c.weights.at("x")).sum();
  c.values("loss", loss, at::scalar_tensor(c.loss, at::kDouble));
  loss.backward();
  c.values("grad x", x.grad(), c.grads.at("x"));
}

const std::map<std::string, std::function<void(Case&)>>& handlers() {
  static const std::map<std::string, std::function<void(Case&)>> h{
      {"topk_tanh", run_score},     {"topk_sigmoid", run_score},  {"topk_int_ratio", run_score},
      {"topk_min_score", run_score}, {"sag_graphconv", run_score}, {"sag_gcn", run_score},
      {"kmis_k1", run_kmis},        {"kmis_k2_wsum", run_kmis},   {"graclus_max", run_graclus},
      {"graclus_w_avg", run_graclus}, {"global_add", run_readout}, {"global_mean", run_readout},
      {"global_max", run_readout},  {"attn_gate", run_readout},   {"attn_gate_nn", run_readout},
      {"mincut", run_dense},        {"diffpool", run_dense},      {"dmon", run_dense},
      {"ndp_l1", run_ndp},          {"ndp_l2", run_ndp}};
  return h;
}

/// Central differences of L(inputs) = <f(inputs), W> (W fixed random weights per output)
/// against torch's autograd, for every input that requires a gradient; max relative error.
double finite_difference_error(const std::function<std::vector<Tensor>(const std::vector<Tensor>&)>& f,
                               std::vector<Tensor> inputs) {
  std::vector<Tensor> outputs = f(inputs), weights;
  Tensor loss = at::zeros({}, at::kDouble);
  for (const Tensor& o : outputs) {
    weights.push_back(at::randn(o.sizes(), at::TensorOptions().dtype(at::kDouble)));
    loss = loss + (o * weights.back()).sum();
  }
  std::vector<Tensor> wrt;
  for (const Tensor& t : inputs)
    if (t.requires_grad()) wrt.push_back(t);
  const std::vector<Tensor> grads = torch::autograd::grad({loss}, wrt);
  const auto value = [&](const std::vector<Tensor>& in) {
    torch::NoGradGuard no_grad;
    double v = 0;
    const std::vector<Tensor> out = f(in);
    for (std::size_t i = 0; i < out.size(); ++i) v += (out[i] * weights[i]).sum().item<double>();
    return v;
  };
  double worst = 0;
  const double h = 1e-6;
  for (std::size_t k = 0; k < wrt.size(); ++k) {
    const Tensor flat = wrt[k].detach().view(-1);
    const Tensor g = grads[k].reshape(-1);
    for (int64_t i = 0; i < flat.numel(); ++i) {
      const double old = flat[i].item<double>();
      flat[i] = old + h;
      const double up = value(inputs);
      flat[i] = old - h;
      const double down = value(inputs);
      flat[i] = old;
      const double numeric = (up - down) / (2 * h), analytic = g[i].item<double>();
      worst = std::max(worst, std::abs(numeric - analytic) / std::max(1.0, std::abs(numeric)));
    }
  }
  return worst;
}

/// Three small undirected graphs (sizes 5, 8, 7) with symmetric weights.
struct Graph {
  Tensor x, edge_index, weight, batch;
};
Graph small_graph() {
  at::manual_seed(3);
  std::vector<int64_t> src, dst;
  std::vector<int64_t> sizes{5, 8, 7};
  int64_t offset = 0;
  for (const int64_t n : sizes) {
    for (int64_t i = 0; i + 1 < n; ++i) {
      src.push_back(offset + i);
      dst.push_back(offset + i + 1);
      if (i + 3 < n && (i % 2 == 0)) {
        src.push_back(offset + i);
        dst.push_back(offset + i + 3);
      }
    }
    offset += n;
  }
  const auto m = static_cast<int64_t>(src.size());
  std::vector<int64_t> s2(src), d2(dst);
  s2.insert(s2.end(), dst.begin(), dst.end());
  d2.insert(d2.end(), src.begin(), src.end());
  Graph g;
  g.edge_index = at::stack({at::tensor(s2), at::tensor(d2)});
  const Tensor w = at::rand({m}, at::TensorOptions().dtype(at::kDouble)) + 0.5;
  g.weight = at::cat({w, w});
  g.x = at::randn({offset, 4}, at::TensorOptions().dtype(at::kDouble));
  g.batch = at::cat({at::zeros({5}, at::kLong), at::ones({8}, at::kLong), at::full({7}, 2, at::kLong)});
  return g;
}

}  // namespace

TEST_CASE("every PyG conformance vector through the libtorch modules", "[torch]") {
  const std::filesystem::path root = std::filesystem::path(GNNPOOL_SOURCE_DIR) / "tests" / "data" / "conformance";
  std::vector<std::filesystem::path> files;
  for (const char* dir : {"pyg", "ndp"})
    for (const auto& e : std::filesystem::directory_iterator(root / dir))
      if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 91);
  std::map<std::string, std::pair<int, int>> per_op;
  double worst = 0;
  int failed = 0;
  for (const auto& path : files) {
    Case c = read_case(path);
    const auto it = handlers().find(c.op);
    if (it == handlers().end()) c.failures.push_back("no handler for op " + c.op);
    else {
      try {
        it->second(c);
      } catch (const std::exception& e) {
        c.failures.push_back(std::string("exception: ") + e.what());
      }
    }
    const bool ok = c.failures.empty() && c.compared > 0;
    per_op[c.op].first += ok;
    per_op[c.op].second += 1;
    worst = std::max(worst, c.worst);
    if (!ok) {
      ++failed;
      std::string msg = c.name + ":";
      for (const auto& f : c.failures) msg += "\n  " + f;
      UNSCOPED_INFO(msg);
    }
  }
  std::string summary;
  for (const auto& [op, counts] : per_op)
    summary += op + " " + std::to_string(counts.first) + "/" + std::to_string(counts.second) + "; ";
  WARN(summary << files.size() << " cases, worst relative error " << worst);
  CHECK(failed == 0);
}

TEST_CASE("finite differences through torch's autograd", "[torch]") {
  const Graph g = small_graph();
  const auto x = [&] { return g.x.clone().requires_grad_(); };
  const auto w = [&] { return g.weight.clone().requires_grad_(); };

  SECTION("TopKPooling") {
    pyg::TopKPooling pool(pyg::TopKPoolingOptions(4).ratio(0.6));
    pool->to(at::kDouble);
    auto f = [&](const std::vector<Tensor>& in) {
      const auto out = pool(in[0], g.edge_index, in[1], g.batch);
      return std::vector<Tensor>{out.x, out.edge_attr, out.score};
    };
    CHECK(finite_difference_error(f, {x(), w()}) < 1e-6);
  }
  SECTION("SAGPooling (GCNConv)") {
    pyg::SAGPooling pool(pyg::SAGPoolingOptions(4).gnn("GCNConv"));
    pool->to(at::kDouble);
    auto f = [&](const std::vector<Tensor>& in) {
      const auto out = pool(in[0], g.edge_index, in[1], g.batch);
      return std::vector<Tensor>{out.x, out.edge_attr, out.score};
    };
    CHECK(finite_difference_error(f, {x(), w()}) < 1e-6);
  }
  SECTION("MinCutPool, unpadded") {
    pyg::MinCutPool pool(pyg::SoftPoolOptions(4, 3).hidden({5}));
    pool->to(at::kDouble);
    auto f = [&](const std::vector<Tensor>& in) {
      const auto out = pool(in[0], g.edge_index, in[1], g.batch);
      return std::vector<Tensor>{out.x, out.edge_attr, out.s, out.aux_loss()};
    };
    CHECK(finite_difference_error(f, {x(), w()}) < 1e-6);
  }
  SECTION("dense_diff_pool on a padded batch") {
    const Tensor xd = x().detach().reshape({2, 10, 4}).requires_grad_();
    Tensor adj = at::rand({2, 10, 10}, at::TensorOptions().dtype(at::kDouble));
    adj = (adj + adj.transpose(1, 2)).requires_grad_();
    const Tensor s = at::randn({2, 10, 3}, at::TensorOptions().dtype(at::kDouble)).requires_grad_();
    auto f = [&](const std::vector<Tensor>& in) {
      const auto out = pyg::dense_diff_pool(in[0], in[1], in[2]);
      return std::vector<Tensor>{out.x, out.adj, out.aux_loss()};
    };
    CHECK(finite_difference_error(f, {xd, adj, s}) < 1e-6);
  }
  SECTION("GCNConv and AttentionalAggregation with their parameters") {
    pyg::GCNConv conv(pyg::GCNConvOptions(4, 3));
    pyg::AttentionalAggregation att(pyg::AttentionalAggregationOptions(3).nn_out_channels(2));
    conv->to(at::kDouble);
    att->to(at::kDouble);
    std::vector<Tensor> in{x(), w()};
    for (auto& p : conv->parameters()) in.push_back(p);
    for (auto& p : att->parameters()) in.push_back(p);
    auto f = [&](const std::vector<Tensor>& v) {
      return std::vector<Tensor>{att(conv(v[0], g.edge_index, v[1]).tanh(), g.batch)};
    };
    CHECK(finite_difference_error(f, in) < 1e-6);
  }
  SECTION("max_pool after graclus") {
    const Tensor cluster = pyg::graclus(g.edge_index, g.weight, g.x.size(0), {});
    auto f = [&](const std::vector<Tensor>& in) {
      const auto out = pyg::max_pool(cluster, in[0], g.edge_index, in[1], g.batch);
      return std::vector<Tensor>{out.x, out.edge_attr};
    };
    CHECK(finite_difference_error(f, {x(), w()}) < 1e-6);
  }
}

TEST_CASE("modules have PyG's parameter names and train with torch::optim", "[torch]") {
  pyg::SAGPooling sag(pyg::SAGPoolingOptions(4));
  std::set<std::string> names;
  for (const auto& p : sag->named_parameters()) names.insert(p.key());
  const std::set<std::string> expected{"gnn.lin_rel.weight", "gnn.lin_rel.bias", "gnn.lin_root.weight", "select.weight"};
  CHECK(names == expected);
  pyg::DMoNPooling dmon(pyg::DMoNPoolingOptions(4, 3));
  CHECK(dmon->named_parameters().contains("mlp.lins.0.weight"));
  CHECK(dmon->named_parameters()["mlp.lins.0.bias"].dim() == 1);

  // A GCN + TopK + mean readout classifier learns three labelled graphs.
  const Graph g = small_graph();
  pyg::GCNConv conv(pyg::GCNConvOptions(4, 8));
  pyg::TopKPooling pool(pyg::TopKPoolingOptions(8).ratio(0.5));
  torch::nn::Linear head(8, 2);
  conv->to(at::kDouble);
  pool->to(at::kDouble);
  head->to(at::kDouble);
  std::vector<Tensor> params = conv->parameters();
  for (const auto& p : pool->parameters()) params.push_back(p);
  for (const auto& p : head->parameters()) params.push_back(p);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(0.05));
  const Tensor y = at::tensor(std::vector<int64_t>{0, 1, 0});
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    const auto p = pool(conv(g.x, g.edge_index).relu(), g.edge_index, c10::nullopt, g.batch);
    const Tensor loss = at::cross_entropy_loss(head(pyg::global_mean_pool(p.x, p.batch, 3)), y);
    loss.backward();
    adam.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  CHECK(last < 0.5 * first);
}

TEST_CASE("buffers of finished calls are reused without changing any result", "[torch]") {
  const Graph g = small_graph();
  pyg::GCNConv conv(pyg::GCNConvOptions(4, 4));
  pyg::SAGPooling pool(pyg::SAGPoolingOptions(4));
  conv->to(at::kDouble);
  pool->to(at::kDouble);
  const Tensor x1 = g.x, x2 = at::randn_like(g.x);
  // One step: outputs, dL/dx and the parameter gradients, copied out.
  auto step = [&](const Tensor& x0) {
    const Tensor x = x0.clone().requires_grad_();
    for (auto& p : pool->parameters()) p.mutable_grad().reset();
    const auto out = pool(conv(x, g.edge_index).relu(), g.edge_index, g.weight, g.batch);
    (out.x * out.x).sum().backward();
    return std::vector<Tensor>{out.x.detach().clone(), out.edge_attr.detach().clone(), x.grad().clone(),
                               pool->parameters()[0].grad().clone()};
  };
  const std::size_t old = pyg::set_buffer_cache_capacity(0);
  const auto ref1 = step(x1);
  const auto ref2 = step(x2);
  pyg::set_buffer_cache_capacity(2);
  for (int repeat = 0; repeat < 3; ++repeat) {
    const auto a = step(x1);
    const auto b = step(x2);
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(at::equal(a[i], ref1[i]));
      CHECK(at::equal(b[i], ref2[i]));
    }
  }
  // The cache is used: a finished call's pooled x memory is the next call's.
  const void* first = pool(x1, g.edge_index, g.weight, g.batch).x.data_ptr();
  CHECK(pool(x1, g.edge_index, g.weight, g.batch).x.data_ptr() == first);
  // A call whose outputs are still held keeps its buffers: a later call does not write into them.
  const auto held = pool(x1, g.edge_index, g.weight, g.batch);
  const Tensor held_x = held.x.clone();
  for (int repeat = 0; repeat < 3; ++repeat) (void)pool(x2, g.edge_index, g.weight, g.batch);
  CHECK(at::equal(held.x, held_x));
  // dL/dx handed to torch and still held is not reused either.
  const Tensor x = x1.clone().requires_grad_();
  pool(x, g.edge_index, g.weight, g.batch).x.sum().backward();
  const Tensor grad = x.grad(), grad_copy = x.grad().clone();
  for (int repeat = 0; repeat < 3; ++repeat) (void)step(x2);
  CHECK(at::equal(grad, grad_copy));
  CHECK(pyg::set_buffer_cache_capacity(old) == 2);
}

TEST_CASE("float32 runs and matches float64", "[torch]") {
  const Graph g = small_graph();
  pyg::TopKPooling pool(pyg::TopKPoolingOptions(4));
  const auto out32 = pool(g.x.to(at::kFloat), g.edge_index, c10::nullopt, g.batch);
  pool->to(at::kDouble);
  const auto out64 = pool(g.x, g.edge_index, c10::nullopt, g.batch);
  CHECK(out32.x.scalar_type() == at::kFloat);
  CHECK(at::equal(out32.perm, out64.perm));
  const double diff = (out32.x.to(at::kDouble) - out64.x).abs().max().item<double>();
  CHECK(diff < 1e-5);
}

TEST_CASE("argument errors are sentences naming the layer and the argument", "[torch]") {
  const Graph g = small_graph();
  pyg::TopKPooling pool(pyg::TopKPoolingOptions(4));
  pool->to(at::kDouble);
  CHECK_THROWS_WITH(pool(g.x.t(), g.edge_index, c10::nullopt, g.batch), Catch::Contains("x of shape [4, 20] must be contiguous"));
  CHECK_THROWS_WITH(pool(g.x.to(at::kFloat), g.edge_index, c10::nullopt, g.batch),
                    Catch::Contains("parameter select.weight is Double but x is Float"));
  CHECK_THROWS_AS(pool(g.x, g.edge_index.to(at::kInt), c10::nullopt, g.batch), gnnpool::invalid_argument);
  CHECK_THROWS_AS(pool(g.x.index({at::indexing::Slice(0, 3)}), g.edge_index, c10::nullopt, g.batch), gnnpool::shape_error);
  CHECK_THROWS_WITH(pyg::dense_mincut_pool(at::randn({2, 3, 4}, at::kDouble), at::zeros({2, 3, 3}, at::kDouble),
                                           at::randn({2, 3, 2}, at::kFloat)),
                    Catch::Contains("s is Float but x is Double"));
}
