class_name WebRTCLobbyClient
extends Node
## Joins a lobby of a [WebRTCLobbyServer] and turns it into a ready [WebRTCMultiplayerPeer].
##
## Add it to the tree, call [method join], and on [signal joined] assign
## [member multiplayer_peer] to [code]multiplayer.multiplayer_peer[/code]. From then on every
## peer of the lobby is connected over WebRTC as it arrives ([signal peer_connected], then
## Godot's [signal MultiplayerAPI.peer_connected] once the data channels are open) and removed
## when it leaves ([signal peer_left]).
## [codeblock]
## var lobby := WebRTCLobbyClient.new()
## add_child(lobby)
## lobby.joined.connect(func(id: int, _name: String) -> void:
##     multiplayer.multiplayer_peer = lobby.multiplayer_peer)
## lobby.join("wss://lobby.example.org:9080", "", "mesh")  # "" creates a new lobby
## [/codeblock]
## In [code]"mesh"[/code] mode every peer connects to every other one; in [code]"server"[/code]
## mode peer 1 (the lobby's first peer) is the server and the others connect to it only. Of
## each pair the later joiner makes the WebRTC offer. Retries reaching the server until
## [member connect_timeout], so a client may start before its server.

## Joined lobby [param lobby] (its name: share it with the players who should join) as peer
## [param id]; [member multiplayer_peer] is ready to assign.
signal joined(id: int, lobby: String)
## The lobby announced peer [param id]: its WebRTC connection is being negotiated.
signal peer_connected(id: int)
## Peer [param id] left the lobby (its connection is removed from [member multiplayer_peer]).
signal peer_left(id: int)
## The lobby's host sealed it: no one else can join.
signal sealed
## Something failed: the server refused a message or a join, could not be reached, or the
## connection to it was lost. [param message] says what.
signal error(message: String)

const Protocol := preload("protocol.gd")

## ICE servers for every connection, as [method WebRTCPeerConnection.initialize] takes them:
## [code][{"urls": ["stun:stun.example.org:3478"]}, {"urls": ["turn:..."], "username": "u", "credential": "c"}][/code].
## When empty (the default), the connections use the ones the lobby server hands out
## ([member lobby_ice_servers]).
@export var ice_servers: Array[Dictionary] = []
## The addon's own options for every connection (the [code]"webrtc_rs"[/code] dictionary of
## [method WebRTCPeerConnection.initialize]), e.g. [code]{"interfaces": ["lo"]}[/code].
@export var webrtc_rs_options: Dictionary = {}
## Seconds to keep trying to reach the server before [signal error].
@export var connect_timeout := 10.0
## TLS options for a [code]wss://[/code] server, e.g. [method TLSOptions.client] with a
## trusted certificate of your own; null uses the system's certificate authorities.
var tls_options: TLSOptions = null
## The multiplayer peer of this lobby: set on [signal joined], null before.
var multiplayer_peer: WebRTCMultiplayerPeer = null
## This peer's id in the lobby (0 before [signal joined]).
var peer_id := 0
## The lobby's name (known once joined: the server picks it when joining with "").
var lobby_name := ""
## [code]"mesh"[/code] or [code]"server"[/code].
var mode := "mesh"
## The STUN and TURN servers the lobby server handed out on [signal joined] (TURN with
## credentials made for this peer); used unless [member ice_servers] is set.
var lobby_ice_servers: Array[Dictionary] = []

var _socket := WebSocketPeer.new()
var _url := ""
var _secret := ""
var _deadline := 0
var _was_open := false


