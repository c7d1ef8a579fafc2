extends SceneTree
## Random misuse of the API, run as its own Godot process by test_reliability.gd:
##   godot --headless --path rust/itest -s res://fuzz_peer.gd -- SEED CALLS RESULT_FILE
## Rounds of random calls with random and mutated arguments (descriptions and candidates with
## bytes flipped, cut or inserted, option dictionaries with wrong types and values, packets of
## 0 to 200000 bytes, close() / initialize() / freeing at any moment) on two connections that
## mostly start connected. Counts the errors reported and any panic that reached Godot, and
## writes {"calls", "errors", "panics", "connected", "packets"} to RESULT_FILE.

const ROUNDS := 10

var errors := CountingLogger.new()


func _initialize() -> void:
	OS.add_logger(errors)
	_run.call_deferred()


func _run() -> void:
	var args := OS.get_cmdline_user_args()
	var rng := RandomNumberGenerator.new()
	rng.seed = int(args[0])
	var calls := int(args[1])
	var figures := {"calls": 0, "errors": 0, "panics": [], "connected": 0, "packets": 0}
	var corpus := {"sdp": PackedStringArray(["v=0"]), "candidate": PackedStringArray(["candidate:1 1 udp 1 127.0.0.1 9 typ host"])}
	for round in ROUNDS:
		var peers: Array[WebRTCPeerConnection] = []
		var channels: Array[WebRTCDataChannel] = []
		for i in 2:
			peers.append(_fuzz_peer(i, peers, channels, corpus))
		# Most rounds start from a live connection, so the misuse meets open channels.
		if rng.randf() < 0.7:
			for i in 2:
				channels.append(peers[i].create_data_channel("n", {"negotiated": true, "id": 0}))
			peers[0].create_offer()
			await _wait_for(func() -> bool:
				for pc in peers:
					pc.poll()
				return peers.all(func(pc: WebRTCPeerConnection) -> bool:
					return pc.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED))
		for pc in peers:
			if pc.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED:
				figures["connected"] += 1
		for step in calls / ROUNDS:
			_misuse_step(rng, peers, channels, corpus, figures)
			figures["calls"] += 1
			if step % 10 == 0:
				await process_frame  # Let the network threads run.
		for pc in peers:
			pc.close()
			PeerPair.disconnect_handlers(pc)
	figures["errors"] = errors.count
	figures["panics"] = errors.panics
	var file := FileAccess.open(args[2], FileAccess.WRITE)
	file.store_string(JSON.stringify(figures))
	file.close()
	quit(0)


class CountingLogger:
	extends Logger

	var count := 0
	var panics: PackedStringArray = []
	var _mutex := Mutex.new()

	func _log_error(_function: String, _file: String, _line: int, code: String, rationale: String,
			_editor_notify: bool, error_type: int, _script_backtraces: Array[ScriptBacktrace]) -> void:
		if error_type == ERROR_TYPE_WARNING or code.contains("Unicode parsing error"):
			return  # Godot's own, from making random bytes into a String.
		_mutex.lock()
		count += 1
		var text := "%s %s" % [code, rationale]
		if text.to_lower().contains("panic"):
			panics.append(text)
		_mutex.unlock()


## One random call on one of the connections or channels.
func _misuse_step(rng: RandomNumberGenerator, peers: Array[WebRTCPeerConnection],
		channels: Array[WebRTCDataChannel], corpus: Dictionary, figures: Dictionary) -> void:
	var side := rng.randi() % 2
	var pc := peers[side]
	var channel: WebRTCDataChannel = channels[rng.randi() % channels.size()] if not channels.is_empty() else null
	match rng.randi() % 40:
		0:
			pc.initialize(_random_config(rng))
		1, 2:
			var made := pc.create_data_channel(_random_text(rng, 8), _random_channel_options(rng))
			if made != null:
				channels.append(made)
		3, 4:
			pc.create_offer()
		5, 6:
			pc.set_local_description(_random_type(rng), _mutate(rng, _pick(rng, corpus["sdp"])))
		7, 8:
			pc.set_remote_description(_random_type(rng), _mutate(rng, _pick(rng, corpus["sdp"])))
		9, 10:
			pc.add_ice_candidate(_random_text(rng, 3), rng.randi_range(-5, 70000), _mutate(rng, _pick(rng, corpus["candidate"])))
		11:
			pc.close()
		12:
			# Drop a connection without closing it, and start a fresh one in its place.
			PeerPair.disconnect_handlers(pc)
			peers[side] = _fuzz_peer(side, peers, channels, corpus)
		13, 14, 15, 16, 17, 18:
			if channel != null:
				var packet := PackedByteArray()
				packet.resize(_random_size(rng))
				if packet.size() > 0:
					packet[rng.randi() % packet.size()] = rng.randi() % 256
				channel.put_packet(packet)
		19:
			if channel != null:
				channel.close()
		20, 21, 22:
			if channel != null:
				while channel.get_available_packet_count() > 0:
					channel.get_packet()
					figures["packets"] += 1
				channel.get_buffered_amount()
				channel.get_id()
				channel.was_string_packet()
		23:
			if channel != null:
				channel.write_mode = [WebRTCDataChannel.WRITE_MODE_TEXT, WebRTCDataChannel.WRITE_MODE_BINARY][rng.randi() % 2]
		24:
			if channel != null:
				channels.erase(channel)  # The last reference goes: freeing closes it.
		25:
			pc.call("get_stats")
		_:
			pc.poll()


