import Foundation
import Formats
import Testing

/// A JSON value as `make_onnx_fixtures.py` writes it in `onnx/expected.json`.
enum JSONValue: Decodable, Equatable {
  case null
  case bool(Bool)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])

  init(from decoder: any Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  subscript(key: String) -> JSONValue {
    guard case let .object(members) = self else { return .null }
    return members[key] ?? .null
  }

  var array: [JSONValue] {
    guard case let .array(elements) = self else { return [] }
    return elements
  }

  var string: String? {
    guard case let .string(text) = self else { return nil }
    return text
  }

  var double: Double? {
    guard case let .number(value) = self else { return nil }
    return value
  }

  var int: Int? { double.map { Int($0) } }

  var ints: [Int] { array.compactMap(\.int) }
}

/// What the `onnx` package read back from every fixture, keyed by the fixture's path
/// relative to `Fixtures/onnx`.
func expectedModels() throws -> [String: JSONValue] {
  let data = try Data(contentsOf: URL(fileURLWithPath: onnxFixturePath("expected.json")))
  guard case let .object(models) = try JSONDecoder().decode(JSONValue.self, from: data) else {
    Issue.record("expected.json is not an object")
    return [:]
  }
  return models
}

// MARK: - Comparing

/// Checks every field of `model` against what the `onnx` package read from the same file.
func expectModel(_ model: ONNXModel, matches expected: JSONValue, _ name: String) {
  #expect(model.irVersion == expected["ir_version"].int, "\(name)")
  #expect(
    model.opsetImports.map { [$0.domain, "\($0.version)"] }
      == expected["opset_import"].array.map { pair in
        [pair.array[0].string ?? "?", "\(pair.array[1].int ?? -1)"]
      }, "\(name)")
  #expect(model.producerName == expected["producer_name"].string, "\(name)")
  #expect(model.producerVersion == expected["producer_version"].string, "\(name)")
  #expect(model.domain == expected["domain"].string, "\(name)")
  #expect(model.modelVersion == expected["model_version"].int, "\(name)")
  expectGraph(model.graph, matches: expected["graph"], "\(name): graph")
}

func expectGraph(_ graph: ONNXGraph, matches expected: JSONValue, _ context: String) {
  #expect(graph.name == expected["name"].string, "\(context)")
  let nodes = expected["nodes"].array
  #expect(graph.nodes.count == nodes.count, "\(context)")
  for (index, (node, want)) in zip(graph.nodes, nodes).enumerated() {
    let where_ = "\(context).node[\(index)]"
    #expect(node.name == want["name"].string, "\(where_)")
    #expect(node.opType == want["op_type"].string, "\(where_)")
    #expect(node.domain == want["domain"].string, "\(where_)")
    #expect(node.inputs == want["inputs"].array.compactMap(\.string), "\(where_)")
    #expect(node.outputs == want["outputs"].array.compactMap(\.string), "\(where_)")
    let attributes = want["attributes"].array
    #expect(node.attributes.count == attributes.count, "\(where_)")
    for (attribute, wanted) in zip(node.attributes, attributes) {
      expectAttribute(attribute, matches: wanted, "\(where_).\(attribute.name)")
    }
  }
  let initializers = expected["initializers"].array
  #expect(graph.initializers.count == initializers.count, "\(context)")
  for (index, (tensor, want)) in zip(graph.initializers, initializers).enumerated() {
    expectTensor(tensor, matches: want, "\(context).initializer[\(index)]")
  }
  for (kind, infos, wanted) in [
    ("input", graph.inputs, expected["inputs"]), ("output", graph.outputs, expected["outputs"]),
    ("value_info", graph.valueInfo, expected["value_info"]),
  ] {
    #expect(infos.count == wanted.array.count, "\(context).\(kind)")
    for (info, want) in zip(infos, wanted.array) {
      expectValueInfo(info, matches: want, "\(context).\(kind) \(info.name)")
    }
  }
}

func expectAttribute(_ attribute: ONNXAttribute, matches expected: JSONValue, _ context: String) {
  #expect(attribute.name == expected["name"].string, "\(context)")
  #expect(attribute.value.type.name == expected["type"].string, "\(context)")
  let value = expected["value"]
  switch attribute.value {
  case let .float(f): #expect(Double(f) == value.double, "\(context)")
  case let .int(i): #expect(i == value.int, "\(context)")
  case let .string(s): #expect(s == value.string, "\(context)")
  case let .floats(floats):
    #expect(floats.map(Double.init) == value.array.compactMap(\.double), "\(context)")
  case let .ints(ints): #expect(ints == value.ints, "\(context)")
  case let .strings(strings): #expect(strings == value.array.compactMap(\.string), "\(context)")
  case let .tensor(tensor): expectTensor(tensor, matches: value, "\(context)")
  case let .graph(graph): expectGraph(graph, matches: value, "\(context)")
  default: Issue.record("\(context): unexpected attribute \(attribute)")
  }
}

func expectTensor(_ tensor: ONNXTensor, matches expected: JSONValue, _ context: String) {
  #expect(tensor.name == expected["name"].string, "\(context)")
  #expect(Int(tensor.dataType.rawValue) == expected["data_type"].int, "\(context)")
  #expect(tensor.shape == expected["dims"].ints, "\(context)")
  let storage = expected["storage"]
  switch tensor.storage {
  case .rawData: #expect(storage.string == "raw_data", "\(context)")
  case .floatData: #expect(storage.string == "float_data", "\(context)")
  case .int32Data: #expect(storage.string == "int32_data", "\(context)")
  case .int64Data: #expect(storage.string == "int64_data", "\(context)")
  case .doubleData: #expect(storage.string == "double_data", "\(context)")
  case .absent: #expect(storage.string == "absent", "\(context)")
  case let .external(location, offset, length):
    #expect(location == storage["external"].string, "\(context)")
    #expect(offset == storage["offset"].int, "\(context)")
    #expect(length == storage["length"].int, "\(context)")
  }
  let values = expected["values"].array
  switch tensor.value {
  case let .float(_, floats):
    #expect(expected["kind"].string == "float", "\(context)")
    // Bit for bit: the JSON holds each float32 exactly, and -0.0 as itself.
    #expect(
      floats.map(\.bitPattern) == values.compactMap { $0.double.map { Float($0).bitPattern } },
      "\(context)")
  case let .int64(_, ints):
    #expect(expected["kind"].string == "int64", "\(context)")
    #expect(ints.map(Int.init) == values.compactMap(\.int), "\(context)")
  case let .int32(_, ints):
    #expect(expected["kind"].string == "int32", "\(context)")
    #expect(ints.map(Int.init) == values.compactMap(\.int), "\(context)")
  case let .bool(_, flags):
    #expect(expected["kind"].string == "bool", "\(context)")
    #expect(flags.map { $0 ? JSONValue.bool(true) : .bool(false) } == values, "\(context)")
  }
}

func expectValueInfo(_ info: ONNXValueInfo, matches expected: JSONValue, _ context: String) {
  #expect(info.name == expected["name"].string, "\(context)")
  guard case let .tensor(elementType, shape) = info.type else {
    Issue.record("\(context): not a tensor type: \(String(describing: info.type))")
    return
  }
  #expect(Int(elementType.rawValue) == expected["elem_type"].int, "\(context)")
  let dims: [ONNXDimension]? =
    expected["shape"] == .null
    ? nil
    : expected["shape"].array.map { entry in
      switch entry {
      case let .number(size): .value(Int(size))
      case let .string(name): .parameter(name)
      default: .unknown
      }
    }
  #expect(shape == dims, "\(context)")
}
