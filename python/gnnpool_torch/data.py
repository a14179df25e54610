"""Small data utilities in plain torch, so that PyG-style code runs without PyG: ``Data``,
``Batch``, a ``DataLoader`` that collates graphs into one disjoint union, a reader of the TU
dataset files (the layout of ``data/MUTAG``), and ``to_dense_batch`` / ``to_dense_adj`` for the
dense poolers."""

import os

import torch


class Data:
    """A graph (or a batch of graphs) as attributes, as PyG's ``Data``: x, edge_index, edge_attr,
    batch, y, ..."""

    def __init__(self, x=None, edge_index=None, edge_attr=None, batch=None, **kwargs):
        self.x, self.edge_index, self.edge_attr, self.batch = x, edge_index, edge_attr, batch
        for k, v in kwargs.items():
            setattr(self, k, v)

    @property
    def num_nodes(self):
        return 0 if self.x is None else self.x.size(0)

    def __repr__(self):
        parts = ["%s=%s" % (k, list(v.shape) if torch.is_tensor(v) else v) for k, v in vars(self).items() if v is not None]
        return "%s(%s)" % (type(self).__name__, ", ".join(parts))


class Batch(Data):
    """Graphs as one disjoint union, as PyG's ``Batch``: x stacked, edge_index shifted, batch the
    graph of every node, y stacked, num_graphs."""

    @classmethod
    def from_data_list(cls, graphs):
        xs, edges, attrs, batch, ys = [], [], [], [], []
        offset = 0
        for g, data in enumerate(graphs):
            n = data.num_nodes
            xs.append(data.x)
            edges.append(data.edge_index + offset)
            if data.edge_attr is not None:
                attrs.append(data.edge_attr)
            batch.append(torch.full((n,), g, dtype=torch.long))
            if getattr(data, "y", None) is not None:
                ys.append(data.y.view(-1))
            offset += n
        if attrs and len(attrs) != len(graphs):
            raise ValueError("gnnpool_torch.Batch: some graphs have edge_attr and some do not")
        out = cls(x=torch.cat(xs), edge_index=torch.cat(edges, dim=1), edge_attr=torch.cat(attrs) if attrs else None,
                  batch=torch.cat(batch), y=torch.cat(ys) if ys else None)
        out.num_graphs = len(graphs)
        return out


