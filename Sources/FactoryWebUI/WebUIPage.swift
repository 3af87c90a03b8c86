// The web UI's page, compiled into the binary: no npm, no CDN, nothing fetched but this server's own routes.
// Plain HTML, CSS and JavaScript; the loss chart is drawn as SVG by the script. Element ids are what the
// browser tests drive (Tests/CLITests/Scripts/webui_browser.py).
enum WebUIPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>Factory</title>
    <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/style.css"></head>
    <body>
    <header><h1>Factory</h1><nav>
      <button class="tab active" data-tab="train" id="tab-train">Train</button>
      <button class="tab" data-tab="chat" id="tab-chat">Chat</button>
      <button class="tab" data-tab="evaluate" id="tab-evaluate">Evaluate</button>
      <button class="tab" data-tab="export" id="tab-export">Export</button>
      <button class="tab" data-tab="plugins" id="tab-plugins">Plugins</button>
    </nav></header>
    <main>
    <section id="train" class="panel active">
      <form id="train-form" onsubmit="return false">
        <fieldset><legend>Model</legend>
          <label>Model <input id="model_name_or_path" name="model_name_or_path" size="60"> <button type="button" id="browse-model">Browse…</button></label>
          <label>Template <select id="template" name="template"><option value="">(choose, or pick a model to match)</option></select></label>
          <button type="button" id="template-check">Check template</button> <span id="template-summary"></span>
          <label>Quantizer <select id="quantizer" name="quantizer"><option value="">none</option></select></label>
          <label>Attention kernel <select id="attention_kernel" name="attention_kernel"><option value="">auto</option></select></label>
        </fieldset>
        <fieldset><legend>Method</legend>
          <label>Stage <select id="stage" name="stage"><option>sft</option><option>pt</option><option>dpo</option><option>kto</option><option>rm</option></select></label>
          <label>Finetuning type <select id="finetuning_type" name="finetuning_type"><option>lora</option><option>full</option><option>freeze</option></select></label>
          <label>LoRA rank <input id="lora_rank" name="lora_rank" type="number" value="8"></label>
          <label>LoRA alpha <input id="lora_alpha" name="lora_alpha" type="number" value="16"></label>
          <label>LoRA dropout <input id="lora_dropout" name="lora_dropout" type="number" step="0.01" value="0"></label>
          <label>LoRA targets <input id="lora_target" name="lora_target" value="all"></label>
          <label><input id="use_dora" name="use_dora" type="checkbox"> DoRA</label>
          <label><input id="use_rslora" name="use_rslora" type="checkbox"> rsLoRA</label>
          <label>LoRA+ ratio <input id="loraplus_lr_ratio" name="loraplus_lr_ratio" type="number" step="any"></label>
        </fieldset>
        <fieldset><legend>Data</legend>
          <label>Dataset folder <input id="dataset_dir" name="dataset_dir" value="data"> <button type="button" id="load-datasets">List datasets</button></label>
          <label>Datasets <select id="dataset" name="dataset" multiple size="4"></select></label>
          <label>Cutoff length <input id="cutoff_len" name="cutoff_len" type="number" value="1024"></label>
          <button type="button" id="data-check">Preview data</button>
        </fieldset>
        <fieldset><legend>Hyperparameters</legend>
          <label>Learning rate <input id="learning_rate" name="learning_rate" type="number" step="any" value="0.0001"></label>
          <label>Epochs <input id="num_train_epochs" name="num_train_epochs" type="number" step="any" value="3"></label>
          <label>Max steps <input id="max_steps" name="max_steps" type="number"></label>
          <label>Batch size <input id="per_device_train_batch_size" name="per_device_train_batch_size" type="number" value="1"></label>
          <label>Gradient accumulation <input id="gradient_accumulation_steps" name="gradient_accumulation_steps" type="number" value="1"></label>
          <label>Scheduler <select id="lr_scheduler_type" name="lr_scheduler_type"><option>cosine</option><option>linear</option><option>constant</option><option>constant_with_warmup</option></select></label>
          <label>Logging steps <input id="logging_steps" name="logging_steps" type="number" value="1"></label>
          <label>Save steps <input id="save_steps" name="save_steps" type="number" value="100"></label>
          <label>Output folder <input id="output_dir" name="output_dir" value="saves/webui-run" size="40"></label>
        </fieldset>
        <fieldset><legend>More keys (YAML)</legend><textarea id="extra" rows="3" cols="70" placeholder="e.g. allow_template_mismatch: true"></textarea></fieldset>
        <div class="actions">
          <button type="button" id="preview-button">Preview command</button>
          <button type="button" id="save-yaml">Save YAML</button>
          <label class="file">Load YAML <input type="file" id="load-yaml" accept=".yaml,.yml"></label>
          <button type="button" id="start" class="primary">Start</button>
          <button type="button" id="stop" disabled>Stop</button>
        </div>
      </form>
      <pre id="preview" hidden></pre>
      <pre id="template-details" hidden></pre>
      <pre id="data-preview" hidden></pre>
      <div id="run">
        <div id="run-status">no run yet</div>
        <progress id="progress" max="1" value="0"></progress>
        <svg id="chart" viewBox="0 0 600 220" width="600" height="220" role="img" aria-label="loss"></svg>
        <pre id="log"></pre>
      </div>
    </section>
    <section id="chat" class="panel">
      <form id="chat-form" onsubmit="return false">
        <fieldset><legend>Model</legend>
          <label>Model <input id="chat-model" size="60"></label>
          <label>Adapter <input id="chat-adapter" size="50" list="chat-adapters" placeholder="none, or a run's output folder"><datalist id="chat-adapters"></datalist></label>
          <label>Template <select id="chat-template"><option value="">(the model's own)</option></select></label>
          <label>More keys (YAML) <input id="chat-extra" size="40" placeholder="e.g. allow_template_mismatch: true"></label>
          <button type="button" id="chat-load">Load</button> <button type="button" id="chat-unload">Unload</button>
          <span id="chat-status" data-state="empty">no model loaded</span>
        </fieldset>
        <fieldset><legend>Conversation</legend>
          <label>System prompt <input id="chat-system" size="70"></label><br>
          <label>Temperature <input id="chat-temperature" type="number" step="0.05" value="0"></label>
          <label>Top p <input id="chat-top-p" type="number" step="0.05" value="1"></label>
          <label>Max new tokens <input id="chat-max-tokens" type="number" value="64"></label><br>
          <label>Tools (JSON list, OpenAI's shape) <textarea id="chat-tools" rows="2" cols="70"></textarea></label>
        </fieldset>
      </form>
      <div id="chat-transcript"></div>
      <div class="actions"><input id="chat-input" size="80" placeholder="Message"> <button type="button" id="chat-send" class="primary">Send</button>
        <button type="button" id="chat-stop" disabled>Stop</button> <button type="button" id="chat-clear">Clear</button></div>
    </section>

    <section id="evaluate" class="panel">
      <form onsubmit="return false"><fieldset><legend>factory eval (multiple-choice benchmarks, LLaMA-Factory's task folders)</legend>
        <label>Model <input id="eval-model_name_or_path" size="50"></label>
        <label>Adapter <input id="eval-adapter_name_or_path" size="40" list="chat-adapters"></label>
        <label>Template <select id="eval-template" class="templates"><option value="">(the model's own)</option></select></label><br>
        <label>Task <input id="eval-task" value="minimmlu_test"></label>
        <label>Task folder <input id="eval-task_dir" value="examples/eval"></label>
        <label>Shots <input id="eval-n_shot" type="number" value="5"></label>
        <label>Language <select id="eval-lang"><option>en</option><option>zh</option></select></label>
        <label>Batch size <input id="eval-batch_size" type="number" value="4"></label>
        <label>Results folder <input id="eval-save_dir" value="saves/webui-eval" size="30"></label>
        <label>More keys (YAML) <input id="eval-extra" size="30"></label>
      </fieldset>
      <div class="actions"><button type="button" id="eval-start" class="primary">Evaluate</button> <button type="button" id="eval-stop" disabled>Stop</button></div></form>
      <div id="eval-status">no evaluation yet</div><pre id="eval-log"></pre>
    </section>
    <section id="export" class="panel">
      <form onsubmit="return false"><fieldset><legend>factory export (adapters merged; a Hugging Face folder or a GGUF)</legend>
        <label>Model <input id="export-model_name_or_path" size="50"></label>
        <label>Adapter <input id="export-adapter_name_or_path" size="40" list="chat-adapters"></label>
        <label>Template <select id="export-template" class="templates"><option value="">(the model's own)</option></select></label><br>
        <label>Format <select id="export-export_format"><option>hf</option><option>gguf</option><option>gguf_lora</option></select></label>
        <label>dtype <select id="export-infer_dtype"><option>auto</option><option>float32</option><option>float16</option><option>bfloat16</option></select></label>
        <label>Shard size (GB) <input id="export-export_size" type="number" step="any"></label>
        <label>Export folder <input id="export-export_dir" value="saves/webui-export" size="30"></label>
        <label>More keys (YAML) <input id="export-extra" size="30" placeholder="e.g. export_quantizer: q8_0"></label>
      </fieldset>
      <div class="actions"><button type="button" id="export-start" class="primary">Export</button> <button type="button" id="export-stop" disabled>Stop</button></div></form>
      <div id="export-status">no export yet</div><pre id="export-log"></pre>
    </section>
    <section id="plugins" class="panel"><table id="plugin-table"><thead><tr><th>kind</th><th>name</th><th>version</th><th>features</th><th>file</th><th>description</th></tr></thead><tbody></tbody></table>
      <ul id="plugin-notices"></ul></section>
    </main>
    <dialog id="picker"><div id="picker-path"></div><div id="picker-error" class="error"></div><ul id="picker-list"></ul>
      <button type="button" id="picker-close">Close</button></dialog>
    <script src="/app.js"></script>
    </body></html>
    """

    static let style = """
    body { font: 14px system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
    header { display: flex; align-items: center; gap: 2em; padding: 0.5em 1em; background: #24292f; color: white; }
    header h1 { font-size: 1.2em; margin: 0; }
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
    #chat-transcript { max-width: 60em; } .message { margin: 0.4em 0; padding: 0.4em 0.6em; border-radius: 6px; white-space: pre-wrap; }
    .message.user { background: #e8f0fe; } .message.assistant { background: #f1f3f4; } .message.error { color: #b00020; }
    mark { background: #d4f5d4; } #template-summary.same { color: #1a7f37; } #template-summary.different { color: #b00020; }
    dialog li { cursor: pointer; } dialog li.folder::before { content: "📁 "; } dialog li.model { font-weight: bold; }
    """

    static let script = """
    'use strict';
    const token = new URLSearchParams(location.search).get('token');
    const headers = token ? { 'Authorization': 'Bearer ' + token } : {};
    const withToken = url => token ? url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : url;
    const $ = id => document.getElementById(id);
    async function api(path, body) {
      const response = await fetch(path, body === undefined ? { headers } : { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      const data = await response.json();
      if (!response.ok) throw new Error(data.error || response.statusText);
      return data;
    }
    document.querySelectorAll('.tab').forEach(tab => tab.onclick = () => {
      document.querySelectorAll('.tab, .panel').forEach(e => e.classList.remove('active'));
      tab.classList.add('active'); $(tab.dataset.tab).classList.add('active');
    });
    const fieldNames = ['model_name_or_path', 'template', 'quantizer', 'attention_kernel', 'stage', 'finetuning_type', 'lora_rank', 'lora_alpha',
      'lora_dropout', 'lora_target', 'use_dora', 'use_rslora', 'loraplus_lr_ratio', 'dataset_dir', 'dataset', 'cutoff_len', 'learning_rate',
      'num_train_epochs', 'max_steps', 'per_device_train_batch_size', 'gradient_accumulation_steps', 'lr_scheduler_type', 'logging_steps',
      'save_steps', 'output_dir'];
    const loraOnly = ['lora_rank', 'lora_alpha', 'lora_dropout', 'lora_target', 'use_dora', 'use_rslora', 'loraplus_lr_ratio'];
    function fields() {
      const out = {};
      const lora = $('finetuning_type').value === 'lora';
      for (const name of fieldNames) {
        const e = $(name);
        if (!lora && loraOnly.includes(name)) continue;
        if (e.type === 'checkbox') { if (e.checked) out[name] = true; }
        else if (e.multiple) { const v = [...e.selectedOptions].map(o => o.value); if (v.length) out[name] = v; }
        else if (e.value !== '') out[name] = e.type === 'number' ? Number(e.value) : e.value;
      }
      return { fields: out, extra: $('extra').value };
    }
    $('preview-button').onclick = async () => {
      try { $('preview').textContent = 'factory run config.yaml\\n\\n' + (await api('/api/preview', fields())).yaml; }
      catch (e) { $('preview').textContent = 'error: ' + e.message; }
      $('preview').hidden = false;
    };
    $('save-yaml').onclick = async () => {
      const yaml = (await api('/api/preview', fields())).yaml;
      const a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([yaml], { type: 'text/yaml' })); a.download = 'factory_run.yaml'; a.click();
    };
    $('load-yaml').onchange = async event => {
      const text = await event.target.files[0].text(), extra = [];
      for (const line of text.split('\\n')) {
        const m = line.match(/^([A-Za-z0-9_]+):\\s*(.*?)\\s*$/);
        if (!m) { if (line.trim() && !line.startsWith('#')) extra.push(line); continue; }
        const [, key, raw] = m, value = raw.replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1'), e = $(key);
        if (!e || !fieldNames.includes(key)) { extra.push(line); continue; }
        if (e.type === 'checkbox') e.checked = value === 'true';
        else if (e.multiple) { const wanted = value.split(','); for (const name of wanted) if (![...e.options].some(o => o.value === name)) e.add(new Option(name, name)); [...e.options].forEach(o => o.selected = wanted.includes(o.value)); }
        else e.value = value;
      }
      $('extra').value = extra.join('\\n');
    };
    async function loadDatasets() {
      const select = $('dataset'), chosen = [...select.selectedOptions].map(o => o.value);
      try {
        const info = await api('/api/datasets?dir=' + encodeURIComponent($('dataset_dir').value));
        select.innerHTML = '';
        for (const name of info.datasets) select.add(new Option(name, name, false, chosen.includes(name)));
      } catch (e) { select.innerHTML = ''; select.add(new Option('(' + e.message + ')', '')); }
    }
    $('load-datasets').onclick = loadDatasets;
    async function browse(path) {
      $('picker-error').textContent = '';
      try {
        const listing = await api('/api/folders' + (path ? '?path=' + encodeURIComponent(path) : ''));
        $('picker-path').textContent = listing.path || 'folders';
        const list = $('picker-list'); list.innerHTML = '';
        if (listing.path) { const up = document.createElement('li'); up.textContent = '..'; up.className = 'folder'; up.onclick = () => browse(listing.path + '/..'); list.append(up); }
        for (const entry of listing.entries) {
          const li = document.createElement('li');
          li.textContent = entry.name; li.dataset.path = entry.path;
          li.className = (entry.folder ? 'folder' : '') + (entry.model ? ' model' : '');
          li.onclick = () => { if (entry.model) { $('model_name_or_path').value = entry.path; $('picker').close(); keepForm(); matchTemplate(); } else if (entry.folder) browse(entry.path); };
          list.append(li);
        }
      } catch (e) { $('picker-error').textContent = e.message; }
      if (!$('picker').open) $('picker').showModal();
    }
    $('browse-model').onclick = () => browse($('picker-path').dataset.last);
    $('picker-close').onclick = () => $('picker').close();
    window.factoryBrowse = browse;

    let source = null, points = [];
    function drawChart() {
      const svg = $('chart'), w = 600, h = 220, pad = 30;
      if (!points.length) { svg.innerHTML = ''; return; }
      const steps = points.map(p => p.step), losses = points.map(p => p.loss);
      const [x0, x1] = [Math.min(...steps), Math.max(...steps, Math.min(...steps) + 1)], [y0, y1] = [Math.min(...losses), Math.max(...losses)];
      const x = s => pad + (w - 2 * pad) * (s - x0) / (x1 - x0), y = l => h - pad - (h - 2 * pad) * (y1 > y0 ? (l - y0) / (y1 - y0) : 0.5);
      const rates = points.map(p => p.lr).filter(v => v !== undefined), r1 = Math.max(...rates, 0);
      const yr = v => h - pad - (h - 2 * pad) * (r1 > 0 ? v / r1 : 0);
      svg.innerHTML = `<polyline class="loss" points="${points.map(p => x(p.step) + ',' + y(p.loss)).join(' ')}"/>` +
        (rates.length ? `<polyline class="lr" points="${points.filter(p => p.lr !== undefined).map(p => x(p.step) + ',' + yr(p.lr)).join(' ')}"/>` +
                        `<text x="${w - pad - 120}" y="${pad - 8}" class="lr">learning rate ≤ ${r1.toExponential(2)}</text>` : '') +
        points.map(p => `<circle class="point" r="3" cx="${x(p.step)}" cy="${y(p.loss)}"><title>step ${p.step}: loss ${p.loss}</title></circle>`).join('') +
        `<text x="${pad}" y="${pad - 8}">loss ${y1.toFixed(4)}</text><text x="${pad}" y="${h - 8}">loss ${y0.toFixed(4)}; step ${x0}…${x1}</text>`;
    }
    function attach(run) {
      if (source) source.close();
      points = []; drawChart(); $('log').textContent = '';
      $('run-status').dataset.run = run.id;
      source = new EventSource(withToken('/api/runs/' + run.id + '/events'));
      source.addEventListener('output', e => { const log = $('log'); log.textContent += JSON.parse(e.data) + '\\n'; log.scrollTop = log.scrollHeight; });
      source.addEventListener('step', e => {
        const r = JSON.parse(e.data);
        if (r.loss === undefined || r.current_steps === undefined) return;
        points = points.filter(p => p.step < r.current_steps).concat([{ step: r.current_steps, loss: r.loss, lr: r.lr }]);
        $('progress').max = r.total_steps; $('progress').value = r.current_steps;
        drawChart();
      });
      source.addEventListener('status', e => {
        const r = JSON.parse(e.data);
        $('run-status').textContent = `run ${r.id}: ${r.status}` + (r.exit_status !== null ? ` (exit ${r.exit_status})` : '') + ` — ${r.output_dir}`;
        $('run-status').dataset.status = r.status;
        $('stop').disabled = r.status !== 'running'; $('start').disabled = r.status === 'running';
      });
      source.addEventListener('end', () => source.close());
    }
    $('start').onclick = async () => {
      try { attach(await api('/api/runs', fields())); }
      catch (e) { $('run-status').textContent = 'error: ' + e.message; $('run-status').dataset.status = 'refused'; }
    };
    $('stop').onclick = async () => { try { await api('/api/runs/' + $('run-status').dataset.run + '/stop', {}); } catch (e) { $('run-status').textContent = 'error: ' + e.message; } };

    // Chat: a model loaded into its own `factory api` process; answers stream back over the web UI
    let history = [], chatAbort = null;
    function chatMessage(role, text) {
      const div = document.createElement('div');
      div.className = 'message ' + role; div.textContent = text; $('chat-transcript').append(div);
      return div;
    }
    function showChat(state) {
      $('chat-status').dataset.state = state.loaded ? 'ready' : 'empty';
      $('chat-status').textContent = state.loaded ? 'ready: ' + state.model_name_or_path + (state.adapter_name_or_path ? ' + ' + state.adapter_name_or_path : '') : 'no model loaded';
    }
    $('chat-load').onclick = async () => {
      const fields = { model_name_or_path: $('chat-model').value };
      if ($('chat-adapter').value) fields.adapter_name_or_path = $('chat-adapter').value;
      if ($('chat-template').value) fields.template = $('chat-template').value;
      $('chat-status').dataset.state = 'loading'; $('chat-status').textContent = 'loading…';
      try { showChat(await api('/api/chat/load', { fields, extra: $('chat-extra').value.replace(/;\\s*/g, '\\n') })); }
      catch (e) { $('chat-status').dataset.state = 'failed'; $('chat-status').textContent = 'error: ' + e.message; }
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
        try { request.tools = JSON.parse($('chat-tools').value); } catch (e) { chatMessage('error', 'tools: ' + e.message); return; }
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

    // the Train tab's checks
    $('data-check').onclick = async () => {
      const out = $('data-preview'); out.hidden = false; out.textContent = 'checking…';
      try {
        const r = await api('/api/data-check', fields());
        out.innerHTML = '';
        const parts = r.text.split(/(«[^»]*»)/);
        for (const part of parts) {
          if (part.startsWith('«') && part.endsWith('»')) { const m = document.createElement('mark'); m.textContent = part.slice(1, -1); out.append(m); }
          else out.append(document.createTextNode(part));
        }
        out.dataset.state = r.ok ? 'ok' : 'failed';
      } catch (e) { out.textContent = 'error: ' + e.message; out.dataset.state = 'failed'; }
    };
    // a model picked or typed: the template plugin that renders as its own chat template is preselected
    async function matchTemplate() {
      const model = $('model_name_or_path').value, summary = $('template-summary');
      if (!model) return;
      summary.textContent = 'finding the template that matches the model…'; summary.className = '';
      try {
        const r = await api('/api/template-match?model=' + encodeURIComponent(model));
        if (r.match) { $('template').value = r.match; keepForm(); summary.textContent = r.match + ' renders as the model\\'s own chat template'; summary.className = 'same'; }
        else { summary.textContent = 'no template plugin renders as this model\\'s own template: choose one (Check template shows the differences)'; summary.className = 'different'; }
      } catch (e) { summary.textContent = 'error: ' + e.message; summary.className = 'different'; }
    }
    $('model_name_or_path').addEventListener('change', matchTemplate);
    $('template-check').onclick = async () => {
      const summary = $('template-summary');
      summary.textContent = 'checking…'; summary.className = '';
      try {
        const r = await api('/api/template-check', { fields: { model_name_or_path: $('model_name_or_path').value, template: $('template').value } });
        summary.textContent = r.summary; summary.className = / 0 different/.test(r.summary) ? 'same' : 'different';
        $('template-details').textContent = r.text; $('template-details').hidden = false;
      } catch (e) { summary.textContent = 'error: ' + e.message; summary.className = 'different'; }
    };

    // Evaluate and Export: factory eval / factory export as jobs, followed like a run
    const jobKeys = { eval: ['model_name_or_path', 'adapter_name_or_path', 'template', 'task', 'task_dir', 'n_shot', 'lang', 'batch_size', 'save_dir'],
                      export: ['model_name_or_path', 'adapter_name_or_path', 'template', 'export_format', 'infer_dtype', 'export_size', 'export_dir'] };
    const jobSources = {};
    function followJob(prefix, run) {
      if (jobSources[prefix]) jobSources[prefix].close();
      $(prefix + '-log').textContent = ''; $(prefix + '-status').dataset.run = run.id;
      const source = jobSources[prefix] = new EventSource(withToken('/api/runs/' + run.id + '/events'));
      source.addEventListener('output', e => { $(prefix + '-log').textContent += JSON.parse(e.data) + '\\n'; });
      source.addEventListener('status', e => {
        const r = JSON.parse(e.data);
        $(prefix + '-status').textContent = `${r.command} ${r.id}: ${r.status}` + (r.exit_status !== null ? ` (exit ${r.exit_status})` : '') + ` — ${r.output_dir}`;
        $(prefix + '-status').dataset.status = r.status;
        $(prefix + '-stop').disabled = r.status !== 'running';
      });
      source.addEventListener('end', () => source.close());
    }
    for (const [prefix, command] of [['eval', 'eval'], ['export', 'export']]) {
      $(prefix + '-start').onclick = async () => {
        const out = {};
        for (const key of jobKeys[command]) { const e = $(prefix + '-' + key), v = e.value; if (v !== '') out[key] = e.type === 'number' ? Number(v) : v; }
        try { followJob(prefix, await api('/api/' + command, { fields: out, extra: $(prefix + '-extra').value.replace(/;\\s*/g, '\\n') })); }
        catch (e) { $(prefix + '-status').textContent = 'error: ' + e.message; $(prefix + '-status').dataset.status = 'refused'; }
      };
      $(prefix + '-stop').onclick = () => api('/api/runs/' + $(prefix + '-status').dataset.run + '/stop', {}).catch(e => $(prefix + '-status').textContent = 'error: ' + e.message);
    }

    async function loadPlugins() {
      const listed = await api('/api/plugins'), body = document.querySelector('#plugin-table tbody');
      body.innerHTML = '';
      for (const c of listed.components) {
        const tr = document.createElement('tr');
        for (const v of [c.kind, c.name, c.version, (c.features || []).join(', '), c.file, c.description]) { const td = document.createElement('td'); td.textContent = v || ''; tr.append(td); }
        body.append(tr);
        const target = { 'chat-template': 'template', 'quantizer': 'quantizer', 'attention-kernel': 'attention_kernel' }[c.kind];
        if (target) $(target).add(new Option(c.name, c.name));
        if (c.kind === 'chat-template') for (const id of ['chat-template', 'eval-template', 'export-template']) $(id).add(new Option(c.name, c.name));
      }
      $('plugin-notices').innerHTML = '';
      for (const n of listed.notices || []) { const li = document.createElement('li'); li.textContent = typeof n === 'string' ? n : JSON.stringify(n); $('plugin-notices').append(li); }
    }
    // the form survives a reload: every field is kept in the browser's localStorage as it changes
    const formKey = 'factory-webui-train-form';
    function keepForm() {
      const kept = { extra: $('extra').value };
      for (const name of fieldNames) { const e = $(name); kept[name] = e.type === 'checkbox' ? e.checked : e.multiple ? [...e.selectedOptions].map(o => o.value) : e.value; }
      localStorage.setItem(formKey, JSON.stringify(kept));
    }
    function restoreForm() {
      const kept = JSON.parse(localStorage.getItem(formKey) || 'null');
      if (!kept) return;
      $('extra').value = kept.extra || '';
      for (const name of fieldNames) {
        const e = $(name), v = kept[name];
        if (v === undefined) continue;
        if (e.type === 'checkbox') e.checked = v;
        else if (e.multiple) { for (const n of v) if (![...e.options].some(o => o.value === n)) e.add(new Option(n, n)); [...e.options].forEach(o => o.selected = v.includes(o.value)); }
        else if (e.tagName === 'SELECT' && ![...e.options].some(o => o.value === v)) e.add(new Option(v, v, true, true));
        else e.value = v;
      }
    }
    $('train-form').addEventListener('input', keepForm);
    $('train-form').addEventListener('change', keepForm);
    (async () => {
      await loadPlugins().catch(e => $('plugin-notices').textContent = e.message);
      restoreForm();
      await loadDatasets();
      const runs = await api('/api/runs').catch(() => []);
      for (const r of runs.filter(r => r.command === 'run')) $('chat-adapters').append(new Option(r.output_dir, r.output_dir));
      for (const prefix of ['eval', 'export']) { const last = runs.filter(r => r.command === prefix).pop(); if (last) followJob(prefix, last); }
      showChat(await api('/api/chat').catch(() => ({})));
      const trainingRuns = runs.filter(r => r.command === 'run');
      const latest = trainingRuns.filter(r => r.status === 'running').pop() || trainingRuns.pop();
      if (latest) attach(latest);
      document.body.dataset.ready = 'true';
    })();
    """
}
