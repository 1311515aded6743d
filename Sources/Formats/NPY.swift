#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif
#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import Tensors

/// NumPy's `.npy` file format: one array, a small text header, then the raw elements.
///
/// Reading accepts format versions 1.0, 2.0 and 3.0; little- and big-endian float16,
/// float32 and float64 (`'<f2'`, `'>f4'`, `'<f8'`, ...), converted to float32; C or
/// Fortran order, the latter transposed into the tensor's row-major order. Everything is
/// checked before the tensor's storage is allocated, so a header that claims more data
/// than the file holds throws rather than allocating or trapping.
///
/// Writing produces exactly the bytes `numpy.save` produces for a float32 C-order array.
///
/// ```swift
/// let x = try Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5])
/// try NPY.write(x, to: "x.npy")       // np.load("x.npy") is np.arange(6.0).reshape(2, 3)
/// let y = try NPY.read(contentsOf: "x.npy")
/// ```
public enum NPY {
  /// The six bytes every `.npy` file starts with.
  static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

  /// numpy pads the preamble to a multiple of this, so the data can be memory-mapped.
  static let alignment = 64

  /// numpy leaves room for the first dimension to grow to this many digits in place.
  static let growthAxisMaximumDigits = 21

  /// The tensor stored in the bytes of an `.npy` file.
  ///
  /// - Parameters:
  ///   - bytes: the whole file.
  ///   - source: the name messages use for the bytes, usually the file's path.
  /// - Throws: `FormatError` when the magic, version, header, dtype or shape is not
  ///   one `NPY` reads, or when the data after the header is not exactly the size the
  ///   header declares (too short and too long are both errors). Never traps on bad input.
  public static func decode(
    _ bytes: [UInt8], source: String = "<memory>"
  ) throws(FormatError) -> Tensor {
    let header = try NPYHeader(parsing: bytes, source: source)
    let stored = header.dtype.floats(in: bytes, at: header.dataOffset, count: header.count)
    let scalars = header.fortranOrder
      ? rowMajor(fromColumnMajor: stored, shape: header.shape) : stored
    return Tensor(validShape: header.shape, scalars: scalars)
  }

  /// The bytes of an `.npy` file holding `tensor`, exactly as `numpy.save` writes the same
  /// float32 array.
  ///
  /// Format version 1.0 with header `{'descr': '<f4', 'fortran_order': False, 'shape': ...}`,
  /// followed by numpy's growth padding, then spaces and a newline so that the data starts at
  /// a multiple of 64 bytes; version 2.0 (a 4-byte header length) only when the header would
  /// not fit in version 1.0's 65535 bytes. The elements follow, little-endian. Never throws.
  public static func encode(_ tensor: Tensor) -> [UInt8] {
    var bytes = preamble(shape: tensor.shape)
    bytes.appendLittleEndian(tensor.scalars)
    return bytes
  }

  /// The bytes of an `.npy` file before its float32 elements: magic, version, header length
  /// and the padded header.
  static func preamble(shape: [Int]) -> [UInt8] {
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(pythonTuple(shape)), }"
    if let first = shape.first {
      let digits = String(first).count
      header += String(repeating: " ", count: max(0, growthAxisMaximumDigits - digits))
    }
    // The text, then 1...64 spaces and a newline, as numpy's `_wrap_header` pads.
    let textLength = header.utf8.count + 1
    var lengthSize = 2
    var padding = alignment - (magic.count + 2 + lengthSize + textLength) % alignment
    if textLength + padding > Int(UInt16.max) {
      lengthSize = 4
      padding = alignment - (magic.count + 2 + lengthSize + textLength) % alignment
    }
    let headerLength = textLength + padding

