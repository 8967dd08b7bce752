#!/usr/bin/env python3
"""Independent PyTorch (CPU) reference VAE, as pytorch/examples vae/main.py.

Reads the standard MNIST split from the IDX files in data/mnist/ (60,000 train / 10,000 test digits,
put there by scripts/setup.sh; plain IDX, or the .gz sibling when the plain file is missing),
grey levels /255. Prints the test -ELBO (nats per digit) and the training speed after each epoch.
Not part of the tests: it needs torch and numpy (tests/reference/requirements.txt):

  python3 -m venv /tmp/torch-ref && /tmp/torch-ref/bin/pip install -r tests/reference/requirements.txt
  /tmp/torch-ref/bin/python tests/reference/pytorch_vae.py --latent 20 --epochs 10 --seed 1 [--json]

One thread by default (--threads), as the native trainer uses about one core; --device cuda
trains on an NVIDIA GPU instead.
"""
import argparse, gzip, json, os, struct, time
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

DATA = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "data" / "mnist")


def read_idx(path):
    """The bytes of an IDX file: `path` itself, or `path.gz` decompressed."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            return f.read()
    with gzip.open(path + ".gz") as f:
        return f.read()


def read_images(path):
    d = read_idx(path)
    magic, n, r, c = struct.unpack(">4I", d[:16])
    assert magic == 0x803 and r == 28 and c == 28, (magic, r, c)
    a = np.frombuffer(d, dtype=np.uint8, offset=16)
    assert a.size == n * r * c
    return torch.from_numpy(a.reshape(n, r * c).astype(np.float32) / 255.0)


def read_labels(path):
    d = read_idx(path)
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
    p.add_argument("--data", default=DATA, help="folder with the four MNIST IDX files")
    p.add_argument("--json", action="store_true", help="one JSON line per epoch, like `vae train --json`")
    p.add_argument("--device", default="cpu", help="torch device to train on (cpu, cuda); the data are put there whole")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    train = read_images(f"{a.data}/train-images-idx3-ubyte")
    test = read_images(f"{a.data}/t10k-images-idx3-ubyte")
    read_labels(f"{a.data}/train-labels-idx1-ubyte"); read_labels(f"{a.data}/t10k-labels-idx1-ubyte")
    n, nt = train.shape[0], test.shape[0]
    train, test = train.to(a.device), test.to(a.device)

    model = VAE(a.latent).to(a.device)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    print(f"# latent={a.latent} seed={a.seed} mean={a.mean} train={n} test={nt} torch={torch.__version__} "
          f"threads={torch.get_num_threads()} device={a.device}", flush=True)
    train_seconds = 0.0
    for epoch in range(1, a.epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(n, device=a.device)
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
        train_seconds += dt
        model.eval()
        tl = tb = tk = 0.0
        with torch.no_grad():
            for i in range(0, nt, a.batch):
                x = test[i:i + a.batch]
                recon, mu, logvar = model(x)
                l, b, k = loss_function(recon, x, mu, logvar)
                tl += l.item(); tb += b.item(); tk += k.item()
        if a.json:
            print(json.dumps({"epoch": epoch, "trainLoss": round(tot / n, 4), "testLoss": round(tl / nt, 4),
                              "testReconstruction": round(tb / nt, 4), "testKl": round(tk / nt, 4),
                              "examplesPerSecond": round(n / dt, 1)}), flush=True)
        else:
            print(f"epoch {epoch:2d} train {tot / n:8.3f} test -ELBO {tl / nt:8.3f} (rec {tb / nt:8.3f} kl {tk / nt:6.3f}) "
                  f"{n / dt:7.0f} examples/s", flush=True)
    print(f"mean training speed: {a.epochs * n / train_seconds:.0f} examples/s", flush=True)


if __name__ == "__main__":
    main()
