extends TestCase
## Lifecycles: re-initialise after close, either side offers, early candidates, the remote
## side closing, signals after close, and freeing objects mid-flight without leaks.


func _exchange(from: WebRTCDataChannel, to: WebRTCDataChannel, what: String) -> void:
	check_eq(from.put_packet(what.to_utf8_buffer()), OK, "put_packet(%s)" % what)
	var got := await receive(to, 1, what)
	if got.size() == 1:
		check_eq(got[0][0].get_string_from_utf8(), what, "packet content")


func test_reinitialize_after_close_connects_again() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	await _exchange(pair.channel_a, pair.channel_b, "first life")
	pair.a.close()
	pair.b.close()
	check_eq(pair.a.get_connection_state(), WebRTCPeerConnection.STATE_CLOSED, "closed")
	check_eq(pair.a.initialize(LOOPBACK), OK, "initialize() after close")
	check_eq(pair.b.initialize(LOOPBACK), OK, "initialize() after close")
	check_eq(pair.a.get_connection_state(), WebRTCPeerConnection.STATE_NEW, "state after re-initialize")
	check_eq(pair.a.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE, "signaling state")
	pair.received_b.clear()
	var channel := pair.a.create_data_channel("second")
	check_eq(pair.a.create_offer(), OK, "create_offer() after re-initialize")
	if not await wait_until(func() -> bool:
			return channel.get_ready_state() == WebRTCDataChannel.STATE_OPEN and pair.received_b.size() == 1 \
					and pair.received_b[0].get_ready_state() == WebRTCDataChannel.STATE_OPEN,
			"the second life's channel to open"):
		return
	check_eq(pair.received_b[0].get_label(), "second", "only the new channel arrives")
	await _exchange(channel, pair.received_b[0], "second life")
	check_eq(pair.channel_a.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "first life's channel")


func test_initialize_closes_the_previous_connection() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	check_eq(pair.a.initialize(LOOPBACK), OK, "initialize() while connected")
	check_eq(pair.a.get_connection_state(), WebRTCPeerConnection.STATE_NEW, "state")
	check_eq(pair.channel_a.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "old channel closed")
	await wait_until(func() -> bool:
		return pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_CLOSED,
		"the peer to see the old channel close")


func test_answerer_side_can_offer_too() -> void:
	var pair := make_pair()
	var channel := pair.b.create_data_channel("from-b", {"protocol": "reverse"})
	check_eq(pair.b.create_offer(), OK, "create_offer() on b")
	if not await wait_until(func() -> bool:
			return channel.get_ready_state() == WebRTCDataChannel.STATE_OPEN and pair.received_a.size() == 1 \
					and pair.received_a[0].get_ready_state() == WebRTCDataChannel.STATE_OPEN,
			"b's channel to open on both sides"):
		return
	check_eq(pair.received_a[0].get_protocol(), "reverse", "protocol at a")
	await _exchange(pair.received_a[0], channel, "a to b")
	await _exchange(channel, pair.received_a[0], "b to a")


func test_candidates_that_arrive_before_the_description_are_kept() -> void:
	var pair := make_pair(false)
	var channel := pair.a.create_data_channel("early")
	pair.a.create_offer()
	await wait_until(func() -> bool: return not pair.outbox_a.is_empty(), "the offer")
	var offer: Array = pair.outbox_a.pop_front()
	check_eq(pair.a.set_local_description(offer[1], offer[2]), OK, "set_local_description(offer)")
	await wait_until(func() -> bool:
		return pair.a.get_gathering_state() == WebRTCPeerConnection.GATHERING_STATE_COMPLETE,
		"a's gathering to complete")
	var candidates := pair.outbox_a.duplicate()
	pair.outbox_a.clear()
	check(candidates.size() > 0, "a gathered candidates")
	for candidate: Array in candidates:
		check_eq(candidate[0], "candidate", "only candidates follow the offer")
		check_eq(candidate[1], "0", "candidate mid is the data section's mid")
		check_eq(candidate[2], 0, "candidate m-line index")
		check(candidate[3].begins_with("candidate:"), "candidate line: %s" % candidate[3])
		# Before b has any remote description: held, not lost.
		check_eq(pair.b.add_ice_candidate(candidate[1], candidate[2], candidate[3]), OK, "early candidate")
	check_eq(pair.b.set_remote_description("offer", offer[2]), OK, "set_remote_description(offer)")
	await wait_until(func() -> bool: return not pair.outbox_b.is_empty(), "the answer")
	var answer: Array = pair.outbox_b.pop_front()
	check_eq(answer[1], "answer", "b answers")
	check_eq(pair.b.set_local_description("answer", answer[2]), OK, "set_local_description(answer)")
	check_eq(pair.a.set_remote_description("answer", answer[2]), OK, "set_remote_description(answer)")
	# From here b's candidates flow as they come; a's went over before the offer did.
	pair.auto_relay = true
	for candidate: Array in pair.outbox_b:
		pair.a.add_ice_candidate(candidate[1], candidate[2], candidate[3])
	await wait_until(func() -> bool:
		return channel.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"the channel to open with only early candidates from a")


