extends SceneTree
## An echo peer (interop/README.md) written with this addon, run as its own Godot process:
##   godot --headless --path rust/itest -s res://interop/godot_echo_peer.gd -- URL LOBBY offer|answer
## It is the reference for the contract the other stacks' echo peers follow. Quits after
## 60 s or when the partner goes away.

var peer: LobbyPeer
var channels: Array[WebRTCDataChannel] = []
var greeted := {}
var started := Time.get_ticks_msec()


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	var offers := args[2] == "offer"
	peer = LobbyPeer.new(args[0], args[1], TestCase.LOOPBACK, offers)
	channels.append(peer.pc.create_data_channel("echo-negotiated", EchoScenario.NEGOTIATED))
	if offers:
		channels.append(peer.pc.create_data_channel("echo-reliable"))
		channels.append(peer.pc.create_data_channel("echo-unordered", EchoScenario.UNORDERED))
	peer.pc.data_channel_received.connect(func(channel: WebRTCDataChannel) -> void: channels.append(channel))


func _process(_delta: float) -> bool:
	peer.poll()
	for channel in channels:
		if channel.get_ready_state() != WebRTCDataChannel.STATE_OPEN:
			continue
		if not greeted.has(channel.get_label()):
			greeted[channel.get_label()] = true
			channel.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT
			channel.put_packet(("hello " + JSON.stringify(_view(channel))).to_utf8_buffer())
		while channel.get_available_packet_count() > 0:
			var data := channel.get_packet()
			channel.write_mode = WebRTCDataChannel.WRITE_MODE_TEXT if channel.was_string_packet() else WebRTCDataChannel.WRITE_MODE_BINARY
			channel.put_packet(data)
	var gone := peer.pc.get_connection_state() in [WebRTCPeerConnection.STATE_DISCONNECTED,
			WebRTCPeerConnection.STATE_FAILED, WebRTCPeerConnection.STATE_CLOSED]
	if gone or Time.get_ticks_msec() - started > 60000:
		peer.close()
		return true  # Quit.
	return false


static func _view(channel: WebRTCDataChannel) -> Dictionary:
	return {
		"label": channel.get_label(),
		"ordered": channel.is_ordered(),
		"maxRetransmits": null if channel.get_max_retransmits() == 65535 else channel.get_max_retransmits(),
		"maxPacketLifeTime": null if channel.get_max_packet_life_time() == 65535 else channel.get_max_packet_life_time(),
		"protocol": channel.get_protocol(),
		"negotiated": channel.is_negotiated(),
		"id": null if channel.get_id() == 65535 else channel.get_id(),
	}
