#!/usr/bin/env python3
"""Writes the small ONNX models ONNXTests reads, and onnx/expected.json; the tests never
run Python.

Run from anywhere: python3 make_onnx_fixtures.py (onnx >= 1.14, torch >= 2.0, numpy).
The output is deterministic for given package versions: fixed seeds, no timestamps.

- PyTorch exports (torch.onnx.export, the TorchScript exporter): a grouped Conv with bias
  and ReLU at opsets 11 and 17, a grouped ConvTranspose at opset 13, and a
  depthwise-separable block (depthwise 3x3, BatchNorm, ReLU6, pointwise 1x1) at opsets 11
  and 17, each with a symbolic batch dimension.
- handmade.onnx (onnx.helper): initializers in every storage form and type the reader
  converts, attributes of every type CNN operators use, sub-graphs, a custom domain, and
  value_info with dim_param.
- external/model.onnx with external/weights.bin: every initializer in one external file.
- input_0.pb: one serialized TensorProto, as ONNX's conformance data store inputs and
  outputs (np.arange(24).reshape(1, 2, 3, 4) / 8 as float32, named "x").

expected.json is what the `onnx` package itself reads back from each file (an independent
protobuf decoder): versions, nodes with their attributes, initializers with their storage
and every value, and the declared inputs, outputs and value types.
"""
import json
import os
import shutil

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "onnx")


# MARK: - PyTorch exports

class ConvGroupsReLU(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 6, kernel_size=3, stride=2, padding=1, groups=2,
                                    bias=True)

    def forward(self, x):
        return torch.relu(self.conv(x))


