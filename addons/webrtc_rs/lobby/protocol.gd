class_name WebRTCLobbyProtocol
extends RefCounted
## The lobby protocol shared by [WebRTCLobbyServer] and [WebRTCLobbyClient].
##
## One JSON object per WebSocket text message, each with a [code]"type"[/code]. The full
## schema, with the limits a server enforces, is in [code]addons/webrtc_rs/lobby/PROTOCOL.md[/code].
## [codeblock]
## client -> server
##   {"type": "join", "v": 1, "lobby": "<name, or "" for a new unguessable one>",
##    "mode": "mesh" | "server", "secret": "<optional>"}
##   {"type": "offer" | "answer", "to": <peer id>, "sdp": "<sdp>"}
##   {"type": "candidate", "to": <peer id>, "mid": "<mid>", "index": <int>, "candidate": "<line>"}
##   {"type": "seal"}                     (lobby host only: no one else may join)
## server -> client
##   {"type": "joined", "v": 1, "id": <your id>, "lobby": "<name>", "mode": "mesh" | "server",
##    "iceServers": [{"urls": [...], "username": "...", "credential": "..."}] (optional)}
##   {"type": "peer_connected" | "peer_disconnected", "id": <peer id>}
##   {"type": "offer" | "answer" | "candidate", "from": <peer id>, ...as sent}
##   {"type": "sealed"}
##   {"type": "error", "message": "<what was wrong>"}
## [/codeblock]
## The first peer of a lobby gets id 1 (the host); the others get 2, 3, ... in join order.

## The protocol version this addon speaks (the [code]"v"[/code] of join and joined).
const VERSION := 1
## The lobby modes: every peer connects to every other one, or only to peer 1.
const MODES: Array[String] = ["mesh", "server"]
## The longest lobby name or secret a client may send, in characters.
const MAX_NAME_LENGTH := 64


## The JSON text of `message`.
static func encode(message: Dictionary) -> String:
	return JSON.stringify(message)


## Parses and checks a client message. Returns the message (a Dictionary), or a String
## saying what is wrong with it.
static func decode_client_message(text: String) -> Variant:
	var json := JSON.new()
	if json.parse(text) != OK:
		return "not JSON (%s at line %d)" % [json.get_error_message(), json.get_error_line()]
	var message: Variant = json.data
	if typeof(message) != TYPE_DICTIONARY:
		return "not a JSON object"
	var type: Variant = message.get("type")
	match type:
		"join":
			if message.has("v") and not (_is_whole(message["v"]) and int(message["v"]) == VERSION):
				var version: Variant = message["v"]
				return "join: protocol version %s is not supported (this server speaks %d)" % [
						str(int(version)) if _is_whole(version) else JSON.stringify(version).left(20), VERSION]
			for key: String in ["lobby", "secret"]:
				var value: Variant = message.get(key, "")
				if typeof(value) != TYPE_STRING:
					return "join: '%s' must be a string" % key
				if value.length() > MAX_NAME_LENGTH:
					return "join: '%s' is longer than %d characters" % [key, MAX_NAME_LENGTH]
			if message.get("mode", "mesh") not in MODES:
				return "join: 'mode' must be one of %s" % [MODES]
		"offer", "answer":
			if not _is_peer_id(message.get("to")) or typeof(message.get("sdp")) != TYPE_STRING:
				return "%s: needs 'to' (peer id) and 'sdp' (string)" % type
		"candidate":
			if not _is_peer_id(message.get("to")) or typeof(message.get("mid")) != TYPE_STRING \
					or not _is_whole(message.get("index")) or typeof(message.get("candidate")) != TYPE_STRING:
				return "candidate: needs 'to', 'mid', 'index' and 'candidate'"
		"seal":
			pass
		_:
			return "unknown message type %s" % JSON.stringify(type).left(40)
	return message


## Parses a server message (the client trusts the server, but not blindly). Returns the
## message, or a String saying what is wrong with it.
static func decode_server_message(text: String) -> Variant:
	var json := JSON.new()
	if json.parse(text) != OK or typeof(json.data) != TYPE_DICTIONARY:
		return "the server sent something that is not a JSON object: %s" % text.left(80)
	var message: Dictionary = json.data
	var type: Variant = message.get("type")
	if typeof(type) != TYPE_STRING:
		return "the server sent a message without a type"
	var fields: Dictionary = {
		"joined": ["id", "lobby", "mode"], "peer_connected": ["id"], "peer_disconnected": ["id"],
		"offer": ["from", "sdp"], "answer": ["from", "sdp"],
		"candidate": ["from", "mid", "index", "candidate"],
	}
	for key: String in fields.get(type, []):
		if not message.has(key):
			return "the server sent a '%s' without '%s'" % [type, key]
	for key: String in ["id", "from", "index"]:
		if message.has(key) and not _is_whole(message[key]):
			return "the server sent a '%s' whose '%s' is not a whole number" % [type, key]
	return message


static func _is_whole(value: Variant) -> bool:
	# JSON numbers arrive as floats.
	return (typeof(value) == TYPE_FLOAT and value == floorf(value) and absf(value) < 1e15) \
			or typeof(value) == TYPE_INT


static func _is_peer_id(value: Variant) -> bool:
	return _is_whole(value) and int(value) >= 1 and int(value) < 0x7fffffff
