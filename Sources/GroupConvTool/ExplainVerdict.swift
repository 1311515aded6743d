/// How much of a variant's FLOP cut its measured time shows, and why.
enum ExplainSaving: Equatable, Sendable {
  /// Dense: what the others are measured against.
  case reference
  /// The speed-up is at least `realThreshold` of the FLOP cut.
  case real
  /// Short of the cut, and the arithmetic intensity is below the ridge point: memory
  /// traffic, not arithmetic, sets the time.
  case memoryBound
  /// Short of the cut though compute-bound: the kernel runs further from peak than dense.
  case kernelBound

  /// The fraction of the FLOP cut a speed-up must reach to count as real.
  static let realThreshold = 0.7

  var name: String {
    switch self {
    case .reference: "reference"
    case .real: "real"
    case .memoryBound: "eaten by memory bandwidth"
    case .kernelBound: "eaten by kernel efficiency"
    }
  }
}

/// One variant's figures against dense: costs always, measured speed when timed.
struct ExplainFigures: Sendable {
  let variant: ExplainVariant
  let cost: ExplainCost
  let dense: ExplainCost
  let timing: ExplainTiming?
  let denseTiming: ExplainTiming?
  let machine: ExplainMachine?

  /// This variant's parameters as a share of dense's: `12.1%`.
  var parameterShare: String {
    ExplainFormat.percent(Double(cost.parameters), of: Double(dense.parameters))
  }
  /// This variant's FLOPs as a share of dense's.
  var flopShare: String { ExplainFormat.percent(Double(cost.flops), of: Double(dense.flops)) }

  /// Dense FLOPs over this variant's.
  var flopCut: Double { Double(dense.flops) / Double(cost.flops) }
  /// Dense time over this variant's.
  var speedUp: Double? {
    guard let timing, let denseTiming else { return nil }
    return denseTiming.forward / timing.forward
  }
  var backwardSpeedUp: Double? {
    guard let time = timing?.backward, let dense = denseTiming?.backward else { return nil }
    return dense / time
  }
  /// The measured speed-up as a fraction of the FLOP cut.
  var realized: Double? { speedUp.map { $0 / flopCut } }
  /// Forward GFLOP/s measured.
  var gflops: Double? { timing.map { Double(cost.flops) / $0.forward / 1e9 } }
  /// The fraction of the FMA peak reached.
  var peakShare: Double? {
    guard let gflops, let machine else { return nil }
    return gflops / machine.peak
  }

  var saving: ExplainSaving? {
    guard variant.kind != .dense else { return .reference }
    guard let realized, let machine else { return nil }
    if realized >= ExplainSaving.realThreshold { return .real }
    return cost.arithmeticIntensity < machine.ridge ? .memoryBound : .kernelBound
  }
}

/// The figures of every variant of `report`, dense first.
func explainFigures(_ report: ExplainReport, _ speed: ExplainSpeed?) -> [ExplainFigures] {
  let dense = report.layer.dense.cost
  return report.layer.variants.enumerated().map { index, variant in
    ExplainFigures(
      variant: variant, cost: variant.cost, dense: dense, timing: speed?.timings[index],
      denseTiming: speed?.timings[0], machine: speed?.machine)
  }
}

/// The plain verdict of section 6, derived from this layer's numbers.
enum ExplainVerdict {
  /// One sentence per finding.
  static func lines(_ report: ExplainReport, _ speed: ExplainSpeed?) -> [String] {
    let figures = explainFigures(report, speed)
    let others = Array(figures.dropFirst())
    var lines: [String] = []
    if let speed {
      lines += measured(others, figures[0], speed.machine)
    } else {
      lines += unmeasured(others, figures[0])
    }
    if let line = separableAgainstGrouped(report, others) { lines.append(line) }
    lines.append(caveat(report))
    return lines
  }

