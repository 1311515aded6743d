#!/usr/bin/env python3
"""Export nine torchvision classification networks to ONNX with random weights, and record
PyTorch's output for a fixed input, so the ONNX runtime can be checked and timed on them.

Needs torch, onnx, onnxruntime, numpy and torchvision. torchvision must not bring its own
torch: install it without dependencies, plus Pillow (torchvision imports PIL at start-up):

    python3 -m pip install --no-deps torchvision==0.29.2 && python3 -m pip install pillow

(0.29.2 was built against a slightly older torch; the model code used here is pure Python and
works with torch 2.15. Its compiled operators, not needed here, load too.)

Run from the repository root:

    python3 Models/export_torchvision.py                 # all nine into .models/
    python3 Models/export_torchvision.py --only mobilenet_v2,convnext_tiny --out /tmp/m

For each model it writes <out>/<name>/model.onnx, input.npy ([1,3,224,224] float32) and
output.npy (PyTorch's [1,1000] float32 output for that input), then <out>/manifest.json and
<out>/ops.md (the operators and attribute forms the graphs use).

Weights. torch.manual_seed(0), then torchvision's constructor with weights=None, so its own
initialisation. By default two changes follow, so that every layer matters to the output
(pass --torchvision-init to skip them):
  * Parameters that start as one repeated value get random values: biases (0) in [-0.1, 0.1),
    norm scales (1) in [0.5, 1.5), ConvNeXt's layer scale (1e-6, which silences every block's
    residual branch) in [0.2, 0.8). Otherwise BatchNormalization would be the identity, biases
    would test nothing, and the exporter would merge the identical tensors into one
    initializer read through Identity nodes.
  * BatchNormalization's running mean and variance are measured on a few random batches in
    training mode (a cumulative average), as training would leave them.
The model is then put in eval mode.

Exporter. The TorchScript exporter (torch.onnx.export(..., dynamo=False)), opset 17: it keeps
BatchNormalization as its own node when exported with training=TrainingMode.PRESERVE on a
model in eval mode (with TrainingMode.EVAL it folds BN into the convolution's weights), writes
one self-contained file and takes about a second a model. Opset 17 is the first with
LayerNormalization, which ConvNeXt uses. --exporter dynamo uses torch.export and onnxscript
instead (pip install onnxscript); its graph optimiser folds BN into Conv.
"""
import argparse
import collections
import json
import os
import sys
import time
import warnings

try:
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch
except ImportError as error:
    sys.exit(f"export_torchvision.py: {error.name} is missing: pip install numpy torch onnx onnxruntime")
try:
    import torchvision
    import torchvision.models
except ImportError as error:
    sys.exit(f"export_torchvision.py: torchvision is missing or broken ({error}): "
             "python3 -m pip install --no-deps torchvision==0.29.2 && python3 -m pip install pillow")

# Folder name -> torchvision constructor name. SqueezeNet is version 1.1.
MODELS = collections.OrderedDict([
    ("mobilenet_v2", "mobilenet_v2"),
    ("mobilenet_v3_small", "mobilenet_v3_small"),
    ("shufflenet_v2_x1_0", "shufflenet_v2_x1_0"),
    ("mnasnet1_0", "mnasnet1_0"),
    ("efficientnet_b0", "efficientnet_b0"),
    ("regnet_y_400mf", "regnet_y_400mf"),
    ("resnext50_32x4d", "resnext50_32x4d"),
    ("squeezenet1_1", "squeezenet1_1"),
    ("convnext_tiny", "convnext_tiny"),
])

INPUT_SHAPE = (1, 3, 224, 224)
MODEL_SEED = 0
CALIBRATION_SEED = 1
INPUT_SEED = 2
DEFAULT_OPSET = 17


def package_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(constructor, torchvision_init):
    torch.manual_seed(MODEL_SEED)
    model = getattr(torchvision.models, constructor)(weights=None)
    if torchvision_init:
        return model.eval()
    generator = torch.Generator().manual_seed(CALIBRATION_SEED)
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        # Parameters that start as one repeated value (biases at 0, norm scales at 1,
        # ConvNeXt's layer scale at 1e-6) get random values around a sensible level.
        for parameter in model.parameters():
            first = parameter.reshape(-1)[0]
            if parameter.numel() > 1 and bool(torch.all(parameter == first)):
                noise = torch.rand(parameter.shape, generator=generator)
                if float(first) == 1.0:
                    parameter.copy_(0.5 + noise)  # scales: [0.5, 1.5)
                elif float(first) == 0.0:
                    parameter.copy_(0.2 * noise - 0.1)  # biases: [-0.1, 0.1)
                else:
                    parameter.copy_(0.2 + 0.6 * noise)  # ConvNeXt's layer scale: [0.2, 0.8)
        if norms:
            # Running statistics as training would leave them: a cumulative average over a
            # few random batches in training mode.
            for m in norms:
                m.reset_running_stats()
                m.momentum = None
            model.train()
            for _ in range(2):
                model(torch.randn(4, *INPUT_SHAPE[1:], generator=generator))
            for m in norms:
                m.momentum = 0.1
    return model.eval()


