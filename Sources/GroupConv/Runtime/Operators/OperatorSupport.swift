import Formats
import Kernels
import Tensors

/// A compiled operator made of its output shapes and the loop that computes them. Float
/// inputs that were constant when it was made are kept, so the loop sees every input as a
/// buffer (empty for an absent one), whatever the graph passes at run time.
final class KernelOperator: CompiledOperator {
  typealias Body =
    @Sendable (
      _ inputs: [UnsafeBufferPointer<Float>], _ outputs: [UnsafeMutableBufferPointer<Float>]
    ) -> Void

  let outputShapes: [[Int]]
  let runsInPlace: Bool
  let joinedInputLengths: [Int]?
  private let constants: [AlignedBuffer?]
  private let body: Body

  /// Keeps the float constants of `context` (an operator that takes integer constants reads
  /// them while it is made).
  init(
    _ context: NodeContext, outputs: [[Int]], inPlace: Bool = false, joins: [Int]? = nil,
    _ body: @escaping Body
  ) {
    outputShapes = outputs
    runsInPlace = inPlace
    joinedInputLengths = joins
    constants = context.constants.map { value in
      guard case .float(_, let values)? = value else { return nil }
      return AlignedBuffer(values)
    }
    self.body = body
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    let count = max(inputs.count, constants.count)
    let resolved = (0..<count).map { i in
      (i < inputs.count ? inputs[i] : nil)
        ?? (i < constants.count ? constants[i].map { UnsafeBufferPointer($0.buffer) } : nil)
        ?? UnsafeBufferPointer(start: nil, count: 0)
    }
    body(resolved, outputs)
  }
}

/// y = x, unless y is x's own buffer.
func copyIfDistinct(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeMutableBufferPointer<Float>) {
  guard x.baseAddress != UnsafePointer(y.baseAddress), x.count > 0 else { return }
  _ = y.update(fromContentsOf: x)
}

/// The numpy broadcast of two shapes (right-aligned, each size equal or 1), or nil.
func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
  let rank = max(a.count, b.count)
  let a = Array(repeating: 1, count: rank - a.count) + a
  let b = Array(repeating: 1, count: rank - b.count) + b
  var merged = [Int]()
  for (x, y) in zip(a, b) {
    guard x == y || x == 1 || y == 1 else { return nil }
    merged.append(x == 1 ? y : x)
  }
  return merged
}

// MARK: - Checks shared by the operators

extension NodeContext {
  /// Throws unless the node has between `range.lowerBound` and `range.upperBound` outputs
  /// (trailing empty names count as absent).
  func expectOutputs(_ range: ClosedRange<Int>) throws(InferenceError) {
    var count = node.outputs.count
    while count > 0, node.outputs[count - 1].isEmpty { count -= 1 }
    guard range.contains(count) else {
      throw .outputCount(opType: opType, node: name, count: count, expected: range)
    }
  }

  /// The checks of an operator of one float input and one output; returns the input's shape.
  func singleInput() throws(InferenceError) -> [Int] {
    try expectInputs(1...1)
    try expectOutputs(1...1)
    try expectFloats(0)
    return try shape(0)
  }

  /// Throws unless each of `indices` that is constant holds floats: the inputs an operator
  /// computes with.
  func expectFloats(_ indices: Int...) throws(InferenceError) {
    for index in indices {
      guard let value = constant(index) else { continue }
      if case .float = value { continue }
      let type =
        switch value {
        case .float: "FLOAT"
        case .int64: "INT64"
        case .int32: "INT32"
        case .bool: "BOOL"
        }
      throw .unsupportedDataType(
        opType: opType, node: name, tensor: node.inputs[index], dataType: type)
    }
  }

  /// `axis` (negative counts from the end) as an index in 0..<rank, or with `inclusive`
  /// in 0...rank (Flatten's axis, which may be rank).
  func axis(_ axis: Int, rank: Int, attribute: String = "axis", inclusive: Bool = false)
    throws(InferenceError) -> Int
  {
    let upper = inclusive ? rank : rank - 1
    guard axis >= -rank && axis <= upper else {
      throw invalidAttribute(
        attribute, "\(axis)", "must be in \(-rank)...\(upper) for rank \(rank)")
    }
    return axis < 0 ? axis + rank : axis
  }

  /// Distinct axes in 0..<rank from a list that may count from the end.
  func axes(_ values: [Int], rank: Int, attribute: String = "axes") throws(InferenceError)
    -> [Int]
  {
    var result = [Int]()
    for value in values {
      guard value >= -rank && value < rank else {
        throw invalidAttribute(
          attribute, "\(values)", "each axis must be in \(-rank)...\(rank - 1) for rank \(rank)")
      }
      let axis = value < 0 ? value + rank : value
      guard !result.contains(axis) else {
        throw invalidAttribute(attribute, "\(values)", "axes must not repeat")
      }
      result.append(axis)
    }
    return result
  }

  /// Refuses an output of more elements than a value computed at run time may hold, for an
  /// operator that plans something per output position before the planner sees the shape.
  func checkOutputSize(_ shape: [Int]) throws(InferenceError) {
    let maximum = ConstantFolding.maximumElementCount
    guard let count = try? Tensor.elementCount(of: shape), count <= maximum else {
      throw .tooLarge(
        opType: opType, node: name, tensor: node.outputs.first ?? "", shape: shape,
        maximum: maximum)
    }
  }

  /// The element count of an output shape, checked for negative sizes and overflow.
  func elementCount(ofOutput shape: [Int]) throws(InferenceError) -> Int {
    do {
      return try Tensor.elementCount(of: shape)
    } catch {
      throw invalidInput(0, "the output shape \(shape) is not a valid shape: \(error)")
    }
  }

  /// The numpy broadcast of the shapes of `indices`: right-aligned, each size equal or 1.
  func broadcastShape(_ indices: [Int]) throws(InferenceError) -> [Int] {
    var result = [Int]()
    for index in indices {
      guard let merged = broadcast(result, try shape(index)) else {
        throw invalidInput(index, "does not broadcast with shape \(result)")
      }
      result = merged
    }
    return result
  }

  /// The integers of an optional integer attribute or, from `opset`, of input `index`:
  /// operators that moved an attribute to an input (Squeeze's axes, Split's split, ...).
  /// nil when neither is given.
  func integers(attribute: String, orInput index: Int, from opset: Int)
    throws(InferenceError) -> [Int]?
  {
    if self.opset >= opset {
      if node.attribute(attribute) != nil {
        throw invalidAttribute(
          attribute, "(attribute)", "is an input from opset \(opset), not an attribute")
      }
      return hasInput(index) ? try constantIntegers(index) : nil
    }
    return try ints(attribute)
  }
}