    var bytes = magic + [lengthSize == 2 ? 1 : 2, 0]
    for index in 0..<lengthSize {
      bytes.append(UInt8(truncatingIfNeeded: headerLength >> (8 * index)))
    }
    bytes += header.utf8
    bytes += repeatElement(UInt8(ascii: " "), count: padding)
    bytes.append(UInt8(ascii: "\n"))
    return bytes
  }

  /// The tensor stored in the `.npy` file at `path`.
  ///
  /// - Throws: `FormatError.unreadable` when the file cannot be read (missing, a directory,
  ///   no permission), `tooLargeForMemory` when reading and decoding it would take more
  ///   memory than the process can allocate, and every error of `decode(_:source:)`, naming
  ///   `path`.
  public static func read(contentsOf path: String) throws(FormatError) -> Tensor {
    // The file's bytes, a copy of them, and floats that take at most twice their room (from
    // float16): refused up front when they cannot fit.
    var status = stat()
    if stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
      let (needed, available) = MemoryBudget.shortfall(Int(status.st_size), times: 4)
    {
      throw .tooLargeForMemory(
        source: path, bytes: Int(status.st_size), needed: needed, available: available)
    }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw .unreadable(path: path, reason: systemReason(error))
    }
    return try decode([UInt8](data), source: path)
  }

  /// Writes `tensor` to `path` as an `.npy` file with the bytes of `encode(_:)`, replacing
  /// any file there. A regular file (new, or one a symbolic link at `path` leads to) is
  /// written beside its target and renamed into place, so a failed write leaves no partial
  /// file; anything else already there (a device such as /dev/stdout, a pipe) is written to
  /// directly. The elements go from the tensor's storage to the file: writing needs no copy
  /// of them.
  ///
  /// - Throws: `FormatError.unwritable` when the file cannot be written: its directory does
  ///   not exist, `path` is a directory, permission is denied, or the disk is full.
  public static func write(_ tensor: Tensor, to path: String) throws(FormatError) {
    func failure(_ code: Int32) -> FormatError {
      .unwritable(path: path, reason: String(cString: strerror(code)))
    }
    // Where the bytes go: through symbolic links, to what is there.
    var target = path
    var status = stat()
    if stat(path, &status) == 0 {
      if (status.st_mode & S_IFMT) == S_IFDIR { throw failure(EISDIR) }
      if (status.st_mode & S_IFMT) != S_IFREG {
        let file = open(path, O_WRONLY)
        guard file >= 0 else { throw failure(errno) }
        var code = writeElements(of: tensor, to: file)
        if close(file) != 0, code == 0 { code = errno }
        if code != 0 { throw failure(code) }
        return
      }
      if let resolved = realpath(path, nil) {
        target = String(cString: resolved)
        free(resolved)
      }
    }
    let slash = target.lastIndex(of: "/")
    let directory = slash.map { String(target[...$0]) } ?? ""
    let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
    let temporary = "\(directory).\(name).\(getpid()).partial"
    let file = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
    guard file >= 0 else { throw failure(errno) }
    var code = writeElements(of: tensor, to: file)
    if close(file) != 0, code == 0 { code = errno }
    if code == 0, rename(temporary, target) != 0 { code = errno }
    if code != 0 {
      unlink(temporary)
      throw failure(code)
    }
  }

  /// Writes the header and the elements of `tensor` to the open file `file`; 0, or the
  /// error number of the write that failed.
  private static func writeElements(of tensor: Tensor, to file: Int32) -> Int32 {
    var code = preamble(shape: tensor.shape).withUnsafeBytes { writeAll($0, to: file) }
    if code == 0 {
      #if _endian(little)
        code = tensor.scalars.withUnsafeBytes { writeAll($0, to: file) }
      #else
        var elements: [UInt8] = []
        elements.appendLittleEndian(tensor.scalars)
        code = elements.withUnsafeBytes { writeAll($0, to: file) }
      #endif
    }
    return code
  }

  /// The operating system's words for a failed file operation: "No such file or directory".
  private static func systemReason(_ error: any Error) -> String {
    let posix = (error as? CocoaError)?.underlying as? POSIXError ?? error as? POSIXError
    guard let code = posix?.code.rawValue else { return "\(error)" }
    return String(cString: strerror(code))
  }
}

/// Writes all of `bytes` to the open file `file`; returns 0, or the errno of the failure.
private func writeAll(_ bytes: UnsafeRawBufferPointer, to file: Int32) -> Int32 {
  var rest = bytes
  while !rest.isEmpty {
    let written = write(file, rest.baseAddress!, rest.count)
    if written < 0 {
      if errno == EINTR { continue }
      return errno
    }
    rest = UnsafeRawBufferPointer(rebasing: rest[written...])
  }
  return 0
}
