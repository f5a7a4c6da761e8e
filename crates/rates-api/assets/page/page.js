// Overview page: enhances the server-rendered table with a base picker, a converter and a chart,
// all read from this server's JSON API. No dependencies; no inline code (the page's CSP forbids it).
'use strict';

(function () {
  var KEY_STORAGE = 'rates-api-key';
  // The JSON range cap (DEFAULT_MAX_RANGE_DAYS): longer periods are asked for in pieces.
  var MAX_RANGE_DAYS = 366;
  var FIRST_DAY = '1999-01-01';
  var DAY_MS = 86400000;
  var SVG_NS = 'http://www.w3.org/2000/svg';

  var byId = function (id) { return document.getElementById(id); };
  var needsKey = document.body.getAttribute('data-auth') === 'api-key';
  var state = {
    names: {},
    latestDate: null,
    groupSupported: null,
    chartRequest: 0,
    series: { points: [], group: null, from: '', to: '' },
    xs: [],
    cursor: -1,
    started: false
  };

  // ---- API access ---------------------------------------------------------------------------

  function storedKey() {
    try { return window.sessionStorage.getItem(KEY_STORAGE) || ''; } catch (e) { return ''; }
  }

  function storeKey(key) {
    try {
      if (key) { window.sessionStorage.setItem(KEY_STORAGE, key); } else { window.sessionStorage.removeItem(KEY_STORAGE); }
    } catch (e) { /* storage disabled: the key lives until the page is left */ }
    state.key = key;
  }

  function apiFailure(status, detail, message) {
    var error = new Error(message);
    error.status = status;
    error.code = detail.code || '';
    error.nearestDate = detail.nearest_date || null;
    return error;
  }

  async function api(path) {
    var headers = { Accept: 'application/json' };
    var key = state.key || storedKey();
    if (key) { headers['X-API-Key'] = key; }
    var response;
    try {
      response = await fetch(path, { headers: headers });
    } catch (e) {
      throw apiFailure(0, { code: 'network' }, 'The server cannot be reached.');
    }
    var body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      var detail = body && body.error ? body.error : {};
      var failure = apiFailure(response.status, detail, detail.message || ('HTTP ' + response.status));
      if (response.status === 401) { askForKey('The key was not accepted: ' + failure.message); }
      throw failure;
    }
    return body;
  }

  function askForKey(message) {
    storeKey('');
    byId('key-section').hidden = false;
    byId('key-error').textContent = message || '';
    byId('key').focus();
  }

  // ---- Helpers ------------------------------------------------------------------------------

  function addDays(day, count) {
    return new Date(Date.parse(day + 'T00:00:00Z') + count * DAY_MS).toISOString().slice(0, 10);
  }

  function fillSelect(select, codes, preferred) {
    var current = select.value || preferred;
    select.textContent = '';
    codes.forEach(function (code) {
      var option = document.createElement('option');
      option.value = code;
      option.textContent = state.names[code] ? code + ' \u2013 ' + state.names[code] : code;
      select.appendChild(option);
    });
    var wanted = [current, preferred].concat(codes).filter(function (code) { return codes.indexOf(code) >= 0; });
    if (wanted.length) { select.value = wanted[0]; }
  }

  function show(id, text, isError) {
    var node = byId(id);
    node.textContent = text;
    node.classList.toggle('error', Boolean(isError));
  }

  // ---- Latest table -------------------------------------------------------------------------

  async function showLatest(base) {
    show('latest-status', 'Loading\u2026');
    var data = await api('/rates/latest/?base=' + encodeURIComponent(base));
    var tbody = byId('latest-table').tBodies[0];
    var rows = document.createDocumentFragment();
    Object.keys(data.rates).sort().forEach(function (code) {
      if (code === data.base) { return; }
      var row = document.createElement('tr');
      var head = document.createElement('th');
      head.scope = 'row';
      head.textContent = code;
      var name = document.createElement('td');
      name.textContent = state.names[code] || '';
      var rate = document.createElement('td');
      rate.className = 'num';
      rate.textContent = String(data.rates[code]);
      row.append(head, name, rate);
      rows.appendChild(row);
    });
    tbody.replaceChildren(rows);
    byId('latest-table').classList.toggle('no-names', !Object.keys(state.names).some(function (code) {
      return state.names[code];
    }));
    byId('latest-caption').textContent = '1 ' + data.base + ' in other currencies on ' + data.date;
    show('latest-status', 'Rates of ' + data.date + '.');
    return data;
  }

  async function changeBase() {
    var base = byId('base').value;
    try {
      await showLatest(base);
      window.history.replaceState(null, '', '/?base=' + encodeURIComponent(base));
    } catch (e) {
      show('latest-status', e.message, true);
    }
  }

  // ---- Converter ----------------------------------------------------------------------------

  async function convert(event) {
    if (event) { event.preventDefault(); }
    var from = byId('from').value;
    var to = byId('to').value;
    var amount = byId('amount').value.trim();
    var date = byId('date').value;
    var query = new URLSearchParams({ from: from, to: to, amount: amount });
    if (date) {
      query.set('date', date);
      query.set('fallback', 'previous');
    }
    var result = byId('convert-result');
    try {
      var data = await api('/convert?' + query.toString());
      result.textContent = data.query.amount + ' ' + from + ' = ' + data.result + ' ' + to;
      result.setAttribute('data-result', String(data.result));
      result.classList.remove('error');
      var note = '1 ' + from + ' = ' + data.rate + ' ' + to + ', rates of ' + data.date + '.';
      if (data.requested_date && data.requested_date !== data.date) {
        note += ' No rates were published on ' + data.requested_date +
          '; the previous day with rates, ' + data.date + ', was used.';
      }
      show('convert-note', note);
    } catch (e) {
      result.removeAttribute('data-result');
      show('convert-result', e.message, true);
      show('convert-note', '');
    }
  }

  // ---- Chart --------------------------------------------------------------------------------

  function pointsOf(answer, to) {
    return Object.keys(answer.rates).sort().map(function (day) {
      return { date: day, value: answer.rates[day][to] };
    }).filter(function (point) { return typeof point.value === 'number'; });
  }

  function periodStart(day, group) {
    if (group === 'month') { return day.slice(0, 8) + '01'; }
    if (group === 'year') { return day.slice(0, 5) + '01-01'; }
    var weekday = new Date(Date.parse(day + 'T00:00:00Z')).getUTCDay();
    return addDays(day, -((weekday + 6) % 7));
  }

  // The mean of each period's daily values, keyed by the period's first day (as `group` does).
  function groupPoints(points, group) {
    var periods = [];
    points.forEach(function (point) {
      var key = periodStart(point.date, group);
      var last = periods[periods.length - 1];
      if (last && last.date === key) {
        last.sum += point.value;
        last.count += 1;
      } else {
        periods.push({ date: key, sum: point.value, count: 1 });
      }
    });
    return periods.map(function (period) {
      return { date: period.date, value: Number((period.sum / period.count).toPrecision(10)) };
    });
  }

  // Daily values in ranges of at most MAX_RANGE_DAYS, from the end backwards: an empty range's
  // 404 names the nearest earlier day held, so gaps are skipped and the search stops where the
  // history begins.
  async function dailyInPieces(start, end, query, to) {
    var parts = [];
    var last = end;
    while (last >= start) {
      var first = addDays(last, 1 - MAX_RANGE_DAYS);
      if (first < start) { first = start; }
      try {
        parts.unshift(pointsOf(await api('/rates/' + first + '..' + last + '/' + query), to));
        last = addDays(first, -1);
      } catch (e) {
        if (e.code !== 'range_not_found') { throw e; }
        if (!e.nearestDate) { break; }
        last = e.nearestDate;
      }
    }
    return [].concat.apply([], parts);
  }

  async function loadSeries(from, to, start, end, group) {
    var query = '?base=' + encodeURIComponent(from) + '&symbols=' + encodeURIComponent(to);
    var path = '/rates/' + start + '..' + end + '/';
    if (!group) { return pointsOf(await api(path + query), to); }
    if (state.groupSupported !== false) {
      try {
        var grouped = pointsOf(await api(path + query + '&group=' + group), to);
        state.groupSupported = true;
        return grouped;
      } catch (e) {
        // A server without `group` refuses the parameter or the long range (400).
        if (state.groupSupported === true || e.status !== 400) { throw e; }
        state.groupSupported = false;
      }
    }
    return groupPoints(await dailyInPieces(start, end, query, to), group);
  }

  async function loadChart() {
    if (!state.latestDate) { return; }
    var request = ++state.chartRequest;
    var from = byId('chart-from').value;
    var to = byId('chart-to').value;
    var period = byId('period').value;
    var end = state.latestDate;
    var start = period === 'all' ? FIRST_DAY : addDays(end, -Number(period));
    var days = (Date.parse(end) - Date.parse(start)) / DAY_MS + 1;
    var group = days <= MAX_RANGE_DAYS ? null : (days <= 1830 ? 'week' : 'month');
    var svg = byId('chart');
    svg.setAttribute('aria-busy', 'true');
    show('chart-status', 'Loading\u2026');
    try {
      var points = await loadSeries(from, to, start, end, group);
      if (request !== state.chartRequest) { return; }
      state.series = { points: points, group: group, from: from, to: to };
      state.cursor = -1;
      draw();
      var what = group ? points.length + ' ' + group + 'ly means' : points.length + ' days';
      show('chart-status', points.length
        ? from + ' to ' + to + ': ' + what + ' from ' + points[0].date + ' to ' + points[points.length - 1].date + '.'
        : 'No rates held for this period.');
      svg.setAttribute('data-pair', from + '/' + to);
      svg.setAttribute('data-start', start);
      svg.setAttribute('data-end', end);
      svg.setAttribute('data-group', group || 'day');
    } catch (e) {
      if (request !== state.chartRequest) { return; }
      state.series = { points: [], group: null, from: from, to: to };
      draw();
      show('chart-status', e.message, true);
    } finally {
      if (request === state.chartRequest) { svg.removeAttribute('aria-busy'); }
    }
  }

  function svgNode(name, attributes, parent) {
    var node = document.createElementNS(SVG_NS, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    parent.appendChild(node);
    return node;
  }

  function tickLabel(value, span) {
    var digits = Math.max(0, Math.min(8, 2 - Math.floor(Math.log10(span || 1))));
    return value.toFixed(digits);
  }

  function draw() {
    var svg = byId('chart');
    var title = byId('chart-title');
    while (svg.lastChild && svg.lastChild !== title) { svg.removeChild(svg.lastChild); }
    var points = state.series.points;
    var width = Math.max(200, svg.clientWidth || 640);
    var height = Math.max(120, svg.clientHeight || 288);
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    svg.setAttribute('data-count', String(points.length));
    state.xs = [];
    if (!points.length) {
      title.textContent = 'History chart: no data';
      return;
    }
    var pad = { left: width < 480 ? 52 : 64, right: 12, top: 12, bottom: 28 };
    var values = points.map(function (point) { return point.value; });
    var low = Math.min.apply(null, values);
    var high = Math.max.apply(null, values);
    var margin = (high - low) * 0.05 || Math.abs(high) * 0.01 || 1;
    low -= margin;
    high += margin;
    var t0 = Date.parse(points[0].date);
    var t1 = Math.max(Date.parse(points[points.length - 1].date), t0 + DAY_MS);
    var plotWidth = width - pad.left - pad.right;
    var plotHeight = height - pad.top - pad.bottom;
    var x = function (day) { return pad.left + (Date.parse(day) - t0) / (t1 - t0) * plotWidth; };
    var y = function (value) { return pad.top + (high - value) / (high - low) * plotHeight; };

    var axes = svgNode('g', { 'aria-hidden': 'true' }, svg);
    for (var i = 0; i <= 4; i++) {
      var value = low + (high - low) * i / 4;
      var lineY = y(value).toFixed(1);
      svgNode('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: lineY, y2: lineY }, axes);
      svgNode('text', { class: 'axis', x: pad.left - 6, y: lineY, 'text-anchor': 'end', 'dominant-baseline': 'middle' }, axes)
        .textContent = tickLabel(value, high - low);
    }
    var ticks = Math.max(2, Math.floor(plotWidth / 110));
    var long = (t1 - t0) > 400 * DAY_MS;
    for (var k = 0; k < ticks; k++) {
      var index = Math.round(k * (points.length - 1) / (ticks - 1));
      var day = points[index].date;
      svgNode('text', {
        class: 'axis', x: x(day).toFixed(1), y: height - 8,
        'text-anchor': k === 0 ? 'start' : (k === ticks - 1 ? 'end' : 'middle')
      }, axes).textContent = long ? day.slice(0, 7) : day;
    }

    var coordinates = points.map(function (point) {
      var px = x(point.date);
      state.xs.push(px);
      return px.toFixed(1) + ',' + y(point.value).toFixed(1);
    });
    svgNode('polyline', { class: 'series', points: coordinates.join(' ') }, svg);
    var cursor = svgNode('g', { id: 'chart-cursor', visibility: 'hidden', 'aria-hidden': 'true' }, svg);
    svgNode('line', { class: 'cursor', y1: pad.top, y2: height - pad.bottom }, cursor);
    svgNode('circle', { class: 'dot', r: 5 }, cursor);
    state.y = y;
    var series = state.series;
    title.textContent = 'History of 1 ' + series.from + ' in ' + series.to + ' from ' + points[0].date +
      ' to ' + points[points.length - 1].date + ', between ' + Math.min.apply(null, values) +
      ' and ' + Math.max.apply(null, values) + '.';
    if (state.cursor >= 0) { setCursor(Math.min(state.cursor, points.length - 1)); }
  }

  function setCursor(index) {
    var points = state.series.points;
    if (!points.length) { return; }
    index = Math.max(0, Math.min(points.length - 1, index));
    state.cursor = index;
    var point = points[index];
    var cursor = byId('chart-cursor');
    var px = state.xs[index].toFixed(1);
    var line = cursor.firstChild;
    line.setAttribute('x1', px);
    line.setAttribute('x2', px);
    var dot = cursor.lastChild;
    dot.setAttribute('cx', px);
    dot.setAttribute('cy', state.y(point.value).toFixed(1));
    cursor.setAttribute('visibility', 'visible');
    var group = state.series.group;
    var when = group ? 'Mean of the ' + group + ' from ' + point.date : point.date;
    byId('chart-readout').textContent = when + ': 1 ' + state.series.from + ' = ' + point.value + ' ' + state.series.to;
  }

  function nearest(px) {
    var xs = state.xs;
    var low = 0;
    var high = xs.length - 1;
    while (low < high) {
      var middle = (low + high) >> 1;
      if (xs[middle] < px) { low = middle + 1; } else { high = middle; }
    }
    return low > 0 && px - xs[low - 1] < xs[low] - px ? low - 1 : low;
  }

  function onPointer(event) {
    if (!state.xs.length) { return; }
    var svg = byId('chart');
    var box = svg.getBoundingClientRect();
    var viewWidth = svg.viewBox.baseVal ? svg.viewBox.baseVal.width : box.width;
    setCursor(nearest((event.clientX - box.left) * viewWidth / box.width));
  }

  function onKey(event) {
    var last = state.series.points.length - 1;
    var at = state.cursor < 0 ? last : state.cursor;
    var moves = { ArrowLeft: at - 1, ArrowRight: at + 1, PageUp: at - 10, PageDown: at + 10, Home: 0, End: last };
    if (!(event.key in moves) || last < 0) { return; }
    event.preventDefault();
    setCursor(moves[event.key]);
  }

  // ---- Start --------------------------------------------------------------------------------

  async function start() {
    try {
      var list = await api('/currencies/');
      state.names = {};
      Object.keys(list.symbols).forEach(function (code) { state.names[code] = list.symbols[code]; });
      var held = Object.keys(list.symbols).sort();
      byId('key-section').hidden = true;
      var baseSelect = byId('base');
      var wantedBase = baseSelect.value || new URLSearchParams(window.location.search).get('base') || 'EUR';
      var latest = await showLatest(held.indexOf(wantedBase) >= 0 ? wantedBase : (held[0] || 'EUR'));
      var quoted = Object.keys(latest.rates).concat([latest.base]).filter(function (code, index, all) {
        return all.indexOf(code) === index;
      }).sort();
      fillSelect(baseSelect, quoted, latest.base);
      fillSelect(byId('from'), held, 'USD');
      fillSelect(byId('to'), held, 'EUR');
      fillSelect(byId('chart-from'), held, 'EUR');
      fillSelect(byId('chart-to'), held, 'USD');
      state.latestDate = latest.date;
      byId('base-submit').hidden = true;
      byId('converter').hidden = false;
      byId('history').hidden = false;
      if (!state.started) {
        state.started = true;
        baseSelect.addEventListener('change', changeBase);
        byId('base-form').addEventListener('submit', function (event) { event.preventDefault(); changeBase(); });
        byId('convert-form').addEventListener('submit', convert);
        ['chart-from', 'chart-to', 'period'].forEach(function (id) {
          byId(id).addEventListener('change', loadChart);
        });
        var svg = byId('chart');
        svg.addEventListener('pointermove', onPointer);
        svg.addEventListener('pointerdown', onPointer);
        svg.addEventListener('keydown', onKey);
        svg.addEventListener('focus', function () {
          if (state.cursor < 0) { setCursor(state.series.points.length - 1); }
        });
        var pending = false;
        window.addEventListener('resize', function () {
          if (pending) { return; }
          pending = true;
          window.requestAnimationFrame(function () { pending = false; draw(); });
        });
      }
      await Promise.all([convert(), loadChart()]);
      // Milliseconds from navigation until everything is shown (docs/benchmarks.md).
      document.body.setAttribute('data-ready-ms', String(Math.round(window.performance.now())));
      document.body.setAttribute('data-ready', 'true');
    } catch (e) {
      if (e.status !== 401) { show('latest-status', e.message, true); }
    }
  }

  byId('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var key = byId('key').value.trim();
    if (!key) { return; }
    storeKey(key);
    byId('key').value = '';
    byId('key-error').textContent = '';
    start();
  });

  if (needsKey && !storedKey()) {
    askForKey('');
  } else {
    start();
  }
}());
