/*
 * The OpenFlow connection families, added to the switch's registry by
 * addControllerMetrics once the controller manager exists:
 * linc_controller_connected{target}, linc_controller_role{target,role},
 * linc_openflow_connections{kind}, linc_openflow_errors_sent_total,
 * linc_openflow_async_dropped_total, and the peer limits:
 * linc_controller_packet_ins_dropped_total{target,reason},
 * linc_openflow_connections_refused_total{listen},
 * linc_openflow_handshake_timeouts_total, linc_openflow_tx_queued_bytes.
 *
 * Invariants: every value is read at scrape time through
 * ControllerMetricsSource, the only view the stats layer has of the
 * connections (it may not import the transport); a controller that is not
 * connected has no role series.
 */

import { Counter, Gauge, type Registry } from 'prom-client';
import type { SwitchMetrics } from './metrics.js';

/** What the controller manager reports (src/openflow/controller-manager.ts), read at scrape time. */
export interface ControllerMetricsSource {
  /** One entry per configured controller (`--controller`). */
  controllers(): Array<{ target: string; connected: boolean; role: 'equal' | 'master' | 'slave' }>;
  /** Connections that finished the OpenFlow handshake, by kind. */
  connectionCounts(): { controller: number; service: number };
  errorsSent(): number;
  asyncDropped(): number;
  /** Packet-ins not sent, by target (controller spec, or listener spec) and reason. */
  packetInDrops(): Array<{ target: string; reason: 'queue' | 'rate'; count: number }>;
  /** Connections closed at accept because the listener was full, per listener. */
  connectionsRefused(): Array<{ listen: string; count: number }>;
  handshakeTimeouts(): number;
  /** Bytes written to the connections that the peers have not taken yet. */
  txQueuedBytes(): number;
}

const CONTROLLER_ROLES = ['equal', 'master', 'slave'] as const;

/** Adds the OpenFlow connection families to the switch's registry. */
export function addControllerMetrics(metrics: SwitchMetrics, src: ControllerMetricsSource): void {
  const registers = [metrics.registry];
  new Gauge<'target'>({
    name: 'linc_controller_connected',
    help: '1 while the connection to this controller (--controller) is up and past the OpenFlow handshake, else 0.',
    labelNames: ['target'],
    registers,
    collect() {
      this.reset();
      for (const c of src.controllers()) this.set({ target: c.target }, c.connected ? 1 : 0);
    },
  });
  new Gauge<'target' | 'role'>({
    name: 'linc_controller_role',
    help: 'The OpenFlow role of each connected controller: 1 on the series of its current role (equal, master, slave), 0 on the others.',
    labelNames: ['target', 'role'],
    registers,
    collect() {
      this.reset();
      for (const c of src.controllers()) {
        if (!c.connected) continue;
        for (const role of CONTROLLER_ROLES) this.set({ target: c.target, role }, c.role === role ? 1 : 0);
      }
    },
  });
  new Gauge<'kind'>({
    name: 'linc_openflow_connections',
    help: 'OpenFlow connections past the handshake: kind="controller" (--controller, these decide the fail mode) or kind="service" (accepted on --listen).',
    labelNames: ['kind'],
    registers,
    collect() {
      const n = src.connectionCounts();
      this.set({ kind: 'controller' }, n.controller);
      this.set({ kind: 'service' }, n.service);
    },
  });
  new Counter({
    name: 'linc_openflow_errors_sent_total',
    help: 'OFPT_ERROR messages sent on OpenFlow connections (malformed or refused requests).',
    registers,
    collect() {
      this.reset();
      this.inc(src.errorsSent());
    },
  });
  new Counter({
    name: 'linc_openflow_async_dropped_total',
    help: 'Asynchronous messages (packet-in, port-status, flow-removed) dropped because a connection had too much unsent data.',
    registers,
    collect() {
      this.reset();
      this.inc(src.asyncDropped());
    },
  });
  addPeerLimitMetrics(registers, src);
}

/** The peer limits' families (handshake deadline, connection cap, packet-in queue and rate limit). */
function addPeerLimitMetrics(registers: Registry[], src: ControllerMetricsSource): void {
  new Counter<'target' | 'reason'>({
    name: 'linc_controller_packet_ins_dropped_total',
    help:
      'Packet-ins an OpenFlow connection did not send, by target (the --controller spec, or the --listen spec for the connections it accepted) and reason: ' +
      'queue (more than 1 MiB unsent: the peer is not reading), rate (over --controller-rate-limit). The pipeline\'s own drops are linc_openflow_packet_ins_dropped_total.',
    labelNames: ['target', 'reason'],
    registers,
    collect() {
      this.reset();
      for (const d of src.packetInDrops()) this.inc({ target: d.target, reason: d.reason }, d.count);
    },
  });
  new Counter<'listen'>({
    name: 'linc_openflow_connections_refused_total',
    help: 'Connections an OpenFlow listener closed at accept because it already had --listen-max-connections open.',
    labelNames: ['listen'],
    registers,
    collect() {
      this.reset();
      for (const r of src.connectionsRefused()) this.inc({ listen: r.listen }, r.count);
    },
  });
  new Counter({
    name: 'linc_openflow_handshake_timeouts_total',
    help: 'OpenFlow connections closed because the peer had not completed the hello exchange within --handshake-timeout.',
    registers,
    collect() {
      this.reset();
      this.inc(src.handshakeTimeouts());
    },
  });
  new Gauge({
    name: 'linc_openflow_tx_queued_bytes',
    help: 'Bytes written to OpenFlow connections that the peers have not read yet (packet-ins stop being queued past 1 MiB per connection).',
    registers,
    collect() {
      this.set(src.txQueuedBytes());
    },
  });
}
