"""LLaMA-Factory's own SFT preprocessing of alpaca_en_demo with the smollm2 template and the
SmolLM2 tokenizer: the side-by-side number for bench/data.sh. Usage:
    python3 bench/data_llamafactory.py SHARED_DIR
Times get_dataset (read, convert, tokenize; one process, cache overwritten), best of 3.
torchaudio is stubbed: LLaMA-Factory imports it for multimodal data only."""
import importlib.machinery, os, sys, tempfile, time, types

stub = types.ModuleType("torchaudio"); stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
sys.modules.setdefault("torchaudio", stub)
os.environ.setdefault("DISABLE_VERSION_CHECK", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from llamafactory.data import get_dataset, get_template_and_fix_tokenizer  # noqa: E402
from llamafactory.hparams import get_train_args  # noqa: E402
from llamafactory.model import load_tokenizer  # noqa: E402

shared = sys.argv[1]
with tempfile.TemporaryDirectory() as out:
    args = dict(stage="sft", do_train=True, model_name_or_path=os.path.join(shared, "fixtures/smollm2/tokenizer"),
                dataset="alpaca_en_demo", dataset_dir=os.path.join(shared, "data"), template="smollm2", cutoff_len=1024,
                output_dir=out, overwrite_cache=True, report_to="none", finetuning_type="lora")
    model_args, data_args, training_args, _, _ = get_train_args(args)
    tokenizer = load_tokenizer(model_args)["tokenizer"]
    template = get_template_and_fix_tokenizer(tokenizer, data_args)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        dataset = get_dataset(template, model_args, data_args, training_args, stage="sft", tokenizer=tokenizer)
        times.append(time.perf_counter() - start)
    rows = len(dataset["train_dataset"])
    tokens = sum(len(x) for x in dataset["train_dataset"]["input_ids"])
    print(f"llamafactory: {rows} rows, {tokens} tokens, preprocessing {min(times):.2f} s (best of 3)")
