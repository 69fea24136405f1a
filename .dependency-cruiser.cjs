// The architecture of linc-ts, written down once (DESIGN.md, "Layers") and
// checked by `npm run lint` (`depcruise src --config .dependency-cruiser.cjs`).
//
//   face      src/*.ts (switch, config, cli, llstat-cli, index)   knows everything below
//   openflow  codec (wire) -> ofproto (translation) -> transport
//   stats     llstat, admin socket, metrics, log                  reads datapath and ports
//   datapath  rules, programs, groups, meters, punts, learning
//   flow      flow key layout and match-field table              shared by datapath and openflow
//   ports     Port interface and its kinds
//   packet    pool, vnet header, frame bytes, checksums
//
// An arrow may only point down. Each layer rule names what a layer MAY
// import from src/ (pathNot) and forbids the rest, so a new folder under src/
// is forbidden to every layer until a rule here says who may know it.
// Type-only imports count (tsPreCompilationDeps): knowing a type is knowing
// the layer that owns it. Every rule is an error: the lint fails on any.

/** Every file under src/ except the ones in the folders given. */
const srcOutside = (...allowed) => ({
  path: '^src/',
  pathNot: allowed.map((p) => `^src/${p}`),
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // ---- Graph hygiene -------------------------------------------------------
    {
      name: 'no-circular',
      comment:
        'A cycle makes two modules one: neither can be understood, tested or moved ' +
        'without the other, and import order decides which sees the other half-initialised.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment:
        'A source file nobody imports is dead code or a forgotten entry point. The entry ' +
        'points are src/cli.ts (the binary) and src/index.ts (the library); .d.ts files ' +
        'declare, they are not imported.',
      severity: 'error',
      from: {
        orphan: true,
        pathNot: ['^src/cli\\.ts$', '^src/index\\.ts$', '\\.d\\.(c|m)?ts$'],
      },
      to: {},
    },
    {
      name: 'not-to-unresolvable',
      comment:
        'An import that does not resolve fails at run time; the analysis would also ' +
        'silently miss the edge it stands for.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-non-package-json',
      comment:
        'A package used but not declared in package.json works here by accident (hoisted ' +
        'by another package) and breaks for users who install linc-ts.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'src-not-to-dev-dep',
      comment:
        'src/ is what ships (dist/src); devDependencies are not installed for users, so ' +
        'src/ may only import runtime dependencies (types too: they end up in the shipped .d.ts). ' +
        'Tests and benches may use dev tools.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'] },
    },

    // ---- Layers (arrows point down) ------------------------------------------
    {
      name: 'packet-imports-nothing-above',
      comment:
        'src/packet (pool, vnet header, frame bytes, checksums) is the bottom of the ' +
        'TypeScript stack: ports and datapath build on it, so it may know nothing of them.',
      severity: 'error',
      from: { path: '^src/packet/' },
      to: srcOutside('packet/'),
    },
    {
      name: 'ports-only-packet',
      comment:
        'A port moves frames between the kernel and packet buffers. It knows the packet ' +
        'layer, nothing about the datapath that consumes it, stats or OpenFlow.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: srcOutside('ports/', 'packet/'),
    },
    {
      name: 'flow-imports-nothing-else',
      comment:
        'src/flow (flow key layout, match-field table) is the shared vocabulary of the ' +
        'datapath and OpenFlow; it must depend on neither, or one would reach the other through it.',
      severity: 'error',
      from: { path: '^src/flow/' },
      to: srcOutside('flow/'),
    },
    {
      name: 'datapath-not-to-openflow-stats-face',
      comment:
        'The datapath has its own vocabulary (rules, programs, groups, meters, punts, ' +
        'faults). It holds Port objects and packet buffers and shares the flow key layout; ' +
        'it must not know OpenFlow (a new OpenFlow version must never touch it), the ' +
        'stats that read it, or the face that assembles it.',
      severity: 'error',
      from: { path: '^src/datapath/' },
      to: srcOutside('datapath/', 'flow/', 'ports/', 'packet/'),
    },
    {
      name: 'stats-not-to-openflow-face',
      comment:
        'Stats read the datapath and ports counters (and frame/pool facts below them). ' +
        'They sit below OpenFlow and the face, so they must not import either.',
      severity: 'error',
      from: { path: '^src/stats/' },
      to: srcOutside('stats/', 'datapath/', 'flow/', 'ports/', 'packet/'),
    },
    {
      name: 'codec-wire-only',
      comment:
        'The codec turns bytes into messages and back, per OpenFlow version. It knows ' +
        'the wire (and the shared match-field table in src/flow), never the switch, ' +
        'the datapath or the transport, so it can be tested and reused alone.',
      severity: 'error',
      from: { path: '^src/openflow/codec/' },
      to: srcOutside('openflow/codec/', 'flow/'),
    },
    {
      name: 'ofproto-not-to-transport-stats-face',
      comment:
        'ofproto translates OpenFlow semantics into datapath rules and replies: it knows ' +
        'the codec below it and the datapath, ports, packet and flow layers it drives. ' +
        'It must not know how messages travel (transport), the stats, or the face.',
      severity: 'error',
      from: { path: '^src/openflow/ofproto/' },
      to: srcOutside('openflow/ofproto/', 'openflow/codec/', 'flow/', 'datapath/', 'ports/', 'packet/'),
    },
    {
      name: 'transport-only-codec-contract-log',
      comment:
        'The transport moves messages between controllers and the switch. It knows the ' +
        'codec, the switch only through its contract (ofproto/switch-api.ts), the ' +
        'loggers (stats/log.ts) and the Unix socket binder it shares with the admin ' +
        'socket (stats/unix-socket.ts); never the datapath, ports, or the OfSwitch implementation.',
      severity: 'error',
      from: { path: '^src/openflow/transport/' },
      to: {
        path: '^src/',
        pathNot: [
          '^src/openflow/transport/',
          '^src/openflow/codec/',
          '^src/openflow/ofproto/switch-api\\.ts$',
          '^src/flow/',
          '^src/stats/log\\.ts$',
          '^src/stats/unix-socket\\.ts$',
        ],
      },
    },
    {
      name: 'nothing-imports-the-face',
      comment:
        'The face (src/*.ts: switch, config, cli, llstat-cli, index) assembles every layer; ' +
        'a layer that imports it imports everything, and the arrows stop pointing down.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/[^/]+\\.ts$' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
  ],

  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (see the header).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
