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
