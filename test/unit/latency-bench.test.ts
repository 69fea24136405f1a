/*
 * The latency benchmark's rows and table (bench/latency.ts): the rows are
 * selected by name with the end-to-end benches' rule (a base twin after each
 * linc-ts row), both direct-veth floors are rows, and the "vs veth" ratios
 * are taken against the two-core floor, the one-core row being a reference.
 */

import { describe, expect, it } from 'vitest';
import { formatLatency, LATENCY_FORWARDERS, type LatencyResult, type LatencySample } from '../../bench/latency.js';
import { selectRows } from '../../bench/e2e-forwarders.js';

function result(forwarder: string, p50s: number[]): LatencyResult {
  const rounds: LatencySample[] = p50s.map((p) => ({ b2bP50: p, b2bP99: 2 * p, pacedP50: p, pacedP99: 2 * p, lost: 0, idleCpuPct: NaN }));
  return { forwarder, rounds, ...rounds[Math.floor(rounds.length / 2)] };
}

describe('latency bench rows', () => {
  it('has unique names and both veth floors, the two-core one with its server on the forwarders core', () => {
    const names = LATENCY_FORWARDERS.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    const one = LATENCY_FORWARDERS.find((r) => r.name === 'veth direct')!.start;
    const two = LATENCY_FORWARDERS.find((r) => r.name === 'veth direct, two cores')!.start;
    expect(one).toEqual({ veth: { serverCpu: '0' } });
    expect(two).toEqual({ veth: { serverCpu: '1' } });
  });

  it('selects by name in table order, twinning only linc-ts rows with a base tree', () => {
    const rows = selectRows(LATENCY_FORWARDERS, ['veth direct, two cores', 'linc-ts --busy-poll'], '/base/dist/src/cli.js');
    expect(rows.map((r) => r.name)).toEqual(['linc-ts --busy-poll', 'linc-ts --busy-poll (base)', 'veth direct, two cores']);
    expect(rows[1].start).toEqual({ linc: { flags: ['--busy-poll'], cli: '/base/dist/src/cli.js' } });
    expect(() => selectRows(LATENCY_FORWARDERS, ['veth'], undefined)).toThrow(/no forwarder named "veth"; the forwarders are "linc-ts", /);
  });

  it('takes the vs veth ratio against the two-core floor, per round', () => {
    const rows = formatLatency([result('linc-ts', [40, 60, 50]), result('veth direct', [4, 4, 4]), result('veth direct, two cores', [20, 20, 25])]);
    // Per-round ratios 2, 3, 2 -> median 2 (against the one-core row it would be 12.5).
    expect(rows[0]).toContain('| - / 2.00 |');
    expect(rows[2]).toContain('| - / 1.00 |');
    // Without the two-core row there is no ratio (the one-core row is not the reference).
    expect(formatLatency([result('linc-ts', [40]), result('veth direct', [4])])[0]).toContain('| - / - |');
  });
});
