import Foundation
import XCTest

/// LLaMA-Factory 0.9.5's own example configs and demo data, from its source package on PyPI (fetched by
/// the test, never committed): with the model swapped for the default GGUF (and the template for its
/// own), every example Factory supports plans cleanly and trains 2 steps (or exports, or predicts); every other one is refused
/// in one line that names the key or stage — none is "unknown". Skipped loudly when PyPI is out of reach.
final class LLaMAFactoryExamplesTests: XCTestCase {
    static let version = "0.9.5"

    /// Examples Factory supports: `factory run` trains them (inference ones: `factory chat` answers).
    static let supported: Set<String> = [
        "train_lora/qwen3_lora_sft.yaml", "train_lora/qwen3_lora_pretrain.yaml", "train_lora/qwen3_lora_sft_ds3.yaml",
        "train_lora/qwen3_preprocess.yaml", "train_full/qwen3_full_sft.yaml", "train_qlora/qwen3_lora_sft_otfq.yaml",
        "train_qlora/llama3_lora_sft_aqlm.yaml", "train_qlora/llama3_lora_sft_awq.yaml", "train_qlora/llama3_lora_sft_gptq.yaml",
        "train_qlora/qwen3_lora_sft_bnb_npu.yaml", "extras/loraplus/llama3_lora_sft.yaml", "extras/fsdp_qlora/llama3_lora_sft.yaml",
        // distributed (FSDP on NPUs, Ray) with text data: one process here, with a note saying so
        "ascend/qwen3_5_full_sft_fsdp2.yaml", "ascend/qwen3_full_sft_fsdp2.yaml", "ascend/qwen3vlmoe_lora_sft_fsdp.yaml",
        "train_lora/qwen3_lora_sft_ray.yaml",
        // stages dpo and kto (LoRA: the reference is the base with the adapter off) and rm
        "train_lora/qwen3_lora_dpo.yaml", "train_lora/qwen3_lora_reward.yaml", "train_lora/qwen3_lora_kto.yaml",
    ]
    /// The example whose adapter inference/qwen3_lora_sft.yaml loads (from saves/, which the swap points at this run's output).
    static let adapterSource = "train_lora/qwen3_lora_sft.yaml"
    /// Export configs (`llamafactory-cli export`'s YAML): `factory train` plans them as exports and writes the
    /// merged model (the LoRA ones with the adapter trained above).
    static let exports: Set<String> = ["merge_lora/qwen3_lora_sft.yaml", "merge_lora/qwen3_full_sft.yaml", "merge_lora/qwen3vl_lora_sft.yaml"]
    /// Evaluation without training (do_predict + predict_with_generate): `factory train` predicts with the adapter trained above.
    static let predictions: Set<String> = ["extras/nlg_eval/llama3_lora_predict.yaml"]
    static let inference: Set<String> = ["inference/qwen3.yaml", "inference/qwen3_full_sft.yaml", "inference/qwen3_lora_sft.yaml", "inference/qwen3vl.yaml"]
    /// Folders that hold configs of other programs (accelerate, DeepSpeed, Megatron, LLaMA-Factory's v1 trainer).
    static let otherPrograms = ["accelerate/", "deepspeed/", "megatron/", "v1/", "ktransformers/accelerate/"]
    /// Not a run config: a map of new tokens to their descriptions (new_special_tokens_config points at it).
    static let notConfigs: Set<String> = ["extras/multi_tokens/tokens_cfg.yaml"]

