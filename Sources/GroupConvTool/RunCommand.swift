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
    if let threads, threads < 1 || threads > 1024 {
      throw ValidationError("--threads \(threads) must be between 1 and 1024")
    }
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
  /// others in graph order among the names not given by name.
  static func assign(_ arguments: [String], to names: [String], role: String) throws
    -> [(name: String, path: String)]
  {
    var named: [(String, String)] = []
    var positional: [String] = []
    for argument in arguments {
      if let equals = argument.firstIndex(of: "="),
        names.contains(String(argument[..<equals]))
      {
        named.append((String(argument[..<equals]), String(argument[argument.index(after: equals)...])))
      } else {
        positional.append(argument)
      }
    }
    let remaining = names.filter { name in !named.contains { $0.0 == name } }
    guard positional.count <= remaining.count else {
      throw ValidationError(
        "\(arguments.count) --\(role) arguments for a model whose \(role)s are "
          + names.map { "\"\($0)\"" }.joined(separator: ", "))
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
