extends SceneTree
## Run by test_lossy_links.gd inside a network namespace of its own whose loopback drops a
## share of all UDP packets: connects two peer connections in this process `runs` times, each
## time sends `bytes` over a negotiated reliable channel in messages of up to 16 KiB and checks they
## arrive whole and in order, and writes what it saw as JSON to `result`.
## Arguments: -- <result.json> <runs> <bytes>

const MESSAGE := 16384
const OPEN_DEADLINE_MS := 30000
const TRANSFER_DEADLINE_MS := 60000


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	var args := OS.get_cmdline_user_args()
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
	pair.close()
	return result
