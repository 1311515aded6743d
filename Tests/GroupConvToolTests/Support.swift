import Foundation
import GroupConv
import TestSupport
import Testing

// MARK: - Fixtures

/// The folder of the PyTorch fixtures, which belong to the GroupConvTests target.
let fixturesDirectory = URL(fileURLWithPath: #filePath)
  .deletingLastPathComponent().deletingLastPathComponent()
  .appendingPathComponent("GroupConvTests").appendingPathComponent("Fixtures")

/// A case of Fixtures/manifest.json: the arguments of one PyTorch call, and PyTorch's message
/// when it refused them.
struct ToolFixture: Decodable, Sendable, CustomTestStringConvertible {
  let name: String
  let transposed: Bool
  let stride: [Int]
  let dilation: [Int]
  let groups: Int
  /// "same", "valid", or comma-separated integers, as `--padding` takes it.
  let padding: String
  let paddingMode: String
  let outputPadding: [Int]
  let bias: Bool
  let refused: Bool
  let error: String?

  enum CodingKeys: String, CodingKey {
    case name, transposed, stride, dilation, groups, padding, bias, refused, error
    case paddingMode = "padding_mode"
    case outputPadding = "output_padding"
  }

  init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    transposed = try c.decode(Bool.self, forKey: .transposed)
    stride = try c.decode([Int].self, forKey: .stride)
    dilation = try c.decode([Int].self, forKey: .dilation)
    groups = try c.decode(Int.self, forKey: .groups)
    paddingMode = try c.decode(String.self, forKey: .paddingMode)
    outputPadding = try c.decode([Int].self, forKey: .outputPadding)
    bias = try c.decode(Bool.self, forKey: .bias)
    refused = try c.decode(Bool.self, forKey: .refused)
    error = try c.decodeIfPresent(String.self, forKey: .error)
    if let named = try? c.decode(String.self, forKey: .padding) {
      padding = named
    } else {
      padding = ToolFixture.list(try c.decode([Int].self, forKey: .padding))
    }
  }

  var testDescription: String { name }

  /// The operation's name as the tool reports it: `conv2d`, `conv_transpose1d`, ...
  var operation: String { (transposed ? "conv_transpose" : "conv") + "\(stride.count)d" }

  /// The path of `file`.npy in this case's folder.
  func path(_ file: String) -> String {
    fixturesDirectory.appendingPathComponent(name).appendingPathComponent(file + ".npy").path
  }

  /// The tensor stored as `file`.npy in this case's folder.
  func tensor(_ file: String) throws -> Tensor {
    try NPY.read(contentsOf: path(file))
  }

  /// The library's options for this case, as the tool should build them from its arguments.
  func options() throws -> ConvolutionOptions {
    let paddingValue: Padding =
      switch padding {
      case "same": .same
      case "valid": .valid
      default: .explicit(padding.split(separator: ",").compactMap { Int($0) })
      }
    return ConvolutionOptions(
      stride: PerDimension(stride), padding: paddingValue, dilation: PerDimension(dilation),
      groups: groups, paddingMode: try PaddingMode(named: paddingMode), transposed: transposed,
      outputPadding: PerDimension(outputPadding))
  }

  /// `groupconv conv` arguments for this case's arguments (not its files). Lists are passed
  /// as `--option=value`, so that a negative value is not read as an option.
  var optionArguments: [String] {
    var arguments = [
      "--stride=\(Self.list(stride))", "--dilation=\(Self.list(dilation))",
      "--groups=\(groups)", "--padding=\(padding)", "--padding-mode=\(paddingMode)",
    ]
    if transposed {
      arguments += ["--transposed", "--output-padding=\(Self.list(outputPadding))"]
    }
    return arguments
  }

  static func list(_ values: [Int]) -> String {
    values.map(String.init).joined(separator: ",")
  }

  static let all: [ToolFixture] = {
    struct Manifest: Decodable { let cases: [ToolFixture] }
    let url = fixturesDirectory.appendingPathComponent("manifest.json")
    guard let data = try? Data(contentsOf: url),
      let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
    else { return [] }
    return manifest.cases
  }()

  /// The cases named `names`, in that order; a name the manifest lacks is left out (and
  /// caught by a test).
  static func named(_ names: [String]) -> [ToolFixture] {
    names.compactMap { name in all.first { $0.name == name } }
  }
}

