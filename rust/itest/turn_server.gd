class_name TurnServer
extends RefCounted
## Debian's coturn on 127.0.0.1 with one user, for the tests that need TURN.

const USER := "webrtc"
const PASSWORD := "s3cret"


## Starts coturn (killed when `test` ends), reachable over `transport` only: "udp", "tcp"
## (`turn:…?transport=tcp`) or "tls" (`turns:localhost:PORT`, with a certificate for localhost
## signed by a CA made here; `ca_file` names it, for SSL_CERT_FILE). Over TCP and TLS coturn
## starts no UDP listener (--no-udp), so a connection can only have gone over the stream.
## Given `shared_secret`, coturn checks coturn's shared-secret credentials (use-auth-secret, as
## a lobby server makes them) instead of the one user.
## Returns {"url", "pid", "ca_file"}, or an empty URL after recording a failure. coturn takes a
## moment to listen: for UDP callers give their connections a generous deadline (the client
## retransmits); for the stream transports this waits until the port accepts connections.
static func start(test: TestCase, transport := "udp", shared_secret := "") -> Dictionary:
	var failed := {"url": "", "pid": -1, "ca_file": ""}
	var turnserver := OS.get_environment("WEBRTC_RS_TURNSERVER")
	if not test.check(not turnserver.is_empty(), "WEBRTC_RS_TURNSERVER is not set: run the suite through .ci/test, which installs coturn"):
		return failed
	var port := TestCase.server_port()
	var relay_low := 40000 + randi() % 10000
	var auth := ["--use-auth-secret", "--static-auth-secret", shared_secret] if not shared_secret.is_empty() \
			else ["--lt-cred-mech", "--user", "%s:%s" % [USER, PASSWORD]]
	var args := ["-n", "--no-cli", "--no-dtls", "--fingerprint", "--realm", "webrtc_rs.test"] + auth + [
		"--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(port),
		"--min-port", str(relay_low), "--max-port", str(relay_low + 200),
		# Peers are on loopback here, which coturn refuses by default.
		"--allow-loopback-peers", "--no-multicast-peers",
		"--pidfile", OS.get_user_data_dir().path_join("turnserver-%d.pid" % port),
		"--log-file", "stdout", "--simple-log",
	]
	var url := "turn:127.0.0.1:%d" % port
	var stream_port := 0
	var ca_file := ""
	match transport:
		"udp":
			args.append("--no-tls")
		"tcp":
			args.append_array(["--no-udp", "--no-tls"])
			url = "turn:127.0.0.1:%d?transport=tcp" % port
			stream_port = port
		"tls":
			var dir := OS.get_user_data_dir().path_join("turn-tls-%d" % port)
			if not test.check(_make_certificates(dir), "could not make a test certificate with openssl"):
				return failed
			ca_file = dir.path_join("ca.pem")
			stream_port = port + 1
			# The plain TCP listener on `port` stays; clients are given the TLS port only.
			args.append_array(["--no-udp", "--cert", dir.path_join("server.pem"),
					"--pkey", dir.path_join("server.key"), "--tls-listening-port", str(stream_port)])
			url = "turns:localhost:%d" % stream_port
		_:
			test.check(false, "unknown TURN transport %s" % transport)
			return failed
	var pid := OS.create_process(turnserver, args)
	test.check(pid > 0, "could not start %s" % turnserver)
	test.track_process(pid)
	if stream_port != 0 and not test.check(_wait_listening(stream_port), "coturn is not listening on TCP port %d" % stream_port):
		return failed
	return {"url": url, "pid": pid, "ca_file": ca_file}


## A configuration that may only use relayed candidates from `url`.
static func relay_config(url: String, password: String) -> Dictionary:
	return {
		"iceServers": [{"urls": [url], "username": USER, "credential": password}],
		"iceTransportPolicy": "relay",
		"webrtc_rs": {"interfaces": ["lo"]},
	}


## Blocks until 127.0.0.1:`port` accepts a TCP connection (at most 5 s).
static func _wait_listening(port: int) -> bool:
	var deadline := Time.get_ticks_msec() + 5000
	while Time.get_ticks_msec() < deadline:
		var probe := StreamPeerTCP.new()
		if probe.connect_to_host("127.0.0.1", port) == OK:
			while probe.get_status() == StreamPeerTCP.STATUS_CONNECTING and Time.get_ticks_msec() < deadline:
				OS.delay_msec(10)
				probe.poll()
			var connected := probe.get_status() == StreamPeerTCP.STATUS_CONNECTED
			probe.disconnect_from_host()
			if connected:
				return true
		OS.delay_msec(50)
	return false


## A CA and a server certificate for localhost / 127.0.0.1 signed by it, in `dir`.
static func _make_certificates(dir: String) -> bool:
	DirAccess.make_dir_recursive_absolute(dir)
	var extensions := FileAccess.open(dir.path_join("server.ext"), FileAccess.WRITE)
	if extensions == null:
		return false
	extensions.store_string("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
	extensions.close()
	var ec := ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
	var steps := [
		["req", "-x509"] + ec + ["-keyout", dir.path_join("ca.key"), "-out", dir.path_join("ca.pem"),
				"-days", "2", "-subj", "/CN=webrtc_rs test CA"],
		["req", "-new"] + ec + ["-keyout", dir.path_join("server.key"), "-out", dir.path_join("server.csr"),
				"-subj", "/CN=localhost"],
		["x509", "-req", "-in", dir.path_join("server.csr"), "-CA", dir.path_join("ca.pem"),
				"-CAkey", dir.path_join("ca.key"), "-CAcreateserial", "-out", dir.path_join("server.pem"),
				"-days", "2", "-extfile", dir.path_join("server.ext")],
	]
	# .ci/common.sh (export_interop_peers) installs it and names it; else the one on PATH.
	var openssl := OS.get_environment("WEBRTC_RS_OPENSSL")
	if openssl.is_empty():
		openssl = "openssl"
	for step: Array in steps:
		var output := []
		if OS.execute(openssl, step, output, true) != 0:
			printerr("openssl %s: %s" % [" ".join(step), "".join(output)])
			return false
	return true
