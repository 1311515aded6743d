import Foundation
import GroupConv
import Kernels
import Tensors
import TestSupport
import Testing

/// The folder of the PyTorch fixtures (made by Fixtures/make_fixtures.py).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

/// The suites that change process-wide kernel settings (`Threads.count`, the instruction set)
/// are nested here, so that they run one at a time instead of changing the settings under
/// each other.
@Suite(.serialized) enum KernelSettingsSuites {}

extension FusingForwardKernel {
  /// `forward` on tensors and arrays: y = f(clamp(x ⋆ w + bias (+ y when `adding`))), with
  /// no bias, clamp or activation when those are nil.
  func forward(
    _ x: Tensor, bias: Tensor?, y: inout [Float], clamp bounds: [Float]? = nil,
    activation: Activation? = nil, adding: Bool = false
  ) {
    let (biasValues, boundValues) = (bias?.scalars ?? [], bounds ?? [])
    x.withUnsafeBufferPointer { x in
      biasValues.withUnsafeBufferPointer { b in
        boundValues.withUnsafeBufferPointer { c in
          y.withUnsafeMutableBufferPointer { y in
            forward(
              x: x.baseAddress!, bias: bias == nil ? nil : b.baseAddress!, y: y.baseAddress!,
              clamp: bounds == nil ? nil : c.baseAddress!, activation: activation?.vectorizedKind,
              adding: adding)
          }
        }
      }
    }
  }
}

/// A fusing kernel that `make` builds against the reference, for every instruction set and
/// thread count: plain into an output of NaN (an element it fails to write fails), and added
/// to a residual in y with a clamp and SiLU: y = silu(clamp(x ⋆ w + b + r, -1, 1.5)).
func expectFusingKernelMatchesReference(
  _ c: KernelSettingsSuites.GemmKernelTests.Case,
  make: (ConvolutionGeometry, UnsafeBufferPointer<Float>) -> (any FusingForwardKernel)?
) throws {
  let (geometry, x, w, b, expected) = try c.problem()
  let r = try Tensor.random(shape: geometry.yShape, seed: 4).scalars
  let bounds: [Float] = [-1, 1.5]
  let fused = zip(expected, r).map {
    Activation.silu.value(min(max($0 + $1, bounds[0]), bounds[1]))
  }
  forEachKernelConfiguration { configuration in
    guard let kernel = w.withUnsafeBufferPointer({ make(geometry, $0) }) else {
      Issue.record("no kernel for \(c.testDescription)")
      return
    }
    for adding in [false, true] {
      var y = adding ? r : [Float](repeating: .nan, count: expected.count)
      kernel.forward(
        x, bias: c.bias ? b : nil, y: &y, clamp: adding ? bounds : nil,
        activation: adding ? .silu : nil, adding: adding)
      expectClose(
        try! Tensor(shape: geometry.yShape, scalars: y),
        try! Tensor(shape: geometry.yShape, scalars: adding ? fused : expected), .float32,
        "\(c.testDescription) adding \(adding), \(configuration)")
    }
  }
}