## Polls until `condition` holds or 2 s pass.
func _wait_for(condition: Callable) -> void:
	var deadline := Time.get_ticks_msec() + 2000
	while not condition.call() and Time.get_ticks_msec() < deadline:
		await process_frame


## A connection whose descriptions and candidates are relayed to the other side (and kept,
## to be mutated by later calls).
func _fuzz_peer(side: int, peers: Array[WebRTCPeerConnection], channels: Array[WebRTCDataChannel],
		corpus: Dictionary) -> WebRTCPeerConnection:
	var pc := WebRTCPeerConnection.new()
	pc.initialize(TestCase.LOOPBACK)
	pc.session_description_created.connect(func(type: String, sdp: String) -> void:
		corpus["sdp"].append(sdp)
		pc.set_local_description(type, sdp)
		peers[1 - side].set_remote_description(type, sdp))
	pc.ice_candidate_created.connect(func(mid: String, index: int, candidate: String) -> void:
		corpus["candidate"].append(candidate)
		peers[1 - side].add_ice_candidate(mid, index, candidate))
	pc.data_channel_received.connect(func(channel: WebRTCDataChannel) -> void: channels.append(channel))
	return pc


func _random_config(rng: RandomNumberGenerator) -> Dictionary:
	var values: Array = [null, 1, -7, 3.5, "x", "stun:127.0.0.1", "turn:127.0.0.1:3478", [], {}, ["lo"],
			[{"urls": "stun:127.0.0.1"}], {"interfaces": ["lo"]}, {"interfaces": 5}, Vector2.ONE]
	var config := {}
	for i in rng.randi() % 4:
		var key: String = ["iceServers", "iceTransportPolicy", "bundlePolicy", "webrtc_rs", "bogus"][rng.randi() % 5]
		config[key] = values[rng.randi() % values.size()]
	config["webrtc_rs"] = {"interfaces": ["lo"]}  # Whatever else it says, stay on loopback.
	return config


func _random_channel_options(rng: RandomNumberGenerator) -> Dictionary:
	var values: Array = [null, true, false, 0, 1, 2, -1, 65534, 65535, 70000, 1.5, "1", [], {}]
	var options := {}
	for i in rng.randi() % 5:
		var key: String = ["negotiated", "id", "ordered", "maxRetransmits", "maxPacketLifeTime",
				"maxPacketLifetime", "protocol", "other"][rng.randi() % 8]
		options[key] = values[rng.randi() % values.size()]
	return options


func _random_type(rng: RandomNumberGenerator) -> String:
	return ["offer", "answer", "pranswer", "rollback", "", "Offer"][rng.randi() % 6]


func _random_text(rng: RandomNumberGenerator, length: int) -> String:
	var bytes := PackedByteArray()
	for i in rng.randi() % (length + 1):
		bytes.append(rng.randi_range(1, 255))
	return bytes.get_string_from_utf8()


## Mostly small packets, sometimes empty or far beyond the 64 KiB limit.
func _random_size(rng: RandomNumberGenerator) -> int:
	match rng.randi() % 6:
		0: return 0
		1: return rng.randi_range(65530, 65540)
		2: return rng.randi_range(0, 200000)
		_: return rng.randi_range(1, 1200)


func _pick(rng: RandomNumberGenerator, from: PackedStringArray) -> String:
	return from[rng.randi() % from.size()]


## Flips, cuts or inserts bytes (or leaves the text alone a third of the time).
func _mutate(rng: RandomNumberGenerator, text: String) -> String:
	var bytes := text.to_utf8_buffer()
	match rng.randi() % 6:
		0, 1:
			return text
		2:
			for i in rng.randi_range(1, 4):
				if bytes.size() > 0:
					bytes[rng.randi() % bytes.size()] = rng.randi() % 256
		3:
			bytes = bytes.slice(0, rng.randi() % (bytes.size() + 1))
		4:
			var at := rng.randi() % (bytes.size() + 1)
			var inserted := PackedByteArray()
			for i in rng.randi_range(1, 16):
				inserted.append(rng.randi() % 256)
			bytes = bytes.slice(0, at) + inserted + bytes.slice(at)
		5:
			return text.replace("\r\n", "\n")
	return bytes.get_string_from_utf8()
