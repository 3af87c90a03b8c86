import Foundation
import XCTest

/// The catalogue of bad inputs (issue 14): each row is a command a user might type, the exit status it
/// must end with, and the words its one-line message must contain — the file and line, the key, row or
/// field, and what is wrong. No row may end in a signal, a backtrace, or more than one error line.
/// `FACTORY_CATALOGUE_BINARY=/path/to/factory` runs the table against another build (how the count of
/// cases an older build failed was taken).
final class BadInputCatalogueTests: XCTestCase {
    static let shared = CLI.repository + "/../shared"

    enum Command {
        case run, dryRun, check, chat, generate, score

        func arguments(_ file: String) -> [String] {
            switch self {
            case .run: return ["run", file]
            case .dryRun: return ["run", file, "--dry-run"]
            case .check: return ["config", "check", file]
            case .chat: return ["chat", file]
            case .generate: return ["generate", file, "--ids", "5,6,7", "--max-new-tokens", "2"]
            case .score: return ["score", file, "--ids", "5,6,7"]
            }
        }
    }

    struct Case {
        let name: String
        /// Arguments of `factory`; "$DIR" is the catalogue's folder, "$TINY" the tiny model's config.
        var arguments: [String]
        var status: Int32 = 1
        /// Every word must appear in the error line (or, for status 0, in stderr).
        var words: [String]
        var input: String? = "exit\n"
    }

    /// The tiny Llama config every case starts from: 8 lines, then `output_dir` on line 9, so a key
    /// added by `bad` is on line 10.
    static func baseLines(omitting omitted: Set<String> = []) -> [String] {
        [("model_name_or_path", "\(shared)/fixtures/tiny/llama"), ("template", "chatml"), ("allow_template_mismatch", "true"),
         ("dataset", "factory_demo"), ("dataset_dir", "\(CLI.repository)/examples/data"), ("cutoff_len", "64"), ("max_steps", "2"),
         ("per_device_train_batch_size", "2")].map { omitted.contains($0.0) ? "# \($0.0) unset" : "\($0.0): \($0.1)" }
    }

    /// A config with `key: value` on line 10, run through `command`: refused naming file:10 and the key.
    static func bad(_ key: String, _ value: String, _ command: Command = .run, _ what: String = "is out of range",
                    omitting: Set<String> = [], expected: String? = nil) -> Case {
        let tag = String(value.map { $0 == "-" ? "m" : $0 == "." ? "p" : $0 }.filter { $0.isLetter || $0.isNumber })
        let file = "$DIR/\(key)-\(tag)-\(command).yaml"
        let lines = baseLines(omitting: omitting.union([key])) + ["output_dir: $DIR/out-\(key)", "\(key): \(value)"]
        return Case(name: "\(key): \(value) (\(command))", arguments: ["@write", file, lines.joined(separator: "\n") + "\n"] + command.arguments(file),
                    words: ["\(file):10", key, what] + (expected.map { ["expected \($0)"] } ?? []))
    }

    /// A run of the tiny config with `overrides`, refused with `words`.
    static func tiny(_ name: String, _ overrides: [String], words: [String], status: Int32 = 1, command: [String] = ["run", "$TINY"]) -> Case {
        Case(name: name, arguments: command + overrides, status: status, words: words)
    }

