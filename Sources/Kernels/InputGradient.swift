import Synchronization
import Tensors

/// The input gradient of a convolution, which is also the forward pass of the transposed
/// convolution, run as a forward convolution so that every fast forward kernel serves it.
///
/// dx[n, c, p] = Σ over (o in c's group, k) with p = q·s + k·d − pad of w[o, i, k] · dy[n, o, q].
/// Inserting s − 1 zeros between the elements of dy turns this into a stride-1 correlation of
/// the zero-inserted dy with the kernel flipped in space and the channel roles swapped
/// within each group: x' = dy spread out (yChannels), y' = dx (xChannels),
/// w'[c, j, k] = w[group·Cy + j, i, K − 1 − k], dilation d, begin padding d·(K − 1) − pad.
package final class InputGradientKernel: Sendable {
  /// The forward convolution that computes dx.
  let forwardGeometry: ConvolutionGeometry
  let forward: any ForwardKernel
  /// Whether dy is written out zero-inserted and padded (stride > 1, or padding wider than
  /// the dilated kernel) rather than read in place.
  let spreads: Bool
  let original: ConvolutionGeometry
  /// The spread dy of an earlier call, kept for the next: only the positions dy lands on are
  /// written, so its zeros stay and need no refill.
  private let spreadCache = Mutex<AlignedBuffer?>(nil)

  /// The kernel for `geometry` (a convolution with zeros padding) and its `weight`, or nil
  /// when no fast forward kernel handles the flipped convolution. `makeForward` chooses the
  /// forward kernel (tests substitute the reference loops).
  package init?(
    _ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>,
    makeForward: (ConvolutionGeometry, UnsafeBufferPointer<Float>) -> (any ForwardKernel)? = {
      unsafe ForwardKernels.make(for: $0, weight: $1)
    }
  ) {
    precondition(geometry.paddingMode == .zeros)
    let r = geometry.spatialRank
    let dilated = (0..<r).map { geometry.dilation[$0] * (geometry.kernel[$0] - 1) }
    var begin = (0..<r).map { dilated[$0] - geometry.padBegin[$0] }
    let spreadSize = (0..<r).map { (geometry.ySize[$0] - 1) * geometry.stride[$0] + 1 }
    var end = (0..<r).map {
      geometry.xSize[$0] - spreadSize[$0] - begin[$0] + dilated[$0]
    }
    let spreads =
      geometry.stride.contains { $0 > 1 } || begin.contains { $0 < 0 } || end.contains { $0 < 0 }
    var xSize = spreadSize
    if spreads {
      // The spread dy holds its padding (or has its overhang cropped) already.
      xSize = (0..<r).map { spreadSize[$0] + begin[$0] + end[$0] }
      begin = Array(repeating: 0, count: r)
      end = begin
    }
    let flipped = ConvolutionGeometry(
      transposed: false, batch: geometry.batch, groups: geometry.groups,
      xChannels: geometry.yChannels, yChannels: geometry.xChannels, xSize: xSize,
      ySize: geometry.xSize, kernel: geometry.kernel, stride: Array(repeating: 1, count: r),
      dilation: geometry.dilation, padBegin: begin, padEnd: end, hasBias: false)
    guard flipped.multiplyAdds > 0 else { return nil }
    let flippedWeight = unsafe Self.flip(weight, geometry)
    guard
      let forward = unsafe flippedWeight.withUnsafeBufferPointer({ w in
        unsafe makeForward(flipped, w)
      })
    else { return nil }
    self.forwardGeometry = flipped
    self.forward = forward
    self.spreads = spreads
    self.original = geometry
  }

  /// dx for dy; bias (per x channel, for a transposed convolution) is added when given.
  /// dy: original.yShape   dx: original.xShape, every element written.
  package func run(
    dy: UnsafePointer<Float>, bias: UnsafePointer<Float>?, dx: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>? = nil
  ) {
    guard spreads else {
      unsafe forward.forward(x: dy, bias: bias, y: dx, clamp: clamp)
      return
    }
    let spread =
      spreadCache.withLock { $0.take() }
      ?? AlignedBuffer(count: forwardGeometry.xShape.reduce(1, *))
    unsafe spreadOut(dy, into: spread.pointer)
    unsafe forward.forward(x: spread.pointer, bias: bias, y: dx, clamp: clamp)
    spreadCache.withLock { $0 = spread }
  }

  /// Writes dy with stride − 1 zeros between elements into the forward geometry's x,
  /// shifted by d·(K − 1) − pad (cropping where that is negative). `target` is zero-filled.
  private func spreadOut(_ dy: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>) {
    let g = original
    let lead = 3 - g.spatialRank
    func three(_ values: [Int], _ fill: Int) -> [Int] {
      Array(repeating: fill, count: lead) + values
    }
    let ySize = three(g.ySize, 1)
    let stride = three(g.stride, 1)
    let shift = three(
      (0..<g.spatialRank).map { g.dilation[$0] * (g.kernel[$0] - 1) - g.padBegin[$0] }, 0)
    let size = three(forwardGeometry.xSize, 1)
    let planes = g.batch * g.yChannels
    // Source index → target index per axis, or -1 when cropped away.
    let maps = (0..<3).map { axis in
      (0..<ySize[axis]).map { q -> Int in
        let t = q * stride[axis] + shift[axis]
        return t >= 0 && t < size[axis] ? t : -1
      }
    }
    let yPlane = ySize[0] * ySize[1] * ySize[2]
    let xPlane = size[0] * size[1] * size[2]
    let (height, width) = (size[1], size[2])
    let (zs, rs) = (maps[0], maps[1])
    // The columns kept, as (source column, target column) pairs, read from a buffer in the
    // innermost loop.
    let columns = maps[2].enumerated().filter { $0.element >= 0 }.map { ($0.offset, $0.element) }
    let rowLength = ySize[2]
    unsafe columns.withUnsafeBufferPointer { columns in
      Threads.parallelFor(planes) { plane in
        let source = unsafe dy + plane * yPlane
        let destination = unsafe target + plane * xPlane
        for (zi, z) in zs.enumerated() where z >= 0 {
          for (ri, r) in rs.enumerated() where r >= 0 {
            let from = unsafe source + (zi * rs.count + ri) * rowLength
            let to = unsafe destination + (z * height + r) * width
            for unsafe (q, t) in unsafe columns { unsafe to[t] = from[q] }
          }
        }
      }
    }
  }

  /// w'[g·Cx + i, j, k] = w[g·Cy + j, i, K − 1 − k]: taps reversed, channel roles swapped
  /// within each group.
  private static func flip(_ w: UnsafeBufferPointer<Float>, _ g: ConvolutionGeometry)
    -> [Float]
  {
    let taps = g.kernel.reduce(1, *)
    let cx = g.xChannels / g.groups
    let cy = g.yChannels / g.groups
    var flipped = [Float](repeating: 0, count: w.count)
    for group in 0..<g.groups {
      for j in 0..<cy {
        for i in 0..<cx {
          let source = ((group * cy + j) * cx + i) * taps
          let target = ((group * cx + i) * cy + j) * taps
          for t in 0..<taps { unsafe flipped[target + t] = w[source + taps - 1 - t] }
        }
      }
    }
    return flipped
  }
}