    /// The extracted source package, downloaded once per machine into the temporary directory.
    func sourcePackage() throws -> String {
        let root = NSTemporaryDirectory() + "factory-llamafactory-\(Self.version)"
        let dir = root + "/llamafactory-\(Self.version)"
        if FileManager.default.fileExists(atPath: dir + "/examples/train_lora/qwen3_lora_sft.yaml") { return dir }
        try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let download = try CLI.run(["python3", "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "llamafactory==\(Self.version)", "-d", root],
                                   program: "/usr/bin/env")
        guard download.status == 0 else {
            print("SKIPPED LLaMAFactoryExamplesTests: pip download llamafactory==\(Self.version) failed (offline?): \(download.stderr.suffix(300))")
            throw XCTSkip("LLaMA-Factory's source package could not be downloaded")
        }
        let untar = try CLI.run(["xzf", root + "/llamafactory-\(Self.version).tar.gz", "-C", root], program: "/bin/tar")
        XCTAssertEqual(untar.status, 0, untar.stderr)
        return dir
    }

    func release() throws -> String {
        let binary = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        return binary
    }

    func testEverySupportedExampleRunsAndEveryOtherIsRefusedInOneLine() throws {
        let lf = try sourcePackage(), factory = try release()
        let examples = try FileManager.default.subpathsOfDirectory(atPath: lf + "/examples").filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThan(examples.count, 60)
        let swap = ["model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "template=smollm2", "dataset_dir=\(lf)/data"]
        var ran = 0, refused = 0, adapter: String?
        for example in examples {
            if Self.otherPrograms.contains(where: example.hasPrefix) || Self.notConfigs.contains(example) || Self.inference.contains(example) { continue }
            let path = lf + "/examples/" + example
            let out = try CLI.temporaryDirectory()
            let dry = try CLI.run(["train", path, "--dry-run"] + swap + ["output_dir=\(out)/run"], program: factory)
            if Self.exports.contains(example) {
                XCTAssertEqual(dry.status, 0, "\(example): \(dry.stdout)\(dry.stderr)")
                XCTAssertTrue(dry.stdout.contains("export to "), "\(example): \(dry.stdout)")
            } else if Self.predictions.contains(example) {
                XCTAssertEqual(dry.status, 0, "\(example): \(dry.stdout)\(dry.stderr)")
                XCTAssertTrue(dry.stdout.contains("evaluation without training: "), "\(example): \(dry.stdout)")
            } else if Self.supported.contains(example) {
                XCTAssertEqual(dry.status, 0, "\(example): \(dry.stdout)\(dry.stderr)")
                // 2 steps, kept short: few samples, short rows, no accumulation
                let run = try CLI.run(["train", path] + swap + ["output_dir=\(out)/run", "max_steps=2", "max_samples=8", "cutoff_len=128",
                                                                 "gradient_accumulation_steps=1", "per_device_train_batch_size=2",
                                                                 "tokenized_path=\(out)/tokenized"], program: factory)
                XCTAssertEqual(run.status, 0, "\(example): \(run.stderr)")
                let log = (try? String(contentsOfFile: out + "/run/trainer_log.jsonl", encoding: .utf8)) ?? ""
                XCTAssertTrue(log.contains("\"current_steps\":2"), "\(example): \(log)")
                if example == Self.adapterSource { adapter = out + "/run" }
                ran += 1
            } else {
                XCTAssertNotEqual(dry.status, 0, "\(example) should be refused: \(dry.stdout)")
                let lines = dry.stderr.split(separator: "\n").filter { !$0.hasPrefix("note: ") }
                XCTAssertEqual(lines.count, 1, "\(example): \(dry.stderr)")
                XCTAssertTrue(lines.first?.hasPrefix("factory: error: ") == true, "\(example): \(dry.stderr)")
                XCTAssertFalse(dry.stderr.contains("unknown key"), "\(example): a LLaMA-Factory key Factory does not know: \(dry.stderr)")
                refused += 1
            }
        }
        // the inference configs chat (the LoRA one with the adapter trained above)
        for example in Self.inference.sorted() {
            let extra = example == "inference/qwen3_lora_sft.yaml" ? ["adapter_name_or_path=\(try XCTUnwrap(adapter))"] : []
            let chat = try CLI.run(["chat", lf + "/examples/" + example] + swap.dropLast() + extra, program: factory, input: "Hi\nexit\n")
            XCTAssertEqual(chat.status, 0, "\(example): \(chat.stderr)")
            XCTAssertTrue(chat.stdout.contains("Assistant: "), "\(example): \(chat.stdout)")
            ran += 1
        }
        // the export configs write the merged model (the LoRA ones merge the adapter trained above)
        for example in Self.exports.sorted() {
            let out = try CLI.temporaryDirectory()
            let extra = example.contains("lora") ? ["adapter_name_or_path=\(try XCTUnwrap(adapter))"] : []
            let export = try CLI.run(["train", lf + "/examples/" + example] + swap + extra + ["export_dir=\(out)/merged"], program: factory)
            XCTAssertEqual(export.status, 0, "\(example): \(export.stderr)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/merged/model.safetensors"), "\(example): \(export.stdout)")
            ran += 1
        }
        // the prediction configs generate with the adapter trained above and score the answers
        for example in Self.predictions.sorted() {
            let out = try CLI.temporaryDirectory()
            let predict = try CLI.run(["train", lf + "/examples/" + example] + swap + ["adapter_name_or_path=\(try XCTUnwrap(adapter))", "output_dir=\(out)/predict",
                                                                               "max_samples=2", "max_new_tokens=8"], program: factory)
            XCTAssertEqual(predict.status, 0, "\(example): \(predict.stderr)")
            let lines = (try? String(contentsOfFile: out + "/predict/generated_predictions.jsonl", encoding: .utf8))?.split(separator: "\n") ?? []
            XCTAssertEqual(lines.count, 4, "\(example): two rows of each of its two eval datasets")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/predict/predict_results.json"), "\(example): \(predict.stdout)")
            ran += 1
        }
        print("LLaMA-Factory \(Self.version) examples: \(ran) ran, \(refused) refused in one line")
        XCTAssertEqual(ran, Self.supported.count + Self.inference.count + Self.exports.count + Self.predictions.count)
    }
}
