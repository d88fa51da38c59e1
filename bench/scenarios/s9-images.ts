/**
 * S9 images, from upload to the recipient's screen, on one shard (embedded engines,
 * BLOB=local, MEDIA_WORKERS default: one image worker per core).
 *
 * 1. The floor, before the server starts: lg-images.ts makes the photos and times the image
 *    work itself (image-floor.ts: sha256, preview, display; sharp in-process on one core).
 * 2. One fresh server; S3's direct pairs connect on the shared load generators, and
 *    `uploaders` more pairs in lg-images. Messaging alone: open loop at `rate` (as S3).
 * 3. The same messaging again while the image senders upload 12 MP photos in rounds
 *    (`uploaders` at once; the next round when all are on screen): send→deliver latency
 *    with image load over without it, from the same run and the same clients; images per
 *    second while the shard has images to work on; server CPU per image.
 *
 * Image latencies run from the moment a sender asks for /complete (after its PUT) to the
 * recipient's DELIVER with the placeholder, the thumbnail's bytes fetched, and the
 * attachment_ready DELIVER with the display size. The baseline column of the image rows is
 * the floor; of the messaging rows it is the quiet window, so the ratio reads "with images
 * / without".
 */
import os from 'node:os';
import { nowMs } from '../clock';
import { deal, liveSpec, startTarget, type Ctx } from '../context';
import { Histogram, percentiles, type HistogramData } from '../histogram';
import type { FromImages, ImagePair, ImagePlan, ImageRunResult, ToImages } from '../lg-images';
import { chargeUndelivered, runPhase, type PlanShape } from '../phase';
import { Progress } from '../progress';
import { cpuMicros } from '../procstat';
import { row, type ImagesRuns, type PhaseRun, type Row } from '../results';
import type { Target } from '../target';
import { Forked } from '../child';

/** The image clients' process: one request at a time, answered by op. */
type ImageClients = Forked<ToImages, FromImages>;

function messaging(ctx: Ctx, lists: ReturnType<typeof liveSpec>[][]): PlanShape[] {
  const p = ctx.params.s9;
  return lists.map((clients) => ({
    mode: 'open',
    senders: clients.map((c, index) => ({ client: index, conv: Object.keys(c.convs)[0] })),
    window: 0,
    rate: p.rate / lists.length,
    bodyChars: ctx.params.bodyChars,
    sampleEvery: 1,
  }));
}

async function measure(ctx: Ctx, clients: ImageClients, data: ImagesRuns): Promise<void> {
  const p = ctx.params.s9;
  const { pool, seeded } = ctx;
  const target: Target = await startTarget(ctx, 'ours', 'S9');
  try {
    const specs = Array.from({ length: 2 * p.pairs }, (_, i) => liveSpec(ctx, i));
    const { lists } = deal(specs, p.loadgens);
    await pool.connect({ url: target.wsUrl, secret: ctx.secret, concurrency: 100, startAt: 0 }, lists, new Progress('S9 messaging clients connecting'));
    const pairs: ImagePair[] = Array.from({ length: p.uploaders }, (_, j) => {
      const k = p.pairs + j;
      return { sender: seeded.users[2 * k], recipient: seeded.users[2 * k + 1], conv: seeded.pairConvs[k] };
    });
    await clients.request({ op: 'connect', http: target.http as string, wsUrl: target.wsUrl, secret: ctx.secret, pairs }, 'connected');
    const shapes = messaging(ctx, lists);
    const rate = `${p.rate.toLocaleString('en-US')}/s`;
    // The image clients' CPU is measured apart (neither the server's nor "other processes").
    const quiet = await runPhase(ctx, target, `S9 messaging @ ${rate}, no image load`, shapes, p, [clients.pid]);
    data.quiet = chargeUndelivered(quiet, quiet.sentInWindow, p.drainMs);

    // runPhase starts its load half a second after it is called; the images run until the
    // messaging window has ended (and every sender did its rounds).
    const imagesFrom = nowMs() + 200;
    const measureFrom = imagesFrom + p.imageWarmMs + 500 + p.warmupMs;
    const measureTo = measureFrom + p.measureMs;
    const plan: ImagePlan = { startAt: imagesFrom, stopAt: measureTo, minRounds: p.rounds, deadline: measureTo + 10 * p.timeoutMs, timeoutMs: p.timeoutMs };
    console.log(`  S9 images: rounds of ${p.uploaders} uploads at once, 12 MP each; at least ${p.rounds} rounds and until the loaded window ends`);
    const cpu0 = cpuMicros(target.pid);
    const images = clients.request({ op: 'run', plan }, 'ran');
    // Awaited below; until then a failure must not count as an unhandled rejection.
    images.catch(() => undefined);
    await new Promise((r) => setTimeout(r, measureFrom - p.warmupMs - 500 - nowMs()));
    const loaded = await runPhase(ctx, target, `S9 messaging @ ${rate} with ${p.uploaders} uploads in flight`, shapes, p, [clients.pid]);
    data.loaded = chargeUndelivered(loaded, loaded.sentInWindow, p.drainMs);
    const t = Date.now();
    const result: ImageRunResult = (await images).result;
    const cpu1 = cpuMicros(target.pid);
    console.log(`  S9 images: ${result.rounds.length} rounds, ${result.started} uploads, ${result.done} on screen; the image run ended ${((Date.now() - t) / 1000).toFixed(1)} s after the messaging phase`);
    data.images = result;
    // Throughput while the shard had images to work on: each round from its first /complete
    // to its last display on screen (the gaps between rounds are the clients' PUTs).
    const busySec = result.rounds.reduce((n, r) => n + (r.to - r.from), 0) / 1000;
    data.imagesPerSec = busySec > 0 ? result.done / busySec : null;
    // The server's CPU over the whole image run, less the messaging's (its quiet rate over
    // the time it sent): what the images cost, per image.
    const messagingUs = (data.quiet.serverCpuPct / 100) * ((p.warmupMs + p.measureMs) / 1000) * 1e6;
    data.cpuUsPerImage = result.done > 0 ? (cpu1 - cpu0 - messagingUs) / result.done : null;
    await clients.request({ op: 'close' }, 'closed');
    await pool.closeAll();
  } finally {
    await target.stop();
  }
}

