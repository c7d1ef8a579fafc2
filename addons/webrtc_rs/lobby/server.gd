class_name WebRTCLobbyServer
extends Node
## A lobby signaling server for [WebRTCMultiplayerPeer] games, on [TCPServer] and
## [WebSocketPeer] ([code]ws://[/code], or [code]wss://[/code] with [member tls_options]).
##
## It never sees game traffic: it assigns peer ids, tells lobby members about each other and
## relays offers, answers and ICE candidates between them (protocol:
## [code]addons/webrtc_rs/lobby/PROTOCOL.md[/code]). Add it to a dedicated-server scene and call
## [method listen], or run it headless with one command:
## [codeblock]
## godot --headless --path <project> -s res://addons/webrtc_rs/lobby/lobby_server.gd -- --port 9080
## [/codeblock]
## Built to face the public internet: every connection is held to the limits below (message
## size and rate, join timeout, connections and lobbies per address, peers per lobby). A
## malformed message is answered with an [code]error[/code] message and logged; a client that
## keeps sending them, floods, sends oversized messages or never joins is disconnected. Other
## lobbies are never affected. A lobby joined with an empty name gets a random 128-bit name
## nobody can guess; a lobby can also carry a secret, and its host can seal it.

## Emitted when a peer joins a lobby (for logs and dashboards).
signal peer_joined(lobby: String, id: int)
## Emitted when a peer leaves a lobby (disconnects).
signal peer_left(lobby: String, id: int)
## Emitted when a connection is closed for breaking the rules; [param reason] says which.
signal client_kicked(address: String, reason: String)

const Protocol := preload("protocol.gd")

## Largest WebSocket message accepted, in bytes (an SDP offer is typically 1-4 KiB). A larger
## one closes the connection.
@export var max_message_bytes := 16384
## Messages a connection may send per second, on average (bursts of twice as many are let
## through). A client that sends faster is disconnected.
@export var max_messages_per_second := 50
## Malformed messages a connection may send (each answered with an error) before it is
## disconnected.
@export var max_errors := 8
## Peers one lobby may hold at once.
@export var max_peers_per_lobby := 16
## Lobbies that may exist at once with a host connected from the same IP address.
@export var max_lobbies_per_address := 32
## Open connections in all (a connection beyond it is closed at once).
@export var max_connections := 4096
## Open connections from one IP address.
@export var max_connections_per_address := 256
## Seconds a connection may stay open without joining a lobby.
@export var join_timeout := 10.0
## Seconds a connection has for the TLS and WebSocket handshakes.
@export var handshake_timeout := 5.0
## Seconds between the WebSocket pings sent to every connection (0: none). A connection that
## does not answer one before the next is due is closed, so a client that vanished without
## closing its socket (a crash, power or network lost) leaves its lobby within about twice
## this, and its peers hear [code]peer_disconnected[/code]. [WebRTCLobbyClient] answers while
## its node is processed; a game whose main thread stalls longer than this is dropped too.
@export var heartbeat_interval := 15.0
## Whether clients may choose lobby names. When false, only empty names are accepted (each
## creating a lobby with a random name), so every lobby name is unguessable.
@export var allow_named_lobbies := true
## Whether to print joins and departures (errors are always reported with push_error).
@export var verbose := true
## STUN servers handed to every peer in [code]joined[/code], which lets players behind home
## routers find their public address, e.g. [code]["stun:turn.example.org:3478"][/code].
@export var stun_urls: PackedStringArray = []
## TURN servers handed to every peer in [code]joined[/code], with credentials made for it from
## [member turn_secret] (coturn's [code]use-auth-secret[/code] REST scheme), e.g.
## [code]["turn:turn.example.org:3478", "turn:turn.example.org:3478?transport=tcp",
## "turns:turn.example.org:443"][/code]. They relay when no direct path exists (symmetric
## NATs, UDP blocked).
@export var turn_urls: PackedStringArray = []
## The secret shared with the TURN server (coturn's [code]static-auth-secret[/code]). Each
## peer gets username [code]<expiry>:<peer id>[/code] and credential
## [code]base64(HMAC-SHA1(turn_secret, username))[/code], which the TURN server checks itself.
@export var turn_secret := ""
## Seconds the TURN credentials handed out stay valid. An allocation made in time is kept
## alive past it by refreshes; a new connection needs a fresh credential (join again).
@export var turn_credential_lifetime := 86400.0
## TLS for [code]wss://[/code]: [method TLSOptions.server] with a key and certificate. Null
## (the default) for plain [code]ws://[/code]. Set before [method listen].
var tls_options: TLSOptions = null

