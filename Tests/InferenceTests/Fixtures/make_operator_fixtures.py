"""Writes the one-node ONNX fixtures of the operator tests (Tests never run Python).

For every case: operators/<name>.onnx, a model of one node whose constant inputs are
initializers; operators/<name>.<i>.npy, the value of node input i when it is a graph input;
operators/<name>.out<k>.npy, the expected output k; and a line of operators.json naming the
operator, the opset and where the expected outputs came from. Expected outputs come from
onnx.reference.ReferenceEvaluator; where it and onnxruntime disagree, from onnxruntime
(in onnx 1.23 the reference gets Softmax/LogSoftmax before opset 13, BatchNormalization
opset 9 on 3-D input, MaxPool SAME_LOWER with strides and GlobalMaxPool 3-D wrong); LRN from
numpy here (the reference sums over the batch axis, onnxruntime refuses even sizes).

    python3 Tests/InferenceTests/Fixtures/make_operator_fixtures.py
"""

import json
import os
import shutil
import zlib

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "operators")
CASES = []


def data(name, shape, low=-2.0, high=2.0):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return rng.uniform(low, high, size=shape).astype(np.float32)


def case(name, op, opset, inputs, outputs=1, numpy=None, **attributes):
    """inputs: (name, array, constant) triples; a None array is an absent input ("").
    numpy: the expected outputs computed here, where neither runtime is right (LRN)."""
    node_inputs, graph_inputs, initializers, feeds = [], [], [], {}
    for input_name, value, constant in inputs:
        if value is None:
            node_inputs.append("")
            continue
        node_inputs.append(input_name)
        if constant:
            initializers.append(numpy_helper.from_array(np.asarray(value), input_name))
        else:
            graph_inputs.append(
                helper.make_tensor_value_info(input_name, TensorProto.FLOAT, value.shape))
            feeds[input_name] = value
    output_names = [f"y{k}" for k in range(outputs)]
    node = helper.make_node(op, node_inputs, output_names, name=name, **attributes)
    graph = helper.make_graph(
        [node], name, graph_inputs,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in output_names],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    try:
        expected = [np.asarray(y, dtype=np.float32)
                    for y in ReferenceEvaluator(model).run(None, feeds)]
        source = "reference"
    except Exception as error:  # the reference pads no negative amounts
        print(f"{name}: the reference did not run it ({type(error).__name__})")
        expected, source = None, "onnxruntime"
    if numpy is not None:
        expected, source = [np.asarray(y, dtype=np.float32) for y in numpy], "numpy"
    try:
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"])
        runtime = session.run(None, feeds)
        agree = expected is not None and all(a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)
                    for a, b in zip(expected, runtime))
        if not agree and numpy is None:
            if expected is not None:
                print(f"{name}: reference and onnxruntime differ; using onnxruntime")
            expected, source = [np.asarray(y, dtype=np.float32) for y in runtime], "onnxruntime"
    except Exception as error:  # an opset or form onnxruntime does not run
        print(f"{name}: onnxruntime did not run it ({type(error).__name__})")
    onnx.save(model, os.path.join(OUT, name + ".onnx"))
    for index, input_name in enumerate(node_inputs):
        if input_name in feeds:
            np.save(os.path.join(OUT, f"{name}.{index}.npy"), feeds[input_name])
    for k, y in enumerate(expected):
        np.save(os.path.join(OUT, f"{name}.out{k}.npy"), y)
    CASES.append({"name": name, "op": op, "opset": opset, "source": source})


def x(name, shape, **kw):
    return ("x", data(name, shape, **kw), False)


def const(input_name, value, dtype=np.int64):
    return (input_name, np.asarray(value, dtype=dtype), True)


