import GroupConv
import TestSupport
import Testing

/// A random small convolution drawn from a seed: channels, kernel, stride, dilation, padding
/// (and output padding when transposed) and input size, all legal for `paddingMode`.
///
/// Channels: the input has `groups * inPerGroup`, the output `groups * outPerGroup`.
struct GroupDraw: CustomStringConvertible, CustomTestStringConvertible, Sendable {
  let seed: UInt64
  let spatialRank: Int
  let transposed: Bool
  let paddingMode: PaddingMode
  let batch: Int
  let groups: Int
  let inPerGroup: Int
  let outPerGroup: Int
  let size: [Int]
  let kernel: [Int]
  let stride: [Int]
  let dilation: [Int]
  let padBegin: [Int]
  let padEnd: [Int]
  let outputPadding: [Int]

  /// - Parameter pointwise: a 1×1 kernel, stride 1, no padding.
  init(
    seed: UInt64, spatialRank: Int, groups: ClosedRange<Int> = 1...4,
    inPerGroup: ClosedRange<Int> = 1...2, outPerGroup: ClosedRange<Int> = 1...3,
    pointwise: Bool = false, transposed: Bool = false, paddingMode: PaddingMode = .zeros
  ) {
    var generator = SeededGenerator(seed: seed)
    func draw(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
    let small = spatialRank == 3  // 3-D convolutions cost the cube of everything
    self.seed = seed
    self.spatialRank = spatialRank
    self.transposed = transposed
    self.paddingMode = paddingMode
    batch = draw(1...2)
    self.groups = draw(groups)
    self.inPerGroup = draw(inPerGroup)
    self.outPerGroup = draw(outPerGroup)
    var (size, kernel, stride, dilation) = ([Int](), [Int](), [Int](), [Int]())
    var (padBegin, padEnd, outputPadding) = ([Int](), [Int](), [Int]())
    for _ in 0..<spatialRank {
      let k = pointwise ? 1 : draw(1...(small ? 2 : 3))
      let s = pointwise ? 1 : draw(1...2)
      let d = pointwise || k == 1 ? 1 : draw(1...2)
      let dilatedKernel = d * (k - 1) + 1
      let n = dilatedKernel + draw(0...(small ? 1 : 3))
      var (begin, end) = pointwise ? (0, 0) : (draw(0...2), draw(0...2))
      switch paddingMode {
      case .reflect: (begin, end) = (min(begin, n - 1), min(end, n - 1))
      case .circular: (begin, end) = (min(begin, n), min(end, n))
      case .zeros, .replicate: break
      }
      if transposed {
        // Cropping at most the dilated kernel's extra keeps the output non-empty.
        begin = draw(0...(dilatedKernel - 1))
        end = draw(0...(dilatedKernel - 1 - begin))
      }
      size.append(n)
      kernel.append(k)
      stride.append(s)
      dilation.append(d)
      padBegin.append(begin)
      padEnd.append(end)
      outputPadding.append(transposed ? draw(0...(max(s, d) - 1)) : 0)
    }
    (self.size, self.kernel, self.stride, self.dilation) = (size, kernel, stride, dilation)
    (self.padBegin, self.padEnd, self.outputPadding) = (padBegin, padEnd, outputPadding)
  }

  var inChannels: Int { groups * inPerGroup }
  var outChannels: Int { groups * outPerGroup }
  var inputShape: [Int] { [batch, inChannels] + size }
  var weightShape: [Int] {
    transposed ? [inChannels, outPerGroup] + kernel : [outChannels, inPerGroup] + kernel
  }

  /// The draw's options, with `groups` (the draw's by default).
  func options(groups: Int? = nil) -> ConvolutionOptions {
    ConvolutionOptions(
      stride: PerDimension(stride), padding: .explicit(padBegin + padEnd),
      dilation: PerDimension(dilation), groups: groups ?? self.groups,
      paddingMode: paddingMode, transposed: transposed,
      outputPadding: PerDimension(transposed ? outputPadding : [0]))
  }

  /// x, w and b drawn uniformly from [-1, 1].
  func tensors() throws -> (x: Tensor, w: Tensor, b: Tensor) {
    (
      try Tensor.random(shape: inputShape, seed: seed &+ 1),
      try Tensor.random(shape: weightShape, seed: seed &+ 2),
      try Tensor.random(shape: [outChannels], seed: seed &+ 3)
    )
  }

  var testDescription: String { description }
  var description: String {
    "seed \(seed): \(spatialRank)-D\(transposed ? " transposed" : ""), x \(inputShape), "
      + "w \(weightShape), groups \(groups), stride \(stride), dilation \(dilation), "
      + "padding \(padBegin) \(padEnd) \(paddingMode.rawValue)"
      + (transposed ? ", output padding \(outputPadding)" : "")
  }

  /// Seeds `first...` spread over 1-D, 2-D and 3-D.
  static func spread(
    _ count: Int, from first: UInt64, transposed: Bool = false,
    groups: ClosedRange<Int> = 1...4, inPerGroup: ClosedRange<Int> = 1...2,
    outPerGroup: ClosedRange<Int> = 1...3, pointwise: Bool = false
  ) -> [GroupDraw] {
    (0..<UInt64(count)).map { i in
      GroupDraw(
        seed: first + i, spatialRank: Int(i % 3) + 1, groups: groups, inPerGroup: inPerGroup,
        outPerGroup: outPerGroup, pointwise: pointwise, transposed: transposed)
    }
  }
}

/// The plain constructions the group properties compare against.
enum GroupOracle {
  /// The elements of `t` whose index along `axis` lies in `range`.
  static func slice(_ t: Tensor, axis: Int, _ range: Range<Int>) throws -> Tensor {
    let outer = t.shape[..<axis].reduce(1, *)
    let inner = t.shape[(axis + 1)...].reduce(1, *)
    var scalars: [Float] = []
    for o in 0..<outer {
      let start = (o * t.shape[axis] + range.lowerBound) * inner
      scalars += t.scalars[start..<start + range.count * inner]
    }
    var shape = t.shape
    shape[axis] = range.count
    return try Tensor(shape: shape, scalars: scalars)
  }

