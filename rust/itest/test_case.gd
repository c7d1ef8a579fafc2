class_name TestCase
extends RefCounted
## Base of every test file: assertions that record failures (and keep going), and waits
## that poll a condition every frame until a deadline, failing with a message.

const DEFAULT_TIMEOUT := 15.0
## Every connection a test makes stays on loopback, whatever the environment says.
const LOOPBACK := {"webrtc_rs": {"interfaces": ["lo"]}}

var tree: SceneTree
var errors: Logger
var failures: PackedStringArray = []
var _pairs: Array[PeerPair] = []


func check(condition: bool, message: String) -> bool:
	if not condition:
		failures.append(message)
	return condition


func check_eq(actual: Variant, expected: Variant, what: String) -> bool:
	return check(typeof(actual) == typeof(expected) and actual == expected,
			"%s: expected %s, got %s" % [what, var_to_str(expected), var_to_str(actual)])


## Runs `action` and checks that it reported an error containing `fragment`; returns what
## the action returned.
func expect_error(action: Callable, fragment: String) -> Variant:
	errors.take()
	var result: Variant = action.call()
	var logged: PackedStringArray = errors.take()
	var found := false
	for message in logged:
		if message.contains(fragment):
			found = true
	check(found, "expected an error mentioning '%s', got %s" % [fragment, logged])
	return result


## Polls every pair of this test each frame until `condition` holds or `timeout` seconds pass.
func wait_until(condition: Callable, what: String, timeout := DEFAULT_TIMEOUT) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout * 1000.0)
	while true:
		for pair in _pairs:
			pair.poll()
		if condition.call():
			return true
		if Time.get_ticks_msec() > deadline:
			failures.append("timed out after %.1fs waiting for %s" % [timeout, what])
			return false
		await tree.process_frame
	return false


func make_pair(auto_relay := true, config := LOOPBACK) -> PeerPair:
	var pair := PeerPair.new(config, auto_relay)
	_pairs.append(pair)
	return pair


## A pair connected through an in-band channel "chat" (or the given options); returns the
## pair with `channel_a` / `channel_b` set, or null after recording a failure.
func connected_pair(options := {}) -> PeerPair:
	var pair := make_pair()
	pair.channel_a = pair.a.create_data_channel("chat", options)
	if not check(pair.channel_a != null, "create_data_channel returned null"):
		return null
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var opened := await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.received_b.size() == 1 \
				and pair.received_b[0].get_ready_state() == WebRTCDataChannel.STATE_OPEN,
			"the in-band channel to open on both sides")
	if not opened:
		return null
	pair.channel_b = pair.received_b[0]
	return pair


## Receives `count` packets on `channel`, polling the pairs; returns them in arrival order
## as [bytes, was_string] entries.
func receive(channel: WebRTCDataChannel, count: int, what: String) -> Array:
	var got: Array = []
	await wait_until(func() -> bool:
		while channel.get_available_packet_count() > 0:
			var packet := channel.get_packet()
			got.append([packet, channel.was_string_packet()])
		return got.size() >= count,
		"%d packets (%s)" % [count, what])
	return got


func cleanup() -> void:
	for pair in _pairs:
		pair.close()
	_pairs.clear()
