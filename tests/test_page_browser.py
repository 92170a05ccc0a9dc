"""The HTML page in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
.ci/run) driven by Selenium, and once in headless Firefox (Debian's `firefox-esr`, through Marionette), on pages made from real runs of the plugin against local stand-ins, hostile text
included. Counts read from the page are checked against an independent count from the JSON reports."""

import json
import math
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_mmlu import cli
from pytest_mmlu.report.compare import compare_runs, read_reports

import figures
from datafolders import make_questions
from fakeservers import ChatLogprobsFake, OpenAIFake

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

GGUF = "/models/mistral-7b-instruct-v0.2.Q4_K_M.gguf"
HOSTILE = ["<script>alert(1)</script>", "</script><script>alert(2)</script>", "<img src=x onerror=alert(3)>",
           '<a href="javascript:alert(4)">click</a>', "&lt;b&gt; &amp; &#60;script&#62; &quot;"]
# astronomy: questions and choices of hostile text; virology: plain arithmetic
TEST = [{"question": f"{h} (astronomy problem {i})", "subject": "astronomy", "answer": i % 4,
         "choices": [f"{h} choice {c}" for c in "abcd"]} for i, h in enumerate(HOSTILE)]
TEST += make_questions("virology", 6, seed=3)
ROWS = {"test": TEST, "dev": make_questions("astronomy", 1, seed=4) + make_questions("virology", 1, seed=4)}
# run b against run a: every kind of gate, two drop gates tested together (Holm)
GATES = ["--mmlu-min-accuracy=0.5", "--mmlu-min-accuracy=astronomy=0.9", "--mmlu-max-drop=1",
         "--mmlu-max-drop=virology=50", "--mmlu-equivalent=60", "--mmlu-equivalent=astronomy=5"]
REPLY = "<script>alert('reply')</script><img src=x onerror=alert(5)> &amp; <a href=javascript:alert(6)>x</a>"


def asked(prompt: str) -> tuple[int, str]:
    """The question a prompt asks (the last one in it: shots come first): its position in TEST, expected letter."""
    position = max(range(len(TEST)), key=lambda i: prompt.rfind(TEST[i]["question"]))
    return position, "ABCD"[TEST[position]["answer"]]


def model(wrong_every: int, unparsed_at: int | None = None):
    def answer(prompt: str) -> str:
        position, right = asked(prompt)
        if position == unparsed_at:
            return f"I cannot tell. {REPLY}"
        letter = "ABCD"[("ABCD".index(right) + 1) % 4] if position % wrong_every == 1 else right
        return f"{REPLY}\nAnswer: {letter}"
    return answer


def first(prompt: str):
    """Chat log-probabilities: sure and right on even positions, torn and wrong on odd ones."""
    position, right = asked(prompt)
    order = sorted("ABCD", key=lambda x: (x != right, x)) if position % 2 == 0 else \
        sorted("ABCD", key=lambda x: (x == right, x))
    return [(x, lp) for x, lp in zip(order, (-0.1, -2.6, -3.2, -4.0) if position % 2 == 0 else (-0.7, -0.9, -3, -5))]


def plugin_run(folder: Path, data, name: str, *args) -> str:
    report = folder / f"{name}.json"
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly",
                           f"--mmlu-dataset={data}", "--mmlu-no-cache", "--mmlu-shots=1", f"--mmlu-label={name}",
                           f"--mmlu-report={report}", *args], cwd=folder, capture_output=True, text=True, timeout=300)
    assert report.exists(), done.stdout[-3000:] + done.stderr[-2000:]
    return str(report)


