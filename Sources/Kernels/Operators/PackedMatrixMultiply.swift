import CKernels

/// The right operand B: [k, n] of matrix products, packed into the column panels of
/// `gc_matmul` (48 columns each, zero past n, 64-byte aligned):
/// panels[(panel · k + p) · 48 + c] = B[p, panel · 48 + c]. A constant B is packed once,
/// when its operator is built; one computed at run time, per run.
///
/// `multiply` computes y = alpha · A · B + beta · C with an 8 × 48 register-blocked
/// microkernel in C; `MatrixMultiply` is its plain twin, and the path for a transposed A and
/// for products of few rows with a B computed at run time.
package final class PackedMatrix: Sendable {
  package let k: Int, n: Int
  private let panels: AlignedBuffer

  static let mr = Int(GC_MATMUL_MR)
  static let nr = Int(GC_MATMUL_NR)
  /// Below this many multiply-adds a product runs on one thread.
  static let parallelWork = 100_000
  /// Tasks per thread, so that a thread that starts late still gets its share.
  static let tasksPerThread = 4

  /// Packs B: [k, n], read at b[p · strides.0 + j · strides.1] (a transposed B is a stride
  /// swap).
  package init(k: Int, n: Int, b: UnsafePointer<Float>, strides: (Int, Int)) {
    precondition(k > 0 && n > 0)
    (self.k, self.n) = (k, n)
    let panelCount = (n + Self.nr - 1) / Self.nr
    panels = AlignedBuffer(count: panelCount * k * Self.nr)
    let packed = unsafe panels.pointer
    for panel in 0..<panelCount {
      let columns = min(Self.nr, n - panel * Self.nr)
      for p in 0..<k {
        let row = unsafe packed + (panel * k + p) * Self.nr
        let source = unsafe b + p * strides.0 + panel * Self.nr * strides.1
        for c in 0..<columns { unsafe row[c] = source[c * strides.1] }
      }
    }
  }

  /// C added by `multiply`: C[i, j] = beta · c[i · rowStride + j · columnStride], strides 0
  /// along the dimensions it broadcasts.
  @unsafe package struct Addend {
    package var c: UnsafePointer<Float>
    package var rowStride: Int, columnStride: Int
    package var beta: Float
    package init(_ c: UnsafePointer<Float>, rowStride: Int, columnStride: Int, beta: Float) {
      unsafe (self.c, self.rowStride, self.columnStride, self.beta) = unsafe (
        c, rowStride, columnStride, beta
      )
    }
  }

  /// y = alpha · A · B (+ beta · C), A: [m, k] read at a[i · lda + p], y: [m, n] contiguous;
  /// then f(y) for an `activation` f, applied as the kernel stores each tile.
  ///
  /// Threads take rectangles of rows × panels: the larger of A and B is split first, so that
  /// each task streams its share of it once.
  package func multiply(
    m: Int, a: UnsafePointer<Float>, lda: Int, alpha: Float, adding addend: Addend? = nil,
    into y: UnsafeMutablePointer<Float>, then activation: gc_activation_kind? = nil
  ) {
    precondition(m >= 0 && lda >= k)
    guard m > 0 else { return }
    var args = unsafe gc_matmul_args(
      a: a, lda: Int64(lda), packed: panels.pointer, k: Int64(k), n: Int64(n), m_begin: 0,
      m_end: Int64(m), p_begin: 0, p_end: 0, y: y, ldy: Int64(n), alpha: alpha,
      c: addend?.c, c_row: Int64(addend?.rowStride ?? 0),
      c_col: Int64(addend?.columnStride ?? 0), beta: addend?.beta ?? 0,
      activation: activation.map { Int32(bitPattern: $0.rawValue) } ?? -1)
    let (rowBlocks, panelCount) = ((m + Self.mr - 1) / Self.mr, (n + Self.nr - 1) / Self.nr)
    let threads = Threads.count
    guard threads > 1, m * n * k >= Self.parallelWork else {
      unsafe args.p_end = Int64(panelCount)
      unsafe gc_matmul(&args)
      return
    }
    let tasks = threads * Self.tasksPerThread
    var (rowChunks, panelChunks) = chunks(tasks, first: rowBlocks, second: panelCount)
    if n > m { (panelChunks, rowChunks) = chunks(tasks, first: panelCount, second: rowBlocks) }
    let shared = unsafe args
    Threads.parallelFor(rowChunks * panelChunks) { index in
      let (rows, panels) = (
        part(index / panelChunks, of: rowBlocks, in: rowChunks),
        part(index % panelChunks, of: panelCount, in: panelChunks)
      )
      var task = unsafe shared
      unsafe task.m_begin = Int64(rows.lowerBound * Self.mr)
      unsafe task.m_end = Int64(min(m, rows.upperBound * Self.mr))
      unsafe task.p_begin = Int64(panels.lowerBound)
      unsafe task.p_end = Int64(panels.upperBound)
      unsafe gc_matmul(&task)
    }
  }
}

/// Chunks along the first dimension (`tasks`, or one block each when there are fewer than
/// 2 · tasks blocks, so that chunks are even), then along the second until there are about
/// `tasks` in all.
private func chunks(_ tasks: Int, first: Int, second: Int) -> (Int, Int) {
  let along = first < 2 * tasks ? first : tasks
  return (along, min(second, (tasks + along - 1) / along))
}

/// Part `index` of `count` nearly equal parts of 0..<total.
private func part(_ index: Int, of total: Int, in count: Int) -> Range<Int> {
  total * index / count..<total * (index + 1) / count
}
