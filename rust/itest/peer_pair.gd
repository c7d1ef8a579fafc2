class_name PeerPair
extends RefCounted
## Two peer connections in one process and the signaling relay between them. The relay
## uses only the public WebRTCPeerConnection API: each description a side creates is set
## locally and handed to the other side; each candidate is handed over as it is gathered.
## With `auto_relay` false, the signals are only recorded in `outbox_a` / `outbox_b`, and
## the test delivers them itself.

var a := WebRTCPeerConnection.new()
var b := WebRTCPeerConnection.new()
var auto_relay: bool
var received_a: Array[WebRTCDataChannel] = []
var received_b: Array[WebRTCDataChannel] = []
## Connection states in the order they were seen (repeats removed).
var states_a: Array[int] = []
var states_b: Array[int] = []
var outbox_a: Array = []
var outbox_b: Array = []
## Every candidate line each side gathered.
var candidates_a: PackedStringArray = []
var candidates_b: PackedStringArray = []
## Non-OK results the relay got back from the API.
var relay_errors: PackedStringArray = []
var channel_a: WebRTCDataChannel
var channel_b: WebRTCDataChannel


func _init(config: Dictionary, relay: bool) -> void:
	auto_relay = relay
	a.initialize(config)
	b.initialize(config)
	_wire(a, b, received_a, outbox_a, candidates_a)
	_wire(b, a, received_b, outbox_b, candidates_b)
	_record()


func _wire(from: WebRTCPeerConnection, to: WebRTCPeerConnection, received: Array[WebRTCDataChannel],
		outbox: Array, gathered: PackedStringArray) -> void:
	from.session_description_created.connect(func(type: String, sdp: String) -> void:
		if not auto_relay:
			outbox.append(["description", type, sdp])
			return
		_expect_ok(from.set_local_description(type, sdp), "set_local_description(%s)" % type)
		_expect_ok(to.set_remote_description(type, sdp), "set_remote_description(%s)" % type))
	from.ice_candidate_created.connect(func(mid: String, index: int, candidate: String) -> void:
		gathered.append(candidate)
		if not auto_relay:
			outbox.append(["candidate", mid, index, candidate])
			return
		_expect_ok(to.add_ice_candidate(mid, index, candidate), "add_ice_candidate"))
	from.data_channel_received.connect(func(channel: WebRTCDataChannel) -> void:
		received.append(channel))


func _expect_ok(result: Error, what: String) -> void:
	if result != OK:
		relay_errors.append("%s returned %s" % [what, error_string(result)])


## Either side may have been dropped (set to null) by a test that frees it.
func poll() -> void:
	for pc: WebRTCPeerConnection in [a, b]:
		if pc != null:
			pc.poll()
	_record()


func _record() -> void:
	if a != null and (states_a.is_empty() or states_a[-1] != a.get_connection_state()):
		states_a.append(a.get_connection_state())
	if b != null and (states_b.is_empty() or states_b[-1] != b.get_connection_state()):
		states_b.append(b.get_connection_state())


## Whether `channel_a` and `channel_b` are both open.
func channels_open() -> bool:
	return (channel_a.get_ready_state() == WebRTCDataChannel.STATE_OPEN
			and channel_b.get_ready_state() == WebRTCDataChannel.STATE_OPEN)


## Closes both sides and drops the relay's callbacks (they reference the connections, so
## keeping them would leak both objects).
func close() -> void:
	for pc: WebRTCPeerConnection in [a, b]:
		if pc != null:
			pc.close()
			disconnect_handlers(pc)


## Drops every handler connected to the connection's three signals: handlers that capture the
## connection they are connected to form a reference cycle.
static func disconnect_handlers(pc: WebRTCPeerConnection) -> void:
	for name in ["session_description_created", "ice_candidate_created", "data_channel_received"]:
		for connection in pc.get_signal_connection_list(name):
			pc.disconnect(name, connection["callable"])
