extends TestCase
## The reliability suite (docs/reliability.md): random misuse, soak cycles, and processes
## quitting at random moments. Each test prints its figures.

const SEEDS := [11, 23, 37, 41, 59]
const CALLS_PER_SEED := 3000


## Random misuse, one process per seed (fuzz_peer.gd, its thousands of expected errors kept
## out of this log): every process finishes its calls and exits 0, no Rust panic reaches
## Godot, and the misuse is reported as errors.
func test_random_misuse_never_panics_or_hangs() -> void:
	var dir := OS.get_user_data_dir().path_join("fuzz-%d" % Time.get_ticks_usec())
	DirAccess.make_dir_recursive_absolute(dir)
	var started := Time.get_ticks_msec()
	var totals := {"calls": 0, "errors": 0, "connected": 0, "packets": 0}
	var project := ProjectSettings.globalize_path("res://")
	for seed: int in SEEDS:
		var result_file := dir.path_join("%d.json" % seed)
		var child: Dictionary = OS.execute_with_pipe(godot_command(), ["--headless", "--path", project,
				"-s", "res://fuzz_peer.gd", "--", str(seed), str(CALLS_PER_SEED), result_file], false)
		if not check(child.has("pid"), "could not start the fuzz process"):
			return
		track_process(child["pid"])
		var finished := await wait_until(func() -> bool:
			# Drain its output, or it blocks on a full pipe.
			child["stdio"].get_buffer(1 << 20)
			child["stderr"].get_buffer(1 << 20)
			return not OS.is_process_running(child["pid"]),
			"the seed-%d misuse process to finish" % seed, 120.0)
		if not finished:
			continue
		check_eq(OS.get_process_exit_code(child["pid"]), 0, "seed %d: exit code" % seed)
		var figures: Variant = JSON.parse_string(FileAccess.get_file_as_string(result_file))
		if not check(typeof(figures) == TYPE_DICTIONARY, "seed %d wrote no result" % seed):
			continue
		check(figures["panics"].is_empty(), "seed %d: panics reached Godot: %s" % [seed, figures["panics"]])
		check_eq(int(figures["calls"]), CALLS_PER_SEED, "seed %d: calls made" % seed)
		for key: String in totals:
			totals[key] += int(figures[key])
	print("    %d calls over %d seeds in %.1f s: %d errors reported, 0 panics, %d connections were up when the misuse began, %d packets delivered" % [
			totals["calls"], SEEDS.size(), (Time.get_ticks_msec() - started) / 1000.0,
			totals["errors"], totals["connected"], totals["packets"]])
	check(totals["errors"] > 1000, "misuse was reported as errors")
	check(totals["connected"] > 0, "the misuse met live connections")
	check(totals["packets"] > 0, "packets were delivered among the misuse")


const QUITTING_PROCESSES := 100
const AT_ONCE := 3


## Quitting at a random frame of a live connection, without closing anything: every one of
## QUITTING_PROCESSES processes (quit_peer.gd) exits 0, within a few seconds, printing no panic.
func test_quitting_at_a_random_moment_exits_cleanly() -> void:
	var project := ProjectSettings.globalize_path("res://")
	var started := Time.get_ticks_msec()
	var running: Array[Dictionary] = []
	var next_seed := 0
	var exit_codes := {}
	var slowest := 0
	while next_seed < QUITTING_PROCESSES or not running.is_empty():
		while running.size() < AT_ONCE and next_seed < QUITTING_PROCESSES:
			var child: Dictionary = OS.execute_with_pipe(godot_command(), ["--headless", "--path", project,
					"-s", "res://quit_peer.gd", "--", str(next_seed)], false)
			if not check(child.has("pid"), "could not start quit_peer.gd"):
				return
			track_process(child["pid"])
			child["seed"] = next_seed
			child["started"] = Time.get_ticks_msec()
			child["output"] = PackedStringArray()
			running.append(child)
			next_seed += 1
		for child in running.duplicate():
			child["output"].append(child["stdio"].get_buffer(1 << 16).get_string_from_utf8())
			child["output"].append(child["stderr"].get_buffer(1 << 16).get_string_from_utf8())
			var took: int = Time.get_ticks_msec() - child["started"]
			if OS.is_process_running(child["pid"]):
				if took > 20000:
					check(false, "seed %d: still running after 20 s" % child["seed"])
					kill_process(child["pid"])
					running.erase(child)
				continue
			running.erase(child)
			slowest = maxi(slowest, took)
			var code := OS.get_process_exit_code(child["pid"])
			exit_codes[code] = exit_codes.get(code, 0) + 1
			var output := "".join(child["output"])
			check_eq(code, 0, "seed %d: exit code (output: %s)" % [child["seed"], output.right(2000)])
			check(not output.to_lower().contains("panic"), "seed %d: a panic was printed: %s" % [child["seed"], output.right(2000)])
			check(output.contains("quit_peer: quitting"), "seed %d: it reached its quit (output: %s)" % [child["seed"], output.right(2000)])
		await tree.process_frame
	print("    %d processes quit at random moments in %.1f s: exit codes %s, slowest %.2f s from start to exit" % [
			QUITTING_PROCESSES, (Time.get_ticks_msec() - started) / 1000.0, exit_codes, slowest / 1000.0])


