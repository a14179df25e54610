"""Conformance of the PyTorch bridge's Python modules against PyTorch Geometric's vectors.

Every file of tests/data/conformance (schema in its README) is one call of a PyG op with its
inputs, parameters, outputs, auxiliary losses, a scalar loss L and PyTorch's autograd gradients
of L. Here the same call is made through gnnpool_torch (the PyG-compatible modules), L is built
from the returned tensors with torch ops and differentiated by torch's autograd, which runs
gnnpool's hand-written backward passes; outputs, losses, L and every gradient must agree to
1e-10 relative (float64). Handlers are chosen by `op` and configured from `hyper` and the
parameter shapes only, so any file of the schema is read.

Usage: conformance.py <folder or file>...   (exit status 1 when a case fails)
"""

import glob
import json
import math
import os
import sys

import torch

import gnnpool_torch as gp

TOLERANCE = 1e-10


def tensor(t):
    if t is None:  # an input PyG was given as None (mask of a single graph)
        return None
    dtype = {"float64": torch.float64, "float32": torch.float32, "int64": torch.long, "bool": torch.bool}[t["dtype"]]
    return torch.tensor(t["data"], dtype=dtype).reshape(t["shape"])


class Case:
    def __init__(self, path):
        with open(path) as f:
            d = json.load(f)
        self.path, self.name, self.op = path, d["case"], d["op"]
        self.hyper = d.get("hyper", {})
        self.inputs = {k: tensor(v) for k, v in d["inputs"].items() if v is not None}
        self.params = {k: tensor(v) for k, v in d["params"].items()}
        self.outputs = {k: tensor(v) for k, v in d["outputs"].items()}
        self.aux = {k: tensor(v) for k, v in d.get("aux_losses", {}).items()}
        self.weights = {k: tensor(v) for k, v in d.get("loss_weights", {}).items()}
        self.grads = {k: tensor(v) for k, v in d.get("grads", {}).items()}
        self.loss = d["loss"]
        self.failures, self.compared, self.worst = [], 0, 0.0

    def hyper_value(self, key, default=None):
        v = self.hyper.get(key, default)
        return default if v is None else v

    def values(self, what, actual, expected, floor=1e-6):
        actual = torch.as_tensor(actual).detach().to(torch.float64).reshape(-1)
        expected = torch.as_tensor(expected).detach().to(torch.float64).reshape(-1)
        self.compared += 1
        if actual.numel() != expected.numel():
            self.failures.append("%s: %d values, expected %d" % (what, actual.numel(), expected.numel()))
            return
        if actual.numel() == 0:
            return
        scale = max(float(expected.abs().max()), floor)
        err = float((actual - expected).abs().max()) / scale
        self.worst = max(self.worst, err)
        if not err <= TOLERANCE:
            self.failures.append("%s: relative error %.3g" % (what, err))

    def exact(self, what, actual, expected):
        self.compared += 1
        a = torch.as_tensor(actual).reshape(-1).to(torch.long)
        e = torch.as_tensor(expected).reshape(-1).to(torch.long)
        if a.shape != e.shape or not bool((a == e).all()):
            self.failures.append("%s: %s, expected %s" % (what, a.tolist()[:20], e.tolist()[:20]))

    def param(self, module, name):
        with torch.no_grad():
            p = module.get_parameter(name)
            p.copy_(self.params[name].reshape(p.shape))
        return p


def edge_key(edge_index):
    return [(int(s), int(t)) for s, t in zip(edge_index[0].tolist(), edge_index[1].tolist())]


def edge_values(c, what, edge_index, values, expected_index, expected_values):
    """Compares pooled edges as sets and their values edge by edge; returns, for every expected
    edge, its position in the returned list (for loss weights given in PyG's order)."""
    actual = edge_key(edge_index)
    expected = edge_key(expected_index)
    c.exact(what + " (sorted)", torch.tensor(sorted(actual)).reshape(-1), torch.tensor(sorted(expected)).reshape(-1))
    where = {e: i for i, e in enumerate(actual)}
    position = [where.get(e, -1) for e in expected]
    if values is not None and expected_values is not None and -1 not in position:
        c.values(what + " values", values[torch.tensor(position, dtype=torch.long)], expected_values)
    return position


def check_grads(c, grads, floors=None):
    floors = floors or {}
    for key, expected in c.grads.items():
        if key not in grads:
            c.failures.append("gradient %s is not checked" % key)
            continue
        g = grads[key]
        if g is None:
            g = torch.zeros_like(expected)
        c.values("grad " + key, g, expected, floors.get(key, 1e-6))


