"""
Drives Mininet through its Python API (the switch class loaded the way
`mn --custom` loads it) for test/integration/mininet.test.ts:
a tree (depth 2, fanout 2) of LincTsSwitch (examples/mininet/linc_ts.py),
optionally under the os-ken learning switch in this directory, then pingAll
and a TCP transfer between the two farthest hosts with their default
offloads left on.

Every node name carries --suffix, so the interfaces it creates (sN<suffix>-ethM,
hN<suffix>-eth0) are this run's only. Teardown is its own, in `finally`:
net.stop() (the switch class stops each linc-ts by PID), the controller by
PID. It never calls Mininet's cleanup (mn -c), which kills by name
machine-wide. SIGTERM runs the same teardown.

Output: lines 'LINCTS-MN {json}' on stdout: {"pid": N, "what": ...} for each
process it starts (so the caller can stop leftovers by PID), then
{"result": {...}}, then {"stopped": true}.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from mininet.log import setLogLevel
from mininet.net import Mininet
from mininet.node import RemoteController
from mininet.topolib import TreeTopo

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
CUSTOM = os.path.join(REPO, 'examples', 'mininet', 'linc_ts.py')


def loadCustom(path):
    "Load a --custom file the way `mn --custom` does (exec, no __file__)."
    customs = {}
    with open(path) as f:
        exec(compile(f.read(), path, 'exec'), customs, customs)
    return customs


LincTsSwitch = loadCustom(CUSTOM)['switches']['lincts']


def emit(obj):
    sys.stdout.write('LINCTS-MN ' + json.dumps(obj) + '\n')
    sys.stdout.flush()


class SuffixedTree(TreeTopo):
    "TreeTopo with this run's suffix on every name and dpids 1..n."

    def __init__(self, suffix, **kwargs):
        self.suffix = suffix
        self.dpids = 0
        TreeTopo.__init__(self, **kwargs)

    def addSwitch(self, name, **opts):
        self.dpids += 1
        return TreeTopo.addSwitch(self, name + self.suffix,
                                  dpid='%x' % self.dpids, **opts)

    def addHost(self, name, **opts):
        return TreeTopo.addHost(self, name + self.suffix, **opts)


SERVER = r'''
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1)
print("listening", flush=True)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest(), flush=True)
'''

CLIENT = r'''
import hashlib, os, socket, sys, time
n = int(sys.argv[3])
h = hashlib.sha256(); c = socket.create_connection((sys.argv[1], int(sys.argv[2])), 10)
t0 = time.time(); sent = 0
while sent < n:
    b = os.urandom(min(1 << 20, n - sent))
    c.sendall(b); h.update(b); sent += len(b)
c.shutdown(socket.SHUT_WR); c.recv(1); c.close()
print(sent, h.hexdigest(), time.time() - t0, flush=True)
'''


def offloads(host):
    "ethtool -k of the host's interface: the features the test cares about."
    out = host.cmd('ethtool -k %s' % host.defaultIntf().name)
    want = ('tx-checksumming', 'tcp-segmentation-offload',
            'generic-segmentation-offload', 'scatter-gather')
    feats = {}
    for line in out.splitlines():
        key, _, val = line.partition(':')
        if key.strip() in want:
            feats[key.strip()] = val.strip().split(' ')[0]
    return feats


def tcpTransfer(src, dst, nbytes, port=5201):
    "nbytes of random data from src to dst over TCP, SHA-256 on both ends."
    procs = []
    try:
        server = dst.popen([sys.executable, '-c', SERVER, str(port)])
        procs.append(server)
        emit({'pid': server.pid, 'what': 'tcp server in %s' % dst.name})
        if server.stdout.readline().decode().strip() != 'listening':
            raise Exception('tcp server did not start')
        client = src.popen([sys.executable, '-c', CLIENT, dst.IP(), str(port),
                            str(nbytes)])
        procs.append(client)
        emit({'pid': client.pid, 'what': 'tcp client in %s' % src.name})
        cout, cerr = client.communicate(timeout=120)
        sout, _ = server.communicate(timeout=30)
        sent, sentSha, secs = cout.decode().split()
        got, gotSha = sout.decode().split()
        return {'sentBytes': int(sent), 'sentSha': sentSha,
                'receivedBytes': int(got), 'receivedSha': gotSha,
                'seconds': float(secs), 'clientErr': cerr.decode()[-500:]}
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


def dumpFlows(port):
    "The switch's flow entries, through its OpenFlow listener (ovs-ofctl)."
    out = subprocess.run(['ovs-ofctl', '-O', 'OpenFlow13', 'dump-flows',
                          'tcp:127.0.0.1:%d' % port],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=30, check=False)
    return [l.strip() for l in out.stdout.decode(errors='replace').splitlines()
            if 'actions=' in l]


def listenerDpid(port):
    "The datapath id ovs-ofctl reads from a switch's OpenFlow listener."
    out = subprocess.run(['ovs-ofctl', '-O', 'OpenFlow13', 'show',
                          'tcp:127.0.0.1:%d' % port],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=30, check=False)
    text = out.stdout.decode(errors='replace')
    found = re.search(r'dpid:([0-9a-f]{16})', text)
    return found.group(1) if found else text[-300:]


def waitListening(port, proc, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise Exception('controller exited with %s' % proc.returncode)
        try:
            socket.create_connection(('127.0.0.1', port), 1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise Exception('controller not listening on %d' % port)


def waitDatapaths(logPath, dpids, timeout=30):
    "The dpids the learning switch app logged as connected (waits for all)."
    end = time.time() + timeout
    while True:
        try:
            with open(logPath, errors='replace') as f:
                text = f.read()
        except OSError:
            text = ''
        seen = [d for d in dpids if ('datapath %s connected' % d) in text]
        if len(seen) == len(dpids) or time.time() > end:
            return seen
        time.sleep(0.2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--suffix', required=True)
    ap.add_argument('--linc', help='JSON list: the linc-ts command line '
                    '(default: the class finds the checkout\'s build)')
    ap.add_argument('--log-dir', required=True)
    ap.add_argument('--controller-port', type=int, default=0,
                    help='run os-ken on this port (0: standalone switches)')
    ap.add_argument('--bytes', type=int, default=32 << 20)
    ap.add_argument('--listen-base', type=int, default=0,
                    help='switch N listens for ovs-ofctl on this port + N-1')
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    setLogLevel('warning')

    controller = None
    net = None
    try:
        if args.controller_port:
            controller = subprocess.Popen(
                ['osken-manager', '--ofp-listen-host', '127.0.0.1',
                 '--ofp-tcp-listen-port', str(args.controller_port),
                 os.path.join(HERE, 'learning_switch_13.py')],
                stdin=subprocess.DEVNULL,
                stdout=open(os.path.join(args.log_dir, 'os-ken.log'), 'wb'),
                stderr=subprocess.STDOUT, start_new_session=True)
            emit({'pid': controller.pid, 'what': 'osken-manager'})
            waitListening(args.controller_port, controller)

        command = json.loads(args.linc) if args.linc else None

        def switch(name, **params):
            return LincTsSwitch(name, command=command, logDir=args.log_dir,
                                **params)

        net = Mininet(topo=SuffixedTree(args.suffix, depth=2, fanout=2),
                      switch=switch, controller=None, build=False,
                      waitConnected=False,
                      listenPort=args.listen_base or None)
        if controller is not None:
            net.addController(RemoteController('c' + args.suffix,
                                               ip='127.0.0.1',
                                               port=args.controller_port))
        net.build()
        for node in net.hosts + net.switches:
            emit({'pid': node.pid, 'what': 'mininet shell %s' % node.name})
        net.start()
        for s in net.switches:
            if s.proc is not None:
                emit({'pid': s.proc.pid, 'what': 'linc-ts %s' % s.name})
        started = [s.name for s in net.switches if s.running()]
        usesController = all(s.usesController for s in net.switches)
        seen = []
        if controller is not None:
            seen = waitDatapaths(os.path.join(args.log_dir, 'os-ken.log'),
                                 [s.dpid for s in net.switches])
        connected = [s.name for s in net.switches if s.connected()]

        hosts = net.hosts
        first, last = hosts[0], hosts[-1]
        loss = net.pingAll(timeout=2)
        result = {
            'switches': [s.name for s in net.switches],
            'started': started,
            'dpids': [s.dpid for s in net.switches],
            'ports': {s.name: s.switchPorts() for s in net.switches},
            'usesController': usesController,
            'connected': connected,
            'controllerSaw': seen,
            'pingLoss': loss,
            'from': first.name, 'to': last.name,
            'offloads': offloads(first),
        }
        result['tcp'] = tcpTransfer(first, last, args.bytes)
        if controller is not None:
            with open(os.path.join(args.log_dir, 'os-ken.log'),
                      errors='replace') as f:
                text = f.read()
            result['controllerFlows'] = {
                s.dpid: text.count('datapath %s flow ' % s.dpid)
                for s in net.switches}
            result['controllerErrors'] = {
                s.dpid: ['%s/%s' % e for e in re.findall(
                    r'datapath %s error type (\d+) code (\d+)' % s.dpid, text)]
                for s in net.switches}
        if args.listen_base:
            result['listeners'] = {s.name: listenerDpid(s.listenPort)
                                   for s in net.switches}
            result['flows'] = {s.name: dumpFlows(s.listenPort)
                               for s in net.switches}
        emit({'result': result})
    finally:
        if net is not None:
            net.stop()
        if controller is not None and controller.poll() is None:
            controller.terminate()
            try:
                controller.wait(timeout=10)
            except subprocess.TimeoutExpired:
                controller.kill()
                controller.wait()
        emit({'stopped': True})


if __name__ == '__main__':
    main()
