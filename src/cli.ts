#!/usr/bin/env node
/*
 * The linc-ts command line: parses flags, loads the config file, starts the
 * switch and turns every expected failure (bad flag, bad config value, a port
 * that cannot be opened) into one line on stderr and a non-zero exit code,
 * never a stack trace. No switching logic lives here.
 *
 * `linc-ts llstat ...` (src/llstat-cli.ts) and `status`, `fdb show`, `trace`,
 * `dump-cache` (src/inspect-cli.ts) talk to a running switch through its
 * admin socket.
 *
 * Usage errors that commander finds (unknown option or command, a bad
 * choice, a missing value) go out in the same form as ours: one
 * `linc-ts: ...` line with commander's "did you mean" folded in, exit 2.
 *
 * `linc-ts port ...` (src/port-cli.ts) adds, removes and lists its ports.
 * SIGHUP re-reads the config file (ports added, removed, changed).
 *
 * Exit codes: 0 clean shutdown (SIGINT/SIGTERM), 1 runtime failure (a port
 * cannot be opened, no switch on the admin socket), 2 usage or configuration
 * error.
 */

import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  DEFAULT_METRICS, DEFAULT_PORTS, LOG_LEVELS, loadConfigFile, portSpecText, resolveConfig, switchPorts, type CliValues,
} from './config.js';
import { ConfigError } from './config-errors.js';
import { PORT_SPEC_HELP } from './config-ports.js';
import { FAIL_MODES } from './config-schema.js';
import { didYouMean } from './did-you-mean.js';
import { addLlstatCommand } from './llstat-cli.js';
import { addInspectCommands } from './inspect-cli.js';
import { addPortCommand } from './port-cli.js';
import { defaultAdminSocketPath } from './stats/admin.js';
import { MAX_BURST } from './ports/port.js';
import { createLogger } from './stats/log.js';
import { PortOpenError, startSwitch } from './switch.js';
import { TlsCredentialsError } from './openflow/transport/tls-credentials.js';

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return (previous ?? []).concat(value);
}

function fail(message: string, code: number): never {
  process.stderr.write(`linc-ts: ${message}\n`);
  process.exit(code);
}

function run(opts: CliValues & { config?: string }): void {
  let cfg;
  try {
    const file = opts.config !== undefined ? loadConfigFile(opts.config) : {};
    cfg = resolveConfig(opts, file);
  } catch (e) {
    if (e instanceof ConfigError) fail(e.message, 2);
    throw e;
  }
  const log = createLogger(cfg.logLevel);
  if (opts.config !== undefined) log.info({ file: opts.config }, 'config loaded');
  let sw;
  try {
    sw = startSwitch(cfg, log, { version: packageVersion() });
  } catch (e) {
    if (e instanceof PortOpenError) fail(e.message, 1);
    if (e instanceof TlsCredentialsError) fail(e.message, 2);
    throw e;
  }
  const running = sw;
  void sw.ready.then(() =>
    log.info(
      {
        datapathId: '0x' + running.datapathId.toString(16).padStart(16, '0'),
        ports: switchPorts(cfg).map(portSpecText),
        burst: cfg.burst,
        mode: cfg.failMode,
        controllers: cfg.controllers.map((c) => c.spec),
        listen: running.openflowListeners(),
        metrics: running.metricsServer()?.url ?? null,
        adminSocket: running.adminServer()?.socketPath ?? null,
      },
      'switch running',
    ),
  );
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    sw.close();
    log.flush();
    process.exit(0);
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => sw.reload(opts.config === undefined ? null : () => resolveConfig(opts, loadConfigFile(opts.config!))));
}

/** An option whose value is one of `choices` (listed in --help); anything else names them and the closest one. */
function choiceOption(flags: string, description: string, choices: readonly string[]): Option {
  return new Option(flags, description).choices(choices).argParser((value: string) => {
    if (choices.includes(value)) return value;
    const quoted = choices.map((c) => `"${c}"`);
    throw new InvalidArgumentError(`must be ${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}${didYouMean(value, choices)}`);
  });
}

/**
 * commander's error text as our one line: `error: ` becomes `linc-ts: `, its
 * "(Did you mean X?)" line joins the message, and a bad option value reads
 * `option --NAME: "VALUE" <why>` like the config errors.
 */
function usageErrorLine(commanderMessage: string): string {
  let m = commanderMessage.trim().replace(/^error: /, '').replace(/\s*\n\(Did you mean (.*)\?\)/, ' (did you mean $1?)');
  m = m.replace(/^option '(?:-\w, )?(--[\w-]+)[^']*' argument '([\s\S]*)' is invalid\. /, (_, flag: string, value: string) => `option ${flag}: ${JSON.stringify(value)} `);
  return `linc-ts: ${m.replace(/\n/g, ' ')}\n`;
}

