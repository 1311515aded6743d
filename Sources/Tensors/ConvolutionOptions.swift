/// One integer per spatial dimension, as PyTorch's `int or tuple` arguments: a single value
/// applies to every dimension.
///
/// ```swift
/// let stride: PerDimension = 2        // (2, 2) for a 2-D convolution
/// let dilation: PerDimension = [1, 2] // height 1, width 2
/// ```
public struct PerDimension: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral,
  ExpressibleByArrayLiteral, CustomStringConvertible
{
  /// One value (for every dimension) or one value per dimension.
  public var values: [Int]

  public init(_ values: [Int]) { self.values = values }
  public init(integerLiteral value: Int) { values = [value] }
  public init(arrayLiteral elements: Int...) { values = elements }

  /// The values for `spatialRank` dimensions, or `nil` when the count is neither 1 nor
  /// `spatialRank`.
  public func resolved(spatialRank: Int) -> [Int]? {
    if values.count == spatialRank { return values }
    if values.count == 1 { return Array(repeating: values[0], count: spatialRank) }
    return nil
  }

  public var description: String {
    values.count == 1 ? "\(values[0])" : "(\(values.map(String.init).joined(separator: ", ")))"
  }
}

/// How much a convolution pads its input, as PyTorch's `padding` argument, extended with
/// ONNX's asymmetric `pads`.
///
/// - `.explicit` with 1 value pads every side of every spatial dimension by it; with one
///   value per dimension it pads both sides of that dimension; with two values per dimension
///   it lists all begin paddings, then all end paddings (ONNX's `pads` order).
/// - `.same` pads so that the output has the input's size (stride 1 only): a total of
///   `dilation * (kernel - 1)` per dimension, the odd extra on the end side, as PyTorch.
/// - `.valid` does not pad.
public enum Padding: Equatable, Hashable, Sendable, ExpressibleByIntegerLiteral,
  ExpressibleByArrayLiteral, CustomStringConvertible
{
  case explicit([Int])
  case same
  case valid

  public init(integerLiteral value: Int) { self = .explicit([value]) }
  public init(arrayLiteral elements: Int...) { self = .explicit(elements) }

  /// Begin and end paddings, each inferred from the explicit values (1, `spatialRank` or
  /// `2 * spatialRank` of them); `nil` for another count, `.same` or `.valid`.
  public func explicitPads(spatialRank: Int) -> (begin: [Int], end: [Int])? {
    guard case let .explicit(values) = self else { return nil }
    if values.count == 2 * spatialRank && spatialRank > 0 {
      return (Array(values[..<spatialRank]), Array(values[spatialRank...]))
    }
    guard let symmetric = PerDimension(values).resolved(spatialRank: spatialRank) else {
      return nil
    }
    return (symmetric, symmetric)
  }

  public var description: String {
    switch self {
    case .same: "'same'"
    case .valid: "'valid'"
    case let .explicit(values): PerDimension(values).description
    }
  }
}

/// What a convolution reads outside its input, as PyTorch's `padding_mode`.
public enum PaddingMode: String, CaseIterable, Equatable, Hashable, Sendable {
  /// Zeros outside the input.
  case zeros
  /// The input mirrored at its edge, without repeating the edge: `c b | a b c | b a`.
  case reflect
  /// The edge value repeated: `a a | a b c | c c`.
  case replicate
  /// The input wrapped around: `b c | a b c | a b`.
  case circular

  /// The mode named `name`, as PyTorch spells it.
  ///
  /// - Throws: `ConvolutionError.unknownPaddingMode` for any other name.
  public init(named name: String) throws(ConvolutionError) {
    guard let mode = PaddingMode(rawValue: name) else { throw .unknownPaddingMode(name) }
    self = mode
  }
}

/// The arguments of one convolution or transposed convolution, as PyTorch's
/// `torch.nn.functional.conv*d` and `conv_transpose*d` take them, before they are checked
/// against the tensors' shapes.
public struct ConvolutionOptions: Equatable, Hashable, Sendable {
  /// Step between output positions, per dimension.
  public var stride: PerDimension
  /// Padding on each side (for a transposed convolution: rows removed from each side).
  public var padding: Padding
  /// Spacing between kernel taps, per dimension.
  public var dilation: PerDimension
  /// Number of independent channel groups; divides both input and output channels.
  public var groups: Int
  /// What is read outside the input; transposed convolutions only support `.zeros`.
  public var paddingMode: PaddingMode
  /// Whether this is a transposed convolution (`conv_transpose*d`).
  public var transposed: Bool
  /// Extra output size on the end side of a transposed convolution; smaller than the stride
  /// or the dilation of its dimension.
  public var outputPadding: PerDimension

  public init(
    stride: PerDimension = 1, padding: Padding = 0, dilation: PerDimension = 1,
    groups: Int = 1, paddingMode: PaddingMode = .zeros, transposed: Bool = false,
    outputPadding: PerDimension = 0
  ) {
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.groups = groups
    self.paddingMode = paddingMode
    self.transposed = transposed
    self.outputPadding = outputPadding
  }
}
