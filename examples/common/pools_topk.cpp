// record_pool for the score-based top-k poolers (see record_pool.hpp).

#include "record_pool.hpp"

GNNPOOL_EXAMPLES_RECORD_POOL(TopKPool);
GNNPOOL_EXAMPLES_RECORD_POOL(SAGPool);
GNNPOOL_EXAMPLES_RECORD_POOL(PANPool);
GNNPOOL_EXAMPLES_RECORD_POOL(ASAPPool);
GNNPOOL_EXAMPLES_RECORD_POOL(MaxCutPool);