export function buildProgram(): Command {
  const program = new Command('linc-ts')
    .description('A userspace OpenFlow switch: TAP and AF_PACKET ports, a batched datapath, llstat counters.')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError('(run linc-ts --help for usage)')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (message, write) => write(usageErrorLine(message)) })
    .exitOverride();

  program
    .command('run')
    .description(`Run the switch. With no --port and no --config it is a standalone learning switch between two TAPs it creates (${DEFAULT_PORTS.join(', ')}).`)
    .option('-p, --port <spec>', `a port: ${PORT_SPEC_HELP}; repeatable`, collect)
    .option('--local-port <spec>', "the switch's own TAP, OpenFlow port LOCAL (output:LOCAL): tap:NAME, optionally with ,vlan=ID or ,trunks=ID,ID...")
    .option('-c, --config <file>', 'YAML config file (same keys as the long options); options on the command line win')
    .option('-b, --burst <n>', `frames per rxBurst/txBurst call (1-${MAX_BURST}, default 32)`)
    .option('--datapath-id <hex>', 'datapath id, up to 16 hex digits (default: from a port MAC)')
    .addOption(choiceOption('--log-level <level>', 'log level (default info)', LOG_LEVELS))
    .option('--pool-slots <n>', 'packet pool slots (default 1024)')
    .option('--no-offload', 'do not ask TAPs for checksum/TSO offload (frames are segmented and checksummed by the kernel)')
    .option('--mac-aging <seconds>', 'MAC learning aging time (default 300)')
    .option('--mac-table-size <n>', 'MAC learning table size (default 8192)')
    .option('--busy-poll', 'poll ports in a loop instead of sleeping until one is readable: lowest latency, keeps one core busy')
    .option('--rx-usecs <n>', 'after a wakeup that found frames, keep polling the ports for N microseconds before sleeping (0-10000); alone a fixed window (0: none, sleep at once); with --adaptive-rx, the longest window')
    .option('--adaptive-rx', 'adapt that polling window to the traffic (grows while polls find frames, back to 0 when idle; up to --rx-usecs or 100 us): the default unless --rx-usecs or --busy-poll is given')
    .option('--no-adaptive-rx', 'no adaptive window: sleep as soon as the ports are drained (or the fixed --rx-usecs window)')
    .option('--megaflow', 'OpenFlow: cache resolved paths as wildcarded megaflows, hashing only the fields the tables match (the default)')
    .option('--no-megaflow', 'OpenFlow: no megaflow cache: look frames up in the exact-match cache alone')
    .option('--controller <target>', 'an OpenFlow controller to connect to: tcp:HOST[:PORT] or ssl:HOST[:PORT] (TLS) (port 6653 by default; IPv6 as tcp:[::1]:6653); repeatable', collect)
    .option('--listen <target>', 'accept OpenFlow connections (ovs-ofctl, controllers): ptcp:[PORT][:ADDR] or pssl:[PORT][:ADDR] (TLS, client certificates required) (address 127.0.0.1 unless given), or punix:PATH (a Unix socket, mode 0600); repeatable', collect)
    .option('--private-key <file>', 'PEM private key of the switch, for ssl: and pssl: targets')
    .option('--certificate <file>', 'PEM certificate of the switch (matching --private-key), for ssl: and pssl: targets')
    .option('--ca-cert <file>', 'PEM CA certificate that peers\' certificates must be signed by, for ssl: and pssl: targets')
    .addOption(choiceOption('--fail-mode <mode>', 'with no controller connected: standalone = learning switch, secure = flow tables only (default standalone)', FAIL_MODES))
    .option('--inactivity-probe <seconds>', 'echo request after this much silence on an OpenFlow connection, disconnect after as long again; 0 = off (default 5)')
    .option('--max-backoff <seconds>', 'longest wait between reconnects to a controller (default 8)')
    .option('--handshake-timeout <seconds>', 'close an OpenFlow connection whose peer has not completed the hello exchange in this time (default 5)')
    .option('--listen-max-connections <n>', 'OpenFlow connections each --listen listener keeps at once; more are refused at accept (default 64)')
    .option('--controller-rate-limit <n>', 'packet-ins per second per OpenFlow connection, the rest dropped and counted (OVS controller_rate_limit; default: no limit)')
    .option('--controller-burst-limit <n>', 'packet-ins a connection may send at once over the rate (OVS controller_burst_limit; default: a quarter of the rate)')
    .option('--metrics <addr:port|off>', `serve Prometheus /metrics on ADDR:PORT (default ${DEFAULT_METRICS}; off disables)`)
    .option('--admin-socket <path|off>', `Unix socket for linc-ts llstat (default ${defaultAdminSocketPath()}; off disables)`)
    .action((opts: CliValues & { config?: string; offload?: boolean }) => {
      // commander sets offload=true by default for --no-offload; only pass it when the flag was given.
      if (opts.offload === true) delete opts.offload;
      run(opts);
    });
  addLlstatCommand(program);
  addInspectCommands(program);
  addPortCommand(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
    throw e;
  }
}

void main(process.argv);
