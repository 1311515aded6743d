import Formats
import Kernels

/// Slice, Gather and Pad: copies that pick, repeat or add elements, their positions known
/// when the model is prepared.
extension Operators {
  static let indexing: [String: OperatorDefinition] = [
    "Slice": OperatorDefinition(opsets: 6...21, build: slice),
    "Gather": OperatorDefinition(opsets: 6...21, build: gather),
    "Pad": OperatorDefinition(opsets: 6...21, build: pad),
  ]

  /// x[starts:ends:steps] along `axes`: attributes starts, ends, axes at opset 9; constant
  /// inputs starts, ends, axes, steps from 10. Negative positions count from the end;
  /// positions are clamped to the axis (to −1...size − 1 for negative steps).
  static func slice(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    try context.expectOutputs(1...1)
    try context.expectFloats(0)
    let shape = try context.shape(0)
    let starts: [Int]
    let ends: [Int]
    let givenAxes: [Int]?
    let steps: [Int]?
    if context.opset < 10 {
      try context.expectInputs(1...1)
      guard let s = try context.ints("starts"), let e = try context.ints("ends") else {
        throw context.invalidAttribute("starts", "(absent)", "starts and ends are required")
      }
      (starts, ends, givenAxes, steps) = (s, e, try context.ints("axes"), nil)
    } else {
      try context.expectInputs(3...5)
      starts = try context.constantIntegers(1)
      ends = try context.constantIntegers(2)
      givenAxes = context.hasInput(3) ? try context.constantIntegers(3) : nil
      steps = context.hasInput(4) ? try context.constantIntegers(4) : nil
    }
    let axes = try context.axes(givenAxes ?? Array(0..<starts.count), rank: shape.count)
    let stepList = steps ?? Array(repeating: 1, count: starts.count)
    guard ends.count == starts.count, axes.count == starts.count,
      stepList.count == starts.count
    else {
      throw context.invalidInput(
        context.opset < 10 ? 0 : 1,
        "starts \(starts), ends \(ends), axes \(givenAxes ?? []) and steps \(steps ?? []) "
          + "must have one length")
    }
    var output = shape
    var strides = contiguousStrides(shape)
    var origin = 0
    for (i, axis) in axes.enumerated() {
      let (size, step) = (shape[axis], stepList[i])
      guard step != 0 else { throw context.invalidInput(4, "steps must not be 0") }
      func position(_ value: Int) -> Int {
        let p = value < 0 ? value &+ size : value
        return step > 0 ? min(max(p, 0), size) : min(max(p, -1), size - 1)
      }
      let (start, end) = (position(starts[i]), position(ends[i]))
      // Positions run from start towards end, |step| apart (any step, even ±2^63).
      let distance = step > 0 ? end - start : start - end
      output[axis] = distance > 0 ? Int((UInt(distance) - 1) / step.magnitude) + 1 : 0
      if output[axis] > 0 { origin += start * strides[axis] }
      // With two positions or more, |step| < size: the product is small.
      strides[axis] = output[axis] > 1 ? strides[axis] * step : 0
    }
    let (finalShape, finalStrides, finalOrigin) = (output, strides, origin)
    return KernelOperator(context, outputs: [output]) { inputs, outputs in
      Layout.copy(
        inputs[0], origin: finalOrigin, strides: finalStrides, shape: finalShape,
        into: outputs[0])
    }
  }