  /// `parts` side by side along `axis`; they agree on every other dimension.
  static func concatenate(_ parts: [Tensor], axis: Int) throws -> Tensor {
    let outer = parts[0].shape[..<axis].reduce(1, *)
    var scalars: [Float] = []
    for o in 0..<outer {
      for part in parts {
        let block = part.shape[axis...].reduce(1, *)
        scalars += part.scalars[o * block..<(o + 1) * block]
      }
    }
    var shape = parts[0].shape
    shape[axis] = parts.map { $0.shape[axis] }.reduce(0, +)
    return try Tensor(shape: shape, scalars: scalars)
  }

  /// The dense weight of a grouped one, `[rows, columns, k...]` to
  /// `[rows, columns * groups, k...]`: row r's columns in its group's block, zeros elsewhere.
  /// Serves both a convolution's `[C_out, C_in/g, k...]` and a transposed one's
  /// `[C_in, C_out/g, k...]`.
  static func blockDiagonal(_ w: Tensor, groups: Int) throws -> Tensor {
    let (rows, columns) = (w.shape[0], w.shape[1])
    let taps = w.shape[2...].reduce(1, *)
    let rowsPerGroup = rows / groups
    var dense = [Float](repeating: 0, count: rows * columns * groups * taps)
    for r in 0..<rows {
      let group = r / rowsPerGroup
      for c in 0..<columns {
        for t in 0..<taps {
          dense[(r * columns * groups + group * columns + c) * taps + t] =
            w.scalars[(r * columns + c) * taps + t]
        }
      }
    }
    return try Tensor(shape: [rows, columns * groups] + w.shape[2...], scalars: dense)
  }

  /// The dense weight of a depthwise convolution D `[C·m, 1, k...]` followed by a pointwise one
  /// P `[O, C·m, 1...]`: `W[o, i, k] = sum over j < m of P[o, i·m + j] * D[i·m + j, 0, k]`.
  static func separableWeight(depthwise d: Tensor, pointwise p: Tensor, multiplier m: Int)
    throws -> Tensor
  {
    let (outChannels, hidden) = (p.shape[0], p.shape[1])
    let channels = hidden / m
    let taps = d.shape[2...].reduce(1, *)
    var w = [Float](repeating: 0, count: outChannels * channels * taps)
    for o in 0..<outChannels {
      for i in 0..<channels {
        for t in 0..<taps {
          var sum = 0.0
          for j in 0..<m {
            let h = i * m + j  // the hidden channel
            sum += Double(p.scalars[o * hidden + h]) * Double(d.scalars[h * taps + t])
          }
          w[(o * channels + i) * taps + t] = Float(sum)
        }
      }
    }
    return try Tensor(shape: [outChannels, channels] + d.shape[2...], scalars: w)
  }

