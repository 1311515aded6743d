import GroupConv

/// A convolution or transposed convolution computed in `Double`, straight from its
/// definition: the oracle the gradient tests differentiate numerically. It shares no code with
/// the library: it resolves the options itself and loops over every output and tap.
///
/// Convolution, x: [N, C_in, size...], w: [C_out, C_in/g, k...]:
///
///     y[n, o, p] = b[o] + sum over (i < C_in/g, k) of
///                  w[o, i, k] * xpad[n, group(o) * C_in/g + i, p * s + k * d - padBegin]
///
/// where `xpad` reads outside x through the padding mode (zeros, reflect, replicate,
/// circular). Transposed, x: [N, C_in, size...], w: [C_in, C_out/g, k...], as the scatter that
/// is the adjoint of the convolution:
///
///     out[n, group(c) * C_out/g + j, i * s + k * d - padBegin] += w[c, j, k] * x[n, c, i]
///
/// (positions outside the output are dropped), then the bias.
struct DoubleConvolution {
  let transposed: Bool
  let groups: Int
  let inputShape: [Int]
  let weightShape: [Int]
  let stride: [Int]
  let dilation: [Int]
  let padBegin: [Int]
  let padEnd: [Int]
  let outputPadding: [Int]
  let paddingMode: PaddingMode

  /// Resolves `options` (one value for every dimension or one per dimension; padding also
  /// as begins then ends, `.same` or `.valid`), without checking what PyTorch would refuse.
  init(inputShape: [Int], weightShape: [Int], options: ConvolutionOptions) {
    let rank = inputShape.count - 2
    func each(_ values: [Int]) -> [Int] {
      values.count == rank ? values : Array(repeating: values[0], count: rank)
    }
    self.inputShape = inputShape
    self.weightShape = weightShape
    transposed = options.transposed
    groups = options.groups
    let dilation = each(options.dilation.values)
    self.dilation = dilation
    stride = each(options.stride.values)
    outputPadding = each(options.outputPadding.values)
    paddingMode = options.paddingMode
    let kernel = Array(weightShape[2...])
    switch options.padding {
    case .valid:
      padBegin = Array(repeating: 0, count: rank)
      padEnd = padBegin
    case .same:
      // A total of d * (k - 1) per dimension, the odd one at the end.
      let totals = (0..<rank).map { dilation[$0] * (kernel[$0] - 1) }
      padBegin = totals.map { $0 / 2 }
      padEnd = (0..<rank).map { totals[$0] - totals[$0] / 2 }
    case .explicit(let values) where values.count == 2 * rank:
      padBegin = Array(values[..<rank])
      padEnd = Array(values[rank...])
    case .explicit(let values):
      padBegin = each(values)
      padEnd = padBegin
    }
  }

  var rank: Int { inputShape.count - 2 }

  var outputShape: [Int] {
    let size = Array(inputShape[2...])
    let kernel = Array(weightShape[2...])
    let outSize = (0..<rank).map { d in
      let dilatedKernel = dilation[d] * (kernel[d] - 1) + 1
      return transposed
        ? (size[d] - 1) * stride[d] - padBegin[d] - padEnd[d] + dilatedKernel + outputPadding[d]
        : (size[d] + padBegin[d] + padEnd[d] - dilatedKernel) / stride[d] + 1
    }
    let channels = transposed ? weightShape[1] * groups : weightShape[0]
    return [inputShape[0], channels] + outSize
  }

