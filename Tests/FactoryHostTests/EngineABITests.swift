import CFactoryABI
@testable import FactoryHost
import Foundation
import XCTest

/// A C plugin drives the engine through the host table alone.
final class EngineABITests: XCTestCase {
    func library() throws -> UnsafeMutableRawPointer {
        let fixtures = try FixtureBuilder()
        let path = try fixtures.build("mlp.so", source: FixtureBuilder.fixtures + "/mlp_plugin.c")
        _ = try PluginLoader.load(path, source: .explicit)
        return try XCTUnwrap(dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE))
    }

    func testACPluginTrainsATwoLayerMLPWithAdamWThroughTheABI() throws {
        typealias Train = @convention(c) (UnsafePointer<factory_host_api_t>, Int32, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Double>,
                                          UnsafeMutablePointer<CChar>, Int32) -> Int32
        let handle = try library()
        let train = unsafeBitCast(try XCTUnwrap(dlsym(handle, "fixture_mlp_train")), to: Train.self)
        var losses = [Float](repeating: .nan, count: 200)
        var gradError = Double.nan
        var message = [CChar](repeating: 0, count: 256)
        let status = train(HostServices.table, 200, &losses, &gradError, &message, 256)
        XCTAssertEqual(status, 0, String(cString: message))
        XCTAssertLessThan(gradError, 5e-3, "gradients vs central finite differences")
        XCTAssertGreaterThan(losses[0], 0.8, "the untrained loss should be near ln 3")
        XCTAssertLessThan(losses[199], 0.1, "loss after 200 AdamW steps: \(losses[199])")
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
    }

    func testAWrongShapeIsAnErrorWithAMessage() throws {
        typealias Misuse = @convention(c) (UnsafePointer<factory_host_api_t>, OpaquePointer) -> Int32
        let handle = try library()
        let misuse = unsafeBitCast(try XCTUnwrap(dlsym(handle, "fixture_engine_misuse")), to: Misuse.self)
        let (status, slot) = ErrorSlot.capture { err in misuse(HostServices.table, err) }
        XCTAssertEqual(status, 0)
        XCTAssertEqual(slot.message, "matmul: [2, 3] · [4, 5]: inner sizes differ")
    }
}

extension EngineABITests {
    func testACustomOpRunsThePluginsForwardAndBackward() throws {
        typealias Square = @convention(c) (UnsafePointer<factory_host_api_t>, UnsafeMutablePointer<Float>) -> Float
        let handle = try library()
        let square = unsafeBitCast(try XCTUnwrap(dlsym(handle, "fixture_custom_square")), to: Square.self)
        var grad = [Float](repeating: .nan, count: 3)
        let loss = square(HostServices.table, &grad)
        XCTAssertEqual(loss, 3 * (1 + 4 + 0.25))
        XCTAssertEqual(grad, [6, -12, 3])
    }
}

extension EngineABITests {
    /// Every shape refusal carries FACTORY_ERR_SHAPE_MISMATCH, the one status status.h defines for it.
    func testAShapeRefusalHasTheShapeMismatchStatus() throws {
        typealias Misuse = @convention(c) (UnsafePointer<factory_host_api_t>, OpaquePointer) -> Int32
        let misuse = unsafeBitCast(try XCTUnwrap(dlsym(try library(), "fixture_engine_misuse")), to: Misuse.self)
        let (_, slot) = ErrorSlot.capture { err in misuse(HostServices.table, err) }
        XCTAssertEqual(slot.status, FACTORY_ERR_SHAPE_MISMATCH.rawValue)
    }
}
