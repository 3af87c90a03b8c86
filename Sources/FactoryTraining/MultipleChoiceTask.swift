import FactoryData
import FactoryJSON
import Foundation

/// A multiple-choice benchmark in LLaMA-Factory's task folder layout (MMLU, CMMLU, C-Eval): `task` is
/// "<name>_<split>" ("mmlu_test"); `<task_dir>/<name>/mapping.json` lists the subjects, each {"name",
/// "category"}; each subject's questions are `<split>/<subject>_<split>.csv` (under `data/` too, as MMLU's
/// archive unpacks), split one of dev (the few-shot examples; LLaMA-Factory's "train"), val ("validation")
/// and test. A CSV row is question, A, B, C, D, answer — after a header row when the file has one naming
/// its columns (C-Eval's id and explanation columns are skipped).
public struct MultipleChoiceTask {
    /// One question: its text, the four choices A–D, the answer letter.
    public struct Question: Sendable {
        public let question: String
        public let choices: [String]
        public let answer: String
    }

    /// One subject: its key in mapping.json, its display name and category, few-shot examples and questions.
    public struct Subject: Sendable {
        public let key: String
        public let name: String
        public let category: String
        public let examples: [Question]
        public let questions: [Question]
    }

    public let name: String
    public let split: String
    public let subjects: [Subject]

    /// The choice letters, in order.
    public static let letters = ["A", "B", "C", "D"]

    /// Reads the task; every problem is an error naming the file (and row).
    public init(task: String, directory: String) throws {
        guard let cut = task.lastIndex(of: "_"), cut != task.startIndex, task.index(after: cut) != task.endIndex else {
            throw TrainingError("task '\(task)': expected <name>_<split>, e.g. mmlu_test")
        }
        name = String(task[..<cut])
        let requested = String(task[task.index(after: cut)...])
        let folders = ["test": "test", "validation": "val", "val": "val", "train": "dev", "dev": "dev"]
        guard let folder = folders[requested] else { throw TrainingError("task '\(task)': the split '\(requested)' is none of test, validation, train") }
        split = folder
        let root = directory + "/" + name
        let mappingPath = root + "/mapping.json"
        guard let data = FileManager.default.contents(atPath: mappingPath) else {
            throw TrainingError("\(mappingPath): not found (task_dir \(directory), task \(task))")
        }
        let mapping: JSON
        do { mapping = try JSON.parse(bytes: [UInt8](data)) } catch { throw TrainingError("\(mappingPath): not valid JSON (\(error))") }
        guard let entries = mapping.objectValue, entries.count > 0 else { throw TrainingError("\(mappingPath): expected an object of subjects") }
        subjects = try entries.pairs.map { key, entry in
            guard let display = entry["name"]?.stringValue, let category = entry["category"]?.stringValue else {
                throw TrainingError("\(mappingPath): subject '\(key)' needs \"name\" and \"category\"")
            }
            return Subject(key: key, name: display, category: category,
                           examples: try Self.questions(root: root, subject: key, folder: "dev"),
                           questions: try Self.questions(root: root, subject: key, folder: folder))
        }
    }

    /// A subject's questions of one split folder.
    static func questions(root: String, subject: String, folder: String) throws -> [Question] {
        let candidates = ["\(root)/\(folder)/\(subject)_\(folder).csv", "\(root)/data/\(folder)/\(subject)_\(folder).csv"]
        guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            let archive = FileManager.default.fileExists(atPath: "\(root)/\(URL(fileURLWithPath: root).lastPathComponent).zip") ? " (unzip the task's archive there first)" : ""
            throw TrainingError("\(candidates[0]): not found\(archive)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw TrainingError("\(path): cannot be read") }
        var records = try DatasetReader.csvRecords([UInt8](data), path).filter { $0 != [""] }
        var columns = [0, 1, 2, 3, 4, 5]  // question, A, B, C, D, answer
        var firstRow = 1
        if let header = records.first?.map({ $0.lowercased() }), header.contains("question"), header.contains("answer") {
            columns = try ["question", "a", "b", "c", "d", "answer"].map { name in
                guard let i = header.firstIndex(of: name) else { throw TrainingError("\(path):1: the header has no '\(name)' column") }
                return i
            }
            records.removeFirst()
            firstRow = 2
        }
        return try records.enumerated().map { i, r in
            guard r.count > columns.max()! else { throw TrainingError("\(path):\(i + firstRow): \(r.count) fields, 6 expected (question, A, B, C, D, answer)") }
            let answer = r[columns[5]].trimmingCharacters(in: .whitespaces)
            guard letters.contains(answer) else { throw TrainingError("\(path):\(i + firstRow): answer '\(answer)' is none of A, B, C, D") }
            return Question(question: r[columns[0]], choices: (1...4).map { r[columns[$0]] }, answer: answer)
        }
    }
}
