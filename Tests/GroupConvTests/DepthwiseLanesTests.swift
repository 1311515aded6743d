import CKernels
import Kernels
import Tensors
import TestSupport
import Testing

/// The channel-lane depthwise kernel against the reference loops: channel counts around its
/// 16 lanes, rows around its 8-position segments, the largest plane it takes, strides,
/// dilation, uneven padding and even kernels, with and without bias and a clamp, for each
/// instruction set and 1 and 2 threads. The output starts as NaN, so an element the kernel
/// fails to write fails the comparison.
extension KernelSettingsSuites {
  @Suite(.serialized) struct DepthwiseLanesTests {
    typealias Case = GemmKernelTests.Case

    static let cases: [Case] = [
      Case([1, 20, 7, 7], [20, 1, 3, 3], .init(padding: 1, groups: 20)),
      Case([2, 37, 5, 6], [37, 1, 5, 5], bias: false, .init(padding: 2, groups: 37)),
      Case([1, 16, 9, 11], [16, 1, 5, 5], .init(stride: 2, padding: [2, 1, 1, 2], groups: 16)),
      Case([1, 33, 13, 13], [33, 1, 3, 3], .init(padding: 2, dilation: 2, groups: 33)),
      Case([1, 5, 4, 9], [5, 1, 2, 4], bias: false, .init(groups: 5)),
      Case([1, 48, 16, 16], [48, 1, 5, 5], .init(stride: 2, padding: 2, groups: 48)),
      Case([1, 15, 1, 17], [15, 1, 1, 7], .init(padding: [0, 3], groups: 15)),
    ]

    @Test(arguments: cases, [false, true])
    func matchesReference(_ c: Case, clamped: Bool) throws {
      var (geometry, x, w, b, expected) = try c.problem()
      let bounds: [Float] = [-0.5, 0.75]
      if clamped { expected = expected.map { min(max($0, bounds[0]), bounds[1]) } }
      forEachKernelConfiguration { configuration in
        let kernel = w.withUnsafeBufferPointer {
          DepthwiseLanes(geometry, weight: $0, parallelMultiplyAdds: 0, anyTaps: true)
        }
        guard let kernel else {
          Issue.record("no kernel for \(c.testDescription)")
          return
        }
        var y = [Float](repeating: .nan, count: expected.count)
        kernel.forward(x, bias: c.bias ? b : nil, y: &y, clamp: clamped ? bounds : nil)
        expectClose(
          try! Tensor(shape: geometry.yShape, scalars: y),
          try! Tensor(shape: geometry.yShape, scalars: expected), .float32,
          "\(c.testDescription) clamped \(clamped), \(configuration)")
      }
    }

    /// The lanes take 5×5 and larger filters of small planes (3×3 too with AVX2), and leave
    /// the rest.
    @Test func takesLargeFiltersOfSmallPlanes() throws {
      func taken(_ input: [Int], _ kernel: Int, groups: Int, multiplier: Int = 1) throws -> Bool {
        let weight = [input[1] * multiplier, input[1] / groups, kernel, kernel]
        let geometry = try ConvolutionGeometry(
          inputShape: input, weightShape: weight, biasShape: nil,
          options: .init(padding: .explicit([kernel / 2]), groups: groups))
        let w = [Float](repeating: 1, count: weight.reduce(1, *))
        return w.withUnsafeBufferPointer { DepthwiseLanes(geometry, weight: $0) } != nil
      }
      #expect(try taken([1, 64, 7, 7], 5, groups: 64))
      #expect(try taken([1, 64, 16, 16], 7, groups: 64))
      // 3×3: with AVX2 only (the instruction set steady meanwhile).
      lockKernelSettings()
      defer { unlockKernelSettings() }
      #expect(try taken([1, 64, 7, 7], 3, groups: 64) == Machine.usesAVX2)
      #expect(try !taken([1, 64, 17, 16], 5, groups: 64))  // a larger plane
      #expect(try !taken([1, 64, 7, 7], 5, groups: 32))  // grouped, not depthwise
      #expect(try !taken([1, 64, 7, 7], 5, groups: 64, multiplier: 2))  // a multiplier
    }
  }
}