var _tcp := TCPServer.new()
## Connections in the TLS or WebSocket handshake, and joined or joinable ones, by number.
var _clients: Dictionary[int, Client] = {}
var _lobbies: Dictionary[String, Lobby] = {}
var _connections_per_address: Dictionary[String, int] = {}
var _lobbies_per_address: Dictionary[String, int] = {}
var _next_connection := 1
var _stats := {"accepted": 0, "refused": 0, "kicked": 0, "joins": 0, "rejected_messages": 0}


## One connection.
class Client:
	var number: int
	var address: String
	var tcp: StreamPeerTCP
	var tls: StreamPeerTLS
	var socket: WebSocketPeer
	var opened_at := 0
	var open := false
	var lobby: Lobby
	var id := 0
	var tokens := 0.0
	var refilled_at := 0
	var errors := 0
	## When set, the connection is being closed and is dropped at this time.
	var drop_at := 0


## One lobby.
class Lobby:
	var name: String
	var mode: String
	var secret: String
	var address: String
	var sealed := false
	var next_id := 1
	## Peer id → connection number.
	var members: Dictionary[int, int] = {}


## Starts listening on [param port] at [param bind_address] ("*" for every address,
## "127.0.0.1" for this machine only). Returns OK or the TCPServer's error.
func listen(port: int, bind_address := "127.0.0.1") -> Error:
	var problem := _check_ice_options()
	if not problem.is_empty():
		push_error("[lobby server] " + problem)
		return ERR_INVALID_PARAMETER
	var error := _tcp.listen(port, bind_address)
	if error == OK:
		if verbose:
			print("[lobby server] listening on %s://%s:%d" % ["wss" if tls_options else "ws", bind_address, port])
	else:
		push_error("[lobby server] cannot listen on %s:%d: %s" % [bind_address, port, error_string(error)])
	return error


## Closes every connection and stops listening.
func stop() -> void:
	for number in _clients.keys():
		_forget(_clients[number])
	_tcp.stop()


## The port the server listens on (0 when it does not).
func get_port() -> int:
	return _tcp.get_local_port() if _tcp.is_listening() else 0


## Counters and current sizes: [code]connections[/code], [code]lobbies[/code],
## [code]peers[/code], and since start [code]accepted[/code], [code]refused[/code] (over the
## connection limits), [code]kicked[/code], [code]joins[/code], [code]rejected_messages[/code].
func get_stats() -> Dictionary:
	var peers := 0
	for name in _lobbies:
		peers += _lobbies[name].members.size()
	var stats := _stats.duplicate()
	stats.merge({"connections": _clients.size(), "lobbies": _lobbies.size(), "peers": peers})
	return stats


func _process(_delta: float) -> void:
	poll()


## Accepts and serves connections; called every frame by [method Node._process] (call it
## yourself if you process the server otherwise).
func poll() -> void:
	if not _tcp.is_listening():
		return
	var now := Time.get_ticks_msec()
	while _tcp.is_connection_available():
		_accept(_tcp.take_connection(), now)
	for number in _clients.keys():
		var client: Client = _clients.get(number)
		if client != null:
			_poll_client(client, now)


func _accept(tcp: StreamPeerTCP, now: int) -> void:
	var address := tcp.get_connected_host()
	if _clients.size() >= max_connections or _connections_per_address.get(address, 0) >= max_connections_per_address:
		_stats["refused"] += 1
		tcp.disconnect_from_host()
		return
	_stats["accepted"] += 1
	var client := Client.new()
	client.number = _next_connection
	_next_connection += 1
	client.address = address
	client.tcp = tcp
	client.opened_at = now
	client.refilled_at = now
	client.tokens = max_messages_per_second * 2.0
	if tls_options != null:
		client.tls = StreamPeerTLS.new()
		var error := client.tls.accept_stream(tcp, tls_options)
		if error != OK:
			push_error("[lobby server] TLS refused connection %d: %s" % [client.number, error_string(error)])
			tcp.disconnect_from_host()
			return
	else:
		_start_websocket(client, tcp)
	_clients[client.number] = client
	_connections_per_address[address] = _connections_per_address.get(address, 0) + 1


