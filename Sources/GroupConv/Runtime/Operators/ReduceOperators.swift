import Formats
import Kernels

/// ReduceMean, ReduceSum and ReduceMax: `axes` an attribute until the operator moved it to
/// an optional constant input (ReduceSum at opset 13, the others at 18), keepdims, and with
/// the input form noop_with_empty_axes.
extension Operators {
  static let reductions: [String: OperatorDefinition] = [
    "ReduceMean": reduce(.mean, axesInputFrom: 18),
    "ReduceSum": reduce(.sum, axesInputFrom: 13),
    "ReduceMax": reduce(.max, axesInputFrom: 18),
  ]

  static func reduce(_ operation: ReduceOperation, axesInputFrom opset: Int)
    -> OperatorDefinition
  {
    OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try context.expectInputs(context.opset >= opset ? 1...2 : 1...1)
      try context.expectOutputs(1...1)
      try context.expectFloats(0)
      let shape = try context.shape(0)
      let given = try context.integers(attribute: "axes", orInput: 1, from: opset) ?? []
      let keepDims = try context.int("keepdims", default: 1)
      let noop = try context.int("noop_with_empty_axes", default: 0)
      for (name, value) in [("keepdims", keepDims), ("noop_with_empty_axes", noop)]
      where value != 0 && value != 1 {
        throw context.invalidAttribute(name, "\(value)", "must be 0 or 1")
      }
      var axes = Set(try context.axes(given, rank: shape.count))
      if given.isEmpty {
        if noop == 1 && context.opset >= opset {
          return KernelOperator(context, outputs: [shape], inPlace: true) { inputs, outputs in
            copyIfDistinct(inputs[0], outputs[0])
          }
        }
        axes = Set(shape.indices)
      }
      if operation == .max, let axis = axes.first(where: { shape[$0] == 0 }) {
        throw context.invalidInput(0, "ReduceMax over the empty axis \(axis) has no value")
      }
      let output = shape.indices.compactMap { axis -> Int? in
        axes.contains(axis) ? (keepDims == 1 ? 1 : nil) : shape[axis]
      }
      let reduction = Reduction(operation, shape: shape, axes: axes)
      if operation == .mean, shape.count == 4, axes == [2, 3] {
        return PlaneMeanOperator(reduction, outputShape: output)
      }
      return KernelOperator(context, outputs: [output]) { inputs, outputs in
        reduction.run(inputs[0], into: outputs[0])
      }
    }
  }
}

/// A ReduceMean of a 4-D input over its positions (axes 2 and 3, as `x.mean([2, 3])`
/// exports), its output [N, C] or [N, C, 1, 1]: a global average pooling, which the blocked
/// layout can take from a blocked input (`BlockedLayoutPass`).
final class PlaneMeanOperator: CompiledOperator {
  private let reduction: Reduction
  let outputShapes: [[Int]]

  init(_ reduction: Reduction, outputShape: [Int]) {
    self.reduction = reduction
    outputShapes = [outputShape]
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    reduction.run(inputs[0]!, into: outputs[0])
  }
}
