/**
 * bench/results/latest.html: one self-contained page (inline CSS and SVG) with the table,
 * and for each scenario the plots a person reads faster than numbers: bars against the
 * baseline and the target, latency percentile curves and histograms.
 */
import { fmt } from './report-table';
import type { BenchResults, LoopDelay, Pair, Row } from './results';
import { barChart, colors, esc, histogramPlot, percentilePlot, type Bar } from './svg';

function pairBars<T>(pair: Pair<T> | undefined, value: (t: T) => number): Bar[] {
  const bars: Bar[] = [];
  if (pair?.ours) bars.push({ label: 'ours', value: value(pair.ours), color: colors.ours });
  if (pair?.baseline) bars.push({ label: 'baseline (bare ws relay)', value: value(pair.baseline), color: colors.baseline });
  return bars;
}

function table(rows: Row[]): string {
  const tr = rows.map((r) => {
    const cls = r.pass === null ? '' : r.pass ? 'pass' : 'fail';
    const verdict = r.info ? 'INFO' : r.pass === null ? '' : r.pass ? 'PASS' : 'FAIL';
    return `<tr><td>${r.scenario}</td><td>${esc(r.metric)}${r.note ? `<div class="note">${esc(r.note)}</div>` : ''}</td><td class="n">${esc(fmt(r.ours, r.unit))}</td><td class="n">${esc(fmt(r.baseline, r.unit))}</td><td class="n">${r.ratio === null ? '' : r.ratio.toFixed(2) + 'x'}</td><td>${esc(r.target ?? '')}</td><td class="${cls}">${verdict}</td></tr>`;
  });
  return `<table><tr><th></th><th>metric</th><th>ours</th><th>baseline</th><th>ours/base</th><th>target</th><th>result</th></tr>${tr.join('')}</table>`;
}

