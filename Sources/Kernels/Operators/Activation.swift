#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// An elementwise function of one float, as ONNX defines it: what the activation operators
/// compute, and what a convolution can apply to its output before writing it.
package enum Activation: Equatable, Sendable {
  /// max(x, 0).
  case relu
  /// min(max(x, min), max).
  case clip(min: Float, max: Float)
  /// 1 / (1 + exp(-x)).
  case sigmoid
  /// x / (1 + exp(-x)): SiLU (swish).
  case silu
  /// max(0, min(1, alpha · x + beta)).
  case hardSigmoid(alpha: Float, beta: Float)
  /// x · max(0, min(1, x / 6 + 1 / 2)).
  case hardSwish
  /// x for x ≥ 0, alpha · x below.
  case leakyRelu(alpha: Float)
  case tanh
  /// The error function, 2/√π ∫₀ˣ exp(-t²) dt.
  case erf
  case exp
  case sqrt
  /// -x.
  case negate
  /// 1 / x.
  case reciprocal

  /// The function at one value: the plain definition the fast loops are tested against.
  package func value(_ x: Float) -> Float {
    switch self {
    case .relu: return x < 0 ? 0 : x
    case .clip(let low, let high): return Swift.min(Swift.max(x, low), high)
    case .sigmoid: return 1 / (1 + expf(-x))
    case .silu: return x / (1 + expf(-x))
    case .hardSigmoid(let alpha, let beta): return Swift.max(0, Swift.min(1, alpha * x + beta))
    case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
    case .leakyRelu(let alpha): return x < 0 ? alpha * x : x
    case .tanh: return tanhf(x)
    case .erf: return erff(x)
    case .exp: return expf(x)
    case .sqrt: return x.squareRoot()
    case .negate: return -x
    case .reciprocal: return 1 / x
    }
  }

  /// Applies the function to every element of `y`, in place. The piecewise-linear functions
  /// run branch-free loops that vectorize; the transcendental ones call the C library.
  package func apply(_ y: UnsafeMutableBufferPointer<Float>) {
    switch self {
    case .relu: unsafe Self.map(y) { $0 < 0 ? 0 : $0 }
    case .clip(let low, let high): unsafe Self.map(y) { Swift.min(Swift.max($0, low), high) }
    case .sigmoid: unsafe Self.map(y) { 1 / (1 + expf(-$0)) }
    case .silu: unsafe Self.map(y) { $0 / (1 + expf(-$0)) }
    case .hardSigmoid(let alpha, let beta):
      unsafe Self.map(y) { Swift.max(0, Swift.min(1, alpha * $0 + beta)) }
    case .hardSwish: unsafe Self.map(y) { $0 * Swift.max(0, Swift.min(1, $0 / 6 + 0.5)) }
    case .leakyRelu(let alpha): unsafe Self.map(y) { $0 < 0 ? alpha * $0 : $0 }
    case .tanh: unsafe Self.map(y) { tanhf($0) }
    case .erf: unsafe Self.map(y) { erff($0) }
    case .exp: unsafe Self.map(y) { expf($0) }
    case .sqrt: unsafe Self.map(y) { $0.squareRoot() }
    case .negate: unsafe Self.map(y) { -$0 }
    case .reciprocal: unsafe Self.map(y) { 1 / $0 }
    }
  }

  /// y[i] = f(y[i]), in chunks spread over threads when `y` is large.
  @inline(__always)
  private static func map(_ y: UnsafeMutableBufferPointer<Float>, _ f: (Float) -> Float) {
    let chunk = 1 << 16
    let chunks = (y.count + chunk - 1) / chunk
    Threads.parallelFor(chunks) { index in
      let start = index * chunk
      let end = Swift.min(start + chunk, y.count)
      guard let base = y.baseAddress else { return }
      for i in start..<end { unsafe base[i] = f(base[i]) }
    }
  }
}
