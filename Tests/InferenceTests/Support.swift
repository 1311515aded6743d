import GroupConv
import Testing

/// Float32 tolerances: absolute 1e-5 plus relative 1e-4.
func expectClose(
  _ actual: Tensor, _ expected: Tensor, absolute: Float = 1e-5, relative: Float = 1e-4,
  _ context: @autoclosure () -> String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.shape == expected.shape else {
    Issue.record(
      "\(context()): shape \(actual.shape), expected \(expected.shape)",
      sourceLocation: sourceLocation)
    return
  }
  var largest: Float = 0
  var firstBad: Int?
  for (index, (a, e)) in zip(actual.scalars, expected.scalars).enumerated() {
    let difference = abs(a - e)
    if !(difference <= absolute + relative * abs(e)) { firstBad = firstBad ?? index }
    largest = max(largest, difference.isNaN ? .infinity : difference)
  }
  if let firstBad {
    let message =
      "\(context()): shape \(actual.shape), max difference \(largest), first bad index "
      + "\(firstBad): \(actual.scalars[firstBad]) vs \(expected.scalars[firstBad])"
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
  }
}
