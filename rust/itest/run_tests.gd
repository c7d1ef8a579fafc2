extends SceneTree
## Runs every `test_*` method of every `res://tests/test_*.gd` inside this headless Godot,
## prints one line per test and the closing line "N passed, N failed", and quits with a
## non-zero code on any failure.
##
## Environment: WEBRTC_RS_TEST_FILTER=substring[,substring...] runs only the tests whose
## "file:method" contains one of them; WEBRTC_RS_TEST_EXCLUDE=substring[,substring...] reports
## those whose "file:method" contains one of them as skipped instead of running them.
## WEBRTC_RS_EXPECT_ARCH=arm64 (say) fails the run unless this Godot is built for that
## architecture (.ci/test-arm64: the emulated arm64 Godot).

const TESTS_DIR := "res://tests"


func _initialize() -> void:
	_run.call_deferred()


func _run() -> void:
	var errors := ErrorLog.new()
	OS.add_logger(errors)
	var filters := OS.get_environment("WEBRTC_RS_TEST_FILTER").split(",", false)
	var excluded := OS.get_environment("WEBRTC_RS_TEST_EXCLUDE").split(",", false)
	var passed := 0
	var failed := 0
	var skipped := 0
	var expected_arch := OS.get_environment("WEBRTC_RS_EXPECT_ARCH")
	if not expected_arch.is_empty() and Engine.get_architecture_name() != expected_arch:
		failed += 1
		print("FAIL this Godot is built for %s, not %s (WEBRTC_RS_EXPECT_ARCH)" % [Engine.get_architecture_name(), expected_arch])
	var files := Array(DirAccess.get_files_at(TESTS_DIR))
	files.sort()
	for file: String in files:
		if not (file.begins_with("test_") and file.ends_with(".gd")):
			continue
		var script: GDScript = load(TESTS_DIR.path_join(file))
		if script == null or not script.can_instantiate():
			failed += 1
			print("FAIL %s (the file does not load: see the parse error above)" % file)
			continue
		for method in script.get_script_method_list():
			var name: String = method["name"]
			if not name.begins_with("test_"):
				continue
			var full_name := "%s:%s" % [file.get_basename(), name]
			if not filters.is_empty() and not Array(filters).any(func(f: String) -> bool: return full_name.contains(f)):
				continue
			if Array(excluded).any(func(f: String) -> bool: return full_name.contains(f)):
				skipped += 1
				print("SKIP %s: excluded by WEBRTC_RS_TEST_EXCLUDE" % full_name)
				continue
			var case: TestCase = script.new()
			case.tree = self
			case.errors = errors
			errors.take()
			var started := Time.get_ticks_msec()
			await case.call(name)
			await case.cleanup()
			for message in errors.take():
				case.failures.append("unexpected error: " + message)
			var took := (Time.get_ticks_msec() - started) / 1000.0
			if case.skipped != "" and case.failures.is_empty():
				skipped += 1
				print("SKIP %s: %s" % [full_name, case.skipped])
			elif case.failures.is_empty():
				passed += 1
				print("PASS %s (%.2fs)" % [full_name, took])
			else:
				failed += 1
				print("FAIL %s (%.2fs)" % [full_name, took])
				for failure in case.failures:
					print("    - " + failure)
	OS.remove_logger(errors)
	if skipped > 0:
		print("%d passed, %d failed, %d skipped" % [passed, failed, skipped])
	else:
		print("%d passed, %d failed" % [passed, failed])
	quit(1 if failed > 0 or passed == 0 else 0)


## Collects what push_error (from GDScript or from the extension) reports, so tests can
## assert that misuse is reported, and so unexpected errors fail the test that caused them.
class ErrorLog:
	extends Logger

	var _mutex := Mutex.new()
	var _messages: PackedStringArray = []

	func _log_error(function: String, _file: String, _line: int, code: String, rationale: String,
			_editor_notify: bool, error_type: int, _script_backtraces: Array[ScriptBacktrace]) -> void:
		if error_type == ERROR_TYPE_WARNING:
			return
		var text := code if rationale.is_empty() else "%s: %s" % [code, rationale]
		_mutex.lock()
		_messages.append("%s (in %s)" % [text, function])
		_mutex.unlock()

	func _log_message(_message: String, _error: bool) -> void:
		pass

	## Returns and forgets everything logged so far.
	func take() -> PackedStringArray:
		_mutex.lock()
		var out := _messages
		_messages = []
		_mutex.unlock()
		return out
