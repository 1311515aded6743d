import Formats
import Kernels
import Tensors

/// Walks a graph in order for given input shapes: folds what is known before the model runs,
/// folds batch normalisation, per-channel scales and shifts and activations into the
/// convolutions before them, and compiles the rest into steps.
struct GraphPlanner {
  /// What is known about a value while planning.
  enum Value {
    case constant(ONNXTensorValue)
    /// Computed at run time, float, with this shape; the name of the runtime value that
    /// holds it (another name when an `Identity` or a fusion forwarded it).
    case computed(shape: [Int], holder: String)
  }

  let opset: Int
  private(set) var values: [String: Value] = [:]
  private(set) var steps: [PlanStep] = []
  /// How many node inputs and graph outputs read each name.
  private let reads: [String: Int]
  /// The step that produces each runtime value.
  private var producer: [String: Int] = [:]

  init(graph: ONNXGraph, opset: Int, constants: [String: ONNXTensorValue]) {
    self.opset = opset
    var reads: [String: Int] = [:]
    for node in graph.nodes { for input in node.inputs where !input.isEmpty { reads[input, default: 0] += 1 } }
    for output in graph.outputs { reads[output.name, default: 0] += 1 }
    self.reads = reads
    for (name, value) in constants { values[name] = .constant(value) }
  }

  mutating func addInput(_ name: String, shape: [Int]) throws(InferenceError) {
    try Self.checkSize(shape, of: name, opType: "graph input", node: "")
    values[name] = .computed(shape: shape, holder: name)
  }

  /// Refuses a runtime value larger than folded constants may be: a shape declared in a file
  /// must not make the plan allocate gigabytes.
  private static func checkSize(_ shape: [Int], of tensor: String, opType: String, node: String)
    throws(InferenceError)
  {
    let maximum = ConstantFolding.maximumElementCount
    guard let count = try? Tensor.elementCount(of: shape), count <= maximum else {
      throw .tooLarge(opType: opType, node: node, tensor: tensor, shape: shape, maximum: maximum)
    }
  }

  // MARK: Nodes

  mutating func add(_ node: ONNXNode) throws(InferenceError) {
    var shapes: [[Int]?] = []
    var constants: [ONNXTensorValue?] = []
    var holders: [String?] = []
    for input in node.inputs {
      guard !input.isEmpty else {
        shapes.append(nil); constants.append(nil); holders.append(nil)
        continue
      }
      guard let value = values[input] else {
        throw .missingTensor(name: input, node: node.name)
      }
      switch value {
      case let .constant(constant):
        shapes.append(constant.shape); constants.append(constant); holders.append(nil)
      case let .computed(shape, holder):
        shapes.append(shape); constants.append(nil); holders.append(holder)
      }
    }
    for output in node.outputs where !output.isEmpty && values[output] != nil {
      throw .duplicateTensor(name: output, node: node.name)
    }
    let context = NodeContext(node: node, opset: opset, inputShapes: shapes, constants: constants)
    // Every operator run here produces at least its first output.
    try context.expectOutputs(1...Int.max)
    if node.outputs[0].isEmpty {
      throw .outputCount(opType: node.opType, node: node.name, count: 0, expected: 1...Int.max)
    }
    if try fold(context, holders: holders) { return }
    if try fuse(context, holders: holders) { return }

    if node.opType == "Conv" || node.opType == "ConvTranspose" {
      guard let holder = holders[0] else { throw context.notComputedInput(0) }
      var draft = try ConvolutionDraft(context)
      var inputs = [holders[0], nil, nil]
      if let (x, scale) = foldInputScale(node.inputs[0], holder: holder, into: &draft) {
        inputs = [x, nil, nil, scale]
      }
      try append(
        PlanStep(
          opType: node.opType, work: .convolution(draft), inputs: inputs,
          outputs: [node.outputs[0]], outputShapes: [draft.outputShape], node: node))
      return
    }
    let definition = try Self.definition(for: node, opset: opset)
    let operation = try definition.build(context)
    if node.opType == "Reshape", try shuffle(holders[0], reshapedTo: operation.outputShapes[0], node) {
      return
    }
    if node.opType == "LayerNormalization", try fuseTransposeNormalization(context, holders: holders) {
      return
    }
    try append(
      PlanStep(
        opType: node.opType, work: .compiled(operation), inputs: holders,
        outputs: node.outputs, outputShapes: operation.outputShapes, node: node))
  }

