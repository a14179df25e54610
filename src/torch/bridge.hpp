#ifndef GNNPOOL_SRC_TORCH_BRIDGE_HPP
#define GNNPOOL_SRC_TORCH_BRIDGE_HPP

// Private to the compiled bridge library (libgnnpool_torch): the options text of a layer, and
// the registry of the layer kinds the bridge knows ("topk", "sag", "sum", "mincut", ...). Each
// kind builds its gnnpool layer for float and double from the options and puts the generic
// autograd wrapper's result (function.hpp) into PyG's output order. The registry is filled by
// the kinds_*.cpp files (add_*_kinds) and read by the op entry points (library.cpp).

#include <gnnpool/torch/function.hpp>
#include <gnnpool/torch/ops.hpp>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool::pyg::impl {

/// The options of one layer call: "key=value;key=value" (values: numbers, names, "none",
/// "true"/"false", comma-separated integer lists). Every key must be read by the layer it is
/// given to (`finish`), so a misspelt option is an error, not a silent default.
class Config {
 public:
  Config(std::string layer, std::string_view text);

  const std::string& layer() const { return m_layer; }
  bool has(std::string_view key) const;
  /// Sets `key` unless the text gave it (a layer that does not read it is not an error).
  void set_default(const std::string& key, const std::string& value);

  double number(std::string_view key, double fallback) const;
  c10::optional<double> optional_number(std::string_view key) const;  ///< absent or "none": nullopt
  int64_t integer(std::string_view key) const;                        ///< required
  int64_t integer(std::string_view key, int64_t fallback) const;
  c10::optional<int64_t> optional_integer(std::string_view key) const;
  bool flag(std::string_view key, bool fallback) const;
  std::string text(std::string_view key, const std::string& fallback) const;
  c10::optional<std::string> optional_text(std::string_view key) const;  ///< absent or "none": nullopt
  std::vector<int64_t> integers(std::string_view key) const;            ///< "16,8"; absent or "": {}
  /// Throws `invalid_argument` naming every option no read consumed.
  void finish() const;

 private:
  const std::string* find(std::string_view key) const;
  [[noreturn]] void bad(std::string_view key, const std::string& value, std::string_view expected) const;

  std::string m_layer;
  std::map<std::string, std::string, std::less<>> m_values;
  mutable std::set<std::string, std::less<>> m_read;
};

/// Inputs a kind may read besides the options: an integer tensor (the cluster of every node
/// for "cluster", the fallback split for "ndp") and the padded size of a dense batch.
struct Extra {
  c10::optional<at::Tensor> index{};
  Index padded_size = 0;
};

struct PoolKind {
  std::vector<std::string> outputs;  ///< names of the op's outputs, in order
  std::function<std::vector<at::Tensor>(Config&, const GraphInput&, at::TensorList, const Extra&)> run;
  std::function<ParameterSpec(Config&)> parameters;
};

struct GraphLayerKind {
  std::function<at::Tensor(Config&, const GraphInput&, at::TensorList)> run;
  std::function<ParameterSpec(Config&)> parameters;
};

struct DenseKind {
  std::vector<std::string> outputs;
  std::function<std::vector<at::Tensor>(Config&, const at::Tensor& x, const at::Tensor& adj, const at::Tensor& s,
                                        const c10::optional<at::Tensor>& mask)>
      run;
};

struct Registry {
  std::map<std::string, PoolKind, std::less<>> pools;
  std::map<std::string, GraphLayerKind, std::less<>> layers;
  std::map<std::string, DenseKind, std::less<>> dense;
};

const Registry& registry();
void add_score_kinds(Registry& r);  // kinds_score.cpp
void add_soft_kinds(Registry& r);   // kinds_soft.cpp
void add_layer_kinds(Registry& r);  // kinds_layers.cpp

/// "gnnpool.pool(topk)": how an op names itself in errors.
inline std::string op_name(std::string_view op, std::string_view layer) {
  return std::string("gnnpool.") + std::string(op) + "(" + std::string(layer) + ")";
}

/// Builds the double version of a layer to read its parameters' names, PyG shapes and initial
/// values (gnnpool's registered initialisers, seeded from torch's global generator).
template <typename Make>
ParameterSpec parameter_spec(Make make) {
  ParameterSet<double> params;
  const auto layer = make(params);
  std::vector<Index> slots;
  layer.parameter_slots(slots);
  const auto seed = at::randint(int64_t(1) << 62, {1}, at::TensorOptions().dtype(at::kLong)).item<int64_t>();
  params.initialize(static_cast<std::uint64_t>(seed));
  ParameterSpec spec;
  for (const Index slot : slots) {
    const Matrix<double>& v = params[slot];
    spec.names.push_back(params.name(slot));
    at::Tensor t = at::empty(detail::torch_shape(params.name(slot), v.rows(), v.cols()), at::TensorOptions().dtype(at::kDouble));
    std::copy(v.data(), v.data() + v.size(), t.data_ptr<double>());
    spec.values.push_back(t);
  }
  return spec;
}

/// Runs `body.template operator()<Scalar>()` for the dtype of x (float or double).
template <typename Body>
auto dispatch(const at::Tensor& x, std::string_view op, Body&& body) {
  check_floating(x, x.dim() == 3 ? 3 : 2, op, "x");
  if (x.scalar_type() == at::kDouble) return body.template operator()<double>();
  return body.template operator()<float>();
}

/// Throws `invalid_argument`: `key` of `layer` has a value outside `expected`.
[[noreturn]] inline void unknown_value(std::string_view layer, std::string_view key, std::string_view value,
                                       std::string_view expected) {
  ::gnnpool::detail::raise<invalid_argument>(::gnnpool::detail::concat(
      layer, ": option ", key, " must be ", expected, ", got '", value, "'"));
}

/// Runs the pooler that `make(params)` builds (for the dtype of x) through the generic wrapper.
template <typename Make>
PoolResult run_pool(Config& c, const GraphInput& in, at::TensorList params, std::string_view op, Make make) {
  return dispatch(in.x, op, [&]<typename Scalar>() {
    ParameterSet<Scalar> ps;
    auto built = make(ps);
    c.finish();
    auto layer = std::make_shared<const decltype(built)>(std::move(built));
    return pool(std::move(layer), std::move(ps), in, params, op);
  });
}

/// A pooler kind: `Make{}.operator()<S>(params, config, extra)` builds its layer for any scalar
/// type, `Outputs{}(result, input, extra)` orders the outputs as PyG (names in `outputs`).
template <typename Make, typename Outputs>
PoolKind pool_kind(std::vector<std::string> outputs) {
  return PoolKind{
      std::move(outputs),
      [](Config& c, const GraphInput& in, at::TensorList params, const Extra& extra) {
        const std::string op = c.layer();  // "gnnpool.pool(<layer>)"
        PoolResult r = run_pool(c, in, params, op,
                                [&]<typename S>(ParameterSet<S>& ps) { return Make{}.template operator()<S>(ps, c, extra); });
        return Outputs{}(std::move(r), in, extra);
      },
      [](Config& c) {
        const Extra none;
        return parameter_spec([&](ParameterSet<double>& ps) {
          auto layer = Make{}.template operator()<double>(ps, c, none);
          c.finish();
          return layer;
        });
      }};
}

/// An undefined tensor (None in Python) unless `keep`.
inline at::Tensor keep_if(bool keep, at::Tensor t) { return keep ? std::move(t) : at::Tensor(); }

inline bool has_tensor(const c10::optional<at::Tensor>& t) { return t.has_value() && t->defined(); }

}  // namespace gnnpool::pyg::impl

#endif
