import Foundation
import Formats
import Tensors

/// The path of a committed fixture written by `Fixtures/make_npy_fixtures.py`.
func fixturePath(_ name: String) -> String {
  URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures").appendingPathComponent(name).path
}

/// The bytes of a committed fixture.
func fixtureBytes(_ name: String) throws -> [UInt8] {
  [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixturePath(name))))
}

/// An `.npy` file with the given header bytes, padded with spaces and a newline to a
/// multiple of 64 as numpy pads it, then `data`. The header starts at byte 10 for
/// version 1 and at byte 12 for versions 2 and 3.
func npyFile(headerBytes: [UInt8], version: UInt8 = 1, data: [UInt8] = []) -> [UInt8] {
  let lengthSize = version == 1 ? 2 : 4
  var text = headerBytes
  let unpadded = 8 + lengthSize + text.count + 1
  text += repeatElement(UInt8(ascii: " "), count: (64 - unpadded % 64) % 64)
  text.append(UInt8(ascii: "\n"))
  var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [version, 0]
  for index in 0..<lengthSize {
    bytes.append(UInt8(truncatingIfNeeded: text.count >> (8 * index)))
  }
  return bytes + text + data
}

/// `npyFile(headerBytes:version:data:)` with a text header.
func npyFile(header: String, version: UInt8 = 1, data: [UInt8] = []) -> [UInt8] {
  npyFile(headerBytes: Array(header.utf8), version: version, data: data)
}

/// The little-endian bytes of float32 values, as `'<f4'` stores them.
func littleEndianBytes(_ values: [Float]) -> [UInt8] {
  values.flatMap { value in
    (0..<4).map { UInt8(truncatingIfNeeded: value.bitPattern >> (8 * $0)) }
  }
}

/// A tensor's elements as IEEE bits, so that NaN, -0 and payloads compare exactly.
func bits(_ tensor: Tensor) -> [UInt32] {
  tensor.scalars.map(\.bitPattern)
}

/// `0, 1, 2, ...` as floats: what `np.arange(count)` holds.
func arange(_ count: Int, minus offset: Float = 0) -> [Float] {
  (0..<count).map { Float($0) - offset }
}

/// A fresh, empty directory for file tests.
func temporaryDirectory() throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("FormatsTests-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}
