/// A small, fast, seeded random number generator (SplitMix64), so that random tensors and
/// layer initialisations are reproducible from a seed on every platform.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator whose sequence is fixed by `seed`.
  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

extension Tensor {
  /// A tensor of the given shape filled with values drawn uniformly from `range`.
  ///
  /// - Throws: `TensorError` for a negative dimension or an overflowing element count.
  public static func random(
    shape: [Int], in range: ClosedRange<Float> = -1...1,
    using generator: inout some RandomNumberGenerator
  ) throws(TensorError) -> Tensor {
    let count = try elementCount(of: shape)
    var scalars = [Float]()
    scalars.reserveCapacity(count)
    for _ in 0..<count { scalars.append(Float.random(in: range, using: &generator)) }
    return Tensor(validShape: shape, scalars: scalars)
  }

  /// A tensor of the given shape filled with values drawn uniformly from `range`, reproducibly
  /// from `seed`.
  public static func random(
    shape: [Int], in range: ClosedRange<Float> = -1...1, seed: UInt64
  ) throws(TensorError) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return try random(shape: shape, in: range, using: &generator)
  }
}
