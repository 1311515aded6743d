// swift-tools-version: 6.2
import PackageDescription

let package = Package(
  name: "GroupConv",
  products: [
    .library(name: "GroupConv", targets: ["GroupConv"]),
    .executable(name: "groupconv", targets: ["GroupConvTool"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
  ],
  targets: [
    // Tensor, shapes, convolution geometry and their errors; standard library only.
    .target(name: "Tensors"),
    // SIMD microkernels in C, compiled for AVX-512 and for the baseline, chosen at run time.
    .target(name: "CKernels"),
    // Package-internal loops: the reference kernels (the test oracle) and, later, fast ones.
    .target(
      name: "Kernels",
      dependencies: ["Tensors", "CKernels"],
      swiftSettings: [.strictMemorySafety()]
    ),
    // File formats (NumPy .npy, ONNX models); the only library target that touches files.
    .target(name: "Formats", dependencies: ["Tensors"]),
    // The public API: functional convolutions, their gradients, and PyTorch-style layers.
    .target(name: "GroupConv", dependencies: ["Tensors", "Kernels", "Formats"]),
    // The `groupconv` command-line tool: parsing and printing, nothing else.
    .executableTarget(
      name: "GroupConvTool",
      dependencies: [
        "GroupConv",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    // What the test targets share: float comparisons with named tolerances, kernel settings.
    .target(name: "TestSupport", dependencies: ["Tensors", "Kernels"], path: "Tests/TestSupport"),
    .testTarget(name: "TensorsTests", dependencies: ["Tensors"]),
    .testTarget(name: "FormatsTests", dependencies: ["Formats"], exclude: ["Fixtures"]),
    .testTarget(
      name: "GroupConvTests", dependencies: ["GroupConv", "Kernels", "TestSupport"], exclude: ["Fixtures"]),
    .testTarget(
      name: "InferenceTests", dependencies: ["GroupConv", "Kernels", "TestSupport"], exclude: ["Fixtures"]),
    .testTarget(
      name: "GroupConvToolTests", dependencies: ["GroupConvTool", "GroupConv", "TestSupport"],
      exclude: ["Snapshots"]),
  ],
  swiftLanguageModes: [.v6]
)
