"""Offline manifest validation against every Kubernetes version, and its mutations."""
import time

import pytest

from conformance.manifests import check_snippet, extract_heredocs, looks_like_manifest, validate_manifest
from conformance.verdict import Verdict
from conformance.versions import KUBERNETES_VERSIONS

from .conftest import DOCS, ROOT

SPN = (ROOT / "examples/pods/share-process-namespace.yaml").read_text()
ALL = [v.minor for v in KUBERNETES_VERSIONS]
RUNTIME_CLASS = """apiVersion: node.k8s.io/v1beta1  # RuntimeClass didefinisikan pada grup API node.k8s.io
kind: RuntimeClass
metadata:
  name: myclass  # Nama dari RuntimeClass
  # RuntimeClass merupakan resource tanpa namespace
handler: myconfiguration  # Nama dari konfigurasi CRI terkait
"""


def test_share_process_namespace_pod_passes_everywhere():
    report = validate_manifest(SPN, source="spn.yaml")
    outcome = report.outcome()
    assert outcome.verdict == Verdict.PASS, outcome
    assert set(report.table()[0]["versions"]) == set(ALL)
    assert set(report.table()[0]["versions"].values()) == {"pass"}


def test_runtime_class_v1beta1_fails_from_1_25_naming_the_removal():
    report = validate_manifest(RUNTIME_CLASS, first_line=30)
    outcome = report.outcome()
    assert outcome.verdict == Verdict.FAIL
    assert "removed in Kubernetes 1.25" in outcome.reason and "use node.k8s.io/v1" in outcome.reason
    versions = report.table()[0]["versions"]
    assert all(versions[v] == "fail" for v in ALL if tuple(map(int, v.split("."))) >= (1, 25))
    assert report.documents[0].line == 30
    assert validate_manifest(RUNTIME_CLASS.replace("v1beta1", "v1")).outcome().verdict == Verdict.PASS


@pytest.mark.parametrize("mutation, strict, path, words", [
    (lambda m: m.replace("shareProcessNamespace", "shareProcesNamespace"), True,
     "spec.shareProcesNamespace", "unknown field"),
    (lambda m: m.replace("shareProcessNamespace: true", 'shareProcessNamespace: "yes"'), False,
     "spec.shareProcessNamespace", "expected boolean"),
    (lambda m: m.replace("  containers:\n", "  containers: {}\n  initContainers:\n", 1), False,
     "spec.containers", "expected array"),
    (lambda m: m.replace("kind: Pod", "kind: Podd"), False, "kind", "has no kind 'Podd'"),
    (lambda m: m.replace("apiVersion: v1", "apiVersion: extensions/v1beta1").replace("kind: Pod", "kind: Deployment"),
     False, "apiVersion", "removed in Kubernetes 1.16"),
], ids=["misspelled-field-strict", "wrong-type", "wrong-type-list", "unknown-kind", "removed-apiversion"])
def test_mutations_fail_with_path_and_message(mutation, strict, path, words):
    outcome = validate_manifest(mutation(SPN), strict=strict).outcome(strict)
    assert outcome.verdict == Verdict.FAIL, outcome
    assert path in outcome.reason and words in outcome.reason, outcome.reason


def test_misspelled_field_is_drift_without_strict():
    outcome = validate_manifest(SPN.replace("shareProcessNamespace", "shareProcesNamespace")).outcome()
    assert outcome.verdict == Verdict.DRIFT and "fails with --strict" in outcome.reason


def test_broken_yaml_names_the_page_line():
    outcome = validate_manifest(SPN.replace("  containers:\n", "  containers: [\n"), source="page.md",
                                first_line=40).outcome()
    assert outcome.verdict == Verdict.FAIL
    assert "page.md:47: not valid YAML" in outcome.reason


