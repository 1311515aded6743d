import GroupConv
import Kernels
import TestSupport
import Testing

@testable import GroupConv

/// The fast operator kernels against their plain twins, over small odd shapes.
@Suite struct OperatorKernelTests {
  static let broadcastShapes: [([Int], [Int])] = [
    ([3, 5, 7], [3, 5, 7]), ([3, 5, 7], []), ([], [2, 9]), ([2, 5, 3, 3], [5, 1, 1]),
    ([3, 1, 5], [4, 1]), ([1], [17]), ([2, 3, 1, 9], [1, 3, 4, 1]), ([0, 3], [1, 3]),
    // Rows cut in pieces and chunks shared by threads: one long row, rows with a value each,
    // per-channel rows longer than a piece.
    ([2, 40_001], [2, 40_001]), ([3, 30_000], [3, 1]), ([1, 5, 130, 130], [5, 1, 1]),
  ]

  @Test(arguments: [BinaryOperation.add, .subtract, .multiply, .divide, .power, .maximum, .minimum])
  func broadcastRowsMatchTheIndexLoop(_ operation: BinaryOperation) {
    forEachKernelConfiguration { configuration in
      broadcastRowsMatchTheIndexLoop(operation, configuration)
    }
  }

  private func broadcastRowsMatchTheIndexLoop(_ operation: BinaryOperation, _ configuration: String) {
    for (seed, (aShape, bShape)) in Self.broadcastShapes.enumerated() {
      let output = broadcast(aShape, bShape)!
      let a = randomTensor(aShape, seed: UInt64(seed)).scalars.map { abs($0) + 0.5 }
      let b = randomTensor(bShape, seed: UInt64(seed + 100)).scalars
      let plan = BroadcastBinary(operation, a: aShape, b: bShape, outputShape: output)
      var y = [Float](repeating: .nan, count: output.reduce(1, *))
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          y.withUnsafeMutableBufferPointer { plan.run(a, b, into: $0) }
        }
      }
      let expected = Reference.broadcast(
        operation, a, shape: aShape, b, shape: bShape, outputShape: output)
      expectClose(
        try! Tensor(shape: output, scalars: y), try! Tensor(shape: output, scalars: expected),
        .float32, "\(operation) \(aShape) \(bShape) seed \(seed), \(configuration)")
    }
  }

  static let pools: [PoolGeometry] = [
    PoolGeometry(
      planes: 3, input: [7, 9], output: [4, 5], kernel: [3, 3], stride: [2, 2], dilation: [1, 1],
      padBegin: [1, 1], padEnd: [1, 1]),
    PoolGeometry(
      planes: 2, input: [6, 7], output: [3, 4], kernel: [3, 3], stride: [2, 2], dilation: [1, 1],
      padBegin: [0, 1], padEnd: [1, 1]),  // ceil_mode's extra window past the end
    PoolGeometry(
      planes: 1, input: [17], output: [6], kernel: [4], stride: [3], dilation: [2],
      padBegin: [2], padEnd: [3]),
    PoolGeometry(
      planes: 2, input: [4, 5, 6], output: [2, 3, 3], kernel: [2, 2, 3], stride: [2, 2, 2],
      dilation: [1, 2, 1], padBegin: [0, 1, 1], padEnd: [0, 1, 1]),
    PoolGeometry(
      planes: 1, input: [9, 33], output: [9, 33], kernel: [3, 5], stride: [1, 1],
      dilation: [1, 1], padBegin: [1, 2], padEnd: [1, 2]),
    // Rows wide enough for the 16-position blocks, then a partial block, then borders:
    // stride 2 with padding, stride 2 with ceil_mode's window past the end, stride 1 dilated,
    // 2 taps of stride 2, stride 3, and rows wider than the folded-row scratch holds twice.
    PoolGeometry(
      planes: 2, input: [5, 71], output: [3, 36], kernel: [3, 3], stride: [2, 2],
      dilation: [1, 1], padBegin: [1, 1], padEnd: [1, 1]),
    PoolGeometry(
      planes: 1, input: [7, 55], output: [3, 27], kernel: [3, 3], stride: [2, 2],
      dilation: [1, 1], padBegin: [0, 0], padEnd: [0, 0]),
    PoolGeometry(
      planes: 1, input: [6, 58], output: [3, 29], kernel: [3, 3], stride: [2, 2],
      dilation: [1, 1], padBegin: [0, 0], padEnd: [1, 1]),
    PoolGeometry(
      planes: 1, input: [4, 45], output: [4, 41], kernel: [1, 3], stride: [1, 1],
      dilation: [1, 2], padBegin: [0, 0], padEnd: [0, 0]),
    PoolGeometry(
      planes: 3, input: [4, 67], output: [2, 34], kernel: [2, 2], stride: [2, 2],
      dilation: [1, 1], padBegin: [0, 0], padEnd: [0, 1]),
    PoolGeometry(
      planes: 2, input: [5, 50], output: [2, 17], kernel: [3, 3], stride: [3, 3],
      dilation: [1, 1], padBegin: [0, 1], padEnd: [1, 0]),
    PoolGeometry(
      planes: 1, input: [3, 2100], output: [3, 1050], kernel: [3, 3], stride: [1, 2],
      dilation: [1, 1], padBegin: [1, 1], padEnd: [1, 0]),
  ]

  @Test(arguments: [
    PoolKind.max, .average(countIncludePad: false), .average(countIncludePad: true),
  ])
  func poolingRowsMatchTheWholeWindows(_ kind: PoolKind) {
    forEachKernelConfiguration { configuration in
      for (seed, g) in Self.pools.enumerated() {
        var x = randomTensor([g.inputCount], seed: UInt64(seed)).scalars
        // A max skips NaN and starts from -FLT_MAX, as the reference does.
        if kind == .max, x.count > 20 { (x[3], x[17]) = (.nan, -.infinity) }
        var y = [Float](repeating: .nan, count: g.outputCount)
        x.withUnsafeBufferPointer { x in
          y.withUnsafeMutableBufferPointer { Pooling(kind, g).run(x, into: $0) }
        }
        expectClose(
          try! Tensor(shape: [y.count], scalars: y),
          try! Tensor(shape: [y.count], scalars: Reference.pool(kind, x, g)), .float32,
          "\(kind) geometry \(seed), \(configuration)")
      }
    }
  }

  /// Global pooling over planes small and large enough to be shared by threads.
  @Test(arguments: [(3, 7), (300, 300)])
  func globalPoolingMatchesThePlaneLoop(_ size: (planes: Int, size: Int)) {
    let x = randomTensor([size.planes * size.size], seed: 5).scalars
    for kind in [PoolKind.max, .average(countIncludePad: false)] {
      var y = [Float](repeating: .nan, count: size.planes)
      x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer { Pooling.global(kind, x, into: $0, size: size.size) }
      }
      let expected = (0..<size.planes).map { plane in
        let values = x[plane * size.size..<(plane + 1) * size.size]
        return kind == .max
          ? values.max()! : Float(values.reduce(0.0) { $0 + Double($1) } / Double(size.size))
      }
      expectClose(
        try! Tensor(shape: [size.planes], scalars: y),
        try! Tensor(shape: [size.planes], scalars: expected), .float32, "\(kind) \(size)")
    }
  }

  static let reductions: [([Int], Set<Int>)] = [
    ([3, 5, 7], [2]), ([3, 5, 7], [0]), ([3, 5, 7], [1]), ([2, 3, 4, 5], [0, 2]),
    ([2, 3, 4, 5], [1, 2, 3]), ([4, 33], [0, 1]), ([5], []), ([2, 0, 3], [0]),
  ]

  @Test(arguments: [ReduceOperation.sum, .mean, .max])
  func reductionRowsMatchTheElementLoop(_ operation: ReduceOperation) {
    for (seed, (shape, axes)) in Self.reductions.enumerated() {
      let x = randomTensor(shape, seed: UInt64(seed)).scalars
      let kept = shape.indices.map { axes.contains($0) ? 1 : shape[$0] }
      var y = [Float](repeating: .nan, count: kept.reduce(1, *))
      x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer {
          Reduction(operation, shape: shape, axes: axes).run(x, into: $0)
        }
      }
      let expected = Reference.reduce(operation, x, shape: shape, axes: axes)
      expectClose(
        try! Tensor(shape: kept, scalars: y), try! Tensor(shape: kept, scalars: expected),
        .float32, "\(operation) \(shape) over \(axes.sorted())")
    }
  }

  @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 300, 9), (2, 9, 520), (33, 260, 270)])
  func blockedMatrixProductMatchesTheTripleLoop(_ size: (Int, Int, Int)) {
    let (m, n, k) = size
    let a = randomTensor([m, k], seed: 1).scalars
    let b = randomTensor([k, n], seed: 2).scalars
    let expected = Reference.matrixMultiply(a, b, m: m, n: n, k: k, alpha: 0.5)
    let transposedA = (0..<k * m).map { a[($0 % m) * k + $0 / m] }
    for (source, strides) in [(a, (k, 1)), (transposedA, (1, m))] {
      var y = [Float](repeating: .nan, count: m * n)
      source.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          y.withUnsafeMutableBufferPointer {
            MatrixMultiply.run(
              m: m, n: n, k: k, a: a.baseAddress!, aStrides: strides, b: b.baseAddress!,
              alpha: 0.5, into: $0.baseAddress!, accumulate: false)
          }
        }
      }
      expectClose(
        try! Tensor(shape: [m, n], scalars: y), try! Tensor(shape: [m, n], scalars: expected),
        .float32, "\(m)x\(k) · \(k)x\(n), A strides \(strides)")
    }
  }

  /// B computed at run time is packed per run once A has 8 rows or more: per batch for
  /// MatMul (B's batch broadcast here), with transB and a column C for Gemm.
  @Test func productsOfRunTimeOperandsMatchTheTripleLoop() throws {
    let (m, k, n) = (9, 5, 17)
    let a = randomTensor([2, 1, m, k], seed: 1)
    let b = randomTensor([3, k, n], seed: 2)
    let matMul = try build(
      makeNode("MatMul", ["a", "b"]), opset: 13, [(a.shape, nil), (b.shape, nil)])
    var expected = [Float]()
    for (i, j) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)] {
      expected += Reference.matrixMultiply(
        Array(a.scalars[i * m * k..<(i + 1) * m * k]),
        Array(b.scalars[j * k * n..<(j + 1) * k * n]), m: m, n: n, k: k)
    }
    expectClose(
      run(matMul, [a, b])[0], try Tensor(shape: [2, 3, m, n], scalars: expected), .float32,
      "MatMul [2, 1, 9, 5] · [3, 5, 17]")

    let a2 = randomTensor([m, k], seed: 3)
    let b2 = randomTensor([k, n], seed: 4)
    let bT = try Tensor(
      shape: [n, k], scalars: (0..<n * k).map { b2.scalars[($0 % k) * n + $0 / k] })
    let c = randomTensor([m, 1], seed: 5)
    let attributes: [String: ONNXAttributeValue] = [
      "transB": .int(1), "alpha": .float(0.5), "beta": .float(2),
    ]
    let gemm = try build(
      makeNode("Gemm", ["a", "b", "c"], ["y"], attributes), opset: 13,
      [(a2.shape, nil), (bT.shape, nil), (c.shape, nil)])
    let product = Reference.matrixMultiply(a2.scalars, b2.scalars, m: m, n: n, k: k, alpha: 0.5)
    expectClose(
      run(gemm, [a2, bT, c])[0],
      try Tensor(
        shape: [m, n], scalars: product.indices.map { product[$0] + 2 * c.scalars[$0 / n] }),
      .float32, "Gemm [9, 5] · [17, 5]ᵀ + [9, 1]")
  }

  /// The matrix transposes (NCHW ↔ NHWC) against the definition, across the 16 × 16 tile
  /// edges (rows and columns past the last whole tile) and the size from which parts spread
  /// over threads.
  @Test(arguments: [(1, 3, 5), (2, 33, 70), (1, 96, 3136), (3, 100, 37), (1, 3136, 96), (2, 17, 400)])
  func matrixTransposesMatchTheDefinition(_ sizes: (Int, Int, Int)) {
    let (batch, rows, columns) = sizes
    let x = randomTensor([batch, rows, columns], seed: 9).scalars
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { y in
        Layout.transposeMatrices(
          x.baseAddress!, batch: batch, rows: rows, columns: columns, into: y.baseAddress!)
      }
    }
    var expected = [Float](repeating: 0, count: x.count)
    for b in 0..<batch {
      for r in 0..<rows {
        for c in 0..<columns {
          expected[(b * columns + c) * rows + r] = x[(b * rows + r) * columns + c]
        }
      }
    }
    #expect(y == expected, "\(sizes)")
    // Scaled per column and added to a residual held in y itself.
    let scale = randomTensor([columns], seed: 10).scalars
    let residual = randomTensor([x.count], seed: 11).scalars
    var z = residual
    x.withUnsafeBufferPointer { x in
      scale.withUnsafeBufferPointer { scale in
        z.withUnsafeMutableBufferPointer { z in
          Layout.transposeMatrices(
            x.baseAddress!, batch: batch, rows: rows, columns: columns,
            scale: scale.baseAddress!, adding: UnsafePointer(z.baseAddress!), into: z.baseAddress!)
        }
      }
    }
    let expectedSum = expected.indices.map { i in
      expected[i] * scale[i / rows % columns] + residual[i]
    }
    // The C kernels may fuse the multiply and add: one rounding fewer.
    #expect(
      zip(z, expectedSum).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) },
      "\(sizes), scaled and added")
  }

  /// Layer normalization over many short rows, which run in blocks of rows: every block,
  /// and the last, partial one, against the definition.
  @Test func layerNormalizationOfManyShortRows() {
    let (rows, inner) = (20_011, 3)
    let x = randomTensor([rows, inner], seed: 4).scalars
    let scale: [Float] = [0.5, -1, 2]
    let bias: [Float] = [0.25, 0, -1]
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { x in
      scale.withUnsafeBufferPointer { scale in
        bias.withUnsafeBufferPointer { bias in
          y.withUnsafeMutableBufferPointer { y in
            Normalization.layer(x, scale: scale, bias: bias, epsilon: 1e-5, into: y)
          }
        }
      }
    }
    var expected = [Float](repeating: 0, count: x.count)
    for r in 0..<rows {
      let row = x[(r * inner)..<((r + 1) * inner)]
      let mean = row.reduce(0, +) / Float(inner)
      let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(inner)
      for i in 0..<inner {
        expected[r * inner + i] =
          (x[r * inner + i] - mean) / (variance + 1e-5).squareRoot() * scale[i] + bias[i]
      }
    }
    expectClose(
      Tensor(validShape: [rows, inner], scalars: y), Tensor(validShape: [rows, inner], scalars: expected),
      Tolerance(absolute: 1e-4, relative: 1e-4))
  }
}
