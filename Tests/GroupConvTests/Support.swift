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
