/// Masks of reads from a flat plane: an output plane of `positions` positions, `width` to a
/// row, whose position (row, column) reads input (row + dy, column + dx) of a plane of
/// `inputRows` rows of the same width, 16 positions to a vector (`gc_dwplane`, and the GEMM
/// tiles that gather B).
enum FlatPlane {
  /// Per shift (in order) and vector of 16 output positions, `vectors` per shift (enough for
  /// `positions`), the lanes whose input lies inside the input plane; lanes past `positions`
  /// are clear.
  static func insideMasks(
    positions: Int, width: Int, inputRows: Int, shifts: [(dy: Int, dx: Int)], vectors: Int
  ) -> [UInt16] {
    var masks = [UInt16](repeating: 0, count: shifts.count * vectors)
    for (s, shift) in shifts.enumerated() {
      for p in 0..<positions {
        let (row, column) = p.quotientAndRemainder(dividingBy: width)
        if (0..<inputRows).contains(row + shift.dy), (0..<width).contains(column + shift.dx) {
          masks[s * vectors + p / 16] |= 1 << (p % 16)
        }
      }
    }
    return masks
  }
}
