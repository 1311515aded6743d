#!/usr/bin/env python3
"""Generate the PyTorch reference fixtures for GroupConv's tests.

Run from the repository root:

    python3 Tests/GroupConvTests/Fixtures/make_fixtures.py

Writes next to this script:

* ``manifest.json`` -- ``{"cases": [...]}``, one object per case (schema below);
* ``<name>/*.npy``  -- one folder per case, little-endian float32, C order.

Case object keys
  name            unique snake_case id, also the folder name
  transposed      bool
  stride          [int] * k        (k = number of spatial dims: 1, 2 or 3)
  dilation        [int] * k
  groups          int
  padding         "same" | "valid" | [int] * k (symmetric) | [int] * 2k
                  (all begins, then all ends, like ONNX pads)
  padding_mode    "zeros" | "reflect" | "replicate" | "circular"
  output_padding  [int] * k (all zeros unless transposed)
  bias            bool
  call            the PyTorch expression that produced the case (documentation)
  refused         bool
  accepted cases: input_shape, weight_shape, output_shape;
                  files x, w, [b], y, dy, dx, dw, [db]  (.npy)
                  y = forward(x, w, b); dy random; dx, dw, db = gradients of
                  sum(y * dy) w.r.t. x, w, b.
  refused cases:  error (str(exception), first line), input_shape,
                  weight_shape, bias_shape (or null); files x, w, [b] only.

Inputs are uniform in [-1, 1) from a per-case seed (derived from the case
name, so adding a case never changes the others) and stored as float32.
Forward and backward run in float64 on those exact float32 values; results
are rounded to float32 only when saved.

Folders listed in a previous manifest.json, and folders that hold nothing but
fixture .npy files, are owned by this script and are deleted before writing.
"""

import json
import os
import shutil
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20240611
OWNED_FILES = {"x.npy", "w.npy", "b.npy", "y.npy", "dy.npy", "dx.npy", "dw.npy", "db.npy"}
MODES = ("zeros", "reflect", "replicate", "circular")

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)

CASES = []


def case(name, *, x, w, b=None, stride=None, padding=0, dilation=None, groups=1,
         padding_mode="zeros", output_padding=None, transposed=False, refused=False):
    """Register a case.

    x: input shape [N, C, spatial...]; w: weight shape; b: bias shape (tuple) or None.
    stride / dilation / output_padding: int or per-dim list.
    padding: "same" | "valid" | int | [k ints] | [2k ints] (begins..., ends...).
    """
    k = len(x) - 2
    assert 1 <= k <= 3 and len(w) == k + 2, name

    def per_dim(v, default):
        v = default if v is None else v
        return [int(v)] * k if isinstance(v, int) else [int(i) for i in v]

    if isinstance(padding, str):
        pad = padding
    elif isinstance(padding, int):
        pad = [padding] * k
    else:
        pad = [int(p) for p in padding]
        assert len(pad) in (k, 2 * k), name
    CASES.append(dict(
        name=name, k=k, x=list(x), w=list(w), b=None if b is None else list(b),
        stride=per_dim(stride, 1), dilation=per_dim(dilation, 1), groups=groups,
        padding=pad, padding_mode=padding_mode,
        output_padding=per_dim(output_padding, 0), transposed=transposed,
        refused=refused,
    ))


