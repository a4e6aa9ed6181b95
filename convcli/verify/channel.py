"""Messages between ``convcli verify`` and its framework process (:mod:`convcli.verify.worker`).

A message is any picklable object; its arrays travel out of band, each in an anonymous memory file
(``memfd``) whose descriptor is passed along the socket, so a 144 MB photo or a band's output is
copied once into the file by the sender and mapped, not copied, by the receiver; a sender never
waits on a receiver that is busy importing. The socket is a ``SOCK_SEQPACKET`` pair: every message
arrives whole or not at all. Linux only (:func:`supported`); elsewhere verify imports the
frameworks in its own process. numpy only.
"""

from __future__ import annotations

import mmap
import os
import pickle
import socket
from typing import Any

#: A message's pickle stream larger than this goes in a memory file of its own, as its arrays do.
INLINE = 1 << 15
#: Descriptors one message may carry (one per array, and one for a large pickle stream).
MAX_FDS = 64
#: Buffers smaller than this stay inside the pickle stream.
SMALL = 1 << 12


def supported() -> bool:
    """Whether this platform passes memory files between processes as :func:`send` does."""
    return hasattr(os, "memfd_create") and hasattr(socket, "SOCK_SEQPACKET") and hasattr(socket, "send_fds")


def pair() -> tuple[socket.socket, socket.socket]:
    """Two connected message sockets: this side's, and the one to hand to the other process."""
    return socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)


class Closed(Exception):
    """The other side has gone: its socket is closed (it ended, or was killed)."""


def send(sock: socket.socket, message: Any) -> None:
    """``message`` to the other side; its arrays (and a long stream) in memory files."""
    buffers: list[pickle.PickleBuffer] = []

    def out_of_band(buf: pickle.PickleBuffer) -> bool:
        if buf.raw().nbytes < SMALL:
            return True  # in band
        buffers.append(buf)
        return False

    data = pickle.dumps(message, protocol=5, buffer_callback=out_of_band)
    fds = []
    try:
        for buf in buffers:
            fds.append(_memory_file(buf.raw()))
        if len(data) > INLINE:
            fds.append(_memory_file(memoryview(data)))
            head = b"F"
        else:
            head = b"P" + data
        if len(fds) > MAX_FDS:
            raise ValueError(f"a message of {len(fds)} arrays: at most {MAX_FDS}")
        socket.send_fds(sock, [head], fds)
    finally:
        for fd in fds:
            os.close(fd)


def recv(sock: socket.socket) -> Any:
    """The next message from the other side (its arrays mapped read-only); :class:`Closed` at its end."""
    head, fds, _flags, _addr = socket.recv_fds(sock, INLINE + 1, MAX_FDS)
    try:
        if not head:
            raise Closed
        views = [_mapped(fd) for fd in fds]
        if head[:1] == b"F":
            data: Any = views.pop()
        else:
            data = head[1:]
        return pickle.loads(data, buffers=views)  # noqa: S301 - our own child process, on a private socket pair
    finally:
        for fd in fds:
            os.close(fd)


def _memory_file(view: memoryview) -> int:
    """A new anonymous memory file holding ``view``'s bytes; its descriptor."""
    fd = os.memfd_create("convcli-verify", os.MFD_CLOEXEC)
    try:
        view = view.cast("B")
        done = 0
        while done < view.nbytes:
            done += os.write(fd, view[done:])
    except BaseException:
        os.close(fd)
        raise
    return fd


def _mapped(fd: int) -> memoryview | bytes:
    """The bytes of the memory file ``fd``, mapped read-only (they outlive the descriptor)."""
    size = os.fstat(fd).st_size
    if size == 0:
        return b""
    # populated at once: one call instead of a page fault per 4 KB as the arrays are read
    return memoryview(mmap.mmap(fd, size, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
                                prot=mmap.PROT_READ))
