import ArgumentParser
import Foundation
import GroupConv

/// `groupconv bench`: times the convolutions of a suite and reports them against this
/// machine's FMA peak.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bench",
    abstract: "Time the convolutions of a suite (forward, or with --backward all gradients), or a model.",
    discussion: """
      Each row is a 2-D convolution (columns name,N,C_in,H,W,C_out,kernel,stride,padding,\
      groups, as shared/bench/conv-suite.csv). Prints the median time of repeated runs \
      after a warm-up, GFLOP/s, and the fraction of this machine's FMA peak, measured at \
      the start. Without --suite it runs a built-in copy of conv-suite.csv.

      With --model it times an ONNX model instead: the median latency of repeated runs \
      after a warm-up, on --input (.npy; repeat as in `groupconv run`) or on seeded random \
      inputs of the declared shapes, and the time per operator type.
      """)

  @Option(help: "A CSV suite file; the built-in suite when omitted.")
  var suite: String?

  @Option(help: "Threads to run on (default: GROUPCONV_THREADS, else all cores).")
  var threads: Int?

  @Flag(help: "Time the backward pass: input, weight and bias gradients together.")
  var backward = false

  @Option(help: "Write the results as JSON: a list of {name, median_ms, gflops, ...}.")
  var json: String?

  @Option(help: "Only the rows whose name contains this text.")
  var filter: String?

  @Option(help: "Time this ONNX model instead of a suite.")
  var model: String?

  @Option(help: "With --model: an input .npy, PATH or NAME=PATH; random inputs when omitted.")
  var input: [String] = []

  @Flag(help: "With --model: list every step with its time and output shape.")
  var steps = false

  func validate() throws {
    try validateSettings(threads: threads)
    if model == nil && (!input.isEmpty || steps) {
      throw ValidationError("--input and --steps need --model")
    }
    if model != nil && (suite != nil || backward || filter != nil) {
      throw ValidationError("--model cannot be combined with --suite, --backward or --filter")
    }
  }

  func run() throws {
    if let threads { Parallelism.threads = threads }
    if let model {
      return try ModelBench(path: model, inputs: input, json: json, listSteps: steps).run()
    }
    var rows = try loadRows()
    if let filter { rows = rows.filter { $0.name.contains(filter) } }
    guard !rows.isEmpty else { throw BenchError("no rows to run") }
    let peak = Parallelism.measureFMAPeak()
    print(
      "\(rows.count) rows, \(backward ? "backward (input, weight and bias gradients)" : "forward"), "
        + "\(Parallelism.threads) threads, \(Parallelism.instructionSet) kernels, "
        + "FMA peak \(Self.format(peak, 0)) GFLOP/s")
    print(Self.header)
    var results: [[String: Any]] = []
    for (index, row) in rows.enumerated() {
      progress("[\(index + 1)/\(rows.count)] \(row.name) ...")
      let seconds = try time(row)
      let flops = row.forwardFLOPs * (backward ? 2 : 1)
      let gflops = flops / seconds / 1e9
      progress("")
      print(
        Self.pad(row.name, 20) + Self.pad(Self.format(seconds * 1e3, 3), 11, right: true)
          + Self.pad(Self.format(gflops, 1), 10, right: true)
          + Self.pad(Self.format(100 * gflops / peak, 1) + "%", 9, right: true))
      results.append([
        "name": row.name, "median_ms": seconds * 1e3, "gflops": gflops,
        "peak_fraction": gflops / peak, "backward": backward, "threads": Parallelism.threads,
      ])
    }
    if let json {
      let data = try JSONSerialization.data(
        withJSONObject: results, options: [.prettyPrinted, .sortedKeys])
      guard FileManager.default.createFile(atPath: json, contents: data) else {
        throw BenchError("\(json): cannot write the file")
      }
    }
  }

  static let header =
    pad("name", 20) + pad("median ms", 11, right: true) + pad("GFLOP/s", 10, right: true)
    + pad("of peak", 9, right: true)

  private func loadRows() throws -> [BenchRow] {
    guard let suite else { return try BenchRow.parse(csv: BenchRow.builtIn, source: "built-in") }
    guard let data = FileManager.default.contents(atPath: suite) else {
      throw BenchError("\(suite): cannot read the file")
    }
    return try BenchRow.parse(csv: String(decoding: data, as: UTF8.self), source: suite)
  }

  /// The median seconds of one pass of `row`, after a warm-up.
  private func time(_ row: BenchRow) throws -> Double {
    let layer = try Conv2d(
      inChannels: row.inChannels, outChannels: row.outChannels, kernelSize: PerDimension([row.kernel]),
      stride: PerDimension([row.stride]), padding: .explicit([row.padding]), groups: row.groups,
      seed: 1)
    let x = try Tensor.random(
      shape: [row.batch, row.inChannels, row.height, row.width], seed: 2)
    let pass: () throws -> Void
    if backward {
      let y = try layer(x)
      let dy = try Tensor.random(shape: y.shape, seed: 3)
      pass = {
        _ = try layer.backward(dy, input: x)
        layer.zeroGrad()
      }
    } else {
      pass = { _ = try layer(x) }
    }
    return try Self.medianSeconds(of: pass)
  }

  /// The median seconds of `pass` over repeated runs after a warm-up of at least two runs
  /// and 50 ms: at least 20 runs and 0.5 s, or 5 runs when they take over 5 s.
  static func medianSeconds(of pass: () throws -> Void) throws -> Double {
    let clock = ContinuousClock()
    // Warm up: at least twice, and for at least 50 ms.
    let warmUp = clock.now
    var warmRuns = 0
    while warmRuns < 2 || clock.now - warmUp < .milliseconds(50) {
      try pass()
      warmRuns += 1
    }
    var samples: [Double] = []
    let start = clock.now
    while true {
      let sample = try clock.measure { try pass() }
      samples.append(seconds(sample))
      let elapsed = clock.now - start
      if samples.count >= 2000 || (samples.count >= 20 && elapsed > .milliseconds(500))
        || (samples.count >= 5 && elapsed > .seconds(5))
      {
        break
      }
    }
    samples.sort()
    return samples[samples.count / 2]
  }

  static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
  }

  func progress(_ text: String) {
    FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
  }

  static func format(_ value: Double, _ decimals: Int) -> String {
    String(format: "%.\(decimals)f", value)
  }

  static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: max(0, width - text.count))
    return right ? fill + text : text + fill
  }
}
