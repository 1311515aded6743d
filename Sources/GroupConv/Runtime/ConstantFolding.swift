import Formats
import Tensors

/// The operators a model uses for values known before it runs: constants, shapes and the
/// integer arithmetic on them, evaluated when the model is prepared.
enum ConstantFolding {
  /// The most elements a folded constant may have: a lying shape fails here instead of
  /// allocating.
  static let maximumElementCount = 1 << 28

  /// Operators that only move elements: integer inputs are folded by running the float
  /// operator on their values, which is exact for magnitudes up to 2^24.
  static let layoutOperators: Set<String> = [
    "Gather", "Slice", "Reshape", "Unsqueeze", "Squeeze", "Concat", "Flatten", "Transpose",
    "Split", "Identity",
  ]

  /// Operators handled here, never at run time.
  static let foldedOperators: Set<String> = [
    "Constant", "ConstantOfShape", "Shape", "Size", "Cast", "Dropout", "Identity",
  ]

  /// `Constant`: the value of its one attribute.
  static func constant(_ context: NodeContext) throws(InferenceError) -> ONNXTensorValue {
    try context.expectInputs(0...0)
    if let tensor = try context.tensor("value") { return tensor.value }
    if let value = try context.float("value_float") { return .float(shape: [], values: [value]) }
    if let values = try context.floats("value_floats") {
      return .float(shape: [values.count], values: values)
    }
    if let value = try context.int("value_int") { return .int64(shape: [], values: [Int64(value)]) }
    if let values = try context.ints("value_ints") {
      return .int64(shape: [values.count], values: values.map(Int64.init))
    }
    let names = context.node.attributes.map(\.name).joined(separator: ", ")
    throw context.invalidAttribute(
      names.isEmpty ? "value" : names, "(none supported)",
      "a Constant needs value, value_float(s) or value_int(s)")
  }

  /// `ConstantOfShape`: a tensor of the shape in input 0, filled with `value` (float 0).
  static func constantOfShape(_ context: NodeContext) throws(InferenceError) -> ONNXTensorValue {
    try context.expectInputs(1...1)
    let shape = try context.constantIntegers(0)
    let count = try checkedCount(shape, context)
    let fill = try context.tensor("value")?.value ?? .float(shape: [1], values: [0])
    guard fill.count == 1 else {
      throw context.invalidAttribute("value", "\(fill.shape)", "must hold one element")
    }
    switch fill {
    case let .float(_, v): return .float(shape: shape, values: Array(repeating: v[0], count: count))
    case let .int64(_, v): return .int64(shape: shape, values: Array(repeating: v[0], count: count))
    case let .int32(_, v): return .int32(shape: shape, values: Array(repeating: v[0], count: count))
    case let .bool(_, v): return .bool(shape: shape, values: Array(repeating: v[0], count: count))
    }
  }

  /// `Shape`: the dimensions of input 0, from `start` to `end` (opset 15).
  static func shape(_ context: NodeContext, of shape: [Int]) throws(InferenceError)
    -> ONNXTensorValue
  {
    try context.expectInputs(1...1)
    let rank = shape.count
    func clamp(_ index: Int) -> Int { min(max(index < 0 ? index + rank : index, 0), rank) }
    let start = clamp(try context.int("start", default: 0))
    let end = clamp(try context.int("end", default: rank))
    let dims = start < end ? Array(shape[start..<end]) : []
    return .int64(shape: [dims.count], values: dims.map(Int64.init))
  }

  /// `Cast` of a constant to `to` (float, int32, int64 or bool).
  static func cast(_ value: ONNXTensorValue, _ context: NodeContext) throws(InferenceError)
    -> ONNXTensorValue
  {
    let to = try context.int("to") ?? -1
    let shape = value.shape
    let floats: [Double] =
      switch value {
      case let .float(_, v): v.map(Double.init)
      case let .int64(_, v): v.map(Double.init)
      case let .int32(_, v): v.map(Double.init)
      case let .bool(_, v): v.map { $0 ? 1 : 0 }
      }
    /// Each value truncated toward zero, as C++ casts; NaN, infinities and values out of
    /// the type's range are refused, not wrapped.
    func truncated<T: FixedWidthInteger>(_: T.Type) throws(InferenceError) -> [T] {
      var result = [T]()
      result.reserveCapacity(floats.count)
      for value in floats {
        guard let integer = T(exactly: value.rounded(.towardZero)) else {
          throw context.invalidInput(0, "holds \(value), which \(T.self) cannot hold")
        }
        result.append(integer)
      }
      return result
    }
    switch ONNXDataType(rawValue: Int32(clamping: to)) {
    case .float: return .float(shape: shape, values: floats.map(Float.init))
    case .int64:
      if let ints = value.integers { return .int64(shape: shape, values: ints) }
      return .int64(shape: shape, values: try truncated(Int64.self))
    case .int32:
      return .int32(shape: shape, values: try truncated(Int32.self))
    case .bool: return .bool(shape: shape, values: floats.map { $0 != 0 })
    default:
      throw context.invalidAttribute(
        "to", "\(ONNXDataType(rawValue: Int32(clamping: to)))",
        "constants can be cast to float, int32, int64 or bool")
    }
  }

