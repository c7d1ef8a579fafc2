extends TestCase
## Packets round-trip byte-exact, text and binary, in order, at every size up to the limit.


func test_text_with_nul_bytes_is_not_truncated() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	var text := PackedByteArray([104, 105, 0, 116, 104, 101, 114, 101, 0])  # "hi\0there\0"
	pair.channel_a.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT
	check_eq(pair.channel_a.put_packet(text), OK, "put_packet(text with NUL)")
	var unicode := "grüße, 世界".to_utf8_buffer()
	check_eq(pair.channel_a.put_packet(unicode), OK, "put_packet(unicode text)")
	var got := await receive(pair.channel_b, 2, "text packets")
	if got.size() == 2:
		check_eq(got[0][0], text, "text packet with NUL bytes")
		check_eq(got[0][1], true, "was_string_packet for text")
		check_eq(got[1][0], unicode, "unicode text packet")


func test_binary_packets_are_byte_exact_both_ways() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	var every_byte := PackedByteArray()
	for i in 256:
		every_byte.append(i)
	pair.channel_a.write_mode = WebRTCDataChannel.WRITE_MODE_BINARY
	check_eq(pair.channel_a.put_packet(every_byte), OK, "put_packet(binary)")
	check_eq(pair.channel_b.put_packet(every_byte), OK, "put_packet(binary, answerer)")
	var got_b := await receive(pair.channel_b, 1, "binary at the answerer")
	var got_a := await receive(pair.channel_a, 1, "binary at the offerer")
	if got_b.size() == 1 and got_a.size() == 1:
		check_eq(got_b[0][0], every_byte, "binary packet a->b")
		check_eq(got_b[0][1], false, "was_string_packet for binary")
		check_eq(got_a[0][0], every_byte, "binary packet b->a")


func test_empty_packets_are_accepted() -> void:
	# Godot's PacketPeer.put_packet() returns OK for an empty buffer without calling the
	# extension (so nothing is sent); the backend test covers 0-byte messages arriving from
	# other stacks, which get_packet() hands out as empty packets.
	var pair := await connected_pair()
	if pair == null:
		return
	pair.channel_a.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT
	check_eq(pair.channel_a.put_packet(PackedByteArray()), OK, "empty text packet")
	pair.channel_a.write_mode = WebRTCDataChannel.WRITE_MODE_BINARY
	check_eq(pair.channel_a.put_packet(PackedByteArray()), OK, "empty binary packet")
	check_eq(pair.channel_a.put_packet(PackedByteArray([7])), OK, "marker packet")
	var got := await receive(pair.channel_b, 1, "the marker")
	if got.size() == 1:
		check_eq(got[0], [PackedByteArray([7]), false], "first packet to arrive")


func test_max_size_packets_round_trip_and_bigger_ones_are_refused() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	# The documented limit (PacketPeer does not expose get_max_packet_size to scripts).
	var limit := 65536
	var biggest := PackedByteArray()
	biggest.resize(limit)
	for i in limit:
		biggest[i] = (i * 7 + 3) % 251
	check_eq(pair.channel_a.put_packet(biggest), OK, "put_packet(max size)")
	var too_big := PackedByteArray()
	too_big.resize(limit + 1)
	var result: Error = expect_error(func() -> Error: return pair.channel_a.put_packet(too_big),
			"exceeds the maximum packet size")
	check_eq(result, ERR_INVALID_PARAMETER, "put_packet(max size + 1)")
	var got := await receive(pair.channel_b, 1, "the max-size packet")
	if got.size() == 1:
		check_eq(got[0][0].size(), limit, "max-size packet length")
		check(got[0][0] == biggest, "max-size packet content differs")
	check_eq(pair.channel_b.get_available_packet_count(), 0, "nothing else arrived")


func test_thousand_ordered_messages_arrive_in_order() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	for i in 1000:
		var packet := PackedByteArray()
		packet.resize(4)
		packet.encode_u32(0, i)
		if pair.channel_a.put_packet(packet) != OK:
			check(false, "put_packet %d failed" % i)
			return
	var got := await receive(pair.channel_b, 1000, "1000 ordered messages")
	var in_order := got.size() == 1000
	for i in got.size():
		if got[i][0].decode_u32(0) != i:
			in_order = false
			check(false, "message %d arrived as %d" % [i, got[i][0].decode_u32(0)])
			break
	check(in_order, "1000 messages in order")
	await wait_until(func() -> bool: return pair.channel_a.get_buffered_amount() == 0,
			"the buffered amount to drain to 0")


func test_invalid_utf8_in_text_mode_is_refused() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	pair.channel_a.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT
	var result: Error = expect_error(
			func() -> Error: return pair.channel_a.put_packet(PackedByteArray([0xff, 0xfe])),
			"valid UTF-8")
	check_eq(result, ERR_INVALID_PARAMETER, "put_packet(invalid UTF-8 as text)")


func test_get_packet_with_nothing_queued_reports_unavailable() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	check_eq(pair.channel_b.get_available_packet_count(), 0, "available packets")
	var packet := pair.channel_b.get_packet()
	check_eq(packet, PackedByteArray(), "empty get_packet()")
	check_eq(pair.channel_b.get_packet_error(), ERR_UNAVAILABLE, "get_packet_error()")


func test_var_round_trip_through_packet_peer_api() -> void:
	var pair := await connected_pair()
	if pair == null:
		return
	var value := {"pos": Vector2(1.5, -2), "name": "p1", "items": [1, 2, 3]}
	check_eq(pair.channel_a.put_var(value), OK, "put_var")
	await wait_until(func() -> bool: return pair.channel_b.get_available_packet_count() == 1,
			"the var packet")
	check_eq(pair.channel_b.get_var(), value, "get_var()")