@pytest.fixture(scope="module")
def reports(hub_data, tmp_path_factory):
    """Three real runs: two that generate (different mistakes; b gated against a), one scored by chat
    log-probabilities."""
    data, folder = hub_data(ROWS), tmp_path_factory.mktemp("runs")
    out = {}
    for name, answer in (("a", model(3, unparsed_at=4)), ("b", model(2))):
        gated = [] if name == "a" else [f"--mmlu-baseline={out['a']}", *GATES]
        with OpenAIFake("llama", answer=answer, models=(GGUF,)) as fake:
            out[name] = plugin_run(folder, data, name, "--mmlu-backend=llama", f"--mmlu-base-url={fake.url}",
                                   f"--mmlu-model={GGUF}", "--mmlu-scoring=generate", *gated)
    with ChatLogprobsFake("openai", first) as fake:
        out["lp"] = plugin_run(folder, data, "lp", "--mmlu-backend=openai", f"--mmlu-base-url={fake.url}",
                               "--mmlu-scoring=logprobs", "--mmlu-prompt=letter", "--mmlu-price=0.15/0.60")
    return out


def page(reports, tmp_path, *names) -> str:
    path = tmp_path / ("-".join(names) + ".html")
    assert cli.main(["view", *(reports[n] for n in names), "-o", str(path)]) == 0
    return path.as_uri()


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(driver_path), options=options)
    yield driver
    driver.quit()


def load(browser, url):
    browser.get_log("performance")  # what came before, an earlier test's page included
    browser.get_log("browser")
    browser.get(url)
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return document.body.dataset.ready") == "true")
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors


def shown(browser) -> int:
    return int(browser.find_element(By.ID, "count").get_attribute("data-shown"))


def click_outcome(browser, outcome: str):
    browser.find_element(By.CSS_SELECTOR, f'#outcomes button[data-outcome="{outcome}"]').click()


def kind(r):
    if r["outcome"] == "error":
        return "error"
    return "correct" if r["outcome"] == "passed" else ("unparsed" if r["unparsed"] else "wrong")


def test_filters_count_as_the_report(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "a"))
    questions = json.loads(Path(reports["a"]).read_text())["questions"]
    assert len(questions) == 11 and {kind(q) for q in questions} == {"correct", "wrong", "unparsed"}
    for outcome in ("correct", "wrong", "unparsed", "error", "judged", "not_run"):
        click_outcome(browser, outcome)
        expected = sum(kind(q) == outcome for q in questions) if outcome != "judged" else 0
        assert shown(browser) == expected == len(browser.find_elements(By.CSS_SELECTOR, "#list li")), outcome
    click_outcome(browser, "wrong")
    Select(browser.find_element(By.ID, "subject")).select_by_value("virology")
    assert shown(browser) == sum(kind(q) == "wrong" and q["subject"] == "virology" for q in questions)
    # the counts beside each outcome follow the subject filter
    correct = browser.find_element(By.CSS_SELECTOR, '#outcomes button[data-outcome="correct"] .n').text
    assert int(correct) == sum(kind(q) == "correct" and q["subject"] == "virology" for q in questions)
    click_outcome(browser, "")
    Select(browser.find_element(By.ID, "subject")).select_by_value("")
    Select(browser.find_element(By.ID, "category")).select_by_value("stem")
    assert shown(browser) == sum(q["subject"] == "astronomy" for q in questions) == 5


def test_search_over_question_choices_and_reply(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "a"))
    questions = json.loads(Path(reports["a"]).read_text())["questions"]
    search = browser.find_element(By.ID, "search")
    for term in ("onerror=alert(3)", "choice c", "cannot tell", "virology problem 2", "nothing like this"):
        search.clear()
        search.send_keys(term)
        text = [" ".join([q["nodeid"], q["question"], *q["choices"], q["reply"]]).lower() for q in questions]
        assert shown(browser) == sum(all(word in t for word in term.split()) for t in text), term  # every word


