extends TestCase
## A bad link: two Godot processes in two network namespaces of our own, joined by a veth
## pair whose both ends delay (20 ms) and lose (5 %) packets with tc netem — or, on kernels
## built without netem (as these machines' are), lose 5 % of UDP packets with an nftables
## `numgen random` rule and cap the rate with a tbf qdisc (queueing delay up to 50 ms). A reliable
## channel must deliver a multi-megabyte payload byte-exact; an unreliable one loses some
## and never stalls; cutting the link turns both sides DISCONNECTED, then FAILED, closes
## their channels, and their sockets go away. Skipped (with a message) only where the
## machine refuses `ip netns`.

const PAYLOAD := 2 * 1024 * 1024
const ADDRESS_A := "10.99.0.1"
const ADDRESS_B := "10.99.0.2"

var _namespaces: PackedStringArray = []


func test_reliable_and_unreliable_channels_over_a_lossy_link_then_a_cut() -> void:
	var tag := str(randi() % 100000)
	var ns_a := "wrtc-a-" + tag
	var ns_b := "wrtc-b-" + tag
	var veth_a := "wa" + tag
	var veth_b := "wb" + tag
	if _ip(["netns", "add", ns_a]) != 0:
		skip("this machine refuses `ip netns add` (needs root and network namespaces)")
		return
	_namespaces.append(ns_a)
	var setup := [
		["ip", "netns", "add", ns_b],
		["ip", "link", "add", veth_a, "netns", ns_a, "type", "veth", "peer", "name", veth_b, "netns", ns_b],
		["ip", "-n", ns_a, "addr", "add", ADDRESS_A + "/24", "dev", veth_a],
		["ip", "-n", ns_b, "addr", "add", ADDRESS_B + "/24", "dev", veth_b],
		["ip", "-n", ns_a, "link", "set", "lo", "up"],
		["ip", "-n", ns_b, "link", "set", "lo", "up"],
		["ip", "-n", ns_a, "link", "set", veth_a, "up"],
		["ip", "-n", ns_b, "link", "set", veth_b, "up"],
	]
	_namespaces.append(ns_b)
	for command: Array in setup:
		if not check_eq(_run(command), 0, "`%s`" % " ".join(command)):
			return
	for side: Array in [[ns_a, veth_a], [ns_b, veth_b]]:
		if not _impair(side[0], side[1]):
			return
	var port := server_port()
	var url := "ws://%s:%d" % [ADDRESS_A, port]
	var godot := godot_command()
	track_process(OS.create_process("ip", ["netns", "exec", ns_a, godot, "--headless", "--path",
			demo_project_path(), "--", "--server", "--port", str(port), "--bind", ADDRESS_A]))
	var dir := OS.get_user_data_dir().path_join("link-" + tag)
	DirAccess.make_dir_recursive_absolute(dir)
	var status_a := dir.path_join("a.json")
	var status_b := dir.path_join("b.json")
	var itest := ProjectSettings.globalize_path("res://")
	for side: Array in [[ns_a, "send", veth_a, status_a], [ns_b, "receive", veth_b, status_b]]:
		track_process(OS.create_process("ip", ["netns", "exec", side[0], godot, "--headless", "--path", itest,
				"-s", "res://interop/link_peer.gd", "--", url, "link", side[1], side[2], side[3], str(PAYLOAD)]))
	var a := {}
	var b := {}
	var read := func() -> void:
		a.merge(_status(status_a), true)
		b.merge(_status(status_b), true)
	# 1. The payload arrives byte-exact over the lossy link.
	var started := Time.get_ticks_msec()
	var delivered := await wait_until(func() -> bool:
		read.call()
		return b.get("bytes", 0) == PAYLOAD and not str(b.get("sha256", "")).is_empty(),
		"%d bytes over the lossy link (receiver has %s)" % [PAYLOAD, b.get("bytes")], 90.0)
	if not delivered:
		return
	var seconds := (Time.get_ticks_msec() - started) / 1000.0
	print("    %d bytes over 20 ms / 5 %% loss each way in %.1f s (including setup)" % [PAYLOAD, seconds])
	check_eq(b["sha256"], a.get("payload_sha256"), "the receiver's hash equals the sender's")
	# 2. The unreliable channel loses some and keeps flowing.
	await wait_until(func() -> bool:
		read.call()
		return a.get("unreliable_sent", 0) >= 1000,
		"the sender's 1000 unreliable packets", 30.0)
	await wait_until(func() -> bool:
		read.call()
		return b.get("unreliable_received", 0) > 0 and Time.get_ticks_msec() - started > 0,
		"unreliable packets at the receiver", 5.0)
	var sent: int = a.get("unreliable_sent", 0)
	var received: int = b.get("unreliable_received", 0)
	print("    unreliable: %d of %d delivered, longest gap %d ms" % [received, sent, b.get("unreliable_stalled_ms", 0)])
	check(received < sent, "some unreliable packets were lost (%d of %d arrived)" % [received, sent])
	check(received > sent * 0.7, "most unreliable packets arrived (%d of %d)" % [received, sent])
	check(b.get("unreliable_stalled_ms", 0) < 1000, "the unreliable channel never stalled (longest gap %d ms)" % b.get("unreliable_stalled_ms", 0))
	# 3. Cut the link: DISCONNECTED, then FAILED, channels closed, sockets released.
	var cut_at := int(Time.get_unix_time_from_system() * 1000.0)
	check_eq(_run(["ip", "-n", ns_a, "link", "set", veth_a, "down"]), 0, "cutting the link")
	var failed := await wait_until(func() -> bool:
		read.call()
		return a.get("done", false) and b.get("done", false),
		"both sides to fail and clean up after the cut", 60.0)
	if not failed:
		print("    states after the cut: a %s, b %s" % [a.get("states"), b.get("states")])
		return
	for side: Array in [["sender", a], ["receiver", b]]:
		var states: Dictionary = side[1]["states"]
		var disconnected: int = states.get("connection:%d" % WebRTCPeerConnection.STATE_DISCONNECTED, -1)
		var failed_at: int = states.get("connection:%d" % WebRTCPeerConnection.STATE_FAILED, -1)
		check(disconnected > 0, "%s went DISCONNECTED (states %s)" % [side[0], states])
		check(failed_at > 0 and failed_at >= disconnected, "%s then went FAILED (states %s)" % [side[0], states])
		check(states.has("reliable:%d" % WebRTCDataChannel.STATE_CLOSED), "%s's reliable channel closed" % side[0])
		check(states.has("unreliable:%d" % WebRTCDataChannel.STATE_CLOSED), "%s's unreliable channel closed" % side[0])
		check(side[1]["fds_now"] <= side[1]["fds_start"], "%s released its sockets (fds %d at start, %d at the end)" % [side[0], side[1]["fds_start"], side[1]["fds_now"]])
		print("    %s: DISCONNECTED %.1f s and FAILED %.1f s after the cut" % [side[0],
				(disconnected - cut_at) / 1000.0, (failed_at - cut_at) / 1000.0])


