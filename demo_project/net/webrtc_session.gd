class_name WebRTCSession
extends Node
## Turns lobby membership into a WebRTCMultiplayerPeer: one WebRTCPeerConnection per other
## peer, negotiated through the LobbyClient, then `multiplayer.multiplayer_peer` is set.
## In "mesh" mode every peer connects to every other one; in "server" mode peer 1 is the
## server and the others connect to it only. Of each pair, the peer with the higher id (the
## later joiner) makes the offer.

signal ready_to_play(id: int)
signal failed(reason: String)

var lobby: LobbyClient
var rtc := WebRTCMultiplayerPeer.new()
var my_id := 0
## Passed to every WebRTCPeerConnection.initialize().
var connection_config := {}


func start(lobby_client: LobbyClient, url: String, lobby_name: String, mode: String) -> void:
	lobby = lobby_client
	lobby.joined.connect(_on_joined)
	lobby.peer_connected.connect(_on_peer_connected)
	lobby.peer_disconnected.connect(_on_peer_disconnected)
	lobby.offer_received.connect(func(from: int, sdp: String) -> void:
		var connection := _connection(from, "offer")
		if connection:
			connection.set_remote_description("offer", sdp))
	lobby.answer_received.connect(func(from: int, sdp: String) -> void:
		var connection := _connection(from, "answer")
		if connection:
			connection.set_remote_description("answer", sdp))
	lobby.candidate_received.connect(func(from: int, mid: String, index: int, candidate: String) -> void:
		var connection := _connection(from, "candidate")
		if connection:
			connection.add_ice_candidate(mid, index, candidate))
	lobby.server_error.connect(func(message: String) -> void:
		push_error("[lobby] " + message))
	lobby.join(url, lobby_name, mode)


func _on_joined(id: int, lobby_name: String, mode: String) -> void:
	my_id = id
	var error: Error
	if mode == "mesh":
		error = rtc.create_mesh(id)
	elif id == 1:
		error = rtc.create_server()
	else:
		error = rtc.create_client(id)
	if error != OK:
		failed.emit("cannot create the multiplayer peer: %s" % error_string(error))
		return
	multiplayer.multiplayer_peer = rtc
	print("[peer %d] joined lobby '%s' (%s mode)" % [id, lobby_name, mode])
	ready_to_play.emit(id)


func _on_peer_connected(id: int) -> void:
	if rtc.has_peer(id):
		return
	var connection := WebRTCPeerConnection.new()
	var error := connection.initialize(connection_config)
	if error != OK:
		failed.emit("initialize() failed for peer %d: %s" % [id, error_string(error)])
		return
	connection.session_description_created.connect(func(type: String, sdp: String) -> void:
		connection.set_local_description(type, sdp)
		lobby.send({"type": type, "to": id, "sdp": sdp}))
	connection.ice_candidate_created.connect(func(mid: String, index: int, candidate: String) -> void:
		lobby.send({"type": "candidate", "to": id, "mid": mid, "index": index, "candidate": candidate}))
	error = rtc.add_peer(connection, id)
	if error != OK:
		failed.emit("add_peer(%d) failed: %s" % [id, error_string(error)])
		return
	if my_id > id:
		connection.create_offer()


func _on_peer_disconnected(id: int) -> void:
	if rtc.has_peer(id):
		rtc.remove_peer(id)


## The connection to `id`, for a signaling message that needs one (null if there is none).
func _connection(id: int, what: String) -> WebRTCPeerConnection:
	if not rtc.has_peer(id):
		push_error("[peer %d] %s from unknown peer %d" % [my_id, what, id])
		return null
	return rtc.get_peer(id)["connection"]


## The link to `id` as webrtc_rs's `get_stats()` reports it, condensed for the HUD and the
## summary: {"rtt_ms", "path", "bytes_sent", "bytes_received", "buffered"}. Empty when
## there is no such peer, or the WebRTC implementation has no statistics.
func link_stats(id: int) -> Dictionary:
	if not rtc.has_peer(id):
		return {}
	var connection: WebRTCPeerConnection = rtc.get_peer(id)["connection"]
	if not connection.has_method("get_stats"):
		return {}
	var stats: Dictionary = connection.call("get_stats")
	var pair: Dictionary = stats.get("candidate_pair", {})
	var buffered := 0
	for channel: Dictionary in stats.get("data_channels", []):
		buffered += int(channel.get("buffered_amount", 0))
	return {
		"rtt_ms": stats.get("round_trip_time_ms", -1.0),
		"path": "%s-%s/%s" % [pair.get("local_type", "?"), pair.get("remote_type", "?"), pair.get("protocol", "?")],
		"bytes_sent": stats.get("bytes_sent", 0),
		"bytes_received": stats.get("bytes_received", 0),
		"buffered": buffered,
	}


## What the multiplayer peer's data channels to `id` report, for the summary.
func channel_report(id: int) -> Array:
	var report: Array = []
	if not rtc.has_peer(id):
		return report
	for channel: WebRTCDataChannel in rtc.get_peer(id)["channels"]:
		report.append({
			"label": channel.get_label(),
			"id": channel.get_id(),
			"ordered": channel.is_ordered(),
			"max_packet_life_time": channel.get_max_packet_life_time(),
			"max_retransmits": channel.get_max_retransmits(),
			"negotiated": channel.is_negotiated(),
		})
	return report
