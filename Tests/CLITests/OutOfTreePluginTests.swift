import Foundation
import XCTest

/// Third parties build plugins from SDK/templates against SDK/ only, and the
/// already-built host loads them; replacing a quantizer file changes behaviour
/// while the host binary stays byte-identical.
final class OutOfTreePluginTests: XCTestCase {
    let sdk = CLI.repository + "/SDK"

    func testCTemplateBuildsWithPlainCCAndLoads() throws {
        let dir = try CLI.temporaryDirectory()
        let template = sdk + "/templates/c-plugin"
        _ = try CLI.sh("cc -shared -fPIC -fvisibility=hidden -I \(sdk)/include -Wl,--version-script=\(template)/exports.map -o \(dir)/example.so \(template)/example_quantizer.c -lm")
        let list = try CLI.run(["plugins", "list", "--json", "--plugins", dir + "/example.so"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("\"example_absmax\""), list.stdout)
        let check = try CLI.run(["plugins", "check", dir + "/example.so"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("round trip"), check.stdout)
    }

    /// A quantizer built before ABI 1.4 has a table that ends before `matmul_rows`: the host accepts it,
    /// never reads past its struct_size, and multiplies through unpacked tiles.
    func testAQuantizerTableFromBeforeMatmulRowsIsAccepted() throws {
        let dir = try CLI.temporaryDirectory()
        let template = sdk + "/templates/c-plugin"
        _ = try CLI.sh("sed 's/table.base.struct_size = sizeof(factory_quantizer_t)/table.base.struct_size = offsetof(factory_quantizer_t, matmul_rows)/' \(template)/example_quantizer.c > \(dir)/old.c && grep -q 'offsetof(factory_quantizer_t, matmul_rows)' \(dir)/old.c")
        _ = try CLI.sh("cc -shared -fPIC -include stddef.h -I \(sdk)/include -o \(dir)/old.so \(dir)/old.c -lm")
        let check = try CLI.run(["plugins", "check", dir + "/old.so"])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        XCTAssertTrue(check.stdout.contains("not provided: the host unpacks tiles"), check.stdout)
        let shared = URL(fileURLWithPath: CLI.repository).deletingLastPathComponent().appendingPathComponent("shared").path
        let g = try CLI.run(["generate", "--model", "\(shared)/fixtures/tiny/llama", "quantizer=example_absmax", "--plugins", dir + "/old.so",
                             "--ids", "5,6,7", "--greedy", "--max-new-tokens", "3"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertTrue(g.stderr.contains("quantized base (example_absmax)"), g.stderr)
    }

    func testSwiftTemplateBuildsAsItsOwnPackageAndLoads() throws {
        let dir = try CLI.temporaryDirectory()
        _ = try CLI.sh("cp -R \(sdk)/templates/swift-plugin/. \(dir)/ && rm -rf \(dir)/.build")
        _ = try CLI.sh("swift build --package-path \(dir) 2>&1", environment: ["FACTORY_SDK": sdk])
        let library = dir + "/.build/debug/libExamplePlugin.so"
        let list = try CLI.run(["plugins", "list", "--json", "--plugins", library])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("\"example_plain\""), list.stdout)
        let check = try CLI.run(["plugins", "check", library])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
    }

    /// The model-family template builds against SDK/ alone and passes the family suite; the same source
    /// built with its planted decoding bug (positions forgotten with the KV cache) fails exactly the two
    /// probes that decode with the cache — alone and rows together (forward_rows) —, with a non-zero exit.
    func testModelFamilyTemplatePassesTheCheckAndABrokenCacheIsCaught() throws {
        let dir = try CLI.temporaryDirectory()
        _ = try CLI.sh("cp -R \(sdk)/templates/model-family/. \(dir)/ && rm -rf \(dir)/.build")
        _ = try CLI.sh("swift build --package-path \(dir) 2>&1", environment: ["FACTORY_SDK": sdk])
        let good = try CLI.run(["plugins", "check", dir + "/.build/debug/libExampleFamily.so"])
        XCTAssertEqual(good.status, 0, good.stdout + good.stderr)
        XCTAssertTrue(good.stdout.contains("PASS model-family 'example_decoder': decoding with the KV cache equals the full forward"), good.stdout)
        _ = try CLI.sh("swift build --package-path \(dir) --scratch-path \(dir)/.build-broken -Xswiftc -DFACTORY_EXAMPLE_BROKEN_CACHE 2>&1",
                       environment: ["FACTORY_SDK": sdk])
        let broken = try CLI.run(["plugins", "check", dir + "/.build-broken/debug/libExampleFamily.so"])
        XCTAssertEqual(broken.status, 1, broken.stdout)
        let failures = broken.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }
        XCTAssertEqual(failures.count, 2, broken.stdout)
        XCTAssertTrue(failures.first?.contains("decoding with the KV cache differs from the full forward") ?? false, broken.stdout)
        XCTAssertTrue(failures.last?.contains("decoding rows at different positions together differs") ?? false, broken.stdout)
    }

    func testSwappingAQuantizerFileChangesBehaviourWithoutRebuildingTheHost() throws {
        let hostBefore = try Data(contentsOf: URL(fileURLWithPath: CLI.binary))
        let dir = try CLI.temporaryDirectory()
        let installed = dir + "/plugins/quantizer.so"
        try FileManager.default.createDirectory(atPath: dir + "/plugins", withIntermediateDirectories: true)
        let make = "make -s -C \(sdk)/templates/c-plugin FACTORY_SDK=\(sdk)"
        _ = try CLI.sh("\(make) BITS=8 OUT=\(installed)")
        _ = try CLI.sh("\(make) BITS=4 OUT=\(dir)/b.so")

        func roundTrip() throws -> String {
            let r = try CLI.run(["plugins", "check", installed])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            return r.stdout.split(separator: "\n").first { $0.contains("round trip") }.map(String.init) ?? ""
        }
        func registeredName() throws -> String {
            let r = try CLI.run(["plugins", "list", "--plugins", dir + "/plugins", "--no-default-plugins"])
            return r.stdout
        }
        let a = try roundTrip()
        XCTAssertTrue(a.contains("2080 bytes"), a)       // 8 rows x (4 + 256) bytes
        XCTAssertTrue(try registeredName().contains("example_absmax"))

        _ = try CLI.sh("mv \(dir)/b.so \(installed)")
        let b = try roundTrip()
        XCTAssertTrue(b.contains("1056 bytes"), b)       // 8 rows x (4 + 128) bytes
        XCTAssertNotEqual(a, b)
        XCTAssertTrue(try registeredName().contains("example_absmax"))

        let hostAfter = try Data(contentsOf: URL(fileURLWithPath: CLI.binary))
        XCTAssertEqual(hostBefore, hostAfter, "the host binary changed")
    }

    /// The swap test: one built host; QLoRA through the in-tree nf4 plugin, then that file
    /// replaced by the SDK template built as "nf4" (8-bit row-wise): the same run packs differently
    /// and trains differently, and the host binary is byte-identical.
    func testReplacingTheNF4FileChangesAQLoRARunWithoutRebuildingTheHost() throws {
        let hostBefore = try Data(contentsOf: URL(fileURLWithPath: CLI.binary))
        let dir = try CLI.temporaryDirectory()
        let plugins = dir + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        for name in ["ModelLlama", "TemplateChatML", "MethodLoRA", "AttentionFlash", "QuantizerNF4"] {
            _ = try CLI.sh("cp \(CLI.products)/libFactoryPlugin\(name).so \(plugins)/")
        }
        let shared = URL(fileURLWithPath: CLI.repository).deletingLastPathComponent().appendingPathComponent("shared").path
        func qlora(_ out: String) throws -> (packing: String, loss: String) {
            let r = try CLI.run(["run", "model_name_or_path=\(shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                                 "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=2", "per_device_train_batch_size=2",
                                 "learning_rate=1e-2", "lora_target=all", "quantization_bit=4", "output_dir=\(dir)/\(out)",
                                 "--no-default-plugins", "--plugins", plugins])
            XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            return (lines.first { $0.hasPrefix("quantized base (nf4") } ?? "", lines.first { $0.hasPrefix("trained") } ?? "")
        }
        let before = try qlora("a")  // the in-tree nf4, double-quantized (LLaMA-Factory's default)
        XCTAssertTrue(before.packing.hasSuffix("(0.517 bytes/parameter)"), before.packing)

        _ = try CLI.sh("make -s -C \(sdk)/templates/c-plugin FACTORY_SDK=\(sdk) NAME=nf4 BITS=8 OUT=\(dir)/nf4.so")
        _ = try CLI.sh("mv \(dir)/nf4.so \(plugins)/libFactoryPluginQuantizerNF4.so")
        let after = try qlora("b")
        XCTAssertFalse(after.packing.hasSuffix("(0.517 bytes/parameter)"), after.packing)
        XCTAssertTrue(after.packing.contains("quantized base (nf4, nf4)"), after.packing)
        XCTAssertNotEqual(before.loss, after.loss, "the replaced quantizer should change the training")

        let hostAfter = try Data(contentsOf: URL(fileURLWithPath: CLI.binary))
        XCTAssertEqual(hostBefore, hostAfter, "the host binary changed")
    }
}
