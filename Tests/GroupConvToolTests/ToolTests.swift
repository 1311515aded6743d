import Foundation
import GroupConv
import TestSupport
import Testing

// `groupconv` end to end: the built executable runs as a subprocess on the PyTorch fixtures'
// .npy files, and its outputs, messages and exit statuses are checked.

/// Expects a failed run whose standard error is exactly one line, `groupconv: error: ...`:
/// no usage text, no stack dump.
private func expectOneErrorLine(
  _ result: ToolResult, _ context: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(result.status != 0, "\(context): exit status 0", sourceLocation: sourceLocation)
  #expect(
    result.errorLines.count == 1, "\(context): stderr is not one line:\n\(result.standardError)",
    sourceLocation: sourceLocation)
  #expect(
    result.standardError.hasPrefix("groupconv: error: "),
    "\(context): stderr \(result.standardError)", sourceLocation: sourceLocation)
  #expect(
    !result.standardError.contains("Stack dump") && !result.standardError.contains("Fatal error"),
    "\(context): stderr \(result.standardError)", sourceLocation: sourceLocation)
}

/// The one line the tool prints for `message`.
private func errorLine(_ message: String) -> String { "groupconv: error: \(message)\n" }

@Suite struct ToolTests {
  /// One of each kind: 1-, 2- and 3-D; groups and depth multipliers; every padding form
  /// (one value, one per dimension, begins then ends, 'same', 'valid') and mode; transposed
  /// with output padding; an empty batch; with and without bias.
  static let representative = [
    "conv1d_basic_n2_bias",
    "conv1d_n1_no_bias",
    "conv1d_depthwise_m2_dilation2",
    "conv1d_asym_pad_1_2",
    "conv1d_asym_reflect_2_1",
    "conv1d_circular_same_k2_dilation3",
    "conv1d_valid",
    "conv1d_empty_batch",
    "conv2d_groups2",
    "conv2d_groups6_1to2",
    "conv2d_depthwise_m2",
    "conv2d_depthwise_m3",
    "conv2d_dilation_stride_groups_tail_unused",
    "conv2d_pad_per_dim_1x2",
    "conv2d_same_even_k4x2",
    "conv2d_valid",
    "conv2d_asym_pad",
    "conv2d_asym_pad_stride2_tail_unused",
    "conv2d_reflect_pad_max",
    "conv2d_replicate_pad_gt_input",
    "conv2d_circular_pad_max",
    "conv2d_asym_replicate",
    "conv2d_asym_circular",
    "conv2d_reflect_groups2_stride2",
    "conv2d_empty_batch",
    "conv2d_empty_batch_reflect",
    "conv3d_groups2_stride2_pad1",
    "conv3d_stride_dilation_mixed",
    "conv3d_depthwise_m2",
    "conv3d_asym_pad",
    "conv3d_replicate_same_even_k2",
    "conv3d_empty_batch",
    "convt1d_stride3_pad1_outpad2",
    "convt1d_asym_pad",
    "convt2d_n1_no_bias",
    "convt2d_groups2_stride2_pad1_outpad1",
    "convt2d_depthwise_m2",
    "convt2d_stride_2x3_outpad_1x2",
    "convt2d_outpad_ge_stride_lt_dilation",
    "convt2d_asym_pad_outpad_groups2",
    "convt2d_empty_batch",
    "convt3d_groups2_stride2_outpad1",
  ]

