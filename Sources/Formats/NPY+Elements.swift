// MARK: - Reading elements

extension NPYDType {
  /// `count` elements of this type starting at `offset`, converted to `Float`, in the order
  /// they are stored. The caller has checked that `bytes` holds them all.
  ///
  /// float64 rounds to nearest float32 (overflowing to infinity), as numpy's
  /// `astype(np.float32)` does; float16 converts exactly.
  func floats(in bytes: [UInt8], at offset: Int, count: Int) -> [Float] {
    precondition(offset >= 0 && count >= 0 && bytes.count - offset >= count * itemSize)
    let bigEndian = bigEndian
    switch itemSize {
    case 2:
      return (0..<count).map { index in
        floatFromHalf(
          UInt16(truncatingIfNeeded: word(bytes, offset + 2 * index, 2, bigEndian)))
      }
    case 4:
      return (0..<count).map { index in
        Float(bitPattern: UInt32(truncatingIfNeeded: word(bytes, offset + 4 * index, 4, bigEndian)))
      }
    default:
      return (0..<count).map { index in
        Float(Double(bitPattern: word(bytes, offset + 8 * index, 8, bigEndian)))
      }
    }
  }
}

/// The unsigned integer in `size` bytes at `offset`, in the given byte order.
@inline(__always)
private func word(_ bytes: [UInt8], _ offset: Int, _ size: Int, _ bigEndian: Bool) -> UInt64 {
  var value: UInt64 = 0
  for index in 0..<size {
    let byte = UInt64(bytes[offset + index])
    value |= byte << (8 * (bigEndian ? size - 1 - index : index))
  }
  return value
}

/// The float32 equal to an IEEE 754 binary16 value given by its bits.
///
/// binary16 is 1 sign bit, 5 exponent bits (bias 15) and 10 fraction bits. Every binary16
/// value is exactly a float32: normal numbers re-bias the exponent (to 127) and widen the
/// fraction; subnormals are fraction × 2⁻²⁴, exact in float32 arithmetic; infinities
/// stay infinite and NaNs keep their sign and payload.
func floatFromHalf(_ bits: UInt16) -> Float {
  let sign = UInt32(bits >> 15) << 31
  let exponent = UInt32(bits >> 10) & 0x1F
  let fraction = UInt32(bits) & 0x3FF
  switch exponent {
  case 0:
    let magnitude = Float(fraction) * 0x1p-24
    return sign == 0 ? magnitude : -magnitude
  case 0x1F:
    return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)
  default:
    return Float(bitPattern: sign | (exponent + 127 - 15) << 23 | fraction << 13)
  }
}

/// The elements of a Fortran-order (column-major) array in C order (row-major).
///
/// A Fortran array of shape (a, b, c) stores element [i, j, k] at i + a * (j + b * k). One
/// pass in storage order: the multi-index counts with the first dimension fastest, and the
/// C offset follows it by adding that dimension's C stride.
func rowMajor(fromColumnMajor values: [Float], shape: [Int]) -> [Float] {
  guard shape.count > 1, !values.isEmpty else { return values }
  var strides = [Int](repeating: 1, count: shape.count)
  for dimension in (0..<shape.count - 1).reversed() {
    strides[dimension] = strides[dimension + 1] * shape[dimension + 1]
  }
  var result = [Float](repeating: 0, count: values.count)
  var index = [Int](repeating: 0, count: shape.count)
  var offset = 0
  for value in values {
    result[offset] = value
    for dimension in 0..<shape.count {
      index[dimension] += 1
      offset += strides[dimension]
      if index[dimension] < shape[dimension] { break }
      offset -= strides[dimension] * shape[dimension]
      index[dimension] = 0
    }
  }
  return result
}

// MARK: - Writing elements

extension Array where Element == UInt8 {
  /// Appends each scalar's IEEE bits, little-endian, as `'<f4'` stores them.
  mutating func appendLittleEndian(_ scalars: [Float]) {
    reserveCapacity(count + 4 * scalars.count)
    for scalar in scalars {
      let bits = scalar.bitPattern
      append(UInt8(truncatingIfNeeded: bits))
      append(UInt8(truncatingIfNeeded: bits >> 8))
      append(UInt8(truncatingIfNeeded: bits >> 16))
      append(UInt8(truncatingIfNeeded: bits >> 24))
    }
  }
}
