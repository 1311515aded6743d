import Foundation
import Formats
import Testing

/// A model whose only initializer, `w` of shape `dims`, is stored externally with the given
/// `external_data` entries (nil values left out).
func externalModel(
  location: String?, offset: String? = nil, length: String? = nil, dims: [Int] = [4]
) -> [UInt8] {
  let tensor = tensorProto("w", dims: dims, type: 1) { t in
    for (key, value) in [("location", location), ("offset", offset), ("length", length)] {
      guard let value else { continue }
      t.message(13, Proto { $0.string(1, key); $0.string(2, value) })
    }
    t.int(14, 1)
  }
  return modelBytes(initializer: tensor)
}

/// Writes `model` as `model.onnx` and `weights` as `weights.bin` into a fresh directory.
func writeExternalModel(_ model: [UInt8], weights: [UInt8]? = rawFloats([1, 2, 3, 4])) throws
  -> URL
{
  let directory = try temporaryDirectory()
  try Data(model).write(to: directory.appendingPathComponent("model.onnx"))
  if let weights {
    try Data(weights).write(to: directory.appendingPathComponent("weights.bin"))
  }
  return directory
}

/// The error loading `model.onnx` from `directory` throws, or nil when it loads.
func loadError(_ directory: URL) -> ONNXError? {
  do {
    _ = try ONNX.load(contentsOf: directory.appendingPathComponent("model.onnx").path)
    return nil
  } catch {
    return error
  }
}

@Suite struct ONNXExternalDataTests {
  let fixture = onnxFixturePath("external/model.onnx")

