import CKernels

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
  /// x · sigmoid(x) (SiLU, or swish): ONNX's Sigmoid followed by Mul with its input.
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
  /// 0.5 · x · (1 + erf(x / √2)): GELU without the tanh approximation.
  case geluErf
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
    case .silu: return x * (1 / (1 + expf(-x)))
    case .hardSigmoid(let alpha, let beta): return Swift.max(0, Swift.min(1, alpha * x + beta))
    case .hardSwish: return x * Swift.max(0, Swift.min(1, x * (1 / 6) + 0.5))
    case .leakyRelu(let alpha): return x < 0 ? alpha * x : x
    case .tanh: return tanhf(x)
    case .erf: return erff(x)
    case .geluErf: return 0.5 * x * (1 + erff(x * 0.70710677))
    case .exp: return expf(x)
    case .sqrt: return x.squareRoot()
    case .negate: return -x
    case .reciprocal: return 1 / x
    }
  }

  /// Applies the function to every element of `y`, in place, in slices spread over threads
  /// when `y` is large. The piecewise-linear functions run branch-free loops that vectorize;
  /// the transcendental ones run the vectorized C loops of `gc_activation`, within float
  /// tolerance of `value(_:)`.
  package func apply(_ y: UnsafeMutableBufferPointer<Float>) {
    let activation = self
    unsafe Self.chunks(y) { chunk in unsafe activation.applyInPlace(chunk) }
  }

  /// `apply` on one slice, on this thread. Each case is its own loop over the slice, so the
  /// function is inlined into it whether or not the slices run on other threads (a closure
  /// called per element through the thread pool does not vectorize).
  private func applyInPlace(_ y: UnsafeMutableBufferPointer<Float>) {
    switch self {
    case .relu: for i in y.indices { unsafe y[i] = unsafe y[i] < 0 ? 0 : y[i] }
    case .clip(let low, let high):
      for i in y.indices { unsafe y[i] = Swift.min(Swift.max(unsafe y[i], low), high) }
    case .sigmoid, .silu, .hardSwish, .tanh, .erf, .geluErf, .exp:
      unsafe Self.vectorized(y, vectorizedKind!)
    case .hardSigmoid(let alpha, let beta):
      for i in y.indices { unsafe y[i] = Swift.max(0, Swift.min(1, alpha * (unsafe y[i]) + beta)) }
    case .leakyRelu(let alpha):
      for i in y.indices { unsafe y[i] = unsafe y[i] < 0 ? alpha * y[i] : y[i] }
    case .sqrt: for i in y.indices { unsafe y[i] = (unsafe y[i]).squareRoot() }
    case .negate: for i in y.indices { unsafe y[i] = -(unsafe y[i]) }
    case .reciprocal: for i in y.indices { unsafe y[i] = 1 / (unsafe y[i]) }
    }
  }

  /// The function as `gc_activation` computes it, for the transcendental ones.
  package var vectorizedKind: gc_activation_kind? {
    switch self {
    case .sigmoid: GC_ACTIVATION_SIGMOID
    case .silu: GC_ACTIVATION_SILU
    case .hardSwish: GC_ACTIVATION_HARD_SWISH
    case .tanh: GC_ACTIVATION_TANH
    case .erf: GC_ACTIVATION_ERF
    case .geluErf: GC_ACTIVATION_GELU_ERF
    case .exp: GC_ACTIVATION_EXP
    default: nil
    }
  }

  /// gc_activation(kind) over `y` in place.
  private static func vectorized(
    _ y: UnsafeMutableBufferPointer<Float>, _ kind: gc_activation_kind
  ) {
    guard !y.isEmpty else { return }
    unsafe gc_activation(kind, y.baseAddress, y.baseAddress, Int64(y.count))
  }

  /// Runs `body` on consecutive slices of 64 Ki elements of `y`, spread over threads.
  @inline(__always)
  private static func chunks(
    _ y: UnsafeMutableBufferPointer<Float>, _ body: (UnsafeMutableBufferPointer<Float>) -> Void
  ) {
    let chunk = 1 << 16
    let chunks = (y.count + chunk - 1) / chunk
    Threads.parallelFor(chunks) { index in
      let start = index * chunk
      let end = Swift.min(start + chunk, y.count)
      unsafe body(UnsafeMutableBufferPointer(rebasing: y[start..<end]))
    }
  }
}
