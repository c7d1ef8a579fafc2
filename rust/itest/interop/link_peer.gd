extends SceneTree
## One end of the bad-link test, run as its own Godot process inside a network namespace:
##   godot --headless --path rust/itest -s res://interop/link_peer.gd -- \
##       URL LOBBY send|receive INTERFACE STATUS_FILE PAYLOAD_BYTES
## The sender offers, and once the channels open sends PAYLOAD_BYTES of pseudo-random data
## on a reliable channel (in 16 KiB packets); once all of it is acknowledged, a numbered
## packet every 10 ms on an unreliable one {ordered: false, maxRetransmits: 0} (after, so
## that the bulk data queued in SCTP does not hold the unreliable packets back). The receiver reassembles and hashes
## the payload. Both write their view to STATUS_FILE (JSON) several times a second: states
## with the time each was first seen, bytes and hashes, unreliable packets seen, open file
## descriptors. After the connection fails or closes they close it, wait for the sockets to
## go and exit.

const CHUNK := 16384
const UNRELIABLE_EVERY_MS := 10

var peer: LobbyPeer
var sending: bool
var status_file: String
var payload_size: int
var reliable: WebRTCDataChannel
var unreliable: WebRTCDataChannel
var started := Time.get_ticks_msec()
var status := {
	"states": {}, "bytes": 0, "sha256": "", "payload_sha256": "",
	"unreliable_sent": 0, "unreliable_received": 0, "unreliable_stalled_ms": 0,
	"fds_start": 0, "fds_now": 0, "done": false,
}
var _hash := HashingContext.new()
var _sent := 0
var _next_unreliable := 0
var _last_unreliable := 0
var _last_write := 0
var _closed_at := 0
var _args: PackedStringArray
## Frames the descriptor count has stayed the same while warming up.
var _steady_frames := 0


## Starts the shared runtime with a throw-away connection first, so that the baseline of open
## file descriptors includes the runtime's own and the end-of-test comparison is fair.
func _initialize() -> void:
	_args = OS.get_cmdline_user_args()
	sending = _args[2] == "send"
	status_file = _args[4]
	payload_size = int(_args[5])
	var warm_up := WebRTCPeerConnection.new()
	warm_up.initialize({"webrtc_rs": {"interfaces": [_args[3]]}})
	warm_up.close()
	status["fds_start"] = _fds()


func _start() -> void:
	var config := {"webrtc_rs": {"interfaces": [_args[3]]}}
	peer = LobbyPeer.new(_args[0], _args[1], config, sending)
	reliable = peer.pc.create_data_channel("bulk", {"negotiated": true, "id": 1})
	unreliable = peer.pc.create_data_channel("lossy", {"negotiated": true, "id": 2, "ordered": false, "maxRetransmits": 0})
	_hash.start(HashingContext.HASH_SHA256)


func _process(_delta: float) -> bool:
	if peer == null:
		# Warming up: wait until the throw-away connection's socket is gone.
		var fds := _fds()
		_steady_frames = _steady_frames + 1 if fds == status["fds_start"] else 0
		status["fds_start"] = fds
		if _steady_frames >= 30:
			_start()
		return false
	var now := Time.get_ticks_msec() - started
	if _closed_at == 0:
		peer.poll()
	_note_state("connection", peer.pc.get_connection_state())
	_note_state("reliable", reliable.get_ready_state())
	_note_state("unreliable", unreliable.get_ready_state())
	if reliable.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
		# Signaling is over: close the lobby socket while the link still carries its goodbye,
		# so that at the end only the WebRTC side's descriptors are compared with the start.
		if peer.socket.get_ready_state() == WebSocketPeer.STATE_OPEN:
			peer.socket.close()
		if sending:
			_send(now)
		else:
			_receive(now)
	var state := peer.pc.get_connection_state()
	if _closed_at == 0 and state in [WebRTCPeerConnection.STATE_FAILED, WebRTCPeerConnection.STATE_CLOSED]:
		# Gone for good: let go of everything and watch the sockets go.
		_closed_at = now
		peer.close()
	status["fds_now"] = _fds()
	var finished: bool = _closed_at > 0 and (status["fds_now"] <= status["fds_start"] or now - _closed_at > 5000)
	if finished:
		status["done"] = true
	if finished or now - _last_write > 100:
		_last_write = now
		var file := FileAccess.open(status_file + ".tmp", FileAccess.WRITE)
		file.store_string(JSON.stringify(status))
		file.close()
		DirAccess.rename_absolute(status_file + ".tmp", status_file)
	return finished or now > 180000


func _send(now: int) -> void:
	# Keep about 1 MiB queued so the channel is never idle and memory stays bounded.
	while _sent < payload_size and reliable.get_buffered_amount() < 1 << 20:
		var size := mini(CHUNK, payload_size - _sent)
		var chunk := PackedByteArray()
		chunk.resize(size)
		for i in range(0, size, 4):
			chunk.encode_u32(i, _mix(_sent + i))
		_hash.update(chunk)
		reliable.put_packet(chunk)
		_sent += size
		status["bytes"] = _sent
		if _sent == payload_size:
			status["payload_sha256"] = _hash.finish().hex_encode()
	var bulk_acknowledged := _sent == payload_size and reliable.get_buffered_amount() == 0
	if bulk_acknowledged and now >= _next_unreliable and status["unreliable_sent"] < 1000:
		_next_unreliable = now + UNRELIABLE_EVERY_MS
		var packet := PackedByteArray()
		packet.resize(4)
		packet.encode_u32(0, status["unreliable_sent"])
		unreliable.put_packet(packet)
		status["unreliable_sent"] += 1


func _receive(now: int) -> void:
	while reliable.get_available_packet_count() > 0:
		var chunk := reliable.get_packet()
		_hash.update(chunk)
		status["bytes"] += chunk.size()
		if status["bytes"] == payload_size:
			status["sha256"] = _hash.finish().hex_encode()
	while unreliable.get_available_packet_count() > 0:
		unreliable.get_packet()
		status["unreliable_received"] += 1
		if _last_unreliable > 0:
			status["unreliable_stalled_ms"] = maxi(status["unreliable_stalled_ms"], now - _last_unreliable)
		_last_unreliable = now


## The payload is a deterministic function of the offset, so the receiver's hash can be
## compared with the sender's.
static func _mix(offset: int) -> int:
	return (offset * 2654435761 + 12345) & 0xffffffff


## Records when a state was first seen, in wall-clock milliseconds (comparable across the
## processes of the test).
func _note_state(what: String, state: int) -> void:
	var key := "%s:%d" % [what, state]
	if not status["states"].has(key):
		status["states"][key] = int(Time.get_unix_time_from_system() * 1000.0)


static func _fds() -> int:
	return DirAccess.get_files_at("/proc/self/fd").size()
