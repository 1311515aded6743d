import Foundation
import GroupConv
import TestSupport
import Testing

/// `groupconv run` and `groupconv bench --model` end to end, on ONNX's conformance models.
@Suite struct RunToolTests {
  static let onnxFixtures = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("InferenceTests/Fixtures")

  /// The grouped convolution case of ONNX's pytorch-converted data, its input as .npy.
  private func groupsCase(_ directory: TemporaryDirectory) throws -> (model: String, expected: Tensor) {
    let folder = Self.onnxFixtures.appendingPathComponent("onnx/pytorch-converted/test_Conv2d_groups")
    let input = try #require(
      try ONNX.loadTensor(contentsOf: folder.appendingPathComponent("input_0.pb").path).value.floatTensor)
    try NPY.write(input, to: directory.path("x.npy"))
    let expected = try #require(
      try ONNX.loadTensor(contentsOf: folder.appendingPathComponent("output_0.pb").path).value.floatTensor)
    return (folder.appendingPathComponent("model.onnx").path, expected)
  }

  @Test(arguments: [false, true])
  func runWritesTheModelsOutput(_ byName: Bool) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let (model, expected) = try groupsCase(directory)
    let session = try InferenceSession(contentsOf: model)
    let input = byName ? "\(session.inputNames[0])=\(directory.path("x.npy"))" : directory.path("x.npy")
    let output = byName ? "\(session.outputNames[0])=\(directory.path("y.npy"))" : directory.path("y.npy")
    let result = try await GroupConvExecutable.run(
      ["run", model, "--input", input, "--output", output], in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    expectClose(try NPY.read(contentsOf: directory.path("y.npy")), expected)
    #expect(result.standardOutput.contains("written to \(directory.path("y.npy"))"))
  }

  @Test func anUnsupportedOperatorIsOneLineBeforeAnythingRuns() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let model = Self.onnxFixtures.appendingPathComponent("unsupported_operator.onnx").path
    let result = try await GroupConvExecutable.run(
      ["run", model, "--input", directory.path("missing.npy"), "--output", directory.path("y.npy")],
      in: directory)
    #expect(result.status != 0)
    #expect(
      result.standardError
        == "groupconv: error: Einsum \"sum_all\" at opset 13: this operator is not supported\n")
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.npy")))
  }

  /// Work that cannot fit in the memory the process may allocate (here a 2.86 GiB address
  /// space, `ulimit -v`) is a one-line error before any of it is allocated: a 1 GiB .npy
  /// input (read, then decoded: about 4 GiB), a plan of 2 GiB of buffers and a 1 GiB output,
  /// and 1 GiB of external data (read, then decoded). The large files are sparse.
  @Test func workPastTheMemoryBudgetIsOneLine() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let gigabyte = 1 << 30
    /// A file of `size` bytes that starts with `prefix`, the rest a hole.
    func sparse(_ name: String, _ prefix: [UInt8], size: Int) throws {
      FileManager.default.createFile(atPath: directory.path(name), contents: Data(prefix))
      let handle = try FileHandle(forWritingTo: directory.url.appendingPathComponent(name))
      try handle.truncate(atOffset: UInt64(size))
      try handle.close()
    }
    // A .npy header of 2^28 float32 values, padded so that the data starts at byte 128.
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 16384, 16384), }"
    header += String(repeating: " ", count: 128 - 10 - header.utf8.count - 1) + "\n"
    let npy = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count), 0] + Array(header.utf8)
    try sparse("big.npy", npy, size: npy.count + gigabyte)
    let (small, _) = try groupsCase(directory)
    try FileManager.default.copyItem(
      atPath: Self.onnxFixtures.appendingPathComponent("gigabyte_external.onnx").path,
      toPath: directory.path("external.onnx"))
    try sparse("w.bin", [], size: gigabyte)
    let limit = 3_000_000
    let runs: [([String], String)] = [
      (
        ["run", small, "--input", directory.path("big.npy"), "--output", directory.path("y.npy")],
        "\(directory.path("big.npy")): reading its 1.0 GiB and decoding them needs about 4.0 GiB "
          + "of memory, but the process can allocate only "
      ),
      (
        ["bench", "--model", Self.onnxFixtures.appendingPathComponent("gigabyte_relu.onnx").path],
        "running the model for these input shapes needs 3.0 GiB: 2.0 GiB of buffers for its "
          + "values and 1.0 GiB for its outputs, but the process can allocate only "
      ),
      (
        ["bench", "--model", directory.path("external.onnx")],
        "reads 1.0 GiB of external file \(directory.path("w.bin")); reading and decoding them "
          + "needs about 3.0 GiB of memory, but the process can allocate only "
      ),
    ]
    for (arguments, message) in runs {
      let result = try await GroupConvExecutable.run(
        arguments, in: directory, addressSpaceKiB: limit)
      #expect(result.status == 1, "\(arguments): \(result.standardError)")
      #expect(result.errorLines.count == 1, "\(arguments): \(result.standardError)")
      #expect(result.standardError.contains(message), "\(arguments): \(result.standardError)")
      #expect(
        result.standardError.hasSuffix(" more (physical memory, or ulimit -v)\n"),
        "\(arguments): \(result.standardError)")
    }
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.npy")))
  }

  /// A NAME=PATH argument must name a graph input or output, once, and give a file; a file
  /// whose name holds "=" is given with its directory.
  @Test func namedArgumentsAreChecked() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let (model, _) = try groupsCase(directory)
    let session = try InferenceSession(contentsOf: model)
    let (input, output) = (session.inputNames[0], session.outputNames[0])
    let x = directory.path("x.npy")
    for (arguments, message) in [
      (
        ["--input", "nope=\(x)", "--output", directory.path("y.npy")],
        "--input nope=\(x): \"nope\" is not an input of the model; its inputs are \"\(input)\""
      ),
      (
        ["--input", x, "--output", "nope=y.npy"],
        "--output nope=y.npy: \"nope\" is not an output of the model; its outputs are "
          + "\"\(output)\""
      ),
      (
        ["--input", "\(input)=\(x)", "--input", "\(input)=\(x)", "--output", "y.npy"],
        "two --input arguments name the model's input \"\(input)\""
      ),
      (["--input", "\(input)=", "--output", "y.npy"], "--input \(input)=: give a file after \"\(input)=\""),
    ] {
      let result = try await GroupConvExecutable.run(["run", model] + arguments, in: directory)
      #expect(result.status != 0)
      #expect(result.standardError == "groupconv: error: \(message)\n", "\(arguments)")
    }
    try FileManager.default.copyItem(atPath: x, toPath: directory.path("a=b.npy"))
    let result = try await GroupConvExecutable.run(
      ["run", model, "--input", directory.path("a=b.npy"), "--output", directory.path("c=d.npy")],
      in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    #expect(FileManager.default.fileExists(atPath: directory.path("c=d.npy")))
  }

  /// GROUPCONV_THREADS, like --threads, must be a thread count the tool can use, and
  /// GROUPCONV_ISA an instruction set the kernels are built for.
  @Test(arguments: [
    ("GROUPCONV_THREADS", "0"), ("GROUPCONV_THREADS", "-1"), ("GROUPCONV_THREADS", "abc"),
    ("GROUPCONV_THREADS", "2000"), ("GROUPCONV_ISA", "avx"), ("GROUPCONV_ISA", "AVX2"),
    ("GROUPCONV_ISA", ""), ("GROUPCONV_ISA", "sse2"),
  ])
  func aBadSettingInTheEnvironmentIsOneLine(_ name: String, _ value: String) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let (model, _) = try groupsCase(directory)
    let result = try await GroupConvExecutable.run(
      ["run", model, "--input", directory.path("x.npy"), "--output", directory.path("y.npy")],
      in: directory, environment: [name: value])
    let rule =
      name == "GROUPCONV_ISA"
      ? "must be avx512, avx2 or generic" : "must be a whole number from 1 to 1024"
    #expect(result.status != 0)
    #expect(result.standardError == "groupconv: error: \(name)=\(value) \(rule)\n")
  }

  @Test func anInputOfTheWrongShapeIsOneLine() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let (model, _) = try groupsCase(directory)
    try NPY.write(try Tensor(shape: [1, 4, 5]), to: directory.path("bad.npy"))
    let result = try await GroupConvExecutable.run(
      ["run", model, "--input", directory.path("bad.npy"), "--output", directory.path("y.npy")],
      in: directory)
    #expect(result.status != 0)
    #expect(result.errorLines.count == 1)
    #expect(result.standardError.contains("has shape [1, 4, 5], but the model declares"))
  }

  @Test func benchModelReportsTheMedianAndOperators() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let (model, _) = try groupsCase(directory)
    let result = try await GroupConvExecutable.run(
      ["bench", "--model", model, "--threads", "1", "--json", directory.path("bench.json")],
      in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    #expect(result.standardOutput.contains("median latency: "))
    let data = try Data(contentsOf: directory.url.appendingPathComponent("bench.json"))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    #expect((object["median_ms"] as? Double ?? 0) > 0)
    let operators = try #require(object["operators"] as? [[String: Any]])
    #expect(operators.map { $0["op"] as? String } == ["Conv"])
  }
}
