import CKernels
import Kernels
import Tensors
import TestSupport
import Testing

/// The flat-plane depthwise kernel against the reference loops: planes of 1 to 25 vectors
/// (one and two blocks of accumulators, the second of 4 or 9), channel counts that leave a
/// remainder after the channels computed together, a multiplier, dilation, uneven padding
/// that keeps the width, 1-D, and a batch; plain, and adding to a residual with a clamp and
/// SiLU; for both instruction sets and 1 and 2 threads. The output starts as NaN, so an
/// element the kernel fails to write fails the comparison.
extension KernelSettingsSuites {
  @Suite(.serialized) struct DepthwisePlaneTests {
    typealias Case = GemmKernelTests.Case

    static let cases: [Case] = [
      Case([1, 37, 7, 7], [37, 1, 3, 3], .init(padding: 1, groups: 37)),  // 4 vectors
      Case([1, 9, 3, 4], [9, 1, 3, 3], bias: false, .init(padding: 1, groups: 9)),  // 1 vector
      Case([1, 6, 5, 5], [6, 1, 3, 3], .init(padding: 1, groups: 6)),  // 2 vectors, 4 + 1 + 1
      Case([1, 5, 6, 6], [10, 1, 3, 3], .init(padding: 1, groups: 5)),  // multiplier 2
      Case([1, 6, 9, 9], [6, 1, 3, 3], .init(padding: 2, dilation: 2, groups: 6)),
      Case([1, 7, 8, 5], [7, 1, 3, 3], .init(padding: [2, 0, 1, 2], groups: 7)),  // height 9
      Case([1, 3, 20, 20], [3, 1, 3, 3], .init(padding: 1, groups: 3)),  // 25 vectors
      Case([1, 2, 17, 18], [2, 1, 3, 3], .init(padding: 1, groups: 2)),  // 20 vectors: 16 + 4
      Case([2, 11, 14, 14], [11, 1, 5, 5], .init(padding: 2, groups: 11)),
      Case([2, 6, 30], [6, 1, 5], bias: false, .init(padding: 2, groups: 6)),  // 1-D
      Case([1, 4, 5, 1], [4, 1, 3, 1], .init(padding: [1, 0], groups: 4)),  // width 1
    ]

    @Test(arguments: cases)
    func matchesReference(_ c: Case) throws {
      try expectFusingKernelMatchesReference(c) {
        DepthwisePlane($0, weight: $1, parallelMultiplyAdds: 0)
      }
    }

    /// The kernel takes stride-1 depthwise convolutions whose rows keep their width, and
    /// is preferred for small filters of small planes on AVX-512.
    @Test func takesStrideOneDepthwiseOfEqualWidths() throws {
      func geometry(_ input: [Int], _ kernel: Int, groups: Int, stride: Int = 1, pad: Int? = nil)
        throws -> ConvolutionGeometry
      {
        try ConvolutionGeometry(
          inputShape: input, weightShape: [input[1], input[1] / groups, kernel, kernel],
          biasShape: nil,
          options: .init(stride: PerDimension([stride, stride]), padding: .explicit([pad ?? kernel / 2]), groups: groups))
      }
      func taken(_ g: ConvolutionGeometry) -> Bool {
        let w = [Float](repeating: 1, count: g.weightShape.reduce(1, *))
        return w.withUnsafeBufferPointer { DepthwisePlane(g, weight: $0) } != nil
      }
      #expect(try taken(geometry([1, 64, 7, 7], 3, groups: 64)))
      #expect(try taken(geometry([1, 64, 56, 56], 7, groups: 64)))
      #expect(try !taken(geometry([1, 64, 7, 7], 3, groups: 64, stride: 2)))
      #expect(try !taken(geometry([1, 64, 7, 7], 3, groups: 64, pad: 0)))  // narrower rows
      #expect(try !taken(geometry([1, 64, 7, 7], 3, groups: 32)))  // grouped, not depthwise
      lockKernelSettings()
      defer {
        gc_use_generic_kernels(0)
        unlockKernelSettings()
      }
      gc_use_generic_kernels(0)
      if gc_has_avx512() != 0 {
        #expect(try DepthwisePlane.prefers(geometry([1, 960, 7, 7], 3, groups: 960)))
        #expect(try DepthwisePlane.prefers(geometry([1, 480, 14, 14], 5, groups: 480)))
        #expect(try !DepthwisePlane.prefers(geometry([1, 144, 56, 56], 3, groups: 144)))
        #expect(try !DepthwisePlane.prefers(geometry([1, 768, 7, 7], 7, groups: 768)))
        #expect(try !DepthwisePlane.prefers(geometry([1, 1152, 7, 7], 5, groups: 1152)))
      }
      gc_use_generic_kernels(1)
      #expect(try !DepthwisePlane.prefers(geometry([1, 960, 7, 7], 3, groups: 960)))
    }
  }
}
