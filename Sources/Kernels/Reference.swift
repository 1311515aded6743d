import Tensors

/// The plain convolution loops: the definition of each operation, written for clarity, and the
/// oracle every faster kernel is tested against.
///
/// All of them work on the correlation that `ConvolutionGeometry` describes,
///
///     y[n, o, p] = sum over (i in o's group, k) of  w[o, i, k] * x[n, i, p * s + k * d - pad]
///
/// with reads outside x being zero (other padding modes pad x explicitly first, see
/// `Reference.pad`). 1-D and 2-D are 3-D with leading extents of 1, so one loop nest serves
/// all three. Sums are accumulated in `Double`.
package enum Reference {
  /// y = x ⋆ w: the convolution, without bias.
  /// x: [N, xChannels, xSize...]   w: [yChannels, xChannels/groups, k...]   → y: [N, yChannels, ySize...]
  package static func correlate(x: [Float], w: [Float], _ g: ConvolutionGeometry) -> [Float] {
    let l = Loops(g)
    precondition(x.count == l.xCount && w.count == l.wCount)
    var y = [Float](repeating: 0, count: l.yCount)
    for n in 0..<l.batch {
      for o in 0..<l.yChannels {
        let group = o / l.yPerGroup
        for yz in 0..<l.y.d { for yy in 0..<l.y.h { for yx in 0..<l.y.w {
          var sum = 0.0
          for i in 0..<l.xPerGroup {
            let c = group * l.xPerGroup + i
            for kz in 0..<l.k.d { for ky in 0..<l.k.h { for kx in 0..<l.k.w {
              guard let xAt = l.xIndex(n, c, (yz, yy, yx), (kz, ky, kx)) else { continue }
              sum += Double(w[l.wIndex(o, i, (kz, ky, kx))]) * Double(x[xAt])
            } } }
          }
          y[l.yIndex(n, o, (yz, yy, yx))] = Float(sum)
        } } }
      }
    }
    return y
  }

  /// dx = wᵀ ⋆ dy: the input gradient of the convolution, which is also the transposed
  /// convolution of dy. Each x position gathers the (output, tap) pairs that read it.
  /// dy: [N, yChannels, ySize...]   w: [yChannels, xChannels/groups, k...]   → dx: [N, xChannels, xSize...]
  package static func correlateInputGradient(
    dy: [Float], w: [Float], _ g: ConvolutionGeometry
  ) -> [Float] {
    let l = Loops(g)
    precondition(dy.count == l.yCount && w.count == l.wCount)
    var dx = [Float](repeating: 0, count: l.xCount)
    for n in 0..<l.batch {
      for c in 0..<l.xChannels {
        let (group, i) = c.quotientAndRemainder(dividingBy: l.xPerGroup)
        for xz in 0..<l.x.d { for xy in 0..<l.x.h { for xx in 0..<l.x.w {
          var sum = 0.0
          for o in group * l.yPerGroup..<(group + 1) * l.yPerGroup {
            for kz in 0..<l.k.d { for ky in 0..<l.k.h { for kx in 0..<l.k.w {
              guard let yAt = l.yIndex(n, o, reading: (xz, xy, xx), (kz, ky, kx)) else {
                continue
              }
              sum += Double(w[l.wIndex(o, i, (kz, ky, kx))]) * Double(dy[yAt])
            } } }
          }
          dx[l.xIndex(n, c, (xz, xy, xx))] = Float(sum)
        } } }
      }
    }
    return dx
  }

  /// dw = dy ⋆ x: the weight gradient, a correlation of the input with the output gradient
  /// summed over the batch.
  /// dy: [N, yChannels, ySize...]   x: [N, xChannels, xSize...]   → dw: [yChannels, xChannels/groups, k...]
  package static func correlateWeightGradient(
    dy: [Float], x: [Float], _ g: ConvolutionGeometry
  ) -> [Float] {
    let l = Loops(g)
    precondition(dy.count == l.yCount && x.count == l.xCount)
    var dw = [Float](repeating: 0, count: l.wCount)
    for o in 0..<l.yChannels {
      let group = o / l.yPerGroup
      for i in 0..<l.xPerGroup {
        let c = group * l.xPerGroup + i
        for kz in 0..<l.k.d { for ky in 0..<l.k.h { for kx in 0..<l.k.w {
          var sum = 0.0
          for n in 0..<l.batch {
            for yz in 0..<l.y.d { for yy in 0..<l.y.h { for yx in 0..<l.y.w {
              guard let xAt = l.xIndex(n, c, (yz, yy, yx), (kz, ky, kx)) else { continue }
              sum += Double(dy[l.yIndex(n, o, (yz, yy, yx))]) * Double(x[xAt])
            } } }
          }
          dw[l.wIndex(o, i, (kz, ky, kx))] = Float(sum)
        } } }
      }
    }
    return dw
  }

  /// Adds `bias[c]` to every element of channel c of `t`: [N, channels, spatial...] with
  /// `plane` elements per (n, channel).
  package static func addBias(_ bias: [Float], to t: inout [Float], channels: Int, plane: Int) {
    precondition(bias.count == channels && t.count % max(1, channels * plane) == 0)
    guard plane > 0 else { return }
    for index in t.indices { t[index] += bias[(index / plane) % channels] }
  }

  /// The bias gradient: the sum of `dt` over the batch and the spatial positions, per channel.
  /// dt: [N, channels, spatial...] with `plane` elements per (n, channel).
  package static func biasGradient(_ dt: [Float], channels: Int, plane: Int) -> [Float] {
    var sums = [Double](repeating: 0, count: channels)
    if plane > 0 {
      for (index, value) in dt.enumerated() { sums[(index / plane) % channels] += Double(value) }
    }
    return sums.map { Float($0) }
  }
}