def test_one_question_whole_with_letter_probabilities(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "lp"))
    rep = json.loads(Path(reports["lp"]).read_text())
    record = next(q for q in rep["questions"] if q["nodeid"] == "mmlu::virology::q0001")
    Select(browser.find_element(By.ID, "sort")).select_by_value("margin-up")  # the torn ones first
    first_li = browser.find_element(By.CSS_SELECTOR, "#list li")
    assert first_li.get_attribute("data-id") in {q["nodeid"] for q in rep["questions"] if q["outcome"] == "failed"}
    browser.find_element(By.CSS_SELECTOR, f'#list li[data-id="{record["nodeid"]}"]').click()
    box = browser.find_element(By.ID, "question")
    assert box.find_element(By.CSS_SELECTOR, ".nodeid").text == record["nodeid"]
    assert box.find_element(By.CSS_SELECTOR, ".question-text").text == record["question"]
    assert box.find_element(By.CSS_SELECTOR, "pre.reply").get_attribute("textContent") == record["reply"]
    for letter, logprob in record["logprobs"].items():
        cell = box.find_element(By.CSS_SELECTOR, f'.probs .num[data-letter="{letter}"]')
        assert cell.text == f"{math.exp(logprob) * 100:.1f}%"
    p = sorted((math.exp(v) for v in record["logprobs"].values()), reverse=True)
    margin = box.find_element(By.CSS_SELECTOR, ".margin")
    assert float(margin.get_attribute("data-margin")) == pytest.approx(p[0] - p[1])
    assert f'"{record["first_token"]}"' in box.text and "log-probabilities" in box.text
    expected = box.find_element(By.CSS_SELECTOR, "ol.choices li.expected")
    assert expected.get_attribute("data-letter") == record["expected"] and "expected" in expected.text
    predicted = box.find_element(By.CSS_SELECTOR, f'ol.choices li[data-letter="{record["predicted"]}"]')
    assert "predicted" in predicted.text
    # what it cost, as the service reported it and at the run's price
    def fact(name):
        return box.find_element(By.XPATH, f'.//dt[text()="{name}"]/following-sibling::dd[1]').text
    assert fact("tokens") == (f"in {record['tokens_in']} ({record['tokens_cached']} cached) / out "
                              f"{record['tokens_out']} ({record['tokens_reasoning']} reasoning) \u00b7 openai usage")
    assert float(fact("cost").removeprefix("$")) == pytest.approx(record["cost"], rel=1e-3)
    assert fact("time").startswith(f"{record['seconds']:.3f} s")
    card = browser.find_element(By.CSS_SELECTOR, ".run").text
    assert "cost: $" in card and f"usage: {rep['usage']['requests']} requests;" in card
    # the prompt as sent, its shot folded away until asked for
    box.find_element(By.CSS_SELECTOR, "details.prompt > summary").click()
    shots = box.find_element(By.CSS_SELECTOR, "details.shots")
    assert shots.get_attribute("open") is None and "virology problem 0" in shots.get_attribute("textContent")


def test_two_runs_side_by_side_flip_as_compare_counts(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "a", "b"))
    (p,) = compare_runs(read_reports([reports["a"], reports["b"]])).pairs
    assert p.right_only_a and p.right_only_b  # the runs do flip, both ways
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#pair-table tbody td")]
    low, high = p.interval
    assert cells[2:9] == [str(p.common), f"{p.a_correct / p.common * 100:.2f}% ({p.a_correct}/{p.common})",
                          f"{p.b_correct / p.common * 100:.2f}% ({p.b_correct}/{p.common})",
                          f"{p.difference:+.2f}", f"[{low:+.2f}, {high:+.2f}]", str(p.right_only_a),
                          str(p.right_only_b)]
    assert cells[9] == f"{p.p_value:.3g}"
    a, b = ({q["nodeid"]: q for q in json.loads(Path(reports[n]).read_text())["questions"]} for n in "ab")
    both_wrong = sum(a[n]["outcome"] == b[n]["outcome"] == "failed" for n in a)
    differ = sum(a[n]["predicted"] != b[n]["predicted"] for n in a)
    for value, count in (("a-only", p.right_only_a), ("b-only", p.right_only_b), ("both-wrong", both_wrong),
                         ("disagree", differ)):
        Select(browser.find_element(By.ID, "pair-filter")).select_by_value(value)
        assert shown(browser) == count, value
    # swapping A and B swaps the flips
    Select(browser.find_element(By.ID, "pair-a")).select_by_value("1")
    Select(browser.find_element(By.ID, "pair-b")).select_by_value("0")
    Select(browser.find_element(By.ID, "pair-filter")).select_by_value("a-only")
    assert shown(browser) == p.right_only_b
    first = browser.find_element(By.CSS_SELECTOR, "#list li")
    first.click()
    replies = browser.find_elements(By.CSS_SELECTOR, "#question .answer")
    assert [r.get_attribute("data-run") for r in replies] == ["0", "1"]
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart svg rect.bar")) >= 2


