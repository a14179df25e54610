"""PyG-compatible modules and functions over gnnpool's ops.

Each class or function has the name, arguments, forward signature and outputs of its PyTorch
Geometric counterpart (gnnpool-only layers have gnnpool's names). Parameters are registered
under PyG's state_dict names and initialised by gnnpool's initialisers from torch's global
generator. Tensors: CPU, contiguous, float32 or float64 features (parameters of the same dtype:
``module.double()``), int64 indices.
"""

import torch

from ._ops import config, ops
from .data import Data

# ---------------------------------------------------------------------------------------------
# The base of every layer with parameters
# ---------------------------------------------------------------------------------------------


def _layer_parameters(layer, cfg):
    names, values = ops().layer_parameters(layer, cfg)
    return list(names), list(values)


class _Layer(torch.nn.Module):
    """Holds the parameters of one gnnpool layer under their PyG names (dotted names become
    nested modules) and passes them to the ops in the order the layer takes them."""

    def __init__(self, layer, create=True, **options):
        super().__init__()
        self._gnnpool_layer = layer
        self._gnnpool_config = config(**options)
        names, values = _layer_parameters(layer, self._gnnpool_config)
        self._gnnpool_names = names
        if create:
            dtype = torch.get_default_dtype()
            for name, value in zip(names, values):
                self._add_parameter(name, torch.nn.Parameter(value.to(dtype)))

    def _add_parameter(self, dotted, parameter):
        module = self
        *path, last = dotted.split(".")
        for part in path:
            child = module._modules.get(part)
            if child is None:
                child = torch.nn.Module()
                module.add_module(part, child)
            module = child
        module.register_parameter(last, parameter)

    def _parameters_in_order(self):
        return [self.get_parameter(name) for name in self._gnnpool_names]

    def reset_parameters(self):
        """New initial values (gnnpool's initialisers, torch's global generator)."""
        _, values = _layer_parameters(self._gnnpool_layer, self._gnnpool_config)
        with torch.no_grad():
            for p, v in zip(self._parameters_in_order(), values):
                p.copy_(v)

    def _pool(self, x, edge_index, edge_weight, batch, index=None):
        return ops().pool(self._gnnpool_layer, self._gnnpool_config, x, edge_index, edge_weight, batch, None,
                          self._parameters_in_order(), index)

    def _graph_layer(self, x, edge_index=None, edge_weight=None, batch=None, size=None):
        return ops().graph_layer(self._gnnpool_layer, self._gnnpool_config, x, edge_index, edge_weight, batch, size,
                                 self._parameters_in_order())

    def extra_repr(self):
        return self._gnnpool_config.replace(";", ", ")


def _activation_name(nonlinearity):
    if isinstance(nonlinearity, str):
        return nonlinearity
    for name in ("tanh", "sigmoid"):
        if nonlinearity in (getattr(torch, name), getattr(torch.nn.functional, name, None)):
            return name
    raise ValueError("gnnpool_torch: the score nonlinearity must be 'tanh' or 'sigmoid', got %r" % (nonlinearity,))


def _no_attn(attn, name):
    if attn is not None:
        raise NotImplementedError("gnnpool_torch.%s: scoring a separate `attn` tensor is not supported; "
                                  "pass the features to score as x" % name)


# ---------------------------------------------------------------------------------------------
# Score-based poolers
# ---------------------------------------------------------------------------------------------


class TopKPooling(_Layer):
    """PyG's ``TopKPooling``: forward -> (x, edge_index, edge_attr, batch, perm, score)."""

    def __init__(self, in_channels, ratio=0.5, min_score=None, multiplier=1.0, nonlinearity="tanh"):
        super().__init__(self._layer_name, in_channels=int(in_channels), ratio=ratio, min_score=min_score,
                         multiplier=float(multiplier), nonlinearity=_activation_name(nonlinearity))
        self.in_channels, self.ratio, self.min_score, self.multiplier = in_channels, ratio, min_score, multiplier

    _layer_name = "topk"

    def forward(self, x, edge_index, edge_attr=None, batch=None, attn=None):
        _no_attn(attn, type(self).__name__)
        return tuple(self._pool(x, edge_index, edge_attr, batch))


class TopKAugmentedPool(TopKPooling):
    """gnnpool's ``TopKAugmentedPool``: TopK on Graph U-Net's augmented graph (A + I)^2."""

    _layer_name = "topk_augmented"


