class_name ShutdownRpc
extends Node
## The RPC target of shutdown_peer.gd (the same node path in both processes).

var received: Array[int] = []
## The other side has said it is ready (its SceneMultiplayer knows us).
var partner_ready := false
## When the last RPC arrived (ms since start).
var last_at := 0


@rpc("any_peer", "call_remote", "reliable")
func numbered(seq: int) -> void:
	received.append(seq)
	last_at = Time.get_ticks_msec()


@rpc("any_peer", "call_remote", "reliable")
func blob(_bytes: PackedByteArray) -> void:
	pass


@rpc("any_peer", "call_remote", "reliable")
func ready_to_receive() -> void:
	partner_ready = true
