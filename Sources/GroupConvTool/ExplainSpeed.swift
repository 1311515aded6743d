import Foundation
import GroupConv
import Synchronization

/// This machine's figures that measured times are read against: the FMA peak (compute) and
/// the memory bandwidth; their ratio is the ridge point of the roofline.
struct ExplainMachine: Sendable {
  let threads: Int
  let instructionSet: String
  /// FMA peak, GFLOP/s.
  let peak: Double
  /// Bytes read plus bytes written per second while copying a buffer far larger than the
  /// caches (`streamBytes`), in GB/s: what a layer whose activations come from memory gets.
  let bandwidth: Double

  /// Source plus destination of the bandwidth measurement.
  static let streamBytes = 64 << 20

  /// FLOPs per byte above which a kernel can keep the FMA units busy; below it, memory
  /// traffic bounds the time.
  var ridge: Double { peak / bandwidth }

  /// Measures the bandwidth now and takes the better of `peak` and a new peak measurement:
  /// other processes only ever slow a measurement down.
  static func measure(peak earlier: Double) -> ExplainMachine {
    let threads = Parallelism.threads
    return ExplainMachine(
      threads: threads, instructionSet: Parallelism.instructionSet,
      peak: max(earlier, Parallelism.measureFMAPeak()),
      bandwidth: copyBandwidth(bytes: streamBytes, threads: threads))
  }

  /// GB/s moved (read + written) by `threads` threads each copying its share of `bytes`
  /// (source and destination together) over and over: the best of three trials per thread,
  /// summed over the threads.
  static func copyBandwidth(bytes: Int, threads: Int) -> Double {
    let count = max(4096, bytes / 8 / threads)
    let rates = Mutex<[Double]>([])
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
      let source = [Float](repeating: 1, count: count)
      var target = [Float](repeating: 0, count: count)
      let copies = max(1, (64 << 20) / (8 * count))
      let clock = ContinuousClock()
      var best = 0.0
      for _ in 0..<3 {
        let elapsed = clock.measure {
          for _ in 0..<copies { target.replaceSubrange(0..<count, with: source) }
        }
        best = max(best, Double(8 * count * copies) / max(elapsed.seconds, 1e-9))
      }
      // Reading the copy keeps it from being optimised away; a wrong value scores zero.
      rates.withLock { $0.append(target[count - 1] == 1 ? best : 0) }
    }
    return rates.withLock { $0.reduce(0, +) } / 1e9
  }
}

/// Median seconds of one variant's passes.
struct ExplainTiming: Sendable {
  let forward: Double
  /// Input, weight and bias gradients together; nil unless asked for.
  let backward: Double?
}

/// The speed section's measurements: the machine, then each variant's time.
struct ExplainSpeed: Sendable {
  let machine: ExplainMachine
  /// One per variant, in the layer's order.
  let timings: [ExplainTiming]

  /// Times every variant of `report` on the full-size input, forward (and backward).
  static func measure(
    _ report: ExplainReport, backward: Bool, progress: (String) -> Void
  ) throws -> ExplainSpeed {
    let layer = report.layer
    progress("measuring this machine's FMA peak ...")
    let peak = Parallelism.measureFMAPeak()
    let x = try Tensor.random(shape: layer.inputShape, seed: 2)
    let dy = try Tensor.random(shape: layer.outputShape, seed: 3)
    var timings: [ExplainTiming] = []
    for (variant, model) in zip(layer.variants, report.models) {
      progress("timing \(variant.name) ...")
      let forward = try median { _ = try model.forward(x) }
      let backwardTime = backward ? try median { try model.backward(dy, input: x) } : nil
      timings.append(ExplainTiming(forward: forward, backward: backwardTime))
    }
    progress("measuring the FMA peak again, and the memory bandwidth ...")
    let machine = ExplainMachine.measure(peak: peak)
    progress("")
    return ExplainSpeed(machine: machine, timings: timings)
  }

  /// The median seconds of `pass`, after a warm-up of at least two runs and 20 ms; sampled
  /// for about 150 ms (at least 7 samples), or at least 3 samples when a pass is slow.
  static func median(_ pass: () throws -> Void) throws -> Double {
    let clock = ContinuousClock()
    let warmUp = clock.now
    var warmRuns = 0
    while warmRuns < 2 || clock.now - warmUp < .milliseconds(20) {
      try pass()
      warmRuns += 1
    }
    var samples: [Double] = []
    let start = clock.now
    while true {
      samples.append(try clock.measure { try pass() }.seconds)
      let elapsed = clock.now - start
      if samples.count >= 2000 || (samples.count >= 7 && elapsed > .milliseconds(150))
        || (samples.count >= 3 && elapsed > .seconds(1))
      {
        break
      }
    }
    samples.sort()
    return samples[samples.count / 2]
  }
}

extension Duration {
  /// The duration in seconds.
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
