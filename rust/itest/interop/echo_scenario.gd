class_name EchoScenario
extends RefCounted
## The Godot side of the echo-peer contract (interop/README.md): given a LobbyPeer whose
## partner is an echo peer of another stack, checks that the three channels open, that the
## partner reports their options as created, and that text and binary messages come back
## byte-exact and as the same type. Failures go to the test case.

const NEGOTIATED := {"negotiated": true, "id": 5, "ordered": false, "maxPacketLifeTime": 500}
const UNORDERED := {"ordered": false, "maxRetransmits": 0, "protocol": "u-proto"}

var test: TestCase
var peer: LobbyPeer
## label → our channel
var channels := {}


## Creates our side's channels: all three when we offer, else just the negotiated one
## (the in-band ones arrive through data_channel_received).
func _init(test_case: TestCase, lobby_peer: LobbyPeer) -> void:
	test = test_case
	peer = lobby_peer
	channels["echo-negotiated"] = peer.pc.create_data_channel("echo-negotiated", NEGOTIATED)
	if peer.offerer:
		channels["echo-reliable"] = peer.pc.create_data_channel("echo-reliable")
		channels["echo-unordered"] = peer.pc.create_data_channel("echo-unordered", UNORDERED)
	else:
		peer.pc.data_channel_received.connect(func(channel: WebRTCDataChannel) -> void:
			channels[channel.get_label()] = channel)


func run() -> void:
	var opened := await test.wait_until(func() -> bool:
		if channels.size() < 3:
			return false
		for channel: WebRTCDataChannel in channels.values():
			if channel.get_ready_state() != WebRTCDataChannel.STATE_OPEN:
				return false
		return true,
		"all three echo channels to open", 30.0)
	if not opened:
		test.check(false, "channels: %s; lobby errors: %s" % [channels.keys(), peer.errors])
		return
	for label: String in channels:
		await _check_channel(label, channels[label])


func _check_channel(label: String, channel: WebRTCDataChannel) -> void:
	# The partner's hello, sent the moment the channel opened on its side, must arrive: a
	# negotiated channel's first message from an SCTP-server partner, and an unordered
	# in-band one's, used to be lost now and then (webrtc-rs 0.21.1; fixed in the patch
	# series).
	var hello := await test.receive(channel, 1, "the partner's hello on %s" % label)
	if hello.size() != 1:
		return
	test.check_eq(hello[0][1], true, "%s: hello is text" % label)
	var text: String = hello[0][0].get_string_from_utf8()
	test.check(text.begins_with("hello "), "%s: hello message: %s" % [label, text])
	var view: Variant = JSON.parse_string(text.trim_prefix("hello "))
	if test.check(typeof(view) == TYPE_DICTIONARY, "%s: hello carries JSON: %s" % [label, text]):
		_check_view(label, view, channel)
	await _check_echoes(label, channel)


func _check_echoes(label: String, channel: WebRTCDataChannel) -> void:
	# Messages to echo: text (NUL, unicode), binary of every byte value, and a big binary.
	var every_byte := PackedByteArray()
	for i in 256:
		every_byte.append(i)
	var big := PackedByteArray()
	big.resize(60000)
	for i in big.size():
		big[i] = (i * 31 + 7) % 256
	# (A NUL cannot be written in a GDScript string literal: Godot turns it into U+FFFD.)
	var with_nul := "nul".to_utf8_buffer()
	with_nul.append(0)
	with_nul.append_array("inside and ünïcødé ✓".to_utf8_buffer())
	var messages := [
		["text", "plain text".to_utf8_buffer()],
		["text", with_nul],
		["binary", every_byte],
		["binary", big],
	]
	var reliable := label != "echo-unordered" and label != "echo-negotiated"
	for message: Array in messages:
		channel.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT if message[0] == "text" else WebRTCDataChannel.WRITE_MODE_BINARY
		test.check_eq(channel.put_packet(message[1]), OK, "%s: put_packet(%s)" % [label, message[0]])
	# Loopback does not lose packets, so even the partially reliable channels echo everything.
	var echoes := await test.receive(channel, messages.size(), "echoes on %s" % label)
	if echoes.size() != messages.size():
		return
	for i in messages.size():
		var expected: Array = messages[i]
		var got: Array = echoes[i] if reliable else _find(echoes, expected[1])
		if not test.check(got.size() == 2, "%s: echo of message %d missing" % [label, i]):
			continue
		test.check(got[0] == expected[1], "%s: echo of %s message %d differs (%d bytes back)" % [label, expected[0], i, got[0].size()])
		test.check_eq(got[1], expected[0] == "text", "%s: echo of message %d kept its type" % [label, i])


func _find(echoes: Array, data: PackedByteArray) -> Array:
	for echo: Array in echoes:
		if echo[0] == data:
			return echo
	return []


## The partner's view of the channel must match how it was created; ours too.
func _check_view(label: String, view: Dictionary, channel: WebRTCDataChannel) -> void:
	test.check_eq(view.get("label"), label, "%s: partner's label" % label)
	match label:
		"echo-reliable":
			test.check_eq(view.get("ordered"), true, "%s: partner's ordered" % label)
			test.check_eq(view.get("maxRetransmits"), null, "%s: partner's maxRetransmits" % label)
		"echo-unordered":
			test.check_eq(view.get("ordered"), false, "%s: partner's ordered" % label)
			test.check_eq(view.get("protocol"), "u-proto", "%s: partner's protocol" % label)
			test.check_eq(channel.get_protocol(), "u-proto", "%s: our protocol" % label)
			test.check_eq(channel.is_ordered(), false, "%s: our ordered" % label)
			# Both the creating and the accepting side report the limit (an accepting
			# webrtc-rs 0.21.1 reported it unset: fixed in the patch series).
			test.check_eq(view.get("maxRetransmits"), 0.0, "%s: partner's maxRetransmits" % label)
			test.check_eq(channel.get_max_retransmits(), 0, "%s: our maxRetransmits" % label)
		"echo-negotiated":
			test.check_eq(view.get("negotiated"), true, "%s: partner's negotiated" % label)
			test.check_eq(view.get("id"), 5.0, "%s: partner's id" % label)
			test.check_eq(view.get("ordered"), false, "%s: partner's ordered" % label)
			test.check_eq(view.get("maxPacketLifeTime"), 500.0, "%s: partner's maxPacketLifeTime" % label)
			test.check_eq(channel.get_id(), 5, "%s: our id" % label)
			test.check_eq(channel.get_max_packet_life_time(), 500, "%s: our maxPacketLifeTime" % label)
	if label != "echo-negotiated":
		test.check_eq(view.get("negotiated"), false, "%s: partner's negotiated" % label)
		test.check_eq(float(channel.get_id()), view.get("id"), "%s: both sides agree on the id" % label)