class ConvTransposeGroups(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.deconv = torch.nn.ConvTranspose2d(4, 6, kernel_size=3, stride=2, padding=1,
                                               output_padding=1, groups=2, dilation=1)

    def forward(self, x):
        return self.deconv(x)


class DepthwiseSeparable(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.depthwise = torch.nn.Conv2d(4, 4, kernel_size=3, padding=1, groups=4, bias=False)
        self.bn = torch.nn.BatchNorm2d(4)
        self.pointwise = torch.nn.Conv2d(4, 8, kernel_size=1)

    def forward(self, x):
        return self.pointwise(torch.nn.functional.relu6(self.bn(self.depthwise(x))))


def export(module, name, opset, input_shape):
    torch.manual_seed(0)
    model = module()
    for parameter in model.parameters():  # round weights so the JSON stays short
        parameter.data = torch.round(parameter.data * 64) / 64
    if hasattr(model, "bn"):
        model.bn.running_mean = torch.tensor([0.5, -0.25, 0.125, 0.0])
        model.bn.running_var = torch.tensor([1.0, 2.0, 0.5, 4.0])
    model.eval()
    x = torch.zeros(input_shape)
    path = os.path.join(OUT, name)
    torch.onnx.export(model, (x,), path, opset_version=opset, dynamo=False,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


# MARK: - onnx.helper models

def handmade():
    rng = np.random.default_rng(5)
    w = (rng.integers(-64, 64, size=(4, 1, 3, 3)) / 32).astype(np.float32)
    initializers = [
        numpy_helper.from_array(w, "w_raw"),                                      # raw_data
        helper.make_tensor("b_floats", TensorProto.FLOAT, [4], [0.5, -1.25, 2.0, 0.0]),
        numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape_raw"),  # raw_data
        helper.make_tensor("axes_int64", TensorProto.INT64, [2], [0, -3]),        # int64_data
        helper.make_tensor("int32_values", TensorProto.INT32, [3], [7, -8, 2147483647]),
        numpy_helper.from_array(np.array([1.0, -2.0, 65504.0], dtype=np.float16), "half_raw"),
        helper.make_tensor("half_int32", TensorProto.FLOAT16, [2],                # int32_data
                           np.array([0.5, -0.25], dtype=np.float16)),
        helper.make_tensor("doubles", TensorProto.DOUBLE, [2], [0.1, -3.5]),      # double_data
        helper.make_tensor("bfloat16_raw", TensorProto.BFLOAT16, [2],
                           np.array([0x3FC0, 0xC040], dtype=np.uint16).tobytes(), raw=True),
        numpy_helper.from_array(np.array(3.0, dtype=np.float32), "scalar"),       # dims []
        helper.make_tensor("empty", TensorProto.FLOAT, [0, 3], []),
        numpy_helper.from_array(np.array([0, 200, 255], dtype=np.uint8), "uint8_raw"),
        helper.make_tensor("int8_values", TensorProto.INT8, [3], [-128, 0, 127]),
        helper.make_tensor("flags", TensorProto.BOOL, [3], [True, False, True]),
    ]
    then_graph = helper.make_graph(
        [helper.make_node("Identity", ["y1"], ["then_out"])], "then_branch", [],
        [helper.make_tensor_value_info("then_out", TensorProto.FLOAT, None)])
    else_graph = helper.make_graph(
        [helper.make_node("Neg", ["y1"], ["else_out"])], "else_branch", [],
        [helper.make_tensor_value_info("else_out", TensorProto.FLOAT, None)])
    nodes = [
        helper.make_node("Conv", ["x", "w_raw", "b_floats"], ["y1"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1],
                         dilations=[1, 1], group=4, auto_pad="NOTSET"),
        helper.make_node("LeakyRelu", ["y1"], ["y2"], name="leaky", alpha=0.125),
        helper.make_node("HardSigmoid", ["y2"], ["y3"], name="hard_sigmoid",
                         alpha=0.2, beta=0.5),
        helper.make_node("Constant", [], ["c_tensor"], name="constant_tensor",
                         value=helper.make_tensor("", TensorProto.INT64, [3], [1, 2, 3])),
        helper.make_node("Constant", [], ["c_floats"], name="constant_floats",
                         value_floats=[1.5, -0.5]),
        helper.make_node("Constant", [], ["c_ints"], name="constant_ints", value_ints=[4, -5]),
        helper.make_node("Tag", ["y3", ""], ["y4"], name="tag", domain="com.example",
                         labels=["depthwise", "3x3"], scales=[0.25, 4.0], count=3,
                         mode="fast"),
        helper.make_node("If", ["cond"], ["y5"], name="branch",
                         then_branch=then_graph, else_branch=else_graph),
    ]
    graph = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4, "height", 8]),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
         helper.make_tensor_value_info("unknown_rank", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("y4", TensorProto.FLOAT, ["batch", 4, "height", 8]),
         helper.make_tensor_value_info("y5", TensorProto.FLOAT, None)],
        initializers,
        value_info=[helper.make_tensor_value_info("y1", TensorProto.FLOAT,
                                                  ["batch", 4, None, 8])])
    model = helper.make_model(
        graph, producer_name="make_onnx_fixtures", producer_version="1",
        opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)],
        ir_version=8)
    model.model_version = 3
    model.domain = "org.example"
    onnx.save_model(model, os.path.join(OUT, "handmade.onnx"))


