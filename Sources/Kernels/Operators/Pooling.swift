import CKernels

/// The windows of a 1-D, 2-D or 3-D pooling over NC(D)(H)W planes, flattened to three spatial
/// dimensions (depth, height, width) with leading extents of 1, as the convolution loops do.
///
/// Output position o of a dimension covers input positions o · stride − padBegin + t · dilation
/// for taps t in 0..<kernel; those outside the input are skipped (max, and average without
/// count_include_pad) or count as zeros up to padEnd (average with count_include_pad).
package struct PoolGeometry: Equatable, Sendable {
  /// N · C.
  package let planes: Int
  package let input, output, kernel, stride, dilation, padBegin, padEnd: [Int]

  /// Spatial lists of one length (1...3).
  package init(
    planes: Int, input: [Int], output: [Int], kernel: [Int], stride: [Int], dilation: [Int],
    padBegin: [Int], padEnd: [Int]
  ) {
    let rank = input.count
    precondition((1...3).contains(rank))
    precondition(
      [output, kernel, stride, dilation, padBegin, padEnd].allSatisfy { $0.count == rank })
    func lead(_ values: [Int], _ fill: Int) -> [Int] {
      Array(repeating: fill, count: 3 - rank) + values
    }
    self.planes = planes
    self.input = lead(input, 1)
    self.output = lead(output, 1)
    self.kernel = lead(kernel, 1)
    self.stride = lead(stride, 1)
    self.dilation = lead(dilation, 1)
    self.padBegin = lead(padBegin, 0)
    self.padEnd = lead(padEnd, 0)
  }

  package var inputCount: Int { planes * input.reduce(1, *) }
  package var outputCount: Int { planes * output.reduce(1, *) }

  /// The first input position of output position `o`'s window along `axis`.
  func start(_ axis: Int, _ o: Int) -> Int { o * stride[axis] - padBegin[axis] }
}

/// What a pooling computes over its window.
package enum PoolKind: Equatable, Sendable {
  case max
  /// The mean of the input elements in the window, or with `countIncludePad`, the sum
  /// divided by the taps inside the padded input (padding counting as zeros).
  case average(countIncludePad: Bool)
}

