import Foundation
import Formats
import Testing

// MARK: - Model structure

@Suite struct ONNXModelStructureErrorTests {
  @Test func modelWithoutGraphIsRefused() {
    let message = "m.onnx: ModelProto has no graph (field 7): expected a model with a graph"
    expectONNXError([], .missingGraph(source: "m.onnx"), message)
    expectONNXError(Proto { $0.int(1, 8) }.bytes, .missingGraph(source: "m.onnx"))
  }

  @Test func modelWithoutOperatorSetIsRefusedFromIRVersion3() throws {
    expectONNXError(
      modelBytes(graphProto(), irVersion: 8, opset: nil),
      .missingOpsetImport(source: "m.onnx", irVersion: 8),
      "m.onnx: ModelProto of IR version 8 has no opset_import (field 8): expected at least "
        + "one operator set, as IR version 3 and later require")
    #expect(try ONNX.decode(modelBytes(graphProto(), irVersion: 2, opset: nil)).irVersion == 2)
  }

  @Test func sparseInitializersAreUnsupported() {
    let sparse = Proto { $0.message(15, Proto()) }.bytes
    let graph = graphProto(extra: sparse)
    expectONNXError(
      modelBytes(graph),
      .unsupportedField(
        source: "m.onnx", path: "ModelProto.graph", field: "sparse_initializer (field 15)",
        offset: 4 + graph.bytes.count - sparse.count),
      "m.onnx: unsupported field at byte \(4 + graph.bytes.count - sparse.count): "
        + "sparse_initializer (field 15) of ModelProto.graph is not supported: expected a model "
        + "without it")
  }

  @Test func attributeWithoutTypeOrValueIsRefused() {
    let attribute = Proto { $0.string(1, "alpha") }
    let node = nodeProto("LeakyRelu", inputs: ["x"], outputs: ["y"], attributes: [attribute])
    // [08 08] [3A len] [0A len] node: "x" (3 bytes), "y" (3), op_type (11), attribute tag and
    // length (2): the attribute starts at 6 + 19.
    expectONNXError(
      modelBytes(graphProto(nodes: [node])),
      .undefinedAttributeType(
        source: "m.onnx", path: "ModelProto.graph.node[0].attribute[0]", offset: 25,
        attribute: "alpha"),
      "m.onnx: attribute 'alpha' (ModelProto.graph.node[0].attribute[0] at byte 25) has type "
        + "UNDEFINED: expected a type (field 20) or exactly one value field to infer it from")
    let ambiguous = Proto { a in
      a.string(1, "alpha")
      a.float(2, 1)
      a.int(3, 1)
    }
    let other = nodeProto("LeakyRelu", inputs: ["x"], outputs: ["y"], attributes: [ambiguous])
    #expect(
      onnxError(modelBytes(graphProto(nodes: [other])))
        == .undefinedAttributeType(
          source: "m.onnx", path: "ModelProto.graph.node[0].attribute[0]", offset: 25,
          attribute: "alpha"))
  }

  @Test func attributeWithoutItsValueIsRefused() {
    let attribute = Proto { a in
      a.string(1, "group")
      a.int(20, 2)
      a.float(2, 2)  // a float, but the type says INT
    }
    let node = nodeProto("Conv", inputs: ["x"], outputs: ["y"], attributes: [attribute])
    // The node: "x" (3 bytes), "y" (3), op_type (6), attribute tag and length (2).
    expectONNXError(
      modelBytes(graphProto(nodes: [node])),
      .attributeMissingValue(
        source: "m.onnx", path: "ModelProto.graph.node[0].attribute[0]", offset: 20,
        attribute: "group", type: .int),
      "m.onnx: attribute 'group' (ModelProto.graph.node[0].attribute[0] at byte 20) has type "
        + "INT (2) but no value: expected its field i (field 3)")
  }
}

// MARK: - Files

@Suite struct ONNXLoadTests {
  @Test func missingModelFileIsUnreadable() {
    let error = ONNXError.unreadable(
      path: "/nonexistent/m.onnx", reason: "No such file or directory")
    #expect(throws: error) { try ONNX.load(contentsOf: "/nonexistent/m.onnx") }
    #expect(
      error.description == "/nonexistent/m.onnx: cannot read the file: No such file or directory")
  }

  @Test func directoryIsNotAModel() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(throws: ONNXError.unreadable(path: directory.path, reason: "Is a directory")) {
      try ONNX.load(contentsOf: directory.path)
    }
  }

  @Test func emptyFileHasNoGraph() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("empty.onnx").path
    #expect(FileManager.default.createFile(atPath: path, contents: Data()))
    #expect(throws: ONNXError.missingGraph(source: path)) { try ONNX.load(contentsOf: path) }
  }
}

// MARK: - Tensor files

@Suite struct ONNXTensorFileTests {
  @Test func conformanceStyleTensorFileLoads() throws {
    let tensor = try ONNX.loadTensor(contentsOf: onnxFixturePath("input_0.pb"))
    #expect(tensor.name == "x")
    #expect(tensor.storage == .rawData)
    #expect(tensor.value == .float(shape: [1, 2, 3, 4], values: (0..<24).map { Float($0) / 8 }))
    #expect(try ONNX.decodeTensor(onnxFixtureBytes("input_0.pb")) == tensor)
  }

  @Test func tensorFileErrorsNameTensorProto() throws {
    let bytes = try onnxFixtureBytes("input_0.pb")
    // [08 01] [08 02] [08 03] [08 04] dims, [10 01] data_type, [42 01 78] name, then
    // raw_data's tag at 13, its length at 14, its 96 bytes from 15.
    #expect(throws: ONNXError.truncated(
      source: "x.pb", path: "TensorProto", field: "raw_data (field 9)", offset: 15, needed: 96,
      available: 5)) {
      try ONNX.decodeTensor(Array(bytes.prefix(20)), source: "x.pb")
    }
    for length in 0..<bytes.count {
      #expect(throws: ONNXError.self) { try ONNX.decodeTensor(Array(bytes.prefix(length))) }
    }
  }
}
