"""
linc-ts as a Mininet switch: one linc-ts process per switch, its ports the
switch's sN-ethM interfaces opened through AF_PACKET (if:sN-ethM=M), its
datapath id the switch's dpid, its controllers Mininet's controllers.

    mn --custom examples/mininet/linc_ts.py --switch lincts \\
       --controller remote,ip=127.0.0.1,port=6653 --topo tree,depth=2,fanout=2

Parameters go after the switch name, e.g.
`--switch lincts,failMode=standalone,metricsPort=9100` (see __init__).

From the Python API:

    from linc_ts import LincTsSwitch
    net = Mininet(topo=TreeTopo(2, 2), switch=LincTsSwitch,
                  controller=RemoteController)

Which linc-ts runs: the `command` parameter (a list, e.g.
['node', '/src/linc-ts/dist/src/cli.js']), else the package this file belongs
to (../../dist/src/cli.js, in a checkout or a global npm install), else
`linc-ts` on PATH.

Each switch logs JSON lines to <logDir>/<name>-linc-ts.log (default /tmp) and
serves `linc-ts llstat` on <logDir>/<name>-linc-ts.sock; /metrics is off
unless metricsPort is given, so several switches never compete for a port.
A switch is stopped by the PID this class started (SIGTERM, then SIGKILL after
10 s), never by name; Mininet deletes the links before it stops the switches,
and a linc-ts whose interfaces are already gone is stopped all the same.

With controllers, each switch connects to all of them (--controller
tcp:IP:PORT) in fail-mode secure, like Mininet's Open vSwitch: only the flow
tables forward (failMode=standalone: a learning switch while no controller is
connected). With Mininet's listenPort (`mn` sets one per switch), it also
accepts ovs-ofctl on ptcp:PORT:127.0.0.1. Without controllers (--controller
none), or with a linc-ts that has no OpenFlow channel (no --controller in
`linc-ts run --help`), the switches run standalone: MAC learning (NORMAL),
fine on loop-free topologies such as tree and linear.
"""

import json
import os
import shutil
import signal
import subprocess
import time

from mininet.log import debug, error, warn
from mininet.node import Switch


def packageCli():
    "dist/src/cli.js of the package this file is in (if built)."
    # `mn --custom` exec()s this file without __file__; the code object
    # still knows the file name it was compiled from.
    here = globals().get('__file__') or packageCli.__code__.co_filename
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(
        here)), '..', '..', 'dist', 'src', 'cli.js'))


def defaultCommand():
    "The linc-ts command line: this package's CLI, else linc-ts on PATH."
    node = shutil.which('node')
    if node and os.path.exists(packageCli()):
        return [node, packageCli()]
    onPath = shutil.which('linc-ts')
    if onPath:
        return [onPath]
    raise Exception('linc-ts not found: build this checkout (npm ci), '
                    'install it (npm install -g), or pass command=[...]')


