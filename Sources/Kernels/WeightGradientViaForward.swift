import Tensors

/// The weight gradient of a convolution computed as a forward convolution, for the regimes
/// without a dedicated weight-gradient kernel (dense, pointwise, many channels per group).
///
/// For each group g, dw[o, i, k] = Σ over n, q of dy[n, o, q] · x[n, i, q·s + k·d − pad] is a
/// convolution whose batch is the group's input channels, whose channels are the samples, whose
/// kernel is dy (output channels × samples × output positions), with stride d and dilation s:
/// x' = x[:, group]ᵀ written out with its padding, w' = dy[:, group]ᵀ, y' = dwᵀ.
package final class WeightGradientViaForward: WeightGradientKernel {
  let geometry: ConvolutionGeometry
  /// The forward geometry of one group: x' [Cx/g, N, span...], w' [Cy/g, N, ySize...],
  /// y' [Cx/g, Cy/g, kernel...].
  let groupGeometry: ConvolutionGeometry

  package init?(_ geometry: ConvolutionGeometry) {
    let g = geometry
    guard g.paddingMode == .zeros, g.multiplyAdds > 0 else { return nil }
    let r = g.spatialRank
    // The input span that the taps and output positions reach: d·(k − 1) + s·(out − 1) + 1.
    let span = (0..<r).map { (d: Int) -> Int in
      let taps = g.dilation[d] * (g.kernel[d] - 1)
      let positions = g.stride[d] * (g.ySize[d] - 1)
      return taps + positions + 1
    }
    groupGeometry = ConvolutionGeometry(
      transposed: false, batch: g.xChannels / g.groups, groups: 1, xChannels: g.batch,
      yChannels: g.yChannels / g.groups, xSize: span, ySize: g.kernel, kernel: g.ySize,
      stride: g.dilation, dilation: g.stride, padBegin: Array(repeating: 0, count: r),
      padEnd: Array(repeating: 0, count: r), hasBias: false)
    self.geometry = g
  }

  package func weightGradient(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
    biasGradient db: UnsafeMutablePointer<Float>?
  ) {
    let g = geometry
    let gg = groupGeometry
    let cx = g.xChannels / g.groups
    let cy = g.yChannels / g.groups
    let xPlane = g.xSize.reduce(1, *)
    let yPlane = g.ySize.reduce(1, *)
    let spanPlane = gg.xSize.reduce(1, *)
    let taps = g.kernel.reduce(1, *)
    let xPrime = AlignedBuffer(count: cx * g.batch * spanPlane)
    var wPrime = [Float](repeating: 0, count: cy * g.batch * yPlane)
    let yPrime = AlignedBuffer(count: cx * cy * taps)
    let window = SpanWindow(g, span: gg.xSize)
    for group in 0..<g.groups {
      // x' [i, n, span]: the group's input, padded and cropped to the span the taps reach.
      for i in 0..<cx {
        for n in 0..<g.batch {
          let source = unsafe x + ((n * g.xChannels + group * cx + i) * xPlane)
          unsafe window.copy(from: source, to: xPrime.pointer + (i * g.batch + n) * spanPlane)
        }
      }
      // w' [o, n, out]: the group's output gradient.
      for o in 0..<cy {
        for n in 0..<g.batch {
          let source = unsafe dy + ((n * g.yChannels + group * cy + o) * yPlane)
          for p in 0..<yPlane { wPrime[(o * g.batch + n) * yPlane + p] = unsafe source[p] }
        }
      }
      let forward: any ForwardKernel = unsafe wPrime.withUnsafeBufferPointer { w in
        unsafe ForwardKernels.make(for: gg, weight: w) ?? ReferenceForwardKernel(gg, weight: w)
      }
      unsafe forward.forward(x: xPrime.pointer, bias: nil, y: yPrime.pointer)
      // y' [i, o, k] → dw [group·cy + o, i, k].
      for i in 0..<cx {
        for o in 0..<cy {
          let target = unsafe dw + ((group * cy + o) * cx + i) * taps
          let source = unsafe yPrime.pointer + (i * cy + o) * taps
          for t in 0..<taps { unsafe target[t] = source[t] }
        }
      }
    }
    if let db = unsafe db {
      unsafe BiasGradient.compute(
        dy: dy, batch: g.batch, channels: g.yChannels, plane: yPlane, into: db)
    }
  }
}

/// Copies the part of an input plane that a weight gradient reads: `span` positions per
/// dimension from −padBegin on, with zeros outside the plane.
private struct SpanWindow {
  let size: [Int]
  let span: [Int]
  let begin: [Int]

  init(_ g: ConvolutionGeometry, span: [Int]) {
    let lead = 3 - g.spatialRank
    size = Array(repeating: 1, count: lead) + g.xSize
    self.span = Array(repeating: 1, count: lead) + span
    begin = Array(repeating: 0, count: lead) + g.padBegin
  }

  func copy(from source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>) {
    var t = 0
    for z in 0..<span[0] {
      let sz = z - begin[0]
      for r in 0..<span[1] {
        let sr = r - begin[1]
        let rowInside = sz >= 0 && sz < size[0] && sr >= 0 && sr < size[1]
        let row = (sz * size[1] + sr) * size[2]
        for q in 0..<span[2] {
          let sq = q - begin[2]
          unsafe target[t] = rowInside && sq >= 0 && sq < size[2] ? source[row + sq] : 0
          t += 1
        }
      }
    }
  }
}
