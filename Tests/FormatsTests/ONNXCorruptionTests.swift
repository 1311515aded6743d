import Foundation
import Formats
import Testing

/// Checks that `error`, thrown for a corrupt file, reads as one line naming the file.
func expectOneLine(_ error: ONNXError, _ context: String) {
  let message = error.description
  #expect(message.hasPrefix("m.onnx: "), "\(context): \(message)")
  #expect(!message.contains("\n") && !message.contains("\r"), "\(context): \(message)")
}

/// Corrupt files must throw or decode; a trap would end the test run. Every case is
/// deterministic (seeded), so a crash is reproduced by running the suite again.
@Suite struct ONNXCorruptionTests {
  static let small = [
    "conv_groups_relu_opset11.onnx", "conv_transpose_opset13.onnx",
    "depthwise_separable_opset17.onnx", "handmade.onnx", "external/model.onnx",
  ]

  /// The exports end with their only opset_import, after the graph, so every proper
  /// prefix lacks a graph, is cut inside a field, or lacks the operator set.
  @Test(arguments: small.filter { $0 != "handmade.onnx" })
  func everyPrefixThrows(_ name: String) throws {
    let bytes = try onnxFixtureBytes(name)
    let directory = URL(fileURLWithPath: onnxFixturePath(name)).deletingLastPathComponent().path
    #expect(throws: Never.self) {
      try ONNX.decode(bytes, source: "m.onnx", directory: directory)
    }
    for length in 0..<bytes.count {
      let error = onnxError(Array(bytes.prefix(length)), directory: directory)
      #expect(error != nil, "prefix of \(length) bytes decoded")
      if let error { expectOneLine(error, "prefix of \(length) bytes") }
    }
  }

  /// handmade.onnx imports two operator sets; a prefix that ends between them is a valid
  /// protobuf message, a model with the whole graph and the first import only. Every other
  /// prefix throws.
  @Test func everyPrefixThrowsOrEndsBetweenTopLevelFields() throws {
    let bytes = try onnxFixtureBytes("handmade.onnx")
    let whole = try ONNX.decode(bytes)
    var decodedLengths: [Int] = []
    for length in 0..<bytes.count {
      switch Result(catching: { () throws(ONNXError) in
        try ONNX.decode(Array(bytes.prefix(length)), source: "m.onnx")
      }) {
      case let .failure(error): expectOneLine(error, "prefix of \(length) bytes")
      case let .success(model):
        decodedLengths.append(length)
        #expect(model.graph == whole.graph)
        #expect(model.opsetImports == Array(whole.opsetImports.prefix(1)))
      }
    }
    #expect(decodedLengths == [bytes.count - 17])  // the last import: "com.example", 1
  }

  @Test(arguments: ["conv_groups_relu_opset11.onnx", "handmade.onnx"])
  func everyByteChangedThrowsOrDecodes(_ name: String) throws {
    let bytes = try onnxFixtureBytes(name)
    var (decoded, thrown) = (0, 0)
    for index in bytes.indices {
      let original = bytes[index]
      for replacement in Set([0x00, 0xFF, 0x80, 0x7F, original ^ 0x01, original ^ 0x80]) {
        var corrupt = bytes
        corrupt[index] = replacement
        if let error = onnxError(corrupt) {
          thrown += 1
          expectOneLine(error, "byte \(index) = \(replacement)")
        } else {
          decoded += 1
        }
      }
    }
    // Both happen: a changed weight still decodes, a changed length does not.
    #expect(decoded > 0 && thrown > 0)
  }

  @Test(arguments: [1, 2, 3] as [UInt64])
  func randomCorruptionThrowsOrDecodes(seed: UInt64) throws {
    let bytes = try onnxFixtureBytes("handmade.onnx")
    var random = SplitMix64(seed: seed)
    for trial in 0..<1000 {
      var corrupt = bytes
      switch trial % 4 {
      case 0, 1:  // a few random bytes replaced
        for _ in 0..<Int.random(in: 1...8, using: &random) {
          let index = Int.random(in: corrupt.indices, using: &random)
          corrupt[index] = .random(in: 0...255, using: &random)
        }
      case 2:  // a random slice removed
        let start = Int.random(in: corrupt.indices, using: &random)
        let end = min(corrupt.count, start + Int.random(in: 1...64, using: &random))
        corrupt.removeSubrange(start..<end)
      default:  // random bytes inserted
        let junk = (0..<Int.random(in: 1...16, using: &random)).map { _ in
          UInt8.random(in: 0...255, using: &random)
        }
        corrupt.insert(contentsOf: junk, at: Int.random(in: 0...corrupt.count, using: &random))
      }
      if let error = onnxError(corrupt) {
        expectOneLine(error, "seed \(seed), trial \(trial)")
      }
    }
  }

  @Test func hugeCountsAreRefusedBeforeAllocating() {
    // Lengths, dims and packed fields that claim far more than the file holds.
    let claims: [[UInt8]] = [
      modelBytes(initializer: tensorProto("w", dims: [1 << 30, 1 << 30], type: 1, raw: [0])),
      modelBytes(initializer: tensorProto("w", dims: [1 << 60], type: 7) { $0.packed(7, [1]) }),
      modelBytes(graphProto()) + [0x3A] + Proto.varint(1 << 40),
      modelBytes(initializer: Proto { $0.raw([0x22] + Proto.varint(1 << 50)) }),
    ]
    for bytes in claims {
      let error = onnxError(bytes)
      #expect(error != nil)
      if let error { expectOneLine(error, "\(error)") }
    }
  }
}
