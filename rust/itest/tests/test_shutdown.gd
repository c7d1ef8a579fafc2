extends TestCase
## What the remote receives of what was sent just before a channel or connection ends, and
## how quickly an ending is seen (docs/reliability.md "Shutdown").

const COUNT := 300


## A connected pair whose reliable negotiated channel is `channel_a` / `channel_b`.
func _negotiated_pair() -> PeerPair:
	var pair := make_pair()
	pair.channel_a = pair.a.create_data_channel("n", {"negotiated": true, "id": 0})
	pair.channel_b = pair.b.create_data_channel("n", {"negotiated": true, "id": 0})
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var opened := await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"the negotiated channel to open on both sides")
	return pair if opened else null


func _send_numbered(channel: WebRTCDataChannel, count: int) -> void:
	for i in count:
		var packet := PackedByteArray()
		packet.resize(4 + 1000)
		packet.encode_u32(0, i)
		check_eq(channel.put_packet(packet), OK, "put_packet #%d" % i)


## Reads `channel` the way WebRTCMultiplayerPeer does: every frame after the poll, and only
## while the channel and its connection are open (it forgets a peer the moment either is
## not). Returns the sequence numbers read once the channel is closed.
func _read_like_multiplayer(pair: PeerPair, channel: WebRTCDataChannel, what: String) -> Array:
	var seen: Array = []
	await wait_until(func() -> bool:
		if channel.get_ready_state() != WebRTCDataChannel.STATE_OPEN \
				or pair.b.get_connection_state() != WebRTCPeerConnection.STATE_CONNECTED:
			return true
		while channel.get_available_packet_count() > 0:
			seen.append(channel.get_packet().decode_u32(0))
		return false,
		what, 10.0)
	await wait_until(func() -> bool: return channel.get_ready_state() == WebRTCDataChannel.STATE_CLOSED,
			"%s: the channel to close" % what, 10.0)
	return seen


func test_channel_close_sends_what_was_queued_first() -> void:
	# W3C closing procedure: pending messages are sent, then the channel closes.
	var pair := await _negotiated_pair()
	if pair == null:
		return
	_send_numbered(pair.channel_a, COUNT)
	pair.channel_a.close()
	check_eq(pair.channel_a.get_ready_state(), WebRTCDataChannel.STATE_CLOSING, "a's channel right after close()")
	var seen := await _read_like_multiplayer(pair, pair.channel_b, "b reading until the close")
	check_eq(seen, range(COUNT), "messages b read before seeing the channel close")


func test_a_freed_connection_delivers_what_it_sent() -> void:
	# WebRTCMultiplayerPeer.close() and remove_peer() free their connections; so does a game
	# that quits. Nothing the game sent before may be lost.
	var pair := await _negotiated_pair()
	if pair == null:
		return
	_send_numbered(pair.channel_a, COUNT)
	PeerPair.disconnect_handlers(pair.a)
	pair.a = null
	pair.channel_a = null  # The last references: the connection and its channel are freed.
	var seen := await _read_like_multiplayer(pair, pair.channel_b, "b reading until a is gone")
	check_eq(seen, range(COUNT), "messages b read before seeing a leave")


func test_close_is_immediate_and_releases_sockets_while_still_referenced() -> void:
	# W3C RTCPeerConnection.close() is abrupt: the state is CLOSED at once, channels are
	# closed, and (ours) the sockets are released at once, whoever still holds the objects.
	var baseline := _open_fds()
	var pair := await _negotiated_pair()
	if pair == null:
		return
	var with_connection := _open_fds()
	pair.a.close()
	check_eq(pair.a.get_connection_state(), WebRTCPeerConnection.STATE_CLOSED, "state right after close()")
	check_eq(pair.channel_a.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "channel right after close()")
	var started := Time.get_ticks_msec()
	# b still runs; a's sockets (one per loopback address) must go while `pair.a` is referenced.
	var released := await wait_until(func() -> bool: return _open_fds() <= with_connection - 1,
			"a's sockets to be released (fds: before %d, connected %d, now %d)" % [baseline, with_connection, _open_fds()], 2.0)
	if released:
		print("    a's sockets released %d ms after close()" % (Time.get_ticks_msec() - started))
	await wait_until(func() -> bool: return pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_CLOSED,
			"b's channel to close when a closes", 5.0)


