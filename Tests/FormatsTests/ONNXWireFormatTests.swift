import Formats
import Testing

/// One field of every wire type this reader does not know — varint, 64-bit,
/// length-delimited, 32-bit, and a group holding a nested group — to be skipped.
let unknownFields = Proto { p in
  p.varint(99, 300)
  p.fixed64(98, 0x0102_0304_0506_0708)
  p.bytes(97, [0x0A, 0x02, 0x08])  // looks like a truncated message, but is only bytes
  p.fixed32(96, 5)
  p.raw(Proto.tag(95, 3))
  p.varint(1, 5)
  p.raw(Proto.tag(94, 3))
  p.float(2, 1)
  p.raw(Proto.tag(94, 4))
  p.raw(Proto.tag(95, 4))
}.bytes

/// A Conv node with a weight initializer; `extra` bytes go at the end of every message.
func convModel(extra: [UInt8] = []) -> [UInt8] {
  let group = Proto { a in
    a.string(1, "group")
    a.int(20, 2)
    a.int(3, 2)
    a.raw(extra)
  }
  let pads = Proto { a in
    a.string(1, "pads")
    a.int(20, 7)
    for pad in [1, 1, 1, 1] { a.int(8, pad) }
    a.raw(extra)
  }
  var node = nodeProto("Conv", inputs: ["x", "w"], outputs: ["y"], attributes: [group, pads])
  node.raw(extra)
  let weight = tensorProto("w", dims: [2, 1, 1, 1], type: 1, raw: rawFloats([0.5, -2])) {
    $0.raw(extra)
  }
  let input = Proto { info in
    info.string(1, "x")
    info.message(2, Proto { type in
      type.message(1, Proto { tensor in
        tensor.int(1, 1)
        tensor.message(2, Proto { shape in
          shape.message(1, Proto { $0.string(2, "batch"); $0.raw(extra) })
          shape.message(1, Proto { $0.int(1, 2); $0.raw(extra) })
          shape.raw(extra)
        })
        tensor.raw(extra)
      })
      type.raw(extra)
    })
    info.raw(extra)
  }
  var graph = graphProto(nodes: [node], initializers: [weight])
  graph.message(11, input)
  graph.raw(extra)
  return modelBytes(graph) + extra
}

// MARK: - Valid encodings

@Suite struct ONNXWireFormatTests {
  @Test func unknownFieldsOfEveryWireTypeAreSkippedAtEveryLevel() throws {
    let plain = try ONNX.decode(convModel())
    #expect(plain.graph.nodes.first?.attribute("pads") == .ints([1, 1, 1, 1]))
    #expect(try ONNX.decode(convModel(extra: unknownFields)) == plain)
  }

  @Test func packedAndUnpackedRepeatedFieldsAreEqual() throws {
    // dims, int64_data and ints: varints; float_data and floats: 32-bit.
    let unpacked = tensorProto("t", dims: [2, 1], type: 1) { t in
      t.float(4, 1.5)
      t.float(4, -2)
    }
    let packed = Proto { t in
      t.packed(1, [2, 1])
      t.int(2, 1)
      t.string(8, "t")
      t.bytes(4, rawFloats([1.5, -2]))
    }
    let expected = ONNXTensor(
      name: "t", dataType: .float, value: .float(shape: [2, 1], values: [1.5, -2]),
      storage: .floatData)
    #expect(try onlyInitializer(unpacked) == expected)
    #expect(try onlyInitializer(packed) == expected)
    // Packed runs may be split in two, as a concatenation of messages would.
    let split = tensorProto("t", dims: [3], type: 7) { t in
      t.packed(7, [1, -1])
      t.int(7, Int.max)
    }
    #expect(try onlyInitializer(split).value == .int64(shape: [3], values: [1, -1, .max]))
  }

  @Test func negativeIntegersAreTenByteVarints() throws {
    let attribute = Proto { a in
      a.string(1, "axes")
      a.int(20, 7)
      a.packed(8, [-1, Int.min, Int.max])
    }
    let node = nodeProto("Squeeze", inputs: ["x"], outputs: ["y"], attributes: [attribute])
    let model = try ONNX.decode(modelBytes(graphProto(nodes: [node])))
    #expect(model.graph.nodes[0].attribute("axes") == .ints([-1, .min, .max]))
    #expect(Proto.varint(UInt64(bitPattern: -1)).count == 10)
  }

