"""The bridge's argument checks, through the Python modules: every bad input is a ValueError
(gnnpool's shape_error / invalid_argument) whose sentence names the layer and the argument, and
never a crash or a silent copy. Also: in-place changes of a tensor the bridge reads in place are
caught by torch's version check, and the edge_index cache follows in-place changes.

Usage: errors.py   (unittest; exit status 1 on a failure)
"""

import unittest

import torch

import gnnpool_torch as gp


def graph(dtype=torch.float64):
    x = torch.randn(6, 3, dtype=dtype)
    ei = torch.tensor([[0, 1, 1, 2, 3, 4, 4, 5], [1, 0, 2, 1, 4, 3, 5, 4]])
    batch = torch.tensor([0, 0, 0, 1, 1, 1])
    return x, ei, batch


class Errors(unittest.TestCase):
    def assertSentence(self, fn, *fragments):
        with self.assertRaises(ValueError) as ctx:
            fn()
        message = str(ctx.exception)
        for f in fragments:
            self.assertIn(f, message)

    def test_device(self):
        x, ei, batch = graph()
        pool = gp.TopKPooling(3).double()
        self.assertSentence(lambda: pool(x.to("meta"), ei, None, batch), "gnnpool.pool(topk)", "x must be a CPU tensor",
                            "meta")

    def test_dtype(self):
        x, ei, batch = graph()
        pool = gp.TopKPooling(3).double()
        self.assertSentence(lambda: pool(x.half(), ei, None, batch), "x must be float32 or float64", "Half")
        self.assertSentence(lambda: pool(x, ei.int(), None, batch), "edge_index must be an int64")
        self.assertSentence(lambda: pool(x, ei, torch.ones(8, dtype=torch.float32), batch),
                            "edge_weight is Float but x is Double")
        # parameters of another dtype than x
        self.assertSentence(lambda: gp.TopKPooling(3)(x, ei, None, batch), "parameter select.weight is Float",
                            "same dtype")
        self.assertSentence(lambda: gp.global_add_pool(torch.ones(6, 3, dtype=torch.long), batch),
                            "x must be float32 or float64")

    def test_layout(self):
        x, ei, batch = graph()
        self.assertSentence(lambda: gp.global_add_pool(x.to_sparse(), batch), "x must be a dense (strided) tensor")

    def test_contiguity(self):
        x, ei, batch = graph()
        xt = torch.randn(3, 6, dtype=torch.float64).t()
        self.assertSentence(lambda: gp.global_add_pool(xt, batch), "x of shape [6, 3] must be contiguous",
                            ".contiguous()")

    def test_shapes(self):
        x, ei, batch = graph()
        pool = gp.TopKPooling(3).double()
        self.assertSentence(lambda: pool(x[0], ei, None, batch), "x must have 2 dimensions, got shape [3]")
        self.assertSentence(lambda: pool(x, torch.zeros(3, 4, dtype=torch.long), None, batch),
                            "edge_index must be [2, E], got [3, 4]")
        self.assertSentence(lambda: pool(x, ei, torch.ones(5, dtype=torch.float64), batch),
                            "edge_weight has 5 entries but edge_index has 8 edges")
        self.assertSentence(lambda: pool(x, ei, None, batch[:4]), "batch has 4 entries but x has 6 rows")
        self.assertSentence(lambda: gp.TopKPooling(4).double()(x, ei, None, batch), "x is 6 x 3",
                            "expects 4 features")
        self.assertSentence(lambda: gp.dense_mincut_pool(torch.randn(2, 4, 3, dtype=torch.float64),
                                                         torch.zeros(2, 5, 5, dtype=torch.float64),
                                                         torch.randn(2, 4, 2, dtype=torch.float64)),
                            "gnnpool.dense_pool(mincut)", "adj is [2, 5, 5]")

    def test_indices(self):
        x, ei, batch = graph()
        pool = gp.TopKPooling(3).double()
        bad = ei.clone()
        bad[1, 3] = 6
        self.assertSentence(lambda: pool(x, bad, None, batch), "edge_index[1, 3] = 6 is out of range for 6 nodes")
        self.assertSentence(lambda: pool(x, ei, None, torch.tensor([0, 1, 0, 1, 1, 1])), "batch must be sorted")
        cross = torch.tensor([[0, 3], [3, 0]])
        self.assertSentence(lambda: pool(x, cross, None, batch), "to another graph", "block-diagonal")
        self.assertSentence(lambda: gp.max_pool(torch.tensor([0, 0, 3, 3, 4, 4]),
                                                gp.Data(x=x, edge_index=ei, batch=batch)),
                            "holds nodes of several graphs")

    def test_options(self):
        self.assertSentence(lambda: gp.TopKPooling(3, nonlinearity="relu"), "nonlinearity must be tanh or sigmoid")
        self.assertSentence(lambda: gp.TopKPooling(3, ratio=1.5e-300 * 0), "ratio must be positive")
        self.assertSentence(lambda: gp._ops.ops().pool("topk", "in_channels=3;ratio=0.5;colour=red", *graph()[:2], None,
                                                        None, None, [torch.zeros(1, 3, dtype=torch.float64)], None),
                            "unknown option(s) colour")
        self.assertSentence(lambda: gp._ops.ops().pool("nope", "", *graph()[:2], None, None, None, [], None),
                            "unknown layer 'nope'", "topk")
        x, ei, batch = graph()
        self.assertSentence(lambda: gp._ops.ops().pool("topk", "in_channels=3", x, ei, None, batch, None, [], None),
                            "expected 1 parameter tensors (select.weight 1 x 3), got 0")

    def test_mask(self):
        x = torch.randn(1, 4, 3, dtype=torch.float64)
        adj = torch.zeros(1, 4, 4, dtype=torch.float64)
        s = torch.randn(1, 4, 2, dtype=torch.float64)
        self.assertSentence(lambda: gp.dense_mincut_pool(x, adj, s, torch.tensor([[True, False, True, False]])),
                            "mask has a hole at row 1")
        adj[0, 0, 3] = 1.0
        self.assertSentence(lambda: gp.dense_mincut_pool(x, adj, s, torch.tensor([[True, True, True, False]])),
                            "padded pair (0, 3)")


