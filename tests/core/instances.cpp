// The list of precompiled instantiations (gnnpool/instances.hpp) must name what the default
// poolers are made of: a pooler whose composition changes (another scorer, another loss) would
// otherwise silently fall out of the library and be compiled in every unit again.
#include <gnnpool/instances.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <typeindex>
#include <typeinfo>

namespace instances_test {

using namespace gnnpool;

template <typename Scalar>
std::set<std::type_index> listed() {
  std::set<std::type_index> types;
#define GNNPOOL_TEST_COLLECT(...) types.insert(typeid(__VA_ARGS__));
  GNNPOOL_INSTANCES(GNNPOOL_TEST_COLLECT, Scalar)
#undef GNNPOOL_TEST_COLLECT
  return types;
}

/// Whether the pooler P, its Pool base and every policy of that base are listed.
template <typename P, typename... Policies>
bool covers(const std::set<std::type_index>& types, const Pool<Policies...>*) {
  return types.count(typeid(P)) && types.count(typeid(Pool<Policies...>)) && (types.count(typeid(Policies)) && ...);
}
template <typename P>
bool covers(const std::set<std::type_index>& types) {
  return covers<P>(types, static_cast<const P*>(nullptr));
}

template <typename Scalar>
void check_poolers() {
  const std::set<std::type_index> types = listed<Scalar>();
  CHECK(covers<TopKPool<Scalar>>(types));
  CHECK(covers<TopKAugmentedPool<Scalar>>(types));
  CHECK(covers<SAGPool<Scalar>>(types));
  CHECK(covers<ASAPPool<Scalar>>(types));
  CHECK(covers<PANPool<Scalar>>(types));
  CHECK(covers<MaxCutPool<Scalar>>(types));
  CHECK(covers<EdgeContractionPool<Scalar>>(types));
  CHECK(covers<NoPool<Scalar>>(types));
  CHECK(covers<GraclusPool<Scalar>>(types));
  CHECK(covers<KMISPool<Scalar>>(types));
  CHECK(covers<NDPPool<Scalar>>(types));
  CHECK(covers<SEPPool<Scalar>>(types));
  CHECK(covers<MinCutPool<Scalar>>(types));
  CHECK(covers<DiffPool<Scalar>>(types));
  CHECK(covers<DMoNPool<Scalar>>(types));
  CHECK(covers<JustBalancePool<Scalar>>(types));
  CHECK(covers<AsymCheegerCutPool<Scalar>>(types));
  CHECK(covers<HOSCPool<Scalar>>(types));
  CHECK(covers<LaPool<Scalar>>(types));
  CHECK(covers<BNPool<Scalar>>(types));
  CHECK(covers<NMFPool<Scalar>>(types));
  CHECK(covers<EigenPool<Scalar>>(types));
  CHECK(types.count(typeid(MinCutPoolFunction<Scalar>)));
  CHECK(types.count(typeid(DiffPoolFunction<Scalar>)));
  CHECK(types.count(typeid(DMoNPoolFunction<Scalar>)));
  for (const std::type_info* t : {&typeid(Linear<Scalar>), &typeid(MLP<Scalar>), &typeid(GraphConv<Scalar>),
                                  &typeid(GCNConv<Scalar>), &typeid(LSTMCell<Scalar>), &typeid(SumReadout<Scalar>),
                                  &typeid(MeanReadout<Scalar>), &typeid(MaxReadout<Scalar>),
                                  &typeid(AttentionReadout<Scalar>), &typeid(AttentionSumReadout<Scalar>),
                                  &typeid(GatedAttentionReadout<Scalar>), &typeid(SortReadout<Scalar>),
                                  &typeid(Set2SetReadout<Scalar>)}) {
    INFO(t->name());
    CHECK(types.count(*t));
  }
}

}  // namespace instances_test

TEST_CASE("instances: the precompiled list covers every default pooler, layer and readout", "[core][instances]") {
  instances_test::check_poolers<float>();
  instances_test::check_poolers<double>();
}
