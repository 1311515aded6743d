import Foundation
import GroupConv
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

// `groupconv explain` end to end: the report and the picture of a small layer against
// snapshots, the picture as XML, the JSON, a timed run, and every refusal.

/// The folder of the expected outputs. Run with GROUPCONV_UPDATE_SNAPSHOTS=1 to rewrite them
/// from the current output (then review the diff).
private let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Snapshots")

/// Compares `actual` with the snapshot `name`, or writes it when updating.
private func expectSnapshot(
  _ actual: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation
) throws {
  let url = snapshots.appendingPathComponent(name)
  if ProcessInfo.processInfo.environment["GROUPCONV_UPDATE_SNAPSHOTS"] == "1" {
    try Data(actual.utf8).write(to: url)
    return
  }
  let expected = try String(contentsOf: url, encoding: .utf8)
  guard actual != expected else { return }
  let (a, e) = (
    actual.split(separator: "\n", omittingEmptySubsequences: false),
    expected.split(separator: "\n", omittingEmptySubsequences: false)
  )
  let first = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
  let actualLine = first < a.count ? String(a[first]) : "<end>"
  let expectedLine = first < e.count ? String(e[first]) : "<end>"
  Issue.record(
    "\(name) differs at line \(first + 1):\n  actual:   \(actualLine)\n  expected: \(expectedLine)",
    sourceLocation: sourceLocation)
}

/// The report with each equivalence's difference replaced by `…`: the differences depend on
/// the instruction set's summation order, so they are checked by value instead (< 1e-5).
private func maskingDifferences(_ report: String) -> (String, [Float]) {
  var values: [Float] = []
  let lines = report.split(separator: "\n", omittingEmptySubsequences: false).map { line in
    guard let range = line.range(of: "max |diff| ") else { return String(line) }
    let rest = line[range.upperBound...]
    let number = rest.prefix { !$0.isWhitespace }
    values.append(Float(number) ?? .infinity)
    return String(line[..<range.upperBound]) + "…" + rest.dropFirst(number.count)
  }
  return (lines.joined(separator: "\n"), values)
}

private func expectOneErrorLine(
  _ result: ToolResult, _ context: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(result.status != 0, "\(context): exit status 0", sourceLocation: sourceLocation)
  #expect(
    result.errorLines.count == 1 && result.standardError.hasPrefix("groupconv: error: "),
    "\(context): stderr \(result.standardError)", sourceLocation: sourceLocation)
  #expect(result.standardOutput.isEmpty, "\(context)", sourceLocation: sourceLocation)
}

/// A delegate that keeps the first XML parse error.
private final class XMLErrors: NSObject, XMLParserDelegate {
  var error: String?
  func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
    error = error ?? "line \(parser.lineNumber): \(parseError)"
  }
}

@Suite struct ExplainTests {
  static let small = ["explain", "--in", "8", "--out", "8", "--groups", "2,4,8", "--size", "8x8"]