func test_peer_closing_is_seen_by_the_other_side() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	pair.a.close()
	await wait_until(func() -> bool:
		return pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_CLOSED,
		"b's channel to close when a closes", 5.0)
	# Without a goodbye at the ICE level the browser's path is CONNECTED → DISCONNECTED
	# (consent lost after ~5 s) → FAILED (much later).
	await wait_until(func() -> bool:
		return pair.b.get_connection_state() in [WebRTCPeerConnection.STATE_DISCONNECTED,
				WebRTCPeerConnection.STATE_FAILED, WebRTCPeerConnection.STATE_CLOSED],
		"b to notice that a is gone", 20.0)
	check_eq(pair.states_b.slice(0, 3), [WebRTCPeerConnection.STATE_NEW,
			WebRTCPeerConnection.STATE_CONNECTING, WebRTCPeerConnection.STATE_CONNECTED],
			"b's states before the loss")


func test_no_signal_is_emitted_after_close() -> void:
	var closed_early := WebRTCPeerConnection.new()
	var twin := WebRTCPeerConnection.new()
	var emitted_after_close: Array = []
	var twin_offers: Array = []
	closed_early.initialize(LOOPBACK)
	twin.initialize(LOOPBACK)
	for name in ["session_description_created", "ice_candidate_created", "data_channel_received"]:
		closed_early.connect(name, func(_a = null, _b = null, _c = null) -> void: emitted_after_close.append(name))
	twin.session_description_created.connect(func(type: String, _sdp: String) -> void: twin_offers.append(type))
	closed_early.create_data_channel("x")
	twin.create_data_channel("x")
	closed_early.create_offer()
	twin.create_offer()
	closed_early.close()
	# The twin was asked the same thing at the same moment: once its offer is out, the closed
	# connection's would have been too.
	await wait_until(func() -> bool:
		closed_early.poll()
		twin.poll()
		return twin_offers.size() == 1,
		"the twin's offer")
	closed_early.poll()
	check_eq(emitted_after_close, [], "signals emitted after close()")
	twin.close()
	PeerPair.disconnect_handlers(closed_early)


func test_closing_inside_a_signal_handler_stops_the_rest() -> void:
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	var seen: Array = []
	pc.session_description_created.connect(func(type: String, sdp: String) -> void:
		seen.append(type)
		pc.set_local_description(type, sdp))
	pc.ice_candidate_created.connect(func(_mid: String, _index: int, _candidate: String) -> void:
		seen.append("candidate")
		pc.close())
	pc.create_data_channel("x")
	pc.create_offer()
	await wait_until(func() -> bool:
		pc.poll()
		return pc.get_connection_state() == WebRTCPeerConnection.STATE_CLOSED,
		"the handler to close the connection")
	pc.poll()
	check_eq(seen, ["offer", "candidate"], "signals seen: nothing after the close in the handler")
	PeerPair.disconnect_handlers(pc)


func test_freeing_objects_mid_flight_releases_sockets() -> void:
	var baseline := _open_fds()
	var peak := baseline
	# Connections dropped while connecting ...
	for i in 4:
		var pair := make_pair()
		pair.a.create_data_channel("c%d" % i)
		pair.a.create_offer()
		for frame in 5:
			pair.poll()
			await tree.process_frame
		peak = maxi(peak, _open_fds())
		pair.close()
		_pairs.erase(pair)
	# ... and while transferring, with the channels still referenced by nobody.
	var busy := await connected_pair()
	if busy != null:
		var payload := PackedByteArray()
		payload.resize(60000)
		for i in 100:
			busy.channel_a.put_packet(payload)
		peak = maxi(peak, _open_fds())
		busy.close()
		_pairs.erase(busy)
		busy = null
	check(peak >= baseline + 2, "the connections held sockets (fds: baseline %d, peak %d)" % [baseline, peak])
	# +2: the shared runtime's own epoll and wake descriptors, if this test started it.
	await wait_until(func() -> bool: return _open_fds() <= baseline + 2,
			"open file descriptors to return to the baseline (%d)" % baseline, 10.0)
	print("    fds: baseline %d, peak %d, after freeing %d" % [baseline, peak, _open_fds()])


func _open_fds() -> int:
	return DirAccess.get_files_at("/proc/self/fd").size()


func test_a_connection_that_cannot_start_reports_failed() -> void:
	var pc := WebRTCPeerConnection.new()
	check_eq(pc.initialize({"webrtc_rs": {"interfaces": ["no-such-if0"]}}), OK, "initialize()")
	var channel := pc.create_data_channel("x")
	errors.take()
	var logged := PackedStringArray()
	await wait_until(func() -> bool:
		pc.poll()
		logged.append_array(errors.take())
		return pc.get_connection_state() == WebRTCPeerConnection.STATE_FAILED,
		"STATE_FAILED")
	check(logged.size() > 0 and logged[0].contains("no-such-if0"),
			"the failure names the interface: %s" % logged)
	check_eq(channel.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "its channel")
	pc.close()
