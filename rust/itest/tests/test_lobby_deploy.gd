extends TestCase
## The lobby's deployment files as they ship in addons/webrtc_rs/lobby/deploy/: nginx in front
## of two lobby servers, routing by the lobby name in the URL path (Debian's nginx, run
## unprivileged on loopback from a scratch folder), the systemd unit's and the Dockerfile's
## command lines run as written. WEBRTC_RS_NGINX and WEBRTC_RS_SYSTEMD_ANALYZE name the tools
## (.ci/test installs them from Debian).

const DEPLOY := "res://addons/webrtc_rs/lobby/deploy"
const LOBBIES := 20
## Where the unit and the Dockerfile expect Godot and the project; replaced by this suite's.
const SHIPPED_GODOT := "/usr/local/bin/godot"
const SHIPPED_PROJECT := "/opt/webrtc-lobby"
## The uid and gid nginx runs as when the suite runs as root (nobody, nogroup).
const UNPRIVILEGED := "65534"

var _scratch_dirs: Array[String] = []


static func _deploy_file(name: String) -> String:
	return FileAccess.get_file_as_string(ProjectSettings.globalize_path(DEPLOY).path_join(name))


## A fresh scratch folder under /tmp (which an unprivileged nginx can reach, unlike user://
## under root's home), removed when the test ends.
func _scratch(what: String) -> String:
	var output := []
	if not check(OS.execute("mktemp", ["-d", "/tmp/webrtc-lobby-%s.XXXXXX" % what], output) == 0, "mktemp failed"):
		return ""
	var dir: String = output[0].strip_edges()
	_scratch_dirs.append(dir)
	return dir


func cleanup() -> void:
	super()
	for dir in _scratch_dirs:
		if dir.begins_with("/tmp/webrtc-lobby-"):
			OS.execute("rm", ["-rf", dir])


## Starts a lobby server (lobby_server.gd, loopback, quiet) on `port` printing its counters
## every half second to the file `log`, with `extra` switches; returns its pid once it listens
## (0 after a failure).
func _lobby_server(port: int, log: String, extra: Array = []) -> int:
	var pid := OS.create_process("sh", ["-c", 'log="$1"; shift; exec "$@" > "$log" 2>&1', "sh", log,
			godot_command()] + lobby_server_args(port, ["--stats-interval", "0.5"] + extra))
	if not check(pid > 0, "could not start a lobby server"):
		return 0
	track_process(pid)
	return pid if await wait_for_tcp(port, "the lobby server on %d to listen" % port) else 0


## The last counters line ("[lobby server] stats {...}") in a server's output, parsed ({} if none).
static func _last_stats(log: String) -> Dictionary:
	var lines := FileAccess.get_file_as_string(log).split("\n")
	lines.reverse()
	for line in lines:
		if line.begins_with("[lobby server] stats "):
			var parsed: Variant = JSON.parse_string(line.trim_prefix("[lobby server] stats "))
			return parsed if parsed is Dictionary else {}
	return {}


## `text` with `from` replaced by `to`, checking `from` occurs exactly once (a changed template
## fails here, not somewhere obscure).
func _replace_once(text: String, from: String, to: String) -> String:
	check_eq(text.count(from), 1, "occurrences of '%s' in the shipped file" % from)
	return text.replace(from, to)


