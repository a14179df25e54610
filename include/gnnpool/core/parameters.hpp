#ifndef GNNPOOL_CORE_PARAMETERS_HPP
#define GNNPOOL_CORE_PARAMETERS_HPP

/// \file
/// `ParameterSet`: the learnable tensors of a model, by name (PyG `state_dict` names).

#include <gnnpool/core/errors.hpp>
#include <gnnpool/core/types.hpp>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace gnnpool {

/// How `ParameterSet::initialize` fills a tensor.
enum class Init {
  zeros,
  ones,
  /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = `fan_in` given at registration: PyTorch's
  /// default for `Linear` weight and bias (kaiming_uniform with a = sqrt(5)).
  torch_linear,
  /// U(-a, a), a = sqrt(6 / (rows + cols)): PyG's `glorot`.
  glorot,
  /// `scale` on the diagonal and -`scale` off it (no randomness): tgp BN-Pool's initial cluster
  /// connectivity K = K_init (2 I - 1 1^T).
  signed_identity,
};

/// An ordered list of named dense tensors.
///
/// Layers do not own their parameters: each layer registers its tensors in a `ParameterSet`
/// when it is constructed (`add` returns a slot number the layer keeps) and reads them from the
/// set passed to `forward` / `backward`. A whole model is therefore one `ParameterSet`, its
/// gradient is another with the same layout (`zeros_like`), and `Adam` updates one from the
/// other. Names are PyG's, joined by '.' under the prefix given to the layer, so weights can be
/// set and read by name (`at("pool.select.weight")`).
template <typename Scalar_>
class ParameterSet {
 public:
  using Scalar = Scalar_;

  /// Registers a rows x cols tensor (zero-filled until `initialize`) and returns its slot.
  /// Throws `invalid_argument` when the name is already taken.
  Index add(std::string name, Index rows, Index cols, Init init = Init::zeros, Index fan_in = 0, double scale = 1) {
    GNNPOOL_CHECK(find(name) < 0, invalid_argument, "ParameterSet: the name '", name,
                  "' is registered twice");
    GNNPOOL_CHECK(rows >= 0 && cols >= 0, invalid_argument, "ParameterSet: '", name,
                  "' has the negative shape ", detail::shape(rows, cols));
    m_entries.push_back(Entry{std::move(name), Matrix<Scalar>::Zero(rows, cols), init, fan_in, scale});
    return size() - 1;
  }

  Index size() const { return static_cast<Index>(m_entries.size()); }
  const std::string& name(Index slot) const { return entry(slot).name; }
  Matrix<Scalar>& operator[](Index slot) { return entry(slot).value; }
  const Matrix<Scalar>& operator[](Index slot) const { return entry(slot).value; }

  /// Slot of `name`, or -1.
  Index find(std::string_view name) const {
    for (std::size_t i = 0; i < m_entries.size(); ++i)
      if (m_entries[i].name == name) return static_cast<Index>(i);
    return -1;
  }

  /// The tensor called `name`; throws `invalid_argument` listing the known names otherwise.
  Matrix<Scalar>& at(std::string_view name) { return m_entries[checked_find(name)].value; }
  const Matrix<Scalar>& at(std::string_view name) const { return m_entries[checked_find(name)].value; }

  /// Copies `value` into the tensor called `name`; the shapes must agree.
  template <typename Derived>
  void set(std::string_view name, const Eigen::MatrixBase<Derived>& value) {
    Matrix<Scalar>& p = at(name);
    GNNPOOL_CHECK(p.rows() == value.rows() && p.cols() == value.cols(), shape_error,
                  "ParameterSet: '", name, "' is ", detail::shape(p.rows(), p.cols()),
                  " but the value given is ", detail::shape(value.rows(), value.cols()));
    p = value.template cast<Scalar>();
  }

  /// Total number of scalars.
  Index num_scalars() const {
    Index n = 0;
    for (const auto& e : m_entries) n += e.value.size();
    return n;
  }

