import FactoryHost
import CFactoryABI
#if canImport(Glibc)
import Glibc
#endif
import FactoryEngine
import FactoryJSON
import FactoryJinja
import Foundation

/// Each kind's conformance probes. Later issues add their numeric suites
/// here (model forward vs fixtures, attention vs the eager reference, ...).
public enum KindSuites {
    typealias Probe = (Component) -> Isolation.Outcome

    static func probes(for kind: PluginKind) -> [(String, Probe)] {
        table[kind] ?? []
    }

    /// Whether `kind`'s probes run in the checking process, in order, rather than each in a forked child:
    /// a communicator joins its run once per process, and all ranks must call the same collectives.
    static func runsInProcess(_ kind: PluginKind) -> Bool { kind == .communicator }

    static let table: [PluginKind: [(String, Probe)]] = [
        .modelFamily: [
            ("describe() keeps the contract (every key present and well-typed)", ModelFamilyConformance.describes),
            ("parameters round-trip through map_checkpoint_name", ModelFamilyConformance.namesRoundTrip),
            ("a random-weight forward gives [batch, seq, vocab]", ModelFamilyConformance.forwardShape),
            ("decoding with the KV cache equals the full forward (≤ 1e-5)", ModelFamilyConformance.cachedDecoding),
            ("decoding rows at different positions together (forward_rows) equals each alone (≤ 1e-5)", ModelFamilyConformance.batchedDecoding),
            ("a tied LM head is the embeddings' tensor", ModelFamilyConformance.tiedHead),
        ],
        .quantizer: [
            ("declares a well-formed info struct", quantizerInfo),
            ("round trip and row-range dequantization", quantizerRoundTrip),
            ("NULL buffers are an error", quantizerNullBuffers),
            ("matmul_rows matches the unpacked rows (if provided)", quantizerProduct),
            ("matmul_rows_int8 stays within 8-bit input rounding, row by row as batched (if provided)", quantizerInt8Product),
        ],
        .attentionKernel: [
            ("declares a well-formed info struct", attentionInfo),
            ("forward and backward match the host's reference attention", attentionConformance),
            ("an unsupported head layout is refused with a message", attentionBadProblem),
        ],
        .communicator: [
            ("joins the run: every rank reports its own number", CommunicatorConformance.joins),
            ("allreduce sums and averages, the same bits on every rank", CommunicatorConformance.sums),
            ("allreduce_start and wait equal the blocking allreduce, two in flight", CommunicatorConformance.startsAndWaits),
            ("broadcast, allgather and barrier", CommunicatorConformance.broadcastsAndGathers),
            ("bad arguments are errors with messages", CommunicatorConformance.refusesBadArguments),
        ],
        .chatTemplate: [
            ("declares a well-formed info struct", templateInfo),
            ("renders a conversation", templateRender),
            ("malformed messages and unknown roles are errors", templateBadInput),
            ("tools and tool calls are rendered or refused, never dropped", templateTools),
            ("its Jinja form, if it has one, renders what it renders", templateJinja),
            ("its output format, if it declares one, reads back the calls it writes", templateOutputFormat),
        ],
    ]

    // MARK: - quantizer

    static func quantizerInfo(_ c: Component) -> Isolation.Outcome {
        outcome {
            let d = try QuantizerInstance(c).declaration()
            guard !d.format.isEmpty, d.bitsPerWeight > 0, d.bitsPerWeight <= 32 else {
                return (false, "format '\(d.format)', \(d.bitsPerWeight) bits per weight")
            }
            return (true, "format \(d.format), block \(d.blockSize), \(d.bitsPerWeight) bits/weight, trainable base: \(d.trainableBase), mergeable: \(d.mergeable)")
        }
    }

