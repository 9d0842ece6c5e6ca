#!/usr/bin/python3
"""Test models for seqlift, with seeded random weights (shared by the tests, the
benchmarks and the demo). Every model takes one-hot input (N, 4, L), channels ACGT.

    bpnet_like(n_tasks=1, seed=0)   2114 bp in; outputs (profile (N, n_tasks, 1000), count (N, 1))
    basset_like(seed=0, shared_relu=True)   600 bp in; output (N, 164) logits (shared_relu=False:
                                    one ReLU module per use, for hook-based peers)
    small_mixed(seed=0)             200 bp in; outputs (logit (N, 3), probs (N, 3) softmax,
                                    track (N, 2, 45)); sigmoid/tanh/softplus/elu/gelu/exp,
                                    avg/max pools, concat, crops, global pools
    functional_mix(seed=0)          40 bp in; the functional/method spellings (torch.relu,
                                    x.mean(dim=2), torch.max(x, dim)[0], F.max_pool1d, view, ...)
    conv_pool(seed=0)               200 bp in; logits (N, 2): conv/ReLU/max pool blocks, one
                                    ReLU feeding a MaxPool directly, one with a BatchNorm between
    bpnet_lite(seed=0, ...)         bpnet-lite's BPNet (same padding, trimmed), 2114 bp in
    chrombpnet(seed=0, ...)         bpnet-lite's ChromBPNet: accessibility + bias BPNet,
                                    counts = log(exp(a) + exp(b)) through _Log/_Exp modules
    MODELS                          name -> (factory, input length, output names)
    random_onehot(n, length, seed, n_frac)   one-hot batch with N (all-zero) positions
    onehot_to_seqs(x)               back to strings ('N' for zero rows)
    onehot(seq), read_fasta(path), write_fasta(path, seqs, names)
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def _randomise_batchnorm(model, gen):
    """Non-trivial inference statistics and affine parameters for every BatchNorm1d."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
                if m.affine:
                    m.weight.copy_(torch.rand(c, generator=gen) * 1.0 + 0.5)
                    m.bias.copy_(torch.randn(c, generator=gen) * 0.2)


class BPNetLike(nn.Module):
    """BPNet: conv k=21 + ReLU, dilated residual convs (valid, crop + add), a profile head
    (conv k=75 -> 1000 bp) and a count head (global average pool + dense)."""

    def __init__(self, n_tasks=1, n_filters=64, n_layers=8, first_kernel=21, profile_kernel=75):
        super().__init__()
        self.iconv = nn.Conv1d(4, n_filters, first_kernel)
        self.irelu = nn.ReLU()
        self.rconvs = nn.ModuleList([nn.Conv1d(n_filters, n_filters, 3, dilation=2 ** i)
                                     for i in range(1, n_layers + 1)])
        self.rrelus = nn.ModuleList([nn.ReLU() for _ in range(n_layers)])
        self.fconv = nn.Conv1d(n_filters, n_tasks, profile_kernel)
        self.linear = nn.Linear(n_filters, 1)

    def forward(self, x):
        x = self.irelu(self.iconv(x))
        for conv, relu in zip(self.rconvs, self.rrelus):
            c = relu(conv(x))
            crop = (x.shape[2] - c.shape[2]) // 2  # the residual is cropped to match
            x = x[:, :, crop:x.shape[2] - crop] + c
        profile = self.fconv(x)
        count = self.linear(x.mean(-1))
        return profile, count


class BassetLike(nn.Module):
    """Basset: three conv/batchnorm/ReLU/maxpool blocks, flatten, dense x3."""

    def __init__(self, n_out=164, shared_relu=True):
        super().__init__()
        self.conv1, self.bn1, self.pool1 = nn.Conv1d(4, 300, 19), nn.BatchNorm1d(300), nn.MaxPool1d(3)
        self.conv2, self.bn2, self.pool2 = nn.Conv1d(300, 200, 11), nn.BatchNorm1d(200), nn.MaxPool1d(4)
        self.conv3, self.bn3, self.pool3 = nn.Conv1d(200, 200, 7), nn.BatchNorm1d(200), nn.MaxPool1d(4)
        self.flatten = nn.Flatten()
        self.fc1, self.drop1 = nn.Linear(2000, 1000), nn.Dropout(0.3)
        self.fc2, self.drop2 = nn.Linear(1000, 1000), nn.Dropout(0.3)
        self.fc3 = nn.Linear(1000, n_out)
        # hook-based peers (shap, captum, tangermeme) keep one input per module, so a ReLU
        # module used five times breaks them: shared_relu=False gives each use its own
        self.relu = nn.ReLU()
        self.relus = [self.relu] * 5 if shared_relu else nn.ModuleList([nn.ReLU() for _ in range(5)])

    def forward(self, x):
        r = self.relus
        x = self.pool1(r[0](self.bn1(self.conv1(x))))
        x = self.pool2(r[1](self.bn2(self.conv2(x))))
        x = self.pool3(r[2](self.bn3(self.conv3(x))))
        x = self.flatten(x)
        x = self.drop1(r[3](self.fc1(x)))
        x = self.drop2(r[4](self.fc2(x)))
        return self.fc3(x)


