import CKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// The normalizations of inference: per-channel affine maps (batch normalization with its
/// statistics folded), local response normalization, layer normalization and softmax.
package enum Normalization {
  /// y[n, p, i] = x[n, p, i] · scale[p] + shift[p] for x: [outer, scale.count, inner]. y may be x.
  package static func affine(
    _ x: UnsafeBufferPointer<Float>, scale: [Float], shift: [Float], inner: Int,
    into y: UnsafeMutableBufferPointer<Float>
  ) {
    precondition(scale.count == shift.count && x.count == y.count)
    let block = scale.count * inner
    let count = y.count
    guard block > 0, let x = x.baseAddress, let y = y.baseAddress else { return }
    Threads.parallelFor(count / block) { n in
      for p in 0..<scale.count {
        let (a, b, start) = (scale[p], shift[p], n * block + p * inner)
        for i in start..<start + inner { unsafe y[i] = x[i] * a + b }
      }
    }
  }

  /// Local response normalization across channels of x: [N, C, plane]:
  /// y = x / (bias + alpha / size · Σ x²)^beta, the sum over channels
  /// c − ⌊(size − 1) / 2⌋ ... c + ⌈(size − 1) / 2⌉ that exist.
  package static func localResponse(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
    channels: Int, plane: Int, size: Int, alpha: Float, beta: Float, bias: Float
  ) {
    precondition(x.count == y.count && channels * plane > 0 && x.count % (channels * plane) == 0)
    let count = y.count
    guard let x = x.baseAddress, let y = y.baseAddress else { return }
    let before = (size - 1) / 2
    let after = size - 1 - before
    let factor = alpha / Float(size)
    Threads.parallelFor(count / plane) { row in
      let (n, c) = (row / channels, row % channels)
      var squares = [Float](repeating: 0, count: plane)
      for k in Swift.max(0, c - before)...Swift.min(channels - 1, c + after) {
        let source = unsafe x + (n * channels + k) * plane
        for i in 0..<plane { unsafe squares[i] += source[i] * source[i] }
      }
      let (source, target) = unsafe (x + row * plane, y + row * plane)
      for i in 0..<plane {
        unsafe target[i] = source[i] / powf(bias + factor * squares[i], beta)
      }
    }
  }

  /// Layer normalization of x: [outer, inner] along its rows:
  /// y = (x − mean) / √(variance + epsilon) · scale + bias, scale and bias of `inner` (bias
  /// optional). y may be x.
  package static func layer(
    _ x: UnsafeBufferPointer<Float>, scale: UnsafeBufferPointer<Float>,
    bias: UnsafeBufferPointer<Float>?, epsilon: Float, into y: UnsafeMutableBufferPointer<Float>
  ) {
    let inner = scale.count
    precondition(x.count == y.count && inner > 0 && x.count % inner == 0)
    unsafe precondition(bias.map { $0.count == inner } ?? true)
    let count = y.count
    guard let x = x.baseAddress, let y = y.baseAddress, let scale = scale.baseAddress else {
      return
    }
    let bias = unsafe bias?.baseAddress
    // Rows in blocks of about 16 Ki elements: one claimed index per few microseconds of
    // work, not per row (ConvNeXt's rows are 96 floats).
    let rows = count / inner
    let rowsPerBlock = max(1, (1 << 14) / inner)
    Threads.parallelFor((rows + rowsPerBlock - 1) / rowsPerBlock) { block in
      let first = block * rowsPerBlock
      let count = Swift.min(rows, first + rowsPerBlock) - first
      unsafe gc_layer_norm(
        x + first * inner, y + first * inner, Int64(count), Int64(inner), scale, bias, epsilon)
    }
  }

  /// Layer normalization over the channels of `batch` images x: [channels, positions],
  /// each stored transposed, y: [positions, channels] (an NCHW → NHWC Transpose and a
  /// LayerNormalization over C in one pass): y[p, c] = (x[c, p] − mean_p) / sqrt(variance_p
  /// + epsilon) · scale[c] + bias[c]. Runs of 16 positions spread over threads.
  package static func layerOfTransposed(
    _ x: UnsafePointer<Float>, batch: Int, channels: Int, positions: Int,
    scale: UnsafePointer<Float>, bias: UnsafePointer<Float>?, epsilon: Float,
    into y: UnsafeMutablePointer<Float>
  ) {
    guard channels > 0, positions > 0 else { return }
    let runs = (positions + 15) / 16
    // Pieces of about 16 Ki elements, as `layer`'s blocks of rows.
    let runsPerPiece = Swift.max(1, (1 << 14) / (16 * channels))
    let pieces = (runs + runsPerPiece - 1) / runsPerPiece
    Threads.parallelFor(batch * pieces) { task in
      let (image, piece) = task.quotientAndRemainder(dividingBy: pieces)
      let offset = image * channels * positions
      let begin = piece * runsPerPiece * 16
      let end = Swift.min(positions, begin + runsPerPiece * 16)
      unsafe gc_transpose_layer_norm(
        x + offset, y + offset, Int64(channels), Int64(positions), Int64(begin), Int64(end),
        scale, bias, epsilon)
    }
  }

  /// Softmax (or its logarithm) of x: [outer, axis, inner] along the middle dimension:
  /// y = exp(x − max) / Σ exp(x − max). With inner > 1 the loops run along the contiguous
  /// inner dimension, one axis position at a time. y may be x.
  package static func softmax(
    _ x: UnsafeBufferPointer<Float>, into y: UnsafeMutableBufferPointer<Float>,
    axis: Int, inner: Int, logarithm: Bool
  ) {
    precondition(x.count == y.count)
    let block = axis * inner
    let count = y.count
    guard block > 0, let x = x.baseAddress, let y = y.baseAddress else { return }
    Threads.parallelFor(count / block) { outer in
      let (source, target) = unsafe (x + outer * block, y + outer * block)
      var largest = [Float](repeating: -.infinity, count: inner)
      var total = [Float](repeating: 0, count: inner)
      for a in 0..<axis {
        for i in 0..<inner { largest[i] = Swift.max(largest[i], unsafe source[a * inner + i]) }
      }
      for a in 0..<axis {
        for i in 0..<inner {
          let shifted = unsafe source[a * inner + i] - largest[i]
          let e = expf(shifted)
          total[i] += e
          unsafe target[a * inner + i] = logarithm ? shifted : e
        }
      }
      if logarithm {
        for i in 0..<inner { total[i] = logf(total[i]) }
        for a in 0..<axis { for i in 0..<inner { unsafe target[a * inner + i] -= total[i] } }
      } else {
        for i in 0..<inner { total[i] = 1 / total[i] }
        for a in 0..<axis { for i in 0..<inner { unsafe target[a * inner + i] *= total[i] } }
      }
    }
  }
}
