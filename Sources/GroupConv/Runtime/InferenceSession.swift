import Foundation
import Formats
import Kernels
import Tensors

/// Runs an ONNX model on float32 tensors, as ONNX Runtime's `InferenceSession` does.
///
/// Loading checks the whole graph: every operator must be supported at the model's opset,
/// and every tensor a node reads must be produced before it. When the graph's inputs have
/// fixed shapes, the model is also prepared at once for them: constants and shape
/// arithmetic are folded, batch normalisation, per-channel scales and activations are
/// folded into the convolutions before them, the channel shuffle (`Reshape`, `Transpose`,
/// `Reshape`) becomes one operation, weights are packed, and buffers are planned so that
/// values whose lifetimes do not overlap share memory. Inputs of other shapes are prepared
/// on first use.
///
/// ```swift
/// let session = try InferenceSession(contentsOf: "mobilenet_v2.onnx")
/// let outputs = try session.run(["input": image])   // [String: Tensor]
/// ```
public final class InferenceSession: @unchecked Sendable {
  /// The model as read from the file.
  public let model: ONNXModel
  /// The names of the inputs `run` takes, in the graph's order (initializers excluded).
  public let inputNames: [String]
  /// The names of the outputs `run` returns, in the graph's order.
  public let outputNames: [String]
  /// The version of the default operator set the model imports.
  public let opset: Int

  /// The operator-set versions whose semantics the engine implements.
  public static let supportedOpsets = 6...21

  private let declaredInputs: [ONNXValueInfo]
  private let initializers: [String: ONNXTensorValue]
  private var plan: ExecutionPlan?
  private let lock = NSLock()
  /// Whether chains of layers run in the channel-blocked layout (`BlockedLayoutPass`).
  private let blockedLayout: Bool

  /// Loads and checks the model in the ONNX file at `path`.
  ///
  /// - Throws: `InferenceError.model` when the file cannot be read or decoded, and every
  ///   error of `init(model:)`.
  public convenience init(contentsOf path: String) throws(InferenceError) {
    let model: ONNXModel
    do {
      model = try ONNX.load(contentsOf: path)
    } catch {
      throw .model(error)
    }
    try self.init(model: model)
  }

  /// Checks `model` and, when its inputs have fixed shapes, prepares it for them.
  ///
  /// - Throws: `InferenceError`: an operator set outside `supportedOpsets`, an unsupported
  ///   operator (naming the operator, the node and the opset), a tensor read before it is
  ///   produced or produced twice, a non-float input, and, when the model is prepared now,
  ///   every error an operator raises for its attributes and input shapes.
  public convenience init(model: ONNXModel) throws(InferenceError) {
    try self.init(model: model, blockedLayout: BlockedLayoutPass.isDefault)
  }

  /// `init(model:)`, with chains of layers kept in the channel-blocked layout or not
  /// (by default, with the AVX-512 kernels only).
  package init(model: ONNXModel, blockedLayout: Bool) throws(InferenceError) {
    self.model = model
    self.blockedLayout = blockedLayout
    let opset = model.opsetVersion() ?? 0
    guard Self.supportedOpsets.contains(opset) else {
      throw .unsupportedOpset(domain: "", version: opset, supported: Self.supportedOpsets)
    }
    self.opset = opset
    let graph = model.graph
    for (list, names) in [
      ("initializers", graph.initializers.map(\.name)), ("inputs", graph.inputs.map(\.name)),
      ("outputs", graph.outputs.map(\.name)),
    ] {
      var seen = Set<String>()
      for name in names where !seen.insert(name).inserted {
        throw .repeatedName(name: name, list: list)
      }
    }
    var initializers: [String: ONNXTensorValue] = [:]
    for tensor in graph.initializers { initializers[tensor.name] = tensor.value }
    self.initializers = initializers
    declaredInputs = graph.inputs.filter { initializers[$0.name] == nil }
    inputNames = declaredInputs.map(\.name)
    outputNames = graph.outputs.map(\.name)
    for input in declaredInputs {
      if case let .tensor(elementType, _)? = input.type, elementType != .float {
        throw .unsupportedDataType(
          opType: "graph input", node: graph.name, tensor: input.name, dataType: "\(elementType)")
      }
    }
    // Every operator is supported, and every tensor is produced once, before it is read.
    var known = Set(initializers.keys).union(inputNames)
    for node in graph.nodes {
      guard GraphPlanner.supports(node, opset: opset) else {
        throw .unsupportedOperator(
          opType: node.opType, domain: node.domain, node: node.name, opset: opset)
      }
      for input in node.inputs where !input.isEmpty && !known.contains(input) {
        throw .missingTensor(name: input, node: node.name)
      }
      for output in node.outputs where !output.isEmpty {
        guard known.insert(output).inserted else {
          throw .duplicateTensor(name: output, node: node.name)
        }
      }
    }
    for output in outputNames where !known.contains(output) {
      throw .missingTensor(name: output, node: "graph output")
    }
    if let shapes = staticInputShapes {
      plan = try prepare(for: shapes)
    }
  }