class DataLoader:
    """Mini-batches of a list of ``Data`` as ``Batch`` objects (PyG's ``DataLoader`` for graph
    lists). Shuffling draws from torch's global generator."""

    def __init__(self, dataset, batch_size=1, shuffle=False):
        self.dataset, self.batch_size, self.shuffle = list(dataset), int(batch_size), shuffle

    def __len__(self):
        return (len(self.dataset) + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        order = torch.randperm(len(self.dataset)).tolist() if self.shuffle else range(len(self.dataset))
        order = list(order)
        for i in range(0, len(order), self.batch_size):
            yield Batch.from_data_list([self.dataset[j] for j in order[i:i + self.batch_size]])


def _read_ints(path):
    with open(path) as f:
        return [[int(v) for v in line.replace(",", " ").split()] for line in f if line.strip()]


def read_tu(root, name=None, dtype=None):
    """The graphs of a TU dataset folder (``<root>/<name>_A.txt``, ``_graph_indicator.txt``,
    ``_graph_labels.txt``, optional ``_node_labels.txt`` and ``_node_attributes.txt``) as a
    list of ``Data`` with x = [node attributes | one-hot node label] and y the graph label
    remapped to 0 .. C-1, as PyG's ``TUDataset(use_node_attr=True)`` and gnnpool's ``read_tu``.
    Edges are kept as listed (both directions)."""
    name = name or os.path.basename(os.path.normpath(root))
    dtype = dtype or torch.get_default_dtype()

    def path(suffix):
        return os.path.join(root, name + suffix)

    graph_of = torch.tensor([row[0] for row in _read_ints(path("_graph_indicator.txt"))], dtype=torch.long) - 1
    n = graph_of.numel()
    edges = torch.tensor(_read_ints(path("_A.txt")), dtype=torch.long).t() - 1
    labels = torch.tensor([row[0] for row in _read_ints(path("_graph_labels.txt"))], dtype=torch.long)
    classes = torch.unique(labels)
    y = torch.searchsorted(classes, labels)
    columns = []
    if os.path.exists(path("_node_attributes.txt")):
        with open(path("_node_attributes.txt")) as f:
            rows = [[float(v) for v in line.replace(",", " ").split()] for line in f if line.strip()]
        columns.append(torch.tensor(rows, dtype=dtype))
    if os.path.exists(path("_node_labels.txt")):
        node_labels = torch.tensor([row[0] for row in _read_ints(path("_node_labels.txt"))], dtype=torch.long)
        node_labels = node_labels - node_labels.min()
        columns.append(torch.nn.functional.one_hot(node_labels).to(dtype))
    x = torch.cat(columns, dim=1) if columns else torch.ones(n, 1, dtype=dtype)
    if edges.numel() and not bool((graph_of[edges[0]] == graph_of[edges[1]]).all()):
        raise ValueError("gnnpool_torch.read_tu: %s has an edge between two graphs" % path("_A.txt"))
    starts = torch.searchsorted(graph_of, torch.arange(labels.numel() + 1))
    edge_graph = graph_of[edges[0]]
    _, order = torch.sort(edge_graph, stable=True)
    edges, edge_graph = edges[:, order], edge_graph[order]
    edge_starts = torch.searchsorted(edge_graph, torch.arange(labels.numel() + 1))
    graphs = []
    for g in range(labels.numel()):
        lo, hi = int(starts[g]), int(starts[g + 1])
        e = edges[:, int(edge_starts[g]):int(edge_starts[g + 1])] - lo
        graphs.append(Data(x=x[lo:hi].contiguous(), edge_index=e.contiguous(), y=y[g:g + 1]))
    return graphs


def to_dense_batch(x, batch=None, fill_value=0.0, max_num_nodes=None):
    """PyG's ``to_dense_batch``: x [N, F] -> (x [B, Nmax, F], mask [B, Nmax])."""
    if batch is None:
        batch = torch.zeros(x.size(0), dtype=torch.long)
    num_graphs = int(batch.max()) + 1 if batch.numel() else 1
    counts = torch.bincount(batch, minlength=num_graphs)
    nmax = int(counts.max()) if max_num_nodes is None else int(max_num_nodes)
    starts = torch.cumsum(counts, 0) - counts
    position = torch.arange(x.size(0)) - starts[batch]
    out = x.new_full((num_graphs, nmax, x.size(1)), fill_value)
    out[batch, position] = x
    mask = torch.zeros(num_graphs, nmax, dtype=torch.bool)
    mask[batch, position] = True
    return out, mask


def to_dense_adj(edge_index, batch=None, edge_attr=None, max_num_nodes=None):
    """PyG's ``to_dense_adj``: [B, Nmax, Nmax] with adj[b, i, j] = weight of the edge i -> j of
    graph b (duplicates summed). gnnpool's dense poolers read adj[b, i, j] as the edge j -> i;
    the two agree on undirected graphs."""
    if batch is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
        batch = torch.zeros(num_nodes, dtype=torch.long)
    num_graphs = int(batch.max()) + 1 if batch.numel() else 1
    counts = torch.bincount(batch, minlength=num_graphs)
    nmax = int(counts.max()) if max_num_nodes is None else int(max_num_nodes)
    starts = torch.cumsum(counts, 0) - counts
    g = batch[edge_index[0]]
    i = edge_index[0] - starts[g]
    j = edge_index[1] - starts[g]
    values = torch.ones(edge_index.size(1)) if edge_attr is None else edge_attr
    adj = torch.zeros(num_graphs, nmax, nmax, dtype=values.dtype)
    adj.index_put_((g, i, j), values, accumulate=True)
    return adj
