import CFactoryABI
import FactoryJinja
import FactoryJSON

/// A chat template plugin instance seen from the host.
public final class ChatTemplateInstance: ComponentInstance {
    private var t: UnsafePointer<factory_chat_template_t> { UnsafeRawPointer(base).assumingMemoryBound(to: factory_chat_template_t.self) }

    public override init(_ component: Component, config: JSON = .object(JSONObject())) throws {
        try super.init(component, config: config)
        _ = try table(factory_chat_template_t.self)
    }

    /// The info struct, at least as large as ABI 1.0's (default system and stop words).
    private func info() throws -> UnsafePointer<factory_chat_template_info_t> {
        let firstLayout = MemoryLayout<factory_chat_template_info_t>.offset(of: \.stop_words)! + MemoryLayout<UnsafeRawPointer?>.size
        guard let infoFn = t.pointee.info, let info = infoFn(t), Int(info.pointee.struct_size) >= firstLayout else {
            throw PluginCallError(component: component.name, call: "info", status: FACTORY_ERR_INTERNAL.rawValue, message: "no well-formed info struct")
        }
        return info
    }

    /// The template as a Hugging Face chat template (Jinja), when the plugin gives one (ABI 1.6; nil for
    /// an older plugin or a template without that form).
    public func jinjaTemplate() throws -> String? {
        let info = try info()
        let end = MemoryLayout<factory_chat_template_info_t>.offset(of: \.jinja_template)! + MemoryLayout<UnsafeRawPointer?>.size
        guard Int(info.pointee.struct_size) >= end else { return nil }
        return info.pointee.jinja_template.map { String(cString: $0) }
    }

    /// The template as an Ollama template, when the plugin gives one (ABI 1.7; nil for an older plugin or a
    /// template without that form); "{bos}" and "{eos}" in it stand for the tokenizer's texts.
    public func ollamaTemplate() throws -> String? {
        let info = try info()
        let end = MemoryLayout<factory_chat_template_info_t>.offset(of: \.ollama_template)! + MemoryLayout<UnsafeRawPointer?>.size
        guard Int(info.pointee.struct_size) >= end else { return nil }
        return info.pointee.ollama_template.map { String(cString: $0) }
    }

    /// How the model's answer reads back (ABI 1.8 output_format: tool calls, reasoning), as the plugin's JSON
    /// text; nil for an older plugin or a template that declares none.
    public func outputFormat() throws -> String? {
        let info = try info()
        let end = MemoryLayout<factory_chat_template_info_t>.offset(of: \.output_format)! + MemoryLayout<UnsafeRawPointer?>.size
        guard Int(info.pointee.struct_size) >= end else { return nil }
        return info.pointee.output_format.map { String(cString: $0) }
    }

    /// The template's default system prompt and stop words.
    public func declaration() throws -> (defaultSystem: String, stopWords: [String]) {
        let info = try info()
        var stops: [String] = []
        if let list = info.pointee.stop_words {
            var i = 0
            while let s = list[i], i < 1000 { stops.append(String(cString: s)); i += 1 }
        }
        return (info.pointee.default_system.map { String(cString: $0) } ?? "", stops)
    }

    /// Renders raw JSON texts (messages, options) into segments.
    public func render(messagesJSON: String, optionsJSON: String = "{}") throws -> [RenderedSegment] {
        guard let render = t.pointee.render else {
            throw PluginCallError(component: component.name, call: "render", status: FACTORY_ERR_INTERNAL.rawValue, message: "no render()")
        }
        let sink = SegmentCollector()
        try sink.withSink { sinkPtr in
            try call("render") { err in
                messagesJSON.withCString { m in
                    optionsJSON.withCString { o in
                        render(t, m, UInt64(messagesJSON.utf8.count), o, UInt64(optionsJSON.utf8.count), sinkPtr, err)
                    }
                }
            }
        }
        return sink.segments
    }
}

/// A chat-template plugin is the data layer's renderer.
extension ChatTemplateInstance: ChatRenderer {
    public var rendererName: String { component.name }
    public var rendererIdentity: String { component.id + "@" + component.version }
    public func sibling() throws -> ChatRenderer { try ChatTemplateInstance(component) }
}

/// Collects segments emitted through a factory_segment_sink_t.
final class SegmentCollector {
    var segments: [RenderedSegment] = []

    func withSink<R>(_ body: (UnsafePointer<factory_segment_sink_t>) throws -> R) rethrows -> R {
        var sink = factory_segment_sink_t(ctx: Unmanaged.passUnretained(self).toOpaque(), emit: { sink, role, trainable, text, len in
            guard let sink, let ctx = sink.pointee.ctx, len <= UInt64(Int.max) else { return FACTORY_ERR_INVALID_ARGUMENT.rawValue }
            let me = Unmanaged<SegmentCollector>.fromOpaque(ctx).takeUnretainedValue()
            let s = text.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: Int(len)), as: UTF8.self) } ?? ""
            me.segments.append(RenderedSegment(role: role, trainable: trainable, text: s))
            return FACTORY_OK.rawValue
        })
        return try withExtendedLifetime(self) { try withUnsafePointer(to: &sink) { try body($0) } }
    }
}
