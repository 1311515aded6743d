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

/// How a pooling folds the taps of a window: as a type, so that the loops are specialized
/// for it and the fold is inlined into them.
protocol WindowFold {
  static var initial: Float { get }
  static func combine(_ a: Float, _ b: Float) -> Float
  static func combine(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float>
}

enum MaximumOfWindow: WindowFold {
  static var initial: Float { -.greatestFiniteMagnitude }
  @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { a > b ? a : b }
  @inline(__always) static func combine(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a.replacing(with: b, where: b .> a)
  }
}

enum SumOfWindow: WindowFold {
  static var initial: Float { 0 }
  @inline(__always) static func combine(_ a: Float, _ b: Float) -> Float { a + b }
  @inline(__always) static func combine(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
    a + b
  }
}

/// What a pooling computes over its window.
package enum PoolKind: Equatable, Sendable {
  case max
  /// The mean of the input elements in the window, or with `countIncludePad`, the sum
  /// divided by the taps inside the padded input (padding counting as zeros).
  case average(countIncludePad: Bool)
}

/// Pooling of NC(D)(H)W planes, one output row at a time. For each output row the valid
/// taps of the two outer dimensions are known ranges; along the row, the positions whose
/// whole window lies inside the input take the tap-outer loop `y[o] = y[o] ∘ x[o · s + off]`,
/// the border positions their own clipped windows. The planes are spread over threads.
package struct Pooling: Sendable {
  /// Per output position of one dimension: the taps inside the input, and the divisor
  /// factor (taps inside the input, or inside the padded input with count_include_pad).
  struct Taps: Sendable {
    var range: [Range<Int>]
    var divisor: [Int]
  }

  package let kind: PoolKind
  package let geometry: PoolGeometry
  let taps: [Taps]
  /// Output positions along the width whose window holds all its taps.
  let interior: Range<Int>

  package init(_ kind: PoolKind, _ g: PoolGeometry) {
    self.kind = kind
    geometry = g
    let taps = (0..<3).map { axis in
      var taps = Taps(range: [], divisor: [])
      for o in 0..<g.output[axis] {
        let start = g.start(axis, o)
        let d = g.dilation[axis]
        var valid = 0..<0
        var padded = 0
        for t in 0..<g.kernel[axis] {
          let p = start + t * d
          if p >= 0 && p < g.input[axis] {
            valid = valid.isEmpty ? t..<t + 1 : valid.lowerBound..<t + 1
          }
          if p < g.input[axis] + g.padEnd[axis] { padded += 1 }
        }
        taps.range.append(valid)
        if case .average(true) = kind {
          taps.divisor.append(padded)
        } else {
          taps.divisor.append(valid.count)
        }
      }
      return taps
    }
    self.taps = taps
    let full = taps[2].range.indices.filter { taps[2].range[$0] == 0..<g.kernel[2] }
    interior = full.isEmpty ? 0..<0 : full.first!..<full.last! + 1
  }

  package func run(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>) {
    let g = geometry
    precondition(x.count == g.inputCount && y.count == g.outputCount)
    guard g.outputCount > 0, let x = x.baseAddress, let y = y.baseAddress else { return }
    // Everything the loops read, as scalars and buffers: no array or struct copies (and
    // their reference counting) per output row.
    unsafe taps[0].range.withUnsafeBufferPointer { zTaps in
      unsafe taps[1].range.withUnsafeBufferPointer { yTaps in
        unsafe taps[2].range.withUnsafeBufferPointer { xTaps in
          let rows = unsafe Rows(
            inputHeight: g.input[1], inputWidth: g.input[2], width: g.output[2],
            strideZ: g.stride[0], strideY: g.stride[1], strideX: g.stride[2],
            dilationZ: g.dilation[0], dilationY: g.dilation[1], dilationX: g.dilation[2],
            padZ: g.padBegin[0], padY: g.padBegin[1], padX: g.padBegin[2],
            kernelX: g.kernel[2], interior: interior, zTaps: zTaps, yTaps: yTaps, xTaps: xTaps)
          unsafe run(x, y, rows)
        }
      }
    }
  }

  /// The scalars and tap tables of one run.
  @unsafe private struct Rows {
    let inputHeight, inputWidth, width: Int
    let strideZ, strideY, strideX, dilationZ, dilationY, dilationX, padZ, padY, padX: Int
    let kernelX: Int
    let interior: Range<Int>
    let zTaps, yTaps, xTaps: UnsafeBufferPointer<Range<Int>>
  }

  private func run(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ rows: Rows) {
    let g = geometry
    let inPlane = g.input.reduce(1, *)
    let outPlane = g.output.reduce(1, *)
    let (depth, height, width) = (g.output[0], g.output[1], g.output[2])
    let kind = self.kind
    let divisors = taps.map(\.divisor)
    Threads.parallelFor(g.planes) { plane in
      let x = unsafe x + plane * inPlane
      let y = unsafe y + plane * outPlane
      for oz in 0..<depth {
        for oy in 0..<height {
          let row = unsafe y + (oz * height + oy) * width
          switch kind {
          case .max:
            unsafe Self.rowWindows(x, row, oz, oy, rows, MaximumOfWindow.self)
          case .average:
            unsafe Self.rowWindows(x, row, oz, oy, rows, SumOfWindow.self)
            let outer = divisors[0][oz] * divisors[1][oy]
            for ox in 0..<width {
              unsafe row[ox] /= Float(outer * divisors[2][ox])
            }
          }
        }
      }
    }
  }

  /// Combines every valid tap of output row (oz, oy) of one plane into `row`: interior
  /// positions 16 at a time for strides 1 and 2, each window's taps folded into one vector
  /// register before a single store; the rest one position at a time.
  @inline(__always)
  private static func rowWindows<Fold: WindowFold>(
    _ x: UnsafePointer<Float>, _ row: UnsafeMutablePointer<Float>, _ oz: Int, _ oy: Int,
    _ r: Rows, _ fold: Fold.Type
  ) {
    let initial = Fold.initial
    let (width, sx, dx, padX) = unsafe (r.width, r.strideX, r.dilationX, r.padX)
    let interior = unsafe r.interior
    let (zTaps, yTaps) = unsafe (r.zTaps[oz], r.yTaps[oy])
    let kernelX = unsafe r.kernelX
    /// The input row of taps (kz, ky).
    func line(_ kz: Int, _ ky: Int) -> UnsafePointer<Float> {
      let iz = unsafe oz * r.strideZ - r.padZ + kz * r.dilationZ
      let iy = unsafe oy * r.strideY - r.padY + ky * r.dilationY
      return unsafe x + (iz * r.inputHeight + iy) * r.inputWidth
    }
    var ox = interior.lowerBound
    if sx <= 2 {
      while ox + 16 <= interior.upperBound {
        var acc = SIMD16<Float>(repeating: initial)
        for kz in zTaps {
          for ky in yTaps {
            let base = unsafe line(kz, ky) + ox * sx - padX
            for kx in 0..<kernelX {
              let source = unsafe UnsafeRawPointer(base + kx * dx)
              let window =
                sx == 1
                ? unsafe source.loadUnaligned(as: SIMD16<Float>.self)
                : unsafe source.loadUnaligned(as: SIMD32<Float>.self).evenHalf
              acc = Fold.combine(acc, window)
            }
          }
        }
        unsafe UnsafeMutableRawPointer(row + ox).storeBytes(of: acc, as: SIMD16<Float>.self)
        ox += 16
      }
    }
    // The interior's tail, four positions at a time: four independent folds, so that the
    // latency of one does not hold up the others.
    while ox + 4 <= interior.upperBound {
      var (v0, v1, v2, v3) = (initial, initial, initial, initial)
      for kz in zTaps {
        for ky in yTaps {
          let source = unsafe line(kz, ky) + ox * sx - padX
          for kx in 0..<kernelX {
            let s = unsafe source + kx * dx
            v0 = Fold.combine(v0, unsafe s[0])
            v1 = Fold.combine(v1, unsafe s[sx])
            v2 = Fold.combine(v2, unsafe s[2 * sx])
            v3 = Fold.combine(v3, unsafe s[3 * sx])
          }
        }
      }
      unsafe (row[ox], row[ox + 1], row[ox + 2], row[ox + 3]) = (v0, v1, v2, v3)
      ox += 4
    }
    let vectorized = interior.lowerBound..<ox
    for position in 0..<width where !vectorized.contains(position) {
      var value = initial
      let taps = unsafe interior.contains(position) ? 0..<kernelX : r.xTaps[position]
      for kz in zTaps {
        for ky in yTaps {
          let source = unsafe line(kz, ky) + position * sx - padX
          for kx in taps { value = Fold.combine(value, unsafe source[kx * dx]) }
        }
      }
      unsafe row[position] = value
    }
  }

  /// y[plane] = the max or mean of x[plane]: global pooling of `planes` planes of `size`.
  package static func global(
    _ kind: PoolKind, _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
    size: Int
  ) {
    precondition(x.count == y.count * size)
    for plane in 0..<y.count {
      let values = unsafe UnsafeBufferPointer(rebasing: x[plane * size..<(plane + 1) * size])
      switch kind {
      case .max: unsafe y[plane] = unsafe values.reduce(-.infinity) { $0 > $1 ? $0 : $1 }
      case .average: unsafe y[plane] = unsafe sum(values) / Float(size)
      }
    }
  }
}

/// The sum of `x`, in eight interleaved partial sums so that the loop vectorizes.
package func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
  var partial = SIMD8<Float>()
  let whole = x.count / 8 * 8
  var i = 0
  while i < whole {
    unsafe partial += SIMD8(
      x[i], x[i + 1], x[i + 2], x[i + 3], x[i + 4], x[i + 5], x[i + 6], x[i + 7])
    i += 8
  }
  var total = partial.sum()
  while i < x.count {
    total += unsafe x[i]
    i += 1
  }
  return total
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