## Runs the shipped nginx-lobby.conf in front of the servers on `ports` (`read_timeout` in place
## of its proxy_read_timeout if given), with TLS by a fresh
## self-signed certificate for 127.0.0.1; returns {"url": "wss://127.0.0.1:P", "cert", "dir"}
## ({} after a failure). nginx runs as nobody when the suite runs as root, with its prefix,
## temp folders, pid and logs in a scratch folder, and the shipped file included in a main
## configuration of the test's own.
func _nginx(ports: Array[int], read_timeout := "") -> Dictionary:
	var nginx := OS.get_environment("WEBRTC_RS_NGINX")
	if not check(not nginx.is_empty(), "WEBRTC_RS_NGINX is not set: run the suite through .ci/test, which installs nginx"):
		return {}
	var dir := _scratch("nginx")
	if dir.is_empty():
		return {}
	var crypto := Crypto.new()
	var key := crypto.generate_rsa(2048)
	var cert := crypto.generate_self_signed_certificate(key, "CN=127.0.0.1,O=webrtc_rs test,C=XX")
	check_eq(key.save(dir.path_join("lobby.key")), OK, "saving the key")
	check_eq(cert.save(dir.path_join("lobby.crt")), OK, "saving the certificate")
	var port := server_port()
	var site := _deploy_file("nginx-lobby.conf")
	site = _replace_once(site, "listen 443 ssl;", "listen 127.0.0.1:%d ssl;" % port)
	site = _replace_once(site, "server 127.0.0.1:9081;", "server 127.0.0.1:%d;" % ports[0])
	site = _replace_once(site, "server 127.0.0.1:9082;", "server 127.0.0.1:%d;" % ports[1])
	site = _replace_once(site, "/etc/letsencrypt/live/lobby.example.org/fullchain.pem", dir.path_join("lobby.crt"))
	site = _replace_once(site, "/etc/letsencrypt/live/lobby.example.org/privkey.pem", dir.path_join("lobby.key"))
	if not read_timeout.is_empty():
		site = _replace_once(site, "proxy_read_timeout 120s;", "proxy_read_timeout %s;" % read_timeout)
	# One process (no master and workers): the test's kill at the end stops all of nginx.
	var main := "\n".join([
		"daemon off;", "master_process off;", "pid %s/nginx.pid;" % dir, "error_log %s/error.log info;" % dir,
		"events { worker_connections 1024; }",
		"http {",
		"    access_log %s/access.log;" % dir,
		"    client_body_temp_path %s/client_body;" % dir, "    proxy_temp_path %s/proxy;" % dir,
		"    fastcgi_temp_path %s/fastcgi;" % dir, "    uwsgi_temp_path %s/uwsgi;" % dir, "    scgi_temp_path %s/scgi;" % dir,
		"    include %s/lobby.conf;" % dir,
		"}", ""])
	for entry: Array in [["lobby.conf", site], ["nginx.conf", main]]:
		var file := FileAccess.open(dir.path_join(entry[0]), FileAccess.WRITE)
		file.store_string(entry[1])
		file.close()
	var command: Array = [nginx, "-p", dir, "-e", dir.path_join("error.log"), "-c", dir.path_join("nginx.conf")]
	var uid := []
	OS.execute("id", ["-u"], uid)
	if uid[0].strip_edges() == "0":
		check_eq(OS.execute("chown", ["-R", "%s:%s" % [UNPRIVILEGED, UNPRIVILEGED], dir]), 0, "chown of the scratch folder")
		command = ["setpriv", "--reuid=" + UNPRIVILEGED, "--regid=" + UNPRIVILEGED, "--clear-groups", "--"] + command
	var output := []
	var code := OS.execute(command[0], command.slice(1) + ["-t"], output, true)
	if not check_eq(code, 0, "nginx -t on the shipped configuration (%s)" % "".join(output).strip_edges()):
		return {}
	var pid := OS.create_process(command[0], command.slice(1))
	if not check(pid > 0, "could not start nginx"):
		return {}
	track_process(pid)
	if not await wait_for_tcp(port, "nginx to listen"):
		failures.append("nginx's error log: " + FileAccess.get_file_as_string(dir.path_join("error.log")).right(800))
		return {}
	if command[0] == "setpriv":
		var owner := []
		OS.execute("ps", ["-o", "uid=", "-p", str(pid)], owner)
		check_eq(owner[0].strip_edges(), UNPRIVILEGED, "the uid nginx runs as")
	return {"url": "wss://127.0.0.1:%d" % port, "cert": cert, "dir": dir}