# ---------------------------------------------------------------------------------------------


def run_score(c):
    x = c.inputs["x"].clone().requires_grad_()
    ei, batch = c.inputs["edge_index"], c.inputs.get("batch")
    common = dict(ratio=c.hyper.get("ratio"), min_score=c.hyper.get("min_score"),
                  multiplier=c.hyper_value("multiplier", 1.0), nonlinearity=c.hyper_value("nonlinearity", "tanh"))
    if c.op.startswith("sag"):
        pool = gp.SAGPooling(x.size(1), GNN=c.hyper_value("gnn", "GraphConv"), **common).double()
    else:
        pool = gp.TopKPooling(x.size(1), **common).double()
    params = {name: c.param(pool, name) for name in c.params}
    out_x, out_ei, out_attr, out_batch, perm, score = pool(x, ei, None, batch)
    c.values("x", out_x, c.outputs["x"])
    c.exact("perm", perm, c.outputs["perm"])
    c.values("score", score, c.outputs["score"])
    c.exact("batch", out_batch, c.outputs["batch"])
    edge_values(c, "edge_index", out_ei, None, c.outputs["edge_index"], None)
    if out_attr is not None:
        c.failures.append("edge_attr should be None without input edge weights")
    loss = (out_x * c.weights["x"]).sum() + (score * c.weights["score"]).sum()
    c.values("loss", loss, torch.tensor(c.loss))
    loss.backward()
    grads = {"x": x.grad}
    grads.update({"param:" + n: p.grad for n, p in params.items()})
    # In ratio mode SAG's select.weight enters only by its sign: its exact gradient is 0 and the
    # file holds PyTorch's round-off, compared here on an absolute scale.
    floors = {"param:select.weight": 1.0} if c.op.startswith("sag") and c.hyper.get("min_score") is None else {}
    check_grads(c, grads, floors)


def run_kmis(c):
    x = c.inputs["x"].clone().requires_grad_()
    h = c.hyper
    pool = gp.KMISPooling(x.size(1), k=h.get("k", 1), scorer=h.get("scorer", "linear"),
                          score_heuristic=h.get("score_heuristic") or "none",
                          score_passthrough=h.get("score_passthrough") or "none", aggr_x=h.get("aggr_x"),
                          aggr_edge=h.get("aggr_edge", "sum"), remove_self_loops=h.get("remove_self_loops", True)).double()
    params = {name: c.param(pool, name) for name in c.params}
    out_x, out_ei, out_attr, out_batch, mis, cluster = pool(x, c.inputs["edge_index"], None, c.inputs.get("batch"))
    c.values("x", out_x, c.outputs["x"])
    c.exact("batch", out_batch, c.outputs["batch"])
    c.exact("mis", mis, c.outputs["mis"])
    c.exact("cluster", cluster, c.outputs["cluster"])
    edge_values(c, "edge_index", out_ei, out_attr, c.outputs["edge_index"], c.outputs.get("edge_attr"))
    loss = (out_x * c.weights["x"]).sum()
    c.values("loss", loss, torch.tensor(c.loss))
    loss.backward()
    grads = {"x": x.grad}
    grads.update({"param:" + n: p.grad for n, p in params.items()})
    check_grads(c, grads)


def run_graclus(c):
    x = c.inputs["x"].clone().requires_grad_()
    ei, batch = c.inputs["edge_index"], c.inputs.get("batch")
    weight = c.inputs.get("edge_weight")
    if weight is not None:
        weight = weight.clone().requires_grad_()
    torch.manual_seed(int(c.hyper["torch_seed"]))
    cluster = gp.graclus(ei, weight.detach() if weight is not None else None, x.size(0))
    torch.manual_seed(int(c.hyper["torch_seed"]))
    c.exact("visit order (torch.randperm)", torch.randperm(x.size(0)), c.outputs["debug_visit_order"])
    c.exact("cluster", cluster, c.outputs["cluster"])
    pool = gp.max_pool if c.hyper_value("pool", "max") == "max" else gp.avg_pool
    out = pool(cluster, gp.Data(x=x, edge_index=ei, edge_attr=weight, batch=batch))
    c.values("x", out.x, c.outputs["x"])
    c.exact("batch", out.batch, c.outputs["batch"])
    position = edge_values(c, "edge_index", out.edge_index, out.edge_attr, c.outputs["edge_index"],
                           c.outputs.get("edge_attr"))
    loss = (out.x * c.weights["x"]).sum()
    if "edge_attr" in c.weights and -1 not in position:
        loss = loss + (out.edge_attr[torch.tensor(position, dtype=torch.long)] * c.weights["edge_attr"]).sum()
    c.values("loss", loss, torch.tensor(c.loss))
    loss.backward()
    check_grads(c, {"x": x.grad, "edge_weight": None if weight is None else weight.grad})


