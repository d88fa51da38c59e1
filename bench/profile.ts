/**
 * Summarises a V8 .cpuprofile (written by the server under test when the bench runs with
 * --profile): self time per function and per area (a src/ module, an npm package, Node
 * internals, GC), as a share of the non-idle time. Also usable on its own:
 * `node dist-bench/bench/profile.js <file.cpuprofile> [top]`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  selfMs: number;
  selfPct: number;
  name: string;
}

export interface ProfileSummary {
  tag: string;
  file: string;
  /** Sampled time that was not (idle). */
  busyMs: number;
  idleMs: number;
  functions: ProfileEntry[];
  areas: ProfileEntry[];
}

/** "src/gateway/session.js", "ws", "node:internal", or the V8 pseudo-frame's name. */
function areaOf(frame: CallFrame): string {
  const url = frame.url;
  if (!url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  if (url.startsWith('node:')) return 'node:internal';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 13).split('/')[0];
  const src = url.indexOf('/src/');
  return src >= 0 ? url.slice(src + 1) : path.basename(url);
}

function nameOf(frame: CallFrame): string {
  const fn = frame.functionName || '(anonymous)';
  if (!frame.url) return fn;
  return `${fn}  ${areaOf(frame)}${frame.url.startsWith('node:') ? ':' + frame.url.slice(5) : ''}:${frame.lineNumber + 1}`;
}

export function summariseProfile(file: string, tag: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const fnTime = new Map<string, number>();
  const areaTime = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  // timeDeltas[i] is the gap before sample i; the gap after a sample is its time.
  for (let i = 0; i < profile.samples.length; i++) {
    const frame = byId.get(profile.samples[i]);
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const name = nameOf(frame);
    fnTime.set(name, (fnTime.get(name) ?? 0) + us);
    const area = areaOf(frame);
    areaTime.set(area, (areaTime.get(area) ?? 0) + us);
  }
  const rank = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, selfMs: us / 1000, selfPct: busyUs > 0 ? (us / busyUs) * 100 : 0 }));
  return { tag, file, busyMs: busyUs / 1000, idleMs: idleUs / 1000, functions: rank(fnTime, top), areas: rank(areaTime, 15) };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [
    `profile ${s.tag}: ${(s.busyMs / 1000).toFixed(1)} s busy, ${(s.idleMs / 1000).toFixed(1)} s idle (${s.file})`,
    '  self time by area:',
    ...s.areas.map((e) => `    ${e.selfPct.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`),
    '  top functions by self time:',
    ...s.functions.map((e) => `    ${e.selfPct.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`),
  ];
  return lines.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node dist-bench/bench/profile.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatProfile(summariseProfile(file, path.basename(file), Number(process.argv[3] ?? 30))));
}
