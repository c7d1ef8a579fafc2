extends SceneTree
## Runs a [WebRTCLobbyServer] headless until the process is stopped:
## [codeblock]
## godot --headless --path <project> -s res://addons/webrtc_rs/lobby/lobby_server.gd -- --port 9080
## [/codeblock]
## Switches after [code]--[/code]: [code]--port P[/code] (default 9080), [code]--bind ADDRESS[/code]
## (default [code]*[/code], every address; [code]127.0.0.1[/code] for this machine only),
## [code]--tls-key KEY.key --tls-cert CERT.crt[/code] (PEM files: serve [code]wss://[/code]),
## [code]--fps N[/code] (how often connections are served, default 120), [code]--quiet[/code],
## [code]--stats-interval S[/code] (print the counters every S seconds), and every limit of
## [WebRTCLobbyServer] by its name with dashes: [code]--max-message-bytes 16384[/code],
## [code]--max-messages-per-second 50[/code], [code]--max-errors 8[/code],
## [code]--max-peers-per-lobby 16[/code], [code]--max-lobbies-per-address 32[/code],
## [code]--max-connections 4096[/code], [code]--max-connections-per-address 256[/code],
## [code]--max-handshakes 1024[/code], [code]--max-handshakes-per-address 64[/code],
## [code]--trusted-proxies 127.0.0.1[/code] (comma-separated: proxies whose
## [code]X-Forwarded-For[/code] names the client),
## [code]--join-timeout 10[/code], [code]--handshake-timeout 5[/code], [code]--heartbeat-interval 15[/code],
## [code]--allow-named-lobbies false[/code]. ICE servers for the players:
## [code]--stun-urls stun:HOST:3478[/code] and [code]--turn-urls turn:HOST:3478,turns:HOST:443[/code]
## (comma-separated) with [code]--turn-secret-file FILE[/code] (or [code]--turn-secret S[/code],
## which other users of the machine can see) holding coturn's [code]static-auth-secret[/code],
## and [code]--turn-credential-lifetime 86400[/code] (seconds).
## Exits with 2 on a bad switch or if it cannot listen.

const Server := preload("server.gd")
const DEFAULT_PORT := 9080

var _server: Server
var _stats_interval := 0.0
var _stats_due := 0


func _initialize() -> void:
	_server = Server.new()
	var options := parse_switches(OS.get_cmdline_user_args())
	if options.has("error"):
		return _fail(options["error"])
	var port := int(options.get("port", DEFAULT_PORT))
	if port < 1 or port > 65535:
		return _fail("--port takes a port number (1-65535)")
	var bind := str(options.get("bind", "*"))
	Engine.max_fps = int(options.get("fps", 120))
	_stats_interval = float(options.get("stats-interval", 0))
	_server.verbose = not options.has("quiet")
	for key: String in options:
		if key in ["port", "bind", "fps", "quiet", "stats-interval", "tls-key", "tls-cert", "turn-secret-file"]:
			if key != "quiet" and typeof(options[key]) == TYPE_BOOL:
				return _fail("--%s needs a value" % key)
			continue
		var property := key.replace("-", "_")
		if not property in _server or property in ["tls_options", "name"]:
			return _fail("unknown switch --%s" % key)
		var current: Variant = _server.get(property)
		if typeof(options[key]) == TYPE_BOOL and typeof(current) != TYPE_BOOL:
			return _fail("--%s needs a value" % key)
		var text := str(options[key])
		match typeof(current):
			TYPE_BOOL:
				if text not in ["true", "false"]:
					return _fail("--%s takes true or false" % key)
				_server.set(property, text == "true")
			TYPE_INT:
				if not text.is_valid_int() or int(text) < 0:
					return _fail("--%s takes a whole number >= 0" % key)
				_server.set(property, int(text))
			TYPE_STRING:
				_server.set(property, text)
			TYPE_PACKED_STRING_ARRAY:
				_server.set(property, text.split(",", false))
			TYPE_FLOAT:
				# Timeouts must be positive; a heartbeat interval of 0 turns the pings off.
				var least := 0.0 if property == "heartbeat_interval" else 0.001
				if not text.is_valid_float() or float(text) < least:
					return _fail("--%s takes a number of seconds %s" % [key, ">= 0" if least == 0.0 else "> 0"])
				_server.set(property, float(text))
	if options.has("turn-secret-file"):
		var secret := FileAccess.get_file_as_string(str(options["turn-secret-file"])).strip_edges()
		if secret.is_empty():
			return _fail("cannot read a secret from --turn-secret-file %s" % options["turn-secret-file"])
		_server.turn_secret = secret
	if options.has("tls-key") != options.has("tls-cert"):
		return _fail("--tls-key and --tls-cert go together")
	if options.has("tls-key"):
		var key := CryptoKey.new()
		var cert := X509Certificate.new()
		if key.load(str(options["tls-key"])) != OK:
			return _fail("cannot load the TLS key %s" % options["tls-key"])
		if cert.load(str(options["tls-cert"])) != OK:
			return _fail("cannot load the TLS certificate %s" % options["tls-cert"])
		_server.tls_options = TLSOptions.server(key, cert)
	root.add_child(_server)
	if _server.listen(port, bind) != OK:
		quit(2)


func _process(_delta: float) -> bool:
	if _stats_interval > 0.0 and Time.get_ticks_msec() >= _stats_due:
		_stats_due = Time.get_ticks_msec() + int(_stats_interval * 1000.0)
		print("[lobby server] stats %s" % JSON.stringify(_server.get_stats()))
	return false


func _fail(message: String) -> void:
	push_error("[lobby server] " + message)
	_server.free()
	quit(2)


## [code]--key value[/code] pairs and bare [code]--flag[/code]s (those in [param flags] never
## take a value) into a Dictionary; a word that is not a switch gives [code]{"error": ...}[/code].
static func parse_switches(args: PackedStringArray, flags: Array[String] = ["quiet"]) -> Dictionary:
	var options := {}
	var i := 0
	while i < args.size():
		if not args[i].begins_with("--"):
			return {"error": "unexpected argument '%s' (switches start with --)" % args[i]}
		var key := args[i].trim_prefix("--")
		if key not in flags and i + 1 < args.size() and not args[i + 1].begins_with("--"):
			options[key] = args[i + 1]
			i += 2
		else:
			options[key] = true
			i += 1
	return options
