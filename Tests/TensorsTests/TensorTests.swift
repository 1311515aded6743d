import Tensors
import Testing

@Suite struct TensorTests {
  @Test func storesElementsRowMajor() throws {
    var t = try Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
    #expect(t[1, 0] == 3)
    #expect(t.offset(of: [1, 2]) == 5)
    t[0, 2] = 9
    #expect(t.scalars == [0, 1, 9, 3, 4, 5])
    #expect(t.rank == 2 && t.count == 6)
  }

  @Test func refusesAScalarCountThatDoesNotMatchTheShape() {
    #expect(throws: TensorError.scalarCountMismatch(shape: [2, 2], expected: 4, actual: 3)) {
      try Tensor(shape: [2, 2], scalars: [1, 2, 3])
    }
    #expect(
      TensorError.scalarCountMismatch(shape: [2, 2], expected: 4, actual: 3).description
        == "tensor of shape [2, 2] holds 4 elements, but 3 were given")
  }

  @Test func refusesNegativeAndOverflowingShapes() {
    #expect(throws: TensorError.negativeDimension(shape: [2, -1])) {
      try Tensor(shape: [2, -1])
    }
    #expect(throws: TensorError.tooManyElements(shape: [1 << 32, 1 << 32])) {
      try Tensor(shape: [1 << 32, 1 << 32])
    }
  }

  @Test func emptyAndScalarShapes() throws {
    #expect(try Tensor(shape: [0, 3]).count == 0)
    #expect(try Tensor(shape: []).count == 1)
  }

  @Test func reshapesKeepingElements() throws {
    let t = try Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5]).reshaped(to: [3, 2])
    #expect(t.shape == [3, 2] && t[2, 1] == 5)
    #expect(throws: TensorError.self) { try t.reshaped(to: [4]) }
  }

  @Test func randomTensorsAreReproducibleAndInRange() throws {
    let a = try Tensor.random(shape: [4, 5], in: -0.5...0.25, seed: 42)
    let b = try Tensor.random(shape: [4, 5], in: -0.5...0.25, seed: 42)
    let c = try Tensor.random(shape: [4, 5], in: -0.5...0.25, seed: 43)
    #expect(a == b && a != c)
    #expect(a.scalars.allSatisfy { (-0.5...0.25).contains($0) })
  }
}

@Suite struct ConvolutionArgumentTests {
  @Test func perDimensionBroadcastsOneValue() {
    #expect(PerDimension(2).resolved(spatialRank: 3) == [2, 2, 2])
    #expect(PerDimension([1, 2]).resolved(spatialRank: 2) == [1, 2])
    #expect(PerDimension([1, 2]).resolved(spatialRank: 3) == nil)
  }

  @Test func explicitPaddingIsSymmetricOrBeginsThenEnds() {
    let symmetric = Padding.explicit([1, 2]).explicitPads(spatialRank: 2)
    #expect(symmetric?.begin == [1, 2] && symmetric?.end == [1, 2])
    let asymmetric = Padding.explicit([1, 2, 3, 4]).explicitPads(spatialRank: 2)
    #expect(asymmetric?.begin == [1, 2] && asymmetric?.end == [3, 4])
    #expect(Padding.explicit([1, 2, 3]).explicitPads(spatialRank: 2) == nil)
    #expect(Padding.same.explicitPads(spatialRank: 2) == nil)
  }

  @Test func paddingModesByName() throws {
    #expect(try PaddingMode(named: "circular") == .circular)
    #expect(throws: ConvolutionError.unknownPaddingMode("mirror")) {
      try PaddingMode(named: "mirror")
    }
  }

  @Test func validGroupsDivideBothChannelCounts() {
    #expect(ConvolutionError.validGroups(inputChannels: 6, outputChannels: 12) == [1, 2, 3, 6])
    #expect(ConvolutionError.validGroups(inputChannels: 32, outputChannels: 64).count == 6)
  }
}

/// Output sizes worked by hand: out = ⌊(in + begin + end − d·(k − 1) − 1) / s⌋ + 1 and, for
/// a transposed convolution, (in − 1)·s − begin − end + d·(k − 1) + output_padding + 1.
@Suite struct ShapeArithmeticTests {
  func outputShape(_ input: [Int], _ weight: [Int], _ options: ConvolutionOptions) throws
    -> [Int]
  {
    try ConvolutionGeometry(
      inputShape: input, weightShape: weight, biasShape: nil, options: options
    ).outputShape
  }

  @Test func convolutionSizes() throws {
    // (56 + 2 - 3) / 1 + 1 = 56
    #expect(try outputShape([1, 64, 56, 56], [64, 64, 3, 3], .init(padding: 1)) == [1, 64, 56, 56])
    // (56 + 2 - 3) / 2 + 1 = 28
    #expect(
      try outputShape([1, 144, 56, 56], [144, 1, 3, 3], .init(stride: 2, padding: 1, groups: 144))
        == [1, 144, 28, 28])
    // (10 + 0 - 2·2 - 1) / 3 + 1 = 2
    #expect(try outputShape([2, 3, 10], [4, 3, 3], .init(stride: 3, dilation: 2)) == [2, 4, 2])
    // same: total padding d·(k − 1), stride 1: the size is kept
    #expect(try outputShape([1, 2, 7, 6], [2, 2, 4, 2], .init(padding: .same)) == [1, 2, 7, 6])
    // asymmetric: (5 + 1 + 2 − 3) + 1 = 6, (5 + 0 + 3 − 3) + 1 = 6
    #expect(
      try outputShape([1, 1, 5, 5], [1, 1, 3, 3], .init(padding: [1, 0, 2, 3])) == [1, 1, 6, 6])
  }

  @Test func transposedConvolutionSizes() throws {
    // (4 − 1)·2 − 2 + (3 − 1) + 1 + 1 = 8
    #expect(
      try outputShape(
        [1, 4, 4, 4], [4, 3, 3, 3],
        .init(stride: 2, padding: 1, transposed: true, outputPadding: 1)) == [1, 3, 8, 8])
    // groups 2: C_out = 2 · 3
    #expect(
      try outputShape([1, 4, 5], [4, 3, 2], .init(groups: 2, transposed: true)) == [1, 6, 6])
  }

  @Test func sameSplitsTheOddExtraToTheEnd() throws {
    let g = try ConvolutionGeometry(
      inputShape: [1, 1, 8, 8], weightShape: [1, 1, 4, 2], biasShape: nil,
      options: .init(padding: .same))
    #expect(g.padBegin == [1, 0] && g.padEnd == [2, 1])
  }
}