func _start_websocket(client: Client, stream: StreamPeer) -> void:
	client.socket = WebSocketPeer.new()
	client.socket.inbound_buffer_size = max_message_bytes + 1024
	client.socket.outbound_buffer_size = max(max_message_bytes * 4, 65536)
	client.socket.max_queued_packets = 64
	if heartbeat_interval > 0.0 and "heartbeat_interval" in client.socket:  # Godot 4.4+.
		client.socket.heartbeat_interval = heartbeat_interval
	client.socket.accept_stream(stream)


func _poll_client(client: Client, now: int) -> void:
	if client.drop_at > 0:
		if client.socket != null:
			client.socket.poll()
		if now >= client.drop_at or client.socket == null \
				or client.socket.get_ready_state() == WebSocketPeer.STATE_CLOSED:
			_forget(client)
		return
	if client.socket == null:  # TLS handshake.
		client.tls.poll()
		match client.tls.get_status():
			StreamPeerTLS.STATUS_CONNECTED:
				_start_websocket(client, client.tls)
			StreamPeerTLS.STATUS_HANDSHAKING:
				if now - client.opened_at > handshake_timeout * 1000.0:
					_forget(client)
			_:
				_forget(client)  # Not TLS, or the client gave up.
		return
	client.socket.poll()
	var state := client.socket.get_ready_state()
	if state == WebSocketPeer.STATE_CONNECTING:
		if now - client.opened_at > handshake_timeout * 1000.0:
			_forget(client)  # Half-open, or no WebSocket client at all.
		return
	if state != WebSocketPeer.STATE_OPEN:
		if client.socket.get_close_code() == 1009:
			push_error("[lobby server] connection %d (%s) closed: it sent a message over %d bytes" % [client.number, client.address, max_message_bytes])
		_forget(client)
		return
	client.open = true
	# Messages are taken at most a burst a frame, so a flood cannot starve everyone else.
	var budget := max_messages_per_second * 2
	while client.socket.get_available_packet_count() > 0 and budget > 0 and client.drop_at == 0:
		budget -= 1
		var packet := client.socket.get_packet()
		if not _take_token(client, now):
			_kick(client, "more than %d messages per second" % max_messages_per_second)
			return
		if packet.size() > max_message_bytes:
			_kick(client, "a message of %d bytes (the limit is %d)" % [packet.size(), max_message_bytes])
			return
		if not client.socket.was_string_packet():
			_reject(client, "binary message (the protocol is JSON text)")
			continue
		var message: Variant = Protocol.decode_client_message(packet.get_string_from_utf8())
		if typeof(message) == TYPE_STRING:
			_reject(client, message)
		else:
			_handle(client, message)
	if client.drop_at == 0 and client.lobby == null and now - client.opened_at > join_timeout * 1000.0:
		_kick(client, "did not join a lobby within %.0f s" % join_timeout)


func _take_token(client: Client, now: int) -> bool:
	client.tokens = minf(client.tokens + (now - client.refilled_at) * max_messages_per_second / 1000.0,
			max_messages_per_second * 2.0)
	client.refilled_at = now
	if client.tokens < 1.0:
		return false
	client.tokens -= 1.0
	return true


func _handle(client: Client, message: Dictionary) -> void:
	match message["type"]:
		"join":
			_join(client, message.get("lobby", ""), message.get("mode", "mesh"), message.get("secret", ""))
		"seal":
			if client.lobby == null or client.id != 1:
				_reject(client, "seal: only the lobby's host (peer 1) can seal it")
				return
			client.lobby.sealed = true
			_broadcast(client.lobby, {"type": "sealed"})
		_:
			_relay(client, message)


