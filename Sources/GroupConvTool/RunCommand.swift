import ArgumentParser
import Foundation
import GroupConv

/// `groupconv run`: runs an ONNX model on .npy inputs and writes its outputs.
struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run an ONNX model on .npy inputs and write its outputs as .npy files.",
    discussion: """
      --input and --output take PATH, given in the graph's input (output) order, or \
      NAME=PATH for the graph input (output) called NAME. Outputs not asked for are not \
      written. The model is checked when it is loaded: an unsupported operator or a \
      malformed graph is reported before anything runs.
      """)

  @Argument(help: "The ONNX model file.")
  var model: String

  @Option(help: "An input .npy: PATH or NAME=PATH; repeat for several inputs.")
  var input: [String] = []

  @Option(help: "Where to write an output .npy: PATH or NAME=PATH; repeat for several.")
  var output: [String] = []

  @Option(help: "Threads to run on (default: GROUPCONV_THREADS, else all cores).")
  var threads: Int?

  func validate() throws {
    guard !output.isEmpty else { throw ValidationError("give at least one --output") }
    try validateSettings(threads: threads)
  }

  func run() throws {
    if let threads { Parallelism.threads = threads }
    let clock = ContinuousClock()
    let loadStart = clock.now
    let session = try InferenceSession(contentsOf: model)
    let loaded = clock.now - loadStart
    var feeds: [String: Tensor] = [:]
    for (name, path) in try Self.assign(input, to: session.inputNames, role: "input") {
      feeds[name] = try NPY.read(contentsOf: path)
    }
    let start = clock.now
    let outputs = try session.run(feeds)
    let elapsed = clock.now - start
    print(
      "\(model): \(session.model.graph.nodes.count) nodes, opset \(session.opset), loaded in "
        + "\(ConvCommand.milliseconds(loaded)), ran in \(ConvCommand.milliseconds(elapsed))")
    for (name, path) in try Self.assign(output, to: session.outputNames, role: "output") {
      let tensor = outputs[name]!
      try NPY.write(tensor, to: path)
      print("\(name) \(tensor.shape) written to \(path)")
    }
  }

  /// Pairs each `PATH` or `NAME=PATH` argument with a graph name: named ones by name, the
  /// others in graph order among the names not given by name. An argument whose part before
  /// its first `=` holds no `/` is a `NAME=PATH`, and NAME must be one of `names` (a file
  /// whose name holds `=` is given with its directory: `./a=b.npy`).
  static func assign(_ arguments: [String], to names: [String], role: String) throws
    -> [(name: String, path: String)]
  {
    let listed = names.map { "\"\($0)\"" }.joined(separator: ", ")
    var named: [(String, String)] = []
    var positional: [String] = []
    for argument in arguments {
      guard let equals = argument.firstIndex(of: "="), !argument[..<equals].contains("/") else {
        positional.append(argument)
        continue
      }
      let name = String(argument[..<equals])
      guard names.contains(name) else {
        throw ValidationError(
          "--\(role) \(argument): \"\(name)\" is not an \(role) of the model; its \(role)s are "
            + (listed.isEmpty ? "none" : listed))
      }
      guard !named.contains(where: { $0.0 == name }) else {
        throw ValidationError("two --\(role) arguments name the model's \(role) \"\(name)\"")
      }
      let path = String(argument[argument.index(after: equals)...])
      guard !path.isEmpty else {
        throw ValidationError("--\(role) \(argument): give a file after \"\(name)=\"")
      }
      named.append((name, path))
    }
    let remaining = names.filter { name in !named.contains { $0.0 == name } }
    guard positional.count <= remaining.count else {
      throw ValidationError(
        "\(arguments.count) --\(role) arguments for a model whose \(role)s are "
          + (listed.isEmpty ? "none" : listed))
    }
    let pairs = named + zip(remaining, positional).map { ($0, $1) }
    if role == "input" {
      for name in names where !pairs.contains(where: { $0.0 == name }) {
        throw ValidationError("no --input for the model's input \"\(name)\"")
      }
    }
    return pairs.map { (name: $0.0, path: $0.1) }
  }
}
