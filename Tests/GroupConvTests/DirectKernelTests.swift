import CKernels
import GroupConv
import Kernels
import Tensors
import TestSupport
import Testing

/// The direct (depthwise and small-group) forward kernel against the reference loops, over
/// odd shapes around the vector width (16) and the tile sizes, for the AVX-512 and the
/// baseline kernels, on one and two threads, with one band of rows per work item and with
/// many. The instruction set and the threads are chosen per kernel, not through the globals
/// (`gc_use_generic_kernels`, `Threads.count`) that suites running alongside also read.
@Suite(.serialized) struct DirectKernelTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var input: [Int]
    var weight: [Int]
    var options: ConvolutionOptions
    var bias = true
    var testDescription: String {
      "x \(input) w \(weight) \(options)\(bias ? "" : " no bias")"
    }
  }

  static func depthwise(
    _ input: [Int], multiplier: Int = 1, kernel: [Int], _ options: ConvolutionOptions = .init(),
    bias: Bool = true
  ) -> Case {
    var options = options
    options.groups = input[1]
    return Case(
      input: input, weight: [input[1] * multiplier, 1] + kernel, options: options, bias: bias)
  }

  static func dense(
    _ input: [Int], outputs: Int, kernel: [Int], _ options: ConvolutionOptions = .init(),
    bias: Bool = true
  ) -> Case {
    Case(input: input, weight: [outputs, input[1]] + kernel, options: options, bias: bias)
  }

  static func grouped(
    _ input: [Int], groups: Int, outputsPerGroup: Int, kernel: [Int],
    _ options: ConvolutionOptions = .init(), bias: Bool = true
  ) -> Case {
    var options = options
    options.groups = groups
    return Case(
      input: input, weight: [groups * outputsPerGroup, input[1] / groups] + kernel,
      options: options, bias: bias)
  }

  /// Widths around one and two vectors, heights around the tile rows, 3 × 3, strides 1 and 2.
  static let sweep: [Case] = {
    var cases: [Case] = []
    for width in [1, 15, 16, 17, 31, 33] {
      for height in [1, 2, 3, 5, 9] {
        for stride in [1, 2] {
          let options = ConvolutionOptions(stride: PerDimension([stride]), padding: 1)
          let bias = (width + height) % 2 == 0
          cases.append(depthwise([1, 3, height, width], kernel: [3, 3], options, bias: bias))
        }
      }
    }
    return cases
  }()

  static let depthwiseCases: [Case] = [
    depthwise([1, 1, 4, 5], kernel: [3, 3], .init(padding: 1)),
    depthwise([2, 5, 7, 18], kernel: [3, 3], .init(padding: 1), bias: false),
    depthwise([1, 17, 6, 20], kernel: [3, 3], .init(padding: 1)),
    depthwise([1, 3, 9, 17], multiplier: 2, kernel: [3, 3], .init(padding: 1)),
    depthwise([1, 5, 8, 20], multiplier: 3, kernel: [3, 3], .init(padding: 1), bias: false),
    depthwise([1, 2, 7, 50], multiplier: 2, kernel: [3, 3], .init(stride: 2, padding: 1)),
    depthwise([1, 2, 11, 70], kernel: [3, 3], .init(padding: 1)),  // 5 vectors: 2 tiles of 3
    depthwise([1, 2, 10, 64], kernel: [3, 3], .init(stride: 2, padding: 1)),
    depthwise([1, 3, 9, 23], kernel: [5, 5], .init(padding: 2)),
    depthwise([1, 3, 12, 40], kernel: [5, 5], .init(stride: 2, padding: 2), bias: false),
    depthwise([1, 2, 10, 36], multiplier: 2, kernel: [5, 5], .init(padding: 2)),
    depthwise([1, 3, 8, 19], kernel: [7, 7], .init(padding: 3)),
    depthwise([1, 2, 13, 60], kernel: [7, 7], .init(padding: 3)),
    depthwise([2, 2, 9, 33], kernel: [7, 7], .init(stride: 2, padding: 3)),
    depthwise([1, 2, 6, 9], multiplier: 2, kernel: [7, 7], .init(padding: 3), bias: false),
    depthwise([1, 4, 5, 17], kernel: [1, 1]),
    depthwise([1, 3, 5, 16], kernel: [1, 1], .init(stride: 2)),
    depthwise([1, 3, 6, 15], kernel: [2, 2], .init(padding: 1)),
    depthwise([1, 3, 7, 21], kernel: [3, 5], .init(padding: [1, 2])),
    depthwise([1, 3, 9, 12], kernel: [1, 7], .init(padding: [0, 3])),
    depthwise([1, 3, 10, 12], kernel: [7, 1], .init(padding: [3, 0])),
    depthwise([1, 3, 11, 31], kernel: [3, 3], .init(stride: 3, padding: 1)),
    depthwise([1, 3, 9, 31], kernel: [3, 3], .init(stride: [2, 1], padding: 1)),
    depthwise([1, 3, 9, 31], kernel: [3, 3], .init(stride: [1, 3], padding: 1)),
    depthwise([1, 3, 9, 20], kernel: [3, 3], .init(padding: 2, dilation: 2)),
    depthwise([1, 2, 11, 19], kernel: [3, 3], .init(padding: [2, 1], dilation: [2, 1])),
    depthwise([1, 2, 8, 17], kernel: [3, 3], .init(stride: 2, padding: 2, dilation: 2)),
    depthwise([1, 3, 6, 17], kernel: [3, 3]),  // no padding
    depthwise([1, 3, 6, 17], kernel: [3, 3], .init(padding: [0, 2, 1, 0])),  // asymmetric
    depthwise([1, 3, 5, 18], kernel: [3, 3], .init(padding: 4)),  // wider than the kernel
    depthwise([1, 2, 5, 18], kernel: [3, 3], .init(stride: 2, padding: 5)),
    // Short rows, wide padding: a row's first vector also reaches past the row's end.
    depthwise([1, 2, 5, 25], kernel: [3, 3], .init(stride: 2, padding: 5)),
    depthwise([1, 2, 4, 3], kernel: [3, 3], .init(padding: 8)),
    depthwise([1, 2, 3, 3], kernel: [3, 3], .init(padding: .same)),
    depthwise([1, 2, 7, 7], kernel: [3, 3], .init(padding: 1)),  // narrow rows, tall tiles
    depthwise([2, 3, 1, 40], kernel: [1, 5], .init(padding: [0, 2])),  // a single row
  ]

  static let groupedCases: [Case] = [
    grouped([1, 4, 7, 19], groups: 2, outputsPerGroup: 2, kernel: [3, 3], .init(padding: 1)),
    grouped([1, 6, 6, 17], groups: 2, outputsPerGroup: 3, kernel: [3, 3], .init(padding: 1)),
    grouped([2, 8, 9, 33], groups: 2, outputsPerGroup: 4, kernel: [3, 3], .init(padding: 1)),
    grouped(
      [1, 16, 5, 18], groups: 2, outputsPerGroup: 8, kernel: [3, 3], .init(padding: 1),
      bias: false),
    grouped([1, 8, 6, 17], groups: 2, outputsPerGroup: 6, kernel: [3, 3], .init(padding: 1)),
    grouped([1, 4, 5, 16], groups: 2, outputsPerGroup: 5, kernel: [3, 3], .init(padding: 1)),
    grouped([1, 12, 9, 31], groups: 3, outputsPerGroup: 4, kernel: [3, 3], .init(stride: 2)),
    grouped([1, 8, 8, 40], groups: 2, outputsPerGroup: 4, kernel: [5, 5], .init(padding: 2)),
    grouped([1, 6, 6, 15], groups: 3, outputsPerGroup: 2, kernel: [7, 7], .init(padding: 3)),
    grouped([1, 6, 7, 17], groups: 2, outputsPerGroup: 3, kernel: [1, 1], bias: false),
    grouped([1, 8, 9, 20], groups: 4, outputsPerGroup: 2, kernel: [2, 3], .init(padding: [1, 0])),
    grouped(
      [1, 8, 12, 20], groups: 2, outputsPerGroup: 4, kernel: [3, 3],
      .init(stride: 3, padding: 2, dilation: 2)),
    grouped([1, 6, 8, 9], groups: 2, outputsPerGroup: 4, kernel: [3, 3], .init(padding: 1)),
    grouped(
      [1, 4, 5, 16], groups: 2, outputsPerGroup: 2, kernel: [3, 3],
      .init(padding: [2, 0, 0, 3])),
  ]

  /// Dense convolutions with few multiply-adds per output: networks' stems, and 1×1
  /// expansions.
  static let denseCases: [Case] = [
    dense([1, 16, 16, 37], outputs: 11, kernel: [1, 1]),
    dense([2, 24, 16, 17], outputs: 3, kernel: [1, 1], bias: false),
    dense([1, 12, 17, 33], outputs: 5, kernel: [1, 2], .init(stride: [1, 2])),
    dense([1, 3, 33, 35], outputs: 8, kernel: [3, 3], .init(stride: 2, padding: 1)),
    dense([2, 3, 64, 65], outputs: 5, kernel: [4, 4], .init(stride: 4), bias: false),
    dense([1, 3, 34, 40], outputs: 7, kernel: [5, 5], .init(stride: 2, padding: 2)),
    dense([1, 8, 16, 19], outputs: 4, kernel: [3, 3], .init(padding: 1)),
    dense([1, 2, 17, 20], outputs: 6, kernel: [3, 3], .init(padding: 2, dilation: 2)),
    dense([1, 4, 16, 17], outputs: 9, kernel: [1, 1]),
    dense([1, 3, 600], outputs: 5, kernel: [5], .init(stride: 2, padding: 2)),
    dense([1, 2, 4, 5, 18], outputs: 3, kernel: [3, 3, 3], .init(padding: 1)),
  ]

  static let otherRankCases: [Case] = [
    depthwise([2, 4, 37], kernel: [5], .init(stride: 2, padding: 2)),
    depthwise([1, 3, 17], multiplier: 2, kernel: [7], .init(padding: 3), bias: false),
    depthwise([1, 2, 1], kernel: [1]),
    grouped([1, 6, 40], groups: 3, outputsPerGroup: 2, kernel: [3], .init(padding: 1, dilation: 2)),
    grouped([1, 8, 33], groups: 2, outputsPerGroup: 4, kernel: [3], .init(stride: 3)),
    depthwise([1, 4, 4, 5, 18], kernel: [3, 3, 3], .init(padding: 1)),
    depthwise([1, 2, 5, 5, 17], multiplier: 2, kernel: [3, 3, 3], .init(stride: 2, padding: 1)),
    grouped(
      [2, 6, 3, 6, 9], groups: 3, outputsPerGroup: 2, kernel: [2, 3, 3],
      .init(stride: [1, 2, 2], padding: [0, 1, 1])),
    grouped(
      [1, 4, 4, 4, 16], groups: 2, outputsPerGroup: 2, kernel: [1, 3, 3],
      .init(padding: [0, 1, 1], dilation: [2, 1, 1]), bias: false),
  ]

  /// Runs the direct kernel made for `c` and compares it with the reference loops, for each
  /// instruction set, thread count and band size, and with its stores streamed past the
  /// caches (into a 64-byte-aligned output, so that the streaming stores run).
  func check(_ c: Case) throws {
    let geometry = try ConvolutionGeometry(
      inputShape: c.input, weightShape: c.weight, biasShape: c.bias ? [c.weight[0]] : nil,
      options: c.options)
    let x = try Tensor.random(shape: geometry.xShape, seed: 1)
    let w = try Tensor.random(shape: geometry.weightShape, seed: 2)
    let b = try Tensor.random(shape: [geometry.yChannels], seed: 3)
    var expected = Reference.correlate(x: x.scalars, w: w.scalars, geometry)
    if c.bias {
      Reference.addBias(
        b.scalars, to: &expected, channels: geometry.yChannels,
        plane: geometry.ySize.reduce(1, *))
    }
    let expectedTensor = try Tensor(shape: geometry.yShape, scalars: expected)

    // Per-kernel options rather than gc_use_generic_kernels and Threads.count: those are
    // globals, which other suites running at the same time switch.
    for isa in instructionSets {
      var first: Tensor?
      let configurations = [
        (1, 6 * 1024, false), (2, 6 * 1024, false), (2, 64, false), (2, 6 * 1024, true),
      ]
      for (threads, budget, streams) in configurations {
        var options = DirectConvolution.Options()
        options.isa = Int(GC_DIRECT_ISA_GENERIC) + Int(isa)
        options.threads = threads
        options.parallelWorkThreshold = 0
        options.stagingBudget = budget
        options.streamingBytes = streams ? 0 : nil
        let kernel = try #require(
          w.withUnsafeBufferPointer { DirectConvolution(geometry, weight: $0, options: options) },
          "the direct kernel takes \(c.testDescription)")
        let count = geometry.yShape.reduce(1, *)
        let output = AlignedBuffer(count: count)
        output.pointer.update(repeating: .nan, count: count)
        x.withUnsafeBufferPointer { x in
          b.withUnsafeBufferPointer { b in
            kernel.forward(
              x: x.baseAddress!, bias: c.bias ? b.baseAddress! : nil, y: output.pointer)
          }
        }
        let scalars = Array(UnsafeBufferPointer(start: output.pointer, count: count))
        let y = try Tensor(shape: geometry.yShape, scalars: scalars)
        expectClose(
          y, expectedTensor, .float32,
          "\(c.testDescription) \(String(cString: gc_isa_name_of(isa))) threads \(threads) "
            + "staging \(budget)\(streams ? " streamed" : "")")
        // Each output is summed in the same order whatever the threads and bands.
        if let first {
          #expect(y == first, "\(c.testDescription): threads and bands change the bits")
        }
        first = first ?? y
      }
    }
  }

  @Test(arguments: sweep) func depthwiseSweepMatchesReference(_ c: Case) throws { try check(c) }

  @Test(arguments: depthwiseCases) func depthwiseMatchesReference(_ c: Case) throws {
    try check(c)
  }

  @Test(arguments: groupedCases) func smallGroupsMatchReference(_ c: Case) throws {
    try check(c)
  }

  @Test(arguments: denseCases) func denseStemsMatchReference(_ c: Case) throws {
    try check(c)
  }

  @Test(arguments: otherRankCases) func oneAndThreeDimensionsMatchReference(_ c: Case) throws {
    try check(c)
  }

  @Test func longDenseFiltersAndWideGroupsAreLeftToOtherKernels() throws {
    let cases: [([Int], [Int], Int)] = [
      ([1, 3, 22, 22], [8, 3, 7, 7], 1),  // dense, 147 multiply-adds per output
      ([1, 9, 16, 16], [8, 9, 3, 3], 1),  // dense, 9 input channels, 81 multiply-adds
      ([1, 25, 16, 16], [8, 25, 1, 1], 1),  // dense 1×1, 25 input channels
      ([1, 3, 8, 8], [8, 3, 3, 3], 1),  // a dense 3×3 on an 8×8 plane
      ([1, 18, 8, 8], [18, 9, 3, 3], 2),  // 9 input channels per group
    ]
    for (input, weight, groups) in cases {
      let geometry = try ConvolutionGeometry(
        inputShape: input, weightShape: weight, biasShape: nil,
        options: .init(padding: 1, groups: groups))
      let w = try Tensor.random(shape: weight, seed: 4)
      #expect(w.withUnsafeBufferPointer { DirectConvolution(geometry, weight: $0) } == nil)
    }
  }

  @Test func wideStridesAreLeftToOtherKernels() throws {
    // Staging splits rows into stride phases: a stride of 10^8 asked for 83 GB of scratch.
    for stride in [[1, 9], [9, 1], [1, 100_000_000], [100_000_000, 2]] {
      let geometry = try ConvolutionGeometry(
        inputShape: [1, 4, 6, 5], weightShape: [4, 2, 3, 3], biasShape: nil,
        options: .init(stride: .init(stride), groups: 2))
      let w = try Tensor.random(shape: [4, 2, 3, 3], seed: 4)
      #expect(w.withUnsafeBufferPointer { DirectConvolution(geometry, weight: $0) } == nil)
    }
    let conv = try Conv2d(
      inChannels: 4, outChannels: 4, kernelSize: 3, stride: [1, 100_000_000], groups: 2, seed: 5)
    let x = try Tensor.random(shape: [1, 4, 6, 5], seed: 6)
    let geometry = try ConvolutionGeometry(
      inputShape: x.shape, weightShape: conv.weight.shape, biasShape: [4],
      options: .init(stride: [1, 100_000_000], groups: 2))
    var expected = Reference.correlate(x: x.scalars, w: conv.weight.scalars, geometry)
    Reference.addBias(conv.bias!.scalars, to: &expected, channels: 4, plane: 4)
    expectClose(try conv(x), try Tensor(shape: [1, 4, 4, 1], scalars: expected))
  }

  @Test func aLayerUsesTheDirectKernel() throws {
    let conv = try Conv2d(
      inChannels: 8, outChannels: 16, kernelSize: 3, padding: 1, groups: 4, seed: 5)
    let x = try Tensor.random(shape: [1, 8, 6, 21], seed: 6)
    let geometry = try ConvolutionGeometry(
      inputShape: x.shape, weightShape: conv.weight.shape, biasShape: [16],
      options: .init(padding: 1, groups: 4))
    var expected = Reference.correlate(x: x.scalars, w: conv.weight.scalars, geometry)
    Reference.addBias(conv.bias!.scalars, to: &expected, channels: 16, plane: 6 * 21)
    expectClose(try conv(x), try Tensor(shape: [1, 16, 6, 21], scalars: expected))
  }
}