def test_fragments_are_reported_as_fragments_not_pass_nor_fail():
    private = validate_manifest("apiVersion: v1\nkind: Pod\nmetadata:\n  name: t\nspec:\n  containers:\n"
                                "    - name: c\n      image: $PRIVATE_IMAGE_NAME\n      imagePullPolicy: Always\n")
    assert private.outcome().verdict == Verdict.SKIP
    assert "fragment" in private.outcome().reason and "$PRIVATE_IMAGE_NAME" in private.outcome().reason
    elided = validate_manifest("apiVersion: v1\nkind: Pod\nmetadata:\n  name: mypod\nspec:\n  runtimeClassName: myclass\n  # ...\n")
    # only elided: what is shown validates; a pass that says the elided parts were not checked
    assert elided.outcome().verdict == Verdict.PASS and "elided parts not checked" in elided.outcome().reason
    # a placeholder does not excuse a real error elsewhere
    broken = validate_manifest("apiVersion: v1\nkind: Pod\nmetadata:\n  name: <name>\nspec:\n  containers: 3\n")
    assert broken.outcome().verdict == Verdict.FAIL and "spec.containers" in broken.outcome().reason


def test_custom_resources_skip_with_the_reason():
    outcome = validate_manifest("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n").outcome()
    assert outcome.verdict == Verdict.SKIP and "custom resource" in outcome.reason


def test_heredocs_of_seed_003():
    text = (DOCS / "id/concepts/containers/images.rendered.txt").read_text()
    apply = text[text.index("kubectl apply -f - <<EOF"):text.index("pod/private-image-test-1 created")]
    [heredoc] = extract_heredocs(apply)
    assert heredoc.target == "" and heredoc.delimiter == "EOF" and looks_like_manifest(heredoc.body)
    assert heredoc.body_line_offset == 1 and heredoc.body.startswith("apiVersion: v1")
    block = "cat <<EOF > pod.yaml\napiVersion: v1\nkind: Pod\nEOF\n\ncat <<'EOF' >> ./kustomization.yaml\nresources:\n- pod.yaml\nEOF"
    first, second = extract_heredocs(block)
    assert (first.target, first.append, first.body_line_count) == ("pod.yaml", False, 2)
    assert (second.target, second.append, second.body, second.command_line_offset) == \
        ("./kustomization.yaml", True, "resources:\n- pod.yaml", 5)
    dashed = extract_heredocs("cat <<-END\n\tkey: 1\n\tEND\n")
    assert dashed[0].body == "key: 1"


def test_snippets():
    containerd = check_snippet('[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${HANDLER_NAME}]', None)
    assert containerd.verdict == Verdict.SKIP and "${HANDLER_NAME}" in containerd.reason and "TOML" in containerd.reason
    assert check_snippet('[a]\nkey = "v"\n', "toml").verdict == Verdict.PASS
    assert check_snippet('[a]\nkey = = "v"\n', "toml").verdict == Verdict.FAIL
    assert check_snippet("resources:\n- pod.yaml\n", None).verdict == Verdict.PASS
    bad = check_snippet("resources:\n- pod.yaml\nresorces: []\n", None)
    assert bad.verdict == Verdict.FAIL and "resorces" in bad.reason
    assert check_snippet('{"a": }', "json").verdict == Verdict.FAIL


def test_every_manifest_of_the_docs_against_every_version_is_fast():
    from conformance.lex_markdown import lex_markdown
    from conformance.lex_rendered import lex_rendered
    from conformance.pages import discover, load_page
    from conformance.steps import steps_for
    manifests = []
    for path in discover([DOCS]):
        page = load_page(path)
        blocks = lex_markdown(page.text, page.front_matter.end_offset) if page.format == "markdown" else lex_rendered(page.text)
        for step in steps_for(blocks):
            if step.kind == "manifest":
                manifests.append(step.manifest_text or page.resolve_example(step.manifest_file).read_text())
            for command in step.commands:
                manifests += [h.body for h in command.heredocs if looks_like_manifest(h.body)]
    assert len(manifests) >= 10
    started = time.perf_counter()
    for text in manifests:
        validate_manifest(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 5.0, f"{len(manifests)} manifests x {len(ALL)} versions took {elapsed:.2f}s"