class SmallMixed(nn.Module):
    """Small model touching the other ops: padding modes, stride, dilation, bias=False,
    sigmoid/tanh/softplus/elu/gelu/exp, avg and max pools with padding, concat along
    channels and length, crops with negative bounds, residual add, global pools,
    channel-first flatten, a softmax output and a per-position output."""

    def __init__(self):
        super().__init__()
        self.conv_a = nn.Conv1d(4, 8, 5, padding="same")
        self.conv_b = nn.Conv1d(4, 8, 7, padding=3, bias=False)
        self.conv_c = nn.Conv1d(16, 12, 3, dilation=2, padding="valid")
        self.bn = nn.BatchNorm1d(12)
        self.softplus = nn.Softplus(beta=2.0, threshold=5.0)
        self.elu = nn.ELU(alpha=0.7)
        self.avg = nn.AvgPool1d(3, stride=2, padding=1, count_include_pad=False)
        self.conv_d = nn.Conv1d(12, 12, 4, stride=2, padding=2)
        self.gelu = nn.GELU()
        self.maxp = nn.MaxPool1d(2, stride=1, padding=1)
        self.gap = nn.AdaptiveAvgPool1d(1)
        self.gmp = nn.AdaptiveMaxPool1d(1)
        self.track = nn.Conv1d(12, 2, 1)
        self.fc_pool = nn.Linear(24, 3)
        self.fc_flat = nn.Linear(12 * 16, 3)
        self.drop = nn.Dropout(0.1)
        self.softmax = nn.Softmax(dim=1)

    def forward(self, x):
        a = torch.sigmoid(self.conv_a(x))                       # (N, 8, 200)
        b = torch.tanh(self.conv_b(x))                          # (N, 8, 200)
        h = torch.cat([a, b], dim=1)                            # (N, 16, 200)
        h = self.elu(self.bn(self.softplus(self.conv_c(h))))   # (N, 12, 196)
        h = self.avg(h)                                         # (N, 12, 98)
        g = self.gelu(self.conv_d(h))                           # (N, 12, 50)
        h = torch.cat([h[:, :, 10:35], h[:, :, -25:]], dim=2) + g     # (N, 12, 50)
        e = torch.exp(torch.tanh(h))                            # bounded exp
        m = self.maxp(e)                                        # (N, 12, 51)
        pooled = torch.cat([self.gap(m).squeeze(-1), self.gmp(m).flatten(1)], dim=1)  # (N, 24)
        logit = self.fc_pool(self.drop(pooled)) + self.fc_flat(m[:, :, 5:-30].flatten(1))
        track = self.track(F.relu(m[:, :, 3:-3]))                # (N, 2, 45)
        return logit, self.softmax(logit), track