## Two lobby servers (with `extra` switches) and nginx in front (see _nginx);
## {"logs": [...], "pids": [...], "url", "cert", "dir"} ({} after a failure).
func _two_servers_behind_nginx(extra: Array = [], read_timeout := "") -> Dictionary:
	var ports: Array[int] = [server_port(), server_port()]
	while ports[1] == ports[0]:
		ports[1] = server_port()
	var logs: Array[String] = []
	var pids: Array[int] = []
	for port in ports:
		var log := OS.get_user_data_dir().path_join("lobby-deploy-%d.log" % port)
		logs.append(log)
		# As docs/lobby.md deploys them: nginx's X-Forwarded-For names each client.
		pids.append(await _lobby_server(port, log, ["--trusted-proxies", "127.0.0.1"] + extra))
		if pids.back() == 0:
			return {}
	var proxy := await _nginx(ports, read_timeout)
	if proxy.is_empty():
		return {}
	proxy["logs"] = logs
	proxy["pids"] = pids
	return proxy


# 20 lobbies of 2 or 3 members, every member connecting through nginx to /lobby/<name> and
# naming the same lobby in its join, or none (the path's then): the members of each lobby meet (ids 1..k, and each hears
# of every other), and the lobbies are spread over both servers (their counters).
func test_nginx_routes_each_lobby_to_one_of_two_servers() -> void:
	var proxy := await _two_servers_behind_nginx()
	if proxy.is_empty():
		return
	var joined := await _lobbies_meet(proxy, LOBBIES)
	print("    joins per server: %d and %d" % joined)
	check(joined[0] > 0 and joined[1] > 0, "the lobbies spread over both servers: %s joins" % [joined])


# With one of the two servers down, nginx sends its lobbies to the other, every member of a
# lobby alike: all lobbies still meet, all on the server that is up.
func test_nginx_sends_the_lobbies_of_a_server_that_is_down_to_the_other() -> void:
	var proxy := await _two_servers_behind_nginx()
	if proxy.is_empty():
		return
	kill_process(proxy["pids"][1])
	var joined := await _lobbies_meet(proxy, 10)
	check(joined[0] > 0 and joined[1] == 0, "every join on the server that is up: %s" % [joined])


