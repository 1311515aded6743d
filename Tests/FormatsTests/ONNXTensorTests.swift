import Formats
import Testing

// MARK: - Conversions

@Suite struct ONNXTensorConversionTests {
  @Test func float32RawDataKeepsEveryBit() throws {
    let values: [Float] = [0, -0, .infinity, -.infinity, .leastNonzeroMagnitude, -0.1, 3e38]
    let bits = values.map(\.bitPattern) + [0x7FC0_0001]  // and a NaN payload
    let raw = rawIntegers(bits.map(UInt64.init), size: 4)
    let tensor = try onlyInitializer(tensorProto("t", dims: [2, 4], type: 1, raw: raw))
    guard case let .float(shape, floats) = tensor.value else {
      Issue.record("not float: \(tensor.value)")
      return
    }
    #expect(shape == [2, 4])
    #expect(floats.map(\.bitPattern) == bits)
    #expect(tensor.value.floatTensor?.scalars.count == 8)
    #expect(tensor.value.integers == nil)
  }

  @Test func float16RawDataConvertsExactly() throws {
    // 1, -2, 65504 (largest), 2^-24 (smallest subnormal), 2^-14 (smallest normal), inf, -0.
    let halves: [UInt64] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x7C00, 0x8000, 0x7E00]
    let tensor = try onlyInitializer(
      tensorProto("h", dims: [8], type: 10, raw: rawIntegers(halves, size: 2)))
    guard case let .float(_, floats) = tensor.value else {
      Issue.record("not float: \(tensor.value)")
      return
    }
    #expect(tensor.dataType == .float16)
    #expect(Array(floats[0..<7]) == [1, -2, 65504, 0x1p-24, 0x1p-14, .infinity, -0.0])
    #expect(floats[6].sign == .minus)
    #expect(floats[7].isNaN)
  }

  @Test func bfloat16IsTheTopHalfOfFloat32() throws {
    let tensor = try onlyInitializer(
      tensorProto("b", dims: [3], type: 16, raw: rawIntegers([0x3F80, 0xC0A0, 0x7F80], size: 2)))
    #expect(tensor.value == .float(shape: [3], values: [1, -5, .infinity]))
  }

  @Test func doublesRoundToNearestFloat() throws {
    let doubles: [Double] = [0.1, -1e300, 1 + 0x1p-24, 1 + 3 * 0x1p-24]  // ties to even
    let raw = rawIntegers(doubles.map(\.bitPattern), size: 8)
    #expect(
      try onlyInitializer(tensorProto("d", dims: [4], type: 11, raw: raw)).value
        == .float(shape: [4], values: [Float(0.1), -.infinity, 1, 1 + 0x1p-22]))
    let typed = tensorProto("d", dims: [2], type: 11) { t in
      t.fixed64(10, (0.1 as Double).bitPattern)
      t.fixed64(10, (-2.5 as Double).bitPattern)
    }
    let tensor = try onlyInitializer(typed)
    #expect(tensor.storage == .doubleData)
    #expect(tensor.value == .float(shape: [2], values: [Float(0.1), -2.5]))
  }

  @Test func narrowIntegersWidenToInt32() throws {
    let cases: [(type: Int, raw: [UInt8], values: [Int32])] = [
      (3, [0x80, 0x7F, 0xFF], [-128, 127, -1]),  // INT8
      (2, [0x80, 0x7F, 0xFF], [128, 127, 255]),  // UINT8
      (5, [0x00, 0x80, 0xFF, 0x7F, 0xFF, 0xFF], [-32768, 32767, -1]),  // INT16
      (4, [0x00, 0x80, 0xFF, 0x7F, 0xFF, 0xFF], [32768, 32767, 65535]),  // UINT16
      (6, [0x00, 0x00, 0x00, 0x80, 0xFF, 0xFF, 0xFF, 0x7F, 0xFE, 0xFF, 0xFF, 0xFF],
       [.min, .max, -2]),  // INT32
    ]
    for (type, raw, values) in cases {
      let tensor = try onlyInitializer(tensorProto("i", dims: [3], type: type, raw: raw))
      #expect(tensor.value == .int32(shape: [3], values: values), "data type \(type)")
      #expect(tensor.value.integers == values.map(Int64.init))
    }
  }

  @Test func int32DataCarriesNarrowTypesAndHalfBits() throws {
    let int8 = tensorProto("i", dims: [3], type: 3) { $0.packed(5, [-1, 300, 127]) }
    #expect(try onlyInitializer(int8).value == .int32(shape: [3], values: [-1, 44, 127]))
    let half = tensorProto("h", dims: [2], type: 10) { $0.packed(5, [0x3C00, 0xBC00]) }
    #expect(try onlyInitializer(half).value == .float(shape: [2], values: [1, -1]))
    let flags = tensorProto("b", dims: [3], type: 9) { $0.packed(5, [0, 1, 2]) }
    #expect(try onlyInitializer(flags).value == .bool(shape: [3], values: [false, true, true]))
    let rawFlags = tensorProto("b", dims: [3], type: 9, raw: [0, 1, 7])
    #expect(try onlyInitializer(rawFlags).value == .bool(shape: [3], values: [false, true, true]))
    #expect(try onlyInitializer(rawFlags).value.integers == [0, 1, 1])
  }

  @Test func int64RawDataIsLittleEndian() throws {
    let raw = rawIntegers([1, UInt64(bitPattern: -1), UInt64(bitPattern: .min)], size: 8)
    #expect(
      try onlyInitializer(tensorProto("s", dims: [3], type: 7, raw: raw)).value
        == .int64(shape: [3], values: [1, -1, .min]))
  }

  @Test func emptyTensorsNeedNoData() throws {
    let empty = try onlyInitializer(tensorProto("e", dims: [4, 0, 1 << 62], type: 1))
    #expect(empty.value == .float(shape: [4, 0, 1 << 62], values: []))
    #expect(empty.storage == .absent)
    #expect(try onlyInitializer(tensorProto("e", dims: [0], type: 7, raw: [])).storage == .rawData)
  }

  @Test func dataTypesAreNamed() {
    #expect(ONNXDataType.float.description == "FLOAT (1)")
    #expect(ONNXDataType(rawValue: 17).description == "FLOAT8E4M3FN (17)")
    #expect(ONNXDataType(rawValue: -3).description == "unknown (-3)")
    #expect(ONNXDataType.bool.byteSize == 1)
    #expect(ONNXDataType.string.byteSize == nil)
  }
}