  /// Replaces `Reshape`, `Transpose`, `Reshape` (this node) by one channel shuffle when
  /// nothing else reads the values between them.
  private mutating func shuffle(_ input: String?, reshapedTo shape: [Int], _ node: ONNXNode)
    throws(InferenceError) -> Bool
  {
    guard let input, reads[node.inputs[0]] == 1, let t = producer[input],
      steps[t].opType == "Transpose", let transpose = steps[t].node,
      reads[transpose.inputs[0]] == 1, let held = steps[t].inputs[0], let r = producer[held],
      steps[r].opType == "Reshape", let first = steps[r].node,
      let original = steps[r].inputs[0], case let .computed(inputShape, _)? = values[original],
      let shuffle = ChannelShuffleOperator.recognize(
        inputShape: inputShape, reshapedShape: steps[r].outputShapes[0], transpose: transpose,
        outputShape: shape),
      reads[first.outputs[0]] == 1
    else { return false }
    steps[t].removed = true
    steps[r].removed = true
    try append(
      PlanStep(
        opType: "ChannelShuffle", work: .compiled(shuffle), inputs: [original],
        outputs: [node.outputs[0]], outputShapes: [shape]))
    return true
  }

  private mutating func append(_ step: PlanStep) throws(InferenceError) {
    for (name, shape) in zip(step.outputs, step.outputShapes) {
      try Self.checkSize(shape, of: name, opType: step.opType, node: step.node?.name ?? "")
    }
    for (name, shape) in zip(step.outputs, step.outputShapes) where !name.isEmpty {
      values[name] = .computed(shape: shape, holder: name)
      producer[name] = steps.count
    }
    steps.append(step)
  }

  /// The definition that runs `node` at `opset`.
  static func definition(for node: ONNXNode, opset: Int) throws(InferenceError)
    -> OperatorDefinition
  {
    guard node.domain.isEmpty || node.domain == "ai.onnx",
      let definition = Operators.definitions[node.opType], definition.opsets.contains(opset)
    else {
      throw .unsupportedOperator(
        opType: node.opType, domain: node.domain, node: node.name, opset: opset)
    }
    return definition
  }

  /// Whether the session can run `node` at `opset` (checked for every node at load).
  static func supports(_ node: ONNXNode, opset: Int) -> Bool {
    guard node.domain.isEmpty || node.domain == "ai.onnx" else { return false }
    if ConstantFolding.foldedOperators.contains(node.opType) { return true }
    if node.opType == "Conv" || node.opType == "ConvTranspose" { return true }
    return Operators.definitions[node.opType]?.opsets.contains(opset) ?? false
  }

  // MARK: Folding

