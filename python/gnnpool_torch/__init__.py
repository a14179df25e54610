"""gnnpool's graph-pooling layers as PyTorch modules with PyTorch Geometric's interface.

The classes and functions here have PyG's names, constructor arguments, ``forward`` signatures,
outputs and parameter names, so a PyG model switches to gnnpool by changing an import::

    from torch_geometric.nn import TopKPooling, global_mean_pool   # before
    from gnnpool_torch import TopKPooling, global_mean_pool        # after

Every forward runs gnnpool's C++ layer and, under autograd, its hand-written backward pass
(``torch.ops.gnnpool.*``, registered by ``libgnnpool_torch.so``). Pure torch otherwise: PyG
is not needed. See docs/torch.md in the gnnpool repository.

The library is found through the environment variable ``GNNPOOL_TORCH_LIBRARY`` (its path),
next to this file, or where ``cmake --install`` put it.
"""

from ._ops import buffer_cache, library_path, load_library, structure_cache
from .nn import (
    AttentionalAggregation,
    AttentionSumReadout,
    DiffPool,
    DMoNPool,
    DMoNPooling,
    GatedAttentionReadout,
    GCNConv,
    GraphConv,
    KMISPooling,
    MinCutPool,
    NDPPooling,
    SAGPooling,
    TopKAugmentedPool,
    TopKPooling,
    avg_pool,
    avg_pool_x,
    dense_diff_pool,
    dense_dmon_pool,
    dense_mincut_pool,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
    graclus,
    max_pool,
    max_pool_x,
)
from .data import Batch, Data, DataLoader, read_tu, to_dense_adj, to_dense_batch

__all__ = [
    "AttentionalAggregation", "AttentionSumReadout", "Batch", "Data", "DataLoader", "DiffPool", "DMoNPool",
    "DMoNPooling", "GatedAttentionReadout", "GCNConv", "GraphConv", "KMISPooling", "MinCutPool", "NDPPooling",
    "SAGPooling", "TopKAugmentedPool", "TopKPooling", "avg_pool", "avg_pool_x", "buffer_cache", "dense_diff_pool",
    "dense_dmon_pool", "dense_mincut_pool", "global_add_pool", "global_max_pool", "global_mean_pool", "graclus",
    "library_path", "load_library", "max_pool", "max_pool_x", "read_tu", "structure_cache", "to_dense_adj", "to_dense_batch",
]
