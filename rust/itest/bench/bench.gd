extends SceneTree
## The benchmark: this addon side by side with Godot's ENet, on loopback.
##   godot --headless --path rust/itest -s res://bench/bench.gd -- [quick] [runs=N] [out=FILE]
##       [only=throughput,latency,latency_in_process,setup,main_thread,flow,bursts,footprint,scale,star,lossy,lobby]
##       [star_clients=N] (the star section's clients, default 32)
##       [lobby_pairs=N,M] (the lobby section's pairs per run, default 1000; see _lobby)
##       [lobby_processes=N] (the lobby load client's processes, default 1)
## Throughput and latency run between two Godot processes (bench_peer.gd); setup, main-thread
## cost and footprint are measured in this process. Every figure is the median of `runs`
## runs. Prints a table and writes JSON (default: bench-results.json in the current folder).

const Proc := preload("res://bench/proc.gd")
const MIB := 1 << 20

var options := {"runs": "3", "out": "bench-results.json"}
var results := {}
var _pairs: Array[PeerPair] = []


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		var parts := arg.split("=", true, 1)
		options[parts[0]] = parts[1] if parts.size() > 1 else "1"
	_run.call_deferred()


func _run() -> void:
	var quick := options.has("quick")
	var runs := int(options["runs"])
	var header := {
		"godot": Engine.get_version_info()["string"],
		"addon_build": "release" if OS.has_feature("template_release") or not OS.is_debug_build() else "debug (Godot editor binary; addon built with .ci/build_addon.sh release)",
		"cores": OS.get_processor_count(),
		"cpu": OS.get_processor_name(),
		"runs": runs,
		"quick": quick,
	}
	results["header"] = header
	print("webrtc_rs benchmark — Godot %s, %d cores (%s), median of %d runs%s" % [header["godot"],
			header["cores"], header["cpu"], runs, " (quick)" if quick else ""])
	var bulk := 32 * MIB if quick else 256 * MIB
	# 64-byte messages: 16 MiB (262 144 of them, under a second) rather than 4 MiB, whose
	# ~0.2 s transfers were mostly ramp-up and scheduling noise (±15 % between identical runs).
	var sizes := [[16384, bulk], [1024, bulk / 8], [64, bulk / 16]]
	if _wants("throughput"):
		for entry: Array in sizes:
			await _paired("reliable/%d" % entry[0], runs,
					["size=%d" % entry[0], "total=%d" % entry[1], "channel=reliable"])
		await _paired("unreliable/1024", runs, ["size=1024", "total=%d" % (bulk / 16), "channel=unreliable"])
	if _wants("latency"):
		for transport in ["webrtc", "enet"]:
			for fps in [0, 60]:
				await _median("latency/%s/64B/%dfps" % [transport, fps], runs, func() -> Dictionary:
					return await _two_process(transport, "ping", "pong",
							["count=%d" % (300 if fps == 60 else 2000), "fps=%d" % fps]))
	# Footprint first among the in-process sections, so its "before" is this process untouched.
	if _wants("footprint"):
		results["footprint"] = await _footprint()
	if _wants("latency") or _wants("latency_in_process"):
		await _median("latency/webrtc/64B/in_process", runs, _in_process_rtt)
	if _wants("setup"):
		await _median("setup/1", runs, func() -> Dictionary: return await _setup(1))
		await _median("setup/16", runs, func() -> Dictionary: return await _setup(16))
	if _wants("main_thread"):
		await _median("main_thread/8x3", runs, _main_thread_cost)
	if _wants("flow"):
		await _median("flow/unpolled_receiver", runs, _unpolled_receiver)
	if _wants("bursts"):
		for count in [8192, 81920]:
			await _bursts(count, 50)
	if _wants("scale"):
		results["scale/mesh16"] = await _scale(16)
	if _wants("star"):
		await _star_section(int(options.get("star_clients", "32")), runs)
	if _wants("lobby"):
		for pairs in str(options.get("lobby_pairs", "1000")).split(",", false):
			await _lobby_section(int(pairs), runs)
	if _wants("lossy"):
		for loss in [10, 30]:
			results["lossy/%d" % loss] = _lossy(loss, maxi(runs, 5))
	_print_table()
	var file := FileAccess.open(options["out"], FileAccess.WRITE)
	file.store_string(JSON.stringify(results, "  "))
	file.close()
	print("\nwritten: %s" % ProjectSettings.globalize_path(options["out"]) if options["out"].begins_with("res://") else "\nwritten: %s" % options["out"])
	quit(0)


## Whether a section runs: all of them, or those named by `only=a,b`.
func _wants(section: String) -> bool:
	return not options.has("only") or section in str(options["only"]).split(",")


## Runs `measure` `runs` times and keeps, for every figure, the median as `key` and the
## extremes as `key_min` / `key_max`; `runs` says how many runs succeeded.
func _median(name: String, runs: int, measure: Callable) -> void:
	var samples: Array[Dictionary] = []
	for i in runs:
		var figures: Dictionary = await measure.call()
		if figures.is_empty():
			print("  %s: run %d failed" % [name, i + 1])
			continue
		samples.append(figures)
	_summarize(name, runs, samples)


## Runs `measure` (a transport name -> figures, {} if the run failed) for this addon and for
## ENet, `runs` times, which goes first alternating, so both see the same moment of a shared
## machine. Appends each transport's figures to `samples[transport]`, says which runs failed
## (`label` % transport names them), and returns each round's {transport: figures}.
func _alternating(runs: int, label: String, measure: Callable, samples: Dictionary) -> Array[Dictionary]:
	var pairs: Array[Dictionary] = []
	for i in runs:
		var order := ["webrtc", "enet"] if i % 2 == 0 else ["enet", "webrtc"]
		var pair := {}
		for transport: String in order:
			var figures: Dictionary = await measure.call(transport)
			if figures.is_empty():
				print("  %s: run %d failed" % [label % transport, i + 1])
				continue
			samples[transport].append(figures)
			pair[transport] = figures
		pairs.append(pair)
	return pairs


## One throughput transfer with this addon, then the same with ENet, `runs` times (which goes
## first alternates), so both see the same moment of a shared machine. Keeps each transport's
## figures as `_median` does, and as "throughput/ratio/<name>" the spread of each pair's
## ratio (ours / ENet's, in bytes/s): its minimum is our worst run against ENet at the time.
func _paired(name: String, runs: int, extra: Array) -> void:
	var samples := {"webrtc": [] as Array[Dictionary], "enet": [] as Array[Dictionary]}
	var ratios := []
	var measure := func(transport: String) -> Dictionary:
		return await _two_process(transport, "send", "receive", extra)
	for pair: Dictionary in await _alternating(runs, "throughput/%s/" + name, measure, samples):
		if pair.size() == 2 and pair["enet"].get("mb_per_s", 0.0) > 0.0:
			ratios.append(pair["webrtc"]["mb_per_s"] / pair["enet"]["mb_per_s"])
	for transport: String in samples:
		_summarize("throughput/%s/%s" % [transport, name], runs, samples[transport])
	if ratios.is_empty():
		return
	var ratio := {"runs": ratios.size()}
	_put_spread(ratio, "ratio", ratios)
	results["throughput/ratio/" + name] = ratio
	print("  %-40s %s" % ["throughput/ratio/" + name, JSON.stringify(ratio)])


