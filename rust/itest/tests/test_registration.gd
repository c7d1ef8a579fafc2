extends TestCase
## The addon is loaded and is what Godot's own WebRTC classes build.


func test_new_peer_connection_is_ours() -> void:
	var pc := WebRTCPeerConnection.new()
	check_eq(pc.get_class(), "WebRTCRsPeerConnection", "class of WebRTCPeerConnection.new()")
	check_eq(pc.get_connection_state(), WebRTCPeerConnection.STATE_NEW, "connection state")
	check_eq(pc.get_gathering_state(), WebRTCPeerConnection.GATHERING_STATE_NEW, "gathering state")
	check_eq(pc.get_signaling_state(), WebRTCPeerConnection.SIGNALING_STATE_STABLE, "signaling state")


func test_channels_are_ours_and_usable_without_initialize() -> void:
	var pc := WebRTCPeerConnection.new()
	var channel := pc.create_data_channel("x")
	if check(channel != null, "create_data_channel without initialize() returned null"):
		check_eq(channel.get_class(), "WebRTCRsDataChannel", "channel class")
		check_eq(channel.get_ready_state(), WebRTCDataChannel.STATE_CONNECTING, "ready state")
	pc.close()


func test_multiplayer_peer_channels_keep_their_reliability() -> void:
	# WebRTCMultiplayerPeer spells the option "maxPacketLifetime"; ignoring that spelling
	# would make its unreliable channels reliable.
	var multiplayer_peer := WebRTCMultiplayerPeer.new()
	check_eq(multiplayer_peer.create_mesh(1), OK, "create_mesh")
	var pc := WebRTCPeerConnection.new()
	pc.initialize(LOOPBACK)
	check_eq(multiplayer_peer.add_peer(pc, 2, 50), OK, "add_peer")
	var channels: Array = multiplayer_peer.get_peer(2)["channels"]
	check_eq(channels.size(), 3, "channel count")
	if channels.size() != 3:
		return
	var reliable: WebRTCDataChannel = channels[0]
	var ordered: WebRTCDataChannel = channels[1]
	var unreliable: WebRTCDataChannel = channels[2]
	check_eq(reliable.get_max_packet_life_time(), 65535, "reliable: maxPacketLifeTime")
	check_eq(reliable.get_max_retransmits(), 65535, "reliable: maxRetransmits")
	check_eq(reliable.is_ordered(), true, "reliable: ordered")
	check_eq(ordered.get_max_packet_life_time(), 50, "unreliable ordered: maxPacketLifeTime")
	check_eq(ordered.is_ordered(), true, "unreliable ordered: ordered")
	check_eq(unreliable.get_max_packet_life_time(), 50, "unreliable: maxPacketLifeTime")
	check_eq(unreliable.is_ordered(), false, "unreliable: ordered")
	for channel: WebRTCDataChannel in channels:
		check_eq(channel.is_negotiated(), true, "%s: negotiated" % channel.get_label())
	check_eq([reliable.get_id(), ordered.get_id(), unreliable.get_id()], [1, 2, 3], "ids")
	multiplayer_peer.close()