def test_hostile_text_shows_as_text_and_runs_nothing(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "a", "b"))
    assert browser.title == "MMLU: a vs b"
    for li in browser.find_elements(By.CSS_SELECTOR, "#list li")[:5]:
        li.click()
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    # only the page's own elements: its two scripts, no image, no link, nothing with an event handler
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 2
    assert not browser.find_elements(By.CSS_SELECTOR, "img, a, iframe, [onerror], [onclick], [href], [src]")
    browser.find_element(By.CSS_SELECTOR, '#list li[data-id="mmlu::astronomy::q0001"]').click()
    box = browser.find_element(By.ID, "question")
    assert box.find_element(By.CSS_SELECTOR, ".question-text").text == TEST[1]["question"]
    assert [li.get_attribute("textContent").startswith(f"{x}. {TEST[1]['choices'][i]}")
            for i, (x, li) in enumerate(zip("ABCD", box.find_elements(By.CSS_SELECTOR, "ol.choices li")))] == [True] * 4
    assert REPLY in box.find_element(By.CSS_SELECTOR, "pre.reply").get_attribute("textContent")
    assert "&lt;b&gt; &amp; &#60;script&#62;" in browser.find_element(By.ID, "list").text


def test_opens_with_the_network_off_and_asks_for_nothing(browser, reports, tmp_path):
    url = page(reports, tmp_path, "a", "lp")
    browser.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    try:
        started = time.monotonic()
        load(browser, url)
        took = time.monotonic() - started
        browser.find_element(By.CSS_SELECTOR, "#list li").click()
        browser.find_element(By.ID, "search").send_keys("alert")
        requests = [json.loads(e["message"])["message"] for e in browser.get_log("performance")]
        urls = [m["params"]["request"]["url"] for m in requests if m["method"] == "Network.requestWillBeSent"]
        assert urls == [url], urls  # the page itself, nothing else
        assert took < 5
        # the policy is enforced: an image the page did not plan is refused before any request
        refused = browser.execute_async_script("""
            const done = arguments[0];
            document.addEventListener("securitypolicyviolation", (e) => done(e.violatedDirective));
            const img = new Image(); img.src = "http://127.0.0.1:9/x.png"; document.body.append(img);""")
        assert refused.startswith("img-src")
    finally:
        browser.delete_network_conditions()


# -- position bias, calibration and gates, as the page draws them -------------------------------------------


