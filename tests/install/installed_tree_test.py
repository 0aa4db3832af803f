#!/usr/bin/python3
"""An installed tcpka, used as its users use it.

    installed_tree_test.py --source DIR (--install-from BUILD_DIR | --prefix PREFIX)

With --install-from, `cmake --install BUILD_DIR` into a scratch prefix (removed after);
with --prefix, a tree already there (CI unpacks the Debian packages into one). Then:
  - `tcpka policy` and `tcpka --version` run from the tree;
  - every subcommand `tcpka --help` lists has its man page;
  - `tcpka exec` finds its shim from the installed location, and a program run under it
    has the policy on its sockets, and a tcpka copied away from its tree says where it
    looked for the shim;
  - the systemd unit of `tcpka watch` passes `systemd-analyze verify`, pointed at the
    tree's binary and man pages (its ExecStart names the prefix it was built for);
  - each installed header compiles on its own (C++20, -Wall -Wextra -Werror);
  - the example consumer examples/close_logger builds against the tree through CMake
    (find_package(tcpka CONFIG): tcpka::tcpka and tcpka::tcpka_static) and through
    pkg-config (tcpka.pc), and each build runs: it applies a policy, reads it back, and
    logs a peer's FIN as peer_closed and a peer's RST as peer_reset.
Everything it starts is bounded in time and ended; every file it makes is removed.
"""
import argparse
import glob
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

TIMEOUT = 120  # seconds, for any one build or program


def run(command, **kwargs):
    print("$", " ".join(command), flush=True)
    return subprocess.run(command, check=True, timeout=TIMEOUT, text=True,
                          capture_output=True, **kwargs)


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def tree_paths(prefix):
    """The installed binary and the directories of the tree (lib/ or lib/<triplet>/)."""
    binary = os.path.join(prefix, "bin", "tcpka")
    configs = glob.glob(os.path.join(prefix, "lib*", "**", "tcpkaConfig.cmake"), recursive=True)
    check(os.access(binary, os.X_OK), f"no executable {binary}")
    check(len(configs) == 1, f"one tcpkaConfig.cmake under {prefix}/lib*, found {configs}")
    libdir = os.path.dirname(os.path.dirname(os.path.dirname(configs[0])))
    return binary, libdir


def check_commands(binary, prefix):
    version = run([binary, "--version"]).stdout
    check(re.fullmatch(r"tcpka \d+\.\d+\.\d+\n", version), f"tcpka --version said {version!r}")
    policy = run([binary, "policy", "--policy", "idle=30s,intvl=5s,cnt=4"]).stdout
    check("idle" in policy and "30s" in policy, f"tcpka policy printed:\n{policy}")
    listing = run([binary, "--help"]).stdout.split("Subcommands:")[1]
    subcommands = re.findall(r"^  ([a-z]+) ", listing, re.MULTILINE)
    check(len(subcommands) >= 8, f"subcommands from tcpka --help: {subcommands}")
    man = os.path.join(prefix, "share", "man", "man1")
    for page in ["tcpka"] + [f"tcpka-{s}" for s in subcommands]:
        path = os.path.join(man, page + ".1.gz")
        check(os.path.exists(path), f"no man page {path}")
        text = run(["zcat", path]).stdout
        check(f".TH {page.upper()} " in text and ".SH OPTIONS" in text, f"{path} is not a page")
    print(f"ok: tcpka --version, tcpka policy, and {len(subcommands) + 1} man pages")


def check_exec(binary, source):
    probe = os.path.join(source, "tests", "data", "socket_probe.py")
    output = run([binary, "exec", "--policy", "idle=7s,intvl=2s,cnt=3", "--",
                  "/usr/bin/python3", probe]).stdout
    check("accepted keepalive=1 idle=7" in output, f"tcpka exec's program printed:\n{output}")
    print("ok: tcpka exec found its shim in the installed tree")


def check_exec_alone(binary, shim, scratch):
    # A tcpka copied away from its tree says where it looked for the shim.
    alone = os.path.join(scratch, "alone", "bin", "tcpka")
    os.makedirs(os.path.dirname(alone))
    shutil.copy(binary, alone)
    result = subprocess.run([alone, "exec", "--", "/bin/true"], capture_output=True, text=True,
                            timeout=TIMEOUT)
    expected = (f"tcpka exec: cannot find libtcpka_preload.so: looked for "
                f"{scratch}/alone/bin/libtcpka_preload.so and {scratch}/alone/lib")
    check(result.returncode == 3 and result.stderr.startswith(expected),
          f"tcpka exec without its shim exited {result.returncode}: {result.stderr!r}")
    # Under a path that LD_PRELOAD cannot name, it refuses rather than load nothing.
    spaced = os.path.join(scratch, "with space", "bin")
    os.makedirs(spaced)
    shutil.copy(binary, spaced)
    shutil.copy(shim, spaced)
    result = subprocess.run([os.path.join(spaced, "tcpka"), "exec", "--", "/bin/true"],
                            capture_output=True, text=True, timeout=TIMEOUT)
    check(result.returncode == 3 and "LD_PRELOAD cannot name a path with a space" in result.stderr,
          f"tcpka exec under a path with a space exited {result.returncode}: {result.stderr!r}")
    print("ok: tcpka exec without its shim says where it looked; under a space, why it refuses")


