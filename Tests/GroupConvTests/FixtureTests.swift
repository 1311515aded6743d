import Foundation
import GroupConv
import TestSupport
import Testing

/// One case of Fixtures/manifest.json: a PyTorch call and, unless PyTorch refused it, its
/// output and gradients (made by Fixtures/make_fixtures.py).
struct FixtureCase: Decodable, Sendable, CustomTestStringConvertible {
  let name: String
  let call: String
  let transposed: Bool
  let stride: [Int]
  let dilation: [Int]
  let groups: Int
  let padding: Padding
  let paddingMode: String
  let outputPadding: [Int]
  let bias: Bool
  let refused: Bool
  let error: String?

  enum CodingKeys: String, CodingKey {
    case name, call, transposed, stride, dilation, groups, padding, bias, refused, error
    case paddingMode = "padding_mode"
    case outputPadding = "output_padding"
  }

  init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    name = try c.decode(String.self, forKey: .name)
    call = try c.decode(String.self, forKey: .call)
    transposed = try c.decode(Bool.self, forKey: .transposed)
    stride = try c.decode([Int].self, forKey: .stride)
    dilation = try c.decode([Int].self, forKey: .dilation)
    groups = try c.decode(Int.self, forKey: .groups)
    paddingMode = try c.decode(String.self, forKey: .paddingMode)
    outputPadding = try c.decode([Int].self, forKey: .outputPadding)
    bias = try c.decode(Bool.self, forKey: .bias)
    refused = try c.decode(Bool.self, forKey: .refused)
    error = try c.decodeIfPresent(String.self, forKey: .error)
    if let named = try? c.decode(String.self, forKey: .padding) {
      switch named {
      case "same": padding = .same
      case "valid": padding = .valid
      default:
        throw DecodingError.dataCorruptedError(
          forKey: .padding, in: c, debugDescription: "unknown padding '\(named)'")
      }
    } else {
      padding = .explicit(try c.decode([Int].self, forKey: .padding))
    }
  }

  var testDescription: String { name }

  /// The options as the library takes them; throws for an unknown padding mode.
  func options() throws -> ConvolutionOptions {
    ConvolutionOptions(
      stride: PerDimension(stride), padding: padding, dilation: PerDimension(dilation),
      groups: groups, paddingMode: try PaddingMode(named: paddingMode), transposed: transposed,
      outputPadding: PerDimension(outputPadding))
  }

  /// The folder holding this case's .npy files.
  var directory: URL { fixturesDirectory.appendingPathComponent(name) }

  /// The tensor stored as `file`.npy in this case's folder.
  func tensor(_ file: String) throws -> Tensor {
    try NPY.read(contentsOf: directory.appendingPathComponent(file + ".npy").path)
  }

  static let all: [FixtureCase] = {
    struct Manifest: Decodable { let cases: [FixtureCase] }
    let url = fixturesDirectory.appendingPathComponent("manifest.json")
    guard let data = try? Data(contentsOf: url),
      let manifest = try? JSONDecoder().decode(Manifest.self, from: data)
    else { return [] }
    return manifest.cases
  }()
  static let accepted = all.filter { !$0.refused }
  static let refusedByPyTorch = all.filter(\.refused)
}

@Suite struct FixtureTests {
  @Test func manifestHasCasesOfEveryKind() {
    let cases = FixtureCase.all
    #expect(cases.count > 100)
    #expect(cases.contains { $0.transposed } && cases.contains { !$0.transposed })
    #expect(Set(cases.map(\.paddingMode)) == ["zeros", "reflect", "replicate", "circular"])
    #expect(Set(cases.map(\.stride.count)) == [1, 2, 3])
    #expect(cases.contains { $0.refused })
  }

  @Test(arguments: FixtureCase.accepted)
  func forwardAndGradientsMatchPyTorch(_ c: FixtureCase) throws {
    let x = try c.tensor("x")
    let w = try c.tensor("w")
    let b = c.bias ? try c.tensor("b") : nil
    let convolution = try Convolution(
      inputShape: x.shape, weightShape: w.shape, biasShape: b?.shape, options: c.options())
    let y = try convolution.forward(x, weight: w, bias: b)
    expectClose(y, try c.tensor("y"), .float32, "\(c.name) output of \(c.call)")

    let gradients = try convolution.backward(
      gradOutput: try c.tensor("dy"), input: x, weight: w)
    expectClose(gradients.input, try c.tensor("dx"), .float32, "\(c.name) grad input")
    expectClose(gradients.weight, try c.tensor("dw"), .float32, "\(c.name) grad weight")
    if c.bias {
      let db = try #require(gradients.bias, "\(c.name): no bias gradient")
      expectClose(db, try c.tensor("db"), .float32, "\(c.name) grad bias")
    } else {
      #expect(gradients.bias == nil)
    }
  }
}
