extends RefCounted
## What Linux's /proc says of a process ("self" or a pid), for the benchmark and its child
## processes. /proc files report size 0, so they are read line by line.


## utime + stime, in clock ticks (100 per second on Linux), or -1.
static func cpu_ticks(pid := "self") -> int:
	var file := FileAccess.open("/proc/%s/stat" % pid, FileAccess.READ)
	var text := file.get_line() if file != null else ""
	if text.is_empty():
		return -1
	# Fields after the command name (which is in parentheses and may contain spaces).
	var fields := text.substr(text.rfind(")") + 2).split(" ")
	return int(fields[11]) + int(fields[12]) if fields.size() > 12 else -1


## Resident memory now and at its peak (MB) and OS threads, from /proc/<pid>/status.
static func memory(pid := "self") -> Dictionary:
	var file := FileAccess.open("/proc/%s/status" % pid, FileAccess.READ)
	var figures := {}
	while file != null and not file.eof_reached():
		var line := file.get_line()
		var value := line.get_slice(":", 1).strip_edges()
		match line.get_slice(":", 0):
			"VmRSS":
				figures["rss_mb"] = int(value.get_slice(" ", 0)) / 1024.0
			"VmHWM":
				figures["peak_rss_mb"] = int(value.get_slice(" ", 0)) / 1024.0
			"Threads":
				figures["threads"] = int(value)
	return figures
