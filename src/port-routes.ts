/*
 * The admin endpoint's port routes (registered by switch.ts through
 * AdminContext.routes; `linc-ts port` in port-cli.ts is their client):
 *
 *   GET  /v1/ports                        {ports: PortView[]}
 *   POST /v1/ports         {spec}         {added: PortView}     spec: KIND:NAME[=OFPORT]
 *   POST /v1/ports/delete  {port}         {removed: PortView}   port: NAME or OFPORT
 *
 * A refusal is {"error": sentence} with 400 (bad request), 404 (no such
 * port) or 409 (name or number in use, interface locked or not openable).
 * Invariant: a refused request changes nothing (PortManager's contract).
 */

import { PortRefusal, type PortManager, type PortView } from './port-manager.js';
import type { AdminAnswer, AdminRoute } from './stats/admin.js';

export interface PortAddAnswer {
  added: PortView;
}
export interface PortDeleteAnswer {
  removed: PortView;
}
export interface PortListAnswer {
  ports: PortView[];
}

function field(body: unknown, key: string): unknown {
  return typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[key] : undefined;
}

function refusal(e: unknown): AdminAnswer {
  if (e instanceof PortRefusal) return { status: e.status, body: { error: e.message } };
  throw e;
}

export function portRoutes(ports: PortManager): AdminRoute[] {
  return [
    {
      method: 'GET',
      path: '/v1/ports',
      handle: () => ({ status: 200, body: { ports: ports.list() } satisfies PortListAnswer }),
    },
    {
      method: 'POST',
      path: '/v1/ports',
      handle(_query, body) {
        const spec = field(body, 'spec');
        if (typeof spec !== 'string') return { status: 400, body: { error: 'port add needs {"spec": "KIND:NAME[=OFPORT]"}' } };
        try {
          return { status: 200, body: { added: ports.add(spec) } satisfies PortAddAnswer };
        } catch (e) {
          return refusal(e);
        }
      },
    },
    {
      method: 'POST',
      path: '/v1/ports/delete',
      handle(_query, body) {
        const which = field(body, 'port');
        if ((typeof which !== 'string' || which.trim() === '') && typeof which !== 'number') {
          return { status: 400, body: { error: 'port delete needs {"port": NAME or OFPORT}' } };
        }
        try {
          return { status: 200, body: { removed: ports.remove(which) } satisfies PortDeleteAnswer };
        } catch (e) {
          return refusal(e);
        }
      },
    },
  ];
}