// MARK: - Errors

@Suite struct ONNXTensorErrorTests {
  /// Expects decoding a model with `tensor` as its only initializer to throw `error(offset)`.
  func expectError(
    _ tensor: Proto, _ error: (Int) -> ONNXError, _ message: String? = nil,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    expectONNXError(
      modelBytes(initializer: tensor), error(initializerOffset(tensor)), message,
      sourceLocation: sourceLocation)
  }

  let path = "ModelProto.graph.initializer[0]"

  @Test func unsupportedDataTypesAreNamed() {
    let strings = tensorProto("s", dims: [1], type: 8) { $0.bytes(6, Array("a".utf8)) }
    expectError(
      strings,
      {
        .unsupportedDataType(
          source: "m.onnx", path: path, offset: $0, tensor: "s", dataType: .string)
      },
      "m.onnx: unsupported data type STRING (8) for tensor 's' (ModelProto.graph.initializer[0] "
        + "at byte 9): expected FLOAT, FLOAT16, BFLOAT16, DOUBLE (read as float32), INT64, "
        + "INT32, INT16, INT8, UINT16, UINT8 (read as int32) or BOOL")
    for type in [0, 12, 13, 14, 15, 17, 22, 99] {
      let tensor = tensorProto("t", dims: [1], type: type, raw: [0, 0, 0, 0, 0, 0, 0, 0])
      expectError(tensor) {
        .unsupportedDataType(
          source: "m.onnx", path: path, offset: $0, tensor: "t",
          dataType: ONNXDataType(rawValue: Int32(type)))
      }
    }
  }

