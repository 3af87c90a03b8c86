// The Evaluate and Export tabs' script (jobs followed like a run, their results shown) and the Plugins tab's.
extension WebUIPage {
    static let scriptJobs = """
    // Evaluate (factory eval), Predict (factory run with do_predict) and Export (factory export): jobs followed like a run;
    // each job's keys are read from the inputs named <prefix>-<key>, and the Evaluate tab's model fieldset serves both of its jobs
    const modelKeys = ['model_name_or_path', 'adapter_name_or_path', 'template'];
    const jobs = {
      eval: { route: 'eval', model: 'eval', keys: ['task', 'task_dir', 'n_shot', 'lang', 'batch_size', 'save_dir'] },
      predict: { route: 'predict', model: 'eval', keys: ['dataset_dir', 'eval_dataset', 'cutoff_len', 'max_samples', 'per_device_eval_batch_size',
                                                         'max_new_tokens', 'top_p', 'temperature', 'output_dir'] },
      export: { route: 'export', model: 'export', keys: ['export_format', 'infer_dtype', 'export_size', 'export_dir'] },
    };
    const jobSources = {};
    function showResults(prefix, results) {
      const metrics = $(prefix + '-metrics');
      if (metrics && results.metrics) {
        metrics.innerHTML = '';
        for (const [key, value] of Object.entries(results.metrics)) {
          if (typeof value === 'object') continue;
          const tr = metrics.insertRow(); tr.insertCell().textContent = key; tr.insertCell().textContent = value;
        }
        metrics.hidden = false;
      }
      const rows = $(prefix + '-rows');
      if (rows && results.predictions) {
        const body = rows.tBodies[0]; body.innerHTML = '';
        for (const p of results.predictions) { const tr = body.insertRow(); for (const v of [p.prompt, p.predict, p.label]) tr.insertCell().textContent = v; }
        rows.hidden = false;
      }
    }
    function followJob(prefix, run) {
      if (jobSources[prefix]) jobSources[prefix].close();
      $(prefix + '-log').textContent = ''; $(prefix + '-status').dataset.run = run.id;
      for (const id of [prefix + '-metrics', prefix + '-rows']) if ($(id)) $(id).hidden = true;
      const source = jobSources[prefix] = new EventSource(withToken('/api/runs/' + run.id + '/events'));
      const count = line => {  // a counter the job rewrites in place, "generated 3/8 examples, …", and its last value
        const counted = /(\\d+)\\/(\\d+) (examples|questions)/.exec(line);
        if (!counted) return;
        if ($(prefix + '-progress-line')) $(prefix + '-progress-line').textContent = line;
        if ($(prefix + '-progress')) { $(prefix + '-progress').max = Number(counted[2]); $(prefix + '-progress').value = Number(counted[1]); }
      };
      source.addEventListener('output', e => { const line = JSON.parse(e.data); count(line); $(prefix + '-log').textContent += line + '\\n'; });
      source.addEventListener('progress', e => count(JSON.parse(e.data)));
      source.addEventListener('status', async e => {
        const r = JSON.parse(e.data);
        say($(prefix + '-status'), T('{job} {id}: {status}', { job: jobNames[r.job] || r.job, id: r.id, status: statusNames[r.status] || r.status }), r.exit_status !== null ? T(' (exit {code})', { code: r.exit_status }) : '', ' — ' + r.output_dir);
        $(prefix + '-stop').disabled = r.status !== 'running';
        if (r.status === 'finished') showResults(prefix, await api('/api/runs/' + r.id + '/results').catch(() => ({})));
        $(prefix + '-status').dataset.status = r.status;
      });
      source.addEventListener('end', () => source.close());
    }
    for (const [prefix, job] of Object.entries(jobs)) {
      $(prefix + '-start').onclick = async () => {
        const out = {};
        for (const key of modelKeys) { const v = $(job.model + '-' + key).value; if (v !== '') out[key] = v; }
        for (const key of job.keys) {
          const e = $(prefix + '-' + key);
          if (e.multiple) { const v = [...e.selectedOptions].map(o => o.value); if (v.length) out[key] = v; }
          else if (e.value !== '') out[key] = e.type === 'number' ? Number(e.value) : e.value;
        }
        try { followJob(prefix, await api('/api/' + job.route, { fields: out, extra: $(job.model + '-extra').value.replace(/;\\s*/g, '\\n') })); }
        catch (e) { say($(prefix + '-status'), T('error: {message}', { message: e.message })); $(prefix + '-status').dataset.status = 'refused'; }
      };
      $(prefix + '-stop').onclick = () => api('/api/runs/' + $(prefix + '-status').dataset.run + '/stop', {}).catch(e => say($(prefix + '-status'), T('error: {message}', { message: e.message })));
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
    """
}
