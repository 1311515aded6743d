import ArgumentParser
import Foundation
import GroupConv

@main
struct GroupConvCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "groupconv",
    abstract: "Grouped, depthwise and depthwise-separable convolution with PyTorch's semantics.",
    subcommands: [ConvCommand.self, RunCommand.self, BenchCommand.self, ExplainCommand.self])

  /// Runs the command; any error is printed as one line on stderr, with a non-zero exit.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let code = exitCode(for: error)
      guard code != .success else { exit(withError: error) }  // --help, --version
      let text =
        switch error {
        case let error as ConvolutionError: error.description
        case let error as FormatError: error.description
        case let error as TensorError: error.description
        case let error as BenchError: error.description
        case let error as InferenceError: error.description
        case let error as ExplainError: error.description
        default: message(for: error)
        }
      let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
      FileHandle.standardError.write(Data("groupconv: error: \(line)\n".utf8))
      exit(withError: ExitCode(code.rawValue == 0 ? 1 : code.rawValue))
    }
  }
}

/// Checks the settings a command runs with: the thread count (`--threads` when given, else
/// `GROUPCONV_THREADS` when set) and `GROUPCONV_ISA` when set. The library alone would
/// ignore a value it cannot use.
func validateSettings(threads: Int?) throws {
  if let text = ProcessInfo.processInfo.environment["GROUPCONV_ISA"],
    !["avx512", "avx2", "generic"].contains(text)
  {
    throw ValidationError("GROUPCONV_ISA=\(text) must be avx512, avx2 or generic")
  }
  if let threads {
    guard (1...1024).contains(threads) else {
      throw ValidationError("--threads \(threads) must be between 1 and 1024")
    }
  } else if let text = ProcessInfo.processInfo.environment["GROUPCONV_THREADS"] {
    guard let value = Int(text), (1...1024).contains(value) else {
      throw ValidationError("GROUPCONV_THREADS=\(text) must be a whole number from 1 to 1024")
    }
  }
}
