import Tensors

/// Convolution as matrix multiplication for dense, pointwise and many-channel groups (placeholder: no regime yet).
package final class GemmConvolution: ForwardKernel {
  package init?(_ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>) {
    return nil
  }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {}
}