def run_readout(c):
    x = c.inputs["x"].clone().requires_grad_()
    batch = c.inputs.get("batch")
    grads = {}
    if c.op.startswith("attn"):
        f = x.size(1)
        gate = torch.nn.Linear(f, 1).double()
        nn = torch.nn.Linear(f, c.params["nn.weight"].shape[0]).double() if "nn.weight" in c.params else None
        readout = gp.AttentionalAggregation(gate, nn)
        params = {name: c.param(readout, name) for name in c.params}
        out = readout(x, batch)
        grads.update({"param:" + n: p.grad for n, p in params.items()})
    else:
        fn = {"global_add": gp.global_add_pool, "global_mean": gp.global_mean_pool, "global_max": gp.global_max_pool}[c.op]
        out = fn(x, batch)
        params = {}
    c.values("x", out, c.outputs["x"])
    loss = (out * c.weights["x"]).sum()
    c.values("loss", loss, torch.tensor(c.loss))
    loss.backward()
    grads["x"] = x.grad
    grads.update({"param:" + n: p.grad for n, p in params.items()})
    # dL/d(gate bias) is 0 up to the softmax's 1e-16 guard: the file holds round-off.
    check_grads(c, grads, {"param:gate_nn.bias": 1.0})


def compare_padded(c, what, actual, expected, mask, floor=1e-6):
    """The valid rows of a [B, Nmax, C] tensor; expected padded rows must be 0."""
    if mask is None:
        c.values(what, actual, expected, floor)
        return
    if bool(expected[~mask].ne(0).any()):
        c.failures.append(what + ": the expected value is not 0 on a padded row")
    c.values(what, actual[mask], expected[mask], floor)


def compare_adj_grad(c, actual, expected, mask):
    """dL/dA on (valid, valid) pairs; PyG's (valid, padded) entries have no counterpart in an
    unpadded batch and are skipped; expected padded rows must be 0."""
    if mask is None:
        c.values("grad adj", actual, expected)
        return
    pair = mask.unsqueeze(2) & mask.unsqueeze(1)
    if bool(expected[~mask].ne(0).any()):
        c.failures.append("grad adj: the expected gradient is not 0 on a padded row")
    c.values("grad adj", actual[pair], expected[pair])


def run_dense(c):
    x = c.inputs["x"].clone().requires_grad_()
    adj = c.inputs["adj"].clone().requires_grad_()
    mask = c.inputs.get("mask")
    if c.op == "dmon":
        k = int(c.hyper["K"])
        lins = sorted(n for n in c.params if n.endswith(".weight"))
        channels = [x.size(2)] + [c.params[n].shape[0] for n in lins[:-1]]
        pool = gp.DMoNPooling(channels, k).double()
        params = {name: c.param(pool, name) for name in c.params}
        s, out, out_adj, spectral, ortho, cluster = pool(x, adj, mask)
        compare_padded(c, "s", s, c.outputs["s"], mask)
        aux = {"spectral_loss": spectral, "ortho_loss": ortho, "cluster_loss": cluster}
        loss = (s * c.weights["s"]).sum()
        s_logits = None
    else:
        w, b = c.params["assign.weight"], c.params["assign.bias"]
        params = {"assign.weight": w.clone().requires_grad_(), "assign.bias": b.clone().requires_grad_()}
        s_logits = x @ params["assign.weight"].t() + params["assign.bias"]
        s_logits.retain_grad()
        if c.op == "mincut":
            out, out_adj, l1, l2 = gp.dense_mincut_pool(x, adj, s_logits, mask, temp=c.hyper_value("temp", 1.0))
            aux = {"mincut_loss": l1, "ortho_loss": l2}
        else:
            out, out_adj, l1, l2 = gp.dense_diff_pool(x, adj, s_logits, mask,
                                                      normalize=bool(c.hyper_value("normalize", True)))
            aux = {"link_loss": l1, "ent_loss": l2}
        loss = torch.zeros((), dtype=torch.float64)
    c.values("x", out, c.outputs["x"])
    c.values("adj", out_adj, c.outputs["adj"])
    for name, expected in c.aux.items():
        c.values("aux " + name, aux[name], expected)
        loss = loss + aux[name]
    loss = loss + (out * c.weights["x"]).sum() + (out_adj * c.weights["adj"]).sum()
    c.values("loss", loss, torch.tensor(c.loss))
    loss.backward()
    compare_padded(c, "grad x", x.grad, c.grads["x"], mask)
    compare_adj_grad(c, adj.grad, c.grads["adj"], mask)
    for name, p in params.items():
        c.values("grad param:" + name, p.grad, c.grads["param:" + name])
    if "s_logits" in c.grads:
        compare_padded(c, "grad s_logits", s_logits.grad, c.grads["s_logits"], mask)


