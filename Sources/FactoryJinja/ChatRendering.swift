/// One rendered piece of a conversation, as a chat template emitted it: the role it belongs to, whether
/// it is learned (an assistant's answer) or context, and its text.
public struct RenderedSegment: Equatable, Sendable {
    public let role: Int32
    public let trainable: Bool
    public let text: String

    public init(role: Int32, trainable: Bool, text: String) { (self.role, self.trainable, self.text) = (role, trainable, text) }
}

/// What turns a conversation into rendered segments: a chat template. The data layer encodes datasets
/// through this protocol and knows nothing of plugins; the host's chat-template plugin instances conform
/// (FactoryHost's ChatTemplateInstance). One instance serves one thread at a time.
public protocol ChatRenderer: AnyObject {
    /// The template's name, for messages ("smollm2").
    var rendererName: String { get }
    /// What identifies the template's behaviour, for cache fingerprints ("org.factory.template.smollm2@1.0.0").
    var rendererIdentity: String { get }
    /// Renders messages (a JSON array of {role, content}) with options (a JSON object) into segments.
    func render(messagesJSON: String, optionsJSON: String) throws -> [RenderedSegment]
    /// Another instance of the same template, for another thread.
    func sibling() throws -> ChatRenderer
}
