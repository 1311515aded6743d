import Synchronization
import Tensors

/// The generator that layers draw their initial weights from when no seed is given, as
/// PyTorch's global generator.
private let defaultGenerator = Mutex(SeededGenerator(seed: 0))

/// Restarts the generator that new layers draw their initial weights from, as
/// `torch.manual_seed`: layers created after `manualSeed(s)` get the same weights in every run.
public func manualSeed(_ seed: UInt64) {
  defaultGenerator.withLock { $0 = SeededGenerator(seed: seed) }
}

/// A seed for one layer: `seed` itself, or the next draw from the default generator.
func layerSeed(_ seed: UInt64?) -> UInt64 {
  seed ?? defaultGenerator.withLock { $0.next() }
}

/// PyTorch's default initialisation of a convolution's weight and bias
/// (`kaiming_uniform_(a=sqrt(5))`): both uniform in ±1/sqrt(fanIn), where `fanIn` is the
/// weight's second dimension times the kernel size: `C_in / groups * prod(k)` for a
/// convolution, `C_out / groups * prod(k)` for a transposed one.
///
/// - Throws: `ConvolutionError.tooLarge` when the weight would hold more than
///   `ConvolutionError.maximumElementCount` elements.
func defaultParameters(weightShape: [Int], biasCount: Int?, seed: UInt64, operation: String)
  throws(ConvolutionError) -> (weight: Tensor, bias: Tensor?)
{
  guard let count = try? Tensor.elementCount(of: weightShape),
    count <= ConvolutionError.maximumElementCount
  else {
    throw .tooLarge(operation: operation, name: "weight", shape: weightShape)
  }
  var generator = SeededGenerator(seed: seed)
  let fanIn = weightShape.dropFirst().reduce(1, *)
  let bound = fanIn > 0 ? 1 / Float(fanIn).squareRoot() : 0
  // The shape's element count was checked above.
  let weight = try! Tensor.random(shape: weightShape, in: -bound...bound, using: &generator)
  let bias = biasCount.map { count in
    try! Tensor.random(shape: [count], in: -bound...bound, using: &generator)
  }
  return (weight, bias)
}