## Stores, under `name`, the median and extremes of every number in `samples` (the
## successful ones of `runs` runs).
func _summarize(name: String, runs: int, samples: Array[Dictionary]) -> void:
	if samples.is_empty():
		results[name] = {"failed": true, "runs": 0}
		return
	var median := {"runs": samples.size(), "failed_runs": runs - samples.size()}
	for key in samples[0]:
		var values := samples.map(func(s: Dictionary) -> Variant: return s.get(key))
		if typeof(values[0]) in [TYPE_INT, TYPE_FLOAT]:
			_put_spread(median, key, values)
		else:
			median[key] = values[0]
	results[name] = median
	print("  %-40s %s" % [name, JSON.stringify(median)])


## Puts the median of the numbers `values` (if any) into `out` as `key`, the extremes as
## `key_min` / `key_max`.
static func _put_spread(out: Dictionary, key: String, values: Array) -> void:
	if values.is_empty():
		return
	values.sort()
	out[key] = values[values.size() / 2]
	out[key + "_min"] = values[0]
	out[key + "_max"] = values[-1]


## "median (min–max)" of `key` in a result of `_median`.
static func _spread(result: Dictionary, key: String, format := "%.1f") -> String:
	if not result.has(key):
		return "-"
	return (format + " (" + format + "–" + format + ")") % [result[key], result.get(key + "_min", result[key]), result.get(key + "_max", result[key])]


## Starts the two bench_peer processes and returns the measuring side's figures.
func _two_process(transport: String, first_role: String, second_role: String, extra: Array) -> Dictionary:
	var tag := "%d" % Time.get_ticks_usec()
	var result := OS.get_user_data_dir().path_join("bench-%s.json" % tag)
	var common := ["transport=" + transport, "result=" + result] + extra
	var pids: Array[int] = []
	if transport == "webrtc":
		var port := TestCase.server_port()
		pids.append(OS.create_process(TestCase.godot_command(), ["--headless", "--path",
				TestCase.demo_project_path(), "--", "--server", "--port", str(port)]))
		common += ["url=ws://127.0.0.1:%d" % port, "lobby=bench" + tag]
	else:
		common += ["port=%d" % TestCase.server_port()]
	var script := ["--headless", "--path", ProjectSettings.globalize_path("res://"), "-s", "res://bench/bench_peer.gd", "--"]
	# The measuring side starts first (ENet's server side must be listening).
	pids.append(OS.create_process(TestCase.godot_command(), script + ["role=" + second_role] + common))
	pids.append(OS.create_process(TestCase.godot_command(), script + ["role=" + first_role] + common))
	var deadline := Time.get_ticks_msec() + 240000
	while not FileAccess.file_exists(result) and Time.get_ticks_msec() < deadline:
		await process_frame
	await process_frame
	for pid in pids:
		if OS.is_process_running(pid):
			OS.kill(pid)
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(result)) if FileAccess.file_exists(result) else null
	DirAccess.remove_absolute(result)
	return parsed if typeof(parsed) == TYPE_DICTIONARY else {}


## 64-byte ping-pong between two connections of this process, polling both in a busy loop:
## the stack's own round trip (threads, queues, SCTP, DTLS, UDP on loopback) without the
## frame loop and the scheduling of two busy processes that the two-process figures include.
func _in_process_rtt() -> Dictionary:
	var pair := await _open_pair()
	var payload := PackedByteArray()
	payload.resize(64)
	var rtts: Array[float] = []
	for i in 1000:
		var start := Time.get_ticks_usec()
		pair.channel_a.put_packet(payload)
		var answered := false
		while Time.get_ticks_usec() - start < 1000000:
			pair.b.poll()
			if pair.channel_b.get_available_packet_count() > 0:
				pair.channel_b.put_packet(pair.channel_b.get_packet())
			pair.a.poll()
			if pair.channel_a.get_available_packet_count() > 0:
				pair.channel_a.get_packet()
				answered = true
				break
		if not answered:
			break
		rtts.append((Time.get_ticks_usec() - start) / 1000.0)
	pair.close()
	if rtts.size() < 1000:
		return {}
	rtts.sort()
	return {"median_ms": rtts[rtts.size() / 2], "p99_ms": rtts[int(rtts.size() * 0.99)]}


## Offer → channel open on both sides, for `count` connections at once (in-process signaling).
func _setup(count: int) -> Dictionary:
	var pairs: Array[PeerPair] = []
	var start := Time.get_ticks_usec()
	for i in count:
		var pair := PeerPair.new(TestCase.LOOPBACK, true)
		pair.channel_a = pair.a.create_data_channel("x", {"negotiated": true, "id": 1})
		pair.channel_b = pair.b.create_data_channel("x", {"negotiated": true, "id": 1})
		pair.a.create_offer()
		pairs.append(pair)
	var open_at: Array[float] = []
	var deadline := Time.get_ticks_msec() + 30000
	while open_at.size() < count and Time.get_ticks_msec() < deadline:
		for pair in pairs:
			pair.poll()
		open_at.clear()
		for pair in pairs:
			if pair.channels_open():
				open_at.append(0.0)
		if open_at.size() < count:
			await process_frame
	var took := (Time.get_ticks_usec() - start) / 1000.0
	for pair in pairs:
		pair.close()
	if open_at.size() < count:
		return {}
	return {"all_open_ms": took}


## poll() cost for 8 connections × 3 channels, idle and with 100 messages/s per channel,
## and put_packet() cost per message.
func _main_thread_cost() -> Dictionary:
	var pairs: Array[PeerPair] = []
	var channels: Array[WebRTCDataChannel] = []
	var receivers: Array[WebRTCDataChannel] = []
	for i in 8:
		var pair := PeerPair.new(TestCase.LOOPBACK, true)
		for id in 3:
			channels.append(pair.a.create_data_channel("c%d" % id, {"negotiated": true, "id": id + 1}))
			receivers.append(pair.b.create_data_channel("c%d" % id, {"negotiated": true, "id": id + 1}))
		pair.a.create_offer()
		pairs.append(pair)
	var deadline := Time.get_ticks_msec() + 30000
	while Time.get_ticks_msec() < deadline and not channels.all(func(c: WebRTCDataChannel) -> bool: return c.get_ready_state() == WebRTCDataChannel.STATE_OPEN) \
			or not receivers.all(func(c: WebRTCDataChannel) -> bool: return c.get_ready_state() == WebRTCDataChannel.STATE_OPEN):
		for pair in pairs:
			pair.poll()
		await process_frame
	# Idle: the 8 receiving connections' poll() per frame.
	var idle := await _poll_cost(pairs, [], receivers, 300)
	# Busy: each sending channel 100 messages/s (at 60 frames/s, ~1.7 per frame).
	var busy := await _poll_cost(pairs, channels, receivers, 300)
	var payload := PackedByteArray()
	payload.resize(64)
	var t := Time.get_ticks_usec()
	for i in 10000:
		channels[i % channels.size()].put_packet(payload)
	var put_us := (Time.get_ticks_usec() - t) / 10000.0
	for pair in pairs:
		pair.close()
	return {"poll_idle_us_per_frame": idle, "poll_busy_us_per_frame": busy, "put_packet_us": put_us}


