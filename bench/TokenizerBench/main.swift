// factory-tokenizer-bench: encoding speed of the SmolLM2 tokenizer on English
// text (the instructions and outputs of alpaca_en_demo.json), one thread.
//   factory-tokenizer-bench [TOKENIZER_JSON] [TEXT_JSON]
import FactoryJSON
import FactoryTokenizers
import Foundation

let args = CommandLine.arguments
let tokenizerPath = args.count > 1 ? args[1] : "../shared/fixtures/smollm2/tokenizer/tokenizer.json"
let dataPath = args.count > 2 ? args[2] : "../shared/data/alpaca_en_demo.json"
let tokenizer = try Tokenizer.load(tokenizerJSON: tokenizerPath)
let rows = try JSON.parse(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: dataPath)))).arrayValue ?? []
let texts = rows.flatMap { r in ["instruction", "input", "output"].compactMap { r[$0]?.stringValue }.filter { !$0.isEmpty } }
let bytes = texts.reduce(0) { $0 + $1.utf8.count }

func run() throws -> (Double, Int) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    var tokens = 0
    for t in texts { tokens += try tokenizer.encode(t).count }
    return (Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9, tokens)
}
let (cold, tokens) = try run()   // first pass fills the word cache
var warm: [Double] = []
for _ in 0..<5 { warm.append(try run().0) }
let median = warm.sorted()[2]
let out: [String: Any] = ["bytes": bytes, "texts": texts.count, "tokens": tokens, "cold_seconds": cold, "cold_mb_per_s": Double(bytes) / cold / 1e6,
                          "warm_seconds": median, "warm_mb_per_s": Double(bytes) / median / 1e6]
print(String(decoding: try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys]), as: UTF8.self))