  /// Evaluates the node now when its outputs are known before the model runs, or forwards
  /// its input (`Identity`, `Dropout`); false when it must run.
  private mutating func fold(_ context: NodeContext, holders: [String?]) throws(InferenceError)
    -> Bool
  {
    let node = context.node
    switch node.opType {
    case "Constant":
      try setConstant(node.outputs[0], ConstantFolding.constant(context))
      return true
    case "ConstantOfShape":
      try setConstant(node.outputs[0], ConstantFolding.constantOfShape(context))
      return true
    case "Shape":
      try setConstant(node.outputs[0], ConstantFolding.shape(context, of: context.shape(0)))
      return true
    case "Size":
      let count = try context.shape(0).reduce(1, *)
      setConstant(node.outputs[0], .int64(shape: [], values: [Int64(count)]))
      return true
    case "Identity":
      try context.expectInputs(1...1)
      forward(node.inputs[0], to: node.outputs[0])
      return true
    case "Dropout":
      try context.expectInputs(1...3)
      if context.hasInput(2), let training = context.constant(2)?.integers, training.contains(where: { $0 != 0 }) {
        throw context.invalidInput(2, "training_mode must be false for inference")
      }
      if context.hasInput(2) && context.constant(2) == nil {
        throw .notConstant(opType: "Dropout", node: node.name, input: node.inputs[2])
      }
      forward(node.inputs[0], to: node.outputs[0])
      if node.outputs.count > 1, !node.outputs[1].isEmpty {
        let shape = try context.shape(0)
        let count = try ConstantFolding.checkedCount(shape, context)
        setConstant(node.outputs[1], .bool(shape: shape, values: Array(repeating: true, count: count)))
      }
      return true
    case "Cast":
      try context.expectInputs(1...1)
      if let constant = context.constant(0) {
        try setConstant(node.outputs[0], ConstantFolding.cast(constant, context))
      } else if try context.int("to") == Int(ONNXDataType.float.rawValue) {
        forward(node.inputs[0], to: node.outputs[0])
      } else {
        throw .unsupportedDataType(
          opType: "Cast", node: node.name, tensor: node.outputs[0],
          dataType: "\(ONNXDataType(rawValue: Int32(clamping: try context.int("to") ?? 0)))")
      }
      return true
    default:
      break
    }
    // Every input known: compute the outputs now.
    guard holders.allSatisfy({ $0 == nil }), context.constants.contains(where: { $0 != nil })
    else { return false }
    if node.opType == "Conv" || node.opType == "ConvTranspose" { return false }
    try foldComputation(context)
    return true
  }

  /// Computes a node all of whose inputs are constants.
  private mutating func foldComputation(_ context: NodeContext) throws(InferenceError) {
    let node = context.node
    let present = context.constants.compactMap { $0 }
    // The inputs whose elements the operator computes with or moves; the others (shapes,
    // axes, indices) it reads as integers whatever the data's type.
    let dataInputs = node.opType == "Concat" || !ConstantFolding.layoutOperators.contains(node.opType)
      ? Array(node.inputs.indices) : [0]
    let integers = dataInputs.lazy.compactMap { context.constant($0) }
      .first { if case .float = $0 { false } else { true } }
    if let original = integers {
      // Integer arithmetic on shapes, or elements moved by a layout operator.
      if present.count == 2, let a = present[0].integers, let b = present[1].integers,
        let value = try ConstantFolding.integerArithmetic(
          a, present[0].shape, b, present[1].shape, context)
      {
        setConstant(node.outputs[0], value)
        return
      }
      guard ConstantFolding.layoutOperators.contains(node.opType) else {
        throw .unsupportedDataType(
          opType: node.opType, node: node.name, tensor: node.inputs[0],
          dataType: "integer (only shape arithmetic and layout operators fold integers)")
      }
      var floatContext = context
      for index in dataInputs {
        guard let value = context.constants[index] else { continue }
        guard let floats = ConstantFolding.exactFloats(value) else {
          throw context.invalidInput(index, "integers beyond ±2^24 are not folded")
        }
        floatContext.constants[index] = floats
      }
      let results = try runNow(floatContext)
      for (name, result) in zip(node.outputs, results) where !name.isEmpty {
        setConstant(
          name,
          try ConstantFolding.restoring(
            result.scalars, shape: result.shape, like: original, context))
      }
      return
    }
    let results = try runNow(context)
    for (name, result) in zip(node.outputs, results) where !name.isEmpty {
      setConstant(name, .float(shape: result.shape, values: result.scalars))
    }
  }

  /// The outputs of a node with only constant inputs, computed by its compiled operator.
  private func runNow(_ context: NodeContext) throws(InferenceError) -> [Tensor] {
    let operation = try Self.definition(for: context.node, opset: opset).build(context)
    var outputs: [UnsafeMutableBufferPointer<Float>] = []
    defer { for output in outputs { output.deallocate() } }
    for shape in operation.outputShapes {
      let count = try ConstantFolding.checkedCount(shape, context)
      let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
      buffer.initialize(repeating: 0)
      outputs.append(buffer)
    }
    let inputs = context.constants.map { _ in UnsafeBufferPointer<Float>?.none }
    operation.run(inputs: inputs, outputs: outputs)
    return zip(operation.outputShapes, outputs).map { Tensor(validShape: $0, scalars: Array($1)) }
  }

