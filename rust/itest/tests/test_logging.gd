extends TestCase
## webrtc-rs's logs reach Godot's output at the level the project (or the game) picks.

const SETTING := "webrtc_rs/logging/level"


func test_level_is_a_project_setting_defaulting_to_warning() -> void:
	check(ProjectSettings.has_setting(SETTING), "the project setting is registered")
	check_eq(ProjectSettings.get_setting(SETTING), "warning", "its default")
	var listed := ProjectSettings.get_property_list().filter(func(p: Dictionary) -> bool:
		return p["name"] == SETTING)
	if check_eq(listed.size(), 1, "the setting appears in the property list"):
		check_eq(listed[0]["hint"], PROPERTY_HINT_ENUM, "offered as a choice")
		check(str(listed[0]["hint_string"]).contains("debug"), "with the level names")
	if OS.get_environment("WEBRTC_RS_LOG").is_empty():
		check_eq(WebRTCRsPeerConnection.get_log_level(), "warning", "the level in effect")


func test_unknown_level_is_refused_by_name() -> void:
	var before := WebRTCRsPeerConnection.get_log_level()
	var result: Variant = expect_error(func() -> Error: return WebRTCRsPeerConnection.set_log_level("loud"),
			"unknown log level \"loud\"")
	check_eq(result, ERR_INVALID_PARAMETER, "set_log_level(\"loud\")")
	check_eq(WebRTCRsPeerConnection.get_log_level(), before, "the level is unchanged")


func test_debug_level_prints_webrtc_rs_lines_and_off_silences_them() -> void:
	var before := WebRTCRsPeerConnection.get_log_level()
	var lines := LineLog.new()
	OS.add_logger(lines)
	check_eq(WebRTCRsPeerConnection.set_log_level("debug"), OK, "set_log_level(\"debug\")")
	var pair := await connected_pair()
	await wait_until(func() -> bool:
		pair.poll()
		return lines.matching("webrtc-rs DEBUG ") > 0,
		"a webrtc-rs debug line in Godot's output")
	check(lines.matching("webrtc-rs DEBUG rtc") > 0, "lines name the webrtc-rs module")
	check_eq(WebRTCRsPeerConnection.set_log_level("off"), OK, "set_log_level(\"off\")")
	pair.poll()
	var seen := lines.matching("webrtc-rs ")
	if pair != null:
		pair.channel_a.put_packet("quiet".to_utf8_buffer())
		await receive(pair.channel_b, 1, "a packet sent with logging off")
		pair.poll()
	check_eq(lines.matching("webrtc-rs "), seen, "no lines once the level is off")
	WebRTCRsPeerConnection.set_log_level(before)
	OS.remove_logger(lines)


## Counts printed lines containing a fragment.
class LineLog:
	extends Logger

	var _mutex := Mutex.new()
	var _lines: PackedStringArray = []

	func _log_message(message: String, _error: bool) -> void:
		_mutex.lock()
		_lines.append(message)
		_mutex.unlock()

	func _log_error(_function: String, _file: String, _line: int, code: String, _rationale: String,
			_editor_notify: bool, _error_type: int, _script_backtraces: Array[ScriptBacktrace]) -> void:
		_mutex.lock()
		_lines.append(code)
		_mutex.unlock()

	func matching(fragment: String) -> int:
		_mutex.lock()
		var count := 0
		for line in _lines:
			if line.contains(fragment):
				count += 1
		_mutex.unlock()
		return count