  @Test func fixtureReadsEveryTensorFromOneFile() throws {
    let model = try ONNX.load(contentsOf: fixture)
    let storages = model.graph.initializers.map(\.storage)
    #expect(
      storages == [
        .external(location: "weights.bin", offset: 0, length: 288),
        .external(location: "weights.bin", offset: 288, length: 32),
        .external(location: "weights.bin", offset: 320, length: 16),
      ])
    #expect(model.graph.initializer(named: "shape")?.value == .int64(shape: [2], values: [1, -1]))
    #expect(
      model.graph.initializer(named: "b")?.value
        == .float(shape: [8], values: (0..<8).map { Float($0) / 4 }))
    let directory = URL(fileURLWithPath: fixture).deletingLastPathComponent().path
    #expect(
      try ONNX.decode(onnxFixtureBytes("external/model.onnx"), source: fixture,
                      directory: directory) == model)
  }

  @Test func bytesWithoutADirectoryCannotReadExternalData() throws {
    let bytes = try onnxFixtureBytes("external/model.onnx")
    guard case let .externalDataWithoutDirectory(source, path, offset, tensor, location)? =
      onnxError(bytes)
    else {
      Issue.record("decoded without a directory")
      return
    }
    #expect((source, path, tensor, location)
      == ("m.onnx", "ModelProto.graph.initializer[0]", "w", "weights.bin"))
    #expect(
      onnxError(bytes)?.description
        == "m.onnx: tensor 'w' (ModelProto.graph.initializer[0] at byte \(offset)) is stored "
        + "in external file 'weights.bin', but the model was decoded without a directory: "
        + "expected ONNX.load(contentsOf:), or the model's directory for decode")
  }

  @Test func tooShortFileIsOutOfRange() throws {
    let directory = try copyOfExternalFixture()
    defer { try? FileManager.default.removeItem(at: directory) }
    let weights = directory.appendingPathComponent("weights.bin")
    try Data(try Data(contentsOf: weights).prefix(300)).write(to: weights)
    // w (bytes 0..<288) fits; b (288..<320) does not.
    guard
      case let .externalDataOutOfRange(source, path, offset, tensor, file, start, length, size)? =
        loadError(directory)
    else {
      Issue.record("a short weights.bin loaded")
      return
    }
    #expect(source == directory.appendingPathComponent("model.onnx").path)
    #expect(path == "ModelProto.graph.initializer[1]")
    #expect((tensor, file, start, length, size) == ("b", weights.path, 288, 32, 300))
    #expect(
      loadError(directory)?.description
        == "\(source): tensor 'b' (ModelProto.graph.initializer[1] at byte \(offset)) reads "
        + "bytes 288..<320 of external file \(weights.path), which holds 300 bytes: expected a "
        + "range within the file")
  }

  @Test func missingFileIsUnreadable() throws {
    let directory = try copyOfExternalFixture()
    defer { try? FileManager.default.removeItem(at: directory) }
    let weights = directory.appendingPathComponent("weights.bin")
    try FileManager.default.removeItem(at: weights)
    guard case let .externalDataUnreadable(_, path, _, tensor, file, reason)? =
      loadError(directory)
    else {
      Issue.record("loaded without weights.bin")
      return
    }
    #expect((path, tensor, file) == ("ModelProto.graph.initializer[0]", "w", weights.path))
    #expect(reason == "No such file or directory")
    #expect(loadError(directory)?.description.hasSuffix(
      ": cannot read external file \(weights.path): No such file or directory") == true)
  }

  @Test(arguments: ["../weights.bin", "sub/../../weights.bin", "/etc/hostname", "", "..", "a/.."])
  func locationsOutsideTheDirectoryAreRefused(_ location: String) throws {
    let directory = try writeExternalModel(externalModel(location: location, length: "16"))
    defer { try? FileManager.default.removeItem(at: directory) }
    // A file the escape would reach, so that only the check can stop it.
    let outside = directory.deletingLastPathComponent().appendingPathComponent("weights.bin")
    try? Data(rawFloats([9, 9, 9, 9])).write(to: outside)
    guard case let .externalDataEscapesDirectory(_, path, _, tensor, refused)? =
      loadError(directory)
    else {
      Issue.record("location \(location) was read")
      return
    }
    #expect((path, tensor, refused) == ("ModelProto.graph.initializer[0]", "w", location))
    #expect(loadError(directory)?.description.contains(
      "has external location '\(location)': expected a relative path inside the model's "
        + "directory, without '..'") == true)
  }

  @Test func symbolicLinksMustStayInsideTheDirectory() throws {
    let directory = try writeExternalModel(externalModel(location: "link.bin", length: "16"))
    defer { try? FileManager.default.removeItem(at: directory) }
    let outside = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: outside) }
    let target = outside.appendingPathComponent("secret.bin")
    try Data(rawFloats([9, 9, 9, 9])).write(to: target)
    let link = directory.appendingPathComponent("link.bin")
    try FileManager.default.createSymbolicLink(at: link, withDestinationURL: target)
    #expect(
      loadError(directory)
        == .externalDataEscapesDirectory(
          source: directory.appendingPathComponent("model.onnx").path,
          path: "ModelProto.graph.initializer[0]", offset: 9, tensor: "w",
          location: "link.bin"))
    // A link to a file inside the directory is fine.
    try FileManager.default.removeItem(at: link)
    try FileManager.default.createSymbolicLink(
      at: link, withDestinationURL: directory.appendingPathComponent("weights.bin"))
    #expect(loadError(directory) == nil)
  }

  @Test func subdirectoriesAreInside() throws {
    let directory = try writeExternalModel(
      externalModel(location: "data/w.bin", offset: "4", length: "16"), weights: nil)
    defer { try? FileManager.default.removeItem(at: directory) }
    let data = directory.appendingPathComponent("data")
    try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
    try Data(rawFloats([0, 1, 2, 3, 4])).write(to: data.appendingPathComponent("w.bin"))
    let model = try ONNX.load(contentsOf: directory.appendingPathComponent("model.onnx").path)
    #expect(model.graph.initializers[0].value == .float(shape: [4], values: [1, 2, 3, 4]))
  }

  @Test func directoryIsNotAFile() throws {
    let directory = try writeExternalModel(externalModel(location: "data", length: "16"))
    defer { try? FileManager.default.removeItem(at: directory) }
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("data"), withIntermediateDirectories: true)
    guard case let .externalDataUnreadable(_, _, _, _, _, reason)? = loadError(directory) else {
      Issue.record("read a directory")
      return
    }
    #expect(reason == "Is a directory")
  }

  @Test func pipesAreNotReadNorWaitedFor() throws {
    let directory = try writeExternalModel(externalModel(location: "pipe", length: "16"))
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(mkfifo(directory.appendingPathComponent("pipe").path, 0o600) == 0)
    guard case let .externalDataUnreadable(_, _, _, _, _, reason)? = loadError(directory) else {
      Issue.record("read a pipe")
      return
    }
    #expect(reason == "not a regular file")
  }

  @Test(arguments: [
    ("offset", "abc"), ("offset", "-1"), ("offset", "1e3"), ("offset", ""), ("offset", " 4"),
    ("length", "99999999999999999999"), ("length", "+16"), ("length", "0x10"),
  ])
  func offsetAndLengthMustBeDecimalIntegers(key: String, value: String) throws {
    let model =
      key == "offset"
      ? externalModel(location: "weights.bin", offset: value, length: "16")
      : externalModel(location: "weights.bin", offset: "0", length: value)
    let directory = try writeExternalModel(model)
    defer { try? FileManager.default.removeItem(at: directory) }
    #expect(
      loadError(directory)
        == .badExternalDataValue(
          source: directory.appendingPathComponent("model.onnx").path,
          path: "ModelProto.graph.initializer[0]", offset: 9, tensor: "w", key: key,
          value: value))
  }

  @Test func rangeMustHoldExactlyTheTensor() throws {
    let directory = try writeExternalModel(
      externalModel(location: "weights.bin", offset: "0", length: "12"))
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("model.onnx").path
    let storage = ONNXTensorStorage.external(location: "weights.bin", offset: 0, length: 12)
    let error = ONNXError.dataSizeMismatch(
      source: source, path: "ModelProto.graph.initializer[0]", offset: 9, tensor: "w",
      shape: [4], dataType: .float, storage: storage, expected: 16, found: 12)
    #expect(loadError(directory) == error)
    #expect(
      error.description
        == "\(source): tensor 'w' (ModelProto.graph.initializer[0] at byte 9) has shape [4] of "
        + "FLOAT (1), but its external file 'weights.bin' from byte 0 (length 12) holds 12 "
        + "bytes: expected exactly 16")
  }

  @Test func withoutLengthTheDataRunsToTheEndOfTheFile() throws {
    let exact = try writeExternalModel(externalModel(location: "weights.bin", offset: "4"),
                                       weights: rawFloats([0, 1, 2, 3, 4]))
    defer { try? FileManager.default.removeItem(at: exact) }
    let model = try ONNX.load(contentsOf: exact.appendingPathComponent("model.onnx").path)
    #expect(model.graph.initializers[0].value == .float(shape: [4], values: [1, 2, 3, 4]))
    #expect(model.graph.initializers[0].storage == .external(location: "weights.bin", offset: 4,
                                                             length: nil))
    let long = try writeExternalModel(externalModel(location: "weights.bin"),
                                      weights: rawFloats([0, 1, 2, 3, 4]))
    defer { try? FileManager.default.removeItem(at: long) }
    guard case let .dataSizeMismatch(_, _, _, _, _, _, _, expected, found)? = loadError(long)
    else {
      Issue.record("a long external file loaded")
      return
    }
    #expect((expected, found) == (16, 20))
  }

  @Test func offsetPastTheEndIsOutOfRange() throws {
    let directory = try writeExternalModel(
      externalModel(location: "weights.bin", offset: "100", length: "16"))
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("model.onnx").path
    let file = directory.appendingPathComponent("weights.bin").path
    #expect(
      loadError(directory)
        == .externalDataOutOfRange(
          source: source, path: "ModelProto.graph.initializer[0]", offset: 9, tensor: "w",
          file: file, start: 100, length: 16, fileSize: 16))
    let noLength = try writeExternalModel(externalModel(location: "weights.bin", offset: "17"))
    defer { try? FileManager.default.removeItem(at: noLength) }
    #expect(
      loadError(noLength)?.description.hasSuffix(
        "reads bytes from 17 to the end of external file "
          + "\(noLength.appendingPathComponent("weights.bin").path), which holds 16 bytes: "
          + "expected a range within the file") == true)
  }

  @Test func locationIsRequired() throws {
    let directory = try writeExternalModel(externalModel(location: nil, length: "16"))
    defer { try? FileManager.default.removeItem(at: directory) }
    let source = directory.appendingPathComponent("model.onnx").path
    let error = ONNXError.externalDataKeyMissing(
      source: source, path: "ModelProto.graph.initializer[0]", offset: 9, tensor: "w",
      key: "location")
    #expect(loadError(directory) == error)
    #expect(
      error.description
        == "\(source): tensor 'w' (ModelProto.graph.initializer[0] at byte 9) has data_location "
        + "EXTERNAL but no 'location' in external_data: expected the key")
  }
}
