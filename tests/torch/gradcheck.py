"""Finite-difference checks of every op of the PyTorch bridge through torch's autograd.

torch.autograd.gradcheck perturbs each input that carries gradient (x, the edge weights or the
dense adjacency, the logits, every parameter) by central differences in float64 and compares
with the gradients torch's autograd computes, which for these ops are gnnpool's hand-written
backward passes. Every differentiable output is checked at once (the pooled x and edge weights,
scores, assignments and auxiliary losses). Graphs are small random batches of three graphs
with generic values. A discrete choice (kept set, maximum, matching) that lies within the
perturbation of a tie makes the function jump there, which no gradient can match: as gnnpool's
own checks do, a failed check is repeated on other random draws (inputs and parameters), up to
three attempts; a wrong backward fails all of them.

Usage: gradcheck.py   (exit status 1 when a check fails)
"""

import sys

import torch

import gnnpool_torch as gp
from gnnpool_torch._ops import config

torch.set_default_dtype(torch.float64)


def random_batch(sizes=(5, 8, 7), features=4, p=0.45, seed=0):
    """Undirected random graphs (every graph connected through a path), symmetric positive
    weights, both directions listed. No two nodes have the same closed neighbourhood: such twins
    get exactly equal GCN scores (a structural tie, whatever x is)."""
    g = torch.Generator().manual_seed(seed)
    edges, offset = [], 0
    for n in sizes:
        while True:
            local = [(i, j) for i in range(n) for j in range(i + 1, n) if j == i + 1 or torch.rand(1, generator=g).item() < p]
            closed = [frozenset([i] + [b for a, b in local if a == i] + [a for a, b in local if b == i]) for i in range(n)]
            if len(set(closed)) == n:
                break
        edges += [(offset + i, offset + j) for i, j in local]
        offset += n
    src = torch.tensor([e[0] for e in edges] + [e[1] for e in edges])
    dst = torch.tensor([e[1] for e in edges] + [e[0] for e in edges])
    w = torch.rand(len(edges), generator=g) + 0.5
    x = torch.randn(offset, features, generator=g)
    batch = torch.cat([torch.full((n,), b, dtype=torch.long) for b, n in enumerate(sizes)])
    return x, torch.stack([src, dst]), torch.cat([w, w]), batch


def parameters(layer, cfg):
    names, values = gp._ops.ops().layer_parameters(layer, cfg)
    return list(names), [v.clone().requires_grad_() for v in values]


def floating(outputs):
    return tuple(o for o in outputs if o is not None and o.is_floating_point())


FAILED = []
ATTEMPTS = 3


def check(name, make):
    """`make(seed)` returns (function, inputs) drawn with `seed`."""
    errors = []
    for attempt in range(ATTEMPTS):
        torch.manual_seed(attempt)
        fn, inputs = make(attempt)
        try:
            torch.autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, raise_exception=True)
            break
        except Exception as e:  # report and try the next draw
            errors.append(str(e).splitlines()[0] if str(e) else type(e).__name__)
    ok = len(errors) < ATTEMPTS
    n = sum(t.numel() for t in inputs if torch.is_tensor(t) and t.requires_grad)
    note = "" if not errors else " after %d draw(s) near a tie" % len(errors) if ok else ": " + errors[-1]
    print("%-34s %s (%d inputs perturbed)%s" % (name, "ok" if ok else "FAILED", n, note))
    if not ok:
        FAILED.append(name)


def pool_case(name, layer, weighted=True, cluster=None, **options):
    """`weighted`: perturb the edge weights too. `cluster`: the clustering pool ("max", "mean")."""
    def make(seed):
        x, ei, w, batch = random_batch(seed=seed)
        cfg = config(in_channels=x.size(1), **options) if layer != "cluster" else config(aggr=cluster)
        index = gp.graclus(ei, w, x.size(0)) if layer == "cluster" else None
        _, params = parameters(layer, cfg)

        def fn(x, w, *ps):
            return floating(gp._ops.ops().pool(layer, cfg, x, ei, w, batch, None, list(ps), index))

        return fn, (x.requires_grad_(), w.requires_grad_(weighted), *params)

    check(name, make)


