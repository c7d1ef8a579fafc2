class_name SignalingProtocol
extends RefCounted
## The lobby protocol: one JSON object per WebSocket text message, with a "type".
##
## client → server
##   {"type": "join", "lobby": "<name, or empty to create one>", "mode": "mesh" | "server"}
##   {"type": "offer" | "answer", "to": <peer id>, "sdp": "<sdp>"}
##   {"type": "candidate", "to": <peer id>, "mid": "<mid>", "index": <int>, "candidate": "<line>"}
##   {"type": "seal"}                       (lobby host only: no one else may join)
## server → client
##   {"type": "joined", "id": <your id>, "lobby": "<name>", "mode": "mesh" | "server"}
##   {"type": "peer_connected" | "peer_disconnected", "id": <peer id>}
##   {"type": "offer" | "answer" | "candidate", "from": <peer id>, ...as sent}
##   {"type": "sealed"}
##   {"type": "error", "message": "<what was wrong>"}
## The first peer of a lobby gets id 1 (the host); the others get 2, 3, ... in join order.

const MODES := ["mesh", "server"]


static func encode(message: Dictionary) -> String:
	return JSON.stringify(message)


## Parses and checks a client message. Returns the message, or a String saying what is wrong.
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
			if typeof(message.get("lobby", "")) != TYPE_STRING:
				return "join: 'lobby' must be a string"
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
			return "unknown message type %s" % var_to_str(type)
	return message


## Parses a server message (the client trusts the server, but not blindly).
static func decode_server_message(text: String) -> Variant:
	var json := JSON.new()
	if json.parse(text) != OK or typeof(json.data) != TYPE_DICTIONARY:
		return "the server sent something that is not a JSON object: %s" % text.left(80)
	if typeof(json.data.get("type")) != TYPE_STRING:
		return "the server sent a message without a type"
	return json.data


static func _is_whole(value: Variant) -> bool:
	# JSON numbers arrive as floats.
	return (typeof(value) == TYPE_FLOAT and value == floorf(value)) or typeof(value) == TYPE_INT


static func _is_peer_id(value: Variant) -> bool:
	return _is_whole(value) and int(value) >= 1
