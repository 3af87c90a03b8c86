// The page's languages (issue 24): LlamaBoard's five, the static texts translated in place, the script's
// messages said again on a switch (say/T), and the check the browser test asks (factoryUntranslated).
extension WebUIPage {
    static let scriptLanguage = """
    // the page's language: English as written, or one of LlamaBoard's other four (locales.js, keyed by the English
    // text). Static texts (and placeholder, title, aria-label) are translated in place and keep their English for the
    // next switch; a message the script shows is made by say(element, T(key, values) or plain text, …), which
    // keeps its parts to be said again in another language. What factory prints (logs, errors) stays English.
    const languages = { en: 'English', ru: 'Русский', zh: '中文', ko: '한국어', ja: '日本語' };
    let lang = localStorage.getItem('factory-webui-lang') || (navigator.language || 'en').slice(0, 2);
    if (!(lang in languages)) lang = 'en';
    const t = (key, values = {}) => ((lang !== 'en' && locales[lang][key]) || key).replace(/\\{(\\w+)\\}/g, (m, k) => k in values ? String(values[k]) : m);
    const T = (key, values = {}) => ({ key, values });
    const statusNames = { running: T('running'), finished: T('finished'), stopped: T('stopped'), failed: T('failed') };
    const jobNames = { train: T('train'), predict: T('predict'), eval: T('eval'), export: T('export') };
    const said = part => typeof part === 'string' ? part : t(part.key, Object.fromEntries(Object.entries(part.values).map(([k, v]) => [k, v && v.key ? said(v) : v])));
    function say(element, ...parts) { element.dataset.say = JSON.stringify(parts); element.textContent = parts.map(said).join(''); }
    const translatedAttributes = ['placeholder', 'title', 'aria-label'];
    function* staticTexts(root) {  // the text nodes a translation may change: not in [translate=no], scripts, styles or pre
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let node; (node = walker.nextNode());) {
        if (node.textContent.trim() && !node.parentElement.closest('[translate=no], script, style, pre')) yield node;
      }
    }
    const english = new WeakMap();
    function setLanguage(chosen) {
      lang = chosen; localStorage.setItem('factory-webui-lang', lang);
      document.documentElement.lang = lang; $('lang').value = lang;
      for (const node of staticTexts(document.body)) {
        if (!english.has(node)) english.set(node, node.textContent);
        const original = english.get(node);
        node.textContent = original.replace(original.trim(), t(original.trim()));
      }
      for (const a of translatedAttributes) for (const e of document.querySelectorAll(`[${a}]`)) {
        if (e.closest('[translate=no]')) continue;
        const kept = 'en' + a.replace(/-/g, '');  // the English value, kept in data-en<attribute>
        if (!e.dataset[kept]) e.dataset[kept] = e.getAttribute(a);
        e.setAttribute(a, t(e.dataset[kept]));
      }
      for (const e of document.querySelectorAll('[data-say]')) e.textContent = JSON.parse(e.dataset.say).map(said).join('');
      drawChart();
    }
    // the English texts of the page as served that `language` has no translation for (the browser test asks)
    window.factoryUntranslated = async language => {
      const page = new DOMParser().parseFromString(await (await fetch('/')).text(), 'text/html'), keys = new Set();
      for (const node of staticTexts(page.body)) keys.add(node.textContent.trim());
      for (const a of translatedAttributes) for (const e of page.querySelectorAll(`[${a}]`)) if (!e.closest('[translate=no]')) keys.add(e.getAttribute(a));
      return [...keys].filter(k => !locales[language][k]);
    };
    for (const [code, name] of Object.entries(languages)) $('lang').add(new Option(name, code));
    $('lang').onchange = () => setLanguage($('lang').value);
    """
}