  /// Fills every tensor by its `Init` from a generator seeded with `seed`, in slot order.
  void initialize(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (auto& e : m_entries) {
      double bound = 0;
      switch (e.init) {
        case Init::zeros: e.value.setZero(); continue;
        case Init::ones: e.value.setOnes(); continue;
        case Init::signed_identity:
          e.value.setConstant(static_cast<Scalar>(-e.scale));
          e.value.diagonal().setConstant(static_cast<Scalar>(e.scale));
          continue;
        case Init::torch_linear:
          bound = e.fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(e.fan_in)) : 0.0;
          break;
        case Init::glorot:
          bound = std::sqrt(6.0 / static_cast<double>(e.value.rows() + e.value.cols()));
          break;
      }
      std::uniform_real_distribution<double> u(-bound, bound);
      for (Index i = 0; i < e.value.size(); ++i) e.value.data()[i] = static_cast<Scalar>(u(rng));
    }
  }

  /// A set with the same names and shapes, all zero: the gradient object of this set.
  ParameterSet zeros_like() const {
    ParameterSet g = *this;
    g.set_zero();
    return g;
  }

  void set_zero() {
    for (auto& e : m_entries) e.value.setZero();
  }

  /// Adds `other` tensor by tensor (sums gradients of threads or ranks); layouts must agree.
  ParameterSet& operator+=(const ParameterSet& other) {
    GNNPOOL_CHECK(same_layout(other), shape_error,
                  "ParameterSet: cannot add sets with different layouts (", size(), " and ",
                  other.size(), " tensors)");
    for (std::size_t i = 0; i < m_entries.size(); ++i) m_entries[i].value += other.m_entries[i].value;
    return *this;
  }

  bool same_layout(const ParameterSet& other) const {
    if (other.size() != size()) return false;
    for (std::size_t i = 0; i < m_entries.size(); ++i)
      if (m_entries[i].name != other.m_entries[i].name ||
          m_entries[i].value.rows() != other.m_entries[i].value.rows() ||
          m_entries[i].value.cols() != other.m_entries[i].value.cols())
        return false;
    return true;
  }

  /// Same names and shapes in another scalar type (float model from a double one, or back).
  template <typename Other>
  ParameterSet<Other> cast() const {
    ParameterSet<Other> out;
    for (const auto& e : m_entries) {
      const Index slot = out.add(e.name, e.value.rows(), e.value.cols(), e.init, e.fan_in);
      out[slot] = e.value.template cast<Other>();
    }
    return out;
  }

 private:
  struct Entry {
    std::string name;
    Matrix<Scalar> value;
    Init init;
    Index fan_in;
    double scale = 1;  ///< Init::signed_identity's value
  };

  Entry& entry(Index slot) {
    GNNPOOL_ASSERT(slot >= 0 && slot < size(), "parameter slot ", slot, " of ", size());
    return m_entries[static_cast<std::size_t>(slot)];
  }
  const Entry& entry(Index slot) const {
    GNNPOOL_ASSERT(slot >= 0 && slot < size(), "parameter slot ", slot, " of ", size());
    return m_entries[static_cast<std::size_t>(slot)];
  }

  std::size_t checked_find(std::string_view name) const {
    const Index i = find(name);
    if (i < 0) {
      std::string known;
      for (const auto& e : m_entries) known += (known.empty() ? "" : ", ") + e.name;
      detail::raise<invalid_argument>(
          detail::concat("ParameterSet: no parameter named '", name, "' (known: ",
                         known.empty() ? "none" : known, ")"));
    }
    return static_cast<std::size_t>(i);
  }

  std::vector<Entry> m_entries;
};

/// How a layer names itself in messages and in `name()`: "prefix (Type)", or "Type" when the
/// layer was built without a prefix.
inline std::string layer_label(std::string_view prefix, std::string_view type) {
  if (prefix.empty()) return std::string(type);
  std::string out(prefix);
  out += " (";
  out += type;
  out += ')';
  return out;
}

/// "prefix.name", or "name" when the prefix is empty.
inline std::string join_name(std::string_view prefix, std::string_view name) {
  std::string out(prefix);
  if (!out.empty()) out += '.';
  out += name;
  return out;
}

}  // namespace gnnpool

#endif