## `count` lobbies of 2 or 3 members, each member connecting through the nginx of `proxy` to
## /lobby/<name> and naming the same lobby in its join (every second member an empty name,
## which the path fills in), all at once; checks that the members of each lobby
## meet (ids 1..k, each hears of every other) and that the servers' counters add up, each lobby
## on one server. Returns the joins each server counted.
func _lobbies_meet(proxy: Dictionary, count: int) -> Array:
	var tls := TLSOptions.client(proxy["cert"])
	var suffix := "%08x" % (randi() & 0x7fffffff)
	var members: Array[Dictionary] = []  # {"lobby", "socket", "sent", "joined", "peers"}
	var sizes := {}
	for lobby in count:
		var name := "game-%d-%s" % [lobby, suffix]
		sizes[name] = 2 + lobby % 2
		for i in sizes[name]:
			members.append({"lobby": name, "join_as": name if i % 2 == 0 else "", "socket": null, "sent": false,
					"joined": {}, "peers": {}})
	var started := Time.get_ticks_msec()
	var refused := []  # Members whose connection closed before they joined: no point waiting on.
	var met := await wait_until(func() -> bool:
		for member in members:
			var socket: WebSocketPeer = member["socket"]
			if socket == null:
				continue
			socket.poll()
			match socket.get_ready_state():
				WebSocketPeer.STATE_OPEN:
					if not member["sent"]:
						member["sent"] = true
						socket.send_text(JSON.stringify({"type": "join", "v": 1, "lobby": member["join_as"], "mode": "mesh"}))
				WebSocketPeer.STATE_CLOSED:
					if member["joined"].is_empty() and not refused.has(member):
						refused.append(member)
						failures.append("a client of %s was closed before it joined (code %d)" % [member["lobby"], socket.get_close_code()])
			while socket.get_available_packet_count() > 0:
				var message: Variant = JSON.parse_string(socket.get_packet().get_string_from_utf8())
				if message is Dictionary and message.get("type") == "joined":
					member["joined"] = message
				elif message is Dictionary and message.get("type") == "peer_connected":
					member["peers"][int(message["id"])] = true
				elif message is Dictionary and message.get("type") == "error":
					failures.append("%s: %s" % [member["lobby"], message])
		for member in members:
			if member["socket"] == null:
				var socket := WebSocketPeer.new()
				socket.connect_to_url("%s/lobby/%s" % [proxy["url"], member["lobby"]], tls)
				member["socket"] = socket
		return not refused.is_empty() or members.all(func(member: Dictionary) -> bool:
			return not member["joined"].is_empty() and member["peers"].size() == sizes[member["lobby"]] - 1),
		"%d clients of %d lobbies to meet through nginx" % [members.size(), count], 60.0)
	met = met and refused.is_empty()
	if met:
		print("    %d clients of %d lobbies joined and met through nginx (wss://) in %.2f s" % [
				members.size(), count, (Time.get_ticks_msec() - started) / 1000.0])
	var ids := {}
	for member in members:
		var joined: Dictionary = member["joined"]
		if joined.is_empty():
			continue
		check_eq(joined.get("lobby"), member["lobby"], "the lobby joined")
		ids["%s/%d" % [member["lobby"], int(joined["id"])]] = true
		var expected := {}
		for id in range(1, sizes[member["lobby"]] + 1):
			if id != int(joined["id"]):
				expected[id] = true
		check_eq(member["peers"], expected, "the peers %s/%d heard of" % [member["lobby"], int(joined["id"])])
	if met:
		check_eq(ids.size(), members.size(), "distinct (lobby, id) pairs: every lobby's ids are 1..k, all on one server")
	# The servers' counters: together every client's join, and each lobby on one server.
	var joins := [0, 0]
	var counted := await wait_until(func() -> bool:
		for i in 2:
			joins[i] = int(_last_stats(proxy["logs"][i]).get("joins", 0))
		return joins[0] + joins[1] == members.size(),
		"the two servers' counters to add up to %d joins" % members.size(), 5.0)
	if counted:
		var lobbies := 0
		for i in 2:
			lobbies += int(_last_stats(proxy["logs"][i]).get("lobbies", 0))
		check_eq(lobbies, count, "lobbies on the two servers together (each lobby on one server only)")
	for member in members:
		if member["socket"] != null:
			member["socket"].close()
	return joins


# The real client through nginx: two WebRTCLobbyClients join wss://.../lobby/<name> and
# connect over WebRTC; both joins land on the same one of the two servers.
func test_two_lobby_clients_connect_over_webrtc_through_nginx() -> void:
	var proxy := await _two_servers_behind_nginx()
	if proxy.is_empty():
		return
	var name := "webrtc-%08x" % (randi() & 0x7fffffff)
	var url := "%s/lobby/%s" % [proxy["url"], name]
	var clients: Array[WebRTCLobbyClient] = []
	for i in 2:
		var client := WebRTCLobbyClient.new()
		client.tls_options = TLSOptions.client(proxy["cert"])
		client.webrtc_rs_options = {"interfaces": ["lo"]}
		client.error.connect(func(message: String) -> void: failures.append("client %d: %s" % [i, message]))
		tree.root.add_child(client)
		clients.append(client)
		check_eq(client.join(url, name, "mesh"), OK, "join() %d" % i)
	var connected := await wait_until(func() -> bool:
		for client in clients:
			if client.multiplayer_peer == null:
				return false
			client.multiplayer_peer.poll()
		var ids := [clients[0].peer_id, clients[1].peer_id]
		if ids.has(0):
			return false
		var peer_0: WebRTCMultiplayerPeer = clients[0].multiplayer_peer
		var peer_1: WebRTCMultiplayerPeer = clients[1].multiplayer_peer
		return peer_0.has_peer(ids[1]) and peer_0.get_peer(ids[1])["connected"] \
				and peer_1.has_peer(ids[0]) and peer_1.get_peer(ids[0])["connected"],
		"the two clients to connect over WebRTC through nginx", 30.0)
	check(connected, "two WebRTCLobbyClients connected through nginx")
	check_eq([clients[0].lobby_name, clients[1].lobby_name], [name, name], "the lobby both joined")
	var joins := [0, 0]
	await wait_until(func() -> bool:
		for i in 2:
			joins[i] = int(_last_stats(proxy["logs"][i]).get("joins", 0))
		return joins[0] + joins[1] == 2,
		"the servers' counters to show the two joins", 5.0)
	check(joins == [2, 0] or joins == [0, 2], "both joins on one server: %s" % [joins])
	for client in clients:
		client.leave()
		client.queue_free()


