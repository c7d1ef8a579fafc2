extends SceneTree
## Run by test_lossy_links.gd and the benchmark inside a network namespace of their own whose
## loopback drops a share of all UDP packets: connects two peer connections in this process
## `runs` times, each time sends `bytes` over a negotiated reliable channel in messages of up to
## 16 KiB and checks they arrive whole and in order, having first (if `unreliable` > 0) sent that
## many 64-byte messages, one per millisecond, over an unordered `maxRetransmits: 0` channel and
## counted what arrived; writes what it saw as JSON to `result`.
## Arguments: -- <result.json> <runs> <bytes> [unreliable]

const MESSAGE := 16384
const OPEN_DEADLINE_MS := 30000
const TRANSFER_DEADLINE_MS := 60000
## How long the last unreliable message may take to arrive before the count is final.
const UNRELIABLE_GRACE_MS := 1000

var unreliable := 0


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	var args := OS.get_cmdline_user_args()
	unreliable = int(args[3]) if args.size() > 3 else 0
	var runs: Array = []
	for i in int(args[1]):
		runs.append(await _one(int(args[2])))
	# Written whole, then renamed: the test reads the file as soon as it exists.
	var file := FileAccess.open(args[0] + ".part", FileAccess.WRITE)
	file.store_string(JSON.stringify({"runs": runs}))
	file.close()
	DirAccess.rename_absolute(args[0] + ".part", args[0])
	quit()


## One connection: milliseconds from `create_offer()` to both channels open (-1: not within
## the deadline), then the transfer's duration and whether every byte arrived in order. A
## connection that fails first is given up at once: when (`failed_ms`), and the states of both
## sides and both channels.
func _one(payload: int) -> Dictionary:
	var pair := PeerPair.new(TestCase.LOOPBACK, true)
	pair.channel_a = pair.a.create_data_channel("bulk", {"negotiated": true, "id": 1})
	pair.channel_b = pair.b.create_data_channel("bulk", {"negotiated": true, "id": 1})
	var lossy_a: WebRTCDataChannel
	var lossy_b: WebRTCDataChannel
	if unreliable > 0:
		var options := {"negotiated": true, "id": 2, "ordered": false, "maxRetransmits": 0}
		lossy_a = pair.a.create_data_channel("lossy", options)
		lossy_b = pair.b.create_data_channel("lossy", options)
	var started := Time.get_ticks_msec()
	pair.a.create_offer()
	var result := {"open_ms": -1, "transfer_ms": -1, "received": 0, "in_order": true}
	while not pair.channels_open():
		var failed := WebRTCPeerConnection.STATE_FAILED in [pair.a.get_connection_state(), pair.b.get_connection_state()]
		if failed or Time.get_ticks_msec() - started > OPEN_DEADLINE_MS:
			if failed:
				result["failed_ms"] = Time.get_ticks_msec() - started
			result["states"] = [pair.states_a, pair.states_b]
			result["channel_states"] = [pair.channel_a.get_ready_state(), pair.channel_b.get_ready_state()]
			pair.close()
			return result
		pair.poll()
		await process_frame
	result["open_ms"] = Time.get_ticks_msec() - started
	if unreliable > 0:
		# Before the bulk transfer: behind a reliable backlog at 30 % loss, unreliable messages
		# wait for room in the association's congestion window, which that backlog fills (in one
		# measurement none of 1000 sent after a minute of unfinished transfer arrived).
		result.merge(await _unreliable(pair, lossy_a, lossy_b))
	started = Time.get_ticks_msec()
	var size := mini(MESSAGE, payload)
	var sent := 0
	var received := 0
	while received < payload and Time.get_ticks_msec() - started < TRANSFER_DEADLINE_MS:
		while sent < payload and pair.channel_a.get_buffered_amount() < 1 << 20:
			var message := PackedByteArray()
			message.resize(size)
			message.fill(sent / size % 251)
			pair.channel_a.put_packet(message)
			sent += size
		pair.poll()
		while pair.channel_b.get_available_packet_count() > 0:
			var message := pair.channel_b.get_packet()
			var expected := received / size % 251
			if message.size() != size or message[0] != expected or message[-1] != expected:
				result["in_order"] = false
			received += message.size()
		await process_frame
	result["received"] = received
	if received >= payload:
		result["transfer_ms"] = Time.get_ticks_msec() - started
	# Consent checks that gave up on a lossy but live path.
	result["disconnected"] = [pair.states_a, pair.states_b].any(func(states: Array[int]) -> bool:
		return WebRTCPeerConnection.STATE_DISCONNECTED in states or WebRTCPeerConnection.STATE_FAILED in states)
	pair.close()
	return result


## Sends `unreliable` 64-byte messages, one per millisecond, and reports how many arrived and
## the longest time without an arrival while messages were being sent, in milliseconds.
func _unreliable(pair: PeerPair, from: WebRTCDataChannel, to: WebRTCDataChannel) -> Dictionary:
	var message := PackedByteArray()
	message.resize(64)
	var started := Time.get_ticks_usec()
	var last := started
	var longest := 0
	var sent := 0
	var delivered := 0
	var last_sent := started
	while Time.get_ticks_usec() - started < (unreliable + UNRELIABLE_GRACE_MS) * 1000:
		while sent < unreliable and Time.get_ticks_usec() - started >= sent * 1000:
			message.encode_u32(0, sent)
			from.put_packet(message)
			sent += 1
			last_sent = Time.get_ticks_usec()
		pair.poll()
		while to.get_available_packet_count() > 0:
			to.get_packet()
			delivered += 1
			var now := Time.get_ticks_usec()
			longest = maxi(longest, now - last)
			last = now
		if delivered == unreliable:
			break
		OS.delay_usec(200)
	# Messages sent after the last arrival that never came: a wait until the last send.
	longest = maxi(longest, last_sent - last)
	return {"unreliable_sent": sent, "unreliable_delivered": delivered, "unreliable_longest_gap_ms": longest / 1000.0}
