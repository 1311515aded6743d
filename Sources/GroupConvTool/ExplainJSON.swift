import Foundation
import GroupConv

/// Every number of the report, for scripts: the layer, each variant's cost and (when timed)
/// speed, the machine, the equivalences, the channel shuffle and the verdict.
enum ExplainJSON {
  static func object(_ report: ExplainReport, _ speed: ExplainSpeed?, verdict: [String])
    -> [String: Any]
  {
    let layer = report.layer
    var object: [String: Any] = [
      "layer": [
        "in_channels": layer.inputChannels, "out_channels": layer.outputChannels,
        "kernel": layer.kernel, "padding": layer.padding, "input_shape": layer.inputShape,
        "output_shape": layer.outputShape, "valid_groups": layer.validGroups,
        "depthwise_multiplier": layer.depthwiseMultiplier.map { $0 as Any } ?? NSNull(),
      ],
      "variants": explainFigures(report, speed).enumerated().map { index, f in
        variant(f, report.matrices[index])
      },
      "equivalences": report.equivalences.map { check -> [String: Any] in
        [
          "claim": check.claim, "max_abs_difference": Double(check.maxDifference),
          "holds": check.holds,
        ]
      },
      "equivalence_input_shape": report.checkShape,
      "verdict": verdict,
      "timed": speed != nil,
    ]
    if let m = speed?.machine {
      object["machine"] = [
        "threads": m.threads, "instruction_set": m.instructionSet, "fma_peak_gflops": m.peak,
        "memory_bandwidth_gbs": m.bandwidth, "bandwidth_buffer_bytes": ExplainMachine.streamBytes,
        "ridge_flops_per_byte": m.ridge,
      ]
    }
    if let s = report.shuffle {
      let range = { (r: ClosedRange<Int>) in [r.lowerBound, r.upperBound] }
      object["channel_shuffle"] = [
        "groups": s.groups,
        "without": [
          "groups_seen": range(s.groupsSeen(s.stacked)),
          "channels_seen": range(s.channelsSeen(s.stacked)),
        ],
        "with": [
          "groups_seen": range(s.groupsSeen(s.shuffled)),
          "channels_seen": range(s.channelsSeen(s.shuffled)),
        ],
        "probing_agrees": s.probingAgrees,
      ]
    }
    return object
  }

  private static func variant(_ f: ExplainFigures, _ matrix: ChannelMatrix) -> [String: Any] {
    let c = f.cost
    var object: [String: Any] = [
      "name": f.variant.name, "groups": f.variant.groups,
      "weight_shapes": f.variant.stages.map(\.weightShape),
      "parameters": c.parameters, "multiply_adds": c.multiplyAdds, "flops": c.flops,
      "activation_bytes": c.activationBytes, "weight_bytes": c.weightBytes, "bytes": c.bytes,
      "arithmetic_intensity": c.arithmeticIntensity,
      "parameters_vs_dense": Double(c.parameters) / Double(f.dense.parameters),
      "flops_vs_dense": Double(c.flops) / Double(f.dense.flops),
      "flop_cut": f.flopCut,
      "connected_fraction": matrix.connectivity.density,
    ]
    if let timing = f.timing {
      object["forward_ms"] = timing.forward * 1e3
      object["forward_speed_up"] = f.speedUp
      object["forward_gflops"] = f.gflops
      object["peak_fraction"] = f.peakShare
      object["realized_fraction_of_flop_cut"] = f.realized
      object["saving"] = f.saving?.name
      if let backward = timing.backward {
        object["backward_ms"] = backward * 1e3
        object["backward_speed_up"] = f.backwardSpeedUp
      }
    }
    return object
  }

  static func data(_ object: [String: Any]) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
  }
}
