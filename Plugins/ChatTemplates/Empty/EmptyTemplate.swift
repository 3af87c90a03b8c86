// LLaMA-Factory's `empty` template: contents concatenated with nothing around them, no EOS.
// For base models and pre-formatted data.
import CFactoryABI
import ChatTemplateKit
import FactoryPluginKit

/// The `empty` chat template.
final class EmptyTemplate: TurnTemplatePlugin {
    static let descriptor = ComponentDescriptor(
        id: "org.factory.template.empty", name: "empty", version: "1.0.0", vendor: "Factory",
        summary: "No formatting at all: contents concatenated")

    static let format: TurnTemplate = {
        var t = TurnTemplate(name: "empty")
        t.defaultSystemRule = .whenAbsentOrEmpty
        t.toolFormat = .default  // LLaMA-Factory gives this template its default tool format
        return t
    }()

    init(config: ConfigReader) throws {}
}

@_cdecl("factory_plugin_entry")
public func factoryPluginEntry() -> UnsafePointer<factory_entry_t> {
    PluginEntry.table { PluginManifest(chatTemplates: [EmptyTemplate.self]) }
}
