extends TestCase
## Channel options: what each side reports, for negotiated and in-band channels.


func _negotiated_pair(options_list: Array) -> Array:
	var pair := make_pair()
	var channels_a: Array[WebRTCDataChannel] = []
	var channels_b: Array[WebRTCDataChannel] = []
	for options: Dictionary in options_list:
		channels_a.append(pair.a.create_data_channel("n%d" % options["id"], options))
		channels_b.append(pair.b.create_data_channel("n%d" % options["id"], options))
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	await wait_until(func() -> bool:
		for channel in channels_a + channels_b:
			if channel.get_ready_state() != WebRTCDataChannel.STATE_OPEN:
				return false
		return true,
		"every negotiated channel to open on both sides")
	return [pair, channels_a, channels_b]


func test_negotiated_channels_report_their_options_on_both_sides() -> void:
	var options_list := [
		{"negotiated": true, "id": 4, "ordered": false, "maxRetransmits": 0},
		{"negotiated": true, "id": 5, "ordered": true, "maxPacketLifeTime": 100, "protocol": "game-v1"},
		# The spelling WebRTCMultiplayerPeer uses.
		{"negotiated": true, "id": 6, "ordered": false, "maxPacketLifetime": 1},
		{"negotiated": true, "id": 7},
	]
	var result := await _negotiated_pair(options_list)
	for side: Array[WebRTCDataChannel] in [result[1], result[2]]:
		var unordered := side[0]
		check_eq(unordered.get_id(), 4, "id")
		check_eq(unordered.is_negotiated(), true, "negotiated")
		check_eq(unordered.is_ordered(), false, "unordered")
		check_eq(unordered.get_max_retransmits(), 0, "maxRetransmits")
		check_eq(unordered.get_max_packet_life_time(), 65535, "unset maxPacketLifeTime")
		var timed := side[1]
		check_eq(timed.get_id(), 5, "id")
		check_eq(timed.is_ordered(), true, "ordered")
		check_eq(timed.get_max_packet_life_time(), 100, "maxPacketLifeTime")
		check_eq(timed.get_max_retransmits(), 65535, "unset maxRetransmits")
		check_eq(timed.get_protocol(), "game-v1", "protocol")
		var godot_spelling := side[2]
		check_eq(godot_spelling.get_max_packet_life_time(), 1, "maxPacketLifetime spelling")
		check_eq(godot_spelling.is_ordered(), false, "unordered")
		var reliable := side[3]
		check_eq(reliable.is_ordered(), true, "default ordered")
		check_eq(reliable.get_max_retransmits(), 65535, "default maxRetransmits")
		check_eq(reliable.get_protocol(), "", "default protocol")
	# Data flows on every one of them.
	var channels_a: Array[WebRTCDataChannel] = result[1]
	var channels_b: Array[WebRTCDataChannel] = result[2]
	for i in channels_a.size():
		channels_a[i].put_packet(PackedByteArray([i]))
	for i in channels_b.size():
		var got := await receive(channels_b[i], 1, "a packet on %s" % channels_b[i].get_label())
		if got.size() == 1:
			check_eq(got[0][0], PackedByteArray([i]), "packet on %s" % channels_b[i].get_label())


func test_in_band_channel_options() -> void:
	var options := {"ordered": false, "maxRetransmits": 2, "protocol": "chat-v2"}
	var pair := await connected_pair(options)
	if pair == null:
		return
	check_eq(pair.channel_a.is_ordered(), false, "creator: ordered")
	check_eq(pair.channel_a.get_max_retransmits(), 2, "creator: maxRetransmits")
	check_eq(pair.channel_a.get_protocol(), "chat-v2", "creator: protocol")
	check_eq(pair.channel_a.is_negotiated(), false, "creator: negotiated")
	check_eq(pair.channel_b.get_protocol(), "chat-v2", "receiver: protocol")
	check_eq(pair.channel_b.is_negotiated(), false, "receiver: negotiated")
	check_eq(pair.channel_b.is_ordered(), false, "receiver: ordered")
	# The side that accepts an in-band channel takes the reliability of the peer's
	# DATA_CHANNEL_OPEN (webrtc-rs 0.21.1 dropped it and sent reliably: fixed by our patch
	# series, patches/webrtc-rs/rtc-0.21.1).
	check_eq(pair.channel_b.get_max_retransmits(), 2, "receiver: maxRetransmits")
	check_eq(pair.channel_b.get_max_packet_life_time(), 65535, "receiver: maxPacketLifeTime (unset)")