  @Test func dimensionsMustBeNonNegative() {
    expectError(
      tensorProto("w", dims: [4, -3], type: 1),
      {
        .negativeDimension(
          source: "m.onnx", path: path, offset: $0, tensor: "w", dims: [4, -3], index: 1)
      },
      "m.onnx: tensor 'w' (ModelProto.graph.initializer[0] at byte 9) has dims [4, -3] with "
        + "-3 at index 1: expected non-negative sizes")
  }

  @Test func byteSizeMustFitInAnInt() {
    for dims in [[1 << 62, 2], [Int.max, 2], [1 << 40, 1 << 40], [1 << 61, 1]] {
      expectError(tensorProto("w", dims: dims, type: 1, raw: [0, 0, 0, 0])) {
        .tooManyElements(
          source: "m.onnx", path: path, offset: $0, tensor: "w", dims: dims.map(Int64.init))
      }
    }
    // Huge but representable: refused by the size check, before any allocation.
    expectError(tensorProto("w", dims: [1 << 40], type: 1, raw: [0, 0, 0, 0])) {
      .dataSizeMismatch(
        source: "m.onnx", path: path, offset: $0, tensor: "w", shape: [1 << 40],
        dataType: .float, storage: .rawData, expected: 1 << 42, found: 4)
    }
  }

  @Test func rawDataMustHoldExactlyTheElements() {
    let offset = initializerOffset(tensorProto("w", dims: [2, 3], type: 1, raw: rawFloats([1])))
    expectError(
      tensorProto("w", dims: [2, 3], type: 1, raw: rawFloats([1])),
      { .dataSizeMismatch(
        source: "m.onnx", path: path, offset: $0, tensor: "w", shape: [2, 3], dataType: .float,
        storage: .rawData, expected: 24, found: 4) },
      "m.onnx: tensor 'w' (ModelProto.graph.initializer[0] at byte \(offset)) has shape [2, 3] "
        + "of FLOAT (1), but its raw_data (field 9) holds 4 bytes: expected exactly 24")
    expectError(tensorProto("w", dims: [1], type: 1, raw: rawFloats([1, 2]))) {
      .dataSizeMismatch(
        source: "m.onnx", path: path, offset: $0, tensor: "w", shape: [1], dataType: .float,
        storage: .rawData, expected: 4, found: 8)
    }
    expectError(tensorProto("s", dims: [], type: 7)) {
      .dataSizeMismatch(
        source: "m.onnx", path: path, offset: $0, tensor: "s", shape: [], dataType: .int64,
        storage: .rawData, expected: 8, found: 0)
    }
  }

  @Test func typedFieldsMustHoldExactlyTheElements() {
    let floats = tensorProto("b", dims: [3], type: 1) { $0.bytes(4, rawFloats([1, 2])) }
    expectError(
      floats,
      { .dataSizeMismatch(
        source: "m.onnx", path: path, offset: $0, tensor: "b", shape: [3], dataType: .float,
        storage: .floatData, expected: 3, found: 2) },
      "m.onnx: tensor 'b' (ModelProto.graph.initializer[0] at byte 9) has shape [3] of "
        + "FLOAT (1), but its float_data (field 4) holds 2 values: expected exactly 3")
    let ints = tensorProto("a", dims: [1], type: 7) { $0.packed(7, [1, 2]) }
    expectError(ints) {
      .dataSizeMismatch(
        source: "m.onnx", path: path, offset: $0, tensor: "a", shape: [1], dataType: .int64,
        storage: .int64Data, expected: 1, found: 2)
    }
  }

