import Tensors

/// A convolution geometry flattened to three spatial dimensions (depth, height, width), with
/// the index arithmetic of NCDHW tensors; 1-D and 2-D geometries get leading extents of 1.
struct Loops {
  struct Extent { var d, h, w: Int }
  typealias Point = (Int, Int, Int)

  let batch, xChannels, yChannels, xPerGroup, yPerGroup: Int
  let x, y, k, stride, dilation, pad: Extent

  init(_ g: ConvolutionGeometry) {
    precondition(g.paddingMode == .zeros, "reference loops read zeros outside x")
    func extent(_ values: [Int], fill: Int) -> Extent {
      let v = Array(repeating: fill, count: 3 - values.count) + values
      return Extent(d: v[0], h: v[1], w: v[2])
    }
    batch = g.batch
    xChannels = g.xChannels
    yChannels = g.yChannels
    xPerGroup = g.xChannels / g.groups
    yPerGroup = g.yChannels / g.groups
    x = extent(g.xSize, fill: 1)
    y = extent(g.ySize, fill: 1)
    k = extent(g.kernel, fill: 1)
    stride = extent(g.stride, fill: 1)
    dilation = extent(g.dilation, fill: 1)
    pad = extent(g.padBegin, fill: 0)
  }

  var xCount: Int { batch * xChannels * x.d * x.h * x.w }
  var yCount: Int { batch * yChannels * y.d * y.h * y.w }
  var wCount: Int { yChannels * xPerGroup * k.d * k.h * k.w }

  func xIndex(_ n: Int, _ c: Int, _ p: Point) -> Int {
    ((((n * xChannels + c) * x.d) + p.0) * x.h + p.1) * x.w + p.2
  }

  func yIndex(_ n: Int, _ o: Int, _ p: Point) -> Int {
    ((((n * yChannels + o) * y.d) + p.0) * y.h + p.1) * y.w + p.2
  }

  func wIndex(_ o: Int, _ i: Int, _ t: Point) -> Int {
    (((o * xPerGroup + i) * k.d + t.0) * k.h + t.1) * k.w + t.2
  }

  /// The index of the x element that output position `p` reads through tap `t`, or `nil`
  /// when it falls in the padding.
  func xIndex(_ n: Int, _ c: Int, _ p: Point, _ t: Point) -> Int? {
    let z = p.0 * stride.d + t.0 * dilation.d - pad.d
    let r = p.1 * stride.h + t.1 * dilation.h - pad.h
    let q = p.2 * stride.w + t.2 * dilation.w - pad.w
    guard z >= 0 && z < x.d && r >= 0 && r < x.h && q >= 0 && q < x.w else { return nil }
    return xIndex(n, c, (z, r, q))
  }

  /// The index of the y element whose tap `t` reads x position `p`, or `nil` when none does.
  func yIndex(_ n: Int, _ o: Int, reading p: Point, _ t: Point) -> Int? {
    func source(_ position: Int, _ tap: Int, _ s: Int, _ d: Int, _ pad: Int, _ size: Int)
      -> Int?
    {
      let offset = position + pad - tap * d
      guard offset >= 0 && offset % s == 0 && offset / s < size else { return nil }
      return offset / s
    }
    guard let z = source(p.0, t.0, stride.d, dilation.d, pad.d, y.d),
      let r = source(p.1, t.1, stride.h, dilation.h, pad.h, y.h),
      let q = source(p.2, t.2, stride.w, dilation.w, pad.w, y.w)
    else { return nil }
    return yIndex(n, o, (z, r, q))
  }
}
