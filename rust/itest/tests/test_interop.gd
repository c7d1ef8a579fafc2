extends TestCase
## Interop: this addon against other peers through demo_project's lobby server. The first
## row of the matrix is the addon against itself across the lobby, which also proves the
## harness (LobbyPeer) the other rows use.


func test_godot_to_godot_through_the_lobby() -> void:
	var url := start_signaling_server()
	var offerer := make_lobby_peer(url, "self", true)
	var answerer := make_lobby_peer(url, "self", false)
	var channel := offerer.pc.create_data_channel("hello", {"negotiated": true, "id": 9})
	var other := answerer.pc.create_data_channel("hello", {"negotiated": true, "id": 9})
	if not await wait_until(func() -> bool:
			return channel.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
					and other.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
			"the negotiated channel to open across the lobby"):
		return
	channel.put_packet("over the lobby".to_utf8_buffer())
	var got := await receive(other, 1, "a packet across the lobby")
	if got.size() == 1:
		check_eq(got[0][0].get_string_from_utf8(), "over the lobby", "packet")


## The echo-peer scenario against an echo peer written with this addon itself (a Godot
## process running interop/godot_echo_peer.gd), both roles: proves the scenario harness.
func test_echo_scenario_against_a_godot_echo_peer_we_offer() -> void:
	await _echo_against_godot(true)


func test_echo_scenario_against_a_godot_echo_peer_it_offers() -> void:
	await _echo_against_godot(false)


func _echo_against_godot(we_offer: bool) -> void:
	var url := start_signaling_server()
	var lobby := "godot-echo-%d" % randi()
	track_process(OS.create_process(godot_command(), ["--headless", "--path",
			ProjectSettings.globalize_path("res://"), "-s", "res://interop/godot_echo_peer.gd", "--",
			url, lobby, "answer" if we_offer else "offer"]))
	var peer := make_lobby_peer(url, lobby, we_offer)
	await EchoScenario.new(self, peer).run()