def external():
    rng = np.random.default_rng(7)
    w = (rng.integers(-64, 64, size=(8, 1, 3, 3)) / 16).astype(np.float32)
    b = np.arange(8, dtype=np.float32) / 4
    shape = np.array([1, -1], dtype=np.int64)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], group=8, pads=[1, 1, 1, 1]),
         helper.make_node("Reshape", ["y", "shape"], ["z"])],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 4, 4])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 128])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b"),
         numpy_helper.from_array(shape, "shape")])
    model = helper.make_model(graph, producer_name="make_onnx_fixtures",
                              opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    directory = os.path.join(OUT, "external")
    shutil.rmtree(directory, ignore_errors=True)  # onnx appends to an existing weights.bin
    os.makedirs(directory)
    onnx.save_model(model, os.path.join(directory, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)


# MARK: - What the onnx package reads back

def tensor_json(tensor, directory):
    if tensor.data_location == TensorProto.EXTERNAL:
        entries = {entry.key: entry.value for entry in tensor.external_data}
        storage = {"external": entries["location"], "offset": int(entries.get("offset", 0)),
                   "length": int(entries["length"]) if "length" in entries else None}
    else:
        present = [field for field in ["float_data", "int32_data", "int64_data",
                                       "double_data"] if len(getattr(tensor, field)) > 0]
        storage = "raw_data" if tensor.HasField("raw_data") else (present + ["absent"])[0]
    array = numpy_helper.to_array(tensor, base_dir=directory)
    if array.dtype in (np.float16, np.float64) or tensor.data_type == TensorProto.BFLOAT16:
        array = array.astype(np.float32)
    if array.dtype == np.float32:
        kind, values = "float", [float(v) for v in array.flatten()]
    elif array.dtype == np.int64:
        kind, values = "int64", [int(v) for v in array.flatten()]
    elif array.dtype == np.bool_:
        kind, values = "bool", [bool(v) for v in array.flatten()]
    else:
        kind, values = "int32", [int(v) for v in array.flatten()]
    return {"name": tensor.name, "data_type": tensor.data_type, "dims": list(tensor.dims),
            "storage": storage, "kind": kind, "values": values}


def attribute_json(attribute, directory):
    kind = onnx.AttributeProto.AttributeType.Name(attribute.type)
    value = {
        "FLOAT": lambda: attribute.f, "INT": lambda: attribute.i,
        "STRING": lambda: attribute.s.decode(), "FLOATS": lambda: list(attribute.floats),
        "INTS": lambda: list(attribute.ints),
        "STRINGS": lambda: [s.decode() for s in attribute.strings],
        "TENSOR": lambda: tensor_json(attribute.t, directory),
        "GRAPH": lambda: graph_json(attribute.g, directory),
    }[kind]()
    return {"name": attribute.name, "type": kind, "value": value}


def value_info_json(info):
    tensor_type = info.type.tensor_type
    shape = None
    if tensor_type.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value")
                 else d.dim_param if d.HasField("dim_param") else None
                 for d in tensor_type.shape.dim]
    return {"name": info.name, "elem_type": tensor_type.elem_type, "shape": shape}


def graph_json(graph, directory):
    return {
        "name": graph.name,
        "nodes": [{"name": n.name, "op_type": n.op_type, "domain": n.domain,
                   "inputs": list(n.input), "outputs": list(n.output),
                   "attributes": [attribute_json(a, directory) for a in n.attribute]}
                  for n in graph.node],
        "initializers": [tensor_json(t, directory) for t in graph.initializer],
        "inputs": [value_info_json(i) for i in graph.input],
        "outputs": [value_info_json(o) for o in graph.output],
        "value_info": [value_info_json(v) for v in graph.value_info],
    }


def model_json(relative_path):
    path = os.path.join(OUT, relative_path)
    model = onnx.load(path, load_external_data=False)
    directory = os.path.dirname(path)
    return {
        "ir_version": model.ir_version,
        "opset_import": [[o.domain, o.version] for o in model.opset_import],
        "producer_name": model.producer_name, "producer_version": model.producer_version,
        "domain": model.domain, "model_version": model.model_version,
        "graph": graph_json(model.graph, directory),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    export(ConvGroupsReLU, "conv_groups_relu_opset11.onnx", 11, (1, 4, 5, 5))
    export(ConvGroupsReLU, "conv_groups_relu_opset17.onnx", 17, (1, 4, 5, 5))
    export(ConvTransposeGroups, "conv_transpose_opset13.onnx", 13, (1, 4, 3, 3))
    export(DepthwiseSeparable, "depthwise_separable_opset11.onnx", 11, (1, 4, 6, 6))
    export(DepthwiseSeparable, "depthwise_separable_opset17.onnx", 17, (1, 4, 6, 6))
    handmade()
    external()
    x = (np.arange(24).reshape(1, 2, 3, 4) / 8).astype(np.float32)
    with open(os.path.join(OUT, "input_0.pb"), "wb") as file:
        file.write(numpy_helper.from_array(x, "x").SerializeToString())
    names = sorted(n for n in os.listdir(OUT) if n.endswith(".onnx")) + ["external/model.onnx"]
    expected = {name: model_json(name) for name in names}
    with open(os.path.join(OUT, "expected.json"), "w") as file:
        json.dump(expected, file, indent=1, sort_keys=True)
        file.write("\n")


if __name__ == "__main__":
    main()