# proxy_read_timeout closes a proxied connection on which the server sent nothing for that
# long; the lobby server's heartbeat pings keep a quiet member's open. The shipped timeout is
# above the default heartbeat interval; scaled down here (a 3 s timeout, pings every second), a
# joined, quiet member stays connected for more than two timeouts, and without pings nginx
# closes it.
func test_the_heartbeat_keeps_quiet_members_connected_through_nginx() -> void:
	var shipped := _deploy_file("nginx-lobby.conf").get_slice("proxy_read_timeout ", 1).get_slice("s;", 0)
	var server := WebRTCLobbyServer.new()
	check(shipped.is_valid_int() and int(shipped) > 2 * server.heartbeat_interval,
			"the shipped proxy_read_timeout (%s s) above twice the default heartbeat interval (%s s)" % [shipped, server.heartbeat_interval])
	server.free()
	for heartbeat: String in ["1", "0"]:
		var proxy := await _two_servers_behind_nginx(["--heartbeat-interval", heartbeat], "3s")
		if proxy.is_empty():
			return
		var name := "quiet-%08x" % (randi() & 0x7fffffff)
		var socket := WebSocketPeer.new()
		socket.connect_to_url("%s/lobby/%s" % [proxy["url"], name], TLSOptions.client(proxy["cert"]))
		if not await wait_until(func() -> bool:
			socket.poll()
			return socket.get_ready_state() == WebSocketPeer.STATE_OPEN,
			"a WebSocket through nginx"):
			return
		socket.send_text(JSON.stringify({"type": "join", "v": 1, "lobby": name, "mode": "mesh"}))
		check_eq((await next_message(socket, "joined")).get("id"), 1.0, "the member's id")
		# Quiet from here on; the socket is polled (it answers pings) until it closes or 7 s pass.
		var since := Time.get_ticks_msec()
		await wait_until(func() -> bool:
			socket.poll()
			while socket.get_available_packet_count() > 0:
				socket.get_packet()
			return socket.get_ready_state() == WebSocketPeer.STATE_CLOSED or Time.get_ticks_msec() - since > 7000,
			"the quiet member's connection to close or 7 s to pass", 12.0)
		var seconds := (Time.get_ticks_msec() - since) / 1000.0
		if heartbeat != "0":
			check_eq(socket.get_ready_state(), WebSocketPeer.STATE_OPEN, "with pings every %s s, the quiet member's connection after %.1f s" % [heartbeat, seconds])
		else:
			print("    without pings, nginx closed a quiet member's connection after %.1f s (proxy_read_timeout 3 s)" % seconds)
			check(socket.get_ready_state() == WebSocketPeer.STATE_CLOSED and seconds >= 2.5,
					"without pings nginx closes the quiet connection after its 3 s read timeout: closed %s after %.1f s" % [
					socket.get_ready_state() == WebSocketPeer.STATE_CLOSED, seconds])
		socket.close()


