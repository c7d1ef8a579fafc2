class_name ShutdownPeer
extends SceneTree
## One end of the shutdown tests, run as its own Godot process:
##   godot --headless --path rust/itest -s res://shutdown_peer.gd -- URL LOBBY ROLE RESULT_FILE
## Two processes meet in LOBBY (ids 1 and 2) and form a WebRTCMultiplayerPeer mesh. The
## "receive" side counts the reliable RPCs it gets and, once the other side is gone, writes
## {"received": [...], "departure_ms": ...} to RESULT_FILE and quits. The sender sends COUNT
## numbered reliable RPCs in one frame and then, depending on ROLE:
##   quit             get_tree().quit() in that same frame
##   close            multiplayer_peer.close() in that same frame, the connection freed with it
##                    (then quits a second later)
##   drain_disconnect waits until every channel's get_buffered_amount() is 0, then
##                    disconnect_peer() (WebRTCPeerConnection.close(): abrupt)
##   disconnect       disconnect_peer() in that same frame (abrupt: nothing is promised)
##   stream           no numbered RPCs: a 1 KiB reliable RPC after another, with at most
##                    256 KiB buffered, until the process is killed

const COUNT := 200

var peer: LobbyPeer
var role: String
var result_file: String
var multiplayer_peer := WebRTCMultiplayerPeer.new()
var rpc_node := ShutdownRpc.new()
var started := Time.get_ticks_msec()
var _sent_at := 0
var _quit_at := 0


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	role = args[2]
	result_file = args[3]
	rpc_node.name = "Rpc"
	root.add_child(rpc_node)
	peer = LobbyPeer.new(args[0], args[1], {"webrtc_rs": {"interfaces": ["lo"]}}, role != "receive")
	peer.joined.connect(func(id: int) -> void:
		multiplayer_peer.create_mesh(id)
		multiplayer_peer.add_peer(peer.pc, 3 - id)
		get_multiplayer().multiplayer_peer = multiplayer_peer)
	get_multiplayer().peer_connected.connect(func(id: int) -> void:
		rpc_node.last_at = Time.get_ticks_msec()
		# Tell the sender its RPCs will be taken: until Godot's multiplayer layer on this side
		# knows the peer, it would not deliver them, and that is not what these tests are about.
		if role == "receive":
			rpc_node.ready_to_receive.rpc_id(id))
	get_multiplayer().peer_disconnected.connect(func(_id: int) -> void:
		if role == "receive":
			_finish())


func _process(_delta: float) -> bool:
	if _quit_at > 0:
		return Time.get_ticks_msec() >= _quit_at
	if Time.get_ticks_msec() - started > 20000:
		_write({"error": "timed out (%s)" % role})
		return true
	peer.poll()
	if role == "receive" or not multiplayer_peer.has_peer(3 - peer.my_id):
		return false
	if not multiplayer_peer.get_peer(3 - peer.my_id)["connected"]:
		return false
	# The streamer's partner is a bare connection (test_reliability's vanishing peer) that
	# counts bytes, not RPCs, and has no multiplayer layer to say it is ready.
	if role != "stream" and not rpc_node.partner_ready:
		return false
	if role == "stream":
		var reliable: WebRTCDataChannel = multiplayer_peer.get_peer(3 - peer.my_id)["channels"][0]
		var chunk := PackedByteArray()
		chunk.resize(1024)
		while reliable.get_buffered_amount() < 256 * 1024:
			rpc_node.blob.rpc(chunk)
		return false
	if _sent_at == 0:
		_sent_at = Time.get_ticks_msec()
		for i in COUNT:
			rpc_node.numbered.rpc(i)
		match role:
			"quit":
				return true
			"close":
				# As a game does: the multiplayer peer held the only reference to the
				# connection (here the lobby helper holds one too, so it lets go as well).
				multiplayer_peer.close()
				PeerPair.disconnect_handlers(peer.pc)
				peer.pc = null
				_quit_at = Time.get_ticks_msec() + 1000
			"disconnect":
				multiplayer_peer.disconnect_peer(3 - peer.my_id)
				_quit_at = Time.get_ticks_msec() + 1000
		return false
	if role == "drain_disconnect":
		var channels: Array = multiplayer_peer.get_peer(3 - peer.my_id)["channels"]
		if channels.all(func(channel: WebRTCDataChannel) -> bool: return channel.get_buffered_amount() == 0):
			multiplayer_peer.disconnect_peer(3 - peer.my_id)
			_quit_at = Time.get_ticks_msec() + 1000
	return false


func _finish() -> void:
	_write({"received": rpc_node.received, "departure_ms": Time.get_ticks_msec() - rpc_node.last_at})
	_quit_at = Time.get_ticks_msec()


func _write(result: Dictionary) -> void:
	var file := FileAccess.open(result_file, FileAccess.WRITE)
	if file:
		file.store_string(JSON.stringify(result))
