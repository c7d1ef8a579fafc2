class_name NetLab
extends RefCounted
## Networks for test_networks.gd, built of network namespaces of our own (`ip netns`), veth
## pairs, a bridge and nftables: hosts, NAT routers and a "public" network, never the
## machine's own interfaces. Every namespace is named wrtc-<role>-<tag> and deleted by
## [method teardown] (which takes its veths and processes' sockets with it).

var _test: TestCase
var _tag: String
var _namespaces: PackedStringArray = []
var _nft: String


func _init(test: TestCase) -> void:
	_test = test
	_tag = str(randi() % 100000)
	_nft = OS.get_environment("WEBRTC_RS_NFT")


## False (after skipping the test) where the machine refuses network namespaces.
func available() -> bool:
	if not _test.check(not _nft.is_empty(), "WEBRTC_RS_NFT is not set: run the suite through .ci/test"):
		return false
	if OS.execute("ip", ["netns", "add", "wrtc-probe-" + _tag]) != 0:
		_test.skip("this machine refuses `ip netns add` (needs root and network namespaces)")
		return false
	OS.execute("ip", ["netns", "delete", "wrtc-probe-" + _tag])
	return true


## The namespace of `role` (created on first use, with loopback up).
func ns(role: String) -> String:
	var name := "wrtc-%s-%s" % [role, _tag]
	if name not in _namespaces:
		_namespaces.append(name)
		run(["ip", "netns", "add", name])
		run(["ip", "-n", name, "link", "set", "lo", "up"])
	return name


## A veth pair between namespaces `a` and `b` named `a_dev` and `b_dev` there, both up.
func wire(a: String, a_dev: String, b: String, b_dev: String) -> bool:
	return (run(["ip", "link", "add", a_dev, "netns", ns(a), "type", "veth", "peer", "name", b_dev, "netns", ns(b)])
			and up(a, a_dev) and up(b, b_dev))


func up(role: String, dev: String) -> bool:
	return run(["ip", "-n", ns(role), "link", "set", dev, "up"])


## Adds `cidr` to `dev` (an IPv6 address skips duplicate detection, so it is usable at once).
func address(role: String, dev: String, cidr: String) -> bool:
	var command := ["ip", "-n", ns(role), "addr", "add", cidr, "dev", dev]
	if ":" in cidr:
		command.append("nodad")
	return run(command)


## `ip route add` in `role`: e.g. route("p1", ["default", "via", "192.168.1.1"]).
func route(role: String, spec: Array) -> bool:
	var family := ["-6"] if spec.any(func(word: String) -> bool: return ":" in word) else []
	return run(["ip"] + family + ["-n", ns(role), "route", "add"] + spec)


## Makes `role` a router: forwards IPv4, and applies the nftables `ruleset` text if given.
func router(role: String, ruleset := "") -> bool:
	if not run(["ip", "netns", "exec", ns(role), "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"]):
		return false
	return ruleset.is_empty() or nft(role, ruleset)


## Loads an nftables ruleset (text) in `role`.
func nft(role: String, ruleset: String) -> bool:
	var file := OS.get_user_data_dir().path_join("nft-%s-%s.conf" % [role, _tag])
	var out := FileAccess.open(file, FileAccess.WRITE)
	out.store_string(ruleset)
	out.close()
	var ok := run(["ip", "netns", "exec", ns(role), _nft, "-f", file])
	DirAccess.remove_absolute(file)
	return ok


## Starts `program` with `args` in namespace `role`, output to `log`, without the suite's
## WEBRTC_RS_INTERFACES (lab processes use the addon's default settings); the test kills it.
func spawn(role: String, log: String, program: String, args: Array, env := {}) -> int:
	var assignments := PackedStringArray()
	for key: String in env:
		assignments.append("%s=%s" % [key, env[key]])
	var pid := OS.create_process("sh", ["-c", 'log="$1"; shift; exec "$@" > "$log" 2>&1', "sh", log,
			"ip", "netns", "exec", ns(role), "env", "-u", "WEBRTC_RS_INTERFACES"] + Array(assignments) + [program] + args)
	_test.check(pid > 0, "could not start %s in %s" % [program, role])
	_test.track_process(pid)
	return pid


## Runs a command, recording a failure (with its output) if it exits non-zero.
func run(command: Array) -> bool:
	var output: Array = []
	var code := OS.execute(command[0], PackedStringArray(command.slice(1)), output, true)
	return _test.check(code == 0, "`%s` -> %d: %s" % [" ".join(command), code, "".join(output).strip_edges()])


func teardown() -> void:
	for name in _namespaces:
		OS.execute("ip", ["netns", "delete", name])
	_namespaces.clear()