  /// The bias of that dense convolution: `P · b_depthwise + b_pointwise`.
  static func separableBias(
    depthwiseBias bd: Tensor, pointwise p: Tensor, pointwiseBias bp: Tensor
  ) throws -> Tensor {
    let (outChannels, hidden) = (p.shape[0], p.shape[1])
    let b = (0..<outChannels).map { o in
      Float(
        (0..<hidden).reduce(Double(bp.scalars[o])) {
          $0 + Double(p.scalars[o * hidden + $1]) * Double(bd.scalars[$1])
        })
    }
    return try Tensor(shape: [outChannels], scalars: b)
  }

  /// `<a, b>`, accumulated in Double, and the sum of `|a_i b_i|` (its scale).
  static func innerProduct(_ a: Tensor, _ b: Tensor) -> (value: Double, scale: Double) {
    precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
    var (value, scale) = (0.0, 0.0)
    for (u, v) in zip(a.scalars, b.scalars) {
      value += Double(u) * Double(v)
      scale += abs(Double(u) * Double(v))
    }
    return (value, scale)
  }

  /// The draw's convolution through the named functional form (`conv2d`,
  /// `convTranspose3d`, ...), with `groups`.
  static func functional(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ d: GroupDraw, groups: Int)
    throws(ConvolutionError) -> Tensor
  {
    let (stride, dilation) = (PerDimension(d.stride), PerDimension(d.dilation))
    let padding = Padding.explicit(d.padBegin + d.padEnd)
    let outputPadding = PerDimension(d.outputPadding)
    let mode = d.paddingMode
    switch (d.spatialRank, d.transposed) {
    case (1, false):
      return try conv1d(
        x, w, b, stride: stride, padding: padding, dilation: dilation, groups: groups,
        paddingMode: mode)
    case (2, false):
      return try conv2d(
        x, w, b, stride: stride, padding: padding, dilation: dilation, groups: groups,
        paddingMode: mode)
    case (_, false):
      return try conv3d(
        x, w, b, stride: stride, padding: padding, dilation: dilation, groups: groups,
        paddingMode: mode)
    case (1, true):
      return try convTranspose1d(
        x, w, b, stride: stride, padding: padding, outputPadding: outputPadding,
        groups: groups, dilation: dilation)
    case (2, true):
      return try convTranspose2d(
        x, w, b, stride: stride, padding: padding, outputPadding: outputPadding,
        groups: groups, dilation: dilation)
    case (_, true):
      return try convTranspose3d(
        x, w, b, stride: stride, padding: padding, outputPadding: outputPadding,
        groups: groups, dilation: dilation)
    }
  }

  /// The draw's grouped convolution computed as `groups` separate convolutions (input
  /// channels, weight rows and bias split per group), concatenated along the channels.
  static func separateGroups(_ x: Tensor, _ w: Tensor, _ b: Tensor, _ d: GroupDraw) throws
    -> Tensor
  {
    let parts = try (0..<d.groups).map { g in
      let inputs = g * d.inPerGroup..<(g + 1) * d.inPerGroup
      let outputs = g * d.outPerGroup..<(g + 1) * d.outPerGroup
      // A weight's rows are output channels, or input channels when transposed.
      return try functional(
        slice(x, axis: 1, inputs), slice(w, axis: 0, d.transposed ? inputs : outputs),
        slice(b, axis: 0, outputs), d, groups: 1)
    }
    return try concatenate(parts, axis: 1)
  }
}

@Suite struct GroupPropertyTests {
  static let twoGroups =
    GroupDraw.spread(6, from: 1000, groups: 2...2)
    + GroupDraw.spread(3, from: 1010, transposed: true, groups: 2...2)

