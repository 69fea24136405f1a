/*
 * tshark capturing into a pcap file for an integration test: started()
 * resolves once tshark says it is capturing (plus a moment for dumpcap's
 * filter to be in place), stop() ends it by SIGINT so the file is closed
 * (SIGKILL if it hangs). With `netns` it runs inside that namespace
 * (`ip netns exec`, which execs tshark: the PID signalled is tshark's).
 */

import { spawn, type ChildProcess } from 'node:child_process';

export class TsharkCapture {
  readonly proc: ChildProcess;
  stderr = '';
  private readonly exited: Promise<number | null>;

  /** `tshark args...`; `settleMs`: the wait after "Capturing on"; `netns`: the namespace to capture in. */
  constructor(
    args: readonly string[],
    private readonly settleMs = 500,
    netns?: string,
  ) {
    const argv = netns === undefined ? ['tshark', ...args] : ['ip', 'netns', 'exec', netns, 'tshark', ...args];
    this.proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)));
  }

  async started(timeoutMs = 20_000): Promise<void> {
    const t0 = Date.now();
    while (!this.stderr.includes('Capturing on')) {
      if (this.proc.exitCode !== null) throw new Error(`tshark exited ${this.proc.exitCode}: ${this.stderr}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`tshark did not start: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, this.settleMs));
  }

  /** SIGINT by PID (tshark stops its dumpcap and closes the file), SIGKILL if it hangs. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGINT');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}