  @Test func executableIsBuiltBesideTheTests() throws {
    let url = try #require(
      GroupConvExecutable.url,
      "no groupconv executable; looked at \(GroupConvExecutable.candidates.map(\.path))")
    #expect(FileManager.default.isExecutableFile(atPath: url.path))
  }

  @Test func representativeCasesAreInTheManifest() {
    let found = Set(ToolFixture.named(Self.representative).map(\.name))
    #expect(found.count == Self.representative.count,
      "missing: \(Set(Self.representative).subtracting(found).sorted())")
    #expect(ToolFixture.named(Self.representative).allSatisfy { !$0.refused })
  }

  // MARK: - Results

  @Test(arguments: ToolFixture.named(representative))
  func convAndGradientsMatchPyTorch(_ c: ToolFixture) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    var arguments = [
      "conv", "--input", c.path("x"), "--weight", c.path("w"),
      "--output", directory.path("y.npy"),
    ]
    arguments += c.optionArguments
    arguments += [
      "--grad-output", c.path("dy"), "--grad-input", directory.path("dx.npy"),
      "--grad-weight", directory.path("dw.npy"),
    ]
    if c.bias {
      arguments += ["--bias", c.path("b"), "--grad-bias", directory.path("db.npy")]
    }
    let result = try await GroupConvExecutable.run(arguments, in: directory)
    try #require(
      result.status == 0, "\(c.name): exit status \(result.status): \(result.standardError)")
    #expect(result.standardError.isEmpty)
    // A summary of the forward pass, then where the gradients went.
    let lines = result.standardOutput.split(separator: "\n").map(String.init)
    let x = try c.tensor("x")
    let w = try c.tensor("w")
    let expectedY = try c.tensor("y")
    #expect(lines.count == 2, "\(result.standardOutput)")
    #expect(
      lines.first?.hasPrefix(
        "\(c.operation): input \(x.shape), weight \(w.shape), groups \(c.groups) -> output "
          + "\(expectedY.shape) in ") == true,
      "\(result.standardOutput)")
    #expect(lines.first?.hasSuffix(" ms, written to \(directory.path("y.npy"))") == true)
    let gradientFiles = ["dx.npy", "dw.npy"] + (c.bias ? ["db.npy"] : [])
    #expect(
      lines.last
        == "gradients written to "
        + gradientFiles.map { directory.path($0) }.joined(separator: ", "))

    let y = try NPY.read(contentsOf: directory.path("y.npy"))
    expectClose(y, expectedY, .float32, "\(c.name) output")
    expectClose(
      try NPY.read(contentsOf: directory.path("dx.npy")), try c.tensor("dx"), .float32,
      "\(c.name) grad input")
    expectClose(
      try NPY.read(contentsOf: directory.path("dw.npy")), try c.tensor("dw"), .float32,
      "\(c.name) grad weight")
    if c.bias {
      expectClose(
        try NPY.read(contentsOf: directory.path("db.npy")), try c.tensor("db"), .float32,
        "\(c.name) grad bias")
    } else {
      #expect(!FileManager.default.fileExists(atPath: directory.path("db.npy")))
    }
  }

  @Test(arguments: ToolFixture.named(["conv2d_basic_n2_bias", "convt2d_groups3"]))
  func forwardOnlyWritesTheOutputAlone(_ c: ToolFixture) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let arguments =
      ["conv", "--input", c.path("x"), "--weight", c.path("w"), "--bias", c.path("b")]
      + ["--output", directory.path("y.npy")] + c.optionArguments
    let result = try await GroupConvExecutable.run(arguments, in: directory)
    try #require(result.status == 0, "\(c.name): \(result.standardError)")
    expectClose(try NPY.read(contentsOf: directory.path("y.npy")), try c.tensor("y"))
    let written = try FileManager.default.contentsOfDirectory(atPath: directory.url.path)
    #expect(written.filter { $0.hasSuffix(".npy") } == ["y.npy"])
  }

  /// The output file has numpy's exact bytes for the float32 array.
  @Test func outputIsWhatNumpySaves() async throws {
    let c = try #require(ToolFixture.named(["conv2d_n1_no_bias"]).first)
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let arguments =
      ["conv", "--input", c.path("x"), "--weight", c.path("w")]
      + ["--output", directory.path("y.npy")] + c.optionArguments
    let result = try await GroupConvExecutable.run(arguments, in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    let bytes = try [UInt8](Data(contentsOf: directory.url.appendingPathComponent("y.npy")))
    let y = try NPY.read(contentsOf: directory.path("y.npy"))
    #expect(bytes == NPY.encode(y))
    #expect(bytes.count == 128 + 4 * 27)  // a 128-byte preamble, then [1, 3, 3, 3] floats
  }

  @Test func compareReportsTheLargestDifference() async throws {
    let c = try #require(ToolFixture.named(["conv2d_groups2"]).first)
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let arguments =
      ["conv", "--input", c.path("x"), "--weight", c.path("w"), "--bias", c.path("b")]
      + ["--output", directory.path("y.npy"), "--compare", c.path("y")] + c.optionArguments
    let result = try await GroupConvExecutable.run(arguments, in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    let lines = result.standardOutput.split(separator: "\n").map(String.init)
    let prefix = "largest |output - \(c.path("y"))| = "
    let report = try #require(lines.last, "\(result.standardOutput)")
    #expect(lines.count == 2 && report.hasPrefix(prefix), "\(result.standardOutput)")
    #expect(report.hasSuffix(" over \(2 * 6 * 6 * 6) values"), "\(report)")
    let number = report.dropFirst(prefix.count).prefix { $0 != " " }
    let largest = try #require(Float(String(number)), "\(report)")
    #expect(largest >= 0 && largest < 1e-4)

    // A reference of another shape is an error.
    let other = try #require(ToolFixture.named(["conv2d_n1_no_bias"]).first)
    let mismatch = try await GroupConvExecutable.run(
      Array(arguments.dropLast(c.optionArguments.count + 2)) + ["--compare", other.path("y")]
        + c.optionArguments,
      in: directory)
    expectOneErrorLine(mismatch, "--compare of another shape")
    #expect(
      mismatch.standardError
        == errorLine(
          "--compare \(other.path("y")) has shape [1, 3, 3, 3], but the output has "
            + "[2, 6, 6, 6]"))
  }

  // MARK: - Refusals

  @Test(arguments: ToolFixture.all.filter(\.refused))
  func refusesWhatPyTorchRefuses(_ c: ToolFixture) async throws {
    // The message the library gives for the same arguments, which the tool must print.
    var expected: String?
    do {
      let x = try c.tensor("x")
      let w = try c.tensor("w")
      let b = c.bias ? try c.tensor("b") : nil
      _ = try Convolution(
        inputShape: x.shape, weightShape: w.shape, biasShape: b?.shape, options: try c.options())
      Issue.record("\(c.name): the library accepts it; PyTorch: \(c.error ?? "")")
    } catch let error as ConvolutionError {
      expected = error.description
    }

    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    var arguments = [
      "conv", "--input", c.path("x"), "--weight", c.path("w"),
      "--output", directory.path("y.npy"),
    ]
    if c.bias { arguments += ["--bias", c.path("b")] }
    arguments += c.optionArguments
    let result = try await GroupConvExecutable.run(arguments, in: directory)
    expectOneErrorLine(result, "\(c.name) (PyTorch: \(c.error ?? ""))")
    #expect(result.standardOutput.isEmpty)
    if let expected {
      #expect(
        result.standardError == errorLine(expected),
        "\(c.name): PyTorch: \(c.error ?? "")")
    }
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.npy")))
  }

  @Test func refusedRuleIsNamedOnStandardError() async throws {
    let rules = [
      "conv2d_refused_groups_zero": "non-positive groups is not supported",
      "conv2d_refused_stride_zero": "non-positive stride is not supported",
      "conv2d_refused_same_with_stride2": "padding='same' is not supported for strided",
      "conv1d_refused_reflect_pad_eq_input":
        "padding size should be less than the corresponding input dimension",
      "convt2d_refused_output_padding_too_large":
        "output padding must be smaller than either stride or dilation",
      "conv2d_refused_in_channels_not_divisible_by_groups":
        "in_channels 3 is not divisible by groups 2; valid groups for 3 input and 4 output "
        + "channels are 1",
    ]
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    for c in ToolFixture.named(rules.keys.sorted()) {
      var arguments = [
        "conv", "--input", c.path("x"), "--weight", c.path("w"),
        "--output", directory.path("y.npy"),
      ]
      if c.bias { arguments += ["--bias", c.path("b")] }
      arguments += c.optionArguments
      let result = try await GroupConvExecutable.run(arguments, in: directory)
      expectOneErrorLine(result, c.name)
      #expect(result.standardError.contains(rules[c.name] ?? "?"), "\(c.name)")
    }
  }

  // MARK: - Files

  /// A suite row whose tensors would not fit in memory is refused before anything is made
  /// (a 100000 × 100000 input asked for 40 GB).
  @Test func benchSuiteRowTooLargeIsAnError() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let suite = directory.path("suite.csv")
    try "name,N,C_in,H,W,C_out,kernel,stride,padding,groups\nbig,1,1,100000,100000,1,1,1,0,1\n"
      .write(toFile: suite, atomically: true, encoding: .utf8)
    let result = try await GroupConvExecutable.run(
      ["bench", "--suite", suite, "--threads", "1"], in: directory)
    expectOneErrorLine(result, "huge suite row")
    #expect(
      result.standardError.hasSuffix(
        "\(suite):2: the input [1, 1, 100000, 100000] has more than 67108864 elements, the "
          + "most a benchmarked tensor may have\n"))
  }

  @Test func missingInputFileIsAnError() async throws {
    let c = try #require(ToolFixture.named(["conv2d_n1_no_bias"]).first)
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let missing = directory.path("missing.npy")
    let result = try await GroupConvExecutable.run(
      ["conv", "--input", missing, "--weight", c.path("w"), "--output", directory.path("y.npy")],
      in: directory)
    expectOneErrorLine(result, "missing input")
    #expect(
      result.standardError
        == errorLine("\(missing): cannot read the file: No such file or directory"))
  }

  @Test func malformedNpyIsAnError() async throws {
    let c = try #require(ToolFixture.named(["conv2d_n1_no_bias"]).first)
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let garbage = directory.path("garbage.npy")
    let bytes = Array("this is not an npy file\n".utf8)
    try Data(bytes).write(to: URL(fileURLWithPath: garbage))
    let result = try await GroupConvExecutable.run(
      ["conv", "--input", c.path("x"), "--weight", garbage, "--output", directory.path("y.npy")],
      in: directory)
    expectOneErrorLine(result, "garbage weight")
    #expect(
      result.standardError
        == errorLine("\(garbage): bad magic at byte 0: expected \\x93NUMPY, found this i"))

    // A real file cut short: the data is smaller than the header declares.
    let truncated = directory.path("truncated.npy")
    let whole = try Data(contentsOf: URL(fileURLWithPath: c.path("x")))
    try whole.dropLast(4).write(to: URL(fileURLWithPath: truncated))
    var expected = ""
    do {
      _ = try NPY.decode([UInt8](whole.dropLast(4)), source: truncated)
      Issue.record("a truncated .npy was read")
    } catch {
      expected = error.description
    }
    let cut = try await GroupConvExecutable.run(
      ["conv", "--input", truncated, "--weight", c.path("w"), "--output", directory.path("y.npy")],
      in: directory)
    expectOneErrorLine(cut, "truncated input")
    #expect(cut.standardError == errorLine(expected))
    #expect(!FileManager.default.fileExists(atPath: directory.path("y.npy")))
  }

  @Test func unwritableOutputIsAnError() async throws {
    let c = try #require(ToolFixture.named(["conv2d_n1_no_bias"]).first)
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let nowhere = directory.path("no-such-folder/y.npy")
    let result = try await GroupConvExecutable.run(
      ["conv", "--input", c.path("x"), "--weight", c.path("w"), "--output", nowhere]
        + c.optionArguments,
      in: directory)
    expectOneErrorLine(result, "output in a missing folder")
    #expect(
      result.standardError
        == errorLine("\(nowhere): cannot write the file: No such file or directory"))

    // The output written, then a gradient that cannot be.
    let gradients = try await GroupConvExecutable.run(
      ["conv", "--input", c.path("x"), "--weight", c.path("w")]
        + ["--output", directory.path("y.npy"), "--grad-output", c.path("dy")]
        + ["--grad-input", nowhere, "--grad-weight", directory.path("dw.npy")]
        + c.optionArguments,
      in: directory)
    expectOneErrorLine(gradients, "grad input in a missing folder")
    #expect(gradients.standardError.contains("\(nowhere): cannot write the file"))
  }

  @Test func gradOutputOfAnotherShapeIsAnError() async throws {
    let c = try #require(ToolFixture.named(["conv2d_n1_no_bias"]).first)
    let other = try #require(ToolFixture.named(["conv2d_basic_n2_bias"]).first)
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let result = try await GroupConvExecutable.run(
      ["conv", "--input", c.path("x"), "--weight", c.path("w")]
        + ["--output", directory.path("y.npy"), "--grad-output", other.path("dy")]
        + ["--grad-input", directory.path("dx.npy"), "--grad-weight", directory.path("dw.npy")]
        + c.optionArguments,
      in: directory)
    expectOneErrorLine(result, "grad output of another shape")
    #expect(
      result.standardError
        == errorLine(
          "conv2d: grad_output of size [2, 4, 6, 5] does not match the expected size "
            + "[1, 3, 3, 3]"))
    #expect(!FileManager.default.fileExists(atPath: directory.path("dx.npy")))
  }

  // MARK: - Arguments

  @Test(arguments: [
    (["--stride", "1,x"], "--stride '1,x' is not a list of integers: expected N or N,N,... "
      + "(e.g. 1 or 2,1)"),
    (["--dilation", "2,"], "--dilation '2,' is not a list of integers: expected N or N,N,... "
      + "(e.g. 1 or 2,1)"),
    (["--padding", "one"], "--padding 'one' is not a list of integers: expected N or N,N,... "
      + "(e.g. 1 or 2,1)"),
    (["--transposed", "--output-padding", "1.5"], "--output-padding '1.5' is not a list of "
      + "integers: expected N or N,N,... (e.g. 1 or 2,1)"),
    (["--padding-mode", "mirror"], "unknown padding_mode 'mirror': padding_mode must be one of "
      + "'zeros', 'reflect', 'replicate', 'circular'"),
    (["--grad-output", "dy.npy"], "--grad-output needs --grad-input and --grad-weight"),
    (["--grad-output", "dy.npy", "--grad-input", "dx.npy"],
     "--grad-output needs --grad-input and --grad-weight"),
    (["--grad-input", "dx.npy"], "--grad-input, --grad-weight and --grad-bias need --grad-output"),
    (["--grad-output", "dy.npy", "--grad-input", "dx.npy", "--grad-weight", "dw.npy",
      "--grad-bias", "db.npy"], "--grad-bias needs --bias"),
  ])
  func badArgumentsAreRefusedBeforeReadingFiles(_ extra: [String], _ message: String)
    async throws
  {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    // The input files do not exist: arguments are checked before any file is read.
    let result = try await GroupConvExecutable.run(
      ["conv", "--input", directory.path("x.npy"), "--weight", directory.path("w.npy")]
        + ["--output", directory.path("y.npy")] + extra,
      in: directory)
    expectOneErrorLine(result, "\(extra)")
    #expect(result.standardError == errorLine(message), "\(extra)")
  }

  @Test(arguments: [
    ["conv", "--weight", "w.npy", "--output", "y.npy"],  // no --input
    ["conv", "--input", "x.npy", "--weight", "w.npy", "--output", "y.npy", "--strid", "2"],
    ["conv", "--input", "x.npy", "--weight", "w.npy", "--output", "y.npy", "--groups", "two"],
    ["convolve"],
  ])
  func parserErrorsAreOneLine(_ arguments: [String]) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let result = try await GroupConvExecutable.run(arguments, in: directory)
    expectOneErrorLine(result, "\(arguments)")
  }

  /// Sizes whose arithmetic would overflow are refused like any other bad argument.
  @Test(arguments: [
    (["--dilation=4611686018427387904"], "conv2d: dilation [4611686018427387904, "
      + "4611686018427387904] is too large: sizes, strides, dilations and paddings must be at "
      + "most 1073741824"),
    (["--padding=9223372036854775807"], "conv2d: padding [9223372036854775807] is too large: "
      + "sizes, strides, dilations and paddings must be at most 1073741824"),
    (["--transposed", "--stride=4611686018427387904"], "conv_transpose2d: stride "
      + "[4611686018427387904, 4611686018427387904] is too large: sizes, strides, dilations and "
      + "paddings must be at most 1073741824"),
  ])
  func overflowingSizesAreRefusedWithoutATrap(_ extra: [String], _ message: String)
    async throws
  {
    let c = try #require(ToolFixture.named(["conv2d_n1_no_bias"]).first)
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let result = try await GroupConvExecutable.run(
      ["conv", "--input", c.path("x"), "--weight", c.path("w"), "--output", directory.path("y.npy")]
        + extra,
      in: directory)
    expectOneErrorLine(result, "\(extra)")
    #expect(result.standardError == errorLine(message))
  }

  // MARK: - Help

  @Test func helpExitsZero() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let root = try await GroupConvExecutable.run(["--help"], in: directory)
    #expect(root.status == 0)
    #expect(root.standardError.isEmpty)
    #expect(root.standardOutput.contains("USAGE: groupconv"))
    #expect(root.standardOutput.contains("conv"))

    let conv = try await GroupConvExecutable.run(["conv", "--help"], in: directory)
    #expect(conv.status == 0)
    #expect(conv.standardError.isEmpty)
    for option in [
      "--input", "--weight", "--bias", "--output", "--stride", "--dilation", "--groups",
      "--padding", "--padding-mode", "--transposed", "--output-padding", "--grad-output",
      "--grad-input", "--grad-weight", "--grad-bias",
    ] {
      #expect(conv.standardOutput.contains(option), "conv --help lacks \(option)")
    }
  }
}