func _poll_cost(pairs: Array[PeerPair], senders: Array[WebRTCDataChannel], receivers: Array[WebRTCDataChannel],
		frames: int) -> float:
	var payload := PackedByteArray()
	payload.resize(64)
	var total := 0
	var credit := 0.0
	for frame in frames:
		credit += 100.0 / 60.0
		while credit >= 1.0:
			credit -= 1.0
			for channel in senders:
				channel.put_packet(payload)
		for pair in pairs:
			pair.a.poll()
		# Timed: the receiving connections' poll(), which delivers what arrived.
		var t := Time.get_ticks_usec()
		for pair in pairs:
			pair.b.poll()
		total += Time.get_ticks_usec() - t
		for channel in receivers:
			while channel.get_available_packet_count() > 0:
				channel.get_packet()
		await process_frame
	return float(total) / frames


## Two connections of this process with a reliable channel, both polled until it is open.
func _open_pair(options := {"negotiated": true, "id": 1}) -> PeerPair:
	var pair := PeerPair.new(TestCase.LOOPBACK, true)
	pair.channel_a = pair.a.create_data_channel("x", options)
	pair.channel_b = pair.b.create_data_channel("x", options)
	pair.a.create_offer()
	var deadline := Time.get_ticks_msec() + 10000
	while Time.get_ticks_msec() < deadline and not pair.channels_open():
		pair.poll()
		await process_frame
	return pair


## A game that stops polling (a loading screen) while its peer sends reliably as fast as it
## may (pacing on get_buffered_amount() < 1 MiB) for 10 s: how much this process grows, and
## how long it then takes to receive everything, in order, once it polls again.
func _unpolled_receiver() -> Dictionary:
	var pair := await _open_pair()
	var packet := PackedByteArray()
	packet.resize(16384)
	var before: float = Proc.memory()["rss_mb"]
	var peak: float = before
	var sent := 0
	var until := Time.get_ticks_msec() + 10000
	while Time.get_ticks_msec() < until:
		pair.a.poll()
		for i in 512:
			if pair.channel_a.get_buffered_amount() >= MIB:
				break
			packet.encode_u32(0, sent)
			pair.channel_a.put_packet(packet)
			sent += 1
		peak = maxf(peak, Proc.memory()["rss_mb"])
		await process_frame
	var start := Time.get_ticks_msec()
	var received := 0
	var in_order := true
	while received < sent and Time.get_ticks_msec() - start < 60000:
		pair.a.poll()
		pair.b.poll()
		while pair.channel_b.get_available_packet_count() > 0:
			in_order = in_order and pair.channel_b.get_packet().decode_u32(0) == received
			received += 1
		await process_frame
	var drain_ms := Time.get_ticks_msec() - start
	pair.close()
	if received != sent or not in_order:
		print("  flow: %d of %d received, in order: %s" % [received, sent, in_order])
		return {}
	return {"rss_growth_mb": peak - before, "sent_mib": sent * 16384.0 / MIB, "drain_ms": drain_ms}


## `runs` bursts of `count` × 64-byte reliable messages handed over in one frame, received
## with the receiver polled in a busy loop: total time and the longest gap between two
## arrivals (webrtc-rs 0.21.1 stalled 160–900 ms in such bursts).
func _bursts(count: int, runs: int) -> void:
	var pair := await _open_pair()
	var packet := PackedByteArray()
	packet.resize(64)
	var samples: Array[Dictionary] = []
	for run in runs:
		for i in count:
			packet.encode_u32(0, i)
			pair.channel_a.put_packet(packet)
		var start := Time.get_ticks_usec()
		var last := start
		var longest := 0
		var received := 0
		while received < count and Time.get_ticks_usec() - start < 30000000:
			pair.a.poll()
			pair.b.poll()
			var got := pair.channel_b.get_available_packet_count()
			if got > 0:
				var now := Time.get_ticks_usec()
				longest = maxi(longest, now - last)
				last = now
				for i in got:
					pair.channel_b.get_packet()
				received += got
			OS.delay_usec(200)
		if received < count:
			print("  bursts/%d: run %d received %d" % [count, run + 1, received])
			break
		samples.append({"total_ms": (Time.get_ticks_usec() - start) / 1000.0, "longest_gap_ms": longest / 1000.0})
	pair.close()
	var out := {"runs": samples.size(), "stalled_runs": samples.filter(func(s: Dictionary) -> bool: return s["longest_gap_ms"] >= 100.0).size()}
	for key in ["total_ms", "longest_gap_ms"]:
		_put_spread(out, key, samples.map(func(s: Dictionary) -> float: return s[key]))
	results["bursts/%d" % count] = out
	print("  %-40s %s" % ["bursts/%d" % count, JSON.stringify(out)])


## `runs` connections in lossy_peer.gd, in a network namespace of its own whose loopback drops
## `loss` % of all UDP packets (nftables, as test_lossy_links.gd): setup, 1 MiB reliable, and
## 1000 unreliable 64-byte messages at one per millisecond. Needs WEBRTC_RS_NFT (.ci/bench).
func _lossy(loss: int, runs: int) -> Dictionary:
	if OS.get_environment("WEBRTC_RS_NFT").is_empty() or OS.execute("unshare", ["--net", "--", "true"]) != 0:
		print("  lossy/%d: skipped (needs WEBRTC_RS_NFT and `unshare --net`)" % loss)
		return {}
	var result := OS.get_user_data_dir().path_join("bench-lossy-%d.json" % loss)
	var log := result.get_basename() + ".log"
	DirAccess.remove_absolute(result)
	var pid := TestCase.start_lossy_peer(TestCase.loss_rule(loss), log,
			[result, str(runs), str(MIB), "1000"])
	while pid > 0 and OS.is_process_running(pid) and not FileAccess.file_exists(result):
		OS.delay_msec(100)
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(result)) if FileAccess.file_exists(result) else null
	DirAccess.remove_absolute(result)
	if typeof(parsed) != TYPE_DICTIONARY:
		var lines := FileAccess.get_file_as_string(log).split("\n")
		print("  lossy/%d: lossy_peer.gd wrote no results; the last lines of %s:\n    %s" % [loss, log, "\n    ".join(lines.slice(-15))])
		return {}
	DirAccess.remove_absolute(log)
	var samples: Array = parsed["runs"]
	var out := {"runs": samples.size(),
			"not_open": samples.filter(func(r: Dictionary) -> bool: return r["open_ms"] < 0).size(),
			"not_delivered": samples.filter(func(r: Dictionary) -> bool: return r["transfer_ms"] < 0).size(),
			"disconnected": samples.filter(func(r: Dictionary) -> bool: return r.get("disconnected", false)).size()}
	for key in ["open_ms", "transfer_ms", "unreliable_delivered", "unreliable_longest_gap_ms"]:
		# -1: not within the deadline (counted above); absent: the channels never opened.
		_put_spread(out, key, samples.filter(func(r: Dictionary) -> bool: return r.get(key, -1) >= 0) \
				.map(func(r: Dictionary) -> float: return r[key]))
	print("  %-40s %s" % ["lossy/%d" % loss, JSON.stringify(out)])
	return out


