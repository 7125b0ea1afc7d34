"""Start one container's process the way a container runtime would, without images.

Run as ``python -I -S ctrexec.py SPEC.json`` by the pod runner. In a private mount namespace
it lays out the container's filesystem and then execs the container's command, so the pid the
runner waits for *is* the container's process:

- the root is an overlay of the host's root (read-only lower layer) with a per-container upper
  layer, so writes (``/tmp/...``, mount points of volumes, the working dir) stay private to the
  container, as an image's layer would;
- ``/proc`` and ``/sys`` are bound from the host, ``/dev`` is a private tmpfs with the usual
  devices;
- every volume mount (its path resolved inside the root: /var/run -> /run stays in the
  container) is a bind mount of the pod's volume directory (or of its ``subPath``,
  created beforehand by the runner as the kubelet does) at ``mountPath``, read-only if asked;
- the termination-message file is a per-container file bound at ``terminationMessagePath``;
- the working dir is created if missing (container runtimes do the same), then chroot + exec.

Standard library only (ctypes for mount(2)/unshare(2)), because it runs before anything else.
Exit code 128 with a message on stderr means the container could not be started, as
containerd's StartError.
"""

import ctypes
import json
import os
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)


def _check(rc, what):
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src, dst, fstype, flags, data=None):
    _check(_libc.mount(src.encode() if src else None, dst.encode(),
                       fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                       data.encode() if data else None), f"mount {src} -> {dst}")


def in_root(root, path):
    """``path`` resolved inside ``root`` as the container will see it: symlinks (such as
    /var/run -> /run) are followed within the root, never to the host (runc's securejoin)."""
    parts = [p for p in path.split("/") if p]
    resolved, hops = [], 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        if part == ".":
            continue
        candidate = root + "/" + "/".join([*resolved, part])
        if os.path.islink(candidate):
            hops += 1
            if hops > 40:
                raise OSError(40, f"too many symlinks in {path}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        resolved.append(part)
    return root + "/" + "/".join(resolved)


def ensure_mountpoint(path, is_dir):
    if is_dir:
        os.makedirs(path, exist_ok=True)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        with open(path, "a"):
            pass


DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


def setup_dev(root):
    """A private /dev as runtimes make it: a tmpfs with the usual devices bound from the
    host, a fresh /dev/shm, and /dev/pts from the host. Files created under /dev (such as
    /dev/termination-log) stay in the container."""
    dev = root + "/dev"
    os.makedirs(dev, exist_ok=True)
    mount("tmpfs", dev, "tmpfs", 0, "mode=755")
    for name in DEVICES:
        if os.path.exists("/dev/" + name):
            ensure_mountpoint(dev + "/" + name, False)
            mount("/dev/" + name, dev + "/" + name, None, MS_BIND)
    os.makedirs(dev + "/shm")
    mount("shm", dev + "/shm", "tmpfs", 0, "mode=1777")
    os.makedirs(dev + "/pts")
    mount("/dev/pts", dev + "/pts", None, MS_BIND | MS_REC)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"),
                         ("ptmx", "pts/ptmx")):
        os.symlink(target, dev + "/" + name)


def setup(spec):
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    root = spec["root"]
    upper, work = spec["upper"], spec["work"]
    for d in (root, upper, work):
        os.makedirs(d, exist_ok=True)
    mount("overlay", root, "overlay", 0, f"lowerdir=/,upperdir={upper},workdir={work}")
    for special in ("/proc", "/sys"):
        target = root + special
        os.makedirs(target, exist_ok=True)
        mount(special, target, None, MS_BIND | MS_REC)
    setup_dev(root)
    for m in spec["mounts"]:
        src, dst = m["source"], in_root(root, m["path"])
        ensure_mountpoint(dst, os.path.isdir(src))
        mount(src, dst, None, MS_BIND | MS_REC)
        if m.get("readOnly"):
            mount(None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC)
    os.chroot(root)
    workdir = spec.get("workingDir") or "/"
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    try:
        setup(spec)
    except OSError as e:
        sys.stderr.write(f"ctrexec: cannot set up the container's filesystem: {e}\n")
        sys.exit(128)
    argv, env = spec["argv"], spec["env"]
    if not argv:
        sys.stderr.write("ctrexec: no command (images are not read; give command explicitly)\n")
        sys.exit(128)
    try:
        os.execvpe(argv[0], argv, env)
    except OSError as e:
        sys.stderr.write(f'exec: "{argv[0]}": {e.strerror}\n')
        sys.exit(128)


if __name__ == "__main__":
    main()