function sections(r: BenchResults): string[] {
  const out: string[] = [];
  if (r.s1) {
    out.push(
      '<h2>S1 density</h2>',
      barChart('RSS per idle connection', 'KB', pairBars(r.s1, (d) => d.rssPerConn / 1024), { value: 10, label: 'target 10 KB' }),
      barChart('V8 heap per idle connection', 'KB', pairBars(r.s1, (d) => d.heapPerConn / 1024)),
    );
  }
  for (const [id, pair, what] of [
    ['S2', r.s2, 'heavy: both members sending, window 4'],
    ['S2m', r.s2m, 'moderate: one sender per pair, window 2'],
  ] as const) {
    if (!pair) continue;
    const base = pair.baseline?.cpuUsPerDelivery;
    out.push(
      `<h2>${id} 1:1 throughput (closed loop, ${what})</h2>`,
      barChart('ACKed messages per second', 'msg/s', pairBars(pair, (d) => d.ackedPerSec), { value: 20_000, label: 'target 20,000/s' }),
      barChart('server CPU per delivered message', 'µs', pairBars(pair, (d) => d.cpuUsPerDelivery), base ? { value: 1.5 * base, label: 'target 1.5x baseline' } : undefined),
      barChart('server disk writes per ACKed message', 'KB', pairBars(pair, (d) => d.diskBytesPerAck / 1024), { value: 2, label: 'target 2 KB' }),
    );
  }
  if (r.s3) {
    out.push('<h2>S3 latency (open loop, from scheduled send time)</h2>');
    for (const rate of r.s3) {
      const series = [
        ...(rate.ours ? [{ name: 'ours', color: colors.ours, hist: rate.ours.latencyHist }] : []),
        ...(rate.baseline ? [{ name: 'baseline', color: colors.baseline, hist: rate.baseline.latencyHist }] : []),
      ];
      const ms = (rate.sqliteSync ?? r.meta.sqliteSync) === 'full' ? 25 : 10;
      const target = rate.rate === 5000 ? { ms, label: `target p99 ${ms} ms` } : undefined;
      const base = rate.baseline?.cpuUsPerDelivery;
      out.push(
        `<h3>@ ${esc(rate.label)}</h3>`,
        percentilePlot(`send→deliver latency by percentile @ ${rate.label}`, series, target),
        histogramPlot(`latency histogram @ ${rate.label}`, series),
        barChart(`server CPU per delivered message @ ${rate.label}`, 'µs', pairBars(rate, (d) => d.cpuUsPerDelivery), base ? { value: 1.5 * base, label: 'target 1.5x baseline' } : undefined),
      );
    }
  }
  const windows = loopDelayWindows(r);
  if (windows.length) {
    const tr = windows.map(
      ([name, d]) => `<tr><td>${esc(name)}</td><td class="n">${d.samples.toLocaleString('en-US')}</td><td class="n">${esc(fmt(d.p50Ms, 'ms'))}</td><td class="n">${esc(fmt(d.p99Ms, 'ms'))}</td><td class="n">${esc(fmt(d.maxMs, 'ms'))}</td></tr>`,
    );
    out.push(
      "<h2>Our server's event-loop delay in each measured window</h2>",
      '<p class="note">chat_event_loop_delay_seconds (a 10 ms timer, how late it ran), the difference of two scrapes at the window\'s edges; max from nodejs_eventloop_lag_max_seconds.</p>',
      `<table><tr><th>window</th><th>samples</th><th>p50</th><th>p99</th><th>max</th></tr>${tr.join('')}</table>`,
    );
  }
  if (r.s4) {
    out.push(
      '<h2>S4 group fan-out (250 members online)</h2>',
      barChart('deliveries per second', 'frames/s', pairBars(r.s4, (d) => d.deliveredPerSec), { value: 100_000, label: 'target 100,000/s' }),
      barChart('server CPU per delivery', 'µs', pairBars(r.s4, (d) => d.cpuUsPerDelivery)),
    );
  }
  if (r.s5) {
    const series = [
      ...(r.s5.ours ? [{ name: 'ours (with replay)', color: colors.ours, hist: r.s5.ours.connackHist }] : []),
      ...(r.s5.baseline ? [{ name: 'baseline (no replay)', color: colors.baseline, hist: r.s5.baseline.connackHist }] : []),
    ];
    out.push(
      '<h2>S5 reconnect storm</h2>',
      barChart('time until every client has its replay', 's', pairBars(r.s5, (d) => d.seconds), { value: 5, label: 'target 5 s' }),
      percentilePlot('connect→CONNACK latency by percentile', series),
    );
  }
  if (r.s6) {
    const bars = r.s6.map((s) => ({ label: `${s.sync}, ${s.medium}`, value: s.eventsPerSec, color: s.medium === 'disk' ? colors.ours : colors.alt }));
    out.push('<h2>S6 store (informational)</h2>', barChart(`events/s appended with group commit (batch ${r.s6[0]?.batch ?? '?'})`, 'events/s', bars));
  }
  if (r.s8) {
    const s8 = r.s8;
    const both = <T>(ws: T | null, lp: T | null, value: (t: T) => number): Bar[] => [
      ...(ws ? [{ label: 'WebSocket', value: value(ws), color: colors.baseline }] : []),
      ...(lp ? [{ label: 'long-poll', value: value(lp), color: colors.ours }] : []),
    ];
    const series = [
      ...(s8.ws ? [{ name: 'WebSocket', color: colors.baseline, hist: s8.ws.latencyHist }] : []),
      ...(s8.longpoll ? [{ name: 'long-poll', color: colors.ours, hist: s8.longpoll.latencyHist }] : []),
    ];
    const at = `${s8.rate.toLocaleString('en-US')}/s`;
    out.push(
      `<h2>S8 long-poll against WebSocket (our server, open loop @ ${at})</h2>`,
      barChart('server CPU per delivered message', 'µs', both(s8.ws, s8.longpoll, (d) => d.cpuUsPerDelivery)),
      percentilePlot(`send→deliver latency by percentile @ ${at}`, series),
      histogramPlot(`latency histogram @ ${at}`, series),
      barChart('RSS per idle session', 'KB', both(s8.idleWs, s8.idleLongpoll, (d) => d.rssPerSession / 1024)),
    );
  }
  if (r.s9?.images) {
    const s9 = r.s9;
    const img = s9.images as NonNullable<typeof s9.images>;
    const images = [
      { name: 'placeholder (DELIVER)', color: colors.ours, hist: img.placeholder },
      { name: 'thumbnail bytes', color: colors.alt, hist: img.thumbnail },
      { name: 'display size (attachment_ready)', color: colors.baseline, hist: img.display },
    ];
    const messaging = [
      ...(s9.loaded ? [{ name: 'with image load', color: colors.ours, hist: s9.loaded.latencyHist }] : []),
      ...(s9.quiet ? [{ name: 'without', color: colors.baseline, hist: s9.quiet.latencyHist }] : []),
    ];
    out.push(
      "<h2>S9 images: upload to the recipient's screen</h2>",
      percentilePlot('from /complete asked to the recipient, by percentile', images, { ms: 1000, label: 'target p99 1 s (placeholder, thumbnail)' }),
      percentilePlot('messaging send→deliver latency with and without image load', messaging),
    );
  }
  if (r.s10?.direct && r.s10.retract) {
    const s10 = r.s10;
    const pushes = [
      { name: '(a) message ACK → push request', color: colors.ours, hist: (s10.direct as NonNullable<typeof s10.direct>).fromAck },
      { name: '(c) READ → retract request', color: colors.alt, hist: (s10.retract as NonNullable<typeof s10.retract>).fromRead },
    ];
    const messaging = [
      ...(s10.loaded ? [{ name: 'with group pushes', color: colors.ours, hist: s10.loaded.latencyHist }] : []),
      ...(s10.quiet ? [{ name: 'without', color: colors.baseline, hist: s10.quiet.latencyHist }] : []),
    ];
    out.push(
      '<h2>S10 push to offline devices</h2>',
      percentilePlot('to the push service, by percentile', pushes, { ms: 400, label: 'target (a) p99 400 ms' }),
      percentilePlot('messaging send→deliver latency with and without the group pushes', messaging),
    );
  }
  if (r.s12) {
    const s12 = r.s12;
    const names = { ws: 'WebSocket', longpoll: 'long-poll', mqtt311: 'MQTT 3.1.1', mqtt5: 'MQTT 5' } as const;
    const color = (t: keyof typeof names): string => (t === 'ws' ? colors.baseline : t === 'longpoll' ? colors.alt : colors.ours);
    const bars = <T>(runs: { ws: T | null; mqtt311: T | null; mqtt5: T | null }, value: (t: T) => number): Bar[] =>
      (['ws', 'mqtt311', 'mqtt5'] as const).flatMap((t) => {
        const run = runs[t];
        return run ? [{ label: names[t], value: value(run), color: color(t) }] : [];
      });
    const before = s12.traffic.ws?.cpuUsPerDelivery;
    const after = s12.traffic.wsAfter?.cpuUsPerDelivery;
    // As the table's baseline: the mean of the WebSocket runs before and after the MQTT ones.
    const ws = before !== undefined && after !== undefined ? (before + after) / 2 : before;
    const wsRss = s12.idle.ws?.rssPerSession;
    out.push(
      `<h2>S12 MQTT against WebSocket (our server; open loop @ ${s12.rate.toLocaleString('en-US')}/s)</h2>`,
      barChart('RSS per idle session', 'KB', bars(s12.idle, (d) => d.rssPerSession / 1024), wsRss ? { value: wsRss / 1024, label: 'target: WebSocket' } : undefined),
      barChart(
        'server CPU per delivered message (MQTT at QoS 1, then at QoS 0 as the SDK)',
        'µs',
        [
          ...bars(s12.traffic, (d) => d.cpuUsPerDelivery),
          ...([['mqtt311Qos0', 'MQTT 3.1.1, QoS 0 (SDK)'], ['mqtt5Qos0', 'MQTT 5, QoS 0 (SDK)']] as const).flatMap(([k, label]) => {
            const run = s12.traffic[k];
            return run ? [{ label, value: run.cpuUsPerDelivery, color: colors.alt }] : [];
          }),
          ...(after !== undefined ? [{ label: 'WebSocket, again', value: after, color: colors.baseline }] : []),
        ],
        ws ? { value: 1.2 * ws, label: 'target 1.2x WebSocket' } : undefined,
      ),
      barChart(
        'bytes per message on the client sockets (SEND, ACK, DELIVER and their acks)',
        'B',
        s12.wire.map((m) => ({ label: names[m.transport], value: m.senderWritten + m.senderRead + m.receiverWritten + m.receiverRead, color: color(m.transport) })),
      ),
      barChart(
        'bytes of one keep-alive exchange (×60/h at MQTT keep-alive 60 s, ×144/h for a 25 s ping or poll)',
        'B',
        s12.keepalive.map((k) => ({ label: names[k.transport], value: k.written + k.read, color: color(k.transport) })),
      ),
    );
  }
  if (r.profiles.length) {
    out.push('<h2>Server CPU profiles</h2>');
    for (const p of r.profiles) {
      const rows = p.functions.map((f) => `<tr><td class="n">${f.selfPct.toFixed(1)}%</td><td class="n">${f.selfMs.toFixed(0)} ms</td><td><code>${esc(f.name)}</code></td></tr>`);
      out.push(`<h3>${esc(p.tag)}</h3><table><tr><th>self</th><th></th><th>function</th></tr>${rows.join('')}</table>`);
    }
  }
  return out;
}