func _join(client: Client, lobby_name: String, mode: String, secret: String) -> void:
	if client.lobby != null:
		_reject(client, "join: already in lobby '%s'" % client.lobby.name)
		return
	var lobby: Lobby = _lobbies.get(lobby_name) if not lobby_name.is_empty() else null
	if lobby == null and not lobby_name.is_empty() and not allow_named_lobbies:
		_reject(client, "join: no lobby '%s' (this server does not let clients name new lobbies: join with an empty name to create one)" % lobby_name.left(Protocol.MAX_NAME_LENGTH))
		return
	if lobby != null:
		if lobby.secret != secret:
			_reject(client, "join: wrong secret for lobby '%s'" % lobby_name)
			return
		if lobby.sealed:
			_reject(client, "join: lobby '%s' is sealed" % lobby_name)
			return
		if lobby.mode != mode:
			_reject(client, "join: lobby '%s' runs in %s mode" % [lobby_name, lobby.mode])
			return
		if lobby.members.size() >= max_peers_per_lobby:
			_reject(client, "join: lobby '%s' is full (%d peers)" % [lobby_name, max_peers_per_lobby])
			return
	else:
		if _lobbies_per_address.get(client.address, 0) >= max_lobbies_per_address:
			_reject(client, "join: %s already hosts %d lobbies" % [client.address, max_lobbies_per_address])
			return
		if lobby_name.is_empty():
			lobby_name = _random_name()
		lobby = Lobby.new()
		lobby.name = lobby_name
		lobby.mode = mode
		lobby.secret = secret
		lobby.address = client.address
		_lobbies[lobby_name] = lobby
		_lobbies_per_address[client.address] = _lobbies_per_address.get(client.address, 0) + 1
	client.lobby = lobby
	client.id = lobby.next_id
	lobby.next_id += 1
	_stats["joins"] += 1
	var joined := {"type": "joined", "v": Protocol.VERSION, "id": client.id, "lobby": lobby.name, "mode": lobby.mode}
	var ice_servers := ice_servers_for(client.id)
	if not ice_servers.is_empty():
		joined["iceServers"] = ice_servers
	_send(client, joined)
	for other_id in lobby.members.keys():  # A send may disconnect a member.
		if not lobby.members.has(other_id):
			continue
		# In server mode clients only ever talk to the host.
		if lobby.mode == "server" and other_id != 1 and client.id != 1:
			continue
		_send(client, {"type": "peer_connected", "id": other_id})
		_send(_clients[lobby.members[other_id]], {"type": "peer_connected", "id": client.id})
	lobby.members[client.id] = client.number
	if verbose:
		print("[lobby server] peer %d joined lobby '%s' (%s mode, %d members)" % [
				client.id, _shown(lobby), lobby.mode, lobby.members.size()])
	peer_joined.emit(lobby.name, client.id)


## The ICE servers handed to peer [param id] in [code]joined[/code], as
## [method WebRTCPeerConnection.initialize] takes them: the [member stun_urls], and the
## [member turn_urls] with a credential valid for [member turn_credential_lifetime] seconds.
func ice_servers_for(id: int) -> Array[Dictionary]:
	var servers: Array[Dictionary] = []
	if not stun_urls.is_empty():
		servers.append({"urls": Array(stun_urls)})
	if not turn_urls.is_empty():
		var expiry := int(Time.get_unix_time_from_system() + turn_credential_lifetime)
		var username := "%d:%d" % [expiry, id]
		var credential := Marshalls.raw_to_base64(Crypto.new().hmac_digest(HashingContext.HASH_SHA1,
				turn_secret.to_utf8_buffer(), username.to_utf8_buffer()))
		servers.append({"urls": Array(turn_urls), "username": username, "credential": credential})
	return servers


## What is wrong with the ICE server options, or "" when nothing is.
func _check_ice_options() -> String:
	for url in stun_urls:
		if not url.begins_with("stun:"):
			return "stun_urls: '%s' is not a stun: URL" % url
	for url in turn_urls:
		if not (url.begins_with("turn:") or url.begins_with("turns:")):
			return "turn_urls: '%s' is not a turn: or turns: URL" % url
	if not turn_urls.is_empty() and turn_secret.is_empty():
		return "turn_urls need turn_secret (the TURN server's static-auth-secret)"
	if turn_credential_lifetime <= 0.0:
		return "turn_credential_lifetime must be more than 0 seconds"
	return ""


