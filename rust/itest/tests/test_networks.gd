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


## d. Two players, each behind a home router (NAT with endpoint-independent mapping, as
## Linux's masquerade keeps the source port): they find their public addresses with the STUN
## server the lobby hands out and reach each other directly.
func test_d_two_players_behind_home_routers_meet_through_stun() -> void:
	var players := await _behind_nats("", _lobby_ice_args(["stun:%s:3478" % PUBLIC], ["turn:%s:3478" % PUBLIC]))
	for player in players:
		var path: Dictionary = player.get("path", {})
		# ICE pairs a server-reflexive candidate under its base (RFC 8445 6.1.2.4), so the
		# local end shows as the host address the NAT maps.
		check(path.get("local_type") in ["host", "srflx"], "player %s sends directly, not through the relay (%s)" % [player.get("id"), path])
		check(path.get("remote_type") in ["srflx", "prflx"], "player %s reaches the other's NAT mapping (%s)" % [player.get("id"), path])


## d. The same behind symmetric NATs (a new port for every destination): only the TURN relay
## the lobby hands out (credentials from coturn's shared secret) connects them.
func test_d_symmetric_nats_connect_through_the_lobby_s_turn_server() -> void:
	var players := await _behind_nats("random", _lobby_ice_args(["stun:%s:3478" % PUBLIC], ["turn:%s:3478" % PUBLIC]))
	_check_relayed(players, "udp")


## e. UDP blocked between the players and the internet (a school or office firewall): only
## TURN over TCP gets through.
func test_e_udp_blocked_turn_over_tcp() -> void:
	var players := await _behind_nats("", _lobby_ice_args([], ["turn:%s:3478?transport=tcp" % PUBLIC]), true)
	_check_relayed(players, "tcp")


## e. The same through TURN over TLS on port 443 (coturn with a certificate from a test
## authority the players trust through SSL_CERT_FILE).
func test_e_udp_blocked_turn_over_tls_on_443() -> void:
	var players := await _behind_nats("", _lobby_ice_args([], ["turns:%s:443?transport=tcp" % PUBLIC]), true)
	_check_relayed(players, "tls")


const PUBLIC := "203.0.113.1"
const TURN_SECRET := "lab-shared-secret"


## Lobby switches handing out `stun` and `turn` URLs (TURN credentials from TURN_SECRET).
func _lobby_ice_args(stun: Array, turn: Array) -> Array:
	var args := []
	if not stun.is_empty():
		args += ["--stun-urls", ",".join(stun)]
	if not turn.is_empty():
		args += ["--turn-urls", ",".join(turn), "--turn-secret", TURN_SECRET]
	return args