## The unit's ExecStart= split into words (the unit's command lines need no quoting).
static func _exec_start(unit: String) -> PackedStringArray:
	for line in unit.split("\n"):
		if line.begins_with("ExecStart="):
			return line.trim_prefix("ExecStart=").split(" ", false)
	return PackedStringArray()


## Values of `key=` lines of the unit, in order.
static func _unit_values(unit: String, key: String) -> PackedStringArray:
	var values := PackedStringArray()
	for line in unit.split("\n"):
		if line.begins_with(key + "="):
			values.append(line.trim_prefix(key + "="))
	return values


## The shipped command line `words` with this suite's Godot and project in place of the
## shipped paths; checks both occur.
func _with_local_paths(words: PackedStringArray) -> Array:
	check_eq(words[0], SHIPPED_GODOT, "the Godot the command runs")
	check(words.has(SHIPPED_PROJECT), "the command runs the project in %s: %s" % [SHIPPED_PROJECT, words])
	var local := Array(words).map(func(word: String) -> String:
		return ProjectSettings.globalize_path("res://") if word == SHIPPED_PROJECT else word)
	local[0] = godot_command()
	return local


## Runs `command` (the first word the program) with output to `log`, and checks it serves a
## lobby on `port` and prints readable counters; used for the unit's and the Dockerfile's lines.
## With `read_only` (a folder), the command sees that folder read-only, as a service with
## ProtectSystem=strict sees the project (in a mount namespace of its own, if the machine lets
## the suite make one).
func _serves_a_lobby(command: Array, port: int, log: String, read_only := "") -> void:
	var script := 'log="$1"; shift; exec "$@" > "$log" 2>&1'
	var program := "sh"
	var arguments := ["-c", script, "sh", log] + command
	if not read_only.is_empty():
		if OS.execute("unshare", ["--mount", "true"]) == 0:
			script = ('log="$1"; ro="$2"; shift 2; mount --bind "$ro" "$ro" && mount -o remount,bind,ro "$ro" || exit 97; '
					+ 'if touch "$ro/.write-probe" 2>/dev/null; then exit 98; fi; exec "$@" > "$log" 2>&1')
			program = "unshare"
			arguments = ["--mount", "--", "sh", "-c", script, "sh", log, read_only] + command
		else:
			print("    note: this machine refuses `unshare --mount`: the project is not made read-only")
	var pid := OS.create_process(program, arguments)
	if not check(pid > 0, "could not start %s" % [command]):
		return
	track_process(pid)
	if not await wait_for_tcp(port, "the server to listen on %d" % port, 20.0):
		if not OS.is_process_running(pid):
			# 97: the read-only mount failed; 98: the folder was writable all the same.
			failures.append("it exited with %d" % OS.get_process_exit_code(pid))
		failures.append("its output: " + FileAccess.get_file_as_string(log).right(800))
		return
	if program == "unshare":
		var mounts := []
		OS.execute("cat", ["/proc/%d/mountinfo" % pid], mounts)
		var read_only_mounted := Array(mounts[0].split("\n")).any(func(line: String) -> bool:
			var fields := line.split(" ")
			return fields.size() > 5 and fields[4] == read_only and fields[5].split(",").has("ro"))
		check(read_only_mounted, "the server ran with %s mounted read-only" % read_only)
	var url := "ws://127.0.0.1:%d" % port
	var a := await open_websocket(url)
	var b := await open_websocket(url)
	if a == null or b == null:
		return
	a.send_text(JSON.stringify({"type": "join", "v": 1, "lobby": "deployed", "mode": "mesh"}))
	check_eq((await next_message(a, "a's joined")).get("id"), 1.0, "the first member's id")
	b.send_text(JSON.stringify({"type": "join", "v": 1, "lobby": "deployed", "mode": "mesh"}))
	check_eq((await next_message(b, "b's joined")).get("id"), 2.0, "the second member's id")
	check_eq(await next_message(a, "a hears of b"), {"type": "peer_connected", "id": 2.0}, "the first member hears of the second")
	var stats := [{}]
	var printed := await wait_until(func() -> bool:
		stats[0] = _last_stats(log)
		return int(stats[0].get("joins", 0)) == 2,
		"a counters line showing the 2 joins", 5.0)
	if printed:
		check_eq(stats[0].get("peers"), 2.0, "peers in the counters")
		check_eq(stats[0].get("lobbies"), 1.0, "lobbies in the counters")
		check_eq(stats[0].get("connections"), 2.0, "connections in the counters")
	a.close()
	b.close()