## Connects to the lobby server at [param url] ([code]ws://[/code] or [code]wss://[/code]) and
## joins [param lobby] in [param lobby_mode] ([code]"mesh"[/code] or [code]"server"[/code]).
## An empty [param lobby] creates a new lobby with an unguessable name (see [signal joined]).
## A lobby created with a [param secret] admits only joiners that give the same secret.
## Returns OK, or ERR_INVALID_PARAMETER for a bad argument, ERR_ALREADY_IN_USE if this
## client already joined (call [method leave] first).
func join(url: String, lobby := "", lobby_mode := "mesh", secret := "") -> Error:
	if not _url.is_empty() or multiplayer_peer != null:
		push_error("WebRTCLobbyClient.join: already joined or joining (call leave() first)")
		return ERR_ALREADY_IN_USE
	if not (url.begins_with("ws://") or url.begins_with("wss://")):
		push_error("WebRTCLobbyClient.join: the url must start with ws:// or wss://, got '%s'" % url)
		return ERR_INVALID_PARAMETER
	if lobby_mode not in Protocol.MODES:
		push_error("WebRTCLobbyClient.join: mode must be one of %s, got '%s'" % [Protocol.MODES, lobby_mode])
		return ERR_INVALID_PARAMETER
	if lobby.length() > Protocol.MAX_NAME_LENGTH or secret.length() > Protocol.MAX_NAME_LENGTH:
		push_error("WebRTCLobbyClient.join: lobby names and secrets are limited to %d characters" % Protocol.MAX_NAME_LENGTH)
		return ERR_INVALID_PARAMETER
	_url = url
	lobby_name = lobby
	mode = lobby_mode
	_secret = secret
	_was_open = false
	_deadline = Time.get_ticks_msec() + int(connect_timeout * 1000.0)
	_open()
	return OK


## Asks the server to let no one else join (only the host, peer 1, may).
func seal() -> void:
	_send({"type": "seal"})


## Leaves the lobby: closes the connection to the server and every WebRTC connection.
func leave() -> void:
	_url = ""
	_socket.close()
	if multiplayer_peer != null:
		multiplayer_peer.close()
		multiplayer_peer = null
	peer_id = 0


## The configuration given to every [method WebRTCPeerConnection.initialize].
func connection_config() -> Dictionary:
	var config := {}
	var servers := ice_servers if not ice_servers.is_empty() else lobby_ice_servers
	if not servers.is_empty():
		config["iceServers"] = servers
	if not webrtc_rs_options.is_empty():
		config["webrtc_rs"] = webrtc_rs_options
	return config


func _open() -> void:
	_socket = WebSocketPeer.new()
	var error := _socket.connect_to_url(_expand_ipv6_literal(_url), tls_options)
	if error != OK:
		_fail("cannot connect to %s: %s" % [_url, error_string(error)])


## [param url] with an IPv6 literal host written out in full. Godot 4.6's WebSocket client
## misreads a compressed one: [code]ws://[fd00:211::1]:9080[/code] connects to
## [code]fd00:211:1::1[/code] (seen with strace), while the expanded form connects.
static func _expand_ipv6_literal(url: String) -> String:
	var open := url.find("://[")
	var close := url.find("]", open)
	if open < 0 or close < 0:
		return url
	var literal := url.substr(open + 4, close - open - 4)
	var expanded := IP.resolve_hostname(literal, IP.TYPE_IPV6)
	if expanded.is_empty():
		return url
	return url.substr(0, open + 4) + expanded + url.substr(close)


func _send(message: Dictionary) -> void:
	if _socket.get_ready_state() == WebSocketPeer.STATE_OPEN:
		_socket.send_text(Protocol.encode(message))


func _fail(message: String) -> void:
	push_error("[lobby client] " + message)
	error.emit(message)


func _process(_delta: float) -> void:
	if _url.is_empty():
		return
	_socket.poll()
	match _socket.get_ready_state():
		WebSocketPeer.STATE_OPEN:
			if not _was_open:
				_was_open = true
				var join_message := {"type": "join", "v": Protocol.VERSION, "lobby": lobby_name, "mode": mode}
				if not _secret.is_empty():
					join_message["secret"] = _secret
				_send(join_message)
			while _socket.get_available_packet_count() > 0 and not _url.is_empty():
				_handle(_socket.get_packet().get_string_from_utf8())
		WebSocketPeer.STATE_CLOSED:
			if _was_open:
				_url = ""
				var reason := _socket.get_close_reason()
				_fail("lost the connection to the lobby server%s" % ("" if reason.is_empty() else " (%s)" % reason))
			elif Time.get_ticks_msec() < _deadline:
				_open()  # The server may not be up yet.
			else:
				var url := _url
				_url = ""
				_fail("could not reach the lobby server at %s" % url)


