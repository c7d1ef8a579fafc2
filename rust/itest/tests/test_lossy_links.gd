extends TestCase
## Connecting and moving data over a lossy link, in one process (lossy_peer.gd) inside a
## network namespace of our own whose loopback drops 0, 10 or 30 % of all UDP packets
## (nftables `numgen random` on output, so STUN, DTLS and SCTP in both directions see the
## loss). The figures printed are what docs/reliability.md "Connecting over a lossy link"
## reports; timing targets live in the notes and docs/, not here. Also links that drop every DTLS
## handshake record or every SCTP packet, where the connection must fail and say why. Skipped
## (with a message) only where the machine refuses `unshare --net`.

const RESULT_DEADLINE_S := 300.0

## What the last lossy_peer.gd run printed.
var _output := ""


func test_every_connection_opens_and_delivers_at_0_and_10_percent_loss() -> void:
	for level: Array in [[0, 2, 1 << 20], [10, 3, 256 * 1024]]:
		var runs := await _runs("%d %% loss" % level[0], loss_rule(level[0]), level[1], level[2])
		if runs.is_empty():
			return
		for run: Dictionary in runs:
			check(run["open_ms"] >= 0, "%d %% loss: both channels opened (states %s)" % [level[0], run.get("states")])
			check_eq(int(run["received"]), level[2], "%d %% loss: bytes received" % level[0])
			check(run["in_order"], "%d %% loss: every message arrived whole and in order" % level[0])


func test_connections_open_and_deliver_at_30_percent_loss() -> void:
	var runs := await _runs("30 % loss", loss_rule(30), 3, 1 << 20)
	if runs.is_empty():
		return
	var opened := runs.filter(func(run: Dictionary) -> bool: return run["open_ms"] >= 0)
	# webrtc-rs 0.21.1 as released failed about one connection in six here (its handshakes
	# ran out of retransmissions); with 48 of them, 200 ms apart, none of 120 failed.
	check(opened.size() == 3, "30 %% loss: %d of 3 connections opened (%s)" % [opened.size(), runs])
	# Every connection that opened moves 1 MiB, whole and in order, within lossy_peer.gd's
	# 60 s: before rtc-sctp 0012-0014 none did (T3-rtx gave up silently after six expiries in
	# a row and backed off to 3 s); with 0012-0015 1.5-3.8 s in the runs so far.
	for run: Dictionary in opened:
		check_eq(int(run["received"]), 1 << 20, "30 %% loss: bytes received (%s)" % [run])
		check(run["in_order"], "30 % loss: every message arrived whole and in order")


# A handshake that can never complete fails the connection on the side that gives it up, at
# its last retransmission, and says why; the other side has no timer of its own for a peer that
# stops answering mid-handshake (browsers neither) and waits for the first side to close:
# docs/reliability.md, "Handshakes that cannot complete". The offerer is the DTLS and SCTP client.
func test_a_dtls_handshake_that_cannot_complete_fails_the_connection() -> void:
	await _fails("every DTLS handshake packet dropped", _drop_content_type(22), "DTLS handshake timed out")


func test_an_sctp_association_that_cannot_start_fails_the_connection() -> void:
	await _fails("every SCTP packet dropped", _drop_content_type(23),
			"the SCTP association could not be established")


## Runs one connection through a link that drops what `rule` matches and checks that it fails
## (not merely never opens) with `message` in its output, and closes its channels.
func _fails(what: String, rule: String, message: String) -> void:
	var runs := await _runs(what, rule, 1, 1024, true)
	if runs.is_empty():
		return
	var run: Dictionary = runs[0]
	if not check(run.has("failed_ms"), "%s: the connection failed within 30 s (states %s)" % [what, run.get("states")]):
		return
	check_eq(int(run["states"][0][-1]), WebRTCPeerConnection.STATE_FAILED, "%s: the offerer (DTLS and SCTP client) failed" % what)
	check_eq(int(run["channel_states"][0]), WebRTCDataChannel.STATE_CLOSED, "%s: the failed side's channel closed" % what)
	check(message in _output, "%s: the output says \"%s\"" % [what, message])
	print("    %s: FAILED after %d ms (states %s)" % [what, run["failed_ms"], run["states"]])


## nftables rule dropping every DTLS record of one content type (RFC 6347: 22 handshake, 23
## application data, which carries SCTP), the record's first byte right after the UDP header.
func _drop_content_type(type: int) -> String:
	return "meta l4proto udp @th,64,8 %d drop" % type


## Runs lossy_peer.gd in a namespace of its own whose loopback drops what the nftables `rule`
## matches (nothing if empty) and returns its runs; the peer's output is left in `_output`.
## Unless failures are expected, its last lines are printed if a connection did not deliver.
func _runs(what: String, rule: String, count: int, payload: int, expect_failure := false) -> Array:
	if not check(not OS.get_environment("WEBRTC_RS_NFT").is_empty(), "WEBRTC_RS_NFT is not set: run through .ci/test"):
		return []
	if OS.execute("unshare", ["--net", "--", "true"]) != 0:
		skip("this machine refuses `unshare --net` (needs root and network namespaces)")
		return []
	var result := OS.get_user_data_dir().path_join("lossy-%d.json" % (randi() % 1000000))
	var log := result.get_basename() + ".log"
	DirAccess.remove_absolute(result)
	track_process(start_lossy_peer(rule, log, [result, str(count), str(payload)]))
	var finished := await wait_until(func() -> bool: return FileAccess.file_exists(result),
			"lossy_peer.gd's results (%s)" % what, RESULT_DEADLINE_S)
	if not finished:
		_show_tail(log, FileAccess.get_file_as_string(log))
		return []
	var parsed: Variant = JSON.parse_string(FileAccess.get_file_as_string(result))
	DirAccess.remove_absolute(result)
	if not check(typeof(parsed) == TYPE_DICTIONARY and parsed.has("runs"), "lossy_peer.gd wrote its results"):
		return []
	var runs: Array = parsed["runs"]
	_output = FileAccess.get_file_as_string(log)
	DirAccess.remove_absolute(log)
	if not expect_failure and runs.any(func(run: Dictionary) -> bool: return run["open_ms"] < 0 or run["transfer_ms"] < 0):
		_show_tail(log, _output)
	if expect_failure:
		return runs
	var figures := PackedStringArray()
	for run: Dictionary in runs:
		figures.append("open %d ms, %d bytes in %d ms" % [run["open_ms"], run["received"], run["transfer_ms"]])
	print("    %s: %s" % [what, "; ".join(figures)])
	return runs


func _show_tail(log: String, output: String) -> void:
	var lines := output.split("\n")
	print("    last lines of %s:\n      %s" % [log, "\n      ".join(lines.slice(-30))])
