import Formats
import Tensors

/// One node of a model, checked and planned for fixed input shapes, that computes float
/// tensors: attributes parsed, constant inputs read, weights packed, output shapes known.
///
/// Making one does every check; `run` trusts it and cannot fail.
package protocol CompiledOperator: AnyObject, Sendable {
  /// The shape of each output, in the node's output order.
  var outputShapes: [[Int]] { get }
  /// Whether output 0 may share its buffer with input 0 (same element count): the
  /// operator reads each element of input 0 before it writes the same element of output 0.
  var runsInPlace: Bool { get }
  /// The element counts of the inputs when output 0 is just the inputs laid end to end (a
  /// Concat along an axis with only 1s before it), else nil. The plan can then have the
  /// steps that make the inputs write them in their places, and skip this one.
  var joinedInputLengths: [Int]? { get }
  /// Computes the outputs from the inputs whose values are not constant (`nil` for a
  /// constant or absent input, whose value the operator kept when it was made). Each
  /// output buffer holds exactly the product of its shape; every element is written.
  func run(inputs: [UnsafeBufferPointer<Float>?], outputs: [UnsafeMutableBufferPointer<Float>])
}

extension CompiledOperator {
  package var runsInPlace: Bool { false }
  package var joinedInputLengths: [Int]? { nil }
}

/// Makes the compiled operator of one node.
package typealias OperatorBuilder =
  @Sendable (NodeContext) throws(InferenceError) -> any CompiledOperator

/// The operators of the default domain (`ai.onnx`) that compute float tensors at run
/// time, each with the operator-set versions whose semantics its builder implements.
package struct OperatorDefinition: Sendable {
  package var opsets: ClosedRange<Int>
  package var build: OperatorBuilder

  package init(opsets: ClosedRange<Int>, build: @escaping OperatorBuilder) {
    self.opsets = opsets
    self.build = build
  }
}
