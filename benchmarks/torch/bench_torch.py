"""The PyTorch bridge's ops against the same work in plain torch: PyG's formulas (its pooling
code, written with torch ops as PyG runs them without torch_scatter / torch_sparse / pyg-lib),
one thread, float32.

Sizes (as docs/performance.md and docs/reference/pyg-timings.md):
  S100k: one random graph, N = 10^5, 5 * 10^5 undirected edges (E = 10^6 stored entries), F = 64
  D32:   32 random graphs of 100 nodes, average degree 9.6, F = 64, K = 25 (dense poolers)
fwd: the forward under torch.no_grad(); fwd+bwd: forward, then backward of sum(out * G) with a
fixed random G (and the auxiliary losses with weight 1) to x, the edge weights where
differentiable and the parameters. Every case first checks that both implementations give the
same outputs (to float32 round-off), so the same work is timed. Each time is the best of
--repeat runs after one warm-up.

Graclus and k-MIS have no torch formula in PyG (Graclus is a C++ kernel of torch_cluster; k-MIS,
from pull request #6488, is Python over torch_sparse): their PyG times are those of
pyg-timings.md, measured on the same machine class.

Usage: bench_torch.py [--repeat 5] [--sizes S100k,D32] [--quick]
    (PYTHONPATH=<gnnpool>/python, GNNPOOL_TORCH_LIBRARY=<Release build>/libgnnpool_torch.so)
"""

import argparse
import math
import time

import torch
import torch.nn.functional as F

import gnnpool_torch as gp

EPS = 1e-15


# ---------------------------------------------------------------------------------------------
# PyG's formulas in torch
# ---------------------------------------------------------------------------------------------


def scatter_sum(src, index, size):
    return torch.zeros(size, *src.shape[1:], dtype=src.dtype).index_add_(0, index, src)


def pyg_topk_perm(score, ratio, batch, num_graphs):
    """PyG's `topk` (torch_geometric.nn.pool.select.topk) for a sorted batch."""
    num_nodes = scatter_sum(torch.ones_like(batch), batch, num_graphs)
    k = (float(ratio) * num_nodes.to(score.dtype)).ceil().to(torch.long)
    cum = torch.cat([num_nodes.new_zeros(1), num_nodes.cumsum(0)[:-1]])
    if num_graphs == 1:
        return torch.topk(score, int(k[0]), sorted=True).indices
    index = torch.arange(batch.numel()) - cum[batch] + batch * int(num_nodes.max())
    dense = score.new_full((num_graphs * int(num_nodes.max()),), -60000.0)
    dense[index] = score
    _, perm = dense.view(num_graphs, -1).sort(dim=-1, descending=True)
    perm = perm + cum.view(-1, 1)
    mask = torch.arange(perm.size(1)).view(1, -1) < k.view(-1, 1)
    return perm[mask]


def pyg_filter_adj(edge_index, perm, num_nodes):
    mask = perm.new_full((num_nodes,), -1)
    mask[perm] = torch.arange(perm.numel())
    row, col = mask[edge_index[0]], mask[edge_index[1]]
    keep = (row >= 0) & (col >= 0)
    return torch.stack([row[keep], col[keep]])


def torch_topk_pool(x, edge_index, batch, num_graphs, weight, ratio=0.5):
    score = torch.tanh((x * weight).sum(-1) / weight.norm(p=2))
    perm = pyg_topk_perm(score, ratio, batch, num_graphs)
    return x[perm] * score[perm].view(-1, 1), pyg_filter_adj(edge_index, perm, x.size(0)), batch[perm]


def torch_graph_conv(x, edge_index, w_rel, b_rel, w_root):
    agg = scatter_sum(x[edge_index[0]], edge_index[1], x.size(0))
    return agg @ w_rel.t() + b_rel + x @ w_root.t()


def torch_sag_pool(x, edge_index, batch, num_graphs, w_rel, b_rel, w_root, w_sel, ratio=0.5):
    g = torch_graph_conv(x, edge_index, w_rel, b_rel, w_root).view(-1)
    score = torch.tanh(g * w_sel.view(-1) / w_sel.norm(p=2))
    perm = pyg_topk_perm(score, ratio, batch, num_graphs)
    return x[perm] * score[perm].view(-1, 1), pyg_filter_adj(edge_index, perm, x.size(0)), batch[perm]