def cells(element, selector="tbody tr") -> list[list[str]]:
    return [[td.get_attribute("textContent") for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in element.find_elements(By.CSS_SELECTOR, selector)]


def section(browser, run: int, name: str):
    return browser.find_element(By.CSS_SELECTOR, f'.run[data-run="{run}"] [data-section="{name}"]')


def points(svg) -> list[tuple[float, float, int]]:
    """The reliability diagram's points as (confidence, accuracy, questions), read back through its diagonal, which
    runs from (0, 0) to (1, 1)."""
    diagonal = svg.find_element(By.CSS_SELECTOR, "line.diagonal")
    x0, y0, x1, y1 = (float(diagonal.get_attribute(a)) for a in ("x1", "y1", "x2", "y2"))
    out = []
    for dot in svg.find_elements(By.TAG_NAME, "circle"):
        cx, cy = float(dot.get_attribute("cx")), float(dot.get_attribute("cy"))
        out.append(((cx - x0) / (x1 - x0), (cy - y0) / (y1 - y0), int(dot.get_attribute("data-questions"))))
    return out


def test_position_bias_and_calibration_as_the_records_count_them(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "lp"))
    questions = json.loads(Path(reports["lp"]).read_text())["questions"]
    b, c = figures.position_bias(questions), figures.calibration(questions)
    assert b["wrong"] and len(c["bins"]) >= 2  # a bias to read, a diagram with a line
    bias = section(browser, 0, "bias")
    rows = cells(bias, "table.letters tbody tr")
    assert [r[0] for r in rows] == b["letters"] == list("ABCD")
    for row, x in zip(rows, b["letters"]):
        correct, total = b["by_position"][x]
        ratio = b["wrong_picks"][x] / b["even"][x] if b["even"].get(x) else None
        assert row[1:] == [f"{b['picked'][x] / b['answered'] * 100:.1f}%", f"{b['right'][x] / b['answered'] * 100:.1f}%",
                           f"{correct / total * 100:.1f}% ({correct}/{total})" if total else "n/a",
                           str(b["wrong_picks"][x]), f"{b['even'].get(x, 0.0):.1f}",
                           "n/a" if ratio is None else f"{ratio:.2f}"], x
    ratio, letter = b["imbalance"]
    assert bias.find_element(By.CSS_SELECTOR, ".imbalance").text == (
        f"imbalance {ratio:.2f}: {letter} took {ratio:.2f}x its even share of the {b['wrong']} wrong answers "
        f"(1.00: no preference)")
    assert len(bias.find_elements(By.CSS_SELECTOR, "svg.letters rect")) == 2 * len(b["letters"])
    calibration = section(browser, 0, "calibration")
    assert calibration.find_element(By.CSS_SELECTOR, ".calibration-figures").text == (
        f"{c['questions']} questions with log-probabilities: mean confidence {c['confidence'] * 100:.1f}% against "
        f"accuracy {c['accuracy'] * 100:.1f}%, ECE {c['ece']:.3f} (10 bins), Brier {c['brier']:.3f}")
    # the reliability diagram: one point per bin that holds questions, where its figures put it
    drawn = sorted(points(calibration.find_element(By.CSS_SELECTOR, "svg.reliability")))
    expected = sorted((confidence, right / n, n) for n, right, confidence in c["bins"].values())
    assert len(drawn) == len(expected)
    for (x, y, n), (confidence, accuracy, questions_in) in zip(drawn, expected):
        assert (x, y, n) == (pytest.approx(confidence, abs=1e-6), pytest.approx(accuracy, abs=1e-9), questions_in)
    # per subject, each counted again from its own questions
    for row in cells(calibration, "table.calibration-subjects tbody tr"):
        s = figures.calibration([q for q in questions if q["subject"] == row[0]])
        assert row[1:] == [str(s["questions"]), f"{s['accuracy'] * 100:.1f}%", f"{s['confidence'] * 100:.1f}%",
                           f"{s['ece']:.3f}", f"{s['brier']:.3f}"]
    assert {r[0] for r in cells(calibration, "table.calibration-subjects tbody tr")} == {"astronomy", "virology"}


def test_every_gate_with_its_verdict_interval_and_correction(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "b"))
    rep = json.loads(Path(reports["b"]).read_text())
    gates = section(browser, 0, "gates")
    verdicts = [r[3] for r in cells(gates, "table:not(.drop-gates):not(.equivalence-gates) tbody tr")]
    assert verdicts == ["PASS" if g["holds"] else "FAIL" for g in rep["gates"]] and len(verdicts) == 2
    drops = cells(gates, "table.drop-gates tbody tr")
    assert [(r[0], r[4], r[7]) for r in drops] == [(g["scope"], "Holm over 2 scopes", "PASS" if g["holds"] else "FAIL")
                                                   for g in rep["drop_gates"]]
    assert [float(r[5]) for r in drops] == [pytest.approx(g["adjusted_p_value"], rel=5e-3) for g in rep["drop_gates"]]
    # the equivalence gates: the difference counted again from both runs' records, the report's 90% interval
    now = {q["nodeid"]: q for q in rep["questions"]}
    was = {q["nodeid"]: q for q in json.loads(Path(reports["a"]).read_text())["questions"]}
    rows = cells(gates, "table.equivalence-gates tbody tr")
    assert [r[0] for r in rows] == ["overall", "astronomy"]
    for row, g in zip(rows, rep["equivalence_gates"]):
        common = [n for n in now if n in was and "error" not in (now[n]["outcome"], was[n]["outcome"])
                  and row[0] in ("overall", now[n]["subject"])]
        difference = (sum(now[n]["outcome"] == "passed" for n in common)
                      - sum(was[n]["outcome"] == "passed" for n in common)) / len(common) * 100
        low, high = g["interval"]
        holds = -g["margin_points"] < low and high < g["margin_points"]
        assert row[1:] == [f"±{g['margin_points']:.1f}", f"{difference:+.2f}", f"[{low:+.2f}, {high:+.2f}]",
                           str(len(common)), "PASS" if holds else "FAIL"]
    assert [r[-1] for r in rows] == ["PASS", "FAIL"]  # ±60 holds on this little; ±5 cannot on five questions
    reasons = [li.text for li in gates.find_elements(By.CSS_SELECTOR, "ul.reasons li")]
    assert reasons == [f"{g['scope']}: {g['reason']}" for g in rep["drop_gates"] + rep["equivalence_gates"]]


