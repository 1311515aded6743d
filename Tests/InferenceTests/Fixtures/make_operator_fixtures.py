"""Writes the one-node ONNX fixtures of the operator tests (Tests never run Python).

For every case: operators/<name>.onnx, a model of one node whose constant inputs are
initializers; operators/<name>.<i>.npy, the value of node input i when it is a graph input;
operators/<name>.out<k>.npy, the expected output k; and a line of operators.json naming the
operator, the opset and where the expected outputs came from. Expected outputs come from
onnx.reference.ReferenceEvaluator; where it and onnxruntime disagree (pooling with
ceil_mode), from onnxruntime, which matches PyTorch.

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


def case(name, op, opset, inputs, outputs=1, **attributes):
    """inputs: (name, array, constant) triples; a None array is an absent input ("")."""
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
    expected = [np.asarray(y, dtype=np.float32)
                for y in ReferenceEvaluator(model).run(None, feeds)]
    source = "reference"
    try:
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), providers=["CPUExecutionProvider"])
        runtime = session.run(None, feeds)
        agree = all(a.shape == b.shape and np.allclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True)
                    for a, b in zip(expected, runtime))
        if not agree:
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


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    activations()
    elementwise()
    with open(os.path.join(HERE, "operators.json"), "w") as f:
        json.dump(CASES, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
