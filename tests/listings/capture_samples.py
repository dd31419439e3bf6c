"""Regenerate tests/listings/data/ from real servers (a developer tool, not a test).

Builds SAMPLE_TREE in a temp dir, serves it with nginx (html exact/rounded,
json, xml), apache2 (HTMLTable with Debian's autoindex.conf, FancyIndexing
<pre>, plain <ul>), lighttpd mod_dirlisting, python http.server and copyparty
(HTML browser page), fetches the root and one subdirectory of each and writes
the bodies plus samples.json (content type, url path, server version).

    TZ=UTC python3 tests/listings/capture_samples.py

Every server binds 127.0.0.1 on a free port and is stopped by PID.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent.parent))

from tests.support.ports import free_port, wait_for_port  # noqa: E402
from tests.support.samples import SAMPLE_TREE, SUBDIR, SUBDIR_TREE  # noqa: E402
from tests.support.wait import wait_for  # noqa: E402

BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def build_tree(root: Path) -> None:
    def make(base: Path, tree: dict[bytes, tuple[int | None, int]]) -> None:
        for name, (size, _mtime) in tree.items():
            p = os.path.join(os.fsencode(base), name)
            if size is None:
                os.mkdir(p)
            else:
                with open(p, "wb") as f:
                    f.truncate(size)
        for name, (_size, mtime) in tree.items():
            p = os.path.join(os.fsencode(base), name)
            os.utime(p, (mtime, mtime))

    make(root, SAMPLE_TREE)
    make(root / os.fsdecode(SUBDIR), SUBDIR_TREE)
    os.utime(os.path.join(os.fsencode(root), SUBDIR), (SAMPLE_TREE[SUBDIR][1],) * 2)


def fetch(port: int, path: str, ua: str | None = None) -> tuple[bytes, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if ua:
        req.add_header("User-Agent", ua)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read(), r.headers.get("Content-Type", "")


def _answers(port: int, ua: str) -> bool:
    try:
        fetch(port, "/", ua)
    except (urllib.error.URLError, ConnectionError):
        return False
    return True


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pf-samples-"))
    tmp.chmod(0o755)  # nginx workers run as nobody
    tree = tmp / "tree"
    tree.mkdir()
    build_tree(tree)
    procs: list[subprocess.Popen[bytes]] = []
    manifest: dict[str, dict[str, str]] = {}
    sub_url = "/" + "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in SUBDIR.decode()) + "/"

    def grab(label: str, port: int, version: str, ua: str | None = None) -> None:
        for path, suffix in (("/", "root"), (sub_url, "sub")):
            body, ctype = fetch(port, path, ua)
            fname = f"{label}__{suffix}.bin"
            (DATA / fname).write_bytes(body)
            manifest[fname] = {"content_type": ctype, "url_path": path, "server": version}

    def start(args: list[str], port: int, cwd: Path | None = None) -> None:
        p = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        wait_for_port(port, p)

    try:
        # nginx: four servers, one per format/option set.
        ports = [free_port() for _ in range(4)]
        ng = tmp / "ng"
        (ng / "logs").mkdir(parents=True)
        variants = [
            "",
            "autoindex_exact_size off; autoindex_localtime on;",
            "autoindex_format json;",
            "autoindex_format xml;",
        ]
        servers = "\n".join(
            f"server {{ listen 127.0.0.1:{p}; root {tree}; location / {{ autoindex on; {v} }} }}"
            for p, v in zip(ports, variants, strict=True)
        )
        (ng / "nginx.conf").write_text(
            f"worker_processes 1; error_log {ng}/logs/error.log; pid {ng}/nginx.pid;\n"
            "events { worker_connections 64; }\n"
            f"http {{ access_log off; client_body_temp_path {ng}/t1; proxy_temp_path {ng}/t2;"
            f" fastcgi_temp_path {ng}/t3; uwsgi_temp_path {ng}/t4; scgi_temp_path {ng}/t5;\n"
            f"{servers}\n}}\n"
        )
        start(["nginx", "-p", str(ng), "-c", str(ng / "nginx.conf"), "-g", "daemon off;"], ports[0])
        for p in ports[1:]:
            wait_for_port(p, procs[-1])
        ver = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
        for label, p in zip(
            ["nginx_exact", "nginx_rounded", "nginx_json", "nginx_xml"], ports, strict=True
        ):
            grab(label, p, ver)

        # apache2: Debian HTMLTable (its own autoindex.conf), FancyIndexing <pre>, plain <ul>.
        ap = tmp / "ap"
        ap.mkdir()
        aports = [free_port() for _ in range(3)]
        mods = "/usr/lib/apache2/modules"
        vhosts = [
            "Include /etc/apache2/mods-available/autoindex.conf",
            "<Directory {tree}>\nIndexOptions FancyIndexing\n</Directory>",
            "<Directory {tree}>\nIndexOptions -FancyIndexing\n</Directory>",
        ]
        conf = [
            f"ServerRoot {ap}",
            "ServerName localhost",
            f"PidFile {ap}/httpd.pid",
            f"ErrorLog {ap}/error.log",
        ]
        for m in ["mpm_event", "authz_core", "autoindex", "dir", "mime", "alias"]:
            conf.append(f"LoadModule {m}_module {mods}/mod_{m}.so")
        conf.append("TypesConfig /etc/mime.types")
        conf += [f"Listen 127.0.0.1:{p}" for p in aports]
        conf += [
            f"DocumentRoot {tree}",
            f"<Directory {tree}>\nOptions +Indexes\nRequire all granted\n</Directory>",
        ]
        for p, v in zip(aports, vhosts, strict=True):
            conf.append(f"<VirtualHost 127.0.0.1:{p}>\n{v.format(tree=tree)}\n</VirtualHost>")
        (ap / "httpd.conf").write_text("\n".join(conf) + "\n")
        start(["apache2", "-f", str(ap / "httpd.conf"), "-DFOREGROUND"], aports[0])
        ver = subprocess.run(["apache2", "-v"], capture_output=True, text=True).stdout
        ver = ver.splitlines()[0].split(":", 1)[1].strip()
        for label, p in zip(["apache_table", "apache_pre", "apache_ul"], aports, strict=True):
            grab(label, p, ver)

        # lighttpd mod_dirlisting
        lt = tmp / "lt"
        lt.mkdir()
        lport = free_port()
        (lt / "lighttpd.conf").write_text(
            f'server.document-root = "{tree}"\nserver.bind = "127.0.0.1"\n'
            f'server.port = {lport}\nserver.modules = ("mod_dirlisting")\n'
            'dir-listing.activate = "enable"\n'
        )
        start(["lighttpd", "-D", "-f", str(lt / "lighttpd.conf")], lport)
        ver = subprocess.run(["lighttpd", "-v"], capture_output=True, text=True).stdout.split()[0]
        grab("lighttpd", lport, ver)

        # python http.server
        pport = free_port()
        start([sys.executable, "-m", "http.server", "-b", "127.0.0.1", str(pport)], pport, tree)
        grab("python", pport, f"python {sys.version.split()[0]} http.server")

        # copyparty HTML browser page (a browser User-Agent; curl gets a text listing)
        cport = free_port()
        start(
            [
                sys.executable,
                "-m",
                "copyparty",
                "-i",
                "127.0.0.1",
                "-p",
                str(cport),
                "-q",
                "--no-thumb",
                "--hist",
                str(tmp / "hist"),
                "-v",
                f"{tree}::r",
            ],
            cport,
        )
        wait_for(lambda: _answers(cport, BROWSER_UA), 30, "copyparty's browser page", 0.1)
        grab("copyparty_html", cport, f"copyparty {metadata.version('copyparty')}", BROWSER_UA)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    (DATA / "samples.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
