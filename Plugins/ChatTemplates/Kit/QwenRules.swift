// The two rules Qwen's templates add to ChatML: tool results grouped into one user turn,
// and Qwen3's think block on the answers after the last user turn.
import FactoryJSON
import FactoryPluginKit

/// Qwen2.5/Qwen3 tool turns: the tools in the system turn, consecutive results share one
/// "<|im_start|>user ... <|im_end|>\n", each result is "\n<tool_response>\n{content}\n</tool_response>";
/// each call is a "<tool_call>" block (ToolFormat.qwen).
public enum QwenTools {
    public static func apply(to t: inout TurnTemplate, rawStringArguments: Bool) {
        t.observation = "\n<tool_response>\n{content}\n</tool_response>"
        t.observationGroup = ("<|im_start|>user", "<|im_end|>\n")
        t.functionCallBody = "{content}<|im_end|>\n"
        t.toolFormat = .qwen(rawStringArguments: rawStringArguments)
    }
}

/// Qwen3's reasoning rule, as its published chat template states it.
public enum QwenThinking {
    public static func apply(to t: inout TurnTemplate, thinkingByDefault: Bool) {
        t.assistantContent = { index, messages, _ in answer(at: index, in: messages) }
        t.reasoning = ("<think>", "</think>")
        t.generationSuffix = { options in (options.enableThinking ?? thinkingByDefault) ? "" : "<think>\n\n</think>\n\n" }
    }

    /// The rendered content of assistant message `index`: reasoning kept (in a think block)
    /// only after the last user turn, and the final message always gets a think block.
    static func answer(at index: Int, in messages: [ChatMessage]) -> String {
        let lastQuery = messages.lastIndex { $0.role == .user } ?? messages.count - 1
        var content = messages[index].content, reasoning = ""
        let pieces = content.splitting(on: "</think>")
        if pieces.count > 1 {
            let before = pieces[0], after = pieces[pieces.count - 1]
            content = after.stripping(["\n"], trailing: false)
            let opened = before.stripping(["\n"], leading: false).splitting(on: "<think>").last ?? ""
            reasoning = opened.stripping(["\n"], trailing: false)
        }
        guard index > lastQuery, index == messages.count - 1 || !reasoning.isEmpty else { return content }
        return "<think>\n" + reasoning.stripping(["\n"]) + "\n</think>\n\n" + content.stripping(["\n"], trailing: false)
    }
}
