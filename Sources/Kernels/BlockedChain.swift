import CKernels

/// A grouped (depthwise) convolution run together with the pointwise convolution that makes
/// its input (an inverted-residual block's expansion), the one that reads its output (the
/// projection), or both, in bands of rows, all blocked (`BlockedLayout`). A band's expanded
/// rows and its depthwise output stay in the core's L2 between the passes instead of going
/// to memory and back: at 112 × 112 an expansion to 48 channels writes 2.4 MB, more than L2
/// holds, which the depthwise pass then reads again.
///
/// Each thread runs a range of the depthwise output rows, band after band. A band expands
/// only the input rows the band before did not (the rows their windows share are moved to
/// the front of the thread's scratch); the first band of a range expands its rows above
/// the range again.
package final class BlockedChain: @unchecked Sendable {
  /// One convolution of the chain and how its output is finished.
  package struct Stage: @unchecked Sendable {
    package let kernel: BlockedConvolution
    /// {low, high}, or nil.
    let clamp: AlignedBuffer?
    /// A gc_activation_kind, or -1.
    let activation: Int32

    package init(_ kernel: BlockedConvolution, clamp: [Float]?, activation: gc_activation_kind?) {
      self.kernel = kernel
      self.clamp = clamp.map { AlignedBuffer($0) }
      self.activation = activation.map { Int32($0.rawValue) } ?? -1
    }

    var clampPointer: UnsafePointer<Float>? { unsafe clamp.map { unsafe UnsafePointer($0.pointer) } }
  }

  private let expand: Stage?
  private let depthwise: Stage
  private let project: Stage?
  /// Whether the output adds a residual: the projection's, else the depthwise pass's.
  private let residual: Bool
  /// Depthwise output rows per band, and the input rows a band reads at most.
  package let bandRows: Int
  private let bandInputRows: Int
  /// Floats of a thread's scratch: the expanded rows of a band (0 without an expansion),
  /// then its depthwise output (0 without a projection).
  private let expandCount, middleCount: Int
  private let scratchPool = ScratchPool<AlignedBuffer>()

  /// Floats of a band's scratch (expanded rows and depthwise output) a thread aims at: about
  /// a quarter of L2, so that the weights and the output rows stay there too.
  package static let bandBudget = 1 << 16

  /// The most packed weights (floats) a pointwise end may have. Every band reads all of
  /// them again: for a wide layer that costs more than the chain saves (ResNeXt-50's
  /// 256 → 256 expansion and grouped 3 × 3 of stride 2 on 56 × 56, 65 536 weights, ran in
  /// bands of 1 row at a median 4.8 ms, against 4.1 apart, 7 runs each), while the
  /// expansions of mobile networks' first blocks have a few thousand.
  package static let maximumEndWeights = bandBudget / 8

  /// Whether `expand` (pointwise, stride 1, writing x's channels), `depthwise` (grouped) and
  /// `project` (pointwise, stride 1, reading its channels) chain, at least one of `expand`
  /// and `project` given and neither with more than `maximumEndWeights`. Only the last
  /// stage may add a residual.
  package static func chains(
    expand: BlockedConvolution?, depthwise: BlockedConvolution, project: BlockedConvolution?
  ) -> Bool {
    let g = depthwise.geometry
    guard case .grouped = depthwise.kind, expand != nil || project != nil,
      [expand, project].allSatisfy({ ($0?.weightCount ?? 0) <= maximumEndWeights })
    else { return false }
    if let e = expand?.geometry {
      guard expand!.kind == .pointwise, e.stride == [1, 1], e.batch == g.batch,
        e.ySize == g.xSize, e.yChannels == g.xChannels
      else { return false }
    }
    if let p = project?.geometry {
      guard project!.kind == .pointwise, p.stride == [1, 1], p.batch == g.batch,
        p.xSize == g.ySize, p.xChannels == g.yChannels
      else { return false }
    }
    return true
  }

  /// - Parameters:
  ///   - residual: the last stage adds the residual the run is given.
  ///   - bandFloats: the scratch a band aims at (tests lower it for bands of a row or two).
  package init?(
    expand: Stage?, depthwise: Stage, project: Stage?, residual: Bool,
    bandFloats: Int = BlockedChain.bandBudget
  ) {
    guard
      Self.chains(expand: expand?.kernel, depthwise: depthwise.kernel, project: project?.kernel)
    else { return nil }
    self.expand = expand
    self.depthwise = depthwise
    self.project = project
    self.residual = residual
    let g = depthwise.kernel.geometry
    let lanes = BlockedLayout.lanes
    let (s, reach) = (g.stride[0], (g.kernel[0] - 1) * g.dilation[0])
    func inputRows(_ rows: Int) -> Int { min(g.xSize[0], (rows - 1) * s + reach + 1) }
    // The scratch of a band of `rows` output rows.
    func counts(_ rows: Int) -> (expand: Int, middle: Int) {
      (
        expand == nil ? 0 : inputRows(rows) * g.xSize[1] * depthwise.kernel.inBlocks * lanes,
        project == nil ? 0 : rows * g.ySize[1] * depthwise.kernel.outBlocks * lanes
      )
    }
    var rows = 1
    while rows < g.ySize[0], counts(rows + 1).expand + counts(rows + 1).middle <= bandFloats {
      rows += 1
    }
    bandRows = rows
    bandInputRows = inputRows(rows)
    (expandCount, middleCount) = counts(rows)
  }

  /// y = the chain of x, blocked, plus `residual` (blocked, the output's shape) when the
  /// chain adds one. y must not overlap x or the residual.
  package func forward(
    x: UnsafePointer<Float>, residual: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {
    let g = depthwise.kernel.geometry
    let small = [expand?.kernel, depthwise.kernel, project?.kernel].allSatisfy { $0?.small ?? true }
    let threads = small ? 1 : Threads.count
    // One range of rows per thread and image: a range's first band expands the rows it
    // shares with the range above again.
    let ranges = max(1, min(g.ySize[0], g.batch == 1 ? threads : 1))
    let scratch = scratchPool.take(min(threads, g.batch * ranges)) {
      AlignedBuffer(count: self.expandCount + self.middleCount)
    }
    defer { scratchPool.give(scratch) }
    Threads.forEachItem(g.batch * ranges, threads: threads) { worker, item in
      let (image, range) = item.quotientAndRemainder(dividingBy: ranges)
      let outH = g.ySize[0]
      unsafe self.run(
        image: image, rows: (outH * range / ranges)..<(outH * (range + 1) / ranges), x: x,
        residual: residual, y: y, scratch: scratch[worker].pointer)
    }
  }

  private func run(
    image: Int, rows: Range<Int>, x: UnsafePointer<Float>, residual: UnsafePointer<Float>?,
    y: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let lanes = BlockedLayout.lanes
    let dw = depthwise.kernel
    let g = dw.geometry
    let (inH, inW, outW) = (g.xSize[0], g.xSize[1], g.ySize[1])
    let (s, pad, reach) = (g.stride[0], g.padBegin[0], (g.kernel[0] - 1) * g.dilation[0])
    let (inPlane, outPlane) = (inH * inW * lanes, outW * g.ySize[0] * lanes)
    // The chain's input and output of this image.
    let chainInBlocks = expand?.kernel.inBlocks ?? dw.inBlocks
    let chainOutBlocks = project?.kernel.outBlocks ?? dw.outBlocks
    let xImage = unsafe x + image * chainInBlocks * inPlane
    let yImage = unsafe y + image * chainOutBlocks * outPlane
    let expanded = unsafe scratch
    let middle = unsafe scratch + expandCount
    let expandedStride = bandInputRows * inW * lanes
    // The input rows the expanded scratch holds: [held.lowerBound, held.upperBound) at its
    // rows 0...
    var held = 0..<0
    /// Output rows [a, b) of every output block: the residual's, before the last stage adds
    /// to them.
    func placeResidual(_ a: Int, _ b: Int) {
      guard self.residual, let residual = unsafe residual else { return }
      let from = unsafe residual + image * chainOutBlocks * outPlane + a * outW * lanes
      let to = unsafe yImage + a * outW * lanes
      guard unsafe UnsafePointer(to) != from else { return }
      for block in 0..<chainOutBlocks {
        unsafe (to + block * outPlane).update(from: from + block * outPlane, count: (b - a) * outW * lanes)
      }
    }
    for a in stride(from: rows.lowerBound, to: rows.upperBound, by: bandRows) {
      let b = min(rows.upperBound, a + bandRows)
      // The input rows the band's windows read.
      let lo = min(inH, max(0, a * s - pad))
      let hi = max(lo, min(inH, (b - 1) * s - pad + reach + 1))
      // The depthwise pass's input: the band's rows from `source` on, blocks `sourceStride`
      // floats apart.
      var source = unsafe xImage + lo * inW * lanes
      var sourceStride = inPlane
      if let expand {
        let kept = held.clamped(to: lo..<hi)
        let start: Int
        if kept.lowerBound == lo, !kept.isEmpty {
          // Rows the band before expanded: to the front.
          for block in 0..<dw.inBlocks {
            let rowsAt = unsafe expanded + block * expandedStride
            unsafe rowsAt.update(
              from: rowsAt + (lo - held.lowerBound) * inW * lanes, count: kept.count * inW * lanes)
          }
          start = kept.upperBound
        } else {
          start = lo
        }
        let e = expand.kernel
        for panel in 0..<e.panels {
          unsafe e.runPointwise(
            positions: 0..<((hi - start) * inW), panel: panel, inputBlocks: 0..<e.inBlocks,
            x: xImage + start * inW * lanes, y: expanded + (start - lo) * inW * lanes,
            weights: e.weights.pointer, adding: false,
            finish: (expand.clampPointer, expand.activation),
            strides: (x: inPlane, y: expandedStride))
        }
        held = lo..<hi
        unsafe source = UnsafePointer(expanded)
        sourceStride = expandedStride
      }
      // Without a projection the depthwise pass writes the output's rows [a, b); with one,
      // the rows of its own scratch, numbered from `first` = a. Output row o reads band row
      // o · s - pad + ky · dilation - lo: the padding above the band grows by lo rows, less
      // first · s.
      let middleStride = bandRows * outW * lanes
      let (target, targetStride, first) =
        unsafe project == nil ? (yImage, outPlane, 0) : (middle, middleStride, a)
      placeResidual(a, b)
      for block in 0..<dw.outBlocks {
        unsafe dw.runGrouped(
          block: block, rows: (a - first)..<(b - first), x: source, xStride: sourceStride,
          inputRows: hi - lo, padTop: pad + lo - first * s, y: target + block * targetStride,
          weights: dw.weights.pointer, clamp: depthwise.clampPointer,
          activation: depthwise.activation, adding: self.residual && project == nil)
      }
      guard let project else { continue }
      let p = project.kernel
      let band = unsafe yImage + a * outW * lanes
      for panel in 0..<p.panels {
        unsafe p.runPointwise(
          positions: 0..<((b - a) * outW), panel: panel, inputBlocks: 0..<p.inBlocks,
          x: middle, y: band, weights: p.weights.pointer, adding: self.residual,
          finish: (project.clampPointer, project.activation),
          strides: (x: middleStride, y: outPlane))
      }
    }
  }
}