const SOAK_CYCLES := 200


## Soak: connect, exchange, then close or drop, SOAK_CYCLES times. Afterwards file
## descriptors and threads are back where they were after the first cycles, and RSS is
## within a few MB.
func test_soak_connect_exchange_close_or_drop() -> void:
	var rng := RandomNumberGenerator.new()
	rng.seed = 7
	var started := Time.get_ticks_msec()
	var baseline := {}
	var ways := {"closed": 0, "dropped": 0}
	for cycle in SOAK_CYCLES:
		var pair := make_pair()
		pair.channel_a = pair.a.create_data_channel("soak", {"negotiated": true, "id": 0})
		pair.channel_b = pair.b.create_data_channel("soak", {"negotiated": true, "id": 0})
		pair.a.create_offer()
		var opened := await wait_until(pair.channels_open, "cycle %d: the channel to open" % cycle)
		if not opened:
			return
		for i in 20:
			pair.channel_a.put_packet(PackedByteArray([i]))
		await receive(pair.channel_b, 20, "cycle %d" % cycle)
		_pairs.erase(pair)
		if rng.randf() < 0.5:
			pair.close()
			ways["closed"] += 1
		else:
			for pc: WebRTCPeerConnection in [pair.a, pair.b]:
				PeerPair.disconnect_handlers(pc)
			ways["dropped"] += 1
		pair = null
		if cycle == 19:
			# The runtime and allocator have warmed up: measure from here.
			baseline = await _settled_resources()
	var after := await _settled_resources()
	print("    %d cycles (%d closed, %d dropped) in %.1f s; after cycle 20: %s; at the end: %s" % [
			SOAK_CYCLES, ways["closed"], ways["dropped"], (Time.get_ticks_msec() - started) / 1000.0, baseline, after])
	check(after["fds"] <= baseline["fds"], "file descriptors back to %d (now %d)" % [baseline["fds"], after["fds"]])
	check(after["threads"] <= baseline["threads"], "threads back to %d (now %d)" % [baseline["threads"], after["threads"]])
	check(after["rss_mb"] - baseline["rss_mb"] < 8.0, "RSS within 8 MB of %.1f MB (now %.1f MB)" % [baseline["rss_mb"], after["rss_mb"]])


## Once every connection has finished closing (and the heap has been trimmed, 1 s later):
## open file descriptors, OS threads and RSS of this process.
func _settled_resources() -> Dictionary:
	var last := {}
	var steady := 0
	var deadline := Time.get_ticks_msec() + 10000
	while Time.get_ticks_msec() < deadline:
		var now := {"fds": DirAccess.get_files_at("/proc/self/fd").size(),
				"threads": DirAccess.get_directories_at("/proc/self/task").size()}
		steady = steady + 1 if now == last else 0
		last = now
		if steady >= 60:
			break
		await tree.process_frame
	var until := Time.get_ticks_msec() + 1500  # The runtime trims the heap 1 s after the last close.
	while Time.get_ticks_msec() < until:
		await tree.process_frame
	# /proc files report a size of 0, so read a line rather than the whole file.
	var statm := FileAccess.open("/proc/self/statm", FileAccess.READ).get_line().split(" ")
	last["rss_mb"] = snappedf(int(statm[1]) * 4096 / 1048576.0, 0.1)
	return last


