extends Node
## The game of star_peer.gd: the RPCs and what each side counts. It is the same node, at the
## same path (/root/Star), in the host and in every client, whatever the transport: only the
## MultiplayerPeer under SceneMultiplayer differs between the WebRTC and the ENet runs.
##
## Every client sends its state to the host 30 times a second, an unreliable_ordered RPC
## (what a game uses for state it overwrites every tick); the host relays each state at once
## to every other client (one RPC addressed to "all but the sender"). With the state, each
## client sends a ping on the same channel, which the host answers: the RTT is the time from
## a client sending a ping to that client running the host's answer, both in frame code, so
## it includes both sides' frame waits (at 60 frames/s up to 16.7 ms each) as a game's would.
## The host starts the measured window (`begin`, reliable) once every expected client is
## connected and a warm-up has passed, and ends it (`end`, reliable); clients then write their
## figures and quit.

## Bytes of game state in each state RPC besides the sequence number and send time (with
## them and Godot's RPC header, ~70 bytes on the wire before the transport's own headers).
const STATE_BYTES := 40
const RATE_HZ := 30.0

## Set by star_peer.gd before the node enters the tree.
var is_host := false
var result_dir := ""
var client_index := -1

# Client side.
var measuring := false
var _next_send_usec := 0
var _seq := 0
var _state := PackedByteArray()
var _window_start_usec := 0
var _rtts: Array[float] = []
var _pings_sent := 0
var _relayed := 0
## Sender -> receiver time of relayed states, ms (the processes share the system clock).
var _relay_latencies: Array[float] = []
# Host side.
## Set once the measured window has ended: clients leave from then on, and nothing after the
## window is measured, so the host stops relaying and answering.
var window_over := false
var states_received := 0
var pings_answered := 0


func _ready() -> void:
	_state.resize(STATE_BYTES)
	for i in STATE_BYTES:
		_state[i] = randi() % 256


## Client: called every frame once connected to the host; sends state and ping at 30 Hz.
## Missed ticks are dropped rather than sent in a burst, as a game's fixed-rate sender does.
func tick_client() -> void:
	var now := Time.get_ticks_usec()
	if now < _next_send_usec:
		return
	var period := int(1000000.0 / RATE_HZ)
	_next_send_usec = _next_send_usec + period if now - _next_send_usec < period else now + period
	_seq += 1
	state.rpc_id(1, _seq, Time.get_unix_time_from_system(), _state)
	ping.rpc_id(1, now)
	if measuring:
		_pings_sent += 1


@rpc("any_peer", "call_remote", "unreliable_ordered")
func state(seq: int, sent_at: float, data: PackedByteArray) -> void:
	if window_over:
		return
	var from := multiplayer.get_remote_sender_id()
	states_received += 1
	# A negative target is "every peer but this one": one RPC, sent to 31 clients.
	relayed.rpc_id(-from, from, seq, sent_at, data)


@rpc("any_peer", "call_remote", "unreliable_ordered")
func ping(sent_usec: int) -> void:
	if window_over:
		return
	pings_answered += 1
	pong.rpc_id(multiplayer.get_remote_sender_id(), sent_usec)


@rpc("authority", "call_remote", "unreliable_ordered")
func relayed(_from: int, _seq: int, sent_at: float, _data: PackedByteArray) -> void:
	if measuring:
		_relayed += 1
		_relay_latencies.append((Time.get_unix_time_from_system() - sent_at) * 1000.0)


@rpc("authority", "call_remote", "unreliable_ordered")
func pong(sent_usec: int) -> void:
	if measuring:
		_rtts.append((Time.get_ticks_usec() - sent_usec) / 1000.0)


@rpc("authority", "call_remote", "reliable")
func begin() -> void:
	measuring = true
	_window_start_usec = Time.get_ticks_usec()


@rpc("authority", "call_remote", "reliable")
func end() -> void:
	if not measuring:
		write_summary({"ok": false, "error": "end without begin"})
		return
	measuring = false
	var seconds := (Time.get_ticks_usec() - _window_start_usec) / 1e6
	var figures := {"ok": not _rtts.is_empty(), "seconds": seconds, "pings_sent": _pings_sent,
			"pongs": _rtts.size(), "relayed": _relayed, "relayed_per_s": _relayed / seconds}
	figures.merge(percentiles(_rtts, "rtt"))
	figures.merge(percentiles(_relay_latencies, "relay"))
	write_summary(figures)


## Writes this client's figures as DIR/client-<index>.json (via a rename, so that the
## benchmark never reads a half-written file) and quits.
func write_summary(figures: Dictionary) -> void:
	figures["index"] = client_index
	figures["id"] = multiplayer.get_unique_id() if multiplayer.has_multiplayer_peer() else 0
	write_json(result_dir.path_join("client-%d.json" % client_index), figures)
	get_tree().quit()


## {"<prefix>_median_ms", "<prefix>_p99_ms", "<prefix>_max_ms"} of `samples` ({} if empty).
static func percentiles(samples: Array[float], prefix: String) -> Dictionary:
	if samples.is_empty():
		return {}
	var sorted := samples.duplicate()
	sorted.sort()
	return {prefix + "_median_ms": sorted[sorted.size() / 2],
			prefix + "_p99_ms": sorted[mini(int(sorted.size() * 0.99), sorted.size() - 1)],
			prefix + "_max_ms": sorted[-1]}


static func write_json(path: String, figures: Dictionary) -> void:
	var file := FileAccess.open(path + ".tmp", FileAccess.WRITE)
	file.store_string(JSON.stringify(figures))
	file.close()
	DirAccess.rename_absolute(path + ".tmp", path)
