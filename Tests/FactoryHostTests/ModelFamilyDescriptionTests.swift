import FactoryHost
import FactoryJSON
import XCTest

/// describe()'s contract as the host checks it at load: each broken key refused in one line naming it.
final class ModelFamilyDescriptionTests: XCTestCase {
    let good: JSONObject = JSONObject([
        ("parameters", [["name": "model.embed_tokens.weight", "shape": [8, 4], "linear": false],
                        ["name": "model.layers.0.self_attn.q_proj.weight", "shape": [4, 4], "linear": true],
                        ["name": "lm_head.weight", "shape": [8, 4], "linear": false]]),
        ("vocab_size", 8), ("kv_cache", ["layers": 1, "kv_heads": 1, "head_dim": 4]), ("context_length", 16),
        ("default_lora_targets", ["q_proj"]), ("final_logit_softcapping", 30.0),
    ])

    func testAWellFormedDescriptionIsRead() throws {
        let d = try ModelFamilyDescription(.object(good), family: "t")
        XCTAssertEqual(d.parameters.count, 3)
        XCTAssertEqual(d.parameters.filter(\.linear).map(\.name), ["model.layers.0.self_attn.q_proj.weight"])
        XCTAssertEqual([d.vocabSize, d.layers, d.kvHeads, d.headDim, d.contextLength], [8, 1, 1, 4, 16])
        XCTAssertEqual(d.finalLogitSoftcap, 30)
        XCTAssertEqual(d.defaultLoRATargets, ["q_proj"])
    }

    func testEachBrokenKeyIsNamed() {
        func refused(_ edit: (inout JSONObject) -> Void, _ words: String) {
            var o = good
            edit(&o)
            XCTAssertThrowsError(try ModelFamilyDescription(.object(o), family: "t")) { e in
                let m = "\(e)"
                XCTAssertTrue(m.hasPrefix("model family 't': describe(): ") && m.contains(words), "\(words): \(m)")
                XCTAssertFalse(m.contains("\n"))
            }
        }
        refused({ $0["vocab_size"] = nil }, "'vocab_size' must be a positive integer")
        refused({ $0["vocab_size"] = 0 }, "'vocab_size' must be a positive integer")
        refused({ $0["kv_cache"] = nil }, "'kv_cache' must be an object")
        refused({ $0["kv_cache"] = ["layers": 1, "kv_heads": 1] }, "'kv_cache.head_dim'")
        refused({ $0["parameters"] = [] }, "'parameters' must be a non-empty array")
        refused({ $0["parameters"] = [["name": "a", "shape": [2, 2]]] }, "has no boolean 'linear'")
        refused({ $0["parameters"] = [["name": "a", "shape": [2], "linear": true]] }, "is linear but has shape [2]")
        refused({ $0["parameters"] = [["name": "a", "shape": [2], "linear": false], ["name": "a", "shape": [2], "linear": false]] }, "listed twice")
        refused({ $0["final_logit_softcaping"] = 30.0 }, "unknown key 'final_logit_softcaping'")
        refused({ $0["final_logit_softcapping"] = -1.0 }, "'final_logit_softcapping' must be a number ≥ 0")
        refused({ $0["context_length"] = "long" }, "'context_length' must be an integer ≥ 0")
        refused({ $0["default_lora_targets"] = "q_proj" }, "'default_lora_targets' must be an array")
    }
}