  private mutating func setConstant(_ name: String, _ value: ONNXTensorValue) {
    values[name] = .constant(value)
  }

  private mutating func forward(_ input: String, to output: String) {
    values[output] = values[input]
  }

  // MARK: Fusion

  /// Folds `BatchNormalization`, a per-channel `Mul` or `Add`, or an activation into the
  /// convolution that produces its input, when nothing else reads that output.
  private mutating func fuse(_ context: NodeContext, holders: [String?]) throws(InferenceError)
    -> Bool
  {
    let node = context.node
    guard !holders.isEmpty else { return false }
    if node.opType == "Mul", try fuseSiLU(node, holders: holders) { return true }
    if node.opType == "Mul", try fuseGELU(context, holders: holders) { return true }
    if node.opType == "Add", try fuseMatMulBias(context, holders: holders) { return true }
    if node.opType == "Add", try fuseResidual(context, holders: holders) { return true }
    if node.opType == "Mul", try fuseTransposeScale(context, holders: holders) { return true }
    // The computed input and the convolution step that produced it.
    let computed = holders.indices.filter { holders[$0] != nil }
    guard computed.count == 1 else { return false }
    let position = computed[0]
    let read = node.inputs[position]
    guard reads[read] == 1, let holder = holders[position], let index = producer[holder],
      case .convolution(var draft) = steps[index].work,
      draft.activation == nil, !draft.residual || !["BatchNormalization", "Mul", "Add"].contains(node.opType)
    else { return false }
    let channels = draft.outputChannels
    switch node.opType {
    case "BatchNormalization":
      guard position == 0, node.outputs.count == 1 || node.outputs.dropFirst().allSatisfy(\.isEmpty),
        (try context.int("training_mode") ?? 0) == 0,
        let scale = floats(context, 1, count: channels), let shift = floats(context, 2, count: channels),
        let mean = floats(context, 3, count: channels), let variance = floats(context, 4, count: channels)
      else { return false }
      let epsilon = try context.float("epsilon", default: 1e-5)
      let factor = (0..<channels).map { scale[$0] / (variance[$0] + epsilon).squareRoot() }
      draft.scaleOutputChannels(by: factor)
      draft.shiftOutputChannels(by: (0..<channels).map { shift[$0] - mean[$0] * factor[$0] })
    case "Mul", "Add":
      guard node.inputs.count == 2,
        let constant = context.constant(1 - position),
        let perChannel = Self.perChannel(constant, outputShape: draft.outputShape)
      else { return false }
      if node.opType == "Mul" { draft.scaleOutputChannels(by: perChannel) }
      else { draft.shiftOutputChannels(by: perChannel) }
    case "Relu": draft.activation = .relu
    case "Sigmoid": draft.activation = .sigmoid
    case "HardSwish": draft.activation = .hardSwish
    case "HardSigmoid": draft.activation = try Operators.hardSigmoid(context)
    case "Clip": draft.activation = try Operators.clip(context)
    default:
      return false
    }
    steps[index].work = .convolution(draft)
    values[node.outputs[0]] = values[read]
    return true
  }

