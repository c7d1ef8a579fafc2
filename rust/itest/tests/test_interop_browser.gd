extends TestCase
## Interop: this addon against a real browser — Debian's Chromium, headless — running
## interop/browser/echo_peer.html as an echo peer (interop/README.md) through demo_project's
## lobby server, both roles. The page is served on 127.0.0.1 by Python's http.server.
##
## Chromium switches, and why:
## - `--allow-loopback-in-peer-connection`: Chromium leaves loopback out of ICE gathering; in
##   the test's network namespace loopback is the only interface, so without it the browser
##   has no candidate at all.
## - `--disable-features=WebRtcHideLocalIpsWithMdns`: Chromium hides host addresses behind
##   random `<uuid>.local` mDNS names; the test connections run with mDNS off, so the browser
##   must send real addresses.
## - `--no-sandbox` (runs as root here), `--headless`, `--disable-gpu`, and the switches that
##   keep it from reaching out (`--disable-background-networking`, `--disable-component-update`,
##   `--disable-sync`, `--disable-quic`, `--no-first-run`, `--no-default-browser-check`,
##   `--disable-default-apps`); `--enable-logging=stderr --v=0` puts the page's console on
##   stderr for debugging.

const SWITCHES := [
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--no-default-browser-check", "--disable-default-apps", "--disable-background-networking",
	"--disable-component-update", "--disable-sync", "--allow-loopback-in-peer-connection",
	"--disable-features=WebRtcHideLocalIpsWithMdns", "--enable-logging=stderr", "--v=0",
]


func test_browser_echo_peer_we_offer() -> void:
	await _echo_against_browser(true)


func test_browser_echo_peer_it_offers() -> void:
	await _echo_against_browser(false)


func _echo_against_browser(we_offer: bool) -> void:
	var chromium := OS.get_environment("WEBRTC_RS_CHROMIUM")
	if not check(not chromium.is_empty(), "WEBRTC_RS_CHROMIUM is not set: run the suite through .ci/test, which installs chromium"):
		return
	var url := start_signaling_server()
	var http_port := server_port()
	track_process(OS.create_process("python3", ["-m", "http.server", str(http_port), "--bind", "127.0.0.1",
			"--directory", ProjectSettings.globalize_path("res://interop/browser")]))
	var lobby := "browser-echo-%d" % randi()
	var page := "http://127.0.0.1:%d/echo_peer.html?ws=%s&lobby=%s&role=%s" % [http_port, url.uri_encode(),
			lobby, "answer" if we_offer else "offer"]
	var profile := OS.get_user_data_dir().path_join("chromium-%d" % randi())
	# The HTTP server and the signaling server (another Godot process) may need a moment:
	# Chromium retries neither the page nor the page's WebSocket, so wait for both first.
	await wait_for_tcp(http_port, "the page's HTTP server")
	await wait_for_tcp(int(url.get_slice(":", 2)), "the signaling server")
	track_process(OS.create_process(chromium, SWITCHES + ["--user-data-dir=" + profile, page]))
	await EchoScenario.new(self, make_lobby_peer(url, lobby, we_offer)).run()
