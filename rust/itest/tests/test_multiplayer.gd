extends TestCase
## Godot's high-level multiplayer over the addon between separate Godot processes: matches
## of demo_project (the addon's lobby server and headless bot clients, each its own process),
## and the lobby server facing malformed messages (more of it: test_lobby.gd).

const MATCH_TIMEOUT := 120.0


## Runs `--local-match` and returns [exit code, summaries by peer id (int → Dictionary)].
func _play(clients: int, extra: Array = []) -> Array:
	var dir := OS.get_user_data_dir().path_join("match-%d" % Time.get_ticks_usec())
	DirAccess.make_dir_recursive_absolute(dir)
	var args := ["--headless", "--path", demo_project_path(), "--", "--local-match", str(clients),
			"--duration", "2", "--match-dir", dir] + extra
	var pid := OS.create_process(godot_command(), args)
	if not check(pid > 0, "could not start %s" % godot_command()):
		return [-1, {}]
	var finished := await wait_until(func() -> bool: return not OS.is_process_running(pid),
			"the %d-client match to finish" % clients, MATCH_TIMEOUT)
	if not finished:
		OS.kill(pid)
	var summaries := {}
	for i in clients:
		var text := FileAccess.get_file_as_string(dir.path_join("client-%d.json" % i))
		var summary: Variant = JSON.parse_string(text) if not text.is_empty() else null
		if check(typeof(summary) == TYPE_DICTIONARY, "client %d wrote no summary" % i):
			summaries[int(summary["id"])] = summary
	return [OS.get_process_exit_code(pid), summaries]


## Every client saw every other one, its moves and exactly the chat lines it sent.
func _check_everyone_saw_everyone(summaries: Dictionary, clients: int) -> void:
	check_eq(summaries.size(), clients, "summaries")
	for id: int in summaries:
		var summary: Dictionary = summaries[id]
		check(summary["ok"], "peer %d reported problems: %s" % [id, summary["problems"]])
		check_eq(summary["peers_seen"].size(), clients - 1, "peers seen by %d" % id)
		for other: int in summaries:
			if other == id:
				continue
			var key := str(other)
			check(summary["moves_seen"].get(key, 0) > 0, "peer %d saw peer %d move" % [id, other])
			if not summaries[other]["left_early"]:
				check_eq(summary["chat_lines_received"].get(key, 0), summaries[other]["chat_lines_sent"],
						"chat lines peer %d got from peer %d" % [id, other])


func test_two_processes_connect_through_the_signaling_server() -> void:
	var result := await _play(2)
	check_eq(result[0], 0, "match exit code")
	_check_everyone_saw_everyone(result[1], 2)
	# The HUD's link statistics (get_stats() through WebRTCMultiplayerPeer's connections).
	for id: int in result[1]:
		var links: Dictionary = result[1][id]["link_stats"]
		if check_eq(links.size(), 1, "links in peer %d's HUD" % id):
			var link: Dictionary = links.values()[0]
			check_eq(link["path"], "host-host/udp", "peer %d's path" % id)
			check(link["bytes_received"] > 1000, "peer %d received %d bytes" % [id, link["bytes_received"]])
			check(link["rtt_ms"] >= 0.0, "peer %d's round-trip time %s" % [id, link["rtt_ms"]])


func test_three_processes_mesh_and_the_unreliable_channels_really_are_unreliable() -> void:
	var result := await _play(3)
	check_eq(result[0], 0, "match exit code")
	_check_everyone_saw_everyone(result[1], 3)
	# The data channels WebRTCMultiplayerPeer made (it passes "maxPacketLifetime").
	for id: int in result[1]:
		for other: String in result[1][id]["channels"]:
			var channels: Array = result[1][id]["channels"][other]
			if not check_eq(channels.size(), 3, "channels from %d to %s" % [id, other]):
				continue
			var by_label := {}
			for channel: Dictionary in channels:
				by_label[channel["label"]] = channel
				check_eq(channel["negotiated"], true, "%s negotiated" % channel["label"])
			check_eq(by_label["reliable"]["ordered"], true, "reliable: ordered")
			check_eq(by_label["reliable"]["max_packet_life_time"], 65535.0, "reliable: no lifetime")
			check_eq(by_label["reliable"]["max_retransmits"], 65535.0, "reliable: no retransmit limit")
			check_eq(by_label["ordered"]["ordered"], true, "unreliable_ordered: ordered")
			check(by_label["ordered"]["max_packet_life_time"] < 65535.0, "unreliable_ordered: lifetime set")
			check_eq(by_label["unreliable"]["ordered"], false, "unreliable: unordered")
			check(by_label["unreliable"]["max_packet_life_time"] < 65535.0, "unreliable: lifetime set")


