import GroupConv

/// The report as terminal text: a header, then the six sections.
struct ExplainTerminal {
  let report: ExplainReport
  let speed: ExplainSpeed?
  let verdict: [String]
  /// Whether backward was timed.
  let backward: Bool

  var layer: ExplainLayer { report.layer }

  var text: String {
    (header() + [""] + connectivity() + [""] + cost() + [""] + speedSection() + [""]
      + equivalences() + [""] + shuffle() + [""] + verdictSection())
      .joined(separator: "\n") + "\n"
  }

  func header() -> [String] {
    let (cIn, cOut) = (layer.inputChannels, layer.outputChannels)
    let title: String =
      "groupconv explain: Conv2d(\(cIn) → \(cOut), \(layer.kernelText), padding "
      + "\(layer.padding)), input \(layer.inputShape) → output \(layer.outputShape)"
    let groups: String =
      "At groups g the layer is g convolutions side by side, each from \(cIn)/g input to "
      + "\(cOut)/g output channels, concatenated. Valid groups for \(cIn) input and \(cOut) "
      + "output channels: \(ExplainFormat.list(layer.validGroups)). Compared: "
      + layer.variants.map(\.name).joined(separator: ", ") + "."
    return ExplainFormat.wrap(title, first: "", rest: "  ")
      + ExplainFormat.wrap(groups, first: "", rest: "")
  }

  // MARK: - 1. Connectivity

  func connectivity() -> [String] {
    let variants = zip(layer.variants, report.matrices).filter { $0.0.kind != .separable }
    let scale = BlockScale(fitting: variants.map(\.1.connectivity))
    var lines = ["1. Connectivity: which output channels (rows) see which input channels (columns)"]
    lines += ExplainFormat.wrap(
      "\(scale.description); \(BlockDrawing.legend(scale))", first: "   ", rest: "   ")
    lines.append("")
    lines += BlockDrawing.panels(
      variants.map { ($0.0.name, BlockDrawing.draw($0.1.connectivity, scale)) })
    lines.append("")
    let nameWidth = max("depthwise".count, variants.map(\.0.name.count).max() ?? 0) + 2
    for (variant, matrix) in variants {
      lines += ExplainFormat.wrap(
        seen(variant, matrix), first: "   " + ExplainFormat.pad(variant.name, nameWidth),
        rest: String(repeating: " ", count: 3 + nameWidth))
    }
    if layer.depthwiseMultiplier == nil {
      lines += ExplainFormat.wrap(
        "impossible: out_channels \(layer.outputChannels) is not a multiple of in_channels "
          + "\(layer.inputChannels) (depthwise makes multiplier × in_channels outputs)",
        first: "   " + ExplainFormat.pad("depthwise", nameWidth),
        rest: String(repeating: " ", count: 3 + nameWidth))
    }
    lines += separable()
    return lines
  }

  private func seen(_ variant: ExplainVariant, _ matrix: ChannelMatrix) -> String {
    let c = matrix.connectivity
    let counts = (0..<c.outputChannels).map { c.inputs(seenBy: $0).count }
    let sees = counts.min() == counts.max() ? "\(counts[0])" : "\(counts.min()!)–\(counts.max()!)"
    let share = ExplainFormat.percent(c.density, of: 1)
    switch variant.kind {
    case .dense, .separable:
      return "every output channel sees all \(layer.inputChannels) input channels"
    case .grouped(let g):
      return "\(g) blocks of \(layer.outputChannels / g) outputs × \(layer.inputChannels / g) "
        + "inputs: each output sees \(sees) of \(layer.inputChannels) input channels (\(share))"
    case .depthwise(let multiplier):
      return "each input channel has its own "
        + (multiplier == 1 ? "filter" : "\(multiplier) filters") + ": "
        + "each output sees \(sees) of \(layer.inputChannels) input channels (\(share))"
    }
  }

