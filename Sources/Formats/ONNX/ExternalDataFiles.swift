import Foundation

/// The external data files of one model being decoded: tensors whose `data_location` is
/// EXTERNAL keep their bytes in a file beside the model, named by `external_data`'s
/// `location` (relative to the model's directory), from byte `offset` (default 0) for
/// `length` bytes (default: to the end of the file).
///
/// Every file is opened once and read one tensor at a time, after the range has been
/// checked against the file's size and the tensor's byte size, so a wrong or hostile
/// `length` never drives an allocation. A location must stay inside the model's directory:
/// absolute paths, `..` components, and symbolic links that resolve outside are refused.
final class ExternalDataFiles {
  /// The directory external locations are relative to; nil when decoding bytes on their own.
  let directory: String?
  /// The directory with symbolic links resolved, to check where locations lead.
  private lazy var resolvedDirectory = URL(fileURLWithPath: directory ?? ".")
    .resolvingSymlinksInPath().path
  /// Each location's open file and its size.
  private var files: [String: (handle: FileHandle, size: Int)] = [:]

  init(directory: String?) {
    self.directory = directory
  }

  deinit {
    for (handle, _) in files.values { try? handle.close() }
  }

  /// The `byteCount` bytes of the tensor described by `entries`, and where they came from.
  /// The bytes are read straight into a `Data`, which the caller converts without copying.
  ///
  /// - Throws: `externalDataKeyMissing` without a location, `badExternalDataValue` for an
  ///   offset or length that is not a non-negative integer, `externalDataWithoutDirectory`,
  ///   `externalDataEscapesDirectory`, `externalDataUnreadable` for a missing or unreadable
  ///   file, `externalDataOutOfRange` for a range past the end of the file, and
  ///   `dataSizeMismatch` when the range's length is not `byteCount`, and
  ///   `externalDataTooLargeForMemory` when reading and decoding it would not fit in memory.
  func read(
    _ entries: [(key: String, value: String)], byteCount: Int, for tensor: TensorContext,
    shape: [Int], dataType: ONNXDataType
  ) throws(ONNXError) -> (bytes: Data, storage: ONNXTensorStorage) {
    let (source, path, offset, name) = (tensor.source, tensor.path, tensor.offset, tensor.name)
    // Later entries win, as they would for a protobuf map.
    func value(_ key: String) -> String? { entries.last { $0.key == key }?.value }
    func integer(_ key: String) throws(ONNXError) -> Int? {
      guard let text = value(key) else { return nil }
      guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
        let number = Int(text)
      else {
        throw .badExternalDataValue(
          source: source, path: path, offset: offset, tensor: name, key: key, value: text)
      }
      return number
    }
    guard let location = value("location") else {
      throw .externalDataKeyMissing(
        source: source, path: path, offset: offset, tensor: name, key: "location")
    }
    let start = try integer("offset") ?? 0
    let length = try integer("length")
    let storage = ONNXTensorStorage.external(location: location, offset: start, length: length)
    guard let directory else {
      throw .externalDataWithoutDirectory(
        source: source, path: path, offset: offset, tensor: name, location: location)
    }
    let components = location.split(separator: "/", omittingEmptySubsequences: false)
    guard !location.isEmpty, !location.hasPrefix("/"), !components.contains(".."),
      !location.utf8.contains(0)
    else {
      throw .externalDataEscapesDirectory(
        source: source, path: path, offset: offset, tensor: name, location: location)
    }
    let url = URL(fileURLWithPath: directory).appendingPathComponent(location)
    let file = url.path

    if files[location] == nil {
      // Resolved through symbolic links, the file must still be inside the directory.
      let resolved = url.resolvingSymlinksInPath().path
      guard resolved.hasPrefix(resolvedDirectory + "/") || resolvedDirectory == "/" else {
        throw .externalDataEscapesDirectory(
          source: source, path: path, offset: offset, tensor: name, location: location)
      }
      do {
        files[location] = try openRegularFile(url)
      } catch {
        throw .externalDataUnreadable(
          source: source, path: path, offset: offset, tensor: name, file: file,
          reason: error.reason)
      }
    }
    let (handle, size) = files[location]!

    guard start <= size, length.map({ $0 <= size - start }) ?? true else {
      throw .externalDataOutOfRange(
        source: source, path: path, offset: offset, tensor: name, file: file, start: start,
        length: length, fileSize: size)
    }
    let available = length ?? size - start
    guard available == byteCount else {
      throw .dataSizeMismatch(
        source: source, path: path, offset: offset, tensor: name, shape: shape,
        dataType: dataType, storage: storage, expected: byteCount, found: available)
    }
    guard byteCount > 0 else { return (Data(), storage) }
    // The bytes, and floats that take at most twice their room (from 16-bit values).
    if let (needed, budget) = MemoryBudget.shortfall(byteCount, times: 3) {
      throw .externalDataTooLargeForMemory(
        source: source, path: path, offset: offset, tensor: name, file: file, bytes: byteCount,
        needed: needed, available: budget)
    }
    let data: Data?
    do {
      try handle.seek(toOffset: UInt64(start))
      data = try handle.read(upToCount: byteCount)
    } catch {
      throw .externalDataUnreadable(
        source: source, path: path, offset: offset, tensor: name, file: file,
        reason: systemReason(error))
    }
    // The file may have shrunk since its size was taken.
    guard let data, data.count == byteCount else {
      throw .externalDataOutOfRange(
        source: source, path: path, offset: offset, tensor: name, file: file, start: start,
        length: byteCount, fileSize: start + (data?.count ?? 0))
    }
    return (data, storage)
  }
}

/// Why a file cannot be read: the operating system's words, or "not a regular file".
struct UnreadableFile: Error {
  var reason: String
}

/// The regular file at `url` (through symbolic links), open for reading, and its size.
///
/// Directories, devices and pipes are refused before they are opened: their sizes are
/// meaningless (`lseek` gives a directory a size near `Int64.max` on ext4, which must not
/// size an allocation), and opening a pipe would wait for a writer.
func openRegularFile(_ url: URL) throws(UnreadableFile) -> (handle: FileHandle, size: Int) {
  let attributes: [FileAttributeKey: Any]
  do {
    attributes = try FileManager.default.attributesOfItem(
      atPath: url.resolvingSymlinksInPath().path)
  } catch {
    throw UnreadableFile(reason: systemReason(error))
  }
  switch attributes[.type] as? FileAttributeType {
  case .typeRegular?: break
  case .typeDirectory?: throw UnreadableFile(reason: String(cString: strerror(EISDIR)))
  default: throw UnreadableFile(reason: "not a regular file")
  }
  do {
    let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
    return (try FileHandle(forReadingFrom: url), Int(clamping: max(0, size)))
  } catch {
    throw UnreadableFile(reason: systemReason(error))
  }
}

/// The operating system's words for a failed file operation: "No such file or directory".
///
/// Foundation wraps the `errno` differently by API: a `POSIXError`, a `CocoaError` whose
/// underlying error is one, or an `NSError` in the POSIX domain (`FileHandle` on Linux).
func systemReason(_ error: any Error) -> String {
  if let posix = error as? POSIXError ?? (error as? CocoaError)?.underlying as? POSIXError {
    return String(cString: strerror(posix.code.rawValue))
  }
  let nsError = error as NSError
  let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError
  for candidate in [nsError, underlying] {
    if let candidate, candidate.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(candidate.code)))
    }
  }
  return "\(error)"
}
