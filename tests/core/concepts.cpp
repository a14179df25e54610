// Tests of gnnpool/core/concepts.hpp: the custom policies of test_policies.hpp satisfy the SRC
// concepts, and a policy that breaks one requirement (no Cache, a non-const forward, a wrong
// signature) does not, so that Pool<...> refuses it at compile time.

#include <gnnpool/core/concepts.hpp>
#include <gnnpool/gnnpool.hpp>
#include <gnnpool/pool/pool.hpp>

#include "pool/test_policies.hpp"

#include <catch2/catch.hpp>

// One namespace per test file: the files of an area may be compiled as one unity translation
// unit (CMAKE_UNITY_BUILD), where their helpers must not collide.
namespace gnnpool_test_core_concepts {

using gnnpool::Batch;
using gnnpool::BatchGrad;
using gnnpool::HardSelection;
using gnnpool::Matrix;
using gnnpool::ParameterSet;
using gnnpool::SoftSelection;
using gnnpool::SparseMatrix;
using gnnpool::Vector;

namespace broken {

/// ScaledGatherReduce without its `Cache`.
struct NoCacheReduce {
  using Scalar = double;
  void forward(const gnnpool::BatchRef<double>&, const HardSelection<double>&, Matrix<double>&, int&) const {}
  void backward(const gnnpool::BatchRef<double>&, const HardSelection<double>&, const int&, const Matrix<double>&,
                BatchGrad<double>&, Vector<double>&) const {}
};

/// A select whose forward is not const (it would keep state between calls).
struct MutableSelect {
  using Scalar = double;
  using Selection = HardSelection<double>;
  struct Cache {};
  void parameter_slots(std::vector<gnnpool::Index>&) const {}
  void forward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, Selection&, Cache&) {}
  void backward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, const Selection&, const Cache&,
                const Vector<double>&, BatchGrad<double>&, ParameterSet<double>&) const {}
};

/// A select that does not list its parameter slots.
struct UnlistedSelect {
  using Scalar = double;
  using Selection = HardSelection<double>;
  struct Cache {};
  void forward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, Selection&, Cache&) const {}
  void backward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, const Selection&, const Cache&,
                const Vector<double>&, BatchGrad<double>&, ParameterSet<double>&) const {}
};

/// A select without the `Selection` type.
struct NoSelectionSelect {
  using Scalar = double;
  struct Cache {};
  void parameter_slots(std::vector<gnnpool::Index>&) const {}
  void forward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, HardSelection<double>&, Cache&) const {}
};

/// A connect whose backward takes dL/dA' as a sparse matrix instead of one value per stored entry.
struct SparseGradConnect {
  using Scalar = double;
  struct Cache {};
  void forward(const gnnpool::BatchRef<double>&, const HardSelection<double>&, SparseMatrix<double>&, Cache&) const {}
  void backward(const gnnpool::BatchRef<double>&, const HardSelection<double>&, const Cache&, const SparseMatrix<double>&,
                BatchGrad<double>&, Vector<double>&) const {}
};

/// A loss without a name.
struct AnonymousLoss {
  using Scalar = double;
  struct Cache {};
  double weight() const { return 1; }
  double forward(const gnnpool::BatchRef<double>&, const HardSelection<double>&, Cache&) const { return 0; }
  void backward(const gnnpool::BatchRef<double>&, const HardSelection<double>&, const Cache&, double, BatchGrad<double>&,
                Vector<double>&) const {}
};

/// A readout and a lift that follow their contracts (the concepts accept them).
struct FirstNodeReadout {
  using Scalar = double;
  struct Cache {};
  static constexpr bool reads_adjacency = false;
  std::string_view name() const { return "FirstNodeReadout"; }
  void parameter_slots(std::vector<gnnpool::Index>&) const {}
  void forward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, Matrix<double>&, Cache&) const {}
  void backward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, const Cache&,
                const gnnpool::ConstMatrixRef<double>&, gnnpool::BatchGradRef<double>, ParameterSet<double>&) const {}
};

/// The same readout without the `Layer` part of the contract (no name, no parameter slots).
struct NamelessReadout {
  using Scalar = double;
  struct Cache {};
  static constexpr bool reads_adjacency = false;
  void forward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, Matrix<double>&, Cache&) const {}
  void backward(const ParameterSet<double>&, const gnnpool::BatchRef<double>&, const Cache&,
                const gnnpool::ConstMatrixRef<double>&, gnnpool::BatchGradRef<double>, ParameterSet<double>&) const {}
};
struct CopyLift {
  using Scalar = double;
  void forward(const HardSelection<double>&, const Matrix<double>&, Matrix<double>&) const {}
  void backward(const HardSelection<double>&, const Matrix<double>&, const Matrix<double>&, Matrix<double>&,
                Vector<double>&) const {}
};

}  // namespace broken