def torch_gcn_conv(x, edge_index, weight, bias):
    n = x.size(0)
    loop = torch.arange(n)
    src = torch.cat([edge_index[0], loop])
    dst = torch.cat([edge_index[1], loop])
    deg = scatter_sum(torch.ones(src.numel(), dtype=x.dtype), dst, n)
    dinv = deg.pow(-0.5)
    norm = dinv[src] * dinv[dst]
    h = x @ weight.t()
    return scatter_sum(h[src] * norm.view(-1, 1), dst, n) + bias


def torch_global_max(x, batch, num_graphs):
    out = torch.zeros(num_graphs, x.size(1), dtype=x.dtype)
    return out.scatter_reduce(0, batch.view(-1, 1).expand_as(x), x, "amax", include_self=False)


def torch_global_mean(x, batch, num_graphs):
    count = scatter_sum(torch.ones_like(batch, dtype=x.dtype), batch, num_graphs).clamp(min=1)
    return scatter_sum(x, batch, num_graphs) / count.view(-1, 1)


def torch_max_pool(cluster, x, edge_index, batch):
    """PyG's max_pool(cluster, data): consecutive_cluster, scatter amax, pool_edge (coalesce)."""
    unique, cluster = torch.unique(cluster, return_inverse=True)
    m = unique.numel()
    out = torch.zeros(m, x.size(1), dtype=x.dtype).scatter_reduce(0, cluster.view(-1, 1).expand_as(x), x, "amax",
                                                                 include_self=False)
    row, col = cluster[edge_index[0]], cluster[edge_index[1]]
    keep = row != col
    key = torch.unique(row[keep] * m + col[keep])
    new_batch = torch.zeros(m, dtype=torch.long).scatter_(0, cluster, batch)
    return out, torch.stack([key // m, key % m]), new_batch


def rank3_trace(x):
    return torch.einsum("ijj->i", x)


def normalize_out_adj(out_adj):
    k = out_adj.size(-1)
    ind = torch.arange(k)
    out_adj = out_adj.clone()
    out_adj[:, ind, ind] = 0
    d = torch.sqrt(torch.einsum("ijk->ij", out_adj))[:, None] + EPS
    return (out_adj / d) / d.transpose(1, 2)


def ortho(s):
    k = s.size(-1)
    ss = torch.matmul(s.transpose(1, 2), s)
    i_s = torch.eye(k).type_as(ss)
    return torch.norm(ss / torch.norm(ss, dim=(-1, -2), keepdim=True) - i_s / torch.norm(i_s), dim=(-1, -2)).mean()


def torch_dense_mincut(x, adj, s):
    s = torch.softmax(s, dim=-1)
    out = torch.matmul(s.transpose(1, 2), x)
    out_adj = torch.matmul(torch.matmul(s.transpose(1, 2), adj), s)
    d = torch.diag_embed(torch.einsum("ijk->ij", adj))
    mincut = -(rank3_trace(out_adj) / rank3_trace(torch.matmul(torch.matmul(s.transpose(1, 2), d), s))).mean()
    return out, normalize_out_adj(out_adj), mincut, ortho(s)


def torch_dense_diffpool(x, adj, s):
    s = torch.softmax(s, dim=-1)
    out = torch.matmul(s.transpose(1, 2), x)
    out_adj = torch.matmul(torch.matmul(s.transpose(1, 2), adj), s)
    link = torch.norm(adj - torch.matmul(s, s.transpose(1, 2)), p=2) / adj.numel()
    ent = (-s * torch.log(s + EPS)).sum(dim=-1).mean()
    return out, out_adj, link, ent


def torch_dense_dmon(x, adj, s):
    s = torch.softmax(s, dim=-1)
    c = s.size(-1)
    out = F.selu(torch.matmul(s.transpose(1, 2), x))
    out_adj = torch.matmul(torch.matmul(s.transpose(1, 2), adj), s)
    degrees = torch.einsum("ijk->ij", adj).unsqueeze(-1)
    m = torch.einsum("ijk->i", degrees) / 2
    ca = torch.matmul(s.transpose(1, 2), degrees)
    cb = torch.matmul(degrees.transpose(1, 2), s)
    normalizer = torch.matmul(ca, cb) / 2 / m.view(-1, 1, 1).expand(-1, c, c)
    spectral = (-rank3_trace(out_adj - normalizer) / 2 / m).mean()
    cluster = (torch.norm(torch.einsum("ijk->ik", s), dim=1) / adj.size(1) * math.sqrt(c) - 1).mean()
    return s, out, normalize_out_adj(out_adj), spectral, ortho(s), cluster


# ---------------------------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------------------------


def random_graph(n, undirected, features, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randint(0, n, (undirected,), generator=g)
    b = torch.randint(0, n, (undirected,), generator=g)
    keep = a != b
    a, b = torch.minimum(a[keep], b[keep]), torch.maximum(a[keep], b[keep])
    key = torch.unique(a * n + b)
    a, b = key // n, key % n
    ei = torch.stack([torch.cat([a, b]), torch.cat([b, a])])
    order = torch.argsort(ei[1] * n + ei[0])  # CSR order: sorted by target, then source
    return torch.randn(n, features, generator=g), ei[:, order].contiguous()


def graphs(size):
    if size == "S100k":
        x, ei = random_graph(100000, 500000, 64, 12345)
        return x, ei, torch.zeros(x.size(0), dtype=torch.long), 1
    xs, eis, offset = [], [], 0
    for b in range(32):
        x, ei = random_graph(100, 480, 64, 2024 + b)
        xs.append(x)
        eis.append(ei + offset)
        offset += 100
    batch = torch.arange(32).repeat_interleave(100)
    return torch.cat(xs), torch.cat(eis, dim=1).contiguous(), batch, 32


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def best_time(fn, repeat):
    fn()
    best = math.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def fwd_bwd(run, inputs):
    """fwd+bwd closure: run(*inputs) -> tensors; backward of sum(out * G) (G fixed)."""
    outs = [o for o in run(*inputs) if o is not None and o.is_floating_point() and o.requires_grad]
    weights = [torch.randn(o.shape) if o.dim() else torch.ones(()) for o in outs]

    def step():
        for t in inputs:
            if torch.is_tensor(t):
                t.grad = None
        outs = [o for o in run(*inputs) if o is not None and o.is_floating_point() and o.requires_grad]
        torch.autograd.backward(outs, weights)

    return step


def same(name, a, b, tol=2e-4):
    for u, v in zip(a, b):
        if u is None or v is None or not u.is_floating_point():
            continue
        if u.dim() == 2 and u.shape == v.shape:
            # Score pooling keeps the same nodes, but nodes with equal scores (float tanh has
            # duplicates at S100k) come in torch.topk's order on one side and in gnnpool's
            # documented tie order on the other: compare each column's values as a multiset.
            u, v = torch.sort(u.detach(), dim=0).values, torch.sort(v.detach(), dim=0).values
        scale = max(float(v.abs().max()), 1e-3) if v.numel() else 1.0
        err = float((u.detach() - v.detach()).abs().max()) / scale if u.numel() else 0.0
        if u.shape != v.shape or err > tol:
            raise AssertionError("%s: the bridge and the torch formula differ (%s vs %s, error %.3g)"
                                 % (name, tuple(u.shape), tuple(v.shape), err))


ROWS = []


def case(name, size, bridge, reference, inputs, repeat):
    """Times both implementations, forward (no grad) and forward + backward."""
    if reference is not None:
        with torch.no_grad():
            same(name, bridge(*inputs), reference(*inputs))
    with torch.no_grad():
        tb = best_time(lambda: bridge(*inputs), repeat)
        tr = best_time(lambda: reference(*inputs), repeat) if reference is not None else None
    bb = best_time(fwd_bwd(bridge, inputs), repeat)
    br = best_time(fwd_bwd(reference, inputs), repeat) if reference is not None else None
    ROWS.append((name, size, tb, tr, bb, br))
    fmt = lambda t: "%.2f ms" % (1e3 * t) if t is not None else "–"
    speed = lambda a, b: "%.1f×" % (b / a) if b is not None else "–"
    print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (name, size, fmt(tb), fmt(tr), speed(tb, tr), fmt(bb), fmt(br),
                                                         speed(bb, br)), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="S100k,D32")
    parser.add_argument("--quick", action="store_true", help="one repetition on small graphs (a smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    repeat = 1 if args.quick else args.repeat
    print("torch %s, %d thread; library %s" % (torch.__version__, torch.get_num_threads(), gp.library_path()))
    print("| op | size | bridge fwd | torch fwd | speed-up | bridge fwd+bwd | torch fwd+bwd | speed-up |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for size in args.sizes.split(","):
        x, ei, batch, b = graphs(size if not args.quick else "D32")
        x.requires_grad_()
        f = x.size(1)
        # TopK
        pool = gp.TopKPooling(f, ratio=0.5)
        w = pool.select.weight
        case("TopKPooling", size, lambda x, w: pool(x, ei, None, batch)[0:1],
             lambda x, w: torch_topk_pool(x, ei, batch, b, w)[0:1], (x, w), repeat)
        # SAG (GraphConv scorer)
        sag = gp.SAGPooling(f, ratio=0.5)
        ps = (sag.gnn.lin_rel.weight, sag.gnn.lin_rel.bias, sag.gnn.lin_root.weight, sag.select.weight)
        case("SAGPooling (GraphConv)", size, lambda x, *p: sag(x, ei, None, batch)[0:1],
             lambda x, *p: torch_sag_pool(x, ei, batch, b, *p)[0:1], (x, *ps), repeat)
        # GCNConv 64 -> 64
        conv = gp.GCNConv(f, f)
        case("GCNConv 64→64", size, lambda x, w, bias: (conv(x, ei),),
             lambda x, w, bias: (torch_gcn_conv(x, ei, w, bias),), (x, conv.lin.weight, conv.bias), repeat)
        # graclus clustering + max_pool
        cluster = gp.graclus(ei, None, x.size(0))
        case("max_pool (given graclus clusters)", size,
             lambda x: (gp.max_pool(cluster, gp.Data(x=x, edge_index=ei, batch=batch)).x,),
             lambda x: (torch_max_pool(cluster, x, ei, batch)[0],), (x,), repeat)
        case("graclus (clustering only)", size, lambda x: (gp.graclus(ei, None, x.size(0)).to(torch.float32),), None,
             (x,), repeat)
        kmis = gp.KMISPooling(f, k=1)
        case("KMISPooling k=1", size, lambda x, w, bb: kmis(x, ei, None, batch)[0:1], None,
             (x, kmis.lin.weight, kmis.lin.bias), repeat)
        # readouts
        case("global_max_pool", size, lambda x: (gp.global_max_pool(x, batch, b),),
             lambda x: (torch_global_max(x, batch, b),), (x,), repeat)
        case("global_mean_pool", size, lambda x: (gp.global_mean_pool(x, batch, b),),
             lambda x: (torch_global_mean(x, batch, b),), (x,), repeat)
        if size == "S100k":
            mincut = gp.MinCutPool(f, 16)
            case("MinCutPool (unpadded, K=16)", size, lambda x, *p: (lambda o: (o[0], o[5], o[6]))(mincut(x, ei, None, batch)),
                 None, (x, *mincut.parameters()), repeat)
        else:
            xd, mask = gp.to_dense_batch(x.detach(), batch)
            adj = gp.to_dense_adj(ei, batch)
            s = torch.randn(b, xd.size(1), 25)
            xd.requires_grad_()
            s.requires_grad_()
            case("dense_mincut_pool K=25", size, lambda xd, s: gp.dense_mincut_pool(xd, adj, s),
                 lambda xd, s: torch_dense_mincut(xd, adj, s), (xd, s), repeat)
            case("dense_diff_pool K=25", size, lambda xd, s: gp.dense_diff_pool(xd, adj, s),
                 lambda xd, s: torch_dense_diffpool(xd, adj, s), (xd, s), repeat)
            case("DMoN pooling K=25 (logits given)", size, lambda xd, s: gp.dense_dmon_pool(xd, adj, s),
                 lambda xd, s: torch_dense_dmon(xd, adj, s), (xd, s), repeat)


if __name__ == "__main__":
    main()
