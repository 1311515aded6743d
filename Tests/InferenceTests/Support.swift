import Formats
import Foundation
import GroupConv
import TestSupport
import Testing

@testable import GroupConv

/// A tensor of `shape` from a generator of `seed` with values in -2...2.
func randomTensor(_ shape: [Int], seed: UInt64) -> Tensor {
  var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
  let count = shape.reduce(1, *)
  let values = (0..<count).map { _ -> Float in
    state ^= state << 13
    state ^= state >> 7
    state ^= state << 17
    return Float(state >> 40) / Float(1 << 24) * 4 - 2
  }
  return Tensor(validShape: shape, scalars: values)
}

/// Builds node `node` at `opset` with `inputs` (a shape, and a value when constant), or
/// throws what the builder throws.
func build(
  _ node: ONNXNode, opset: Int, _ inputs: [(shape: [Int]?, constant: ONNXTensorValue?)]
) throws(InferenceError) -> any CompiledOperator {
  guard let definition = Operators.definitions[node.opType] else {
    throw .unsupportedOperator(opType: node.opType, domain: "", node: node.name, opset: opset)
  }
  let context = NodeContext(
    node: node, opset: opset, inputShapes: inputs.map(\.shape), constants: inputs.map(\.constant))
  return try definition.build(context)
}

/// Runs `op` on `inputs` (nil: constant or absent) and returns its outputs; with
/// `inPlace`, output 0 is written over a copy of input 0 passed as input 0.
func run(_ op: any CompiledOperator, _ inputs: [Tensor?], inPlace: Bool = false) -> [Tensor] {
  let inputBuffers = inputs.map { tensor in
    tensor.map { tensor -> UnsafeMutableBufferPointer<Float> in
      let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, tensor.count))
      _ = buffer.initialize(from: tensor.scalars)
      return UnsafeMutableBufferPointer(rebasing: buffer[0..<tensor.count])
    }
  }
  var outputBuffers = op.outputShapes.map { shape in
    let count = shape.reduce(1, *)
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, count))
    buffer.initialize(repeating: .nan)
    return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
  }
  defer {
    for buffer in inputBuffers.compactMap({ $0 }) + outputBuffers {
      UnsafeMutableRawPointer(buffer.baseAddress!).deallocate()
    }
  }
  if inPlace, let first = inputBuffers[0] {
    UnsafeMutableRawPointer(outputBuffers[0].baseAddress!).deallocate()
    outputBuffers[0] = first
  }
  op.run(inputs: inputBuffers.map { $0.map(UnsafeBufferPointer.init) }, outputs: outputBuffers)
  let outputs = zip(op.outputShapes, outputBuffers).map { shape, buffer in
    try! Tensor(shape: shape, scalars: Array(buffer))
  }
  if inPlace { outputBuffers[0] = .allocate(capacity: 1) }  // input 0 is freed with the inputs
  return outputs
}

/// An ONNX node of `opType` named "n" with inputs and outputs named as given.
func makeNode(
  _ opType: String, _ inputs: [String] = ["x"], _ outputs: [String] = ["y"],
  _ attributes: [String: ONNXAttributeValue] = [:]
) -> ONNXNode {
  ONNXNode(
    name: "n", opType: opType, domain: "", inputs: inputs, outputs: outputs,
    attributes: attributes.sorted { $0.key < $1.key }.map {
      ONNXAttribute(name: $0.key, value: $0.value)
    })
}