  @Test func aTypelessAttributeTakesTheTypeOfItsOneValue() throws {
    // IR version 1 had no AttributeProto.type.
    let attribute = Proto { a in
      a.string(1, "alpha")
      a.float(2, 0.25)
    }
    let node = nodeProto("LeakyRelu", inputs: ["x"], outputs: ["y"], attributes: [attribute])
    let model = try ONNX.decode(modelBytes(graphProto(nodes: [node]), irVersion: 1, opset: nil))
    #expect(model.graph.nodes[0].attribute("alpha") == .float(0.25))
  }

  @Test func sparseAndTypeAttributesAreRecordedByType() throws {
    let sparse = Proto { a in
      a.string(1, "sparse_value")
      a.int(20, 11)
      a.message(22, Proto { $0.packed(3, [4]) })
    }
    let unknown = Proto { a in
      a.string(1, "future")
      a.int(20, 99)
    }
    let node = nodeProto("Constant", inputs: [], outputs: ["c"], attributes: [sparse, unknown])
    let model = try ONNX.decode(modelBytes(graphProto(nodes: [node])))
    #expect(model.graph.nodes[0].attribute("sparse_value") == .unsupported(.sparseTensor))
    let future = ONNXAttributeType(rawValue: 99)
    #expect(model.graph.nodes[0].attribute("future") == .unsupported(future))
    #expect("\(future) \(ONNXAttributeType.ints)" == "unknown (99) INTS (7)")
  }

  @Test func groupsNestUpToTheLimit() throws {
    let depth = 100
    let groups =
      (0..<depth).flatMap { _ in Proto.tag(99, 3) } + (0..<depth).flatMap { _ in Proto.tag(99, 4) }
    #expect(try ONNX.decode(modelBytes(graphProto()) + groups).graph.name == "g")
  }

  @Test func lastGraphAndScalarFieldsWin() throws {
    let bytes = Proto { m in
      m.int(1, 3)
      m.message(7, graphProto())
      m.message(8, Proto { $0.int(2, 9) })
      m.int(1, 8)
      m.message(7, Proto { $0.string(2, "second") })
    }.bytes
    let model = try ONNX.decode(bytes)
    #expect(model.irVersion == 8)
    #expect(model.graph.name == "second")
  }
}

// MARK: - Broken encodings

@Suite struct ONNXWireFormatErrorTests {
  @Test func fileEndingInsideAFieldIsTruncated() {
    let whole = convModel()
    // [08 08] ir_version, graph's tag at 2 and its one-byte length at 3, its payload from
    // 4, and 4 bytes of opset_import after it.
    let graphLength = whole.count - 4 - 4
    #expect(Int(whole[3]) == graphLength)
    expectONNXError(
      Array(whole.prefix(40)),
      .truncated(
        source: "m.onnx", path: "ModelProto", field: "graph (field 7)", offset: 4,
        needed: graphLength, available: 36),
      "m.onnx: truncated file at byte 4: expected \(graphLength) bytes of graph (field 7) of "
        + "ModelProto, found only 36 before the end of the file")
  }

  @Test func lengthBeyondItsMessageIsRefused() {
    // The node's name claims 50 bytes; the node holds 5.
    let node = Proto { n in
      n.raw(Proto.tag(3, 2) + Proto.varint(50) + Array("abc".utf8))
    }
    // [08 08] [3A len] [0A 05] node payload from byte 6: name tag, length, then "abc" at 8.
    expectONNXError(
      modelBytes(graphProto(nodes: [node])),
      .lengthBeyondMessage(
        source: "m.onnx", path: "ModelProto.graph.node[0]", field: "name (field 3)",
        offset: 8, needed: 50, available: 3),
      "m.onnx: length beyond the end of ModelProto.graph.node[0] at byte 8: expected 50 bytes "
        + "of name (field 3), found only 3 before the end of the message")
  }

