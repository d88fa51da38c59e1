/**
 * Progress lines for long phases. On a terminal one line is rewritten in place; in a log
 * (CI, a pipe) a line is printed at most every two seconds so the file stays readable.
 */
export class Progress {
  private last = 0;
  private readonly tty = process.stdout.isTTY === true;
  private readonly started = Date.now();

  constructor(private readonly label: string) {}

  update(done: number, total: number): void {
    const now = Date.now();
    if (now - this.last < (this.tty ? 200 : 2000)) return;
    this.last = now;
    this.print(`${this.label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')}`, false);
  }

  done(total: number): void {
    const secs = ((Date.now() - this.started) / 1000).toFixed(1);
    this.print(`${this.label}: ${total.toLocaleString('en-US')} done in ${secs} s`, true);
  }

  private print(text: string, final: boolean): void {
    if (this.tty) process.stdout.write(`\r  ${text}\x1b[K${final ? '\n' : ''}`);
    else console.log(`  ${text}`);
  }
}
