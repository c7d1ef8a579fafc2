class_name Game
extends Node2D
## The game: players spawned by the host through a MultiplayerSpawner, moved by their owners
## and replicated with MultiplayerSynchronizer, plus a chat over reliable RPCs.
##
## Headless bot clients also check what they saw and report it: once every expected peer is
## in, they play for `duration` seconds (moving and chatting), announce how many chat lines
## they sent (`_done`), wait for everyone's announcement, verify that every line of every
## peer arrived exactly once and in order, print a summary and quit with 0 (all good) or 1.

## Chat lines per second while playing.
const CHAT_RATE := 5.0

var expected_peers := 2
var duration := 5.0
var bot := true
var leave_after := -1.0
## Give up (and fail) after this many seconds; 0 = never (interactive play).
var timeout := 45.0
var summary_file := ""
## The shipped lobby client (addons/webrtc_rs/lobby): joins, then hands over the multiplayer peer.
var lobby: WebRTCLobbyClient

var my_id := 0
var _players := Node2D.new()
var _spawner := MultiplayerSpawner.new()
var _hud := Label.new()
var _chat_log: PackedStringArray = []
var _phase := "joining"
var _started_at := 0
var _playing_since := 0
var _next_chat := 0.0
var _sent := 0
var _peers_seen: Dictionary[int, bool] = {}
var _moves_seen: Dictionary[int, int] = {}
var _last_position: Dictionary[int, Vector2] = {}
var _chats: Dictionary[int, Array] = {}
var _unreliable: Dictionary[int, int] = {}
var _done_counts: Dictionary[int, int] = {}
var _finished: Dictionary[int, bool] = {}
var _leaving_at: Dictionary[int, int] = {}
## Peers that acknowledged our announcement that we are leaving.
var _farewells: Dictionary[int, bool] = {}
var _disconnected_at: Dictionary[int, int] = {}
var _channels: Dictionary[int, Array] = {}
## Peers told that we have their player node / peers that told us they have ours.
var _announced: Dictionary[int, bool] = {}
var _visible_to: Dictionary[int, bool] = {}
var _problems: PackedStringArray = []
## Per peer, the link statistics last shown in the HUD (see link_stats).
var _link_stats: Dictionary[int, Dictionary] = {}
var _stats_lines: PackedStringArray = []
var _next_stats_at := 0


func _ready() -> void:
	_started_at = Time.get_ticks_msec()
	_players.name = "Players"
	add_child(_players)
	_spawner.name = "Spawner"
	add_child(_spawner)
	_spawner.spawn_path = _spawner.get_path_to(_players)
	_spawner.spawn_function = func(id: int) -> Node: return Player.create(id, bot)
	var layer := CanvasLayer.new()
	layer.add_child(_hud)
	add_child(layer)
	_hud.position = Vector2(8, 8)
	_players.child_entered_tree.connect(func(node: Node) -> void:
		_announce(int(str(node.name)))
		_apply_visibility())
	multiplayer.peer_connected.connect(_on_peer_connected)
	multiplayer.peer_disconnected.connect(_on_peer_disconnected)
	lobby.joined.connect(_on_joined)


func _on_joined(id: int, lobby_name: String) -> void:
	multiplayer.multiplayer_peer = lobby.multiplayer_peer
	my_id = id
	_say("joined lobby '%s' (%s mode)" % [lobby_name, lobby.mode])
	_phase = "waiting"
	if multiplayer.is_server():
		_spawner.spawn(id)


func _on_peer_connected(id: int) -> void:
	_peers_seen[id] = true
	_say("peer %d connected" % id)
	_announce(id)
	if multiplayer.is_server():
		_spawner.spawn(id)


func _on_peer_disconnected(id: int) -> void:
	_disconnected_at[id] = Time.get_ticks_msec()
	_say("peer %d disconnected" % id)
	if multiplayer.is_server() and _players.has_node(str(id)):
		_players.get_node(str(id)).queue_free()