func test_in_band_id_is_unset_until_open() -> void:
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	var channel := pc.create_data_channel("later")
	check_eq(channel.get_id(), 65535, "id before the connection is established")
	check_eq(channel.get_max_retransmits(), 65535, "maxRetransmits when unset")
	check_eq(channel.get_max_packet_life_time(), 65535, "maxPacketLifeTime when unset")
	check_eq(channel.is_ordered(), true, "ordered by default")
	check_eq(channel.get_write_mode(), WebRTCDataChannel.WRITE_MODE_BINARY, "default write mode")
	check_eq(channel.get_buffered_amount(), 0, "buffered amount")
	pc.close()
	check_eq(channel.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "closed with its connection")


func test_a_negotiated_id_is_used_once_per_connection() -> void:
	# Browsers refuse a second channel on an id in use (OperationError); accepting it would
	# route the peer's messages to the newer object and starve the one the game reads.
	var pair := make_pair()
	var first := pair.a.create_data_channel("chat", {"negotiated": true, "id": 1})
	var twin := pair.b.create_data_channel("chat", {"negotiated": true, "id": 1})
	var again: Variant = expect_error(func() -> Variant:
		return pair.a.create_data_channel("chat", {"negotiated": true, "id": 1}), "id 1 is already used")
	check(again == null, "a second channel with id 1 is refused")
	for bad: Dictionary in [{"negotiated": true, "id": 65535}, {"negotiated": true, "id": 65536},
			{"negotiated": true, "id": -1}]:
		var refused: Variant = expect_error(func() -> Variant: return pair.a.create_data_channel("x", bad), "'id'")
		check(refused == null, "create_data_channel(%s) is refused" % var_to_str(bad))
	# The first channel keeps working.
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var opened := await wait_until(func() -> bool:
		return first.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and twin.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"the id-1 channel to open on both sides")
	if opened:
		twin.put_packet("to the first".to_utf8_buffer())
		var got := await receive(first, 1, "the peer's message on id 1")
		if got.size() == 1:
			check_eq(got[0][0].get_string_from_utf8(), "to the first", "message on the first channel")


func test_in_band_and_negotiated_ids_never_collide() -> void:
	# webrtc-rs assigns in-band ids once the DTLS role is known (even for the client, odd for
	# the server) and must skip the ids negotiated channels hold, whichever was created first.
	for in_band_first: bool in [true, false]:
		var pair := make_pair()
		var in_band: WebRTCDataChannel
		if in_band_first:
			in_band = pair.a.create_data_channel("in-band")
		var negotiated_a: Array[WebRTCDataChannel] = []
		var negotiated_b: Array[WebRTCDataChannel] = []
		for id in [0, 1]:
			negotiated_a.append(pair.a.create_data_channel("n%d" % id, {"negotiated": true, "id": id}))
			negotiated_b.append(pair.b.create_data_channel("n%d" % id, {"negotiated": true, "id": id}))
		if not in_band_first:
			in_band = pair.a.create_data_channel("in-band")
		check_eq(pair.a.create_offer(), OK, "create_offer()")
		var opened := await wait_until(func() -> bool:
			for channel in negotiated_a + negotiated_b + [in_band]:
				if channel.get_ready_state() != WebRTCDataChannel.STATE_OPEN:
					return false
			return pair.received_b.size() == 1 \
					and pair.received_b[0].get_ready_state() == WebRTCDataChannel.STATE_OPEN,
			"every channel to open (in-band created %s)" % ("first" if in_band_first else "last"))
		if not opened:
			continue
		var remote_in_band := pair.received_b[0]
		check(in_band.get_id() not in [0, 1], "in-band id %d differs from the negotiated ones" % in_band.get_id())
		check_eq(remote_in_band.get_id(), in_band.get_id(), "both sides agree on the in-band id")
		# Each message reaches the channel it was sent on.
		in_band.put_packet(PackedByteArray([100]))
		for i in 2:
			negotiated_a[i].put_packet(PackedByteArray([i]))
		var got := await receive(remote_in_band, 1, "the in-band message")
		if got.size() == 1:
			check_eq(got[0][0], PackedByteArray([100]), "in-band message")
		for i in 2:
			var on_negotiated := await receive(negotiated_b[i], 1, "the message on id %d" % i)
			if on_negotiated.size() == 1:
				check_eq(on_negotiated[0][0], PackedByteArray([i]), "message on id %d" % i)
		pair.close()
