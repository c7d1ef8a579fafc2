extends SceneTree
## One side of a two-process benchmark, over this addon (WebRTC) or Godot's ENet:
##   godot --headless --path rust/itest -s res://bench/bench_peer.gd -- KEY=VALUE ...
## keys: transport=webrtc|enet, role=send|receive|ping|pong, result=FILE, and
##   webrtc: url=ws://… lobby=NAME   enet: port=N
##   send/receive: size=BYTES total=BYTES channel=reliable|unreliable
##   ping/pong: count=N
##   fps=N caps the frame rate (default 1000: a spinning main loop would take a core from the
##   network threads on a 2-core machine; the uncapped latency runs pass fps=0 on purpose)
## The measuring side (receive, ping) writes its figures to FILE as JSON and both quit.

var options := {}
var transport := ""
var role := ""
# WebRTC
var lobby_peer: LobbyPeer
var reliable: WebRTCDataChannel
var unreliable: WebRTCDataChannel
# ENet
var enet := ENetConnection.new()
var enet_peer: ENetPacketPeer
var _enet_inbox: Array[PackedByteArray] = []
# The benchmark
var _started := false
var _start_usec := 0
var _bytes := 0
var _messages := 0
var _sent := 0
var _rtts: Array[float] = []
var _ping_sent_usec := 0
var _done := false
var _deadline := Time.get_ticks_msec() + 300000


func _initialize() -> void:
	for arg in OS.get_cmdline_user_args():
		var parts := arg.split("=", true, 1)
		options[parts[0]] = parts[1] if parts.size() > 1 else ""
	transport = options["transport"]
	role = options["role"]
	Engine.max_fps = int(options.get("fps", "1000"))
	# A headless Godot cannot draw, so it sleeps low_processor_usage_mode_sleep_usec (6.9 ms)
	# after every frame whatever max_fps says. "Uncapped" means no sleep at all; with a cap,
	# Engine.max_fps alone paces the frames (as in a game with a window).
	OS.low_processor_usage_mode_sleep_usec = 0
	if transport == "webrtc":
		lobby_peer = LobbyPeer.new(options["url"], options["lobby"], TestCase.LOOPBACK, role in ["send", "ping"])
		reliable = lobby_peer.pc.create_data_channel("reliable", {"negotiated": true, "id": 1})
		unreliable = lobby_peer.pc.create_data_channel("unreliable",
				{"negotiated": true, "id": 2, "ordered": false, "maxRetransmits": 0})
	elif role in ["receive", "pong"]:
		enet.create_host_bound("127.0.0.1", int(options["port"]), 1, 2)
	else:
		enet.create_host(1, 2)
		enet_peer = enet.connect_to_host("127.0.0.1", int(options["port"]), 2)


func _process(_delta: float) -> bool:
	_pump()
	if not _ready_to_go():
		return Time.get_ticks_msec() > _deadline
	match role:
		"send":
			_send_bulk()
		"receive":
			_receive_bulk()
		"ping":
			_ping()
		"pong":
			_pong()
	return _done or Time.get_ticks_msec() > _deadline


func _pump() -> void:
	if transport == "webrtc":
		lobby_peer.poll()
		return
	while true:
		var event := enet.service(0)
		match event[0]:
			ENetConnection.EVENT_CONNECT:
				enet_peer = event[1]
			ENetConnection.EVENT_RECEIVE:
				_enet_inbox.append(event[1].get_packet())
			ENetConnection.EVENT_DISCONNECT:
				_done = true
			ENetConnection.EVENT_ERROR:
				_done = true
		if event[0] == ENetConnection.EVENT_NONE:
			break


func _ready_to_go() -> bool:
	if transport == "webrtc":
		return reliable.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and unreliable.get_ready_state() == WebRTCDataChannel.STATE_OPEN
	return enet_peer != null and enet_peer.get_state() == ENetPacketPeer.STATE_CONNECTED


