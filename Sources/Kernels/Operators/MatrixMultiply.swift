/// Float matrix products for the Gemm and MatMul operators.
package enum MatrixMultiply {
  /// Columns of y per tile: a row of the tile (1 KiB) stays in L1 while K runs.
  static let columnBlock = 256
  /// Rows of B per pass: a pass reads 256 × 256 floats of B (256 KiB, in L2) per tile.
  static let depthBlock = 256
  /// Rows of y per tile.
  static let rowBlock = 16

  /// y = alpha · A · B (+ y when `accumulate`), A: [m, k] read at a[i · aStrides.0 + p ·
  /// aStrides.1] (so a transposed A is a stride swap), B: [k, n] and y: [m, n] contiguous.
  ///
  /// Tiles of 16 rows × 256 columns of y are spread over threads; in each, for every row
  /// i and depth p, `y[i, tile] += (alpha · A[i, p]) · B[p, tile]` runs along the contiguous
  /// columns and vectorizes.
  package static func run(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aStrides: (Int, Int),
    b: UnsafePointer<Float>, alpha: Float, into y: UnsafeMutablePointer<Float>,
    accumulate: Bool
  ) {
    let (rowTiles, columnTiles) = (
      (m + rowBlock - 1) / rowBlock, (n + columnBlock - 1) / columnBlock
    )
    let work = m * n * k
    let tile: (Int) -> Void = { index in
      let rows = index / columnTiles * rowBlock..<Swift.min(m, (index / columnTiles + 1) * rowBlock)
      let column = index % columnTiles * columnBlock
      let width = Swift.min(columnBlock, n - column)
      if !accumulate {
        for i in rows { for j in 0..<width { unsafe y[i * n + column + j] = 0 } }
      }
      for depth in stride(from: 0, to: k, by: depthBlock) {
        for i in rows {
          let out = unsafe y + i * n + column
          for p in depth..<Swift.min(k, depth + depthBlock) {
            let scale = unsafe alpha * a[i * aStrides.0 + p * aStrides.1]
            let row = unsafe b + p * n + column
            for j in 0..<width { unsafe out[j] += scale * row[j] }
          }
        }
      }
    }
    if work < 1 << 18 {
      for index in 0..<rowTiles * columnTiles { tile(index) }
    } else {
      Threads.parallelFor(rowTiles * columnTiles, tile)
    }
  }
}

extension Reference {
  /// alpha · A · B for A: [m, k], B: [k, n] contiguous, sums in `Double`: the oracle of
  /// `MatrixMultiply`.
  package static func matrixMultiply(
    _ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, alpha: Float = 1
  ) -> [Float] {
    precondition(a.count == m * k && b.count == k * n)
    var y = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k { sum += Double(a[i * k + p]) * Double(b[p * n + j]) }
        y[i * n + j] = Float(Double(alpha) * sum)
      }
    }
    return y
  }
}