## A peer killed mid-transfer, and a TURN server stopped under a relayed transfer: the
## connections that are left report DISCONNECTED within a few seconds and FAILED later
## (consent lost, as browsers do), and every channel ends CLOSED. Both run at once.
func test_a_peer_vanishing_and_a_turn_server_stopping_mid_transfer() -> void:
	# 1. A peer in another process, streaming to us, is killed.
	var url := start_signaling_server()
	var lobby := "vanish-%d" % randi()
	var streamer := OS.create_process(godot_command(), ["--headless", "--path",
			ProjectSettings.globalize_path("res://"), "-s", "res://shutdown_peer.gd", "--", url, lobby,
			"stream", OS.get_user_data_dir().path_join("vanish.json")])
	track_process(streamer)
	var receiver := make_lobby_peer(url, lobby, false)
	var channels: Array[WebRTCDataChannel] = []
	for id in [1, 2, 3]:  # What WebRTCMultiplayerPeer negotiates on the other side.
		channels.append(receiver.pc.create_data_channel("mp-%d" % id, {"negotiated": true, "id": id,
				"ordered": id != 3, "maxPacketLifetime": 1} if id > 1 else {"negotiated": true, "id": id}))
	# 2. Two connections of ours relayed through coturn, one streaming to the other.
	var turn := TurnServer.start(self)
	if turn["url"].is_empty():
		return
	var relayed := make_pair(true, TurnServer.relay_config(turn["url"], TurnServer.PASSWORD))
	relayed.channel_a = relayed.a.create_data_channel("bulk", {"negotiated": true, "id": 1})
	relayed.channel_b = relayed.b.create_data_channel("bulk", {"negotiated": true, "id": 1})
	relayed.a.create_offer()
	var received := {"streamed": 0, "relayed": 0}
	var chunk := PackedByteArray()
	chunk.resize(16384)
	var flowing := await wait_until(func() -> bool:
		while channels[0].get_available_packet_count() > 0:
			received["streamed"] += channels[0].get_packet().size()
		while relayed.channel_b.get_available_packet_count() > 0:
			received["relayed"] += relayed.channel_b.get_packet().size()
		if relayed.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
			while relayed.channel_a.get_buffered_amount() < 256 * 1024:
				relayed.channel_a.put_packet(chunk)
		return received["streamed"] > 100000 and received["relayed"] > 100000,
		"both transfers to flow", 30.0)
	if not flowing:
		print("    received (bytes): %s" % received)
		return
	kill_process(streamer)
	kill_process(turn["pid"])
	var killed_at := Time.get_ticks_msec()
	var seen := {}  # "who:state" -> ms after the kill, first time seen.
	var watched := {"peer": receiver.pc, "relay a": relayed.a, "relay b": relayed.b}
	var ended := await wait_until(func() -> bool:
		for who: String in watched:
			var key := "%s:%d" % [who, watched[who].get_connection_state()]
			if not seen.has(key):
				seen[key] = Time.get_ticks_msec() - killed_at
		return watched.keys().all(func(who: String) -> bool:
			return seen.has("%s:%d" % [who, WebRTCPeerConnection.STATE_FAILED])),
		"every connection left to report FAILED", 60.0)
	print("    after the kill (ms): %s; received before it: %s" % [seen, received])
	# A lost peer is a state, not an error: SCTP keeps retransmitting (rtc-sctp 0012) until
	# consent ends the connection, and nothing may blame SCTP or DTLS for it.
	for message in errors.take():
		check(false, "unexpected error after the kill: %s" % message)
	for who: String in watched:
		var disconnected := "%s:%d" % [who, WebRTCPeerConnection.STATE_DISCONNECTED]
		check(seen.has(disconnected) and seen[disconnected] < 10000, "%s reported DISCONNECTED within 10 s: %s" % [who, seen])
	if ended:
		for channel in channels + [relayed.channel_a, relayed.channel_b]:
			check_eq(channel.get_ready_state(), WebRTCDataChannel.STATE_CLOSED, "channel %s after FAILED" % channel.get_label())
