"""An echo peer (interop/README.md) written with aiortc, run as its own process:

    python aiortc_echo_peer.py URL LOBBY offer|answer

It joins LOBBY on the addon's lobby server at URL (protocol:
addons/webrtc_rs/lobby/PROTOCOL.md), connects to the other member, and for each of the
three echo channels sends `hello <json view>` once it is open, then echoes every message
back unchanged and as the same type. aiortc does not trickle: its candidates travel inside
its description; the partner's trickled candidates (lobby `candidate` messages) are added
with addIceCandidate. Everything stays on 127.0.0.1: ICE gathers on loopback only and uses
no STUN/TURN server. Quits after 60 s or when the connection closes or fails. Logs to stderr
(with aiortc's own debug trace when WEBRTC_RS_AIORTC_DEBUG is set).
"""

import asyncio
import json
import logging
import os
import sys

import aioice.ice
import websockets
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp

LIFETIME = 60.0
log = logging.getLogger("aiortc_echo_peer")


def _loopback_only(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    """aioice gathers on every interface (and skips 127.0.0.1); here only loopback."""
    return ["127.0.0.1"] if use_ipv4 else []


# aioice.ice.Connection.gather_candidates looks the function up in its module at call time.
if not hasattr(aioice.ice, "get_host_addresses"):
    raise SystemExit("aioice.ice.get_host_addresses is gone: update the loopback patch")
aioice.ice.get_host_addresses = _loopback_only


def channel_view(channel: RTCDataChannel) -> dict:
    return {
        "label": channel.label,
        "ordered": channel.ordered,
        "maxRetransmits": channel.maxRetransmits,
        "maxPacketLifeTime": channel.maxPacketLifeTime,
        "protocol": channel.protocol,
        "negotiated": channel.negotiated,
        "id": channel.id,
    }


class EchoPeer:
    def __init__(self, url: str, lobby: str, offers: bool) -> None:
        self.url = url
        self.lobby = lobby
        self.offers = offers
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.ws = None
        self.remote_id = 0
        self.done = asyncio.Event()
        self.greeted: set[str] = set()
        self.pending_candidates: list = []

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            log.info("connection state: %s", self.pc.connectionState)
            if self.pc.connectionState in ("failed", "closed"):
                self.done.set()

        @self.pc.on("datachannel")
        def on_channel(channel: RTCDataChannel) -> None:
            log.info("partner created channel %s", channel_view(channel))
            self.serve(channel)

        # Both sides create the negotiated channel; the offerer also the in-band ones,
        # before making its offer.
        self.serve(self.pc.createDataChannel(
            "echo-negotiated", negotiated=True, id=5, ordered=False, maxPacketLifeTime=500))
        if offers:
            self.serve(self.pc.createDataChannel("echo-reliable"))
            self.serve(self.pc.createDataChannel(
                "echo-unordered", ordered=False, maxRetransmits=0, protocol="u-proto"))

    def serve(self, channel: RTCDataChannel) -> None:
        def greet() -> None:
            if channel.label in self.greeted:
                return
            self.greeted.add(channel.label)
            view = channel_view(channel)
            log.info("channel open: %s", view)
            channel.send("hello " + json.dumps(view))

        @channel.on("message")
        def on_message(message) -> None:
            # str arrives for WebRTC String messages, bytes for Binary: send back the same.
            channel.send(message)

        channel.on("open", greet)
        channel.on("close", lambda: log.info("channel closed: %s", channel.label))
        if channel.readyState == "open":  # In-band channels arrive already open.
            greet()

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    async def send_description(self) -> None:
        # setLocalDescription has gathered: the description carries every candidate.
        description = self.pc.localDescription
        await self.send({"type": description.type, "to": self.remote_id, "sdp": description.sdp})
        log.info("sent %s", description.type)

    async def add_candidate(self, message: dict) -> None:
        line = message["candidate"]
        if not line:
            return  # End of candidates: aioice keeps checking what it has.
        candidate = candidate_from_sdp(line.removeprefix("candidate:"))
        candidate.sdpMid = message["mid"]
        candidate.sdpMLineIndex = int(message["index"])
        await self.pc.addIceCandidate(candidate)
        log.info("added candidate %s", line)

    async def handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "joined":
            log.info("joined lobby %s as %s", message.get("lobby"), message.get("id"))
        elif kind == "peer_connected":
            self.remote_id = int(message["id"])
            log.info("partner %d arrived", self.remote_id)
            if self.offers:
                await self.pc.setLocalDescription(await self.pc.createOffer())
                await self.send_description()
        elif kind in ("offer", "answer"):
            self.remote_id = int(message["from"])
            await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], kind))
            log.info("applied the partner's %s", kind)
            if kind == "offer":
                await self.pc.setLocalDescription(await self.pc.createAnswer())
                await self.send_description()
            for pending in self.pending_candidates:
                await self.add_candidate(pending)
            self.pending_candidates.clear()
        elif kind == "candidate":
            if self.pc.remoteDescription is None:
                self.pending_candidates.append(message)
            else:
                await self.add_candidate(message)
        elif kind == "peer_disconnected":
            log.info("partner %s left the lobby", message.get("id"))
        elif kind == "error":
            log.error("lobby error: %s", message.get("message"))
        else:
            log.warning("unexpected lobby message: %s", message)

    async def connect_lobby(self):
        # The server may still be starting: retry for a while.
        for _ in range(100):
            try:
                return await websockets.connect(self.url, max_size=None)
            except (OSError, websockets.exceptions.InvalidHandshake) as error:
                log.debug("lobby not reachable yet: %s", error)
                await asyncio.sleep(0.2)
        raise ConnectionError(f"could not reach the signaling server at {self.url}")

    async def signaling(self) -> None:
        self.ws = await self.connect_lobby()
        await self.send({"type": "join", "v": 1, "lobby": self.lobby, "mode": "mesh"})
        async for text in self.ws:
            await self.handle(json.loads(text))
        log.info("the signaling server closed the connection")
        if self.pc.connectionState != "connected":
            self.done.set()

    async def run(self) -> None:
        task = asyncio.create_task(self.signaling())
        task.add_done_callback(lambda t: self.done.set() if t.cancelled() or t.exception() else None)
        try:
            await asyncio.wait_for(self.done.wait(), LIFETIME)
        except asyncio.TimeoutError:
            log.info("lifetime of %.0f s is over", LIFETIME)
        if task.done() and not task.cancelled() and task.exception():
            log.error("signaling failed: %r", task.exception())
        task.cancel()
        await self.pc.close()
        if self.ws is not None:
            await self.ws.close()


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="[aiortc echo peer] %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    if os.environ.get("WEBRTC_RS_AIORTC_DEBUG"):  # aiortc's own trace (SCTP chunks, ICE).
        logging.getLogger("aiortc").setLevel(logging.DEBUG)
    if len(sys.argv) != 4 or sys.argv[3] not in ("offer", "answer"):
        print(f"usage: {sys.argv[0]} URL LOBBY offer|answer", file=sys.stderr)
        return 2
    url, lobby, role = sys.argv[1:]
    asyncio.run(EchoPeer(url, lobby, role == "offer").run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
