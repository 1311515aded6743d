import CKernels
import Foundation
import Kernels
import GroupConv
import TestSupport
import Testing

/// The suites that change process-wide kernel settings (`Threads.count`, the instruction set)
/// are nested here, so that they run one at a time instead of changing the settings under
/// each other.
@Suite(.serialized) enum KernelSettingsSuites {}

/// The packed matrix product against its plain twin (`MatrixMultiply`), over odd sizes around
/// its tile (8 rows × 48 columns), its vector width (16) and its K block (256), with B given
/// plain and transposed, every form of C, both instruction sets and 1 and 2 threads. The
/// output starts as NaN, so an element the kernel fails to write fails the comparison.
extension KernelSettingsSuites {
  @Suite(.serialized) struct PackedMatrixTests {
    /// C as [rows, columns] broadcast to [m, n]: none, a scalar, a row, a column, a matrix.
    enum Addend: CaseIterable { case none, scalar, row, column, matrix }

    @Test(arguments: [1, 5, 255, 257])
    func matchesThePlainLoop(k: Int) throws {
      var form = 0
      for m in [1, 7, 8, 9, 33] {
        for n in [1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 100] {
          // Alpha 1 with a row C is the linear layer's epilogue, which reads the row once.
          try check(
            m: m, n: n, k: k, Addend.allCases[form % Addend.allCases.count],
            alpha: form % 2 == 0 ? 0.75 : 1)
          form += 1
        }
      }
    }

    /// 100 rows of K = 1400 are done in two passes of rows (A of a pass stays in L2).
    @Test func rowPassesMatchThePlainLoop() throws {
      try check(m: 100, n: 17, k: 1400, .matrix)
    }

    /// An activation (GELU) is applied as the tiles are stored: after the last of two K
    /// blocks, in both epilogues, on partial tiles too.
    @Test(arguments: Addend.allCases)
    func activationFollowsTheProduct(_ addend: Addend) throws {
      for alpha: Float in [0.75, 1] {
        try check(m: 9, n: 49, k: 257, addend, alpha: alpha, activation: GC_ACTIVATION_GELU_ERF)
      }
    }

    /// y = alpha · A · B + beta · C (then GELU, when `activation` is given) from the packed
    /// kernel, for each packing, instruction set and thread count, against the plain loop.
    func check(
      m: Int, n: Int, k: Int, _ addend: Addend, alpha: Float = 0.75,
      activation: gc_activation_kind? = nil
    ) throws {
      lockKernelSettings()
      let threads = Threads.count
      defer {
        Threads.count = threads
        gc_use_isa(-1)
        unlockKernelSettings()
      }
      // Float sums over K terms of size about 1 drift by about sqrt(K) ulps.
      let tolerance = Tolerance(
        absolute: 1e-5 * max(1, (Float(k) / 16).squareRoot()), relative: 1e-4)
      let a = try Tensor.random(shape: [m, k], seed: 1).scalars
      let b = try Tensor.random(shape: [k, n], seed: 2).scalars
      let transposedB = (0..<n * k).map { b[($0 % k) * n + $0 / k] }
      let (rows, columns) =
        switch addend {
        case .none, .scalar: (1, 1)
        case .row: (1, n)
        case .column: (m, 1)
        case .matrix: (m, n)
        }
      let c = try Tensor.random(shape: [rows, columns], seed: 3).scalars
      let beta: Float = addend == .none ? 0 : -1.5
      // The twin: y = beta · C broadcast, then y += alpha · A · B.
      var expected = (0..<m * n).map { beta * c[($0 / n % rows) * columns + $0 % n % columns] }
      a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
          expected.withUnsafeMutableBufferPointer {
            MatrixMultiply.run(
              m: m, n: n, k: k, a: a.baseAddress!, aStrides: (k, 1), b: b.baseAddress!,
              alpha: alpha, into: $0.baseAddress!, accumulate: true)
          }
        }
      }
      if activation != nil {
        expected = expected.map { 0.5 * $0 * (1 + Float(erf(Double($0) / 2.0.squareRoot()))) }
      }
      let packings = [
        b.withUnsafeBufferPointer {
          PackedMatrix(k: k, n: n, b: $0.baseAddress!, strides: (n, 1))
        },
        transposedB.withUnsafeBufferPointer {
          PackedMatrix(k: k, n: n, b: $0.baseAddress!, strides: (1, k))
        },
      ]
      for (transposed, packed) in zip([false, true], packings) {
        for isa in instructionSets {
          for threadCount in [1, 2] {
            gc_use_isa(isa)
            Threads.count = threadCount
            var y = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { a in
              c.withUnsafeBufferPointer { c in
                y.withUnsafeMutableBufferPointer { y in
                  let strides = (rows == 1 ? 0 : columns, columns == 1 ? 0 : 1)
                  let addend =
                    addend == .none
                    ? nil
                    : unsafe PackedMatrix.Addend(
                      c.baseAddress!, rowStride: strides.0, columnStride: strides.1,
                      beta: beta)
                  packed.multiply(
                    m: m, a: a.baseAddress!, lda: k, alpha: alpha, adding: addend,
                    into: y.baseAddress!, then: activation)
                }
              }
            }
            expectClose(
              try Tensor(shape: [m, n], scalars: y),
              try Tensor(shape: [m, n], scalars: expected), tolerance,
              "\(m)x\(k) · \(k)x\(n)\(transposed ? " (B transposed)" : "") + \(addend), "
                + "\(String(cString: gc_isa_name())), "
                + "\(threadCount) threads")
          }
        }
      }
    }
  }
}
