#include "murphy/report/report_assets.h"

namespace murphy::report {
namespace {

constexpr std::string_view kStyle = R"css(
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0;
       color: #1d2329; background: #f6f7f9; font-size: 14px; line-height: 1.45; }
header, main, footer { max-width: 1360px; margin: 0 auto; padding: 8px 20px; }
h1 { margin: 12px 0 4px; font-size: 24px; }
h1 small, h2 small { font-weight: normal; color: #5d6770; font-size: 15px; margin-left: 8px; }
h2 { margin: 0 0 4px; font-size: 20px; }
h3 { margin: 6px 0 2px; font-size: 15px; }
h3 small { font-weight: normal; color: #5d6770; }
code { background: #e9ecef; padding: 0 4px; border-radius: 3px; font-size: 13px; }
nav ol { columns: 3; margin: 6px 0; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; }
.badge.ok { background: #d5f0dd; color: #1e6b34; }
.badge.bad, .warning { background: #f8d7d4; color: #8c1d12; }
.not-built { color: #5d6770; }
.scenario { background: #fff; border: 1px solid #d9dde1; border-radius: 6px; margin: 16px 0; padding: 12px 16px; }
.run { border-top: 1px solid #eceff1; margin-top: 8px; padding-top: 4px; }
.verdict { font-weight: bold; padding: 0 6px; border-radius: 3px; }
.verdict.fail { background: #c0392b; color: #fff; }
.verdict.pass { background: #27ae60; color: #fff; }
.summary, .figures, .replay { margin: 2px 0; }
.violation { margin: 4px 0; padding: 4px 8px; background: #fdecea; border-left: 3px solid #c0392b; }
.figure { display: inline-block; margin-right: 10px; color: #3b444c; font-size: 12px; }
.controls { margin: 6px 0; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; font-size: 13px; }
.controls input[type=range] { width: 360px; }
.controls .hint { color: #6c757d; }
.trace-title { font-size: 12px; color: #3b444c; margin: 6px 0 0; font-weight: bold; }
.note { font-size: 12px; color: #8a5a00; margin: 0; }
svg.timeline { display: block; background: #fff; }
svg text { font-family: inherit; }
.lane-name { font-size: 12px; fill: #1d2329; }
.clock-label { font-size: 10px; }
.axis text { font-size: 10px; fill: #6c757d; }
.axis line { stroke: #eceff1; }
.baseline { stroke: #adb5bd; stroke-width: 1.5; }
.msg line { stroke: #6b8aa8; stroke-width: 1; }
.msg[data-kind="x"] line { stroke: #c0392b; stroke-dasharray: 4 3; }
.msg .cross { stroke: #c0392b; stroke-width: 2.2; }
.msg[data-kind="2"] line { stroke: #8e44ad; stroke-width: 1.6; }
.msg[data-kind="c"] line { stroke: #e67e22; stroke-width: 1.6; }
.msg .tag { font-size: 10px; fill: #8e44ad; }
.shade.partition { fill: rgba(192, 57, 43, 0.10); }
.shade.clog { fill: rgba(241, 196, 15, 0.22); }
.shade.link_faults { fill: rgba(127, 140, 141, 0.14); }
.shade-label { font-size: 10px; fill: #8c1d12; }
.span { fill: #95a5a6; opacity: 0.85; }
.span.pause { fill: #fff; stroke: #7f8c8d; stroke-dasharray: 3 2; opacity: 1; }
.span.down { fill: #2d3436; opacity: 0.30; }
.span.lease { fill: #27ae60; }
.span.commit_wait { fill: #2980b9; }
.span.outage { fill: #c0392b; opacity: 0.45; }
.span.false_suspicion { fill: #e67e22; }
.span.suspect { fill: #c0392b; }
.span-label { font-size: 10px; fill: #1d2329; }
.mark circle { fill: #34495e; }
.mark.bad circle { fill: #c0392b; stroke: #fff; }
.mark.good circle { fill: #27ae60; }
.mark.leader circle { fill: #f39c12; }
.mark-label { font-size: 10px; fill: #34495e; }
.mark.bad .mark-label { fill: #c0392b; font-weight: bold; }
.clock-band.ahead { fill: rgba(230, 126, 34, 0.45); }
.clock-band.behind { fill: rgba(41, 128, 185, 0.45); }
.plots { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 8px; }
.plot { border: 1px solid #eceff1; border-radius: 4px; padding: 4px; }
.plot h4 { margin: 2px 4px; font-size: 13px; }
.plot text { font-size: 11px; fill: #3b444c; }
.plot .grid { stroke: #eceff1; }
.legend svg text { font-size: 11px; fill: #1d2329; }
footer { color: #6c757d; font-size: 12px; padding-bottom: 24px; }
)css";

constexpr std::string_view kScript = R"js(
(function () {
  'use strict';
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const LABEL_WIDTH = 200;
  const RIGHT_MARGIN = 12;
  const LANE_HEIGHT = 34;
  const AXIS_HEIGHT = 22;
  const COLORS = ['#2980b9', '#c0392b', '#27ae60', '#8e44ad', '#e67e22', '#16a085', '#2c3e50'];
  const PLOT_TITLES = {
    load_over_time: 'Offered load over time, per retry strategy',
    detection_vs_false_positives: 'Crash detection time against false failovers, per detector'
  };
  const data = JSON.parse(document.getElementById('murphy-data').textContent);
  let uniqueId = 0;

  function make(tag, attributes, parent) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const key in attributes) node.setAttribute(key, attributes[key]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, content, attributes) {
    const node = make('text', Object.assign({ x: x, y: y }, attributes || {}), parent);
    node.textContent = content;
    return node;
  }
  function tooltip(node, content) { make('title', {}, node).textContent = content; }
  function html(tag, className, parent, content) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    if (parent) parent.appendChild(node);
    return node;
  }

  // Microseconds of true time, for people.
  function formatTime(us) {
    if (us === 0) return '0';
    const sign = us < 0 ? '-' : '';
    const a = Math.abs(us);
    if (a < 1000) return sign + a.toFixed(0) + ' us';
    if (a < 1e6) return sign + trim((a / 1000).toFixed(a < 1e4 ? 2 : 1)) + ' ms';
    if (a < 120e6) return sign + trim((a / 1e6).toFixed(a < 1e7 ? 3 : 2)) + ' s';
    const seconds = trim(((a % 60e6) / 1e6).toFixed(1));
    return sign + Math.floor(a / 60e6) + ' min' + (seconds === '0' ? '' : ' ' + seconds + ' s');
  }
  function trim(number) { return number.indexOf('.') < 0 ? number : number.replace(/0+$/, '').replace(/\.$/, ''); }
  function signed(us) { return (us >= 0 ? '+' : '') + formatTime(us); }
  // A round step giving about `count` ticks over `range`.
  function niceStep(range, count, minutes) {
    const raw = range / Math.max(count, 1);
    // Above ten seconds of true time, steps people count in: 15 s, 30 s, 1 min...
    if (minutes && raw > 10e6) {
      for (const step of [15e6, 30e6, 60e6, 120e6, 300e6, 600e6, 1800e6, 3600e6]) if (step >= raw) return step;
    }
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    for (const factor of [1, 2, 2.5, 5, 10]) if (factor * power >= raw) return factor * power;
    return 10 * power;
  }

  // --- one scenario: shared true-time window for all of its diagrams ---------------
  function setUpScenario(scenario) {
    const section = Array.from(document.querySelectorAll('section[data-scenario]'))
      .find(node => node.getAttribute('data-scenario') === scenario.name);
    if (!section) return;
    let end = 1;
    for (const run of ['without', 'with']) {
      for (const trace of scenario.runs[run].traces) end = Math.max(end, trace.end_us);
    }
    let clockScale = 0;
    for (const run of ['without', 'with']) {
      for (const trace of scenario.runs[run].traces) {
        for (const [, points] of trace.clocks) for (const [, offset] of points) clockScale = Math.max(clockScale, Math.abs(offset));
      }
    }
    const state = { from: 0, to: end, end: end, clockScale: clockScale, renderers: [] };
    state.render = function () { for (const render of state.renderers) render(); updateControls(); };

    for (const container of section.querySelectorAll('.timelines')) {
      const run = container.getAttribute('data-timelines').split('/').pop();
      scenario.runs[run].traces.forEach(function (trace, index) {
        if (trace.title) html('p', 'trace-title', container, trace.title);
        const svg = make('svg', { class: 'timeline', 'data-timeline': scenario.name + '/' + run + '/' + index }, container);
        const width = Math.max(container.clientWidth || 1200, 600);
        state.renderers.push(function () { drawTimeline(svg, trace, state, width); });
        svg.addEventListener('wheel', function (event) {
          event.preventDefault();
          const rect = svg.getBoundingClientRect();
          const fraction = Math.min(Math.max((event.clientX - rect.left - LABEL_WIDTH) / (width - LABEL_WIDTH - RIGHT_MARGIN), 0), 1);
          zoom(event.deltaY < 0 ? 0.8 : 1.25, fraction);
        }, { passive: false });
        const counts = trace.counts;
        const notes = [];
        if (counts.messages_shown < counts.messages) {
          notes.push('showing ' + counts.messages_shown + ' of ' + counts.messages + ' messages (dropped, duplicated and corrupted ones first, the rest evenly sampled)');
        }
        if (counts.marks_shown < counts.marks) notes.push('showing ' + counts.marks_shown + ' of ' + counts.marks + ' events (failures and tokens first, the rest evenly sampled)');
        if (counts.spans_shown < counts.spans) notes.push('showing the first ' + counts.spans_shown + ' of ' + counts.spans + ' bars');
        if (counts.lines_truncated) notes.push('the trace was cut after ' + counts.lines_kept + ' of ' + counts.lines + ' lines');
        if (notes.length) html('p', 'note', container, 'Capped: ' + notes.join('; ') + '.');
      });
    }

    const plots = section.querySelector('.plots');
    const byPlot = {};
    const order = [];
    for (const run of ['without', 'with']) {
      for (const series of scenario.runs[run].series) {
        if (!byPlot[series.plot]) { byPlot[series.plot] = []; order.push(series.plot); }
        byPlot[series.plot].push(series);
      }
    }
    for (const plot of order) {
      const box = html('div', 'plot', plots);
      html('h4', '', box, PLOT_TITLES[plot] || plot);
      const svg = make('svg', { 'data-plot': plot, 'data-series': byPlot[plot].length }, box);
      const followsTime = byPlot[plot][0].x_label.indexOf('true time') === 0;
      state.renderers.push(function () { drawPlot(svg, byPlot[plot], followsTime ? state : null); });
    }

    // Controls: zoom, scrub, reset.
    const controls = section.querySelector('.controls');
    const zoomIn = html('button', '', controls, 'zoom in');
    const zoomOut = html('button', '', controls, 'zoom out');
    const reset = html('button', '', controls, 'whole run');
    const scrub = html('input', '', controls);
    scrub.type = 'range'; scrub.min = 0; scrub.max = 1000; scrub.value = 0;
    scrub.setAttribute('aria-label', 'move along true time');
    const label = html('span', 'window', controls);
    html('span', 'hint', controls, 'scroll on a diagram to zoom there; drag the slider to move along true time; hover for details');
    function zoom(factor, fraction) {
      const span = state.to - state.from;
      const center = state.from + span * (fraction === undefined ? 0.5 : fraction);
      const next = Math.min(Math.max(span * factor, Math.min(200, state.end)), state.end);
      state.from = Math.max(0, Math.min(center - next * (fraction === undefined ? 0.5 : fraction), state.end - next));
      state.to = state.from + next;
      state.render();
    }
    zoomIn.onclick = function () { zoom(0.5); };
    zoomOut.onclick = function () { zoom(2); };
    reset.onclick = function () { state.from = 0; state.to = state.end; state.render(); };
    scrub.oninput = function () {
      const span = state.to - state.from;
      state.from = (state.end - span) * scrub.value / 1000;
      state.to = state.from + span;
      state.render();
    };
    function updateControls() {
      const span = state.to - state.from;
      scrub.disabled = span >= state.end;
      scrub.value = span >= state.end ? 0 : Math.round(1000 * state.from / (state.end - span));
      label.textContent = formatTime(state.from) + ' \u2013 ' + formatTime(state.to) + ' of ' + formatTime(state.end);
    }
    state.render();
  }

  // --- a space-time diagram ----------------------------------------------------------
  function drawTimeline(svg, trace, state, width) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const lanes = trace.lanes;
    const laneIndex = {};
    lanes.forEach(function (lane, index) { laneIndex[lane.id] = index; });
    const height = AXIS_HEIGHT + Math.max(lanes.length, 1) * LANE_HEIGHT + 6;
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    const plotWidth = width - LABEL_WIDTH - RIGHT_MARGIN;
    const from = state.from;
    const to = state.to;
    const x = function (us) { return LABEL_WIDTH + (us - from) / (to - from) * plotWidth; };
    const y = function (lane) { return AXIS_HEIGHT + (laneIndex[lane] === undefined ? 0 : laneIndex[lane]) * LANE_HEIGHT + LANE_HEIGHT / 2 + 4; };
    const visible = function (a, b) { return b >= from && a <= to; };
    const id = 'm' + (++uniqueId);
    const defs = make('defs', {}, svg);
    const clip = make('clipPath', { id: id + '-clip' }, defs);
    make('rect', { x: LABEL_WIDTH, y: 0, width: plotWidth, height: height }, clip);
    for (const [name, color] of [['a', '#6b8aa8'], ['d', '#8e44ad'], ['c', '#e67e22']]) {
      const marker = make('marker', { id: id + '-' + name, viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' }, defs);
      make('path', { d: 'M0,0 L8,4 L0,8 z', fill: color }, marker);
    }

    // Time axis and grid.
    const axis = make('g', { class: 'axis' }, svg);
    const step = niceStep(to - from, plotWidth / 110, true);
    for (let tick = Math.ceil(from / step) * step; tick <= to; tick += step) {
      make('line', { x1: x(tick), x2: x(tick), y1: AXIS_HEIGHT - 4, y2: height }, axis);
      text(axis, x(tick) + 2, AXIS_HEIGHT - 8, formatTime(tick));
    }
    text(axis, 4, AXIS_HEIGHT - 8, 'true time \u2192');

    const body = make('g', { 'clip-path': 'url(#' + id + '-clip)' }, svg);
    // Faults of the network: shaded across every lane.
    for (const [start, stop, kind, label] of trace.shades) {
      if (!visible(start, stop)) continue;
      const rect = make('rect', { class: 'shade ' + kind, x: x(start), y: AXIS_HEIGHT, width: Math.max(x(stop) - x(start), 1), height: height - AXIS_HEIGHT, 'data-shade': kind }, body);
      tooltip(rect, label + ' from ' + formatTime(start) + ' to ' + formatTime(stop));
      if (x(stop) - x(start) > 70) text(body, Math.max(x(start), LABEL_WIDTH) + 3, AXIS_HEIGHT + 9, label, { class: 'shade-label' });
    }

    // Lanes: name, clock band, baseline (with pauses as gaps, downtime shaded).
    const clocks = {};
    for (const [lane, points] of trace.clocks) clocks[lane] = points;
    lanes.forEach(function (lane) {
      const ly = y(lane.id);
      text(svg, 6, ly + 4, lane.name, { class: 'lane-name' });
      make('line', { class: 'baseline', x1: LABEL_WIDTH, x2: width - RIGHT_MARGIN, y1: ly, y2: ly }, body);
      const points = clocks[lane.id];
      if (points && state.clockScale > 0) {
        // The offset of the node's wall clock from true time, as a band under the lane.
        let d = '';
        let last = 0;
        for (let i = 0; i < points.length; i++) {
          const [at, offset] = points[i];
          const next = i + 1 < points.length ? points[i + 1][0] : trace.end_us;
          const depth = 2 + 9 * Math.abs(offset) / state.clockScale;
          d += 'M' + x(at) + ',' + (ly + 2) + ' H' + x(next) + ' V' + (ly + 2 + depth) + ' H' + x(at) + ' Z ';
          last = offset;
        }
        const band = make('path', { class: 'clock-band ' + (last >= 0 ? 'ahead' : 'behind'), d: d, 'data-clock-lane': lane.id }, body);
        let maximum = 0;
        for (const [, offset] of points) if (Math.abs(offset) > Math.abs(maximum)) maximum = offset;
        tooltip(band, lane.name + ': wall clock minus true time, up to ' + signed(maximum));
        text(svg, 6, ly + 15, 'clock ' + signed(maximum) + (maximum >= 0 ? ' ahead' : ' behind'), { class: 'clock-label', fill: maximum >= 0 ? '#b35900' : '#1f618d' });
      }
    });

    // Bars: pauses (gaps), downtime, leases, commit waits, suspicions...
    for (const [lane, start, stop, kind, label] of trace.spans) {
      if (!visible(start, stop)) continue;
      const ly = y(lane);
      const x1 = x(start);
      const w = Math.max(x(stop) - x1, 2);
      let rect;
      if (kind === 'pause' || kind === 'down') {
        rect = make('rect', { class: 'span ' + kind, x: x1, y: ly - 6, width: w, height: 12, 'data-span': kind }, body);
      } else {
        rect = make('rect', { class: 'span ' + kind, x: x1, y: ly - 13, width: w, height: 9, rx: 2, 'data-span': kind }, body);
      }
      tooltip(rect, label + ': ' + formatTime(start) + ' \u2013 ' + formatTime(stop) + ' (' + formatTime(stop - start) + ')');
      const short = kind === 'lease' ? label : kind.replace(/_/g, ' ');
      if (w > 60 && kind !== 'pause' && kind !== 'down') text(body, Math.max(x1, LABEL_WIDTH) + 3, ly - 15, short.slice(0, Math.floor(w / 6)), { class: 'span-label' });
      else if (w > 40) text(body, Math.max(x1, LABEL_WIDTH) + 3, ly + 3, kind === 'pause' ? 'paused' : 'down', { class: 'span-label' });
    }

    // Messages: arrows from sender to receiver; dropped ones crossed out.
    const names = {};
    for (const lane of lanes) names[lane.id] = lane.name;
    for (const [sent, source, target, done, kind, message, detail] of trace.messages) {
      if (!visible(Math.min(sent, done), Math.max(sent, done))) continue;
      if (laneIndex[source] === undefined || laneIndex[target] === undefined || source === target) continue;
      const group = make('g', { class: 'msg', 'data-kind': kind }, body);
      const x1 = x(sent);
      const y1 = y(source);
      let x2 = x(done);
      let y2 = y(target);
      if (kind === 'x') {
        x2 = Math.max(x2, x1 + 8);
        y2 = y1 + (y2 - y1) * 0.55;
        make('line', { x1: x1, y1: y1, x2: x2, y2: y2 }, group);
        make('path', { class: 'cross', d: 'M' + (x2 - 4) + ',' + (y2 - 4) + ' L' + (x2 + 4) + ',' + (y2 + 4) + ' M' + (x2 - 4) + ',' + (y2 + 4) + ' L' + (x2 + 4) + ',' + (y2 - 4) }, group);
      } else {
        const head = kind === '2' ? 'd' : kind === 'c' ? 'c' : 'a';
        make('line', { x1: x1, y1: y1, x2: x2, y2: y2, 'marker-end': 'url(#' + id + '-' + head + ')' }, group);
        if (kind === '2') text(group, x2 + 3, y2 - 3, '2\u00d7', { class: 'tag' });
        if (kind === 'c') text(group, x2 + 3, y2 - 3, 'bits flipped', { class: 'tag' });
      }
      const what = kind === 'x' ? 'DROPPED at ' + formatTime(done) : 'delivered at ' + formatTime(done) + ' (after ' + formatTime(done - sent) + ')';
      tooltip(group, 'message ' + message + ': ' + (names[source] || source) + ' \u2192 ' + (names[target] || target) + ', sent at ' + formatTime(sent) + ', ' + what + ' \u2014 ' + detail);
    }

    // Events: dots on the lane; failures in red, tokens written next to them.
    let inView = 0;
    for (const mark of trace.marks) if (mark[1] >= from && mark[1] <= to) inView++;
    let labels = 0;
    const labelEnd = {};  // lane -> x where its last label ends: labels never overlap
    for (const [lane, at, event, detail, tone, token] of trace.marks) {
      if (at < from || at > to) continue;
      const group = make('g', { class: 'mark' + (tone ? ' ' + tone : ''), 'data-event': event }, body);
      if (token !== null) {
        group.setAttribute(/_rejected$/.test(event) ? 'data-rejected-token' : 'data-token', token);
      }
      const mx = x(at);
      const my = y(lane);
      make('circle', { cx: mx, cy: my, r: tone === 'bad' ? 5 : tone ? 4 : 3 }, group);
      tooltip(group, event + ' at ' + formatTime(at) + (detail ? ' \u2014 ' + detail : ''));
      const words = token !== null ? event.replace(/_/g, ' ') + ' (token ' + token + ')' : event.replace(/_/g, ' ');
      const wanted = token !== null || (tone && labels < 40) || inView <= 40;
      if (wanted && mx >= (labelEnd[lane] || 0)) {
        labels++;
        text(group, mx + 6, my + 13, words, { class: 'mark-label' });
        labelEnd[lane] = mx + 10 + words.length * 5.6;
      }
    }
  }

  // --- a plot of named (x, y) series ------------------------------------------------
  function drawPlot(svg, seriesList, state) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const width = 640;
    const height = 300;
    const left = 56, right = 160, top = 12, bottom = 42;
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    let xMin = Infinity, xMax = -Infinity, yMax = 0;
    for (const series of seriesList) {
      for (const [px, py] of series.points) {
        xMin = Math.min(xMin, px); xMax = Math.max(xMax, px); yMax = Math.max(yMax, py);
      }
    }
    if (state) { xMin = state.from / 1e6; xMax = state.to / 1e6; }
    if (!isFinite(xMin)) { xMin = 0; xMax = 1; }
    if (seriesList[0].style === 'points') { xMin = Math.min(xMin, 0) - 0.5; xMax = xMax + 0.5; }
    if (xMax <= xMin) xMax = xMin + 1;
    yMax = yMax > 0 ? yMax * 1.1 : 1;
    const plotWidth = width - left - right;
    const plotHeight = height - top - bottom;
    const px = function (value) { return left + (value - xMin) / (xMax - xMin) * plotWidth; };
    const py = function (value) { return top + plotHeight - value / yMax * plotHeight; };
    const id = 'p' + (++uniqueId);
    make('rect', { x: left, y: top, width: plotWidth, height: plotHeight }, make('clipPath', { id: id }, make('defs', {}, svg)));
    const xStep = niceStep(xMax - xMin, 6);
    for (let tick = Math.ceil(xMin / xStep) * xStep; tick <= xMax + 1e-9; tick += xStep) {
      make('line', { class: 'grid', x1: px(tick), x2: px(tick), y1: top, y2: top + plotHeight }, svg);
      text(svg, px(tick), top + plotHeight + 14, trim(tick.toFixed(3)), { 'text-anchor': 'middle' });
    }
    const yStep = niceStep(yMax, 5);
    for (let tick = 0; tick <= yMax + 1e-9; tick += yStep) {
      make('line', { class: 'grid', x1: left, x2: left + plotWidth, y1: py(tick), y2: py(tick) }, svg);
      text(svg, left - 4, py(tick) + 4, trim(tick.toFixed(2)), { 'text-anchor': 'end' });
    }
    make('rect', { x: left, y: top, width: plotWidth, height: plotHeight, fill: 'none', stroke: '#adb5bd' }, svg);
    text(svg, left + plotWidth / 2, height - 6, seriesList[0].x_label, { 'text-anchor': 'middle' });
    text(svg, 12, top + plotHeight / 2, seriesList[0].y_label, { 'text-anchor': 'middle', transform: 'rotate(-90 12 ' + (top + plotHeight / 2) + ')' });
    const body = make('g', { 'clip-path': 'url(#' + id + ')' }, svg);
    const colors = {};
    let legendRow = 0;
    for (const series of seriesList) {
      const isCapacity = series.name === 'capacity';
      if (colors[series.name] === undefined) {
        colors[series.name] = isCapacity ? '#c0392b' : COLORS[Object.keys(colors).length % COLORS.length];
        const ly = top + 10 + 16 * legendRow++;
        make('line', { x1: width - right + 10, x2: width - right + 28, y1: ly - 4, y2: ly - 4, stroke: colors[series.name], 'stroke-width': 3, 'stroke-dasharray': isCapacity ? '5 3' : '' }, svg);
        text(svg, width - right + 32, ly, series.name);
      }
      const color = colors[series.name];
      const group = make('g', { 'data-series-name': series.name }, body);
      if (series.style === 'points') {
        for (const [vx, vy] of series.points) {
          const dot = make('circle', { cx: px(vx), cy: py(vy), r: 6, fill: color }, group);
          tooltip(dot, series.name + ': ' + vx + ' false failovers, crash detected after ' + vy + ' s');
          text(group, px(vx) + 9, py(vy) + 4, series.name);
        }
        if (!series.points.length) text(svg, width - right + 32, top + 10 + 16 * legendRow++, '(' + series.name + ': never detected)');
        continue;
      }
      let d = '';
      for (const [vx, vy] of series.points) {
        if (state && (vx < xMin - 1 || vx > xMax + 1)) continue;
        d += (d ? ' L' : 'M') + px(vx).toFixed(1) + ',' + py(vy).toFixed(1);
      }
      const path = make('path', { d: d, fill: 'none', stroke: color, 'stroke-width': isCapacity ? 2 : 1.3, 'stroke-dasharray': isCapacity ? '6 4' : '' }, group);
      tooltip(path, series.name);
    }
  }

  // --- legend ---------------------------------------------------------------------
  function drawLegend() {
    const holder = document.getElementById('legend');
    if (!holder) return;
    const svg = make('svg', { height: 34, class: 'timeline' }, holder);
    const defs = make('defs', {}, svg);
    const marker = make('marker', { id: 'legend-arrow', viewBox: '0 0 8 8', refX: 7, refY: 4, markerWidth: 7, markerHeight: 7, orient: 'auto' }, defs);
    make('path', { d: 'M0,0 L8,4 L0,8 z', fill: '#6b8aa8' }, marker);
    let at = 6;
    function item(draw, label) { draw(at); text(svg, at + 38, 21, label); at += 46 + label.length * 5.9; }
    item(function (x0) { make('line', { x1: x0, y1: 10, x2: x0 + 32, y2: 24, stroke: '#6b8aa8', 'marker-end': 'url(#legend-arrow)' }, svg); }, 'message');
    item(function (x0) {
      make('line', { x1: x0, y1: 10, x2: x0 + 28, y2: 20, stroke: '#c0392b', 'stroke-dasharray': '4 3' }, svg);
      make('path', { d: 'M' + (x0 + 24) + ',16 L' + (x0 + 32) + ',24 M' + (x0 + 24) + ',24 L' + (x0 + 32) + ',16', stroke: '#c0392b', 'stroke-width': 2.2 }, svg);
    }, 'dropped');
    item(function (x0) { make('line', { x1: x0, y1: 10, x2: x0 + 32, y2: 24, stroke: '#8e44ad', 'stroke-width': 1.6 }, svg); }, 'duplicate (2\u00d7)');
    item(function (x0) { make('line', { x1: x0, y1: 10, x2: x0 + 32, y2: 24, stroke: '#e67e22', 'stroke-width': 1.6 }, svg); }, 'corrupted');
    item(function (x0) { make('rect', { x: x0, y: 4, width: 32, height: 26, class: 'shade partition' }, svg); }, 'partition');
    item(function (x0) { make('rect', { x: x0, y: 4, width: 32, height: 26, class: 'shade clog' }, svg); }, 'clogged link');
    item(function (x0) { make('line', { x1: x0, x2: x0 + 32, y1: 17, y2: 17, class: 'baseline' }, svg); make('rect', { x: x0 + 8, y: 11, width: 16, height: 12, class: 'span pause' }, svg); }, 'pause (gap)');
    item(function (x0) { make('rect', { x: x0, y: 11, width: 32, height: 12, class: 'span down' }, svg); }, 'crashed');
    item(function (x0) { make('rect', { x: x0, y: 12, width: 32, height: 9, class: 'span lease' }, svg); }, 'lease / bar');
    item(function (x0) { make('circle', { cx: x0 + 16, cy: 17, r: 5, fill: '#c0392b' }, svg); }, 'rejected write / failure');
    item(function (x0) { make('rect', { x: x0, y: 12, width: 32, height: 10, class: 'clock-band ahead' }, svg); }, 'clock offset vs true time');
    svg.setAttribute('width', at);
    svg.setAttribute('viewBox', '0 0 ' + at + ' 34');
  }

  drawLegend();
  for (const scenario of data.scenarios) setUpScenario(scenario);
  document.body.setAttribute('data-report-ready', 'true');
})();
)js";

}  // namespace

std::string_view ReportStyle() { return kStyle; }
std::string_view ReportScript() { return kScript; }

}  // namespace murphy::report
