// The web UI's page, compiled into the binary: no npm, no CDN, nothing fetched but this server's own routes.
// Plain HTML, CSS and JavaScript; the loss chart is drawn as SVG by the script. Element ids are what the
// browser tests drive (Tests/CLITests/Scripts/webui_browser.py).
enum WebUIPage {
    static let html = """
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>Factory</title>
    <meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/style.css"><link rel="icon" href="data:,"></head>
    <body>
    <header><h1 translate="no">Factory</h1><nav>
      <button class="tab active" data-tab="train" id="tab-train">Train</button>
      <button class="tab" data-tab="chat" id="tab-chat">Chat</button>
      <button class="tab" data-tab="evaluate" id="tab-evaluate">Evaluate</button>
      <button class="tab" data-tab="export" id="tab-export">Export</button>
      <button class="tab" data-tab="plugins" id="tab-plugins">Plugins</button>
    </nav><select id="lang" translate="no" aria-label="Language"></select></header>
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
          <label>Stage <select id="stage" name="stage" translate="no"><option>sft</option><option>pt</option><option>dpo</option><option>kto</option><option>rm</option></select></label>
          <label>Finetuning type <select id="finetuning_type" name="finetuning_type" translate="no"><option>lora</option><option>full</option><option>freeze</option></select></label>
          <label>LoRA rank <input id="lora_rank" name="lora_rank" type="number" value="8"></label>
          <label>LoRA alpha <input id="lora_alpha" name="lora_alpha" type="number" value="16"></label>
          <label>LoRA dropout <input id="lora_dropout" name="lora_dropout" type="number" step="0.01" value="0"></label>
          <label>LoRA targets <input id="lora_target" name="lora_target" value="all"></label>
          <label translate="no"><input id="use_dora" name="use_dora" type="checkbox"> DoRA</label>
          <label translate="no"><input id="use_rslora" name="use_rslora" type="checkbox"> rsLoRA</label>
          <label>LoRA+ ratio <input id="loraplus_lr_ratio" name="loraplus_lr_ratio" type="number" step="any"></label>
        </fieldset>
        <fieldset><legend>Data</legend>
          <label>Dataset folder <input id="dataset_dir" name="dataset_dir" value="data"> <button type="button" id="load-datasets">List datasets</button></label>
          <label>Datasets <select id="dataset" name="dataset" multiple size="4" translate="no"></select></label>
          <label>Cutoff length <input id="cutoff_len" name="cutoff_len" type="number" value="1024"></label>
          <button type="button" id="data-check">Preview data</button>
        </fieldset>
        <fieldset><legend>Hyperparameters</legend>
          <label>Learning rate <input id="learning_rate" name="learning_rate" type="number" step="any" value="0.0001"></label>
          <label>Epochs <input id="num_train_epochs" name="num_train_epochs" type="number" step="any" value="3"></label>
          <label>Max steps <input id="max_steps" name="max_steps" type="number"></label>
          <label>Batch size <input id="per_device_train_batch_size" name="per_device_train_batch_size" type="number" value="1"></label>
          <label>Gradient accumulation <input id="gradient_accumulation_steps" name="gradient_accumulation_steps" type="number" value="1"></label>
          <label>Scheduler <select id="lr_scheduler_type" name="lr_scheduler_type" translate="no"><option>cosine</option><option>linear</option><option>constant</option><option>constant_with_warmup</option></select></label>
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
      <div id="chat-transcript" translate="no"></div>
      <div class="actions"><input id="chat-input" size="80" placeholder="Message"> <button type="button" id="chat-send" class="primary">Send</button>
        <button type="button" id="chat-stop" disabled>Stop</button> <button type="button" id="chat-clear">Clear</button></div>
    </section>

    <section id="evaluate" class="panel">
      <form onsubmit="return false"><fieldset><legend>Model</legend>
        <label>Model <input id="eval-model_name_or_path" size="50"></label>
        <label>Adapter <input id="eval-adapter_name_or_path" size="40" list="chat-adapters"></label>
        <label>Template <select id="eval-template" class="templates"><option value="">(the model's own)</option></select></label>
        <label>More keys (YAML) <input id="eval-extra" size="30"></label>
      </fieldset>
      <fieldset><legend>Benchmark: factory eval (multiple-choice, LLaMA-Factory's task folders)</legend>
        <label>Task <input id="eval-task" value="minimmlu_test"></label>
        <label>Task folder <input id="eval-task_dir" value="examples/eval"></label>
        <label>Shots <input id="eval-n_shot" type="number" value="5"></label>
        <label>Language <select id="eval-lang" translate="no"><option>en</option><option>zh</option></select></label>
        <label>Batch size <input id="eval-batch_size" type="number" value="4"></label>
        <label>Results folder <input id="eval-save_dir" value="saves/webui-eval" size="30"></label>
        <div class="actions"><button type="button" id="eval-start" class="primary">Evaluate</button> <button type="button" id="eval-stop" disabled>Stop</button></div>
        <div id="eval-status">no evaluation yet</div><table id="eval-metrics" class="metrics" translate="no" hidden></table><pre id="eval-log"></pre>
      </fieldset>
      <fieldset><legend>Predict: generate an answer for each row of a dataset (BLEU-4, ROUGE)</legend>
        <label>Dataset folder <input id="predict-dataset_dir" value="data"> <button type="button" id="predict-load-datasets">List datasets</button></label>
        <label>Datasets <select id="predict-eval_dataset" multiple size="3" translate="no"></select></label>
        <label>Cutoff length <input id="predict-cutoff_len" type="number" value="1024"></label>
        <label>Max samples <input id="predict-max_samples" type="number" value="100"></label>
        <label>Batch size <input id="predict-per_device_eval_batch_size" type="number" value="8"></label><br>
        <label>Max new tokens <input id="predict-max_new_tokens" type="number" value="512"></label>
        <label>Top p <input id="predict-top_p" type="number" step="0.05" value="0.7"></label>
        <label>Temperature <input id="predict-temperature" type="number" step="0.05" value="0.95"></label>
        <label>Output folder <input id="predict-output_dir" value="saves/webui-predict" size="30"></label>
        <div class="actions"><button type="button" id="predict-start" class="primary">Predict</button> <button type="button" id="predict-stop" disabled>Stop</button></div>
        <div id="predict-status">no prediction yet</div><progress id="predict-progress" max="1" value="0"></progress> <span id="predict-progress-line" translate="no"></span>
        <table id="predict-metrics" class="metrics" translate="no" hidden></table>
        <table id="predict-rows" hidden><thead><tr><th>prompt</th><th>prediction</th><th>label</th></tr></thead><tbody translate="no"></tbody></table>
        <pre id="predict-log"></pre>
      </fieldset></form>
    </section>
    <section id="export" class="panel">
      <form onsubmit="return false"><fieldset><legend>factory export (adapters merged; a Hugging Face folder or a GGUF)</legend>
        <label>Model <input id="export-model_name_or_path" size="50"></label>
        <label>Adapter <input id="export-adapter_name_or_path" size="40" list="chat-adapters"></label>
        <label>Template <select id="export-template" class="templates"><option value="">(the model's own)</option></select></label><br>
        <label>Format <select id="export-export_format" translate="no"><option>hf</option><option>gguf</option><option>gguf_lora</option></select></label>
        <label>dtype <select id="export-infer_dtype" translate="no"><option>auto</option><option>float32</option><option>float16</option><option>bfloat16</option></select></label>
        <label>Shard size (GB) <input id="export-export_size" type="number" step="any"></label>
        <label>Export folder <input id="export-export_dir" value="saves/webui-export" size="30"></label>
        <label>More keys (YAML) <input id="export-extra" size="30" placeholder="e.g. export_quantizer: q8_0"></label>
      </fieldset>
      <div class="actions"><button type="button" id="export-start" class="primary">Export</button> <button type="button" id="export-stop" disabled>Stop</button></div></form>
      <div id="export-status">no export yet</div><pre id="export-log"></pre>
    </section>
    <section id="plugins" class="panel"><table id="plugin-table"><thead><tr><th>kind</th><th>name</th><th>version</th><th>features</th><th>file</th><th>description</th></tr></thead><tbody translate="no"></tbody></table>
      <ul id="plugin-notices" translate="no"></ul></section>
    </main>
    <dialog id="picker"><div id="picker-path" translate="no"></div><div id="picker-error" class="error"></div><ul id="picker-list" translate="no"></ul>
      <button type="button" id="picker-close">Close</button></dialog>
    <script src="/locales.js"></script><script src="/app.js"></script>
    </body></html>
    """
}