def export(model, x, path, opset, exporter):
    if exporter == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, (x,), path, dynamo=False, opset_version=opset,
                input_names=["input"], output_names=["output"], do_constant_folding=True,
                training=torch.onnx.TrainingMode.PRESERVE)
    else:
        program = torch.onnx.export(
            model, (x,), dynamo=True, opset_version=opset, input_names=["input"],
            output_names=["output"], external_data=False, verbose=False)
        program.save(path, external_data=False)


def attribute_value(attribute):
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [v.decode() if isinstance(v, bytes) else (float(f"{v:.6g}") if isinstance(v, float) else v)
                for v in value]
    if isinstance(value, onnx.TensorProto):
        array = onnx.numpy_helper.to_array(value)
        return f"tensor{list(array.shape)}" if array.size > 8 else array.tolist()
    if isinstance(value, int):
        return value
    return type(value).__name__


WEIGHTED = ("Conv", "Gemm", "BatchNormalization", "LayerNormalization", "MatMul")


def node_forms(graph):
    """One string per node: op type, attributes, and what feeds its inputs: 'x' for a
    computed tensor, 'w' for a weight of a weighted op, init[shape] for another initializer,
    const[shape] for a Constant node's output (with the values when there are at most two),
    '-' for an omitted optional input. Conv's group is shown as its kind."""
    constants = {}
    initializers = set()
    for tensor in graph.initializer:
        constants[tensor.name] = onnx.numpy_helper.to_array(tensor)
        initializers.add(tensor.name)
    for node in graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    constants[node.output[0]] = onnx.numpy_helper.to_array(attribute.t)
    forms = collections.Counter()
    for node in graph.node:
        if node.op_type == "Constant":
            value = constants.get(node.output[0])
            forms["Constant " + (f"{value.dtype}{list(value.shape)}" if value is not None else "?")] += 1
            continue
        attributes = {a.name: attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            weight = constants.get(node.input[1])
            group = attributes.get("group", 1)
            if weight is not None:
                per_group = weight.shape[1]
                attributes["group"] = ("1 (dense)" if group == 1 else
                                       "C (depthwise)" if per_group == 1 and weight.shape[0] == group else
                                       f"C (depthwise x{weight.shape[0] // group})" if per_group == 1 else
                                       f"{group} ({per_group} channels/group)")
            attributes["bias"] = len(node.input) > 2 and node.input[2] != ""
        inputs = []
        for index, name in enumerate(node.input):
            if name == "":
                inputs.append("-")
            elif name in constants:
                value = constants[name]
                if node.op_type in WEIGHTED and index > 0:
                    inputs.append("w")
                else:
                    kind = "init" if name in initializers else "const"
                    if value.size <= 2:
                        shown = value.tolist()
                        if value.dtype.kind == "f":
                            shown = np.round(value.astype(np.float64), 6).tolist()
                        inputs.append(f"{kind}{list(value.shape)}={shown}")
                    else:
                        marks = ""
                        if node.op_type == "Reshape":
                            marks = "".join(m for m, v in ((" has -1", -1), (" has 0", 0)) if v in value.tolist())
                        inputs.append(f"{kind}{list(value.shape)}{marks}")
            else:
                inputs.append("x")
        text = node.op_type
        if attributes:
            text += " " + json.dumps(attributes, sort_keys=True, separators=(",", ":"))
        if inputs:
            text += " inputs(" + ",".join(inputs) + ")"
        forms[text] += 1
    return forms


def check_with_onnxruntime(path, x, expected):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    return float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64))))


def tensor_info(values):
    result = []
    for value in values:
        dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in value.type.tensor_type.shape.dim]
        result.append({"name": value.name, "shape": dims,
                       "dtype": onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name})
    return result


