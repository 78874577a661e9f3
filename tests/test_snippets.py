"""Snippets checked in their own language: a valid and a broken example each (hand-written input).

On the old code (every language but TOML/JSON parsed as YAML) the broken nginx, XML and Dockerfile
examples passed as "parses as YAML" and the valid ini example failed as "not valid YAML".
"""
import pytest

from conformance.manifests import check_snippet as reexported
from conformance.snippets import check_snippet
from conformance.verdict import Verdict

NGINX = """user nginx;
worker_processes  1;

events {
    worker_connections  1024;
}

http {
    server {
        listen 80;
        location / {
            root /usr/share/nginx/html;   # $host and $uri are nginx's own variables
            try_files $uri $uri/ =404;
        }
    }
}
"""

CASES = [
    # language, valid, broken, what the broken one's reason says (line included)
    ("nginx", NGINX, "user nginx\nworker_processes 1;\n",
     'line 1: not valid nginx configuration: invalid number of arguments in "user" directive'),
    ("nginx", "location /api/ {\n    proxy_pass http://backend;\n}\n",
     "location /api/ {\n    proxy_pass http://backend;\n",
     'line 2: not valid nginx configuration: unexpected end of file, expecting "}"'),
    ("conf", "server {\n    listen 8080;\n}\n", "server {\n    listen 8080;\n}\n}\n",
     "conf read as nginx syntax"),
    ("conf", "[server]\nport = 8080\n", "[server]\nport 8080\n",
     "conf read as ini syntax (no line ends in ';' or '{'): line 2: not valid ini: 'port 8080'"),
    ("ini", "[server]\nport = 8080\n; a comment\nhost: example\n", "[server]\nport = 8080\n[client\nretries = 3\n",
     "line 3: not valid ini: '[client' is neither a [section] nor key = value"),
    ("cfg", "[metadata]\nname = demo\n", "[metadata]\nname = demo\n\n[options\n",
     "line 4: not valid ini"),
    ("properties", "enemies=aliens\nlives=3\n! a comment\nsecret.code.passphrase=UUDDLRLRBABAS\n",
     "enemies=aliens\nlives 3\n", "line 2: not valid properties (ini syntax): 'lives 3'"),
    ("xml", '<?xml version="1.0"?>\n<config>\n  <port>8080</port>\n</config>\n',
     "<config>\n  <port>8080</prot>\n</config>\n", "line 2: not valid XML: mismatched tag (column 15)"),
    ("toml", '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:3.9"\n',
     '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = = "pause:3.9"\n', "line 2: not valid TOML"),
    ("json", '{\n  "a": 1\n}\n', '{\n  "a": 1,\n}\n', "line 3: not valid JSON"),
    ("dockerfile", ("# syntax=docker/dockerfile:1\nARG BASE=debian\nFROM $BASE\nRUN apt-get update && \\\n"
                    "    apt-get install -y nginx\nCOPY <<EOF /etc/motd\nhello\nEOF\nCMD [\"nginx\"]\n"),
     "FROM debian\nRUN apt-get update\nINSTAL nginx\n", "line 3: not valid Dockerfile: unknown instruction 'INSTAL'"),
    ("dockerfile", "FROM scratch\nCOPY app /app\n", "COPY app /app\nFROM scratch\n",
     "line 1: not valid Dockerfile: COPY before FROM"),
    ("yaml", "a: 1\nb: [2, 3]\n", "a: 1\nb: [2, 3\n", "not valid YAML"),
]