// MARK: - Running the tool

/// What one run of the tool printed, and how it ended.
struct ToolResult: Sendable {
  var status: Int32
  var standardOutput: String
  var standardError: String

  /// The lines of standard error, without the final newline.
  var errorLines: [Substring] {
    standardError.split(separator: "\n", omittingEmptySubsequences: false).dropLast(
      standardError.hasSuffix("\n") ? 1 : 0)
  }
}

/// The `groupconv` executable that `swift build` and `swift test` put beside the test bundle.
enum GroupConvExecutable {
  /// The places looked in, in order: `GROUPCONV_EXECUTABLE`, then the folder of the running
  /// test executable (Linux: `.build/debug/GroupConvPackageTests.xctest` is a plain
  /// executable beside `groupconv`; macOS: the `.xctest` bundle sits beside it), then
  /// `.build/debug` of the package holding this file.
  static var candidates: [URL] {
    var folders: [URL] = []
    if let path = ProcessInfo.processInfo.environment["GROUPCONV_EXECUTABLE"] {
      return [URL(fileURLWithPath: path)]
    }
    if let executable = Bundle.main.executableURL {
      folders.append(executable.resolvingSymlinksInPath().deletingLastPathComponent())
    }
    let bundle = Bundle.main.bundleURL.resolvingSymlinksInPath()
    folders += [bundle, bundle.deletingLastPathComponent()]
    if let first = CommandLine.arguments.first, !first.isEmpty {
      let argument = URL(
        fileURLWithPath: first,
        relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
      folders.append(argument.absoluteURL.resolvingSymlinksInPath().deletingLastPathComponent())
    }
    let packageRoot = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    folders.append(packageRoot.appendingPathComponent(".build/debug"))
    var seen = Set<String>()
    return folders.map { $0.appendingPathComponent("groupconv") }
      .filter { seen.insert($0.standardizedFileURL.path).inserted }
  }

  /// The first candidate that is an executable file, or `nil`.
  static let url: URL? = candidates.first { candidate in
    var isDirectory: ObjCBool = false
    return FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory)
      && !isDirectory.boolValue && FileManager.default.isExecutableFile(atPath: candidate.path)
  }

  /// Runs the tool with `arguments`, its output and errors captured in files of `directory`.
  /// - Parameters:
  ///   - environment: variables set for the tool on top of this process's own.
  ///   - addressSpaceKiB: a limit on the tool's address space (`ulimit -v`), set by a shell
  ///     that then runs it.
  static func run(
    _ arguments: [String], in directory: TemporaryDirectory, environment: [String: String] = [:],
    addressSpaceKiB: Int? = nil
  ) async throws -> ToolResult {
    let executable = try #require(
      url, "no groupconv executable; looked at \(candidates.map(\.path))")
    let tag = UUID().uuidString
    let outputURL = directory.url.appendingPathComponent("stdout-\(tag).txt")
    let errorURL = directory.url.appendingPathComponent("stderr-\(tag).txt")
    _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errorURL.path, contents: nil)
    let output = try FileHandle(forWritingTo: outputURL)
    let error = try FileHandle(forWritingTo: errorURL)
    defer {
      try? output.close()
      try? error.close()
    }

    let process = Process()
    if let addressSpaceKiB {
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      process.arguments =
        ["-c", "ulimit -v \(addressSpaceKiB) && exec \"$0\" \"$@\"", executable.path] + arguments
    } else {
      process.executableURL = executable
      process.arguments = arguments
    }
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = error
    let status: Int32 = try await withCheckedThrowingContinuation { continuation in
      process.terminationHandler = { finished in
        continuation.resume(returning: finished.terminationStatus)
      }
      do {
        try process.run()
      } catch {
        process.terminationHandler = nil
        continuation.resume(throwing: error)
      }
    }
    return ToolResult(
      status: status,
      standardOutput: try String(contentsOf: outputURL, encoding: .utf8),
      standardError: try String(contentsOf: errorURL, encoding: .utf8))
  }
}

/// A folder of its own under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory: Sendable {
  let url: URL

  init() throws {
    url = FileManager.default.temporaryDirectory
      .appendingPathComponent("GroupConvToolTests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  /// The path of `name` inside the folder.
  func path(_ name: String) -> String { url.appendingPathComponent(name).path }

  func remove() { try? FileManager.default.removeItem(at: url) }
}