  @Test func lengthLargerThanAnyFileIsRefusedWithoutAllocating() {
    let bytes = [0x3A] + Proto.varint(1 << 62)
    expectONNXError(
      bytes,
      .truncated(
        source: "m.onnx", path: "ModelProto", field: "graph (field 7)", offset: bytes.count,
        needed: 1 << 62, available: 0))
    let huge = [0x3A] + Proto.varint(.max)
    expectONNXError(
      huge,
      .truncated(
        source: "m.onnx", path: "ModelProto", field: "graph (field 7)", offset: huge.count,
        needed: .max, available: 0))
  }

  @Test func varintLongerThan64BitsIsBad() {
    expectONNXError(
      [0x08] + [UInt8](repeating: 0xFF, count: 9) + [0x02],
      .badVarint(
        source: "m.onnx", path: "ModelProto", field: "ir_version (field 1)", offset: 1,
        problem: .overflows64Bits),
      "m.onnx: bad varint at byte 1: expected a varint of at most 10 bytes (64 bits) for "
        + "ir_version (field 1) of ModelProto, found more than 64 bits")
    expectONNXError(
      [0x08] + [UInt8](repeating: 0x80, count: 10) + [0x00],
      .badVarint(
        source: "m.onnx", path: "ModelProto", field: "ir_version (field 1)", offset: 1,
        problem: .overflows64Bits))
  }

  @Test func varintCutOffByTheEndOfTheFileIsTruncated() {
    expectONNXError(
      [0x08, 0x80, 0x80],
      .badVarint(
        source: "m.onnx", path: "ModelProto", field: "ir_version (field 1)", offset: 1,
        problem: .cutOffByEndOfFile),
      "m.onnx: truncated file at byte 1: expected a varint of at most 10 bytes (64 bits) for "
        + "ir_version (field 1) of ModelProto, found the end of the file before its last byte")
    expectONNXError(
      [0x08, 0x08, 0xB8],
      .badVarint(
        source: "m.onnx", path: "ModelProto", field: "a field tag", offset: 2,
        problem: .cutOffByEndOfFile))
  }