  @Test(arguments: twoGroups)
  func twoGroupsAreTwoConvolutionsOnTheHalves(_ d: GroupDraw) throws {
    let (x, w, b) = try d.tensors()
    let grouped = try convolution(x, weight: w, bias: b, options: d.options())
    let (halfIn, halfOut) = (d.inChannels / 2, d.outChannels / 2)
    let halves = try [0..<halfIn, halfIn..<d.inChannels].enumerated().map { half, inputs in
      let outputs = half == 0 ? 0..<halfOut : halfOut..<d.outChannels
      return try convolution(
        GroupOracle.slice(x, axis: 1, inputs),
        weight: GroupOracle.slice(w, axis: 0, d.transposed ? inputs : outputs),
        bias: GroupOracle.slice(b, axis: 0, outputs), options: d.options(groups: 1))
    }
    expectClose(grouped, try GroupOracle.concatenate(halves, axis: 1), .float32, "\(d)")
  }

  static let anyGroups =
    GroupDraw.spread(6, from: 2000)
    + GroupDraw.spread(3, from: 2010, groups: 3...5, inPerGroup: 1...1, outPerGroup: 2...3)
    + GroupDraw.spread(3, from: 2020, transposed: true)

  @Test(arguments: anyGroups)
  func groupsAreSeparateConvolutionsConcatenated(_ d: GroupDraw) throws {
    let (x, w, b) = try d.tensors()
    expectClose(
      try GroupOracle.functional(x, w, b, d, groups: d.groups),
      try GroupOracle.separateGroups(x, w, b, d), .float32, "\(d)")
  }

  @Test(arguments: GroupDraw.spread(6, from: 3000, pointwise: true))
  func pointwiseIsBlockDiagonalMatrixPerPixel(_ d: GroupDraw) throws {
    let (x, w, b) = try d.tensors()
    let y = try convolution(x, weight: w, bias: b, options: d.options())
    let matrix = try GroupOracle.blockDiagonal(w, groups: d.groups)  // [C_out, C_in, 1...]
    let (inC, outC) = (d.inChannels, d.outChannels)
    let plane = d.size.reduce(1, *)
    var expected = [Float](repeating: 0, count: d.batch * outC * plane)
    for n in 0..<d.batch {
      for o in 0..<outC {
        for p in 0..<plane {
          var sum = Double(b.scalars[o])
          for c in 0..<inC {
            let input = x.scalars[(n * inC + c) * plane + p]
            sum += Double(matrix.scalars[o * inC + c]) * Double(input)
          }
          expected[(n * outC + o) * plane + p] = Float(sum)
        }
      }
    }
    expectClose(y, try Tensor(shape: y.shape, scalars: expected), .float32, "\(d)")
  }

  @Test(
    arguments: GroupDraw.spread(
      3, from: 3100, groups: 2...6, inPerGroup: 1...1, outPerGroup: 1...1, pointwise: true))
  func pointwiseDepthwiseIsDiagonalMatrixPerPixel(_ d: GroupDraw) throws {
    let (x, w, b) = try d.tensors()
    let channels = d.inChannels
    let matrix = try GroupOracle.blockDiagonal(w, groups: d.groups)
    for o in 0..<channels {
      for c in 0..<channels {
        let entry = matrix.scalars[o * channels + c]
        #expect(entry == (o == c ? w.scalars[o] : 0), "\(d): matrix[\(o), \(c)]")
      }
    }
    let plane = d.size.reduce(1, *)
    let expected = x.scalars.indices.map { index in
      let c = (index / plane) % channels
      return Float(Double(b.scalars[c]) + Double(w.scalars[c]) * Double(x.scalars[index]))
    }
    expectClose(
      try convolution(x, weight: w, bias: b, options: d.options()),
      try Tensor(shape: x.shape, scalars: expected), .float32, "\(d)")
  }

  @Test(arguments: PaddingMode.allCases, [UInt64(4000), 4001, 4002, 4003, 4004, 4005])
  func groupedIsDenseWithBlockDiagonalWeight(_ mode: PaddingMode, _ seed: UInt64) throws {
    let d = GroupDraw(seed: seed, spatialRank: Int(seed % 3) + 1, paddingMode: mode)
    let (x, w, b) = try d.tensors()
    let dense = try GroupOracle.blockDiagonal(w, groups: d.groups)
    expectClose(
      try convolution(x, weight: w, bias: b, options: d.options()),
      try convolution(x, weight: dense, bias: b, options: d.options(groups: 1)), .float32, "\(d)")
  }

