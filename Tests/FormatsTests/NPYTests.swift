import Foundation
import Formats
import Tensors
import Testing

// MARK: - Round trips

@Suite struct NPYRoundTripTests {
  static let shapes: [[Int]] = [
    [], [1], [5], [0], [2, 3], [0, 3], [3, 0, 2], [7, 1, 5], [1, 2, 1, 3, 4, 1], [2, 3, 4, 5],
  ]

  @Test(arguments: shapes)
  func encodeThenDecodeGivesTheSameTensor(_ shape: [Int]) throws {
    let count = shape.reduce(1, *)
    let scalars = (0..<count).map { Float($0) * 0.37 - 3 }
    let tensor = try Tensor(shape: shape, scalars: scalars)
    #expect(try NPY.decode(NPY.encode(tensor)) == tensor)
  }

  @Test func specialValuesSurviveBitForBit() throws {
    let scalars: [Float] = [
      0, -0, .infinity, -.infinity, .nan, -.nan, .leastNonzeroMagnitude,
      .greatestFiniteMagnitude, Float(bitPattern: 0x7FA0_0001),
    ]
    let tensor = try Tensor(shape: [3, 3], scalars: scalars)
    #expect(try bits(NPY.decode(NPY.encode(tensor))) == bits(tensor))
  }

  @Test func writeThenReadGivesTheSameTensor() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("x.npy").path
    let tensor = try Tensor(shape: [2, 1, 3], scalars: [1, -2, 3.5, 0, 1e-20, 7])
    try NPY.write(tensor, to: path)
    #expect(try NPY.read(contentsOf: path) == tensor)
    // Writing again replaces the file.
    let scalar = try Tensor(shape: [], scalars: [42])
    try NPY.write(scalar, to: path)
    #expect(try NPY.read(contentsOf: path) == scalar)
  }

  /// A symbolic link stays a link, and the file it leads to gets the tensor.
  @Test func writingThroughALinkWritesItsTarget() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let target = directory.appendingPathComponent("target.npy").path
    let link = directory.appendingPathComponent("link.npy").path
    let tensor = try Tensor(shape: [2], scalars: [1, 2])
    try NPY.write(tensor, to: target)
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    let replacement = try Tensor(shape: [3], scalars: [4, 5, 6])
    try NPY.write(replacement, to: link)
    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
    #expect(try NPY.read(contentsOf: target) == replacement)
  }

  /// A pipe (as a device such as /dev/stdout) is written to, not replaced by a file.
  @Test func aPipeIsWrittenToNotReplaced() throws {
    let directory = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("pipe").path
    #expect(mkfifo(path, 0o600) == 0)
    // A reader that does not wait for the writer, so that opening to write does not block.
    let reader = open(path, O_RDONLY | O_NONBLOCK)
    #expect(reader >= 0)
    defer { close(reader) }
    let tensor = try Tensor(shape: [2, 2], scalars: [1, -2, 3, 0.5])
    try NPY.write(tensor, to: path)
    var bytes = [UInt8](repeating: 0, count: 4096)
    let count = read(reader, &bytes, bytes.count)
    #expect(try NPY.decode(Array(bytes[..<max(count, 0)])) == tensor)
    var status = stat()
    #expect(lstat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFIFO)
  }
}

// MARK: - numpy's own files

/// A committed file written by `make_npy_fixtures.py`, and the tensor it holds.
struct NPYFixture: Sendable, CustomTestStringConvertible {
  var name: String
  var shape: [Int]
  /// The expected elements, in C order, as float32 bits.
  var bits: [UInt32]
  var testDescription: String { name }

  init(_ name: String, _ shape: [Int], _ scalars: [Float]) {
    (self.name, self.shape, self.bits) = (name, shape, scalars.map(\.bitPattern))
  }

  init(_ name: String, _ shape: [Int], bits: [UInt32]) {
    (self.name, self.shape, self.bits) = (name, shape, bits)
  }

  /// numpy's float32 files, which `NPY.encode` must reproduce byte for byte.
  static let float32: [NPYFixture] = [
    NPYFixture("f4_arange_2x3.npy", [2, 3], arange(6)),
    NPYFixture("f4_scalar.npy", [], [-1.5]),
    NPYFixture("f4_vector_5.npy", [5], [0, 0.25, 0.5, 0.75, 1]),
    NPYFixture("f4_empty_0x3.npy", [0, 3], []),
    NPYFixture("f4_rank6.npy", [1, 2, 1, 3, 4, 1], arange(24)),
    NPYFixture(
      "f4_special.npy", [8],
      bits: [
        0, 0x8000_0000, 0x7F80_0000, 0xFF80_0000, 0x7FC0_0000, 0x0000_0001, 0x7F7F_FFFF,
        0xBDCC_CCCD,
      ]),
  ]

  /// The float16 values of `HALF_SPECIALS` in the script, exactly widened.
  static let halfSpecials: [UInt32] = [
    0x0, 0x8000_0000, 0x3F80_0000, 0xC000_0000, 0x3F00_0000, 0x3DCC_C000, 0x477F_E000,
    0x3880_0000, 0x3380_0000, 0x3800_4000, 0xB580_0000, 0x7F80_0000, 0xFF80_0000,
    0x7FC0_0000,
  ]

