// The page of pytest-mmlu runs: reads the data block, draws the overview, lists and filters the questions.
// Every text from a model or a dataset goes into the page with textContent, never as HTML.
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("mmlu-data").textContent);
  const RUNS = DATA.runs;
  const QUESTIONS = DATA.questions;
  const MULTI = RUNS.length > 1;
  const PAGE_SIZE = 100;
  const SVG_NS = "http://www.w3.org/2000/svg";  // a namespace name, never fetched
  const OUTCOMES = [["", "all"], ["correct", "correct"], ["wrong", "wrong"], ["unparsed", "unparsed"],
    ["error", "error"], ["judged", "read by the judge"], ["not_run", "not run"]];
  const PAIR_FILTERS = [["", "every question"], ["a-only", "right in A, wrong in B"],
    ["b-only", "wrong in A, right in B"], ["both-wrong", "both wrong"], ["disagree", "A and B read different letters"]];
  const MARKS = {correct: "✓", wrong: "✗", unparsed: "?", error: "!", not_run: "–"};
  const $ = (id) => document.getElementById(id);

  // -- small builders ----------------------------------------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function add(parent, ...children) {
    for (const c of children) if (c) parent.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    return parent;
  }
  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG_NS, tag);
    for (const k of Object.keys(attrs || {})) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function pct(x, digits) { return x === null || x === undefined ? "n/a" : (x * 100).toFixed(digits ?? 1) + "%"; }
  function accuracyCell(correct, total) {  // as report.markdown.accuracy_cell: 40.00% (40/100)
    return total ? (correct / total * 100).toFixed(2) + "% (" + correct + "/" + total + ")" : "n/a (0/0)";
  }
  function table(header, rows, numeric) {
    const t = el("table");
    const head = add(el("tr"), ...header.map((h, i) => el("th", numeric.includes(i) ? "num" : "", h)));
    add(t, add(el("thead"), head));
    const body = el("tbody");
    for (const row of rows) {
      add(body, add(el("tr"), ...row.map((v, i) => v instanceof Node ? add(el("td"), v)
        : el("td", numeric.includes(i) ? "num" : "", v))));
    }
    return add(t, body);
  }
  function verdictWord(holds) { return el("span", holds ? "holds" : "fails", holds ? "PASS" : "FAIL"); }

  // -- accuracy bars with 95% intervals (SVG) ----------------------------------------------------------------

  function bars(rows, series) {  // rows: [name, [tally per series]]; series: labels (one for a run's page)
    const labelW = 190, trackW = 300, valueW = 230, barH = 15, rowH = barH * series.length + 8;
    const width = labelW + trackW + valueW, height = rows.length * rowH + 4;
    const s = svg("svg", {class: "bars", width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img"});
    add(s, svg("title", {}, "accuracy with 95% intervals"));
    rows.forEach(([name, tallies], i) => {
      const y0 = i * rowH + 4;
      add(s, svg("text", {x: 0, y: y0 + rowH / 2 + 2}, name));
      tallies.forEach((t, k) => {
        const y = y0 + k * barH;
        add(s, svg("rect", {class: "track", x: labelW, y: y, width: trackW, height: barH - 2}));
        if (!t || !t.total) return;
        const [low, high] = t.interval;
        add(s, svg("rect", {class: "bar run" + k, x: labelW, y: y, width: trackW * t.correct / t.total,
          height: barH - 2}));
        const mid = y + (barH - 2) / 2;
        add(s, svg("line", {class: "ci", x1: labelW + trackW * low, x2: labelW + trackW * high, y1: mid, y2: mid}));
        for (const end of [low, high]) {
          add(s, svg("line", {class: "ci", x1: labelW + trackW * end, x2: labelW + trackW * end, y1: y + 1,
            y2: y + barH - 3}));
        }
        add(s, svg("text", {x: labelW + trackW + 8, y: y + barH - 3},
          accuracyCell(t.correct, t.total) + "  [" + pct(low) + ", " + pct(high) + "]"));
      });
    });
    return s;
  }
  function legend() {
    return add(el("p", "legend"), ...RUNS.map((r, k) => add(el("span"), el("span", "swatch run" + k), r.label)));
  }

  // -- the overview ------------------------------------------------------------------------------------------

  function configRows(run) {
    const c = run.config, rows = [];
    const put = (name, value) => { if (value !== undefined && value !== null && value !== "") rows.push([name, value]); };
    put("backend", c.backend);
    put("model", c.model);
    if (c.served_model && c.served_model !== c.model) put("model as served", c.served_model);
    put("server", (c.base_urls || []).join(", "));
    put("dataset", c.dataset === undefined ? undefined : c.dataset + (c.revision ? " @ " + c.revision : ""));
    put("language", c.language);
    put("split", c.split);
    put("subjects", (c.subjects || []).join(", "));
    put("limit", c.limit);
    put("shots", c.shots);
    put("scoring", c.scoring === undefined ? undefined : c.scoring + (c.logprob_route ? " (" + c.logprob_route + ")" : ""));
    put("prompt", c.prompt);
    if (c.permute) put("answer orders", c.permute === "circular" ? "every rotation (circular)" : c.permute + " orders");
    put("max tokens", c.max_tokens);
    put("temperature", c.temperature);
    if (c.judge) put("judge", [c.judge.backend, c.judge.served_model || c.judge.model].filter(Boolean).join(", "));
    put("pytest-mmlu", c.pytest_mmlu);
    put("started", c.started);
    put("wall time", c.wall_seconds === undefined ? undefined : c.wall_seconds + " s");
    if (c.interrupted) put("interrupted", "yes");
    put("report", run.file);
    return rows;
  }

  function counts(run) {
    const o = run.overall, box = el("div", "counts");
    const items = [["questions scored", o.total], ["correct", o.correct], ["wrong", o.wrong],
      ["unparsed", o.unparsed], ["errors", o.errors], ["read by the judge", o.judged],
      ["the judge found none", o.judge_none], ["judge faults", o.judge_faults], ["not run", o.not_run]];
    if (o.first_tokens) items.push(["first token not a letter", o.first_not_letter + " of " + o.first_tokens]);
    for (const [name, n] of items) {
      if (n === undefined || n === null) continue;
      add(box, add(el("span"), name + " ", el("b", "", n)));
    }
    return box;
  }

  // A run's card is a list of sections, in the order shown: each a function (run, k) that returns an element, or
  // null where the run has nothing of it. Another figure of a run is one more row here.
  const RUN_SECTIONS = [["about", aboutSection], ["accuracy", accuracySection], ["orders", ordersSection],
    ["gates", gatesSection],
    ["baseline", (run) => run.baseline && baseline(run.baseline)], ["bias", biasSection],
    ["calibration", calibrationSection], ["breakdowns", breakdownsSection]];
  // The runs side by side (several reports): the same, each a function () over every run.
  const COMPARISON_SECTIONS = [["runs", runsTable], ["pairs", pairsSection], ["robustness", robustnessTable],
    ["chart", accuracyChart], ["reliability", reliabilityChart]];

  function sections(parent, list, ...args) {
    for (const [name, section] of list) {
      const part = section(...args);
      if (!part) continue;
      part.dataset.section = name;
      add(parent, part);
    }
    return parent;
  }

  function runCard(run, k) {
    const card = add(el("div", "run"), el("h3", "", run.label));
    card.dataset.run = k;
    return sections(card, RUN_SECTIONS, run, k);
  }

  function aboutSection(run) {
    const box = el("div", "about");
    const dl = el("dl", "config");
    for (const [name, value] of configRows(run)) add(dl, el("dt", "", name), el("dd", "", value));
    add(box, dl);
    for (const note of run.config.dataset_notes || []) add(box, el("p", "muted", note));
    for (const note of run.missing) add(box, el("p", "note missing", note));
    if (run.stopped) {
      const s = run.stopped;
      add(box, el("p", "note", "stopped: " + s.kind + " at " + s.backend + " (" + s.where + "): " + s.reason
        + "; " + s.answered + " answered, " + s.not_asked + " not asked"));
    }
    add(box, counts(run));
    for (const line of run.usage) add(box, el("p", "muted usage", line));
    return box;
  }

  function accuracySection(run) {
    const box = el("div", "accuracy");
    const top = [["overall", [run.overall]]].concat(Object.keys(run.categories).map((c) => [c, [run.categories[c]]]));
    add(box, bars(top, [run.label]));
    const subjects = Object.keys(run.subjects);
    if (subjects.length) {
      const more = add(el("details"), el("summary", "", subjects.length + " subjects"));
      more.open = subjects.length <= 12;
      add(box, add(more, bars(subjects.map((s) => [s, [run.subjects[s]]]), [run.label])));
    }
    if (run.overall.subject_average !== undefined && run.overall.subject_average !== null) {
      add(box, el("p", "muted", "subject average " + pct(run.overall.subject_average, 2)));
    }
    return box;
  }

  // -- answer order (--mmlu-permute): right in every order, in the data's own, the same choice in every order ---

  function num(x) { return typeof x === "number" && isFinite(x) ? x : null; }
  function permutedHow(permute) {
    return permute && permute !== "circular" ? permute + " orders of its choices" : "every rotation of its choices";
  }

  function ordersSection(run) {
    const o = run.overall;
    if (!num(o.permuted)) return null;
    const box = add(el("div", "orders"), el("h4", "", "answer order"));
    add(box, el("p", "orders-figures", o.permuted + " questions, each asked in " + permutedHow(run.config.permute)
      + ": right in every order " + pct(num(o.accuracy)) + ", in the data's own order " + pct(num(o.original_accuracy))
      + ", the same choice in every order " + pct(num(o.consistency))));
    const subjects = Object.keys(run.subjects).filter((s) => num(run.subjects[s].permuted));
    if (subjects.length) {
      const more = add(el("details"), el("summary", "", "answer order by subject"));
      more.open = subjects.length <= 12;
      const t = table(["subject", "questions", "every order", "own order", "consistent"], subjects.map((s) => {
        const x = run.subjects[s];
        return [s, x.permuted, pct(num(x.accuracy)), pct(num(x.original_accuracy)), pct(num(x.consistency))];
      }), [1, 2, 3, 4]);
      t.className = "orders-subjects compact";
      add(box, add(more, wide(t)));
    }
    return box;
  }

  // one question's orders: what each showed at each letter (the data's letter), its right letter, what was read
  function ordersTable(a) {
    const letters = "ABCDEFGHIJ";
    const orders = a.orders.filter((o) => o && typeof o === "object");
    const rows = orders.map((o, i) => {
      const order = Array.isArray(o.order) ? o.order : [];
      const shows = order.map((j, at) => letters[at] + "=" + (letters[j] ?? "?")).join(" ");
      const verdict = o.outcome === "passed" ? "right" : o.unparsed ? "unparsed" : "wrong";
      return [i === 0 ? "the data's own" : shows, String(o.expected ?? "?"), String(o.predicted || "none"), verdict];
    });
    const box = add(el("div", "orders-box"), el("div", "muted", "right in " + num(a.orders_right) + " of "
      + rows.length + " orders; " + (a.consistent === true ? "the same choice in every order"
        : "not the same choice in every order") + "; in the data's own order: "
      + (a.original_outcome === "passed" ? "right" : "not right")));
    const t = table(["order (letter=the data's letter)", "expected", "letter read", "verdict"], rows, []);
    t.className = "orders compact";
    return add(box, wide(t));
  }

  function breakdownsSection(run) {
    const keys = Object.keys(run.breakdowns);
    if (!keys.length) return null;
    const box = el("div", "breakdowns");
    for (const key of keys) {
      const b = run.breakdowns[key];
      add(box, el("h4", "", b.title || key));
      add(box, bars(Object.keys(b.rows || {}).map((r) => [r, [b.rows[r]]]), [run.label]));
      for (const note of b.notes || []) add(box, el("p", "muted", note));
    }
    return box;
  }

  // -- gates: each one's verdict -------------------------------------------------------------------------------

  function fixed(x, digits) { return x === null || x === undefined ? "n/a" : x.toFixed(digits); }
  function signed(x, digits) { return x === null || x === undefined ? "n/a" : (x >= 0 ? "+" : "") + x.toFixed(digits ?? 2); }
  function pValue(x) { return x === null || x === undefined ? "n/a" : String(Number(x.toPrecision(3))); }  // as %.3g
  function wide(t) { return add(el("div", "wide"), t); }
  function reasons(gates) {  // each verdict's own line, under its table: too long for a cell
    return add(el("ul", "reasons"), ...gates.map((g) => add(el("li"), el("b", "", g.scope), ": " + (g.reason || ""))));
  }
  function correction(g) {  // which correction the drop gate's verdict used, across how many gated scopes
    const n = g.family, scopes = n === null ? "" : " over " + n + (n === 1 ? " scope" : " scopes");
    if (g.correction === "holm") return "Holm" + scopes;
    if (g.correction === "none") return "none" + scopes;
    return g.correction === null ? "not recorded" : g.correction;
  }

  function gatesSection(run) {
    const box = el("div", "gates");
    if (run.gates.length) {
      add(box, el("h4", "", "gates"), wide(table(["scope", "minimum", "actual", "verdict", "detail"],
        run.gates.map((g) => [g.scope, pct(g.minimum, 2), pct(g.actual, 2), verdictWord(g.holds),
          el("span", "reason", g.reason || "")]), [1, 2])));
    }
    if (run.drop_gates.length) {
      const t = table(["scope", "max drop (points)", "drop", "p", "correction", "p used", "common", "verdict"],
        run.drop_gates.map((g) => [g.scope, fixed(g.max_drop_points, 1), fixed(g.drop_points, 1),
          pValue(g.p_value), correction(g), pValue(g.adjusted_p_value ?? g.p_value), g.common ?? "n/a",
          verdictWord(g.holds)]), [1, 2, 3, 5, 6]);
      t.className = "drop-gates compact";
      add(box, el("h4", "", "gates against the baseline: the largest drop allowed"), wide(t), reasons(run.drop_gates));
    }
    if (run.equivalence_gates.length) {
      const t = table(["scope", "margin (points)", "difference", "90% interval", "common", "verdict"],
        run.equivalence_gates.map((g) => [g.scope, "±" + fixed(g.margin_points, 1), signed(g.difference_points),
          g.interval ? "[" + signed(g.interval[0]) + ", " + signed(g.interval[1]) + "]" : "n/a", g.common ?? "n/a",
          verdictWord(g.holds)]), [1, 2, 3, 4]);
      t.className = "equivalence-gates compact";
      add(box, el("h4", "", "gates against the baseline: equivalence (the 90% interval of the difference, in "
        + "points, inside ±margin)"), wide(t), reasons(run.equivalence_gates));
    }
    return box.children.length ? box : null;
  }

  function baseline(b) {
    const box = add(el("div", "baseline"), el("h4", "", "against the baseline"));
    if (!b.common) return add(box, el("p", "", "no question answered in both runs"));
    const was = b.baseline_correct / b.common, now = b.current_correct / b.common;
    add(box, el("p", "", pct(was) + " → " + pct(now) + " (" + ((now - was) * 100 >= 0 ? "+" : "")
      + ((now - was) * 100).toFixed(1) + " points) on " + b.common + " questions answered in both runs; "
      + b.newly_wrong + " newly wrong, " + b.newly_right + " newly right, McNemar p = "
      + pValue(Number(b.p_value))));
    if (b.newly_wrong_first.length) add(box, el("p", "muted", "newly wrong: " + b.newly_wrong_first.join(", ")
      + (b.newly_wrong > b.newly_wrong_first.length ? " …" : "")));
    if (b.only_in_baseline || b.only_in_current || b.errors_excluded || b.mismatched) {
      add(box, el("p", "muted", b.only_in_baseline + " only in the baseline, " + b.only_in_current
        + " only in this run, " + b.errors_excluded + " left out for errors, " + b.mismatched
        + " with another expected letter"));
    }
    return box;
  }

  // -- position bias -------------------------------------------------------------------------------------------

  function biasSection(run) {
    const b = run.bias, box = add(el("div", "bias"), el("h4", "", "position bias"));
    if (!b.questions) return add(box, el("p", "muted", "no question scored"));
    const share = (n) => b.answered ? (n / b.answered * 100).toFixed(1) + "%" : "n/a";
    const rows = b.letters.map((x) => {
      const p = b.by_position[x], even = b.wrong_even[x];
      return [x, share(b.predicted[x]), share(b.expected[x]),
        p && p.total ? pct(p.correct / p.total) + " (" + p.correct + "/" + p.total + ")" : "n/a", b.wrong_picks[x],
        even.toFixed(1), even > 0 ? (b.wrong_picks[x] / even).toFixed(2) : "n/a"];
    });
    add(box, el("p", "muted", "over the " + b.questions + " questions scored; letters picked and right answers "
      + "as shares of the " + b.answered + " where a letter was read"));
    const t = table(["letter", "picked", "right", "accuracy when right", "wrong picks", "even share", "ratio"], rows,
      [1, 2, 3, 4, 5, 6]);
    t.className = "letters compact";
    add(box, add(el("p", "legend"), add(el("span"), el("span", "swatch"), "picked"),
      add(el("span"), el("span", "swatch right"), "right answer")), letterBars(b), wide(t));
    add(box, el("p", "imbalance", b.imbalance === null
      ? "imbalance n/a: no wrong answer among the " + b.answered + " answered"
      : "imbalance " + b.imbalance.toFixed(2) + ": " + b.imbalance_letter + " took " + b.imbalance.toFixed(2)
        + "x its even share of the " + b.wrong + " wrong answers (1.00: no preference)"));
    const matrix = b.letters.filter((x) => b.confusion[x]).map((x) => [x].concat(
      b.letters.map((y) => b.confusion[x][y] || 0)));
    if (matrix.length) {
      add(box, add(el("details"), el("summary", "", "right answer (rows) against letter read (columns)"),
        table(["right"].concat(b.letters), matrix, b.letters.map((_, i) => i + 1))));
    }
    return box;
  }

  function letterBars(b) {  // each letter: the share picked beside the share right
    const slot = 34, barW = 12, plotH = 80, top = 14, width = Math.max(slot * b.letters.length, 120) + 8;
    const height = top + plotH + 20;
    const s = svg("svg", {class: "letters", width: width, height: height, viewBox: "0 0 " + width + " " + height,
      role: "img"});
    add(s, svg("title", {}, "letters picked (dark) against right answers (light), shares of the questions answered"));
    const most = Math.max(1, ...b.letters.map((x) => Math.max(b.predicted[x], b.expected[x])));
    b.letters.forEach((x, i) => {
      const x0 = 8 + i * slot;
      [["picked", b.predicted[x]], ["right", b.expected[x]]].forEach(([cls, n], j) => {
        const h = plotH * n / most;
        add(s, svg("rect", {class: cls, x: x0 + j * barW, y: top + plotH - h, width: barW - 1, height: h}));
      });
      add(s, svg("text", {x: x0 + barW - 4, y: top + plotH + 14}, x));
    });
    return s;
  }

  // -- calibration: figures and a reliability diagram ---------------------------------------------------------

  function calibrationSection(run, k) {
    const c = run.calibration, box = add(el("div", "calibration"), el("h4", "", "calibration"));
    if (!c) return add(box, el("p", "muted", "no log-probabilities were read in this run (--mmlu-scoring logprobs "
      + "gives them)"));
    const o = c.overall;
    add(box, el("p", "calibration-figures", o.questions + " questions with log-probabilities: mean confidence "
      + pct(o.confidence) + " against accuracy " + pct(o.accuracy) + ", ECE " + fixed(o.ece, 3) + " (10 bins), Brier "
      + fixed(o.brier, 3)));
    if (o.letters_missing) {
      add(box, el("p", "muted", o.letters_missing + " with a letter missing from the service's top tokens "
        + "(probability 0)"));
    }
    if (o.bins.length) add(box, reliability([{label: run.label, k: k, bins: o.bins}]));
    const subjects = Object.keys(c.subjects);
    if (subjects.length) {
      const more = add(el("details"), el("summary", "", "calibration by subject"));
      more.open = subjects.length <= 12;
      const t = table(["subject", "questions", "accuracy", "confidence", "ECE", "Brier"], subjects.map((s) => {
        const x = c.subjects[s];
        return [s, x.questions, pct(x.accuracy), pct(x.confidence), fixed(x.ece, 3), fixed(x.brier, 3)];
      }), [1, 2, 3, 4, 5]);
      t.className = "calibration-subjects compact";
      add(box, add(more, wide(t)));
    }
    return box;
  }

  // series: [{label, k (the run's colour), bins}]; one point per bin of confidence that holds questions, at its
  // mean confidence (x) and accuracy (y); the diagonal is a model whose confidence is its accuracy
  function reliability(series) {
    const left = 48, top = 10, size = 240, width = left + size + 14, height = top + size + 42;
    const X = (p) => left + p * size, Y = (p) => top + (1 - p) * size;
    const s = svg("svg", {class: "reliability", width: width, height: height,
      viewBox: "0 0 " + width + " " + height, role: "img"});
    add(s, svg("title", {}, "reliability diagram: accuracy against mean confidence, in 10 bins of confidence"));
    for (let i = 0; i <= 10; i += 2) {
      const v = i / 10;
      add(s, svg("line", {class: "grid", x1: X(v), x2: X(v), y1: Y(0), y2: Y(1)}),
        svg("line", {class: "grid", x1: X(0), x2: X(1), y1: Y(v), y2: Y(v)}),
        svg("text", {x: X(v), y: Y(0) + 14, "text-anchor": "middle"}, i * 10 + "%"),
        svg("text", {x: X(0) - 5, y: Y(v) + 4, "text-anchor": "end"}, i * 10 + "%"));
    }
    add(s, svg("rect", {class: "frame", x: X(0), y: Y(1), width: size, height: size}),
      svg("line", {class: "diagonal", x1: X(0), y1: Y(0), x2: X(1), y2: Y(1)}),
      svg("text", {x: X(0.5), y: Y(0) + 32, "text-anchor": "middle"}, "mean confidence"),
      svg("text", {x: 12, y: Y(0.5), "text-anchor": "middle", transform: "rotate(-90 12 " + Y(0.5) + ")"},
        "accuracy"));
    const most = Math.max(1, ...series.flatMap((r) => r.bins.map((b) => b.questions)));
    for (const r of series) {
      const bins = [...r.bins].sort((a, b) => a.confidence - b.confidence);
      const g = svg("g", {class: "series run" + (r.k % 4)});
      g.dataset.run = r.k;
      add(g, svg("polyline", {points: bins.map((b) => X(b.confidence) + "," + Y(b.accuracy)).join(" ")}));
      for (const b of bins) {
        const dot = svg("circle", {cx: X(b.confidence), cy: Y(b.accuracy), r: 2.5 + 5 * Math.sqrt(b.questions / most)});
        for (const key of ["low", "high", "questions", "correct", "accuracy", "confidence"]) dot.dataset[key] = b[key];
        add(dot, svg("title", {}, r.label + ": confidence " + b.low.toFixed(1) + "-" + b.high.toFixed(1) + ", "
          + b.questions + " questions, accuracy " + pct(b.accuracy) + " (" + b.correct + "), mean confidence "
          + pct(b.confidence)));
        add(g, dot);
      }
      add(s, g);
    }
    return s;
  }

  // -- the runs side by side -----------------------------------------------------------------------------------

  function runsTable() {
    const [header, ...rows] = DATA.tables.runs;
    return add(el("div"), wide(table(header, rows, [4, 6, 7, 9, 10])));  // as compare prints them
  }

  function pairsSection() {
    const box = el("div", "pairs");
    const [header, ...rows] = DATA.tables.pairs;
    const t = table(header, rows, [2, 3, 4, 5, 6, 7, 8, 9]);
    t.id = "pair-table";
    add(box, el("h3", "", "pairs, on the questions both runs answered (McNemar's exact test; Newcombe's 90% "
      + "interval)"), wide(t));
    for (const p of DATA.pairs) for (const note of p.notes) add(box, el("p", "muted pair-note", note));
    return add(box, el("p", "muted", "* significant at 5%"));
  }

  function robustnessTable() {
    const [header, ...rows] = DATA.tables.robustness;
    const t = table(header, rows, [1, 3, 4, 5, 6, 7, 8, 9]);
    t.id = "robustness-table";
    return add(el("div"), el("h3", "", "position bias (imbalance: the most over-picked letter's multiple of its "
      + "even share of the wrong answers) and calibration"), wide(t));
  }

  function accuracyChart() {
    const scopes = [["overall", RUNS.map((r) => r.overall)]].concat(
      DATA.shared_subjects.map((s) => [s, RUNS.map((r) => r.subjects[s])]));
    const box = add(el("div"), el("h3", "", "accuracy"), legend(), bars(scopes, RUNS.map((r) => r.label)));
    box.id = "chart";
    return box;
  }

  function reliabilityChart() {
    const drawn = RUNS.map((r, k) => ({label: r.label, k: k, bins: r.calibration ? r.calibration.overall.bins : []}))
      .filter((r) => r.bins.length);
    if (!drawn.length) return null;
    const box = add(el("div"), el("h3", "", "reliability"),
      add(el("p", "legend"), ...drawn.map((r) => add(el("span"), el("span", "swatch run" + (r.k % 4)), r.label))),
      reliability(drawn));
    const without = RUNS.filter((r) => !r.calibration).map((r) => r.label);
    if (without.length) add(box, el("p", "muted", "no log-probabilities: " + without.join(", ")));
    return box;
  }

  function comparison() {
    $("comparison").hidden = false;
    sections($("comparison"), COMPARISON_SECTIONS);
  }

  // -- the questions: filters ----------------------------------------------------------------------------------

  const state = {outcome: "", run: 0, subject: "", category: "", language: "", errorType: "", pair: "", a: 0,
    b: 1, terms: [], sort: "subject", page: 0, open: null};
  let shown = [];

  function answered(a) { return a && a.kind !== "error" && a.kind !== "not_run"; }
  function comparable(q) {  // as report.compare: both answered, no error, the same expected letter
    const A = q.answers[state.a], B = q.answers[state.b];
    return answered(A) && answered(B) && (!A.expected || !B.expected || A.expected === B.expected);
  }
  const PAIR_TESTS = {
    "a-only": (q) => comparable(q) && q.answers[state.a].outcome === "passed" && q.answers[state.b].outcome !== "passed",
    "b-only": (q) => comparable(q) && q.answers[state.a].outcome !== "passed" && q.answers[state.b].outcome === "passed",
    "both-wrong": (q) => comparable(q) && q.answers[state.a].outcome !== "passed"
      && q.answers[state.b].outcome !== "passed",
    "disagree": (q) => comparable(q) && (q.answers[state.a].predicted || null) !== (q.answers[state.b].predicted || null),
  };
  function hasOutcome(q, outcome) {
    const a = q.answers[state.run];
    if (!a) return false;
    return outcome === "judged" ? a.judged : a.kind === outcome;
  }
  function haystack(q) {
    if (q.haystack === undefined) {
      const parts = [q.id, q.question || ""].concat(q.choices || []);
      for (const a of q.answers) if (a) parts.push(a.reply || "", a.reasoning || "", a.judge_reply || "");
      q.haystack = parts.join("\n").toLowerCase();
    }
    return q.haystack;
  }
  function margin(q) {  // the answer's confidence margin: the top letter's probability less the runner-up's
    const a = q.answers[state.run];
    if (!a || !a.logprobs) return null;
    const p = Object.values(a.logprobs).map(Math.exp).sort((x, y) => y - x);
    return p.length ? p[0] - (p.length > 1 ? p[1] : 0) : null;
  }
  // each filter but the outcome and the pair: the counts beside those follow these
  function passesOthers(q) {
    if (state.subject && q.subject !== state.subject) return false;
    if (state.category && q.category !== state.category) return false;
    if (state.language && q.language !== state.language) return false;
    if (state.errorType && q.error_type !== state.errorType) return false;
    if (state.terms.length) {
      const text = haystack(q);
      for (const t of state.terms) if (!text.includes(t)) return false;
    }
    return true;
  }

  function refresh() {
    const outcomeCounts = Object.fromEntries(OUTCOMES.map(([v]) => [v, 0]));
    const pairCounts = Object.fromEntries(PAIR_FILTERS.map(([v]) => [v, 0]));
    const pairTest = PAIR_TESTS[state.pair];
    shown = [];
    for (const q of QUESTIONS) {
      if (!passesOthers(q)) continue;
      const inPair = !pairTest || pairTest(q);
      const inOutcome = !state.outcome || hasOutcome(q, state.outcome);
      if (inPair) {
        outcomeCounts[""] += 1;
        for (const [v] of OUTCOMES) if (v && hasOutcome(q, v)) outcomeCounts[v] += 1;
      }
      if (MULTI && inOutcome) {
        pairCounts[""] += 1;
        for (const [v] of PAIR_FILTERS) if (v && PAIR_TESTS[v](q)) pairCounts[v] += 1;
      }
      if (inPair && inOutcome) shown.push(q);
    }
    if (state.sort !== "subject") {
      const sign = state.sort === "margin-up" ? 1 : -1;
      const keyed = shown.map((q) => [margin(q), q]);
      keyed.sort((x, y) => x[0] === null ? (y[0] === null ? 0 : 1) : y[0] === null ? -1 : sign * (x[0] - y[0]));
      shown = keyed.map((k) => k[1]);
    }
    for (const button of $("outcomes").children) {
      button.querySelector(".n").textContent = outcomeCounts[button.dataset.outcome];
    }
    for (const option of $("pair-filter").options) {
      option.textContent = PAIR_FILTERS.find(([v]) => v === option.value)[1] + " (" + pairCounts[option.value] + ")";
    }
    $("count").textContent = shown.length + " of " + QUESTIONS.length + " questions";
    $("count").dataset.shown = shown.length;
    state.page = Math.min(state.page, Math.max(0, Math.ceil(shown.length / PAGE_SIZE) - 1));
    drawList();
  }

  function drawList() {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
    const list = $("list"), start = state.page * PAGE_SIZE;
    const items = shown.slice(start, start + PAGE_SIZE).map(row);
    list.replaceChildren(...items);
    list.start = start + 1;
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  function row(q) {
    const li = el("li");
    li.tabIndex = 0;
    li.dataset.id = q.id;
    if (state.open === q) li.setAttribute("aria-current", "true");
    const head = el("div");
    q.answers.forEach((a, k) => {
      const kind = a ? a.kind : "absent";
      const mark = el("span", "verdict " + kind, a ? MARKS[kind] : " ");
      mark.title = (MULTI ? RUNS[k].label + ": " : "") + (a ? kind.replace("_", " ") : "not in this run");
      add(head, mark);
    });
    add(head, el("span", "id", q.id));
    const first = q.answers.find(answered);
    const gist = q.question || (first ? first.reply : "") || "";
    add(li, head, el("div", "gist", gist.slice(0, 200)));
    li.addEventListener("click", () => openQuestion(q));
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") openQuestion(q); });
    return li;
  }

  // -- one question, whole -------------------------------------------------------------------------------------

  function openQuestion(q) {
    state.open = q;
    for (const li of $("list").children) li.toggleAttribute("aria-current", li.dataset.id === q.id);
    const box = $("question");
    box.hidden = false;
    box.replaceChildren();
    const copy = el("button", "copy", "copy node id");
    copy.type = "button";
    copy.addEventListener("click", () => copyText(q.id, copy));
    add(box, add(el("h3"), el("span", "nodeid", q.id), " ", copy));
    add(box, el("p", "muted", [q.subject, q.category, q.language, q.error_type && "Redux: " + q.error_type]
      .filter(Boolean).join(" · ")));
    if (q.question !== undefined) add(box, el("div", "text question-text", q.question));
    else add(box, el("p", "note", "the question text is not in this report"));
    add(box, choices(q));
    const answers = el("div", "answers");
    q.answers.forEach((a, k) => add(answers, answer(q, a, k)));
    add(box, answers);
    if (history.replaceState) history.replaceState(null, "", "#" + encodeURIComponent(q.id));
  }

  function choices(q) {
    const expected = [...new Set(q.answers.filter(Boolean).flatMap((a) => a.targets || [a.expected]).filter(Boolean))];
    if (!q.choices) {
      return el("p", "muted", "expected " + (expected.join(" / ") || "?")
        + (MULTI ? "" : "; the choices are not in this report"));
    }
    const ol = el("ol", "choices");
    q.choices.forEach((text, i) => {
      const letter = String.fromCharCode(65 + i);
      const li = add(el("li", expected.includes(letter) ? "expected" : ""), el("b", "", letter + ". "), text);
      li.dataset.letter = letter;
      const marks = [];
      if (expected.includes(letter)) marks.push("expected");
      q.answers.forEach((a, k) => {
        if (a && a.predicted === letter) marks.push(MULTI ? "read in " + RUNS[k].label : "predicted");
      });
      if (marks.length) add(li, el("span", "mark", marks.join(", ")));
      add(ol, li);
    });
    return ol;
  }

  function answer(q, a, k) {
    const box = el("section", "answer " + (a ? a.kind : "absent"));
    box.dataset.run = k;
    add(box, el("h4", "", (MULTI ? RUNS[k].label + ": " : "") + (a ? a.kind.replace("_", " ") : "not in this run")));
    if (!a || a.kind === "not_run") return box;
    const facts = el("dl", "config");
    const put = (name, value) => add(facts, el("dt", "", name), el("dd", "", value));
    put("expected", Array.isArray(a.targets) ? a.targets.join(" or ") : a.expected || "?");
    put("letter read", a.predicted || "none");
    if (a.how) put("how", a.how === "logprobs" ? "the most likely letter (log-probabilities)"
      : a.how === "judge" ? "read by the judge" : a.how);
    if (a.judge !== undefined) put("judge", a.judge + (a.judge_cached ? " (cached)" : ""));
    if (a.judge_error) put("judge fault", a.judge_error);
    if (a.first_token !== undefined) put("first token", JSON.stringify(a.first_token)
      + (a.first_is_letter ? "" : " (not a letter)"));
    if (a.cached !== undefined) put("reply", a.cached ? "from the cache" : "asked");
    if (a.truncated) put("truncated", "cut off by the token limit");
    if (a.kind !== "error" && a.kind !== "not_run") {
      const known = (n) => typeof n === "number";
      if (known(a.tokens_in) || known(a.tokens_out)) {
        put("tokens", "in " + (known(a.tokens_in) ? a.tokens_in : "not reported")
          + (known(a.tokens_cached) ? " (" + a.tokens_cached + " cached)" : "")
          + " / out " + (known(a.tokens_out) ? a.tokens_out : "not reported")
          + (known(a.tokens_reasoning) ? " (" + a.tokens_reasoning + " reasoning)" : "")
          + (a.usage_source ? " \u00b7 " + a.usage_source : ""));
      } else if (a.cached !== undefined) {
        put("tokens", "not reported");
      }
      if (known(a.seconds)) put("time", a.seconds.toFixed(3) + " s"
        + (known(a.server_seconds) ? " (the server's own: " + a.server_seconds.toFixed(3) + " s)" : "")
        + (a.cached ? ", when it was asked" : ""));
      if (known(a.cost)) put("cost", "$" + (a.cost >= 0.1 ? a.cost.toFixed(2) : a.cost.toPrecision(4)));
      if (a.refusals) put("refused", a.refusals + (a.refusals === 1 ? " time" : " times")
        + " for the rate (HTTP 429), then answered");
    }
    if (a.error) put("error", a.error);
    add(box, facts);
    if (Array.isArray(a.orders)) add(box, ordersTable(a));
    if (a.logprobs) add(box, probabilities(a.logprobs));
    if (a.kind !== "error") {
      add(box, el("div", "muted", "reply" + (a.reply ? " (" + a.reply.length + (a.reply.length === 1 ? " character)" : " characters)") : "")));
      add(box, el("pre", "reply", a.reply || ""));
    }
    if (a.reasoning) add(box, add(el("details"), el("summary", "", "reasoning"), el("pre", "reasoning", a.reasoning)));
    if (a.judge_reply) add(box, add(el("details"), el("summary", "", "the judge's reply"), el("pre", "", a.judge_reply)));
    add(box, prompt(q, a, k));
    return box;
  }

  function probabilities(logprobs) {
    const letters = Object.keys(logprobs).sort();
    const p = letters.map((l) => Math.exp(logprobs[l]));
    const top = [...p].sort((x, y) => y - x);
    const box = add(el("div", "probs-box"), el("div", "muted", "each letter's probability"));
    const grid = el("div", "probs");
    letters.forEach((l, i) => {
      const fill = el("div", "fill");
      fill.style.width = (p[i] * 100).toFixed(2) + "%";
      const num = el("span", "num", pct(p[i], 1));
      num.dataset.letter = l;
      add(grid, el("b", "", l), add(el("div", "track"), fill), num);
    });
    add(box, grid);
    const m = top[0] - (top.length > 1 ? top[1] : 0);
    const margin = el("p", "margin", "margin " + pct(m, 1) + " (the top letter's probability less the next one's)");
    margin.dataset.margin = m;
    return add(box, margin);
  }

  function prompt(q, a, k) {
    const box = add(el("details", "prompt"), el("summary", "", "the prompt as sent"));
    if (a.prompt === undefined) return add(box, el("p", "muted", "the prompt is not in this report"));
    const shots = (RUNS[k].shots || {})[q.subject];
    const at = Number.isInteger(a.shots_at) ? a.shots_at : null;
    if (at === null || !shots) return add(box, el("pre", "", a.prompt));
    const folded = add(el("details", "shots"), el("summary", "", "the shots (" + shots.length + " characters)"),
      el("pre", "", shots));
    return add(box, el("pre", "", a.prompt.slice(0, at)), folded, el("pre", "", a.prompt.slice(at)));
  }

  function copyText(text, button) {
    const done = () => { button.textContent = "copied"; setTimeout(() => { button.textContent = "copy node id"; }, 1500); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(text).then(done, () => fallbackCopy(text, done));
    } else {
      fallbackCopy(text, done);
    }
  }
  function fallbackCopy(text, done) {
    const area = el("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    try { if (document.execCommand("copy")) done(); } finally { area.remove(); }
  }

  // -- the controls ----------------------------------------------------------------------------------------

  function options(select, values, label) {
    for (const v of values) {
      const o = el("option", "", label ? label(v) : v);
      o.value = v;
      add(select, o);
    }
  }
  function distinct(key) {
    return [...new Set(QUESTIONS.map((q) => q[key]).filter((v) => v !== undefined && v !== null))].sort();
  }

  function controls() {
    for (const [value, label] of OUTCOMES) {
      const b = add(el("button"), label + " ", el("span", "n", ""));
      b.type = "button";
      b.dataset.outcome = value;
      b.setAttribute("aria-pressed", String(value === state.outcome));
      b.addEventListener("click", () => {
        state.outcome = value;
        for (const other of $("outcomes").children) other.setAttribute("aria-pressed", String(other === b));
        state.page = 0;
        refresh();
      });
      add($("outcomes"), b);
    }
    options($("subject"), distinct("subject"));
    options($("category"), DATA.categories.filter((c) => QUESTIONS.some((q) => q.category === c)));
    const languages = distinct("language"), errorTypes = distinct("error_type");
    options($("language"), languages);
    options($("error-type"), errorTypes);
    $("language-choice").hidden = !languages.length;
    $("error-type-choice").hidden = !errorTypes.length;
    const runIndexes = RUNS.map((_, k) => String(k));
    for (const id of ["run", "pair-a", "pair-b"]) options($(id), runIndexes, (k) => RUNS[k].label);
    if (MULTI) {
      $("run-choice").hidden = false;
      $("pair-choice").hidden = false;
      options($("pair-filter"), PAIR_FILTERS.map(([v]) => v));
      $("pair-b").value = "1";
    }
    const bind = (id, key, parse, event) => $(id).addEventListener(event || "change", () => {
      state[key] = parse ? parse($(id).value) : $(id).value;
      state.page = 0;
      refresh();
    });
    bind("run", "run", Number);
    bind("subject", "subject");
    bind("category", "category");
    bind("language", "language");
    bind("error-type", "errorType");
    bind("pair-filter", "pair");
    bind("pair-a", "a", Number);
    bind("pair-b", "b", Number);
    bind("sort", "sort");
    bind("search", "terms", (v) => v.toLowerCase().split(/\s+/).filter(Boolean), "input");
    $("prev").addEventListener("click", () => { state.page -= 1; drawList(); });
    $("next").addEventListener("click", () => { state.page += 1; drawList(); });
  }

  RUNS.forEach((run, k) => add($("runs"), runCard(run, k)));
  if (MULTI) comparison();
  controls();
  refresh();
  const wanted = decodeURIComponent(location.hash.slice(1));
  const linked = wanted && QUESTIONS.find((q) => q.id === wanted);
  if (linked) openQuestion(linked);
  document.body.dataset.ready = "true";
})();
