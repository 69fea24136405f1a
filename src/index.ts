/*
 * linc-ts as a library: the pieces a program embedding the switch (or a
 * test harness) builds on. The command line (src/cli.ts) uses the same ones.
 */

export { startSwitch, type RunningSwitch } from './switch.js';
export { resolveConfig, loadConfigFile, type SwitchConfig, type PortConfig } from './config.js';
export { ConfigError } from './config-errors.js';
export { Datapath, DpPort, type Pipeline } from './datapath/datapath.js';
export { PacketPool } from './packet/pool.js';
export { NormalSwitch } from './datapath/learning/normal.js';
export { MacLearningTable } from './datapath/learning/mac-learning.js';
export { parseFrame, parseBurst, ParsedBatch } from './datapath/parse/parse.js';
export type { Port, LinkInfo } from './ports/port.js';
export { TapPort } from './ports/tap-port.js';
export { PacketPort } from './ports/packet-port.js';
export { MemoryPort } from './ports/memory-port.js';
export { PortOpenError } from './ports/open-errors.js';
export { PortCounters, PortStat, PORT_STAT_NAMES } from './datapath/port-counters.js';
export { createLogger } from './stats/log.js';
export * as openflow from './openflow/codec/wire.js';
