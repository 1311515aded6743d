import Tensors

/// Where the weight-gradient kernels stage x and dy (see `gc_wgrad.h`), planned once per
/// geometry.
///
/// In each spatial dimension, tap k of a convolution with stride s and dilation d reads
/// the padded input at p · s + k · d = (p + ⌊k·d / s⌋) · s + (k·d mod s). So x is split into one
/// phase plane per remainder (k·d mod s) that some tap uses, of extent
/// `J = Y + ⌊(K − 1)·d / s⌋`, and tap k reads its plane at p + ⌊k·d / s⌋: stride 1.
/// Rows of the planes and of dy are all `rowWidth = J_w` floats wide, and 3-D planes have
/// `phaseHeight = J_h` rows per depth slice, so a tap's read is one constant offset from
/// the flattened output position.
struct WeightGradientLayout {
  let xPerGroup, yPerGroup: Int
  let phaseDepth, phaseHeight, rowWidth: Int
  /// Per phase plane: the (z, y, x) remainder it holds, its first column holding x data,
  /// their count, and the x column its column 0 reads (`gc_wgrad_plan.phase`).
  let phases: [Int]
  /// Per tap, in dw's (kz, ky, kx) order: phase · phaseStride + row offset · rowWidth + column.
  let tapOffsets: [Int]
  /// The largest row offset of a tap.
  let haloRows: Int
  /// Flattened dy rows: (output depth − 1) · phaseHeight + output height.
  let rows: Int
  let blockRows: Int
  let phaseStride: Int
  let dyStride: Int

  var phaseCount: Int { phases.count / 6 }
  var taps: Int { tapOffsets.count }

  /// - Parameter cacheBytes: what one block's staged rows of a group may take, so that the
  ///   kernel's repeated passes over them (per input channel and block of taps) hit L1.
  init(_ g: ConvolutionGeometry, cacheBytes: Int = 40 * 1024) {
    let l = Loops(g)
    xPerGroup = l.xPerGroup
    yPerGroup = l.yPerGroup
    // Per dimension: the remainders taps read, and each tap's (remainder index, offset).
    func split(_ k: Int, _ s: Int, _ d: Int) -> (remainders: [Int], taps: [(Int, Int)]) {
      let remainders = Array(Set((0..<k).map { $0 * d % s })).sorted()
      let taps = (0..<k).map { (remainders.firstIndex(of: $0 * d % s)!, $0 * d / s) }
      return (remainders, taps)
    }
    let z = split(l.k.d, l.stride.d, l.dilation.d)
    let y = split(l.k.h, l.stride.h, l.dilation.h)
    let x = split(l.k.w, l.stride.w, l.dilation.w)
    phaseDepth = l.y.d + (l.k.d - 1) * l.dilation.d / l.stride.d
    phaseHeight = l.y.h + (l.k.h - 1) * l.dilation.h / l.stride.h
    rowWidth = l.y.w + (l.k.w - 1) * l.dilation.w / l.stride.w
    // Column j of a phase plane with x remainder rx reads x column j · s + first; the
    // columns in lo..<lo + count exist, the others are padding.
    var phases: [Int] = []
    for rz in z.remainders { for ry in y.remainders { for rx in x.remainders {
      let first = rx - l.pad.w
      let lo = first >= 0 ? 0 : (-first + l.stride.w - 1) / l.stride.w
      let last = l.x.w - 1 - first
      let hi = last < 0 ? 0 : min(last / l.stride.w + 1, rowWidth)
      phases += [rz, ry, rx, lo, max(0, hi - lo), first]
    } } }
    self.phases = phases
    haloRows = (phaseDepth - l.y.d) * phaseHeight + phaseHeight - l.y.h
    let haloColumns = rowWidth - l.y.w
    rows = (l.y.d - 1) * phaseHeight + l.y.h

    // As many rows per block as fit in `cacheBytes`, at least enough that the halo re-staged
    // per block costs no more than the block, then evened out over the blocks.
    let staged = xPerGroup * phases.count / 6
    let rowBytes = max(1, rowWidth * MemoryLayout<Float>.stride)
    let fitting = (cacheBytes / rowBytes - staged * haloRows) / (staged + yPerGroup)
    let wanted = min(rows, max(fitting, haloRows, 1))
    let blocks = (rows + wanted - 1) / wanted
    blockRows = (rows + blocks - 1) / blocks

    func roundUp16(_ n: Int) -> Int { (n + 15) / 16 * 16 }
    // A block's last vector reads up to 15 floats past its rows, and taps up to haloRows
    // rows and haloColumns columns further. Staging writes whole vectors, up to 15 floats
    // past what it must: a shorter block zeroes haloColumns + 16 floats after its rows.
    phaseStride = roundUp16((blockRows + haloRows) * rowWidth + haloColumns + 32)
    dyStride = roundUp16(blockRows * rowWidth + 16)
    var offsets: [Int] = []
    for (pz, oz) in z.taps { for (py, oy) in y.taps { for (px, ox) in x.taps {
      let phase = (pz * y.remainders.count + py) * x.remainders.count + px
      offsets.append(phase * phaseStride + (oz * phaseHeight + oy) * rowWidth + ox)
    } } }
    tapOffsets = offsets
  }

  /// Floats of scratch one thread needs for staging (`gc_wgrad_scratch_count`).
  var scratchCount: Int { xPerGroup * phaseCount * phaseStride + yPerGroup * dyStride }
}
