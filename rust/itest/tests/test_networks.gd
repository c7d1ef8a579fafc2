extends TestCase
## The network lab: the networks players are on, built of network namespaces (NetLab), each
## with two players (net_game.gd, the addon's default settings) joined through the lobby
## server. Every case checks that the connection opens, RPCs flow both ways and 1 MiB arrives
## byte-exact, and prints the path ICE chose and the setup time (lobby introduction to
## Godot's peer_connected). Skipped (with a message) only where the machine refuses
## `ip netns`.

const PAYLOAD := 1024 * 1024
const DEADLINE_S := 60.0

var _lab: NetLab


## a. A LAN party on one switch: IPv4 addresses, no default route, no internet.
func test_a_lan_without_a_router() -> void:
	_lab = NetLab.new(self)
	if not _lab.available():
		return
	if not (_lab.wire("a", "eth0", "b", "eth0") and _lab.address("a", "eth0", "10.211.0.1/24")
			and _lab.address("b", "eth0", "10.211.0.2/24")):
		return
	var players := await _play("a", "10.211.0.1", ["a", "b"])
	for player in players:
		_check_path(player, "host", "10.211.0.")


## b. An IPv6-only network (ULA addresses and an IPv6 default route; no IPv4 but loopback).
func test_b_an_ipv6_only_network() -> void:
	_lab = NetLab.new(self)
	if not _lab.available():
		return
	if not (_lab.wire("a", "eth0", "b", "eth0") and _lab.address("a", "eth0", "fd00:211::1/64")
			and _lab.address("b", "eth0", "fd00:211::2/64")
			and _lab.route("a", ["default", "via", "fd00:211::2"])
			and _lab.route("b", ["default", "via", "fd00:211::1"])):
		return
	var players := await _play("a", "[fd00:211::1]", ["a", "b"])
	for player in players:
		_check_path(player, "host", "[fd00:211::")


## c. Dual stack: both families are gathered, and get_stats() reports the pair ICE picked.
func test_c_dual_stack_gathers_both_families() -> void:
	_lab = NetLab.new(self)
	if not _lab.available():
		return
	if not (_lab.wire("a", "eth0", "b", "eth0")
			and _lab.address("a", "eth0", "10.211.0.1/24") and _lab.address("b", "eth0", "10.211.0.2/24")
			and _lab.address("a", "eth0", "fd00:211::1/64") and _lab.address("b", "eth0", "fd00:211::2/64")
			and _lab.route("a", ["default", "via", "10.211.0.2"]) and _lab.route("b", ["default", "via", "10.211.0.1"])
			and _lab.route("a", ["default", "via", "fd00:211::2"]) and _lab.route("b", ["default", "via", "fd00:211::1"])):
		return
	var players := await _play("a", "10.211.0.1", ["a", "b"])
	for player in players:
		var candidates: Array = player.get("candidates", [])
		check(candidates.any(func(c: String) -> bool: return " 10.211.0." in c and "typ host" in c),
				"player %s gathered an IPv4 host candidate (%s)" % [player.get("id"), candidates])
		check(candidates.any(func(c: String) -> bool: return " fd00:211::" in c and "typ host" in c),
				"player %s gathered an IPv6 host candidate (%s)" % [player.get("id"), candidates])
		var path: Dictionary = player.get("path", {})
		check(str(path.get("local_address", "")).begins_with("10.211.0.") or str(path.get("local_address", "")).begins_with("[fd00:211::"),
				"player %s's get_stats() names the pair ICE picked (%s)" % [player.get("id"), path])


## Starts a lobby server in `server_role` (reached at http host `server_host`) and one player
## in each of `roles`; waits until both have exchanged RPCs and the payload; returns their
## final status (empty after recording a failure). `env` goes to the players.
func _play(server_role: String, server_host: String, roles: Array, lobby_args: Array = [],
		ice_servers := "-", env := {}) -> Array:
	var port := server_port()
	var dir := OS.get_user_data_dir().path_join("netlab-%d" % (randi() % 1000000))
	DirAccess.make_dir_recursive_absolute(dir)
	var itest := ProjectSettings.globalize_path("res://")
	_lab.spawn(server_role, dir.path_join("lobby.log"), godot_command(), ["--headless", "--path", itest, "-s",
			"res://addons/webrtc_rs/lobby/lobby_server.gd", "--", "--port", str(port), "--bind", "*"] + lobby_args)
	var url := "ws://%s:%d" % [server_host, port]
	if not OS.get_environment("WEBRTC_RS_LOG").is_empty():
		env = env.merged({"WEBRTC_RS_LOG": OS.get_environment("WEBRTC_RS_LOG")})
	var files: Array[String] = []
	for i in roles.size():
		var status := dir.path_join("player%d.json" % i)
		files.append(status)
		_lab.spawn(roles[i], dir.path_join("player%d.log" % i), godot_command(), ["--headless", "--path", itest,
				"-s", "res://readme_game.gd", "--", "res://net_game.gd", url, "lab", status, str(PAYLOAD), ice_servers],
				env)
	var players: Array[Dictionary] = [{}, {}]
	var finished := await wait_until(func() -> bool:
		for i in files.size():
			players[i] = _status(files[i])
		return players.all(func(p: Dictionary) -> bool: return p.get("done", false)),
		"both players to connect, exchange RPCs and %d bytes" % PAYLOAD, DEADLINE_S)
	if not finished:
		for i in files.size():
			print("    player %d: %s" % [i, players[i]])
			_show_tail(dir.path_join("player%d.log" % i))
		_show_tail(dir.path_join("lobby.log"))
		return []
	for player in players:
		var id: int = player["id"]
		check(player["rpc_answered"] and player["rpc_received"], "player %d's RPC was answered, and it answered one" % id)
		check(player["errors"].is_empty(), "player %d reported no error (%s)" % [id, player["errors"]])
		if not str(player["sha256"]).is_empty():
			check_eq(int(player["received"]), PAYLOAD, "bytes player %d received" % id)
			check_eq(player["sha256"], player["payload_sha256"], "the receiver's hash equals the sender's")
		var path: Dictionary = player["path"]
		print("    player %d: %s %s/%s %s -> %s, setup %d ms" % [id, path.get("protocol", "?"),
				path.get("local_type", "?"), path.get("remote_type", "?"), path.get("local_address", "?"),
				path.get("remote_address", "?"), player["setup_ms"]])
	return players


## The path a player's get_stats() reports: a local candidate of `local_type` whose address
## starts with `prefix`.
func _check_path(player: Dictionary, local_type: String, prefix: String) -> void:
	var path: Dictionary = player.get("path", {})
	check_eq(path.get("local_type"), local_type, "player %s's local candidate type" % player.get("id"))
	check(str(path.get("local_address", "")).begins_with(prefix),
			"player %s's path starts at %s... (%s)" % [player.get("id"), prefix, path])


func _status(path: String) -> Dictionary:
	if not FileAccess.file_exists(path):
		return {}
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(path))
	return parsed if typeof(parsed) == TYPE_DICTIONARY else {}


func _show_tail(log: String) -> void:
	var lines := FileAccess.get_file_as_string(log).split("\n")
	print("    last lines of %s:\n      %s" % [log, "\n      ".join(lines.slice(-25))])


func cleanup() -> void:
	await super.cleanup()
	if _lab:
		_lab.teardown()
