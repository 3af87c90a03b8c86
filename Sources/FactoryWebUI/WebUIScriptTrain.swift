// The Train tab's script: the form as config keys, datasets, the model picker, the live chart and log of a run,
// start and stop, and the data and template checks.
extension WebUIPage {
    static let scriptTrain = """
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
      catch (e) { say($('preview'), T('error: {message}', { message: e.message })); }
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
    async function loadDatasets(select = $('dataset'), folder = $('dataset_dir')) {
      const chosen = [...select.selectedOptions].map(o => o.value);
      try {
        const info = await api('/api/datasets?dir=' + encodeURIComponent(folder.value));
        select.innerHTML = '';
        for (const name of info.datasets) select.add(new Option(name, name, false, chosen.includes(name)));
      } catch (e) { select.innerHTML = ''; select.add(new Option('(' + e.message + ')', '')); }
    }
    $('load-datasets').onclick = () => loadDatasets();
    $('predict-load-datasets').onclick = () => loadDatasets($('predict-eval_dataset'), $('predict-dataset_dir'));
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
                        `<text x="${w - pad - 120}" y="${pad - 8}" class="lr">${t('learning rate ≤ {value}', { value: r1.toExponential(2) })}</text>` : '') +
        points.map(p => `<circle class="point" r="3" cx="${x(p.step)}" cy="${y(p.loss)}"><title>${t('step {step}: loss {loss}', { step: p.step, loss: p.loss })}</title></circle>`).join('') +
        `<text x="${pad}" y="${pad - 8}">${t('loss {value}', { value: y1.toFixed(4) })}</text>` +
        `<text x="${pad}" y="${h - 8}">${t('loss {low}; step {first}…{last}', { low: y0.toFixed(4), first: x0, last: x1 })}</text>`;
    }
    // a training run's output folder, offered as an adapter on the Chat, Evaluate and Export tabs once
    function offerAdapter(folder) {
      if (![...$('chat-adapters').options].some(o => o.value === folder)) $('chat-adapters').append(new Option(folder, folder));
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
        say($('run-status'), T('run {id}: {status}', { id: r.id, status: statusNames[r.status] || r.status }), r.exit_status !== null ? T(' (exit {code})', { code: r.exit_status }) : '', ' — ' + r.output_dir);
        $('run-status').dataset.status = r.status;
        $('stop').disabled = r.status !== 'running'; $('start').disabled = r.status === 'running';
        offerAdapter(r.output_dir);
      });
      source.addEventListener('end', () => source.close());
    }
    $('start').onclick = async () => {
      try { attach(await api('/api/runs', fields())); }
      catch (e) { say($('run-status'), T('error: {message}', { message: e.message })); $('run-status').dataset.status = 'refused'; }
    };
    $('stop').onclick = async () => { try { await api('/api/runs/' + $('run-status').dataset.run + '/stop', {}); } catch (e) { say($('run-status'), T('error: {message}', { message: e.message })); } };

    // the Train tab's checks
    $('data-check').onclick = async () => {
      const out = $('data-preview'); out.hidden = false; say(out, T('checking…'));
      try {
        const r = await api('/api/data-check', fields());
        out.innerHTML = '';
        const parts = r.text.split(/(«[^»]*»)/);
        for (const part of parts) {
          if (part.startsWith('«') && part.endsWith('»')) { const m = document.createElement('mark'); m.textContent = part.slice(1, -1); out.append(m); }
          else out.append(document.createTextNode(part));
        }
        out.dataset.state = r.ok ? 'ok' : 'failed';
      } catch (e) { say(out, T('error: {message}', { message: e.message })); out.dataset.state = 'failed'; }
    };
    // a model picked or typed: the template plugin that renders as its own chat template is preselected
    async function matchTemplate() {
      const model = $('model_name_or_path').value, summary = $('template-summary');
      if (!model) return;
      say(summary, T('finding the template that matches the model…')); summary.className = '';
      try {
        const r = await api('/api/template-match?model=' + encodeURIComponent(model));
        if (r.match) { $('template').value = r.match; keepForm(); say(summary, T("{template} renders as the model's own chat template", { template: r.match })); summary.className = 'same'; }
        else { say(summary, T("no template plugin renders as this model's own template: choose one (Check template shows the differences)")); summary.className = 'different'; }
      } catch (e) { say(summary, T('error: {message}', { message: e.message })); summary.className = 'different'; }
    }
    $('model_name_or_path').addEventListener('change', matchTemplate);
    $('template-check').onclick = async () => {
      const summary = $('template-summary');
      say(summary, T('checking…')); summary.className = '';
      try {
        const r = await api('/api/template-check', { fields: { model_name_or_path: $('model_name_or_path').value, template: $('template').value } });
        say(summary, r.summary); summary.className = / 0 different/.test(r.summary) ? 'same' : 'different';
        $('template-details').textContent = r.text; $('template-details').hidden = false;
      } catch (e) { say(summary, T('error: {message}', { message: e.message })); summary.className = 'different'; }
    };
    """
}