func _process(delta: float) -> void:
	_watch_moves()
	_update_hud()
	if _phase != "done" and timeout > 0.0 and Time.get_ticks_msec() - _started_at > timeout * 1000.0:
		_fail("timed out in phase '%s' after %.0f s" % [_phase, timeout])
		return
	match _phase:
		"waiting":
			var everyone_in := multiplayer.get_peers().size() >= expected_peers - 1 \
					and _players.get_child_count() >= expected_peers
			if everyone_in:
				_phase = "playing"
				_playing_since = Time.get_ticks_msec()
				for id in multiplayer.get_peers():
					_channels[id] = channel_report(lobby.multiplayer_peer, id)
				_say("everyone is here: playing for %.1f s" % duration)
		"playing":
			_next_chat -= delta
			if bot and _next_chat <= 0.0:
				_next_chat += 1.0 / CHAT_RATE
				_chat.rpc(_sent, "line %d from peer %d" % [_sent, my_id])
				_sent += 1
				_ping.rpc(_sent)
			var played := (Time.get_ticks_msec() - _playing_since) / 1000.0
			if leave_after >= 0.0 and played >= leave_after:
				_phase = "leaving"
				_leaving.rpc()
				_say("leaving early")
			elif played >= duration:
				_phase = "wrapping_up"
				_done.rpc(_sent)
		"wrapping_up":
			if _all_others(func(id: int) -> bool: return _done_counts.has(id) or _gone(id)):
				_phase = "finishing"
				_finished_playing.rpc()
		"finishing":
			if _all_others(func(id: int) -> bool: return _finished.has(id) or _disconnected_at.has(id)):
				_finish()
		"leaving":
			# Quit once everyone has acknowledged the announcement (or after 5 s).
			var acknowledged := Array(multiplayer.get_peers()).all(func(id: int) -> bool: return _farewells.has(id))
			if acknowledged or Time.get_ticks_msec() - _playing_since > (leave_after + 5.0) * 1000.0:
				_phase = "done"
				_report(true)
				get_tree().quit(0)


## Every expected other peer satisfies `condition`.
func _all_others(condition: Callable) -> bool:
	for id in _peers_seen:
		if not condition.call(id):
			return false
	return _peers_seen.size() >= expected_peers - 1


## A peer that announced it was leaving and then disconnected owes us nothing more.
func _gone(id: int) -> bool:
	return _leaving_at.has(id) and _disconnected_at.has(id)


## Tells peer `id` that its player node exists here, once we have it and are connected to it.
func _announce(id: int) -> void:
	if id == my_id or _announced.has(id) or not _players.has_node(str(id)) \
			or id not in multiplayer.get_peers():
		return
	_announced[id] = true
	_have_player.rpc_id(id)


@rpc("any_peer", "call_remote", "reliable")
func _have_player() -> void:
	_visible_to[multiplayer.get_remote_sender_id()] = true
	_apply_visibility()


## In a mesh, our player's owner (us) may reach a peer before the host's spawn of the node
## does, and a sync sent then is lost for good (Godot gives up on the node path). So unless
## we are the host (whose spawn always goes first), our synchronizer only sends to peers that
## told us they have the node.
func _apply_visibility() -> void:
	if my_id == 1 or not _players.has_node(str(my_id)):
		return
	var synchronizer: MultiplayerSynchronizer = _players.get_node(str(my_id)).get_node("Sync")
	if not synchronizer.has_meta("filtered"):
		synchronizer.set_meta("filtered", true)
		synchronizer.add_visibility_filter(func(peer: int) -> bool: return _visible_to.has(peer))
	for id in _visible_to:
		synchronizer.update_visibility(id)


func _watch_moves() -> void:
	for player: Node in _players.get_children():
		var id := int(str(player.name))
		if id == my_id:
			continue
		var position_now: Vector2 = player.position
		if _last_position.has(id) and _last_position[id] != position_now:
			_moves_seen[id] = _moves_seen.get(id, 0) + 1
		_last_position[id] = position_now


@rpc("any_peer", "call_remote", "reliable")
func _chat(seq: int, text: String) -> void:
	var from := multiplayer.get_remote_sender_id()
	if not _chats.has(from):
		_chats[from] = []
		_say("first chat from peer %d: \"%s\"" % [from, text])
	_chats[from].append(seq)
	_chat_log.append("peer %d: %s" % [from, text])
	if _chat_log.size() > 8:
		_chat_log.remove_at(0)


@rpc("any_peer", "call_remote", "unreliable")
func _ping(_seq: int) -> void:
	var from := multiplayer.get_remote_sender_id()
	_unreliable[from] = _unreliable.get(from, 0) + 1


@rpc("any_peer", "call_remote", "reliable")
func _done(total: int) -> void:
	_done_counts[multiplayer.get_remote_sender_id()] = total


@rpc("any_peer", "call_remote", "reliable")
func _finished_playing() -> void:
	_finished[multiplayer.get_remote_sender_id()] = true


@rpc("any_peer", "call_remote", "reliable")
func _leaving() -> void:
	var from := multiplayer.get_remote_sender_id()
	_leaving_at[from] = Time.get_ticks_msec()
	_farewell.rpc_id(from)


@rpc("any_peer", "call_remote", "reliable")
func _farewell() -> void:
	_farewells[multiplayer.get_remote_sender_id()] = true


## Sends a chat line typed in the window.
func send_chat(text: String) -> void:
	_chat.rpc(_sent, text)
	_sent += 1