def layer_case(name, layer, adjacency=False, **options):
    def make(seed):
        x, ei, w, batch = random_batch(seed=seed)
        cfg = config(**options)
        _, params = parameters(layer, cfg)

        def fn(x, w, *ps):
            if adjacency:
                return gp._ops.ops().graph_layer(layer, cfg, x, ei, w, None, None, list(ps))
            return gp._ops.ops().graph_layer(layer, cfg, x, None, None, batch, None, list(ps))

        return fn, (x.requires_grad_(), w.requires_grad_(adjacency), *params)

    check(name, make)


def dense_inputs(seed):
    """A padded batch; the adjacency as the values of its (valid, valid) pairs, since gnnpool
    rejects weights on padded pairs (which a perturbation of the whole tensor would make)."""
    x, ei, w, batch = random_batch(seed=seed)
    xd, mask = gp.to_dense_batch(x, batch)
    adj = gp.to_dense_adj(ei, batch, w)
    pairs = mask.unsqueeze(2) & mask.unsqueeze(1)

    def dense(values):
        return torch.zeros_like(adj).masked_scatter(pairs, values)

    return xd, mask, adj[pairs], dense


def dense_case(name, function, **options):
    def make(seed):
        xd, mask, values, dense = dense_inputs(seed)
        s = torch.randn(xd.size(0), xd.size(1), 3)
        cfg = config(**options)

        def fn(xd, values, s):
            return floating(gp._ops.ops().dense_pool(function, cfg, xd, dense(values), s, mask))

        return fn, (xd.requires_grad_(), values.requires_grad_(), s.requires_grad_())

    check(name, make)


def main():
    pool_case("topk", "topk", ratio=0.5)
    pool_case("topk (sigmoid, multiplier)", "topk", ratio=0.5, nonlinearity="sigmoid", multiplier=2.0)
    pool_case("topk (min_score)", "topk", ratio=None, min_score=0.1)
    pool_case("topk_augmented", "topk_augmented", ratio=0.5)
    pool_case("sag (GraphConv)", "sag", ratio=0.5, gnn="GraphConv")
    pool_case("sag (GCNConv)", "sag", ratio=0.5, gnn="GCNConv")
    pool_case("kmis", "kmis", k=1)
    pool_case("kmis (k=2, w-greedy, after, sum)", "kmis", k=2, score_heuristic="w-greedy", score_passthrough="after",
              aggr_x="sum")
    pool_case("max_pool (graclus)", "cluster", cluster="max")
    pool_case("avg_pool (graclus)", "cluster", cluster="mean")
    pool_case("ndp", "ndp", weighted=False)  # NDP's weights carry no gradient (docs/ndp.md)
    pool_case("mincut (sparse)", "mincut", k=3)
    pool_case("diffpool (sparse)", "diffpool", k=3)
    pool_case("dmon (sparse)", "dmon", k=3, hidden=[5])
    dense_case("dense_mincut_pool", "mincut")
    dense_case("dense_diff_pool", "diffpool")
    dense_case("dense_dmon_pool", "dmon")
    layer_case("global_add_pool", "sum")
    layer_case("global_mean_pool", "mean")
    layer_case("global_max_pool", "max")
    layer_case("AttentionalAggregation", "attention", in_channels=4)
    layer_case("AttentionalAggregation (nn)", "attention", in_channels=4, nn_out_channels=3)
    layer_case("GatedAttentionReadout", "gated_attention", in_channels=4, channels=3)
    layer_case("AttentionSumReadout", "attention_sum", in_channels=4)
    layer_case("GCNConv", "gcn", adjacency=True, in_channels=4, out_channels=3)
    layer_case("GraphConv", "graph_conv", adjacency=True, in_channels=4, out_channels=3)
    # The PyG-compatible modules on top of the ops (parameters registered by name).
    def topk_module(seed):
        x, ei, w, batch = random_batch(seed=seed)
        pool = gp.TopKPooling(4, ratio=0.5)
        weight = pool.select.weight
        return (lambda x, weight: floating(pool(x, ei, w, batch))), (x.requires_grad_(), weight)

    check("TopKPooling module", topk_module)

    def dmon_module(seed):
        dmon = gp.DMoNPooling([4, 5], 3)
        xd, mask, values, dense = dense_inputs(seed)
        return (lambda xd, values: floating(dmon(xd, dense(values), mask))), (xd.requires_grad_(), values.requires_grad_())

    check("DMoNPooling module", dmon_module)
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
