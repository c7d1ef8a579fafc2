@tool
extends EditorPlugin
## Used by .ci/check_package.sh in a scratch project, never shipped: opens each of the
## addon's classes (the library's three, the lobby's server and client) in the editor's help,
## as a user would, writes the text the help page shows to the file named by
## DOCS_CHECK_OUT, and quits the editor. Gives up after 30 s,
## writing what it has (the check then fails on the missing class).

const CLASSES: Array[String] = ["WebRTCRsPeerConnection", "WebRTCRsDataChannel", "WebRTCLobbyListener", "WebRTCLobbyClient",
		"WebRTCLobbyServer"]
const TIMEOUT_MS := 30000

var _deadline := 0
var _pages := {}


func _enter_tree() -> void:
	_deadline = Time.get_ticks_msec() + TIMEOUT_MS
	# The lobby's classes are GDScript: the editor builds their help page from the `##`
	# comments when it loads the script (as it does when a user opens it or its help).
	for entry: Dictionary in ProjectSettings.get_global_class_list():
		if str(entry["class"]) in CLASSES:
			EditorInterface.get_script_editor().update_docs_from_script(load(entry["path"]))


func _process(_delta: float) -> void:
	if _deadline == 0:
		return
	var script_editor := EditorInterface.get_script_editor()
	for name in CLASSES:
		if not _pages.has(name):
			script_editor.goto_help("class_name:" + name)
			var text := _page_text(script_editor, name)
			if not text.is_empty():
				_pages[name] = text
	if _pages.size() == CLASSES.size() or Time.get_ticks_msec() > _deadline:
		_deadline = 0
		var out := FileAccess.open(OS.get_environment("DOCS_CHECK_OUT"), FileAccess.WRITE)
		for name in _pages:
			out.store_string("=== %s\n%s\n" % [name, _pages[name]])
		out.close()
		get_tree().quit()


## The text of the help page showing `class_name` (a RichTextLabel under the script editor).
func _page_text(node: Node, class_name_shown: String) -> String:
	for child in node.get_children(true):
		if child is RichTextLabel:
			var text: String = child.get_parsed_text()
			if text.begins_with("Class:") and text.get_slice("\n", 0).contains(class_name_shown):
				return text
		var inner := _page_text(child, class_name_shown)
		if not inner.is_empty():
			return inner
	return ""