@pytest.mark.parametrize(("language", "valid", "broken", "reason"), CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_valid_passes_and_broken_fails_naming_the_line(language, valid, broken, reason):
    good = check_snippet(valid, language)
    assert good.verdict == Verdict.PASS, good.reason
    assert "YAML" not in good.reason or language == "yaml"
    bad = check_snippet(broken, language)
    assert bad.verdict == Verdict.FAIL, bad.reason
    assert reason in bad.reason


def test_the_old_yaml_reading_is_gone():
    # both were judged as YAML: `user nginx;` passed, `[server]\nport = 8080` failed
    assert check_snippet("user nginx;\n", "nginx").reason == "parses as nginx configuration (crossplane)"
    assert check_snippet("[server]\nport = 8080\n", "ini").verdict == Verdict.PASS
    assert check_snippet("user nginx\n", "nginx").verdict == Verdict.FAIL


def test_lines_are_counted_from_the_page_line_when_given():
    bad = check_snippet("events {\n}\n}\n", "nginx", first_line=40)
    assert bad.reason.startswith('line 42: not valid nginx configuration: unexpected "}"'), bad.reason


def test_unknown_languages_are_skipped_with_the_reason():
    outcome = check_snippet('resource "a" "b" {\n  x = 1\n}\n', "hcl")
    assert outcome.verdict == Verdict.SKIP
    assert outcome.reason.startswith("no parser for 'hcl' snippets: not checked")
    assert "YAML" not in outcome.reason


def test_placeholders_make_a_fragment_in_each_language():
    ini = check_snippet("[server]\nhost = <your-host>\nport = ${PORT}\n", "ini")
    assert ini.verdict == Verdict.SKIP and "<your-host>, ${PORT}" in ini.reason and "parses as ini" in ini.reason
    # nginx's $variables and XML's elements are the language, not placeholders
    assert check_snippet("proxy_set_header Host $host;\n", "nginx").verdict == Verdict.PASS
    assert check_snippet("<a><b>1</b></a>\n", "xml").verdict == Verdict.PASS
    nginx = check_snippet("server_name <your-domain>;\n", "nginx")
    assert nginx.verdict == Verdict.SKIP and "<your-domain>" in nginx.reason
    broken = check_snippet("server_name <your-domain>;\n}\n", "nginx")
    assert broken.verdict == Verdict.FAIL and broken.reason.startswith('line 2: not valid nginx configuration: unexpected "}"')


def test_excerpts_are_judged_as_far_as_they_go():
    # an nginx block without its parents, ini keys without a section, several XML elements
    assert check_snippet("location / {\n    root /srv;\n}\n", "nginx").verdict == Verdict.PASS
    assert check_snippet("key = value\n", "ini").verdict == Verdict.PASS
    xml = check_snippet("<port>8080</port>\n<host>a</host>\n", "xml")
    assert xml.verdict == Verdict.PASS and "excerpt" in xml.reason
    assert check_snippet('<?xml version="1.0"?>\n<a/>\n<b/>\n', "xml").verdict == Verdict.FAIL
    elided = check_snippet("http {\n    ...\n    server_tokens off;\n}\n", "nginx")
    assert elided.verdict == Verdict.PASS and "elided" in elided.reason
    # systemd drop-ins repeat a key to reset it
    assert check_snippet("[Service]\nExecStart=\nExecStart=/usr/bin/kubelet\n", "ini").verdict == Verdict.PASS


def test_dockerfile_structure():
    assert check_snippet("FROM a\nRUN\n", "dockerfile").reason == "line 2: not valid Dockerfile: RUN needs arguments"
    assert check_snippet("RUN true\n", "dockerfile").verdict == Verdict.FAIL
    unclosed = check_snippet("FROM a\nRUN <<EOF\necho hi\n", "dockerfile")
    assert unclosed.verdict == Verdict.FAIL and "line 2" in unclosed.reason and "<<EOF" in unclosed.reason
    continued = check_snippet("FROM a\nRUN echo a \\\n    # a comment\n    && echo b\n", "dockerfile")
    assert continued.verdict == Verdict.PASS, continued.reason


def test_conf_is_told_apart_by_its_line_ends():
    assert "nginx syntax" in check_snippet("worker_processes auto;\n", "conf").reason
    assert "ini syntax" in check_snippet("[main]\ndebug = true\n", "conf").reason


def test_manifests_keeps_the_import_for_its_callers():
    assert reexported is check_snippet


def test_nginx_text_that_ends_inside_a_directive_names_the_page_line():
    outcome = check_snippet("user nginx;\nworker_processes 1\n", "nginx", first_line=40)
    assert outcome.verdict == Verdict.FAIL
    assert "line 41" in outcome.reason and "a directive without ';'" in outcome.reason
