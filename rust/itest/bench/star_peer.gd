extends SceneTree
## One process of the star benchmark (bench.gd's `star` section): a server-mode host and its
## clients, over this addon's WebRTCMultiplayerPeer or Godot's ENetMultiplayerPeer, both under
## SceneMultiplayer with the same RPCs (star_node.gd says what they do):
##   godot --headless --max-fps 60 --path rust/itest -s res://bench/star_peer.gd -- KEY=VALUE ...
## keys: role=host|client, transport=webrtc|enet, dir=FOLDER (where figures go), clients=N
##   (how many the host waits for), and
##   webrtc: url=ws://127.0.0.1:P lobby=NAME (the addon's lobby server, in "server" mode: the
##           first to join, the host, gets id 1; ICE on the loopback interface only)
##   enet:   port=P (the host listens on 127.0.0.1:P)
##   client: index=I (its figures go to FOLDER/client-I.json)
##   host:   duration=S (the measured window, default 10), warmup=S (default 2),
##           connect_timeout=S (how long to wait for every client, default 120)
## The host writes FOLDER/host-ready once clients may start, FOLDER/measuring when the window
## begins and FOLDER/host.json when it ends; every process quits by itself at the end or on
## its own deadline, and the benchmark kills what is left.

const Proc := preload("res://bench/proc.gd")
const StarNode := preload("res://bench/star_node.gd")

var options := {"duration": "10", "warmup": "2", "connect_timeout": "120", "clients": "32"}
var node: StarNode
var is_host := false
var lobby: WebRTCLobbyClient
var _dir := ""
var _phase := "connecting"
var _phase_started := Time.get_ticks_msec()
var _deadline := 0
var _connected := false
var _error := ""
# Host: the measured window.
var _peers_at_begin := 0
var _window_start_usec := 0
var _window_ticks := 0
var _frames := 0
var _longest_frame_usec := 0
var _last_frame_usec := 0
var _states_at_begin := 0
var _pings_at_begin := 0


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		var parts := arg.split("=", true, 1)
		options[parts[0]] = parts[1] if parts.size() > 1 else ""
	# A headless Godot sleeps 6.9 ms after every frame whatever max_fps says; a game with a
	# window does not, so (as bench_peer.gd) only Engine.max_fps (--max-fps) paces the frames.
	OS.low_processor_usage_mode_sleep_usec = 0
	is_host = options["role"] == "host"
	_dir = options["dir"]
	var connect_s := float(options["connect_timeout"])
	# Every process quits by itself: a client after the host's whole run and a margin.
	_deadline = Time.get_ticks_msec() + int((connect_s + float(options["warmup"]) + float(options["duration"]) + 60.0) * 1000.0)
	node = StarNode.new()
	node.name = "Star"
	node.is_host = is_host
	node.result_dir = _dir
	node.client_index = int(options.get("index", "-1"))
	root.add_child(node)
	get_multiplayer().connected_to_server.connect(func() -> void: _connected = true)
	get_multiplayer().connection_failed.connect(func() -> void: _error = "connection to the host failed")
	get_multiplayer().server_disconnected.connect(func() -> void:
		if _error.is_empty():
			_error = "the host disconnected")
	if options["transport"] == "webrtc":
		lobby = WebRTCLobbyClient.new()
		lobby.name = "Lobby"
		lobby.webrtc_rs_options = {"interfaces": ["lo"]}
		lobby.connect_timeout = 30.0
		root.add_child(lobby)
		lobby.error.connect(func(message: String) -> void:
			if _error.is_empty():
				_error = "lobby: " + message)
		lobby.joined.connect(func(id: int, _name: String) -> void:
			get_multiplayer().multiplayer_peer = lobby.multiplayer_peer
			if is_host and id != 1:
				_error = "the host joined the lobby as peer %d, not 1" % id
			elif is_host:
				StarNode.write_json(_dir.path_join("host-ready"), {}))
		lobby.join(options["url"], options["lobby"], "server")
	else:
		var enet := ENetMultiplayerPeer.new()
		var result: Error
		if is_host:
			# Room for more than the clients, so a full server never explains a failure.
			result = enet.create_server(int(options["port"]), int(options["clients"]) + 8)
			enet.get_host().compress(ENetConnection.COMPRESS_NONE)
		else:
			result = enet.create_client("127.0.0.1", int(options["port"]))
		if result != OK:
			_error = "ENet: %s" % error_string(result)
		else:
			get_multiplayer().multiplayer_peer = enet
			if is_host:
				StarNode.write_json(_dir.path_join("host-ready"), {})


func _process(_delta: float) -> bool:
	if is_host:
		return _host_frame()
	return _client_frame()


func _client_frame() -> bool:
	if not _error.is_empty() or Time.get_ticks_msec() > _deadline:
		if _error.is_empty():
			_error = "connected, but the host never ended the window" if _connected else "never connected to the host"
		node.write_summary({"ok": false, "error": _error, "connected": _connected})
		return true
	if _connected:
		node.tick_client()
	return false


func _host_frame() -> bool:
	var now := Time.get_ticks_msec()
	var peers := get_multiplayer().get_peers().size() if get_multiplayer().has_multiplayer_peer() else 0
	match _phase:
		"connecting":
			if not _error.is_empty():
				_write_host({"ok": false, "error": _error})
				return true
			if peers >= int(options["clients"]) or now - _phase_started > float(options["connect_timeout"]) * 1000.0:
				_enter("warmup")
		"warmup":
			if now - _phase_started >= float(options["warmup"]) * 1000.0:
				_enter("measuring")
				_peers_at_begin = peers
				_window_start_usec = Time.get_ticks_usec()
				_last_frame_usec = _window_start_usec
				_window_ticks = Proc.cpu_ticks()
				_states_at_begin = node.states_received
				_pings_at_begin = node.pings_answered
				node.begin.rpc()
				StarNode.write_json(_dir.path_join("measuring"), {"peers": peers})
		"measuring":
			var usec := Time.get_ticks_usec()
			_frames += 1
			_longest_frame_usec = maxi(_longest_frame_usec, usec - _last_frame_usec)
			_last_frame_usec = usec
			if now - _phase_started >= float(options["duration"]) * 1000.0:
				node.end.rpc()
				node.window_over = true
				var seconds := (usec - _window_start_usec) / 1e6
				var memory := Proc.memory()
				_write_host({"ok": _peers_at_begin > 0, "clients": int(options["clients"]),
						"peers_at_begin": _peers_at_begin, "peers_at_end": peers, "seconds": seconds,
						"cpu_percent": (Proc.cpu_ticks() - _window_ticks) / seconds,
						"rss_mb": memory.get("rss_mb", 0.0), "peak_rss_mb": memory.get("peak_rss_mb", 0.0),
						"threads": memory.get("threads", 0), "fps": _frames / seconds,
						"longest_frame_ms": _longest_frame_usec / 1000.0, "max_fps": Engine.max_fps,
						"states_per_s": (node.states_received - _states_at_begin) / seconds,
						"pings_per_s": (node.pings_answered - _pings_at_begin) / seconds})
				_enter("closing")
		"closing":
			# Stay until the clients have had `end` (they leave once they have it), at most 10 s.
			return peers == 0 or now - _phase_started > 10000
	return now > _deadline


func _enter(phase: String) -> void:
	_phase = phase
	_phase_started = Time.get_ticks_msec()


func _write_host(figures: Dictionary) -> void:
	figures["transport"] = options["transport"]
	StarNode.write_json(_dir.path_join("host.json"), figures)