def export_one(name, constructor, out, opset, exporter, torchvision_init):
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    started = time.time()
    model = build(constructor, torchvision_init)
    generator = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn(*INPUT_SHAPE, generator=generator)
    with torch.no_grad():
        expected = model(x).numpy().astype("<f4")
    export(model, x, path, opset, exporter)
    export_seconds = time.time() - started
    x = x.numpy().astype("<f4")
    np.save(os.path.join(folder, "input.npy"), x)
    np.save(os.path.join(folder, "output.npy"), expected)

    onnx_model = onnx.load(path)
    onnx.checker.check_model(onnx_model)
    graph = onnx_model.graph
    ops = collections.Counter(node.op_type for node in graph.node)
    started = time.time()
    diff = check_with_onnxruntime(path, x, expected)
    initializer_names = {t.name for t in graph.initializer}
    entry = {
        "name": name,
        "torchvision": f"torchvision.models.{constructor}(weights=None)",
        "path": os.path.relpath(path, out),
        "inputs": [i for i in tensor_info(graph.input) if i["name"] not in initializer_names],
        "outputs": tensor_info(graph.output),
        "opset": {imp.domain or "ai.onnx": imp.version for imp in onnx_model.opset_import},
        "ir_version": onnx_model.ir_version,
        "exporter": exporter,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "file_bytes": os.path.getsize(path),
        "nodes": len(graph.node),
        "initializers": len(graph.initializer),
        "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))),
        "batch_norm_nodes": ops.get("BatchNormalization", 0),
        "batch_norm_remains": ops.get("BatchNormalization", 0) > 0,
        "node_forms": dict(sorted(node_forms(graph).items())),
        "output_max_abs": float(np.max(np.abs(expected))),
        "ort_vs_pytorch_max_abs_diff": diff,
        "ort_vs_pytorch_max_rel_diff": diff / max(float(np.max(np.abs(expected))), 1e-30),
        "export_seconds": round(export_seconds, 2),
        "check_seconds": round(time.time() - started, 2),
    }
    print(f"{name:20s} {entry['file_bytes'] / 1e6:7.1f} MB  {len(graph.node):4d} nodes  "
          f"BN {entry['batch_norm_nodes']:3d}  |out|max {entry['output_max_abs']:.3g}  "
          f"ORT vs PyTorch max|diff| {diff:.3g}  ({export_seconds:.1f} s)", flush=True)
    return entry


def ops_markdown(entries):
    names = [e["name"] for e in entries]
    union = sorted({op for e in entries for op in e["ops"]})
    lines = ["| op | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for op in union:
        lines.append(f"| {op} | " + " | ".join(str(e["ops"].get(op, "")) for e in entries) + " |")
    lines.append("")
    lines.append("Node forms (op, attributes, what feeds each input: x computed, w weight, init[shape] another initializer, const[shape] a Constant node, =values when at most two; count per model):")
    lines.append("")
    for op in union:
        forms = collections.defaultdict(dict)
        for e in entries:
            for form, count in e["node_forms"].items():
                if form.split(" ")[0] == op:
                    forms[form][e["name"]] = count
        lines.append(f"* {op}")
        for form in sorted(forms):
            where = ", ".join(f"{n} {c}" for n, c in forms[form].items())
            lines.append(f"  * `{form}`: {where}")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(package_root(), ".models"),
                        help="output folder (default: .models/ at the package root)")
    parser.add_argument("--only", help="comma-separated model names: " + ",".join(MODELS))
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    parser.add_argument("--exporter", choices=["torchscript", "dynamo"], default="torchscript",
                        help="torch.onnx.export(dynamo=False) (default) or dynamo=True")
    parser.add_argument("--torchvision-init", action="store_true",
                        help="keep torchvision's initialisation as it is (identity BN, ConvNeXt layer scale 1e-6)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()

    names = list(MODELS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in MODELS]
        if unknown:
            sys.exit(f"export_torchvision.py: unknown model {', '.join(unknown)}; known: {', '.join(MODELS)}")
    torch.set_num_threads(args.threads)
    os.makedirs(args.out, exist_ok=True)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__}; exporter: {args.exporter} "
          f"(torch.onnx.export dynamo={args.exporter == 'dynamo'}), opset {args.opset}, "
          f"init: {'torchvision' if args.torchvision_init else 'torchvision + random values for constant-initialised parameters + measured BN statistics'}",
          flush=True)

    manifest_path = os.path.join(args.out, "manifest.json")
    previous = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            previous = {e["name"]: e for e in json.load(f).get("models", [])}
    for name in names:
        previous[name] = export_one(name, MODELS[name], args.out, args.opset, args.exporter,
                                    args.torchvision_init)
    entries = [previous[n] for n in MODELS if n in previous]
    manifest = {
        "input_shape": list(INPUT_SHAPE),
        "seeds": {"model": MODEL_SEED, "calibration": CALIBRATION_SEED, "input": INPUT_SEED},
        "opset": args.opset,
        "exporter": args.exporter,
        "init": "torchvision" if args.torchvision_init else "torchvision + random values for constant-initialised parameters + measured BN statistics",
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                     "onnx": onnx.__version__, "onnxruntime": ort.__version__},
        "ops_union": sorted({op for e in entries for op in e["ops"]}),
        "models": entries,
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1)
    with open(os.path.join(args.out, "ops.md"), "w") as f:
        f.write(ops_markdown(entries))
    print(f"wrote {manifest_path} and ops.md")


if __name__ == "__main__":
    main()