## Makes `device` in `ns` a bad link in the outgoing direction.
func _impair(ns: String, device: String) -> bool:
	var netem := ["tc", "-n", ns, "qdisc", "add", "dev", device, "root", "netem", "delay", "20ms", "loss", "5%"]
	if _run(netem, true) == 0:
		print("    %s: netem delay 20 ms, loss 5 %%" % device)
		return true
	var nft := OS.get_environment("WEBRTC_RS_NFT")
	if not check(not nft.is_empty(), "no netem in this kernel and WEBRTC_RS_NFT is not set: run through .ci/test"):
		return false
	var commands := [
		[nft, "add", "table", "inet", "lossy"],
		[nft, "add", "chain", "inet", "lossy", "out", "{ type filter hook output priority 0; }"],
		[nft, "add", "rule", "inet", "lossy", "out", "meta", "l4proto", "udp", "numgen", "random", "mod", "100", "<", "5", "drop"],
	]
	for command: Array in commands:
		if not check_eq(_run(["ip", "netns", "exec", ns] + command), 0, "`%s`" % " ".join(command)):
			return false
	var tbf := ["tc", "-n", ns, "qdisc", "add", "dev", device, "root", "tbf", "rate", "20mbit", "burst", "32kbit", "latency", "50ms"]
	if not check_eq(_run(tbf), 0, "`%s`" % " ".join(tbf)):
		return false
	print("    %s: no netem in this kernel; nftables drops 5 %% of UDP, tbf caps at 20 Mbit/s" % device)
	return true


func _status(path: String) -> Dictionary:
	if not FileAccess.file_exists(path):
		return {}
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(path))
	return parsed if typeof(parsed) == TYPE_DICTIONARY else {}


func _ip(arguments: Array) -> int:
	return _run(["ip"] + arguments)


func _run(command: Array, quiet := false) -> int:
	var output: Array = []
	var code := OS.execute(command[0], PackedStringArray(command.slice(1)), output, true)
	if code != 0 and not quiet:
		print("    `%s` -> %d: %s" % [" ".join(command), code, "".join(output).strip_edges()])
	return code


func cleanup() -> void:
	await super.cleanup()
	for ns in _namespaces:
		_run(["ip", "netns", "delete", ns])
	_namespaces.clear()
