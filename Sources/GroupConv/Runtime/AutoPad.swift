/// ONNX's `auto_pad`, shared by the operators with windows (Conv, ConvTranspose, MaxPool,
/// AveragePool).
extension NodeContext {
  /// The largest kernel size, stride, dilation, pad or output padding a window takes: the
  /// window arithmetic then stays far from Int's limits, and the kernels' tap tables hold
  /// every value in 32 bits. No real network comes near it.
  package static let maximumWindowValue = Int(Int32.max)

  /// Checks that each of `values`, the window attribute `name`, is at most
  /// `maximumWindowValue`.
  ///
  /// - Throws: `invalidAttribute` naming the attribute and the limit.
  package func checkWindowValues(_ name: String, _ values: [Int]) throws(InferenceError) {
    guard values.allSatisfy({ $0 <= Self.maximumWindowValue }) else {
      throw invalidAttribute(
        name, "\(values)", "must hold values of at most \(Self.maximumWindowValue)")
    }
  }

  /// `pads` (all begins, then all ends, for `rank` spatial dimensions) as the node's
  /// `auto_pad` says: as given for NOTSET, zeros for VALID, and for SAME_UPPER and SAME_LOWER
  /// a total of `total(axis)` per dimension, split by `splitPad`.
  ///
  /// - Throws: `invalidAttribute` for another `auto_pad`.
  package func autoPads(_ pads: [Int], rank: Int, total: (Int) -> Int) throws(InferenceError)
    -> [Int]
  {
    let autoPad = try string("auto_pad") ?? "NOTSET"
    switch autoPad {
    case "NOTSET":
      return pads
    case "VALID":
      return Array(repeating: 0, count: 2 * rank)
    case "SAME_UPPER", "SAME_LOWER":
      var pads = pads
      for axis in 0..<rank {
        (pads[axis], pads[rank + axis]) = Self.splitPad(total(axis), upper: autoPad == "SAME_UPPER")
      }
      return pads
    default:
      throw invalidAttribute(
        "auto_pad", autoPad, "must be NOTSET, SAME_UPPER, SAME_LOWER or VALID")
    }
  }

  /// A total padding as (begin, end): the odd extra at the end when `upper` (SAME_UPPER), at
  /// the beginning otherwise.
  package static func splitPad(_ total: Int, upper: Bool) -> (begin: Int, end: Int) {
    upper ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
  }

  /// The total padding SAME needs for a forward window of `extent` (dilated kernel) moved by
  /// `stride` over `input`: the output is ⌈input / stride⌉.
  package static func samePadding(input: Int, stride: Int, extent: Int) -> Int {
    let output = input / stride + (input % stride == 0 ? 0 : 1)
    return max(0, (output - 1) * stride + extent - input)
  }
}