  @Test(arguments: GroupDraw.spread(6, from: 4100, transposed: true))
  func groupedTransposedIsDenseWithBlockDiagonalWeight(_ d: GroupDraw) throws {
    let (x, w, b) = try d.tensors()
    let dense = try GroupOracle.blockDiagonal(w, groups: d.groups)  // [C_in, C_out, k...]
    #expect(dense.shape == [d.inChannels, d.outChannels] + d.kernel, "\(d)")
    expectClose(
      try GroupOracle.functional(x, w, b, d, groups: d.groups),
      try GroupOracle.functional(x, dense, b, d, groups: 1), .float32, "\(d)")
  }

  // MARK: - Depthwise separable

  /// Depthwise draws: `groups` is the input's channels, `outPerGroup` the multiplier.
  static let separable: [GroupDraw] = (0..<6).map { i in
    GroupDraw(
      seed: 5000 + UInt64(i), spatialRank: i % 3 + 1, groups: 1...3, inPerGroup: 1...1,
      outPerGroup: i < 3 ? 1...1 : 2...3, paddingMode: PaddingMode.allCases[i % 4])
  }

  @Test(arguments: separable)
  func depthwiseThenPointwiseIsOneDenseConvolution(_ d: GroupDraw) throws {
    let (x, depthwise, depthwiseBias) = try d.tensors()
    let hidden = d.outChannels
    let outChannels = Int(d.seed % 3) + 1
    let pointwise = try Tensor.random(
      shape: [outChannels, hidden] + d.kernel.map { _ in 1 }, seed: d.seed &+ 4)
    let pointwiseBias = try Tensor.random(shape: [outChannels], seed: d.seed &+ 5)

    let two = try convolution(
      convolution(x, weight: depthwise, bias: depthwiseBias, options: d.options()),
      weight: pointwise, bias: pointwiseBias)
    let dense = try convolution(
      x,
      weight: GroupOracle.separableWeight(
        depthwise: depthwise, pointwise: pointwise, multiplier: d.outPerGroup),
      bias: GroupOracle.separableBias(
        depthwiseBias: depthwiseBias, pointwise: pointwise, pointwiseBias: pointwiseBias),
      options: d.options(groups: 1))
    expectClose(two, dense, .float32, "\(d), \(outChannels) output channels")
  }

  static let separableLayers: [(seed: UInt64, multiplier: Int, mode: PaddingMode)] = [
    (5100, 1, .zeros), (5101, 1, .reflect), (5102, 2, .zeros), (5103, 3, .circular),
    (5104, 2, .replicate),
  ]

  @Test(arguments: separableLayers)
  func depthwiseSeparableLayerIsOneDenseConvolution(
    seed: UInt64, multiplier: Int, mode: PaddingMode
  ) throws {
    let d = GroupDraw(
      seed: seed, spatialRank: 2, groups: 1...3, inPerGroup: 1...1,
      outPerGroup: multiplier...multiplier, paddingMode: mode)
    let outChannels = Int(seed % 3) + 2
    let block = try DepthwiseSeparableConv2d(
      inChannels: d.inChannels, outChannels: outChannels, kernelSize: PerDimension(d.kernel),
      stride: PerDimension(d.stride), padding: .explicit(d.padBegin + d.padEnd),
      dilation: PerDimension(d.dilation), depthMultiplier: multiplier, bias: true,
      paddingMode: mode, seed: seed)
    let (depthwise, pointwise) = (block.depthwise, block.pointwise)
    #expect(depthwise.weight.shape == d.weightShape, "\(d)")
    guard let depthwiseBias = depthwise.bias, let pointwiseBias = pointwise.bias else {
      Issue.record("\(d): a layer made with bias: true has no bias")
      return
    }
    let x = try Tensor.random(shape: d.inputShape, seed: seed &+ 1)
    let dense = try conv2d(
      x,
      GroupOracle.separableWeight(
        depthwise: depthwise.weight, pointwise: pointwise.weight, multiplier: multiplier),
      GroupOracle.separableBias(
        depthwiseBias: depthwiseBias, pointwise: pointwise.weight, pointwiseBias: pointwiseBias),
      stride: PerDimension(d.stride), padding: .explicit(d.padBegin + d.padEnd),
      dilation: PerDimension(d.dilation), paddingMode: mode)
    expectClose(try block(x), dense, .float32, "\(d), \(outChannels) output channels")
  }

