// The op entry points of the bridge library (ops.hpp), the options text of a layer, and their
// registration with TORCH_LIBRARY for Python (`torch.ops.load_library(path)`, then
// `torch.ops.gnnpool.<op>`; python/gnnpool_torch wraps them in PyG's module classes).
//
// The ops are registered as CompositeImplicitAutograd kernels: they run with autograd on and
// record gnnpool's own autograd functions (function.hpp), so torch's autograd calls gnnpool's
// hand-written backward passes.

#include "bridge.hpp"

#include <torch/library.h>

#include <cerrno>
#include <cstdlib>

namespace gnnpool::pyg::impl {

Config::Config(std::string layer, std::string_view text) : m_layer(std::move(layer)) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(';', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(pos, end - pos);
    pos = end + 1;
    if (item.empty()) continue;
    const std::size_t eq = item.find('=');
    GNNPOOL_CHECK(eq != std::string_view::npos && eq > 0, invalid_argument, m_layer, ": the option '", item,
                  "' is not key=value");
    std::string key(item.substr(0, eq));
    GNNPOOL_CHECK(m_values.count(key) == 0, invalid_argument, m_layer, ": the option ", key, " is given twice");
    m_values.emplace(std::move(key), std::string(item.substr(eq + 1)));
  }
}

bool Config::has(std::string_view key) const { return m_values.find(key) != m_values.end(); }

void Config::set_default(const std::string& key, const std::string& value) {
  if (has(key)) return;
  m_values.emplace(key, value);
  m_read.emplace(key);  // a default need not be read
}

const std::string* Config::find(std::string_view key) const {
  const auto it = m_values.find(key);
  if (it == m_values.end()) return nullptr;
  m_read.emplace(key);
  return &it->second;
}

void Config::bad(std::string_view key, const std::string& value, std::string_view expected) const {
  ::gnnpool::detail::raise<invalid_argument>(
      ::gnnpool::detail::concat(m_layer, ": option ", key, " must be ", expected, ", got '", value, "'"));
}

double Config::number(std::string_view key, double fallback) const {
  const auto v = optional_number(key);
  return v ? *v : fallback;
}

c10::optional<double> Config::optional_number(std::string_view key) const {
  const std::string* v = find(key);
  if (!v || *v == "none") return c10::nullopt;
  char* end = nullptr;
  errno = 0;
  const double d = std::strtod(v->c_str(), &end);
  if (v->empty() || *end != '\0' || errno == ERANGE) bad(key, *v, "a number");
  return d;
}

int64_t Config::integer(std::string_view key) const {
  const auto v = optional_integer(key);
  GNNPOOL_CHECK(v.has_value(), invalid_argument, m_layer, ": the option ", key, " is required");
  return *v;
}

int64_t Config::integer(std::string_view key, int64_t fallback) const {
  const auto v = optional_integer(key);
  return v ? *v : fallback;
}

c10::optional<int64_t> Config::optional_integer(std::string_view key) const {
  const std::string* v = find(key);
  if (!v || *v == "none") return c10::nullopt;
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || errno == ERANGE) bad(key, *v, "an integer");
  return static_cast<int64_t>(i);
}

bool Config::flag(std::string_view key, bool fallback) const {
  const std::string* v = find(key);
  if (!v) return fallback;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  bad(key, *v, "true or false");
}

std::string Config::text(std::string_view key, const std::string& fallback) const {
  const std::string* v = find(key);
  return v ? *v : fallback;
}

c10::optional<std::string> Config::optional_text(std::string_view key) const {
  const std::string* v = find(key);
  if (!v || *v == "none") return c10::nullopt;
  return *v;
}

std::vector<int64_t> Config::integers(std::string_view key) const {
  const std::string* v = find(key);
  std::vector<int64_t> out;
  if (!v || v->empty() || *v == "none") return out;
  std::size_t pos = 0;
  while (pos <= v->size()) {
    std::size_t end = v->find(',', pos);
    if (end == std::string::npos) end = v->size();
    const std::string item = v->substr(pos, end - pos);
    char* stop = nullptr;
    const long long i = std::strtoll(item.c_str(), &stop, 10);
    if (item.empty() || *stop != '\0') bad(key, *v, "a comma-separated list of integers");
    out.push_back(static_cast<int64_t>(i));
    pos = end + 1;
  }
  return out;
}

