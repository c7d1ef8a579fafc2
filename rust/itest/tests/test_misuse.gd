extends TestCase
## Every method in the wrong state or with wrong input returns the documented error and
## names the problem in the error log; nothing crashes.

const GARBAGE_SDP := "v=0\r\nthis is not a session description"


func test_initialize_rejects_wrong_types_and_values() -> void:
	var pc := WebRTCPeerConnection.new()
	var cases := [
		[{"iceServers": 5}, "iceServers"],
		[{"iceServers": [{"urls": "http://example.invalid"}]}, "unknown scheme"],
		[{"iceServers": [{"urls": 42}]}, "iceServers[0].urls"],
		[{"iceServers": [{"urls": "turn:127.0.0.1:3478"}]}, "username"],
		[{"iceServers": ["stun:127.0.0.1"]}, "iceServers[0]"],
		[{"iceTransportPolicy": "nearby"}, "iceTransportPolicy"],
		[{"bundlePolicy": 1}, "bundlePolicy"],
		[{"webrtc_rs": {"interfaces": [1, 2]}}, "webrtc_rs.interfaces"],
		[{"iceServers": [{"urls": "stun:127.0.0.1", "username": Vector2(1, 2)}]}, "username"],
	]
	for entry: Array in cases:
		var result: Error = expect_error(func() -> Error: return pc.initialize(entry[0]), entry[1])
		check_eq(result, ERR_INVALID_PARAMETER, "initialize(%s)" % var_to_str(entry[0]))
	# Accepted forms: a URL String or an Array of them, and TURN with credentials.
	var good := {
		"iceServers": [
			{"urls": "stun:127.0.0.1:3478"},
			{"urls": ["turn:127.0.0.1:3478"], "username": "u", "credential": "p"},
		],
		"iceTransportPolicy": "all",
		"bundlePolicy": "max-bundle",
		"webrtc_rs": {"interfaces": ["lo"]},
	}
	check_eq(pc.initialize(good), OK, "initialize(valid configuration)")
	check_eq(pc.get_connection_state(), WebRTCPeerConnection.STATE_NEW, "state after initialize")
	pc.close()
	# Typed arrays are arrays too (they used to be refused with a panic message).
	var typed := WebRTCPeerConnection.new()
	var servers: Array[Dictionary] = [{"urls": "stun:127.0.0.1:3478"}]
	var urls: Array[String] = ["stun:127.0.0.1:3478"]
	var options: Dictionary[String, Variant] = {"interfaces": PackedStringArray(["lo"])}
	check_eq(typed.initialize({"iceServers": servers, "webrtc_rs": options}), OK,
			"initialize() with an Array[Dictionary] of ICE servers and a typed Dictionary")
	typed.close()
	typed = WebRTCPeerConnection.new()
	check_eq(typed.initialize({"iceServers": [{"urls": urls}]}), OK, "initialize() with an Array[String] of URLs")
	typed.close()


func test_create_data_channel_rejects_bad_options() -> void:
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	var cases := [
		[{"negotiated": true}, "'id'"],
		[{"id": 3}, "negotiated"],
		[{"negotiated": true, "id": 70000}, "'id'"],
		[{"maxRetransmits": 1, "maxPacketLifeTime": 10}, "at most one retransmit limit"],
		[{"maxRetransmits": -2}, "maxRetransmits"],
		[{"ordered": "yes"}, "ordered"],
		[{"protocol": 12}, "protocol"],
		[{"maxPacketLifeTime": Vector3.ZERO}, "maxPacketLifeTime"],
	]
	for entry: Array in cases:
		var channel: Variant = expect_error(func() -> Variant: return pc.create_data_channel("x", entry[0]), entry[1])
		check(channel == null, "create_data_channel(%s) should return null" % var_to_str(entry[0]))
	pc.close()


func test_offer_and_descriptions_in_the_wrong_state() -> void:
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	check_eq(expect_error(pc.create_offer, "at least one data channel"), ERR_UNCONFIGURED,
			"create_offer() without channels")
	check_eq(expect_error(func() -> Error: return pc.set_remote_description("answer", "v=0"),
			"not allowed in signaling state stable"), ERR_INVALID_PARAMETER,
			"remote answer while stable")
	check_eq(expect_error(func() -> Error: return pc.set_local_description("answer", "v=0"),
			"not allowed in signaling state stable"), ERR_INVALID_PARAMETER,
			"local answer while stable")
	check_eq(expect_error(func() -> Error: return pc.set_remote_description("bogus", "v=0"),
			"\"offer\", \"answer\" or \"pranswer\""), ERR_INVALID_PARAMETER, "unknown type")
	check_eq(expect_error(func() -> Error: return pc.set_remote_description("offer", GARBAGE_SDP),
			"SDP is not valid"), ERR_INVALID_PARAMETER, "garbage remote offer")
	check_eq(expect_error(func() -> Error: return pc.set_local_description("offer", ""),
			"SDP is not valid"), ERR_INVALID_PARAMETER, "empty local offer")
	check_eq(pc.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE,
			"signaling state unchanged by refused descriptions")
	check_eq(expect_error(func() -> Error: return pc.add_ice_candidate("0", 0, "candidate:nonsense"),
			"candidate:nonsense"), ERR_INVALID_PARAMETER, "garbage candidate")
	check_eq(expect_error(func() -> Error: return pc.add_ice_candidate("0", -1,
			"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host"), "out of range"),
			ERR_INVALID_PARAMETER, "negative m-line index")
	check_eq(pc.add_ice_candidate("0", 0, ""), OK, "end-of-candidates marker")
	pc.close()