  // MARK: - Adjoint

  @Test(arguments: GroupDraw.spread(9, from: 6000))
  func transposedConvolutionIsTheAdjoint(_ d: GroupDraw) throws {
    let (x, w, _) = try d.tensors()
    let y = try convolution(x, weight: w, options: d.options())
    let dy = try Tensor.random(shape: y.shape, seed: d.seed &+ 4)
    // The output padding that gives the transposed convolution x's size back.
    let outputPadding = (0..<d.spatialRank).map { i in
      let dilatedKernel = d.dilation[i] * (d.kernel[i] - 1) + 1
      return (d.size[i] + d.padBegin[i] + d.padEnd[i] - dilatedKernel) % d.stride[i]
    }
    let transposed = ConvolutionOptions(
      stride: PerDimension(d.stride), padding: .explicit(d.padBegin + d.padEnd),
      dilation: PerDimension(d.dilation), groups: d.groups, transposed: true,
      outputPadding: PerDimension(outputPadding))
    let dx = try convolution(dy, weight: w, options: transposed)
    guard dx.shape == x.shape else {
      Issue.record("\(d): transposed output \(dx.shape), expected \(x.shape)")
      return
    }
    let forward = GroupOracle.innerProduct(y, dy)
    let backward = GroupOracle.innerProduct(x, dx)
    let scale = max(forward.scale, backward.scale)
    #expect(
      abs(forward.value - backward.value) <= 1e-5 * scale + 1e-6,
      "\(d): <conv(x), y> = \(forward.value), <x, conv_transpose(y)> = \(backward.value)")
  }

  // MARK: - Layers

  @Test(arguments: PaddingMode.allCases)
  func conv2dLayerForwardIsConv2d(_ mode: PaddingMode) throws {
    let index = PaddingMode.allCases.firstIndex(of: mode) ?? 0
    let d = GroupDraw(seed: 7000 + UInt64(index), spatialRank: 2, paddingMode: mode)
    let layer = try Conv2d(
      inChannels: d.inChannels, outChannels: d.outChannels, kernelSize: PerDimension(d.kernel),
      stride: PerDimension(d.stride), padding: .explicit(d.padBegin + d.padEnd),
      dilation: PerDimension(d.dilation), groups: d.groups, bias: true, paddingMode: mode,
      seed: d.seed)
    #expect(layer.weight.shape == d.weightShape, "\(d)")
    let x = try Tensor.random(shape: d.inputShape, seed: d.seed &+ 1)
    let expected = try conv2d(
      x, layer.weight, layer.bias, stride: PerDimension(d.stride),
      padding: .explicit(d.padBegin + d.padEnd), dilation: PerDimension(d.dilation),
      groups: d.groups, paddingMode: mode)
    expectClose(try layer(x), expected, .float32, "\(d)")
  }

  /// The default generator is global, and tests run in parallel: a layer made without a seed
  /// by another test between `manualSeed` and ours would draw from it. So a mismatch is retried
  /// a few times; a `manualSeed` that does not restart the generator fails every attempt.
  @Test func manualSeedMakesInitialisationReproducible() throws {
    func layers() throws -> (Conv2d, ConvTranspose1d) {
      (
        try Conv2d(inChannels: 4, outChannels: 6, kernelSize: 3, groups: 2),
        try ConvTranspose1d(inChannels: 3, outChannels: 6, kernelSize: 2, groups: 3)
      )
    }
    func parameters(_ layers: (Conv2d, ConvTranspose1d)) -> [Tensor?] {
      [layers.0.weight, layers.0.bias, layers.1.weight, layers.1.bias]
    }
    var reproduced = false
    for _ in 0..<3 where !reproduced {
      manualSeed(1234)
      let first = parameters(try layers())
      manualSeed(1234)
      reproduced = first == parameters(try layers())
    }
    #expect(reproduced, "manualSeed(1234) twice gives different Conv2d or ConvTranspose1d")
    manualSeed(1234)
    let (a, _) = try layers()
    manualSeed(1235)
    let (c, _) = try layers()
    #expect(a.weight != c.weight, "seeds 1234 and 1235 give the same Conv2d weight")
  }

