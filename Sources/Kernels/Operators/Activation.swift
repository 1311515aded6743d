import Foundation

/// An elementwise activation applied in place: what a convolution's output pass can fuse.
package enum Activation: Equatable, Sendable {
  case relu
  case clip(min: Float, max: Float)
  case sigmoid
  case hardSigmoid(alpha: Float, beta: Float)
  case hardSwish

  /// y = f(y) for every element.
  package func apply(_ y: UnsafeMutableBufferPointer<Float>) {
    switch self {
    case .relu:
      for i in y.indices { unsafe y[i] = max(unsafe y[i], 0) }
    case let .clip(low, high):
      for i in y.indices { unsafe y[i] = min(max(unsafe y[i], low), high) }
    case .sigmoid:
      for i in y.indices { unsafe y[i] = 1 / (1 + exp(-(unsafe y[i]))) }
    case let .hardSigmoid(alpha, beta):
      for i in y.indices { unsafe y[i] = min(max(alpha * (unsafe y[i]) + beta, 0), 1) }
    case .hardSwish:
      for i in y.indices {
        let v = unsafe y[i]
        unsafe y[i] = v * min(max(v / 6 + 0.5, 0), 1)
      }
    }
  }
}