  /// `Add`, `Sub`, `Mul`, `Div` (truncating), `Equal`, `Max` and `Min` of two integer
  /// constants, one of which has one element or both the same shape; nil for another
  /// operator.
  static func integerArithmetic(
    _ a: [Int64], _ aShape: [Int], _ b: [Int64], _ bShape: [Int], _ context: NodeContext
  ) throws(InferenceError) -> ONNXTensorValue? {
    let op: (Int64, Int64) -> Int64
    switch context.opType {
    case "Add": op = { $0 &+ $1 }
    case "Sub": op = { $0 &- $1 }
    case "Mul": op = { $0 &* $1 }
    case "Div": op = { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue }
    case "Max": op = { max($0, $1) }
    case "Min": op = { min($0, $1) }
    default: return nil
    }
    if context.opType == "Div", b.contains(0) {
      throw context.invalidInput(1, "integer division by zero")
    }
    if aShape == bShape { return .int64(shape: aShape, values: zip(a, b).map(op)) }
    if b.count == 1, aShape.count >= bShape.count {
      return .int64(shape: aShape, values: a.map { op($0, b[0]) })
    }
    if a.count == 1, bShape.count >= aShape.count {
      return .int64(shape: bShape, values: b.map { op(a[0], $0) })
    }
    throw context.invalidInput(
      1, "integer constants of shapes \(aShape) and \(bShape) are not folded: "
        + "one must have one element, or both the same shape")
  }

  /// The element count of a folded shape, refused when negative or too large.
  static func checkedCount(_ shape: [Int], _ context: NodeContext) throws(InferenceError) -> Int {
    guard let count = try? Tensor.elementCount(of: shape), count <= maximumElementCount else {
      throw context.invalidInput(
        0, "the shape \(shape) must have non-negative dimensions and at most "
          + "\(maximumElementCount) elements")
    }
    return count
  }

  // MARK: Integers through float operators

  /// The value as floats when every element is exactly representable, else nil.
  static func exactFloats(_ value: ONNXTensorValue) -> ONNXTensorValue? {
    switch value {
    case .float: return value
    case let .bool(shape, v): return .float(shape: shape, values: v.map { $0 ? 1 : 0 })
    default:
      guard let ints = value.integers, ints.allSatisfy({ $0.magnitude <= 1 << 24 }) else { return nil }
      return .float(shape: value.shape, values: ints.map(Float.init))
    }
  }

  /// Floats moved by a layout operator from integers, back in the integers' type. A value
  /// that is not a whole number of that type came from a float input mixed in (a model with
  /// inputs of two types), and is refused.
  static func restoring(
    _ floats: [Float], shape: [Int], like original: ONNXTensorValue, _ context: NodeContext
  ) throws(InferenceError) -> ONNXTensorValue {
    func whole<T: FixedWidthInteger>(_: T.Type) throws(InferenceError) -> [T] {
      var result = [T]()
      result.reserveCapacity(floats.count)
      for value in floats {
        guard let integer = T(exactly: value) else {
          throw context.invalidInput(
            0, "its integer result holds \(value): the inputs mix integers and floats")
        }
        result.append(integer)
      }
      return result
    }
    switch original {
    case .float: return .float(shape: shape, values: floats)
    case .int64: return .int64(shape: shape, values: try whole(Int64.self))
    case .int32: return .int32(shape: shape, values: try whole(Int32.self))
    case .bool: return .bool(shape: shape, values: floats.map { $0 != 0 })
    }
  }
}
