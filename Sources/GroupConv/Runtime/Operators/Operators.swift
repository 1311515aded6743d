/// The float operators of the default domain, by `op_type`: what a model's nodes may use
/// besides the convolutions and the operators folded when the model is prepared.
package enum Operators {
  package static let definitions: [String: OperatorDefinition] = [
    activations, elementwise, normalizations, pooling, reductions, matrices, shapes, joins,
    indexing,
  ].reduce(into: [:]) { all, family in all.merge(family) { first, _ in first } }
}
