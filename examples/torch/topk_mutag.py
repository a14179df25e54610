"""PyG's TopK graph-classification example (examples/proteins_topk_pool.py of PyTorch Geometric)
with gnnpool's layers: the model below is PyG's, line for line; only the import changed.

    # from torch_geometric.nn import GraphConv, TopKPooling
    # from torch_geometric.nn import global_max_pool as gmp, global_mean_pool as gap
    from gnnpool_torch import GraphConv, TopKPooling
    from gnnpool_torch import global_max_pool as gmp, global_mean_pool as gap

Trained with plain torch on MUTAG from the repository's data files (data/MUTAG, read by
gnnpool_torch.read_tu; no PyG needed): a stratified 80/10/10 split, Adam, the model of the best
validation accuracy is tested.

Usage: topk_mutag.py [--data DIR] [--epochs 200] [--seed 0] [--smoke]
    (with PYTHONPATH=<gnnpool>/python and GNNPOOL_TORCH_LIBRARY=<path of libgnnpool_torch.so>)
"""

import argparse
import copy
import os
import time

import torch
import torch.nn.functional as F

from gnnpool_torch import DataLoader, read_tu
from gnnpool_torch import GraphConv, TopKPooling
from gnnpool_torch import global_max_pool as gmp, global_mean_pool as gap

HERE = os.path.dirname(os.path.abspath(__file__))


class Net(torch.nn.Module):
    def __init__(self, num_features, num_classes):
        super().__init__()
        self.conv1 = GraphConv(num_features, 128)
        self.pool1 = TopKPooling(128, ratio=0.8)
        self.conv2 = GraphConv(128, 128)
        self.pool2 = TopKPooling(128, ratio=0.8)
        self.conv3 = GraphConv(128, 128)
        self.pool3 = TopKPooling(128, ratio=0.8)
        self.lin1 = torch.nn.Linear(256, 128)
        self.lin2 = torch.nn.Linear(128, 64)
        self.lin3 = torch.nn.Linear(64, num_classes)

    def forward(self, data):
        x, edge_index, batch = data.x, data.edge_index, data.batch

        x = F.relu(self.conv1(x, edge_index))
        x, edge_index, _, batch, _, _ = self.pool1(x, edge_index, None, batch)
        x1 = torch.cat([gmp(x, batch), gap(x, batch)], dim=1)

        x = F.relu(self.conv2(x, edge_index))
        x, edge_index, _, batch, _, _ = self.pool2(x, edge_index, None, batch)
        x2 = torch.cat([gmp(x, batch), gap(x, batch)], dim=1)

        x = F.relu(self.conv3(x, edge_index))
        x, edge_index, _, batch, _, _ = self.pool3(x, edge_index, None, batch)
        x3 = torch.cat([gmp(x, batch), gap(x, batch)], dim=1)

        x = x1 + x2 + x3

        x = F.relu(self.lin1(x))
        x = F.dropout(x, p=0.5, training=self.training)
        x = F.relu(self.lin2(x))
        x = F.log_softmax(self.lin3(x), dim=-1)

        return x


def stratified_split(labels, seed):
    """80/10/10 per class, shuffled with `seed`."""
    g = torch.Generator().manual_seed(seed)
    train, val, test = [], [], []
    for c in labels.unique():
        ids = (labels == c).nonzero().view(-1)
        ids = ids[torch.randperm(ids.numel(), generator=g)].tolist()
        n_test = round(0.1 * len(ids))
        test += ids[:n_test]
        val += ids[n_test:2 * n_test]
        train += ids[2 * n_test:]
    return train, val, test


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=os.path.join(HERE, "..", "..", "data", "MUTAG"))
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="one epoch, for CI")
    args = parser.parse_args()
    epochs = 1 if args.smoke else args.epochs
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)

    dataset = read_tu(args.data)
    labels = torch.cat([d.y for d in dataset])
    train_ids, val_ids, test_ids = stratified_split(labels, args.seed)
    train_loader = DataLoader([dataset[i] for i in train_ids], batch_size=60, shuffle=True)
    val_loader = DataLoader([dataset[i] for i in val_ids], batch_size=60)
    test_loader = DataLoader([dataset[i] for i in test_ids], batch_size=60)
    model = Net(dataset[0].x.size(1), int(labels.max()) + 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.0005)
    print("MUTAG: %d graphs (%d train, %d val, %d test), %d features" % (len(dataset), len(train_ids), len(val_ids),
                                                                          len(test_ids), dataset[0].x.size(1)))

    def train():
        model.train()
        total = 0.0
        for data in train_loader:
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), data.y)
            loss.backward()
            total += loss.item() * data.num_graphs
            optimizer.step()
        return total / len(train_ids)

    @torch.no_grad()
    def accuracy(loader):
        model.eval()
        correct = total = 0
        for data in loader:
            correct += int((model(data).argmax(dim=1) == data.y).sum())
            total += data.num_graphs
        return 100.0 * correct / total

    best, best_state, start = -1.0, None, time.time()
    for epoch in range(1, epochs + 1):
        loss = train()
        val = accuracy(val_loader)
        if val > best:
            best, best_state = val, copy.deepcopy(model.state_dict())
        if epoch % 20 == 0 or epoch == epochs:
            print("epoch %3d  loss %.4f  val %.1f%%" % (epoch, loss, val))
    model.load_state_dict(best_state)
    print("test accuracy %.1f%% (%d graphs; best validation %.1f%%); %.2f s per epoch"
          % (accuracy(test_loader), len(test_ids), best, (time.time() - start) / epochs))


if __name__ == "__main__":
    main()
