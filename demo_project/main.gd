extends Node
## Entry point. Switches after `--` pick the role (see README.md):
##   --server [--port 9080] [--bind 127.0.0.1]
##       the addon's lobby server (WebRTCLobbyServer) as a node of this scene, on 127.0.0.1
##       (add --bind 0.0.0.0 for a LAN); the same as running
##       res://addons/webrtc_rs/lobby/lobby_server.gd, which has every option
##   --client [--url ws://127.0.0.1:9080] [--lobby demo] [--mode mesh|server] [--peers 2]
##            [--duration 5] [--bot] [--leave-after S] [--timeout 45] [--summary-file PATH]
##            [--interfaces lo,eth0]
##       a player; headless or with --bot it plays by itself, checks what it saw and quits
##   --local-match N [--mode mesh|server] [--duration 5] [--port P] [--leave-after S]
##                   [--match-dir DIR] [--url ws://...]
##       starts a server (or uses the one at --url) and N headless bot clients as separate processes, on loopback, waits
##       for them and prints what each saw; exits 0 only if every client saw every other
##       client's moves and chat (summaries are written as DIR/client-<n>.json; with
##       --leave-after the last client leaves early, to show departures being noticed)
## With no switches: a window client (arrow keys move, Enter chats) in lobby "demo" on
## ws://127.0.0.1:9080.

const DEFAULT_PORT := 9080
## The addon's headless lobby server script, for its switch parser.
const LobbyServerScript := preload("res://addons/webrtc_rs/lobby/lobby_server.gd")


func _ready() -> void:
	var options := LobbyServerScript.parse_switches(OS.get_cmdline_user_args(), ["server", "client", "bot"])
	if options.has("error"):
		push_error(options["error"])
		get_tree().quit(2)
		return
	if options.has("server"):
		var server := WebRTCLobbyServer.new()
		add_child(server)
		if server.listen(int(options.get("port", DEFAULT_PORT)), str(options.get("bind", "127.0.0.1"))) != OK:
			get_tree().quit(2)
	elif options.has("local-match"):
		var match_runner := LocalMatch.new()
		add_child(match_runner)
		match_runner.run(int(options["local-match"]), options)
	else:
		_start_client(options)


func _start_client(options: Dictionary) -> void:
	var headless := DisplayServer.get_name() == "headless"
	var lobby := WebRTCLobbyClient.new()
	lobby.name = "Lobby"
	if options.has("interfaces"):
		lobby.webrtc_rs_options = {"interfaces": str(options["interfaces"]).split(",")}
	add_child(lobby)
	var game := Game.new()
	game.name = "Game"
	game.lobby = lobby
	game.bot = headless or options.has("bot")
	game.expected_peers = int(options.get("peers", 2))
	game.duration = float(options.get("duration", 5.0)) if game.bot else INF
	game.timeout = float(options.get("timeout", 45.0)) if game.bot else 0.0
	game.leave_after = float(options.get("leave-after", -1.0))
	game.summary_file = str(options.get("summary-file", ""))
	add_child(game)
	if not headless:
		_add_chat_box(game)
	var url := str(options.get("url", "ws://127.0.0.1:%d" % DEFAULT_PORT))
	lobby.error.connect(func(message: String) -> void: game.fail(message))
	lobby.join(url, str(options.get("lobby", "demo")), str(options.get("mode", "mesh")))


func _add_chat_box(game: Game) -> void:
	var layer := CanvasLayer.new()
	var box := LineEdit.new()
	box.placeholder_text = "chat: type and press Enter"
	box.position = Vector2(8, 560)
	box.size = Vector2(400, 32)
	box.text_submitted.connect(func(text: String) -> void:
		if not text.is_empty():
			game.send_chat(text)
		box.clear())
	layer.add_child(box)
	add_child(layer)

