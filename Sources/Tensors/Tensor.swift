/// A float32 tensor with owned, contiguous, row-major storage: PyTorch's default layout.
///
/// For a convolution the layout is NCHW and its relatives: `[N, C, W]`, `[N, C, H, W]`,
/// `[N, C, D, H, W]`. The last index varies fastest.
///
/// ```swift
/// var x = try Tensor(shape: [1, 2, 2], scalars: [1, 2, 3, 4])
/// x[0, 1, 0] = 5   // scalars are now [1, 2, 5, 4]
/// ```
public struct Tensor: Equatable, Sendable, CustomStringConvertible {
  /// The size of each dimension, outermost first.
  public let shape: [Int]
  /// The elements in row-major order; `scalars.count` is the product of `shape`.
  public internal(set) var scalars: [Float]

  /// A tensor of the given shape holding `scalars` in row-major order.
  ///
  /// - Throws: `TensorError.negativeDimension` for a dimension below zero,
  ///   `TensorError.scalarCountMismatch` when `scalars.count` is not the product of `shape`.
  public init(shape: [Int], scalars: [Float]) throws(TensorError) {
    let count = try Tensor.elementCount(of: shape)
    guard count == scalars.count else {
      throw .scalarCountMismatch(shape: shape, expected: count, actual: scalars.count)
    }
    self.shape = shape
    self.scalars = scalars
  }

  /// A tensor of the given shape with every element equal to `value`.
  public init(shape: [Int], repeating value: Float = 0) throws(TensorError) {
    let count = try Tensor.elementCount(of: shape)
    self.shape = shape
    self.scalars = [Float](repeating: value, count: count)
  }

  /// A tensor whose shape is already known to be valid and to match `scalars`.
  package init(validShape shape: [Int], scalars: [Float]) {
    precondition(shape.reduce(1, *) == scalars.count, "shape \(shape) for \(scalars.count)")
    self.shape = shape
    self.scalars = scalars
  }

  /// A tensor of zeros whose shape is already known to be valid.
  package init(zeros shape: [Int]) {
    self.init(validShape: shape, scalars: [Float](repeating: 0, count: shape.reduce(1, *)))
  }

  /// The number of dimensions.
  public var rank: Int { shape.count }

  /// The number of elements.
  public var count: Int { scalars.count }

  /// The element at a full multi-index, one index per dimension.
  ///
  /// Traps when the number of indices is not `rank` or an index is out of range.
  public subscript(indices: Int...) -> Float {
    get { scalars[offset(of: indices)] }
    set { scalars[offset(of: indices)] = newValue }
  }

  /// The row-major offset of a full multi-index.
  public func offset(of indices: [Int]) -> Int {
    precondition(indices.count == shape.count, "\(indices.count) indices for shape \(shape)")
    var offset = 0
    for (index, size) in zip(indices, shape) {
      precondition(index >= 0 && index < size, "index \(indices) out of range for \(shape)")
      offset = offset * size + index
    }
    return offset
  }

  /// The same elements viewed with another shape of the same element count.
  ///
  /// - Throws: `TensorError.scalarCountMismatch` when the counts differ.
  public func reshaped(to newShape: [Int]) throws(TensorError) -> Tensor {
    try Tensor(shape: newShape, scalars: scalars)
  }

  /// Calls `body` with the elements as a contiguous buffer.
  public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try scalars.withUnsafeBufferPointer(body)
  }

  /// Calls `body` with the elements as a contiguous mutable buffer.
  public mutating func withUnsafeMutableBufferPointer<R>(
    _ body: (inout UnsafeMutableBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try scalars.withUnsafeMutableBufferPointer { buffer in try body(&buffer) }
  }

  public var description: String {
    let preview = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
    return "Tensor(shape: \(shape), scalars: [\(preview)\(scalars.count > 8 ? ", ..." : "")])"
  }

  /// The product of `shape`, checked for negative dimensions and overflow.
  public static func elementCount(of shape: [Int]) throws(TensorError) -> Int {
    var count = 1
    for size in shape {
      guard size >= 0 else { throw .negativeDimension(shape: shape) }
      let (product, overflow) = count.multipliedReportingOverflow(by: size)
      guard !overflow else { throw .tooManyElements(shape: shape) }
      count = product
    }
    return count
  }
}

/// What can be wrong when a tensor is built from a shape and its elements.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A dimension is below zero.
  case negativeDimension(shape: [Int])
  /// The product of the shape does not fit in an `Int`.
  case tooManyElements(shape: [Int])
  /// The number of elements does not match the shape.
  case scalarCountMismatch(shape: [Int], expected: Int, actual: Int)

  public var description: String {
    switch self {
    case let .negativeDimension(shape):
      "tensor of shape \(shape): dimensions must not be negative"
    case let .tooManyElements(shape):
      "tensor of shape \(shape): the number of elements overflows"
    case let .scalarCountMismatch(shape, expected, actual):
      "tensor of shape \(shape) holds \(expected) elements, but \(actual) were given"
    }
  }
}
