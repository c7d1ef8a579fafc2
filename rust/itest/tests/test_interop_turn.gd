extends TestCase
## TURN: Debian's coturn on loopback with a user and password (turn_server.gd). With
## iceTransportPolicy "relay" a connection may only use relayed candidates; wrong credentials
## fail clearly. The client reaches coturn over UDP, over TCP (`turn:…?transport=tcp`) or over
## TLS (`turns:`); for the last two coturn has no UDP listener at all.


func test_relay_only_connection_goes_through_coturn() -> void:
	await _relay_only_connection("udp")


func test_relay_only_connection_over_tcp() -> void:
	await _relay_only_connection("tcp")


func test_relay_only_connection_over_tls() -> void:
	await _relay_only_connection("tls")


## turns: verifies the server's certificate: one signed by a CA the platform does not trust
## gets no allocation.
func test_turns_refuses_an_untrusted_certificate() -> void:
	var server := TurnServer.start(self, "tls")
	if server["url"].is_empty():
		return
	# Trusting only a CA that did not sign coturn's certificate.
	var other := OS.get_user_data_dir().path_join("turn-tls-untrusted-%d" % randi())
	if not check(TurnServer._make_certificates(other), "a second CA"):
		return
	await _expect_no_allocation(server["url"], TurnServer.PASSWORD, other.path_join("ca.pem"))


func test_wrong_turn_credentials_fail_with_a_clear_error() -> void:
	var url: String = TurnServer.start(self)["url"]
	if url.is_empty():
		return
	await _expect_no_allocation(url, "not-the-password", "")


func test_wrong_turn_credentials_over_tcp_fail_with_a_clear_error() -> void:
	var url: String = TurnServer.start(self, "tcp")["url"]
	if url.is_empty():
		return
	await _expect_no_allocation(url, "not-the-password", "")


func _relay_only_connection(transport: String) -> void:
	var server := TurnServer.start(self, transport)
	var url: String = server["url"]
	if url.is_empty():
		return
	var restore := _trust(server["ca_file"])
	# coturn takes a moment to listen on UDP: the deadline covers the client's retransmissions.
	var pair := make_pair(true, TurnServer.relay_config(url, TurnServer.PASSWORD))
	pair.channel_a = pair.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
	pair.channel_b = pair.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
	var started := Time.get_ticks_msec()
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var opened := await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"the channel to open through the relay (%s)" % url, 30.0)
	if opened:
		print("    TURN over %s: channels open %d ms after create_offer()" % [transport, Time.get_ticks_msec() - started])
	_trust(restore)
	check(pair.candidates_a.size() > 0 and pair.candidates_b.size() > 0,
			"both sides gathered candidates (%s / %s)" % [pair.candidates_a, pair.candidates_b])
	for candidate in pair.candidates_a + pair.candidates_b:
		check(candidate.contains(" typ relay"), "only relayed candidates are offered: %s" % candidate)
		# The relayed transport is UDP whatever carries the client's side of TURN.
		check(candidate.contains(" udp ") or candidate.contains(" UDP "), "a UDP relay: %s" % candidate)
	if not opened:
		return
	pair.channel_a.put_packet(("via coturn over " + transport).to_utf8_buffer())
	var got := await receive(pair.channel_b, 1, "a relayed packet")
	if got.size() == 1:
		check_eq(got[0][0].get_string_from_utf8(), "via coturn over " + transport, "relayed packet")


## With relay only and no allocation the connection fails, saying why, with no candidate.
func _expect_no_allocation(url: String, password: String, ca_file: String) -> void:
	var restore := _trust(ca_file)
	var pair := make_pair(true, TurnServer.relay_config(url, password))
	pair.channel_a = pair.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
	pair.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
	errors.take()
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	var logged := PackedStringArray()
	await wait_until(func() -> bool:
		logged.append_array(errors.take())
		return pair.a.get_connection_state() == WebRTCPeerConnection.STATE_FAILED,
		"the connection to fail", 20.0)
	_trust(restore)
	check("".join(logged).contains("no TURN server granted an allocation"),
			"the error says why: %s" % logged)
	check_eq(pair.candidates_a, PackedStringArray(), "no candidates without a relay")
	check(pair.channel_a.get_ready_state() != WebRTCDataChannel.STATE_OPEN, "nothing opened")
	errors.take()