  private func separable() -> [String] {
    guard report.separableStages.count == 3,
      let separable = layer.variants.first(where: { $0.kind == .separable })
    else { return [] }
    let stages = report.separableStages
    let scale = BlockScale(fitting: stages.map(\.connectivity))
    let dense = layer.dense.cost.parameters
    let cIn = layer.inputChannels
    let intro: String =
      "separable = \(layer.kernelText) depthwise (\(cIn) → \(cIn), groups \(cIn)), then 1×1 "
      + "dense (\(cIn) → \(layer.outputChannels)); \(scale.description)"
    var lines = [""] + ExplainFormat.wrap(intro, first: "   ", rest: "   ") + [""]
    lines += BlockDrawing.panels(
      stages.map { ($0.title, BlockDrawing.draw($0.connectivity, scale)) })
    lines.append("")
    let (parameters, kernel) = (separable.cost.parameters, layer.kernelText)
    let why =
      parameters < dense
      ? "from \(ExplainFormat.count(parameters)) parameters instead of "
        + "\(ExplainFormat.count(dense)), because each input's \(layer.outputChannels) filters "
        + "are one \(kernel) filter scaled: sparse across channels in the factors, rank 1 per "
        + "input channel in the composite."
      : "but with \(ExplainFormat.count(parameters)) parameters against dense's "
        + "\(ExplainFormat.count(dense)): with so few channels the factors cost more than the "
        + "dense weight."
    lines += ExplainFormat.wrap(
      "The composite W[o,i,:,:] = P[o,i]·D[i,:,:] is one dense \(kernel) convolution: every "
        + "output sees all \(layer.inputChannels) inputs "
        + "(\(ExplainFormat.percent(stages[2].connectivity.density, of: 1)) connected), " + why,
      first: "   ", rest: "   ")
    return lines
  }

  // MARK: - 2. Cost

  func cost() -> [String] {
    let dense = layer.dense.cost
    var rows = [
      ["variant", "weight", "params", "", "MACs", "", "activations", "weights", "FLOP/B"]
    ]
    for variant in layer.variants {
      let c = variant.cost
      rows.append([
        variant.name, variant.weightText, ExplainFormat.count(c.parameters),
        ExplainFormat.percent(Double(c.parameters), of: Double(dense.parameters)),
        ExplainFormat.large(Double(c.multiplyAdds)),
        ExplainFormat.percent(Double(c.multiplyAdds), of: Double(dense.multiplyAdds)),
        ExplainFormat.bytes(c.activationBytes), ExplainFormat.bytes(c.weightBytes),
        ExplainFormat.significant(c.arithmeticIntensity),
      ])
    }
    return ExplainFormat.wrap(
      "2. Cost of one forward pass, float32 (MACs: multiply-adds; activations: bytes read and "
        + "written, the separable block's hidden layer twice; FLOP/B: FLOPs per byte moved)",
      first: "", rest: "   ")
      + ExplainFormat.table(rows, right: Set(2...8), gaps: [3: 1, 5: 1])
      + [
        "   Groups divide parameters and multiply-adds but not activations, so FLOPs per byte "
          + "fall with them."
      ]
  }

  // MARK: - 3. Speed

  func speedSection() -> [String] {
    guard let speed else {
      return ["3. Speed: not measured (--no-timing)"]
    }
    let m = speed.machine
    var lines = ExplainFormat.wrap(
      "3. Speed on this machine: \(m.threads) thread\(m.threads == 1 ? "" : "s"), "
        + "\(m.instructionSet) kernels, FMA peak \(ExplainFormat.significant(m.peak)) GFLOP/s, "
        + "memory bandwidth \(ExplainFormat.significant(m.bandwidth)) GB/s (copying "
        + "\(ExplainFormat.bytes(ExplainMachine.streamBytes))), so the ridge point is "
        + "\(ExplainFormat.significant(m.ridge)) FLOP/byte. Medians of repeated passes on "
        + "\(layer.inputShape); a saving counts as real at "
        + "\(ExplainFormat.percent(ExplainSaving.realThreshold, of: 1)) of the FLOP cut or more.",
      first: "", rest: "   ")
    var rows = [["variant", "forward ms", "speed-up", "FLOP cut", "GFLOP/s", "of peak"]]
    if backward { rows[0] += ["backward ms", "speed-up"] }
    let figures = explainFigures(report, speed)
    for f in figures {
      guard let timing = f.timing else { continue }
      var cells = [
        f.variant.name, ExplainFormat.milliseconds(timing.forward),
        ExplainFormat.times(f.speedUp ?? 1), ExplainFormat.times(f.flopCut),
        ExplainFormat.significant(f.gflops ?? 0), ExplainFormat.percent(f.peakShare ?? 0, of: 1),
      ]
      if let time = timing.backward {
        cells += [ExplainFormat.milliseconds(time), ExplainFormat.times(f.backwardSpeedUp ?? 1)]
      }
      rows.append(cells)
    }
    lines += ExplainFormat.table(rows, right: Set(1...7))
    lines.append("")
    let nameWidth = (figures.map(\.variant.name.count).max() ?? 0) + 2
    for f in figures.dropFirst() {
      lines += ExplainFormat.wrap(
        savingText(f, m), first: "   " + ExplainFormat.pad(f.variant.name, nameWidth),
        rest: String(repeating: " ", count: 3 + nameWidth))
    }
    return lines
  }

