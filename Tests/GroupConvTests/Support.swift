import Foundation
import GroupConv
import TestSupport
import Testing

/// The folder of the PyTorch fixtures (made by Fixtures/make_fixtures.py).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
  .appendingPathComponent("Fixtures")

/// The suites that change process-wide kernel settings (`Threads.count`, the instruction set)
/// are nested here, so that they run one at a time instead of changing the settings under
/// each other.
@Suite(.serialized) enum KernelSettingsSuites {}