## Makes `ca_file` the only trusted root for turns: (SSL_CERT_FILE, read when a connection
## gathers); returns the previous value, to pass back. "" leaves the platform's roots.
func _trust(ca_file: String) -> String:
	var previous := OS.get_environment("SSL_CERT_FILE")
	if ca_file.is_empty():
		OS.unset_environment("SSL_CERT_FILE")
	else:
		OS.set_environment("SSL_CERT_FILE", ca_file)
	return previous


## The lobby server's TURN credentials (coturn's shared-secret scheme): fresh ones get a relay,
## expired and forged ones are refused by coturn and the connection fails saying why.
func test_lobby_turn_credentials_fresh_expired_and_forged() -> void:
	const SECRET := "lobby-turn-secret"
	var url: String = TurnServer.start(self, "udp", SECRET)["url"]
	if url.is_empty():
		return
	var lobby := WebRTCLobbyServer.new()
	lobby.turn_urls = [url]
	lobby.turn_secret = SECRET
	lobby.turn_credential_lifetime = 600.0
	var fresh: Dictionary = lobby.ice_servers_for(7)[0]
	lobby.free()
	var expiry := int(str(fresh["username"]).get_slice(":", 0))
	var now := int(Time.get_unix_time_from_system())
	check(expiry >= now + 590 and expiry <= now + 610, "the username starts with the expiry time (%s)" % fresh["username"])
	check_eq(str(fresh["username"]).get_slice(":", 1), "7", "the username names the peer")
	# The same scheme worked out here: base64(HMAC-SHA1(secret, "<expiry>:<peer>")).
	var expired_name := "%d:7" % (now - 60)
	var expired := {"urls": [url], "username": expired_name, "credential": Marshalls.raw_to_base64(
			Crypto.new().hmac_digest(HashingContext.HASH_SHA1, SECRET.to_utf8_buffer(), expired_name.to_utf8_buffer()))}
	var forged := fresh.duplicate()
	forged["credential"] = Marshalls.raw_to_base64("not the secret's HMAC".sha1_buffer())
	var config := func(server: Dictionary) -> Dictionary:
		return {"iceServers": [server], "iceTransportPolicy": "relay", "webrtc_rs": {"interfaces": ["lo"]}}
	# Fresh: a relay-only connection opens through coturn.
	var pair := make_pair(true, config.call(fresh))
	pair.channel_a = pair.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
	pair.channel_b = pair.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
	check_eq(pair.a.create_offer(), OK, "create_offer()")
	await wait_until(func() -> bool:
		return pair.channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN \
				and pair.channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN,
		"a relay-only connection with the lobby's fresh credentials", 30.0)
	for refused: Array in [["expired", expired], ["forged", forged]]:
		var bad := make_pair(true, config.call(refused[1]))
		bad.channel_a = bad.a.create_data_channel("relayed", {"negotiated": true, "id": 1})
		bad.b.create_data_channel("relayed", {"negotiated": true, "id": 1})
		errors.take()
		check_eq(bad.a.create_offer(), OK, "create_offer()")
		var logged := PackedStringArray()
		await wait_until(func() -> bool:
			logged.append_array(errors.take())
			return bad.a.get_connection_state() == WebRTCPeerConnection.STATE_FAILED,
			"the connection with %s credentials to fail" % refused[0], 20.0)
		check("".join(logged).contains("no TURN server granted an allocation"),
				"%s credentials: the error says why: %s" % [refused[0], logged])
		check_eq(bad.candidates_a, PackedStringArray(), "%s credentials: no relayed candidate" % refused[0])
	errors.take()