  /// Other dtypes, byte orders, Fortran order and later format versions.
  static let converted: [NPYFixture] = [
    NPYFixture("f8_arange_2x3.npy", [2, 3], arange(6, minus: 2.5)),
    NPYFixture(
      "f8_special.npy", [9],
      // -2.5, 0.1, 1e300 → inf, -1e300 → -inf, -1e-50 → -0, 2^-149, nan, ties to even.
      bits: [
        0xC020_0000, 0x3DCC_CCCD, 0x7F80_0000, 0xFF80_0000, 0x8000_0000, 0x0000_0001,
        0x7FC0_0000, 0x3F80_0000, 0x3F80_0002,
      ]),
    NPYFixture("f2_special.npy", [14], bits: halfSpecials),
    NPYFixture("f4_big_arange_2x3.npy", [2, 3], arange(6)),
    NPYFixture("f8_big_arange_2x3.npy", [2, 3], arange(6, minus: 2.5)),
    NPYFixture("f2_big_special.npy", [14], bits: halfSpecials),
    NPYFixture("f4_fortran_2x3.npy", [2, 3], arange(6)),
    NPYFixture("f4_fortran_2x3x4.npy", [2, 3, 4], arange(24)),
    NPYFixture("f8_big_fortran_3x2x2.npy", [3, 2, 2], arange(12)),
    NPYFixture("f4_v2_arange_2x3.npy", [2, 3], arange(6)),
    NPYFixture("f4_v3_arange_2x3.npy", [2, 3], arange(6)),
  ]
}

@Suite struct NPYNumpyFileTests {
  @Test(arguments: NPYFixture.float32 + NPYFixture.converted)
  func readsNumpyFile(_ fixture: NPYFixture) throws {
    let tensor = try NPY.read(contentsOf: fixturePath(fixture.name))
    #expect(tensor.shape == fixture.shape)
    #expect(bits(tensor) == fixture.bits)
  }

  @Test(arguments: NPYFixture.float32)
  func encodesExactlyAsNumpySaves(_ fixture: NPYFixture) throws {
    let scalars = fixture.bits.map(Float.init(bitPattern:))
    let tensor = try Tensor(shape: fixture.shape, scalars: scalars)
    #expect(NPY.encode(tensor) == (try fixtureBytes(fixture.name)))
  }

  @Test func refusesNumpyIntegerFile() throws {
    let path = fixturePath("i4_arange_4.npy")
    #expect(throws: FormatError.unsupportedDType(source: path, descr: "'<i4'")) {
      try NPY.read(contentsOf: path)
    }
  }
}

// MARK: - Decoding details

