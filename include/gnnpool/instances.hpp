#ifndef GNNPOOL_INSTANCES_HPP
#define GNNPOOL_INSTANCES_HPP

/// \file
/// Precompiled instantiations: every pooler, readout and graph layer of gnnpool in float and
/// double, compiled once into a library instead of once per translation unit. Optional, and only
/// worth it for unoptimised builds with many units (gnnpool's own test build: docs/getting-started.md).
///
/// Why: at -O0 most of a unit's compile time is the code generation of the class templates it
/// instantiates (a pooler's forward and backward pull in hundreds of Eigen expression functions),
/// and every unit that uses a pooler generates it again. With `GNNPOOL_PRECOMPILED_INSTANCES`
/// defined, this header declares the specialisations listed below `extern template`: a unit that
/// includes it (gnnpool's own targets force-include it: `-include gnnpool/instances.hpp`) emits no
/// code for their members and links the one copy of the instantiation library instead. A
/// tests/pool file compiled in 93 s under the sanitizers alone, 48 s with the declarations.
///
/// The library: units that `#define GNNPOOL_INSTANTIATE`, include this header, then instantiate,
/// e.g. `GNNPOOL_INSTANCES(GNNPOOL_INSTANCE_DEFINITION, float)`. gnnpool's CMake option
/// `GNNPOOL_PRECOMPILED_INSTANCES` generates one unit per group and scalar type, which declares the
/// other groups' classes with `GNNPOOL_INSTANCE_DECLARATION` first (cmake/gnnpoolDevFlags.cmake),
/// so that the units build in parallel and none generates another's classes. It must be compiled
/// with the flags of the units that use it (sanitizers, OpenMP). Its units are built with the
/// library's internal assertions on, so a unit compiled with them off (`NDEBUG` or
/// `GNNPOOL_NO_DEBUG`) gets no declarations and instantiates its own copies, as without the option.
///
/// What is listed: the classes a default-constructed pooler is made of (its `Pool` base, the
/// Select / Reduce / Connect policies and the losses, the scorer), the graph layers and the
/// readouts. A pooler with another scorer or policy instantiates the unlisted parts itself.
/// Members that are templates (and the model layer's function templates) are not covered.

#include <gnnpool/gnnpool.hpp>

/// The graph layers and the readouts.
#define GNNPOOL_INSTANCES_LAYERS(X, S)                                                                      \
  X(gnnpool::Linear<S>)                                                                                     \
  X(gnnpool::MLP<S>)                                                                                        \
  X(gnnpool::GraphConv<S>)                                                                                  \
  X(gnnpool::GCNConv<S>)                                                                                    \
  X(gnnpool::LSTMCell<S>)                                                                                   \
  X(gnnpool::detail::SegmentSumReadout<S, false>)                                                           \
  X(gnnpool::detail::SegmentSumReadout<S, true>)                                                            \
  X(gnnpool::SumReadout<S>)                                                                                 \
  X(gnnpool::MeanReadout<S>)                                                                                \
  X(gnnpool::MaxReadout<S>)                                                                                 \
  X(gnnpool::AttentionReadout<S>)                                                                           \
  X(gnnpool::AttentionSumReadout<S>)                                                                        \
  X(gnnpool::GatedAttentionReadout<S>)                                                                      \
  X(gnnpool::SortReadout<S>)                                                                                \
  X(gnnpool::Set2SetReadout<S>)

/// The score-based poolers: TopK (induced and augmented), SAG, ASAP, PAN, MaxCut.
#define GNNPOOL_INSTANCES_SCORE(X, S)                                                                       \
  X(gnnpool::TopKSelect<S>)                                                                                 \
  X(gnnpool::GatherReduce<S>)                                                                               \
  X(gnnpool::InducedConnect<S>)                                                                             \
  X(gnnpool::Pool<gnnpool::TopKSelect<S>, gnnpool::GatherReduce<S>, gnnpool::InducedConnect<S>>)           \
  X(gnnpool::TopKPool<S>)                                                                                   \
  X(gnnpool::AugmentedConnect<S>)                                                                           \
  X(gnnpool::Pool<gnnpool::TopKSelect<S>, gnnpool::GatherReduce<S>, gnnpool::AugmentedConnect<S>>)         \
  X(gnnpool::TopKAugmentedPool<S>)                                                                          \
  X(gnnpool::SAGSelect<S>)                                                                                  \
  X(gnnpool::Pool<gnnpool::SAGSelect<S>, gnnpool::GatherReduce<S>, gnnpool::InducedConnect<S>>)            \
  X(gnnpool::SAGPool<S>)                                                                                    \
  X(gnnpool::ASAPSelect<S>)                                                                                 \
  X(gnnpool::SparseReduce<S>)                                                                               \
  X(gnnpool::NormalizedConnect<gnnpool::RepresentativeConnect<gnnpool::InducedConnect<S>>>)                \
  X(gnnpool::Pool<gnnpool::ASAPSelect<S>, gnnpool::SparseReduce<S>,                                         \
                  gnnpool::NormalizedConnect<gnnpool::RepresentativeConnect<gnnpool::InducedConnect<S>>>>) \
  X(gnnpool::ASAPPool<S>)                                                                                   \
  X(gnnpool::PANSelect<S>)                                                                                  \
  X(gnnpool::Pool<gnnpool::PANSelect<S>, gnnpool::GatherReduce<S>, gnnpool::InducedConnect<S>>)            \
  X(gnnpool::PANPool<S>)                                                                                    \
  X(gnnpool::MaxCutSelect<S>)                                                                               \
  X(gnnpool::ClusterReduce<S>)                                                                              \
  X(gnnpool::NormalizedConnect<gnnpool::ClusterConnect<S>>)                                                 \
  X(gnnpool::MaxCutLoss<S>)                                                                                 \
  X(gnnpool::Pool<gnnpool::MaxCutSelect<S>, gnnpool::ClusterReduce<S>,                                      \
                  gnnpool::NormalizedConnect<gnnpool::ClusterConnect<S>>, gnnpool::MaxCutLoss<S>>)          \
  X(gnnpool::MaxCutPool<S>)