  @Test func smallLayerMatchesTheSnapshots() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let (svg, json) = (directory.path("explain.svg"), directory.path("explain.json"))
    let result = try await GroupConvExecutable.run(
      Self.small + ["--no-timing", "--svg", svg, "--json", json], in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    #expect(result.standardError.isEmpty)
    let written = "written to \(svg)\nwritten to \(json)\n"
    #expect(result.standardOutput.hasSuffix(written))
    let report = String(result.standardOutput.dropLast(written.count))
    let (masked, differences) = maskingDifferences(report)
    #expect(differences.count == 5)
    #expect(differences.allSatisfy { $0 < 1e-5 }, "\(differences)")
    try expectSnapshot(masked, "explain-8to8.txt")
    // Nothing measured: no timing figures.
    for word in ["GFLOP/s", "forward ms", "speed-up", "ridge point is"] {
      #expect(!report.contains(word), "\(word)")
    }

    let picture = try String(contentsOf: URL(fileURLWithPath: svg), encoding: .utf8)
    try expectSnapshot(picture, "explain-8to8.svg")
    let parser = XMLParser(data: Data(picture.utf8))
    let errors = XMLErrors()
    parser.delegate = errors
    #expect(parser.parse(), "the SVG is not XML: \(errors.error ?? "")")

    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))
        as? [String: Any])
    let variants = try #require(object["variants"] as? [[String: Any]])
    #expect(
      variants.compactMap { $0["name"] as? String }
        == ["dense", "groups 2", "groups 4", "depthwise", "separable"])
    #expect(variants.first?["parameters"] as? Int == 584)
    #expect(variants.first?["forward_ms"] == nil)
    #expect((object["equivalences"] as? [Any])?.count == 5)
    #expect((object["verdict"] as? [String])?.isEmpty == false)
    #expect(object["timed"] as? Bool == false)
  }

  /// Channels drawn at a scale that does not divide them evenly: 48 → 96 at 6 input × 3 output
  /// channels a cell, with groups 3 and 12 filling cells in part.
  @Test func scaledDrawingMatchesTheSnapshot() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let result = try await GroupConvExecutable.run(
      ["explain", "--in", "48", "--out", "96", "--groups", "3,12", "--size", "6", "--no-timing"],
      in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    let (masked, differences) = maskingDifferences(result.standardOutput)
    #expect(differences.allSatisfy { $0 < 1e-5 }, "\(differences)")
    try expectSnapshot(masked, "explain-48to96.txt")
  }

  @Test func defaultLayerPictureIsXMLAndHTMLHoldsIt() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let html = directory.path("explain.html")
    let result = try await GroupConvExecutable.run(
      ["explain", "--size", "8x8", "--no-timing", "--html", html], in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    let page = try String(contentsOf: URL(fileURLWithPath: html), encoding: .utf8)
    #expect(page.hasPrefix("<!DOCTYPE html>"))
    let start = try #require(page.range(of: "<svg"))
    let end = try #require(page.range(of: "</svg>"))
    let parser = XMLParser(data: Data(page[start.lowerBound..<end.upperBound].utf8))
    #expect(parser.parse())
    #expect(page.contains("1 cell = 2×2 channels"))
    #expect(page.contains("6. When to use which"))
  }

  /// A timed run (forward and backward) of a tiny layer: a row and a verdict per variant.
  @Test func timedRunReportsEveryVariant() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let json = directory.path("timed.json")
    let result = try await GroupConvExecutable.run(
      Self.small + ["--threads", "1", "--backward", "--json", json], in: directory)
    try #require(result.status == 0, "\(result.standardError)")
    let lines = result.standardOutput.split(separator: "\n").map(String.init)
    #expect(lines.contains { $0.hasPrefix("3. Speed on this machine: 1 thread, ") })
    let header = try #require(lines.firstIndex { $0.contains("forward ms") })
    #expect(lines[header].contains("backward ms"))
    for (offset, name) in ["dense", "groups 2", "groups 4", "depthwise", "separable"].enumerated() {
      #expect(lines[header + 1 + offset].hasPrefix("   \(name) "), "\(lines[header + 1 + offset])")
    }
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json)))
        as? [String: Any])
    let variants = try #require(object["variants"] as? [[String: Any]])
    #expect(variants.allSatisfy { ($0["forward_ms"] as? Double ?? 0) > 0 })
    #expect(variants.allSatisfy { ($0["backward_ms"] as? Double ?? 0) > 0 })
    #expect(variants.dropFirst().allSatisfy { $0["saving"] is String })
    #expect((object["machine"] as? [String: Any])?["threads"] as? Int == 1)
  }

  // MARK: - Refusals

  @Test(arguments: [
    (
      ["--groups", "3"],
      "Conv2d: in_channels 64 is not divisible by groups 3; valid groups for "
        + "64 input and 128 output channels are 1, 2, 4, 8, 16, 32, 64"
    ),
    (
      ["--in", "8", "--out", "12", "--groups", "8"],
      "Conv2d: out_channels 12 is not divisible "
        + "by groups 8; valid groups for 8 input and 12 output channels are 1, 2, 4"
    ),
    (
      ["--groups", "2,0"],
      "Conv2d: groups 0 is not supported: non-positive groups is not "
        + "supported"
    ),
    (
      ["--groups", "2,x"],
      "--groups '2,x' is not a list of integers: expected N or N,N,... "
        + "(e.g. 1 or 2,1)"
    ),
    (
      ["--size", "2x2", "--kernel", "5", "--padding", "0"],
      "Conv2d: calculated padded input "
        + "size per channel: (2 x 2). Kernel size: (5 x 5). Kernel size can't be greater than "
        + "actual input size"
    ),
    (
      ["--size", "56x"],
      "--size '56x' is not HxW: expected two integers such as 56x56, or one "
        + "(56) for a square"
    ),
    (
      ["--size", "7by7"],
      "--size '7by7' is not HxW: expected two integers such as 56x56, or "
        + "one (56) for a square"
    ),
    (
      ["--size", "0x8"],
      "Conv2d: input of size [1, 64, 0, 8] has an empty spatial dimension: "
        + "only zero batch or zero channel inputs are supported"
    ),
    (["--in", "0"], "Conv2d: in_channels 0 is not supported: in_channels must be positive"),
    (["--out=-4"], "Conv2d: out_channels -4 is not supported: out_channels must be positive"),
    (
      ["--kernel", "0"],
      "Conv2d: kernel_size [0, 0] is not supported: kernel_size must be "
        + "positive"
    ),
    (["--batch", "0"], "explain: batch 0 is not supported: batch must be positive"),
    (
      ["--padding=-1"],
      "Conv2d: padding [-1] is not supported: negative padding is not "
        + "supported"
    ),
    (["--threads", "0"], "--threads 0 must be between 1 and 1024"),
    (
      ["--svg", "a.svg", "--html", "a.html"],
      "--svg and --html are alternatives: give one of "
        + "them"
    ),
    (
      ["--backward", "--no-timing"],
      "--backward times the backward pass: it cannot go with "
        + "--no-timing"
    ),
    (
      ["--in", "100000"],
      "explain: in_channels 100000 is too large: explain builds and runs "
        + "every variant and takes at most 4096 channels"
    ),
    (
      ["--size", "4096x4096"],
      "explain: the input [1, 64, 4096, 4096] has 1073741824 "
        + "elements; explain runs every variant and allows at most 67108864 per tensor"
    ),
  ])
  func invalidRequestsAreOneLine(_ extra: [String], _ message: String) async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let result = try await GroupConvExecutable.run(["explain"] + extra, in: directory)
    expectOneErrorLine(result, "\(extra)")
    #expect(result.standardError == "groupconv: error: \(message)\n", "\(extra)")
  }

  /// The message for groups that do not divide is the one `Conv2d` throws.
  @Test func groupsErrorIsTheEnginesOwn() throws {
    let engine = ConvolutionError.channelsNotDivisibleByGroups(
      operation: "Conv2d", role: .input, channels: 64, groups: 3, inputChannels: 64,
      outputChannels: 128)
    #expect(throws: engine) {
      try Conv2d(inChannels: 64, outChannels: 128, kernelSize: 3, groups: 3)
    }
    #expect(
      engine.description
        == "Conv2d: in_channels 64 is not divisible by groups 3; valid groups for 64 input and "
        + "128 output channels are 1, 2, 4, 8, 16, 32, 64")
  }

  @Test func unwritableFileIsAnError() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let nowhere = directory.path("no-such-folder/explain.json")
    let result = try await GroupConvExecutable.run(
      Self.small + ["--no-timing", "--json", nowhere], in: directory)
    #expect(result.status != 0)
    #expect(result.standardError == "groupconv: error: \(nowhere): cannot write the file\n")
  }

  @Test func helpListsEveryOption() async throws {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    let root = try await GroupConvExecutable.run(["--help"], in: directory)
    #expect(root.standardOutput.contains("explain"))
    let help = try await GroupConvExecutable.run(["explain", "--help"], in: directory)
    #expect(help.status == 0)
    for option in [
      "--in", "--out", "--kernel", "--padding", "--size", "--batch", "--groups", "--svg",
      "--html", "--json", "--threads", "--no-timing", "--backward",
    ] {
      #expect(help.standardOutput.contains(option), "explain --help lacks \(option)")
    }
  }
}
