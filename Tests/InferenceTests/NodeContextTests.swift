import Formats
import Testing

@testable import GroupConv

@Suite struct NodeContextTests {
  let node = ONNXNode(
    name: "pool", opType: "MaxPool", domain: "", inputs: ["x", ""], outputs: ["y"],
    attributes: [ONNXAttribute(name: "kernel_shape", value: .ints([2, 2]))])

  @Test func trailingEmptyInputsAreAbsent() throws {
    let context = NodeContext(
      node: node, opset: 13, inputShapes: [[1, 1, 4, 4], nil], constants: [nil, nil])
    try context.expectInputs(1...1)
    #expect(context.hasInput(0) && !context.hasInput(1))
  }

  @Test func anAttributeOfTheWrongTypeNamesTheNodeAndTheRule() {
    let context = NodeContext(node: node, opset: 13, inputShapes: [[1], nil], constants: [nil, nil])
    #expect(throws: InferenceError.invalidAttribute(
      opType: "MaxPool", node: "pool", attribute: "kernel_shape", value: "(INTS)",
      rule: "must be an int")) { try context.int("kernel_shape") }
  }
}