/// Pooling of NC(D)(H)W planes, one output row at a time (`gc_pooling_plane`). For each
/// output row the valid taps of the two outer dimensions are known ranges; along the row, the
/// positions whose whole window lies inside the input are computed 16 at a time, each window
/// folded in a vector register; the border positions over their own clipped windows. The
/// planes are spread over threads.
package struct Pooling: Sendable {
  /// Per output position of one dimension: the taps inside the input, and the divisor
  /// factor (taps inside the input, or inside the padded input with count_include_pad).
  struct Taps: Sendable {
    var range: [Range<Int>]
    var divisor: [Int]
  }

  package let kind: PoolKind
  package let geometry: PoolGeometry
  /// Output positions along the width whose window holds all its taps.
  let interior: Range<Int>
  /// The taps as the C kernel reads them: per dimension and output position, lo and hi.
  let tapTable: [Int32]
  /// The divisor factors of every dimension, one after the other.
  let divisorTable: [Int32]

  package init(_ kind: PoolKind, _ g: PoolGeometry) {
    self.kind = kind
    geometry = g
    let taps = (0..<3).map { axis in
      var taps = Taps(range: [], divisor: [])
      for o in 0..<g.output[axis] {
        // Tap t reads position start + t · d: inside the input for t in [lo, hi), inside the
        // padded input (which the window never leaves at the start) for t < paddedEnd.
        let (start, d, kernel) = (g.start(axis, o), g.dilation[axis], g.kernel[axis])
        func tapsBefore(_ end: Int) -> Int {  // taps t < kernel with start + t · d < end
          end <= start ? 0 : min(kernel, (end - 1 - start) / d + 1)
        }
        let lo = start >= 0 ? 0 : min(kernel, (-start + d - 1) / d)
        let hi = tapsBefore(g.input[axis])
        let valid = lo < hi ? lo..<hi : 0..<0
        let padded = tapsBefore(g.input[axis] + g.padEnd[axis])
        taps.range.append(valid)
        if case .average(true) = kind {
          taps.divisor.append(padded)
        } else {
          taps.divisor.append(valid.count)
        }
      }
      return taps
    }
    let full = taps[2].range.indices.filter { taps[2].range[$0] == 0..<g.kernel[2] }
    interior = full.isEmpty ? 0..<0 : full.first!..<full.last! + 1
    tapTable = taps.flatMap { $0.range.flatMap { [Int32($0.lowerBound), Int32($0.upperBound)] } }
    divisorTable = taps.flatMap { $0.divisor.map(Int32.init) }
  }

  package func run(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
    let g = geometry
    precondition(x.count == g.inputCount && y.count == g.outputCount)
    guard g.outputCount > 0, let x = x.baseAddress, let y = y.baseAddress else { return }
    let inPlane = g.input.reduce(1, *)
    let outPlane = g.output.reduce(1, *)
    let average = kind != .max
    // Folded rows of 16 KiB at most (kept in L1), or one row.
    let scratch = max(4096, Int(gc_pooling_scratch_pitch(Int64(g.input[2]))))
    unsafe tapTable.withUnsafeBufferPointer { taps in
      unsafe divisorTable.withUnsafeBufferPointer { divisors in
        let (t, d) = (taps.baseAddress!, divisors.baseAddress!)
        let (o0, o1) = (2 * g.output[0], 2 * (g.output[0] + g.output[1]))
        let (d0, d1) = (g.output[0], g.output[0] + g.output[1])
        let args = unsafe gc_pooling_args(
          x: x, y: y, in_h: Int64(g.input[1]), in_w: Int64(g.input[2]),
          out_d: Int64(g.output[0]), out_h: Int64(g.output[1]), out_w: Int64(g.output[2]),
          stride: (Int64(g.stride[0]), Int64(g.stride[1]), Int64(g.stride[2])),
          dilation: (Int64(g.dilation[0]), Int64(g.dilation[1]), Int64(g.dilation[2])),
          pad: (Int64(g.padBegin[0]), Int64(g.padBegin[1]), Int64(g.padBegin[2])),
          kernel_w: Int64(g.kernel[2]), taps: (t, t + o0, t + o1),
          interior_lo: Int64(interior.lowerBound), interior_hi: Int64(interior.upperBound),
          divisors: average ? (d, d + d0, d + d1) : (nil, nil, nil), scratch: nil,
          scratch_count: Int64(scratch))
        // Runs of planes, so that each task allocates its scratch once.
        let runs = min(g.planes, 4 * Threads.count)
        Threads.parallelFor(runs) { run in
          unsafe withUnsafeTemporaryAllocation(of: Float.self, capacity: scratch) {
            var planeArgs = unsafe args
            unsafe planeArgs.scratch = $0.baseAddress
            for plane in g.planes * run / runs..<g.planes * (run + 1) / runs {
              unsafe planeArgs.x = x + plane * inPlane
              unsafe planeArgs.y = y + plane * outPlane
              unsafe gc_pooling_plane(&planeArgs)
            }
          }
        }
      }
    }
  }

  /// y[plane] = the max or mean of x[plane]: global pooling of `planes` planes of `size`.
  package static func global(
    _ kind: PoolKind, _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
    size: Int
  ) {
    precondition(x.count == y.count * size)
    // Runs of planes spread over threads when there is enough to share (64 Ki elements).
    let planes = y.count
    let runs = x.count < 1 << 16 ? 1 : min(planes, 4 * Threads.count)
    Threads.parallelFor(runs) { run in
      for plane in planes * run / runs..<planes * (run + 1) / runs {
        let values = unsafe UnsafeBufferPointer(rebasing: x[plane * size..<(plane + 1) * size])
        switch kind {
        case .max: unsafe y[plane] = unsafe values.reduce(-.infinity) { $0 > $1 ? $0 : $1 }
        case .average: unsafe y[plane] = unsafe sum(values) / Float(size)
        }
      }
    }
  }
}

/// The sum of `x`, in interleaved partial sums (`gc_sum`).
package func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
  guard let base = x.baseAddress else { return 0 }
  return unsafe gc_sum(base, Int64(x.count))
}

extension Reference {
  /// Pooling one output element at a time over its whole window: the oracle of `Pooling`.
  package static func pool(_ kind: PoolKind, _ x: [Float], _ g: PoolGeometry) -> [Float] {
    precondition(x.count == g.inputCount)
    var y = [Float]()
    y.reserveCapacity(g.outputCount)
    let (i, o) = (g.input, g.output)
    for plane in 0..<g.planes {
      for oz in 0..<o[0] {
        for oy in 0..<o[1] {
          for ox in 0..<o[2] {
            var (best, sum, inside, padded) = (-Float.greatestFiniteMagnitude, 0.0, 0, 0)
            for kz in 0..<g.kernel[0] {
              for ky in 0..<g.kernel[1] {
                for kx in 0..<g.kernel[2] {
                  let p = [
                    g.start(0, oz) + kz * g.dilation[0], g.start(1, oy) + ky * g.dilation[1],
                    g.start(2, ox) + kx * g.dilation[2],
                  ]
                  if (0..<3).allSatisfy({ p[$0] < i[$0] + g.padEnd[$0] }) { padded += 1 }
                  guard (0..<3).allSatisfy({ p[$0] >= 0 && p[$0] < i[$0] }) else { continue }
                  let value = x[((plane * i[0] + p[0]) * i[1] + p[1]) * i[2] + p[2]]
                  best = Swift.max(best, value)
                  sum += Double(value)
                  inside += 1
                }
              }
            }
            switch kind {
            case .max: y.append(best)
            case .average(let countIncludePad):
              y.append(Float(sum / Double(countIncludePad ? padded : inside)))
            }
          }
        }
      }
    }
    return y
  }
}