func test_three_processes_in_server_mode() -> void:
	var result := await _play(3, ["--mode", "server"])
	check_eq(result[0], 0, "match exit code")
	_check_everyone_saw_everyone(result[1], 3)


func test_a_peer_that_quits_is_seen_disconnecting() -> void:
	var result := await _play(3, ["--leave-after", "1", "--duration", "4"])
	check_eq(result[0], 0, "match exit code")
	var leavers: Array = result[1].keys().filter(func(id: int) -> bool: return result[1][id]["left_early"])
	if not check_eq(leavers.size(), 1, "clients that left early"):
		return
	var leaver: int = leavers[0]
	for id: int in result[1]:
		if id == leaver:
			continue
		var noticed: Dictionary = result[1][id]["departure_noticed_ms"]
		if check(noticed.has(str(leaver)), "peer %d saw peer %d leave" % [id, leaver]):
			check(noticed[str(leaver)] < 3000, "peer %d noticed the clean departure within 3 s (%d ms)" % [id, noticed[str(leaver)]])
			print("    peer %d noticed peer %d leaving after %d ms" % [id, leaver, noticed[str(leaver)]])
		check(result[1][id]["ok"], "peer %d after the departure: %s" % [id, result[1][id]["problems"]])


func test_signaling_server_rejects_malformed_messages_and_keeps_serving() -> void:
	var port := server_port()
	var server: Dictionary = OS.execute_with_pipe(godot_command(), lobby_server_args(port, ["--max-errors", "50"]), false)
	if not check(server.has("pid"), "could not start the signaling server"):
		return
	var url := "ws://127.0.0.1:%d" % port
	var alice := await open_websocket(url)
	var bob := await open_websocket(url)
	if alice == null or bob == null:
		OS.kill(server["pid"])
		return
	var garbage := ["not json at all", "[1, 2, 3]", '{"type": "bogus"}', '{"no_type": true}',
			'{"type": "offer"}', '{"type": "candidate", "to": 2, "mid": 0}',
			'{"type": "join", "lobby": 5}', '{"type": "offer", "to": 2, "sdp": "x"}', '{"type": "seal"}']
	for text: String in garbage:
		alice.send_text(text)
		var reply := await next_message(alice, "a reply to %s" % text)
		check_eq(reply.get("type"), "error", "reply to %s" % text)
	# Still serving: both join, see each other, and a relayed offer arrives.
	alice.send_text(JSON.stringify({"type": "join", "lobby": "t", "mode": "mesh"}))
	check_eq((await next_message(alice, "alice joined")).get("id"), 1.0, "alice's id")
	bob.send_text(JSON.stringify({"type": "join", "lobby": "t", "mode": "mesh"}))
	check_eq((await next_message(bob, "bob joined")).get("id"), 2.0, "bob's id")
	check_eq(await next_message(bob, "bob told about alice"), {"type": "peer_connected", "id": 1.0}, "bob's news")
	check_eq(await next_message(alice, "alice told about bob"), {"type": "peer_connected", "id": 2.0}, "alice's news")
	bob.send_text("{broken")
	check_eq((await next_message(bob, "bob's error")).get("type"), "error", "reply to bob's garbage")
	alice.send_text(JSON.stringify({"type": "offer", "to": 2, "sdp": "v=0"}))
	check_eq(await next_message(bob, "the relayed offer"), {"type": "offer", "from": 1.0, "sdp": "v=0"}, "relayed offer")
	bob.send_text(JSON.stringify({"type": "seal"}))
	check_eq((await next_message(bob, "seal refused")).get("type"), "error", "only the host may seal")
	alice.send_text(JSON.stringify({"type": "seal"}))
	check_eq(await next_message(bob, "sealed"), {"type": "sealed"}, "seal broadcast")
	var carol := await open_websocket(url)
	if carol != null:
		carol.send_text(JSON.stringify({"type": "join", "lobby": "t", "mode": "mesh"}))
		var refused := await next_message(carol, "carol refused")
		check(str(refused.get("message", "")).contains("sealed"), "joining a sealed lobby: %s" % refused)
	# The server logged what it rejected.
	var log_text := PackedStringArray()  # Lambdas capture locals by value; arrays are shared.
	await wait_until(func() -> bool:
		log_text.append(server["stderr"].get_buffer(65536).get_string_from_utf8())
		return "".join(log_text).count("rejected a message") >= garbage.size() + 2,
		"the server's log of rejected messages", 5.0)
	check("".join(log_text).contains("not JSON"), "the log names the problem")
	OS.kill(server["pid"])