  /// The output for x and w (and b, one per output channel), all in row-major order.
  func forward(x: [Double], w: [Double], b: [Double]?) -> [Double] {
    // Spatial dimensions lifted to three (depth, height, width) with leading extents of 1.
    func lift(_ values: [Int], _ fill: Int) -> [Int] {
      Array(repeating: fill, count: 3 - values.count) + values
    }
    let outShape = outputShape
    let xs = lift(Array(inputShape[2...]), 1)
    let ys = lift(Array(outShape[2...]), 1)
    let ks = lift(Array(weightShape[2...]), 1)
    let s = lift(stride, 1)
    let d = lift(dilation, 1)
    let pad = lift(padBegin, 0)
    let (batch, inChannels, outChannels) = (inputShape[0], inputShape[1], outShape[1])
    let wColumns = weightShape[1]
    func xAt(_ n: Int, _ c: Int, _ z: Int, _ r: Int, _ q: Int) -> Int {
      (((n * inChannels + c) * xs[0] + z) * xs[1] + r) * xs[2] + q
    }
    func yAt(_ n: Int, _ c: Int, _ z: Int, _ r: Int, _ q: Int) -> Int {
      (((n * outChannels + c) * ys[0] + z) * ys[1] + r) * ys[2] + q
    }
    func wAt(_ row: Int, _ column: Int, _ z: Int, _ r: Int, _ q: Int) -> Int {
      (((row * wColumns + column) * ks[0] + z) * ks[1] + r) * ks[2] + q
    }
    var y = [Double](repeating: 0, count: outShape.reduce(1, *))
    if !transposed {
      let inPerGroup = wColumns
      let outPerGroup = outChannels / groups
      for n in 0..<batch {
        for o in 0..<outChannels {
          let group = o / outPerGroup
          for pz in 0..<ys[0] { for py in 0..<ys[1] { for px in 0..<ys[2] {
            var sum = b?[o] ?? 0
            for i in 0..<inPerGroup {
              for kz in 0..<ks[0] { for ky in 0..<ks[1] { for kx in 0..<ks[2] {
                guard
                  let z = read(pz * s[0] + kz * d[0] - pad[0], size: xs[0]),
                  let r = read(py * s[1] + ky * d[1] - pad[1], size: xs[1]),
                  let q = read(px * s[2] + kx * d[2] - pad[2], size: xs[2])
                else { continue }
                sum += w[wAt(o, i, kz, ky, kx)] * x[xAt(n, group * inPerGroup + i, z, r, q)]
              } } }
            }
            y[yAt(n, o, pz, py, px)] = sum
          } } }
        }
      }
    } else {
      let inPerGroup = inChannels / groups
      let outPerGroup = wColumns
      for n in 0..<batch {
        for c in 0..<inChannels {
          let group = c / inPerGroup
          for iz in 0..<xs[0] { for iy in 0..<xs[1] { for ix in 0..<xs[2] {
            let value = x[xAt(n, c, iz, iy, ix)]
            for j in 0..<outPerGroup {
              for kz in 0..<ks[0] { for ky in 0..<ks[1] { for kx in 0..<ks[2] {
                let (z, r, q) = (
                  iz * s[0] + kz * d[0] - pad[0], iy * s[1] + ky * d[1] - pad[1],
                  ix * s[2] + kx * d[2] - pad[2]
                )
                guard (0..<ys[0]).contains(z), (0..<ys[1]).contains(r), (0..<ys[2]).contains(q)
                else { continue }
                y[yAt(n, group * outPerGroup + j, z, r, q)] += w[wAt(c, j, kz, ky, kx)] * value
              } } }
            }
          } } }
        }
      }
      if let b {
        let plane = ys.reduce(1, *)
        for index in y.indices { y[index] += b[(index / plane) % outChannels] }
      }
    }
    return y
  }

  /// The position inside [0, size) that an unpadded position `i` reads, or `nil` for a zero.
  private func read(_ i: Int, size: Int) -> Int? {
    if i >= 0 && i < size { return i }
    switch paddingMode {
    case .zeros: return nil
    case .reflect: return i < 0 ? -i : 2 * (size - 1) - i
    case .replicate: return i < 0 ? 0 : size - 1
    case .circular: return i < 0 ? i + size : i - size
    }
  }
}

/// Central differences of `loss` with respect to each element of `values`, with step `h`.
/// For a loss that is linear in `values` they are exact up to rounding.
func centralDifferences(
  of values: [Double], step h: Double = 1e-3, _ loss: ([Double]) -> Double
) -> [Double] {
  var probe = values
  var gradient = [Double](repeating: 0, count: values.count)
  for index in values.indices {
    probe[index] = values[index] + h
    let up = loss(probe)
    probe[index] = values[index] - h
    let down = loss(probe)
    probe[index] = values[index]
    gradient[index] = (up - down) / (2 * h)
  }
  return gradient
}
