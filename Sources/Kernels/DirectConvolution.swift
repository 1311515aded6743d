import Tensors

/// Direct convolution for depthwise and small-group convolutions (placeholder: no regime yet).
package final class DirectConvolution: ForwardKernel {
  package init?(_ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>) {
    return nil
  }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {}
}
