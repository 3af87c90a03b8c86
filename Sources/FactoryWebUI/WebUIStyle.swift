// The web UI page's style sheet (served as /style.css).
extension WebUIPage {
    static let style = """
    body { font: 14px system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
    header { display: flex; align-items: center; gap: 2em; padding: 0.5em 1em; background: #24292f; color: white; }
    header h1 { font-size: 1.2em; margin: 0; } #lang { margin-left: auto; }
    .tab { background: none; border: none; color: #ccc; font-size: 1em; padding: 0.4em 0.8em; cursor: pointer; }
    .tab.active { color: white; border-bottom: 2px solid #4ea1ff; }
    main { padding: 1em; }
    .panel { display: none; } .panel.active { display: block; }
    fieldset { border: 1px solid #ddd; margin: 0 0 0.8em; padding: 0.5em 0.8em; }
    label { display: inline-block; margin: 0.25em 1em 0.25em 0; }
    .actions { margin: 0.8em 0; display: flex; gap: 0.6em; align-items: center; }
    .primary { background: #2f81f7; color: white; border: none; padding: 0.4em 1.2em; }
    pre { background: #f0f0f0; padding: 0.6em; max-height: 16em; overflow: auto; }
    #chart { background: white; border: 1px solid #ddd; display: block; margin: 0.5em 0; }
    #chart polyline { fill: none; stroke: #2f81f7; stroke-width: 2; } #chart circle { fill: #2f81f7; }
    #chart polyline.lr { stroke: #d29922; stroke-width: 1.5; stroke-dasharray: 4 3; } #chart text.lr { fill: #d29922; }
    #chart text { font-size: 10px; fill: #666; }
    progress { width: 600px; }
    table { border-collapse: collapse; } td, th { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; }
    .error { color: #b00020; }
    table.metrics { margin: 0.5em 0; } #predict-rows td { max-width: 28em; white-space: pre-wrap; vertical-align: top; font-size: 0.9em; }
    #chat-transcript { max-width: 60em; } .message { margin: 0.4em 0; padding: 0.4em 0.6em; border-radius: 6px; white-space: pre-wrap; }
    .message.user { background: #e8f0fe; } .message.assistant { background: #f1f3f4; } .message.error { color: #b00020; }
    mark { background: #d4f5d4; } #template-summary.same { color: #1a7f37; } #template-summary.different { color: #b00020; }
    dialog li { cursor: pointer; } dialog li.folder::before { content: "📁 "; } dialog li.model { font-weight: bold; }
    """
}