  /// data[..., indices, ...] along `axis` (default 0) with constant integer indices
  /// (negative count from the end): shape data[..<axis] + indices + data[(axis + 1)...].
  static func gather(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    try context.expectInputs(2...2)
    try context.expectOutputs(1...1)
    try context.expectFloats(0)
    let shape = try context.shape(0)
    let axis = try context.axis(try context.int("axis", default: 0), rank: shape.count)
    let size = shape[axis]
    let indices = try context.constantIntegers(1).map { $0 < 0 ? $0 + size : $0 }
    if let bad = indices.first(where: { $0 < 0 || $0 >= size }) {
      throw context.invalidInput(
        1, "holds index \(bad < 0 ? bad - size : bad) outside -\(size)..<\(size) of axis \(axis)")
    }
    let output = Array(shape[..<axis]) + (try context.shape(1)) + Array(shape[(axis + 1)...])
    _ = try context.elementCount(ofOutput: output)
    let (outer, inner) = (shape[..<axis].reduce(1, *), shape[(axis + 1)...].reduce(1, *))
    return KernelOperator(context, outputs: [output]) { inputs, outputs in
      guard inner > 0, let x = inputs[0].baseAddress, let y = outputs[0].baseAddress else {
        return
      }
      for (j, index) in indices.enumerated() {
        Layout.copyBlocks(
          count: outer, length: inner, from: x + index * inner, stride: size * inner,
          to: y + j * inner, stride: indices.count * inner)
      }
    }
  }

  /// x padded by `pads` (begins then ends, negative crops): an attribute before opset 11, a
  /// constant input from 11 with the optional constant_value input and, from 18, axes;
  /// mode constant, reflect, edge, and wrap from 19.
  static func pad(_ context: NodeContext) throws(InferenceError) -> any CompiledOperator {
    try context.expectOutputs(1...1)
    try context.expectFloats(0, 2)
    let shape = try context.shape(0)
    let rank = shape.count
    var pads: [Int]
    var value: Float = 0
    var axes = Array(0..<rank)
    if context.opset < 11 {
      try context.expectInputs(1...1)
      guard let given = try context.ints("pads") else {
        throw context.invalidAttribute("pads", "(absent)", "is required")
      }
      pads = given
      value = try context.float("value", default: 0)
    } else {
      try context.expectInputs(context.opset >= 18 ? 2...4 : 2...3)
      pads = try context.constantIntegers(1)
      if context.hasInput(2) {
        let values = try context.constantFloats(2)
        guard values.count == 1 else { throw context.invalidInput(2, "must be one value") }
        value = values[0]
      }
      if context.hasInput(3) {
        axes = try context.axes(try context.constantIntegers(3), rank: rank)
      }
    }
    guard pads.count == 2 * axes.count else {
      throw context.invalidInput(
        context.opset < 11 ? 0 : 1,
        "pads \(pads) must hold a begin and an end for each of \(axes.count) axes")
    }
    let modeName = try context.string("mode") ?? "constant"
    let modes: [String: PadPlan.Mode] = ["constant": .constant, "reflect": .reflect, "edge": .edge]
      .merging(context.opset >= 19 ? ["wrap": .wrap] : [:]) { a, _ in a }
    guard let mode = modes[modeName] else {
      throw context.invalidAttribute(
        "mode", modeName, "must be one of \(modes.keys.sorted().joined(separator: ", "))")
    }
    var (begin, end) = ([Int](repeating: 0, count: rank), [Int](repeating: 0, count: rank))
    for (i, axis) in axes.enumerated() {
      (begin[axis], end[axis]) = (pads[i], pads[axes.count + i])
    }
    var output = [Int]()
    for axis in shape.indices {
      let (grown, first) = shape[axis].addingReportingOverflow(begin[axis])
      let (size, second) = grown.addingReportingOverflow(end[axis])
      // Each output size gets a table of source positions: keep it far from overflow.
      guard !first, !second, (0...Int(Int32.max)).contains(size) else {
        throw context.invalidInput(
          context.opset < 11 ? 0 : 1, "pads \(pads) give axis \(axis) an invalid size")
      }
      output.append(size)
    }
    // Its plan holds a table of source positions per output size.
    try context.checkOutputSize(output)
    for axis in shape.indices
    where mode != .constant && shape[axis] == 0
      && (begin[axis] > 0 || end[axis] > 0)
    {
      throw context.invalidInput(0, "axis \(axis) is empty: mode \(modeName) has nothing to repeat")
    }
    let plan = PadPlan(shape: shape, begin: begin, end: end, mode: mode, value: value)
    return KernelOperator(context, outputs: [output]) { inputs, outputs in
      plan.run(inputs[0], into: outputs[0])
    }
  }
}
