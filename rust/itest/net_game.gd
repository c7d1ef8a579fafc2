extends Node
## One player of the network lab (test_networks.gd), run as /root/Game by readme_game.gd in a
## network namespace of its own, with the addon's default settings (no interface restriction):
##   godot --headless --path rust/itest -s res://readme_game.gd -- res://net_game.gd \
##       URL LOBBY STATUS_FILE PAYLOAD_BYTES ICE_SERVERS_JSON|-
## Joins LOBBY of the lobby server at URL through WebRTCLobbyClient in mesh mode, with the ICE
## servers the lobby hands out unless ICE_SERVERS_JSON (not "-") gives the game's own. Once the other
## player is connected: an RPC round trip each way, then the later joiner (the offerer) sends
## PAYLOAD_BYTES of pseudo-random data by reliable RPCs in 16 KiB pieces and the other hashes
## them. STATUS_FILE (JSON) is rewritten several times a second: setup time, candidates
## gathered, the path ICE chose (from get_stats()), the RPCs answered, bytes and hashes.

const PIECE := 16384

var lobby := WebRTCLobbyClient.new()
var status := {
	"id": 0, "setup_ms": -1, "rpc_answered": false, "rpc_received": false,
	"received": 0, "sha256": "", "payload_sha256": "", "sent": 0,
	"candidates": [], "path": {}, "errors": [], "done": false,
}
var _args: PackedStringArray
var _status_file := ""
var _payload_size := 0
var _hash := HashingContext.new()
var _introduced_at := 0
var _other := 0
var _last_write := 0


func _ready() -> void:
	_args = OS.get_cmdline_user_args().slice(1)  # After readme_game.gd's own argument.
	_status_file = _args[2]
	_payload_size = int(_args[3])
	var servers: Variant = JSON.parse_string(_args[4]) if _args.size() > 4 and _args[4] != "-" else null
	if typeof(servers) == TYPE_ARRAY:
		lobby.ice_servers.assign(servers)
	_hash.start(HashingContext.HASH_SHA256)
	# Godot may start slowly on a loaded machine: keep trying to reach the lobby server.
	lobby.connect_timeout = 40.0
	add_child(lobby)
	lobby.error.connect(func(message: String) -> void: status["errors"].append(message))
	lobby.joined.connect(func(id: int, _name: String) -> void:
		status["id"] = id
		multiplayer.multiplayer_peer = lobby.multiplayer_peer)
	lobby.peer_connected.connect(_on_introduced)
	multiplayer.peer_connected.connect(_on_open)
	var result := lobby.join(_args[0], _args[1], "mesh")
	if result != OK:
		status["errors"].append("join() returned %s" % error_string(result))


func _on_introduced(id: int) -> void:
	_introduced_at = Time.get_ticks_msec()
	_other = id
	var connection: WebRTCPeerConnection = lobby.multiplayer_peer.get_peer(id)["connection"]
	connection.ice_candidate_created.connect(func(_mid: String, _index: int, candidate: String) -> void:
		status["candidates"].append(candidate))


func _on_open(id: int) -> void:
	status["setup_ms"] = Time.get_ticks_msec() - _introduced_at
	var connection: WebRTCPeerConnection = lobby.multiplayer_peer.get_peer(id)["connection"]
	status["path"] = connection.call("get_stats")["candidate_pair"]
	ping.rpc_id(id)
	if status["id"] > id:
		_send_payload(id)


func _send_payload(id: int) -> void:
	var crypto := Crypto.new()
	var whole := HashingContext.new()
	whole.start(HashingContext.HASH_SHA256)
	var left := _payload_size
	while left > 0:
		var piece := crypto.generate_random_bytes(mini(PIECE, left))
		whole.update(piece)
		payload_piece.rpc_id(id, piece)
		left -= piece.size()
		status["sent"] = _payload_size - left
	status["payload_sha256"] = whole.finish().hex_encode()
	payload_end.rpc_id(id, status["payload_sha256"])


@rpc("any_peer", "reliable")
func ping() -> void:
	status["rpc_received"] = true
	pong.rpc_id(multiplayer.get_remote_sender_id())


@rpc("any_peer", "reliable")
func pong() -> void:
	status["rpc_answered"] = true


@rpc("any_peer", "reliable")
func payload_piece(piece: PackedByteArray) -> void:
	_hash.update(piece)
	status["received"] += piece.size()


@rpc("any_peer", "reliable")
func payload_end(sha256: String) -> void:
	status["payload_sha256"] = sha256
	status["sha256"] = _hash.finish().hex_encode()
	payload_received.rpc_id(multiplayer.get_remote_sender_id())


@rpc("any_peer", "reliable")
func payload_received() -> void:
	status["done"] = true


func _process(_delta: float) -> void:
	if status["id"] < _other and not str(status["sha256"]).is_empty() and status["rpc_answered"]:
		status["done"] = true
	if _other != 0 and lobby.multiplayer_peer != null and lobby.multiplayer_peer.has_peer(_other):
		var connection: WebRTCPeerConnection = lobby.multiplayer_peer.get_peer(_other)["connection"]
		var pair: Dictionary = connection.call("get_stats")["candidate_pair"]
		if not pair.is_empty():
			status["path"] = pair
	var now := Time.get_ticks_msec()
	if now - _last_write >= 100:
		_last_write = now
		var file := FileAccess.open(_status_file + ".part", FileAccess.WRITE)
		if file:
			file.store_string(JSON.stringify(status))
			file.close()
			DirAccess.rename_absolute(_status_file + ".part", _status_file)
