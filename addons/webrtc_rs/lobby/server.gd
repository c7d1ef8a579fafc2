class_name WebRTCLobbyServer
extends Node
## A lobby signaling server for [WebRTCMultiplayerPeer] games, over WebSocket
## ([code]ws://[/code], or [code]wss://[/code] with [member tls_options]).
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
## Connections are accepted and handshaken off the main thread ([WebRTCLobbyListener]), so a
## burst of thousands, or sockets that never finish their handshake, delay no one. A client
## may name its lobby in the URL's path, [code]ws://host/lobby/<name>[/code], which lets a
## proxy send every member of a lobby to the same server.

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
## Open connections from one IP address (for IPv6, from one /64 network, which one host or
## home is typically given whole).
@export var max_connections_per_address := 256
## Connections still in their TLS and WebSocket handshakes, in all. A newcomer beyond it
## takes the place of the oldest one, so sockets that never finish cannot keep anyone out.
@export var max_handshakes := 1024
## Connections from one IP address (IPv6: one /64) still in their handshakes (more are
## closed at once).
@export var max_handshakes_per_address := 64
## Addresses of proxies in front of the server (nginx, HAProxy), e.g. [code]["127.0.0.1"][/code].
## A connection from one of them counts as coming from the last address of its
## [code]X-Forwarded-For[/code] header, for every per-address limit and in the log; a client
## over [member max_connections_per_address] is answered HTTP 429.
@export var trusted_proxies: PackedStringArray = []
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

var _listener := WebRTCLobbyListener.new()
## Open connections, by the listener's number.
var _clients: Dictionary[int, Client] = {}
## Numbers of connections in the order they opened, for the join timeout (the same for all,
## so the oldest is always first).
var _unjoined: Array[int] = []
var _lobbies: Dictionary[String, Lobby] = {}
var _lobbies_per_address: Dictionary[String, int] = {}
var _stats := {"kicked": 0, "joins": 0, "rejected_messages": 0}


## One open connection.
class Client:
	var number: int
	var address: String
	## The lobby named by the URL's path ([code]/lobby/<name>[/code]), or "".
	var path_lobby := ""
	var opened_at := 0
	var lobby: Lobby
	var id := 0
	var tokens := 0.0
	var refilled_at := 0
	var errors := 0
	## Set once the server closes it: nothing more it sends counts.
	var closing := false


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
## "127.0.0.1" for this machine only). Returns OK or the listener's error.
func listen(port: int, bind_address := "127.0.0.1") -> Error:
	var problem := _check_ice_options()
	if not problem.is_empty():
		push_error("[lobby server] " + problem)
		return ERR_INVALID_PARAMETER
	var options := {
		"max_connections": max_connections,
		"max_connections_per_address": max_connections_per_address,
		"max_unfinished": max_handshakes,
		"max_unfinished_per_address": max_handshakes_per_address,
		"handshake_timeout": handshake_timeout,
		"max_message_bytes": max_message_bytes,
		"max_queued_messages": 64,
		"heartbeat_interval": heartbeat_interval,
		"trusted_proxies": Array(trusted_proxies),
	}
	if tls_options != null:
		options["tls_key"] = tls_options.get_private_key().save_to_string()
		options["tls_certificate"] = tls_options.get_own_certificate().save_to_string()
	var error := _listener.listen(port, bind_address, options)
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
	_unjoined.clear()
	_listener.stop()


## The port the server listens on (0 when it does not).
func get_port() -> int:
	return _listener.get_port()


## Counters and current sizes: [code]connections[/code] (open WebSocket connections),
## [code]handshakes[/code] (connections still in their handshakes), [code]lobbies[/code],
## [code]peers[/code], and since start [code]accepted[/code], [code]refused[/code] (over the
## connection or handshake limits), [code]handshake_failures[/code] (failed or timed out),
## [code]evicted[/code] (unfinished handshakes dropped for newcomers), [code]kicked[/code],
## [code]joins[/code], [code]rejected_messages[/code].
func get_stats() -> Dictionary:
	var peers := 0
	for name in _lobbies:
		peers += _lobbies[name].members.size()
	var transport := _listener.get_stats()
	var stats := _stats.duplicate()
	stats.merge({"connections": _clients.size(), "handshakes": transport["unfinished"],
			"lobbies": _lobbies.size(), "peers": peers, "accepted": transport["accepted"],
			"refused": transport["refused"], "handshake_failures": transport["handshake_failures"],
			"evicted": transport["evicted"]})
	return stats


func _process(_delta: float) -> void:
	poll()


