extends TestCase
## Two peers connect through the relay; channels open; states step through the lifecycle.


func test_in_band_channel_opens_on_both_sides() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	check_eq(pair.channel_b.get_label(), "chat", "received channel label")
	check_eq(pair.channel_b.is_negotiated(), false, "received channel negotiated")
	check(pair.channel_a.get_id() != 65535, "creator learnt the stream id")
	check_eq(pair.channel_b.get_id(), pair.channel_a.get_id(), "both sides agree on the id")
	check_eq(pair.relay_errors, PackedStringArray(), "relay errors")
	await wait_until(func() -> bool:
		return pair.a.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED \
				and pair.b.get_connection_state() == WebRTCPeerConnection.STATE_CONNECTED,
			"both connections CONNECTED")
	# Seen once per poll(): a connection that comes up between two polls goes from NEW
	# straight to CONNECTED; it never goes backwards or anywhere else.
	var forward := [[WebRTCPeerConnection.STATE_NEW, WebRTCPeerConnection.STATE_CONNECTING,
			WebRTCPeerConnection.STATE_CONNECTED], [WebRTCPeerConnection.STATE_NEW,
			WebRTCPeerConnection.STATE_CONNECTED]]
	check(pair.states_a in forward, "offerer's state sequence: %s" % [pair.states_a])
	check(pair.states_b in forward, "answerer's state sequence: %s" % [pair.states_b])
	check_eq(pair.a.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE, "offerer signaling")
	check_eq(pair.b.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE, "answerer signaling")
	await wait_until(func() -> bool:
		return pair.a.get_gathering_state() == WebRTCPeerConnection.GATHERING_STATE_COMPLETE,
			"gathering to complete")
