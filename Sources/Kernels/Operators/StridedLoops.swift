/// The row-major strides of a contiguous tensor of `shape`.
package func contiguousStrides(_ shape: [Int]) -> [Int] {
  var strides = [Int](repeating: 1, count: shape.count)
  var stride = 1
  for axis in shape.indices.reversed() {
    strides[axis] = stride
    stride *= shape[axis]
  }
  return strides
}

/// The strides that read a contiguous tensor of `shape` as one of `output`'s shape under
/// numpy broadcasting: `shape` right-aligned with `output`, 0 along the dimensions it
/// repeats (its size 1, or absent).
package func broadcastStrides(_ shape: [Int], to output: [Int]) -> [Int] {
  precondition(shape.count <= output.count)
  let own = contiguousStrides(shape)
  let lead = output.count - shape.count
  return output.indices.map { axis in
    guard axis >= lead else { return 0 }
    let size = shape[axis - lead]
    precondition(size == output[axis] || size == 1, "\(shape) does not broadcast to \(output)")
    return size == 1 ? 0 : own[axis - lead]
  }
}

/// The loop nest that walks a tensor of some shape and two strided operands (inputs read
/// or outputs written at `offset + Σ index · stride`) row by row: dimensions of size 1
/// dropped, neighbours merged wherever both operands' strides allow, the last dimension
/// the row. Rows are numbered in row-major order; each row's operand offsets are computed
/// from its number, so any range of rows can run on its own thread.
package struct StridedPair: Sendable {
  /// Elements per row, and the operands' strides along it.
  package let rowLength: Int
  package let steps: (Int, Int)
  /// Sizes of the outer dimensions (innermost last) and the operands' strides along them.
  let sizes: [Int]
  let strides: ([Int], [Int])
  let origins: (Int, Int)

  package init(shape: [Int], _ first: [Int], _ second: [Int], origins: (Int, Int) = (0, 0)) {
    precondition(first.count == shape.count && second.count == shape.count)
    var sizes = [Int]()
    var a = [Int]()
    var b = [Int]()
    for axis in shape.indices where shape[axis] != 1 {
      if let last = sizes.last, a.last! == first[axis] * shape[axis],
        b.last! == second[axis] * shape[axis]
      {
        sizes[sizes.count - 1] = last * shape[axis]
        a[a.count - 1] = first[axis]
        b[b.count - 1] = second[axis]
      } else {
        sizes.append(shape[axis])
        a.append(first[axis])
        b.append(second[axis])
      }
    }
    rowLength = sizes.popLast() ?? 1
    steps = (a.popLast() ?? 0, b.popLast() ?? 0)
    self.sizes = sizes
    strides = (a, b)
    self.origins = origins
  }

  /// The number of rows: the product of the outer sizes.
  package var rowCount: Int { sizes.reduce(1, *) * (rowLength == 0 ? 0 : 1) }

  /// The two operands' offsets at the start of row `row`.
  @inline(__always)
  package func offsets(ofRow row: Int) -> (Int, Int) {
    var rest = row
    var (a, b) = origins
    for axis in sizes.indices.reversed() {
      let size = sizes[axis]
      let index = rest % size
      rest /= size
      a += index * strides.0[axis]
      b += index * strides.1[axis]
    }
    return (a, b)
  }
}
