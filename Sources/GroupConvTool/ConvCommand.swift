import ArgumentParser
import GroupConv

/// `groupconv conv`: one convolution (and optionally its gradients) on .npy files.
struct ConvCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "conv",
    abstract: "Apply one convolution or transposed convolution to .npy files.",
    discussion: """
      Computes what torch.nn.functional.conv{1,2,3}d (or conv_transpose{1,2,3}d with \
      --transposed) computes, with the padding modes of PyTorch's convolution modules. The \
      number of spatial dimensions comes from the input's rank (3, 4 or 5). Lists take one \
      value for every dimension or one per dimension; --padding also takes 2k values (all \
      begins, then all ends), 'same' or 'valid'. With --grad-output it also writes the \
      gradients of sum(output * grad_output).
      """)

  @Option(help: "Input .npy: [N, C_in, spatial...], float32 (float64 and float16 are converted).")
  var input: String

  @Option(help: "Weight .npy: [C_out, C_in/groups, k...]; transposed: [C_in, C_out/groups, k...].")
  var weight: String

  @Option(help: "Bias .npy: [C_out].")
  var bias: String?

  @Option(help: "Where to write the output .npy.")
  var output: String

  @Option(help: "Stride, S or S,S,...")
  var stride = "1"

  @Option(help: "Dilation, D or D,D,...")
  var dilation = "1"

  @Option(help: "Number of channel groups; divides C_in and C_out.")
  var groups = 1

  @Option(help: "Padding: P, P,P,... (per dimension), begins then ends, 'same' or 'valid'.")
  var padding = "0"

  @Option(help: "zeros, reflect, replicate or circular.")
  var paddingMode = "zeros"

  @Flag(help: "Transposed convolution (conv_transpose).")
  var transposed = false

  @Option(help: "Transposed only: extra output size at the end, OP or OP,OP,...")
  var outputPadding = "0"

  @Option(help: "A reference output .npy (from PyTorch, say): print the largest difference.")
  var compare: String?

  @Option(help: "Gradient of the loss with respect to the output, .npy; enables backward.")
  var gradOutput: String?

  @Option(help: "Where to write the input gradient .npy (with --grad-output).")
  var gradInput: String?

  @Option(help: "Where to write the weight gradient .npy (with --grad-output).")
  var gradWeight: String?

  @Option(help: "Where to write the bias gradient .npy (with --grad-output and --bias).")
  var gradBias: String?

  func validate() throws {
    _ = try options()
    if gradOutput != nil {
      guard gradInput != nil, gradWeight != nil else {
        throw ValidationError("--grad-output needs --grad-input and --grad-weight")
      }
    } else if gradInput != nil || gradWeight != nil || gradBias != nil {
      throw ValidationError("--grad-input, --grad-weight and --grad-bias need --grad-output")
    }
    if gradBias != nil && bias == nil {
      throw ValidationError("--grad-bias needs --bias")
    }
  }

  func run() throws {
    let x = try NPY.read(contentsOf: input)
    let w = try NPY.read(contentsOf: weight)
    let b = try bias.map { path throws(FormatError) in try NPY.read(contentsOf: path) }
    let reference = try compare.map { path throws(FormatError) in try NPY.read(contentsOf: path) }
    let convolution = try Convolution(
      inputShape: x.shape, weightShape: w.shape, biasShape: b?.shape, options: options())
    let clock = ContinuousClock()
    let start = clock.now
    let y = try convolution.forward(x, weight: w, bias: b)
    let elapsed = clock.now - start
    try NPY.write(y, to: output)
    print(
      "\(convolution.operation): input \(x.shape), weight \(w.shape), groups \(groups) -> "
        + "output \(y.shape) in \(Self.milliseconds(elapsed)), written to \(output)")
    if let reference, let compare {
      guard reference.shape == y.shape else {
        throw ValidationError(
          "--compare \(compare) has shape \(reference.shape), but the output has \(y.shape)")
      }
      let largest = zip(y.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0
      print("largest |output - \(compare)| = \(largest) over \(y.count) values")
    }
    guard let gradOutput, let gradInput, let gradWeight else { return }
    let dy = try NPY.read(contentsOf: gradOutput)
    let gradients = try convolution.backward(gradOutput: dy, input: x, weight: w)
    try NPY.write(gradients.input, to: gradInput)
    try NPY.write(gradients.weight, to: gradWeight)
    var written = [gradInput, gradWeight]
    if let gradBias, let db = gradients.bias {
      try NPY.write(db, to: gradBias)
      written.append(gradBias)
    }
    print("gradients written to \(written.joined(separator: ", "))")
  }

  static func milliseconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    let ms = Double(seconds) * 1e3 + Double(attoseconds) * 1e-15
    return ms < 10 ? "\((ms * 100).rounded() / 100) ms" : "\(ms.rounded()) ms"
  }

  /// The options as the library takes them; throws for a list that does not parse.
  func options() throws -> ConvolutionOptions {
    let paddingValue: Padding =
      switch padding {
      case "same": .same
      case "valid": .valid
      default: .explicit(try Self.integers(padding, "--padding"))
      }
    return ConvolutionOptions(
      stride: PerDimension(try Self.integers(stride, "--stride")),
      padding: paddingValue,
      dilation: PerDimension(try Self.integers(dilation, "--dilation")),
      groups: groups,
      paddingMode: try PaddingMode(named: paddingMode),
      transposed: transposed,
      outputPadding: PerDimension(try Self.integers(outputPadding, "--output-padding")))
  }

  /// Comma-separated integers, such as `2` or `1,2,1`.
  static func integers(_ text: String, _ option: String) throws -> [Int] {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    let values = parts.map { Int($0.filter { !$0.isWhitespace }) }
    guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else {
      throw ValidationError(
        "\(option) '\(text)' is not a list of integers: expected N or N,N,... (e.g. 1 or 2,1)")
    }
    return values.compactMap { $0 }
  }
}