/// The clustering poolers: EdgeContraction, NoPool, Graclus, k-MIS, NDP, SEP.
#define GNNPOOL_INSTANCES_CLUSTER(X, S)                                                                     \
  X(gnnpool::EdgeContractionSelect<S>)                                                                      \
  X(gnnpool::ClusterConnect<S>)                                                                             \
  X(gnnpool::Pool<gnnpool::EdgeContractionSelect<S>, gnnpool::ClusterReduce<S>, gnnpool::ClusterConnect<S>>) \
  X(gnnpool::EdgeContractionPool<S>)                                                                        \
  X(gnnpool::IdentitySelect<S>)                                                                             \
  X(gnnpool::Pool<gnnpool::IdentitySelect<S>, gnnpool::GatherReduce<S>, gnnpool::InducedConnect<S>>)       \
  X(gnnpool::NoPool<S>)                                                                                     \
  X(gnnpool::GraclusSelect<S>)                                                                              \
  X(gnnpool::Pool<gnnpool::GraclusSelect<S>, gnnpool::ClusterReduce<S>, gnnpool::ClusterConnect<S>>)       \
  X(gnnpool::GraclusPool<S>)                                                                                \
  X(gnnpool::KMISSelect<S>)                                                                                 \
  X(gnnpool::Pool<gnnpool::KMISSelect<S>, gnnpool::ClusterReduce<S>, gnnpool::ClusterConnect<S>>)          \
  X(gnnpool::KMISPool<S>)                                                                                   \
  X(gnnpool::NDPSelect<S>)                                                                                  \
  X(gnnpool::KronConnect<S>)                                                                                \
  X(gnnpool::Pool<gnnpool::NDPSelect<S>, gnnpool::GatherReduce<S>, gnnpool::KronConnect<S>>)               \
  X(gnnpool::NDPPool<S>)                                                                                    \
  X(gnnpool::SEPSelect<S>)                                                                                  \
  X(gnnpool::Pool<gnnpool::SEPSelect<S>, gnnpool::ClusterReduce<S>, gnnpool::NormalizedConnect<gnnpool::ClusterConnect<S>>>) \
  X(gnnpool::SEPPool<S>)