## Builds the internet of cases d and e and plays on it: a "public" namespace (PUBLIC on a
## bridge) running coturn and the lobby server, and two home networks, each a player at
## 192.168.1.2 behind its router (192.168.1.1, public 203.0.113.11 and .12) that masquerades
## with nftables, `nat_flags` ("random": a new port per destination, i.e. symmetric NAT).
## With `block_udp` the routers forward no UDP.
func _behind_nats(nat_flags: String, lobby_args: Array, block_udp := false) -> Array:
	_lab = NetLab.new(self)
	if not _lab.available():
		return []
	var turnserver := OS.get_environment("WEBRTC_RS_TURNSERVER")
	if not check(not turnserver.is_empty(), "WEBRTC_RS_TURNSERVER is not set: run the suite through .ci/test"):
		return []
	var ok := (_lab.run(["ip", "-n", _lab.ns("pub"), "link", "add", "br0", "type", "bridge"])
			and _lab.up("pub", "br0") and _lab.address("pub", "br0", PUBLIC + "/24")
			# The rest of the internet: a gateway that never answers, so that what coturn
			# relays towards a player's private address vanishes, as on the internet, instead
			# of failing the send (coturn closes an allocation whose send fails).
			and _lab.route("pub", ["default", "via", "203.0.113.254"]))
	for i in [1, 2]:
		var router := "nat%d" % i
		var player := "p%d" % i
		ok = ok and _lab.wire(router, "wan0", "pub", "n%d" % i) \
				and _lab.run(["ip", "-n", _lab.ns("pub"), "link", "set", "n%d" % i, "master", "br0"]) \
				and _lab.address(router, "wan0", "203.0.113.1%d/24" % i) \
				and _lab.wire(player, "eth0", router, "lan0") \
				and _lab.address(router, "lan0", "192.168.1.1/24") \
				and _lab.address(player, "eth0", "192.168.1.2/24") \
				and _lab.route(player, ["default", "via", "192.168.1.1"]) \
				and _lab.router(router, _nat_rules(nat_flags, block_udp))
	if not ok:
		return []
	var dir := OS.get_user_data_dir().path_join("netlab-turn-%d" % (randi() % 1000000))
	DirAccess.make_dir_recursive_absolute(dir)
	# coturn as docs/turnserver.conf sets it up, with the lab's addresses, a certificate from a
	# test authority the players trust (SSL_CERT_FILE), and the lobby's secret.
	var python := OS.get_environment("WEBRTC_RS_AIORTC_PYTHON")
	if not check(not python.is_empty(), "WEBRTC_RS_AIORTC_PYTHON is not set: run the suite through .ci/test"):
		return []
	if not _lab.run([python, ProjectSettings.globalize_path("res://lab/make_cert.py"), dir, PUBLIC]):
		return []
	var env := {"SSL_CERT_FILE": dir.path_join("ca.crt")}
	var config := ProjectSettings.globalize_path("res://").path_join("../../docs/turnserver.conf").simplify_path()
	var coturn := ["-c", config, "--static-auth-secret", TURN_SECRET, "--realm", "lab.test",
			"--listening-ip", PUBLIC, "--relay-ip", PUBLIC, "--cert", dir.path_join("server.crt"),
			"--pkey", dir.path_join("server.key"), "--min-port", "49152", "--max-port", "49352",
			"--pidfile", dir.path_join("turnserver.pid"), "--log-file", "stdout", "--simple-log", "--verbose"]
	_lab.spawn("pub", dir.path_join("coturn.log"), turnserver, coturn)
	var players := await _play("pub", PUBLIC, ["p1", "p2"], lobby_args, "-", env)
	if players.is_empty():
		_show_tail(dir.path_join("coturn.log"))
	return players


## nftables for a home router: masquerade what leaves through wan0 (with `flags`, e.g.
## "random"), and with `block_udp` forward no UDP at all.
func _nat_rules(flags: String, block_udp: bool) -> String:
	var rules := "table ip nat {\n chain post {\n  type nat hook postrouting priority srcnat; policy accept;\n"
	rules += "  oifname \"wan0\" masquerade %s\n }\n}\n" % flags
	# A home router answers nothing unsolicited on its public side. Dropped here, such a
	# packet (the other player's first check, arriving before this side's own went out)
	# leaves no conntrack entry behind that would take the mapping this side's next packet
	# needs and push it onto another port.
	rules += "table ip router {\n chain input {\n  type filter hook input priority filter; policy accept;\n"
	rules += "  iifname \"wan0\" ct state new drop\n }\n}\n"
	if block_udp:
		rules += "table inet firewall {\n chain forward {\n  type filter hook forward priority filter; policy accept;\n"
		rules += "  meta l4proto udp drop\n }\n}\n"
	return rules


## Both players connected through the TURN relay, reached over `relay_protocol`.
func _check_relayed(players: Array, relay_protocol: String) -> void:
	for player: Dictionary in players:
		var path: Dictionary = player.get("path", {})
		check(path.get("local_type") == "relay" or path.get("remote_type") == "relay",
				"player %s's path goes through the relay (%s)" % [player.get("id"), path])
	check(players.any(func(p: Dictionary) -> bool: return p.get("path", {}).get("local_type") == "relay"),
			"a player sends from its relayed address")
	for player: Dictionary in players:
		var path: Dictionary = player.get("path", {})
		if path.get("local_type") == "relay":
			check_eq(path.get("relay_protocol"), relay_protocol, "player %s reaches its TURN server over" % player.get("id"))


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
		var relay := ""
		if not str(path.get("relay_protocol", "")).is_empty():
			relay = " (TURN over %s)" % path["relay_protocol"]
		print("    player %d: %s %s/%s%s %s -> %s, setup %d ms" % [id, path.get("protocol", "?"),
				path.get("local_type", "?"), path.get("remote_type", "?"), relay,
				path.get("local_address", "?"), path.get("remote_address", "?"), player["setup_ms"]])
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