## Serves connections: what arrived since the last call; called every frame by
## [method Node._process] (call it yourself if you process the server otherwise).
func poll() -> void:
	if not _listener.is_listening():
		return
	var now := Time.get_ticks_msec()
	for event: Array in _listener.poll():
		var client: Client = _clients.get(event[1])
		match event[0]:
			WebRTCLobbyListener.EVENT_OPENED:
				_open(event[1], event[2], event[3], now)
			WebRTCLobbyListener.EVENT_TEXT:
				if client != null and not client.closing and _take_token(client, now):
					var message: Variant = Protocol.decode_client_message(event[2])
					if typeof(message) == TYPE_STRING:
						_reject(client, message)
					else:
						_handle(client, message)
			WebRTCLobbyListener.EVENT_BINARY:
				if client != null and not client.closing and _take_token(client, now):
					_reject(client, "binary message (the protocol is JSON text)")
			WebRTCLobbyListener.EVENT_CLOSED:
				if event[2] == 1009:
					push_error("[lobby server] connection %d (%s) closed: it sent a message over %d bytes" % [
							event[1], client.address if client else "?", max_message_bytes])
				if client != null:
					_forget(client, false)
	while not _unjoined.is_empty():
		var waiting: Client = _clients.get(_unjoined[0])
		if waiting != null and waiting.lobby == null and not waiting.closing:
			if now - waiting.opened_at <= join_timeout * 1000.0:
				break
			_kick(waiting, "did not join a lobby within %.0f s" % join_timeout)
		_unjoined.pop_front()


func _open(number: int, address: String, path: String, now: int) -> void:
	var client := Client.new()
	client.number = number
	client.address = address
	client.opened_at = now
	client.refilled_at = now
	client.tokens = max_messages_per_second * 2.0
	if path.begins_with("/lobby/"):
		client.path_lobby = path.trim_prefix("/lobby/").trim_suffix("/").uri_decode()
	_clients[number] = client
	_unjoined.append(number)
	if client.path_lobby.length() > Protocol.MAX_NAME_LENGTH:
		_kick(client, "the lobby name in the URL is longer than %d characters" % Protocol.MAX_NAME_LENGTH)


## Takes a token for one message; kicks the client (and returns false) when it sends faster
## than [member max_messages_per_second].
func _take_token(client: Client, now: int) -> bool:
	client.tokens = minf(client.tokens + (now - client.refilled_at) * max_messages_per_second / 1000.0,
			max_messages_per_second * 2.0)
	client.refilled_at = now
	if client.tokens < 1.0:
		_kick(client, "more than %d messages per second" % max_messages_per_second)
		return false
	client.tokens -= 1.0
	return true


func _handle(client: Client, message: Dictionary) -> void:
	match message["type"]:
		"join":
			var lobby_name: String = message.get("lobby", "")
			if not client.path_lobby.is_empty():
				if lobby_name.is_empty():
					lobby_name = client.path_lobby
				elif lobby_name != client.path_lobby:
					_reject(client, "join: lobby '%s' is not the URL's lobby '%s'" % [lobby_name, client.path_lobby])
					return
			_join(client, lobby_name, message.get("mode", "mesh"), message.get("secret", ""))
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


## Forgets a connection and everything it held; [param drop] also drops the connection (false
## once the listener reported it closed).
func _forget(client: Client, drop := true) -> void:
	if not _clients.has(client.number):
		return
	_clients.erase(client.number)
	_leave(client)
	if drop:
		_listener.drop_connection(client.number)


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
	if client.closing:
		return
	_stats["kicked"] += 1
	push_error("[lobby server] disconnecting connection %d (%s): %s" % [client.number, client.address, reason])
	_send(client, {"type": "error", "message": "disconnected: " + reason})
	client.closing = true
	_leave(client)
	_listener.close(client.number, 1008, reason.left(100))
	client_kicked.emit(client.address, reason)


func _broadcast(lobby: Lobby, message: Dictionary) -> void:
	for id in lobby.members.keys():  # A send may disconnect a member.
		if lobby.members.has(id):
			_send(_clients[lobby.members[id]], message)


func _send(client: Client, message: Dictionary) -> void:
	if client.closing:
		return
	var error := _listener.send_text(client.number, Protocol.encode(message))
	if error == ERR_OUT_OF_MEMORY:
		# Its outbound queue is full: it does not read what it is sent. (Other errors mean
		# the connection is gone, which the next poll reports.)
		_kick(client, "not reading its messages (%s)" % error_string(error))