  /// The input shapes the graph declares, when every dimension is a fixed size.
  private var staticInputShapes: [[Int]]? {
    var shapes: [[Int]] = []
    for input in declaredInputs {
      guard case let .tensor(_, dimensions?)? = input.type else { return nil }
      var shape: [Int] = []
      for dimension in dimensions {
        guard case let .value(size) = dimension, size >= 0 else { return nil }
        shape.append(size)
      }
      shapes.append(shape)
    }
    return shapes
  }

  // MARK: Running

  /// The model's outputs for `inputs`, one tensor per graph input name.
  ///
  /// - Throws: `InferenceError.unknownInput`, `.missingInput`, `.inputShape` for inputs
  ///   that do not match the graph, and the operators' errors when the model is prepared
  ///   for new input shapes.
  public func run(_ inputs: [String: Tensor]) throws(InferenceError) -> [String: Tensor] {
    let outputs = try run(orderedInputs(inputs))
    return Dictionary(uniqueKeysWithValues: zip(outputNames, outputs))
  }

  /// The outputs, in `outputNames` order, for the inputs in `inputNames` order.
  package func run(
    _ inputs: [Tensor], timings: UnsafeMutablePointer<[Duration]>? = nil
  ) throws(InferenceError) -> [Tensor] {
    for (input, tensor) in zip(declaredInputs, inputs) {
      guard case let .tensor(_, dimensions?)? = input.type else { continue }
      let matches =
        dimensions.count == tensor.rank
        && zip(dimensions, tensor.shape).allSatisfy { dimension, size in
          if case let .value(fixed) = dimension { return fixed == size }
          return true
        }
      guard matches else {
        throw .inputShape(name: input.name, declared: dimensions, actual: tensor.shape)
      }
    }
    lock.lock()
    defer { lock.unlock() }
    let shapes = inputs.map(\.shape)
    let plan: ExecutionPlan
    if let current = self.plan, current.inputShapes == shapes {
      plan = current
    } else {
      plan = try prepare(for: shapes)
      self.plan = plan
    }
    return plan.run(inputs, timings: timings)
  }

  /// The inputs of a feed dictionary in graph order.
  package func orderedInputs(_ feeds: [String: Tensor]) throws(InferenceError) -> [Tensor] {
    for name in feeds.keys where !inputNames.contains(name) {
      throw .unknownInput(name: name, graphInputs: inputNames)
    }
    var inputs: [Tensor] = []
    for name in inputNames {
      guard let tensor = feeds[name] else { throw .missingInput(name: name) }
      inputs.append(tensor)
    }
    return inputs
  }

  /// The steps of the plan for the last input shapes (operator, description, output
  /// shape) and its buffer bytes: what `groupconv bench --model` reports.
  package var planSummary:
    (steps: [(opType: String, detail: String, outputShape: [Int])], bytes: Int, unsharedBytes: Int)?
  {
    lock.lock()
    defer { lock.unlock() }
    return plan.map { ($0.stepSummaries, $0.bytes, $0.unsharedBytes) }
  }

  // MARK: Preparing

  private func prepare(for shapes: [[Int]]) throws(InferenceError) -> ExecutionPlan {
    var planner = GraphPlanner(graph: model.graph, opset: opset, constants: initializers)
    for (name, shape) in zip(inputNames, shapes) { try planner.addInput(name, shape: shape) }
    for node in model.graph.nodes { try planner.add(node) }
    var outputs: [(name: String, constant: Tensor?)] = []
    for name in outputNames {
      switch planner.values[name] {
      case let .constant(value)?:
        guard let tensor = value.floatTensor else {
          throw .unsupportedDataType(
            opType: "graph output", node: model.graph.name, tensor: name, dataType: "integer")
        }
        outputs.append((name, tensor))
      case let .computed(_, holder)?:
        outputs.append((holder, nil))
      case nil:
        throw .missingTensor(name: name, node: "graph output")
      }
    }
    return try ExecutionPlan(
      inputs: Array(zip(inputNames, shapes)).map { ($0, $1) }, steps: planner.steps,
      outputs: outputs, blockedLayout: blockedLayout)
  }
}
