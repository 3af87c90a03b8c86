import Foundation
import XCTest

/// The attention-kernel plugins: the conformance sweep against the host's reference attention, and
/// how `flash_attn` / `attention_kernel` choose among them.
final class AttentionKernelTests: XCTestCase {
    /// The release build: the full sweep pushes sequences of 4096 through every kernel.
    func releaseProducts() throws -> String {
        let dir = CLI.repository + "/.build/release"
        guard FileManager.default.isExecutableFile(atPath: dir + "/factory") else {
            throw XCTSkip("needs the release build: swift build -c release (scripts/test.sh builds it)")
        }
        return dir
    }

    func testEveryKernelPassesTheFullConformanceSweep() throws {
        let release = try releaseProducts()
        for name in ["Eager", "Flash"] {
            let file = release + "/libFactoryPluginAttention\(name).so"
            let r = try CLI.run(["plugins", "check", "--full", file], program: release + "/factory")
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            XCTAssertTrue(r.stdout.contains("forward and backward match the host's reference attention — 166 cases (full sweep)"), r.stdout)
            XCTAssertTrue(r.stdout.contains("8 passed, 0 failed"), r.stdout)
        }
    }

    func testFlashAttnChoosesAKernelAndSaysWhich() throws {
        func plan(_ extra: [String], plugins: [String]? = nil) throws -> [String: Any] {
            var args = ["run", "examples/smollm2_lora_sft.yaml", "--dry-run", "--json"] + extra
            if let plugins { args += ["--no-default-plugins", "--plugins", plugins.map { CLI.products + "/libFactoryPlugin\($0).so" }.joined(separator: ",")] }
            let r = try CLI.run(args)
            let items = try XCTUnwrap((try CLI.json(r.stdout) as? [String: Any])?["items"] as? [[String: Any]], r.stdout + r.stderr)
            return try XCTUnwrap(items.first { $0["role"] as? String == "attention" })
        }
        func chosen(_ item: [String: Any]) -> String? { (item["plugin"] as? [String: Any])?["name"] as? String }
        XCTAssertEqual(chosen(try plan([])), "flash")  // auto: the highest score
        XCTAssertEqual(chosen(try plan(["flash_attn=fa2"])), "flash")
        XCTAssertEqual(chosen(try plan(["flash_attn=sdpa"])), "flash")
        XCTAssertEqual(chosen(try plan(["flash_attn=disabled"])), "eager")
        XCTAssertEqual(chosen(try plan(["attention_kernel=eager"])), "eager")
        let onlyEager = ["AttentionEager", "ModelLlama", "TemplateSmolLM2", "MethodLoRA"]
        XCTAssertEqual(chosen(try plan([], plugins: onlyEager)), "eager")
        let refused = try plan(["flash_attn=fa2"], plugins: onlyEager)
        XCTAssertEqual(refused["problem"] as? String, "no attention-kernel plugin can serve flash_attn 'fa2' (registered: eager)")
        let none = try plan([], plugins: ["ModelLlama", "TemplateSmolLM2", "MethodLoRA"])
        XCTAssertNil(chosen(none))
        XCTAssertEqual(none["detail"] as? String, "the host's built-in reference attention (no kernel plugin registered)")
        // a value outside flash_attn's set stops when the config is read, before any plan
        let typo = try CLI.run(["run", "examples/smollm2_lora_sft.yaml", "--dry-run", "--json", "flash_attn=fa9"])
        XCTAssertEqual(typo.status, 1)
        XCTAssertEqual(typo.stderr, "factory: error: override 'flash_attn=fa9' flash_attn: 'fa9' is not allowed (expected one of auto, disabled, sdpa, fa2, fa3)\n")
    }
}