    static var cases: [Case] {
        [
            // ranges and allowed sets, declared next to each key's type
            bad("learning_rate", "-1", .run, expected: "> 0"),
            bad("learning_rate", "0", .dryRun),
            bad("cutoff_len", "0", .dryRun, expected: "in [1, 1048576]"),
            bad("cutoff_len", "10000000000", .check),
            bad("warmup_ratio", "1.5", .check, expected: "in [0, 1]"),
            bad("max_samples", "0", .run),
            bad("top_p", "0", .chat, expected: "in (0, 1]"),
            bad("top_p", "1.5", .generate),
            bad("top_k", "-1", .generate, expected: "≥ 0"),
            bad("temperature", "-0.5", .chat, expected: "≥ 0"),
            bad("max_new_tokens", "0", .generate),
            bad("repetition_penalty", "0", .score, expected: "> 0"),
            bad("lora_rank", "0", .run),
            bad("lora_rank", "99999999999999999999", .run),
            bad("lora_dropout", "1.0", .run, expected: "in [0, 1)"),
            bad("lora_alpha", "0", .run),
            bad("per_device_train_batch_size", "0", .run),
            bad("gradient_accumulation_steps", "0", .dryRun),
            bad("per_device_eval_batch_size", "0", .run),
            bad("adam_beta1", "1.0", .run),
            bad("adam_beta2", "-0.1", .run),
            bad("adam_epsilon", "0", .run),
            bad("weight_decay", "-0.01", .run),
            bad("max_grad_norm", "-1", .run),
            bad("seed", "-1", .run, expected: "in [0, 4294967295]"),
            bad("seed", "4294967296", .generate),
            bad("logging_steps", "0", .run),
            bad("save_steps", "-5", .run),
            bad("eval_steps", "0", .run),
            bad("save_total_limit", "0", .run),
            bad("warmup_steps", "-1", .run),
            bad("val_size", "-0.1", .run),
            bad("threads", "0", .chat, expected: "in [1, 1024]"),
            bad("threads", "100000", .score),
            bad("neftune_noise_alpha", "-1", .run),
            bad("num_train_epochs", "1e400", .run),
            bad("num_train_epochs", "-2", .run),
            bad("max_steps", "99999999999", .run),
            bad("model_max_length", "-1", .check),
            bad("freeze_trainable_layers", "0", .run),
            bad("badam_update_ratio", "0", .check),
            bad("dpo_label_smoothing", "0.9", .check),
            bad("pref_beta", "-1", .check),
            bad("quantization_bit", "16", .run),
            bad("interleave_probs", "[0.5, 2]", .run),
            bad("stage", "sftt", .run, "is not allowed", expected: "one of pt, sft, rm, ppo, dpo, kto"),
            bad("flash_attn", "fa9", .chat, "is not allowed"),
            bad("quantization_type", "nf5", .run, "is not allowed"),
            bad("mix_strategy", "random", .run, "is not allowed"),
            bad("eval_strategy", "sometimes", .run, "is not allowed"),
            bad("lr_scheduler_type", "cosinee", .run, "is not allowed"),
            // rules over several keys, and values transformers gives a meaning of their own
            bad("num_train_epochs", "0", .run, "when max_steps is not set", omitting: ["max_steps"]),
            bad("logging_steps", "2.5", .run, "a whole number of steps"),
            bad("lr_scheduler_type", "warmup_stable_decay", .run, "is not implemented in Factory"),
            // types
            bad("top_k", "1.5", .generate, "expects an integer"),
            bad("learning_rate", "fast", .run, "expects a number"),
            Case(name: "unknown key", arguments: ["@write", "$DIR/typo.yaml", "lora_rnak: 8\n", "run", "$DIR/typo.yaml", "--dry-run"],
                 words: ["$DIR/typo.yaml:1", "unknown key 'lora_rnak'", "did you mean 'lora_rank'"]),
            tiny("an override out of range", ["learning_rate=-3"], words: ["override 'learning_rate=-3'", "learning_rate", "out of range"]),
            tiny("--max-new-tokens -1 is a value, refused by range", ["--ids", "5,6", "--max-new-tokens", "-1"],
                 words: ["--max-new-tokens", "max_new_tokens", "-1 is out of range", "expected in [1, 1048576]"], command: ["generate", "$TINY"]),
            tiny("--max-new-tokens 0", ["--ids", "5,6", "--max-new-tokens", "0"], words: ["--max-new-tokens", "max_new_tokens", "out of range"],
                 command: ["generate", "$TINY"]),
            // YAML files
            Case(name: "billion laughs", arguments: ["@laughs", "$DIR/laughs.yaml", "config", "check", "$DIR/laughs.yaml"],
                 words: ["$DIR/laughs.yaml:", "aliases"]),
            Case(name: "a list at the top", arguments: ["@write", "$DIR/list.yaml", "- a\n- b\n", "config", "check", "$DIR/list.yaml"],
                 words: ["$DIR/list.yaml:1", "must be a mapping"]),
            Case(name: "duplicate key", arguments: ["@write", "$DIR/dup.yaml", "seed: 1\nseed: 2\n", "run", "$DIR/dup.yaml"],
                 words: ["$DIR/dup.yaml:2", "duplicate key 'seed'", "line 1"]),
            Case(name: "malformed YAML", arguments: ["@write", "$DIR/broken.yaml", "seed: [1, 2\n", "run", "$DIR/broken.yaml"],
                 words: ["$DIR/broken.yaml:", "malformed YAML"]),
            Case(name: "missing config file", arguments: ["run", "$DIR/nothing-here.yaml"], words: ["$DIR/nothing-here.yaml", "cannot open"]),
            // data files and dataset_info.json
            tiny("JSON text that is not UTF-8", ["dataset=utf8_json", "dataset_dir=$DIR/data", "output_dir=$DIR/o1"],
                 words: ["$DIR/data/bad_utf8.json:2", "output", "not valid UTF-8", "byte offset"]),
            tiny("JSON-lines text that is not UTF-8", ["dataset=utf8_jsonl", "dataset_dir=$DIR/data", "output_dir=$DIR/o2"],
                 words: ["$DIR/data/bad_utf8.jsonl:3", "conversations[1].value", "not valid UTF-8", "byte offset"]),
            tiny("CSV text that is not UTF-8", ["dataset=utf8_csv", "dataset_dir=$DIR/data", "output_dir=$DIR/o3"],
                 words: ["$DIR/data/bad_utf8.csv:3", "output", "not valid UTF-8", "byte offset"]),
            tiny("an empty data file", ["dataset=empty", "dataset_dir=$DIR/data", "output_dir=$DIR/o4"],
                 words: ["$DIR/data/empty.json", "dataset 'empty'", "empty"]),
            tiny("a data file with no rows", ["dataset=no_rows", "dataset_dir=$DIR/data", "output_dir=$DIR/o5"],
                 words: ["$DIR/data/no_rows.json", "dataset 'no_rows'", "no rows"]),
            tiny("no usable row", ["dataset=all_bad", "dataset_dir=$DIR/data", "skip_bad_rows=true", "output_dir=$DIR/o6"],
                 words: ["$DIR/data/all_bad.json", "dataset 'all_bad'", "no usable row"]),
            tiny("file_name is a directory", ["dataset=a_folder", "dataset_dir=$DIR/data", "output_dir=$DIR/o7"],
                 words: ["$DIR/data/folder", "is a directory", "dataset 'a_folder'"]),
            tiny("a missing data file", ["dataset=missing", "dataset_dir=$DIR/data", "output_dir=$DIR/o8"],
                 words: ["$DIR/data/missing.json", "cannot be read", "No such file or directory"]),
            tiny("num_samples below 1", ["dataset=negative_samples", "dataset_dir=$DIR/data", "output_dir=$DIR/o9"],
                 words: ["$DIR/data/dataset_info.json", "negative_samples.num_samples", "out of range"]),
            tiny("a dataset dataset_info.json does not have", ["dataset=nope", "output_dir=$DIR/o10"],
                 words: ["dataset 'nope' is not in", "examples/data/dataset_info.json"]),
            tiny("dataset_info.json that is not JSON", ["dataset=x", "dataset_dir=$DIR/badinfo", "output_dir=$DIR/o11"],
                 words: ["$DIR/badinfo/dataset_info.json", "line 1"]),
            tiny("dataset_info.json that is not UTF-8", ["dataset=x", "dataset_dir=$DIR/badinfo8", "output_dir=$DIR/o12"],
                 words: ["$DIR/badinfo8/dataset_info.json", "not valid UTF-8", "byte offset"]),
            tiny("a missing dataset_dir", ["dataset=x", "dataset_dir=$DIR/no-such-dir", "output_dir=$DIR/o13"],
                 words: ["$DIR/no-such-dir/dataset_info.json", "not found"]),
            tiny("interleave without probabilities that sum to 1", ["dataset=factory_demo,identity", "mix_strategy=interleave_under",
                                                                    "interleave_probs=0.5,0.2", "output_dir=$DIR/o14"],
                 words: ["override 'interleave_probs=0.5,0.2'", "interleave_probs", "sum to 0.7", "expected a sum of 1"]),
            tiny("one probability for two datasets", ["dataset=factory_demo,identity", "mix_strategy=interleave_over", "interleave_probs=1"],
                 words: ["interleave_probs", "1 probability for 2 datasets"]),
            tiny("val_size taking every row", ["val_size=1000", "output_dir=$DIR/o18"],
                 words: ["no training example is left of dataset factory_demo", "val_size took all 32"]),
            // plugins and models
            tiny("--plugins naming a folder with no plugin", ["--plugins", "$DIR/no-plugins", "--dry-run"],
                 words: ["$DIR/no-plugins", "no plugin"]),
            tiny("--plugins naming a file that is no plugin", ["--plugins", "$DIR/data/empty.json", "--dry-run"],
                 words: ["$DIR/data/empty.json"]),
            tiny("a model path that does not exist", ["model_name_or_path=$DIR/no-model"], words: ["$DIR/no-model"]),
            tiny("an adapter folder that does not exist", ["adapter_name_or_path=$DIR/no-adapter", "--ids", "5,6"],
                 words: ["$DIR/no-adapter"], command: ["generate", "$TINY"]),
            tiny("an adapter of a kind no method plugin declares", ["adapter_name_or_path=$DIR/ia3", "--ids", "5,6"],
                 words: ["$DIR/ia3/adapter_config.json", "peft_type 'IA3' is not supported", "registered: freeze, full, lora"],
                 command: ["generate", "$TINY"]),
            tiny("a token id outside the vocabulary", ["--ids", "5,99999999"], words: ["--ids", "99999999", "outside the vocabulary"],
                 command: ["generate", "$TINY"]),
            tiny("a token id that is not a number", ["--ids", "5,x"], words: ["--ids", "'x'"], command: ["score", "$TINY"]),
            tiny("scoring one token", ["--ids", "5"], words: ["at least two tokens"], command: ["score", "$TINY"]),
            tiny("an unregistered template", ["template=llama9"], words: ["no chat-template plugin provides 'llama9'"]),
            tiny("an unknown quantization method", ["quantization_bit=4", "quantization_method=gptq"], words: ["quantization_method 'gptq'"]),
            tiny("full fine-tuning of a quantized base (before loading)", ["quantization_bit=4", "finetuning_type=full", "output_dir=$DIR/o15"],
                 words: ["finetuning_type full", "trainable_base: false"]),
            tiny("a rank whose adapter cannot fit", ["model_name_or_path=HuggingFaceTB/SmolLM2-135M-Instruct", "template=smollm2",
                                                     "lora_rank=65536", "output_dir=$DIR/o16"],
                 words: ["lora", "GiB", "more than the", "available", "lower the rank"]),
            // output directories and checkpoints
            tiny("output_dir is a file", ["output_dir=$DIR/data/empty.json/out"], words: ["$DIR/data/empty.json/out", "Not a directory"]),
            tiny("output_dir not empty", ["output_dir=$DIR/occupied"], words: ["$DIR/occupied", "not empty", "overwrite_output_dir"]),
            tiny("resume with nothing left to train", ["output_dir=$DIR/done", "max_steps=2"],
                 words: ["$DIR/done/checkpoint-2", "step 2", "nothing is left to train"]),
            tiny("a truncated trainer_state.json", ["output_dir=$DIR/truncated"],
                 words: ["$DIR/truncated/checkpoint-1/trainer_state.json", "not a complete trainer state"]),
            tiny("resume_from_checkpoint naming no checkpoint", ["output_dir=$DIR/o17", "resume_from_checkpoint=$DIR/nowhere"],
                 words: ["resume_from_checkpoint", "$DIR/nowhere", "not a checkpoint"]),
            // special values: accepted, with one line saying what Factory does
            tiny("max_steps 0 means epochs", ["max_steps=0", "--dry-run"], words: ["note: max_steps: 0 ≤ 0", "num_train_epochs"], status: 0),
            tiny("temperature 0 means greedy", ["temperature=0", "--ids", "5,6", "--max-new-tokens", "1"],
                 words: ["note: temperature: 0 means greedy"], status: 0, command: ["generate", "$TINY"]),
            tiny("do_sample false leaves top_p unused", ["do_sample=false", "top_p=0.5", "--ids", "5,6", "--max-new-tokens", "1"],
                 words: ["note: do_sample: false", "top_p"], status: 0, command: ["generate", "$TINY"]),
            tiny("a fraction of the total steps", ["logging_steps=0.5", "--dry-run"], words: ["note: logging_steps: 0.5 < 1", "fraction"], status: 0),
            tiny("quantization_type without 4 bits", ["quantization_type=fp4", "quantization_bit=8", "--dry-run"],
                 words: ["note: quantization_type: fp4 applies only with quantization_bit: 4"], status: 0),
        ]
    }

