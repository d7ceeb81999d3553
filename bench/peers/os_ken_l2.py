"""Minimal OpenFlow 1.3 learning switch on the os-ken framework, the peer for
`bench packetin` (Plexus' own code; os-ken ships no sample applications).

Like `ovs-testcontroller --noflow` it forwards every packet-in with a
PACKET_OUT and installs no per-destination flows, so each packet-in gets
exactly one response and the three controllers do the same work per packet:
learn the source MAC on the input port, then send the frame to the port that
learned the destination, or flood it.

Run: osken-manager --ofp-listen-host 127.0.0.1 --ofp-tcp-listen-port PORT bench/peers/os_ken_l2.py
"""
from os_ken.base import app_manager
from os_ken.controller import ofp_event
from os_ken.controller.handler import CONFIG_DISPATCHER, MAIN_DISPATCHER, set_ev_cls
from os_ken.ofproto import ofproto_v1_3


class LearningSwitch13(app_manager.OSKenApp):
    OFP_VERSIONS = [ofproto_v1_3.OFP_VERSION]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # datapath id -> {mac (6 raw bytes) -> port}
        self.tables = {}

    @set_ev_cls(ofp_event.EventOFPSwitchFeatures, CONFIG_DISPATCHER)
    def on_features(self, ev):
        dp = ev.msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        # Table miss to the controller, whole frames (OpenFlow 1.3 drops misses by default).
        actions = [parser.OFPActionOutput(ofp.OFPP_CONTROLLER, ofp.OFPCML_NO_BUFFER)]
        inst = [parser.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, actions)]
        dp.send_msg(parser.OFPFlowMod(datapath=dp, priority=0, match=parser.OFPMatch(), instructions=inst))

    @set_ev_cls(ofp_event.EventOFPPacketIn, MAIN_DISPATCHER)
    def on_packet_in(self, ev):
        msg = ev.msg
        dp = msg.datapath
        ofp, parser = dp.ofproto, dp.ofproto_parser
        data = msg.data
        if len(data) < 14:
            return
        in_port = msg.match['in_port']
        dst, src = bytes(data[0:6]), bytes(data[6:12])
        table = self.tables.setdefault(dp.id, {})
        if not src[0] & 1:
            table[src] = in_port
        out_port = table.get(dst, ofp.OFPP_FLOOD) if not dst[0] & 1 else ofp.OFPP_FLOOD
        if out_port == in_port:
            return
        actions = [parser.OFPActionOutput(out_port)]
        buffered = msg.buffer_id != ofp.OFP_NO_BUFFER
        dp.send_msg(parser.OFPPacketOut(
            datapath=dp, buffer_id=msg.buffer_id, in_port=in_port, actions=actions,
            data=None if buffered else data))
