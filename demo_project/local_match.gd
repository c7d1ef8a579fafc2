class_name LocalMatch
extends Node
## `--local-match N`: the addon's lobby server (addons/webrtc_rs/lobby/lobby_server.gd, or
## the one at `--url`) and N headless bot clients, each its own Godot process on this machine, with every connection restricted to loopback. Waits for the
## clients, prints each one's summary and exits 0 only if all of them succeeded.

const DEADLINE_S := 90.0

var _server_pid := -1
var _clients: Array[Dictionary] = []
var _deadline := 0
var _match_dir := ""


func run(count: int, options: Dictionary) -> void:
	if count < 2:
		push_error("--local-match needs at least 2 clients")
		get_tree().quit(2)
		return
	var godot := OS.get_environment("GODOT_EXECUTABLE")
	if godot.is_empty():
		godot = OS.get_executable_path()
	var project := ProjectSettings.globalize_path("res://")
	# Below Linux's ephemeral ports (32768-60999): a client that dials before the server listens
	# could otherwise be given the server's port as its own and connect to itself.
	var port := int(options.get("port", 20000 + randi() % 12000))
	var mode := str(options.get("mode", "mesh"))
	var duration := str(options.get("duration", 5))
	_match_dir = str(options.get("match-dir", OS.get_user_data_dir().path_join("match-%d" % port)))
	DirAccess.make_dir_recursive_absolute(_match_dir)
	var base := ["--headless", "--path", project, "--"]
	var url := str(options.get("url", "ws://127.0.0.1:%d" % port))
	if options.has("url"):
		print("[match] server at %s; %d clients in %s mode for %s s" % [url, count, mode, duration])
	else:
		_server_pid = OS.create_process(godot, ["--headless", "--path", project, "-s",
				"res://addons/webrtc_rs/lobby/lobby_server.gd", "--", "--port", str(port), "--bind", "127.0.0.1"])
		if _server_pid <= 0:
			push_error("cannot start the server process (%s)" % godot)
			get_tree().quit(2)
			return
		print("[match] server (pid %d) on port %d; %d clients in %s mode for %s s" % [_server_pid, port, count, mode, duration])
	for i in count:
		var summary := _match_dir.path_join("client-%d.json" % i)
		DirAccess.remove_absolute(summary)
		var args := base + ["--client", "--bot", "--url", url,
				"--lobby", "match-%d" % port, "--mode", mode, "--peers", str(count),
				"--duration", duration, "--interfaces", "lo", "--summary-file", summary]
		if options.has("leave-after") and i == count - 1:
			args += ["--leave-after", str(options["leave-after"])]
		var pid := OS.create_process(godot, args)
		_clients.append({"pid": pid, "summary": summary, "index": i})
	_deadline = Time.get_ticks_msec() + int(DEADLINE_S * 1000)


func _process(_delta: float) -> void:
	if _clients.is_empty():
		return
	var running := _clients.filter(func(client: Dictionary) -> bool: return OS.is_process_running(client["pid"]))
	if not running.is_empty() and Time.get_ticks_msec() < _deadline:
		return
	for client in running:
		OS.kill(client["pid"])
	if _server_pid > 0:
		OS.kill(_server_pid)
	_conclude(running.size())


func _conclude(hung: int) -> void:
	var all_ok := hung == 0
	print("\n[match] results")
	print("[match] %-6s %-5s %-40s %-22s %s" % ["peer", "ok", "moves seen / chat lines received", "departures noticed", "problems"])
	var clients := _clients
	_clients = []
	for client in clients:
		var text := FileAccess.get_file_as_string(client["summary"])
		var summary: Variant = JSON.parse_string(text) if not text.is_empty() else null
		if typeof(summary) != TYPE_DICTIONARY:
			all_ok = false
			print("[match] client %d wrote no summary (exit code %d)" % [client["index"], OS.get_process_exit_code(client["pid"])])
			continue
		all_ok = all_ok and summary["ok"]
		var seen := []
		for id in summary["moves_seen"]:
			seen.append("%s: %d/%d" % [id, summary["moves_seen"][id], summary["chat_lines_received"].get(id, 0)])
		var departures := []
		for id in summary["departure_noticed_ms"]:
			departures.append("%s after %d ms" % [id, summary["departure_noticed_ms"][id]])
		if summary["left_early"]:
			departures.append("(left early)")
		print("[match] %-6d %-5s %-40s %-22s %s" % [int(summary["id"]), summary["ok"], ", ".join(seen),
				", ".join(departures), "; ".join(summary["problems"])])
		var links := []
		for id in summary.get("link_stats", {}):
			var link: Dictionary = summary["link_stats"][id]
			links.append("%s: rtt %.1f ms %s" % [id, link["rtt_ms"], link["path"]])
		if not links.is_empty():
			print("[match]        links (webrtc_rs get_stats): %s" % ", ".join(links))
	if hung > 0:
		print("[match] %d client(s) did not finish within %.0f s" % [hung, DEADLINE_S])
	print("[match] %s" % ("every client saw every other client's moves and chat" if all_ok else "FAILED"))
	get_tree().quit(0 if all_ok else 1)
