import CKernels
import Tensors

/// A fast forward pass for one convolution geometry, its weights packed once at creation.
package protocol ForwardKernel: AnyObject, Sendable {
  /// y = x ⋆ w + bias for the whole batch, spread over `Threads.count` threads.
  /// x: `geometry.xShape`, read with zeros outside (other padding modes are written out
  /// before, so the geometry's padding mode is `.zeros`); bias: `[yChannels]` or nil;
  /// y: `geometry.yShape`, every element written; clamped to [clamp[0], clamp[1]] when
  /// `clamp` is given (a ReLU or clip fused into the output pass).
  func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?)
}

/// A forward kernel that does more as it stores its output, while it is in registers: an
/// activation after the clamp, and (when `addsToOutput`) adding what y holds, a residual
/// connection.
package protocol FusingForwardKernel: ForwardKernel {
  /// Whether `forward(..., adding: true)` is supported.
  var addsToOutput: Bool { get }
  /// y = f(clamp(x ⋆ w + bias (+ y when `adding`))), f the activation (a
  /// `gc_activation_kind`, or none).
  func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool)
}

extension FusingForwardKernel {
  /// `forward` with nothing fused but the clamp.
  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?
  ) {
    unsafe forward(x: x, bias: bias, y: y, clamp: clamp, activation: nil, adding: false)
  }
}

extension ForwardKernel {
  /// `forward` without a clamp.
  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {
    unsafe forward(x: x, bias: bias, y: y, clamp: nil)
  }
}

/// Chooses the algorithm for each convolution regime.
package enum ForwardKernels {
  /// The fastest kernel for `geometry` with `weight` packed, or `nil` when only the
  /// reference loops handle it. `geometry` must be a (not transposed) convolution with zeros
  /// padding.
  package static func make(
    for geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>
  ) -> (any ForwardKernel)? {
    precondition(!geometry.transposed && geometry.paddingMode == .zeros)
    precondition(weight.count == geometry.weightShape.reduce(1, *))
    if geometry.multiplyAdds == 0 { return nil }
    if DepthwisePlane.prefers(geometry), let plane = unsafe DepthwisePlane(geometry, weight: weight) {
      return plane
    }
    if let lanes = unsafe DepthwiseLanes(geometry, weight: weight) { return lanes }
    if let direct = unsafe DirectConvolution(geometry, weight: weight) { return direct }
    if BlockedDenseConvolution.prefers(geometry),
      let blocked = unsafe BlockedDenseConvolution(geometry, weight: weight)
    {
      return blocked
    }
    if let gemm = unsafe GemmConvolution(geometry, weight: weight) { return gemm }
    return nil
  }
}

/// The reference loops behind the `ForwardKernel` interface: what code built on forward
/// kernels is tested with, independently of the fast kernels.
package final class ReferenceForwardKernel: ForwardKernel {
  let geometry: ConvolutionGeometry
  let weight: [Float]

  package init(_ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>) {
    self.geometry = geometry
    self.weight = unsafe Array(weight)
  }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?
  ) {
    let xCount = geometry.xShape.reduce(1, *)
    let input = unsafe Array(UnsafeBufferPointer(start: x, count: xCount))
    var result = Reference.correlate(x: input, w: weight, geometry)
    if let bias = unsafe bias {
      let values = unsafe Array(UnsafeBufferPointer(start: bias, count: geometry.yChannels))
      Reference.addBias(
        values, to: &result, channels: geometry.yChannels, plane: geometry.ySize.reduce(1, *))
    }
    let (low, high) = unsafe clamp.map { unsafe ($0[0], $0[1]) } ?? (-.infinity, .infinity)
    for index in result.indices { unsafe y[index] = min(max(result[index], low), high) }
  }
}
