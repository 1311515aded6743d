import ArgumentParser
import Foundation
import GroupConv

/// `groupconv bench --model`: the median latency of an ONNX model and its time per operator.
struct ModelBench {
  var path: String
  var inputs: [String]
  var json: String?
  /// Print every step with its time, not only the totals per operator.
  var listSteps = false

  func run() throws {
    let clock = ContinuousClock()
    let loadStart = clock.now
    let session = try InferenceSession(contentsOf: path)
    let loaded = BenchCommand.seconds(clock.now - loadStart)
    let tensors = try session.orderedInputs(inputTensors(session))
    // The first run prepares the plan when the model's shapes are not fixed.
    _ = try session.run(tensors)
    let median = try BenchCommand.medianSeconds { _ = try session.run(tensors) }
    // Time per step and per operator type, from separately timed runs.
    var timings: [Duration] = []
    let profiled = 10
    for _ in 0..<profiled { _ = try session.run(tensors, timings: &timings) }
    let steps = session.planSummary?.steps ?? []
    let stepMilliseconds = timings.map { BenchCommand.seconds($0) * 1e3 / Double(profiled) }
    var byOperator: [String: (ms: Double, count: Int)] = [:]
    for (step, ms) in zip(steps, stepMilliseconds) {
      byOperator[step.opType, default: (0, 0)].ms += ms
      byOperator[step.opType, default: (0, 0)].count += 1
    }
    let operators = byOperator.map { (op: $0.key, ms: $0.value.ms, count: $0.value.count) }
      .sorted { $0.ms > $1.ms }
    let total = max(stepMilliseconds.reduce(0, +), 1e-9)
    let summary = session.planSummary
    print(
      "\(path): \(session.model.graph.nodes.count) nodes in \(steps.count) steps, opset "
        + "\(session.opset), \(Parallelism.threads) threads, \(Parallelism.instructionSet) kernels; "
        + "loaded and prepared in \(BenchCommand.format(loaded * 1e3, 1)) ms")
    if let summary {
      print(
        "buffers: \(BenchCommand.format(Double(summary.bytes) / 1_048_576, 1)) MiB shared, "
          + "\(BenchCommand.format(Double(summary.unsharedBytes) / 1_048_576, 1)) MiB unshared")
    }
    print("median latency: \(BenchCommand.format(median * 1e3, 3)) ms")
    // Columns as wide as the longest fused name (Transpose+LayerNormalization).
    let opWidth = max(20, (operators.map(\.op.count).max() ?? 0) + 2)
    print(BenchCommand.pad("operator", opWidth) + BenchCommand.pad("steps", 7, right: true)
      + BenchCommand.pad("ms", 10, right: true) + BenchCommand.pad("share", 8, right: true))
    for entry in operators {
      print(
        BenchCommand.pad(entry.op, opWidth) + BenchCommand.pad("\(entry.count)", 7, right: true)
          + BenchCommand.pad(BenchCommand.format(entry.ms, 3), 10, right: true)
          + BenchCommand.pad(BenchCommand.format(100 * entry.ms / total, 1) + "%", 8, right: true))
    }
    if listSteps {
      let stepWidth = max(16, (steps.map(\.opType.count).max() ?? 0) + 1)
      print(
        BenchCommand.pad("step", 6) + BenchCommand.pad("operator", stepWidth)
          + BenchCommand.pad("ms", 8, right: true) + "  output shape, details")
      for (index, (step, ms)) in zip(steps, stepMilliseconds).enumerated() {
        print(
          BenchCommand.pad("\(index)", 6) + BenchCommand.pad(step.opType, stepWidth)
            + BenchCommand.pad(BenchCommand.format(ms, 3), 8, right: true)
            + "  \(step.outputShape) \(step.detail)")
      }
    }
    guard let json else { return }
    let object: [String: Any] = [
      "model": path, "median_ms": median * 1e3, "threads": Parallelism.threads,
      "load_ms": loaded * 1e3, "steps": steps.count,
      "operators": operators.map { ["op": $0.op, "ms": $0.ms, "steps": $0.count] },
      "step_ms": zip(steps, stepMilliseconds).map { step, ms in
        ["op": step.opType, "ms": ms, "shape": step.outputShape, "detail": step.detail] as [String: Any]
      },
    ]
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    guard FileManager.default.createFile(atPath: json, contents: data) else {
      throw BenchError("\(json): cannot write the file")
    }
  }

  /// The inputs in graph order: from the files given, else seeded random values of the
  /// declared shapes (symbolic dimensions taken as 1).
  private func inputTensors(_ session: InferenceSession) throws -> [String: Tensor] {
    if !inputs.isEmpty {
      var feeds: [String: Tensor] = [:]
      for (name, path) in try RunCommand.assign(inputs, to: session.inputNames, role: "input") {
        feeds[name] = try NPY.read(contentsOf: path)
      }
      return feeds
    }
    var feeds: [String: Tensor] = [:]
    for (index, name) in session.inputNames.enumerated() {
      let info = session.model.graph.inputs.first { $0.name == name }
      guard case let .tensor(_, dimensions?)? = info?.type else {
        throw BenchError("input \"\(name)\" declares no shape: give it with --input")
      }
      let shape = dimensions.map { if case let .value(size) = $0 { size } else { 1 } }
      feeds[name] = try Tensor.random(shape: shape, seed: UInt64(index + 1))
    }
    return feeds
  }
}
