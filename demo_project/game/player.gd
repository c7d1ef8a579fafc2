class_name Player
extends Node2D
## One player: a coloured square that its owner moves (keyboard in a window, a scripted bot
## headless). Its position is replicated by a MultiplayerSynchronizer whose authority is the
## owning peer; the host spawns it for everyone through the game's MultiplayerSpawner.

const SPEED := 220.0
const SIZE := 28.0

var peer_id := 0
var bot := false
var _clock := 0.0


static func create(id: int, with_bot: bool) -> Player:
	var player := Player.new()
	player.peer_id = id
	player.bot = with_bot
	player.name = str(id)
	player.position = Vector2(120 + (id % 6) * 100, 300)
	var config := SceneReplicationConfig.new()
	config.add_property(NodePath(".:position"))
	config.property_set_replication_mode(NodePath(".:position"), SceneReplicationConfig.REPLICATION_MODE_ALWAYS)
	var synchronizer := MultiplayerSynchronizer.new()
	synchronizer.name = "Sync"
	synchronizer.replication_config = config
	# State at 20 Hz, a common rate for action games (Godot's default is every frame).
	synchronizer.replication_interval = 1.0 / 20.0
	player.add_child(synchronizer)
	# The owner drives the position; everyone else receives it.
	player.set_multiplayer_authority(id, true)
	return player


func _physics_process(delta: float) -> void:
	if not is_multiplayer_authority():
		return
	var direction := Vector2.ZERO
	if bot:
		# A scripted walk in a circle, different per peer, so every update changes position.
		_clock += delta
		direction = Vector2.from_angle(_clock * 2.0 + peer_id)
	else:
		direction = Input.get_vector("ui_left", "ui_right", "ui_up", "ui_down")
	position += direction * SPEED * delta
	position = position.clamp(Vector2(SIZE, SIZE), Vector2(800 - SIZE, 600 - SIZE))


func _draw() -> void:
	var colour := Color.from_hsv(fmod(peer_id * 0.17, 1.0), 0.7, 0.95)
	draw_rect(Rect2(-SIZE / 2, -SIZE / 2, SIZE, SIZE), colour)
	draw_string(ThemeDB.fallback_font, Vector2(-SIZE / 2, -SIZE / 2 - 4), "peer %d" % peer_id)
