import Formats
import Kernels
import Tensors

/// One step of a plan before buffers are assigned: the work and the runtime values it reads
/// and writes.
struct PlanStep {
  enum Work {
    case convolution(ConvolutionDraft)
    case compiled(any CompiledOperator)
  }

  /// The operator's name for timings (`Conv`, `Relu`, ..., `ChannelShuffle`).
  var opType: String
  var work: Work
  /// One per operator input: the runtime value read, or nil for a constant or absent input.
  var inputs: [String?]
  var outputs: [String]
  var outputShapes: [[Int]]
  /// The node it came from, for patterns that span several nodes.
  var node: ONNXNode? = nil
  /// Replaced by a later step that does its work.
  var removed = false
  /// What step listings show after the operator's name, when not the convolution's summary.
  var detail: String? = nil
}

/// A model prepared for fixed input shapes: the steps in order, and buffers shared between
/// values whose lifetimes do not overlap.
final class ExecutionPlan: @unchecked Sendable {
  /// Where a runtime value lives: elements [offset, offset + count) of a buffer.
  struct Slot {
    var buffer: Int
    var offset = 0
    var count: Int
  }

  enum Output {
    case constant(Tensor)
    case value(Slot, shape: [Int])
  }

  private struct Step {
    var opType: String
    var detail: String
    var outputShape: [Int]
    var operation: any CompiledOperator
    var inputs: [Slot?]
    var outputs: [Slot]
  }