func _finish() -> void:
	_phase = "done"
	var ok := _check()
	_report(ok)
	get_tree().quit(0 if ok else 1)


## Ends the game as failed (a bot reports and quits with 1): for the lobby's errors.
func fail(reason: String) -> void:
	if _phase != "done":
		_fail(reason)


func _fail(reason: String) -> void:
	_phase = "done"
	_problems.append(reason)
	push_error("[peer %d] %s" % [my_id, reason])
	_report(false)
	get_tree().quit(1)


## Checks everything this peer saw; fills `_problems`.
func _check() -> bool:
	for id in _peers_seen:
		var lines: Array = _chats.get(id, [])
		var expected_lines: Array = range(_done_counts.get(id, lines.size()))
		if _gone(id):
			expected_lines = range(lines.size())  # Left early: a prefix, in order, once.
		if lines != expected_lines:
			_problems.append("chat from peer %d: expected lines %s, got %s" % [id, _short(expected_lines), _short(lines)])
		if _moves_seen.get(id, 0) == 0:
			_problems.append("never saw peer %d move" % id)
		if _gone(id) and _disconnected_at[id] - _leaving_at[id] > 10000:
			_problems.append("peer %d's departure took %d ms to notice" % [id, _disconnected_at[id] - _leaving_at[id]])
	if _peers_seen.size() < expected_peers - 1:
		_problems.append("saw %d peers, expected %d" % [_peers_seen.size(), expected_peers - 1])
	return _problems.is_empty()


func _report(ok: bool) -> void:
	var departure := {}
	for id in _leaving_at:
		if _disconnected_at.has(id):
			departure[str(id)] = _disconnected_at[id] - _leaving_at[id]
	var summary := {
		"id": my_id,
		"ok": ok,
		"left_early": _phase == "done" and leave_after >= 0.0 and ok,
		"peers_seen": _peers_seen.keys(),
		"moves_seen": _keyed(_moves_seen),
		"chat_lines_received": _keyed(_chats.keys().reduce(func(acc: Dictionary, id: int) -> Dictionary:
			acc[id] = _chats[id].size()
			return acc, {})),
		"chat_lines_sent": _sent,
		"unreliable_received": _keyed(_unreliable),
		"departure_noticed_ms": departure,
		"channels": _keyed(_channels),
		"link_stats": _keyed(_link_stats),
		"problems": _problems,
	}
	var line := JSON.stringify(summary)
	if summary_file.is_empty():
		print("SUMMARY ", line)
	else:
		var file := FileAccess.open(summary_file, FileAccess.WRITE)
		if file:
			file.store_string(line)


static func _keyed(values: Dictionary) -> Dictionary:
	var out := {}
	for key in values:
		out[str(key)] = values[key]
	return out


static func _short(values: Array) -> String:
	if values.size() <= 6:
		return str(values)
	return "[%s, %s, %s, ... %s] (%d)" % [values[0], values[1], values[2], values[-1], values.size()]


func _say(text: String) -> void:
	print("[peer %d] %s" % [my_id, text])


func _update_hud() -> void:
	var peers := multiplayer.get_peers() if multiplayer.has_multiplayer_peer() else PackedInt32Array()
	# The links' statistics change slowly; reading them twice a second is plenty.
	if Time.get_ticks_msec() >= _next_stats_at:
		_next_stats_at = Time.get_ticks_msec() + 500
		_stats_lines.clear()
		for id in peers:
			var link := link_stats(lobby.multiplayer_peer, id)
			if link.is_empty():
				continue
			_link_stats[id] = link
			_stats_lines.append("peer %d: rtt %.1f ms, %s, sent %.1f KB, received %.1f KB, buffered %d B" % [
					id, link["rtt_ms"], link["path"], link["bytes_sent"] / 1024.0,
					link["bytes_received"] / 1024.0, link["buffered"]])
	_hud.text = "peer %d — %s — peers: %s\n%s\n%s" % [my_id, _phase, peers, "\n".join(_stats_lines),
			"\n".join(_chat_log)]


## The link to `id` as webrtc_rs's `get_stats()` reports it, condensed for the HUD and the
## summary: {"rtt_ms", "path", "bytes_sent", "bytes_received", "buffered"}. Empty when
## there is no such peer, or the WebRTC implementation has no statistics.
static func link_stats(rtc: WebRTCMultiplayerPeer, id: int) -> Dictionary:
	if rtc == null or not rtc.has_peer(id):
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
static func channel_report(rtc: WebRTCMultiplayerPeer, id: int) -> Array:
	var report: Array = []
	if rtc == null or not rtc.has_peer(id):
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
