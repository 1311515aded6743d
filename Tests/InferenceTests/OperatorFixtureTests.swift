import Formats
import Foundation
import GroupConv
import TestSupport
import Testing

@testable import GroupConv

/// One case of Fixtures/operators.json: a one-node model and the outputs ONNX's reference
/// (or onnxruntime, `source`) computes for it (made by Fixtures/make_operator_fixtures.py).
struct OperatorCase: Decodable, Sendable, CustomTestStringConvertible {
  let name: String
  let op: String
  let opset: Int
  let source: String

  var testDescription: String { name }

  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures")

  static let all: [OperatorCase] = {
    let url = directory.appendingPathComponent("operators.json")
    guard let data = try? Data(contentsOf: url),
      let cases = try? JSONDecoder().decode([OperatorCase].self, from: data)
    else { return [] }
    return cases
  }()

  func path(_ suffix: String) -> String {
    Self.directory.appendingPathComponent("operators/\(name)\(suffix)").path
  }
}

@Suite struct OperatorFixtureTests {
  @Test func theManifestListsCases() {
    #expect(OperatorCase.all.count > 100)
  }

  /// Builds the node with its initializers as constants, runs it, and compares every output;
  /// an operator that runs in place is run again with output 0 over input 0.
  @Test(arguments: OperatorCase.all)
  func matchesONNX(_ c: OperatorCase) throws {
    let model = try ONNX.load(contentsOf: c.path(".onnx"))
    let node = try #require(model.graph.nodes.first)
    #expect(model.opsetVersion() == c.opset)
    let definition = try #require(Operators.definitions[c.op])
    #expect(definition.opsets.contains(c.opset))
    var shapes = [[Int]?]()
    var constants = [ONNXTensorValue?]()
    var values = [Tensor?]()
    for (index, name) in node.inputs.enumerated() {
      if name.isEmpty {
        (shapes, constants, values) = (shapes + [nil], constants + [nil], values + [nil])
      } else if let initializer = model.graph.initializer(named: name) {
        shapes.append(initializer.shape)
        constants.append(initializer.value)
        values.append(nil)
      } else {
        let value = try NPY.read(contentsOf: c.path(".\(index).npy"))
        (shapes, constants, values) = (shapes + [value.shape], constants + [nil], values + [value])
      }
    }
    let op = try build(node, opset: c.opset, Array(zip(shapes, constants)))
    let expected = try (0..<node.outputs.count).map { k in
      try NPY.read(contentsOf: c.path(".out\(k).npy"))
    }
    for (k, output) in run(op, values).enumerated() {
      expectClose(output, expected[k], .float32, "\(c.name) output \(k) (\(c.source))")
    }
    if op.runsInPlace, values.first! != nil {
      #expect(shapes[0]!.reduce(1, *) == op.outputShapes[0].reduce(1, *))
      expectClose(run(op, values, inPlace: true)[0], expected[0], .float32, "\(c.name) in place")
    }
  }
}
