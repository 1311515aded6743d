import Tensors

// What groups do to a convolution, as operations on weights and activations: a grouped
// convolution is a dense one whose weight is block-diagonal across channels, and a
// depthwise-separable pair is one dense convolution whose weight factors into a per-channel
// spatial filter times a channel-mixing matrix.

/// The dense weight `[C_out, C_in, k...]` equal to a grouped convolution's weight
/// `[C_out, C_in / groups, k...]`: output channel o of group g keeps its filters for the input
/// channels of group g and has zeros for every other input channel (block-diagonal).
///
/// For a transposed convolution's weight `[C_in, C_out / groups, k...]` pass
/// `transposed: true`; the result is `[C_in, C_out, k...]`.
///
/// - Throws: `ConvolutionError` when `groups` is not positive or does not divide the weight's
///   first dimension.
public func expandGroupedWeight(_ weight: Tensor, groups: Int, transposed: Bool = false)
  throws(ConvolutionError) -> Tensor
{
  let operation = "expandGroupedWeight"
  guard weight.rank >= 3 else {
    throw .weightRank(operation: operation, weightShape: weight.shape, inputShape: [])
  }
  guard groups > 0 else { throw .nonPositiveGroups(operation: operation, groups: groups) }
  let rows = weight.shape[0]
  let perGroup = weight.shape[1]
  let columns = perGroup * groups
  guard rows % groups == 0 else {
    throw .channelsNotDivisibleByGroups(
      operation: operation, role: transposed ? .input : .output, channels: rows, groups: groups,
      inputChannels: transposed ? rows : columns, outputChannels: transposed ? columns : rows)
  }
  let taps = weight.shape[2...].reduce(1, *)
  let rowsPerGroup = rows / groups
  var dense = [Float](repeating: 0, count: rows * columns * taps)
  for row in 0..<rows {
    let group = row / rowsPerGroup
    for j in 0..<perGroup {
      let source = (row * perGroup + j) * taps
      let target = (row * columns + group * perGroup + j) * taps
      for t in 0..<taps { dense[target + t] = weight.scalars[source + t] }
    }
  }
  return Tensor(validShape: [rows, columns] + weight.shape[2...], scalars: dense)
}

/// The weight and bias of the one dense convolution equal to a depthwise convolution followed
/// by a 1×1 convolution: `W[o, i, k] = Σ_j P[o, i·m + j] · D[i·m + j, 0, k]` for depthwise
/// weight `D: [m·C, 1, k...]` (multiplier m) and pointwise weight `P: [C_out, m·C, 1...]`,
/// and bias `P · b_depthwise + b_pointwise`.
///
/// - Parameter channels: C, the depthwise convolution's input channels (its `groups`).
/// - Throws: `ConvolutionError.shapeMismatch` when the shapes do not chain.
public func composeSeparable(
  depthwise: Tensor, depthwiseBias: Tensor? = nil, pointwise: Tensor,
  pointwiseBias: Tensor? = nil, channels: Int
) throws(ConvolutionError) -> (weight: Tensor, bias: Tensor?) {
  let operation = "composeSeparable"
  guard depthwise.rank >= 3, channels > 0, depthwise.shape[1] == 1,
    depthwise.shape[0] % channels == 0
  else {
    throw .shapeMismatch(
      operation: operation, name: "depthwise weight", shape: depthwise.shape,
      expected: [channels, 1] + (depthwise.rank >= 3 ? Array(depthwise.shape[2...]) : []))
  }
  let hidden = depthwise.shape[0]
  let multiplier = hidden / channels
  let outputs = pointwise.rank >= 1 ? pointwise.shape[0] : 0
  let expectedPointwise = [outputs, hidden] + Array(repeating: 1, count: depthwise.rank - 2)
  guard pointwise.shape == expectedPointwise else {
    throw .shapeMismatch(
      operation: operation, name: "pointwise weight", shape: pointwise.shape,
      expected: expectedPointwise)
  }
  if let depthwiseBias, depthwiseBias.shape != [hidden] {
    throw .shapeMismatch(
      operation: operation, name: "depthwise bias", shape: depthwiseBias.shape,
      expected: [hidden])
  }
  if let pointwiseBias, pointwiseBias.shape != [outputs] {
    throw .shapeMismatch(
      operation: operation, name: "pointwise bias", shape: pointwiseBias.shape,
      expected: [outputs])
  }
  let taps = depthwise.shape[2...].reduce(1, *)
  var weight = [Float](repeating: 0, count: outputs * channels * taps)
  for o in 0..<outputs {
    for i in 0..<channels {
      for j in 0..<multiplier {
        let scale = pointwise.scalars[o * hidden + i * multiplier + j]
        let source = (i * multiplier + j) * taps
        for t in 0..<taps {
          weight[(o * channels + i) * taps + t] += scale * depthwise.scalars[source + t]
        }
      }
    }
  }
  var bias: Tensor?
  if depthwiseBias != nil || pointwiseBias != nil {
    var sums = pointwiseBias?.scalars ?? [Float](repeating: 0, count: outputs)
    if let depthwiseBias {
      for o in 0..<outputs {
        for h in 0..<hidden { sums[o] += pointwise.scalars[o * hidden + h] * depthwiseBias.scalars[h] }
      }
    }
    bias = Tensor(validShape: [outputs], scalars: sums)
  }
  return (Tensor(validShape: [outputs, channels] + depthwise.shape[2...], scalars: weight), bias)
}

/// Rearranges channels so that the next grouped convolution's groups each see channels from
/// every group of the previous one, as `torch.nn.functional.channel_shuffle` (ShuffleNet):
/// channels viewed as `[groups, C / groups]` are transposed to `[C / groups, groups]`.
///
/// input `[N, C, ...]` → same shape.
/// - Throws: `ConvolutionError` when `groups` is not positive or does not divide C.
public func channelShuffle(_ input: Tensor, groups: Int) throws(ConvolutionError) -> Tensor {
  let operation = "channel_shuffle"
  guard input.rank >= 2 else {
    throw .inputRank(operation: operation, shape: input.shape, expectedRank: nil)
  }
  guard groups > 0 else { throw .nonPositiveGroups(operation: operation, groups: groups) }
  let channels = input.shape[1]
  guard channels % groups == 0 else {
    throw .channelsNotDivisibleByGroups(
      operation: operation, role: .input, channels: channels, groups: groups,
      inputChannels: channels, outputChannels: channels)
  }
  let plane = input.shape[2...].reduce(1, *)
  let perGroup = channels / groups
  var output = [Float](repeating: 0, count: input.count)
  for n in 0..<input.shape[0] {
    for c in 0..<channels {
      // Output channel c = j·groups + g reads input channel g·perGroup + j.
      let (j, g) = c.quotientAndRemainder(dividingBy: groups)
      let source = (n * channels + g * perGroup + j) * plane
      let target = (n * channels + c) * plane
      for p in 0..<plane { output[target + p] = input.scalars[source + p] }
    }
  }
  return Tensor(validShape: input.shape, scalars: output)
}