  /// Folds x · sigmoid(x), ONNX's spelling of SiLU (swish), into the convolution that makes
  /// x: `Mul(x, s)` where the Sigmoid step that made s read x, and nothing else reads x or s.
  private mutating func fuseSiLU(_ node: ONNXNode, holders: [String?]) throws(InferenceError)
    -> Bool
  {
    guard node.inputs.count == 2, let first = holders[0], let second = holders[1] else {
      return false
    }
    for (x, s) in [(0, 1), (1, 0)] {
      let (xHolder, sHolder) = x == 0 ? (first, second) : (second, first)
      guard reads[node.inputs[x]] == 2, reads[node.inputs[s]] == 1,
        let sigmoid = producer[sHolder], steps[sigmoid].opType == "Sigmoid",
        let sigmoidNode = steps[sigmoid].node, (steps[sigmoid].inputs.first ?? nil) == xHolder,
        reads[sigmoidNode.inputs[0]] == 2,
        let convolution = producer[xHolder], case .convolution(var draft) = steps[convolution].work,
        draft.activation == nil
      else { continue }
      draft.activation = .silu
      steps[convolution].work = .convolution(draft)
      steps[sigmoid].removed = true
      values[node.outputs[0]] = values[node.inputs[x]]
      return true
    }
    return false
  }

  /// Replaces GELU as exporters spell it, `0.5 · x · (1 + erf(x / √2))` in five nodes (Div
  /// or Mul by 1/√2, Erf, Add 1, Mul by x, Mul by 0.5; this node is the last), by one pass,
  /// when nothing else reads the values between them.
  private mutating func fuseGELU(_ context: NodeContext, holders: [String?])
    throws(InferenceError) -> Bool
  {
    let node = context.node
    guard node.inputs.count == 2, let half = (0...1).first(where: { holders[$0] == nil }),
      scalar(node.inputs[half]) == 0.5, let m = holders[1 - half],
      let product = computedStep(m, "Mul", readOnce: node.inputs[1 - half]),
      let productNode = steps[product].node, productNode.inputs.count == 2,
      let a = steps[product].inputs[0], let b = steps[product].inputs[1]
    else { return false }
    for (x, position) in [(a, 1), (b, 0)] {
      guard let sum = steps[product].inputs[position],
        let add = computedStep(sum, "Add", readOnce: productNode.inputs[position]),
        let addNode = steps[add].node, let (e, one) = constantPair(addNode), one == 1,
        let erf = computedStep(e, "Erf", readOnce: addNode.inputs.first { $0 != "" && scalar($0) == nil } ?? ""),
        let erfNode = steps[erf].node, let d = steps[erf].inputs.first ?? nil,
        let scale = computedStep(d, nil, readOnce: erfNode.inputs[0]),
        let scaleNode = steps[scale].node, let (scaled, c) = constantPair(scaleNode),
        scaled == x,
        (scaleNode.opType == "Div" && abs(c - Float(2).squareRoot()) < 1e-4)
          || (scaleNode.opType == "Mul" && abs(c - Float(0.5).squareRoot()) < 1e-4),
        case let .computed(shape, _)? = values[productNode.inputs[1 - position]]
      else { continue }
      for index in [product, add, erf, scale] { steps[index].removed = true }
      // After a linear layer that nothing else reads, GELU runs in the layer's epilogue.
      let xName = productNode.inputs[1 - position]
      if reads[xName] == 2, let linear = producer[x], !steps[linear].removed,
        case let .compiled(operation) = steps[linear].work,
        let fused = (operation as? LinearOperator)?.followed(by: .geluErf)
      {
        steps[linear].work = .compiled(fused)
        steps[linear].opType += "+Gelu"
        values[node.outputs[0]] = .computed(shape: shape, holder: x)
        return true
      }
      let gelu = ONNXNode(name: node.name, opType: "Gelu", inputs: [x], outputs: node.outputs)
      let geluContext = NodeContext(
        node: gelu, opset: opset, inputShapes: [shape], constants: [nil])
      let operation = KernelOperator(geluContext, outputs: [shape], inPlace: true) {
        inputs, outputs in
        copyIfDistinct(inputs[0], outputs[0])
        Activation.geluErf.apply(outputs[0])
      }
      try append(
        PlanStep(
          opType: "Gelu", work: .compiled(operation), inputs: [x], outputs: node.outputs,
          outputShapes: [shape]))
      return true
    }
    return false
  }