func _footprint() -> Dictionary:
	var out := {"before": Proc.memory()}
	var held: Array[PeerPair] = []
	for target in [1, 16, 64]:
		while held.size() * 2 < target:
			var pair := PeerPair.new(TestCase.LOOPBACK, true)
			pair.channel_a = pair.a.create_data_channel("x", {"negotiated": true, "id": 1})
			pair.channel_b = pair.b.create_data_channel("x", {"negotiated": true, "id": 1})
			pair.a.create_offer()
			held.append(pair)
		var deadline := Time.get_ticks_msec() + 60000
		while Time.get_ticks_msec() < deadline and not held.all(func(p: PeerPair) -> bool: return p.channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN):
			for pair in held:
				pair.poll()
			await process_frame
		out["connections_%d" % (held.size() * 2)] = Proc.memory()
	for pair in held:
		pair.close()
	held.clear()
	var settle := Time.get_ticks_msec() + 3000
	while Time.get_ticks_msec() < settle:
		await process_frame
	out["after_closing"] = Proc.memory()
	print("  footprint %s" % JSON.stringify(out))
	return out


## A `peers`-player mesh of demo_project bot clients, one Godot process each (plus the lobby
## server), capped at 60 frames/s and exchanging positions at 20 Hz and chat at 2 Hz through
## WebRTCMultiplayerPeer. Every second each process's CPU time is read from /proc; a
## process's figure is the median of its per-second CPU use over its life, which is robust to
## its start and wrap-up.
func _scale(peers: int) -> Dictionary:
	var port := TestCase.server_port()
	var dir := OS.get_user_data_dir().path_join("scale-%d" % port)
	DirAccess.make_dir_recursive_absolute(dir)
	var base := ["--headless", "--max-fps", "60", "--path", TestCase.demo_project_path(), "--"]
	var server := OS.create_process(TestCase.godot_command(), base + ["--server", "--port", str(port)])
	var clients: Array[int] = []
	for i in peers:
		clients.append(OS.create_process(TestCase.godot_command(), base + ["--client", "--bot",
				"--url", "ws://127.0.0.1:%d" % port, "--lobby", "scale", "--peers", str(peers),
				"--duration", "10", "--timeout", "90", "--interfaces", "lo",
				"--summary-file", dir.path_join("client-%d.json" % i)]))
	var usage := {}  # pid -> Array of per-second CPU percentages
	var last := {}  # pid -> CPU ticks at the previous sample
	var rss := {}  # pid -> largest resident size seen, MB
	var deadline := Time.get_ticks_msec() + 120000
	var next_sample := 0
	while clients.any(func(pid: int) -> bool: return OS.is_process_running(pid)) and Time.get_ticks_msec() < deadline:
		if Time.get_ticks_msec() >= next_sample:
			next_sample = Time.get_ticks_msec() + 1000
			for pid: int in clients + [server]:
				var ticks := Proc.cpu_ticks(str(pid))
				if ticks < 0:
					continue
				if last.has(pid):
					usage.get_or_add(pid, []).append(float(ticks - last[pid]))  # ticks of 10 ms per s = %
				last[pid] = ticks
				rss[pid] = maxf(rss.get(pid, 0.0), Proc.memory(str(pid)).get("rss_mb", 0.0))
		await process_frame
	for pid: int in clients + [server]:
		if OS.is_process_running(pid):
			OS.kill(pid)
	var ok := 0
	for i in peers:
		var summary: Variant = JSON.parse_string(FileAccess.get_file_as_string(dir.path_join("client-%d.json" % i)))
		if typeof(summary) == TYPE_DICTIONARY and summary.get("ok", false):
			ok += 1
	var per_client: Array[float] = []
	for pid in clients:
		var samples: Array = usage.get(pid, [])
		if not samples.is_empty():
			samples.sort()
			per_client.append(samples[samples.size() / 2])
	per_client.sort()
	var client_rss: Array = clients.map(func(pid: int) -> float: return rss.get(pid, 0.0))
	client_rss.sort()
	var server_samples: Array = usage.get(server, [0.0])
	server_samples.sort()
	var out := {
		"layout": "%d client processes (one peer each, mesh mode) + 1 lobby server process" % peers,
		"clients_ok": ok,
		"clients": peers,
		"client_cpu_percent_median": per_client[per_client.size() / 2] if not per_client.is_empty() else -1.0,
		"client_cpu_percent_max": per_client.back() if not per_client.is_empty() else -1.0,
		"client_rss_mb_median": client_rss[client_rss.size() / 2],
		"server_cpu_percent": server_samples[server_samples.size() / 2],
	}
	print("  scale %s" % JSON.stringify(out))
	return out


## The star workload (star_peer.gd, star_node.gd): a server-mode host process and `clients`
## client processes, capped at 60 frames/s, over this addon's WebRTCMultiplayerPeer and then
## over Godot's ENetMultiplayerPeer, `runs` times (which goes first alternates, so both see
## the same moment of a shared machine). Keeps each transport's figures as `_median` does
## under "star/webrtc" and "star/enet", every run's per-client RTTs under
## "star/<transport>/runs", and as "star/host_cpu_ratio" the spread of each pair's ratio of
## host CPU over the window (ours / ENet's): its maximum is our worst run against ENet at the
## time.
func _star_section(clients: int, runs: int) -> void:
	var samples := {"webrtc": [] as Array[Dictionary], "enet": [] as Array[Dictionary]}
	var ratios := []
	var measure := func(transport: String) -> Dictionary:
		return await _star(transport, clients)
	for pair: Dictionary in await _alternating(runs, "star/%s", measure, samples):
		# From the CPU time over the whole window: the per-second figures come in whole
		# ticks (1 %), too coarse for a ratio of figures around 10 %.
		if pair.size() == 2 and pair["enet"]["host_cpu_percent_window"] > 0.0:
			ratios.append(pair["webrtc"]["host_cpu_percent_window"] / pair["enet"]["host_cpu_percent_window"])
	for transport: String in samples:
		var per_client: Array = samples[transport].map(func(s: Dictionary) -> Array: return s["per_client"])
		for figures: Dictionary in samples[transport]:
			figures.erase("per_client")
		_summarize("star/" + transport, runs, samples[transport])
		results["star/%s/runs" % transport] = per_client
	if not ratios.is_empty():
		var ratio := {"runs": ratios.size()}
		_put_spread(ratio, "ratio", ratios)
		results["star/host_cpu_ratio"] = ratio
		print("  %-40s %s" % ["star/host_cpu_ratio", JSON.stringify(ratio)])


