extends TestCase
## TURN: Debian's coturn on loopback with a user and password (turn_server.gd). With
## iceTransportPolicy "relay" a connection may only use relayed candidates; wrong credentials
## fail clearly.

func test_relay_only_connection_goes_through_coturn() -> void:
	var url: String = TurnServer.start(self)["url"]
	if url.is_empty():
		return
	# coturn takes a moment to listen: retry the whole connection until the deadline.
	var pair := make_pair(true, TurnServer.relay_config(url, TurnServer.PASSWORD))
	pair.channel_a = pair.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
	pair.channel_b = pair.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var opened := await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"the channel to open through the relay", 30.0)
	check(pair.candidates_a.size() > 0 and pair.candidates_b.size() > 0,
			"both sides gathered candidates (%s / %s)" % [pair.candidates_a, pair.candidates_b])
	for candidate in pair.candidates_a + pair.candidates_b:
		check(candidate.contains(" typ relay"), "only relayed candidates are offered: %s" % candidate)
	if not opened:
		return
	pair.channel_a.put_packet("via coturn".to_utf8_buffer())
	var got := await receive(pair.channel_b, 1, "a relayed packet")
	if got.size() == 1:
		check_eq(got[0][0].get_string_from_utf8(), "via coturn", "relayed packet")


func test_wrong_turn_credentials_fail_with_a_clear_error() -> void:
	var url: String = TurnServer.start(self)["url"]
	if url.is_empty():
		return
	var pair := make_pair(true, TurnServer.relay_config(url, "not-the-password"))
	pair.channel_a = pair.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
	pair.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
	errors.take()
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var logged := PackedStringArray()
	await wait_until(func() -> bool:
		logged.append_array(errors.take())
		return pair.a.get_connection_state() == WebRTCPeerConnection.STATE_FAILED,
		"the connection to fail", 20.0)
	check("".join(logged).contains("no TURN server granted an allocation"),
			"the error says why: %s" % logged)
	check_eq(pair.candidates_a, PackedStringArray(), "no candidates without a relay")
	check(pair.channel_a.get_ready_state() != WebRTCDataChannel.STATE_OPEN, "nothing opened")
	errors.take()
