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
