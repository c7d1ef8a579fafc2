class_name LobbyPeer
extends RefCounted
## A WebRTCPeerConnection that meets its partner through the addon's lobby server
## (protocol: addons/webrtc_rs/lobby/PROTOCOL.md), for tests against peers in other
## processes or other stacks (aiortc, a browser). The test decides which side offers;
## channels are created on `pc` before the partner arrives (at the latest in a handler of
## `joined`, which comes first).

signal joined(id: int)

var socket := WebSocketPeer.new()
var pc := WebRTCPeerConnection.new()
var offerer: bool
var my_id := 0
var remote_id := 0
var errors: PackedStringArray = []
var _url: String
var _lobby: String
var _joined_sent := false


func _init(url: String, lobby: String, config: Dictionary, offers: bool) -> void:
	_url = url
	_lobby = lobby
	offerer = offers
	pc.initialize(config)
	pc.session_description_created.connect(_on_description)
	pc.ice_candidate_created.connect(_on_candidate)
	socket.connect_to_url(url)


## Polls the lobby socket and the connection; call every frame.
func poll() -> void:
	socket.poll()
	match socket.get_ready_state():
		WebSocketPeer.STATE_OPEN:
			if not _joined_sent:
				_joined_sent = true
				_send({"type": "join", "v": 1, "lobby": _lobby, "mode": "mesh"})
			while socket.get_available_packet_count() > 0:
				_handle(socket.get_packet().get_string_from_utf8())
		WebSocketPeer.STATE_CLOSED:
			if not _joined_sent:
				socket.connect_to_url(_url)  # The server may still be starting.
	if pc != null:  # A test may have let go of the connection.
		pc.poll()


func close() -> void:
	socket.close()
	if pc != null:
		pc.close()
		# The handlers capture `self`: drop them so nothing keeps this pair alive.
		PeerPair.disconnect_handlers(pc)


func _handle(text: String) -> void:
	var message: Variant = JSON.parse_string(text)
	if typeof(message) != TYPE_DICTIONARY:
		errors.append("unparseable lobby message: %s" % text)
		return
	match message.get("type"):
		"joined":
			my_id = int(message["id"])
			joined.emit(my_id)
		"peer_connected":
			remote_id = int(message["id"])
			if offerer and pc.create_offer() != OK:
				errors.append("create_offer() failed")
		"offer", "answer":
			var result := pc.set_remote_description(message["type"], message["sdp"])
			if result != OK:
				errors.append("set_remote_description(%s): %s" % [message["type"], error_string(result)])
		"candidate":
			var result := pc.add_ice_candidate(message["mid"], int(message["index"]), message["candidate"])
			if result != OK:
				errors.append("add_ice_candidate(%s): %s" % [message["candidate"], error_string(result)])
		"error":
			errors.append("lobby: %s" % message.get("message"))


func _on_description(type: String, sdp: String) -> void:
	var result := pc.set_local_description(type, sdp)
	if result != OK:
		errors.append("set_local_description(%s): %s" % [type, error_string(result)])
	_send({"type": type, "to": remote_id, "sdp": sdp})


func _on_candidate(mid: String, index: int, candidate: String) -> void:
	_send({"type": "candidate", "to": remote_id, "mid": mid, "index": index, "candidate": candidate})


func _send(message: Dictionary) -> void:
	socket.send_text(JSON.stringify(message))
