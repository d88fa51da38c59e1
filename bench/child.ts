/**
 * A bench process forked from the orchestrator and driven over IPC, one request at a time,
 * each answered by a message of a known op (or `{op: 'error', message}`). S10's push service
 * and push clients use it, and S9's image clients.
 */
import { fork, type ChildProcess } from 'node:child_process';

type Msg = { op: string };

export class Forked<To extends Msg, From extends Msg> {
  private readonly child: ChildProcess;

  /** `script`: a compiled bench file next to this one (e.g. 'lg-push-service.js'). */
  constructor(script: string, private readonly name: string) {
    this.child = fork(`${__dirname}/${script}`, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  request<K extends From['op']>(msg: To, op: K): Promise<Extract<From, { op: K }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (m: From): void => {
        if (m.op !== op && m.op !== 'error') return;
        off();
        if (m.op === 'error') reject(new Error(`${this.name} failed: ${(m as unknown as { message: string }).message}`));
        else resolve(m as Extract<From, { op: K }>);
      };
      const onExit = (code: number | null): void => {
        off();
        reject(new Error(`${this.name} exited (${code})`));
      };
      const off = (): void => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(msg);
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
  }
}
