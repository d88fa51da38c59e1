/**
 * What the orchestrator reads about a server process from /proc, from outside: resident
 * memory and CPU time. utime+stime in /proc/<pid>/stat cover all of the process's
 * threads, which is what process.cpuUsage() reports inside it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

let ticksPerSecond = 0;

function clockTicks(): number {
  if (ticksPerSecond === 0) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Open file descriptors of the process (sockets included). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** User plus system CPU time consumed so far, in microseconds (10 ms resolution). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks / clockTicks()) * 1e6;
}

/**
 * CPU time the whole machine spent busy so far (all cores, µs), from /proc/stat. Minus
 * the bench's own processes this shows other work sharing the machine during a window,
 * which would otherwise pass silently for a slow server.
 */
export function machineBusyMicros(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // cpu user nice system idle iowait irq softirq steal ...
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = f[0] + f[1] + f[2] + f[5] + f[6];
  return (busy / clockTicks()) * 1e6;
}

/** Bytes the process has caused to be written to storage so far (/proc/<pid>/io write_bytes). */
export function diskWriteBytes(pid: number): number {
  try {
    const m = /^write_bytes:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // no I/O accounting in this kernel
  }
}

/**
 * Pids of processes whose command line contains `needle` (e.g. the Redis and Cassandra
 * servers S7 runs against), read from /proc; processes that vanish while scanning are skipped.
 */
export function pidsMatching(needle: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1').includes(needle)) out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

/**
 * Kernel memory of the whole machine that grows with sockets: slab caches (the TCP socket
 * objects, inodes, dentries) from /proc/meminfo, and TCP buffer pages from
 * /proc/net/sockstat. Not in any process's VmRSS; machine-wide, so other work moves it too.
 */
export function kernelSocketMemory(): { slabBytes: number; tcpBufferBytes: number; tcpSockets: number } {
  const slab = /^Slab:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  const tcp = /^TCP: inuse (\d+) .* mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return {
    slabBytes: slab ? Number(slab[1]) * 1024 : 0,
    tcpBufferBytes: tcp ? Number(tcp[2]) * 4096 : 0,
    tcpSockets: tcp ? Number(tcp[1]) : 0,
  };
}