    /// Writes the files the cases read.
    static func prepare(_ dir: String) throws {
        let fm = FileManager.default
        for sub in ["data/folder", "no-plugins", "ia3", "badinfo", "badinfo8", "occupied", "done/checkpoint-2", "truncated/checkpoint-1"] {
            try fm.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        func write(_ path: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: dir + "/" + path)) }
        func text(_ path: String, _ s: String) throws { try write(path, Array(s.utf8)) }
        try text("tiny.yaml", baseLines().joined(separator: "\n") + "\n")
        try text("data/dataset_info.json", """
            {"utf8_json": {"file_name": "bad_utf8.json"}, "utf8_jsonl": {"file_name": "bad_utf8.jsonl", "formatting": "sharegpt"},
             "utf8_csv": {"file_name": "bad_utf8.csv"}, "empty": {"file_name": "empty.json"}, "no_rows": {"file_name": "no_rows.json"},
             "all_bad": {"file_name": "all_bad.json"}, "a_folder": {"file_name": "folder"}, "missing": {"file_name": "missing.json"},
             "negative_samples": {"file_name": "no_rows.json", "num_samples": -3}}
            """)
        try write("data/bad_utf8.json", Array(#"[{"instruction": "a", "output": "b"}, {"instruction": "c", "output": "d"#.utf8) + [0xC3, 0x28] + Array(#""}]"#.utf8))
        let ok = #"{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}"#
        try write("data/bad_utf8.jsonl", Array((ok + "\n" + ok + "\n" + #"{"conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "x"#).utf8)
                  + [0xFF] + Array("\"}]}\n".utf8))
        try write("data/bad_utf8.csv", Array("instruction,input,output\na,,b\nc,,d".utf8) + [0xED, 0xA0, 0x80] + Array("\n".utf8))
        try text("data/empty.json", "")
        try text("data/no_rows.json", "[]")
        try text("data/all_bad.json", #"[{"instruction": 1}, {"output": "x"}]"#)
        try text("badinfo/dataset_info.json", "{\"x\": ")
        try write("badinfo8/dataset_info.json", Array(#"{"x": {"file_name": "a"#.utf8) + [0x80] + Array(#".json"}}"#.utf8))
        try text("occupied/notes.txt", "keep me")
        try text("ia3/adapter_config.json", #"{"peft_type": "IA3", "target_modules": ["k_proj"]}"#)
        try text("done/checkpoint-2/trainer_state.json", #"{"global_step": 2, "log_history": []}"#)
        try text("done/train_results.json", #"{"train_steps": 2}"#)
        try text("truncated/checkpoint-1/trainer_state.json", #"{"global_step": 1, "log_hist"#)
    }

    /// Nine levels of nine aliases each: 387 million values once expanded.
    static func laughs() -> String {
        var lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        for i in 1...8 { lines.append("l\(i): &l\(i) [" + Array(repeating: "*l\(i - 1)", count: 9).joined(separator: ", ") + "]") }
        return lines.joined(separator: "\n") + "\n"
    }

    func testEveryBadInputIsRefusedInOneLineNamingItsPlace() throws {
        let dir = try CLI.temporaryDirectory()
        try Self.prepare(dir)
        let binary = ProcessInfo.processInfo.environment["FACTORY_CATALOGUE_BINARY"] ?? CLI.binary
        let cases = Self.cases
        XCTAssertGreaterThanOrEqual(cases.count, 60)
        let failures = FailureList()
        DispatchQueue.concurrentPerform(iterations: cases.count) { i in
            if let problem = Self.check(cases[i], dir: dir, binary: binary) { failures.add(i, "\(cases[i].name): \(problem)") }
        }
        let failed = failures.sorted
        print("bad-input catalogue: \(cases.count) cases, \(failed.count) failed (\(binary))")
        for line in failed { XCTFail(line) }
    }

    /// nil when the case behaves as the table says, else what went wrong.
    static func check(_ c: Case, dir: String, binary: String) -> String? {
        var args = c.arguments.map { $0.replacingOccurrences(of: "$DIR", with: dir).replacingOccurrences(of: "$TINY", with: dir + "/tiny.yaml") }
        do {
            if args.first == "@write" {
                try args[2].write(toFile: args[1], atomically: true, encoding: .utf8)
                args.removeFirst(3)
            } else if args.first == "@laughs" {
                try laughs().write(toFile: args[1], atomically: true, encoding: .utf8)
                args.removeFirst(2)
            }
            let started = Date()
            let r = try CLI.run(args, program: binary, input: c.input)
            let seconds = Date().timeIntervalSince(started)
            let words = c.words.map { $0.replacingOccurrences(of: "$DIR", with: dir) }
            let lines = r.stderr.split(separator: "\n").map(String.init)
            if r.status != c.status { return "exit \(r.status), expected \(c.status): \(r.stderr.suffix(600))" }
            if r.stderr.contains("Fatal error") || r.stderr.contains("Backtrace") || r.stderr.contains("NSCocoaErrorDomain") {
                return "a trap or raw Foundation text: \(r.stderr.suffix(600))"
            }
            if c.status == 0 {
                if let missing = words.first(where: { !r.stderr.contains($0) }) { return "stderr lacks '\(missing)': \(r.stderr.suffix(600))" }
                return nil
            }
            let errors = lines.filter { $0.hasPrefix("factory: error:") }
            guard errors.count == 1 else { return "\(errors.count) error lines: \(r.stderr.suffix(600))" }
            let others = lines.filter { !$0.hasPrefix("factory: error:") && !$0.hasPrefix("note:") && !$0.hasPrefix("attention:") }
            if !others.isEmpty { return "more than the one line: \(r.stderr.suffix(600))" }
            if let missing = words.first(where: { !errors[0].contains($0) }) { return "the message lacks '\(missing)': \(errors[0])" }
            if c.name == "billion laughs" && seconds > 1 { return "took \(seconds) s" }
            return nil
        } catch {
            return "could not run: \(error)"
        }
    }
}

/// Failures collected from concurrent cases.
final class FailureList: @unchecked Sendable {
    private var items: [(Int, String)] = []
    private let lock = NSLock()
    func add(_ index: Int, _ line: String) { lock.lock(); items.append((index, line)); lock.unlock() }
    var sorted: [String] { items.sorted { $0.0 < $1.0 }.map(\.1) }
}