  private func savingText(_ f: ExplainFigures, _ m: ExplainMachine) -> String {
    let speedUp = f.speedUp ?? 1
    let realized = ExplainFormat.percent(f.realized ?? 0, of: 1)
    let measured =
      "\(ExplainFormat.times(speedUp)) faster for \(ExplainFormat.times(f.flopCut)) "
      + "fewer FLOPs (\(realized) of the cut)"
    let intensity = ExplainFormat.significant(f.cost.arithmeticIntensity)
    switch f.saving {
    case .real: return "real: \(measured)"
    case .memoryBound:
      let floor = ExplainFormat.milliseconds(Double(f.cost.bytes) / (m.bandwidth * 1e9))
      let bytes = ExplainFormat.bytes(f.cost.bytes)
      return "eaten by memory bandwidth: \(measured); at \(intensity) FLOP/byte (below the ridge "
        + "point \(ExplainFormat.significant(m.ridge))) moving its \(bytes) takes longer than its "
        + "arithmetic: at least \(floor) ms"
    case .kernelBound:
      let dense = explainFigures(report, speed)[0].peakShare ?? 0
      return "eaten by kernel efficiency: \(measured); compute-bound (\(intensity) FLOP/byte, "
        + "above the ridge point), but at \(ExplainFormat.percent(f.peakShare ?? 0, of: 1)) of "
        + "peak against dense's \(ExplainFormat.percent(dense, of: 1))"
    case .reference, nil: return measured
    }
  }

  // MARK: - 4. Equivalences

  func equivalences() -> [String] {
    var lines = [
      "4. Equivalences, checked now on random data \(report.checkShape) with this layer's weights"
    ]
    let width = (report.equivalences.map(\.claim.count).max() ?? 0) + 2
    for check in report.equivalences {
      lines.append(
        "   " + ExplainFormat.pad(check.claim, width) + "max |diff| "
          + ExplainFormat.difference(check.maxDifference) + (check.holds ? "  ✓" : "  ✗ FAILED"))
    }
    if !layer.validGroups.contains(2) {
      lines.append(
        "   groups 2 == two half convolutions: not shown, groups 2 does not divide "
          + "\(layer.inputChannels) and \(layer.outputChannels) channels")
    }
    return lines
  }

  // MARK: - 5. Channel shuffle

  func shuffle() -> [String] {
    guard let s = report.shuffle else {
      return [
        "5. Channel shuffle: not shown, only groups 1 divides \(layer.inputChannels) and "
          + "\(layer.outputChannels) channels"
      ]
    }
    let (cIn, cOut, g) = (layer.inputChannels, layer.outputChannels, s.groups)
    let scale = BlockScale(fitting: [s.stacked, s.shuffle.connectivity])
    var lines = ExplainFormat.wrap(
      "5. Channel shuffle: two stacked 1×1 convolutions with groups \(g) (\(cIn) → \(cOut) → "
        + "\(cOut)), output of the second against input of the first (the boolean product of "
        + "their block matrices); \(scale.description)", first: "", rest: "   ")
    lines.append("")
    lines += BlockDrawing.panels([
      ("stacked", BlockDrawing.draw(s.stacked, scale)),
      ("shuffle(\(g))", BlockDrawing.draw(s.shuffle.connectivity, scale)),
      ("stacked with shuffle", BlockDrawing.draw(s.shuffled, scale)),
    ])
    let plain = (s.groupsSeen(s.stacked), s.channelsSeen(s.stacked))
    let mixed = (s.groupsSeen(s.shuffled), s.channelsSeen(s.shuffled))
    let notes = [
      "without a shuffle each output sees \(ExplainFormat.span(plain.0)) of \(g) input groups "
        + "(\(ExplainFormat.span(plain.1)) of \(cIn) channels)"
        + (plain.0.upperBound == 1 ? ": information never crosses groups" : ""),
      "with channel_shuffle(groups \(g)) between them each output sees "
        + "\(ExplainFormat.span(mixed.0)) of \(g) input groups (\(ExplainFormat.span(mixed.1)) of "
        + "\(cIn) channels)"
        + (mixed.0.lowerBound == g
          ? "" : "; one shuffle mixes fully only when \(g)² ≤ \(cOut) channels"),
      "probing the real layers (one input channel lit at a time) "
        + (s.probingAgrees ? "gives the same matrices ✓" : "gives other matrices ✗ FAILED"),
    ]
    lines.append("")
    for note in notes { lines += ExplainFormat.wrap(note, first: "   ", rest: "     ") }
    return lines
  }

  // MARK: - 6. Verdict

  func verdictSection() -> [String] {
    ["6. When to use which"]
      + verdict.flatMap { ExplainFormat.wrap($0, first: "   - ", rest: "     ") }
  }
}
