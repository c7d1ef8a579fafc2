class_name TestCase
extends RefCounted
## Base of every test file: assertions that record failures (and keep going), and waits
## that poll a condition every frame until a deadline, failing with a message.

const DEFAULT_TIMEOUT := 15.0
## Every connection a test makes stays on loopback, whatever the environment says.
const LOOPBACK := {"webrtc_rs": {"interfaces": ["lo"]}}

var tree: SceneTree
var errors: Logger
var failures: PackedStringArray = []
## Why the test was skipped ("" when it was not): only for what the machine refuses.
var skipped := ""
var _pairs: Array[PeerPair] = []
var _processes: Array[int] = []
var _lobby_peers: Array[LobbyPeer] = []


func skip(reason: String) -> void:
	skipped = reason


func check(condition: bool, message: String) -> bool:
	if not condition:
		failures.append(message)
	return condition


func check_eq(actual: Variant, expected: Variant, what: String) -> bool:
	return check(typeof(actual) == typeof(expected) and actual == expected,
			"%s: expected %s, got %s" % [what, var_to_str(expected), var_to_str(actual)])


## Runs `action` and checks that it reported an error containing `fragment`; returns what
## the action returned.
func expect_error(action: Callable, fragment: String) -> Variant:
	errors.take()
	var result: Variant = action.call()
	var logged: PackedStringArray = errors.take()
	var found := false
	for message in logged:
		if message.contains(fragment):
			found = true
	check(found, "expected an error mentioning '%s', got %s" % [fragment, logged])
	return result


## Polls every pair of this test each frame until `condition` holds or `timeout` seconds pass.
func wait_until(condition: Callable, what: String, timeout := DEFAULT_TIMEOUT) -> bool:
	var deadline := Time.get_ticks_msec() + int(timeout * 1000.0)
	while true:
		for pair in _pairs:
			pair.poll()
		for peer in _lobby_peers:
			peer.poll()
		if condition.call():
			return true
		if Time.get_ticks_msec() > deadline:
			failures.append("timed out after %.1fs waiting for %s" % [timeout, what])
			return false
		await tree.process_frame
	return false


func make_pair(auto_relay := true, config := LOOPBACK) -> PeerPair:
	var pair := PeerPair.new(config, auto_relay)
	_pairs.append(pair)
	return pair


## A pair connected through an in-band channel "chat" (or the given options); returns the
## pair with `channel_a` / `channel_b` set, or null after recording a failure.
func connected_pair(options := {}) -> PeerPair:
	var pair := make_pair()
	pair.channel_a = pair.a.create_data_channel("chat", options)
	if not check(pair.channel_a != null, "create_data_channel returned null"):
		return null
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var opened := await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.received_b.size() == 1 \
				and pair.received_b[0].get_ready_state() == WebRTCDataChannel.STATE_OPEN,
			"the in-band channel to open on both sides")
	if not opened:
		return null
	pair.channel_b = pair.received_b[0]
	return pair


## Receives `count` packets on `channel`, polling the pairs; returns them in arrival order
## as [bytes, was_string] entries.
func receive(channel: WebRTCDataChannel, count: int, what: String) -> Array:
	var got: Array = []
	await wait_until(func() -> bool:
		while channel.get_available_packet_count() > 0:
			var packet := channel.get_packet()
			got.append([packet, channel.was_string_packet()])
		return got.size() >= count,
		"%d packets (%s)" % [count, what])
	return got


## The Godot command that works for starting more Godot processes.
static func godot_command() -> String:
	var godot := OS.get_environment("GODOT_EXECUTABLE")
	return godot if not godot.is_empty() else OS.get_executable_path()


## nftables rule dropping `percent` % of all UDP packets at random ("" for none).
static func loss_rule(percent: int) -> String:
	return "meta l4proto udp numgen random mod 100 '<' %d drop" % percent if percent > 0 else ""


## Starts lossy_peer.gd with `peer_args` in a network namespace of its own whose loopback drops
## what the nftables `rule` matches (nothing if empty; WEBRTC_RS_NFT names nft), its output to
## the file `log`; returns the process id. Used by test_lossy_links.gd and the benchmark.
static func start_lossy_peer(rule: String, log: String, peer_args: Array) -> int:
	var script := "ip link set lo up"
	if not rule.is_empty():
		script += (" && \"$1\" add table inet lossy"
				+ " && \"$1\" add chain inet lossy out '{ type filter hook output priority 0; }'"
				+ " && \"$1\" add rule inet lossy out " + rule)
	# Every dropped packet is a failed send that webrtc-rs logs as an error: the output goes
	# to a file, for the caller to show if something fails.
	script += " && log=\"$2\" && shift 2 && exec \"$@\" > \"$log\" 2>&1"
	return OS.create_process("unshare", ["--net", "--", "sh", "-c", script, "sh",
			OS.get_environment("WEBRTC_RS_NFT"), log, godot_command(), "--headless", "--path",
			ProjectSettings.globalize_path("res://"), "-s", "res://lossy_peer.gd", "--"] + peer_args)