# The systemd unit: systemd-analyze verify accepts it (with this suite's Godot for the
# unit's, which is what verify checks exists), it restarts on failure, allows 10 000+ open
# files and runs as an unprivileged dynamic user; its ExecStart line, run as written with
# the unit's environment and the project read-only, serves a lobby and prints counters.
func test_the_systemd_unit_verifies_and_its_command_serves_a_lobby() -> void:
	var unit := _deploy_file("webrtc-lobby@.service")
	var words := _exec_start(unit)
	if not check(words.size() > 4, "the unit has an ExecStart= line"):
		return
	check_eq(_unit_values(unit, "Restart"), PackedStringArray(["on-failure"]), "Restart=")
	check_eq(_unit_values(unit, "DynamicUser"), PackedStringArray(["yes"]), "DynamicUser=")
	var nofile := _unit_values(unit, "LimitNOFILE")
	check(nofile.size() == 1 and int(nofile[0]) >= 10000, "LimitNOFILE= of at least 10000: %s" % nofile)
	for option in ["NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet="]:
		check(unit.split("\n").has(option), "the unit sets %s" % option)
	var analyze := OS.get_environment("WEBRTC_RS_SYSTEMD_ANALYZE")
	if check(not analyze.is_empty(), "WEBRTC_RS_SYSTEMD_ANALYZE is not set: run the suite through .ci/test"):
		var dir := _scratch("unit")
		var file := FileAccess.open(dir.path_join("webrtc-lobby@.service"), FileAccess.WRITE)
		file.store_string(_replace_once(unit, "ExecStart=" + SHIPPED_GODOT + " ", "ExecStart=" + godot_command() + " "))
		file.close()
		var output := []
		var code := OS.execute(analyze, ["verify", dir.path_join("webrtc-lobby@9080.service")], output, true)
		check_eq(code, 0, "systemd-analyze verify (%s)" % "".join(output).strip_edges())
		check_eq("".join(output).strip_edges(), "", "systemd-analyze verify's complaints")
	# ExecStart as systemd would run it for webrtc-lobby@PORT, with LOBBY_OPTIONS (which
	# /etc/webrtc-lobby/lobby.env sets) keeping it on loopback and printing counters each second.
	var port := server_port()
	var state := _scratch("state")
	var command := []
	for word in _with_local_paths(words):
		if word == "$LOBBY_OPTIONS":
			command += ["--bind", "127.0.0.1", "--stats-interval", "1"]
		else:
			command.append(word.replace("%i", str(port)))
	check(not " ".join(command).contains("%") and not " ".join(command).contains("$"),
			"every specifier and variable of ExecStart= is known to this test: %s" % [command])
	var environment := ["env"]
	for assignment in " ".join(_unit_values(unit, "Environment")).split(" ", false):
		if not assignment.ends_with("="):
			environment.append(assignment.replace("%S/webrtc-lobby-%i", state))
	check(environment.size() > 1 and not " ".join(environment).contains("%"), "the unit's environment: %s" % [environment])
	var repo := ProjectSettings.globalize_path("res://").path_join("../..").simplify_path()
	await _serves_a_lobby(environment + command, port, state.path_join("lobby.log"), repo)