func test_buffered_amount_reaching_zero_means_the_peer_has_it() -> void:
	# The documented way to say goodbye before close(): wait for get_buffered_amount() == 0.
	var pair := await _negotiated_pair()
	if pair == null:
		return
	_send_numbered(pair.channel_a, COUNT)
	check(pair.channel_a.get_buffered_amount() > 0, "bytes are buffered right after sending")
	await wait_until(func() -> bool: return pair.channel_a.get_buffered_amount() == 0,
			"a's buffered amount to reach 0")
	pair.a.close()
	var seen := await _read_like_multiplayer(pair, pair.channel_b, "b reading until a closes")
	check_eq(seen, range(COUNT), "messages b read before seeing a close")


func _open_fds() -> int:
	return DirAccess.get_files_at("/proc/self/fd").size()


## Plays shutdown_peer.gd's scenario ROLE between two processes; returns the receiver's result.
func _two_processes(role: String) -> Dictionary:
	var url := start_signaling_server()
	var lobby := "shutdown-%d" % randi()
	var dir := OS.get_user_data_dir().path_join("shutdown-%d" % Time.get_ticks_usec())
	DirAccess.make_dir_recursive_absolute(dir)
	var project := ProjectSettings.globalize_path("res://")
	var pids := {}
	for side: String in ["receive", role]:
		pids[side] = OS.create_process(godot_command(), ["--headless", "--path", project,
				"-s", "res://shutdown_peer.gd", "--", url, lobby, side, dir.path_join(side + ".json")])
		track_process(pids[side])
	await wait_until(func() -> bool: return pids.values().all(func(pid: int) -> bool: return not OS.is_process_running(pid)),
			"both processes of the '%s' scenario to exit" % role, 30.0)
	for side: String in pids:
		check_eq(OS.get_process_exit_code(pids[side]), 0, "exit code of the %s side" % side)
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(dir.path_join("receive.json")))
	if not check(typeof(parsed) == TYPE_DICTIONARY and parsed.has("received"), "the receiver's result: %s" % parsed):
		return {}
	parsed["received"] = parsed["received"].map(func(seq: float) -> int: return int(seq))  # JSON numbers are floats.
	return parsed


## Runs the sender as `role` and checks that every one of its RPCs arrived, in order.
func _every_rpc_arrives(role: String, what: String) -> void:
	var result := await _two_processes(role)
	if not result.is_empty():
		check_eq(result["received"], range(ShutdownPeer.COUNT), what)


func test_quitting_right_after_rpcs_delivers_them() -> void:
	await _every_rpc_arrives("quit", "RPCs received from a peer that quit in the same frame")


func test_multiplayer_peer_close_right_after_rpcs_delivers_them() -> void:
	await _every_rpc_arrives("close", "RPCs received from a peer that closed its WebRTCMultiplayerPeer")


func test_disconnect_peer_after_the_buffers_drained_delivers_everything() -> void:
	await _every_rpc_arrives("drain_disconnect", "RPCs received before disconnect_peer()")


func test_disconnect_peer_is_abrupt_but_seen_at_once() -> void:
	# WebRTCPeerConnection.close() underneath: what was still queued may be lost (W3C), but
	# the peer learns of the departure at once rather than after the ~5 s consent timeout.
	var result := await _two_processes("disconnect")
	if not result.is_empty():
		var received: Array = result["received"]
		check(received == range(received.size()), "whatever arrived is a prefix, in order (%d RPCs)" % received.size())
		check(result["departure_ms"] < 1000, "departure seen %d ms after the last RPC" % result["departure_ms"])