func test_answering_side_cannot_offer_while_answering() -> void:
	var offerer := make_pair(false)
	offerer.a.create_data_channel("x")
	offerer.a.create_offer()
	await wait_until(func() -> bool: return offerer.outbox_a.size() > 0, "the offer")
	var offer: Array = offerer.outbox_a[0]
	check_eq(offer[1], "offer", "first signal is the offer")
	var answerer := offerer.b
	answerer.create_data_channel("y")
	check_eq(answerer.set_remote_description("offer", offer[2]), OK, "remote offer")
	check_eq(answerer.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_HAVE_REMOTE_OFFER,
			"signaling state after a remote offer")
	check_eq(expect_error(answerer.create_offer, "answer the remote offer"), ERR_UNCONFIGURED,
			"create_offer() in have-remote-offer")
	check_eq(expect_error(func() -> Error: return answerer.set_remote_description("offer", "x"),
			"SDP is not valid"), ERR_INVALID_PARAMETER, "garbage second offer")


func test_a_rejected_description_reports_an_error_from_poll() -> void:
	# Valid SDP with a well-formed fingerprint that webrtc-rs refuses (no ICE credentials):
	# the call itself succeeds, the refusal arrives as an error from poll(), and the
	# signaling state returns to what the backend has.
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	var fingerprint := ":".join(PackedStringArray(range(32).map(func(_i: int) -> String: return "AB")))
	var sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=fingerprint:sha-256 %s\r\n" % fingerprint
	check_eq(pc.set_remote_description("offer", sdp), OK, "set_remote_description(incomplete offer)")
	errors.take()
	var deadline := Time.get_ticks_msec() + 10000
	var logged := PackedStringArray()
	while logged.is_empty() and Time.get_ticks_msec() < deadline:
		pc.poll()
		logged = errors.take()
		await tree.process_frame
	check(not logged.is_empty() and logged[0].contains("set_remote_description(\"offer\")"),
			"expected the refusal to be reported, got %s" % logged)
	check_eq(pc.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE,
			"signaling state after the refusal")
	pc.close()


func test_everything_after_close_is_refused_and_close_is_idempotent() -> void:
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	var channel := pc.create_data_channel("x")
	pc.close()
	pc.close()
	check_eq(pc.get_connection_state(), WebRTCPeerConnection.STATE_CLOSED, "connection state")
	check_eq(pc.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_CLOSED, "signaling state")
	check_eq(channel.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "channel state")
	check_eq(expect_error(pc.create_offer, "closed"), ERR_UNCONFIGURED, "create_offer()")
	check_eq(expect_error(func() -> Error: return pc.set_remote_description("offer", "v=0"), "closed"),
			ERR_UNCONFIGURED, "set_remote_description()")
	check_eq(expect_error(func() -> Error: return pc.set_local_description("offer", "v=0"), "closed"),
			ERR_UNCONFIGURED, "set_local_description()")
	check_eq(expect_error(func() -> Error: return pc.add_ice_candidate("0", 0, "x"), "closed"),
			ERR_UNCONFIGURED, "add_ice_candidate()")
	check(expect_error(func() -> Variant: return pc.create_data_channel("y"), "STATE_NEW") == null,
			"create_data_channel() after close should return null")
	check_eq(pc.poll(), OK, "poll() after close")
	check_eq(expect_error(func() -> Error: return channel.put_packet(PackedByteArray([1])), "not open"),
			ERR_UNCONFIGURED, "put_packet() on a channel of a closed connection")
	channel.close()
	check_eq(channel.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "channel state after close()")


func test_channel_misuse() -> void:
	var bare := WebRTCRsDataChannel.new()
	check_eq(expect_error(func() -> Error: return bare.put_packet(PackedByteArray([1])),
			"not created by a WebRTCPeerConnection"), ERR_UNCONFIGURED, "put_packet() on a bare channel")
	check_eq(bare.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "bare channel state")
	check_eq(bare.get_available_packet_count(), 0, "bare channel packets")
	check_eq(bare.get_label(), "", "bare channel label")
	bare.close()
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	var connecting := pc.create_data_channel("early")
	check_eq(expect_error(func() -> Error: return connecting.put_packet(PackedByteArray([1])), "not open"),
			ERR_UNCONFIGURED, "put_packet() while connecting")
	connecting.close()
	check_eq(connecting.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "closing a connecting channel")
	pc.close()


func test_create_data_channel_after_connecting_is_refused() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	await wait_until(func() -> bool:
		return pair.a.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED,
		"the connection")
	check(expect_error(func() -> Variant: return pair.a.create_data_channel("late"), "STATE_NEW") == null,
			"create_data_channel() when connected should return null")
	# A channel closed locally refuses packets, and the peer sees it close.
	pair.channel_a.close()
	check_eq(expect_error(func() -> Error: return pair.channel_a.put_packet(PackedByteArray([1])), "not open"),
			ERR_UNCONFIGURED, "put_packet() after close()")
	await wait_until(func() -> bool:
		return pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_CLOSED \
				and pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_CLOSED,
		"the channel to close on both sides")
