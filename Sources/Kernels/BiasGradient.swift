import CKernels

/// The bias gradient: the sum of the output gradient over the batch and the spatial
/// positions, per channel. (A weight-gradient kernel computes it for free in the same pass
/// over dy, see `WeightGradientKernel`; this is for when there is no such pass.)
package enum BiasGradient {
  /// db[c] = Σ over n, p of dy[n, c, p].
  /// dy: [batch, channels, plane] (plane = the product of the spatial sizes); db: [channels],
  /// every element written. Threads split the channels when there is enough to sum.
  package static func compute(
    dy: UnsafePointer<Float>, batch: Int, channels: Int, plane: Int,
    into db: UnsafeMutablePointer<Float>
  ) {
    precondition(batch >= 0 && channels >= 0 && plane >= 0)
    // Summing runs at cache bandwidth: below ~256 K floats a second thread costs more
    // than it saves.
    let total = batch * channels * plane
    let chunks = total < 1 << 18 ? 1 : min(channels, 4 * Threads.count)
    Threads.parallelFor(chunks) { chunk in
      let end = (chunk + 1) * channels / chunks
      // Each channel's 16 lane sums, then their horizontal sums 16 channels at a time.
      unsafe withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 64) { partials in
        var first = chunk * channels / chunks
        while first < end {
          let count = min(64, end - first)
          for k in 0..<count {
            var sum = SIMD16<Float>()
            for n in 0..<batch {
              sum += unsafe planeSums(dy + (n * channels + first + k) * plane, plane)
            }
            unsafe partials[k] = sum
          }
          unsafe gc_wgrad_reduce(
            UnsafeRawPointer(partials.baseAddress!).assumingMemoryBound(to: Float.self), count,
            db + first, 0)
          first += count
        }
      }
    }
  }

  /// The sums of `count` floats from `p` in 16 lanes (4 × 16 independent ones in the loop).
  @inline(__always)
  static func planeSums(_ p: UnsafePointer<Float>, _ count: Int) -> SIMD16<Float> {
    let raw = unsafe UnsafeRawPointer(p)
    var a0 = SIMD16<Float>(), a1 = a0, a2 = a0, a3 = a0
    var i = 0
    while i + 64 <= count {
      unsafe a0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
      unsafe a1 += raw.loadUnaligned(fromByteOffset: 4 * (i + 16), as: SIMD16<Float>.self)
      unsafe a2 += raw.loadUnaligned(fromByteOffset: 4 * (i + 32), as: SIMD16<Float>.self)
      unsafe a3 += raw.loadUnaligned(fromByteOffset: 4 * (i + 48), as: SIMD16<Float>.self)
      i += 64
    }
    while i + 16 <= count {
      unsafe a0 += raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD16<Float>.self)
      i += 16
    }
    var j = 0
    while i < count {
      unsafe a1[j] += p[i]
      i += 1
      j += 1
    }
    return (a0 + a1) + (a2 + a3)
  }
}
