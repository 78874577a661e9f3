"""Configuration excerpts: directives with nesting, in nginx, ini, yaml-ish and `key value` shapes."""
from pathlib import Path

import pytest

from conformance.compare import Bindings, compare_config, compare_output, parse_directives
from conformance.verdict import Verdict

DATA = Path(__file__).parent / "data" / "compare"
# page line of the first output line of the `head` block, as in the seeds
CONF_LINE = {"id": 82, "ja": 59}
HEAD = "head /proc/8/root/etc/nginx/nginx.conf"


def data(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("lang", ["id", "ja"])
def test_page_excerpt_parses_the_same_aligned_or_not(lang):
    directives = parse_directives(data(f"page_nginx_conf.{lang}.txt"))
    assert [(d.path, d.name, d.value, d.block) for d in directives] == [
        ((), "user", "nginx", False),
        ((), "worker_processes", "1", False),
        ((), "error_log", "/var/log/nginx/error.log warn", False),
        ((), "pid", "/var/run/nginx.pid", False),
        ((), "events", "", True),
        (("events",), "worker_connections", "1024", False),
    ]


def test_truncated_and_commented_nginx_excerpt():
    directives = parse_directives(data("real_nginx_conf.bookworm.txt"))
    assert [(d.where, d.value) for d in directives] == [
        ("user", "www-data"), ("worker_processes", "auto"), ("pid", "/run/nginx.pid"),
        ("include", "/etc/nginx/modules-enabled/*.conf"), ("events", ""), ("events > worker_connections", "768"),
        ("http", ""),
    ]
    # a statement cut before its `;`, several on one line, one spanning lines, nested blocks
    text = ("http { server { listen 80; location / { root /srv; } }\n"
            "  log_format main '$remote_addr'\n      '$status';\n  server { listen 443")
    assert [(d.where, d.value) for d in parse_directives(text)] == [
        ("http", ""), ("http > server", ""), ("http > server > listen", "80"),
        ("http > server > location", "/"), ("http > server > location / > root", "/srv"),
        ("http > log_format", "main '$remote_addr' '$status'"), ("http > server", ""),
        ("http > server > listen", "443"),
    ]


@pytest.mark.parametrize("lang", ["id", "ja"])
def test_page_excerpt_against_debian_bookworm_is_drift(lang):
    outcome = compare_output(data(f"page_nginx_conf.{lang}.txt"), data("real_nginx_conf.bookworm.txt"),
                             Bindings(), command=HEAD, line=CONF_LINE[lang])
    error_log_line = {"id": 86, "ja": 61}[lang]
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == [
        "user: page nginx, real www-data",
        "worker_processes: page 1, real auto",
        (f"error_log (page at line {error_log_line}: error_log /var/log/nginx/error.log warn;) "
        "is not in the real excerpt"),
        "pid: page /var/run/nginx.pid, real /run/nginx.pid",
        "events > worker_connections: page 1024, real 768",
        "real excerpt also has 'include /etc/nginx/modules-enabled/*.conf;', not on the page",
        "real excerpt also has 'http {', not on the page",
    ]


def test_drift_diff_lists_directives_with_page_lines():
    outcome = compare_config(data("page_nginx_conf.id.txt"), data("real_nginx_conf.bookworm.txt"), line=82)
    assert outcome.diff.splitlines() == [
        "line 83 ~ user nginx;                                  real: user www-data;",
        "line 84 ~ worker_processes 1;                          real: worker_processes auto;",
        "line 86 - error_log /var/log/nginx/error.log warn;     not in the real excerpt",
        "line 87 ~ pid /var/run/nginx.pid;                      real: pid /run/nginx.pid;",
        "line 90 = events {",
        "line 91 ~   worker_connections 1024;                   real: worker_connections 768;",
        "  real  + include /etc/nginx/modules-enabled/*.conf;   not on the page",
        "  real  + http {                                       not on the page",
    ]


def test_same_directives_pass_whatever_the_whitespace_and_comments():
    outcome = compare_output(data("page_nginx_conf.id.txt"), "# the image's file\n" + data("page_nginx_conf.ja.txt"),
                             Bindings(), command=HEAD, line=82)
    assert outcome.verdict == Verdict.PASS
    assert outcome.reason == "the excerpt's 6 directives are the page's"


def test_unreadable_file_fails():
    error = "head: /proc/9/root/etc/nginx/nginx.conf: No such file or directory\n"
    outcome = compare_output(data("page_nginx_conf.id.txt"), error, Bindings(), command=HEAD, line=82)
    assert outcome.verdict == Verdict.FAIL
    assert outcome.reasons == [("the file could not be read: head: /proc/9/root/etc/nginx/nginx.conf: "
                               "No such file or directory")]
    assert outcome.diff.splitlines()[:4] == [
        "--- page at line 82",
        "+++ real",
        "-83  user nginx;",
        "-84  worker_processes 1;",
    ]
    assert outcome.diff.splitlines()[-1] == "+    head: /proc/9/root/etc/nginx/nginx.conf: No such file or directory"
    empty = compare_config(data("page_nginx_conf.id.txt"), "\n", line=82)
    assert (empty.verdict, empty.reasons) == (Verdict.FAIL, ["the file could not be read: the real output is empty"])


def test_a_different_file_fails():
    other = "[Unit]\nDescription=Something else\n"
    outcome = compare_config(data("page_nginx_conf.id.txt"), other)
    assert (outcome.verdict, outcome.reasons) == (Verdict.FAIL, ["the real excerpt shares no directive with the page"])


def test_ini_sections_and_values():
    page = "; defaults\n[server]\nport = 8080\nhost=0.0.0.0\n\n[log]\nlevel = info\n"
    real = "[server]\nport = 9090\nhost = 0.0.0.0\n[log]\nlevel = info\nformat = json\n"
    assert [(d.where, d.value) for d in parse_directives(page)] == [
        ("[server]", ""), ("[server] > port", "8080"), ("[server] > host", "0.0.0.0"),
        ("[log]", ""), ("[log] > level", "info"),
    ]
    outcome = compare_output(page, real, Bindings(), command="cat /etc/app/app.ini")
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == ["[server] > port: page 8080, real 9090", "real excerpt also has 'format = json', not on the page"]
    # the same key in another section is another directive
    moved = "[server]\nhost = 0.0.0.0\n[log]\nport = 8080\nlevel = info\n"
    outcome = compare_config(page, moved)
    assert outcome.reasons == ["[server] > port (page: port = 8080) is not in the real excerpt",
                               "real excerpt also has 'port = 8080', not on the page"]


def test_yaml_ish_nesting_by_indentation():
    page = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:6443\n  name: kind\nkind: Config\n"
    real = "apiVersion: v1\nclusters:\n- cluster:\n    server: https://127.0.0.1:37017\n  name: kind-kind\nkind: Config\n"
    assert [d.where for d in parse_directives(page)] == [
        "apiVersion", "clusters", "clusters > -", "clusters > - > cluster", "clusters > - > cluster > server",
        "clusters > - > name", "kind"]
    outcome = compare_output(page, real, Bindings(), command="cat ~/.kube/config")
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == [
        "clusters > - > cluster > server: page https://127.0.0.1:6443, real https://127.0.0.1:37017",
        "clusters > - > name: page kind, real kind-kind"]


def test_key_value_files():
    page = "# sshd\nPermitRootLogin no\nPasswordAuthentication no\nPort 22\n"
    real = "PermitRootLogin prohibit-password\nPasswordAuthentication no\nPort 22\n"
    outcome = compare_output(page, real, Bindings(), command="cat /etc/ssh/sshd_config")
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == ["PermitRootLogin: page no, real prohibit-password"]


def test_repeated_directives_pair_equal_values_first():
    page = "include a.conf;\ninclude b.conf;\n"
    real = "include b.conf;\ninclude c.conf;\n"
    outcome = compare_config(page, real)
    assert outcome.verdict == Verdict.DRIFT
    assert outcome.reasons == ["include: page a.conf, real c.conf"]