def run_ndp(c):
    x = c.inputs["x"].clone().requires_grad_()
    h = c.hyper
    levels = int(h.get("levels", 1))
    ei, w, batch = c.inputs["edge_index"], c.inputs.get("edge_weight"), c.inputs.get("batch")
    cur, node_index = x, None
    for level in range(1, levels + 1):
        k = "_l%d" % level
        pool = gp.NDPPooling(sparse_threshold=h.get("sparse_threshold", 1e-2), cut_threshold=h.get("cut_threshold", 0.5),
                             seed=int(h.get("fallback_seed" + k, 0)), random_split="numpy")
        fallback = None
        if "debug_random_cut" + k in c.outputs and bool(c.outputs["debug_random_cut" + k]) \
                and "debug_partition" + k in c.outputs:
            fallback = c.outputs["debug_partition" + k]
        cur, ei, w, batch, perm = pool(cur, ei, w, batch, fallback)
        node_index = perm if node_index is None else node_index[perm]
        if "node_index" + k in c.outputs:
            c.exact("node_index" + k, perm, c.outputs["node_index" + k])
        if "edge_index" + k in c.outputs:
            edge_values(c, "edge_index" + k, ei, w, c.outputs["edge_index" + k], c.outputs["edge_weight" + k])
    c.exact("node_index", node_index, c.outputs["node_index"])
    c.values("x", cur, c.outputs["x"])
    c.exact("batch", batch, c.outputs["batch"])
    edge_values(c, "edge_index", ei, w, c.outputs["edge_index"], c.outputs.get("edge_weight"))
    loss = (cur * c.weights["x"]).sum()
    c.values("loss", loss, torch.tensor(c.loss))
    loss.backward()
    check_grads(c, {"x": x.grad})


HANDLERS = {
    "topk_tanh": run_score, "topk_sigmoid": run_score, "topk_int_ratio": run_score, "topk_min_score": run_score,
    "sag_graphconv": run_score, "sag_gcn": run_score, "kmis_k1": run_kmis, "kmis_k2_wsum": run_kmis,
    "graclus_max": run_graclus, "graclus_w_avg": run_graclus, "global_add": run_readout, "global_mean": run_readout,
    "global_max": run_readout, "attn_gate": run_readout, "attn_gate_nn": run_readout, "mincut": run_dense,
    "diffpool": run_dense, "dmon": run_dense, "ndp_l1": run_ndp, "ndp_l2": run_ndp,
}


def main(paths):
    files = []
    for p in paths:
        files += sorted(glob.glob(os.path.join(p, "*.json"))) if os.path.isdir(p) else [p]
    per_op, failed, worst = {}, 0, 0.0
    for path in files:
        c = Case(path)
        handler = HANDLERS.get(c.op)
        if handler is None:
            print("FAIL %s: op %s has no handler" % (c.name, c.op))
            failed += 1
            continue
        try:
            handler(c)
        except Exception as e:  # a crash of one case must not hide the others
            c.failures.append("%s: %s" % (type(e).__name__, e))
        ok = not c.failures and c.compared > 0
        passed, total = per_op.get(c.op, (0, 0))
        per_op[c.op] = (passed + ok, total + 1)
        worst = max(worst, c.worst)
        if not ok:
            failed += 1
            print("FAIL %s (%s)" % (c.name, os.path.basename(path)))
            for f in c.failures[:12]:
                print("    " + f)
    for op, (passed, total) in sorted(per_op.items()):
        print("%-16s %d/%d cases" % (op, passed, total))
    print("%d cases, %d failed, worst relative error %.3g (tolerance %g)" % (len(files), failed, worst, TOLERANCE))
    return 1 if failed or not files else 0


if __name__ == "__main__":
    torch.set_default_dtype(torch.float64)
    sys.exit(main(sys.argv[1:]))
