import Foundation
import GroupConv
import TestSupport
import Testing

/// ONNX's own conformance data, copied from the `onnx` package by
/// Fixtures/copy_onnx_conformance.py: PyTorch modules exported to ONNX with PyTorch's outputs,
/// and the light model zoo with its stored outputs.
@Suite struct ONNXConformanceTests {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/onnx")

  static let convertedCases: [String] =
    ((try? FileManager.default.contentsOfDirectory(
      atPath: directory.appendingPathComponent("pytorch-converted").path)) ?? []).sorted()

  static let lightModels: [String] =
    ((try? FileManager.default.contentsOfDirectory(
      atPath: directory.appendingPathComponent("light").path)) ?? [])
    .filter { $0.hasSuffix(".onnx") }.map { String($0.dropLast(5)) }.sorted()

  @Test func everyCaseIsThere() {
    #expect(Self.convertedCases.count == 66)
    #expect(Self.lightModels.count == 9)
  }

  @Test(arguments: convertedCases)
  func pytorchConverted(_ name: String) throws {
    let folder = Self.directory.appendingPathComponent("pytorch-converted/\(name)")
    let session = try InferenceSession(contentsOf: folder.appendingPathComponent("model.onnx").path)
    let input = try tensor(folder.appendingPathComponent("input_0.pb"))
    let expected = try tensor(folder.appendingPathComponent("output_0.pb"))
    let output = try session.run([session.inputNames[0]: input])[session.outputNames[0]]!
    expectMatches(output, expected, name)
  }

  @Test(arguments: lightModels)
  func lightModel(_ name: String) throws {
    // Constant weights make every logit of the final softmax about 1e31, and equal only when
    // each of the last Gemm's columns is summed alike: an instruction set switched in the
    // middle of that product by a suite running alongside (`gc_use_isa`) rounds some column
    // panels with FMA and others without, and the softmax turns an ulp into 0 against 0.002.
    try withSteadyKernelSettings { try checkLightModel(name) }
  }

  private func checkLightModel(_ name: String) throws {
    let folder = Self.directory.appendingPathComponent("light")
    let session = try InferenceSession(
      contentsOf: folder.appendingPathComponent("\(name).onnx").path)
    #expect(session.inputNames.count == 1)
    // The input onnx's test runner makes for these models: arange(n).reshape(shape) / n.
    guard case let .tensor(_, dimensions?)? = session.model.graph.inputs.first(where: {
      $0.name == session.inputNames[0]
    })?.type else { Issue.record("no input shape"); return }
    let shape = dimensions.map { if case let .value(size) = $0 { size } else { 1 } }
    let count = shape.reduce(1, *)
    let input = try Tensor(shape: shape, scalars: (0..<count).map { Float(Double($0) / Double(count)) })
    let expected = try tensor(folder.appendingPathComponent("\(name)_output_0.pb"))
    let output = try session.run([session.inputNames[0]: input])[session.outputNames[0]]!
    expectMatches(output, expected, name)
  }

  private func tensor(_ url: URL) throws -> Tensor {
    let tensor = try ONNX.loadTensor(contentsOf: url.path)
    return try #require(tensor.value.floatTensor, "\(url.lastPathComponent) holds floats")
  }

  /// ONNX's backend tests compare with relative 1e-3 and absolute 1e-7; float32 kernels that
  /// sum in another order need an absolute 1e-5 on values near zero.
  private func expectMatches(_ actual: Tensor, _ expected: Tensor, _ name: String) {
    guard actual.shape == expected.shape else {
      Issue.record("\(name): shape \(actual.shape), expected \(expected.shape)")
      return
    }
    var worst: (index: Int, excess: Float)?
    for index in 0..<actual.count {
      let (a, e) = (actual.scalars[index], expected.scalars[index])
      let excess = abs(a - e) - (1e-5 + 1e-3 * abs(e))
      if !(excess <= 0), worst == nil || excess > worst!.excess || excess.isNaN {
        worst = (index, excess.isNaN ? .infinity : excess)
      }
    }
    if let worst {
      let (a, e) = (actual.scalars[worst.index], expected.scalars[worst.index])
      Issue.record(Comment(rawValue: "\(name): shape \(actual.shape), worst at \(worst.index): \(a) vs \(e)"))
    }
  }
}