class SAGPooling(_Layer):
    """PyG's ``SAGPooling`` (GNN = GraphConv or GCNConv): forward -> (x, edge_index, edge_attr,
    batch, perm, score). The scoring GNN reads edge_index only, as PyG's."""

    def __init__(self, in_channels, ratio=0.5, GNN=None, min_score=None, multiplier=1.0, nonlinearity="tanh",
                 **kwargs):
        if kwargs:
            raise NotImplementedError("gnnpool_torch.SAGPooling: GNN arguments %s are not supported" % sorted(kwargs))
        gnn = "GraphConv" if GNN is None else (GNN if isinstance(GNN, str) else GNN.__name__)
        super().__init__("sag", in_channels=int(in_channels), ratio=ratio, gnn=gnn, min_score=min_score,
                         multiplier=float(multiplier), nonlinearity=_activation_name(nonlinearity))
        self.in_channels, self.ratio, self.min_score, self.multiplier = in_channels, ratio, min_score, multiplier

    def forward(self, x, edge_index, edge_attr=None, batch=None, attn=None):
        _no_attn(attn, "SAGPooling")
        return tuple(self._pool(x, edge_index, edge_attr, batch))


class KMISPooling(_Layer):
    """``KMISPooling`` of PyG pull request #6488: forward -> (x, edge_index, edge_attr, batch,
    mis, cluster). edge_attr has the dtype of x (the pull request's is float32)."""

    def __init__(self, in_channels=None, k=1, scorer="linear", score_heuristic="greedy", score_passthrough="before",
                 aggr_x=None, aggr_edge="sum", remove_self_loops=True):
        for name, value in (("scorer", scorer), ("aggr_x", aggr_x), ("aggr_edge", aggr_edge)):
            if value is not None and not isinstance(value, str):
                raise NotImplementedError("gnnpool_torch.KMISPooling: %s must be a name, got %r" % (name, value))
        options = dict(k=int(k), scorer=scorer, score_heuristic=score_heuristic, score_passthrough=score_passthrough,
                       aggr_x=aggr_x, aggr_edge=aggr_edge, remove_self_loops=bool(remove_self_loops))
        if in_channels is not None:
            options["in_channels"] = int(in_channels)
        elif scorer == "linear":
            raise ValueError("gnnpool_torch.KMISPooling: the linear scorer needs in_channels")
        super().__init__("kmis", **options)
        self.in_channels, self.k = in_channels, k

    def forward(self, x, edge_index, edge_attr=None, batch=None):
        return tuple(self._pool(x, edge_index, edge_attr, batch))


class NDPPooling(_Layer):
    """Node Decimation Pooling (torch-geometric-pool's ``NDPPooling``): forward(x, edge_index,
    edge_weight, batch, fallback_partition) -> (x, edge_index, edge_weight, batch, perm).
    No parameters; not differentiable in the edge weights."""

    def __init__(self, sparse_threshold=1e-2, cut_threshold=0.5, seed=0, random_split="tgp"):
        super().__init__("ndp", sparse_threshold=float(sparse_threshold), cut_threshold=float(cut_threshold),
                         seed=int(seed), random_split=random_split)

    def forward(self, x, edge_index, edge_weight=None, batch=None, fallback_partition=None):
        return tuple(self._pool(x, edge_index, edge_weight, batch, fallback_partition))


# ---------------------------------------------------------------------------------------------
# Soft poolers on the unpadded batch (gnnpool's own form)
# ---------------------------------------------------------------------------------------------


class _SoftPool(_Layer):
    def __init__(self, layer, in_channels, k, hidden=(), temperature=1.0):
        options = dict(in_channels=int(in_channels), k=int(k), temperature=float(temperature))
        if layer != "diffpool":
            options["hidden"] = list(hidden)
        super().__init__(layer, **options)
        self.in_channels, self.k = in_channels, k

    def forward(self, x, edge_index, edge_weight=None, batch=None):
        """-> (x [B K, F], edge_index, edge_weight, batch, s [N, K], *losses)."""
        return tuple(self._pool(x, edge_index, edge_weight, batch))


class MinCutPool(_SoftPool):
    """gnnpool's ``MinCutPool`` on the unpadded batch (MLP scorer ``mlp.lins.*``): forward ->
    (x, edge_index, edge_weight, batch, s, mincut_loss, ortho_loss)."""

    def __init__(self, in_channels, k, hidden=(), temperature=1.0):
        super().__init__("mincut", in_channels, k, hidden, temperature)


class DiffPool(_SoftPool):
    """gnnpool's ``DiffPool`` on the unpadded batch (GCN scorer ``gnn.*``): forward -> (x,
    edge_index, edge_weight, batch, s, link_loss, ent_loss)."""

    def __init__(self, in_channels, k, temperature=1.0):
        super().__init__("diffpool", in_channels, k, (), temperature)


class DMoNPool(_SoftPool):
    """gnnpool's ``DMoNPool`` on the unpadded batch (MLP scorer ``mlp.lins.*``): forward -> (x,
    edge_index, edge_weight, batch, s, spectral_loss, ortho_loss, cluster_loss)."""

    def __init__(self, in_channels, k, hidden=(), temperature=1.0):
        super().__init__("dmon", in_channels, k, hidden, temperature)


