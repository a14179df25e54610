// record_pool for the clustering and non-trainable poolers (see record_pool.hpp).

#include "record_pool.hpp"

GNNPOOL_EXAMPLES_RECORD_POOL(GraclusPool);
GNNPOOL_EXAMPLES_RECORD_POOL(NDPPool);
GNNPOOL_EXAMPLES_RECORD_POOL(KMISPool);
GNNPOOL_EXAMPLES_RECORD_POOL(SEPPool);
GNNPOOL_EXAMPLES_RECORD_POOL(EdgeContractionPool);
GNNPOOL_EXAMPLES_RECORD_POOL(NoPool);