# The Dockerfile (which cannot be built here: no Docker daemon): its ENTRYPOINT and CMD are
# the systemd unit's command line on the port it EXPOSEs and its HEALTHCHECK probes, it runs
# as a user of its own, pins Godot by checksum and imports the project at build time; that
# command line, run here, serves a lobby.
func test_the_dockerfile_runs_the_units_command() -> void:
	var dockerfile := _deploy_file("Dockerfile")
	var lines := dockerfile.replace("\\\n", " ").split("\n")
	var entrypoint: Variant = null
	var cmd: Variant = null
	var exposed := []
	var user := ""
	var healthcheck := ""
	for line in lines:
		if line.begins_with("ENTRYPOINT "):
			entrypoint = JSON.parse_string(line.trim_prefix("ENTRYPOINT "))
		elif line.begins_with("CMD "):
			cmd = JSON.parse_string(line.trim_prefix("CMD "))
		elif line.begins_with("EXPOSE "):
			exposed.append(line.trim_prefix("EXPOSE ").strip_edges())
		elif line.begins_with("USER "):
			user = line.trim_prefix("USER ").strip_edges()
		elif line.begins_with("HEALTHCHECK "):
			healthcheck = line
	if not check(entrypoint is Array and cmd is Array, "exec-form ENTRYPOINT and CMD (JSON arrays): %s %s" % [entrypoint, cmd]):
		return
	var words := PackedStringArray(entrypoint + cmd)
	check(user != "" and user != "root" and user != "0", "the image runs as a user of its own: USER %s" % user)
	check_eq(exposed, ["9080"], "EXPOSE")
	check(healthcheck.contains("127.0.0.1/9080"), "the HEALTHCHECK probes port 9080: %s" % healthcheck)
	for arch in ["X86_64", "ARM64"]:
		var sha := dockerfile.get_slice("ARG GODOT_SHA256_%s=" % arch, 1).get_slice("\n", 0).strip_edges()
		check(sha.length() == 64 and sha.is_valid_hex_number(), "Godot for %s pinned by a SHA-256: '%s'" % [arch, sha])
	check(dockerfile.contains("sha256sum -c"), "the download is checked against it")
	# Every RUN is shell syntax /bin/sh accepts (what Docker runs it with). From a file: OS.execute
	# with output passes its arguments through a shell, which would expand the $ in them.
	var runs := 0
	var dir := _scratch("docker")
	for line in lines:
		if line.begins_with("RUN "):
			runs += 1
			var file := FileAccess.open(dir.path_join("run-%d.sh" % runs), FileAccess.WRITE)
			file.store_string(line.trim_prefix("RUN ") + "\n")
			file.close()
			var output := []
			var code := OS.execute("sh", ["-n", dir.path_join("run-%d.sh" % runs)], output, true)
			check_eq(code, 0, "sh -n on the Dockerfile's %s (%s)" % [line.left(60), "".join(output).strip_edges()])
	check(runs >= 3, "the Dockerfile's RUN lines: %d" % runs)
	check(dockerfile.contains("--import"), "the project is imported at build time (registers the extension)")
	check(_deploy_file("Dockerfile.dockerignore").split("\n").has(".godot/"), "the build context leaves out .godot/")
	# The same command as the unit's for webrtc-lobby@9080 without extra options.
	var unit_words := Array(_exec_start(_deploy_file("webrtc-lobby@.service"))) \
			.filter(func(word: String) -> bool: return word != "$LOBBY_OPTIONS") \
			.map(func(word: String) -> String: return word.replace("%i", "9080"))
	check_eq(Array(words), unit_words, "the Dockerfile's command line against the unit's")
	# Run here, on loopback on a free port (later switches win), counters every second.
	var port := server_port()
	await _serves_a_lobby(_with_local_paths(words) + ["--port", str(port), "--bind", "127.0.0.1", "--stats-interval", "1"],
			port, dir.path_join("lobby.log"))
