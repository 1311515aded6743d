import Formats
import Tensors

/// ShuffleNet's channel shuffle, which ONNX graphs spell as `Reshape` to
/// `[N, groups, C / groups, ...]`, `Transpose` of the two channel axes and `Reshape` back:
/// one pass of plane copies instead of two reshapes and a 5-D transpose.
///
/// x: [N, C, spatial...]   y[n, j · groups + i] = x[n, i · (C / groups) + j]
final class ChannelShuffleOperator: CompiledOperator {
  let shape: [Int]
  let groups: Int

  var outputShapes: [[Int]] { [shape] }

  init(shape: [Int], groups: Int) {
    precondition(shape.count >= 2 && groups > 0 && shape[1] % groups == 0)
    self.shape = shape
    self.groups = groups
  }

  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>]) {
    let x = inputs[0]!
    let y = outputs[0]
    let channels = shape[1]
    let plane = shape[2...].reduce(1, *)
    let perGroup = channels / groups
    for n in 0..<shape[0] {
      let base = n * channels * plane
      for i in 0..<groups {
        for j in 0..<perGroup {
          let from = base + (i * perGroup + j) * plane
          let to = base + (j * groups + i) * plane
          (y.baseAddress! + to).update(from: x.baseAddress! + from, count: plane)
        }
      }
    }
  }

  /// The shuffle that `Reshape` (`first`), `Transpose` (`transpose`) and `Reshape` to
  /// `outputShape` compute on an input of shape `inputShape`, or nil for another pattern.
  static func recognize(
    inputShape: [Int], reshapedShape: [Int], transpose: ONNXNode, outputShape: [Int]
  ) -> ChannelShuffleOperator? {
    let rank = inputShape.count
    guard rank >= 2, outputShape == inputShape, reshapedShape.count == rank + 1,
      reshapedShape[0] == inputShape[0],
      reshapedShape[1] * reshapedShape[2] == inputShape[1], reshapedShape[1] > 0,
      Array(reshapedShape[3...]) == Array(inputShape[2...]),
      case let .ints(perm)? = transpose.attribute("perm"),
      perm == [0, 2, 1] + Array(3...rank)
    else { return nil }
    return ChannelShuffleOperator(shape: inputShape, groups: reshapedShape[1])
  }
}