def activations():
    for op, opset, attrs, low in [
        ("Relu", 14, {}, -2), ("Relu", 9, {}, -2), ("Sigmoid", 13, {}, -2),
        ("Tanh", 13, {}, -2), ("Erf", 13, {}, -2), ("Exp", 13, {}, -2), ("Neg", 13, {}, -2),
        ("Sqrt", 13, {}, 0.1), ("Reciprocal", 13, {}, 0.5), ("HardSwish", 14, {}, -5),
        ("HardSigmoid", 9, {"alpha": 0.3, "beta": 0.4}, -5), ("HardSigmoid", 21, {}, -5),
        ("LeakyRelu", 16, {"alpha": 0.2}, -2), ("LeakyRelu", 9, {}, -2),
    ]:
        name = f"{op.lower()}_opset{opset}" + ("_attrs" if attrs else "")
        case(name, op, opset, [x(name, (2, 3, 5, 7), low=low, high=5)], **attrs)
    case("clip_opset9_attrs", "Clip", 9, [x("c9", (3, 17), high=3)], min=-0.5, max=1.5)
    case("clip_opset6_default", "Clip", 9, [x("c6", (3, 17), high=3)])
    case("clip_opset13_inputs", "Clip", 13,
         [x("c13", (3, 17), high=3), const("min", -0.5, np.float32), const("max", 1.0, np.float32)])
    case("clip_opset12_max_only", "Clip", 12,
         [x("c12", (3, 17), high=3), ("min", None, True), const("max", 0.25, np.float32)])


def elementwise():
    for op in ["Add", "Sub", "Mul", "Div", "Pow"]:
        low = 0.5 if op == "Pow" else -2
        a = lambda n, s: ("a", data(n + "a", s, low=low), False)
        b = lambda n, s: ("b", data(n + "b", s, low=0.5), False)
        lower = op.lower()
        case(f"{lower}_same", op, 14, [a(lower, (2, 3, 5)), b(lower, (2, 3, 5))])
        case(f"{lower}_channel_constant", op, 13,
             [a(lower, (2, 5, 3, 4)), ("b", data(lower + "c", (5, 1, 1), low=0.5), True)])
    case("add_scalar_constant_first", "Add", 14,
         [("a", np.float32(1.5), True), ("b", data("asc", (3, 4)), False)])
    case("mul_both_ways", "Mul", 9, [("a", data("mb1", (3, 1, 5)), False),
                                     ("b", data("mb2", (4, 1)), False)])
    case("sub_row_vector", "Sub", 7 + 2, [("a", data("srv1", (2, 3, 9)), False),
                                          ("b", data("srv2", (9,)), False)])
    case("div_into_larger", "Div", 13, [("a", data("dil1", (1, 3, 1)), False),
                                        ("b", data("dil2", (2, 3, 4), low=0.5), False)])
    for op in ["Max", "Min", "Sum", "Mean"]:
        lower = op.lower()
        case(f"{lower}_three_broadcast", op, 13,
             [("a", data(lower + "1", (2, 3, 4)), False), ("b", data(lower + "2", (3, 1)), False),
              ("c", data(lower + "3", (4,)), True)])
        case(f"{lower}_one", op, 9, [("a", data(lower + "0", (2, 5)), False)])
    case("sum_two_grow", "Sum", 9, [("a", data("stg1", (3, 1)), False),
                                    ("b", data("stg2", (1, 4)), False)])


