import Formats
import Kernels

/// MaxPool, AveragePool, GlobalMaxPool and GlobalAveragePool over 1, 2 or 3 spatial
/// dimensions of x: [N, C, spatial...].
extension Operators {
  static let pooling: [String: OperatorDefinition] = [
    "MaxPool": OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try pool(context, .max)
    },
    "AveragePool": OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      let include = try context.int("count_include_pad", default: 0)
      guard include == 0 || include == 1 else {
        throw context.invalidAttribute("count_include_pad", "\(include)", "must be 0 or 1")
      }
      return try pool(context, .average(countIncludePad: include == 1))
    },
    "GlobalMaxPool": OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try globalPool(context, .max)
    },
    "GlobalAveragePool": OperatorDefinition(opsets: 6...21) { context throws(InferenceError) in
      try globalPool(context, .average(countIncludePad: false))
    },
  ]

  static func pool(_ context: NodeContext, _ kind: PoolKind) throws(InferenceError)
    -> any CompiledOperator
  {
    let shape = try context.singleInput()
    let geometry = try poolGeometry(context, dilations: kind == .max || context.opset >= 19)
    let output = Array(shape[..<2]) + geometry.output.suffix(shape.count - 2)
    // The pooling's plan holds the taps of each output position of each dimension.
    try context.checkOutputSize(output)
    return PoolingOperator(Pooling(kind, geometry), outputShape: output)
  }

  /// The windows of a pooling node: kernel_shape, strides, dilations (where the operator
  /// has them), pads or auto_pad, and ceil_mode; each window must start inside the input or
  /// its left padding.
  static func poolGeometry(_ context: NodeContext, dilations hasDilations: Bool)
    throws(InferenceError) -> PoolGeometry
  {
    let shape = try context.shape(0)
    let rank = shape.count - 2
    guard (1...3).contains(rank) else {
      throw context.invalidInput(0, "must have 1, 2 or 3 spatial dimensions after N and C")
    }
    func list(_ name: String, _ fallback: Int, count: Int) throws(InferenceError) -> [Int] {
      guard let values = try context.ints(name) else {
        return Array(repeating: fallback, count: count)
      }
      guard values.count == count else {
        throw context.invalidAttribute(
          name, "\(values)", "must have \(count) values for \(rank) spatial dimensions")
      }
      try context.checkWindowValues(name, values)
      return values
    }
    guard let kernel = try context.ints("kernel_shape") else {
      throw context.invalidAttribute("kernel_shape", "(absent)", "is required")
    }
    guard kernel.count == rank, kernel.allSatisfy({ $0 >= 1 }) else {
      throw context.invalidAttribute(
        "kernel_shape", "\(kernel)", "must have \(rank) positive values")
    }
    try context.checkWindowValues("kernel_shape", kernel)
    let stride = try list("strides", 1, count: rank)
    if !hasDilations, context.node.attribute("dilations") != nil {
      throw context.invalidAttribute(
        "dilations", "(attribute)", "is an attribute of AveragePool from opset 19")
    }
    let dilation = try list("dilations", 1, count: rank)
    for (name, values) in [("strides", stride), ("dilations", dilation)]
    where !values.allSatisfy({ $0 >= 1 }) {
      throw context.invalidAttribute(name, "\(values)", "must be positive")
    }
    let ceilMode = try context.int("ceil_mode", default: 0)
    guard ceilMode == 0 || ceilMode == 1 else {
      throw context.invalidAttribute("ceil_mode", "\(ceilMode)", "must be 0 or 1")
    }
    let input = Array(shape[2...])
    let extent = (0..<rank).map { (kernel[$0] - 1) * dilation[$0] + 1 }
    let pads = try context.autoPads(list("pads", 0, count: 2 * rank), rank: rank) { axis in
      NodeContext.samePadding(input: input[axis], stride: stride[axis], extent: extent[axis])
    }
    for axis in 0..<rank
    where pads[axis] < 0 || pads[rank + axis] < 0
      || pads[axis] >= extent[axis] || pads[rank + axis] >= extent[axis]
    {
      throw context.invalidAttribute(
        "pads", "\(pads)", "each pad must be in 0..<\(extent[axis]), the window's extent")
    }
    var output = [Int]()
    for axis in 0..<rank {
      let span = input[axis] + pads[axis] + pads[rank + axis] - extent[axis]
      guard span >= 0 else {
        throw context.invalidInput(
          0,
          "its padded size along spatial axis \(axis) is smaller than the window "
            + "(\(extent[axis]))")
      }
      var size =
        (ceilMode == 1 ? (span + stride[axis] - 1) / stride[axis] : span / stride[axis]) + 1
      // The last window must start inside the input or its left padding.
      if ceilMode == 1, (size - 1) * stride[axis] >= input[axis] + pads[axis] { size -= 1 }
      output.append(size)
    }
    return PoolGeometry(
      planes: shape[0] * shape[1], input: input, output: output, kernel: kernel, stride: stride,
      dilation: dilation, padBegin: Array(pads[..<rank]), padEnd: Array(pads[rank...]))
  }

  static func globalPool(_ context: NodeContext, _ kind: PoolKind) throws(InferenceError)
    -> any CompiledOperator
  {
    let shape = try context.singleInput()
    guard shape.count >= 3 else { throw context.invalidInput(0, "must have rank 3 or more") }
    let size = shape[2...].reduce(1, *)
    guard size > 0 else { throw context.invalidInput(0, "must have non-empty planes") }
    let output = Array(shape[..<2]) + Array(repeating: 1, count: shape.count - 2)
    return KernelOperator(context, outputs: [output]) { inputs, outputs in
      Pooling.global(kind, inputs[0], into: outputs[0], size: size)
    }
  }
}

/// A windowed pooling (MaxPool, AveragePool): its windows known to the plan, which may run a
/// max pooling in the blocked layout instead.
final class PoolingOperator: CompiledOperator {
  let pooling: Pooling
  let outputShapes: [[Int]]

  init(_ pooling: Pooling, outputShape: [Int]) {
    self.pooling = pooling
    outputShapes = [outputShape]
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    pooling.run(inputs[0]!, into: outputs[0])
  }
}
