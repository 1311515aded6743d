"""Copies ONNX's own conformance data for the operators GroupConv runs into onnx/.

    python3 -m pip install onnx
    python3 Tests/InferenceTests/Fixtures/copy_onnx_conformance.py

From the `onnx` Python package's backend test data:
- pytorch-converted/<case>/: model.onnx, input_0.pb, output_0.pb for every case with a float
  input whose operators are all in SUPPORTED (PyTorch modules exported to ONNX, with PyTorch's outputs);
- light/<name>.onnx and <name>_output_0.pb: the "light" model zoo (AlexNet, DenseNet-121,
  Inception v1/v2, ResNet-50, ShuffleNet, SqueezeNet, VGG-19, ZFNet-512) with weights made by
  ConstantOfShape. Their input is arange(n).reshape(shape) / n, which the tests make.
"""
import os
import shutil

import onnx

SUPPORTED = {
    "Conv", "ConvTranspose", "BatchNormalization", "Relu", "Clip", "Sigmoid", "HardSigmoid",
    "HardSwish", "Erf", "Tanh", "LeakyRelu", "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "ReduceMean", "Gemm",
    "MatMul", "Softmax", "LogSoftmax", "LRN", "LayerNormalization", "Concat", "Reshape",
    "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Slice", "Split", "Gather", "Identity",
    "Dropout", "Constant", "ConstantOfShape", "Shape", "Cast", "Pad",
}

MAXIMUM_BYTES = 200_000

source = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "onnx")
shutil.rmtree(here, ignore_errors=True)

converted = os.path.join(source, "pytorch-converted")
copied = []
for case in sorted(os.listdir(converted)):
    model_path = os.path.join(converted, case, "model.onnx")
    data = os.path.join(converted, case, "test_data_set_0")
    if not os.path.exists(model_path) or not os.path.isdir(data):
        continue
    model = onnx.load(model_path)
    ops = {node.op_type for node in model.graph.node}
    inits = {tensor.name for tensor in model.graph.initializer}
    float_inputs = all(
        value.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
        for value in model.graph.input if value.name not in inits)
    if not ops <= SUPPORTED or not float_inputs or len(os.listdir(data)) != 2:
        continue
    size = sum(os.path.getsize(os.path.join(data, name)) for name in os.listdir(data))
    if size > MAXIMUM_BYTES:  # two MaxPool cases with megabytes of data
        continue
    target = os.path.join(here, "pytorch-converted", case)
    os.makedirs(target)
    shutil.copy(model_path, target)
    for name in ("input_0.pb", "output_0.pb"):
        shutil.copy(os.path.join(data, name), target)
    copied.append(case)

light = os.path.join(source, "light")
os.makedirs(os.path.join(here, "light"))
for name in sorted(os.listdir(light)):
    shutil.copy(os.path.join(light, name), os.path.join(here, "light"))

print(f"{len(copied)} pytorch-converted cases and {len(os.listdir(light)) // 2} light models")
