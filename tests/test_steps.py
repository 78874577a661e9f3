"""Blocks -> steps: what each block of the pages under test is, and kubectl argv parsing."""
import pytest

from conformance.blocks import Block
from conformance.kubectl_args import KubectlArgs
from conformance.lex_markdown import lex_markdown
from conformance.lex_rendered import lex_rendered
from conformance.pages import load_page
from conformance.steps import parse_command, steps_for

from .conftest import DOCS, SPN


def _steps(path):
    page = load_page(path)
    blocks = (lex_markdown(page.text, page.front_matter.end_offset) if page.format == "markdown"
              else lex_rendered(page.text))
    return steps_for(blocks)


@pytest.mark.parametrize("name", [f"{lang}/{SPN}.md" for lang in ("en", "id", "fr", "ja")]
                         + [f"{lang}/{SPN}.rendered.txt" for lang in ("id", "fr")])
def test_share_process_namespace_steps(name):
    steps = _steps(DOCS / name)
    assert [s.kind for s in steps] == ["manifest", "command", "command", "transcript", "transcript", "transcript"]
    assert steps[1].commands[0].argv[:3] == ["kubectl", "apply", "-f"]
    hup = steps[4].commands
    assert [c.text for c in hup] == ["kill -HUP 8", "ps ax"]
    assert hup[0].expected == "" and hup[1].expected.split("\n")[0].split() == ["PID", "USER", "TIME", "COMMAND"]
    head = steps[5].commands[0]
    assert head.text == "head /proc/8/root/etc/nginx/nginx.conf"
    assert "worker_connections" in head.expected
    # the page line of expected's first line is right, blank first lines included
    page_lines = (DOCS / name).read_text().split("\n")
    assert page_lines[head.expected_line - 1].strip() == head.expected.split("\n")[0].strip()


def test_seed_003_blocks_are_classified():
    kinds = {p.name: [(s.line, s.kind) for s in _steps(p)] for p in (DOCS / "id/concepts/containers").glob("*.txt")}
    assert kinds["images.rendered.txt"] == [(147, "command"), (163, "command"), (167, "output"), (171, "command"),
                                            (175, "output"), (199, "command"), (207, "command"), (221, "command")]
    assert kinds["runtime-class.rendered.txt"] == [(30, "manifest"), (41, "manifest"), (65, "snippet"),
                                                   (73, "snippet"), (91, "command")]
    assert kinds["container-environment.rendered.txt"] == [(27, "illustrative")]
    assert kinds["overview.rendered.txt"] == []


def test_heredoc_command_carries_its_manifest():
    steps = _steps(DOCS / "id/concepts/containers/images.rendered.txt")
    apply = steps[0].commands[0]
    assert apply.argv == ["kubectl", "apply", "-f", "-"]
    assert apply.heredocs and "private-image-test-1" in apply.heredocs[0].body
    assert apply.expected == "pod/private-image-test-1 created"


def test_shell_syntax_is_named_not_run():
    command = parse_command("kubectl describe pods/x | grep 'Failed'", 1)
    assert "no host shell" in command.problem
    assert parse_command("kubectl get pods -o jsonpath='{.items[*].metadata.name}'", 1).problem == ""
    assert "cannot split" in parse_command("echo 'unclosed", 1).problem


def test_output_block_after_command_and_illustrative_otherwise():
    text = "```shell\nkubectl get pods\n```\n\nThe output is similar to:\n\n```\nNAME READY\nx 1/1\n```\n\n```\nNAME READY\n```\n"
    steps = steps_for(lex_markdown(text))
    assert [s.kind for s in steps] == ["command", "output", "illustrative"]


def test_kubectl_args():
    a = KubectlArgs.parse(["kubectl", "attach", "-it", "nginx", "-c", "shell"])
    assert (a.verb, a.target, a.container, a.interactive) == ("attach", "nginx", "shell", True)
    e = KubectlArgs.parse(["kubectl", "exec", "-it", "pod/x", "--container=app", "--", "sh", "-c", "ls"])
    assert (e.verb, e.target, e.container, e.command, e.interactive) == ("exec", "pod/x", "app", ["sh", "-c", "ls"], True)
    f = KubectlArgs.parse(["kubectl", "apply", "-f", "https://k8s.io/examples/pods/a.yaml", "-n", "ns"])
    assert f.files == ["https://k8s.io/examples/pods/a.yaml"] and f.positional == []
    d = KubectlArgs.parse(["kubectl", "delete", "pod", "a", "b"])
    assert d.kind_names == [("pod", "a"), ("pod", "b")]
    assert KubectlArgs.parse(["kubectl", "delete", "pods/a"]).kind_names == [("pods", "a")]


def test_problem_block_is_a_step():
    steps = steps_for([Block(start=0, end=1, line=3, content_line=4, source="problem", problem="fence never closed")])
    assert steps[0].kind == "problem"