  @Test func varintCutOffByTheEndOfItsMessageOrPackedFieldIsBad() {
    let opset = Proto { $0.raw([0x10, 0x80]) }  // version, cut off
    let bytes = Proto { m in
      m.int(1, 8)
      m.message(7, graphProto())
      m.message(8, opset)
      m.string(2, "p")  // 3 bytes after the opset
    }.bytes
    let offset = bytes.count - 3 - 1
    expectONNXError(
      bytes,
      .badVarint(
        source: "m.onnx", path: "ModelProto.opset_import[0]", field: "version (field 2)",
        offset: offset, problem: .cutOffByEndOfMessage),
      "m.onnx: bad varint at byte \(offset): expected a varint of at most 10 bytes "
        + "(64 bits) for version (field 2) of ModelProto.opset_import[0], found the end of the "
        + "message before its last byte")
    let tensor = Proto { t in
      t.int(2, 7)
      t.bytes(7, [0x01, 0x80])
    }
    #expect(
      onnxError(modelBytes(initializer: tensor))
        == .badVarint(
          source: "m.onnx", path: "ModelProto.graph.initializer[0]",
          field: "int64_data (field 7)", offset: initializerOffset(tensor) + 5,
          problem: .cutOffByEndOfPackedField))
  }

  @Test func invalidTagsAreRefused() {
    expectONNXError(
      [0x00],
      .invalidTag(source: "m.onnx", path: "ModelProto", offset: 0, tag: 0),
      "m.onnx: invalid field tag 0 at byte 0 in ModelProto: field 0, wire type 0: expected a "
        + "field number from 1 to 536870911 and wire type 0, 1, 2, 3 or 5 (4 only to close a "
        + "group)")
    expectONNXError(
      [0x08, 0x08, 0x0F], .invalidTag(source: "m.onnx", path: "ModelProto", offset: 2, tag: 15))
    expectONNXError(
      [0x08, 0x08, 0x0C], .invalidTag(source: "m.onnx", path: "ModelProto", offset: 2, tag: 12))
    let tooLarge = Proto.varint(UInt64(1) << 32 | 2)
    expectONNXError(
      tooLarge, .invalidTag(source: "m.onnx", path: "ModelProto", offset: 0, tag: 1 << 32 | 2))
    // An end-group tag must match its start.
    expectONNXError(
      Proto.tag(95, 3) + Proto.tag(94, 4),
      .invalidTag(source: "m.onnx", path: "ModelProto", offset: 2, tag: 94 << 3 | 4))
  }

  @Test func knownFieldWithAnotherWireTypeIsAMismatch() {
    let node = Proto { n in
      n.int(4, 5)  // op_type as a varint
    }
    expectONNXError(
      modelBytes(graphProto(nodes: [node])),
      .wireTypeMismatch(
        source: "m.onnx", path: "ModelProto.graph.node[0]", field: "op_type (field 4)",
        offset: 6, expected: 2, found: 0),
      "m.onnx: wire type mismatch at byte 6: expected op_type (field 4) of "
        + "ModelProto.graph.node[0] to have wire type 2 (length-delimited), found 0 (varint)")
    let floats = tensorProto("t", dims: [1], type: 1) { $0.int(4, 1) }
    #expect(
      onnxError(modelBytes(initializer: floats))
        == .wireTypeMismatch(
          source: "m.onnx", path: "ModelProto.graph.initializer[0]",
          field: "float_data (field 4)", offset: initializerOffset(floats) + 7, expected: 5,
          found: 0))
    expectONNXError(
      Proto { $0.fixed64(1, 8) }.bytes,
      .wireTypeMismatch(
        source: "m.onnx", path: "ModelProto", field: "ir_version (field 1)", offset: 0,
        expected: 0, found: 1))
  }

  @Test func packedFixedWidthFieldMustHoldWholeElements() {
    let tensor = tensorProto("t", dims: [2], type: 1) { $0.bytes(4, [0, 0, 0x80, 0x3F, 0, 0]) }
    let offset = initializerOffset(tensor) + 9
    expectONNXError(
      modelBytes(initializer: tensor),
      .packedLengthMismatch(
        source: "m.onnx", path: "ModelProto.graph.initializer[0]",
        field: "float_data (field 4)", offset: offset, length: 6, elementSize: 4),
      "m.onnx: bad packed length at byte \(offset): expected a multiple of 4 bytes for "
        + "float_data (field 4) of ModelProto.graph.initializer[0], found 6")
  }

  @Test func groupsNestedTooDeepAreRefused() {
    let depth = 101
    let groups =
      (0..<depth).flatMap { _ in Proto.tag(99, 3) } + (0..<depth).flatMap { _ in Proto.tag(99, 4) }
    let model = modelBytes(graphProto())
    expectONNXError(
      model + groups,
      .nestingTooDeep(source: "m.onnx", path: "ModelProto", offset: model.count + 200, limit: 100),
      "m.onnx: nesting too deep at byte \(model.count + 200) in ModelProto: expected at most "
        + "100 nested messages and groups")
  }

  @Test func subgraphsNestedTooDeepAreRefused() {
    // If inside If inside If...: each level is a graph, a node and an attribute.
    func nested(_ levels: Int) -> Proto {
      var graph = graphProto()
      for _ in 0..<levels {
        let branch = Proto { a in
          a.string(1, "then_branch")
          a.int(20, 5)
          a.message(6, graph)
        }
        let node = nodeProto("If", inputs: ["c"], outputs: [], attributes: [branch])
        graph = graphProto(nodes: [node])
      }
      return graph
    }
    #expect(throws: Never.self) { try ONNX.decode(modelBytes(nested(33))) }
    guard case let .nestingTooDeep(_, path, _, limit)? = onnxError(modelBytes(nested(34))) else {
      Issue.record("34 nested graphs decoded")
      return
    }
    #expect(limit == 100)
    #expect(path.hasPrefix("ModelProto.graph.node[0].attribute[0].g.node[0].attribute[0].g."))
  }

  @Test func groupWithoutItsEndIsUnclosed() {
    let model = modelBytes(graphProto())
    expectONNXError(
      model + Proto.tag(95, 3) + Proto { $0.varint(1, 1) }.bytes,
      .unclosedGroup(
        source: "m.onnx", path: "ModelProto", field: "unknown field 95", offset: model.count,
        endOfFile: true),
      "m.onnx: unclosed group at byte \(model.count): expected an end-group tag for unknown "
        + "field 95 of ModelProto, found the end of the file")
  }
}