## A description whose a=fingerprint was tampered with: the side that detects the mismatch
## (the DTLS server checks the client's certificate, the client the server's) fails within
## 2 s with an error naming the cause; its peer follows at once (it is sent a fatal alert).
func test_a_tampered_fingerprint_fails_both_sides_fast() -> void:
	for tampered: String in ["offer", "answer"]:
		var pair := make_pair(false)
		pair.a.create_data_channel("x", {"negotiated": true, "id": 0})
		pair.b.create_data_channel("x", {"negotiated": true, "id": 0})
		pair.a.create_offer()
		var started := Time.get_ticks_msec()
		var logged := PackedStringArray()
		var failed_at := {}
		var finished := await wait_until(func() -> bool:
			_relay_tampering(pair, tampered)
			logged.append_array(errors.take())
			for side: String in ["a", "b"]:
				var pc: WebRTCPeerConnection = pair.get(side)
				if pc.get_connection_state() == WebRTCPeerConnection.STATE_FAILED and not failed_at.has(side):
					failed_at[side] = Time.get_ticks_msec() - started
			return failed_at.size() == 2,
			"both sides to fail after a tampered %s (failed so far: %s)" % [tampered, failed_at], 10.0)
		print("    tampered %s: FAILED after %s ms" % [tampered, failed_at])
		if finished:
			check(failed_at.values().min() < 2000, "the detecting side failed within 2 s: %s" % failed_at)
		check("\n".join(logged).contains("does not match the fingerprint"),
				"tampered %s: an error names the cause: %s" % [tampered, logged])
		check("\n".join(logged).contains("DTLS handshake failed"), "tampered %s: the connection says why it failed" % tampered)
		pair.close()
		errors.take()


## Delivers what `pair` queued in its outboxes, flipping a digit of the fingerprint in the
## description of type `tampered`.
func _relay_tampering(pair: PeerPair, tampered: String) -> void:
	for route: Array in [[pair.a, pair.b, pair.outbox_a], [pair.b, pair.a, pair.outbox_b]]:
		var from: WebRTCPeerConnection = route[0]
		var to: WebRTCPeerConnection = route[1]
		for item: Array in route[2]:
			if item[0] == "description":
				from.set_local_description(item[1], item[2])
				var sdp: String = item[2]
				if item[1] == tampered:
					var at := sdp.find("a=fingerprint:sha-256 ") + "a=fingerprint:sha-256 ".length()
					sdp = sdp.substr(0, at) + ("0" if sdp[at] != "0" else "1") + sdp.substr(at + 1)
				to.set_remote_description(item[1], sdp)
			else:
				to.add_ice_candidate(item[1], item[2], item[3])
		route[2].clear()


func test_an_unusable_fingerprint_is_refused_at_once() -> void:
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	var twin := WebRTCPeerConnection.new()
	twin.initialize(LOOPBACK)
	twin.create_data_channel("x")
	var offers := PackedStringArray()
	twin.session_description_created.connect(func(_type: String, sdp: String) -> void: offers.append(sdp))
	twin.create_offer()
	await wait_until(func() -> bool:
		twin.poll()
		return offers.size() == 1,
		"an offer to mangle")
	if offers.is_empty():
		return
	var lines := Array(offers[0].split("\r\n")).filter(func(line: String) -> bool: return not line.begins_with("a=fingerprint:"))
	var without := "\r\n".join(lines)
	check_eq(expect_error(func() -> Error: return pc.set_remote_description("offer", without), "no a=fingerprint"),
			ERR_INVALID_PARAMETER, "an offer without a=fingerprint")
	var unknown := offers[0].replace("a=fingerprint:sha-256", "a=fingerprint:sha-999")
	check_eq(expect_error(func() -> Error: return pc.set_remote_description("offer", unknown), "sha-999"),
			ERR_INVALID_PARAMETER, "an offer with an unknown hash")
	check_eq(pc.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE, "the signaling state is untouched")
	check_eq(pc.set_remote_description("offer", offers[0]), OK, "the intact offer is still accepted")
	pc.close()
	twin.close()
	PeerPair.disconnect_handlers(twin)