def lrn(x, size, alpha, beta, bias):
    """The ONNX formula: squares summed over channels c - floor((size - 1) / 2) through
    c + ceil((size - 1) / 2)."""
    squares = np.zeros_like(x, dtype=np.float64)
    channels = x.shape[1]
    for c in range(channels):
        begin = max(0, c - (size - 1) // 2)
        end = min(channels, c + (size - 1 - (size - 1) // 2) + 1)
        squares[:, c] = np.sum(x[:, begin:end].astype(np.float64) ** 2, axis=1)
    return x / (bias + alpha / size * squares) ** beta


def normalizations():
    c = 5
    stats = lambda n: [const(k, v, np.float32) for k, v in [
        ("scale", data(n + "s", (c,))), ("bias", data(n + "b", (c,))),
        ("mean", data(n + "m", (c,))), ("var", data(n + "v", (c,), low=0.1, high=2))]]
    case("batchnorm_opset15", "BatchNormalization", 15,
         [x("bn15", (2, c, 3, 4))] + stats("bn15"), epsilon=1e-3)
    case("batchnorm_opset9_1d", "BatchNormalization", 9, [x("bn9", (3, c, 7))] + stats("bn9"))
    case("batchnorm_opset14_rank2", "BatchNormalization", 14,
         [x("bn14", (4, c))] + stats("bn14"), training_mode=0)
    # The reference sums over the wrong axis; onnxruntime takes odd sizes only.
    for name, size in [("lrn_size3", 3), ("lrn_size4", 4), ("lrn_size1", 1)]:
        value = data(name, (2, 6, 3, 5))
        case(name, "LRN", 13, [("x", value, False)], numpy=[lrn(value, size, 0.2, 0.6, 1.5)],
             size=size, alpha=0.2, beta=0.6, bias=1.5)
    value = data("lrn9", (1, 7, 4, 4))
    case("lrn_opset9_defaults", "LRN", 9, [("x", value, False)],
         numpy=[lrn(value, 5, 1e-4, 0.75, 1.0)], size=5)
    case("layernorm_last", "LayerNormalization", 17,
         [x("ln1", (3, 4, 19)), const("scale", data("ln1s", (19,)), np.float32),
          const("bias", data("ln1b", (19,)), np.float32)], epsilon=1e-3)
    case("layernorm_axis1_no_bias", "LayerNormalization", 17,
         [x("ln2", (2, 3, 5)), const("scale", data("ln2s", (3, 5)), np.float32)], axis=1)
    case("layernorm_negative_axis_broadcast_scale", "LayerNormalization", 17,
         [x("ln3", (2, 3, 4)), const("scale", data("ln3s", (1, 4)), np.float32),
          const("bias", data("ln3b", (3, 1)), np.float32)], axis=-2)
    case("layernorm_runtime_scale", "LayerNormalization", 17,
         [x("ln4", (3, 6)), ("scale", data("ln4s", (6,)), False)])
    for op in ["Softmax", "LogSoftmax"]:
        lower = op.lower()
        case(f"{lower}_opset13_default", op, 13, [x(lower + "a", (2, 3, 17))])
        case(f"{lower}_opset13_axis1", op, 13, [x(lower + "b", (2, 3, 5))], axis=1)
        case(f"{lower}_opset11_coerced", op, 11, [x(lower + "c", (2, 3, 5))], axis=1)
        case(f"{lower}_opset9_default", op, 9, [x(lower + "d", (2, 3, 5))])
        case(f"{lower}_opset11_negative", op, 11, [x(lower + "e", (2, 3, 5))], axis=-1)


def pooling():
    p = lambda n, s: x(n, s)
    case("maxpool_2d_basic", "MaxPool", 12, [p("mp1", (1, 2, 6, 7))], kernel_shape=[2, 3])
    case("maxpool_2d_stride_pads", "MaxPool", 12, [p("mp2", (2, 2, 7, 7))],
         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    case("maxpool_2d_ceil", "MaxPool", 12, [p("mp3", (1, 2, 6, 7))],
         kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    case("maxpool_2d_ceil_last_window_dropped", "MaxPool", 12, [p("mp4", (1, 1, 5, 5))],
         kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    case("maxpool_2d_same_lower_stride2", "MaxPool", 12, [p("mp5", (1, 2, 7, 8))],
         kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_LOWER")
    case("maxpool_2d_same_upper", "MaxPool", 10, [p("mp6", (1, 2, 5, 6))],
         kernel_shape=[3, 3], auto_pad="SAME_UPPER")
    case("maxpool_2d_valid", "MaxPool", 9, [p("mp7", (1, 2, 6, 5))],
         kernel_shape=[2, 2], strides=[2, 1], auto_pad="VALID")
    case("maxpool_2d_dilation", "MaxPool", 12, [p("mp8", (1, 2, 9, 9))],
         kernel_shape=[2, 3], dilations=[2, 2], pads=[1, 0, 1, 2])
    case("maxpool_1d", "MaxPool", 12, [p("mp9", (2, 3, 11))], kernel_shape=[3], strides=[2],
         pads=[1, 1])
    case("maxpool_3d", "MaxPool", 12, [p("mp10", (1, 2, 4, 5, 6))], kernel_shape=[2, 2, 3],
         strides=[2, 2, 2], pads=[0, 1, 1, 1, 0, 1])
    case("maxpool_3d_ceil", "MaxPool", 12, [p("mp11", (1, 1, 5, 4, 6))], kernel_shape=[2, 2, 2],
         strides=[2, 2, 2], ceil_mode=1)
    case("averagepool_2d_exclude_pad", "AveragePool", 11, [p("ap1", (1, 2, 7, 6))],
         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    case("averagepool_2d_include_pad", "AveragePool", 11, [p("ap2", (1, 2, 7, 6))],
         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)
    case("averagepool_2d_ceil_include_pad", "AveragePool", 11, [p("ap3", (1, 2, 6, 7))],
         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 0, 1, 0], ceil_mode=1, count_include_pad=1)
    case("averagepool_2d_ceil_exclude_pad", "AveragePool", 11, [p("ap4", (1, 2, 6, 7))],
         kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    case("averagepool_2d_same_lower", "AveragePool", 11, [p("ap5", (1, 2, 7, 8))],
         kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER")
    case("averagepool_2d_same_upper_include", "AveragePool", 11, [p("ap6", (1, 1, 5, 5))],
         kernel_shape=[2, 2], auto_pad="SAME_UPPER", count_include_pad=1)
    case("averagepool_1d", "AveragePool", 9, [p("ap7", (2, 3, 9))], kernel_shape=[2], strides=[2])
    case("averagepool_3d", "AveragePool", 19, [p("ap8", (1, 2, 4, 5, 5))], kernel_shape=[2, 2, 2],
         pads=[1, 0, 0, 0, 1, 1])
    case("averagepool_dilation_opset19", "AveragePool", 19, [p("ap9", (1, 2, 8, 8))],
         kernel_shape=[2, 2], dilations=[2, 3], pads=[1, 1, 1, 1])
    case("averagepool_large_window", "AveragePool", 11, [p("ap10", (1, 1, 9, 10))],
         kernel_shape=[5, 5], strides=[3, 3], pads=[2, 2, 2, 2], count_include_pad=1, ceil_mode=1)
    case("globalaveragepool_2d", "GlobalAveragePool", 9, [p("gap1", (2, 3, 5, 7))])
    case("globalaveragepool_1d", "GlobalAveragePool", 21, [p("gap2", (2, 3, 11))])
    case("globalmaxpool_3d", "GlobalMaxPool", 9, [p("gmp1", (1, 3, 2, 3, 4))])


def reductions():
    for op, moved in [("ReduceMean", 18), ("ReduceSum", 13), ("ReduceMax", 18)]:
        lower = op.lower()
        case(f"{lower}_attribute_axes", op, moved - 1, [x(lower + "1", (2, 3, 4, 5))], axes=[2, 3])
        case(f"{lower}_attribute_negative_no_keepdims", op, moved - 1,
             [x(lower + "2", (2, 3, 5))], axes=[-1, 0], keepdims=0)
        case(f"{lower}_attribute_all", op, 11, [x(lower + "3", (3, 4, 2))])
        case(f"{lower}_input_axes", op, moved, [x(lower + "4", (2, 3, 4)), const("axes", [1])])
        case(f"{lower}_input_middle_and_first", op, 21,
             [x(lower + "5", (3, 4, 5, 2)), const("axes", [0, 2])], keepdims=0)
        case(f"{lower}_input_empty_noop", op, moved,
             [x(lower + "6", (2, 3)), const("axes", np.zeros(0))], noop_with_empty_axes=1)
        case(f"{lower}_input_absent_all", op, moved, [x(lower + "7", (2, 3, 3))])


def matrices():
    g = lambda n, s: data(n, s)
    case("gemm_plain", "Gemm", 13, [("a", g("g1a", (3, 5)), False), ("b", g("g1b", (5, 4)), True)])
    case("gemm_trans_alpha_beta_bias_row", "Gemm", 11,
         [("a", g("g2a", (5, 3)), False), ("b", g("g2b", (4, 5)), True),
          ("c", g("g2c", (4,)), True)], transA=1, transB=1, alpha=0.5, beta=2.0)
    case("gemm_bias_column_opset9", "Gemm", 9,
         [("a", g("g3a", (2, 7)), False), ("b", g("g3b", (7, 3)), False),
          ("c", g("g3c", (2, 1)), True)], beta=-1.0)
    case("gemm_bias_full_transb", "Gemm", 13,
         [("a", g("g4a", (4, 6)), False), ("b", g("g4b", (9, 6)), True),
          ("c", g("g4c", (4, 9)), False)], transB=1)
    case("gemm_runtime_b_transposed", "Gemm", 13,
         [("a", g("g6a", (3, 4)), False), ("b", g("g6b", (5, 4)), False)], transB=1)
    case("gemm_scalar_bias", "Gemm", 13,
         [("a", g("g5a", (2, 20)), False), ("b", g("g5b", (20, 270)), True),
          ("c", np.float32(0.25), True)])
    case("matmul_2d", "MatMul", 13, [("a", g("m1a", (3, 4)), False), ("b", g("m1b", (4, 5)), True)])
    case("matmul_vector_matrix", "MatMul", 13,
         [("a", g("m2a", (4,)), False), ("b", g("m2b", (2, 4, 3)), False)])
    case("matmul_matrix_vector", "MatMul", 9,
         [("a", g("m3a", (2, 3, 4)), False), ("b", g("m3b", (4,)), False)])
    case("matmul_vector_vector", "MatMul", 13,
         [("a", g("m4a", (5,)), False), ("b", g("m4b", (5,)), False)])
    case("matmul_batch_broadcast", "MatMul", 13,
         [("a", g("m5a", (2, 1, 3, 4)), False), ("b", g("m5b", (3, 4, 2)), False)])
    case("matmul_batch_constant_weight", "MatMul", 13,
         [("a", g("m6a", (2, 3, 5)), False), ("b", g("m6b", (5, 6)), True)])


def layouts():
    case("reshape_zero_and_inferred", "Reshape", 13, [x("r1", (2, 3, 4)), const("shape", [0, -1, 2])])
    case("reshape_allowzero_opset14", "Reshape", 14,
         [x("r2", (2, 3, 4)), const("shape", [4, 6])], allowzero=1)
    case("reshape_opset9", "Reshape", 9, [x("r3", (2, 3, 4)), const("shape", [-1])])
    case("flatten_axis2", "Flatten", 13, [x("f1", (2, 3, 4, 5))], axis=2)
    case("flatten_negative", "Flatten", 11, [x("f2", (2, 3, 4))], axis=-1)
    case("flatten_axis0", "Flatten", 9, [x("f3", (2, 3))], axis=0)
    case("squeeze_attribute", "Squeeze", 11, [x("s1", (1, 3, 1, 4))], axes=[0, -2])
    case("squeeze_all", "Squeeze", 9, [x("s2", (1, 3, 1, 4))])
    case("squeeze_input", "Squeeze", 13, [x("s3", (1, 3, 1, 4)), const("axes", [2])])
    case("unsqueeze_attribute", "Unsqueeze", 11, [x("u1", (3, 4))], axes=[0, -1])
    case("unsqueeze_input", "Unsqueeze", 21, [x("u2", (3, 4)), const("axes", [1, 3])])
    case("identity", "Identity", 16, [x("i1", (2, 5))])
    case("transpose_default", "Transpose", 13, [x("t1", (2, 3, 4))])
    case("transpose_perm", "Transpose", 9, [x("t2", (2, 3, 4, 5))], perm=[0, 2, 3, 1])
    case("concat_axis1", "Concat", 13,
         [("a", data("c1a", (2, 3, 4)), False), ("b", data("c1b", (2, 1, 4)), True),
          ("c", data("c1c", (2, 2, 4)), False)], axis=1)
    case("concat_negative_axis", "Concat", 11,
         [("a", data("c2a", (2, 3)), False), ("b", data("c2b", (2, 5)), False)], axis=-1)
    case("split_equal_attribute", "Split", 11, [x("sp1", (2, 6, 3))], outputs=3, axis=1)
    case("split_sizes_attribute", "Split", 11, [x("sp2", (5, 2))], outputs=2, split=[2, 3])
    case("split_sizes_input", "Split", 13, [x("sp3", (2, 7)), const("split", [3, 0, 4])],
         outputs=3, axis=-1)
    case("split_num_outputs_uneven", "Split", 18, [x("sp4", (7, 3))], outputs=3, num_outputs=3)
    case("slice_opset9", "Slice", 9, [x("sl1", (4, 5, 6))], starts=[1, -4], ends=[100, -1],
         axes=[0, 2])
    case("slice_steps", "Slice", 13,
         [x("sl2", (6, 7)), const("starts", [1, 0]), const("ends", [6, 7]), const("axes", [0, 1]),
          const("steps", [2, 3])])
    case("slice_negative_steps_clamped", "Slice", 13,
         [x("sl3", (5, 6)), const("starts", [100, -2]), const("ends", [-100, 0]),
          const("axes", [0, -1]), const("steps", [-1, -2])])
    case("slice_empty", "Slice", 10,
         [x("sl4", (4, 3)), const("starts", [3]), const("ends", [1])])
    case("slice_int_max", "Slice", 13,
         [x("sl5", (4, 3)), const("starts", [1]), const("ends", [2**63 - 1]), const("axes", [1])])
    case("gather_axis0", "Gather", 13, [x("g1", (5, 3)), const("indices", [[0, 4], [-1, 2]])])
    case("gather_axis1_int32", "Gather", 11,
         [x("g2", (2, 4, 3)), const("indices", [3, -4, 1], np.int32)], axis=1)
    case("gather_scalar_index", "Gather", 9, [x("g3", (3, 4)), const("indices", 2)], axis=-1)
    case("pad_opset9_constant", "Pad", 9, [x("p1", (2, 3, 4))], pads=[0, 1, 2, 1, 0, 1], value=1.5)
    case("pad_reflect", "Pad", 13, [x("p2", (1, 2, 4, 5)), const("pads", [0, 0, 2, 1, 0, 0, 1, 3])],
         mode="reflect")
    case("pad_edge", "Pad", 11, [x("p3", (2, 3, 3)), const("pads", [0, 2, 1, 1, 0, 2])], mode="edge")
    case("pad_constant_value_negative_crop", "Pad", 13,
         [x("p4", (3, 5)), const("pads", [1, -2, -1, 2]), const("value", -1.0, np.float32)])
    case("pad_axes_opset18", "Pad", 18,
         [x("p5", (2, 3, 4)), const("pads", [1, 2, 0, 1]), ("value", None, True),
          const("axes", [-1, 0])])
    case("pad_wrap_opset19", "Pad", 19, [x("p6", (2, 4)), const("pads", [1, 3, 0, 2])],
         mode="wrap")


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    activations()
    elementwise()
    normalizations()
    pooling()
    reductions()
    matrices()
    layouts()
    with open(os.path.join(HERE, "operators.json"), "w") as f:
        json.dump(CASES, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