  /// Folds `Add(p, r)` of two computed tensors of one shape (a residual connection) into
  /// the step that makes p, a convolution or a matrix transpose, when nothing else reads p
  /// and r exists before that step runs: it adds r as it stores its output, in r's buffer
  /// when r is read last here.
  private mutating func fuseResidual(_ context: NodeContext, holders: [String?])
    throws(InferenceError) -> Bool
  {
    let node = context.node
    guard node.inputs.count == 2, let first = holders[0], let second = holders[1],
      first != second, try context.shape(0) == context.shape(1)
    else { return false }
    for (position, r) in [(0, second), (1, first)] {
      guard let holder = holders[position],
        let index = computedStep(holder, nil, readOnce: node.inputs[position]),
        (producer[r] ?? -1) < index
      else { continue }
      switch steps[index].work {
      case .convolution(var draft):
        guard !draft.geometry.transposed, draft.activation == nil, !draft.residual else {
          continue
        }
        draft.residual = true
        steps[index].work = .convolution(draft)
      case .compiled(let operation):
        guard let adding = (operation as? MatrixTransposeOperator)?.addingResidual() else {
          continue
        }
        steps[index].work = .compiled(adding)
        steps[index].opType += "+Add"
      }
      steps[index].inputs = [r] + steps[index].inputs
      values[node.outputs[0]] = values[node.inputs[position]]
      return true
    }
    return false
  }

  /// Folds `Mul(t, s)`, t a matrix transpose's output read only here and s a constant that
  /// varies only along t's channels (ConvNeXt's layer scale after NHWC → NCHW), into the
  /// transpose.
  private mutating func fuseTransposeScale(_ context: NodeContext, holders: [String?])
    throws(InferenceError) -> Bool
  {
    let node = context.node
    guard node.inputs.count == 2, let position = (0...1).first(where: { holders[$0] != nil }),
      holders[1 - position] == nil, let holder = holders[position],
      let index = computedStep(holder, nil, readOnce: node.inputs[position]),
      case let .compiled(operation) = steps[index].work,
      let constant = context.constant(1 - position),
      let scaled = (operation as? MatrixTransposeOperator)?.scaled(by: constant)
    else { return false }
    steps[index].work = .compiled(scaled)
    steps[index].opType += "+Mul"
    values[node.outputs[0]] = values[node.inputs[position]]
    return true
  }

  /// Folds `LayerNormalization(t)`, t a matrix transpose's output read only here that moves
  /// the channels last (ConvNeXt's NCHW → NHWC before each block's normalization), into the
  /// transpose when the channels are what is normalized.
  private mutating func fuseTransposeNormalization(_ context: NodeContext, holders: [String?])
    throws(InferenceError) -> Bool
  {
    let node = context.node
    guard let holder = holders[0],
      let index = computedStep(holder, nil, readOnce: node.inputs[0]),
      case let .compiled(operation) = steps[index].work,
      let transpose = operation as? MatrixTransposeOperator,
      let fused = try Operators.layerNormalization(context, after: transpose)
    else { return false }
    steps[index].work = .compiled(fused)
    steps[index].opType += "+LayerNormalization"
    values[node.outputs[0]] = values[node.inputs[0]]
    return true
  }

  /// Folds `Mul(x, s)`, the convolution's input `name`, into the convolution when s is a
  /// computed gate of shape [1, C_in, 1...] (squeeze-and-excitation), nothing else reads the
  /// product, and the weights are fewer than x's elements: scaling the weights each run
  /// costs less than the pass over x it saves. Removes the Mul step; returns x and s.
  private mutating func foldInputScale(
    _ name: String, holder: String, into draft: inout ConvolutionDraft
  ) -> (x: String, scale: String)? {
    let xShape = draft.convolution.inputShape
    guard !draft.geometry.transposed, draft.weight.count <= xShape.reduce(1, *),
      let index = computedStep(holder, "Mul", readOnce: name), let mul = steps[index].node,
      mul.inputs.count == 2, steps[index].inputs.count == 2
    else { return nil }
    let gateShape = [1, xShape[1]] + Array(repeating: 1, count: xShape.count - 2)
    for (x, s) in [(0, 1), (1, 0)] {
      guard case let .computed(shape, _)? = values[mul.inputs[x]], shape == xShape,
        case let .computed(sShape, _)? = values[mul.inputs[s]], sShape == gateShape,
        let xHolder = steps[index].inputs[x], let sHolder = steps[index].inputs[s]
      else { continue }
      steps[index].removed = true
      draft.inputScale = true
      return (xHolder, sHolder)
    }
    return nil
  }