  let inputShapes: [[Int]]
  private let steps: [Step]
  private let inputSlots: [Slot]
  private let outputs: [Output]
  private let buffers: [UnsafeMutableBufferPointer<Float>]
  /// Each step's input and output buffers, worked out once: the buffers never move.
  private let views: [(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>])]
  /// The bytes the buffers take, and what one buffer per value would have taken.
  let bytes: Int
  let unsharedBytes: Int
  /// Each step in order: its operator, a short description, and its first output's shape.
  var stepSummaries: [(opType: String, detail: String, outputShape: [Int])] {
    steps.map { ($0.opType, $0.detail, $0.outputShape) }
  }

  /// - Parameters:
  ///   - inputs: the graph inputs, each a runtime value.
  ///   - steps: the work in order.
  ///   - outputs: each graph output: a constant, or the runtime value that holds it.
  /// - Throws: `InferenceError.memory` when the buffers and the outputs' copies would not
  ///   fit in the memory the process can allocate.
  init(
    inputs: [(name: String, shape: [Int])], steps planned: [PlanStep],
    outputs graphOutputs: [(name: String, constant: Tensor?)], blockedLayout: Bool
  ) throws(InferenceError) {
    inputShapes = inputs.map(\.shape)
    var shapes: [String: [Int]] = [:]
    for input in inputs { shapes[input.name] = input.shape }
    for step in planned {
      for (name, shape) in zip(step.outputs, step.outputShapes) { shapes[name] = shape }
    }
    let graphInputs = Set(inputs.map(\.name))
    var planned = planned.filter { !$0.removed }
    // Elements of each value: the product of its shape, unless it is kept blocked.
    let outputNames = Set(graphOutputs.map(\.name))
    let blockedCounts =
      blockedLayout
      ? BlockedLayoutPass.apply(&planned, shapes: &shapes, graphOutputs: outputNames) : [:]
    BlockedChainPass.apply(&planned, counts: blockedCounts, graphOutputs: outputNames)
    let placed = Self.placeJoinedInputs(&planned, graphInputs: graphInputs, graphOutputs: outputNames)
    func elementCount(_ name: String) -> Int { blockedCounts[name] ?? shapes[name]!.reduce(1, *) }
    // The last step that reads each value; graph outputs live to the end.
    var lastUse: [String: Int] = [:]
    for (index, step) in planned.enumerated() {
      for case let name? in step.inputs { lastUse[name] = index }
    }
    for output in graphOutputs where output.constant == nil { lastUse[output.name] = .max }

    var pool = BufferPool()
    var slots: [String: Slot] = [:]
    func assign(_ name: String) -> Slot {
      if let (joined, offset) = placed[name] {
        // A piece of a skipped Concat's output, which lives from its first piece on.
        let whole = slots[joined] ?? assign(joined)
        let slot = Slot(buffer: whole.buffer, offset: offset, count: elementCount(name))
        slots[name] = slot
        return slot
      }
      let count = elementCount(name)
      let slot = Slot(buffer: pool.take(count), count: count)
      slots[name] = slot
      return slot
    }
    inputSlots = inputs.map { assign($0.name) }
    var steps: [Step] = []
    for (index, step) in planned.enumerated() {
      let operation: any CompiledOperator
      var detail = step.detail ?? ""
      switch step.work {
      case let .convolution(draft):
        operation = draft.compiled()
        detail = step.detail ?? draft.summary
      case let .compiled(compiled): operation = compiled
      }
      let inputSlots = step.inputs.map { name in name.flatMap { slots[$0] } }
      var outputSlots: [Slot] = []
      var shared: String?
      var released = Set<Int>()
      for (position, name) in step.outputs.enumerated() {
        if name.isEmpty {
          // An output the graph leaves unnamed (LayerNormalization's ["Y", "", ""]): scratch
          // for an operator that makes it, given back after the step; none past its outputs.
          guard position < step.outputShapes.count else { break }
          let count = step.outputShapes[position].reduce(1, *)
          let scratch = Slot(buffer: pool.take(count), count: count)
          outputSlots.append(scratch)
          released.insert(scratch.buffer)
          continue
        }
        let count = elementCount(name)
        if position == 0, operation.runsInPlace, placed[name] == nil,
          let input = step.inputs.first ?? nil, !step.inputs.dropFirst().contains(input),
          lastUse[input] == index, !graphInputs.contains(input), let slot = slots[input],
          slot.count == count
        {
          // The operator overwrites its input, read for the last time here.
          slots[name] = slot
          shared = input
          outputSlots.append(slot)
        } else {
          outputSlots.append(assign(name))
        }
      }
      steps.append(
        Step(
          opType: step.opType, detail: detail, outputShape: step.outputShapes.first ?? [],
          operation: operation, inputs: inputSlots, outputs: outputSlots))
      // Values read for the last time, and outputs nobody reads, give their buffers back.
      for case let name? in step.inputs where lastUse[name] == index && name != shared {
        if let slot = slots.removeValue(forKey: name) { released.insert(slot.buffer) }
      }
      if let shared { slots[shared] = nil }
      for name in step.outputs where lastUse[name] == nil && placed[name] == nil {
        if let slot = slots.removeValue(forKey: name) { released.insert(slot.buffer) }
      }
      for buffer in released { pool.give(buffer) }
    }
    self.steps = steps
    outputs = graphOutputs.map { output in
      if let constant = output.constant { return .constant(constant) }
      return .value(slots[output.name]!, shape: shapes[output.name]!)
    }
    // Every value is at most 2^28 elements (checked as the graph was planned); their sum
    // cannot overflow.
    let bufferBytes = pool.capacities.reduce(0, +) * MemoryLayout<Float>.stride
    let outputBytes =
      outputs.reduce(0) { total, output in
        guard case let .value(slot, _) = output else { return total }
        return total + slot.count
      } * MemoryLayout<Float>.stride
    if let (_, available) = MemoryBudget.shortfall(bufferBytes + outputBytes) {
      throw .memory(buffers: bufferBytes, outputs: outputBytes, available: available)
    }
    let buffers = pool.capacities.map { capacity in
      let count = max(capacity, 1)
      let raw = UnsafeMutableRawPointer.allocate(
        byteCount: count * MemoryLayout<Float>.stride, alignment: 64)
      let pointer = raw.bindMemory(to: Float.self, capacity: count)
      pointer.initialize(repeating: 0, count: count)
      return UnsafeMutableBufferPointer(start: pointer, count: count)
    }
    self.buffers = buffers
    views = steps.map { step in
      (
        step.inputs.map { slot in slot.map { UnsafeBufferPointer(Self.view($0, in: buffers)) } },
        step.outputs.map { Self.view($0, in: buffers) }
      )
    }
    bytes = bufferBytes
    // The values the steps read and write: not those a fused step never makes.
    let values = Set(inputs.map(\.name) + planned.flatMap { $0.outputs + $0.inputs.compactMap { $0 } })
    unsharedBytes =
      values.filter { shapes[$0] != nil }.map(elementCount).reduce(0, +) * MemoryLayout<Float>.stride
  }

  deinit {
    for buffer in buffers { buffer.baseAddress?.deallocate() }
  }

  /// The graph outputs for `inputs` (in graph input order, shapes already checked). Adds
  /// step i's time to `timings[i]` when given. Not reentrant: the caller serializes.
  func run(_ inputs: [Tensor], timings: UnsafeMutablePointer<[Duration]>? = nil) -> [Tensor] {
    if let timings, timings.pointee.count != steps.count {
      timings.pointee = Array(repeating: .zero, count: steps.count)
    }
    for (input, slot) in zip(inputs, inputSlots) {
      input.withUnsafeBufferPointer { source in
        _ = view(slot).update(fromContentsOf: source)
      }
    }
    let clock = ContinuousClock()
    for (index, step) in steps.enumerated() {
      let start = timings == nil ? nil : clock.now
      step.operation.run(inputs: views[index].inputs, outputs: views[index].outputs)
      if let start, let timings { timings.pointee[index] += clock.now - start }
    }
    return outputs.map { output in
      switch output {
      case let .constant(tensor): return tensor
      case let .value(slot, shape): return Tensor(validShape: shape, scalars: Array(view(slot)))
      }
    }
  }

  private func view(_ slot: Slot) -> UnsafeMutableBufferPointer<Float> {
    Self.view(slot, in: buffers)
  }

  private static func view(_ slot: Slot, in buffers: [UnsafeMutableBufferPointer<Float>])
    -> UnsafeMutableBufferPointer<Float>
  {
    UnsafeMutableBufferPointer(rebasing: buffers[slot.buffer][slot.offset..<slot.offset + slot.count])
  }

  /// Drops each Concat that lays its inputs end to end (`joinedInputLengths`) when every
  /// input is made by an earlier step for it alone: those steps write straight into their
  /// places in its output. Returns, per placed value, the Concat's output and the offset.
  private static func placeJoinedInputs(
    _ steps: inout [PlanStep], graphInputs: Set<String>, graphOutputs: Set<String>
  ) -> [String: (joined: String, offset: Int)] {
    var readers: [String: Int] = [:]
    var made: Set<String> = []
    for step in steps {
      for case let name? in step.inputs { readers[name, default: 0] += 1 }
      made.formUnion(step.outputs)
    }
    var placed: [String: (joined: String, offset: Int)] = [:]
    var dropped: Set<Int> = []
    var joinedOutputs: Set<String> = []
    for (index, step) in steps.enumerated() {
      guard case let .compiled(operation) = step.work,
        let lengths = operation.joinedInputLengths, lengths.count == step.inputs.count,
        let output = step.outputs.first, readers[output] != nil || graphOutputs.contains(output)
      else { continue }
      let names = step.inputs.compactMap { $0 }
      let placeable =
        names.count == lengths.count && Set(names).count == names.count
        && names.allSatisfy { name in
          made.contains(name) && !graphInputs.contains(name) && !graphOutputs.contains(name)
            && readers[name] == 1 && placed[name] == nil && !joinedOutputs.contains(name)
        }
      guard placeable else { continue }
      var offset = 0
      for (name, length) in zip(names, lengths) {
        placed[name] = (output, offset)
        offset += length
      }
      dropped.insert(index)
      joinedOutputs.insert(output)
    }
    steps = steps.enumerated().filter { !dropped.contains($0.offset) }.map(\.element)
    return placed
  }
}

/// Buffers handed out by size and given back when their value is dead.
private struct BufferPool {
  var capacities: [Int] = []
  private var free: [Int] = []

  /// A free buffer: the smallest that holds `count`, else the largest free one grown, else
  /// a new one.
  mutating func take(_ count: Int) -> Int {
    let fitting = free.indices.filter { capacities[free[$0]] >= count }
    if let best = fitting.min(by: { capacities[free[$0]] < capacities[free[$1]] }) {
      return free.remove(at: best)
    }
    if let largest = free.indices.max(by: { capacities[free[$0]] < capacities[free[$1]] }) {
      let buffer = free.remove(at: largest)
      capacities[buffer] = count
      return buffer
    }
    capacities.append(count)
    return capacities.count - 1
  }

  mutating func give(_ buffer: Int) {
    if !free.contains(buffer) { free.append(buffer) }
  }
}