func _handle(text: String) -> void:
	var message: Variant = Protocol.decode_server_message(text)
	if typeof(message) == TYPE_STRING:
		_fail(message)
		return
	match message["type"]:
		"joined":
			lobby_ice_servers.clear()
			var servers: Variant = message.get("iceServers", [])
			if typeof(servers) == TYPE_ARRAY and servers.all(func(server: Variant) -> bool:
					return typeof(server) == TYPE_DICTIONARY and server.has("urls")):
				lobby_ice_servers.assign(servers)
			else:
				_fail("the lobby server sent unusable iceServers (%s): connecting without them" % JSON.stringify(servers).left(80))
			_on_joined(int(message["id"]), str(message["lobby"]), str(message["mode"]))
		"peer_connected":
			_on_peer_connected(int(message["id"]))
		"peer_disconnected":
			var id := int(message["id"])
			if multiplayer_peer != null and multiplayer_peer.has_peer(id):
				multiplayer_peer.remove_peer(id)
			peer_left.emit(id)
		"offer", "answer":
			var connection := _connection(int(message["from"]), message["type"])
			if connection:
				connection.set_remote_description(message["type"], str(message["sdp"]))
		"candidate":
			var connection := _connection(int(message["from"]), "candidate")
			if connection:
				connection.add_ice_candidate(str(message["mid"]), int(message["index"]), str(message["candidate"]))
		"sealed":
			sealed.emit()
		"error":
			_fail("the lobby server says: %s" % str(message.get("message", "")))


func _on_joined(id: int, name: String, lobby_mode: String) -> void:
	peer_id = id
	lobby_name = name
	mode = lobby_mode
	multiplayer_peer = WebRTCMultiplayerPeer.new()
	var result: Error
	if lobby_mode == "mesh":
		result = multiplayer_peer.create_mesh(id)
	elif id == 1:
		result = multiplayer_peer.create_server()
	else:
		result = multiplayer_peer.create_client(id)
	if result != OK:
		_fail("cannot create the multiplayer peer: %s" % error_string(result))
		return
	joined.emit(id, name)


func _on_peer_connected(id: int) -> void:
	if multiplayer_peer == null or multiplayer_peer.has_peer(id):
		return
	var connection := WebRTCPeerConnection.new()
	var result := connection.initialize(connection_config())
	if result != OK:
		_fail("WebRTCPeerConnection.initialize() failed for peer %d: %s" % [id, error_string(result)])
		return
	connection.session_description_created.connect(func(type: String, sdp: String) -> void:
		connection.set_local_description(type, sdp)
		_send({"type": type, "to": id, "sdp": sdp}))
	connection.ice_candidate_created.connect(func(mid: String, index: int, candidate: String) -> void:
		_send({"type": "candidate", "to": id, "mid": mid, "index": index, "candidate": candidate}))
	result = multiplayer_peer.add_peer(connection, id)
	if result != OK:
		_fail("add_peer(%d) failed: %s" % [id, error_string(result)])
		return
	peer_connected.emit(id)
	if peer_id > id:
		connection.create_offer()


## The connection to [param id], for a signaling message that needs one (null if none).
func _connection(id: int, what: String) -> WebRTCPeerConnection:
	if multiplayer_peer == null or not multiplayer_peer.has_peer(id):
		_fail("%s from peer %d, which is not connected" % [what, id])
		return null
	return multiplayer_peer.get_peer(id)["connection"]
