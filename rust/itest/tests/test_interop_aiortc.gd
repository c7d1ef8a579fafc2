extends TestCase
## Interop: this addon against aiortc (Python), which runs interop/aiortc_echo_peer.py as
## an echo peer (interop/README.md) through demo_project's lobby server, both roles. aiortc
## puts its candidates in its description and takes ours trickled; it applies the
## reliability options of the in-band channels it accepts.


func test_aiortc_echo_peer_we_offer() -> void:
	await _echo_against_aiortc(true)


func test_aiortc_echo_peer_it_offers() -> void:
	await _echo_against_aiortc(false)


func _echo_against_aiortc(we_offer: bool) -> void:
	var python := OS.get_environment("WEBRTC_RS_AIORTC_PYTHON")
	if not check(not python.is_empty(), "WEBRTC_RS_AIORTC_PYTHON is not set: run the suite through .ci/test, which installs aiortc (.ci/install_aiortc.sh)"):
		return
	var url := start_signaling_server()
	var lobby := "aiortc-echo-%d" % randi()
	var pid := OS.create_process(python, [
		ProjectSettings.globalize_path("res://interop/aiortc_echo_peer.py"),
		url, lobby, "answer" if we_offer else "offer"])
	if not check(pid > 0, "could not start the aiortc echo peer with %s" % python):
		return
	track_process(pid)
	await EchoScenario.new(self, make_lobby_peer(url, lobby, we_offer)).run()
