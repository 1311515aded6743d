import Synchronization
import Tensors

/// A fast weight gradient for one convolution geometry.
package protocol WeightGradientKernel: AnyObject, Sendable {
  /// dw = dy ⋆ x summed over the batch, spread over `Threads.count` threads:
  ///
  ///     dw[o, i, k] = Σ over n, p of  dy[n, o, p] · x[n, c, p · s + k · d − pad]
  ///
  /// with c = group(o) · xPerGroup + i; and when `db` is not nil, db[o] = Σ over n, p of
  /// dy[n, o, p] from the same pass over dy (a convolution's bias gradient; a transposed
  /// convolution's bias belongs to x, so pass nil).
  /// dy: `geometry.yShape`; x: `geometry.xShape`, read with zeros outside (other padding
  /// modes are written out before); dw: `geometry.weightShape`; db: [yChannels]. Every
  /// element of dw and db is written.
  func weightGradient(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
    biasGradient db: UnsafeMutablePointer<Float>?)
}

extension WeightGradientKernel {
  /// The weight gradient alone.
  package func weightGradient(
    dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>
  ) {
    unsafe weightGradient(dy: dy, x: x, dw: dw, biasGradient: nil)
  }
}

/// Chooses the weight-gradient algorithm for each convolution regime.
package enum WeightGradientKernels {
  /// The fastest kernel for `geometry`, or `nil` when it has no multiply-adds: the lane
  /// kernel for 16 groups or more of up to 8 input channels, the staged one for fewer such
  /// groups, the matrix product for wider groups (dense and pointwise included).
  /// `geometry` must have zeros padding. A transposed convolution's weight gradient is the
  /// same correlation with dy its input and x its output gradient, so its geometry is
  /// accepted too.
  package static func make(for geometry: ConvolutionGeometry) -> (any WeightGradientKernel)? {
    precondition(geometry.paddingMode == .zeros)
    if geometry.multiplyAdds == 0 { return nil }
    if prefersLanes(geometry), let lanes = LaneWeightGradient(geometry) { return lanes }
    if let direct = DirectWeightGradient(geometry) { return direct }
    return GemmWeightGradient(geometry)
  }

  /// At least 16 groups, to fill the lane kernel's vectors. Measured on this machine's
  /// suite, it then beats the staged kernel by up to 4x on 7 x 7 planes (per-channel copies
  /// and horizontal sums dominate there), 1.5-2x with stride 2 or 7 x 7 kernels, and ties on
  /// large stride-1 planes, where both wait on memory. With 8 groups half its lanes idle and
  /// it loses by 1.6x.
  static func prefersLanes(_ geometry: ConvolutionGeometry) -> Bool {
    geometry.groups >= 16
  }
}

// MARK: - Work split and scratch, shared by the weight-gradient kernels

extension WeightGradientKernels {
  /// Runs `body(lane, item)` for every item in `0..<items` on up to `lanes` threads. Lane l
  /// first takes its own contiguous share, in order: the same share every call, so that in a
  /// training loop a thread finds its groups' x and dy still in its core's L2 cache. Then it
  /// helps with what the other lanes have left, so a late thread does not hold the call up.
  /// Each item runs exactly once; which lane runs it may vary.
  static func forEachItem(
    _ items: Int, lanes: Int, _ body: (_ lane: Int, _ item: Int) -> Void
  ) {
    final class Share: Sendable {
      let next: Atomic<Int>
      let end: Int
      init(_ begin: Int, _ end: Int) {
        next = Atomic(begin)
        self.end = end
      }
    }
    let lanes = max(1, min(lanes, items))
    let shares = (0..<lanes).map { Share($0 * items / lanes, ($0 + 1) * items / lanes) }
    Threads.parallelFor(lanes) { lane in
      for k in 0..<lanes {
        let share = shares[(lane + k) % lanes]
        while true {
          let item = share.next.wrappingAdd(1, ordering: .relaxed).oldValue
          guard item < share.end else { break }
          body(lane, item)
        }
      }
    }
  }
}