function loopDelayWindows(r: BenchResults): [string, LoopDelay][] {
  const out: [string, LoopDelay][] = [];
  if (r.s2?.ours?.loopDelay) out.push(['S2 heavy', r.s2.ours.loopDelay]);
  if (r.s2m?.ours?.loopDelay) out.push(['S2m moderate', r.s2m.ours.loopDelay]);
  for (const rate of r.s3 ?? []) if (rate.ours?.loopDelay) out.push([`S3 @ ${rate.label}`, rate.ours.loopDelay]);
  return out;
}

export function renderHtml(r: BenchResults): string {
  const m = r.meta;
  const errors = r.errors.map((e) => `<p class="fail">${esc(e.scenario)} did not complete: ${esc(e.message)}</p>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>relay bench ${esc(m.timestamp)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;max-width:1000px;color:#111}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border-bottom:1px solid #e5e7eb;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.pass{color:#16a34a;font-weight:600}.fail{color:#dc2626;font-weight:600}
.note{color:#6b7280;font-size:12px}.quick{background:#fef3c7;padding:6px 10px;border-radius:4px}
svg{display:block;margin:8px 0 20px;font:12px system-ui,sans-serif}svg .t{font-weight:600;font-size:13px}svg .g{stroke:#e5e7eb}
</style></head><body>
<h1>relay benchmark</h1>
${m.quick ? '<p class="quick">Quick run: smaller counts and shorter phases; indicative only, not the issue\'s full scenario sizes.</p>' : ''}
<p>${esc(m.timestamp)} · ${m.cores} × ${esc(m.cpus)} · ${m.memoryGiB} GiB · Node ${esc(m.node)} · git ${esc(m.gitRev ?? '?')} · SQLITE_SYNC=${esc(m.sqliteSync)} · ${m.loadgens} load generator processes · ${m.durationSec.toFixed(0)} s · loadavg at start ${esc(m.loadavgAtStart)}</p>
${errors}
${table(r.rows)}
${sections(r).join('\n')}
</body></html>
`;
}