// The custom policies satisfy the contract, in both scalar types.
static_assert(gnnpool::SelectPolicy<example::EveryOtherSelect<double>>);
static_assert(gnnpool::SelectPolicy<example::EveryOtherSelect<float>>);
static_assert(gnnpool::ReducePolicy<example::ScaledGatherReduce<float>, HardSelection<float>>);
static_assert(gnnpool::ConnectPolicy<example::KeptEdgesConnect<float>, HardSelection<float>>);
static_assert(gnnpool::LossPolicy<example::EdgeAgreementLoss<float>, HardSelection<float>>);
static_assert(gnnpool::SelectPolicy<example::SoftmaxSelect<double>>);
static_assert(gnnpool::ReducePolicy<example::SoftSumReduce<double>, SoftSelection<double>>);
static_assert(gnnpool::ConnectPolicy<example::SoftQuadraticConnect<double>, SoftSelection<double>>);
static_assert(gnnpool::ReadoutPolicy<broken::FirstNodeReadout>);
static_assert(gnnpool::LiftPolicy<broken::CopyLift, HardSelection<double>>);

// A policy is tied to its selection form: a hard reduce is not a soft one.
static_assert(!gnnpool::ReducePolicy<example::ScaledGatherReduce<double>, SoftSelection<double>>);
static_assert(!gnnpool::ConnectPolicy<example::SoftQuadraticConnect<double>, HardSelection<double>>);

// Each broken requirement is caught.
static_assert(!gnnpool::ReducePolicy<broken::NoCacheReduce, HardSelection<double>>, "no Cache");
static_assert(!gnnpool::SelectPolicy<broken::MutableSelect>, "forward must be const");
static_assert(!gnnpool::SelectPolicy<broken::NoSelectionSelect>, "no Selection type");
static_assert(!gnnpool::SelectPolicy<broken::UnlistedSelect>, "no parameter_slots()");
static_assert(!gnnpool::ConnectPolicy<broken::SparseGradConnect, HardSelection<double>>, "dA' as a matrix");
static_assert(!gnnpool::LossPolicy<broken::AnonymousLoss, HardSelection<double>>, "no name()");
static_assert(!gnnpool::ReadoutPolicy<example::ScaledGatherReduce<double>>);
static_assert(!gnnpool::ReadoutPolicy<broken::NamelessReadout>, "a readout is a Layer: name() and parameter_slots()");

// Every layer of gnnpool satisfies one layer concept, so the model layer records it.
static_assert(gnnpool::FeatureLayer<gnnpool::Linear<double>> && gnnpool::FeatureLayer<gnnpool::MLP<float>>);
static_assert(gnnpool::GraphLayer<gnnpool::GCNConv<double>> && gnnpool::GraphLayer<gnnpool::GraphConv<float>>);
static_assert(gnnpool::ReadoutPolicy<gnnpool::MeanReadout<double>> && gnnpool::ReadoutPolicy<gnnpool::MaxReadout<double>> &&
              gnnpool::ReadoutPolicy<gnnpool::AttentionReadout<double>>);
static_assert(!gnnpool::ReadoutPolicy<gnnpool::GCNConv<double>>, "a convolution reads the adjacency");
static_assert(gnnpool::PoolLayer<gnnpool::TopKPool<double>> && gnnpool::PoolLayer<gnnpool::SAGPool<double>> &&
              gnnpool::PoolLayer<gnnpool::MinCutPool<double>> && gnnpool::PoolLayer<gnnpool::DiffPool<double>> &&
              gnnpool::PoolLayer<gnnpool::DMoNPool<double>> && gnnpool::PoolLayer<gnnpool::GraclusPool<double>> &&
              gnnpool::PoolLayer<gnnpool::NDPPool<double>> && gnnpool::PoolLayer<gnnpool::KMISPool<double>> &&
              gnnpool::PoolLayer<gnnpool::TopKAugmentedPool<float>>);
static_assert(gnnpool::MinCutPool<double>::adjacency_depends_on_selection &&
              !gnnpool::TopKPool<double>::adjacency_depends_on_selection &&
              !gnnpool::GraclusPool<double>::adjacency_depends_on_selection);

// Pool<...> itself refuses a composition with a broken policy (constraint, not a hard error).
template <typename S, typename R, typename C, typename... L>
concept Composable = requires { typename gnnpool::Pool<S, R, C, L...>; };

static_assert(Composable<example::EveryOtherSelect<double>, example::ScaledGatherReduce<double>,
                         example::KeptEdgesConnect<double>, example::EdgeAgreementLoss<double>>);
static_assert(Composable<example::SoftmaxSelect<double>, example::SoftSumReduce<double>,
                         example::SoftQuadraticConnect<double>>);
static_assert(!Composable<example::EveryOtherSelect<double>, broken::NoCacheReduce, example::KeptEdgesConnect<double>>);
static_assert(!Composable<broken::MutableSelect, example::ScaledGatherReduce<double>, example::KeptEdgesConnect<double>>);
static_assert(!Composable<example::EveryOtherSelect<double>, example::ScaledGatherReduce<double>,
                          example::KeptEdgesConnect<double>, broken::AnonymousLoss>);
static_assert(!Composable<example::SoftmaxSelect<double>, example::ScaledGatherReduce<double>,
                          example::KeptEdgesConnect<double>>, "hard reduce after a soft select");

TEST_CASE("the SRC concepts accept the custom policies and reject broken ones", "[pool][concepts]") {
  // Everything is decided at compile time (static_asserts above); this records that it ran.
  CHECK(gnnpool::SelectPolicy<example::EveryOtherSelect<double>>);
  CHECK_FALSE(gnnpool::ReducePolicy<broken::NoCacheReduce, HardSelection<double>>);
}

}  // namespace gnnpool_test_core_concepts
