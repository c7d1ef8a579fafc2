extends SceneTree
## Runs the GDScript file named after `--` as the node /root/Game, the way a game's main
## scene would hold it (test_lobby.gd feeds it the README's "Multiplayer in ten lines").
## Quits with 1 if the script does not compile or after 60 s.


func _initialize() -> void:
	var args := OS.get_cmdline_user_args()
	var script := GDScript.new()
	script.source_code = FileAccess.get_file_as_string(args[0]) if args.size() > 0 else ""
	if script.source_code.is_empty() or script.reload() != OK:
		push_error("readme_game: cannot compile %s" % [args])
		quit(1)
		return
	var node: Node = script.new()
	node.name = "Game"
	root.add_child.call_deferred(node)
	create_timer(60.0).timeout.connect(func() -> void: quit(1))