/// The soft poolers with a learned assignment, and the functional forms of MinCut, DiffPool, DMoN.
#define GNNPOOL_INSTANCES_SOFT(X, S)                                                                        \
  X(gnnpool::SoftAssignSelect<gnnpool::MLP<S>>)                                                             \
  X(gnnpool::SoftReduce<S>)                                                                                 \
  X(gnnpool::SoftConnect<S>)                                                                                \
  X(gnnpool::MinCutLoss<S>)                                                                                 \
  X(gnnpool::OrthogonalityLoss<S>)                                                                          \
  X(gnnpool::Pool<gnnpool::SoftAssignSelect<gnnpool::MLP<S>>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, \
                  gnnpool::MinCutLoss<S>, gnnpool::OrthogonalityLoss<S>>)                                   \
  X(gnnpool::SoftPool<gnnpool::MinCutPoolSpec<S>, gnnpool::MLP<S>>)                                         \
  X(gnnpool::SoftAssignSelect<gnnpool::GCNConv<S>>)                                                         \
  X(gnnpool::LinkLoss<S>)                                                                                   \
  X(gnnpool::EntropyLoss<S>)                                                                                \
  X(gnnpool::Pool<gnnpool::SoftAssignSelect<gnnpool::GCNConv<S>>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, \
                  gnnpool::LinkLoss<S>, gnnpool::EntropyLoss<S>>)                                           \
  X(gnnpool::SoftPool<gnnpool::DiffPoolSpec<S>, gnnpool::GCNConv<S>>)                                       \
  X(gnnpool::ModularityLoss<S>)                                                                             \
  X(gnnpool::ClusterLoss<S>)                                                                                \
  X(gnnpool::Pool<gnnpool::SoftAssignSelect<gnnpool::MLP<S>>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, \
                  gnnpool::ModularityLoss<S>, gnnpool::OrthogonalityLoss<S>, gnnpool::ClusterLoss<S>>)      \
  X(gnnpool::SoftPool<gnnpool::DMoNPoolSpec<S>, gnnpool::MLP<S>>)                                           \
  X(gnnpool::JustBalanceLoss<S>)                                                                            \
  X(gnnpool::Pool<gnnpool::SoftAssignSelect<gnnpool::MLP<S>>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, \
                  gnnpool::JustBalanceLoss<S>>)                                                             \
  X(gnnpool::SoftPool<gnnpool::JustBalancePoolSpec<S>, gnnpool::MLP<S>>)                                    \
  X(gnnpool::TotalVariationLoss<S>)                                                                         \
  X(gnnpool::AsymmetricNormLoss<S>)                                                                         \
  X(gnnpool::Pool<gnnpool::SoftAssignSelect<gnnpool::MLP<S>>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, \
                  gnnpool::TotalVariationLoss<S>, gnnpool::AsymmetricNormLoss<S>>)                          \
  X(gnnpool::SoftPool<gnnpool::AsymCheegerCutPoolSpec<S>, gnnpool::MLP<S>>)                                 \
  X(gnnpool::HigherOrderCutLoss<S>)                                                                         \
  X(gnnpool::Pool<gnnpool::SoftAssignSelect<gnnpool::MLP<S>>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, \
                  gnnpool::HigherOrderCutLoss<S>, gnnpool::OrthogonalityLoss<S>>)                           \
  X(gnnpool::SoftPool<gnnpool::HOSCPoolSpec<S>, gnnpool::MLP<S>>)                                           \
  X(gnnpool::LaPoolSelect<S>)                                                                               \
  X(gnnpool::Pool<gnnpool::LaPoolSelect<S>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>>)              \
  X(gnnpool::LaPool<S>)                                                                                     \
  X(gnnpool::SoftPoolFunction<gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, gnnpool::MinCutLoss<S>,      \
                              gnnpool::OrthogonalityLoss<S>>)                                               \
  X(gnnpool::SoftPoolFunction<gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, gnnpool::LinkLoss<S>,        \
                              gnnpool::EntropyLoss<S>>)                                                     \
  X(gnnpool::SoftPoolFunction<gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, gnnpool::ModularityLoss<S>,  \
                              gnnpool::OrthogonalityLoss<S>, gnnpool::ClusterLoss<S>>)

/// The dense per-graph poolers: BN-Pool, NMF, EigenPool.
#define GNNPOOL_INSTANCES_DENSE(X, S)                                                                       \
  X(gnnpool::StickBreakingSelect<gnnpool::MLP<S>>)                                                          \
  X(gnnpool::EdgeReconstructionLoss<S>)                                                                     \
  X(gnnpool::StickBreakingKLLoss<S>)                                                                        \
  X(gnnpool::ConnectivityPriorLoss<S>)                                                                      \
  X(gnnpool::Pool<gnnpool::StickBreakingSelect<gnnpool::MLP<S>>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>, \
                  gnnpool::EdgeReconstructionLoss<S>, gnnpool::StickBreakingKLLoss<S>,                      \
                  gnnpool::ConnectivityPriorLoss<S>>)                                                       \
  X(gnnpool::BNPool<S>)                                                                                     \
  X(gnnpool::NMFSelect<S>)                                                                                  \
  X(gnnpool::Pool<gnnpool::NMFSelect<S>, gnnpool::SoftReduce<S>, gnnpool::SoftConnect<S>>)                 \
  X(gnnpool::NMFPool<S>)                                                                                    \
  X(gnnpool::EigenSelect<S>)                                                                                \
  X(gnnpool::EigenReduce<S>)                                                                                \
  X(gnnpool::Pool<gnnpool::EigenSelect<S>, gnnpool::EigenReduce<S>, gnnpool::SoftConnect<S>>)              \
  X(gnnpool::EigenPool<S>)

/// Every group.
#define GNNPOOL_INSTANCES(X, S) \
  GNNPOOL_INSTANCES_LAYERS(X, S) \
  GNNPOOL_INSTANCES_SCORE(X, S)  \
  GNNPOOL_INSTANCES_CLUSTER(X, S) \
  GNNPOOL_INSTANCES_SOFT(X, S)   \
  GNNPOOL_INSTANCES_DENSE(X, S)

/// X for the library's units: an explicit instantiation definition.
#define GNNPOOL_INSTANCE_DEFINITION(...) template class __VA_ARGS__;
/// X for the units that use the library: an explicit instantiation declaration.
#define GNNPOOL_INSTANCE_DECLARATION(...) extern template class __VA_ARGS__;

#if defined(GNNPOOL_PRECOMPILED_INSTANCES) && !defined(GNNPOOL_INSTANTIATE) && !defined(NDEBUG) && \
    !defined(GNNPOOL_NO_DEBUG)
GNNPOOL_INSTANCES(GNNPOOL_INSTANCE_DECLARATION, float)
GNNPOOL_INSTANCES(GNNPOOL_INSTANCE_DECLARATION, double)
#endif

#endif