  static let initialisations:
    [(kind: String, inChannels: Int, outChannels: Int, kernel: [Int], groups: Int)] = [
      ("Conv1d", 6, 4, [5], 2), ("Conv2d", 8, 8, [3, 2], 8), ("Conv2d", 6, 9, [3, 3], 3),
      ("Conv3d", 4, 4, [2, 3, 2], 2), ("ConvTranspose2d", 4, 6, [3, 3], 2),
    ]

  @Test(arguments: initialisations)
  func initialisationLiesWithinFanIn(
    kind: String, inChannels: Int, outChannels: Int, kernel: [Int], groups: Int
  ) throws {
    let size = PerDimension(kernel)
    let seed = UInt64(inChannels * 100 + outChannels * 10 + groups)
    let layer: ConvolutionLayer =
      switch kind {
      case "Conv1d":
        try Conv1d(
          inChannels: inChannels, outChannels: outChannels, kernelSize: size, groups: groups,
          seed: seed)
      case "Conv2d":
        try Conv2d(
          inChannels: inChannels, outChannels: outChannels, kernelSize: size, groups: groups,
          seed: seed)
      case "Conv3d":
        try Conv3d(
          inChannels: inChannels, outChannels: outChannels, kernelSize: size, groups: groups,
          seed: seed)
      default:
        try ConvTranspose2d(
          inChannels: inChannels, outChannels: outChannels, kernelSize: size, groups: groups,
          seed: seed)
      }
    let fanIn = layer.weight.shape[1] * kernel.reduce(1, *)
    let bound = 1 / Float(fanIn).squareRoot()
    let values = layer.weight.scalars + (layer.bias?.scalars ?? [])
    let largest = values.map(abs).max() ?? 0
    #expect(largest <= bound, "\(kind) seed \(seed): |parameter| \(largest) > \(bound)")
    // Enough draws that one lands in the outer half of the range.
    #expect(largest > bound / 2, "\(kind) seed \(seed): parameters all within \(bound / 2)")
    #expect(layer.bias?.shape == [outChannels], "\(kind) seed \(seed)")
  }

  @Test func layerBackwardAccumulatesUntilZeroGrad() throws {
    let seed: UInt64 = 8000
    let layer = try Conv2d(
      inChannels: 4, outChannels: 6, kernelSize: [3, 2], stride: [1, 2], padding: 1,
      groups: 2, seed: seed)
    let x = try Tensor.random(shape: [2, 4, 5, 5], seed: seed &+ 1)
    let dy = try Tensor.random(shape: try layer(x).shape, seed: seed &+ 2)
    let once = try convolutionBackward(
      gradOutput: dy, input: x, weight: layer.weight,
      options: ConvolutionOptions(stride: [1, 2], padding: 1, groups: 2))

    let dx1 = try layer.backward(dy, input: x)
    let weightGrad1 = try #require(layer.weightGrad)
    let biasGrad1 = try #require(layer.biasGrad)
    expectClose(weightGrad1, once.weight, .float32, "seed \(seed): first weight gradient")
    expectClose(biasGrad1, try #require(once.bias), .float32, "seed \(seed): first bias gradient")
    expectClose(dx1, once.input, .float32, "seed \(seed): input gradient")

    let dx2 = try layer.backward(dy, input: x)
    #expect(dx2 == dx1, "seed \(seed): the input gradient accumulates")
    let twice = { (t: Tensor) in try Tensor(shape: t.shape, scalars: t.scalars.map { 2 * $0 }) }
    expectClose(
      try #require(layer.weightGrad), try twice(weightGrad1), .float32,
      "seed \(seed): weight gradient after two calls")
    expectClose(
      try #require(layer.biasGrad), try twice(biasGrad1), .float32,
      "seed \(seed): bias gradient after two calls")

    layer.zeroGrad()
    #expect(layer.weightGrad == nil && layer.biasGrad == nil, "seed \(seed): after zeroGrad")
    _ = try layer.backward(dy, input: x)
    expectClose(
      try #require(layer.weightGrad), weightGrad1, .float32,
      "seed \(seed): weight gradient after zeroGrad and one call")
  }
}
