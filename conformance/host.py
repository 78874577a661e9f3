"""Host set-up for the podman runtime: the Debian packages it needs, installed when we can.

`conformance setup` checks for each tool and, as root with apt-get, installs what is
missing; otherwise it says exactly what to install and why it cannot. Nothing here runs
a page's text: the package names are ours.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class HostTool:
    command: str      # what must be on PATH
    package: str      # the Debian package that provides it
    why: str


HOST_TOOLS = (
    HostTool("podman", "podman", "the default runtime (podman kube play)"),
    HostTool("runc", "runc", "the OCI runtime podman uses here (crun fails on hybrid cgroups)"),
    HostTool("debootstrap", "debootstrap", "builds images offline when no registry answers"),
    HostTool("busybox", "busybox-static", "the offline busybox image"),
    HostTool("gcc", "gcc", "compiles the pause program of the pod sandbox"),
)
# static linking needs libc.a, which is not a command: check the file
STATIC_LIBC = ("/usr/lib/x86_64-linux-gnu/libc.a", "/usr/lib/aarch64-linux-gnu/libc.a", "/usr/lib/libc.a")


def missing_packages() -> list[HostTool]:
    missing = [t for t in HOST_TOOLS if shutil.which(t.command) is None
               and not (t.command == "runc" and os.path.exists("/usr/sbin/runc"))
               and not (t.command == "debootstrap" and os.path.exists("/usr/sbin/debootstrap"))]
    if not any(os.path.exists(p) for p in STATIC_LIBC):
        missing.append(HostTool("libc.a", "libc6-dev", "static linking of the pause program"))
    return missing


def ensure(quiet: bool = False) -> int:
    missing = missing_packages()
    if not missing:
        if not quiet:
            print("host: podman, runc, debootstrap, busybox-static and gcc are present")
        return 0
    packages = sorted({t.package for t in missing})
    listing = "\n".join(f"  - {t.package}: {t.why}" for t in missing)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        reason = "not root" if os.geteuid() != 0 else "no apt-get on this machine"
        print(f"host: cannot install what the podman runtime needs ({reason}):\n{listing}\n"
              f"install them as root, e.g.: apt-get install {' '.join(packages)}", file=sys.stderr)
        return 2
    print(f"host: installing {' '.join(packages)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env, timeout=1200)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        print(f"host: apt-get failed: {err}\n{listing}", file=sys.stderr)
        return 2
    still = missing_packages()
    if still:
        print("host: still missing after apt-get: " + ", ".join(t.package for t in still), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(ensure())
