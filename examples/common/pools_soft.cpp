// record_pool for the soft poolers (a dense assignment S from an MLP or from LaPool's leaders) (see record_pool.hpp).

#include "record_pool.hpp"

GNNPOOL_EXAMPLES_RECORD_POOL(MinCutPool);
GNNPOOL_EXAMPLES_RECORD_POOL(DiffPool);
GNNPOOL_EXAMPLES_RECORD_POOL(DMoNPool);
GNNPOOL_EXAMPLES_RECORD_POOL(JustBalancePool);
GNNPOOL_EXAMPLES_RECORD_POOL(AsymCheegerCutPool);
GNNPOOL_EXAMPLES_RECORD_POOL(HOSCPool);
GNNPOOL_EXAMPLES_RECORD_POOL(LaPool);
GNNPOOL_EXAMPLES_RECORD_POOL(BNPool);
