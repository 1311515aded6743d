import Foundation

/// ONNX model files: the protobuf wire format of `onnx.proto`, decoded into `ONNXModel`.
///
/// The reader decodes the subset an inference engine needs — the model's versions and
/// operator sets, the graph's nodes with their attributes, initializers, inputs, outputs
/// and value types — and skips every other field. Initializers are converted to float32,
/// int64, int32 or bool values (`ONNXTensorValue`) whatever their storage: `raw_data`, a
/// typed field such as `float_data`, or an external data file beside the model.
///
/// Everything read from the file is checked before it is used, so a truncated, corrupt or
/// hostile file throws an `ONNXError` naming the file, the byte offset, the message path
/// (`ModelProto.graph.node[3].attribute[1]`) and what was expected; it never traps and
/// never allocates more than the input's size from a length it has not checked.
///
/// ```swift
/// let model = try ONNX.load(contentsOf: "model.onnx")
/// for node in model.graph.nodes where node.opType == "Conv" {
///   print(node.name, node.attribute("group") ?? .int(1))
/// }
/// ```
public enum ONNX {
  /// The model in the ONNX file at `path`, with external data read from files in the
  /// same directory.
  ///
  /// - Throws: `ONNXError.unreadable` when the file cannot be read, and every error of
  ///   `decode(_:source:directory:)`, naming `path`.
  public static func load(contentsOf path: String) throws(ONNXError) -> ONNXModel {
    let url = URL(fileURLWithPath: path)
    let bytes: [UInt8]
    do {
      bytes = try contents(of: url)
    } catch {
      throw .unreadable(path: path, reason: error.reason)
    }
    return try decode(bytes, source: path, directory: url.deletingLastPathComponent().path)
  }

  /// The bytes of the regular file at `url`, read in chunks straight into one array: a
  /// quarter faster on a 100 MB model than `[UInt8](Data(contentsOf:))`, which copies twice.
  private static func contents(of url: URL) throws(UnreadableFile) -> [UInt8] {
    let (handle, size) = try openRegularFile(url)
    defer { try? handle.close() }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(size)
    do {
      while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty {
        bytes.append(contentsOf: chunk)
      }
    } catch {
      throw UnreadableFile(reason: systemReason(error))
    }
    return bytes
  }

  /// The model in the bytes of an ONNX file.
  ///
  /// - Parameters:
  ///   - bytes: the whole file.
  ///   - source: the name messages use for the bytes, usually the file's path.
  ///   - directory: where external data files are, usually the model's directory; nil
  ///     when the bytes have no directory, in which case a tensor with external data throws.
  /// - Throws: `ONNXError`: wire-format errors (truncated file, bad varint, invalid tag,
  ///   wire type mismatch, length beyond the end of a message, nesting too deep); a missing
  ///   graph or operator set import; unsupported fields and attribute types; tensor errors
  ///   (unsupported data type, negative dimension, size overflow, data in the wrong or
  ///   several fields, data size mismatch); and external-data errors (no directory, missing
  ///   location, a location escaping the directory, a missing or unreadable file, a range
  ///   beyond the end of the file). Never traps on bad input.
  public static func decode(
    _ bytes: [UInt8], source: String = "<memory>", directory: String? = nil
  ) throws(ONNXError) -> ONNXModel {
    let reader = ProtobufReader(bytes, source: source, message: "ModelProto")
    return try ONNXModel(decoding: reader, external: ExternalDataFiles(directory: directory))
  }

  // MARK: - Tensor files

  /// The tensor in a file holding one serialized `TensorProto`, such as the inputs and
  /// outputs of ONNX's conformance data (`test_data_set_0/input_0.pb`).
  ///
  /// - Throws: `ONNXError.unreadable` when the file cannot be read, and every error of
  ///   `decodeTensor(_:source:directory:)`, naming `path`.
  public static func loadTensor(contentsOf path: String) throws(ONNXError) -> ONNXTensor {
    let url = URL(fileURLWithPath: path)
    let bytes: [UInt8]
    do {
      bytes = try contents(of: url)
    } catch {
      throw .unreadable(path: path, reason: error.reason)
    }
    return try decodeTensor(bytes, source: path, directory: url.deletingLastPathComponent().path)
  }

  /// The tensor in the bytes of one serialized `TensorProto`, checked and converted as an
  /// initializer is; messages name its path from `TensorProto`.
  ///
  /// - Throws: the wire-format, tensor and external-data errors of `decode(_:source:directory:)`.
  public static func decodeTensor(
    _ bytes: [UInt8], source: String = "<memory>", directory: String? = nil
  ) throws(ONNXError) -> ONNXTensor {
    let reader = ProtobufReader(bytes, source: source, message: "TensorProto")
    return try ONNXTensor(decoding: reader, external: ExternalDataFiles(directory: directory))
  }
}
