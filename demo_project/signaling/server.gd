class_name SignalingServer
extends Node
## A lobby signaling server on TCPServer + WebSocketPeer. It never sees game traffic: it
## assigns peer ids, tells lobby members about each other and relays offers, answers and
## candidates between them. A malformed message is answered with an error and logged; the
## sender and everyone else keep being served.

## A client must finish the WebSocket handshake within this time.
const HANDSHAKE_TIMEOUT_MS := 3000

var _tcp := TCPServer.new()
## Connections still in the WebSocket handshake: [WebSocketPeer, accepted_at_ms].
var _handshaking: Array = []
## Every joined or joinable connection by connection number.
var _clients: Dictionary[int, Client] = {}
var _lobbies: Dictionary[String, Lobby] = {}
var _next_connection := 1


class Client:
	var socket: WebSocketPeer
	var connection: int
	var lobby: Lobby
	var id := 0


class Lobby:
	var name: String
	var mode: String
	var sealed := false
	var next_id := 1
	## Peer id → connection number.
	var members: Dictionary[int, int] = {}


func listen(port: int, address := "127.0.0.1") -> Error:
	var error := _tcp.listen(port, address)
	if error == OK:
		print("[server] listening on ws://%s:%d" % [address, port])
	else:
		push_error("[server] cannot listen on %s:%d: %s" % [address, port, error_string(error)])
	return error


func _process(_delta: float) -> void:
	while _tcp.is_connection_available():
		var socket := WebSocketPeer.new()
		socket.accept_stream(_tcp.take_connection())
		_handshaking.append([socket, Time.get_ticks_msec()])
	_poll_handshakes()
	for connection in _clients.keys():
		_poll_client(_clients[connection])


func _poll_handshakes() -> void:
	var still: Array = []
	for entry: Array in _handshaking:
		var socket: WebSocketPeer = entry[0]
		socket.poll()
		match socket.get_ready_state():
			WebSocketPeer.STATE_OPEN:
				var client := Client.new()
				client.socket = socket
				client.connection = _next_connection
				_next_connection += 1
				_clients[client.connection] = client
			WebSocketPeer.STATE_CONNECTING:
				if Time.get_ticks_msec() - entry[1] < HANDSHAKE_TIMEOUT_MS:
					still.append(entry)
			_:
				pass  # Gave up during the handshake.
	_handshaking = still


func _poll_client(client: Client) -> void:
	client.socket.poll()
	while client.socket.get_available_packet_count() > 0:
		var text := client.socket.get_packet().get_string_from_utf8()
		var message: Variant = SignalingProtocol.decode_client_message(text)
		if typeof(message) == TYPE_STRING:
			_reject(client, message)
		else:
			_handle(client, message)
	if client.socket.get_ready_state() == WebSocketPeer.STATE_CLOSED:
		_leave(client)


func _handle(client: Client, message: Dictionary) -> void:
	match message["type"]:
		"join":
			_join(client, message.get("lobby", ""), message.get("mode", "mesh"))
		"seal":
			if client.lobby == null or client.id != 1:
				_reject(client, "seal: only the lobby's host (peer 1) can seal it")
				return
			client.lobby.sealed = true
			_broadcast(client.lobby, {"type": "sealed"})
		_:
			_relay(client, message)


func _join(client: Client, lobby_name: String, mode: String) -> void:
	if client.lobby != null:
		_reject(client, "join: already in lobby '%s'" % client.lobby.name)
		return
	var lobby: Lobby
	if lobby_name.is_empty():
		lobby_name = "lobby-%d" % _next_connection
		while _lobbies.has(lobby_name):
			lobby_name += "x"
	if _lobbies.has(lobby_name):
		lobby = _lobbies[lobby_name]
		if lobby.sealed:
			_reject(client, "join: lobby '%s' is sealed" % lobby_name)
			return
		if lobby.mode != mode:
			_reject(client, "join: lobby '%s' runs in %s mode" % [lobby_name, lobby.mode])
			return
	else:
		lobby = Lobby.new()
		lobby.name = lobby_name
		lobby.mode = mode
		_lobbies[lobby_name] = lobby
	client.lobby = lobby
	client.id = lobby.next_id
	lobby.next_id += 1
	_send(client, {"type": "joined", "id": client.id, "lobby": lobby.name, "mode": lobby.mode})
	for other_id in lobby.members:
		# In server mode clients only ever talk to the host.
		if lobby.mode == "server" and other_id != 1 and client.id != 1:
			continue
		_send(client, {"type": "peer_connected", "id": other_id})
		_send(_clients[lobby.members[other_id]], {"type": "peer_connected", "id": client.id})
	lobby.members[client.id] = client.connection
	print("[server] peer %d joined lobby '%s' (%s mode, %d members)" % [
			client.id, lobby.name, lobby.mode, lobby.members.size()])


func _relay(client: Client, message: Dictionary) -> void:
	if client.lobby == null:
		_reject(client, "%s: join a lobby first" % message["type"])
		return
	var to := int(message["to"])
	if not client.lobby.members.has(to) or to == client.id:
		_reject(client, "%s: no peer %d in lobby '%s'" % [message["type"], to, client.lobby.name])
		return
	var forwarded := message.duplicate()
	forwarded.erase("to")
	forwarded["from"] = client.id
	_send(_clients[client.lobby.members[to]], forwarded)


func _leave(client: Client) -> void:
	_clients.erase(client.connection)
	var lobby := client.lobby
	if lobby == null:
		return
	lobby.members.erase(client.id)
	print("[server] peer %d left lobby '%s'" % [client.id, lobby.name])
	_broadcast(lobby, {"type": "peer_disconnected", "id": client.id})
	if lobby.members.is_empty():
		_lobbies.erase(lobby.name)


func _reject(client: Client, problem: String) -> void:
	push_error("[server] rejected a message from connection %d: %s" % [client.connection, problem])
	_send(client, {"type": "error", "message": problem})


func _broadcast(lobby: Lobby, message: Dictionary) -> void:
	for id in lobby.members:
		_send(_clients[lobby.members[id]], message)


func _send(client: Client, message: Dictionary) -> void:
	if client.socket.get_ready_state() == WebSocketPeer.STATE_OPEN:
		client.socket.send_text(SignalingProtocol.encode(message))
