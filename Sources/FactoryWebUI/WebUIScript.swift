// The web UI page's script, served as /app.js: one script made of the parts below and in the WebUIScript*
// files (so that each part may call the others' functions), ending with the start that fills the page and
// attaches to what runs.
extension WebUIPage {
    static let script = [scriptCore, scriptLanguage, scriptTrain, scriptChat, scriptJobs, scriptStart].joined(separator: "\n")

    /// The routes' helper, the tabs.
    static let scriptCore = """
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
    """

    /// The form kept in the browser, and the start.
    static let scriptStart = """
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
      setLanguage(lang);
      restoreForm();
      await loadDatasets();
      const runs = await api('/api/runs').catch(() => []);
      for (const r of runs.filter(r => r.job === 'train')) offerAdapter(r.output_dir);
      for (const prefix of Object.keys(jobs)) { const last = runs.filter(r => r.job === prefix).pop(); if (last) followJob(prefix, last); }
      showChat(await api('/api/chat').catch(() => ({})));
      const trainingRuns = runs.filter(r => r.job === 'train');
      const latest = trainingRuns.filter(r => r.status === 'running').pop() || trainingRuns.pop();
      if (latest) attach(latest);
      document.body.dataset.ready = 'true';
    })();
    """
}