## One run of the star workload over `transport` (see star_node.gd): starts the host, waits
## until it is ready (for WebRTC: joined the lobby as peer 1), starts the clients, and samples
## once a second, while the host's measured window lasts, the CPU time of the host and of the
## clients (/proc ticks) and the machine's (/proc/stat). The host's CPU figure is the median
## of its per-second samples, as the `scale` section's; the host also reports its CPU time
## over the whole window and its peak RSS (VmHWM) itself. Returns {} if the host never measured;
## otherwise figures that count the clients that did not connect or report rather than
## leaving them out. Every process it started is killed before it returns.
func _star(transport: String, clients: int) -> Dictionary:
	var port := TestCase.server_port()
	var dir := OS.get_user_data_dir().path_join("star-%s-%d" % [transport, port])
	DirAccess.make_dir_recursive_absolute(dir)
	_remove_files(dir)
	var script := ["--headless", "--max-fps", "60", "--path", ProjectSettings.globalize_path("res://"),
			"-s", "res://bench/star_peer.gd", "--", "transport=" + transport, "dir=" + dir,
			"clients=%d" % clients]
	var pids: Array[int] = []
	if transport == "webrtc":
		# The lobby takes the host and `clients` (16 by default); its other limits are the defaults.
		pids.append(OS.create_process(TestCase.godot_command(), TestCase.lobby_server_args(port,
				["--max-peers-per-lobby", str(clients + 1)])))
		script += ["url=ws://127.0.0.1:%d" % port, "lobby=star"]
	else:
		script += ["port=%d" % port]
	var host := OS.create_process(TestCase.godot_command(), script + ["role=host"])
	pids.append(host)
	var figures := {}
	if await _wait_for_file(dir.path_join("host-ready"), 30000):
		var client_pids: Array[int] = []
		for i in clients:
			client_pids.append(OS.create_process(TestCase.godot_command(), script + ["role=client", "index=%d" % i]))
		pids.append_array(client_pids)
		figures = await _star_measure(dir, host, client_pids)
	else:
		print("  star/%s: the host was not ready in 30 s" % transport)
	for pid in pids:
		if OS.is_process_running(pid):
			OS.kill(pid)
	_remove_files(dir)
	DirAccess.remove_absolute(dir)
	return figures


## Removes the files in `dir` (the sections' scratch folders hold no subfolders).
static func _remove_files(dir: String) -> void:
	for file in DirAccess.get_files_at(dir):
		DirAccess.remove_absolute(dir.path_join(file))


## Whether `path` appears within `timeout_ms`.
func _wait_for_file(path: String, timeout_ms: int) -> bool:
	var deadline := Time.get_ticks_msec() + timeout_ms
	while not FileAccess.file_exists(path) and Time.get_ticks_msec() < deadline:
		await process_frame
	return FileAccess.file_exists(path)


## The sampling and the collection of one star run (see `_star`).
func _star_measure(dir: String, host: int, client_pids: Array[int]) -> Dictionary:
	var host_usage: Array[float] = []  # per-second CPU %, during the host's measured window
	var client_usage := {}  # pid -> Array of per-second CPU %
	var last := {}  # pid -> ticks at the previous sample
	var machine_last := _machine_ticks()
	var machine_busy: Array[float] = []
	var host_rss := 0.0
	# The host waits up to 120 s for every client (star_peer.gd's connect_timeout), then 2 s
	# of warm-up and 10 s measured; a margin on top.
	var deadline := Time.get_ticks_msec() + 180000
	var next_sample := 0
	while not FileAccess.file_exists(dir.path_join("host.json")) and OS.is_process_running(host) \
			and Time.get_ticks_msec() < deadline:
		if Time.get_ticks_msec() >= next_sample and FileAccess.file_exists(dir.path_join("measuring")):
			next_sample = Time.get_ticks_msec() + 1000
			var machine := _machine_ticks()
			if not last.is_empty() and machine[0] > machine_last[0]:
				machine_busy.append(100.0 * (machine[1] - machine_last[1]) / (machine[0] - machine_last[0]))
			machine_last = machine
			for pid: int in client_pids + [host]:
				var ticks := Proc.cpu_ticks(str(pid))
				if ticks < 0:
					continue
				if last.has(pid):
					var percent := float(ticks - last[pid])  # ticks of 10 ms per second = %
					if pid == host:
						host_usage.append(percent)
					else:
						client_usage.get_or_add(pid, []).append(percent)
				last[pid] = ticks
			host_rss = maxf(host_rss, Proc.memory(str(host)).get("rss_mb", 0.0))
		await process_frame
	var host_figures: Variant = JSON.parse_string(FileAccess.get_file_as_string(dir.path_join("host.json"))) \
			if FileAccess.file_exists(dir.path_join("host.json")) else null
	if typeof(host_figures) != TYPE_DICTIONARY or not host_figures.get("ok", false) or host_usage.is_empty():
		print("  star: the host measured nothing: %s" % JSON.stringify(host_figures))
		return {}
	# Clients write their figures when the host's `end` reaches them; give them 15 s.
	var reports := {}  # index -> figures
	var wait_until := Time.get_ticks_msec() + 15000
	while reports.size() < client_pids.size() and Time.get_ticks_msec() < wait_until:
		for i in client_pids.size():
			var path := dir.path_join("client-%d.json" % i)
			if not reports.has(i) and FileAccess.file_exists(path):
				var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(path))
				reports[i] = parsed if typeof(parsed) == TYPE_DICTIONARY else {"ok": false, "error": "unreadable"}
		await process_frame
	var ok: Array = reports.values().filter(func(r: Dictionary) -> bool: return r.get("ok", false))
	var errors := {}
	for r: Dictionary in reports.values():
		if not r.get("ok", false):
			errors[r.get("error", "?")] = errors.get(r.get("error", "?"), 0) + 1
	if reports.size() < client_pids.size():
		errors["no report"] = client_pids.size() - reports.size()
	var column := func(key: String) -> Array:
		var values := ok.map(func(r: Dictionary) -> float: return r.get(key, -1.0))
		values.sort()
		return values
	var medians: Array = column.call("rtt_median_ms")
	var p99s: Array = column.call("rtt_p99_ms")
	var relay_medians: Array = column.call("relay_median_ms")
	var relay_p99s: Array = column.call("relay_p99_ms")
	var relayed: Array = column.call("relayed_per_s")
	# A client's figure is its mean over the window: at ~1 % per client, the per-second
	# figures (whole ticks) are mostly 0 or 1.
	var client_cpu: Array = client_usage.values().map(func(s: Array) -> float:
		return s.reduce(func(sum: float, x: float) -> float: return sum + x, 0.0) / s.size())
	client_cpu.sort()
	host_usage.sort()
	machine_busy.sort()
	var middle := func(values: Array) -> float: return values[values.size() / 2] if not values.is_empty() else -1.0
	var out := {
		"clients": client_pids.size(),
		"connected": host_figures["peers_at_begin"],
		"still_connected_at_end": host_figures["peers_at_end"],
		"reported": ok.size(),
		"host_cpu_percent": host_usage[host_usage.size() / 2],
		"host_cpu_percent_window": host_figures["cpu_percent"],
		"host_peak_rss_mb": host_figures["peak_rss_mb"],
		"host_rss_mb_sampled_max": host_rss,
		"host_threads": host_figures["threads"],
		"host_fps": host_figures["fps"],
		"host_longest_frame_ms": host_figures["longest_frame_ms"],
		"host_states_per_s": host_figures["states_per_s"],
		"rtt_median_ms": middle.call(medians),
		"rtt_p99_median_ms": middle.call(p99s),
		"rtt_p99_worst_ms": p99s.back() if not p99s.is_empty() else -1.0,
		"relay_median_ms": middle.call(relay_medians),
		"relay_p99_worst_ms": relay_p99s.back() if not relay_p99s.is_empty() else -1.0,
		"relayed_per_s_median": middle.call(relayed),
		"relayed_per_s_worst": relayed.front() if not relayed.is_empty() else -1.0,
		"relayed_per_s_expected": 30.0 * (host_figures["peers_at_begin"] - 1),
		"client_cpu_percent_median": middle.call(client_cpu),
		"clients_cpu_percent_total": client_cpu.reduce(func(sum: float, x: float) -> float: return sum + x, 0.0),
		"machine_busy_percent": middle.call(machine_busy),
		"per_client": ok.map(func(r: Dictionary) -> Array: return [r["rtt_median_ms"], r["rtt_p99_ms"]]),
	}
	var summary := out.duplicate()
	summary.erase("per_client")
	print("  star/%s: %s; failed clients: %s" % [host_figures["transport"], JSON.stringify(summary), JSON.stringify(errors)])
	print("    per client RTT median/p99 ms: %s" % " ".join(out["per_client"].map(func(p: Array) -> String:
			return "%.1f/%.1f" % p)))
	return out


