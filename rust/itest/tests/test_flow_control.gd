extends TestCase
## Flow control end to end (docs/reliability.md "Flow control"): a game that stops reading costs bounded
## memory and loses nothing on reliable channels; the sender slows down instead.

const CHUNK := 16384


func _pair_with(options: Dictionary, config := LOOPBACK) -> PeerPair:
	var pair := make_pair(true, config)
	pair.channel_a = pair.a.create_data_channel("flow", options)
	pair.channel_b = pair.b.create_data_channel("flow", options)
	pair.a.create_offer()
	var opened := await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"the channel to open")
	return pair if opened else null


func _rss_mb() -> float:
	# /proc files report a size of 0, so read a line rather than the whole file.
	var statm := FileAccess.open("/proc/self/statm", FileAccess.READ).get_line().split(" ")
	return int(statm[1]) * 4096 / 1048576.0


func test_an_unpolled_receiver_holds_the_sender_back_and_loses_nothing() -> void:
	var pair := await _pair_with({"negotiated": true, "id": 0})
	if pair == null:
		return
	_pairs.erase(pair)  # Polled by hand: the receiver must not be.
	var rss_before := _rss_mb()
	var sent := 0
	var packet := PackedByteArray()
	packet.resize(CHUNK)
	var until := Time.get_ticks_msec() + 3000
	var peak := 0.0
	while Time.get_ticks_msec() < until:
		pair.a.poll()
		# Sending as fast as the channel takes it, pacing on the buffered amount (at most
		# 8 MiB per frame).
		for i in 512:
			if pair.channel_a.get_buffered_amount() >= 1 << 20:
				break
			packet.encode_u32(0, sent)
			pair.channel_a.put_packet(packet)
			sent += 1
		peak = maxf(peak, _rss_mb())
		await tree.process_frame
	var growth := peak - rss_before
	print("    3 s with the receiver not polled: %d packets of 16 KiB taken from the game (%.1f MiB), RSS +%.1f MB, sender still has %d bytes buffered" % [
			sent, sent * CHUNK / 1048576.0, growth, pair.channel_a.get_buffered_amount()])
	check(growth < 32.0, "RSS grew %.1f MB while the receiver did not poll (bound: 32)" % growth)
	check(pair.channel_a.get_buffered_amount() > 0, "the sender was held back")
	# Reading resumes: everything arrives, in order.
	var got := {"count": 0, "out_of_order": 0}  # Lambdas capture locals by value; dictionaries are shared.
	var done := await wait_until(func() -> bool:
		pair.a.poll()
		pair.b.poll()
		while pair.channel_b.get_available_packet_count() > 0:
			if pair.channel_b.get_packet().decode_u32(0) != got["count"]:
				got["out_of_order"] += 1
			got["count"] += 1
		return got["count"] >= sent,
		"all %d packets after the receiver resumed (has %d)" % [sent, got["count"]], 30.0)
	check_eq(got["out_of_order"], 0, "packets out of order")
	check_eq(got["count"], sent, "packets received")
	pair.close()
	if done:
		print("    then all %d arrived in order" % sent)


func test_an_unread_unreliable_channel_keeps_the_newest() -> void:
	var config := {"webrtc_rs": {"interfaces": ["lo"], "receive_buffer": 65536}}
	var pair := await _pair_with({"negotiated": true, "id": 0, "ordered": true, "maxRetransmits": 0}, config)
	if pair == null:
		return
	var packet := PackedByteArray()
	packet.resize(1024)
	# Ten a frame, as a game sends state; polled but not read, the channel keeps the newest
	# 64 KiB. (Only a game that does not even poll, while more than twice its limit arrives,
	# has newcomers dropped instead: memory stays bounded either way.)
	for i in 200:
		packet.encode_u32(0, i)
		pair.channel_a.put_packet(packet)
		if i % 10 == 9:
			pair.poll()
			await tree.process_frame
	var stats := {}
	await wait_until(func() -> bool:
		stats = pair.b.call("get_stats")["data_channels"][0]
		return stats["messages_received"] == 200,
		"the 200 messages to arrive")
	var got: Array[int] = []
	while pair.channel_b.get_available_packet_count() > 0:
		got.append(pair.channel_b.get_packet().decode_u32(0))
	stats = pair.b.call("get_stats")["data_channels"][0]
	print("    200 x 1 KiB into a 64 KiB unreliable channel nobody read: kept %d (%d..%d), dropped %d" % [
			got.size(), got.front(), got.back(), stats["messages_dropped"]])
	check_eq(got.back(), 199, "the newest message is kept")
	check(got.size() <= 64 and got.size() >= 60, "about 64 KiB kept (%d messages)" % got.size())
	check_eq(stats["messages_dropped"], 200 - got.size(), "drops counted in get_stats()")
	check_eq(got, range(200 - got.size(), 200), "what is kept is the newest, in order")


func test_receive_buffer_option_is_checked() -> void:
	var pc := WebRTCPeerConnection.new()
	check_eq(expect_error(func() -> Error: return pc.initialize({"webrtc_rs": {"receive_buffer": 100}}),
			"webrtc_rs.receive_buffer"), ERR_INVALID_PARAMETER, "a receive buffer below one message")
	check_eq(pc.initialize({"webrtc_rs": {"interfaces": ["lo"], "receive_buffer": 1 << 20}}), OK, "1 MiB")
	pc.close()