## 128 random bits, as 32 hexadecimal digits.
static func _random_name() -> String:
	return Crypto.new().generate_random_bytes(16).hex_encode()


## A lobby's name as the log shows it: random names are not written out in full.
static func _shown(lobby: Lobby) -> String:
	return lobby.name if lobby.name.length() < 32 else lobby.name.left(6) + "…"


func _relay(client: Client, message: Dictionary) -> void:
	if client.lobby == null:
		_reject(client, "%s: join a lobby first" % message["type"])
		return
	var to := int(message["to"])
	if not client.lobby.members.has(to) or to == client.id:
		_reject(client, "%s: no peer %d in lobby '%s'" % [message["type"], to, _shown(client.lobby)])
		return
	var forwarded := message.duplicate()
	forwarded.erase("to")
	forwarded["from"] = client.id
	_send(_clients[client.lobby.members[to]], forwarded)


func _leave(client: Client) -> void:
	var lobby := client.lobby
	if lobby == null:
		return
	client.lobby = null
	lobby.members.erase(client.id)
	if verbose:
		print("[lobby server] peer %d left lobby '%s'" % [client.id, _shown(lobby)])
	_broadcast(lobby, {"type": "peer_disconnected", "id": client.id})
	peer_left.emit(lobby.name, client.id)
	if lobby.members.is_empty():
		_lobbies.erase(lobby.name)
		_count_down(_lobbies_per_address, lobby.address)


## One less for `address` in `counts`, forgetting addresses that reach zero.
static func _count_down(counts: Dictionary[String, int], address: String) -> void:
	var left: int = counts.get(address, 1) - 1
	if left > 0:
		counts[address] = left
	else:
		counts.erase(address)


## Drops a connection and everything it held.
func _forget(client: Client) -> void:
	if not _clients.has(client.number):
		return
	_clients.erase(client.number)
	_count_down(_connections_per_address, client.address)
	_leave(client)
	if client.socket != null:
		client.socket.close(-1)  # Drop the TCP connection now.
	elif client.tls != null:
		client.tls.disconnect_from_stream()
	client.tcp.disconnect_from_host()


## Answers a bad message with an error; disconnects after [member max_errors] of them.
func _reject(client: Client, problem: String) -> void:
	_stats["rejected_messages"] += 1
	client.errors += 1
	push_error("[lobby server] rejected a message from connection %d (%s): %s" % [client.number, client.address, problem])
	_send(client, {"type": "error", "message": problem})
	if client.errors > max_errors:
		_kick(client, "more than %d malformed messages" % max_errors)


## Tells the client why, leaves its lobby and closes the connection (dropped for good after
## a second if the client does not answer the close).
func _kick(client: Client, reason: String) -> void:
	if client.drop_at > 0:
		return
	client.drop_at = Time.get_ticks_msec() + 1000
	_stats["kicked"] += 1
	push_error("[lobby server] disconnecting connection %d (%s): %s" % [client.number, client.address, reason])
	_send(client, {"type": "error", "message": "disconnected: " + reason})
	_leave(client)
	client.socket.close(1008, reason.left(100))
	client_kicked.emit(client.address, reason)


func _broadcast(lobby: Lobby, message: Dictionary) -> void:
	for id in lobby.members.keys():  # A send may disconnect a member.
		if lobby.members.has(id):
			_send(_clients[lobby.members[id]], message)


func _send(client: Client, message: Dictionary) -> void:
	if client.socket == null or client.socket.get_ready_state() != WebSocketPeer.STATE_OPEN:
		return
	var error := client.socket.send_text(Protocol.encode(message))
	if error == ERR_OUT_OF_MEMORY:
		# Its outbound buffer is full: it does not read what it is sent. (Other errors mean
		# the connection is gone, which the next poll sees.)
		_kick(client, "not reading its messages (%s)" % error_string(error))