def test_a_command_with_a_comment_is_not_a_prompt():
    steps = steps_for(lex_markdown("```shell\nexit # To quit the shell in the container\n```\n"))
    assert steps[0].kind == "command" and steps[0].commands[0].argv == ["exit"]
    steps = steps_for(lex_markdown("```\nroot@pod:/app# ls\nbin\n```\n"))
    assert steps[0].kind == "transcript" and steps[0].commands[0].expected == "bin"


def test_shell_block_lines_are_all_commands_unless_prompts_mark_them():
    steps = steps_for(lex_markdown("```shell\nls /\ntcpdump\nlsof\n```\n"))
    assert [c.text for c in steps[0].commands] == ["ls /", "tcpdump", "lsof"]
    steps = steps_for(lex_markdown("```shell\n$ kubectl get pods\nNAME READY\nx 1/1\n```\n"))
    assert [c.text for c in steps[0].commands] == ["kubectl get pods"]
    assert steps[0].commands[0].expected == "NAME READY\nx 1/1"


def test_a_shell_block_after_the_output_is_holds_output_not_a_command():
    text = ("```shell\nkubectl exec -it env-single-secret -- /bin/sh -c 'echo $SECRET_USERNAME'\n```\n\n"
            "The output is\n ```shell\n backend-admin\n ```\n\n"
            "The output is similar to:\n\n```shell\nkubectl get pods\n```\n")
    steps = steps_for(lex_markdown(text))
    assert [s.kind for s in steps] == ["command", "output", "command"]
    assert steps[1].expected == "backend-admin"


def test_shell_marked_blocks_without_a_command_are_output_yaml_or_illustration():
    text = ("```shell\nkubectl get apiservices\n```\n\nIf the API is available, it is listed.\n\n"
            "```shell\nNAME\nv1beta1.metrics.k8s.io\n```\n\nWrap it like this:\n\n"
            "```shell\ncommand: [\"/bin/sh\"]\nargs: [\"-c\", \"echo hello\"]\n```\n\nFor example:\n\n"
            "```shell\n128974848, 129e6, 129M , 123Mi\n```\n\n"
            "```shell\nkubectl logs pod/x\n```\n```\n\nREF=$(PROTOCOL)://172.17.0.1:80\nPROTOCOL=https\n```\n")
    steps = steps_for(lex_markdown(text))
    assert [s.kind for s in steps] == ["command", "output", "snippet", "illustrative", "command", "output"]
    assert steps[1].expected == "NAME\nv1beta1.metrics.k8s.io"
    assert "holds no command" in steps[3].problem


def test_an_output_block_after_a_transcript_is_the_last_commands_output():
    text = ("```shell\nroot@demo:/# cat /usr/share/message\n```\n\nThe output shows:\n\n"
            "```\nHello from the postStart handler\n```\n")
    steps = steps_for(lex_markdown(text))
    assert [s.kind for s in steps] == ["transcript", "output"]
    # the transcript does not claim the command printed nothing
    assert steps[0].commands[0].expected is None


def test_yaml_printed_by_kubectl_get_is_output_not_a_manifest():
    text = ("```shell\nkubectl get pod two-containers --output=yaml\n```\n\nHere is a portion of the output:\n\n"
            "```yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: two-containers\nstatus:\n  phase: Running\n```\n\n"
            "```shell\nkubectl get pod x -o json\n```\n\n```json\n{\"kind\": \"Pod\"}\n```\n")
    steps = steps_for(lex_markdown(text))
    assert [s.kind for s in steps] == ["command", "output", "command", "output"]


def test_a_shortcode_of_a_file_that_is_no_manifest_is_a_snippet_in_its_language():
    text = ('{{< codenew language="conf" file="minikube/Dockerfile" >}}\n\n{{< codenew file="minikube/server.js" >}}\n\n'
            '{{% code_sample file="pods/pod.yaml" %}}\n')
    steps = steps_for(lex_markdown(text))
    assert [(s.kind, s.manifest_file, s.language) for s in steps] == [
        ("snippet", "minikube/Dockerfile", "dockerfile"), ("snippet", "minikube/server.js", "js"),
        ("manifest", "pods/pod.yaml", "")]


def test_an_indented_block_of_a_command_and_what_it_printed():
    # run-single-instance-stateful-application.md: the command, then its output in the same block
    text = ("Run:\n\n    kubectl exec -it mysql-0 -- ls -d /var/lib/mysql\n    /var/lib/mysql\n\n"
            "Or:\n\n    /bin/sh -c 'echo hi'\n")
    steps = steps_for(lex_markdown(text))
    assert [s.kind for s in steps] == ["command", "command"]
    assert [(c.text, c.expected) for c in steps[0].commands] == [
        ("kubectl exec -it mysql-0 -- ls -d /var/lib/mysql", "/var/lib/mysql")]
    assert steps[1].commands[0].argv == ["/bin/sh", "-c", "echo hi"]
