import FactoryEngine
import XCTest

final class StorageTests: XCTestCase {
    func testBF16RoundsToNearestEvenAndWidensExactly() {
        XCTAssertEqual(bf16Bits(1.0), 0x3F80)
        XCTAssertEqual(bf16Bits(Float(bitPattern: 0x3F80_8000)), 0x3F80)   // halfway, even stays
        XCTAssertEqual(bf16Bits(Float(bitPattern: 0x3F81_8000)), 0x3F82)   // halfway, odd rounds up
        XCTAssertEqual(bf16Bits(Float(bitPattern: 0x3F80_8001)), 0x3F81)   // above halfway
        let values: [Float] = [0, -0, 1, -2.5, 3.140625, Float(sign: .plus, exponent: -100, significand: 1), 65536, -.infinity]
        let s = Storage.half(values, as: .bf16)
        XCTAssertEqual(s.dtype.size, 2)
        XCTAssertEqual(s.float32(), values)  // all exactly representable in bf16
        XCTAssertTrue(Storage.half([.nan], as: .bf16).float32()[0].isNaN)
    }

    func testF16HoldsHalfPrecisionValues() {
        let values: [Float] = [0, 1, -2.5, 65504, 6.1035156e-05, 5.9604645e-08]
        XCTAssertEqual(Storage.half(values, as: .f16).float32(), values)
        XCTAssertEqual(Storage.half([1.0001], as: .f16).float32(), [1])
        let t = Tensor.widened(Storage.half([1, 2, 3, 4], as: .bf16), shape: [2, 2])
        XCTAssertEqual(matmul(t, t).values, [7, 10, 15, 22])
    }

    func testThePoolReusesFreedBuffers() {
        let live = BufferPool.shared.live
        do {
            let a = Tensor(shape: [1000])
            XCTAssertGreaterThan(BufferPool.shared.live, live)
            _ = a
        }
        XCTAssertEqual(BufferPool.shared.live, live)
    }
}
