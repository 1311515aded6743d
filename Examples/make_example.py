#!/usr/bin/env python3
"""Write the example of README's first command: a MobileNet-style depthwise 3x3 convolution
with a channel multiplier of 2, and the output PyTorch computes for it.

Run from the repository root:  python3 Examples/make_example.py
"""
import os
import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
generator = torch.Generator().manual_seed(7)
x = torch.rand(1, 16, 28, 28, generator=generator) * 2 - 1
conv = torch.nn.Conv2d(16, 32, kernel_size=3, padding=1, groups=16)
with torch.no_grad():
    conv.weight.copy_(torch.rand(conv.weight.shape, generator=generator) - 0.5)
    conv.bias.copy_(torch.rand(conv.bias.shape, generator=generator) - 0.5)
    y = conv(x)
for name, tensor in [("x", x), ("w", conv.weight), ("b", conv.bias), ("y_pytorch", y)]:
    np.save(os.path.join(here, name + ".npy"), tensor.detach().numpy().astype("<f4"))
print("wrote x, w, b and y_pytorch =", "torch.nn.Conv2d(16, 32, 3, padding=1, groups=16)(x)")
