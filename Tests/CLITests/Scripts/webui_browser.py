"""Drives `factory webui` in headless Chromium through Selenium (issue 24): the Plugins tab, a 3-step LoRA run
filled in on the Train tab and watched to its end on the chart, a picker path outside WEBUI_ROOTS refused, a
long run reattached after a page reload, a second start into its output_dir refused, and Stop (SIGINT).
Then the Chat tab: the short run's adapter loaded over the tiny model answers, streamed. The Evaluate tab runs
a benchmark and predicts on the demo data. Last, the page in LlamaBoard's four other languages. With SMOLLM2 (the
word), SmolLM2 is also trained on the identity data from the Train tab and, on the Chat tab with that new
adapter, says who it now is.
Usage: webui_browser.py URL TINY_MODEL OUT_DIR [SCREENSHOT_DIR [smollm2]]. Prints one JSON line of what it saw; exits
non-zero, naming the step, on the first failure."""
import json, sys, time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

url, model, out = sys.argv[1:4]
shots = sys.argv[4] if len(sys.argv) > 4 else None
identity = len(sys.argv) > 5 and sys.argv[5] == "smollm2"
options = webdriver.ChromeOptions()
for flag in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1400"]:
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
seen = {}


def wait(what, condition, seconds=120):
    def holds(_):
        try:
            return condition()
        except Exception:  # an element replaced while it was read: ask again
            return False
    try:
        return WebDriverWait(driver, seconds, poll_frequency=0.1).until(holds)
    except Exception:
        sys.exit(f"webui_browser: timed out waiting for {what}; status: {status()!r}; log: {driver.find_element(By.ID, 'log').text[-800:]!r}")


def status():
    e = driver.find_element(By.ID, "run-status")
    return e.get_attribute("data-status"), e.text


def fill(element_id, value):
    e = driver.find_element(By.ID, element_id)
    e.clear()
    e.send_keys(str(value))


def points():
    return len(driver.find_elements(By.CSS_SELECTOR, "#chart circle.point"))


def start_run(what):
    """Start on the Train tab, then wait until the page follows the new run: until then the status and the chart
    are the previous run's."""
    previous = driver.find_element(By.ID, "run-status").get_attribute("data-run")
    driver.find_element(By.ID, "start").click()
    wait("the page to follow " + what, lambda: driver.find_element(By.ID, "run-status").get_attribute("data-run") != previous, 20)


def shot(name):
    if shots:
        driver.save_screenshot(f"{shots}/webui-{name}.png")


