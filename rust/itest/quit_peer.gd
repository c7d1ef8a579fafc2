extends SceneTree
## Quits at a random moment of a live connection without closing anything, run as its own
## Godot process by test_reliability.gd:
##   godot --headless --path rust/itest -s res://quit_peer.gd -- SEED
## Two connections in this process (an in-band and a negotiated channel) connect and send to
## each other every frame; at a random frame between 0 and 90 (before, during or after the
## connection comes up), with a random extra action first (a channel closed, one side
## closed, one side freed, a burst of packets queued), the process quits. The test checks
## that it exits with 0, promptly, and that no panic was printed.

var rng := RandomNumberGenerator.new()
var pair: PeerPair
var quit_at := 0
var frame := 0
var action := 0


func _initialize() -> void:
	rng.seed = int(OS.get_cmdline_user_args()[0])
	quit_at = rng.randi_range(0, 90)
	action = rng.randi() % 5
	pair = PeerPair.new(TestCase.LOOPBACK, true)
	pair.channel_a = pair.a.create_data_channel("in-band")
	pair.a.create_data_channel("negotiated", {"negotiated": true, "id": 5})
	pair.b.create_data_channel("negotiated", {"negotiated": true, "id": 5})
	pair.a.create_offer()


func _process(_delta: float) -> bool:
	if pair.a != null:
		pair.poll()
	for channel: WebRTCDataChannel in [pair.channel_a] + pair.received_b:
		if channel != null and channel.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
			channel.put_packet(PackedByteArray([frame % 256]))
	frame += 1
	if frame < quit_at:
		return false
	match action:
		0:
			pass
		1:
			if pair.channel_a != null:
				pair.channel_a.close()
		2:
			pair.b.close()
		3:
			PeerPair.disconnect_handlers(pair.a)
			pair.a = null
			pair.channel_a = null
		4:
			if pair.channel_a != null and pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN:
				var packet := PackedByteArray()
				packet.resize(60000)
				for i in 50:
					pair.channel_a.put_packet(packet)
	print("quit_peer: quitting at frame %d (action %d, a %s)" % [frame, action,
			"freed" if pair.a == null else str(pair.a.get_connection_state())])
	return true