def test_runs_side_by_side_show_each_runs_bias_and_calibration(browser, reports, tmp_path):
    load(browser, page(reports, tmp_path, "a", "lp"))
    rows = cells(browser.find_element(By.ID, "robustness-table"))
    for row, name in zip(rows, ("a", "lp")):
        questions = json.loads(Path(reports[name]).read_text())["questions"]
        b, c = figures.position_bias(questions), figures.calibration(questions)
        ratio, letter = b["imbalance"]
        calibrated = ["0", "n/a", "n/a", "n/a", "n/a"] if c is None else [
            str(c["questions"]), f"{c['confidence'] * 100:.1f}%", f"{c['accuracy'] * 100:.1f}%", f"{c['ece']:.3f}",
            f"{c['brier']:.3f}"]
        assert row == [name, str(b["answered"]), letter, f"{ratio:.2f}", str(b["wrong"])] + calibrated
    assert "no log-probabilities were read" in section(browser, 0, "calibration").text
    assert section(browser, 0, "bias").find_element(By.CSS_SELECTOR, ".imbalance").text.startswith("imbalance ")
    both = browser.find_element(By.CSS_SELECTOR, '#comparison [data-section="reliability"]')
    assert [g.get_attribute("data-run") for g in both.find_elements(By.CSS_SELECTOR, "svg.reliability g.series")] == ["1"]
    assert both.find_element(By.CSS_SELECTOR, "p.muted").text == "no log-probabilities: a"
    mine = points(section(browser, 1, "calibration").find_element(By.CSS_SELECTOR, "svg.reliability"))
    together = sorted(points(both.find_element(By.CSS_SELECTOR, "svg.reliability")))
    assert len(together) == len(mine) == len(figures.calibration(json.loads(Path(reports["lp"]).read_text())
                                                                 ["questions"])["bins"])
    for (x, y, n), point in zip(together, sorted(mine)):
        assert (x, y, n) == (pytest.approx(point[0], abs=1e-9), pytest.approx(point[1], abs=1e-9), point[2])


def test_hostile_text_in_gates_bias_and_calibration_is_only_text(browser, reports, tmp_path):
    text = " ".join(HOSTILE)
    rep = json.loads(Path(reports["b"]).read_text())
    rep["config"]["label"] = f"label {text}"
    rep["gates"][0]["scope"] = rep["drop_gates"][0]["scope"] = rep["equivalence_gates"][1]["scope"] = text
    rep["drop_gates"][1]["correction"] = rep["equivalence_gates"][0]["reason"] = text
    rep["bias"]["imbalance_letter"] = text
    rep["calibration"] = json.loads(Path(reports["lp"]).read_text())["calibration"]
    rep["calibration"]["subjects"] = {text: rep["calibration"]["subjects"]["virology"]}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(rep))
    url = tmp_path / "hostile.html"
    assert cli.main(["view", str(path), "-o", str(url)]) == 0
    load(browser, url.as_uri())
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text
    assert len(browser.find_elements(By.TAG_NAME, "script")) == 2
    assert not browser.find_elements(By.CSS_SELECTOR, "img, a, iframe, [onerror], [onclick], [href], [src]")
    gates = section(browser, 0, "gates")
    assert cells(gates, "tbody tr")[0][0] == text
    assert cells(gates, "table.drop-gates tbody tr")[0][0] == text
    assert cells(gates, "table.drop-gates tbody tr")[1][4] == text
    assert cells(gates, "table.equivalence-gates tbody tr")[1][0] == text
    assert f"overall: {text}" in [li.get_attribute("textContent") for li in gates.find_elements(By.CSS_SELECTOR, "li")]
    assert f": {text} took " in section(browser, 0, "bias").find_element(By.CSS_SELECTOR, ".imbalance").text
    subjects = section(browser, 0, "calibration").find_elements(By.CSS_SELECTOR, "table.calibration-subjects td")
    assert subjects[0].get_attribute("textContent") == text
    assert browser.find_element(By.CSS_SELECTOR, ".run h3").text == f"label {text}"

