"""Makes the small models the session and tool tests read from files.

    python3 -m pip install numpy onnx
    python3 Tests/InferenceTests/Fixtures/make_session_fixtures.py

- unsupported_operator.onnx: Conv then Einsum, an operator GroupConv does not run.
- gigabyte_relu.onnx: a ReLU of a [1, 1, 16384, 16384] input (1 GiB), whose plan needs 3 GiB.
- gigabyte_external.onnx: x + w, w 2^28 floats (1 GiB) in the external file w.bin, which
  the tests make themselves (sparse) beside a copy of the model.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(0)

weight = numpy_helper.from_array(rng.standard_normal((2, 1, 3, 3)).astype(np.float32), "w")
graph = helper.make_graph(
    [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", group=2, pads=[1, 1, 1, 1]),
        helper.make_node("Einsum", ["c"], ["y"], name="sum_all", equation="nchw->n"),
    ],
    "unsupported",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    [weight],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.save(model, os.path.join(here, "unsupported_operator.onnx"))
print("unsupported_operator.onnx")

# 2^28 floats: the largest runtime value, 1 GiB.
side = 16384
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, side, side])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, side, side])
graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="relu")], "gigabyte", [x], [y])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
          os.path.join(here, "gigabyte_relu.onnx"))
print("gigabyte_relu.onnx")

w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1, 1, side, side])
w.data_location = TensorProto.EXTERNAL
for key, value in [("location", "w.bin"), ("offset", "0"), ("length", str(side * side * 4))]:
    entry = w.external_data.add()
    entry.key, entry.value = key, value
graph = helper.make_graph(
    [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "gigabyte_external", [x], [y], [w])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
          os.path.join(here, "gigabyte_external.onnx"))
print("gigabyte_external.onnx")