  @Test func dataMustBeInOnePlace() {
    let both = tensorProto("w", dims: [1], type: 1, raw: rawFloats([1])) { $0.float(4, 1) }
    expectError(
      both,
      { .conflictingData(
        source: "m.onnx", path: path, offset: $0, tensor: "w",
        fields: ["raw_data (field 9)", "float_data (field 4)"]) },
      "m.onnx: tensor 'w' (ModelProto.graph.initializer[0] at byte 9) stores data in "
        + "raw_data (field 9) and float_data (field 4): expected exactly one of them")
    let externalAndRaw = tensorProto("w", dims: [1], type: 1, raw: rawFloats([1])) { t in
      t.message(13, Proto { $0.string(1, "location"); $0.string(2, "w.bin") })
      t.int(14, 1)
    }
    expectError(externalAndRaw) {
      .conflictingData(
        source: "m.onnx", path: path, offset: $0, tensor: "w",
        fields: ["raw_data (field 9)", "external data (data_location 1)"])
    }
  }

  @Test func dataMustBeInTheFieldItsTypeUses() {
    let wrong = tensorProto("w", dims: [1], type: 1) { $0.packed(7, [1]) }
    expectError(
      wrong,
      { .wrongDataField(
        source: "m.onnx", path: path, offset: $0, tensor: "w", dataType: .float,
        field: "int64_data (field 7)", expected: "float_data (field 4) or raw_data (field 9)") },
      "m.onnx: tensor 'w' (ModelProto.graph.initializer[0] at byte 9) of type FLOAT (1) "
        + "stores data in int64_data (field 7): expected float_data (field 4) or raw_data "
        + "(field 9)")
    let uint64 = tensorProto("w", dims: [1], type: 7) { $0.packed(11, [1]) }
    expectError(uint64) {
      .wrongDataField(
        source: "m.onnx", path: path, offset: $0, tensor: "w", dataType: .int64,
        field: "uint64_data (field 11)", expected: "int64_data (field 7) or raw_data (field 9)")
    }
  }

  @Test func dataLocationMustBeDefaultOrExternal() {
    expectError(
      tensorProto("w", dims: [1], type: 1, raw: rawFloats([1])) { $0.int(14, 2) },
      { .unsupportedDataLocation(source: "m.onnx", path: path, offset: $0, tensor: "w", value: 2) },
      "m.onnx: tensor 'w' (ModelProto.graph.initializer[0] at byte 9) has data_location 2: "
        + "expected 0 (DEFAULT) or 1 (EXTERNAL)")
  }

  @Test func segmentedTensorsAreUnsupported() {
    let segmented = tensorProto("w", dims: [1], type: 1, raw: rawFloats([1])) {
      $0.message(3, Proto { $0.int(1, 0) })
    }
    expectError(segmented) {
      .unsupportedField(
        source: "m.onnx", path: path, field: "segment (field 3)", offset: $0 + 13)
    }
  }

  @Test func tensorsInAttributesAreCheckedLikeInitializers() {
    let value = Proto { a in
      a.string(1, "value")
      a.int(20, 4)
      a.message(5, tensorProto("", dims: [2], type: 1, raw: rawFloats([1])))
    }
    let node = nodeProto("Constant", inputs: [], outputs: ["c"], attributes: [value])
    guard case let .dataSizeMismatch(_, path, _, _, _, _, _, expected, found)? =
      onnxError(modelBytes(graphProto(nodes: [node])))
    else {
      Issue.record("a short Constant value decoded")
      return
    }
    #expect(path == "ModelProto.graph.node[0].attribute[0].t")
    #expect((expected, found) == (8, 4))
  }

  @Test func namesFromTheFileCannotBreakTheMessageLine() {
    let tensor = tensorProto("evil\nname", dims: [-1], type: 1)
    let error = onnxError(modelBytes(initializer: tensor))
    #expect(error?.description.contains("\n") == false)
    #expect(error?.description.contains("tensor 'evil\\nname'") == true)
  }
}
