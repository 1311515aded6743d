import Tensors
import Testing

/// How close two float results must be.
public struct Tolerance: Sendable {
  public var absolute: Float
  public var relative: Float

  public init(absolute: Float, relative: Float) {
    self.absolute = absolute
    self.relative = relative
  }

  /// Float32 arithmetic against an exact result: absolute 1e-5, relative 1e-4.
  public static let float32 = Tolerance(absolute: 1e-5, relative: 1e-4)

  /// `float32`, with the absolute part at least 1e-5 of `scale` (the largest expected
  /// magnitude): for deep chains of random weights, whose outputs in the hundreds are sums of
  /// hundreds of products, an output that cancels to near zero keeps the rounding of its
  /// terms, which differs with the order of the sums and with fused or separate multiply-adds.
  public static func float32(scale: Float) -> Tolerance {
    Tolerance(absolute: max(float32.absolute, 1e-5 * scale), relative: float32.relative)
  }
}

/// Expects equal shapes and every element within `tolerance` (|a - e| <= abs + rel * |e|,
/// NaN matching NaN, an infinity itself); a failure names the shape, the largest difference
/// and the first element out of tolerance.
public func expectClose(
  _ actual: Tensor, _ expected: Tensor, _ tolerance: Tolerance = .float32,
  _ context: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.shape == expected.shape else {
    Issue.record(
      "\(context()): shape \(actual.shape), expected \(expected.shape)",
      sourceLocation: sourceLocation)
    return
  }
  var largest: Float = 0
  var firstBad: Int?
  for (index, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
    if a == e || a.isNaN && e.isNaN { continue }  // infinities match themselves
    let difference = abs(a - e)
    if !(difference <= tolerance.absolute + tolerance.relative * abs(e)) {
      firstBad = firstBad ?? index
    }
    largest = max(largest, difference.isNaN ? .infinity : difference)
  }
  if let firstBad {
    let message =
      "\(context()): shape \(actual.shape), max difference \(largest), first bad index "
      + "\(firstBad): \(actual.scalars[firstBad]) vs \(expected.scalars[firstBad])"
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
  }
}

/// The largest absolute difference between two tensors of the same shape.
public func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
  precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
  return zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
}
