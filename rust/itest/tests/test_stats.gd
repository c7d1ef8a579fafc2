extends TestCase
## get_stats(): the statistics only this implementation exposes.


func test_new_connection_reports_zeroes() -> void:
	var pc := WebRTCPeerConnection.new()
	var stats: Dictionary = pc.call("get_stats")
	check_eq(stats.get("bytes_sent"), 0, "bytes_sent before anything happened")
	check_eq(stats.get("round_trip_time_ms"), -1.0, "no round trip measured yet")
	check_eq(stats.get("candidate_pair"), {}, "no candidate pair yet")
	check_eq(stats.get("data_channels"), [], "no channels")
	var channel := pc.create_data_channel("early")
	stats = pc.call("get_stats")
	check_eq(stats["data_channels"].size(), 1, "a created channel is listed before it opens")
	check_eq(stats["data_channels"][0]["state"], WebRTCDataChannel.STATE_CONNECTING, "its state")
	check_eq(stats["data_channels"][0]["label"], "early", "its label")
	channel.close()
	pc.close()
	stats = pc.call("get_stats")
	check_eq(stats.get("data_channels"), [], "a closed connection lists no channels")


func test_traffic_path_and_channel_counts() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	var payload := PackedByteArray()
	payload.resize(1000)
	for i in 20:
		check_eq(pair.channel_a.put_packet(payload), OK, "put_packet %d" % i)
	pair.channel_b.put_packet("pong".to_utf8_buffer())
	await receive(pair.channel_b, 20, "twenty packets")
	await receive(pair.channel_a, 1, "the reply")
	# Message counts are taken when the packet is handed to SCTP, which may lag put_packet.
	await wait_until(func() -> bool:
		var channels: Array = pair.a.call("get_stats")["data_channels"]
		return channels.size() == 1 and channels[0]["messages_sent"] == 20,
		"the sender's counters to reach 20 messages")
	var a: Dictionary = pair.a.call("get_stats")
	var b: Dictionary = pair.b.call("get_stats")
	for side: Dictionary in [a, b]:
		check(side["bytes_sent"] > 0 and side["bytes_received"] > 0, "bytes both ways: %s" % side)
		check(side["packets_sent"] > 0 and side["packets_received"] > 0, "packets both ways")
		var path: Dictionary = side["candidate_pair"]
		check_eq(path.get("local_type"), "host", "loopback path is host to host")
		check(path.get("remote_type") in ["host", "prflx"], "remote type: %s" % path)
		check(str(path.get("local_address")).contains("127.0.0.1") or str(path.get("local_address")).contains("::1"),
				"local address on loopback: %s" % path)
		check_eq(path.get("protocol"), "udp", "protocol")
	check(a["bytes_sent"] >= 20 * 1000, "the sender's transport carried the 20 kB: %d" % a["bytes_sent"])
	var sent: Dictionary = a["data_channels"][0]
	check_eq(sent["label"], "chat", "channel label")
	check_eq(sent["id"], pair.channel_a.get_id(), "channel id")
	check_eq(sent["state"], WebRTCDataChannel.STATE_OPEN, "channel state")
	check_eq(sent["bytes_sent"], 20000, "bytes sent on the channel")
	check_eq(sent["messages_received"], 1, "messages received on the channel")
	check_eq(sent["bytes_received"], 4, "bytes received on the channel")
	var got: Dictionary = b["data_channels"][0]
	check_eq(got["messages_received"], 20, "the receiver counted 20 messages")
	check_eq(got["bytes_received"], 20000, "and 20000 bytes")
	check_eq(got["messages_sent"], 1, "the receiver sent one")
	# The round trip comes from ICE's connectivity checks, which keep running.
	await wait_until(func() -> bool:
		pair.poll()
		return pair.a.call("get_stats")["round_trip_time_ms"] >= 0.0,
		"a measured round-trip time")
	var rtt: float = pair.a.call("get_stats")["round_trip_time_ms"]
	check(rtt >= 0.0 and rtt < 1000.0, "loopback round trip is under a second: %f" % rtt)


func test_buffered_amount_is_reported_per_channel() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	var payload := PackedByteArray()
	payload.resize(60000)
	for i in 50:
		pair.channel_a.put_packet(payload)
	var stats: Dictionary = pair.a.call("get_stats")
	check(stats["data_channels"][0]["buffered_amount"] > 0, "3 MB just queued shows as buffered")
	await receive(pair.channel_b, 50, "the 3 MB")
	await wait_until(func() -> bool:
		return pair.a.call("get_stats")["data_channels"][0]["buffered_amount"] == 0,
		"the buffer to drain once acknowledged")