## The lobby server under load, `runs` times: `_lobby` with `pairs` pairs. Keeps the
## figures as `_median` does under "lobby/<pairs>", and every run's whole report from the
## load client under "lobby/<pairs>/runs".
func _lobby_section(pairs: int, runs: int) -> void:
	var name := "lobby/%d" % pairs
	var samples: Array[Dictionary] = []
	var reports := []
	for i in runs:
		var figures := await _lobby(pairs)
		if figures.is_empty():
			print("  %s: run %d failed" % [name, i + 1])
			continue
		reports.append(figures["report"])
		figures.erase("report")
		samples.append(figures)
	_summarize(name, runs, samples)
	results[name + "/runs"] = reports


## One run of the lobby load (bench/lobby_load.py, in the Python of WEBRTC_RS_AIORTC_PYTHON,
## which .ci/bench installs): starts the headless lobby server (addons/webrtc_rs/lobby/
## lobby_server.gd, default limits but --max-connections), runs the load client against it
## with `pairs` pairs, 200 at a time from 200 source addresses, the abusers alongside and the
## half-open burst before, and samples once a second the CPU time (/proc ticks) and RSS of
## the server and of the client. Returns {} if the client reported nothing; every process it
## started is killed before it returns.
func _lobby(pairs: int) -> Dictionary:
	var python := OS.get_environment("WEBRTC_RS_AIORTC_PYTHON")
	if python.is_empty():
		print("  lobby: WEBRTC_RS_AIORTC_PYTHON is not set (.ci/bench sets it: .ci/install_aiortc.sh)")
		return {}
	var port := TestCase.server_port()
	var dir := OS.get_user_data_dir().path_join("lobby-load-%d" % port)
	DirAccess.make_dir_recursive_absolute(dir)
	var server_log := dir.path_join("server.log")
	var to_file := 'out="$1"; err="$2"; shift 2; exec "$@" > "$out" 2> "$err"'
	var server := OS.create_process("sh", ["-c", to_file, "sh", server_log, server_log, TestCase.godot_command()]
			+ TestCase.lobby_server_args(port, ["--max-connections", str(2 * pairs + 1000), "--stats-interval", "1"]))
	var figures := {}
	# The server prints its first stats line once it listens (and --quiet keeps it from
	# saying so otherwise).
	var deadline := Time.get_ticks_msec() + 30000
	while not FileAccess.get_file_as_string(server_log).contains("[lobby server] stats") \
			and OS.is_process_running(server) and Time.get_ticks_msec() < deadline:
		await process_frame
	if not FileAccess.get_file_as_string(server_log).contains("[lobby server] stats"):
		print("  lobby: the server did not start: %s" % FileAccess.get_file_as_string(server_log).right(400))
	else:
		var out := dir.path_join("client.json")
		var err := dir.path_join("client.log")
		var client := OS.create_process("sh", ["-c", to_file, "sh", out, err, python,
				ProjectSettings.globalize_path("res://bench/lobby_load.py"), "--url", "ws://127.0.0.1:%d" % port,
				"--pairs", str(pairs), "--concurrency", "200", "--addresses", "200", "--server-pid", str(server),
				"--processes", str(options.get("lobby_processes", "1"))])
		var server_cpu: Array[float] = []
		var client_cpu: Array[float] = []
		var peak_rss := 0.0
		var last := [Proc.cpu_ticks(str(server)), Proc.cpu_ticks(str(client))]
		var next_sample := Time.get_ticks_msec() + 1000
		# A pair's steps time out after 30 s each; 120 s and 0.2 s a pair is ample.
		deadline = Time.get_ticks_msec() + 120000 + pairs * 200
		while OS.is_process_running(client) and Time.get_ticks_msec() < deadline:
			if Time.get_ticks_msec() >= next_sample:
				next_sample += 1000
				var now := [Proc.cpu_ticks(str(server)), Proc.cpu_ticks(str(client))]
				if now[0] >= 0 and now[1] >= 0:
					server_cpu.append(float(now[0] - last[0]))  # ticks of 10 ms per second = %
					client_cpu.append(float(now[1] - last[1]))
					last = now
				peak_rss = maxf(peak_rss, Proc.memory(str(server)).get("rss_mb", 0.0))
			await process_frame
		if OS.is_process_running(client):
			print("  lobby/%d: the load client did not finish in time" % pairs)
			OS.kill(client)
		var report: Variant = JSON.parse_string(FileAccess.get_file_as_string(out))
		if typeof(report) != TYPE_DICTIONARY or not report.has("join_ms"):
			print("  lobby/%d: no report from the load client: %s" % [pairs, FileAccess.get_file_as_string(err).right(600)])
		else:
			report["newcomer"].erase("after_burst_each_ms")
			var srv: Dictionary = report["server"]
			var failures := PackedStringArray()
			for reason: String in report["failures"]:
				failures.append("%s: %d" % [reason, report["failures"][reason]])
			var not_handled := PackedStringArray()
			for abuser: String in report["abusers"]:
				if not report["abusers"][abuser]["ok"]:
					not_handled.append(abuser)
			server_cpu.sort()
			client_cpu.sort()
			figures = {
				"pairs": pairs,
				"seconds": report["seconds"],
				"seconds_to_last_ok_pair": report["seconds_to_last_ok_pair"],
				"joins_per_s": report["joins_per_s"],
				"join_p50_ms": report["join_ms"].get("p50", -1.0),
				"join_p99_ms": report["join_ms"].get("p99", -1.0),
				"join_max_ms": report["join_ms"].get("max", -1.0),
				"relay_p50_ms": report["relay_ms"].get("p50", -1.0),
				"relay_p99_ms": report["relay_ms"].get("p99", -1.0),
				"pairs_failed": report["pairs_failed"],
				"failures": ", ".join(failures) if not failures.is_empty() else "none",
				"abusers_handled": report["abusers_handled"],
				"abusers_not_handled": ", ".join(not_handled) if not not_handled.is_empty() else "none",
				"newcomer_idle_join_ms": report["newcomer"]["idle_join_ms"],
				"newcomer_after_burst_join_ms": report["newcomer"]["after_burst_join_ms"] if report["newcomer"]["after_burst_join_ms"] != null else -1.0,
				"newcomers_over_100ms": report["newcomer"]["after_burst_over_100ms"],
				"server_cpu_percent_window": srv.get("cpu_percent", -1.0),
				"server_cpu_percent_peak_second": server_cpu.back() if not server_cpu.is_empty() else -1.0,
				"server_peak_rss_mb": peak_rss,
				"server_rss_mb_before": srv.get("rss_kib_before", 0) / 1024.0,
				"server_rss_mb_held": srv.get("rss_kib_held", 0) / 1024.0,
				"held_connections": srv["held_connections"],
				"server_rss_kib_per_held_connection": srv.get("rss_kib_per_held_connection", -1.0),
				"server_alive": srv["alive"] and OS.is_process_running(server),
				"client_cpu_percent_window": report["client"]["cpu_percent"],
				"client_cpu_percent_peak_second": client_cpu.back() if not client_cpu.is_empty() else -1.0,
				"client_loop_lag_p99_ms": report["client"]["loop_lag_ms"].get("p99", -1.0),
				"report": report,
			}
			var shown := figures.duplicate()
			shown.erase("report")
			print("  lobby/%d: %s" % [pairs, JSON.stringify(shown)])
	if OS.is_process_running(server):
		OS.kill(server)
	_remove_files(dir)
	DirAccess.remove_absolute(dir)
	return figures


