"""Writes samples/bridges/torch-attention.json: one attention head in PyTorch, captured by gradtrace.torch.

    python samples/bridges/torch-attention.py      # needs torch (python/test_torch_bridge.py checks the bytes)

The committed JSON is what the main job renders (scripts/render-samples.sh needs no framework)."""
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import gradtrace.torch as gt  # noqa: E402


class Head(nn.Module):
    """softmax(Q Kᵀ / √d) V on 3 tokens of width 4, head width d = 2, then a linear read-out to 3 classes."""

    def __init__(self):
        super().__init__()
        self.q = nn.Linear(4, 2, bias=False)
        self.k = nn.Linear(4, 2, bias=False)
        self.v = nn.Linear(4, 2, bias=False)
        self.out = nn.Linear(2, 3)

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        a = F.softmax(q @ k.T / math.sqrt(2), dim=-1)
        return self.out(a @ v)


torch.manual_seed(3)
model = Head().double()
with torch.no_grad():  # one decimal, so that the picture reads easily
    for p in model.parameters():
        p.copy_(torch.round(p * 20) / 10)
x = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.0, 1.0], [1.0, 1.0, 0.0, -1.0]], dtype=torch.float64)
y = torch.tensor([2, 0, 1])


def loss(x, y):
    return F.cross_entropy(model(x), y)


out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch-attention.json")
gt.capture(loss, x, y, model=model).write(sys.argv[1] if len(sys.argv) > 1 else out)