func _unreliable_mode() -> bool:
	return options.get("channel", "reliable") == "unreliable"


func _put(data: PackedByteArray, use_unreliable := false) -> void:
	if transport == "webrtc":
		(unreliable if use_unreliable else reliable).put_packet(data)
	elif use_unreliable:
		enet_peer.send(1, data, ENetPacketPeer.FLAG_UNSEQUENCED | ENetPacketPeer.FLAG_UNRELIABLE_FRAGMENT)
	else:
		enet_peer.send(0, data, ENetPacketPeer.FLAG_RELIABLE)


## Every received packet: [data, was it on the unreliable channel].
func _take() -> Array:
	var out: Array = []
	if transport == "webrtc":
		for channel: WebRTCDataChannel in [reliable, unreliable]:
			while channel.get_available_packet_count() > 0:
				out.append([channel.get_packet(), channel == unreliable])
	else:
		for data in _enet_inbox:
			out.append([data, false])
		_enet_inbox.clear()
	return out


func _send_bulk() -> void:
	var size := int(options["size"])
	var total := int(options["total"])
	var payload := PackedByteArray()
	payload.resize(size)
	# Keep the send queue about 4 MiB deep (WebRTC reports it; ENet sends a bounded burst
	# per frame), so the sender never idles and memory stays bounded.
	var budget := 1 << 22
	if transport == "webrtc":
		budget -= reliable.get_buffered_amount() if not _unreliable_mode() else unreliable.get_buffered_amount()
	else:
		budget = 1 << 19
	while _sent < total and budget > 0:
		_put(payload, _unreliable_mode())
		_sent += size
		budget -= size
	if _sent >= total and not _started:
		_started = true
		# Tell the receiver how many messages went out (reliably, after the data).
		_put(("done %d" % (total / size)).to_utf8_buffer())
	for packet: Array in _take():
		if packet[0].get_string_from_utf8() == "received":
			_done = true


func _receive_bulk() -> void:
	var size := int(options["size"])
	var total := int(options["total"])
	for packet: Array in _take():
		var data: PackedByteArray = packet[0]
		if data.size() < 64 and data.get_string_from_utf8().begins_with("done "):
			if _unreliable_mode():
				_report({"sent": int(data.get_string_from_utf8().trim_prefix("done ")), "received": _messages,
						"seconds": (Time.get_ticks_usec() - _start_usec) / 1e6})
			continue
		if _start_usec == 0:
			_start_usec = Time.get_ticks_usec()
		_bytes += data.size()
		_messages += 1
	if not _unreliable_mode() and _bytes >= total and not _done:
		var seconds := (Time.get_ticks_usec() - _start_usec) / 1e6
		_report({"bytes": _bytes, "messages": _messages, "seconds": seconds,
				"mb_per_s": _bytes / seconds / 1e6, "messages_per_s": _messages / seconds, "size": size})


func _ping() -> void:
	var count := int(options["count"])
	for packet: Array in _take():
		_rtts.append((Time.get_ticks_usec() - _ping_sent_usec) / 1000.0)
		_ping_sent_usec = 0
	if _ping_sent_usec == 0:
		if _rtts.size() >= count:
			_rtts.sort()
			_report({"count": _rtts.size(), "median_ms": _rtts[_rtts.size() / 2],
					"p99_ms": _rtts[int(_rtts.size() * 0.99)], "fps": Engine.max_fps})
			return
		var ping := PackedByteArray()
		ping.resize(64)
		_ping_sent_usec = Time.get_ticks_usec()
		_put(ping)


func _pong() -> void:
	for packet: Array in _take():
		_put(packet[0])


func _report(figures: Dictionary) -> void:
	var file := FileAccess.open(options["result"], FileAccess.WRITE)
	file.store_string(JSON.stringify(figures))
	file.close()
	# Let the other side know, then stop.
	_put("received".to_utf8_buffer())
	_pump()
	_done = true