# ---------------------------------------------------------------------------------------------
# Soft poolers on PyG's padded dense batch
# ---------------------------------------------------------------------------------------------


def dense_mincut_pool(x, adj, s, mask=None, temp=1.0):
    """PyG's ``dense_mincut_pool``: -> (out, out_adj, mincut_loss, ortho_loss)."""
    out, out_adj, _, mincut, ortho = ops().dense_pool("mincut", config(temperature=float(temp)), x, adj, s, mask)
    return out, out_adj, mincut, ortho


def dense_diff_pool(x, adj, s, mask=None, normalize=True):
    """PyG's ``dense_diff_pool``: -> (out, out_adj, link_loss, ent_loss)."""
    out, out_adj, _, link, ent = ops().dense_pool("diffpool", config(normalize=bool(normalize)), x, adj, s, mask)
    return out, out_adj, link, ent


def dense_dmon_pool(x, adj, s, mask=None):
    """DMoN on given logits s (the pooling of PyG's ``DMoNPooling``): -> (s, out, out_adj,
    spectral_loss, ortho_loss, cluster_loss), s = softmax(logits) with padded rows 0."""
    out, out_adj, s, spectral, ortho, cluster = ops().dense_pool("dmon", "", x, adj, s, mask)
    return s, out, out_adj, spectral, ortho, cluster


class _MLP(torch.nn.Module):
    """PyG's ``MLP(channels, act=None, norm=None)`` as DMoNPooling uses it: Linear layers only."""

    def __init__(self, channels):
        super().__init__()
        self.lins = torch.nn.ModuleList(torch.nn.Linear(a, b) for a, b in zip(channels[:-1], channels[1:]))

    def forward(self, x):
        for lin in self.lins:
            x = lin(x)
        return x


class DMoNPooling(torch.nn.Module):
    """PyG's ``DMoNPooling(channels, k, dropout=0.0)``: forward(x, adj, mask) -> (s, out,
    out_adj, spectral_loss, ortho_loss, cluster_loss). The MLP is torch's; the pooling, its
    losses and their backward are gnnpool's."""

    def __init__(self, channels, k, dropout=0.0):
        super().__init__()
        channels = [channels] if isinstance(channels, int) else list(channels)
        self.k, self.dropout = k, dropout
        self.mlp = _MLP(channels + [k])

    def reset_parameters(self):
        for lin in self.mlp.lins:
            lin.reset_parameters()

    def forward(self, x, adj, mask=None):
        s = self.mlp(x)
        s = torch.nn.functional.dropout(s, self.dropout, training=self.training)
        return dense_dmon_pool(x, adj, s, mask)


# ---------------------------------------------------------------------------------------------
# Graclus and the pools on a clustering
# ---------------------------------------------------------------------------------------------


def graclus(edge_index, weight=None, num_nodes=None):
    """PyG's ``graclus``: the cluster id of every node (visiting order torch.randperm(N), drawn
    from torch's global generator as PyG 2.8's CPU kernel does). Undirected graphs only."""
    return ops().graclus(edge_index, weight, num_nodes, None)


def _cluster_pool(aggr, cluster, data, transform):
    if getattr(data, "pos", None) is not None:
        raise NotImplementedError("gnnpool_torch: pooling node positions (data.pos) is not supported")
    x, edge_index, edge_attr, batch = ops().pool("cluster", config(aggr=aggr), data.x, data.edge_index,
                                                 getattr(data, "edge_attr", None), getattr(data, "batch", None),
                                                 None, [], cluster)
    out = Data(x=x, edge_index=edge_index, edge_attr=edge_attr, batch=batch)
    return transform(out) if transform is not None else out


def max_pool(cluster, data, transform=None):
    """PyG's ``max_pool(cluster, data)``: a Data with the pooled x, edge_index, edge_attr, batch."""
    return _cluster_pool("max", cluster, data, transform)


def avg_pool(cluster, data, transform=None):
    """PyG's ``avg_pool(cluster, data)``."""
    return _cluster_pool("mean", cluster, data, transform)


def _cluster_pool_x(aggr, cluster, x, batch, size):
    if size is not None:
        raise NotImplementedError("gnnpool_torch: max_pool_x / avg_pool_x with size are not supported")
    edges = torch.empty(2, 0, dtype=torch.long)
    x, _, _, batch = ops().pool("cluster", config(aggr=aggr), x, edges, None, batch, None, [], cluster)
    return x, batch


def max_pool_x(cluster, x, batch, size=None):
    """PyG's ``max_pool_x(cluster, x, batch)``: -> (x, batch)."""
    return _cluster_pool_x("max", cluster, x, batch, size)


