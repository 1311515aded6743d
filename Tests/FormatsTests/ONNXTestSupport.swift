import Foundation
import Formats
import Testing

// MARK: - Fixtures

/// The path of a committed ONNX fixture written by `Fixtures/make_onnx_fixtures.py`.
func onnxFixturePath(_ name: String) -> String {
  fixturePath("onnx/" + name)
}

/// The bytes of a committed ONNX fixture.
func onnxFixtureBytes(_ name: String) throws -> [UInt8] {
  try fixtureBytes("onnx/" + name)
}

/// Checks that decoding `bytes` as `m.onnx` throws exactly `error`, whose message is
/// `message` (when given).
func expectONNXError(
  _ bytes: [UInt8], _ error: ONNXError, _ message: String? = nil, directory: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(throws: error, sourceLocation: sourceLocation) {
    try ONNX.decode(bytes, source: "m.onnx", directory: directory)
  }
  if let message {
    #expect(error.description == message, sourceLocation: sourceLocation)
  }
}

/// The error decoding `bytes` throws, or nil when it decodes.
func onnxError(_ bytes: [UInt8], directory: String? = nil) -> ONNXError? {
  do {
    _ = try ONNX.decode(bytes, source: "m.onnx", directory: directory)
    return nil
  } catch {
    return error
  }
}

// MARK: - Writing protobuf

/// A protobuf message written field by field, to build models (valid or not) byte by byte.
struct Proto {
  private(set) var bytes: [UInt8] = []

  init() {}

  init(_ build: (inout Proto) -> Void) { build(&self) }

  /// The varint encoding of `value`: 7 bits a byte, low first, high bit set on all but
  /// the last.
  static func varint(_ value: UInt64) -> [UInt8] {
    var value = value
    var bytes: [UInt8] = []
    while value >= 0x80 {
      bytes.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    return bytes + [UInt8(value)]
  }

  /// The tag of field `number` with `wireType`.
  static func tag(_ number: Int, _ wireType: Int) -> [UInt8] {
    varint(UInt64(number << 3 | wireType))
  }

  mutating func raw(_ bytes: [UInt8]) { self.bytes += bytes }

  mutating func varint(_ number: Int, _ value: UInt64) {
    raw(Self.tag(number, 0) + Self.varint(value))
  }

  /// An int64 (or int32, or enum): negative values take 10 bytes.
  mutating func int(_ number: Int, _ value: Int) {
    varint(number, UInt64(bitPattern: Int64(value)))
  }

  mutating func fixed32(_ number: Int, _ value: UInt32) {
    raw(Self.tag(number, 5) + (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
  }

  mutating func float(_ number: Int, _ value: Float) { fixed32(number, value.bitPattern) }

  mutating func fixed64(_ number: Int, _ value: UInt64) {
    raw(Self.tag(number, 1) + (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
  }

  mutating func bytes(_ number: Int, _ payload: [UInt8]) {
    raw(Self.tag(number, 2) + Self.varint(UInt64(payload.count)) + payload)
  }

  mutating func string(_ number: Int, _ text: String) { bytes(number, Array(text.utf8)) }

  mutating func message(_ number: Int, _ message: Proto) { bytes(number, message.bytes) }

  /// A packed repeated varint field.
  mutating func packed(_ number: Int, _ values: [Int]) {
    bytes(number, values.flatMap { Self.varint(UInt64(bitPattern: Int64($0))) })
  }
}

// MARK: - Building models

/// The little-endian bytes of float32 values.
func rawFloats(_ values: [Float]) -> [UInt8] {
  values.flatMap { value in
    (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) }
  }
}

/// The little-endian bytes of unsigned integers `size` bytes wide.
func rawIntegers(_ values: [UInt64], size: Int) -> [UInt8] {
  values.flatMap { value in (0..<size).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
}

/// A `TensorProto`: name, dims (unpacked, as onnx writes them), data type, and then
/// whatever `data` adds.
func tensorProto(
  _ name: String, dims: [Int], type: Int, raw: [UInt8]? = nil,
  data: (inout Proto) -> Void = { _ in }
) -> Proto {
  Proto { tensor in
    for dimension in dims { tensor.int(1, dimension) }
    tensor.int(2, type)
    tensor.string(8, name)
    if let raw { tensor.bytes(9, raw) }
    data(&tensor)
  }
}

/// A `NodeProto`.
func nodeProto(
  _ opType: String, inputs: [String], outputs: [String], name: String = "",
  attributes: [Proto] = []
) -> Proto {
  Proto { node in
    for input in inputs { node.string(1, input) }
    for output in outputs { node.string(2, output) }
    if !name.isEmpty { node.string(3, name) }
    node.string(4, opType)
    for attribute in attributes { node.message(5, attribute) }
  }
}

/// A `GraphProto` with the given nodes and initializers, named `g`.
func graphProto(nodes: [Proto] = [], initializers: [Proto] = [], extra: [UInt8] = []) -> Proto {
  Proto { graph in
    for node in nodes { graph.message(1, node) }
    graph.string(2, "g")
    for initializer in initializers { graph.message(5, initializer) }
    graph.raw(extra)
  }
}

/// A `ModelProto`: ir_version 8, then the graph, then opset 13 of the default domain, in
/// field order as onnx writes them.
func modelBytes(_ graph: Proto, irVersion: Int = 8, opset: Int? = 13) -> [UInt8] {
  Proto { model in
    model.int(1, irVersion)
    model.message(7, graph)
    if let opset { model.message(8, Proto { $0.int(2, opset) }) }
  }.bytes
}

/// A model whose graph holds only `tensor` as an initializer.
func modelBytes(initializer tensor: Proto) -> [UInt8] {
  modelBytes(graphProto(initializers: [tensor]))
}

/// Where a model built by `modelBytes(initializer:)` puts its only tensor's message:
/// after ir_version (2 bytes), the graph's tag and length, the graph's name (3 bytes), and
/// the initializer's tag and length.
func initializerOffset(_ tensor: Proto) -> Int {
  let graph = graphProto(initializers: [tensor])
  return 2 + 1 + Proto.varint(UInt64(graph.bytes.count)).count + 3 + 1
    + Proto.varint(UInt64(tensor.bytes.count)).count
}

/// The decoded model's only initializer.
func onlyInitializer(_ tensor: Proto) throws -> ONNXTensor {
  let model = try ONNX.decode(modelBytes(initializer: tensor), source: "m.onnx")
  return try #require(model.graph.initializers.first)
}

// MARK: - Seeded randomness

/// SplitMix64: a small, seeded generator, so a failing corruption case can be replayed.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

// MARK: - Temporary directories

/// A fresh directory holding a copy of the external-data fixture (`model.onnx` and
/// `weights.bin`), for tests that break one of them.
func copyOfExternalFixture() throws -> URL {
  let directory = try temporaryDirectory()
  for name in ["model.onnx", "weights.bin"] {
    try FileManager.default.copyItem(
      atPath: onnxFixturePath("external/" + name),
      toPath: directory.appendingPathComponent(name).path)
  }
  return directory
}
