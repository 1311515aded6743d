/// A convolution request that breaks one of PyTorch's rules. Each message names the
/// operation (`conv2d`, `conv_transpose3d`, `Conv2d`, ...), the offending values, then the rule.
public enum ConvolutionError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Which side of a convolution a channel count belongs to.
  public enum ChannelRole: String, Sendable {
    case input = "in_channels"
    case output = "out_channels"
  }

  /// The input is not batched with 1, 2 or 3 spatial dimensions (or not the rank the
  /// operation takes).
  case inputRank(operation: String, shape: [Int], expectedRank: Int?)
  /// The weight's rank differs from the input's.
  case weightRank(operation: String, weightShape: [Int], inputShape: [Int])
  /// A per-dimension argument has the wrong number of values.
  case argumentCount(operation: String, name: String, values: [Int], spatialRank: Int)
  /// A stride is zero or negative.
  case nonPositiveStride(operation: String, stride: [Int])
  /// A dilation is zero or negative.
  case nonPositiveDilation(operation: String, dilation: [Int])
  /// A padding is negative.
  case negativePadding(operation: String, padding: [Int])
  /// An output padding is negative.
  case negativeOutputPadding(operation: String, outputPadding: [Int])
  /// `groups` is zero or negative.
  case nonPositiveGroups(operation: String, groups: Int)
  /// A channel count or kernel size given to a layer is zero or negative.
  case nonPositiveArgument(operation: String, name: String, values: [Int])
  /// A kernel dimension of the weight is zero.
  case emptyKernel(operation: String, weightShape: [Int])
  /// A channel count is not a multiple of `groups`.
  case channelsNotDivisibleByGroups(
    operation: String, role: ChannelRole, channels: Int, groups: Int,
    inputChannels: Int, outputChannels: Int)
  /// The weight's channel dimension does not fit the input's channels and `groups`.
  case weightChannelsMismatch(
    operation: String, groups: Int, transposed: Bool, weightShape: [Int], inputShape: [Int],
    expectedChannels: Int)
  /// The bias is not one value per output channel.
  case biasShape(
    operation: String, biasShape: [Int], weightShape: [Int], outputChannels: Int,
    transposed: Bool)
  /// A bias given to a convolution made without one, or missing from one made with one.
  case biasPresence(operation: String, given: [Int]?, expected: [Int]?)
  /// An input with an empty spatial dimension.
  case emptySpatialInput(operation: String, shape: [Int])
  /// The dilated kernel is larger than the padded input.
  case kernelLargerThanInput(operation: String, paddedInputSize: [Int], dilatedKernelSize: [Int])
  /// `padding='same'` with a stride above 1.
  case sameWithStride(operation: String, stride: [Int])
  /// `padding='same'` or `'valid'` given to a transposed convolution.
  case namedPaddingForTransposed(operation: String, padding: Padding)
  /// A padding mode other than zeros given to a transposed convolution.
  case paddingModeForTransposed(operation: String, mode: PaddingMode)
  /// An output padding that is not smaller than either the stride or the dilation.
  case outputPaddingTooLarge(
    operation: String, outputPadding: [Int], stride: [Int], dilation: [Int])
  /// An output padding given to a convolution that is not transposed.
  case outputPaddingWithoutTransposed(operation: String, outputPadding: [Int])
  /// A transposed convolution whose padding leaves no output.
  case outputSizeTooSmall(operation: String, inputSize: [Int], outputSize: [Int])
  /// A padding mode PyTorch does not know.
  case unknownPaddingMode(String)
  /// Reflect or circular padding wider than the input allows.
  case paddingTooWide(
    operation: String, mode: PaddingMode, dimension: Int, begin: Int, end: Int, inputSize: Int)
  /// A tensor with more elements than `ConvolutionGeometry.maximumElementCount`.
  case tooLarge(operation: String, name: String, shape: [Int])
  /// A shape with a negative size.
  case negativeSize(operation: String, name: String, shape: [Int])
  /// A size or argument above `ConvolutionGeometry.maximumExtent`.
  case argumentTooLarge(operation: String, name: String, values: [Int])
  /// A tensor whose shape differs from the one the operation was planned for.
  case shapeMismatch(operation: String, name: String, shape: [Int], expected: [Int])

  /// The most elements a convolution's input, output or weight may hold (16 GiB of floats).
  public static let maximumElementCount = 1 << 32
  /// The largest size, stride, dilation or padding a convolution accepts in any dimension;
  /// small enough that the shape arithmetic cannot overflow.
  public static let maximumExtent = 1 << 30

  /// The values of `groups` that divide both channel counts (none listed when either is
  /// zero or negative). A count checked against the smaller: however large the other.
  public static func validGroups(inputChannels: Int, outputChannels: Int) -> [Int] {
    guard inputChannels > 0, outputChannels > 0 else { return [] }
    return (1...min(inputChannels, outputChannels)).filter {
      inputChannels % $0 == 0 && outputChannels % $0 == 0
    }
  }

  public var description: String {
    switch self {
    case let .inputRank(operation, shape, expectedRank?):
      "\(operation): expected a \(expectedRank)-D input [N, C, \(spatialNames(expectedRank - 2))]"
        + ", but got input of size \(shape)"
    case let .inputRank(operation, shape, nil):
      "\(operation): expected a batched input of rank 3, 4 or 5 ([N, C, W], [N, C, H, W] or "
        + "[N, C, D, H, W]), but got input of size \(shape)"
    case let .weightRank(operation, weightShape, inputShape):
      "\(operation): expected a \(inputShape.count)-D weight for input of size \(inputShape)"
        + ", but got weight of size \(weightShape)"
    case let .argumentCount(operation, name, values, spatialRank):
      "\(operation): \(name) \(values) has \(values.count) values; expected "
        + (spatialRank == 1 ? "1" : "1 or \(spatialRank)")
        + (name == "padding" ? " (or \(2 * spatialRank): begins, then ends)" : "")
        + " for \(spatialRank) spatial dimension\(spatialRank == 1 ? "" : "s")"
    case let .nonPositiveStride(operation, stride):
      "\(operation): stride \(stride) is not supported: non-positive stride is not supported"
    case let .nonPositiveDilation(operation, dilation):
      "\(operation): dilation \(dilation) is not supported: dilation should be greater than zero"
    case let .negativePadding(operation, padding):
      "\(operation): padding \(padding) is not supported: negative padding is not supported"
    case let .negativeOutputPadding(operation, outputPadding):
      "\(operation): output_padding \(outputPadding) is not supported: "
        + "negative output_padding is not supported"
    case let .nonPositiveGroups(operation, groups):
      "\(operation): groups \(groups) is not supported: non-positive groups is not supported"
    case let .nonPositiveArgument(operation, name, values):
      "\(operation): \(name) \(values.count == 1 ? "\(values[0])" : "\(values)") is not "
        + "supported: \(name) must be positive"
    case let .emptyKernel(operation, weightShape):
      "\(operation): weight of size \(weightShape) has an empty kernel: "
        + "kernel sizes must be positive"
    case let .channelsNotDivisibleByGroups(operation, role, channels, groups, input, output):
      "\(operation): \(role.rawValue) \(channels) is not divisible by groups \(groups); "
        + Self.validGroupsSentence(inputChannels: input, outputChannels: output)
    case let .weightChannelsMismatch(operation, groups, transposed, weight, input, expected):
      "\(operation): given \(transposed ? "transposed=1" : "groups=\(groups)"), weight of size "
        + "\(weight), expected input\(input) to have \(expected) channels, but got "
        + "\(input.count > 1 ? input[1] : 0) channels instead"
    case let .biasShape(operation, biasShape, weightShape, outputChannels, transposed):
      "\(operation): given \(transposed ? "transposed=1, " : "")weight of size \(weightShape), "
        + "expected bias to be 1-dimensional with \(outputChannels) elements, but got bias of "
        + "size \(biasShape) instead"
    case let .biasPresence(operation, given?, _):
      "\(operation): a bias of size \(given) was given, but this convolution was made without "
        + "a bias"
    case let .biasPresence(operation, nil, expected):
      "\(operation): no bias was given, but this convolution was made with a bias of size "
        + "\(expected ?? [])"
    case let .emptySpatialInput(operation, shape):
      "\(operation): input of size \(shape) has an empty spatial dimension: only zero batch "
        + "or zero channel inputs are supported"
    case let .kernelLargerThanInput(operation, padded, kernel):
      "\(operation): calculated padded input size per channel: (\(Self.times(padded))). "
        + "Kernel size: (\(Self.times(kernel))). Kernel size can't be greater than actual "
        + "input size"
    case let .sameWithStride(operation, stride):
      "\(operation): padding='same' is not supported for strided convolutions "
        + "(stride \(stride)); use stride 1 or explicit padding"
    case let .namedPaddingForTransposed(operation, padding):
      "\(operation): padding=\(padding) is not supported for transposed convolutions; "
        + "give the padding as integers"
    case let .paddingModeForTransposed(operation, mode):
      "\(operation): padding_mode '\(mode.rawValue)' is not supported: only 'zeros' padding "
        + "mode is supported for transposed convolutions"
    case let .outputPaddingTooLarge(operation, outputPadding, stride, dilation):
      "\(operation): output_padding \(outputPadding) is not supported with stride \(stride) "
        + "and dilation \(dilation): output padding must be smaller than either stride or "
        + "dilation"
    case let .outputPaddingWithoutTransposed(operation, outputPadding):
      "\(operation): output_padding \(outputPadding) is only supported for transposed "
        + "convolutions"
    case let .outputSizeTooSmall(operation, inputSize, outputSize):
      "\(operation): given input size per channel: (\(Self.times(inputSize))). Calculated "
        + "output size per channel: (\(Self.times(outputSize))). Output size is too small"
    case let .unknownPaddingMode(name):
      "unknown padding_mode '\(name)': padding_mode must be one of "
        + PaddingMode.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
    case let .paddingTooWide(operation, mode, dimension, begin, end, inputSize):
      "\(operation): \(mode.rawValue) padding (\(begin), \(end)) on spatial dimension "
        + "\(dimension) of size \(inputSize) is too wide: "
        + (mode == .reflect
          ? "padding size should be less than the corresponding input dimension"
          : mode == .circular
            ? "padding value causes wrapping around more than once"
            : "the input dimension must not be empty")
    case let .tooLarge(operation, name, shape):
      "\(operation): \(name) of size \(shape) is too large: a tensor may hold at most "
        + "\(Self.maximumElementCount) elements"
    case let .negativeSize(operation, name, shape):
      "\(operation): \(name) \(shape) is not supported: sizes must not be negative"
    case let .argumentTooLarge(operation, name, values):
      "\(operation): \(name) \(values) is too large: sizes, strides, dilations and paddings "
        + "must be at most \(Self.maximumExtent)"
    case let .shapeMismatch(operation, name, shape, expected):
      "\(operation): \(name) of size \(shape) does not match the expected size \(expected)"
    }
  }

  static func validGroupsSentence(inputChannels: Int, outputChannels: Int) -> String {
    let valid = validGroups(inputChannels: inputChannels, outputChannels: outputChannels)
    return "valid groups for \(inputChannels) input and \(outputChannels) output channels are "
      + valid.map(String.init).joined(separator: ", ")
  }

  private static func times(_ sizes: [Int]) -> String {
    sizes.map(String.init).joined(separator: " x ")
  }

  private func spatialNames(_ spatialRank: Int) -> String {
    ["W", "H, W", "D, H, W"][max(0, min(2, spatialRank - 1))]
  }
}