# -- Firefox: Debian's firefox-esr, driven through its own Marionette protocol (no geckodriver here) ----------


def in_every_order(prompt: str):
    """Chat log-probabilities in any order of the choices: even positions right wherever the answer stands, odd ones
    always the letter A."""
    position, _ = asked(prompt)
    right = TEST[position]["choices"][TEST[position]["answer"]]
    shown = [line[3:] for line in prompt.splitlines() if line[:3] in ("A. ", "B. ", "C. ", "D. ")][-4:]
    if right not in shown:  # the probe at start
        return [("A", -0.1)]
    chosen = "ABCD"[shown.index(right)] if position % 2 == 0 else "A"
    return [(chosen, -0.2)] + [(x, -2.0 - i) for i, x in enumerate("ABCD") if x != chosen]


def test_answer_order_as_the_records_count_it(browser, hub_data, tmp_path):
    """--mmlu-permute circular: the run's figures and each question's orders, counted again from the records."""
    with ChatLogprobsFake("openai", in_every_order) as fake:
        report = plugin_run(tmp_path, hub_data(ROWS), "circular", "--mmlu-backend=openai",
                            f"--mmlu-base-url={fake.url}", "--mmlu-scoring=logprobs", "--mmlu-prompt=letter",
                            "--mmlu-permute=circular")
    path = tmp_path / "circular.html"
    assert cli.main(["view", report, "-o", str(path)]) == 0
    load(browser, path.as_uri())
    questions = json.loads(Path(report).read_text())["questions"]
    every = sum(all(o["outcome"] == "passed" for o in q["orders"]) for q in questions)
    own = sum(q["orders"][0]["outcome"] == "passed" for q in questions)
    same = sum(len({o["order"]["ABCD".index(o["predicted"])] for o in q["orders"]}) == 1 for q in questions)
    n = len(questions)
    assert 0 < every < n and own >= every and same == every  # odd positions: A in every order, a different choice
    orders = section(browser, 0, "orders")
    assert orders.find_element(By.CSS_SELECTOR, ".orders-figures").text == (
        f"{n} questions, each asked in every rotation of its choices: right in every order {every / n * 100:.1f}%, "
        f"in the data's own order {own / n * 100:.1f}%, the same choice in every order {same / n * 100:.1f}%")
    assert {r[0] for r in cells(orders, "table.orders-subjects tbody tr")} == {"astronomy", "virology"}
    # a question of hostile text that failed: each order's letters, right letter, letter read and verdict
    record = next(q for q in questions if q["subject"] == "astronomy" and q["outcome"] == "failed")
    browser.find_element(By.CSS_SELECTOR, f'#list li[data-id="{record["nodeid"]}"]').click()
    box = browser.find_element(By.ID, "question")
    rows = cells(box, "table.orders tbody tr")
    assert rows == [["the data's own" if i == 0 else
                     " ".join(f"{x}={'ABCD'[j]}" for x, j in zip("ABCD", o["order"])),
                     o["expected"], o["predicted"], "right" if o["outcome"] == "passed" else "wrong"]
                    for i, o in enumerate(record["orders"])]
    assert f"right in {record['orders_right']} of 4 orders; not the same choice in every order" in box.text