## [total, busy] clock ticks of the whole machine since boot (/proc/stat), busy being all but
## idle and iowait.
static func _machine_ticks() -> Array[int]:
	var file := FileAccess.open("/proc/stat", FileAccess.READ)
	var fields := file.get_line().split(" ", false) if file != null else PackedStringArray()
	var total := 0
	for i in range(1, mini(fields.size(), 9)):  # user nice system idle iowait irq softirq steal
		total += int(fields[i])
	var idle := int(fields[4]) + int(fields[5]) if fields.size() > 5 else 0
	return [total, total - idle]


func _print_table() -> void:
	print("\nEach figure: median (min–max) over the runs; ratio = median / ENet's median. Throughput runs")
	print("alternate with ENet's; in brackets: the worst of those pairs' ratios (ours / ENet's run beside it).")
	print("\n%-34s %26s %26s %14s" % ["", "webrtc_rs", "ENet", "ratio"])
	for size in [16384, 1024, 64]:
		var w: Dictionary = results.get("throughput/webrtc/reliable/%d" % size, {})
		var e: Dictionary = results.get("throughput/enet/reliable/%d" % size, {})
		var pairs: Dictionary = results.get("throughput/ratio/reliable/%d" % size, {})
		_row("reliable %d B: MB/s (%d runs)" % [size, w.get("runs", 0)], w, e, "mb_per_s", pairs)
		_row("reliable %d B: messages/s" % size, w, e, "messages_per_s", pairs)
	for transport in ["webrtc", "enet"]:
		var u: Dictionary = results.get("throughput/%s/unreliable/1024" % transport, {})
		if u.has("sent"):
			print("%-34s %s: %s of %d delivered" % ["unreliable 1 KiB", transport, _spread(u, "received", "%d"), u["sent"]])
	for fps in [0, 60]:
		var w: Dictionary = results.get("latency/webrtc/64B/%dfps" % fps, {})
		var e: Dictionary = results.get("latency/enet/64B/%dfps" % fps, {})
		_row("RTT 64 B %s: median ms" % ("uncapped" if fps == 0 else "60 Hz"), w, e, "median_ms")
		_row("RTT 64 B %s: p99 ms" % ("uncapped" if fps == 0 else "60 Hz"), w, e, "p99_ms")
	var local: Dictionary = results.get("latency/webrtc/64B/in_process", {})
	print("%-34s %26s" % ["RTT 64 B in one process: median ms", _spread(local, "median_ms", "%.3f")])
	print("%-34s %26s" % ["setup, 1 connection: ms", _spread(results.get("setup/1", {}), "all_open_ms")])
	print("%-34s %26s" % ["setup, 16 at once: ms", _spread(results.get("setup/16", {}), "all_open_ms")])
	var cost: Dictionary = results.get("main_thread/8x3", {})
	print("%-34s %26s" % ["poll() 8x3 idle: µs/frame", _spread(cost, "poll_idle_us_per_frame")])
	print("%-34s %26s" % ["poll() 8x3 100 msg/s: µs/frame", _spread(cost, "poll_busy_us_per_frame")])
	print("%-34s %26s" % ["put_packet: µs/message", _spread(cost, "put_packet_us", "%.2f")])
	var flow: Dictionary = results.get("flow/unpolled_receiver", {})
	if not flow.is_empty():
		print("%-34s %26s" % ["unpolled receiver 10 s: RSS MB +", _spread(flow, "rss_growth_mb")])
		print("%-34s %26s" % ["  then delivered in order: ms", _spread(flow, "drain_ms")])
	for count in [8192, 81920]:
		var burst: Dictionary = results.get("bursts/%d" % count, {})
		if not burst.is_empty():
			print("%-34s %26s   longest gap %s ms; runs with a gap >= 100 ms: %d of %d" % [
					"burst %d x 64 B: ms" % count, _spread(burst, "total_ms"), _spread(burst, "longest_gap_ms"),
					burst.get("stalled_runs", 0), burst.get("runs", 0)])
	var footprint: Dictionary = results.get("footprint", {})
	for key in ["before", "connections_2", "connections_16", "connections_64", "after_closing"]:
		var m: Dictionary = footprint.get(key, {})
		print("%-34s %11.1f MB %6d threads" % ["memory, %s" % key.replace("_", " "), m.get("rss_mb", 0.0), m.get("threads", 0)])
	for loss in [10, 30]:
		var lossy: Dictionary = results.get("lossy/%d" % loss, {})
		if lossy.is_empty():
			continue
		print("%-34s %26s   %d of %d not open in 30 s; %d reported DISCONNECTED or FAILED" % [
				"%d %% loss: offer -> open, ms" % loss, _spread(lossy, "open_ms", "%.0f"), lossy["not_open"],
				lossy["runs"], lossy["disconnected"]])
		print("%-34s %26s   %d of %d not done in 60 s" % ["  1 MiB reliable: ms", _spread(lossy, "transfer_ms", "%.0f"),
				lossy["not_delivered"], lossy["runs"]])
		print("%-34s %26s   longest gap %s ms" % ["  1000 unreliable: delivered", _spread(lossy, "unreliable_delivered", "%.0f"),
				_spread(lossy, "unreliable_longest_gap_ms", "%.0f")])
	var scale: Dictionary = results.get("scale/mesh16", {})
	print("%-34s %d of %d clients ok; CPU per client median %.0f %%, max %.0f %%; server %.0f %%; RSS %.0f MB" % [
			"16-peer mesh, 20 Hz state", scale.get("clients_ok", 0), scale.get("clients", 0),
			scale.get("client_cpu_percent_median", 0.0), scale.get("client_cpu_percent_max", 0.0),
			scale.get("server_cpu_percent", 0.0), scale.get("client_rss_mb_median", 0.0)])
	var star_w: Dictionary = results.get("star/webrtc", {})
	var star_e: Dictionary = results.get("star/enet", {})
	if not star_w.is_empty() or not star_e.is_empty():
		print("%d-client star (server-mode host, 30 Hz state relayed to all, 60 frames/s; %d / %d runs):" % [
				star_w.get("clients", star_e.get("clients", 0)), star_w.get("runs", 0), star_e.get("runs", 0)])
		_row("  clients connected", star_w, star_e, "connected")
		_row("  clients reporting RTTs", star_w, star_e, "reported")
		_row("  host CPU % (median second)", star_w, star_e, "host_cpu_percent")
		_row("  host CPU % (whole window)", star_w, star_e, "host_cpu_percent_window")
		var ratio: Dictionary = results.get("star/host_cpu_ratio", {})
		if not ratio.is_empty():
			print("%-34s %26s" % ["  host CPU window, ours/ENet pairs", _spread(ratio, "ratio", "%.2f")])
		_row("  host peak RSS MB", star_w, star_e, "host_peak_rss_mb")
		_row("  host frames/s", star_w, star_e, "host_fps")
		_row("  RTT median ms (median client)", star_w, star_e, "rtt_median_ms")
		_row("  RTT p99 ms (median client)", star_w, star_e, "rtt_p99_median_ms")
		_row("  RTT p99 ms (worst client)", star_w, star_e, "rtt_p99_worst_ms")
		_row("  relay latency median ms", star_w, star_e, "relay_median_ms")
		_row("  relayed states/s (median client)", star_w, star_e, "relayed_per_s_median")
		_row("  client CPU % (median client)", star_w, star_e, "client_cpu_percent_median")
		_row("  CPU % of all clients together", star_w, star_e, "clients_cpu_percent_total")
		_row("  machine busy % (2 cores = 100)", star_w, star_e, "machine_busy_percent")
	for key: String in results:
		if not key.begins_with("lobby/") or key.ends_with("/runs"):
			continue
		var l: Dictionary = results[key]
		if l.get("failed", false):
			print("lobby server, %s: failed" % key)
			continue
		print("lobby server, %d pairs, 200 at a time (%d runs):" % [l["pairs"], l["runs"]])
		for row: Array in [["joins/s", "joins_per_s", "%.0f"], ["join p50 ms", "join_p50_ms", "%.1f"],
				["join p99 ms", "join_p99_ms", "%.0f"], ["relay p50 ms", "relay_p50_ms", "%.1f"],
				["relay p99 ms", "relay_p99_ms", "%.1f"], ["pairs failed", "pairs_failed", "%d"],
				["abusers handled (of 8)", "abusers_handled", "%d"],
				["newcomer after a 150 half-open burst: ms", "newcomer_after_burst_join_ms", "%.0f"],
				["  (idle server: ms)", "newcomer_idle_join_ms", "%.1f"],
				["server CPU % (whole run)", "server_cpu_percent_window", "%.0f"],
				["server peak RSS MB", "server_peak_rss_mb", "%.0f"],
				["server RSS KiB per held connection", "server_rss_kib_per_held_connection", "%.1f"],
				["client CPU % (whole run)", "client_cpu_percent_window", "%.0f"],
				["client event-loop lag p99 ms", "client_loop_lag_p99_ms", "%.1f"]]:
			print("  %-40s %26s" % [row[0], _spread(l, row[1], row[2])])
		print("  %-40s %s; abusers not handled (first run): %s" % ["failures (first run)", l["failures"], l["abusers_not_handled"]])


## One comparison row: ours and ENet's `key` with their spreads, the ratio of the medians, and
## (for throughput) the worst ratio among the paired runs of `pairs` (see `_paired`).
func _row(label: String, ours: Dictionary, enet: Dictionary, key: String, pairs := {}) -> void:
	var ratio := ""
	if ours.has(key) and enet.get(key, 0.0) > 0.0:
		ratio = "%.2f" % (ours[key] / enet[key])
		if pairs.has("ratio_min"):
			ratio += " [%.2f]" % pairs["ratio_min"]
	var format := "%.3f" if key.ends_with("_ms") else "%.1f"
	print("%-34s %26s %26s %14s" % [label, _spread(ours, key, format), _spread(enet, key, format), ratio])