const pct = (h: HistogramData) => percentiles(Histogram.from([h]));

/** The image clients' CPU in a window, % of a core (runPhase gives it per delivered message). */
const clientPct = (run: PhaseRun): number => ((run.engineCpuUsPerDelivery ?? 0) * run.deliveredPerSec) / 1e4;

export async function runS9(ctx: Ctx): Promise<Row[]> {
  const p = ctx.params.s9;
  const data: ImagesRuns = { floor: null, photoBytes: 0, workers: os.availableParallelism(), quiet: null, loaded: null, images: null, imagesPerSec: null, cpuUsPerImage: null };
  ctx.results.s9 = data;
  const clients: ImageClients = new Forked<ToImages, FromImages>('lg-images.js', 'image clients');
  try {
    console.log(`  S9 floor: ${p.photos} photos of 4000×3000, then ${p.floorReps} images through hash, preview and display, in-process on one core`);
    const prepared = await clients.request({ op: 'prepare', photos: p.photos, floorReps: p.floorReps }, 'prepared');
    data.floor = prepared.floor;
    data.photoBytes = prepared.photoBytes;
    await measure(ctx, clients, data);
  } finally {
    clients.stop();
  }
  return rows(ctx, data);
}

function rows(ctx: Ctx, data: ImagesRuns): Row[] {
  const p = ctx.params.s9;
  const f = data.floor as NonNullable<ImagesRuns['floor']>;
  const img = data.images as ImageRunResult;
  const q = data.quiet as PhaseRun;
  const l = data.loaded as PhaseRun;
  const cores = os.availableParallelism();
  // The floor of each stage: hash and preview for what the preview brings (placeholder and
  // thumbnail), all three stages one after the other for the display size.
  const previewFloor = f.cpu.hash + f.cpu.preview;
  const displayFloor = f.cpu.total;
  // The last of a round waits for the whole round's work: `uploaders` images spread over
  // the cores, every preview before any display. That is the floor of the p99 and the max.
  const roundPreview = (p.uploaders * previewFloor) / cores;
  const roundDisplay = (p.uploaders * displayFloor) / cores;
  const failures = Object.entries(img.failures).map(([k, v]) => `${k}: ${v}`).join(', ');
  const head = [
    `${cores} × ${os.cpus()[0]?.model ?? '?'}, ${data.workers} image workers (MEDIA_WORKERS default), sharp ${f.sharp} / libvips ${f.vips}`,
    `${img.started} uploads of ~${(data.photoBytes / 1e6).toFixed(1)} MB 4000×3000 JPEGs (${p.uploaders} in flight), ${img.done} fully on screen${failures ? `; failed: ${failures} (charged at the ${p.timeoutMs / 1000} s timeout)` : ''}`,
    'baseline column: the floor, from the CPU time of the same sharp work in-process on one core (hash + preview for placeholder/thumbnail, + display for the display size); p50: one image alone; p99 and max: the last of a round, its whole work spread over the cores, previews first',
    `floor per image: CPU ${f.cpu.hash.toFixed(0)} + ${f.cpu.preview.toFixed(0)} + ${f.cpu.display.toFixed(0)} ms (hash, preview, display), wall ${f.wall.hash.toFixed(0)} + ${f.wall.preview.toFixed(0)} + ${f.wall.display.toFixed(0)} ms${f.wall.total > 1.1 * f.cpu.total ? ': the machine was busy' : ''}`,
    Math.ceil(0.99 * img.started) === img.started ? `p99 of ${img.started} samples is their maximum` : '',
  ];
  const ph = pct(img.placeholder);
  const th = pct(img.thumbnail);
  const di = pct(img.display);
  const db = pct(img.displayBytes);
  const co = pct(img.complete);
  const ms = (us: number) => us / 1000;
  const le = (limit: number) => (v: number) => v <= limit;
  const other = Math.max(q.otherCpuPct, l.otherCpuPct);
  const msgNotes = [
    'ours = with image load, baseline = the same clients without it (same server, same run)',
    q.undelivered + l.undelivered > 0 ? `undelivered, charged at the drain time: ${l.undelivered} with images, ${q.undelivered} without` : '',
    `server CPU ${l.serverCpuPct.toFixed(0)}% with images / ${q.serverCpuPct.toFixed(0)}% without (1 core = 100%)`,
    other > 10 ? `other processes used ${l.otherCpuPct.toFixed(0)}% / ${q.otherCpuPct.toFixed(0)}% of a core: noisy` : '',
  ];
  const r = `@ ${p.rate.toLocaleString('en-US')}/s`;
  return [
    row('S9', 'complete → placeholder on screen (DELIVER): p50', 'ms', ms(ph.p50), previewFloor, null, null, head.filter(Boolean).join('; ')),
    row('S9', 'complete → placeholder on screen: p99', 'ms', ms(ph.p99), roundPreview, '≤ 1,000 ms', le(1000)),
    row('S9', 'complete → placeholder on screen: max', 'ms', ms(ph.max), roundPreview),
    row('S9', 'complete → thumbnail bytes fetched: p50', 'ms', ms(th.p50), previewFloor, null, null, `${img.thumbnailInMessage} of ${img.started} message DELIVERs carried the thumbnail`),
    row('S9', 'complete → thumbnail bytes fetched: p99', 'ms', ms(th.p99), roundPreview, '≤ 1,000 ms', le(1000)),
    row('S9', 'complete → thumbnail bytes fetched: max', 'ms', ms(th.max), roundPreview),
    row('S9', 'complete → display size (attachment_ready): p50', 'ms', ms(di.p50), displayFloor, null, null, img.displayInMessage > 0 ? `${img.displayInMessage} display sizes were ready before the SEND (carried by the message DELIVER)` : undefined),
    row(
      'S9',
      'complete → display size (attachment_ready): p99',
      'ms',
      ms(di.p99),
      roundDisplay,
      '≤ 3,000 ms',
      le(3000),
      roundDisplay > 3000 ? `the floor is above the target here: ${cores} cores cannot do ${p.uploaders} images' work in 3 s even with nothing else to do` : undefined,
    ),
    row('S9', 'complete → display size (attachment_ready): max', 'ms', ms(di.max), roundDisplay),
    row('S9', 'complete → display bytes fetched: p99', 'ms', ms(db.p99), roundDisplay),
    row('S9', '/complete answered (preview made): p50', 'ms', ms(co.p50), previewFloor),
    row('S9', '/complete answered (preview made): p99', 'ms', ms(co.p99), roundPreview),
    row('S9', 'images on screen per second per shard, while busy', 'img/s', data.imagesPerSec, (cores * 1000) / f.cpu.total, null, null, `ours: images / Σ over rounds of (first /complete → last display bytes fetched); floor: ${cores} cores × 1 / (${f.cpu.total.toFixed(0)} ms CPU per image), every core doing nothing but image work`),
    row('S9', 'server CPU per image (image run less the messaging)', 'ms', data.cpuUsPerImage === null ? null : data.cpuUsPerImage / 1000, f.cpu.total, null, null, 'floor: CPU of hash + preview + display in-process; ours includes HTTP, disk, store, jobs, worker hops'),
    row('S9', `messaging ${r}: achieved send rate`, 'msg/s', l.sentInWindow / l.windowSec, q.sentInWindow / q.windowSec, null, null, msgNotes.filter(Boolean).join('; ')),
    row('S9', `messaging ${r}: send→deliver p50`, 'ms', ms(l.latency.p50), ms(q.latency.p50)),
    row('S9', `messaging ${r}: send→deliver p99`, 'ms', ms(l.latency.p99), ms(q.latency.p99), '≤ 1.5x without images', (o, b) => b !== null && o <= 1.5 * b),
    row('S9', `messaging ${r}: send→deliver max`, 'ms', ms(l.latency.max), ms(q.latency.max)),
    row('S9', `messaging ${r}: server CPU busy (1 core = 100%)`, '%', l.serverCpuPct, q.serverCpuPct),
    row('S9', `messaging ${r}: load generators CPU`, '%', l.loadgenCpuPct, q.loadgenCpuPct),
    row('S9', `messaging ${r}: image clients CPU`, '%', clientPct(l), clientPct(q)),
    row('S9', `messaging ${r}: other processes CPU, not the bench`, '%', l.otherCpuPct, q.otherCpuPct),
  ];
}