try:
    started = time.time()
    driver.get(url)
    wait("the page to load", lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60)
    seen["interactive_seconds"] = round(time.time() - started, 3)
    seen["page_bytes"] = driver.execute_script(
        "return performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))"
        ".filter(e => !e.name.includes('/api/')).reduce((s, e) => s + (e.transferSize || e.encodedBodySize || 0), 0)")

    driver.find_element(By.ID, "tab-plugins").click()
    rows = driver.find_elements(By.CSS_SELECTOR, "#plugin-table tbody tr")
    kinds = {r.find_elements(By.TAG_NAME, "td")[0].text for r in rows}
    assert {"model-family", "chat-template", "finetuning-method", "quantizer", "attention-kernel"} <= kinds, kinds
    seen["plugins"] = len(rows)
    shot("plugins")
    driver.find_element(By.ID, "tab-train").click()

    fill("model_name_or_path", model)
    Select(driver.find_element(By.ID, "template")).select_by_value("chatml")
    fill("dataset_dir", "examples/data")
    driver.find_element(By.ID, "load-datasets").click()
    wait("the dataset list", lambda: any(o.get_attribute("value") == "factory_demo" for o in driver.find_elements(By.CSS_SELECTOR, "#dataset option")))
    Select(driver.find_element(By.ID, "dataset")).select_by_value("factory_demo")
    for key, value in [("cutoff_len", 64), ("max_steps", 3), ("per_device_train_batch_size", 2), ("logging_steps", 1),
                       ("learning_rate", 0.001), ("output_dir", out + "/short")]:
        fill(key, value)
    fill("extra", "allow_template_mismatch: true")
    driver.find_element(By.ID, "data-check").click()
    wait("the data preview", lambda: driver.find_element(By.ID, "data-preview").get_attribute("data-state") in ("ok", "failed"), 60)
    assert driver.find_element(By.ID, "data-preview").get_attribute("data-state") == "ok", driver.find_element(By.ID, "data-preview").text
    marked = driver.find_elements(By.CSS_SELECTOR, "#data-preview mark")
    assert marked and "train rows 32" in driver.find_element(By.ID, "data-preview").text, driver.find_element(By.ID, "data-preview").text[:300]
    seen["data_preview_marks"] = len(marked)
    driver.find_element(By.ID, "preview-button").click()
    wait("the preview", lambda: "max_steps: 3" in driver.find_element(By.ID, "preview").text)
    assert 'dataset: "factory_demo"' in driver.find_element(By.ID, "preview").text
    start_run("the short run")
    wait("the short run to finish", lambda: status()[0] == "finished")
    wait("three points on the chart", lambda: points() == 3, 10)
    assert driver.find_elements(By.CSS_SELECTOR, "#chart polyline.lr"), "the learning rate drawn beside the loss"
    seen["short_run"] = status()[1]
    offered = [o.get_attribute("value") for o in driver.find_elements(By.CSS_SELECTOR, "#chat-adapters option")]
    assert any(v.endswith("/short") for v in offered), f"the new run offered as an adapter without a reload: {offered}"
    shot("train")

    driver.execute_script("window.factoryBrowse('/etc')")
    wait("the picker's refusal", lambda: "outside the folders" in driver.find_element(By.ID, "picker-error").text, 10)
    seen["refused"] = driver.find_element(By.ID, "picker-error").text
    shot("picker")
    driver.find_element(By.ID, "picker-close").click()

    if identity:  # SmolLM2 typed in: the smollm2 plugin is preselected as its own template's match, and checks the same
        Select(driver.find_element(By.ID, "template")).select_by_value("")
        fill("model_name_or_path", "HuggingFaceTB/SmolLM2-135M-Instruct")
        driver.find_element(By.ID, "model_name_or_path").send_keys(Keys.TAB)
        wait("the template match", lambda: driver.find_element(By.ID, "template-summary").get_attribute("class") in ("same", "different"), 120)
        seen["template_match"] = driver.find_element(By.ID, "template-summary").text
        assert Select(driver.find_element(By.ID, "template")).first_selected_option.get_attribute("value") == "smollm2", seen["template_match"]
        driver.find_element(By.ID, "template-check").click()
        wait("the template check to start", lambda: "checking" in driver.find_element(By.ID, "template-summary").text or
             driver.find_element(By.ID, "template-summary").text.startswith("smollm2 vs"), 10)
        wait("the template check", lambda: driver.find_element(By.ID, "template-summary").text.startswith("smollm2 vs"), 120)
        seen["template_check"] = driver.find_element(By.ID, "template-summary").text
        # SmolLM2 learns who it is from the identity data, started and watched from this tab
        dataset = Select(driver.find_element(By.ID, "dataset"))
        dataset.deselect_all()
        dataset.select_by_value("identity")
        for key, value in [("max_steps", 12), ("per_device_train_batch_size", 4), ("learning_rate", 0.002), ("logging_steps", 4),
                           ("output_dir", out + "/identity")]:
            fill(key, value)
        fill("extra", "")
        start_run("the identity run")
        wait("the identity run to finish", lambda: status()[0] in ("finished", "failed"), 600)
        assert status()[0] == "finished", driver.find_element(By.ID, "log").text[-600:]
        seen["identity_run"] = status()[1]
        fill("model_name_or_path", model)
        Select(driver.find_element(By.ID, "template")).select_by_value("chatml")

    for tab, fields in [("export", {"export-model_name_or_path": model, "export-adapter_name_or_path": out + "/short", "export-export_dir": out + "/export",
                                    "export-extra": "allow_template_mismatch: true"}),
                        ("evaluate", {"eval-model_name_or_path": model, "eval-task": "minimmlu_test", "eval-task_dir": "examples/eval", "eval-n_shot": 0,
                                      "eval-save_dir": out + "/eval", "eval-extra": "allow_template_mismatch: true"})]:
        driver.find_element(By.ID, "tab-" + tab).click()
        for key, value in fields.items():
            fill(key, value)
        prefix = "eval" if tab == "evaluate" else tab
        Select(driver.find_element(By.ID, prefix + "-template")).select_by_value("chatml")
        driver.find_element(By.ID, prefix + "-start").click()
        wait(tab + " to finish", lambda: driver.find_element(By.ID, prefix + "-status").get_attribute("data-status") in ("finished", "failed", "refused"), 300)
        assert driver.find_element(By.ID, prefix + "-status").get_attribute("data-status") == "finished", driver.find_element(By.ID, prefix + "-log").text[-600:]
        seen[tab] = driver.find_element(By.ID, prefix + "-status").text
        if tab == "evaluate":  # the benchmark's scores are shown; then Predict generates on the demo data with the same model
            seen["eval_metrics"] = driver.find_element(By.ID, "eval-metrics").text
            fill("predict-dataset_dir", "examples/data")
            driver.find_element(By.ID, "predict-load-datasets").click()
            wait("the predict dataset list", lambda: any(o.get_attribute("value") == "factory_demo" for o in driver.find_elements(By.CSS_SELECTOR, "#predict-eval_dataset option")))
            Select(driver.find_element(By.ID, "predict-eval_dataset")).select_by_value("factory_demo")
            for key, value in [("max_samples", 6), ("max_new_tokens", 8), ("per_device_eval_batch_size", 4), ("output_dir", out + "/predict")]:
                fill("predict-" + key, value)
            driver.find_element(By.ID, "predict-start").click()
            wait("predict to finish", lambda: driver.find_element(By.ID, "predict-status").get_attribute("data-status") in ("finished", "failed", "refused"), 300)
            assert driver.find_element(By.ID, "predict-status").get_attribute("data-status") == "finished", driver.find_element(By.ID, "predict-log").text[-600:]
            seen["predict"] = driver.find_element(By.ID, "predict-status").text
            seen["predict_metrics"] = driver.find_element(By.ID, "predict-metrics").text
            seen["predict_rows"] = [[td.text for td in tr.find_elements(By.TAG_NAME, "td")] for tr in driver.find_elements(By.CSS_SELECTOR, "#predict-rows tbody tr")]
            seen["predict_progress"] = [driver.find_element(By.ID, "predict-progress").get_attribute(a) for a in ("value", "max")]
        shot(tab)

    driver.find_element(By.ID, "tab-chat").click()

    def chat(model, adapter, template, extra, message):
        fill("chat-model", model)
        fill("chat-adapter", adapter)
        Select(driver.find_element(By.ID, "chat-template")).select_by_value(template)
        fill("chat-extra", extra)
        driver.find_element(By.ID, "chat-load").click()
        wait("the chat model to load", lambda: driver.find_element(By.ID, "chat-status").get_attribute("data-state") in ("ready", "failed"), 300)
        assert driver.find_element(By.ID, "chat-status").get_attribute("data-state") == "ready", driver.find_element(By.ID, "chat-status").text
        driver.find_element(By.ID, "chat-clear").click()
        fill("chat-input", message)
        driver.find_element(By.ID, "chat-send").click()
        wait("the streamed answer", lambda: driver.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1].get_attribute("data-state") in ("done", "failed"), 300)
        answer = driver.find_elements(By.CSS_SELECTOR, ".message.assistant")[-1]
        assert answer.get_attribute("data-state") == "done", driver.find_element(By.ID, "chat-transcript").text
        return answer.text

    seen["chat_tiny"] = chat(model, out + "/short", "chatml", "allow_template_mismatch: true", "Hello")
    assert seen["chat_tiny"], "an answer from the tiny model with the new adapter"
    if identity:
        fill("chat-max-tokens", 24)
        seen["chat_identity"] = chat("HuggingFaceTB/SmolLM2-135M-Instruct", out + "/identity", "smollm2", "", "Who are you?")
    shot("chat")
    driver.find_element(By.ID, "tab-train").click()

    fill("max_steps", 3000)
    fill("save_steps", 100000)
    fill("output_dir", out + "/long")
    start_run("the long run")
    wait("the long run's second step", lambda: points() >= 2)
    run_id = driver.find_element(By.ID, "run-status").get_attribute("data-run")
    driver.refresh()
    wait("the reloaded page", lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60)
    wait("the reattached run", lambda: driver.find_element(By.ID, "run-status").get_attribute("data-run") == run_id and status()[0] == "running", 20)
    before = points()
    wait("more steps after the reload", lambda: points() > max(before, 2), 60)
    seen["reattached"] = {"run": run_id, "points_after_reload": points()}
    # a second start into the same output_dir is refused while the run trains
    driver.execute_script("document.getElementById('start').disabled = false")
    driver.find_element(By.ID, "start").click()
    wait("the refusal of a second run", lambda: "is still training into" in status()[1], 10)
    seen["second_start"] = status()[1]
    driver.execute_script("document.getElementById('stop').disabled = false")
    driver.find_element(By.ID, "stop").click()
    wait("the stopped run", lambda: status()[0] == "stopped", 60)
    wait("the stop line in the log", lambda: "stopped by SIGINT" in driver.find_element(By.ID, "log").text, 10)
    seen["stopped"] = status()[1]

    # LlamaBoard's languages: every text of the page as served has a translation in each, switching translates the
    # page and what the script said (the stopped run's status), and the choice survives a reload
    seen["languages"] = {}
    for lang in ["ru", "zh", "ko", "ja"]:
        missing = driver.execute_script("return window.factoryUntranslated(arguments[0])", lang)
        assert missing == [], f"{lang} has no translation for {missing}"
        Select(driver.find_element(By.ID, "lang")).select_by_value(lang)
        expected = driver.execute_script("return [locales[arguments[0]]['Train'], locales[arguments[0]]['stopped'], locales[arguments[0]]['Message']]", lang)
        shown = [driver.find_element(By.ID, "tab-train").text, status()[1], driver.find_element(By.ID, "chat-input").get_attribute("placeholder")]
        assert shown[0] == expected[0] and expected[1] in shown[1] and shown[2] == expected[2], (lang, shown, expected)
        assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
        seen["languages"][lang] = shown[:2]
    shot("train-ja")
    driver.refresh()
    wait("the reloaded page", lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60)
    assert driver.find_element(By.ID, "tab-train").text == seen["languages"]["ja"][0], "the language survives a reload"
    Select(driver.find_element(By.ID, "lang")).select_by_value("zh")
    driver.find_element(By.ID, "tab-evaluate").click()
    shot("evaluate-zh")
    Select(driver.find_element(By.ID, "lang")).select_by_value("en")
    driver.find_element(By.ID, "tab-train").click()
    assert driver.find_element(By.ID, "tab-train").text == "Train" and status()[1].startswith("run "), status()
    print(json.dumps(seen))
finally:
    driver.quit()