  /// Folds `Add(MatMul(x, B), bias)` with B a constant matrix and bias a constant row of its
  /// columns into one product that adds the bias as it stores (a linear layer).
  private mutating func fuseMatMulBias(_ context: NodeContext, holders: [String?])
    throws(InferenceError) -> Bool
  {
    let node = context.node
    guard node.inputs.count == 2, let position = (0...1).first(where: { holders[$0] != nil }),
      holders[1 - position] == nil, let holder = holders[position],
      let index = computedStep(holder, "MatMul", readOnce: node.inputs[position]),
      let matMul = steps[index].node, matMul.inputs.count == 2,
      case let .constant(.float(rowShape, row))? = values[node.inputs[1 - position]],
      case let .computed(aShape, _)? = values[matMul.inputs[0]],
      case let .constant(weight)? = values[matMul.inputs[1]],
      rowShape.dropLast().allSatisfy({ $0 == 1 }), rowShape.count <= aShape.count
    else { return false }
    let matMulContext = NodeContext(
      node: matMul, opset: opset, inputShapes: [aShape, weight.shape], constants: [nil, weight])
    guard let operation = try Operators.matMulAddingRow(matMulContext, row: row),
      operation.outputShapes == steps[index].outputShapes
    else { return false }
    steps[index].work = .compiled(operation)
    steps[index].opType = "MatMul+Add"
    values[node.outputs[0]] = values[node.inputs[position]]
    return true
  }

  /// The step that computes runtime value `holder`, when it is `opType` (any when nil) and
  /// `name` is read once.
  private func computedStep(_ holder: String, _ opType: String?, readOnce name: String) -> Int? {
    guard reads[name] == 1, let index = producer[holder], !steps[index].removed,
      opType == nil || steps[index].opType == opType
    else { return nil }
    return index
  }

  /// For a node of one computed and one scalar constant input: the computed input's holder
  /// and the constant.
  private func constantPair(_ node: ONNXNode) -> (String, Float)? {
    guard node.inputs.count == 2 else { return nil }
    for (c, v) in [(0, 1), (1, 0)] {
      if let value = scalar(node.inputs[c]), case let .computed(_, holder)? = values[node.inputs[v]] {
        return (holder, value)
      }
    }
    return nil
  }

  /// The value of a one-element float constant.
  private func scalar(_ name: String) -> Float? {
    guard case let .constant(.float(_, values))? = values[name], values.count == 1 else {
      return nil
    }
    return values[0]
  }

  /// The floats of constant input `index` when it holds `count` of them.
  private func floats(_ context: NodeContext, _ index: Int, count: Int) -> [Float]? {
    guard let value = context.constant(index), case let .float(_, v) = value, v.count == count
    else { return nil }
    return v
  }

  /// One value per channel when `constant`, broadcast against `outputShape` `[N, C, ...]`,
  /// varies at most along the channels and does not grow the output.
  static func perChannel(_ constant: ONNXTensorValue, outputShape: [Int]) -> [Float]? {
    guard case let .float(shape, values) = constant, shape.count <= outputShape.count else {
      return nil
    }
    let channels = outputShape[1]
    let aligned = Array(repeating: 1, count: outputShape.count - shape.count) + shape
    for (axis, size) in aligned.enumerated() where size != 1 {
      guard axis == 1, size == channels else { return nil }
    }
    return values.count == 1 ? Array(repeating: values[0], count: channels) : values
  }
}

extension NodeContext {
  /// An input that must be computed at run time is a constant.
  func notComputedInput(_ index: Int) -> InferenceError {
    invalidInput(index, "a constant input here is not supported: it must be computed")
  }
}
