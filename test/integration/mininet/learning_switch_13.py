"""
An OpenFlow 1.3 L2 learning switch for os-ken (Debian's python3-os-ken ships
no sample apps), for the Mininet integration test.

Per datapath: a table-miss entry sends unmatched frames to the controller;
each packet-in teaches (source MAC -> in port); a frame for a known
destination gets a flow (in_port, eth_src, eth_dst) -> that port, idle
timeout 60 s, and is sent on with packet-out; unknown and broadcast
destinations are flooded. It answers every packet-in, so nothing waits on
a buffer id. Errors from the switch are logged with their datapath id.

    osken-manager --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port PORT \\
        test/integration/mininet/learning_switch_13.py
"""

from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER
from os_ken.controller.handler import set_ev_cls
from os_ken.lib.packet import ethernet, ether_types, packet
from os_ken.ofproto import ofproto_v1_3


class LearningSwitch13(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super(LearningSwitch13, self).__init__(*args, **kwargs)
        self.macToPort = {}  # dpid -> {mac: port}

    @staticmethod
    def addFlow(dp, priority, match, actions, idle=0):
        ofp, parser = dp.ofproto, dp.ofproto_parser
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS,
                                             actions)]
        dp.send_msg(parser.OFPFlowMod(datapath=dp, priority=priority,
                                      match=match, instructions=inst,
                                      idle_timeout=idle))

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def onFeatures(self, ev):
        dp = ev.msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        self.macToPort[dp.id] = {}
        self.logger.info('datapath %016x connected', dp.id)
        # Table miss: the whole frame to the controller.
        self.addFlow(dp, 0, parser.OFPMatch(),
                     [parser.OFPActionOutput(ofp.OFPP_CONTROLLER,
                                             ofp.OFPCML_NO_BUFFER)])

    @set_ev_cls(ofp_event.EventOFPErrorMsg,
                [CONFIG_DISPATCHER, MAIN_DISPATCHER])
    def onError(self, ev):
        msg = ev.msg
        self.logger.info('datapath %016x error type %d code %d',
                         msg.datapath.id, msg.type, msg.code)

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def onPacketIn(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        inPort = msg.match['in_port']
        eth = packet.Packet(msg.data).get_protocols(ethernet.ethernet)
        if not eth or eth[0].ethertype == ether_types.ETH_TYPE_LLDP:
            return
        src, dst = eth[0].src, eth[0].dst
        table = self.macToPort.setdefault(dp.id, {})
        table[src] = inPort
        outPort = table.get(dst, ofp.OFPP_FLOOD)
        actions = [parser.OFPActionOutput(outPort)]
        if outPort != ofp.OFPP_FLOOD:
            self.addFlow(dp, 1, parser.OFPMatch(in_port=inPort, eth_src=src,
                                                eth_dst=dst),
                         actions, idle=60)
            self.logger.info('datapath %016x flow %s -> %s: port %d',
                             dp.id, src, dst, outPort)
        data = msg.data if msg.buffer_id == ofp.OFP_NO_BUFFER else None
        dp.send_msg(parser.OFPPacketOut(datapath=dp, buffer_id=msg.buffer_id,
                                        in_port=inPort, actions=actions,
                                        data=data))
