import CFactoryABI
@testable import FactoryEngine
@testable import FactoryHost
import Synchronization
import XCTest

/// The host table's `linears` (ABI 1.11): several linears of one input in one call. Decoding a quantized
/// base, the packed weights' products run as one job whose thread ranges cut across the weights, and the
/// outputs equal `linear`'s bit for bit; a replaced linear hook (a fine-tuning method, an adapter) is
/// still what every name goes through; a failing name leaves every output NULL and is named.
final class LinearsABITests: XCTestCase {
    /// Three packed q8_0 weights of 1024 inputs (20, 44 and 12 rows; b with a bias) in a fresh context,
    /// the rows each product was asked for recorded per weight.
    final class Setup: Sendable {
        let context: ExecutionContext
        let calls = Mutex<[String: [Range<Int>]]>([:])
        init(context: ExecutionContext) { self.context = context }
    }

    func makeSetup() throws -> Setup {
        let plugins = try PluginSet.load(explicit: [], includeDefaults: true, includeEnvironment: false)
        let q = try QuantizerInstance(try plugins.registry(.quantizer).lookup("q8_0"))
        let context = ExecutionContext(), setup = Setup(context: context)
        var rng = SplitMix64(seed: 5)
        let cols = 1024
        for (name, rows) in [("a", 20), ("b", 44), ("c", 12)] {
            let packed = try q.quantize((0..<(rows * cols)).map { _ in Float(rng.nextUnit() * 2 - 1) }, rows: rows, cols: cols)
            let prepared = try XCTUnwrap(packed.withUnsafeBytes { try q.prepareRowsInt8($0, rows: rows, cols: cols) })
            context.parameters.packed[name + ".weight"] = PackedWeight(rows: rows, cols: cols, bytes: packed.count, unpack: { _, _, _ in
                throw HookError("not unpacked in this test")
            }, prepareInt8: {
                { x, n, first, count, out, stride in
                    setup.calls.withLock { $0[name, default: []].append(first..<(first + count)) }
                    try prepared.multiply(x: x, n: n, firstRow: first, rowCount: count, out: out, outStride: stride)
                }
            })
        }
        context.parameters["b.bias"] = Tensor(shape: [44], values: (0..<44).map { Float($0) / 8 })
        return setup
    }

    /// linears through the C table: the outputs' values, or the status and message with the outputs' NULLs.
    func callLinears(_ names: [String?], _ x: Tensor) -> (status: factory_status_t, outputs: [[Float]?], message: String?) {
        let api = HostServices.table.pointee
        var out = [OpaquePointer?](repeating: OpaquePointer(bitPattern: 1), count: names.count)
        let cNames = names.map { $0.map { strdup($0) } ?? nil }
        defer { cNames.forEach { free($0) } }
        let handle = TensorHandles.scoped(x)
        let (status, slot) = ErrorSlot.capture { err in
            cNames.map { $0.map { UnsafePointer($0) } }.withUnsafeBufferPointer { n in
                api.linears!(n.baseAddress, Int32(names.count), handle, &out, err)
            }
        }
        let outputs = out.map { p in p.map { try? TensorHandles.tensor($0).values } ?? nil }
        return (status, outputs, slot.message)
    }

    func testOneCallEqualsOneLinearEachAndRunsAsOneSplitJob() throws {
        let saved = Threads.count
        defer { Threads.set(saved) }
        Threads.set(2)
        let setup = try makeSetup()
        var rng = SplitMix64(seed: 9)
        let x = Tensor(shape: [1, 1, 1024], values: (0..<1024).map { _ in Float(rng.nextUnit() * 2 - 1) })
        try setup.context.run {
            try GradMode.disabled {
                XCTAssertTrue(ExecutionContext.current.defaultLinears)
                let one = try ["a", "b", "c"].map { try EngineHooks.linear($0, x).values }
                XCTAssertEqual(setup.calls.withLock { $0 }, ["a": [0..<20], "b": [0..<44], "c": [0..<12]],
                               "alone, each product is below the size that splits")
                setup.calls.withLock { $0 = [:] }
                let (status, outputs, message) = callLinears(["a", "b", "c"], x)
                XCTAssertEqual(status, FACTORY_OK.rawValue, message ?? "")
                XCTAssertEqual(outputs.map { $0 ?? [] }, one, "bit for bit the three linears, b's bias included")
                XCTAssertEqual(outputs[1]?.count, 44)
                // 76 rows over 2 threads, cut at row 32: a and the first 12 rows of b, then the rest
                XCTAssertEqual(setup.calls.withLock { $0 }.mapValues { $0.sorted { $0.lowerBound < $1.lowerBound } },
                               ["a": [0..<20], "b": [0..<12, 12..<44], "c": [0..<12]],
                               "one job whose ranges cut across the weights")
            }
        }
    }

    func testAReplacedLinearHookStillSeesEveryName() throws {
        let setup = try makeSetup()
        let x = Tensor(shape: [1, 1024], values: [Float](repeating: 0.25, count: 1024))
        try setup.context.run {
            try GradMode.disabled {
                let plain = try ["a", "b"].map { try EngineHooks.linear($0, x).values }
                let previous = EngineHooks.linear
                var seen: [String] = []
                EngineHooks.linear = { name, x in
                    seen.append(name)
                    return addScalar(try previous(name, x), 1)
                }
                XCTAssertFalse(ExecutionContext.current.defaultLinears, "a replaced hook is no longer the default")
                let (status, outputs, message) = callLinears(["a", "b"], x)
                XCTAssertEqual(status, FACTORY_OK.rawValue, message ?? "")
                XCTAssertEqual(seen, ["a", "b"], "each name through the installed hook, in order")
                XCTAssertEqual(outputs.map { $0 ?? [] }, plain.map { $0.map { $0 + 1 } })
            }
        }
        XCTAssertTrue(ExecutionContext().defaultLinears, "a new context starts with the defaults")
        XCTAssertFalse(setup.context.derived().defaultLinears, "a derived context keeps the replaced hook, and knows it")
    }

    func testAFailingNameLeavesEveryOutputNullAndIsNamed() throws {
        let setup = try makeSetup()
        let x = Tensor(shape: [1, 1024], values: [Float](repeating: 1, count: 1024))
        try setup.context.run {
            try GradMode.disabled {
                let missing = callLinears(["a", "nope", "c"], x)
                XCTAssertNotEqual(missing.status, FACTORY_OK.rawValue)
                XCTAssertEqual(missing.outputs.map { $0 == nil }, [true, true, true], "no output handed out on an error")
                XCTAssertEqual(missing.message, "linear: no parameter named 'nope.weight' or 'nope'")
                let null = callLinears(["a", nil], x)
                XCTAssertNotEqual(null.status, FACTORY_OK.rawValue)
                XCTAssertEqual(null.message, "linears: names[1] is NULL")
                XCTAssertEqual(null.outputs.map { $0 == nil }, [true, true])
                let narrow = callLinears(["a", "b"], Tensor(shape: [1, 8], values: [Float](repeating: 1, count: 8)))
                XCTAssertEqual(narrow.message, "packed linear: input [1, 8] does not fit weight [20, 1024]")
                setup.context.parameters["c.bias"] = Tensor(shape: [3], values: [1, 2, 3])
                let badBias = callLinears(["a", "c"], x)
                XCTAssertEqual(badBias.message, "packed linear: bias [3] does not fit weight [12, 1024]", "an error, not a trap in add")
                XCTAssertEqual(badBias.outputs.map { $0 == nil }, [true, true])
            }
        }
    }
}
