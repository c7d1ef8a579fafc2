// The browser side of the echo-peer contract: join the lobby, negotiate (trickling
// candidates), greet on every channel with its own view of it, then echo every message back
// as the same type.
"use strict";

const params = new URLSearchParams(location.search);
const offers = params.get("role") === "offer";
const log = (...parts) => {
  const line = parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" ");
  console.log("[echo] " + line);
  document.getElementById("log").textContent += line + "\n";
};

const socket = new WebSocket(params.get("ws"));
const pc = new RTCPeerConnection({ iceServers: [] });
let remoteId = 0;
const early = [];  // candidates that arrived before the remote description

const send = (message) => socket.send(JSON.stringify(message));

function view(channel) {
  return {
    label: channel.label,
    ordered: channel.ordered,
    maxRetransmits: channel.maxRetransmits,
    maxPacketLifeTime: channel.maxPacketLifeTime,
    protocol: channel.protocol,
    negotiated: channel.negotiated,
    id: channel.id,
  };
}

function serve(channel) {
  channel.binaryType = "arraybuffer";
  const greet = () => {
    log("open", view(channel));
    channel.send("hello " + JSON.stringify(view(channel)));
  };
  if (channel.readyState === "open") greet();
  else channel.onopen = greet;
  channel.onmessage = (event) => channel.send(event.data);  // a string stays a string
  channel.onclose = () => log("closed", channel.label);
}

serve(pc.createDataChannel("echo-negotiated",
  { negotiated: true, id: 5, ordered: false, maxPacketLifeTime: 500 }));
if (offers) {
  serve(pc.createDataChannel("echo-reliable"));
  serve(pc.createDataChannel("echo-unordered", { ordered: false, maxRetransmits: 0, protocol: "u-proto" }));
}
pc.ondatachannel = (event) => serve(event.channel);
pc.onicecandidate = (event) => {
  if (event.candidate && event.candidate.candidate) {
    log("local candidate", event.candidate.candidate);
    send({ type: "candidate", to: remoteId, mid: event.candidate.sdpMid,
           index: event.candidate.sdpMLineIndex, candidate: event.candidate.candidate });
  }
};
pc.onconnectionstatechange = () => log("connection", pc.connectionState);

async function describe(description) {
  await pc.setLocalDescription(description);
  send({ type: pc.localDescription.type, to: remoteId, sdp: pc.localDescription.sdp });
}

socket.onopen = () => send({ type: "join", v: 1, lobby: params.get("lobby"), mode: "mesh" });
socket.onmessage = async (event) => {
  const message = JSON.parse(event.data);
  try {
    switch (message.type) {
      case "peer_connected":
        remoteId = message.id;
        if (offers) await describe(await pc.createOffer());
        break;
      case "offer":
      case "answer":
        remoteId = message.from;
        await pc.setRemoteDescription({ type: message.type, sdp: message.sdp });
        for (const candidate of early.splice(0)) await pc.addIceCandidate(candidate);
        if (message.type === "offer") await describe(await pc.createAnswer());
        break;
      case "candidate": {
        const candidate = { candidate: message.candidate, sdpMid: message.mid, sdpMLineIndex: message.index };
        if (pc.remoteDescription) await pc.addIceCandidate(candidate);
        else early.push(candidate);
        break;
      }
      case "error":
        log("lobby error", message.message);
        break;
    }
  } catch (error) {
    log("error", String(error));
  }
};
