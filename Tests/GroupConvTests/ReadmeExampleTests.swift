import GroupConv
import TestSupport
import Testing

// README's line-for-line translation of PyTorch's depthwise-separable module, verbatim.
final class DepthwiseSeparable {
  let depthwise: Conv2d
  let pointwise: Conv2d

  init(nin: Int, nout: Int) throws {
    depthwise = try Conv2d(inChannels: nin, outChannels: nin, kernelSize: 3, padding: 1, groups: nin)
    pointwise = try Conv2d(inChannels: nin, outChannels: nout, kernelSize: 1)
  }

  func forward(_ x: Tensor) throws -> Tensor {
    try pointwise(depthwise(x))
  }
}

@Suite struct ReadmeExampleTests {
  @Test func translatedModuleRunsAndMatchesTheLibraryBlock() throws {
    let block = try DepthwiseSeparable(nin: 8, nout: 16)
    let x = try Tensor.random(shape: [1, 8, 9, 9], seed: 1)
    let y = try block.forward(x)
    #expect(y.shape == [1, 16, 9, 9])
    #expect(block.depthwise.weight.shape == [8, 1, 3, 3])
    #expect(block.pointwise.weight.shape == [16, 8, 1, 1])

    let library = try DepthwiseSeparableConv2d(
      inChannels: 8, outChannels: 16, kernelSize: 3, padding: 1)
    library.depthwise.weight = block.depthwise.weight
    library.depthwise.bias = block.depthwise.bias
    library.pointwise.weight = block.pointwise.weight
    library.pointwise.bias = block.pointwise.bias
    expectClose(try library(x), y)
  }
}