def conv(name, n, cin, cout, spatial, kernel, groups=1, bias=True, **kw):
    """Accepted convolution: weight [cout, cin/groups, *kernel]."""
    spatial, kernel = list(spatial), list(kernel)
    case(name, x=[n, cin, *spatial], w=[cout, cin // groups, *kernel],
         b=(cout,) if bias else None, groups=groups, **kw)


def convt(name, n, cin, cout, spatial, kernel, groups=1, bias=True, **kw):
    """Accepted transposed convolution: weight [cin, cout/groups, *kernel]."""
    spatial, kernel = list(spatial), list(kernel)
    case(name, x=[n, cin, *spatial], w=[cin, cout // groups, *kernel],
         b=(cout,) if bias else None, groups=groups, transposed=True, **kw)


# --------------------------------------------------------------------------
# Convolution, 1-D
conv("conv1d_basic_n2_bias", 2, 3, 4, [9], [3])
conv("conv1d_n1_no_bias", 1, 2, 3, [7], [3], bias=False)
conv("conv1d_groups2_stride2_pad1", 2, 4, 6, [9], [3], groups=2, stride=2, padding=1)
conv("conv1d_groups3", 1, 6, 3, [8], [3], groups=3, padding=1)
conv("conv1d_depthwise_m1", 2, 3, 3, [9], [3], groups=3, padding=1)
conv("conv1d_depthwise_m2_dilation2", 1, 3, 6, [9], [3], groups=3, dilation=2)
conv("conv1d_depthwise_m3", 1, 2, 6, [7], [3], groups=2, stride=2)
conv("conv1d_stride3_tail_unused", 2, 2, 3, [9], [2], stride=3)           # (9-2) % 3 = 1
conv("conv1d_stride2_tail_unused_pad1", 1, 3, 2, [8], [3], stride=2, padding=1)  # (8+2-3) % 2 = 1
conv("conv1d_even_kernel4", 1, 2, 2, [9], [4], padding=1)
conv("conv1d_kernel_equals_input", 2, 2, 3, [5], [5])
conv("conv1d_pad_int2", 1, 2, 2, [6], [3], padding=2)
conv("conv1d_same_k3", 1, 2, 3, [7], [3], padding="same")
conv("conv1d_same_even_k4", 1, 2, 3, [7], [4], padding="same")
conv("conv1d_same_k2_dilation3", 1, 2, 2, [8], [2], padding="same", dilation=3)
conv("conv1d_valid", 1, 2, 2, [6], [3], padding="valid")
conv("conv1d_asym_pad_1_2", 1, 2, 3, [7], [3], padding=[1, 2])
conv("conv1d_asym_pad_0_3_stride2", 2, 2, 2, [6], [3], padding=[0, 3], stride=2)
conv("conv1d_reflect_pad_max", 1, 2, 3, [5], [3], padding=4, padding_mode="reflect")
conv("conv1d_replicate_pad_gt_input", 1, 2, 2, [3], [3], padding=5, padding_mode="replicate")
conv("conv1d_circular_pad_max", 1, 2, 2, [4], [3], padding=4, padding_mode="circular")
conv("conv1d_reflect_same_even_k4", 1, 2, 2, [6], [4], padding="same", padding_mode="reflect")
conv("conv1d_circular_same_k2_dilation3", 1, 2, 2, [6], [2], padding="same", dilation=3,
     padding_mode="circular")
conv("conv1d_asym_reflect_2_1", 1, 2, 2, [5], [3], padding=[2, 1], padding_mode="reflect")
conv("conv1d_empty_batch", 0, 2, 4, [7], [3], groups=2, padding=1)

# Convolution, 2-D
conv("conv2d_basic_n2_bias", 2, 3, 4, [6, 5], [3, 3], padding=1)
conv("conv2d_n1_no_bias", 1, 2, 3, [5, 5], [3, 3], bias=False)
conv("conv2d_groups2", 2, 4, 6, [6, 6], [3, 3], groups=2, padding=1)
conv("conv2d_groups3_2to1", 1, 6, 3, [5, 6], [3, 3], groups=3)
conv("conv2d_depthwise_m1", 2, 3, 3, [6, 6], [3, 3], groups=3, padding=1)
conv("conv2d_depthwise_m2", 1, 3, 6, [6, 5], [3, 3], groups=3, stride=2, padding=1)
conv("conv2d_depthwise_m3", 1, 2, 6, [5, 5], [3, 3], groups=2)
conv("conv2d_groups6_1to2", 1, 6, 12, [4, 4], [3, 3], groups=6, padding=1, bias=False)
conv("conv2d_stride2", 1, 2, 3, [7, 7], [3, 3], stride=2)
conv("conv2d_stride3_tail_unused", 2, 2, 2, [8, 8], [3, 3], stride=3)      # (8-3) % 3 = 2
conv("conv2d_stride_2x3_per_dim", 1, 2, 3, [7, 9], [3, 3], stride=[2, 3], padding=1)
conv("conv2d_dilation2", 1, 2, 2, [7, 7], [3, 3], dilation=2)
conv("conv2d_dilation_mixed_1x2", 1, 2, 3, [6, 8], [3, 3], dilation=[1, 2], padding=[1, 0])
conv("conv2d_dilation_stride_groups_tail_unused", 2, 4, 4, [9, 8], [3, 2], groups=2,
     stride=[2, 3], dilation=[2, 1], padding=[1, 2])
conv("conv2d_even_kernel2", 1, 2, 3, [5, 5], [2, 2])
conv("conv2d_even_kernel4_pad1", 1, 2, 2, [6, 6], [4, 4], padding=1)
conv("conv2d_rect_kernel_2x3", 2, 2, 3, [5, 6], [2, 3])
conv("conv2d_rect_kernel_1x3", 1, 3, 2, [4, 6], [1, 3], padding=[0, 1])
conv("conv2d_kernel_equals_input", 2, 4, 2, [4, 5], [4, 5], groups=2)
conv("conv2d_image1x1_kernel1x1", 2, 3, 4, [1, 1], [1, 1])
conv("conv2d_image1x1_kernel1x1_depthwise_m2", 1, 2, 4, [1, 1], [1, 1], groups=2)
conv("conv2d_pointwise_1x1_groups2", 2, 4, 6, [4, 5], [1, 1], groups=2)
conv("conv2d_pad_int2", 1, 2, 2, [4, 4], [3, 3], padding=2)
conv("conv2d_pad_per_dim_1x2", 1, 2, 3, [5, 4], [3, 3], padding=[1, 2])
conv("conv2d_same_k3", 1, 2, 3, [5, 6], [3, 3], padding="same")
conv("conv2d_same_even_k4x2", 1, 2, 2, [6, 5], [4, 2], padding="same")
conv("conv2d_same_dilation_2x3_groups2", 1, 4, 4, [7, 7], [3, 2], groups=2, padding="same",
     dilation=[2, 3])
conv("conv2d_valid", 1, 2, 3, [5, 6], [3, 2], padding="valid")
conv("conv2d_asym_pad", 1, 2, 3, [5, 5], [3, 3], padding=[0, 1, 2, 1])
conv("conv2d_asym_pad_stride2_tail_unused", 2, 2, 2, [6, 5], [3, 3], stride=2,
     padding=[2, 0, 1, 0])
conv("conv2d_reflect_pad_max", 1, 2, 2, [4, 5], [3, 3], padding=[3, 4], padding_mode="reflect")
conv("conv2d_replicate_pad_gt_input", 1, 2, 2, [3, 2], [3, 3], padding=[4, 3],
     padding_mode="replicate")
conv("conv2d_circular_pad_max", 1, 2, 2, [3, 4], [3, 3], padding=[3, 4], padding_mode="circular")
conv("conv2d_reflect_same_even_k4", 1, 2, 2, [5, 5], [4, 4], padding="same",
     padding_mode="reflect")
conv("conv2d_replicate_same_k2x3", 1, 2, 3, [4, 5], [2, 3], padding="same",
     padding_mode="replicate")
conv("conv2d_circular_same_even_k2_dilation3", 1, 2, 2, [5, 6], [2, 2], padding="same",
     dilation=3, padding_mode="circular")
conv("conv2d_reflect_groups2_stride2", 2, 4, 4, [6, 5], [3, 3], groups=2, stride=2, padding=2,
     padding_mode="reflect")
conv("conv2d_asym_reflect", 1, 2, 2, [5, 4], [3, 3], padding=[2, 0, 1, 3], padding_mode="reflect")
conv("conv2d_asym_replicate", 1, 2, 2, [3, 4], [3, 3], padding=[4, 1, 0, 2],
     padding_mode="replicate")
conv("conv2d_asym_circular", 1, 2, 2, [4, 3], [3, 3], padding=[1, 3, 4, 0],
     padding_mode="circular")
conv("conv2d_empty_batch", 0, 4, 6, [5, 5], [3, 3], groups=2, stride=2, padding=1)
conv("conv2d_empty_batch_reflect", 0, 2, 2, [4, 4], [3, 3], padding=1, padding_mode="reflect")

# Convolution, 3-D
conv("conv3d_basic_n2_bias", 2, 2, 3, [4, 5, 4], [3, 3, 3], padding=1)
conv("conv3d_n1_no_bias", 1, 2, 2, [4, 4, 4], [3, 3, 3], bias=False)
conv("conv3d_groups2_stride2_pad1", 1, 4, 4, [5, 5, 5], [3, 3, 3], groups=2, stride=2, padding=1)
conv("conv3d_groups3", 1, 3, 6, [3, 4, 4], [2, 2, 2], groups=3, bias=False)
conv("conv3d_depthwise_m2", 1, 2, 4, [4, 4, 5], [3, 3, 3], groups=2, padding=1)
conv("conv3d_stride_dilation_mixed", 1, 2, 2, [5, 5, 5], [2, 3, 2], stride=[1, 2, 3],
     dilation=[2, 1, 2])
conv("conv3d_rect_kernel_2x1x3", 1, 2, 3, [4, 3, 5], [2, 1, 3], padding=[0, 1, 1])
conv("conv3d_kernel_equals_input", 1, 2, 2, [3, 4, 2], [3, 4, 2])
conv("conv3d_same_even_k2x4x3", 1, 2, 2, [4, 5, 4], [2, 4, 3], padding="same")
conv("conv3d_valid", 1, 2, 2, [4, 4, 3], [2, 3, 2], padding="valid")
conv("conv3d_asym_pad", 1, 2, 2, [3, 4, 3], [3, 3, 2], padding=[1, 0, 2, 0, 2, 1])
conv("conv3d_reflect_pad_max", 1, 2, 2, [3, 4, 4], [3, 3, 3], padding=[2, 3, 3],
     padding_mode="reflect")
conv("conv3d_replicate_pad_gt_input", 1, 2, 2, [2, 3, 2], [3, 3, 3], padding=[3, 4, 3],
     padding_mode="replicate")
conv("conv3d_circular_pad_max", 1, 2, 2, [2, 3, 3], [3, 3, 3], padding=[2, 3, 3],
     padding_mode="circular")
conv("conv3d_replicate_same_even_k2", 1, 2, 2, [3, 4, 3], [2, 2, 2], padding="same",
     padding_mode="replicate")
conv("conv3d_empty_batch", 0, 2, 4, [4, 4, 4], [3, 3, 3], groups=2, padding=1)

# --------------------------------------------------------------------------
# Transposed convolution, 1-D
convt("convt1d_basic_n2_bias", 2, 3, 2, [5], [3])
convt("convt1d_stride3_pad1_outpad2", 1, 2, 3, [4], [3], stride=3, padding=1, output_padding=2)
convt("convt1d_groups2_dilation2", 1, 4, 6, [5], [3], groups=2, dilation=2, bias=False)
convt("convt1d_asym_pad", 1, 2, 2, [5], [4], stride=2, padding=[0, 2])
convt("convt1d_empty_batch", 0, 2, 3, [4], [3], stride=2)

# Transposed convolution, 2-D
convt("convt2d_basic_n2_bias", 2, 3, 4, [4, 5], [3, 3])
convt("convt2d_n1_no_bias", 1, 2, 3, [4, 4], [3, 3], bias=False)
convt("convt2d_groups2_stride2_pad1_outpad1", 2, 4, 6, [4, 4], [3, 3], groups=2, stride=2,
      padding=1, output_padding=1)
convt("convt2d_groups3", 1, 6, 3, [3, 4], [3, 3], groups=3, padding=1)
convt("convt2d_depthwise_m1", 1, 3, 3, [4, 4], [3, 3], groups=3, stride=2)
convt("convt2d_depthwise_m2", 2, 2, 4, [3, 4], [3, 3], groups=2, stride=2, padding=1)
convt("convt2d_depthwise_m3", 1, 2, 6, [3, 3], [2, 2], groups=2, stride=2, bias=False)
convt("convt2d_groups6_1to2", 1, 6, 12, [3, 3], [3, 3], groups=6, padding=1)
convt("convt2d_stride3", 1, 2, 2, [3, 3], [3, 3], stride=3)
convt("convt2d_stride_2x3_outpad_1x2", 1, 2, 3, [3, 3], [3, 2], stride=[2, 3], padding=[1, 0],
      output_padding=[1, 2])
convt("convt2d_outpad_ge_stride_lt_dilation", 1, 2, 2, [3, 3], [3, 3], stride=2, dilation=3,
      output_padding=2)
convt("convt2d_dilation_mixed_2x1", 1, 2, 2, [4, 3], [3, 3], dilation=[2, 1], padding=[2, 1])
convt("convt2d_rect_even_kernel_2x4", 1, 2, 3, [3, 4], [2, 4], stride=2, padding=[0, 1])
convt("convt2d_kernel1x1", 1, 4, 2, [3, 3], [1, 1], groups=2)
convt("convt2d_image1x1_kernel1x1", 2, 3, 2, [1, 1], [1, 1])
convt("convt2d_asym_pad", 1, 2, 2, [4, 4], [3, 3], stride=2, padding=[0, 1, 2, 1])
convt("convt2d_asym_pad_outpad_groups2", 1, 4, 2, [3, 3], [3, 3], groups=2, stride=2,
      padding=[1, 2, 0, 1], output_padding=[1, 1])
convt("convt2d_empty_batch", 0, 4, 2, [3, 3], [3, 3], groups=2, stride=2, padding=1,
      output_padding=1)

# Transposed convolution, 3-D
convt("convt3d_basic_n2_bias", 2, 2, 2, [3, 3, 2], [2, 3, 2])
convt("convt3d_groups2_stride2_outpad1", 1, 4, 2, [2, 3, 2], [3, 3, 3], groups=2, stride=2,
      padding=1, output_padding=1)
convt("convt3d_depthwise_m2_dilation", 1, 2, 4, [2, 2, 3], [2, 2, 2], groups=2,
      dilation=[2, 1, 2], bias=False)
convt("convt3d_asym_pad_stride_mixed", 1, 2, 2, [2, 3, 2], [3, 2, 3], stride=[2, 1, 2],
      padding=[1, 0, 2, 0, 1, 1])
convt("convt3d_empty_batch", 0, 2, 2, [2, 2, 2], [2, 2, 2], stride=2)

# --------------------------------------------------------------------------
# Refused by PyTorch (the call must throw)
R = dict(refused=True)
case("conv2d_refused_in_channels_not_divisible_by_groups", x=[1, 3, 5, 5], w=[4, 1, 3, 3],
     groups=2, **R)
case("conv2d_refused_out_channels_not_divisible_by_groups", x=[1, 4, 5, 5], w=[3, 2, 3, 3],
     groups=2, **R)
case("conv2d_refused_weight_channels_mismatch", x=[1, 4, 5, 5], w=[4, 3, 3, 3], **R)
case("conv1d_refused_weight_channels_mismatch_groups2", x=[1, 4, 5], w=[4, 1, 3], groups=2, **R)
case("conv2d_refused_bias_wrong_length", x=[1, 2, 5, 5], w=[4, 2, 3, 3], b=(3,), **R)
case("conv2d_refused_groups_zero", x=[1, 2, 5, 5], w=[2, 2, 3, 3], groups=0, **R)
case("conv2d_refused_kernel_larger_than_padded_input", x=[1, 2, 3, 3], w=[2, 2, 3, 4],
     padding=[1, 0], **R)
case("conv1d_refused_kernel_larger_than_input", x=[1, 2, 3], w=[2, 2, 4], **R)
case("conv3d_refused_kernel_larger_than_input", x=[1, 2, 3, 3, 3], w=[2, 2, 3, 3, 4], **R)
case("conv2d_refused_stride_zero", x=[1, 2, 5, 5], w=[2, 2, 3, 3], stride=[1, 0], **R)
case("conv2d_refused_dilation_zero", x=[1, 2, 5, 5], w=[2, 2, 3, 3], dilation=[0, 1], **R)
case("conv1d_refused_dilation_zero", x=[1, 2, 5], w=[2, 2, 3], dilation=0, **R)
case("conv2d_refused_negative_padding", x=[1, 2, 5, 5], w=[2, 2, 3, 3], padding=[-1, 1], **R)
case("conv2d_refused_same_with_stride2", x=[1, 2, 5, 5], w=[2, 2, 3, 3], padding="same",
     stride=2, **R)
case("conv1d_refused_reflect_pad_eq_input", x=[1, 2, 5], w=[2, 2, 3], padding=5,
     padding_mode="reflect", **R)
case("conv2d_refused_reflect_pad_eq_input", x=[1, 2, 4, 5], w=[2, 2, 3, 3], padding=[4, 3],
     padding_mode="reflect", **R)
case("conv3d_refused_reflect_pad_eq_input", x=[1, 2, 3, 4, 4], w=[2, 2, 3, 3, 3],
     padding=[3, 1, 1], padding_mode="reflect", **R)
case("conv1d_refused_circular_pad_gt_input", x=[1, 2, 4], w=[2, 2, 3], padding=5,
     padding_mode="circular", **R)
case("conv2d_refused_circular_pad_gt_input", x=[1, 2, 3, 4], w=[2, 2, 3, 3], padding=[4, 5],
     padding_mode="circular", **R)
case("convt2d_refused_output_padding_too_large", x=[1, 2, 4, 4], w=[2, 2, 3, 3], stride=2,
     output_padding=2, transposed=True, **R)
case("convt1d_refused_output_padding_too_large", x=[1, 2, 4], w=[2, 2, 3], stride=2, dilation=2,
     output_padding=2, transposed=True, **R)
case("convt2d_refused_negative_output_padding", x=[1, 2, 4, 4], w=[2, 2, 3, 3], stride=2,
     output_padding=[-1, 0], transposed=True, **R)
case("convt2d_refused_in_channels_not_divisible_by_groups", x=[1, 3, 4, 4], w=[3, 2, 3, 3],
     groups=2, transposed=True, **R)
case("convt2d_refused_weight_channels_mismatch", x=[1, 4, 4, 4], w=[3, 2, 3, 3],
     transposed=True, **R)
case("convt2d_refused_bias_wrong_length", x=[1, 4, 4, 4], w=[4, 2, 3, 3], b=(3,),
     transposed=True, **R)
case("convt2d_refused_stride_zero", x=[1, 2, 4, 4], w=[2, 2, 3, 3], stride=[0, 1],
     transposed=True, **R)
case("convt2d_refused_dilation_zero", x=[1, 2, 4, 4], w=[2, 2, 3, 3], dilation=[1, 0],
     transposed=True, **R)
case("convt2d_refused_negative_padding", x=[1, 2, 4, 4], w=[2, 2, 3, 3], padding=[0, -1],
     transposed=True, **R)
case("convt2d_refused_output_size_not_positive", x=[1, 2, 2, 2], w=[2, 2, 3, 3], padding=2,
     transposed=True, **R)


# --------------------------------------------------------------------------
def fmt(v):
    return repr(tuple(v)) if isinstance(v, list) else repr(v)


def is_asym(c):
    return isinstance(c["padding"], list) and len(c["padding"]) == 2 * c["k"]


def torch_pad_arg(c):
    """F.pad argument for asymmetric [begins..., ends...]: last dim first."""
    k, p = c["k"], c["padding"]
    out = []
    for d in reversed(range(k)):
        out += [p[d], p[k + d]]
    return out


def call_string(c):
    k, t = c["k"], c["transposed"]
    s, d, g, op = fmt(c["stride"]), fmt(c["dilation"]), c["groups"], fmt(c["output_padding"])
    b = "b" if c["b"] is not None else "None"
    if t:
        if is_asym(c):
            kk = c["w"][2:]
            crops = []
            for i in range(k):
                beg, end = c["padding"][i], c["padding"][k + i]
                size = ((c["x"][2 + i] - 1) * c["stride"][i] - beg - end
                        + c["dilation"][i] * (kk[i] - 1) + c["output_padding"][i] + 1)
                crops.append(f"{beg}:{beg + size}")
            return (f"F.conv_transpose{k}d(x, w, {b}, stride={s}, padding=0, output_padding={op}, "
                    f"groups={g}, dilation={d})[:, :, {', '.join(crops)}]")
        return (f"F.conv_transpose{k}d(x, w, {b}, stride={s}, padding={fmt(c['padding'])}, "
                f"output_padding={op}, groups={g}, dilation={d})")
    if is_asym(c):
        mode = "constant" if c["padding_mode"] == "zeros" else c["padding_mode"]
        return (f"F.conv{k}d(F.pad(x, {tuple(torch_pad_arg(c))}, mode={mode!r}), w, {b}, "
                f"stride={s}, padding=0, dilation={d}, groups={g})")
    if c["padding_mode"] == "zeros":
        return (f"F.conv{k}d(x, w, {b}, stride={s}, padding={fmt(c['padding'])}, dilation={d}, "
                f"groups={g})")
    cin, cout, ks = c["x"][1], c["w"][0], fmt(c["w"][2:])
    return (f"torch.func.functional_call(nn.Conv{k}d({cin}, {cout}, {ks}, stride={s}, "
            f"padding={fmt(c['padding'])}, dilation={d}, groups={g}, bias={c['b'] is not None}, "
            f"padding_mode={c['padding_mode']!r}), {{'weight': w, 'bias': b}}, (x,))")


def forward(c, x, w, b):
    k, t = c["k"], c["transposed"]
    stride, dil, g, op = c["stride"], c["dilation"], c["groups"], c["output_padding"]
    pad = c["padding"]
    if t:
        assert c["padding_mode"] == "zeros"
        f = [None, F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][k]
        if is_asym(c):
            y = f(x, w, b, stride, 0, op, g, dil)
            kk = w.shape[2:]
            for i in range(k):
                beg, end = pad[i], pad[k + i]
                size = ((x.shape[2 + i] - 1) * stride[i] - beg - end
                        + dil[i] * (kk[i] - 1) + op[i] + 1)
                y = y.narrow(2 + i, beg, size)
            return y
        return f(x, w, b, stride, pad, op, g, dil)
    f = [None, F.conv1d, F.conv2d, F.conv3d][k]
    if is_asym(c):
        mode = "constant" if c["padding_mode"] == "zeros" else c["padding_mode"]
        return f(F.pad(x, torch_pad_arg(c), mode=mode), w, b, stride, 0, dil, g)
    if c["padding_mode"] == "zeros":
        return f(x, w, b, stride, pad, dil, g)
    module_cls = [None, nn.Conv1d, nn.Conv2d, nn.Conv3d][k]
    m = module_cls(x.shape[1], w.shape[0], tuple(w.shape[2:]), stride=tuple(stride),
                   padding=pad if isinstance(pad, str) else tuple(pad),
                   dilation=tuple(dil), groups=g, bias=b is not None, padding_mode=c["padding_mode"],
                   device="meta")
    params = {"weight": w}
    if b is not None:
        params["bias"] = b
    return torch.func.functional_call(m, params, (x,))


def rng_for(name):
    return np.random.default_rng([SEED, zlib.crc32(name.encode())])


def rand(rng, shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype("<f4")


def save(folder, fname, arr):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(os.path.join(folder, fname), arr)


def build(c):
    folder = os.path.join(HERE, c["name"])
    os.makedirs(folder)
    rng = rng_for(c["name"])
    x32, w32 = rand(rng, c["x"]), rand(rng, c["w"])
    b32 = rand(rng, c["b"]) if c["b"] is not None else None
    save(folder, "x.npy", x32)
    save(folder, "w.npy", w32)
    if b32 is not None:
        save(folder, "b.npy", b32)
    entry = {
        "name": c["name"],
        "transposed": c["transposed"],
        "stride": c["stride"],
        "dilation": c["dilation"],
        "groups": c["groups"],
        "padding": c["padding"],
        "padding_mode": c["padding_mode"],
        "output_padding": c["output_padding"],
        "bias": c["b"] is not None,
        "call": call_string(c),
        "refused": c["refused"],
        "input_shape": c["x"],
        "weight_shape": c["w"],
    }

    if c["refused"]:
        messages = []
        for dtype in (torch.float32, torch.float64):
            xt = torch.from_numpy(x32).to(dtype)
            wt = torch.from_numpy(w32).to(dtype)
            bt = torch.from_numpy(b32).to(dtype) if b32 is not None else None
            try:
                with torch.no_grad():
                    y = forward(c, xt, wt, bt)
            except Exception as e:  # noqa: BLE001 - we record whatever PyTorch raises
                messages.append(str(e).split("\n")[0])
            else:
                sys.exit(f"{c['name']}: PyTorch did not refuse ({dtype}); output {tuple(y.shape)}")
        if messages[0] != messages[1]:
            sys.exit(f"{c['name']}: float32/float64 messages differ: {messages}")
        entry["bias_shape"] = c["b"]
        entry["error"] = messages[0]
        return entry

    x = torch.from_numpy(x32).double().requires_grad_()
    w = torch.from_numpy(w32).double().requires_grad_()
    b = torch.from_numpy(b32).double().requires_grad_() if b32 is not None else None
    y = forward(c, x, w, b)
    dy32 = rand(rng, tuple(y.shape))
    inputs = [x, w] + ([b] if b is not None else [])
    grads = torch.autograd.grad(y, inputs, grad_outputs=torch.from_numpy(dy32).double(),
                                allow_unused=True, materialize_grads=True)
    save(folder, "y.npy", y.detach().numpy())
    save(folder, "dy.npy", dy32)
    save(folder, "dx.npy", grads[0].numpy())
    save(folder, "dw.npy", grads[1].numpy())
    if b is not None:
        save(folder, "db.npy", grads[2].numpy())
    entry["output_shape"] = list(y.shape)
    return entry


def remove_stale():
    manifest = os.path.join(HERE, "manifest.json")
    owned = set()
    if os.path.exists(manifest):
        with open(manifest) as fh:
            owned = {c["name"] for c in json.load(fh).get("cases", [])}
    for entry in sorted(os.listdir(HERE)):
        path = os.path.join(HERE, entry)
        if not os.path.isdir(path) or entry == "__pycache__":
            continue
        contents = set(os.listdir(path))
        if entry in owned or (contents and contents <= OWNED_FILES) or not contents:
            shutil.rmtree(path)
        else:
            print(f"warning: leaving unknown folder {entry!r}", file=sys.stderr)


def main():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    remove_stale()
    entries = [build(c) for c in CASES]
    with open(os.path.join(HERE, "manifest.json"), "w") as fh:
        json.dump({"cases": entries}, fh, indent=1)
        fh.write("\n")
    n_ref = sum(e["refused"] for e in entries)
    print(f"wrote {len(entries)} cases ({len(entries) - n_ref} accepted, {n_ref} refused) "
          f"with torch {torch.__version__}")


if __name__ == "__main__":
    main()