static func demo_project_path() -> String:
	return ProjectSettings.globalize_path("res://").path_join("../../demo_project").simplify_path()


## A free-ish port for a TCP server another process starts: below Linux's ephemeral range
## (32768-60999), so a client that connects before the server listens is never given that same
## port as its source, which connects it to itself (TCP simultaneous open: under qemu a lobby
## peer's WebSocket read back its own GET).
static func server_port() -> int:
	return 20000 + randi() % 12000


## Starts the addon's lobby server (addons/webrtc_rs/lobby/lobby_server.gd) on a free-ish
## port, with `extra` switches; returns its ws:// URL. The process is killed when the test ends.
func start_signaling_server(extra: Array = []) -> String:
	var port := server_port()
	var pid := OS.create_process(godot_command(), lobby_server_args(port, extra))
	check(pid > 0, "could not start the lobby server")
	track_process(pid)
	return "ws://127.0.0.1:%d" % port


## The command-line arguments that run the addon's lobby server on 127.0.0.1:`port`.
static func lobby_server_args(port: int, extra: Array = []) -> Array:
	return ["--headless", "--path", ProjectSettings.globalize_path("res://"), "-s",
			"res://addons/webrtc_rs/lobby/lobby_server.gd", "--", "--port", str(port),
			"--bind", "127.0.0.1", "--quiet"] + extra


## Waits until something accepts TCP connections on 127.0.0.1:`port` (a server another
## process starts), for a client that does not retry; returns whether it did in time.
func wait_for_tcp(port: int, what: String, timeout := 10.0) -> bool:
	var probe := [StreamPeerTCP.new()]
	var up := await wait_until(func() -> bool:
		var tcp: StreamPeerTCP = probe[0]
		tcp.poll()
		match tcp.get_status():
			StreamPeerTCP.STATUS_CONNECTED:
				return true
			StreamPeerTCP.STATUS_NONE, StreamPeerTCP.STATUS_ERROR:
				probe[0] = StreamPeerTCP.new()
				probe[0].connect_to_host("127.0.0.1", port)
		return false,
		what, timeout)
	probe[0].disconnect_from_host()
	return up


## A WebSocket to `url`, open (retrying while the server starts), or null after recording a
## failure.
func open_websocket(url: String) -> WebSocketPeer:
	var socket := WebSocketPeer.new()
	var opened := await wait_until(func() -> bool:
		socket.poll()
		if socket.get_ready_state() == WebSocketPeer.STATE_CLOSED:
			socket.connect_to_url(url)  # The server may still be starting.
		return socket.get_ready_state() == WebSocketPeer.STATE_OPEN,
		"a WebSocket to %s" % url, 10.0)
	return socket if opened else null


## The next message `socket` receives, parsed ({"unparsed": ...} if it is not a JSON object);
## {} after recording a failure if none comes within 5 s.
func next_message(socket: WebSocketPeer, what: String, timeout := 5.0) -> Dictionary:
	var message := {}  # Filled in place: lambdas capture locals by value.
	await wait_until(func() -> bool:
		socket.poll()
		if socket.get_available_packet_count() == 0:
			return false
		var parsed: Variant = JSON.parse_string(socket.get_packet().get_string_from_utf8())
		message.merge(parsed if typeof(parsed) == TYPE_DICTIONARY else {"unparsed": parsed})
		return true,
		what, timeout)
	return message

## Kills `pid` when the test ends.
func track_process(pid: int) -> void:
	if pid > 0:
		_processes.append(pid)


## Kills a tracked process now (asking Godot about it afterwards would log an error).
func kill_process(pid: int) -> void:
	OS.kill(pid)
	_processes.erase(pid)


## A connection that meets its partner in `lobby`; polled by wait_until, closed at the end.
func make_lobby_peer(url: String, lobby: String, offers: bool, config := LOOPBACK) -> LobbyPeer:
	var peer := LobbyPeer.new(url, lobby, config, offers)
	_lobby_peers.append(peer)
	return peer


func cleanup() -> void:
	for pair in _pairs:
		pair.close()
	_pairs.clear()
	for peer in _lobby_peers:
		peer.close()
		for error in peer.errors:
			failures.append("lobby peer: " + error)
	_lobby_peers.clear()
	for pid in _processes:
		if OS.is_process_running(pid):
			OS.kill(pid)
	_processes.clear()