def check_unit(binary, prefix, scratch, installed_here):
    units = glob.glob(os.path.join(prefix, "lib", "systemd", "system", "tcpka-watch.service"))
    check(len(units) == 1, f"no lib/systemd/system/tcpka-watch.service under {prefix}")
    with open(units[0]) as unit:
        text = unit.read()
    execs = re.findall(r"^ExecStart=(\S+)/tcpka ", text, re.MULTILINE)
    check(len(execs) == 1, f"one ExecStart=.../tcpka in the unit, found {execs}")
    # Installed here, the unit names this tree's binary; unpacked from a package, /usr's.
    expected = os.path.dirname(binary) if installed_here else "/usr/bin"
    check(execs[0] == expected, f"the unit's ExecStart names {execs[0]}/tcpka, not {expected}")
    copy = os.path.join(scratch, "tcpka-watch.service")
    with open(copy, "w") as unit:
        unit.write(text.replace(f"ExecStart={execs[0]}/tcpka ", f"ExecStart={binary} "))
    env = {**os.environ, "MANPATH": os.path.join(prefix, "share", "man")}
    result = run(["systemd-analyze", "verify", copy], env=env)
    check(result.stdout + result.stderr == "", f"systemd-analyze verify said:\n{result.stderr}")
    print("ok: the systemd unit verifies")


def check_headers(prefix, scratch):
    headers = sorted(glob.glob(os.path.join(prefix, "include", "tcpka", "*.h")))
    check(len(headers) >= 15, f"the installed headers: {headers}")
    for header in headers:
        name = "tcpka/" + os.path.basename(header)
        source = os.path.join(scratch, "header.cpp")
        with open(source, "w") as out:
            out.write(f'#include "{name}"\n')
        run(["g++", "-std=c++20", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
             "-I" + os.path.join(prefix, "include"), source])
    print(f"ok: each of the {len(headers)} headers compiles on its own")


def build_consumers(source, prefix, libdir, scratch):
    """The example, built through CMake and through pkg-config: their paths."""
    example = os.path.join(source, "examples", "close_logger")
    build = os.path.join(scratch, "cmake-build")
    run(["cmake", "-S", example, "-B", build, f"-DCMAKE_PREFIX_PATH={prefix}"])
    run(["cmake", "--build", build])
    pkgconfig = {**os.environ, "PKG_CONFIG_PATH": os.path.join(libdir, "pkgconfig")}
    flags = run(["pkg-config", "--cflags", "--libs", "tcpka"], env=pkgconfig).stdout.split()
    by_pkgconfig = os.path.join(scratch, "close_logger_pkgconfig")
    run(["g++", "-std=c++20", "-Wall", "-Wextra", "-Werror",
         os.path.join(example, "close_logger.cpp"), *flags, "-o", by_pkgconfig])
    return [os.path.join(build, "close_logger"), os.path.join(build, "close_logger_static"),
            by_pkgconfig]


def wait_for_line(stream, pattern, deadline):
    """The first line of `stream` that matches, read only while the deadline allows."""
    line = ""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            raise AssertionError(f"no line matching {pattern!r} in time (last: {line!r})")
        line = stream.readline()
        if not line:
            raise AssertionError(f"no line matching {pattern!r} before the end (last: {line!r})")
        match = re.search(pattern, line)
        if match:
            return match


def check_consumer(program, libdir):
    env = {**os.environ, "LD_LIBRARY_PATH": libdir}
    server = subprocess.Popen([program, "idle=2s,intvl=1s,cnt=2,ut=auto", "0", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env=env)
    try:
        deadline = time.monotonic() + TIMEOUT
        port = int(wait_for_line(server.stdout, r"listening on 127\.0\.0\.1:(\d+)", deadline)[1])
        # A peer that echoes and then closes (FIN), and one that aborts (RST).
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as peer:
            # What the kernel holds, read back by libtcpka: ut=auto is 2s + 1s * 2.
            wait_for_line(server.stdout, r"accepted .*: keepalive on, idle 2s, intvl 1s, "
                          r"cnt 2, user timeout 4s", deadline)
            peer.sendall(b"ping")
            check(peer.recv(4) == b"ping", "the example did not echo")
        wait_for_line(server.stdout, r"closed .*: peer_closed \(EOF\)", deadline)
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as peer:
            peer.sendall(b"x")
            check(peer.recv(1) == b"x", "the example did not echo")
            peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        wait_for_line(server.stdout, r"closed .*: peer_reset \(ECONNRESET\)", deadline)
        check(server.wait(timeout=TIMEOUT) == 0, f"{program} exited {server.returncode}")
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()
    print(f"ok: {os.path.basename(program)} applied the policy and logged FIN and RST")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--install-from")
    where.add_argument("--prefix")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp(prefix="tcpka-installed-")
    try:
        prefix = args.prefix or os.path.join(scratch, "prefix")
        if args.install_from:
            run(["cmake", "--install", args.install_from, "--prefix", prefix])
        binary, libdir = tree_paths(prefix)
        check_commands(binary, prefix)
        check_exec(binary, args.source)
        shims = glob.glob(os.path.join(libdir, "tcpka", "libtcpka_preload.so"))
        check(len(shims) == 1, f"no tcpka/libtcpka_preload.so in {libdir}")
        check_exec_alone(binary, shims[0], scratch)
        check_unit(binary, prefix, scratch, installed_here=bool(args.install_from))
        check_headers(prefix, scratch)
        for program in build_consumers(args.source, prefix, libdir, scratch):
            check_consumer(program, libdir)
    except (AssertionError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        if isinstance(error, subprocess.CalledProcessError):
            print(error.stdout, error.stderr, sep="\n")
        print(f"FAILED: {error}")
        return 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("installed tree: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
