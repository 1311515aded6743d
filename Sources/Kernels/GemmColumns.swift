import CKernels
import Tensors

/// The GEMM convolution the other way round, for few output positions per image (late
/// layers: 7×7, 14×14): the vector lanes hold 64 output channels and the input values are
/// broadcast, 6 positions at a time (`gc_gemm_columns`). Unlike the row kernels, no lane
/// computes a dropped position or a padding past the plane's end.
///
/// Per chunk (one image, group, 64 output channels and a range of positions):
///
///     prepare the group's phase planes (unless in place, or this thread holds them already)
///     for each K slice of 256:
///       for each 6 positions:  6 × 64 microkernel, into t (positions × 64)
///     transpose t into y
///
/// Weights are packed once: panel[((group · blocks + block) · K + k) · 64 + channel].
struct GemmColumns {
  /// A piece of work of one image: output channels [64 · block, +64) of `group` at the output
  /// positions `positions`.
  struct Chunk {
    var group: Int
    var block: Int
    var positions: Range<Int>
  }

  static let nr = Int(GC_GEMM_COLUMNS_NR)
  /// K rows per slice: a 64 KiB slice of weights, read from L1/L2 by every 6 positions.
  static let kc = 256
  /// Compute positions per image up to which the columns replace the row kernels whatever
  /// their lane use (13×13 and 14×14 planes), given K of at least `longK` and 64 or more
  /// output channels per group.
  static let smallPlane = 256
  static let longK = 96

  let plan: GemmPlan
  /// 64-channel blocks per group.
  let blocks: Int
  let chunks: [Chunk]
  /// Floats per prepared phase plane: every compute position and the reads past them.
  let planeLength: Int
  /// Floats of scratch per thread: planes, then sums (positions × 64), then a bias block.
  let planesCount, sumsCount: Int
  var scratchCount: Int { planesCount + sumsCount + Self.nr }

  /// The columns layout for `plan`, or nil when the row kernels suit it as well.
  init?(_ plan: GemmPlan, threads: Int) {
    let yPerGroup = plan.yPerGroup
    // The share of lanes doing useful work: in the row kernels, output positions of the
    // compute space (full tiles, and 16-lane vectors of the last one) and output channels of
    // 8-row panels; here, output channels of 16-lane vectors, less about 3% for the sums'
    // round trips between K slices. The rows keep a margin: they read x in larger pieces.
    let rest = plan.computeCount % GemmPlan.nr
    let lanes = plan.computeCount - rest + (rest + 15) / 16 * 16
    let rowUse = Double(plan.yPlane) / Double(lanes)
      * Double(yPerGroup) / Double((yPerGroup + 7) / 8 * 8)
    let columnUse = 0.97 * Double(yPerGroup) / Double((yPerGroup + 15) / 16 * 16)
    let planeLength = GemmPlan.planeLength(plan.computeCount + plan.maxOffset)
    let planesCount = plan.readsInPlace ? 0 : plan.xPerGroup * plan.phaseCount * planeLength
    // On small planes with a long K, the row kernels' 48-position tiles read a new row of B
    // (4 cache lines of a 1×1) for every k: a K block fills L1 and each 8-channel panel
    // streams it again from L2. The columns read 6 positions' values per k and keep them.
    let smallPlane =
      plan.computeCount <= Self.smallPlane && plan.k >= Self.longK && yPerGroup >= Self.nr
    guard columnUse > rowUse + 0.05 || smallPlane, planesCount <= 1 << 20 else { return nil }

    let blocks = (yPerGroup + Self.nr - 1) / Self.nr
    let units = plan.batch * plan.groups * blocks
    let wanted = max(1, (4 * max(2, threads) + units - 1) / units)
    let ranges = max(1, min(wanted, plan.yPlane / (4 * Int(GC_GEMM_COLUMNS_MR))))
    // Ranges of positions before channel blocks: in a dense convolution each thread's share
    // (`Threads.forEachItem`) is a range of positions, those the layers before and after it
    // wrote and will read there too. Groups stay outermost, so that a thread's consecutive
    // chunks keep to one group's prepared planes.
    var chunks = [Chunk]()
    for group in 0..<plan.groups {
      for r in 0..<ranges {
        for block in 0..<blocks {
          let positions = plan.yPlane * r / ranges..<plan.yPlane * (r + 1) / ranges
          chunks.append(Chunk(group: group, block: block, positions: positions))
        }
      }
    }
    self.plan = plan
    self.blocks = blocks
    self.chunks = chunks
    self.planeLength = planeLength
    self.planesCount = planesCount
    sumsCount = (plan.yPlane + ranges - 1) / ranges * Self.nr
  }

  /// Weights [yChannels, xPerGroup, taps...] packed into 64-channel panels.
  func pack(_ weight: UnsafeBufferPointer<Float>, into panels: UnsafeMutablePointer<Float>) {
    let (k, nr) = (plan.k, Self.nr)
    for group in 0..<plan.groups {
      for o in 0..<plan.yPerGroup {
        let panel = group * blocks + o / nr
        let source = (group * plan.yPerGroup + o) * k
        for index in 0..<k {
          unsafe panels[(panel * k + index) * nr + o % nr] = weight[source + index]
        }
      }
    }
  }

  var panelCount: Int { plan.groups * blocks * plan.k * Self.nr }

  /// B row offsets of every (channel, tap) of a group: in prepared planes, or in x.
  var offsets: [Int64] {
    (0..<plan.k).map { row in
      let (c, t) = row.quotientAndRemainder(dividingBy: plan.taps)
      return Int64(
        plan.readsInPlace
          ? c * plan.xPlane + plan.tapOffset[t]
          : (c * plan.phaseCount + plan.tapPhase[t]) * planeLength + plan.tapOffset[t])
    }
  }
}
