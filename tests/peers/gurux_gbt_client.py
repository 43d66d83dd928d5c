#!/usr/bin/env python3
"""The Gurux reference client (../shared/peers/client.py) proposing general-block-transfer.

Usage: gurux_gbt_client.py PEERS_DIR WINDOW [client.py arguments]

client.py never proposes GBT; this test tool adds it to the proposed conformance with the
window given, and fills one gap of gurux_dlms 1.0.203's client: its GBT acknowledgement
reads settings.blockNumber, which GXDLMSSettings does not define (its block counter is
blockIndex). Everything on the wire stays Gurux's.
"""
import sys

sys.path.insert(0, sys.argv[1])
import client  # noqa: E402  (the peers' client.py)
from gurux_dlms.enums import Conformance  # noqa: E402
from gurux_dlms.GXDLMSSettings import GXDLMSSettings  # noqa: E402

if not hasattr(GXDLMSSettings, "blockNumber"):
    GXDLMSSettings.blockNumber = property(lambda s: s.blockIndex)

WINDOW = int(sys.argv[2])
_init = client.Session.__init__


def _with_gbt(self, a):
    _init(self, a)
    self.c.proposedConformance |= Conformance.GENERAL_BLOCK_TRANSFER
    self.c.gbtWindowSize = WINDOW


client.Session.__init__ = _with_gbt
sys.exit(client.main(sys.argv[3:]))