void Config::finish() const {
  std::string unknown;
  for (const auto& [key, value] : m_values)
    if (!m_read.count(key)) unknown += (unknown.empty() ? "" : ", ") + key;
  GNNPOOL_CHECK(unknown.empty(), invalid_argument, m_layer, ": unknown option(s) ", unknown);
}

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    add_score_kinds(reg);
    add_soft_kinds(reg);
    add_layer_kinds(reg);
    return reg;
  }();
  return r;
}

namespace {

template <typename Map>
const typename Map::mapped_type& kind_of(const Map& map, std::string_view layer, std::string_view op) {
  const auto it = map.find(layer);
  if (it != map.end()) return it->second;
  std::string known;
  for (const auto& [name, kind] : map) known += (known.empty() ? "" : ", ") + name;
  ::gnnpool::detail::raise<invalid_argument>(
      ::gnnpool::detail::concat("gnnpool.", op, ": unknown layer '", layer, "' (known: ", known, ")"));
}

template <typename Map>
std::vector<std::string> names_of(const Map& map) {
  std::vector<std::string> out;
  for (const auto& [name, kind] : map) out.push_back(name);
  return out;
}

}  // namespace
}  // namespace gnnpool::pyg::impl

namespace gnnpool::pyg {

ParameterSpec layer_parameters(const std::string& layer, const std::string& config) {
  const impl::Registry& r = impl::registry();
  impl::Config c(impl::op_name("layer_parameters", layer), config);
  if (r.pools.count(layer)) return r.pools.find(layer)->second.parameters(c);
  if (r.layers.count(layer)) return r.layers.find(layer)->second.parameters(c);
  if (r.dense.count(layer)) return {};
  std::string known;
  for (const auto& n : pool_layers()) known += (known.empty() ? "" : ", ") + n;
  for (const auto& n : graph_layers()) known += ", " + n;
  ::gnnpool::detail::raise<invalid_argument>(
      ::gnnpool::detail::concat("gnnpool.layer_parameters: unknown layer '", layer, "' (known: ", known, ")"));
}

std::vector<at::Tensor> pool(const std::string& layer, const std::string& config, const at::Tensor& x,
                             const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight,
                             const c10::optional<at::Tensor>& batch, c10::optional<int64_t> num_graphs,
                             at::TensorList params, const c10::optional<at::Tensor>& index) {
  const auto& kind = impl::kind_of(impl::registry().pools, layer, "pool");
  impl::Config c(impl::op_name("pool", layer), config);
  if (x.defined() && x.dim() == 2) c.set_default("in_channels", std::to_string(x.size(1)));
  const GraphInput in{x, edge_index, edge_weight, batch, num_graphs};
  impl::Extra extra;
  extra.index = index;
  return kind.run(c, in, params, extra);
}

at::Tensor graph_layer(const std::string& layer, const std::string& config, const at::Tensor& x,
                       const c10::optional<at::Tensor>& edge_index, const c10::optional<at::Tensor>& edge_weight,
                       const c10::optional<at::Tensor>& batch, c10::optional<int64_t> num_graphs, at::TensorList params) {
  const auto& kind = impl::kind_of(impl::registry().layers, layer, "graph_layer");
  impl::Config c(impl::op_name("graph_layer", layer), config);
  const GraphInput in{x, edge_index.value_or(at::Tensor()), edge_weight, batch, num_graphs};
  return kind.run(c, in, params);
}

std::vector<at::Tensor> dense_pool(const std::string& function, const std::string& config, const at::Tensor& x,
                                   const at::Tensor& adj, const at::Tensor& s, const c10::optional<at::Tensor>& mask) {
  const auto& kind = impl::kind_of(impl::registry().dense, function, "dense_pool");
  impl::Config c(impl::op_name("dense_pool", function), config);
  return kind.run(c, x, adj, s, mask);
}

int64_t structure_cache(int64_t capacity) {
  if (capacity < 0) return static_cast<int64_t>(detail::structure_cache_capacity_ref().load());
  return static_cast<int64_t>(set_structure_cache_capacity(static_cast<std::size_t>(capacity)));
}

int64_t buffer_cache(int64_t capacity) {
  if (capacity < 0) return static_cast<int64_t>(detail::buffer_cache_capacity_ref().load());
  return static_cast<int64_t>(set_buffer_cache_capacity(static_cast<std::size_t>(capacity)));
}

std::vector<std::string> layer_outputs(const std::string& op, const std::string& layer) {
  if (op == "pool") return impl::kind_of(impl::registry().pools, layer, op).outputs;
  if (op == "dense_pool") return impl::kind_of(impl::registry().dense, layer, op).outputs;
  ::gnnpool::detail::raise<invalid_argument>(
      ::gnnpool::detail::concat("gnnpool.layer_outputs: unknown op '", op, "' (expected pool or dense_pool)"));
}

std::vector<std::string> pool_layers() { return impl::names_of(impl::registry().pools); }
std::vector<std::string> graph_layers() { return impl::names_of(impl::registry().layers); }
std::vector<std::string> dense_functions() { return impl::names_of(impl::registry().dense); }

}  // namespace gnnpool::pyg