    /// A deterministic [8, 256] test matrix with a different scale per row.
    static func sampleMatrix(rows: Int, cols: Int) -> [Float] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<rows * cols).map { i in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let unit = Float(state >> 40) / Float(1 << 24) * 2 - 1
            return unit * Float(1 + i / cols)
        }
    }

    static func quantizerRoundTrip(_ c: Component) -> Isolation.Outcome {
        outcome {
            let q = try QuantizerInstance(c)
            let rows = 8, cols = 256
            let x = sampleMatrix(rows: rows, cols: cols)
            let packed = try q.quantize(x, rows: rows, cols: cols)
            let y = try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows)
            var err = 0.0, norm = 0.0
            for i in x.indices { err += Double(x[i] - y[i]) * Double(x[i] - y[i]); norm += Double(x[i]) * Double(x[i]) }
            let relative = (err / norm).squareRoot()
            let part = try q.dequantize(packed, rows: rows, cols: cols, firstRow: 3, rowCount: 2)
            guard Array(y[3 * cols..<5 * cols]) == part else { return (false, "rows 3..<5 unpacked alone differ from the same rows of the whole matrix") }
            guard relative.isFinite, relative < 0.5 else { return (false, "relative RMS error \(relative) of a [\(rows), \(cols)] round trip") }
            return (true, "[\(rows), \(cols)] -> \(packed.count) bytes, relative RMS error \(formatted(relative))")
        }
    }

    /// The product straight from packed rows against dot products with the unpacked rows (in Double):
    /// 3 inputs, a row range in the middle, an output stride wider than the range, an odd block count
    /// where the format allows one. Error measured against Σ|w·x| per output, at most 1e-5.
    static func quantizerProduct(_ c: Component) -> Isolation.Outcome {
        outcome {
            let q = try QuantizerInstance(c)
            guard q.multipliesPacked else { return (true, "not provided: the host unpacks tiles for every product") }
            let rows = 37, n = 3, first = 5, count = 20, stride = 23
            guard let (cols, packed, w) = try probeMatrix(q, rows: rows) else { return (false, packsNone(rows)) }
            let x = sampleMatrix(rows: n, cols: cols).map { $0 / 3 }
            var out = [Float](repeating: .nan, count: n * stride)
            try packed.withUnsafeBytes { p in
                try x.withUnsafeBufferPointer { xp in
                    try out.withUnsafeMutableBufferPointer { o in
                        try q.multiplyRows(p, rows: rows, cols: cols, x: xp.baseAddress!, n: n, firstRow: first, rowCount: count,
                                           out: o.baseAddress!, outStride: stride)
                    }
                }
            }
            var worst = 0.0
            for i in 0..<n {
                for r in first..<(first + count) {
                    var exact = 0.0, magnitude = 0.0
                    for k in 0..<cols {
                        let t = Double(w[r * cols + k]) * Double(x[i * cols + k])
                        exact += t
                        magnitude += abs(t)
                    }
                    let got = Double(out[i * stride + r - first])
                    let error = abs(got - exact) / max(magnitude, 1e-30)
                    guard error.isFinite, error <= 1e-5 else { return (false, "input \(i), row \(r): \(got), the unpacked row gives \(exact)") }
                    worst = max(worst, error)
                }
                for j in count..<stride where !out[i * stride + j].isNaN { return (false, "wrote out[\(i), \(j)], beyond row_count \(count)") }
            }
            return (true, "[\(rows), \(cols)], \(n) inputs, rows \(first)..<\(first + count): error \(formatted(worst)) of Σ|w·x|")
        }
    }

    /// The 1.9 contract: every output within Σ_b (step_b / 2)·Σ_{c in b} |w| of the unpacked rows' exact product
    /// (step_b = max|x_b| / 127 of each 32-value input block; plus 1e-5 of Σ|w·x| for fp32 rounding), on a
    /// row range with a wider out stride, each input's outputs bit-equal to those of the input alone, and
    /// nothing written beyond row_count.
    static func quantizerInt8Product(_ c: Component) -> Isolation.Outcome {
        outcome {
            let q = try QuantizerInstance(c)
            guard q.multipliesInt8 else { return (true, "not provided: decoding keeps matmul_rows") }
            let rows = 37, n = 3, first = 5, count = 20, stride = 23
            guard let (cols, packed, w) = try probeMatrix(q, rows: rows) else { return (false, packsNone(rows)) }
            // inputs with an outlier per block in the first row, as a residual stream has
            let x = sampleMatrix(rows: n, cols: cols).enumerated().map { i, v in v / 3 * (i < cols && i % 32 == 7 ? 40 : 1) }
            guard let prepared = try packed.withUnsafeBytes({ try q.prepareRowsInt8($0, rows: rows, cols: cols) }) else {
                return (true, "declined a [\(rows), \(cols)] matrix (FACTORY_ERR_UNSUPPORTED): decoding keeps matmul_rows")
            }
            func product(_ inputs: ArraySlice<Float>, _ k: Int) throws -> [Float] {
                var out = [Float](repeating: .nan, count: k * stride)
                try Array(inputs).withUnsafeBufferPointer { xp in
                    try out.withUnsafeMutableBufferPointer { o in
                        try prepared.multiply(x: xp.baseAddress!, n: k, firstRow: first, rowCount: count, out: o.baseAddress!, outStride: stride)
                    }
                }
                return out
            }
            let out = try product(x[...], n)
            var worst = 0.0
            for i in 0..<n {
                let alone = try product(x[(i * cols)..<((i + 1) * cols)], 1)
                for j in 0..<count where out[i * stride + j].bitPattern != alone[j].bitPattern {
                    return (false, "input \(i), row \(first + j): \(out[i * stride + j]) among \(n) inputs, \(alone[j]) alone")
                }
                for r in first..<(first + count) {
                    var exact = 0.0, magnitude = 0.0, bound = 0.0
                    for b in 0..<(cols / 32) {
                        var amax = 0.0, weights = 0.0
                        for k in (32 * b)..<(32 * b + 32) {
                            let t = Double(w[r * cols + k]) * Double(x[i * cols + k])
                            exact += t
                            magnitude += abs(t)
                            amax = max(amax, abs(Double(x[i * cols + k])))
                            weights += abs(Double(w[r * cols + k]))
                        }
                        bound += amax / 127 / 2 * weights
                    }
                    let got = Double(out[i * stride + r - first]), allowed = bound + 1e-5 * magnitude
                    guard got.isFinite, abs(got - exact) <= allowed else {
                        return (false, "input \(i), row \(r): \(got), the unpacked row gives \(exact), rounding 8-bit inputs allows ±\(allowed)")
                    }
                    worst = max(worst, abs(got - exact) / allowed)
                }
                for j in count..<stride where !out[i * stride + j].isNaN { return (false, "wrote out[\(i), \(j)], beyond row_count \(count)") }
            }
            return (true, "[\(rows), \(cols)], \(n) inputs, rows \(first)..<\(first + count): error at most \(formatted(worst)) of the rounding bound, "
                + "\(prepared.bytes) bytes prepared")
        }
    }

    /// Widths the product probes try, in order: an odd number of blocks where the format allows it (768: three
    /// super-blocks of 256).
    static let probeWidths = [288, 320, 384, 768]

    /// The matrix the product probes multiply: sampleMatrix [rows, cols] at the first width the plugin packs,
    /// packed and unpacked again by it; nil when it packs none.
    static func probeMatrix(_ q: QuantizerInstance, rows: Int) throws -> (cols: Int, packed: [UInt8], w: [Float])? {
        guard let cols = probeWidths.first(where: { (try? q.packedSize(rows: rows, cols: $0)) != nil }) else { return nil }
        let packed = try q.quantize(sampleMatrix(rows: rows, cols: cols), rows: rows, cols: cols)
        return (cols, packed, try q.dequantize(packed, rows: rows, cols: cols, firstRow: 0, rowCount: rows))
    }

    static func packsNone(_ rows: Int) -> String { "packs none of " + probeWidths.map { "[\(rows), \($0)]" }.joined(separator: ", ") }

    static func quantizerNullBuffers(_ c: Component) -> Isolation.Outcome {
        outcome {
            let q = try QuantizerInstance(c)
            guard let error = q.quantizeWithNullBuffers(rows: 8, cols: 256) else { return (false, "quantize(NULL, ...) returned OK") }
            guard error.status < 0, !error.message.contains("with no message") else { return (false, "no message with status \(error.status)") }
            return (true, error.message)
        }
    }

    // MARK: - attention kernel

    /// `factory plugins check --full`: the whole conformance sweep (sequence lengths up to 4096).
    nonisolated(unsafe) public static var fullAttentionSweep = false

    static func attentionInfo(_ c: Component) -> Isolation.Outcome {
        outcome {
            let k = try AttentionKernelInstance(c)
            guard k.declared.score >= 0 else { return (false, "negative score \(k.declared.score)") }
            return (true, k.declared.summary + (k.computes ? "" : " (declares only: no forward/backward)"))
        }
    }

    static func attentionConformance(_ c: Component) -> Isolation.Outcome {
        outcome {
            let k = try AttentionKernelInstance(c)
            guard k.computes else { return (true, "skipped: the kernel declares itself only (ABI < 1.3)") }
            var worst = 0.0, checked = 0, skipped: Set<String> = []
            for test in AttentionConformance.cases(full: fullAttentionSweep) {
                let x = AttentionConformance.inputs(test)
                let problem = AttentionProblem(batch: test.batch, qHeads: test.kvHeads * test.ratio, kvHeads: test.kvHeads, queries: test.length,
                                               keys: test.length + test.prefix, headDim: test.headDim, valueDim: test.headDim, params: x.params,
                                               segments: x.segments?.segments, packed: x.segments?.packed ?? false)
                if let missing = k.declared.missing(for: problem, training: true) {
                    skipped.insert(missing)
                    continue
                }
                let errors = try AttentionConformance.errors(k, test)
                for (name, e) in zip(["out", "dq", "dk", "dv"], errors) where !(e <= AttentionConformance.tolerance) {
                    return (false, "\(test): \(name) relative error \(formatted(e)) > \(AttentionConformance.tolerance)")
                }
                worst = max(worst, errors.max() ?? 0)
                checked += 1
            }
            let skippedNote = skipped.isEmpty ? "" : "; skipped what it does not declare: \(skipped.sorted().joined(separator: ", "))"
            return (true, "\(checked) cases\(fullAttentionSweep ? " (full sweep)" : ""), worst relative error \(formatted(worst))\(skippedNote)")
        }
    }

    static func attentionBadProblem(_ c: Component) -> Isolation.Outcome {
        outcome {
            let k = try AttentionKernelInstance(c)
            guard k.computes else { return (true, "skipped: the kernel declares itself only") }
            // 3 query heads over 2 kv heads is not grouped-query attention: the kernel must say so, not trap
            let bad = AttentionProblem(batch: 1, qHeads: 3, kvHeads: 2, queries: 2, keys: 2, headDim: 4, valueDim: 4, params: AttentionParams(scale: 0.5))
            do {
                _ = try k.savedCount(bad)
                return (false, "saved_size accepted 3 query heads over 2 kv heads")
            } catch let e as PluginCallError {
                guard e.status < 0, !e.message.contains("with no message") else { return (false, "no message with status \(e.status)") }
                return (true, e.message)
            }
        }
    }

    // MARK: - chat template

    static func templateInfo(_ c: Component) -> Isolation.Outcome {
        outcome {
            let d = try ChatTemplateInstance(c).declaration()
            return (true, "default system \(d.defaultSystem.isEmpty ? "none" : "\(d.defaultSystem.count) characters"), stop words \(d.stopWords)")
        }
    }

    static let sampleConversation = """
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "Bye"}]
        """

    static func templateRender(_ c: Component) -> Isolation.Outcome {
        outcome {
            let segments = try ChatTemplateInstance(c).render(messagesJSON: sampleConversation, optionsJSON: "{\"add_generation_prompt\": true}")
            let text = segments.map(\.text).joined()
            guard !segments.isEmpty, text.contains("Hello!"), text.contains("Bye") else { return (false, "rendered text lost message content: \(text.debugDescription)") }
            guard segments.contains(where: { $0.trainable && $0.text.contains("Hello!") }) else { return (false, "the assistant reply is not in a trainable segment") }
            return (true, "\(segments.count) segments, \(text.utf8.count) bytes")
        }
    }

    static func templateBadInput(_ c: Component) -> Isolation.Outcome {
        outcome {
            let t = try ChatTemplateInstance(c)
            for (input, what) in [("[{\"role\": ", "truncated JSON"), ("[{\"role\": \"wizard\", \"content\": \"x\"}]", "unknown role"), ("{}", "an object instead of a list")] {
                do {
                    _ = try t.render(messagesJSON: input)
                    return (false, "\(what) rendered without an error")
                } catch let e as PluginCallError {
                    guard e.status < 0, !e.message.contains("with no message") else { return (false, "\(what): no message") }
                }
            }
            return (true, "truncated JSON, unknown role and a non-list are refused with messages")
        }
    }

    /// A template writes tools and calls in its family's format or refuses them (FACTORY_ERR_UNSUPPORTED):
    /// the tools must change the text, and a call's name must appear in it.
    static func templateTools(_ c: Component) -> Isolation.Outcome {
        outcome {
            let t = try ChatTemplateInstance(c)
            let plain = try t.render(messagesJSON: sampleConversation).map(\.text).joined()
            let tools = #"{"tools": "[{\"name\": \"lookup_zebra\", \"description\": \"d\", \"parameters\": {\"type\": \"object\", \"properties\": {}}}]"}"#
            var said: [String] = []
            do {
                let text = try t.render(messagesJSON: sampleConversation, optionsJSON: tools).map(\.text).joined()
                guard text != plain, text.contains("lookup_zebra") else { return (false, "the tools were accepted and left out of the text") }
                said.append("tools rendered")
            } catch let e as PluginCallError where e.status == FACTORY_ERR_UNSUPPORTED.rawValue {
                said.append("tools refused")
            }
            let call = #"[{"role": "user", "content": "Hi"}, {"role": "function_call", "content": "{\"name\": \"lookup_zebra\", \"arguments\": {}}"}, {"role": "observation", "content": "42"}, {"role": "assistant", "content": "42."}]"#
            do {
                let segments = try t.render(messagesJSON: call)
                guard segments.contains(where: { $0.text.contains("lookup_zebra") }) else { return (false, "a function_call was accepted and its call left out") }
                said.append("calls rendered")
            } catch let e as PluginCallError where e.status == FACTORY_ERR_UNSUPPORTED.rawValue {
                said.append("calls refused")
            }
            return (true, said.joined(separator: ", "))
        }
    }

    /// The output format (ABI 1.8) parses, and its tool-call syntax reads back the calls the template writes: a
    /// function_call turn rendered, cut at the first stop word or EOS as generation would be, read by the
    /// host's AnswerReader whole and a character at a time, gives the call's name and arguments.
    static func templateOutputFormat(_ c: Component) -> Isolation.Outcome {
        outcome {
            let t = try ChatTemplateInstance(c)
            guard let declared = try t.outputFormat() else { return (true, "declares no output format (factory api refuses tools with it)") }
            let format = try AnswerFormat(json: declared, template: c.name)
            guard format.toolCalls != nil else { return (true, "reasoning markers \(format.reasoning.map { "\($0.open) … \($0.close)" } ?? "none"), no tool calls") }
            let arguments = JSON.object(JSONObject([("depth", 2), ("tag", "a\"b}")]))
            let call = JSON.object(JSONObject([("name", "lookup_zebra"), ("arguments", arguments)]))
            let messages = JSON.array([.object(JSONObject([("role", "user"), ("content", "Hi")])),
                                       .object(JSONObject([("role", "function_call"), ("content", .string(call.serialized()))]))])
            let options = JSON.object(JSONObject([("eos_token", "<factory-eos>")]))
            let segments = try t.render(messagesJSON: messages.serialized(), optionsJSON: options.serialized())
            var answer = segments.filter { $0.trainable }.map(\.text).joined()
            for stop in try t.declaration().stopWords + ["<factory-eos>"] where !stop.isEmpty {
                if let r = answer.range(of: stop) { answer = String(answer[..<r.lowerBound]) }
            }
            for size in [0, 1] {
                var reader = AnswerReader(format: format, readsCalls: true)
                if size == 0 { _ = reader.feed(answer) } else { for ch in answer { _ = reader.feed(String(ch)) } }
                _ = reader.finish()
                guard reader.calls.count == 1, reader.calls[0].name == "lookup_zebra",
                      (try? JSON.parse(reader.calls[0].arguments)) == arguments else {
                    return (false, "the call it writes, \(answer.debugDescription), reads back as \(reader.calls) (content \(reader.content.debugDescription))")
                }
            }
            return (true, "\(format.toolCalls!.style.rawValue) calls read back from \(answer.debugDescription)")
        }
    }

    /// Conversations the Jinja form must render as the template does (with and without a generation prompt).
    static let jinjaConversations: [(messages: [(String, String)], generationPrompt: Bool)] = [
        ([("user", "Hi")], true),
        ([("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "Bye")], true),
        ([("system", ""), ("user", "Hi"), ("assistant", "Hello")], false),
        ([("user", "1+1?"), ("assistant", "2"), ("user", "  spaced\nlines\t "), ("assistant", "it's \\ 'quoted'")], false),
        ([("user", "你好 🙂"), ("assistant", "")], true),
    ]

    /// The template's Jinja form (ABI 1.6, what `factory export` writes into a tokenizer) renders, with the
    /// host's Jinja engine, the same text as the template for every conversation above.
    static func templateJinja(_ c: Component) -> Isolation.Outcome {
        outcome {
            let t = try ChatTemplateInstance(c)
            guard let source = try t.jinjaTemplate() else { return (true, "no Jinja form (an export keeps the model's own chat template)") }
            let jinja = try JinjaTemplate(source)
            for (i, conversation) in jinjaConversations.enumerated() {
                let messages = JSON.array(conversation.messages.map { .object(JSONObject([("role", .string($0.0)), ("content", .string($0.1))])) })
                let options = JSON.object(JSONObject([("add_generation_prompt", .bool(conversation.generationPrompt)), ("bos_token", "<s>"), ("eos_token", "</s>")]))
                let rendered = try t.render(messagesJSON: messages.serialized(), optionsJSON: options.serialized()).map(\.text).joined()
                let fromJinja = try jinja.render([
                    "messages": .list(conversation.messages.map { .dict([("role", .string($0.0)), ("content", .string($0.1))]) }),
                    "add_generation_prompt": .bool(conversation.generationPrompt), "bos_token": .string("<s>"), "eos_token": .string("</s>"),
                ])
                guard fromJinja == rendered else {
                    return (false, "conversation \(i + 1): the Jinja form renders \(fromJinja.debugDescription), the template \(rendered.debugDescription)")
                }
            }
            return (true, "\(jinjaConversations.count) conversations render the same through its Jinja form")
        }
    }

    // MARK: - helpers

    /// --model-config: the config.json a model family's suite builds its tiny model from.
    public static func useModelConfig(file: String) throws {
        let bytes: [UInt8]
        guard let data = FileManager.default.contents(atPath: file) else { throw DescriptionError(message: "\(file): cannot read") }
        bytes = [UInt8](data)
        guard let object = (try? JSON.parse(bytes: bytes))?.objectValue else { throw DescriptionError(message: "\(file): not a JSON object") }
        ModelFamilyConformance.modelConfig = object
    }

    static func outcome(_ body: () throws -> (Bool, String)) -> Isolation.Outcome {
        do {
            let (passed, detail) = try body()
            return .init(passed: passed, detail: detail)
        } catch {
            return .init(passed: false, detail: "\(error)")
        }
    }

    /// "1.234e-3".
    static func formatted(_ x: Double) -> String {
        guard x > 0, x.isFinite else { return "\(x)" }
        let e = Int(log10(x).rounded(.down))
        let m = x / pow(10, Double(e))
        return "\(Double(Int(m * 1000)) / 1000)e\(e)"
    }
}
