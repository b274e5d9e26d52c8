// tollgate report: renders the embedded JSON. Vanilla JS, no network in a
// file (the dashboard fetches the test table from its own origin).
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('tollgate-data').textContent);
  var STATE = { P: 'passed', F: 'failed', K: 'flaky', S: 'skipped', '-': 'did not run' };
  var COLOR = { P: '#1a7f37', F: '#cf222e', K: '#bf8700', S: '#8c959f', '-': '#d0d7de' };
  var TABS = [
    ['overview', 'Overview'], ['failures', 'Failures'], ['flaky', 'Flaky'], ['slowest', 'Slowest'],
    ['tests', 'All tests'], ['owners', 'Owners'], ['trends', 'Trends'], ['jobs', 'Jobs'], ['coverage', 'Coverage'], ['bench', 'Benchmarks']
  ];
  var PALETTE = ['#0969da', '#bf3989', '#1a7f37', '#bc4c00', '#8250df', '#0a7d8c', '#cf222e', '#6e7781'];
  var main = document.getElementById('main');
  var search = document.getElementById('search');
  var tests = D.tests || null;
  var index = null; // test id -> row
  var hay = null; // every id, lower-case, one per line: searched with indexOf
  var starts = null; // offset of each id's line in `hay` (and the end)
  var filtered = null; // row numbers shown by the tests table
  var current = null; // current virtual table (keyboard)

  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else if (k === 'on') for (var ev in attrs.on) e.addEventListener(ev, attrs.on[ev]);
      else if (attrs[k] != null) e.setAttribute(k, attrs[k]);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null) continue;
      if (Array.isArray(c)) c.forEach(function (x) { if (x != null) e.appendChild(typeof x === 'string' ? document.createTextNode(x) : x); });
      else e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k]; else e.setAttribute(k, attrs[k]);
    }
    return e;
  }
  function testLink(id) { return el('a', { href: '#test/' + encodeURIComponent(id), text: id }); }
  function secs(s) { return s == null ? '' : (s >= 100 ? s.toFixed(0) : s >= 1 ? s.toFixed(2) : s.toFixed(3)) + ' s'; }
  function pct(v) { return v == null ? '' : v.toFixed(2) + '%'; }
  function short(c) { return (c || '').slice(0, 12); }
  function when(ms) { return ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : ''; }
  function delta(now, base) {
    if (base == null || now === base) return '';
    return (now > base ? ' (+' + (now - base) : ' (−' + (base - now)) + ')';
  }

  function ensureTests() {
    if (tests) return Promise.resolve(tests);
    if (!D.tests_url) return Promise.resolve(null);
    return fetch(D.tests_url, { credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      return r.json();
    }).then(function (t) { tests = t; return t; });
  }
  function buildIndex() {
    if (index || !tests) return;
    index = new Map();
    for (var i = 0; i < tests.id.length; i++) index.set(tests.id[i], i);
  }
  function buildSearch() {
    if (hay || !tests) return;
    var n = tests.id.length;
    starts = new Int32Array(n + 1);
    var at = 0;
    for (var i = 0; i < n; i++) { starts[i] = at; at += tests.id[i].length + 1; }
    starts[n] = at;
    hay = tests.id.join('\n').toLowerCase() + '\n';
    // A lower-cased id may change length (rare non-ASCII): search by line.
    if (hay.length !== at) { at = 0; var lines = hay.split('\n'); for (i = 0; i < n; i++) { starts[i] = at; at += lines[i].length + 1; } starts[n] = at; }
  }
  // Rows whose id contains `q` (lower-case), in order: one indexOf over all
  // ids at once, then the next search starts on the next line.
  function searchRows(q) {
    buildSearch();
    var n = tests.id.length, rows = [];
    if (!q) { for (var i = 0; i < n; i++) rows.push(i); return rows; }
    q = q.replace(/\n/g, '');
    var pos = hay.indexOf(q);
    while (pos >= 0) {
      var lo = 0, hi = n - 1;
      while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (starts[mid] <= pos) lo = mid; else hi = mid - 1; }
      if (pos + q.length < starts[lo + 1]) { rows.push(lo); pos = hay.indexOf(q, starts[lo + 1]); }
      else pos = hay.indexOf(q, pos + 1);
    }
    return rows;
  }
  function fullStrip(h) { return h || new Array(D.runs.length + 1).join('P'); }

  // ---- charts (inline SVG)
  function lineChart(title, values, labels, opts) {
    return multiChart(title, [{ values: values, color: (opts || {}).color }], labels, opts);
  }
  // Several series over the same x positions (`null`: no point there); each
  // series' points are joined in order. opts.marks: [{index, text}] draws a
  // dashed vertical line (class `cp`) before point `index`.
  function multiChart(title, series, labels, opts) {
    opts = opts || {};
    var w = opts.w || 420, h = opts.h || 140, pad = 28;
    var box = el('div', { cls: 'chart', 'data-title': title }, el('div', { cls: 'muted', text: title }));
    var s = svg('svg', { width: w, height: h, viewBox: '0 0 ' + w + ' ' + h, role: 'img', 'aria-label': title });
    var values = series.length ? series[0].values : [];
    var nums = [];
    series.forEach(function (sr) { sr.values.forEach(function (v) { if (v != null && isFinite(v)) nums.push(v); }); });
    if (!nums.length) { box.appendChild(el('div', { cls: 'muted', text: 'no data' })); return box; }
    var min = nums[0], max = nums[0];
    nums.forEach(function (v) { if (v < min) min = v; if (v > max) max = v; });
    var lo = opts.min != null ? opts.min : min, hi = opts.max != null ? opts.max : max;
    if (hi === lo) { hi = lo + 1; }
    var x = function (i) { return pad + (values.length < 2 ? (w - 2 * pad) / 2 : i * (w - 2 * pad) / (values.length - 1)); };
    var y = function (v) { return h - pad + 8 - (v - lo) / (hi - lo) * (h - pad - 8 - 8); };
    s.appendChild(svg('line', { x1: pad, y1: h - pad + 8, x2: w - pad, y2: h - pad + 8, stroke: '#d0d7de' }));
    s.appendChild(svg('text', { x: 2, y: 12, text: fmt(hi, opts) }));
    s.appendChild(svg('text', { x: 2, y: h - pad + 8, text: fmt(lo, opts) }));
    (opts.marks || []).forEach(function (m) {
      var mx = values.length < 2 ? x(0) : (x(m.index - 1) + x(m.index)) / 2;
      var ln = svg('line', { x1: mx, y1: 4, x2: mx, y2: h - pad + 8, stroke: '#cf222e', 'stroke-dasharray': '4 3', 'class': 'cp', 'data-index': m.index });
      ln.appendChild(svg('title', { text: m.text }));
      s.appendChild(ln);
    });
    series.forEach(function (sr) {
      var color = sr.color || '#0969da', pts = [];
      sr.values.forEach(function (v, i) { if (v != null && isFinite(v)) pts.push(x(i).toFixed(1) + ',' + y(v).toFixed(1)); });
      var line = svg('polyline', { points: pts.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 });
      if (sr.name != null) line.setAttribute('data-series', sr.name);
      s.appendChild(line);
      sr.values.forEach(function (v, i) {
        if (v == null || !isFinite(v)) return;
        var c = svg('circle', { cx: x(i), cy: y(v), r: 3, fill: color });
        if (sr.name != null) c.setAttribute('data-series', sr.name);
        c.appendChild(svg('title', { text: (sr.name != null ? sr.name + ' · ' : '') + (labels[i] || '') + ': ' + fmt(v, opts) }));
        s.appendChild(c);
      });
    });
    if (labels.length) {
      s.appendChild(svg('text', { x: pad, y: h - 4, text: labels[0] }));
      var last = svg('text', { x: w - pad, y: h - 4, text: labels[labels.length - 1], 'text-anchor': 'end' });
      s.appendChild(last);
    }
    box.appendChild(s);
    return box;
  }
  function fmt(v, opts) { return (opts.pct ? v.toFixed(1) + '%' : opts.secs ? secs(v) : (Math.round(v * 1000) / 1000).toString()) ; }
  function strip(hist, durations) {
    var n = hist.length, cw = 10, s = svg('svg', { width: n * cw, height: 14, role: 'img', 'aria-label': 'history' });
    for (var i = 0; i < n; i++) {
      var ch = hist[i], r = svg('rect', { x: i * cw, y: 1, width: cw - 2, height: 12, rx: 2, fill: COLOR[ch] || '#d0d7de' });
      var run = D.runs[D.runs.length - n + i];
      r.appendChild(svg('title', { text: (run ? run.key + ' ' + short(run.commit) + ': ' : '') + STATE[ch] + (durations && durations[i] != null ? ' ' + secs(durations[i]) : '') }));
      s.appendChild(r);
    }
    return s;
  }

  // ---- virtual table: fixed-height rows, only the visible ones in the DOM
  function virtualTable(rows, render, open) {
    var rowH = 26, box = el('div', { cls: 'vt', tabindex: '0' }), spacer = el('div', { cls: 'sp' });
    var head = el('div', { cls: 'r h' }, el('span', { text: '' }), el('span', { text: 'test' }), el('span', { text: 'component' }),
      el('span', { text: 'job' }), el('span', { text: 'time', style: 'text-align:right' }), el('span', { text: 'history (oldest → this run)' }));
    head.style.position = 'sticky';
    box.appendChild(head);
    box.appendChild(spacer);
    var sel = 0;
    spacer.style.height = (rows.length * rowH) + 'px';
    function draw() {
      var top = box.scrollTop, h = box.clientHeight || 600;
      var first = Math.max(0, Math.floor(top / rowH) - 5), last = Math.min(rows.length, Math.ceil((top + h) / rowH) + 5);
      spacer.textContent = '';
      for (var i = first; i < last; i++) {
        var r = render(rows[i]);
        r.classList.add('r');
        if (i === sel) r.classList.add('sel');
        r.style.top = (i * rowH) + 'px';
        (function (k) { r.addEventListener('click', function () { open(rows[k]); }); })(i);
        spacer.appendChild(r);
      }
    }
    box.addEventListener('scroll', draw);
    var api = {
      el: box, draw: draw, rows: rows,
      move: function (d) {
        if (!rows.length) return;
        sel = Math.max(0, Math.min(rows.length - 1, sel + d));
        var y = sel * rowH;
        if (y < box.scrollTop) box.scrollTop = y;
        else if (y + rowH * 2 > box.scrollTop + box.clientHeight) box.scrollTop = y + rowH * 2 - box.clientHeight;
        draw();
      },
      open: function () { if (rows.length) open(rows[sel]); }
    };
    requestAnimationFrame(draw);
    return api;
  }
  function testRow(i) {
    var st = tests.state[i];
    return el('div', { 'data-test': tests.id[i] },
      el('span', { cls: st, text: st === 'P' ? '✓' : st === 'F' ? '✗' : st === 'K' ? '~' : '–', title: STATE[st] }),
      el('span', { text: tests.id[i], title: tests.id[i] }),
      el('span', { text: D.meta.components[tests.component[i]] || '' }),
      el('span', { text: D.meta.job_names[tests.job[i]] || '' }),
      el('span', { text: secs(tests.ms[i] / 1000), style: 'text-align:right' }),
      el('span', {}, strip(fullStrip(tests.history[i]))));
  }

  // ---- pages
  var pages = {};
  pages.overview = function () {
    var c = D.counts, b = D.base_counts || {};
    var words = { block: 'Blocked by the gate', alert: 'Passed with alerts', pass: 'Gate passed', failed: 'Tests failed', passed: 'Tests passed' };
    var out = [el('div', { cls: 'verdict v-' + D.status, id: 'verdict', text: words[D.status] || D.status })];
    var r = D.meta.run;
    out.push(el('p', { cls: 'muted' }, 'Run ' + r.key + ' · ' + (r.pipeline || '-') + ' · ' + (r.branch || 'no branch') + ' @ ' + short(r.commit) + ' · ' + when(r.started_at_ms) +
      (D.meta.base ? ' · compared with ' + D.meta.base.key + ' (' + D.meta.base.branch + ' @ ' + short(D.meta.base.commit) + ')' : ' · no base run')));
    out.push(el('div', { cls: 'cards' }, [['tests', c.tests, b.tests], ['passed', c.passed, b.passed, 'P'], ['failed', c.failed, b.failed, 'F'],
      ['flaky', c.flaky, b.flaky, 'K'], ['skipped', c.skipped, b.skipped, 'S']].map(function (x) {
        return el('div', { cls: 'card' }, el('b', { cls: x[3] || '', text: String(x[1]) }), el('small', { text: x[0] + delta(x[1], x[2]) }));
      }).concat([el('div', { cls: 'card' }, el('b', { text: secs(c.test_seconds) }), el('small', { text: 'test time' }))])));
    if (D.verdicts.length) {
      out.push(el('h2', { text: 'Gate' }));
      out.push(el('table', {}, el('tr', {}, el('th', { text: 'check' }), el('th', { text: 'status' }), el('th', { cls: 'n', text: 'measured' }), el('th', { cls: 'n', text: 'threshold' }), el('th', { text: 'detail' })),
        D.verdicts.map(function (v) {
          return el('tr', {}, el('td', { text: v.check }), el('td', { cls: v.status === 'block' ? 'F' : v.status === 'alert' ? 'K' : 'P', text: v.status }),
            el('td', { cls: 'n', text: v.measured == null ? '' : String(Math.round(v.measured * 100) / 100) }), el('td', { cls: 'n', text: v.threshold == null ? '' : String(v.threshold) }), el('td', { text: v.detail }));
        })));
    }
    var d = D.deltas;
    out.push(el('h2', { text: d.has_base ? 'Changes against the base run' : 'Changes (no base run)' }));
    [['New failures', d.new_failures, 'F'], ['Fixed', d.fixed, 'P'], ['New flaky', d.new_flaky, 'K'], ['Newly skipped', d.newly_skipped, 'S'], ['Removed tests', d.removed, '']].forEach(function (x) {
      var list = x[1];
      var det = el('details', { open: list.length && list.length <= 20 ? '' : null }, el('summary', {}, el('span', { cls: x[2], text: x[0] + ': ' + list.length })));
      det.appendChild(el('ul', {}, list.slice(0, 500).map(function (id) { return el('li', {}, testLink(id)); })));
      if (list.length > 500) det.appendChild(el('p', { cls: 'muted', text: (list.length - 500) + ' more' }));
      out.push(det);
    });
    if (d.has_base) out.push(el('p', { cls: 'muted', text: d.added + ' tests added since the base run' }));
    if (D.runs.length > 1) {
      var labels = D.runs.map(function (r) { return r.key; });
      out.push(el('h2', { text: 'Trends over the last ' + D.runs.length + ' runs' }));
      out.push(el('div', { cls: 'charts' },
        lineChart('pass rate', D.runs.map(function (r) { var n = r.counts.passed + r.counts.failed + r.counts.flaky; return n ? 100 * r.counts.passed / n : null; }), labels, { pct: true, color: '#1a7f37' }),
        lineChart('failed tests', D.runs.map(function (r) { return r.counts.failed; }), labels, { color: '#cf222e', min: 0 }),
        lineChart('flaky tests', D.runs.map(function (r) { return r.counts.flaky; }), labels, { color: '#bf8700', min: 0 }),
        lineChart('test time', D.runs.map(function (r) { return r.counts.test_seconds; }), labels, { secs: true })));
    }
    return out;
  };
  pages.failures = function () {
    if (!D.failures.length) return [el('p', { text: 'No test failed in this run.' })];
    return D.failures.map(function (g) {
      return el('section', { cls: 'grp' }, el('h2', {}, g.component || '(no component)', g.owner ? el('span', { cls: 'tag', text: g.owner }) : null),
        g.tests.map(function (t) {
          return el('details', { cls: 'failure' }, el('summary', {}, el('span', { cls: t.state === 'failed' ? 'F' : 'K', text: t.state }), ' ', testLink(t.id), ' ',
            el('span', { cls: 'muted', text: t.job + ' · ' + t.attempts.length + ' attempt' + (t.attempts.length === 1 ? '' : 's') }), t.new ? el('span', { cls: 'tag F', text: 'new' }) : null),
            attemptsView(t.attempts));
        }));
    });
  };
  function attemptsView(attempts) {
    return el('div', {}, attempts.map(function (a) {
      return el('div', {}, el('h3', { cls: a.outcome === 'passed' ? 'P' : a.outcome === 'skipped' ? 'S' : 'F', text: 'attempt ' + a.n + ': ' + a.outcome + ' (' + secs(a.seconds) + ')' }),
        a.output ? el('pre', { text: a.output }) : el('p', { cls: 'muted', text: 'no output recorded' }));
    }));
  }
  pages.flaky = function () {
    if (!D.flaky.length) return [el('p', { text: 'No flaky test in the window.' })];
    return [el('p', { cls: 'muted', text: 'A test is flaky on a commit when it both passed and failed on that commit (a retry or another run): same-commit evidence.' }),
      el('table', {}, el('tr', {}, ['test', 'component', 'owner', 'flaky commits', 'commits', 'flake rate', 'failed attempts', 'in this run'].map(function (h, i) { return el('th', { cls: i > 2 ? 'n' : '', text: h }); })),
        D.flaky.map(function (f) {
          return el('tr', {}, el('td', {}, testLink(f.id)), el('td', { text: f.component }), el('td', { text: f.owner }), el('td', { cls: 'n', text: String(f.flaky_commits) }),
            el('td', { cls: 'n', text: String(f.commits) }), el('td', { cls: 'n', text: (100 * f.flake_rate).toFixed(1) + '%' }), el('td', { cls: 'n', text: f.failed_attempts + ' / ' + f.attempts }), el('td', { cls: 'n K', text: f.in_run ? 'yes' : '' }));
        }))];
  };
  pages.slowest = function () {
    return [el('table', {}, el('tr', {}, ['test', 'job', 'time', 'base run', 'share of job'].map(function (h, i) { return el('th', { cls: i > 1 ? 'n' : '', text: h }); })),
      D.slowest.map(function (s) {
        return el('tr', {}, el('td', {}, testLink(s.id)), el('td', { text: s.job }), el('td', { cls: 'n', text: secs(s.seconds) }), el('td', { cls: 'n', text: secs(s.base_seconds) }), el('td', { cls: 'n', text: s.job_share + '%' }));
      }))];
  };
  pages.jobs = function () {
    return [el('table', {}, el('tr', {}, ['job', 'status', 'wall', 'CPU', 'peak RSS', 'tests', 'first-attempt failures'].map(function (h, i) { return el('th', { cls: i > 1 ? 'n' : '', text: h }); })),
      D.jobs.map(function (j) {
        return el('tr', {}, el('td', { text: j.name }), el('td', { cls: j.status === 'passed' ? 'P' : j.status ? 'F' : '', text: j.status || '-' }), el('td', { cls: 'n', text: j.wall_ms == null ? '' : secs(j.wall_ms / 1000) }),
          el('td', { cls: 'n', text: j.cpu_ms == null ? '' : secs(j.cpu_ms / 1000) }), el('td', { cls: 'n', text: j.peak_rss_kb == null ? '' : (j.peak_rss_kb / 1024).toFixed(0) + ' MiB' }),
          el('td', { cls: 'n', text: String(j.first_attempts) }), el('td', { cls: 'n', text: String(j.first_failures) }));
      }))];
  };
  pages.coverage = function () {
    if (!D.coverage.length) return [el('p', { text: 'No coverage recorded for this run.' })];
    return [el('table', {}, el('tr', {}, ['by', 'key', 'lines', 'covered', 'coverage', 'base', 'change'].map(function (h, i) { return el('th', { cls: i > 1 ? 'n' : '', text: h }); })),
      D.coverage.map(function (c) {
        var ch = c.base_percent == null ? null : c.percent - c.base_percent;
        return el('tr', {}, el('td', { text: c.by }), el('td', {}, c.key || '(none)', c.critical ? el('span', { cls: 'tag', text: 'critical' }) : null), el('td', { cls: 'n', text: String(c.lines_total) }),
          el('td', { cls: 'n', text: String(c.lines_covered) }), el('td', { cls: 'n', text: pct(c.percent) }), el('td', { cls: 'n', text: pct(c.base_percent) }),
          el('td', { cls: 'n ' + (ch != null && ch < 0 ? 'F' : ''), text: ch == null ? '' : (ch >= 0 ? '+' : '') + ch.toFixed(2) }));
      }))];
  };
  pages.bench = function () {
    if (!D.bench.length) return [el('p', { text: 'No benchmark recorded for this run.' })];
    var perf = D.verdicts.filter(function (v) { return /perf|bench/i.test(v.check); });
    return [perf.length ? el('p', {}, 'Performance verdict: ', perf.map(function (v) { return el('b', { cls: v.status === 'block' ? 'F' : v.status === 'alert' ? 'K' : 'P', text: v.check + ' ' + v.status + ' ' }); })) : null,
      el('p', { cls: 'muted', text: 'Dashed red lines are change points: where the mean of the series shifted (binary segmentation with a two-sample t test, t ≥ 5 and a shift of at least 5%).' }),
      el('div', { cls: 'charts' }, D.bench.map(function (b) {
        var vals = b.history.concat([b.value]);
        var runName = function (i) { return i === vals.length - 1 ? 'this run' : 'run −' + (vals.length - 1 - i); };
        var cps = b.change_points || [];
        var sign = function (v) { return (v >= 0 ? '+' : '') + v + '%'; };
        var text = function (c) { return 'change at ' + runName(c.index) + ': ' + sign(c.change_percent) + ' (mean ' + fmt(c.before, {}) + ' → ' + fmt(c.after, {}) + ')'; };
        return el('div', { cls: 'bench', 'data-bench': b.name + ' ' + b.metric },
          multiChart(b.name + ' · ' + b.metric + (b.unit ? ' (' + b.unit + ')' : '') + (b.change_percent == null ? '' : ' · ' + sign(b.change_percent)),
            [{ values: vals }], vals.map(function (_, i) { return runName(i); }), { marks: cps.map(function (c) { return { index: c.index, text: text(c) }; }) }),
          cps.length ? el('ul', { cls: 'cps' }, cps.map(function (c) { return el('li', { cls: 'K', text: text(c) }); })) : el('p', { cls: 'muted', text: 'no change point' }));
      }))];
  };
  // Trends over the runs of the report, one line per branch.
  pages.trends = function () {
    var runs = D.runs;
    if (!runs.length) return [el('p', { text: 'No runs.' })];
    var branches = [];
    runs.forEach(function (r) { if (branches.indexOf(r.branch) < 0) branches.push(r.branch); });
    var labels = runs.map(function (r) { return r.key + ' (' + (r.branch || 'no branch') + ')'; });
    var color = function (b) { return PALETTE[branches.indexOf(b) % PALETTE.length]; };
    var metric = function (title, f, opts) {
      return multiChart(title, branches.map(function (b) {
        return { name: b, color: color(b), values: runs.map(function (r) { return r.branch === b ? f(r) : null; }) };
      }), labels, opts);
    };
    var passRate = function (r) { var n = r.counts.passed + r.counts.failed + r.counts.flaky; return n ? 100 * r.counts.passed / n : null; };
    return [el('p', { cls: 'muted', text: runs.length + ' runs of pipeline ' + (D.meta.run.pipeline || '-') + ' on ' + branches.length + ' branch' + (branches.length === 1 ? '' : 'es') + ', oldest first; one line per branch.' }),
      el('div', { cls: 'legend', id: 'trend-legend' }, branches.map(function (b) {
        var n = runs.filter(function (r) { return r.branch === b; }).length;
        return el('span', { cls: 'tag', 'data-branch': b }, el('b', { style: 'color:' + color(b), text: '● ' }), (b || 'no branch') + ' · ' + n + ' run' + (n === 1 ? '' : 's'));
      })),
      el('div', { cls: 'charts', id: 'trend-charts' },
        metric('pass rate', passRate, { pct: true }),
        metric('flake rate', function (r) { return r.flake_rate == null ? null : 100 * r.flake_rate; }, { pct: true, min: 0 }),
        metric('test duration p50', function (r) { return r.p50_ms == null ? null : r.p50_ms / 1000; }, { secs: true, min: 0 }),
        metric('test duration p95', function (r) { return r.p95_ms == null ? null : r.p95_ms / 1000; }, { secs: true, min: 0 }),
        metric('coverage', function (r) { return r.coverage_percent; }, { pct: true }),
        metric('failed tests', function (r) { return r.counts.failed; }, { min: 0 }))];
  };
  // Owners → components → tests.
  function countCells(c) {
    return [el('td', { cls: 'n', text: String(c.tests) }), el('td', { cls: 'n F', text: String(c.failed) }), el('td', { cls: 'n K', text: String(c.flaky) }), el('td', { cls: 'n S', text: String(c.skipped) })];
  }
  function countHead(first) {
    return el('tr', {}, [first, 'tests', 'failed', 'flaky', 'skipped'].map(function (h, i) { return el('th', { cls: i ? 'n' : '', text: h }); }));
  }
  function ownerHref(owner, component) {
    return '#owners/' + encodeURIComponent(owner) + (component == null ? '' : '/' + encodeURIComponent(component));
  }
  pages.owners = function () {
    if (!D.owners.length) return [el('p', { text: 'No tests in this run.' })];
    return [el('p', { cls: 'muted', text: 'Owners from [owners] and [components] of tollgate.toml (a component\'s owner, else CODEOWNERS, else the fallback); open one for its components and tests.' }),
      el('table', { id: 'owners-table' }, countHead('owner'), D.owners.map(function (o) {
        return el('tr', { 'data-owner': o.owner }, el('td', {}, el('a', { href: ownerHref(o.owner), text: o.owner || '(no owner)' })), countCells(o.counts));
      }))];
  };
  function ownerPage(owner, component) {
    var o = D.owners.filter(function (x) { return x.owner === owner; })[0];
    var out = [el('p', {}, el('a', { href: '#owners', text: 'Owners' }), ' › ', component == null ? el('b', { id: 'owner-title', text: owner || '(no owner)' }) : el('a', { href: ownerHref(owner), id: 'owner-title', text: owner || '(no owner)' }),
      component == null ? null : ' › ', component == null ? null : el('b', { id: 'component-title', text: component || '(no component)' }))];
    if (!o) { out.push(el('p', { text: 'No test of this run has this owner.' })); return out; }
    if (component == null) {
      out.push(el('table', { id: 'owner-components' }, countHead('component'), o.components.map(function (c) {
        return el('tr', { 'data-component': c.component }, el('td', {}, el('a', { href: ownerHref(owner, c.component), text: c.component || '(no component)' })), countCells(c.counts));
      })));
      return out;
    }
    var box = el('div', {}, el('p', { cls: 'muted', text: 'loading…' }));
    out.push(box);
    ensureTests().then(function (t) {
      box.textContent = '';
      if (!t) { box.appendChild(el('p', { text: 'The test table is not in this report.' })); return; }
      var oi = D.meta.owners.indexOf(owner), ci = D.meta.components.indexOf(component), rows = [];
      var rank = { F: 0, K: 1, S: 3, P: 2 };
      for (var i = 0; i < t.id.length; i++) if (t.owner[i] === oi && t.component[i] === ci) rows.push(i);
      rows.sort(function (a, b) { return (rank[t.state[a]] - rank[t.state[b]]) || (a - b); });
      box.appendChild(el('p', { cls: 'muted', id: 'owner-test-count', text: rows.length + ' tests, failures and flaky tests first' }));
      current = virtualTable(rows, testRow, function (i) { location.hash = '#test/' + encodeURIComponent(t.id[i]); });
      box.appendChild(current.el);
    }).catch(function (e) { box.textContent = 'cannot load the tests: ' + e.message; });
    return out;
  }
  pages.tests = function () {
    var box = el('div', {}, el('p', { cls: 'muted', text: 'loading…' }));
    ensureTests().then(function (t) {
      box.textContent = '';
      if (!t) { box.appendChild(el('p', { text: 'The test table is not in this report.' })); return; }
      var q = search.value.trim().toLowerCase();
      var t0 = performance.now();
      var rows = searchRows(q);
      filtered = rows;
      box.appendChild(el('p', { cls: 'muted', id: 'test-count', 'data-ms': String(Math.round(performance.now() - t0)) }, rows.length + ' of ' + t.id.length + ' tests' + (q ? ' matching “' + q + '”' : '') + ' · j/k or ↑/↓ to move, Enter to open'));
      current = virtualTable(rows, testRow, function (i) { location.hash = '#test/' + encodeURIComponent(t.id[i]); });
      box.appendChild(current.el);
    }).catch(function (e) { box.textContent = 'cannot load the tests: ' + e.message; });
    return [box];
  };
  function testPage(id) {
    var box = el('div', {}, el('h2', { id: 'test-title', text: id }));
    ensureTests().then(function (t) {
      buildIndex();
      var i = index && index.has(id) ? index.get(id) : -1;
      if (i < 0) { box.appendChild(el('p', { text: 'This test did not run in this run.' })); }
      else {
        box.appendChild(el('p', {}, el('b', { cls: t.state[i], id: 'test-state', text: STATE[t.state[i]] }), ' · ' + (D.meta.components[t.component[i]] || 'no component') + ' · job ' + (D.meta.job_names[t.job[i]] || '') + ' · ' + secs(t.ms[i] / 1000)));
        box.appendChild(el('h2', { text: 'History (oldest → this run)' }));
        var h = fullStrip(t.history[i]);
        box.appendChild(strip(h));
        var n = 0, f = 0, k = 0;
        for (var j = 0; j < h.length; j++) { if (h[j] !== '-' && h[j] !== 'S') n++; if (h[j] === 'F') f++; if (h[j] === 'K') k++; }
        box.appendChild(el('p', { cls: 'muted', text: n + ' runs: ' + f + ' failed, ' + k + ' flaky' }));
      }
      var ms = D.durations && D.durations[id];
      if (ms) {
        var runs = D.runs.slice(D.runs.length - ms.length);
        box.appendChild(lineChart('duration per run', ms.map(function (v) { return v == null ? null : v / 1000; }),
          runs.map(function (r) { return r.key; }), { secs: true, min: 0 }));
      }
      var flaky = D.flaky.filter(function (x) { return x.id === id; })[0];
      if (flaky) box.appendChild(el('p', { cls: 'K', text: 'Flaky on ' + flaky.flaky_commits + ' of ' + flaky.commits + ' commits (' + (100 * flaky.flake_rate).toFixed(1) + '%)' }));
      D.failures.forEach(function (g) {
        g.tests.forEach(function (x) {
          if (x.id !== id) return;
          box.appendChild(el('h2', { text: 'Attempts in job ' + x.job + (g.owner ? ' · owner ' + g.owner : '') }));
          box.appendChild(attemptsView(x.attempts));
        });
      });
    }).catch(function (e) { box.appendChild(el('p', { text: 'cannot load the tests: ' + e.message })); });
    return [box];
  }

  // ---- routing and keys
  var tabs = document.getElementById('tabs');
  TABS.forEach(function (t, i) {
    var a = el('a', { href: '#' + t[0], id: 'tab-' + t[0] }, t[1] + ' ', el('kbd', { text: String((i + 1) % 10) }));
    tabs.appendChild(a);
  });
  var counts = { failures: D.failures.reduce(function (n, g) { return n + g.tests.length; }, 0), flaky: D.flaky.length };
  for (var k in counts) document.getElementById('tab-' + k).firstChild.textContent += '(' + counts[k] + ') ';
  document.getElementById('title').textContent = D.meta.title;
  document.getElementById('foot').textContent = 'tollgate · generated ' + when(D.meta.generated_at_ms);

  function route() {
    var raw = location.hash.slice(1), h = decodeURIComponent(raw) || 'overview';
    current = null;
    main.textContent = '';
    var name, page;
    if (raw.indexOf('owners/') === 0) {
      var parts = raw.split('/').slice(1).map(decodeURIComponent);
      name = parts.length > 1 ? 'owner-component' : 'owner';
      page = ownerPage(parts[0], parts.length > 1 ? parts[1] : null);
      h = 'owners';
    } else if (h.indexOf('test/') === 0) {
      name = 'test';
      page = testPage(h.slice(5));
    } else {
      name = pages[h] ? h : 'overview';
      page = pages[name]();
    }
    page.forEach(function (x) { if (x) main.appendChild(x); });
    TABS.forEach(function (t) { document.getElementById('tab-' + t[0]).className = t[0] === (name === 'test' ? '' : pages[h] ? h : 'overview') ? 'on' : ''; });
    document.body.setAttribute('data-page', name);
  }
  window.addEventListener('hashchange', route);
  var timer = null;
  search.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { if (location.hash !== '#tests') location.hash = '#tests'; else route(); }, 30);
  });
  document.addEventListener('keydown', function (e) {
    if (e.target === search) {
      if (e.key === 'Escape') { search.value = ''; search.blur(); route(); }
      if (e.key === 'Enter' || e.key === 'ArrowDown') { search.blur(); if (current) current.el.focus(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === '/') { e.preventDefault(); search.focus(); return; }
    var n = parseInt(e.key, 10);
    if (n === 0) n = 10;
    if (n >= 1 && n <= TABS.length) { location.hash = '#' + TABS[n - 1][0]; return; }
    if (!current) return;
    if (e.key === 'j' || e.key === 'ArrowDown') { e.preventDefault(); current.move(1); }
    else if (e.key === 'k' || e.key === 'ArrowUp') { e.preventDefault(); current.move(-1); }
    else if (e.key === 'Enter') current.open();
  });
  route();
  document.body.setAttribute('data-ready', '1');
  // When the page became usable (ms since navigation start), for benchmarks.
  document.body.setAttribute('data-ready-ms', String(Math.round(performance.now())));
  // The search index, while the reader looks at the overview.
  var idle = window.requestIdleCallback || function (f) { return setTimeout(f, 50); };
  if (tests) idle(function () { buildSearch(); });
})();