class LincTsSwitch(Switch):
    "A Mininet switch backed by one linc-ts process."

    _runHelp = {}  # command line (tuple) -> `linc-ts run --help` text

    def __init__(self, name, command=None, failMode='secure',
                 logDir='/tmp', metricsPort=None, adminSocket=True,
                 logLevel='info', extraArgs=None, **params):
        """command: linc-ts command line as a list (default: see module)
           failMode: 'secure' or 'standalone' while no controller is
                     reachable (used when linc-ts has an OpenFlow channel)
           logDir: where <name>-linc-ts.log (and .sock) go
           metricsPort: serve /metrics on 127.0.0.1:metricsPort (default
                        off; one port per switch, so give it to one switch
                        from Python or use it with a single switch)
           adminSocket: True for <logDir>/<name>-linc-ts.sock, a path, or
                        False for none
           extraArgs: more `linc-ts run` arguments (list)"""
        Switch.__init__(self, name, **params)
        if isinstance(command, str):  # from `--switch lincts,command=...`
            command = command.split()
        self.command = list(command) if command else defaultCommand()
        self.failMode = failMode
        self.logPath = os.path.join(logDir, '%s-linc-ts.log' % name)
        if adminSocket in (False, None, '', 'off', 'False', 'false'):
            adminSocket = None
        elif adminSocket in (True, 'True', 'true'):
            adminSocket = os.path.join(logDir, '%s-linc-ts.sock' % name)
        self.adminSocket = adminSocket
        self.metricsPort = metricsPort
        self.logLevel = logLevel
        self.extraArgs = list(extraArgs or [])
        self.proc = None
        self.usesController = False

    # What the linc-ts being run supports -------------------------------

    def runHelp(self):
        "`linc-ts run --help`, once per command line."
        key = tuple(self.command)
        if key not in LincTsSwitch._runHelp:
            out = subprocess.run(self.command + ['run', '--help'],
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=30,
                                 check=False)
            LincTsSwitch._runHelp[key] = out.stdout.decode(errors='replace')
        return LincTsSwitch._runHelp[key]

    def hasOption(self, flag):
        return (' %s ' % flag) in self.runHelp()

    # Start and stop ------------------------------------------------------

    def switchPorts(self):
        "[(interface name, OpenFlow port)] of the data ports (not lo)."
        return [(intf.name, self.ports[intf]) for intf in self.intfList()
                if intf.name != 'lo' and self.ports.get(intf, 0) > 0]

    def runArgs(self, controllers):
        args = self.command + ['run']
        for name, ofport in self.switchPorts():
            args += ['--port', 'if:%s=%d' % (name, ofport)]
        args += ['--datapath-id', self.dpid, '--log-level', self.logLevel,
                 '--metrics', ('127.0.0.1:%d' % self.metricsPort
                               if self.metricsPort else 'off'),
                 '--admin-socket', self.adminSocket or 'off']
        self.usesController = bool(controllers) and \
            self.hasOption('--controller')
        if self.usesController:
            for c in controllers:
                args += ['--controller', 'tcp:%s:%d' % (c.IP(), c.port)]
            if self.hasOption('--fail-mode'):
                args += ['--fail-mode', self.failMode]
        elif controllers:
            warn('*** %s: this linc-ts has no OpenFlow channel; '
                 'running standalone (MAC learning)\n' % self.name)
        if self.listenPort and self.hasOption('--listen'):
            args += ['--listen', 'ptcp:%d:127.0.0.1' % self.listenPort]
        return args + self.extraArgs

    def start(self, controllers):
        "Start linc-ts; batchStartup() waits until it forwards."
        if self.proc is not None and self.proc.poll() is None:
            return
        args = self.runArgs(controllers)
        if self.inNamespace:
            # mnexec -a: enter this node's namespaces, then exec (same PID).
            args = ['mnexec', '-a', str(self.pid)] + args
        debug('%s: %s\n' % (self.name, ' '.join(args)))
        with open(self.logPath, 'wb') as log:
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)

    def logLines(self):
        "The JSON log lines written so far (non-JSON lines as {'msg': ...})."
        lines = []
        try:
            with open(self.logPath, 'r', errors='replace') as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        lines.append(json.loads(line))
                    except ValueError:
                        lines.append({'msg': line})
        except OSError:
            pass
        return lines

    def running(self):
        "Has linc-ts opened its ports and started forwarding?"
        return (self.proc is not None and self.proc.poll() is None and
                any(l.get('msg') == 'switch running' for l in self.logLines()))

    def waitRunning(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            if self.running():
                return True
            if self.proc is None or self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = ''.join(json.dumps(l) + '\n' for l in self.logLines()[-5:])
        error('*** %s: linc-ts did not start (exit %s):\n%s' % (
            self.name, None if self.proc is None else self.proc.poll(), tail))
        return False

    def connected(self):
        "Running, and (with a controller) its last controller event is up."
        if not self.running():
            return False
        if not self.usesController:
            return True
        up = False
        for l in self.logLines():
            if l.get('msg') == 'controller connected':
                up = True
            elif l.get('msg') == 'controller disconnected':
                up = False
        return up

    @classmethod
    def batchStartup(cls, switches):
        "Wait for the switches Mininet started (they start in parallel)."
        return [s for s in switches if s.waitRunning()]

    def signalStop(self):
        "SIGTERM to the linc-ts this switch started (by PID)."
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
            except OSError:
                pass

    def reap(self, timeout=10):
        """Wait for linc-ts to exit (SIGKILL after timeout). Its exit code is
           not judged: Mininet deletes the interfaces before it stops the
           switches, and a switch that lost its ports is still just stopped."""
        if self.proc is None:
            return
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            warn('*** %s: linc-ts (pid %d) ignored SIGTERM, killing it\n' % (
                self.name, self.proc.pid))
            self.proc.kill()
            code = self.proc.wait()
        debug('%s: linc-ts exited with %s\n' % (self.name, code))
        self.proc = None

    @classmethod
    def batchShutdown(cls, switches):
        "Stop all the switches' linc-ts processes at once."
        for s in switches:
            s.signalStop()
        for s in switches:
            s.reap()
        return switches

    def stop(self, deleteIntfs=True):
        self.signalStop()
        self.reap()
        super(LincTsSwitch, self).stop(deleteIntfs)


switches = {'lincts': LincTsSwitch}