@Suite struct NPYDecodingTests {
  /// Every float16 bit pattern, against the IEEE definition worked out in Double.
  @Test(arguments: [false, true])
  func decodesEveryHalfPrecisionValue(bigEndian: Bool) throws {
    let patterns = (0...UInt16.max).map { $0 }
    let data = patterns.flatMap { bits in
      bigEndian ? [UInt8(bits >> 8), UInt8(bits & 0xFF)] : [UInt8(bits & 0xFF), UInt8(bits >> 8)]
    }
    let descr = bigEndian ? ">f2" : "<f2"
    let header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (65536,), }"
    let tensor = try NPY.decode(npyFile(header: header, data: data))
    var mismatches: [UInt16] = []
    for (bits, value) in zip(patterns, tensor.scalars) {
      let sign: FloatingPointSign = bits >> 15 == 0 ? .plus : .minus
      let exponent = Int(bits >> 10 & 0x1F)
      let fraction = Double(bits & 0x3FF)
      let expected: Float
      switch exponent {
      case 0: expected = Float(Double(sign: sign, exponent: -24, significand: fraction))
      case 31 where fraction == 0: expected = sign == .plus ? .infinity : -.infinity
      case 31:
        // A NaN keeps its sign, stays quiet or signalling, and keeps its payload.
        let ok =
          value.isNaN && value.sign == sign
          && value.bitPattern & 0x7F_FFFF == UInt32(bits & 0x3FF) << 13
        if !ok { mismatches.append(bits) }
        continue
      default:
        expected = Float(
          Double(sign: sign, exponent: exponent - 15, significand: 1 + fraction / 1024))
      }
      if expected.bitPattern != value.bitPattern { mismatches.append(bits) }
    }
    #expect(mismatches.isEmpty, "first bad patterns: \(mismatches.prefix(5))")
    #if os(Linux)
      // Where the standard library has Float16 (not on Intel Macs), it agrees on every
      // non-NaN value.
      let disagreements = zip(patterns, tensor.scalars).filter { bits, value in
        let reference = Float(Float16(bitPattern: bits))
        return !reference.isNaN && reference.bitPattern != value.bitPattern
      }
      #expect(disagreements.isEmpty)
    #endif
  }

  /// A Fortran array of shape (a, b, c) stores [i, j, k] at i + a * (j + b * k).
  @Test func transposesFortranOrderByTheStorageFormula() throws {
    let (a, b, c) = (2, 3, 4)
    var stored = [Float](repeating: 0, count: a * b * c)
    for i in 0..<a {
      for j in 0..<b {
        for k in 0..<c { stored[i + a * (j + b * k)] = Float(100 * i + 10 * j + k) }
      }
    }
    let header = "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }"
    let tensor = try NPY.decode(npyFile(header: header, data: littleEndianBytes(stored)))
    #expect(tensor.shape == [a, b, c])
    for i in 0..<a {
      for j in 0..<b {
        for k in 0..<c { #expect(tensor[i, j, k] == Float(100 * i + 10 * j + k)) }
      }
    }
  }

  /// Headers numpy would accept although it never writes them this way.
  @Test(arguments: [
    ("{'shape': (2, 3), 'descr': '<f4', 'fortran_order': False}", [2, 3]),
    ("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2, 3)}", [2, 3]),
    ("  {  'descr' :'<f4','fortran_order':False,'shape':(2,3,),  }  ", [2, 3]),
    ("{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (6,)}", [6]),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", [2, 3]),
    ("{'descr': '<f4', 'fortran_order': False, 'shape': (+6, ), }", [6]),
    ("{'descr': '=f4', 'fortran_order': False, 'shape': (6,), }", [6]),
    ("{'descr': '|f4', 'fortran_order': False, 'shape': (1, 6), }", [1, 6]),
  ])
  func acceptsEquivalentHeaders(_ header: String, _ shape: [Int]) throws {
    let tensor = try NPY.decode(npyFile(header: header, data: littleEndianBytes(arange(6))))
    #expect(tensor.shape == shape)
    #expect(tensor.scalars == arange(6))
  }

  @Test(arguments: [
    ("()", [Int](), 1), ("(5,)", [5], 5), ("(2, 3)", [2, 3], 6), ("(0, 3)", [0, 3], 0),
    ("(3, 0)", [3, 0], 0),
  ])
  func readsShape(_ text: String, _ shape: [Int], _ count: Int) throws {
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(text), }"
    let tensor = try NPY.decode(npyFile(header: header, data: littleEndianBytes(arange(count))))
    #expect(tensor.shape == shape)
    #expect(tensor.scalars == arange(count))
  }
}

// MARK: - Header layout

@Suite struct NPYEncodingTests {
  @Test func writesVersion1HeaderAlignedTo64Bytes() throws {
    let bytes = NPY.encode(try Tensor(shape: [2, 3], scalars: arange(6)))
    let header = String(decoding: bytes[10..<128], as: UTF8.self)
    #expect(bytes.prefix(10) == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 118, 0])
    #expect(header.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } "))
    #expect(header.hasSuffix(" \n"))
    #expect(bytes.count == 128 + 24)
  }

  /// Ranks far beyond numpy's 64, so that the header crosses version 1.0's 65535 bytes;
  /// the sizes are those numpy's `_wrap_header_guess_version` gives for the same header.
  @Test(arguments: [
    (21817, [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, 0xF6, 0xFF] as [UInt8], 65536),
    (21818, [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0x34, 0x00, 0x01, 0x00], 65600),
  ])
  func fallsBackToVersion2ForHugeHeaders(rank: Int, prefix: [UInt8], dataOffset: Int) throws {
    let tensor = try Tensor(shape: Array(repeating: 1, count: rank), scalars: [2.5])
    let bytes = NPY.encode(tensor)
    #expect(Array(bytes.prefix(prefix.count)) == prefix)
    #expect(bytes.count == dataOffset + 4)
    #expect(bytes[dataOffset - 1] == UInt8(ascii: "\n"))
    #expect(try NPY.decode(bytes) == tensor)
  }
}

// MARK: - Robustness

@Suite struct NPYRobustnessTests {
  /// Bytes that can turn a header into something else: digits and signs that change a
  /// shape, brackets and quotes that unbalance it, and non-text bytes.
  static let troublemakers: [UInt8] = Array("9-,(]'\"L\n".utf8) + [0x00, 0x80, 0xFF]

  @Test(arguments: NPYFixture.float32 + NPYFixture.converted)
  func cutOrCorruptedFilesThrowInsteadOfTrapping(_ fixture: NPYFixture) throws {
    let bytes = try fixtureBytes(fixture.name)
    for length in 0..<bytes.count {
      #expect(throws: FormatError.self) { try NPY.decode(Array(bytes.prefix(length))) }
    }
    #expect(throws: FormatError.self) { try NPY.decode(bytes + [0]) }
    // Each preamble and header byte replaced in turn: decodes or throws, never traps.
    let dataOffset = bytes.firstIndex(of: UInt8(ascii: "\n"))! + 1
    for position in 0..<dataOffset {
      for byte in Self.troublemakers {
        var corrupted = bytes
        corrupted[position] = byte
        _ = try? NPY.decode(corrupted)
      }
    }
  }
}