def avg_pool_x(cluster, x, batch, size=None):
    """PyG's ``avg_pool_x(cluster, x, batch)``: -> (x, batch)."""
    return _cluster_pool_x("mean", cluster, x, batch, size)


# ---------------------------------------------------------------------------------------------
# Readouts
# ---------------------------------------------------------------------------------------------


def global_add_pool(x, batch=None, size=None):
    """PyG's ``global_add_pool``: [B, F]."""
    return ops().graph_layer("sum", "", x, None, None, batch, size, [])


def global_mean_pool(x, batch=None, size=None):
    """PyG's ``global_mean_pool``: [B, F]."""
    return ops().graph_layer("mean", "", x, None, None, batch, size, [])


def global_max_pool(x, batch=None, size=None):
    """PyG's ``global_max_pool``: [B, F] (gradient split evenly among tied maxima, as PyG on CPU)."""
    return ops().graph_layer("max", "", x, None, None, batch, size, [])


class AttentionalAggregation(_Layer):
    """PyG's ``AttentionalAggregation(gate_nn, nn=None)`` with ``gate_nn = Linear(F, 1)`` and
    ``nn = None`` or ``Linear(F, F')`` (the modules given are used: their parameters are
    ``gate_nn.*`` and ``nn.*``). forward(x, index=None, ptr=None, dim_size=None) -> [B, F']."""

    def __init__(self, gate_nn, nn=None):
        if not isinstance(gate_nn, torch.nn.Linear) or gate_nn.out_features != 1 or gate_nn.bias is None:
            raise NotImplementedError("gnnpool_torch.AttentionalAggregation: gate_nn must be a torch.nn.Linear(F, 1) "
                                      "with bias, got %r" % (gate_nn,))
        if nn is not None and (not isinstance(nn, torch.nn.Linear) or nn.bias is None
                               or nn.in_features != gate_nn.in_features):
            raise NotImplementedError("gnnpool_torch.AttentionalAggregation: nn must be None or a torch.nn.Linear(F, F') "
                                      "with bias, got %r" % (nn,))
        options = dict(in_channels=gate_nn.in_features)
        if nn is not None:
            options["nn_out_channels"] = nn.out_features
        super().__init__("attention", create=False, **options)
        self.gate_nn = gate_nn
        self.nn = nn

    def reset_parameters(self):
        self.gate_nn.reset_parameters()
        if self.nn is not None:
            self.nn.reset_parameters()

    def forward(self, x, index=None, ptr=None, dim_size=None, dim=-2):
        if ptr is not None or dim not in (-2, 0):
            raise NotImplementedError("gnnpool_torch.AttentionalAggregation: only index (PyG's batch) is supported")
        return self._graph_layer(x, batch=index, size=dim_size)


class GatedAttentionReadout(_Layer):
    """Spektral's ``GlobalAttentionPool(channels)`` (gnnpool's ``GatedAttentionReadout``)."""

    def __init__(self, in_channels, channels):
        super().__init__("gated_attention", in_channels=int(in_channels), channels=int(channels))

    def forward(self, x, batch=None, size=None):
        return self._graph_layer(x, batch=batch, size=size)


class AttentionSumReadout(_Layer):
    """Spektral's ``GlobalAttnSumPool`` (gnnpool's ``AttentionSumReadout``)."""

    def __init__(self, in_channels):
        super().__init__("attention_sum", in_channels=int(in_channels))

    def forward(self, x, batch=None, size=None):
        return self._graph_layer(x, batch=batch, size=size)


# ---------------------------------------------------------------------------------------------
# Graph convolutions
# ---------------------------------------------------------------------------------------------


class GCNConv(_Layer):
    """PyG's ``GCNConv(in_channels, out_channels, improved=False, cached=False,
    add_self_loops=True, normalize=True, bias=True)``: forward(x, edge_index, edge_weight)."""

    def __init__(self, in_channels, out_channels, improved=False, cached=False, add_self_loops=True, normalize=True,
                 bias=True):
        if improved:
            raise NotImplementedError("gnnpool_torch.GCNConv: improved=True is not supported")
        super().__init__("gcn", in_channels=int(in_channels), out_channels=int(out_channels),
                         add_self_loops=bool(add_self_loops), normalize=bool(normalize), bias=bool(bias))
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x, edge_index, edge_weight=None):
        return self._graph_layer(x, edge_index, edge_weight)


class GraphConv(_Layer):
    """PyG's ``GraphConv(in_channels, out_channels, aggr='add', bias=True)``."""

    def __init__(self, in_channels, out_channels, aggr="add", bias=True):
        super().__init__("graph_conv", in_channels=int(in_channels), out_channels=int(out_channels), aggr=aggr,
                         bias=bool(bias))
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x, edge_index, edge_weight=None):
        return self._graph_layer(x, edge_index, edge_weight)
