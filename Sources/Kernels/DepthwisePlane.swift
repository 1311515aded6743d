import CKernels
import Tensors

/// Depthwise convolution (one input channel per filter, any multiplier) with stride 1 and
/// rows of the same width in and out ("same" padding along the rows), 1-D or 2-D, read
/// straight from the NCHW planes (`gc_dwplane`).
///
/// Each plane is taken as one flat row of positions, 16 to a vector. With equal widths, tap
/// (ky, kx) of output position o reads input position o + (ky · dh − top) · width + kx · dw −
/// left for every o: one shifted load per tap and output vector, under a mask of the lanes
/// whose input lies inside the plane (the padding reads nothing and adds zero). Up to 16
/// vectors of one channel, or of 4 channels of a plane of up to 64 positions (which then read
/// each tap's masks once for all 4), stay in registers across
/// all the taps. The row kernels of `DirectConvolution` stage padded rows and fill 16-lane
/// vectors with the 7 or 14 columns of a late layer's row; here every lane of a flat plane
/// is used, with no staging.
@safe package final class DepthwisePlane: FusingForwardKernel, @unchecked Sendable {
  /// Multiply-adds below which one thread runs the whole pass: a second costs more than it
  /// saves.
  package static let parallelMultiplyAdds = 1 << 17

  /// Whether this kernel is the one to run `geometry` (when it takes it): on AVX-512 (the
  /// baseline reads masked lanes one by one), 3×3 and smaller filters of planes of up to 64
  /// positions (7×7, 8×8), whose rows fill 7 or 8 of the row kernels' 16 lanes, and 4×4 to
  /// 5×5 filters of 65 to 256 (14×14), where the channel-lane kernel's transposes cost more.
  /// Larger filters, and 5×5 of 7×7 planes, run faster in the channel-lane kernel; larger
  /// planes in the row kernels, which load each input once for several taps.
  package static func prefers(_ g: ConvolutionGeometry) -> Bool {
    let (plane, taps) = (g.xSize.reduce(1, *), g.kernel.reduce(1, *))
    return gc_has_avx512() != 0
      && ((plane <= 64 && taps <= 9) || ((65...256).contains(plane) && (10...25).contains(taps)))
  }

  private let geometry: ConvolutionGeometry
  private let weights: [Float]
  private let offsets: [Int64]
  private let masks: [UInt16]
  private let vectors, multiplier: Int
  private let small: Bool

  /// Nil unless `geometry` is a 1-D or 2-D depthwise convolution (groups = input channels)
  /// with stride 1, zeros padding and output rows as wide as the input's.
  package init?(
    _ geometry: ConvolutionGeometry, weight: UnsafeBufferPointer<Float>,
    parallelMultiplyAdds: Int = DepthwisePlane.parallelMultiplyAdds
  ) {
    let g = geometry
    guard !g.transposed, g.paddingMode == .zeros, (1...2).contains(g.spatialRank),
      g.groups == g.xChannels, g.yChannels % g.xChannels == 0, g.multiplyAdds > 0,
      g.stride.allSatisfy({ $0 == 1 }), g.ySize.last == g.xSize.last,
      weight.count == g.weightShape.reduce(1, *)
    else { return nil }
    func padded(_ values: [Int], _ fill: Int) -> [Int] {
      Array(repeating: fill, count: 2 - values.count) + values
    }
    let (xSize, ySize) = (padded(g.xSize, 1), padded(g.ySize, 1))
    let (kernel, dilation, pad) = (padded(g.kernel, 1), padded(g.dilation, 1), padded(g.padBegin, 0))
    let width = xSize[1]
    let outPlane = ySize[0] * width
    let vectors = (outPlane + 15) / 16
    let shifts = (0..<kernel[0]).flatMap { ky in
      (0..<kernel[1]).map { kx in (dy: ky * dilation[0] - pad[0], dx: kx * dilation[1] - pad[1]) }
    }
    let offsets = shifts.map { Int64($0.dy * width + $0.dx) }
    let masks = FlatPlane.insideMasks(
      positions: outPlane, width: width, inputRows: xSize[0], shifts: shifts, vectors: vectors)
    self.geometry = g
    weights = unsafe Array(weight)
    (self.offsets, self.masks, self.vectors) = (offsets, masks, vectors)
    multiplier = g.yChannels / g.xChannels
    small = g.multiplyAdds < parallelMultiplyAdds
  }

  package var addsToOutput: Bool { true }

  package func forward(
    x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    clamp: UnsafePointer<Float>?, activation: gc_activation_kind?, adding: Bool
  ) {
    let g = geometry
    let (plane, outPlane) = (g.xSize.reduce(1, *), g.ySize.reduce(1, *))
    let perImage = min(g.yChannels, 4 * max(1, Threads.count))
    let items = g.batch * perImage
    let threads = small ? 1 : min(Threads.count, items)
    unsafe weights.withUnsafeBufferPointer { weights in
      unsafe offsets.withUnsafeBufferPointer { offsets in
        unsafe masks.withUnsafeBufferPointer { masks in
          let args = unsafe gc_dwplane_args(
            x: x, y: y, multiplier: Int64(multiplier), plane: Int64(plane),
            out_plane: Int64(outPlane), taps: Int64(offsets.count),
            offsets: offsets.baseAddress, masks: masks.baseAddress, vectors: Int64(vectors),
            weights: weights.baseAddress, bias: bias, clamp: clamp,
            activation: activation.map { Int32(bitPattern: $0.rawValue) } ?? -1,
            add: adding ? 1 : 0, channel_begin: 0, channel_end: 0)
          Threads.forEachItem(items, threads: threads) { _, item in
            var task = unsafe args
            let (image, part) = item.quotientAndRemainder(dividingBy: perImage)
            unsafe task.x = x + image * g.xChannels * plane
            unsafe task.y = y + image * g.yChannels * outPlane
            unsafe task.channel_begin = Int64(g.yChannels * part / perImage)
            unsafe task.channel_end = Int64(g.yChannels * (part + 1) / perImage)
            unsafe gc_dwplane(&task)
          }
        }
      }
    }
  }
}
