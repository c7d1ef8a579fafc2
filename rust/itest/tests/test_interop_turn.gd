extends TestCase
## TURN: Debian's coturn on loopback with a user and password. With iceTransportPolicy
## "relay" a connection may only use relayed candidates; wrong credentials fail clearly.

const USER := "webrtc"
const PASSWORD := "s3cret"


## Starts coturn on 127.0.0.1; returns its turn: URL (empty on failure).
func _start_turn_server() -> String:
	var turnserver := OS.get_environment("WEBRTC_RS_TURNSERVER")
	if not check(not turnserver.is_empty(), "WEBRTC_RS_TURNSERVER is not set: run the suite through .ci/test, which installs coturn"):
		return ""
	var port := 20000 + randi() % 20000
	var relay_low := 40000 + randi() % 10000
	var pid := OS.create_process(turnserver, [
		"-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint", "--lt-cred-mech",
		"--realm", "webrtc_rs.test", "--user", "%s:%s" % [USER, PASSWORD],
		"--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port),
		"--min-port", str(relay_low), "--max-port", str(relay_low + 200),
		# Peers are on loopback here, which coturn refuses by default.
		"--allow-loopback-peers", "--no-multicast-peers",
		"--pidfile", OS.get_user_data_dir().path_join("turnserver-%d.pid" % port),
		"--log-file", "stdout", "--simple-log",
	])
	check(pid > 0, "could not start %s" % turnserver)
	track_process(pid)
	# Ready once it answers on its port; a first allocation attempt tells.
	return "turn:127.0.0.1:%d" % port


func _relay_config(url: String, password: String) -> Dictionary:
	return {
		"iceServers": [{"urls": [url], "username": USER, "credential": password}],
		"iceTransportPolicy": "relay",
		"webrtc_rs": {"interfaces": ["lo"]},
	}


func test_relay_only_connection_goes_through_coturn() -> void:
	var url := _start_turn_server()
	if url.is_empty():
		return
	# coturn takes a moment to listen: retry the whole connection until the deadline.
	var pair := make_pair(true, _relay_config(url, PASSWORD))
	pair.channel_a = pair.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
	pair.channel_b = pair.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var opened := await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"the channel to open through the relay", 30.0)
	check(pair.candidates_a.size() > 0 and pair.candidates_b.size() > 0,
			"both sides gathered candidates (%s / %s)" % [pair.candidates_a, pair.candidates_b])
	for candidate in pair.candidates_a + pair.candidates_b:
		check(candidate.contains(" typ relay"), "only relayed candidates are offered: %s" % candidate)
	if not opened:
		return
	pair.channel_a.put_packet("via coturn".to_utf8_buffer())
	var got := await receive(pair.channel_b, 1, "a relayed packet")
	if got.size() == 1:
		check_eq(got[0][0].get_string_from_utf8(), "via coturn", "relayed packet")


func test_wrong_turn_credentials_fail_with_a_clear_error() -> void:
	var url := _start_turn_server()
	if url.is_empty():
		return
	var pair := make_pair(true, _relay_config(url, "not-the-password"))
	pair.channel_a = pair.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
	pair.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
	errors.take()
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var logged := PackedStringArray()
	await wait_until(func() -> bool:
		logged.append_array(errors.take())
		return pair.a.get_connection_state() == WebRTCPeerConnection.STATE_FAILED,
		"the connection to fail", 20.0)
	check("".join(logged).contains("no TURN server granted an allocation"),
			"the error says why: %s" % logged)
	check_eq(pair.candidates_a, PackedStringArray(), "no candidates without a relay")
	check(pair.channel_a.get_ready_state() != WebRTCDataChannel.STATE_OPEN, "nothing opened")
	errors.take()
