// The Chat tab's script: load a model into the web UI's own `factory api` process, stream its answers.
extension WebUIPage {
    static let scriptChat = """
    // Chat: a model loaded into its own `factory api` process; answers stream back over the web UI
    let history = [], chatAbort = null;
    function chatMessage(role, text) {
      const div = document.createElement('div');
      div.className = 'message ' + role; div.textContent = text; $('chat-transcript').append(div);
      return div;
    }
    function showChat(state) {
      $('chat-status').dataset.state = state.loaded ? 'ready' : 'empty';
      if (state.loaded) say($('chat-status'), T('ready: {model}', { model: state.model_name_or_path + (state.adapter_name_or_path ? ' + ' + state.adapter_name_or_path : '') }));
      else say($('chat-status'), T('no model loaded'));
    }
    $('chat-load').onclick = async () => {
      const fields = { model_name_or_path: $('chat-model').value };
      if ($('chat-adapter').value) fields.adapter_name_or_path = $('chat-adapter').value;
      if ($('chat-template').value) fields.template = $('chat-template').value;
      $('chat-status').dataset.state = 'loading'; say($('chat-status'), T('loading…'));
      try { showChat(await api('/api/chat/load', { fields, extra: $('chat-extra').value.replace(/;\\s*/g, '\\n') })); }
      catch (e) { $('chat-status').dataset.state = 'failed'; say($('chat-status'), T('error: {message}', { message: e.message })); }
    };
    $('chat-unload').onclick = async () => showChat(await api('/api/chat/unload', {}));
    $('chat-clear').onclick = () => { history = []; $('chat-transcript').innerHTML = ''; };
    $('chat-stop').onclick = () => { if (chatAbort) chatAbort.abort(); };
    $('chat-send').onclick = async () => {
      const text = $('chat-input').value; if (!text) return;
      $('chat-input').value = '';
      chatMessage('user', text); history.push({ role: 'user', content: text });
      const messages = ($('chat-system').value ? [{ role: 'system', content: $('chat-system').value }] : []).concat(history);
      const request = { model: 'webui', messages, stream: true, temperature: Number($('chat-temperature').value), top_p: Number($('chat-top-p').value),
                        max_tokens: Number($('chat-max-tokens').value) };
      if ($('chat-tools').value.trim()) {
        try { request.tools = JSON.parse($('chat-tools').value); } catch (e) { chatMessage('error', t('tools: {message}', { message: e.message })); return; }
      }
      const answer = chatMessage('assistant', ''); answer.dataset.state = 'streaming';
      chatAbort = new AbortController(); $('chat-stop').disabled = false; $('chat-send').disabled = true;
      let content = '', calls = [];
      try {
        const response = await fetch('/api/chat/completions', { method: 'POST', signal: chatAbort.signal,
          headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(request) });
        if (!response.ok) { const e = await response.json(); throw new Error(e.error && e.error.message || e.error || response.statusText); }
        const reader = response.body.getReader(), decoder = new TextDecoder();
        let pending = '';
        for (;;) {
          const { value, done } = await reader.read(); if (done) break;
          pending += decoder.decode(value, { stream: true });
          let end;
          while ((end = pending.indexOf('\\n\\n')) >= 0) {
            const event = pending.slice(0, end); pending = pending.slice(end + 2);
            const data = event.replace(/^data: /, '');
            if (data === '[DONE]') continue;
            const delta = ((JSON.parse(data).choices || [])[0] || {}).delta || {};
            if (delta.content) content += delta.content;
            for (const call of delta.tool_calls || []) {
              calls[call.index] = calls[call.index] || { name: '', arguments: '' };
              if (call.function && call.function.name) calls[call.index].name += call.function.name;
              if (call.function && call.function.arguments) calls[call.index].arguments += call.function.arguments;
            }
            answer.textContent = content + calls.map(c => `\\n[tool call] ${c.name}(${c.arguments})`).join('');
          }
        }
        answer.dataset.state = 'done';
      } catch (e) { answer.dataset.state = e.name === 'AbortError' ? 'stopped' : 'failed'; if (e.name !== 'AbortError') chatMessage('error', e.message); }
      history.push({ role: 'assistant', content });
      $('chat-stop').disabled = true; $('chat-send').disabled = false; chatAbort = null;
    };
    $('chat-input').addEventListener('keydown', e => { if (e.key === 'Enter') $('chat-send').click(); });
    """
}
