import FactoryConfig
import FactoryTokenizers

extension DatasetLoader {
    /// Stage pt: each row's text (the `prompt` column, "text" in LLaMA-Factory's pre-training
    /// datasets, "instruction" by default) + EOS, concatenated into `cutoff_len` blocks (packing is
    /// on unless `packing: false`, as LLaMA-Factory sets it for pt). Every token is learned.
    /// `eosID` defaults to the tokenizer's; pass the model's when its tokenizer names none.
    public static func loadPretraining(_ config: RunConfig, tokenizer: Tokenizer, eosID: Int? = nil) throws -> PreparedDataset {
        guard let names = config.list("dataset"), !names.isEmpty else { throw DataError("no dataset: set dataset (names from dataset_info.json)") }
        guard let eos = eosID ?? tokenizer.eosID else { throw DataError("stage pt needs an EOS token; the tokenizer has none") }
        let info = try DatasetInfo(directory: config.string("dataset_dir") ?? "data")
        let skipBad = config.bool("skip_bad_rows") ?? false
        var result = PreparedDataset()
        var texts: [[Int]] = []
        for name in names {
            let a = try info.attributes(name)
            let column = a.columns["prompt"] ?? "instruction"
            let rows = try DatasetReader.rows(of: name, a, info: info, maxSamples: config.int("max_samples"))
            for row in rows {
                guard let text = row.object[column]?.stringValue else {
                    guard skipBad else { throw DataError("\(row.origin) \(column): missing or not a string") }
                    result.skipped += 1
                    continue
                }
                texts.append(try tokenizer.encode(text))
            }
        }
        let cutoff = config.int("cutoff_len") ?? 2048
        var blocks = Packer.pretrainBlocks(texts, eosID: eos, cutoffLen: cutoff, packing: config.bool("packing") ?? true)
        if let val = config.double("val_size"), val > 0 {
            let n = min(blocks.count - 1, val < 1 ? Int((Double(blocks.count) * val).rounded()) : Int(val))
            result.eval = Array(blocks.suffix(max(n, 0)))
            blocks.removeLast(max(n, 0))
        }
        result.train = blocks
        return result
    }
}