@pytest.fixture(scope="module")
def firefox(tmp_path_factory):
    binary = shutil.which("firefox-esr") or shutil.which("firefox")
    marionette = pytest.importorskip("marionette_driver.marionette", reason="marionette-driver is in the test extra")
    if binary is None:
        pytest.skip("needs Debian's firefox-esr (apt-get install firefox-esr)")
    profile = tmp_path_factory.mktemp("firefox-profile")
    port = free_port()
    (profile / "user.js").write_text(f'user_pref("marionette.port", {port});\n')
    proc = subprocess.Popen([binary, "--headless", "--marionette", "--no-remote", "--profile", str(profile)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = marionette.Marionette(host="127.0.0.1", port=port)
    try:
        client.start_session(timeout=120)  # waits for Firefox to listen
        yield client
        client.delete_session()
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_page_works_in_firefox(firefox, reports, tmp_path):
    questions = json.loads(Path(reports["a"]).read_text())["questions"]
    firefox.navigate(page(reports, tmp_path, "a", "b") + "#mmlu::astronomy::q0001")
    js = firefox.execute_script
    assert js("return [document.body.dataset.ready, document.title]") == ["true", "MMLU: a vs b"]
    js('document.querySelector(\'#outcomes button[data-outcome="wrong"]\').click()')
    assert int(js("return document.getElementById('count').dataset.shown")) == sum(kind(q) == "wrong"
                                                                                    for q in questions)
    # the linked question is open, its hostile text shown as text; an alert would fail every script call
    assert js("return document.querySelector('#question .question-text').textContent") == TEST[1]["question"]
    assert REPLY in js("return document.querySelector('#question pre.reply').textContent")
    assert js("return document.querySelectorAll('script').length") == 2
    assert js("return document.querySelectorAll('img, a, iframe, [onerror], [onclick], [href], [src]').length") == 0
    rep = json.loads(Path(reports["b"]).read_text())
    assert js("return document.querySelectorAll('.run[data-run=\"1\"] table.equivalence-gates tbody tr').length") \
        == len(rep["equivalence_gates"]) == 2
    assert js("return document.querySelectorAll('.run table.letters tbody tr').length") == 8  # two runs, A-D


def test_a_page_from_real_runs_of_the_small_model(browser, llama_server, gemma_path, hub_data, tmp_path):
    """gemma-3 270M through a real llama_cpp.server and in process, both in logprobs scoring, on one page:
    the pairs as compare counts them, and each letter's probability as the report has it."""
    data = hub_data(subjects=("astronomy", "virology"), per_subject=3, seed=61, dev_per_subject=1, dev_seed=62)
    server = plugin_run(tmp_path, data, "server", "--mmlu-backend=llama", f"--mmlu-base-url={llama_server}",
                        "--mmlu-scoring=logprobs", "--mmlu-concurrency=1")
    local = plugin_run(tmp_path, data, "local", "--mmlu-backend=llama-cpp", f"--mmlu-model={gemma_path}",
                       "--mmlu-scoring=logprobs")
    load(browser, page({"server": server, "local": local}, tmp_path, "server", "local"))
    [p] = compare_runs(read_reports([server, local])).pairs
    cells = [c.text for c in browser.find_elements(By.CSS_SELECTOR, "#pair-table tbody td")]
    low, high = p.interval
    assert p.common == 6 and cells[:10] == ["server", "local", "6",
                                            f"{p.a_correct / 6 * 100:.2f}% ({p.a_correct}/6)",
                                            f"{p.b_correct / 6 * 100:.2f}% ({p.b_correct}/6)", f"{p.difference:+.2f}",
                                            f"[{low:+.2f}, {high:+.2f}]", str(p.right_only_a), str(p.right_only_b),
                                            f"{p.p_value:.3g}"]
    record = json.loads(Path(server).read_text())["questions"][0]
    browser.find_element(By.CSS_SELECTOR, f'#list li[data-id="{record["nodeid"]}"]').click()
    box = browser.find_element(By.ID, "question")
    for letter, logprob in record["logprobs"].items():  # run A's box comes first
        cell = box.find_element(By.CSS_SELECTOR, f'.probs .num[data-letter="{letter}"]')
        assert cell.text == f"{math.exp(logprob) * 100:.1f}%"
