"""Makes the small models the session and tool tests read from files.

    python3 -m pip install numpy onnx
    python3 Tests/InferenceTests/Fixtures/make_session_fixtures.py

- unsupported_operator.onnx: Conv then Einsum, an operator GroupConv does not run.
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