namespace {

std::tuple<std::vector<std::string>, std::vector<at::Tensor>> layer_parameters_op(const std::string& layer,
                                                                                 const std::string& config) {
  auto spec = gnnpool::pyg::layer_parameters(layer, config);
  return {std::move(spec.names), std::move(spec.values)};
}

std::vector<at::Tensor> pool_op(const std::string& layer, const std::string& config, const at::Tensor& x,
                                const at::Tensor& edge_index, const c10::optional<at::Tensor>& edge_weight,
                                const c10::optional<at::Tensor>& batch, c10::optional<int64_t> num_graphs,
                                std::vector<at::Tensor> params, const c10::optional<at::Tensor>& index) {
  return gnnpool::pyg::pool(layer, config, x, edge_index, edge_weight, batch, num_graphs, params, index);
}

at::Tensor graph_layer_op(const std::string& layer, const std::string& config, const at::Tensor& x,
                          const c10::optional<at::Tensor>& edge_index, const c10::optional<at::Tensor>& edge_weight,
                          const c10::optional<at::Tensor>& batch, c10::optional<int64_t> num_graphs,
                          std::vector<at::Tensor> params) {
  return gnnpool::pyg::graph_layer(layer, config, x, edge_index, edge_weight, batch, num_graphs, params);
}

std::vector<std::string> layers_op(const std::string& op) {
  if (op == "pool") return gnnpool::pyg::pool_layers();
  if (op == "graph_layer") return gnnpool::pyg::graph_layers();
  if (op == "dense_pool") return gnnpool::pyg::dense_functions();
  ::gnnpool::detail::raise<gnnpool::invalid_argument>(
      ::gnnpool::detail::concat("gnnpool.layers: unknown op '", op, "' (expected pool, graph_layer or dense_pool)"));
}

}  // namespace

TORCH_LIBRARY(gnnpool, m) {
  m.def("layer_parameters(str layer, str config) -> (str[], Tensor[])", &layer_parameters_op);
  m.def("pool(str layer, str config, Tensor x, Tensor edge_index, Tensor? edge_weight, Tensor? batch, int? num_graphs, "
        "Tensor[] params, Tensor? index) -> Tensor[]",
        &pool_op);
  m.def("graph_layer(str layer, str config, Tensor x, Tensor? edge_index, Tensor? edge_weight, Tensor? batch, "
        "int? num_graphs, Tensor[] params) -> Tensor",
        &graph_layer_op);
  m.def("dense_pool(str function, str config, Tensor x, Tensor adj, Tensor s, Tensor? mask) -> Tensor[]",
        &gnnpool::pyg::dense_pool);
  m.def("graclus(Tensor edge_index, Tensor? weight, int? num_nodes, Tensor? visit_order) -> Tensor", &gnnpool::pyg::graclus);
  m.def("structure_cache(int capacity) -> int", &gnnpool::pyg::structure_cache);
  m.def("buffer_cache(int capacity) -> int", &gnnpool::pyg::buffer_cache);
  m.def("layers(str op) -> str[]", &layers_op);
  m.def("layer_outputs(str op, str layer) -> str[]", &gnnpool::pyg::layer_outputs);
}
