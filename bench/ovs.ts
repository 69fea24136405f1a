/*
 * A private Open vSwitch for the end-to-end benchmark: its own ovsdb-server
 * and ovs-vswitchd with a run directory, database, logs, sockets and pid
 * files in one temporary directory (OVS_RUNDIR, OVS_DBDIR, OVS_LOGDIR point
 * there), never the system's /var/run/openvswitch. One bridge with
 * datapath_type=netdev (the userspace datapath) and two ports: TAPs the
 * datapath creates (type=tap) or existing interfaces (AF_PACKET), OpenFlow
 * port numbers 1 and 2. Flows: `in_port` (1 -> 2, 2 -> 1) or NORMAL.
 * stop() deletes the bridge and ends both daemons by the PIDs in their pid
 * files, then removes the directory.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alive } from '../test/helpers/netns.js';

export type OvsFlows = 'in_port' | 'NORMAL';

const SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PrivateOvs {
  private readonly env: NodeJS.ProcessEnv;
  private readonly pids: number[] = [];

  private constructor(
    readonly dir: string,
    readonly bridge: string,
  ) {
    this.env = { ...process.env, OVS_RUNDIR: dir, OVS_DBDIR: dir, OVS_LOGDIR: dir, OVS_SYSCONFDIR: dir };
  }

  /** Starts both daemons (ovs-vswitchd pinned to `cpu`, ovsdb-server to `dbCpu`, when given) with an empty bridge. */
  static start(bridge: string, opts: { cpu?: number; dbCpu?: number } = {}): PrivateOvs {
    const ovs = new PrivateOvs(mkdtempSync(join(tmpdir(), 'linc-bench-ovs-')), bridge);
    try {
      const d = ovs.dir;
      ovs.run('ovsdb-tool', ['create', join(d, 'conf.db'), SCHEMA]);
      ovs.run(...pinned(opts.dbCpu, 'ovsdb-server', [join(d, 'conf.db'), `--remote=punix:${join(d, 'db.sock')}`, `--pidfile=${join(d, 'ovsdb-server.pid')}`, `--unixctl=${join(d, 'ovsdb-server.ctl')}`, `--log-file=${join(d, 'ovsdb-server.log')}`, '--detach', '--no-chdir']));
      ovs.pids.push(ovs.pidOf('ovsdb-server'));
      ovs.vsctl('--no-wait', 'init');
      ovs.run(...pinned(opts.cpu, 'ovs-vswitchd', [`unix:${join(d, 'db.sock')}`, `--pidfile=${join(d, 'ovs-vswitchd.pid')}`, `--unixctl=${join(d, 'ovs-vswitchd.ctl')}`, `--log-file=${join(d, 'ovs-vswitchd.log')}`, '--detach', '--no-chdir']));
      ovs.pids.push(ovs.pidOf('ovs-vswitchd'));
      ovs.vsctl('add-br', bridge, '--', 'set', 'bridge', bridge, 'datapath_type=netdev', 'fail_mode=secure');
      return ovs;
    } catch (e) {
      void ovs.stop();
      throw e;
    }
  }

  /** Adds a port with OpenFlow number `ofport`: a TAP the datapath creates, or an existing interface. */
  addPort(name: string, kind: 'tap' | 'system', ofport: number): void {
    this.vsctl('add-port', this.bridge, name, '--', 'set', 'interface', name, `type=${kind === 'tap' ? 'tap' : 'system'}`, `ofport_request=${ofport}`);
  }

  /**
   * Replaces the bridge's flows: port 1 <-> port 2 by in_port, or one NORMAL
   * flow (MAC learning). Waits (up to 10 s) for the bridge's management
   * socket first: ovs-vswitchd makes it after add-br returns, later on a busy machine.
   */
  async setFlows(flows: OvsFlows): Promise<void> {
    const sock = join(this.dir, `${this.bridge}.mgmt`);
    for (let i = 0; i < 100 && !existsSync(sock); i++) await sleep(100);
    const mgmt = `unix:${sock}`;
    this.run('ovs-ofctl', ['-O', 'OpenFlow13', 'del-flows', mgmt]);
    const add = flows === 'NORMAL' ? ['priority=0,actions=NORMAL'] : ['in_port=1,actions=output:2', 'in_port=2,actions=output:1'];
    for (const f of add) this.run('ovs-ofctl', ['-O', 'OpenFlow13', 'add-flow', mgmt, f]);
  }

  /** ovs-vswitchd's pid (the forwarding process). */
  get vswitchdPid(): number | undefined {
    return this.pids[1];
  }

  /** ovs-vswitchd's resident memory, MB. */
  rssMB(): number {
    const pid = this.pids[1];
    const m = pid === undefined ? null : /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  }

  /** The tail of ovs-vswitchd's log (for errors). */
  logTail(): string {
    const f = join(this.dir, 'ovs-vswitchd.log');
    return existsSync(f) ? readFileSync(f, 'utf8').slice(-1500) : '';
  }

  async stop(): Promise<void> {
    try {
      if (this.pids.length === 2) this.vsctl('--timeout=10', '--if-exists', 'del-br', this.bridge);
    } catch {
      /* the daemons go below anyway, and with them the bridge */
    }
    for (const pid of this.pids.reverse()) {
      if (alive(pid)) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    this.pids.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private vsctl(...args: string[]): void {
    this.run('ovs-vsctl', [`--db=unix:${join(this.dir, 'db.sock')}`, ...args]);
  }

  private pidOf(daemon: string): number {
    return Number(readFileSync(join(this.dir, `${daemon}.pid`), 'utf8').trim());
  }

  private run(cmd: string, args: string[]): void {
    execFileSync(cmd, args, { env: this.env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
  }
}

function pinned(cpu: number | undefined, cmd: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [cmd, args] : ['taskset', ['-c', String(cpu), cmd, ...args]];
}