class InPlace(unittest.TestCase):
    def test_modified_input_is_caught(self):
        x, ei, batch = graph()
        x.requires_grad_()
        h = x * 1.0
        out = gp.global_max_pool(h, batch)
        h.add_(1.0)  # x is read in place by the bridge: its backward must not run on changed data
        with self.assertRaises(RuntimeError) as ctx:
            out.sum().backward()
        self.assertIn("modified by an inplace operation", str(ctx.exception))

    def test_edge_index_cache_follows_changes(self):
        x, ei, batch = graph()
        conv = gp.GCNConv(3, 2).double()
        before = conv(x, ei)
        ei[:, :2] = torch.tensor([[0, 2], [2, 0]])  # in place: the cached structure must not be reused
        after = conv(x, ei)
        fresh = conv(x, ei.clone())
        self.assertFalse(torch.allclose(before, after))
        self.assertTrue(torch.equal(after, fresh))

    def test_cache_can_be_turned_off(self):
        old = gp.structure_cache(0)
        try:
            x, ei, batch = graph()
            conv = gp.GCNConv(3, 2).double()
            self.assertTrue(torch.equal(conv(x, ei), conv(x, ei.clone())))
            self.assertEqual(gp.structure_cache(), 0)
        finally:
            gp.structure_cache(old)


    def test_buffer_cache_reuses_without_changing_results(self):
        x, ei, batch = graph()
        pool = gp.SAGPooling(3).double()

        def step(x0):
            x = x0.clone().requires_grad_()
            out = pool(x, ei, batch=batch)
            (out[0] * out[0]).sum().backward()
            return out[0].detach().clone(), x.grad.clone()

        old = gp.buffer_cache(0)
        try:
            self.assertEqual(gp.buffer_cache(), 0)
            ref = step(x)
            gp.buffer_cache(2)
            for _ in range(3):
                got = step(x)
                self.assertTrue(torch.equal(got[0], ref[0]) and torch.equal(got[1], ref[1]))
        finally:
            gp.buffer_cache(old)

if __name__ == "__main__":
    unittest.main()
