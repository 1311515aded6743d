import GroupConv
import Kernels
import TestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// Every activation's `apply` against its `value(_:)`, with both instruction sets and one and
/// two threads. Serialized: the tests switch the instruction set and the thread count, which
/// are process-wide.
@Suite(.serialized) struct ActivationKernelTests {
  static let all: [Activation] = [
    .relu, .clip(min: -0.5, max: 1), .sigmoid, .silu, .hardSigmoid(alpha: 0.3, beta: 0.4),
    .hardSwish, .leakyRelu(alpha: 0.1), .tanh, .erf, .geluErf, .exp, .sqrt, .negate,
    .reciprocal,
  ]

  /// Float32 against the C library's float functions, one operation deep.
  static let tolerance = Tolerance(absolute: 1e-6, relative: 1e-5)

  /// Where the fast loops could go wrong: zeros of both signs, NaN, infinities, subnormals,
  /// the largest floats, and the edges of exp's range (overflow past 88.72, underflow below
  /// -87.3, 0 below -103.9).
  static let specialValues: [Float] = [
    0, -0, .nan, .infinity, -.infinity, 1e-30, -1e-30, .leastNonzeroMagnitude,
    -.leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 88.72, 88.73,
    -87.3, -87.4, -103.9, -104, 100, -100, 0.625, -0.625, 1, -1, 4, -4,
  ]

  /// `count` values from -100 to 100, spaced as a cube so that they crowd around 0, with the
  /// special values first.
  static func grid(_ count: Int) -> [Float] {
    (0..<count).map { i in
      if i < specialValues.count { return specialValues[i] }
      let t = count > 1 ? 2 * Float(i) / Float(count - 1) - 1 : 0
      return 100 * t * t * t
    }
  }

  @Test(arguments: [0, 1, 15, 16, 17, 100_003])
  func applyMatchesValue(count: Int) {
    forEachKernelConfiguration { configuration in
      for activation in Self.all {
        let x = Self.grid(count).map { activation == .sqrt ? abs($0) : $0 }
        var y = x
        y.withUnsafeMutableBufferPointer { activation.apply($0) }
        expectClose(
          try! Tensor(shape: [count], scalars: y),
          try! Tensor(shape: [count], scalars: x.map(activation.value)), Self.tolerance,
          "\(activation), \(count) values, \(configuration)")
      }
    }
  }

  @Test func specialValuesKeepTheirSignsAndNaN() {
    forEachKernelConfiguration { configuration in
      for activation in Self.all {
        var y = Self.specialValues
        y.withUnsafeMutableBufferPointer { activation.apply($0) }
        for (x, y) in zip(Self.specialValues, y) {
          let expected = activation.value(x)
          #expect(
            y.isNaN == expected.isNaN && (y.isNaN || y.sign == expected.sign),
            "\(activation)(\(x)) = \(y), expected \(expected), \(configuration)")
        }
      }
    }
  }

  /// Dense grids where the curves bend: the vector erf within its own bound (tighter than
  /// the float tolerance), GELU, whose erf is cheaper (Abramowitz and Stegun 7.1.28), and
  /// exp (AVX-512: rounded and scaled by 2^n in single instructions), sigmoid and SiLU made
  /// from it, within the float tolerance.
  @Test(arguments: [
    (Activation.erf, Float(6), Tolerance(absolute: 2e-7, relative: 0)),
    (Activation.geluErf, Float(8), tolerance),
    (Activation.exp, Float(20), tolerance),
    (Activation.sigmoid, Float(20), tolerance),
    (Activation.silu, Float(20), tolerance),
  ])
  func denseGridIsWithinItsBound(_ activation: Activation, _ range: Float, _ bound: Tolerance) {
    let steps = Int(range) * 20_000
    let x = (0...steps).map { Float($0) / 10_000 - range }
    forEachKernelConfiguration { configuration in
      var y = x
      y.withUnsafeMutableBufferPointer { activation.apply($0) }
      expectClose(
        try! Tensor(shape: [x.count], scalars: y),
        try! Tensor(shape: [x.count], scalars: x.map(activation.value)), bound,
        "\(activation) on [-\(range), \(range)], \(configuration)")
    }
  }
}
