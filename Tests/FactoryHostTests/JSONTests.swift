import FactoryJSON
import XCTest

final class JSONTests: XCTestCase {
    func testParsesAndWritesBackInOrder() throws {
        let text = #"{"b":1,"a":[true,null,"x\n\"y\""],"c":{"d":2.5}}"#
        let json = try JSON.parse(text)
        XCTAssertEqual(json.objectValue?.keys, ["b", "a", "c"])
        XCTAssertEqual(json.serialized(), text)
        XCTAssertEqual(json["c"]?["d"]?.doubleValue, 2.5)
    }

    func testKeepsUnicodeAndEmbeddedNUL() throws {
        let json = try JSON.parse(#"["é中🙂", "a\u0000b"]"#)
        XCTAssertEqual(json.arrayValue?[0].stringValue, "é中🙂")
        XCTAssertEqual(json.arrayValue?[1].stringValue?.utf8.count, 3)
    }

    func testErrorsNameLineAndColumn() {
        XCTAssertThrowsError(try JSON.parse("{\n  \"a\": 1,\n  \"b\": }")) { error in
            let e = error as? JSONParseError
            XCTAssertEqual(e?.line, 3)
        }
        XCTAssertThrowsError(try JSON.parse("[1, 2")) { XCTAssertTrue("\($0)".contains("unexpected end of input")) }
        XCTAssertThrowsError(try JSON.parse("{} x")) { XCTAssertTrue("\($0)".contains("after the JSON value")) }
        XCTAssertThrowsError(try JSON.parse(""))
    }
}
