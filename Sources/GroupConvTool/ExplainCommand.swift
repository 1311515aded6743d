import ArgumentParser
import Foundation
import GroupConv

/// `groupconv explain`: what groups do to a convolution and when to use them, shown and
/// measured on the user's own layer.
struct ExplainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Show what groups do to a convolution, and measure when they pay, on your layer.",
    discussion: """
      Compares a 2-D convolution (stride 1) built dense, with each of --groups, depthwise \
      and depthwise-separable: 1. which output channels see which input channels; 2. \
      parameters, multiply-adds, memory and arithmetic intensity; 3. forward (and with \
      --backward, backward) time on this machine against the FLOP cut; 4. the equivalences \
      that define groups, checked on random data; 5. why stacked groups need a channel \
      shuffle; 6. a verdict from these numbers. --svg or --html draws the weight matrices.
      """)

  @Option(name: .customLong("in"), help: ArgumentHelp("Input channels.", valueName: "C_in"))
  var inputChannels = 64

  @Option(name: .customLong("out"), help: ArgumentHelp("Output channels.", valueName: "C_out"))
  var outputChannels = 128

  @Option(help: ArgumentHelp("Kernel size k (k×k).", valueName: "k"))
  var kernel = 3

  @Option(
    help: ArgumentHelp(
      "Zero padding on each side (default: k / 2, which keeps the size).", valueName: "p"))
  var padding: Int?

  @Option(
    help: ArgumentHelp("Input height and width (or one number for a square).", valueName: "HxW"))
  var size = "56x56"

  @Option(help: ArgumentHelp("Batch size.", valueName: "N"))
  var batch = 1

  @Option(
    help: ArgumentHelp(
      "Grouped variants to compare (default: 2, 4, 8, 32 where valid).", valueName: "g[,g...]"))
  var groups: String?

  @Option(help: ArgumentHelp("Write the weight matrices as an SVG picture.", valueName: "file"))
  var svg: String?

  @Option(help: ArgumentHelp("Write an HTML page: the picture and this report.", valueName: "file"))
  var html: String?

  @Option(
    help: ArgumentHelp(
      "Write every number (costs, times, differences, verdict) as JSON.", valueName: "file"))
  var json: String?

  @Option(help: "Threads to run on (default: GROUPCONV_THREADS, else all cores).")
  var threads: Int?

  @Flag(help: "Skip the timing (the output is then the same on every run).")
  var noTiming = false

  @Flag(help: "Also time the backward pass (input, weight and bias gradients).")
  var backward = false

  func validate() throws {
    if svg != nil && html != nil {
      throw ValidationError("--svg and --html are alternatives: give one of them")
    }
    if backward && noTiming {
      throw ValidationError("--backward times the backward pass: it cannot go with --no-timing")
    }
    try validateSettings(threads: threads)
    _ = try layer()
  }

  func run() throws {
    if let threads { Parallelism.threads = threads }
    let report = try ExplainReport(try layer())
    let speed =
      noTiming ? nil : try ExplainSpeed.measure(report, backward: backward, progress: progress)
    let verdict = ExplainVerdict.lines(report, speed)
    let terminal = ExplainTerminal(
      report: report, speed: speed, verdict: verdict, backward: backward
    ).text
    print(terminal, terminator: "")
    if let svg { try write(Data(ExplainSVG(report: report).svg.utf8), to: svg) }
    if let html {
      try write(Data(ExplainSVG(report: report).html(terminal: terminal).utf8), to: html)
    }
    if let json {
      try write(try ExplainJSON.data(ExplainJSON.object(report, speed, verdict: verdict)), to: json)
    }
  }

  /// The layer the arguments describe, checked.
  func layer() throws -> ExplainLayer {
    let (height, width) = try Self.size(size)
    return try ExplainLayer(
      inputChannels: inputChannels, outputChannels: outputChannels, kernel: kernel,
      padding: padding, batch: batch, height: height, width: width,
      groups: try groups.map { try ConvCommand.integers($0, "--groups") })
  }

  /// `56x56`, `28×14` or `56` (square) as (height, width).
  static func size(_ text: String) throws -> (Int, Int) {
    let parts = text.split(
      omittingEmptySubsequences: false, whereSeparator: { $0 == "x" || $0 == "×" || $0 == "X" }
    ).map { Int($0.filter { !$0.isWhitespace }) }
    guard parts.count == 1 || parts.count == 2, let height = parts[0], let width = parts.last!
    else {
      throw ValidationError(
        "--size '\(text)' is not HxW: expected two integers such as 56x56, or one (56) for a "
          + "square")
    }
    return (height, width)
  }

  private func write(_ data: Data, to path: String) throws {
    guard FileManager.default.createFile(atPath: path, contents: data) else {
      throw ExplainError("\(path): cannot write the file")
    }
    print("written to \(path)")
  }

  /// A progress note on standard error, only when it is a terminal.
  private func progress(_ text: String) {
    guard isatty(STDERR_FILENO) == 1 else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[K\(text)".utf8))
  }
}