  private static func measured(
    _ others: [ExplainFigures], _ dense: ExplainFigures, _ machine: ExplainMachine
  ) -> [String] {
    typealias F = ExplainFormat
    var lines: [String] = []
    guard let denseTime = dense.timing?.forward else { return lines }
    if let fastest = ([dense] + others).max(by: { ($0.speedUp ?? 0) < ($1.speedUp ?? 0) }),
      let time = fastest.timing?.forward
    {
      lines.append(
        fastest.variant.kind == .dense
          ? "Fastest here is dense itself (\(F.milliseconds(time)) ms): on this machine no "
            + "grouping saves time for this layer."
          : "Fastest: \(fastest.variant.name), \(F.times(fastest.speedUp ?? 1)) dense "
            + "(\(F.milliseconds(time)) ms against \(F.milliseconds(denseTime)) ms), with "
            + "\(fastest.parameterShare) of dense's parameters and \(fastest.flopShare) of its "
            + "FLOPs.")
    }
    // Time saved per parameter given up, for the variants that save both.
    let perParameter = others.compactMap { f -> (ExplainFigures, Double)? in
      guard let time = f.timing?.forward, time < denseTime,
        f.cost.parameters < dense.cost.parameters
      else { return nil }
      return (f, (denseTime - time) / Double(dense.cost.parameters - f.cost.parameters))
    }
    if let (best, seconds) = perParameter.max(by: { $0.1 < $1.1 }) {
      let saved = denseTime - (best.timing?.forward ?? 0)
      lines.append(
        "Most time saved per parameter given up: \(best.variant.name), "
          + "\(F.significant(seconds * 1e9)) µs per 1,000 parameters "
          + "(\(F.count(dense.cost.parameters - best.cost.parameters)) fewer parameters, "
          + "\(F.milliseconds(saved)) ms faster).")
    }
    let short = others.filter { $0.saving != .real }
    guard let worst = short.min(by: { ($0.realized ?? 1) < ($1.realized ?? 1) }),
      let speedUp = worst.speedUp
    else {
      if !others.isEmpty {
        lines.append(
          "Every variant's speed-up is at least \(F.percent(ExplainSaving.realThreshold, of: 1)) "
            + "of its FLOP cut here: the savings are real on this machine.")
      }
      return lines
    }
    let runs =
      speedUp < 1 ? "slower than dense (\(F.times(speedUp)))" : "only \(F.times(speedUp)) faster"
    let intensity = F.significant(worst.cost.arithmeticIntensity)
    let floor = Double(worst.cost.bytes) / (machine.bandwidth * 1e9)
    let why =
      worst.saving == .memoryBound
      ? "its \(intensity) FLOP/byte is below this machine's ridge point of "
        + "\(F.significant(machine.ridge)) FLOP/byte (\(F.significant(machine.peak)) GFLOP/s FMA "
        + "peak ÷ \(F.significant(machine.bandwidth)) GB/s), so moving its "
        + "\(F.bytes(worst.cost.bytes)) of activations and weights, not arithmetic, bounds its "
        + "time (at least \(F.milliseconds(floor)) ms; measured "
        + "\(F.milliseconds(worst.timing?.forward ?? 0)) ms)"
      : "it is compute-bound (\(intensity) FLOP/byte, ridge \(F.significant(machine.ridge))), "
        + "but its kernel reaches \(F.percent(worst.peakShare ?? 0, of: 1)) of peak against "
        + "dense's \(F.percent(dense.peakShare ?? 0, of: 1)): too little work per group to keep "
        + "the vector units busy"
    lines.append(
      "Falls furthest short: \(worst.variant.name) cuts FLOPs \(F.times(worst.flopCut)) but runs "
        + "\(runs): \(why).")
    return lines
  }

  private static func unmeasured(_ others: [ExplainFigures], _ dense: ExplainFigures) -> [String] {
    guard let fewest = others.min(by: { $0.cost.flops < $1.cost.flops }),
      let leanest = others.min(by: { $0.cost.arithmeticIntensity < $1.cost.arithmeticIntensity })
    else { return [] }
    guard fewest.cost.flops < dense.cost.flops else {
      return [
        "Nothing here cuts FLOPs: with so few channels even \(fewest.variant.name), the "
          + "cheapest, needs \(fewest.flopShare) of dense's FLOPs; keep this layer dense."
      ]
    }
    return [
      "Fewest FLOPs: \(fewest.variant.name), \(fewest.flopShare) of dense's, with "
        + "\(fewest.parameterShare) of its parameters.",
      "Lowest arithmetic intensity: \(leanest.variant.name), "
        + "\(ExplainFormat.significant(leanest.cost.arithmeticIntensity)) FLOP/byte against "
        + "dense's \(ExplainFormat.significant(dense.cost.arithmeticIntensity)): below a "
        + "machine's ridge point (peak FLOP/s ÷ memory bandwidth) it waits on memory, so its "
        + "time falls less than its FLOPs. Timing was skipped (--no-timing); run without it to "
        + "see which savings are real on this machine.",
    ]
  }

  /// Separable against the grouped variant nearest its parameter count.
  private static func separableAgainstGrouped(
    _ report: ExplainReport, _ others: [ExplainFigures]
  ) -> String? {
    guard let separable = others.first(where: { $0.variant.kind == .separable }) else {
      return nil
    }
    let grouped = others.filter { if case .grouped = $0.variant.kind { true } else { false } }
    let distance = { (f: ExplainFigures) in
      abs(Double(f.cost.parameters).squareRoot() - Double(separable.cost.parameters).squareRoot())
    }
    guard let nearest = grouped.min(by: { distance($0) < distance($1) }) else { return nil }
    let inputs = report.layer.inputChannels
    let time = { (f: ExplainFigures) in
      f.timing.map { ", \(ExplainFormat.milliseconds($0.forward)) ms" } ?? ""
    }
    return "At a similar size, separable (\(ExplainFormat.count(separable.cost.parameters)) "
      + "parameters\(time(separable))) lets every output see all \(inputs) input channels, "
      + "while \(nearest.variant.name) (\(ExplainFormat.count(nearest.cost.parameters)) "
      + "parameters\(time(nearest))) lets each see \(inputs / nearest.variant.groups): "
      + "separable factors the weight instead of cutting connections."
  }

  private static func caveat(_ report: ExplainReport) -> String {
    let layer = report.layer
    let depthwise = layer.depthwiseMultiplier.map { _ in layer.inputChannels }
    guard let g = layer.groups.last ?? depthwise ?? layer.validGroups.dropFirst().first, g > 1
    else {
      return "Only groups 1 divides \(layer.inputChannels) and \(layer.outputChannels) "
        + "channels: this layer can be grouped only by changing its channel counts."
    }
    return "Groups are a constraint (a prior), not only a saving: groups \(g) forces "
      + "\(ExplainFormat.percent(Double(g - 1), of: Double(g))) of the dense weight to zero, and "
      + "stacked grouped layers never exchange information across groups without a shuffle or "
      + "a dense 1×1 (section 5). Whether the model still learns what it needs is for training "
      + "to tell; these numbers say what each choice costs."
  }
}