class FunctionalMix(nn.Module):
    """The functional and method spellings the exporter maps (torch.relu, x.mean(dim=2),
    view(N, -1), torch.add, torch.amax, torch.max(x, dim)[0], F.* pools, squeeze,
    Identity, an optional forward() argument, ...)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 6, 3, padding=1)
        self.conv2 = nn.Conv1d(6, 6, 3, padding="same", dilation=2)
        self.bn = nn.BatchNorm1d(6, affine=False)
        self.ident = nn.Identity()
        self.fc = nn.Linear(6 * 8, 4)
        self.fc2 = nn.Linear(6, 2, bias=False)
        self.bn2 = nn.BatchNorm1d(4)

    def forward(self, x, control=None):
        h = F.relu(self.conv1(x))                                   # (N, 6, 40)
        if control is not None:  # an optional argument, fixed at its default by the exporter
            h = h + control
        h = torch.add(h, torch.relu(self.conv2(h)))
        h = self.ident(self.bn(h))
        e = torch.exp(torch.tanh(h)).sigmoid()
        p = F.max_pool1d(F.avg_pool1d(e, 2), 3, 2, 1)               # (N, 6, 10)
        v = p[..., 1:-1].reshape(p.size(0), -1)                     # (N, 48)
        g = h.mean(dim=2) + torch.amax(e, dim=-1) + torch.max(h, dim=2)[0]   # (N, 6)
        g = g + torch.mean(e, axis=-1) + e.max(-1).values
        a = F.adaptive_avg_pool1d(F.elu(h, alpha=0.5), 1).squeeze(-1)
        m = F.adaptive_max_pool1d(F.softplus(h, beta=3.0, threshold=4.0), 1).view(h.shape[0], -1)
        z = torch.cat([self.fc2(g + a + m), self.bn2(self.fc(F.dropout(v, 0.5, self.training)))], dim=1)
        return F.softmax(z, dim=1), z.tanh(), F.gelu(torch.cat([h, e], dim=2))[:, :, ::1]


class ConvPool(nn.Module):
    """Small conv–pool classifier with module nonlinearities only (what hook-based peers
    see): conv/ReLU/MaxPool1d with the ReLU feeding the pool directly (captum 0.8 then
    drops its max-pool rule), conv/ReLU/BatchNorm/MaxPool1d, dense/ReLU/dense.
    overlap=True makes the first pool's windows overlap (kernel 4, stride 2, padding 1)."""

    def __init__(self, n_out=2, overlap=False):
        super().__init__()
        self.conv1, self.relu1 = nn.Conv1d(4, 8, 7, padding=3), nn.ReLU()
        self.pool1 = nn.MaxPool1d(4, stride=2, padding=1) if overlap else nn.MaxPool1d(4)
        self.conv2, self.relu2, self.bn2 = nn.Conv1d(8, 8, 5), nn.ReLU(), nn.BatchNorm1d(8)
        self.pool2 = nn.MaxPool1d(3)
        self.flatten = nn.Flatten()
        n = ((200 + 2 - 4) // 2 + 1 if overlap else 50) - 4
        self.fc1, self.relu3 = nn.Linear(8 * (n // 3), 16), nn.ReLU()
        self.fc2 = nn.Linear(16, n_out)

    def forward(self, x):
        x = self.pool1(self.relu1(self.conv1(x)))
        x = self.pool2(self.bn2(self.relu2(self.conv2(x))))
        return self.fc2(self.relu3(self.fc1(self.flatten(x))))


# ---- bpnet-lite's BPNet and ChromBPNet ----------------------------------------------
# The architecture of bpnet-lite's classes (github.com/jmschrei/bpnet-lite,
# bpnetlite/bpnet.py `BPNet`, bpnetlite/chrombpnet.py `ChromBPNet`, `_Log`, `_Exp`),
# written here from their definitions so the tests can build both with random weights.

class BPNetLite(nn.Module):
    """bpnet-lite BPNet: conv k=21 (padding 10) + ReLU, n_layers residual dilated convs
    k=3 (padding = dilation = 2^i, so lengths stay), profile conv k=75 (padding 37)
    trimmed by `trimming` on each side, counts = Linear(mean over the trimmed window
    widened by 37). No control tracks (n_control_tracks=0, as ChromBPNet's components)."""

    def __init__(self, n_filters=64, n_layers=8, n_outputs=1, trimming=None):
        super().__init__()
        self.n_control_tracks = 0
        self.trimming = trimming or 47 + sum(2 ** i for i in range(1, n_layers + 1))
        self.iconv = nn.Conv1d(4, n_filters, kernel_size=21, padding=10)
        self.irelu = nn.ReLU()
        self.rconvs = nn.ModuleList([nn.Conv1d(n_filters, n_filters, kernel_size=3, padding=2 ** i,
                                               dilation=2 ** i) for i in range(1, n_layers + 1)])
        self.rrelus = nn.ModuleList([nn.ReLU() for _ in range(n_layers)])
        self.fconv = nn.Conv1d(n_filters, n_outputs, kernel_size=75, padding=37)
        self.linear = nn.Linear(n_filters, 1)

    def forward(self, X, X_ctl=None):
        start, end = self.trimming, X.shape[2] - self.trimming
        X = self.irelu(self.iconv(X))
        for conv, relu in zip(self.rconvs, self.rrelus):
            X = torch.add(X, relu(conv(X)))
        y_profile = self.fconv(X)[:, :, start:end]
        X = torch.mean(X[:, :, start - 37:end + 37], dim=2)
        return y_profile, self.linear(X).reshape(X.shape[0], 1)


class Exp(nn.Module):
    """bpnet-lite's chrombpnet._Exp: a module so that hook-based DeepLIFT sees it."""

    def forward(self, X):
        return torch.exp(X)


class Log(nn.Module):
    """bpnet-lite's chrombpnet._Log."""

    def forward(self, X):
        return torch.log(X)


class ChromBPNet(nn.Module):
    """bpnet-lite ChromBPNet: profile = accessibility profile + bias profile cropped to
    its length; counts = log(exp(acc counts) + exp(bias counts))."""

    def __init__(self, bias, accessibility):
        super().__init__()
        self.bias, self.accessibility = bias, accessibility
        self._log, self._exp1, self._exp2 = Log(), Exp(), Exp()

    def forward(self, X, X_ctl=None):
        acc_profile, acc_counts = self.accessibility(X)
        bias_profile, bias_counts = self.bias(X)
        w = (bias_profile.shape[-1] - acc_profile.shape[-1]) // 2
        y_profile = acc_profile + bias_profile[:, :, w:-w]
        y_counts = self._log(self._exp1(acc_counts) + self._exp2(bias_counts))
        return y_profile, y_counts


def _randomise_weights(model, gen, gain):
    """He-style normal weights (std gain*sqrt(2/fan_in)) and small random biases, so that
    activations keep an O(1) scale through the layers and outputs vary between inputs."""
    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            fan_in = m.weight[0].numel()
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * gain * (2.0 / fan_in) ** 0.5)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.1)


def _seeded(cls, seed, gain, *args, **kwargs):
    gen = torch.Generator().manual_seed(seed)
    m = cls(*args, **kwargs)
    _randomise_weights(m, gen, gain)
    _randomise_batchnorm(m, gen)
    return m.eval()


def bpnet_like(n_tasks=1, seed=0):
    return _seeded(BPNetLike, seed, 0.6, n_tasks=n_tasks)


def basset_like(seed=0, shared_relu=True):
    return _seeded(BassetLike, seed, 1.0, shared_relu=shared_relu)


def small_mixed(seed=0):
    return _seeded(SmallMixed, seed, 1.0)


def functional_mix(seed=0):
    return _seeded(FunctionalMix, seed, 1.0)


def conv_pool(seed=0, overlap=False):
    return _seeded(ConvPool, seed, 1.0, overlap=overlap)


def bpnet_lite(seed=0, n_filters=64, n_layers=8):
    return _seeded(BPNetLite, seed, 0.6, n_filters=n_filters, n_layers=n_layers)


def chrombpnet(seed=0, n_filters=32, n_layers=8, bias_filters=16, bias_layers=4):
    """ChromBPNet with random weights. bpnet-lite's shapes need bias_layers < n_layers
    (the bias profile is longer and cropped to the accessibility profile)."""
    gen = torch.Generator().manual_seed(seed)
    m = ChromBPNet(BPNetLite(bias_filters, bias_layers), BPNetLite(n_filters, n_layers))
    _randomise_weights(m, gen, 0.6)
    return m.eval()


MODELS = {
    "bpnet": (bpnet_like, 2114, ["profile", "count"]),
    "bpnet2": (lambda seed=0: bpnet_like(n_tasks=2, seed=seed), 2114, ["profile", "count"]),
    "basset": (basset_like, 600, ["logits"]),
    "small": (small_mixed, 200, ["logit", "probs", "track"]),
    "functional": (functional_mix, 40, ["probs", "z", "seq"]),
    "convpool": (conv_pool, 200, ["logits"]),
    "convpool_overlap": (lambda seed=0: conv_pool(seed, overlap=True), 200, ["logits"]),
    "bpnetlite": (lambda seed=0: bpnet_lite(seed, n_filters=16), 2114, ["profile", "count"]),
    "chrombpnet": (lambda seed=0: chrombpnet(seed, 16, 8, 8, 4), 2114, ["profile", "count"]),
    "chrombpnet_small": (lambda seed=0: chrombpnet(seed, 8, 3, 6, 2), 200, ["profile", "count"]),
}


def random_onehot(n, length, seed=0, n_frac=0.02):
    """(n, 4, length) float32 one-hot batch; about n_frac of positions are N (zero rows)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, 4, size=(n, length))
    x = np.zeros((n, 4, length), np.float32)
    np.put_along_axis(x, idx[:, None, :], 1.0, axis=1)
    x *= (rng.random((n, 1, length)) >= n_frac)
    return x


def onehot_to_seqs(x):
    """(n, 4, L) one-hot -> list of strings, 'N' where the row is zero."""
    x = np.asarray(x)
    idx = x.argmax(axis=1)
    seqs = []
    for i in range(x.shape[0]):
        s = np.array(list("ACGT"))[idx[i]]
        s[x[i].sum(axis=0) == 0] = "N"
        seqs.append("".join(s))
    return seqs


def onehot(seq):
    """ACGT string -> (4, L) float32 one-hot; any other letter (N) is a zero column."""
    x = np.zeros((4, len(seq)), np.float32)
    idx = np.frombuffer(seq.upper().encode("ascii"), np.uint8)
    for j, c in enumerate(b"ACGT"):
        x[j, idx == c] = 1.0
    return x


def read_fasta(path):
    """-> (names, sequences)."""
    names, seqs = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith(">"):
                names.append(line[1:].split()[0] if len(line) > 1 else "")
                seqs.append([])
            elif line and seqs:
                seqs[-1].append(line)
    return names, ["".join(s) for s in seqs]


def write_fasta(path, seqs, names=None):
    with open(path, "w") as f:
        for i, s in enumerate(seqs):
            f.write(">%s\n" % (names[i] if names else "seq%d" % i))
            for j in range(0, len(s), 60):
                f.write(s[j:j + 60] + "\n")
