class_name LobbyClient
extends Node
## The client side of the lobby protocol (see SignalingProtocol): connects, joins a lobby and
## turns the server's messages into signals. Retries the connection until `connect_timeout`
## so clients may start before the server is listening.

signal joined(id: int, lobby: String, mode: String)
signal peer_connected(id: int)
signal peer_disconnected(id: int)
signal offer_received(from: int, sdp: String)
signal answer_received(from: int, sdp: String)
signal candidate_received(from: int, mid: String, index: int, candidate: String)
signal sealed
signal server_error(message: String)
signal connection_lost

var socket := WebSocketPeer.new()
var url := ""
var lobby_name := ""
var mode := "mesh"
var connect_timeout_ms := 10000
var _deadline := 0
var _joined := false
var _was_open := false


func join(server_url: String, lobby: String, lobby_mode: String) -> void:
	url = server_url
	lobby_name = lobby
	mode = lobby_mode
	_deadline = Time.get_ticks_msec() + connect_timeout_ms
	_open()


func _open() -> void:
	socket = WebSocketPeer.new()
	var error := socket.connect_to_url(url)
	if error != OK:
		push_error("[lobby] cannot connect to %s: %s" % [url, error_string(error)])


func send(message: Dictionary) -> void:
	if socket.get_ready_state() == WebSocketPeer.STATE_OPEN:
		socket.send_text(SignalingProtocol.encode(message))


func seal() -> void:
	send({"type": "seal"})


func _process(_delta: float) -> void:
	if url.is_empty():
		return
	socket.poll()
	match socket.get_ready_state():
		WebSocketPeer.STATE_OPEN:
			if not _was_open:
				_was_open = true
				send({"type": "join", "lobby": lobby_name, "mode": mode})
			while socket.get_available_packet_count() > 0:
				_handle(socket.get_packet().get_string_from_utf8())
		WebSocketPeer.STATE_CLOSED:
			if _was_open:
				url = ""
				connection_lost.emit()
			elif Time.get_ticks_msec() < _deadline:
				_open()  # The server may not be up yet.
			else:
				url = ""
				server_error.emit("could not reach the signaling server at %s" % socket.get_requested_url())


func _handle(text: String) -> void:
	var message: Variant = SignalingProtocol.decode_server_message(text)
	if typeof(message) == TYPE_STRING:
		server_error.emit(message)
		return
	match message["type"]:
		"joined":
			_joined = true
			joined.emit(int(message["id"]), str(message["lobby"]), str(message["mode"]))
		"peer_connected":
			peer_connected.emit(int(message["id"]))
		"peer_disconnected":
			peer_disconnected.emit(int(message["id"]))
		"offer":
			offer_received.emit(int(message["from"]), str(message["sdp"]))
		"answer":
			answer_received.emit(int(message["from"]), str(message["sdp"]))
		"candidate":
			candidate_received.emit(int(message["from"]), str(message["mid"]), int(message["index"]),
					str(message["candidate"]))
		"sealed":
			sealed.emit()
		"error":
			server_error.emit(str(message.get("message", "")))
