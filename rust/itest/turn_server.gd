class_name TurnServer
extends RefCounted
## Debian's coturn on 127.0.0.1 with one user, for the tests that need TURN.

const USER := "webrtc"
const PASSWORD := "s3cret"


## Starts coturn (killed when `test` ends), with one user or, given `shared_secret`, coturn's
## shared-secret credentials (use-auth-secret); returns {"url": "turn:127.0.0.1:PORT", "pid": PID},
## or an empty URL after recording a failure. coturn takes a moment to listen: callers give
## their connections a generous deadline.
static func start(test: TestCase, shared_secret := "") -> Dictionary:
	var turnserver := OS.get_environment("WEBRTC_RS_TURNSERVER")
	if not test.check(not turnserver.is_empty(), "WEBRTC_RS_TURNSERVER is not set: run the suite through .ci/test, which installs coturn"):
		return {"url": "", "pid": -1}
	var port := TestCase.server_port()
	var relay_low := 40000 + randi() % 10000
	# A shared secret: coturn's REST scheme (time-limited credentials a lobby server makes).
	var auth := ["--use-auth-secret", "--static-auth-secret", shared_secret] if not shared_secret.is_empty() \
			else ["--lt-cred-mech", "--user", "%s:%s" % [USER, PASSWORD]]
	var pid := OS.create_process(turnserver, [
		"-n", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint", "--realm", "webrtc_rs.test"] + auth + [
		"--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port),
		"--min-port", str(relay_low), "--max-port", str(relay_low + 200),
		# Peers are on loopback here, which coturn refuses by default.
		"--allow-loopback-peers", "--no-multicast-peers",
		"--pidfile", OS.get_user_data_dir().path_join("turnserver-%d.pid" % port),
		"--log-file", "stdout", "--simple-log",
	])
	test.check(pid > 0, "could not start %s" % turnserver)
	test.track_process(pid)
	return {"url": "turn:127.0.0.1:%d" % port, "pid": pid}


## A configuration that may only use relayed candidates from `url`.
static func relay_config(url: String, password: String) -> Dictionary:
	return {
		"iceServers": [{"urls": [url], "username": USER, "credential": password}],
		"iceTransportPolicy": "relay",
		"webrtc_rs": {"interfaces": ["lo"]},
	}
